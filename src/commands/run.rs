//! The `iw run` and `iw runs` commands: start a task run in its own tmux session, list, inspect,
//! wait for, kill and read runs, and `iw runs exec`, the wrapper each run's pane runs.
//!
//! Exit codes of `iw run --wait` and `iw runs wait`: 0 every run COMPLETED, 3 one FAILED (a
//! timeout included), 4 one was KILLED (and none failed), 124 the wait timed out, 1 error.

use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::claude::{launch, shell_quote};
use crate::model::project::Project;
use crate::runs::{self, Parent, RunState, Status};
use crate::support::diag::agent_help;
use crate::support::error::{Error, Result};
use crate::tmux::{Tmux, TmuxCmd};

/// Exit code: a run FAILED.
pub const EXIT_FAILED: i32 = 3;
/// Exit code: a run was KILLED.
pub const EXIT_KILLED: i32 = 4;
/// Exit code: the wait timed out with runs still active.
pub const EXIT_WAIT_TIMEOUT: i32 = 124;

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

fn refuse(root: &Path, kind: &str, agent: &str, by: &str, err: Error) -> Error {
    runs::audit(
        root,
        json!({"event": "run.refused", "kind": kind, "agent": agent, "by": by,
               "message": err.to_string()}),
    );
    err
}

