//! The host's side of [`super::HostLink::probe`] and [`super::HostLink::write`]: what
//! `iw remote probe|write --root ROOT` does on the host with the JSON on its stdin
//! ([`super::wire`]). Pure file work under one root, also usable on this machine.
//!
//! Paths are relative, `/`-separated, with no empty, `.` or `..` part: anything else is refused,
//! so nothing is read or written outside the root by name. Writes go through real directories
//! only (a symbolic link on the way is refused, as in a local apply), each file atomically
//! (temporary file in its directory + rename). Backups follow the local apply's layout:
//! `state/backups/<UTC time>/<path>`, one directory per write call.

use std::path::{Path, PathBuf};

use super::wire::{self, ProbeReply, ProbeRequest, WireError, WriteReply, WriteRequest};
use super::{Probe, Seen, WriteDone, WriteOp};
use crate::support::backups::Backups;
use crate::support::error::{Error, Result};
use crate::support::fsutil;

/// Checks a path from a probe or an op: relative, `/`-separated, no empty, `.` or `..` part, no
/// NUL. Returns it as a relative path.
pub fn relative(path: &str) -> Result<PathBuf> {
    let bad = |why: &str| {
        Err(Error::refused(
            format!("refusing path {path:?}: {why}"),
            "iw only names files under the host's root, by relative paths without `..`",
        ))
    };
    if path.is_empty() {
        return bad("it is empty");
    }
    if path.starts_with('/') {
        return bad("it is absolute");
    }
    if path.contains('\0') {
        return bad("it holds a NUL byte");
    }
    for part in path.split('/') {
        match part {
            "" => return bad("it has an empty part"),
            "." | ".." => return bad("it has a `.` or `..` part"),
            _ => {}
        }
    }
    Ok(PathBuf::from(path))
}

/// Checks the root given on the command line: absolute.
fn check_root(root: &Path) -> Result<()> {
    if root.is_absolute() {
        Ok(())
    } else {
        Err(Error::refused(
            format!("the root {} is not an absolute path", root.display()),
            "give hosts an absolute `root:` in sessions.yaml",
        ))
    }
}

/// Looks at each file: its hash and mode, and its bytes when the hash is not the one wanted.
/// A missing file, or anything but a regular file (a directory, a FIFO), is `sha256: None`.
pub fn probe(root: &Path, probes: &[Probe]) -> Result<Vec<Seen>> {
    use std::os::unix::fs::PermissionsExt as _;
    check_root(root)?;
    let mut out = Vec::with_capacity(probes.len());
    for p in probes {
        let path = root.join(relative(&p.path)?);
        let found = match fsutil::read_regular_meta(&path) {
            Ok(found) => Some(found),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound
                        | std::io::ErrorKind::NotADirectory
                        | std::io::ErrorKind::IsADirectory
                        | std::io::ErrorKind::InvalidInput
                ) =>
            {
                None
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        out.push(match found {
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
                    sha256: Some(sha),
                    mode: Some(meta.permissions().mode() & 0o7777),
                    content: (!same).then_some(bytes),
                }
            }
        });
    }
    Ok(out)
}

/// Applies `ops` in order (see the module docs); stops at the first failure, returning it with
/// what was done before it.
pub fn write(
    root: &Path,
    ops: &[WriteOp],
) -> std::result::Result<Vec<WriteDone>, (Vec<WriteDone>, Error)> {
    let mut done = Vec::with_capacity(ops.len());
    if let Err(e) = check_root(root) {
        return Err((done, e));
    }
    let mut backups = Backups::new(root);
    for op in ops {
        match write_one(root, op, &mut backups) {
            Ok(d) => done.push(d),
            Err(e) => return Err((done, e)),
        }
    }
    Ok(done)
}

