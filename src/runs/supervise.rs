//! The supervisor each run's pane runs (`iw runs exec ID`): it records RUNNING, runs the command
//! (`sh -c`, in its own process group, stdin from /dev/null), copies its output to the pane and
//! to `output.log`, enforces the lifetime limit, turns SIGHUP/SIGTERM/SIGINT into KILLED, and
//! records how the run ended. No daemon: the pane is the process.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::runs::{self, RunState, Status};
use crate::support::{Error, Result};

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

/// How a supervised run ended.
#[derive(Debug)]
pub struct Ended {
    /// The run as recorded at the end.
    pub state: RunState,
    /// The command's exit status (128 + N for a signal; 127 when it could not be started).
    pub code: i32,
}

/// Supervises run `id` from CREATED to its end. A run that is not CREATED any more (killed
/// before it started, or started twice) is refused.
pub fn run(root: &Path, id: &str) -> Result<Ended> {
    let state = runs::read(root, id)?;
    if state.status != Status::Created {
        return Err(Error::refused(
            format!("run {id} is {}; nothing to do", state.status.as_str()),
            "`iw runs exec` is what a run's pane runs, once; start a new run with `iw run`",
        ));
    }
    for sig in [libc::SIGHUP, libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
    let by = format!("run:{id}");
    let dir = runs::run_dir(root, id);
    let log_path = dir.join(runs::OUTPUT_FILE);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Error::io("open", &log_path, e))?;
    let (reader, mut child) = match spawn(root, &state) {
        Ok(x) => x,
        Err(why) => {
            let why = why.to_string();
            let _ = writeln!(log, "{why}");
            let (state, _) = runs::transition(root, id, &by, |s| {
                s.status = Status::Failed;
                s.reason = Some(why.clone());
                true
            })?;
            return Ok(Ended { state, code: 127 });
        }
    };
    let pgid = child.id();
    let (now, _) = runs::transition(root, id, &by, |s| {
        s.status = Status::Running;
        s.started_at = Some(runs::now());
        s.pid = Some(pgid);
        s.wrapper_pid = Some(std::process::id());
        true
    })?;
    let copied = copy_output(reader, log);
    let (code, by_signal) = watch(root, &state, &by, &mut child, now.status != Status::Running)?;
    // Whatever the command left running in its group must not outlive the run.
    runs::signal_group(pgid, libc::SIGTERM);
    // Its output up to the end (something it started may hold the pipe open: do not wait long).
    let _ = copied.recv_timeout(Duration::from_secs(2));
    let (end, _) = runs::transition(root, id, &by, |s| {
        s.exit_code = Some(code);
        if code == 0 {
            s.status = Status::Completed;
        } else {
            s.status = Status::Failed;
            s.reason = Some(if by_signal {
                format!("killed by signal {}", code - 128)
            } else {
                format!("exit status {code}")
            });
        }
        true
    })?;
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
    Ok(Ended { state: end, code })
}

/// Starts the run's command with its environment, its output into a pipe. Err: why it could not.
fn spawn(root: &Path, state: &RunState) -> Result<(std::io::PipeReader, Child)> {
    use std::os::unix::process::CommandExt as _;
    let dir = runs::run_dir(root, &state.id);
    let (reader, writer) =
        std::io::pipe().map_err(|e| Error::msg(format!("cannot create a pipe: {e}")))?;
    let writer2 = writer
        .try_clone()
        .map_err(|e| Error::msg(format!("cannot create a pipe: {e}")))?;
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
        .env("IW_RUN_ID", &state.id)
        .env("IW_RUN_DIR", &dir)
        .env("IW_RUN_TASK", &state.task)
        .env("IW_RUN_PROMPT", dir.join(runs::PROMPT_FILE))
        .env("IW_RUN_RESULT", dir.join(runs::RESULT_FILE));
    let child = cmd
        .spawn()
        .map_err(|e| Error::msg(format!("cannot run `sh -c {}`: {e}", state.command)))?;
    // `cmd` is dropped here, closing this process's copies of the pipe's write end.
    Ok((reader, child))
}

/// Copies the command's output to the pane and the log as it comes; the receiver hears when the
/// output ended.
fn copy_output(mut reader: std::io::PipeReader, mut log: std::fs::File) -> Receiver<()> {
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
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
    done_rx
}

/// Waits for the command, stopping it on a signal (KILLED) or at the end of its lifetime
/// (FAILED, timeout); `stopping`: it must be stopped at once (killed before it started).
/// Returns its exit status (128 + N for signal N) and whether a signal ended it.
fn watch(
    root: &Path,
    state: &RunState,
    by: &str,
    child: &mut Child,
    stopping: bool,
) -> Result<(i32, bool)> {
    let (id, pgid) = (&state.id, child.id());
    let mut stopping = stopping.then(|| {
        runs::signal_group(pgid, libc::SIGTERM);
        Instant::now()
    });
    let deadline = Instant::now() + Duration::from_secs(state.timeout_seconds);
    let exit = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(Error::msg(format!("cannot wait for run {id}: {e}"))),
        }
        let sig = SIGNALLED.swap(0, Ordering::SeqCst);
        let why = if sig != 0 {
            Some((Status::Killed, format!("stopped by {}", signal_name(sig))))
        } else if Instant::now() >= deadline {
            Some((Status::Failed, "timeout".to_string()))
        } else {
            None
        };
        if let (Some((status, why)), None) = (why, stopping) {
            runs::transition(root, id, by, |s| {
                s.status = status;
                s.reason = Some(if why == "timeout" {
                    format!(
                        "timeout: still running after {}",
                        humantime::format_duration(Duration::from_secs(s.timeout_seconds))
                    )
                } else {
                    why.clone()
                });
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
    use std::os::unix::process::ExitStatusExt as _;
    Ok(match exit.code() {
        Some(c) => (c, false),
        None => (128 + exit.signal().unwrap_or(0), true),
    })
}