/// `iw run AGENT --task FILE [--timeout DUR] [--wait] [--json]`.
pub fn start(project: &Project, args: &StartArgs) -> Result<i32> {
    let root = &project.root;
    let agents = &project.registry.agents;
    let target = args.agent.as_str();
    if !agents.contains_key(target) {
        return Err(Error::with_help(
            format!("`{target}` is not an agent in the registry"),
            agent_help(target, agents.keys().map(String::as_str)),
        ));
    }
    let by = runs::actor();
    let task_text = std::fs::read_to_string(&args.task).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::with_help(
                format!("there is no task file {}", args.task.display()),
                "write the task (Markdown, or JSON for a typed handoff) to a file and pass it with --task",
            )
        } else {
            Error::io("read", &args.task, e)
        }
    })?;

    // Started from inside an agent's session: only its delegates, with a valid handoff.
    let parent = match std::env::var("IW_AGENT") {
        Ok(caller) if !caller.is_empty() => {
            let refusal = match agents.get(&caller) {
                None => Some(Error::with_help(
                    format!(
                        "refusing to start a run: IW_AGENT is `{caller}`, which is not an agent \
                         of this project"
                    ),
                    "a run started from an agent's session may only target that agent's \
                     delegates_to",
                )),
                Some(c) if !c.delegates_to.iter().any(|d| d == target) => Some(Error::with_help(
                    format!(
                        "`{caller}` may not start a run of `{target}`: it is not in its \
                         delegates_to"
                    ),
                    if c.delegates_to.is_empty() {
                        format!("`{caller}` delegates to nobody")
                    } else {
                        format!("`{caller}` may start: {}", c.delegates_to.join(", "))
                    },
                )),
                Some(_) => None,
            };
            if let Some(e) = refusal {
                return Err(refuse(root, "delegation", target, &by, e));
            }
            if let Err(e) = crate::model::handoff::check_payload(
                project, &caller, target, &args.task, &task_text,
            ) {
                return Err(refuse(root, "handoff", target, &by, e));
            }
            Some(Parent {
                agent: caller,
                run: std::env::var("IW_RUN_ID").ok().filter(|r| !r.is_empty()),
            })
        }
        _ => None,
    };

    let config = project.sessions.clone().unwrap_or_default();
    let max = config.runs.max_lifetime;
    let timeout = args.timeout.unwrap_or(max);
    if timeout > max {
        return Err(Error::with_help(
            format!(
                "--timeout {} is longer than the most a run may last ({}, `runs.max_lifetime`)",
                humantime::format_duration(timeout),
                humantime::format_duration(max)
            ),
            "pass a shorter --timeout, or raise `runs.max_lifetime` in sessions.yaml",
        ));
    }
    if timeout.is_zero() {
        return Err(Error::msg("--timeout must be longer than 0s"));
    }
    let tenant = args
        .tenant
        .as_deref()
        .map(|t| crate::model::sessions::tenant(project.sessions.as_ref(), t))
        .transpose()?;
    if let Some(t) = tenant
        && !t.agents.iter().any(|a| a == target)
    {
        return Err(Error::with_help(
            format!("tenant `{}` does not run `{target}`", t.name),
            format!("add it to `tenants.{}.agents` in sessions.yaml", t.name),
        ));
    }
    let (socket, prefix) = config.socket_and_prefix(tenant);
    let tmux = Tmux::new(&socket);
    tmux.version()?;

    // The agent's session definition, the tenant's or the project's when there is one, gives the
    // run its directory and environment (a tenant's overrides included).
    let spec = crate::model::sessions::specs(&config, root, &Default::default())
        .into_iter()
        .find(|s| s.agent == target && s.tenant == args.tenant);
    let workdir = spec
        .as_ref()
        .map_or_else(|| root.to_path_buf(), |s| s.workdir.clone());
    let settings = root
        .join(launch::agent_dir(target))
        .join(".claude/settings.json");
    if !settings.is_file() {
        return Err(Error::with_help(
            format!(
                "`{target}`'s generated settings {} do not exist",
                settings.display()
            ),
            format!("generate them first: `iw apply --target {target}`"),
        ));
    }
    if !workdir.is_dir() {
        return Err(Error::with_help(
            format!(
                "`{target}`'s working directory {} does not exist",
                workdir.display()
            ),
            "create it, or change the session's `workdir` in sessions.yaml",
        ));
    }

    // Count and create under one lock, so that two runs cannot both take the last slot.
    let runs_lock = runs::lock_runs(root)?;
    let active: Vec<String> = runs::list(root)?
        .into_iter()
        .filter(|r| !r.status.is_terminal())
        .map(|r| r.id)
        .collect();
    if active.len() >= config.runs.max_concurrent {
        return Err(refuse(
            root,
            "quota",
            target,
            &by,
            Error::with_help(
                format!(
                    "refusing to start a run of `{target}`: {} runs are active, the most allowed \
                     (`runs.max_concurrent: {}` in sessions.yaml)",
                    active.len(),
                    config.runs.max_concurrent
                ),
                format!(
                    "active: {}. Wait for one (`iw runs wait ID`), stop one (`iw runs kill ID`), \
                     or raise `runs.max_concurrent`",
                    active.join(", ")
                ),
            ),
        ));
    }
    let (id, dir) = runs::create_dir(root, target)?;
    let prompt = prompt(project, target, &task_text, &dir);
    crate::support::fsutil::write_atomic(&dir.join(runs::PROMPT_FILE), prompt.as_bytes())?;
    let session = format!("{prefix}run-{id}");
    let mut env = spec.map_or_else(|| config.env.clone(), |s| s.env);
    // A Claude Code command runs as the agent, like its session (crate::claude::launch).
    let command = if launch::is_claude(&config.runs.command) {
        env.insert(launch::CLAUDE_MD_ENV.into(), "1".into());
        launch::command(&config.runs.command, root, target)
    } else {
        env.remove(launch::CLAUDE_MD_ENV);
        config.runs.command.clone()
    };
    let state = RunState {
        id: id.clone(),
        agent: target.to_string(),
        status: Status::Created,
        reason: None,
        task: args.task.to_string_lossy().into_owned(),
        parent,
        created_at: runs::now(),
        started_at: None,
        ended_at: None,
        exit_code: None,
        timeout_seconds: timeout.as_secs().max(1),
        command,
        workdir: workdir.to_string_lossy().into_owned(),
        env,
        session: session.clone(),
        socket: socket.clone(),
        tenant: args.tenant.clone(),
        wrapper_pid: None,
        pid: None,
    };
    runs::write_new(root, &state, &by)?;
    drop(runs_lock);

    // The pane runs the wrapper, which runs the command (with the environment recorded in
    // state.json: tmux would not pass every variable, e.g. PATH) and records how it ends.
    let root_s = root.to_string_lossy().into_owned();
    let new = TmuxCmd::new("new-session")
        .args(["-d", "-s", &session, "-x", "200", "-y", "50", "-c"])
        .arg(workdir.to_string_lossy())
        .arg(format!(
            "exec {} -C {} runs exec {id}",
            shell_quote(&project.ctx.iw_bin.to_string_lossy()),
            shell_quote(&root_s)
        ));
    let target_opt = format!("={session}:");
    let started = tmux.run(&[
        new,
        TmuxCmd::new("set-option").args(["-t", &target_opt, "@iw-run", &id]),
        TmuxCmd::new("set-option").args(["-t", &target_opt, "@iw-root", &root_s]),
    ]);
    if let Err(e) = started {
        runs::transition(root, &id, &by, |s| {
            s.status = Status::Failed;
            s.reason = Some(format!("could not start its tmux session: {e}"));
            true
        })?;
        return Err(e);
    }
    // The wrapper records RUNNING within milliseconds; a pane that dies first is reported now.
    let t0 = Instant::now();
    loop {
        let s = runs::read(root, &id)?;
        if s.status != Status::Created {
            break;
        }
        let alive = tmux.list_sessions()?.iter().any(|l| l.name == session);
        if !alive || t0.elapsed() > Duration::from_secs(10) {
            // Under the run's lock: only if the wrapper has not recorded RUNNING meanwhile.
            let (_, failed) = runs::transition(root, &id, &by, |s| {
                if s.status != Status::Created {
                    return false;
                }
                s.status = Status::Failed;
                s.reason = Some("its pane exited before the run started".into());
                true
            })?;
            if failed {
                return Err(Error::with_help(
                    format!("run {id} could not start: its pane exited before the run started"),
                    format!("check that `{}` runs", project.ctx.iw_bin.display()),
                ));
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }

    if !args.json {
        println!("{id}");
    }
    if !args.wait {
        if args.json {
            println!("{}", pretty(&status_doc(root, &runs::read(root, &id)?)));
        } else {
            eprintln!(
                "Started run {id} ({target}) in tmux session {session} on socket {}.\n\
                 Follow it: iw runs logs {id} --follow    Wait for it: iw runs wait {id}",
                socket
            );
        }
        return Ok(0);
    }
    let code = wait_quiet(root, std::slice::from_ref(&id), None)?;
    let s = runs::read(root, &id)?;
    if args.json {
        println!("{}", pretty(&status_doc(root, &s)));
    } else {
        eprintln!("{}", summary_line(root, &s));
    }
    Ok(code)
}

/// The prompt a run's command gets: who the agent is, the task, and where to put the result.
fn prompt(project: &Project, agent: &str, task: &str, dir: &Path) -> String {
    let a = &project.registry.agents[agent];
    format!(
        "You are {} (`{agent}`): {}\n\
         Your instructions are in CLAUDE.md in your working directory.\n\n\
         # Task\n\n{}\n\n\
         # When you are done\n\n\
         Write your result as one JSON object to {} (the path is also in $IW_RUN_RESULT), then \
         stop.\n",
        a.display_name,
        a.description.trim(),
        task.trim_end(),
        dir.join(runs::RESULT_FILE).display()
    )
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The result an agent left, if any: `Ok(value)`, or `Err(why it is unreadable)`.
fn result_of(root: &Path, id: &str) -> Option<std::result::Result<serde_json::Value, String>> {
    let path = runs::run_dir(root, id).join(runs::RESULT_FILE);
    let text = std::fs::read_to_string(&path).ok()?;
    Some(serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not valid JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    }))
}

