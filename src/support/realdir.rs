//! A directory of the project opened through real directories only, to read and write its
//! files by name. Apply writes each agent's files through one: every part of the path is opened
//! without following a symbolic link (so no link, even one put in place while iw works, can send
//! a write outside the project), and each file operation names one component instead of making
//! the kernel walk the whole path again.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::support::error::{Error, Result};
use crate::support::fsutil;

/// An open directory, and its path for messages.
#[derive(Debug)]
pub struct RealDir {
    fd: std::os::fd::OwnedFd,
    path: PathBuf,
}

/// How each part of a directory path is opened: a symbolic link is an error (ELOOP), not
/// followed.
const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

fn io(what: &'static str, path: &Path, e: Errno) -> Error {
    Error::io(what, path, std::io::Error::from(e))
}

impl RealDir {
    /// Opens the directory `rel` below the canonical project `root`, creating the parts that
    /// are missing. A part that is a symbolic link is refused with
    /// [`fsutil::check_real_dirs`]'s explanation.
    pub fn create(root: &Path, rel: &Path) -> Result<RealDir> {
        let mut fd = rustix::fs::open(root, DIR_FLAGS.difference(OFlags::NOFOLLOW), Mode::empty())
            .map_err(|e| io("open directory", root, e))?;
        let mut path = root.to_path_buf();
        for part in rel.components() {
            let Component::Normal(name) = part else {
                return Err(Error::msg(format!(
                    "{} is not a plain path below the project",
                    rel.display()
                )));
            };
            path.push(name);
            let opened = match rustix::fs::openat(&fd, name, DIR_FLAGS, Mode::empty()) {
                Err(Errno::NOENT) => {
                    match rustix::fs::mkdirat(&fd, name, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(io("create directory", &path, e)),
                    }
                    rustix::fs::openat(&fd, name, DIR_FLAGS, Mode::empty())
                }
                other => other,
            };
            fd = match opened {
                Ok(next) => next,
                Err(e) => {
                    // A link: say so, and where it leads.
                    fsutil::check_real_dirs(root, rel)?;
                    return Err(io("open directory", &path, e));
                }
            };
        }
        Ok(RealDir { fd, path })
    }

    /// [`fsutil::read_optional_meta`] of the file `name` in this directory.
    pub fn read_optional(&self, name: &str) -> Result<Option<(Vec<u8>, std::fs::Metadata)>> {
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let read = rustix::fs::openat(&self.fd, name, flags, Mode::empty())
            .map_err(std::io::Error::from)
            .and_then(|fd| fsutil::read_open(std::fs::File::from(fd)));
        fsutil::optional(&self.path.join(name), read)
    }

    /// Writes `data` to the file `name` atomically, with permissions `mode`: a temporary file
    /// in this directory, renamed over `name`. Returns the identity of the file in place
    /// ([`fsutil::fingerprint`]), taken from the written file itself.
    pub fn write_atomic(&self, name: &str, data: &[u8], mode: u32) -> Result<String> {
        // Unique in this process; another apply cannot run at the same time (the apply lock),
        // and one killed earlier may have left a file of the same name: the next is taken.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
        let (tmp, fd) = loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let tmp = format!("{}{}-{n}", fsutil::TEMP_PREFIX, std::process::id());
            match rustix::fs::openat(&self.fd, &tmp, flags, Mode::from_raw_mode(0o600)) {
                Ok(fd) => break (tmp, fd),
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(io("create a temporary file in", &self.path, e)),
            }
        };
        let mut file = std::fs::File::from(fd);
        let written = (|| {
            use std::os::unix::fs::PermissionsExt as _;
            file.write_all(data).map_err(|e| ("write", e))?;
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|e| ("set permissions of", e))?;
            rustix::fs::renameat(&self.fd, &tmp, &self.fd, name)
                .map_err(|e| ("replace", e.into()))?;
            file.metadata().map_err(|e| ("read metadata of", e))
        })();
        match written {
            Ok(meta) => Ok(fsutil::fingerprint(&meta)),
            Err((what, e)) => {
                let _ = rustix::fs::unlinkat(&self.fd, &tmp, AtFlags::empty());
                Err(Error::io(what, &self.path.join(name), e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_what_is_missing_and_writes_reads_and_replaces_by_name() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path().canonicalize().unwrap();
        let dir = RealDir::create(&root, Path::new("agents/a/.claude")).unwrap();
        assert!(dir.read_optional("x.json").unwrap().is_none());
        let id = dir.write_atomic("x.json", b"one", 0o640).unwrap();
        let path = root.join("agents/a/.claude/x.json");
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(id, fsutil::fingerprint(&meta));
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        // Opened again (it exists now), replaced, and read back by name.
        let dir = RealDir::create(&root, Path::new("agents/a/.claude")).unwrap();
        dir.write_atomic("x.json", b"two", 0o644).unwrap();
        let (bytes, _) = dir.read_optional("x.json").unwrap().unwrap();
        assert_eq!(bytes, b"two");
        // Nothing left behind but the file.
        let names: Vec<_> = std::fs::read_dir(root.join("agents/a/.claude"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["x.json"]);
    }

    #[test]
    fn a_link_anywhere_on_the_way_is_refused_and_nothing_is_written_through_it() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path().canonicalize().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.join("agents")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("agents/a")).unwrap();
        let err = RealDir::create(&root, Path::new("agents/a/.claude")).unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        // The last part a link.
        std::fs::create_dir_all(root.join("agents/b")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("agents/b/.claude")).unwrap();
        let err = RealDir::create(&root, Path::new("agents/b/.claude")).unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        // Not a plain path.
        assert!(RealDir::create(&root, Path::new("agents/../x")).is_err());
    }

    #[test]
    fn reading_refuses_what_is_not_a_regular_file() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path().canonicalize().unwrap();
        let dir = RealDir::create(&root, Path::new("d")).unwrap();
        std::fs::create_dir(root.join("d/sub")).unwrap();
        let err = dir.read_optional("sub").unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }
}
