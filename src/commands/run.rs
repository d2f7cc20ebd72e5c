//! `iw run AGENT --task FILE`: starts a task run in its own tmux session and prints its id; with
//! `--wait`, waits for it and exits like `iw runs wait`.

use std::path::PathBuf;
use std::time::Duration;

use crate::project::Project;
use crate::runs::remote as remote_runs;
use crate::runs::{self, start};
use crate::support::{Exit, Result};
use crate::views::runs::{pretty, status_doc, summary_line};

/// What `iw run` was asked.
#[derive(Debug, Clone)]
pub struct StartArgs {
    /// The agent to run.
    pub agent: String,
    /// The task file (absolute).
    pub task: PathBuf,
    /// Its lifetime limit, if shorter than `runs.max_lifetime`.
    pub timeout: Option<Duration>,
    /// Wait until it ends.
    pub wait: bool,
    /// Print JSON.
    pub json: bool,
    /// Run it as this tenant's agent (its socket, environment and overrides).
    pub tenant: Option<String>,
}

/// `iw run AGENT --task FILE [--timeout DUR] [--wait] [--json] [--tenant T]`.
pub fn start(project: &Project, args: &StartArgs) -> Result<Exit> {
    let req = start::Request {
        agent: args.agent.clone(),
        task: args.task.clone(),
        timeout: args.timeout,
        tenant: args.tenant.clone(),
    };
    let host = super::place::host_of(
        project.sessions.as_ref(),
        &args.agent,
        args.tenant.as_deref(),
    );
    if let Some(h) = host {
        return start_on_host(project, &req, args, &h);
    }
    let root = &project.root;
    let started = start::start(project, &req)?;
    let id = &started.id;
    if !args.json {
        println!("{id}");
    }
    if !args.wait {
        if args.json {
            println!("{}", pretty(&status_doc(root, &runs::read(root, id)?)));
        } else {
            eprintln!(
                "Started run {id} ({}) in tmux session {} on socket {}.\n\
                 Follow it: iw runs logs {id} --follow    Wait for it: iw runs wait {id}",
                args.agent, started.session, started.socket
            );
        }
        return Ok(Exit::Success);
    }
    let exit = super::runs::wait_quiet(root, std::slice::from_ref(id), None)?;
    let s = runs::read(root, id)?;
    if args.json {
        println!("{}", pretty(&status_doc(root, &s)));
    } else {
        eprintln!("{}", summary_line(root, &s));
    }
    Ok(exit)
}

/// `iw run` of an agent whose sessions run on `host`: decided here (the registry is here),
/// recorded and started there by the iw installed on that host, where its files are.
fn start_on_host(
    project: &Project,
    req: &start::Request,
    args: &StartArgs,
    host: &str,
) -> Result<Exit> {
    let place = super::place::Place::connect(project, Some(host))?;
    let link = place
        .link()
        .ok_or_else(|| crate::support::Error::msg(format!("host {host} is not connected")))?;
    let mut launch = start::prepare(project, req, &link.target().root)?;
    launch.socket = link.socket_name(&launch.socket);
    let started = remote_runs::start(link, &launch)?;
    let id = &started.id;
    if !args.json {
        println!("{id}");
    }
    let code = if args.wait {
        // `iw runs wait` there prints the summary; here it goes to stderr, the id alone on stdout.
        let out = remote_runs::capture(link, &["runs", "wait", id])?;
        if !args.json {
            eprint!("{}", String::from_utf8_lossy(&out.stdout));
        }
        out.status.code().unwrap_or(1)
    } else {
        if !args.json {
            eprintln!(
                "Started run {id} ({}) on host {host}, in tmux session {} on socket {} there.\n\
                 Follow it: iw runs logs {id} --follow    Wait for it: iw runs wait {id}",
                args.agent, started.session, started.socket
            );
        }
        0
    };
    if args.json {
        let mut doc = remote_runs::status(link, id)?.unwrap_or_default();
        if let Some(o) = doc.as_object_mut() {
            o.insert("host".into(), host.into());
        }
        println!("{}", pretty(&doc));
    }
    Ok(match code {
        0 => Exit::Success,
        c => Exit::Command(c),
    })
}