fn last_lines(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// `iw runs status ID --json`'s document: state.json, the run's files, its result.
fn status_doc(root: &Path, s: &RunState) -> serde_json::Value {
    let dir = runs::run_dir(root, &s.id);
    let mut doc = serde_json::to_value(s).unwrap_or_default();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("dir".into(), dir.to_string_lossy().into());
        obj.insert(
            "duration_seconds".into(),
            s.duration().map(|d| d.as_secs_f64()).into(),
        );
        let (result, error) = match result_of(root, &s.id) {
            None => (serde_json::Value::Null, None),
            Some(Ok(v)) => (v, None),
            Some(Err(e)) => (serde_json::Value::Null, Some(e)),
        };
        obj.insert("result".into(), result);
        obj.insert("result_error".into(), error.into());
        obj.insert(
            "last_output".into(),
            last_lines(&dir.join(runs::OUTPUT_FILE), 10).into(),
        );
        // What its Claude Code last reported (status hooks), if anything.
        let scope = crate::status::activity::Scope::Run(s.id.clone());
        obj.insert(
            "activity".into(),
            crate::status::activity::read(root, &s.agent, &scope)
                .map(|r| serde_json::json!({"state": r.state, "event": r.event, "at_ms": r.at_ms}))
                .into(),
        );
    }
    doc
}

