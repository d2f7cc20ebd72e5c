//! The command line: parse the arguments (clap, [`args`]), choose the output mode, dispatch to
//! [`crate::commands`], turn the outcome into the exit status ([`crate::support::exit`]).
//!
//! Usage errors exit 1, not clap's usual 2, so that scripts never mistake a typo for "changes
//! present".

pub mod args;

use std::path::PathBuf;

pub use args::{Cli, Command, command};

use crate::commands;
use crate::hook;
use crate::project;
use crate::support::{Error, Exit, Result};
use args::{
    ColorWhen, HandoffCommand, HookCommand, RemoteCommand, RunsCommand, SessionArgs, SessionCommand,
};

/// Runs iw with the process's arguments and returns the exit status.
pub fn run() -> i32 {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The hook runs before every tool call: its exact generated form skips clap's set-up.
    if let Some(opts) = hook_fast_args(&argv) {
        return commands::hook::pre_tool_use(&opts);
    }
    let words: Vec<String> = argv
        .get(1..)
        .unwrap_or_default()
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.starts_with('-'))
        .collect();
    let hook = words.iter().any(|s| s == "hook");
    // A PreToolUse hook that cannot parse its arguments must block; a status hook never does.
    let blocking_hook = hook && !words.iter().any(|s| s == "status");
    if !hook {
        // `iw graph | head`: a closed pipe ends iw quietly, as it does `cat`, instead of a
        // panic in println!. (Hooks keep SIGPIPE ignored: their exit status must be 0 or 2.)
        // SAFETY: restoring a signal's default action has no preconditions.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // A shell asking for completions (`iw completions`) gets them and nothing else.
    commands::completions::answer_if_asked(command);
    let parsed = match plan_fast_args(&argv) {
        Some(cli) => Ok(cli),
        None => <Cli as clap::Parser>::try_parse_from(&argv),
    };
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                // A hook that cannot parse its arguments must block, not fail open.
                _ if blocking_hook => 2,
                _ => crate::support::exit::ERROR,
            };
        }
    };
    set_colors(cli.color);
    let json = cli.command.wants_json();
    match dispatch(cli) {
        Ok(exit) => exit.code(),
        Err(e) => {
            crate::views::diagnostics::report_error(&e, json);
            e.exit_code()
        }
    }
}

fn set_colors(when: ColorWhen) {
    let on = match when {
        ColorWhen::Auto => return,
        ColorWhen::Always => true,
        ColorWhen::Never => false,
    };
    console::set_colors_enabled(on);
    console::set_colors_enabled_stderr(on);
}

/// The drift gate as CI, pre-commit hooks and people run it, `iw [-C DIR] plan [--exit-code]`,
/// parsed without clap, which builds iw's whole command tree first (about 0.3 ms of a 3 ms no-op
/// plan); any other form goes through clap, and a test checks that both read these the same.
fn plan_fast_args(args: &[std::ffi::OsString]) -> Option<Cli> {
    let a: Vec<&str> = args
        .get(1..)?
        .iter()
        .map(|s| s.to_str())
        .collect::<Option<_>>()?;
    let (dir, rest) = match a.as_slice() {
        ["-C", dir, rest @ ..] if !dir.starts_with('-') => (Some(PathBuf::from(dir)), rest),
        rest => (None, rest),
    };
    let exit_code = match rest {
        ["plan"] => false,
        ["plan", "--exit-code"] => true,
        _ => return None,
    };
    Some(Cli {
        dir,
        color: ColorWhen::Auto,
        command: Command::Plan(args::PlanArgs {
            exit_code,
            json: false,
            no_diff: false,
            out: None,
            select: args::SelectArgs::default(),
        }),
    })
}

/// The hook command exactly as iw writes it into settings.json
/// (`<iw> -C <root> hook pre-tool-use --agent <name> [--on-failure open]`), parsed without clap;
/// any other form goes through clap. `iw-hook` (src/hook_main.rs) takes only this form.
pub fn hook_fast_args(args: &[std::ffi::OsString]) -> Option<hook::Options> {
    let a: Vec<&str> = args.iter().map(|s| s.to_str()).collect::<Option<_>>()?;
    let (root, agent, fail_open) = match a.as_slice() {
        [_, "-C", root, "hook", "pre-tool-use", "--agent", agent] => (root, agent, false),
        [
            _,
            "-C",
            root,
            "hook",
            "pre-tool-use",
            "--agent",
            agent,
            "--on-failure",
            mode @ ("open" | "closed"),
        ] => (root, agent, *mode == "open"),
        _ => return None,
    };
    (!agent.starts_with('-') && !root.starts_with('-')).then(|| hook::Options {
        agent: agent.to_string(),
        root: Some(PathBuf::from(root)),
        fail_open,
    })
}

