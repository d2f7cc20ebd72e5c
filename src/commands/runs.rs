//! `iw runs`: list the task runs; `status`, `wait`, `kill`, `logs` of one; and `exec`, what a
//! run's pane runs.
//!
//! Exit statuses of `iw runs wait` (and `iw run --wait`): 0 every run COMPLETED, 3 one FAILED (a
//! timeout included), 4 one was KILLED (and none failed), 124 the wait timed out, 1 error.

use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use super::runs_remote::{Found, Hosts, passthrough};
use crate::runs::stop::{self, Stopped};
use crate::runs::{self, RunState, Status};
use crate::support::{Error, Exit, Result};
use crate::views::runs::{detail, human, pretty, status_doc, summary_line, table, table_on_hosts};

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

/// `iw runs wait ID... [--timeout DUR]`. Runs on other hosts are waited for there, one after
/// the other, after the runs here.
pub fn wait(root: &Path, ids: &[String], timeout: Option<Duration>) -> Result<Exit> {
    let (here, there): (Vec<String>, Vec<String>) =
        ids.iter().cloned().partition(|id| runs::exists(root, id));
    let hosts = if there.is_empty() {
        None
    } else {
        Some(Hosts::connect(root)?)
    };
    let mut found = Vec::new();
    for id in &there {
        match locate(root, id, &hosts)? {
            Some(f) => found.push((id, f)),
            None => {
                runs::read(root, id)?;
            }
        }
    }
    let t0 = Instant::now();
    let mut exits = vec![wait_here(root, &here, timeout)?];
    for (id, f) in &found {
        let left = timeout.map(|t| t.saturating_sub(t0.elapsed()));
        let left_text = left.map(|d| format!("{}ms", d.as_millis()));
        let mut args = vec!["runs", "wait", id.as_str()];
        if let Some(t) = &left_text {
            args.extend(["--timeout", t.as_str()]);
        }
        exits.push(passthrough(f, &args)?);
    }
    // As for runs here: a timeout first, then a failure, then a kill.
    Ok(exits
        .into_iter()
        .max_by_key(|e| match e.code() {
            0 => 0,
            4 => 1,
            3 => 2,
            124 => 3,
            _ => 4,
        })
        .unwrap_or(Exit::Success))
}

/// `iw runs wait` for runs on this machine.
fn wait_here(root: &Path, ids: &[String], timeout: Option<Duration>) -> Result<Exit> {
    if ids.is_empty() {
        return Ok(Exit::Success);
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

/// `iw runs [--status S] [--json]`: this machine's runs and every host's (sessions.yaml
/// `hosts:`); exit 1 when a host could not be asked (the others' runs are listed).
pub fn list(root: &Path, status: &[Status], json_out: bool) -> Result<Exit> {
    // The project's hosts, if it loads: this machine's runs are listed either way.
    let (hosts, unloaded) = match Hosts::connect(root) {
        Ok(h) => (h, None),
        Err(e) => (Hosts::none(), Some(e.to_string())),
    };
    let (remote, unreachable) = hosts.runs();
    // (host, run, its document), oldest first.
    let mut all: Vec<(Option<String>, RunState, Option<serde_json::Value>)> = runs::list(root)?
        .into_iter()
        .map(|s| (None, s, None))
        .collect();
    for doc in remote {
        if let Ok(s) = serde_json::from_value::<RunState>(doc.clone()) {
            let host = doc["host"].as_str().map(str::to_string);
            all.push((host, s, Some(doc)));
        }
    }
    all.sort_by(|a, b| (&a.1.created_at, &a.1.id).cmp(&(&b.1.created_at, &b.1.id)));
    if !status.is_empty() {
        all.retain(|(_, s, _)| status.contains(&s.status));
    }
    if let Some(why) = &unloaded {
        eprintln!(
            "warning: the runs on other hosts are not listed: the project does not load ({why})"
        );
    }
    for (host, why) in &unreachable {
        eprintln!("warning: the runs on host {host} are not listed: {why}");
    }
    if json_out {
        let docs: Vec<serde_json::Value> = all
            .iter()
            .map(|(_, s, doc)| doc.clone().unwrap_or_else(|| status_doc(root, s)))
            .collect();
        let mut out = json!({ "runs": docs });
        if let Some(why) = &unloaded {
            out["hosts_error"] = why.as_str().into();
        }
        if !unreachable.is_empty() {
            out["unreachable"] = unreachable
                .iter()
                .map(|(host, error)| json!({"host": host, "error": error}))
                .collect();
        }
        println!("{}", pretty(&out));
    } else if all.is_empty() {
        let which = if status.is_empty() {
            ""
        } else {
            " with that status"
        };
        println!("No runs{which}.");
    } else if hosts.is_empty() {
        let all: Vec<RunState> = all.into_iter().map(|(_, s, _)| s).collect();
        print!("{}", table(&all));
    } else {
        let all: Vec<(Option<String>, RunState)> =
            all.into_iter().map(|(h, s, _)| (h, s)).collect();
        print!("{}", table_on_hosts(&all));
    }
    Ok(if unreachable.is_empty() && unloaded.is_none() {
        Exit::Success
    } else {
        Exit::Unhealthy
    })
}

/// Where run `id` is: on this machine (`None`: no `hosts` to look on, as for a run here), or
/// found on a host.
fn locate<'a>(root: &Path, id: &str, hosts: &'a Option<Hosts>) -> Result<Option<Found<'a>>> {
    match hosts {
        Some(h) => match h.find(id)? {
            Some(found) => Ok(Some(found)),
            // Not here nor there: this machine's error, with its suggestions.
            None => runs::read(root, id).map(|_| None),
        },
        None => Ok(None),
    }
}

/// The hosts to look for a run on when it is not on this machine; `None` if it is here.
fn hosts_unless_here(root: &Path, id: &str) -> Result<Option<Hosts>> {
    if runs::exists(root, id) {
        return Ok(None);
    }
    Ok(Some(Hosts::connect(root)?))
}

/// `iw runs status ID [--json]`.
pub fn status(root: &Path, id: &str, json_out: bool) -> Result<Exit> {
    let hosts = hosts_unless_here(root, id)?;
    if let Some(found) = locate(root, id, &hosts)? {
        if json_out {
            println!("{}", pretty(&found.doc));
            return Ok(Exit::Success);
        }
        println!("host:     {}", found.host);
        return passthrough(&found, &["runs", "status", id]);
    }
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
    let hosts = hosts_unless_here(root, id)?;
    if let Some(found) = locate(root, id, &hosts)? {
        let mut args = vec!["runs", "logs", id];
        if follow {
            args.push("--follow");
        }
        return passthrough(&found, &args);
    }
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
    let hosts = hosts_unless_here(root, id)?;
    if let Some(found) = locate(root, id, &hosts)? {
        // From inside an agent's session: only the runs that agent started, as here.
        let state: RunState = serde_json::from_value(found.doc.clone()).map_err(|e| {
            Error::msg(format!(
                "host {}: run {id}: unreadable record: {e}",
                found.host
            ))
        })?;
        if !state.status.is_terminal() {
            stop::may_kill(root, &state, Some(found.host))?;
        }
        return passthrough(&found, &["runs", "kill", id]);
    }
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