fn human(d: Duration) -> String {
    if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    }
}

fn summary_line(root: &Path, s: &RunState) -> String {
    let mut line = format!("run {} ({}) {}", s.id, s.agent, s.status.as_str());
    match (&s.reason, s.exit_code) {
        (Some(r), _) => line.push_str(&format!(" ({r})")),
        (None, Some(c)) => line.push_str(&format!(" (exit {c})")),
        _ => {}
    }
    if let Some(d) = s.duration() {
        line.push_str(&format!(" in {}", human(d)));
    }
    match result_of(root, &s.id) {
        Some(Ok(_)) => line.push_str(&format!(
            "; result: {}",
            runs::run_dir(root, &s.id).join(runs::RESULT_FILE).display()
        )),
        Some(Err(e)) => line.push_str(&format!("; result unreadable: {e}")),
        None => {}
    }
    line
}

/// The exit code for runs that all ended.
fn exit_code_of(states: &[RunState]) -> i32 {
    if states.iter().any(|s| s.status == Status::Failed) {
        EXIT_FAILED
    } else if states.iter().any(|s| s.status == Status::Killed) {
        EXIT_KILLED
    } else {
        0
    }
}

/// Waits until every run in `ids` ended (or `timeout`); returns the exit code.
fn wait_quiet(root: &Path, ids: &[String], timeout: Option<Duration>) -> Result<i32> {
    let t0 = Instant::now();
    loop {
        let mut states = Vec::new();
        for id in ids {
            states.push(runs::settle_lost(root, runs::read(root, id)?)?);
        }
        if states.iter().all(|s| s.status.is_terminal()) {
            return Ok(exit_code_of(&states));
        }
        if timeout.is_some_and(|t| t0.elapsed() >= t) {
            return Ok(EXIT_WAIT_TIMEOUT);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// `iw runs wait ID... [--timeout DUR]`.
pub fn wait(root: &Path, ids: &[String], timeout: Option<Duration>) -> Result<i32> {
    for id in ids {
        runs::read(root, id)?;
    }
    let code = wait_quiet(root, ids, timeout)?;
    for id in ids {
        let s = runs::read(root, id)?;
        if s.status.is_terminal() {
            println!("{}", summary_line(root, &s));
        } else {
            println!(
                "run {} ({}) still {} after waiting {}",
                s.id,
                s.agent,
                s.status.as_str(),
                human(timeout.unwrap_or_default())
            );
        }
    }
    Ok(code)
}

/// `iw runs [--status S] [--json]`.
pub fn list(root: &Path, status: &[Status], json_out: bool) -> Result<i32> {
    let mut all = runs::list(root)?;
    if !status.is_empty() {
        all.retain(|s| status.contains(&s.status));
    }
    if json_out {
        let docs: Vec<serde_json::Value> = all.iter().map(|s| status_doc(root, s)).collect();
        println!("{}", pretty(&json!({ "runs": docs })));
        return Ok(0);
    }
    if all.is_empty() {
        println!(
            "No runs{}.",
            if status.is_empty() {
                ""
            } else {
                " with that status"
            }
        );
        return Ok(0);
    }
    let header = ["ID", "AGENT", "STATUS", "DURATION", "PARENT", "DETAIL"];
    let rows: Vec<[String; 6]> = all
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                s.agent.clone(),
                s.status.as_str().to_string(),
                s.duration().map_or("-".into(), human),
                s.parent.as_ref().map_or("-".into(), |p| match &p.run {
                    Some(r) => format!("{} ({r})", p.agent),
                    None => p.agent.clone(),
                }),
                match (&s.reason, s.exit_code) {
                    (Some(r), _) => r.clone(),
                    (None, Some(c)) => format!("exit {c}"),
                    _ => String::new(),
                },
            ]
        })
        .collect();
    print!("{}", crate::views::table(header, &rows));
    Ok(0)
}

