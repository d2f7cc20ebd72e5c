//! A [`HostLink`] to a directory on this machine: the host's root is a local directory, its tmux
//! this machine's. For tests of the engine's multi-host paths without ssh, and for a host that
//! is this machine under another root.

use std::path::PathBuf;
use std::process::Command;

use super::{HostLink, Probe, Seen, Target, WriteDone, WriteOp, server};
use crate::support::{Error, Result};
use crate::tmux::{LiveSession, Servers, System, Tmux, TmuxCmd};

/// A link to [`Target::root`] on this machine (its `destination` and `ssh_args` are not used).
#[derive(Debug, Clone)]
pub struct LocalLink {
    target: Target,
    iw: PathBuf,
}

impl LocalLink {
    /// A link to `target.root` here; `iw` is what [`HostLink::iw_path`] answers.
    pub fn new(target: Target, iw: PathBuf) -> LocalLink {
        LocalLink { target, iw }
    }
}

impl HostLink for LocalLink {
    fn target(&self) -> &Target {
        &self.target
    }
    fn probe(&self, probes: &[Probe]) -> Result<Vec<Seen>> {
        server::probe(&self.target.root, probes)
    }
    fn write(
        &self,
        ops: &[WriteOp],
    ) -> std::result::Result<Vec<WriteDone>, (Vec<WriteDone>, Error)> {
        server::write(&self.target.root, ops)
    }
    fn attach_command(&self, socket: &str, session: &str) -> Command {
        Tmux::new(socket).attach_command(session)
    }
    fn iw_path(&self) -> PathBuf {
        self.iw.clone()
    }
}

impl Servers for LocalLink {
    fn list(&self, socket: &str) -> Result<Vec<LiveSession>> {
        System.list(socket)
    }
    fn run(&self, socket: &str, cmds: &[TmuxCmd]) -> Result<String> {
        System.run(socket, cmds)
    }
    fn run_groups(
        &self,
        socket: &str,
        groups: &[Vec<TmuxCmd>],
    ) -> std::result::Result<usize, (usize, Error)> {
        System.run_groups(socket, groups)
    }
    fn capture(&self, socket: &str, session: &str, lines: usize) -> Result<Vec<String>> {
        System.capture(socket, session, lines)
    }
    fn kill(&self, socket: &str, names: &[String]) -> Result<()> {
        System.kill(socket, names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_go_to_the_local_root() {
        let t = tempfile::tempdir().unwrap();
        let link = LocalLink::new(
            Target {
                name: "here".into(),
                destination: "unused".into(),
                root: t.path().to_path_buf(),
                ssh_args: vec![],
            },
            PathBuf::from("/usr/bin/iw"),
        );
        let op = WriteOp {
            path: "a/f".into(),
            content: Some(b"1".to_vec()),
            mode: 0o644,
            backup_unless_sha256: None,
        };
        assert_eq!(link.write(&[op]).unwrap().len(), 1);
        assert_eq!(std::fs::read(t.path().join("a/f")).unwrap(), b"1");
        let seen = link
            .probe(&[Probe {
                path: "a/f".into(),
                want_sha256: None,
            }])
            .unwrap();
        assert_eq!(seen[0].content.as_deref(), Some(&b"1"[..]));
        assert_eq!(link.iw_path(), PathBuf::from("/usr/bin/iw"));
        assert_eq!(link.target().name, "here");
    }
}
