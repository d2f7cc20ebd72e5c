//! A [`HostLink`] to a directory on this machine, for tests and development: the "host" is a
//! directory (its [`Target::root`]) and its tmux servers are this machine's, on sockets named
//! `<socket>-<host>` so that two such hosts (and the local project) never share a server. No
//! SSH: it lets the engine's remote paths be tested end to end before, and without, sshd.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use super::{HostLink, Probe, Seen, Target, WriteDone, WriteOp};
use crate::support::{Error, Result, fsutil};
use crate::tmux::{LiveSession, Servers, System, TmuxCmd};

/// Where a directory host keeps backups of files it overwrote, relative to its root.
const BACKUPS: &str = "state/backups";

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

    /// The absolute path of `rel` under the root; refuses anything that would leave it.
    fn path(&self, rel: &str) -> Result<PathBuf> {
        let p = Path::new(rel);
        if rel.is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(Error::msg(format!(
                "host {}: `{rel}` is not a path under the root",
                self.target.name
            )));
        }
        Ok(self.target.root.join(p))
    }

    /// One write (see [`HostLink::write`]); `stamp` names this batch's backup directory.
    fn write_one(&self, op: &WriteOp, stamp: &str) -> Result<WriteDone> {
        let path = self.path(&op.path)?;
        let mut backup = None;
        if let Some(old) = fsutil::read_optional(&path)? {
            let sha = fsutil::sha256_hex(&old);
            if op.backup_unless_sha256.as_deref() != Some(sha.as_str()) {
                let rel = format!("{BACKUPS}/{stamp}/{}", op.path);
                fsutil::write_atomic(&self.target.root.join(&rel), &old)?;
                backup = Some(rel);
            }
        }
        let sha256 = match &op.content {
            Some(bytes) => {
                fsutil::write_atomic_mode(&path, bytes, op.mode)?;
                Some(fsutil::sha256_hex(bytes))
            }
            None => {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io("remove", &path, e)),
                }
                None
            }
        };
        Ok(WriteDone {
            path: op.path.clone(),
            backup,
            sha256,
        })
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
        use std::os::unix::fs::PermissionsExt as _;
        probes
            .iter()
            .map(|p| {
                let read = fsutil::read_optional_meta(&self.path(&p.path)?)?;
                Ok(match read {
                    None => Seen {
                        path: p.path.clone(),
                        sha256: None,
                        mode: None,
                        content: None,
                    },
                    Some((bytes, meta)) => {
                        let sha = fsutil::sha256_hex(&bytes);
                        let same = p.want_sha256.as_deref() == Some(sha.as_str());
                        Seen {
                            path: p.path.clone(),
                            mode: Some(meta.permissions().mode() & 0o7777),
                            content: (!same).then_some(bytes),
                            sha256: Some(sha),
                        }
                    }
                })
            })
            .collect()
    }

    fn write(
        &self,
        ops: &[WriteOp],
    ) -> std::result::Result<Vec<WriteDone>, (Vec<WriteDone>, Error)> {
        let stamp = humantime::format_rfc3339_nanos(std::time::SystemTime::now())
            .to_string()
            .replace([':', '-', '.'], "");
        let mut done = Vec::new();
        for op in ops {
            match self.write_one(op, &stamp) {
                Ok(d) => done.push(d),
                Err(e) => return Err((done, e)),
            }
        }
        Ok(done)
    }

    fn attach_command(&self, socket: &str, session: &str) -> Command {
        crate::tmux::Tmux::new(&self.socket(socket)).attach_command(session)
    }

    fn iw_path(&self) -> PathBuf {
        std::env::current_exe().unwrap_or_else(|_| PathBuf::from("iw"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