/// `iw runs status ID [--json]`.
pub fn status(root: &Path, id: &str, json_out: bool) -> Result<i32> {
    let s = runs::settle_lost(root, runs::read(root, id)?)?;
    if json_out {
        println!("{}", pretty(&status_doc(root, &s)));
        return Ok(0);
    }
    let dir = runs::run_dir(root, id);
    println!("run:      {}", s.id);
    println!("agent:    {}", s.agent);
    println!(
        "status:   {}{}",
        s.status.as_str(),
        match (&s.reason, s.exit_code) {
            (Some(r), _) => format!(" ({r})"),
            (None, Some(c)) => format!(" (exit {c})"),
            _ => String::new(),
        }
    );
    if let Some(p) = &s.parent {
        println!(
            "parent:   {}{}",
            p.agent,
            p.run
                .as_ref()
                .map(|r| format!(" (run {r})"))
                .unwrap_or_default()
        );
    }
    println!("task:     {}", s.task);
    println!("created:  {}", s.created_at);
    if let Some(t) = &s.started_at {
        println!("started:  {t}");
    }
    if let Some(t) = &s.ended_at {
        println!("ended:    {t}");
    }
    if let Some(d) = s.duration() {
        println!("duration: {} (limit {}s)", human(d), s.timeout_seconds);
    }
    println!("session:  {} (socket {})", s.session, s.socket);
    println!("dir:      {}", dir.display());
    match result_of(root, id) {
        Some(Ok(v)) => println!(
            "result:   {}",
            serde_json::to_string(&v).unwrap_or_default()
        ),
        Some(Err(e)) => println!("result:   unreadable: {e}"),
        None => println!("result:   none"),
    }
    let last = last_lines(&dir.join(runs::OUTPUT_FILE), 10);
    if !last.is_empty() {
        println!("last output:");
        for l in last {
            println!("  | {l}");
        }
    }
    Ok(0)
}