fn write_one(root: &Path, op: &WriteOp, backups: &mut Backups) -> Result<WriteDone> {
    use std::os::unix::fs::PermissionsExt as _;
    let rel = relative(&op.path)?;
    let parent = rel.parent().unwrap_or(Path::new(""));
    fsutil::check_real_dirs(root, parent)?;
    let path = root.join(&rel);
    let now = fsutil::read_optional_meta(&path)?;
    let backup = match &now {
        Some((bytes, meta))
            if op.backup_unless_sha256.as_deref() != Some(fsutil::sha256_hex(bytes).as_str()) =>
        {
            Some(backups.save(&rel, bytes, meta.permissions().mode() & 0o7777)?)
        }
        _ => None,
    };
    let sha256 = match &op.content {
        Some(bytes) => {
            // Creates the directories as needed; an existing file keeps its mode.
            fsutil::write_atomic_mode(&path, bytes, op.mode & 0o7777)?;
            Some(fsutil::sha256_hex(bytes))
        }
        None => {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("delete", &path, e)),
            }
            // Directories left empty go too, up to the first part under the root (`agents/`
            // stays, as in a local apply).
            if let (Some(dir), Some(first)) = (path.parent(), rel.components().next()) {
                fsutil::remove_empty_dirs(dir, &root.join(first));
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

/// `iw remote probe`: the JSON request in, the JSON reply out (an error goes in the reply).
pub fn serve_probe(root: &Path, input: &[u8]) -> Vec<u8> {
    let reply = match parse::<ProbeRequest>(input, |r| r.v).and_then(|r| probe(root, &r.probes)) {
        Ok(seen) => ProbeReply {
            v: wire::VERSION,
            seen: seen.into_iter().map(Into::into).collect(),
            error: None,
        },
        Err(e) => ProbeReply {
            v: wire::VERSION,
            seen: Vec::new(),
            error: Some(WireError::of(&e)),
        },
    };
    serde_json::to_vec(&reply).unwrap_or_default()
}

/// `iw remote write`: the JSON request in, the JSON reply out (what was done, and the error
/// that stopped it).
pub fn serve_write(root: &Path, input: &[u8]) -> Vec<u8> {
    let result = match parse::<WriteRequest>(input, |r| r.v) {
        Ok(req) => {
            let ops: Vec<WriteOp> = req.ops.into_iter().map(Into::into).collect();
            write(root, &ops)
        }
        Err(e) => Err((Vec::new(), e)),
    };
    let reply = match result {
        Ok(done) => WriteReply {
            v: wire::VERSION,
            done,
            error: None,
        },
        Err((done, e)) => WriteReply {
            v: wire::VERSION,
            done,
            error: Some(WireError::of(&e)),
        },
    };
    serde_json::to_vec(&reply).unwrap_or_default()
}

/// Parses a request and checks its version.
fn parse<T: serde::de::DeserializeOwned>(input: &[u8], v: impl Fn(&T) -> u32) -> Result<T> {
    let req: T = serde_json::from_slice(input)
        .map_err(|e| Error::msg(format!("the request is not iw's remote protocol: {e}")))?;
    if v(&req) != wire::VERSION {
        return Err(Error::msg(format!(
            "the request is protocol version {}, this iw speaks {}",
            v(&req),
            wire::VERSION
        )));
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn op(path: &str, content: Option<&[u8]>, unless: Option<&str>) -> WriteOp {
        WriteOp {
            path: path.into(),
            content: content.map(<[u8]>::to_vec),
            mode: 0o600,
            backup_unless_sha256: unless.map(String::from),
        }
    }

    fn probe1(root: &Path, path: &str, want: Option<&str>) -> Seen {
        let p = Probe {
            path: path.into(),
            want_sha256: want.map(String::from),
        };
        probe(root, &[p]).unwrap().remove(0)
    }

    #[test]
    fn paths_must_stay_under_the_root() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a/.",
            "a/\0",
        ] {
            assert!(relative(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "a",
            "agents/x/.claude/settings.json",
            "..a",
            "a..",
            ".hidden",
        ] {
            assert_eq!(relative(good).unwrap(), PathBuf::from(good));
        }
    }

    #[test]
    fn probe_sends_content_only_when_it_differs() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::write(root.join("same"), b"one").unwrap();
        std::fs::write(root.join("other"), b"two").unwrap();
        std::fs::create_dir(root.join("dir")).unwrap();
        let sha1 = fsutil::sha256_hex(b"one");
        let same = probe1(root, "same", Some(&sha1));
        assert_eq!(same.sha256.as_deref(), Some(sha1.as_str()));
        assert_eq!(same.content, None);
        assert!(same.mode.is_some());
        let other = probe1(root, "other", Some(&sha1));
        assert_eq!(other.content.as_deref(), Some(&b"two"[..]));
        let missing = probe1(root, "nope/x", None);
        assert_eq!((missing.sha256, missing.content), (None, None));
        assert_eq!(probe1(root, "dir", None).sha256, None);
        let bad = Probe {
            path: "../x".into(),
            want_sha256: None,
        };
        assert!(probe(root, &[bad]).is_err());
        assert!(probe(Path::new("relative"), &[]).is_err());
    }

    #[test]
    fn write_creates_backs_up_replaces_and_removes() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let done = write(root, &[op("a/b/new", Some(b"x\0y"), None)]).unwrap();
        assert_eq!(
            done[0].sha256.as_deref(),
            Some(fsutil::sha256_hex(b"x\0y").as_str())
        );
        assert_eq!(done[0].backup, None);
        let mode = std::fs::metadata(root.join("a/b/new"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        // What iw last wrote: no backup; the file keeps its mode.
        std::fs::set_permissions(root.join("a/b/new"), std::fs::Permissions::from_mode(0o640))
            .unwrap();
        let last = fsutil::sha256_hex(b"x\0y");
        let done = write(root, &[op("a/b/new", Some(b"2"), Some(&last))]).unwrap();
        assert_eq!(done[0].backup, None);
        let mode = std::fs::metadata(root.join("a/b/new"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);

        // Edited by someone: backed up first.
        let done = write(root, &[op("a/b/new", Some(b"3"), Some(&last))]).unwrap();
        let b = done[0].backup.clone().unwrap();
        assert!(
            b.starts_with("state/backups/") && b.ends_with("/a/b/new"),
            "{b}"
        );
        assert_eq!(std::fs::read(root.join(&b)).unwrap(), b"2");

        // Removed, with its directories left empty (the first part stays).
        let done = write(
            root,
            &[op("a/b/new", None, Some(&fsutil::sha256_hex(b"3")))],
        )
        .unwrap();
        assert_eq!(
            (done[0].sha256.clone(), done[0].backup.clone()),
            (None, None)
        );
        assert!(!root.join("a/b").exists() && root.join("a").is_dir());
        // Removing what is not there is done, not an error.
        assert_eq!(write(root, &[op("a/gone", None, None)]).unwrap().len(), 1);
    }

    #[test]
    fn write_stops_at_the_first_refusal_and_says_what_was_done() {
        // The root inside a directory of the test's own, so that "../x" would land there (and
        // nowhere shared, such as /tmp/x).
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let ops = [
            op("ok", Some(b"1"), None),
            op("../x", Some(b"2"), None),
            op("later", Some(b"3"), None),
        ];
        let (done, e) = write(&root, &ops).unwrap_err();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].path, "ok");
        assert!(e.to_string().contains("../x"), "{e}");
        assert!(!root.join("later").exists());
        assert!(!t.path().join("x").exists());
    }

    #[test]
    fn write_refuses_a_symbolic_link_on_the_way() {
        let t = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(out.path(), t.path().join("link")).unwrap();
        let (done, e) = write(t.path(), &[op("link/f", Some(b"1"), None)]).unwrap_err();
        assert!(done.is_empty());
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!out.path().join("f").exists());
    }

    proptest::proptest! {
        #[test]
        fn accepted_paths_never_leave_the_root(path in "[a./\\\\x-]{0,12}") {
            if let Ok(rel) = relative(&path) {
                proptest::prop_assert!(rel.components().all(|c| matches!(c, std::path::Component::Normal(_))));
                proptest::prop_assert!(Path::new("/r").join(&rel).starts_with("/r"));
            }
        }

        #[test]
        fn any_input_gets_a_json_reply(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let root = Path::new("/nonexistent-iw-root");
            let p: ProbeReply = serde_json::from_slice(&serve_probe(root, &input)).unwrap();
            proptest::prop_assert!(p.error.is_some());
            let w: WriteReply = serde_json::from_slice(&serve_write(root, &input)).unwrap();
            proptest::prop_assert!(w.error.is_some() && w.done.is_empty());
        }
    }

    #[test]
    fn serve_answers_in_json_also_for_garbage() {
        let t = tempfile::tempdir().unwrap();
        let reply: ProbeReply =
            serde_json::from_slice(&serve_probe(t.path(), b"{not json")).unwrap();
        assert!(reply.error.is_some() && reply.seen.is_empty());
        let req = br#"{"v":99,"ops":[]}"#;
        let reply: WriteReply = serde_json::from_slice(&serve_write(t.path(), req)).unwrap();
        assert!(reply.error.unwrap().message.contains("version 99"));
        let req = br#"{"v":1,"ops":[{"path":"f","content":"aGk=","mode":420,"backup_unless_sha256":null}]}"#;
        let reply: WriteReply = serde_json::from_slice(&serve_write(t.path(), req)).unwrap();
        assert_eq!((reply.done.len(), reply.error), (1, None));
        assert_eq!(std::fs::read(t.path().join("f")).unwrap(), b"hi");
    }
}
