//! A directory of the project opened through real directories only, to read and write its
//! files by name. Apply writes each agent's files through one: every part of the path is opened
//! without following a symbolic link (so no link, even one put in place while iw works, can send
//! a write outside the project), and each file operation names one component instead of making
//! the kernel walk the whole path again.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use crate::support::error::{Error, Result};
use crate::support::fsutil;

/// An open directory, its path for messages, and the project root it is below.
#[derive(Debug)]
pub struct RealDir {
    fd: std::os::fd::OwnedFd,
    path: PathBuf,
    root: Arc<Path>,
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
        RealDir::root(root)?.create_below(rel, false)
    }

    /// Opens the canonical project `root` itself (the one directory opened through whatever
    /// links lead to it: it is the project).
    pub fn root(root: &Path) -> Result<RealDir> {
        let fd = rustix::fs::open(root, DIR_FLAGS.difference(OFlags::NOFOLLOW), Mode::empty())
            .map_err(|e| io("open directory", root, e))?;
        Ok(RealDir {
            fd,
            path: root.to_path_buf(),
            root: Arc::from(root),
        })
    }

    /// Opens the directory `rel` below this one as [`RealDir::create`] does. `fresh`: its last
    /// part is expected not to exist yet, so it is created before it is opened, instead of
    /// looked up, found missing, created and opened (a wrong guess costs a lookup).
    pub fn create_below(&self, rel: &Path, fresh: bool) -> Result<RealDir> {
        let mut path = self.path.clone();
        let mut fd: Option<std::os::fd::OwnedFd> = None;
        let mut parts = rel.components().peekable();
        while let Some(part) = parts.next() {
            let Component::Normal(name) = part else {
                return Err(Error::msg(format!(
                    "{} is not a plain path below the project",
                    rel.display()
                )));
            };
            path.push(name);
            let at = fd.as_ref().unwrap_or(&self.fd);
            let mkdir = || match rustix::fs::mkdirat(at, name, Mode::from_raw_mode(0o777)) {
                Ok(()) | Err(Errno::EXIST) => Ok(()),
                Err(e) => Err(io("create directory", &path, e)),
            };
            if fresh && parts.peek().is_none() {
                mkdir()?;
            }
            let opened = match rustix::fs::openat(at, name, DIR_FLAGS, Mode::empty()) {
                Err(Errno::NOENT) => {
                    mkdir()?;
                    rustix::fs::openat(at, name, DIR_FLAGS, Mode::empty())
                }
                other => other,
            };
            fd = Some(match opened {
                Ok(next) => next,
                Err(e) => {
                    // A link: say so, and where it leads.
                    let below = path.strip_prefix(&self.root).unwrap_or(rel);
                    fsutil::check_real_dirs(&self.root, below)?;
                    return Err(io("open directory", &path, e));
                }
            });
        }
        let fd = match fd {
            Some(fd) => fd,
            None => rustix::io::dup(&self.fd).map_err(|e| io("open directory", &path, e))?,
        };
        let root = Arc::clone(&self.root);
        Ok(RealDir { fd, path, root })
    }

    /// [`fsutil::read_optional_meta`] of the file `name` in this directory.
    pub fn read_optional(&self, name: &str) -> Result<fsutil::Read> {
        fsutil::read_optional_at(&self.fd, &self.path, name)
    }

    /// Writes `data` to the file `name` atomically, with permissions `mode`: a temporary file
    /// in this directory, renamed over `name`. Returns the identity of the file in place
    /// ([`fsutil::fingerprint`]), taken from the written file itself.
    pub fn write_atomic(&self, name: &str, data: &[u8], mode: u32) -> Result<String> {
        self.put(name, data, mode, RenameFlags::empty())?
            .ok_or_else(|| Error::msg("internal: a replacing rename refused to replace"))
    }

    /// [`RealDir::write_atomic`] of a file that should not exist: the temporary file is renamed
    /// to `name` only if nothing has that name (`RENAME_NOREPLACE`, atomically), so the check
    /// that the file is still missing costs no lookup of its own. `None`: something has that
    /// name (or the file system cannot tell atomically); nothing was written.
    pub fn write_new(&self, name: &str, data: &[u8], mode: u32) -> Result<Option<String>> {
        self.put(name, data, mode, RenameFlags::NOREPLACE)
    }

    fn put(&self, name: &str, data: &[u8], mode: u32, how: RenameFlags) -> Result<Option<String>> {
        // Unique in this process; another apply cannot run at the same time (the apply lock),
        // and one killed earlier may have left a file of the same name: the next is taken.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        static PID: OnceLock<u32> = OnceLock::new();
        let pid = *PID.get_or_init(std::process::id);
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
        // Created with its final mode, less the umask: never more open than `mode`, and
        // usually exactly it, so that no chmod is needed (checked on the written file below).
        let (tmp, fd) = loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let tmp = format!("{}{pid}-{n}", fsutil::TEMP_PREFIX);
            match rustix::fs::openat(&self.fd, &tmp, flags, Mode::from_raw_mode(mode)) {
                Ok(fd) => break (tmp, fd),
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(io("create a temporary file in", &self.path, e)),
            }
        };
        let mut file = std::fs::File::from(fd);
        let written = (|| {
            use std::os::unix::fs::PermissionsExt as _;
            file.write_all(data).map_err(|e| ("write", e))?;
            match rustix::fs::renameat_with(&self.fd, &tmp, &self.fd, name, how) {
                Ok(()) => {}
                Err(Errno::EXIST | Errno::INVAL) if how.contains(RenameFlags::NOREPLACE) => {
                    return Ok(None);
                }
                Err(e) => return Err(("replace", e.into())),
            }
            let meta = file.metadata().map_err(|e| ("read metadata of", e))?;
            if meta.permissions().mode() & 0o7777 == mode {
                return Ok(Some(meta));
            }
            // The umask took permissions away: give them.
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|e| ("set permissions of", e))?;
            file.metadata()
                .map(Some)
                .map_err(|e| ("read metadata of", e))
        })();
        match written {
            Ok(Some(meta)) => Ok(Some(fsutil::fingerprint(&meta))),
            Ok(None) => {
                let _ = rustix::fs::unlinkat(&self.fd, &tmp, AtFlags::empty());
                Ok(None)
            }
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

    /// A project directory and its canonical root (the directory lives as long as the first).
    fn project() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        (dir, root)
    }

    /// The names in the directory `dir`, in any order.
    fn names(dir: &Path) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect()
    }

    #[test]
    fn creates_what_is_missing_and_writes_reads_and_replaces_by_name() {
        let (_dir, root) = project();
        let dir = RealDir::create(&root, Path::new("agents/a/.claude")).unwrap();
        assert!(dir.read_optional("x.json").unwrap().is_none());
        let id = dir.write_atomic("x.json", b"one", 0o640).unwrap();
        let path = root.join("agents/a/.claude/x.json");
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(id, fsutil::fingerprint(&meta));
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        // A mode the umask (022 or 002, usually) takes bits from is given all the same, and
        // the identity returned is the file's after that.
        let id = dir.write_atomic("w.json", b"w", 0o666).unwrap();
        let meta = std::fs::metadata(root.join("agents/a/.claude/w.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o666);
        assert_eq!(id, fsutil::fingerprint(&meta));
        std::fs::remove_file(root.join("agents/a/.claude/w.json")).unwrap();
        // Opened again (it exists now), replaced, and read back by name.
        let dir = RealDir::create(&root, Path::new("agents/a/.claude")).unwrap();
        dir.write_atomic("x.json", b"two", 0o644).unwrap();
        let (bytes, _) = dir.read_optional("x.json").unwrap().unwrap();
        assert_eq!(bytes, b"two");
        // Nothing left behind but the file.
        assert_eq!(names(&root.join("agents/a/.claude")), ["x.json"]);
    }

    #[test]
    fn a_link_anywhere_on_the_way_is_refused_and_nothing_is_written_through_it() {
        let (_dir, root) = project();
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
    fn a_new_file_is_written_only_where_nothing_is() {
        let (_dir, root) = project();
        let base = RealDir::create(&root, Path::new("agents")).unwrap();
        // Expected missing, and missing: created; expected missing, but there: opened.
        let dir = base.create_below(Path::new("a/.claude"), true).unwrap();
        let again = base.create_below(Path::new("a/.claude"), true).unwrap();
        let id = dir.write_new("x.json", b"one", 0o644).unwrap().unwrap();
        let path = root.join("agents/a/.claude/x.json");
        assert_eq!(id, fsutil::fingerprint(&std::fs::metadata(&path).unwrap()));
        // Something there now: left as it is, and no temporary file left behind.
        assert_eq!(again.write_new("x.json", b"two", 0o644).unwrap(), None);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert_eq!(names(&root.join("agents/a/.claude")), ["x.json"]);
        // A link below a base is named from the project root.
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("agents/b")).unwrap();
        for fresh in [false, true] {
            let err = base
                .create_below(Path::new("b/.claude"), fresh)
                .unwrap_err();
            assert!(
                err.to_string().contains("agents/b is a symbolic link"),
                "{err}"
            );
        }
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn reading_refuses_what_is_not_a_regular_file() {
        let (_dir, root) = project();
        let dir = RealDir::create(&root, Path::new("d")).unwrap();
        std::fs::create_dir(root.join("d/sub")).unwrap();
        let err = dir.read_optional("sub").unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }
}