/// `iw runs logs ID [--follow]`: the run's output; with `--follow`, until the run ends.
pub fn logs(root: &Path, id: &str, follow: bool) -> Result<i32> {
    runs::read(root, id)?;
    let path = runs::run_dir(root, id).join(runs::OUTPUT_FILE);
    let mut out = std::io::stdout().lock();
    let mut pos = 0u64;
    let mut buf = Vec::new();
    let mut last_check = Instant::now() - Duration::from_secs(1);
    loop {
        // Read the state before the file: when the run has ended, its log was complete.
        let ended = if follow && last_check.elapsed() >= Duration::from_millis(100) {
            last_check = Instant::now();
            runs::settle_lost(root, runs::read(root, id)?)?
                .status
                .is_terminal()
        } else {
            !follow
        };
        if let Ok(mut f) = std::fs::File::open(&path) {
            f.seek(std::io::SeekFrom::Start(pos))
                .map_err(|e| Error::io("read", &path, e))?;
            buf.clear();
            f.read_to_end(&mut buf)
                .map_err(|e| Error::io("read", &path, e))?;
            pos += buf.len() as u64;
            if out.write_all(&buf).and_then(|()| out.flush()).is_err() {
                return Ok(0); // the reader went away (`| head`)
            }
        }
        if ended {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `iw runs kill ID`: marks the run KILLED, stops its command and closes its session.
pub fn kill(root: &Path, id: &str) -> Result<i32> {
    let s = runs::settle_lost(root, runs::read(root, id)?)?;
    if s.status.is_terminal() {
        println!("run {id} already ended: {}", s.status.as_str());
        return Ok(0);
    }
    let by = runs::actor();
    // From inside an agent's session: only the runs that agent started.
    if let Ok(caller) = std::env::var("IW_AGENT")
        && !caller.is_empty()
        && s.parent.as_ref().is_none_or(|p| p.agent != caller)
    {
        let err = Error::with_help(
            format!("`{caller}` may not kill run {id}: it did not start it"),
            "an agent may stop only the runs it started; a person can kill any run",
        );
        runs::audit(
            root,
            json!({"event": "run.refused", "kind": "kill", "run": id, "agent": s.agent,
                   "by": by, "message": err.to_string()}),
        );
        return Err(err);
    }
    let (s, _) = runs::transition(root, id, &by, |s| {
        s.status = Status::Killed;
        s.reason = Some(format!("killed by {by}"));
        true
    })?;
    // The wrapper stops the command's process group when told to; do it here too, in case the
    // wrapper is stuck or gone.
    if let Some(w) = s.wrapper_pid {
        runs::signal_pid(w, libc::SIGTERM);
    }
    if let Some(g) = s.pid {
        runs::signal_group(g, libc::SIGTERM);
    }
    let t0 = Instant::now();
    while s.wrapper_pid.is_some_and(runs::pid_alive) && t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(g) = s.pid {
        runs::signal_group(g, libc::SIGKILL);
    }
    let tmux = Tmux::new(&s.socket);
    let _ = tmux.kill_sessions(std::slice::from_ref(&s.session));
    println!("killed run {id} ({})", s.agent);
    Ok(0)
}

static SIGNALLED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNALLED.store(sig, Ordering::SeqCst);
}

fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGHUP => "SIGHUP (its session was closed)".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        n => format!("signal {n}"),
    }
}