fn dispatch(cli: Cli) -> Result<Exit> {
    if let Some(exit) = without_project(&cli)? {
        return Ok(exit);
    }
    let root = project::resolve_root(cli.dir.as_deref())?;
    let load = || commands::load::project(&root);
    match cli.command {
        Command::Validate(a) => commands::validate::run(&root, a.json),
        Command::Plan(a) => commands::plan::run(
            &root,
            &commands::plan::Options {
                selection: a.select.selection(),
                exit_code: a.exit_code,
                json: a.json,
                no_diff: a.no_diff,
                out: a.out,
            },
        ),
        Command::Apply(a) => commands::apply::run(
            &root,
            &commands::apply::Options {
                plan_file: a.plan_file,
                selection: a.select.selection(),
                yes: a.yes,
                no_diff: a.no_diff,
                lock_timeout: a.lock_timeout,
                no_wait: a.no_wait,
            },
        ),
        Command::Graph(a) => commands::graph::run(&root, a.format),
        Command::Session(a) => session(&load()?, a),
        Command::Import { agent } => commands::session::import(&load()?, &agent),
        Command::Trust => commands::trust::run(&load()?),
        Command::Doctor { json } => commands::doctor::run(&root, json),
        Command::Watch { tenant, once } => {
            crate::watch::run(&root, &crate::watch::Options { tenant, once })
        }
        Command::Handoff(HandoffCommand::Validate { from, to, file }) => {
            commands::handoff::validate(&load()?, &from, &to, &root.join(file))
        }
        Command::Run(a) => {
            // Like `git -C`: with -C a relative path is relative to the project root.
            let base = match &cli.dir {
                Some(_) => root.clone(),
                None => std::env::current_dir()
                    .map_err(|e| Error::io("read", std::path::Path::new("."), e))?,
            };
            let start = commands::run::StartArgs {
                agent: a.agent,
                task: base.join(a.task),
                timeout: a.timeout,
                wait: a.wait,
                json: a.json,
                tenant: a.tenant,
            };
            commands::run::start(&load()?, &start)
        }
        Command::Runs(a) => runs(&root, a),
        Command::Hook(_)
        | Command::Remote(_)
        | Command::Completions { .. }
        | Command::Man
        | Command::Schema { .. }
        | Command::Init { .. } => unreachable!("dispatched by without_project"),
    }
}

/// The commands that need no project, or find it their own way; `None` for the others.
fn without_project(cli: &Cli) -> Result<Option<Exit>> {
    let dir = cli.dir.as_deref();
    Ok(Some(match &cli.command {
        Command::Hook(HookCommand::PreToolUse(args)) => {
            let opts = hook::Options {
                agent: args.agent.clone(),
                root: cli.dir.clone(),
                fail_open: args.on_failure == "open",
            };
            match commands::hook::pre_tool_use(&opts) {
                0 => Exit::Success,
                _ => Exit::Denied,
            }
        }
        Command::Hook(HookCommand::Status { agent }) => commands::hook::status(dir, agent),
        Command::Hook(HookCommand::Notify {
            agent,
            event,
            message,
        }) => commands::hook::notify(dir, agent, event, message),
        Command::Remote(RemoteCommand::Probe { root }) => commands::remote::probe(root)?,
        Command::Remote(RemoteCommand::Write { root }) => commands::remote::write(root)?,
        Command::Remote(RemoteCommand::RunStart { root }) => commands::remote::run_start(root)?,
        Command::Completions { shell } => commands::completions::run(*shell)?,
        Command::Man => commands::completions::man(command())?,
        Command::Schema { file } => commands::graph::schema(*file)?,
        Command::Init { from } => {
            // Like `git init DIR`: the directory is created when it does not exist.
            let dir = cli
                .dir
                .clone()
                .or_else(|| crate::support::Caller::get().root())
                .unwrap_or_else(|| PathBuf::from("."));
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
            let root = project::resolve_root(Some(&dir))?;
            // A relative --from is relative to where iw was run, like any path argument.
            commands::init::run(&root, from.as_deref(), cli.dir.as_deref())?
        }
        _ => return Ok(None),
    }))
}

/// `iw session …`.
fn session(project: &crate::project::Project, a: SessionArgs) -> Result<Exit> {
    let tenant = a.tenant.as_deref();
    match a.command {
        SessionCommand::List { filter, json } => {
            commands::session::list(project, filter.as_deref(), tenant, json)
        }
        SessionCommand::Status { agent, json } => {
            commands::session::status(project, &agent, tenant, json)
        }
        SessionCommand::Attach { agent } => commands::session::attach(project, &agent, tenant),
        SessionCommand::Kill { agent, all } => {
            commands::session::kill(project, agent.as_deref(), all, tenant)
        }
        SessionCommand::Create { agent } => commands::session::create(project, &agent, tenant),
    }
}

/// `iw runs …`.
fn runs(root: &std::path::Path, a: args::RunsArgs) -> Result<Exit> {
    match a.command {
        None => commands::runs::list(root, &a.status, a.json),
        Some(RunsCommand::Status { id, json }) => commands::runs::status(root, &id, json),
        Some(RunsCommand::Wait { ids, timeout }) => commands::runs::wait(root, &ids, timeout),
        Some(RunsCommand::Kill { id }) => commands::runs::kill(root, &id),
        Some(RunsCommand::Logs { id, follow }) => commands::runs::logs(root, &id, follow),
        Some(RunsCommand::Exec { id }) => commands::runs::exec(root, &id),
    }
}

#[cfg(test)]
mod fast_args_tests {
    use super::*;

    #[test]
    fn the_plan_fast_path_reads_its_forms_as_clap_does_and_leaves_the_rest_to_it() {
        let argv = |a: &[&str]| -> Vec<std::ffi::OsString> {
            std::iter::once("iw")
                .chain(a.iter().copied())
                .map(Into::into)
                .collect()
        };
        for form in [
            &["plan"][..],
            &["plan", "--exit-code"],
            &["-C", "/some/project", "plan"],
            &["-C", "rel dir", "plan", "--exit-code"],
        ] {
            let fast = plan_fast_args(&argv(form)).expect("a fast form");
            let clap = <Cli as clap::Parser>::try_parse_from(argv(form)).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{form:?}");
        }
        for form in [
            &["plan", "--json"][..],
            &["plan", "--exit-code", "--no-diff"],
            &["plan", "--exit-code", "--exit-code"],
            &["plan", "extra"],
            &["-C", "-x", "plan"],
            &["--dir", "/x", "plan"],
            &["plan", "-C", "/x"],
            &["apply"],
            &[],
        ] {
            assert!(plan_fast_args(&argv(form)).is_none(), "{form:?}");
        }
    }
}
