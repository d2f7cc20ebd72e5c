//! Task runs on another host: the run is decided here, where the registry is
//! ([`crate::runs::start::prepare`]), then recorded and started there by the iw installed on the
//! host (`iw remote run-start`, [`serve_start`]), whose pane supervises it as on this machine.
//! Its record lives under the host's root (`state/runs/<id>/`); the `iw runs` commands read it
//! by running iw there ([`HostLink::iw_command`]).

use std::io::Read;
use std::process::{Output, Stdio};

use serde::{Deserialize, Serialize};

use super::start::{self, Launch, Started};
use crate::remote::HostLink;
use crate::remote::wire::{VERSION, WireError};
use crate::support::{Error, Result};

/// `iw remote run-start`'s input.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The protocol version ([`VERSION`]).
    pub v: u32,
    /// The run to record and start.
    pub launch: Launch,
}

/// `iw remote run-start`'s output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartReply {
    /// The protocol version ([`VERSION`]).
    pub v: u32,
    /// The run, when it started.
    pub started: Option<Started>,
    /// Why it did not.
    pub error: Option<WireError>,
}

/// Starts run `l` on the host behind `link`.
pub fn start(link: &dyn HostLink, l: &Launch) -> Result<Started> {
    let host = &link.target().name;
    let root = link.target().root.to_string_lossy().into_owned();
    let req = StartRequest {
        v: VERSION,
        launch: l.clone(),
    };
    let input = serde_json::to_vec(&req).map_err(|e| Error::msg(e.to_string()))?;
    let out = output(
        link,
        &["remote", "run-start", "--root", &root],
        Some(&input),
    )?;
    let reply: StartReply = serde_json::from_slice(&out.stdout).map_err(|e| {
        Error::msg(format!(
            "host {host}: iw remote run-start answered garbage ({e}): {}",
            text(&out.stderr)
        ))
    })?;
    match (reply.started, reply.error) {
        (_, Some(e)) => Err(e.into_error(host)),
        (Some(s), None) => Ok(s),
        (None, None) => Err(Error::msg(format!(
            "host {host}: iw remote run-start answered neither a run nor an error"
        ))),
    }
}

/// The host's side of [`start`]: records and starts the run under `root` with this iw binary;
/// the reply, an error included, as JSON.
pub fn serve_start(root: &std::path::Path, input: &[u8]) -> Vec<u8> {
    let result = serde_json::from_slice::<StartRequest>(input)
        .map_err(|e| Error::msg(format!("iw remote run-start: bad request: {e}")))
        .and_then(|req| {
            if req.v != VERSION {
                return Err(Error::msg(format!(
                    "iw remote run-start: protocol {} asked, this iw speaks {VERSION}",
                    req.v
                )));
            }
            let iw = std::env::current_exe()
                .map_err(|e| Error::msg(format!("cannot find iw's own executable: {e}")))?;
            start::launch(root, &iw, &req.launch)
        });
    let reply = match result {
        Ok(s) => StartReply {
            v: VERSION,
            started: Some(s),
            error: None,
        },
        Err(e) => StartReply {
            v: VERSION,
            started: None,
            error: Some(WireError::of(&e)),
        },
    };
    serde_json::to_vec(&reply).unwrap_or_default()
}

/// The runs recorded on the host (`iw runs --json` there): each one's status document, as
/// `iw runs status ID --json` prints it.
pub fn list(link: &dyn HostLink) -> Result<Vec<serde_json::Value>> {
    let host = &link.target().name;
    let out = output(link, &["runs", "--json"], None)?;
    if !out.status.success() {
        return Err(failed(host, "runs", &out));
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        Error::msg(format!(
            "host {host}: `iw runs --json` answered garbage: {e}"
        ))
    })?;
    Ok(doc["runs"].as_array().cloned().unwrap_or_default())
}

/// Run `id`'s status document on the host, or `None` when the host has no such run.
pub fn status(link: &dyn HostLink, id: &str) -> Result<Option<serde_json::Value>> {
    let host = &link.target().name;
    let out = output(link, &["runs", "status", id, "--json"], None)?;
    if !out.status.success() {
        // iw's "there is no run `ID`" (exit 1).
        if text(&out.stderr).contains(&format!("there is no run `{id}`")) {
            return Ok(None);
        }
        return Err(failed(host, "runs status", &out));
    }
    serde_json::from_slice(&out.stdout).map(Some).map_err(|e| {
        Error::msg(format!(
            "host {host}: `iw runs status` answered garbage: {e}"
        ))
    })
}

/// Runs `iw ARGS` on the host with this terminal's stdout and stderr; its exit status.
pub fn passthrough(link: &dyn HostLink, args: &[&str]) -> Result<i32> {
    let host = &link.target().name;
    let status = link
        .iw_command(args)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| Error::msg(format!("host {host}: cannot run ssh: {e}")))?;
    match status.code() {
        Some(255) => Err(Error::with_help(
            format!(
                "host {host}: the connection failed while running `iw {}`",
                args.join(" ")
            ),
            "check that the host is up (`iw doctor`), then run the command again",
        )),
        Some(c) => Ok(c),
        None => Err(Error::msg(format!(
            "host {host}: `iw {}` ended by a signal",
            args.join(" ")
        ))),
    }
}

/// Runs `iw ARGS` on the host; its output (its exit status included). ssh's own failure is an
/// error.
pub fn capture(link: &dyn HostLink, args: &[&str]) -> Result<Output> {
    output(link, args, None)
}

/// Runs `iw ARGS` on the host with `input` on its stdin; its output. ssh's own failure (255) is
/// an error.
fn output(link: &dyn HostLink, args: &[&str], input: Option<&[u8]>) -> Result<Output> {
    let host = &link.target().name;
    let input = input.map(|b| Box::new(std::io::Cursor::new(b.to_vec())) as Box<dyn Read + Send>);
    let (child, feeder) = crate::remote::ssh::spawn_fed(&mut link.iw_command(args), input)
        .map_err(|e| Error::msg(format!("host {host}: cannot run ssh: {e}")))?;
    let out = child
        .wait_with_output()
        .map_err(|e| Error::msg(format!("host {host}: ssh failed: {e}")))?;
    if let Some(f) = feeder {
        let _ = f.join();
    }
    if out.status.code() == Some(255) {
        return Err(Error::with_help(
            format!("host {host} cannot be reached: {}", text(&out.stderr)),
            "check that the host is up (`iw doctor`), then run the command again",
        ));
    }
    Ok(out)
}

fn failed(host: &str, what: &str, out: &Output) -> Error {
    Error::msg(format!(
        "host {host}: `iw {what}` failed ({}): {}",
        out.status,
        text(&out.stderr)
    ))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}
