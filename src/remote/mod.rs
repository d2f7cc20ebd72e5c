//! Agents on other hosts: what the engine asks of a host reached over SSH (issue 17).
//!
//! [`HostLink`] is the seam between the engine (`reconcile`) and a host: its tmux servers (through
//! [`crate::tmux::Servers`]), and its files under the host's root, probed and written in one round
//! trip each. The SSH implementation runs the system `ssh` in batch mode over one multiplexed
//! connection per host and, on the host, iw's own binary (`iw remote …`, hidden), installed under
//! the user's home and verified by hash; tests can give a link to a directory on this machine.
//!
//! | file | what it holds |
//! |---|---|
//! | `ssh.rs` | [`SshLink`] and [`connect`]: ssh command lines, round trips, ssh's failures explained |
//! | `install.rs` | what connecting learns about a host in one round trip, and shipping iw there |
//! | `server.rs` | the host's side of probe and write (`iw remote probe|write`): files under a root |
//! | `wire.rs` | the JSON between the two sides (content in base64) |
//! | `quote.rs` | quoting words for the remote login shell |
//! | `target.rs` | the hosts sessions.yaml declares, as [`Target`]s, and connecting to them |
//! | `dir.rs` | [`DirLink`]: a "host" that is a directory on this machine (tests, development) |
//!
//! docs/remote.md describes the protocol, the install, the control sockets and the failures.

use std::path::PathBuf;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::support::Result;
use crate::tmux::Servers;

/// A host as sessions.yaml declares it (`hosts: NAME: {ssh, root, ssh_args}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Its name in sessions.yaml (`host: NAME` on a session or tenant).
    pub name: String,
    /// What `ssh` connects to: `user@host`, or a `Host` of `~/.ssh/config`.
    pub destination: String,
    /// The project's root on that host (absolute): agents' files live under it as they do
    /// under the local root.
    pub root: PathBuf,
    /// Extra arguments given to every `ssh` call to it (`-F FILE`, `-i KEY`, `-p PORT`, …).
    pub ssh_args: Vec<String>,
}

/// One file to look at under a host's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// Relative to the host's root, `/`-separated (`agents/x/.claude/settings.json`).
    pub path: String,
    /// The SHA-256 (hex) iw expects; the content is sent back only when the file differs.
    pub want_sha256: Option<String>,
}

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// As in the probe.
    pub path: String,
    /// The file's SHA-256 (hex); `None` if there is no such regular file.
    pub sha256: Option<String>,
    /// Its permission bits.
    pub mode: Option<u32>,
    /// Its bytes, only when it exists and its hash is not `want_sha256`.
    pub content: Option<Vec<u8>>,
}

/// One change to a file under a host's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOp {
    /// Relative to the host's root, `/`-separated.
    pub path: String,
    /// The new bytes; `None` removes the file.
    pub content: Option<Vec<u8>>,
    /// Permission bits of a new file (an existing file keeps its own).
    pub mode: u32,
    /// Back the current file up first (under the host's `state/backups/`) unless its SHA-256 is
    /// this one (what iw last wrote): three-way drift, as on the local machine. `None`: back up
    /// whatever is there.
    pub backup_unless_sha256: Option<String>,
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteDone {
    /// As in the op.
    pub path: String,
    /// Where the previous content was saved (relative to the host's root), if it was.
    pub backup: Option<String>,
    /// SHA-256 of what is there now; `None` after a removal.
    pub sha256: Option<String>,
}

/// A host the engine can observe and change: its tmux servers ([`Servers`], sockets as named on
/// that host) and its files under [`Target::root`].
pub trait HostLink: Servers + Send + Sync {
    /// Which host this is.
    fn target(&self) -> &Target;
    /// Looks at files under the root, in one round trip; same order as `probes`.
    fn probe(&self, probes: &[Probe]) -> Result<Vec<Seen>>;
    /// Applies the ops in order, each atomically (temp file + rename on that host); stops at the
    /// first failure, returning it with what was done before it.
    fn write(
        &self,
        ops: &[WriteOp],
    ) -> std::result::Result<Vec<WriteDone>, (Vec<WriteDone>, crate::support::Error)>;
    /// The command that attaches this terminal to a session there (`ssh -t … tmux attach`).
    fn attach_command(&self, socket: &str, session: &str) -> Command;
    /// The command Claude Code on that host runs as its hook: the absolute path of the iw
    /// installed there (over ssh, the stable link to the build verified there, so that a new
    /// build changes no file on the host).
    fn iw_path(&self) -> PathBuf;
    /// The command that runs the iw installed there in the project's root there:
    /// `iw -C ROOT ARGS…` (through ssh for an SSH host, with the host's tmux). Its stdin, stdout
    /// and stderr are the caller's to set; it ends with the remote iw's exit status (255: ssh
    /// itself failed).
    fn iw_command(&self, args: &[&str]) -> Command;
    /// The name that tmux servers there know `socket` by (the same, except for a test link).
    fn socket_name(&self, socket: &str) -> String {
        socket.to_string()
    }
}

mod dir;
pub mod install;
pub mod quote;
pub mod server;
pub mod ssh;
mod target;
pub mod wire;

pub use dir::DirLink;
pub use ssh::{Options, SshLink, connect, connect_with};
pub use target::{connect_targets, target, targets};
