//! `iw run AGENT --task FILE`: starts a task run in its own tmux session and prints its id; with
//! `--wait`, waits for it and exits like `iw runs wait`.

use std::path::PathBuf;
use std::time::Duration;

use crate::project::Project;
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
    let root = &project.root;
    let host = super::place::host_of(
        project.sessions.as_ref(),
        &args.agent,
        args.tenant.as_deref(),
    );
    if let Some(h) = host {
        // Its files are on that host, not here: a run here would run without them.
        return Err(crate::support::Error::with_help(
            format!(
                "`{}` runs on host {h}; task runs on other hosts are not supported yet",
                args.agent
            ),
            "start the run on that host (`iw run` there, in the project's root), or run the agent here",
        ));
    }
    let started = start::start(
        project,
        &start::Request {
            agent: args.agent.clone(),
            task: args.task.clone(),
            timeout: args.timeout,
            tenant: args.tenant.clone(),
        },
    )?;
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
