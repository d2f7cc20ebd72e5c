//! `iw runs`: list the task runs; `status`, `wait`, `kill`, `logs` of one; and `exec`, what a
//! run's pane runs.
//!
//! Exit statuses of `iw runs wait` (and `iw run --wait`): 0 every run COMPLETED, 3 one FAILED (a
//! timeout included), 4 one was KILLED (and none failed), 124 the wait timed out, 1 error.

use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::runs::stop::{self, Stopped};
use crate::runs::{self, RunState, Status};
use crate::support::{Error, Exit, Result};
use crate::views::runs::{detail, human, pretty, status_doc, summary_line, table};

/// The exit of runs that all ended.
fn exit_of(states: &[RunState]) -> Exit {
    if states.iter().any(|s| s.status == Status::Failed) {
        Exit::RunFailed
    } else if states.iter().any(|s| s.status == Status::Killed) {
        Exit::RunKilled
    } else {
        Exit::Success
    }
}

/// Waits until every run in `ids` ended (or `timeout`).
pub fn wait_quiet(root: &Path, ids: &[String], timeout: Option<Duration>) -> Result<Exit> {
    let t0 = Instant::now();
    loop {
        let mut states = Vec::new();
        for id in ids {
            states.push(runs::settle_lost(root, runs::read(root, id)?)?);
        }
        if states.iter().all(|s| s.status.is_terminal()) {
            return Ok(exit_of(&states));
        }
        if timeout.is_some_and(|t| t0.elapsed() >= t) {
            return Ok(Exit::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// `iw runs wait ID... [--timeout DUR]`.
pub fn wait(root: &Path, ids: &[String], timeout: Option<Duration>) -> Result<Exit> {
    for id in ids {
        runs::read(root, id)?;
    }
    let exit = wait_quiet(root, ids, timeout)?;
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
    Ok(exit)
}

/// `iw runs [--status S] [--json]`.
pub fn list(root: &Path, status: &[Status], json_out: bool) -> Result<Exit> {
    let mut all = runs::list(root)?;
    if !status.is_empty() {
        all.retain(|s| status.contains(&s.status));
    }
    if json_out {
        let docs: Vec<serde_json::Value> = all.iter().map(|s| status_doc(root, s)).collect();
        println!("{}", pretty(&json!({ "runs": docs })));
    } else if all.is_empty() {
        let which = if status.is_empty() {
            ""
        } else {
            " with that status"
        };
        println!("No runs{which}.");
    } else {
        print!("{}", table(&all));
    }
    Ok(Exit::Success)
}

/// `iw runs status ID [--json]`.
pub fn status(root: &Path, id: &str, json_out: bool) -> Result<Exit> {
    let s = runs::settle_lost(root, runs::read(root, id)?)?;
    if json_out {
        println!("{}", pretty(&status_doc(root, &s)));
    } else {
        print!("{}", detail(root, &s));
    }
    Ok(Exit::Success)
}

/// `iw runs logs ID [--follow]`: the run's output; with `--follow`, until the run ends.
pub fn logs(root: &Path, id: &str, follow: bool) -> Result<Exit> {
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
                return Ok(Exit::Success); // the reader went away (`| head`)
            }
        }
        if ended {
            return Ok(Exit::Success);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `iw runs kill ID`.
pub fn kill(root: &Path, id: &str) -> Result<Exit> {
    match stop::kill(root, id)? {
        Stopped::AlreadyEnded(status) => println!("run {id} already ended: {}", status.as_str()),
        Stopped::Killed(s) => println!("killed run {id} ({})", s.agent),
    }
    Ok(Exit::Success)
}

/// `iw runs exec ID`: supervises the run in its pane; exits with its command's status.
pub fn exec(root: &Path, id: &str) -> Result<Exit> {
    let ended = runs::supervise::run(root, id)?;
    println!("\n[iw] {}", summary_line(root, &ended.state));
    Ok(Exit::Command(ended.code))
}