/// `iw runs exec ID`: what a run's pane runs. Records RUNNING, runs the command (`sh -c`, in its
/// own process group, stdin from /dev/null), copies its output to the pane and to output.log,
/// enforces the lifetime limit, and records how it ended. Returns the command's exit code.
pub fn exec(root: &Path, id: &str) -> Result<i32> {
    let state = runs::read(root, id)?;
    if state.status != Status::Created {
        eprintln!("run {id} is {}; nothing to do", state.status.as_str());
        return Ok(1);
    }
    for sig in [libc::SIGHUP, libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
    let dir = runs::run_dir(root, id);
    let log_path = dir.join(runs::OUTPUT_FILE);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Error::io("open", &log_path, e))?;
    let (mut reader, writer) =
        std::io::pipe().map_err(|e| Error::io("create a pipe for", &dir, e))?;
    let writer2 = writer
        .try_clone()
        .map_err(|e| Error::io("create a pipe for", &dir, e))?;
    let by = format!("run:{id}");
    let spawned = {
        use std::os::unix::process::CommandExt as _;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&state.command)
            .current_dir(&state.workdir)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(writer2)
            .process_group(0)
            .envs(&state.env)
            .env("IW_AGENT", &state.agent)
            .env("IW_ROOT", root)
            .env("IW_RUN_ID", id)
            .env("IW_RUN_DIR", &dir)
            .env("IW_RUN_TASK", &state.task)
            .env("IW_RUN_PROMPT", dir.join(runs::PROMPT_FILE))
            .env("IW_RUN_RESULT", dir.join(runs::RESULT_FILE));
        cmd.spawn()
        // `cmd` is dropped here, closing this process's copies of the pipe's write end.
    };
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let why = format!("cannot run `sh -c {}`: {e}", state.command);
            let _ = writeln!(log, "{why}");
            runs::transition(root, id, &by, |s| {
                s.status = Status::Failed;
                s.reason = Some(why.clone());
                true
            })?;
            eprintln!("{why}");
            return Ok(127);
        }
    };
    let pgid = child.id();
    let (now_state, _) = runs::transition(root, id, &by, |s| {
        s.status = Status::Running;
        s.started_at = Some(runs::now());
        s.pid = Some(pgid);
        s.wrapper_pid = Some(std::process::id());
        true
    })?;
    let mut stopping: Option<Instant> = None;
    if now_state.status != Status::Running {
        // Killed before it started.
        runs::signal_group(pgid, libc::SIGTERM);
        stopping = Some(Instant::now());
    }

    // Copy the output to the pane and the log as it comes.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let copier = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        let mut pane = std::io::stdout();
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let _ = log.write_all(&buf[..n]);
                    let _ = pane.write_all(&buf[..n]);
                    let _ = pane.flush();
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = log.flush();
        let _ = done_tx.send(());
    });

    let deadline = Instant::now() + Duration::from_secs(state.timeout_seconds);
    let exit = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(Error::msg(format!("cannot wait for run {id}: {e}"))),
        }
        let sig = SIGNALLED.swap(0, Ordering::SeqCst);
        if sig != 0 && stopping.is_none() {
            runs::transition(root, id, &by, |s| {
                s.status = Status::Killed;
                s.reason = Some(format!("stopped by {}", signal_name(sig)));
                true
            })?;
            runs::signal_group(pgid, libc::SIGTERM);
            stopping = Some(Instant::now());
        }
        if stopping.is_none() && Instant::now() >= deadline {
            runs::transition(root, id, &by, |s| {
                s.status = Status::Failed;
                s.reason = Some(format!(
                    "timeout: still running after {}",
                    humantime::format_duration(Duration::from_secs(s.timeout_seconds))
                ));
                true
            })?;
            runs::signal_group(pgid, libc::SIGTERM);
            stopping = Some(Instant::now());
        }
        if stopping.is_some_and(|t| t.elapsed() > Duration::from_secs(3)) {
            runs::signal_group(pgid, libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Whatever the command left running in its group must not outlive the run.
    runs::signal_group(pgid, libc::SIGTERM);
    // Its output up to the end (something it started may hold the pipe open: do not wait long).
    if done_rx.recv_timeout(Duration::from_secs(2)).is_ok() {
        let _ = copier.join();
    }
    let code = {
        use std::os::unix::process::ExitStatusExt as _;
        exit.code()
            .unwrap_or_else(|| 128 + exit.signal().unwrap_or(0))
    };
    let (end, _) = runs::transition(root, id, &by, |s| {
        s.exit_code = Some(code);
        if code == 0 {
            s.status = Status::Completed;
        } else {
            s.status = Status::Failed;
            s.reason = Some(match exit.code() {
                Some(c) => format!("exit status {c}"),
                None => format!("killed by signal {}", code - 128),
            });
        }
        true
    })?;
    println!("\n[iw] {}", summary_line(root, &end));
    if end.status == Status::Failed {
        let event = crate::status::notify::Event {
            agent: end.agent.clone(),
            event: "run-failed".into(),
            message: format!(
                "run {} {}",
                end.id,
                end.reason.as_deref().unwrap_or("failed")
            ),
            tenant: end.tenant.clone(),
        };
        crate::status::notify::run(root, &event);
    }
    Ok(code)
}
