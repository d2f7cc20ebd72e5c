//! A [`HostLink`] to a directory on this machine, for tests and development: the "host" is a
//! directory (its [`Target::root`]) and its tmux servers are this machine's, on sockets named
//! `<socket>-<host>` so that two such hosts (and the local project) never share a server. No
//! SSH: it lets the engine's remote paths be tested end to end before, and without, sshd.

use std::path::PathBuf;
use std::process::Command;

use super::{HostLink, Probe, Seen, Target, WriteDone, WriteOp};
use crate::support::{Error, Result};
use crate::tmux::{LiveSession, Servers, System, TmuxCmd};

/// A host that is a directory of this machine (test and development link).
#[derive(Debug, Clone)]
pub struct DirLink {
    target: Target,
}

impl DirLink {
    /// A link to `target`, whose `root` is a directory here (created on first write).
    pub fn new(target: Target) -> DirLink {
        DirLink { target }
    }

    /// The local socket standing for `socket` on this host.
    pub fn socket(&self, socket: &str) -> String {
        format!("{socket}-{}", self.target.name)
    }
}

impl Servers for DirLink {
    fn list(&self, socket: &str) -> Result<Vec<LiveSession>> {
        System.list(&self.socket(socket))
    }
    fn run(&self, socket: &str, cmds: &[TmuxCmd]) -> Result<String> {
        System.run(&self.socket(socket), cmds)
    }
    fn run_groups(
        &self,
        socket: &str,
        groups: &[Vec<TmuxCmd>],
    ) -> std::result::Result<usize, (usize, Error)> {
        System.run_groups(&self.socket(socket), groups)
    }
    fn capture(&self, socket: &str, session: &str, lines: usize) -> Result<Vec<String>> {
        System.capture(&self.socket(socket), session, lines)
    }
    fn kill(&self, socket: &str, names: &[String]) -> Result<()> {
        System.kill(&self.socket(socket), names)
    }
}

impl HostLink for DirLink {
    fn target(&self) -> &Target {
        &self.target
    }

    fn probe(&self, probes: &[Probe]) -> Result<Vec<Seen>> {
        super::server::probe(&self.target.root, probes)
    }

    fn write(
        &self,
        ops: &[WriteOp],
    ) -> std::result::Result<Vec<WriteDone>, (Vec<WriteDone>, Error)> {
        // What `iw remote write` does on a host, here; the root is created on first write.
        if let Err(e) = std::fs::create_dir_all(&self.target.root) {
            return Err((Vec::new(), Error::io("create", &self.target.root, e)));
        }
        super::server::write(&self.target.root, ops)
    }

    fn attach_command(&self, socket: &str, session: &str) -> Command {
        crate::tmux::Tmux::new(&self.socket(socket)).attach_command(session)
    }

    fn iw_path(&self) -> PathBuf {
        std::env::current_exe().unwrap_or_else(|_| PathBuf::from("iw"))
    }

    fn iw_command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.iw_path());
        c.arg("-C").arg(&self.target.root).args(args);
        c
    }

    fn socket_name(&self, socket: &str) -> String {
        self.socket(socket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::fsutil;
    use std::path::Path;

    fn link(root: &Path) -> DirLink {
        DirLink::new(Target {
            name: "h1".into(),
            destination: "dev@h1".into(),
            root: root.to_path_buf(),
            ssh_args: Vec::new(),
        })
    }

    #[test]
    fn probes_and_writes_files_under_its_root_with_backups() {
        let dir = tempfile::tempdir().unwrap();
        let l = link(dir.path());
        let p = "agents/a/.claude/CLAUDE.md";
        let want = fsutil::sha256_hex(b"new");
        let probe = |l: &DirLink| {
            l.probe(&[Probe {
                path: p.into(),
                want_sha256: Some(want.clone()),
            }])
            .unwrap()
            .remove(0)
        };
        assert_eq!(probe(&l).sha256, None);
        let op = |content: &[u8], unless: Option<String>| WriteOp {
            path: p.into(),
            content: Some(content.to_vec()),
            mode: 0o644,
            backup_unless_sha256: unless,
        };
        let done = l.write(&[op(b"old", None)]).unwrap();
        assert_eq!(done[0].backup, None);
        let seen = probe(&l);
        assert_eq!(seen.content.as_deref(), Some(&b"old"[..]));
        assert_eq!(seen.mode, Some(0o644));
        // Overwriting what iw wrote: no backup; anything else: backed up first.
        let done = l
            .write(&[op(b"new", Some(fsutil::sha256_hex(b"old")))])
            .unwrap();
        assert_eq!(done[0].backup, None);
        assert_eq!(probe(&l).content, None);
        let done = l.write(&[op(b"newer", Some("0".into()))]).unwrap();
        let b = done[0].backup.clone().unwrap();
        assert_eq!(std::fs::read(dir.path().join(b)).unwrap(), b"new");
        let (done, _) = l
            .write(&[
                WriteOp {
                    content: None,
                    ..op(b"", Some(fsutil::sha256_hex(b"newer")))
                },
                WriteOp {
                    path: "../escape".into(),
                    ..op(b"x", None)
                },
            ])
            .unwrap_err();
        assert_eq!(done.len(), 1);
        assert!(!dir.path().join(p).exists());
    }
}
