//! File helpers: content hashes and atomic writes.
//!
//! Every file iw writes goes through [`write_atomic`]: a temporary file in the same directory,
//! then a rename, so a reader (or an apply killed half way) sees the old file or the new one,
//! never a mix.

use std::io::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::support::error::{Error, Result};

/// A file's identity on disk: inode, size, modification and change times (to the nanosecond).
/// Any write changes the change time, which cannot be set back.
pub fn fingerprint(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt as _;
    identity(meta.ino(), meta.size(), mtime_ns(meta), ctime_ns(meta))
}

fn identity(ino: u64, size: u64, mtime_ns: i128, ctime_ns: i128) -> String {
    format!("{ino} {size} {mtime_ns} {ctime_ns}")
}

/// The [`fingerprint`] and change time of each regular file `names` in directory `dir` (`None`:
/// missing, unreadable or not a regular file, links followed), with one lookup of `dir`: the
/// kernel resolves each name from the open directory instead of walking the whole path again.
#[allow(clippy::unnecessary_cast)] // `stat`'s field types differ between platforms.
pub fn fingerprints_in(dir: &Path, names: &[&str]) -> Vec<Option<(String, i128)>> {
    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    let Ok(fd) = rustix::fs::open(
        dir,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return vec![None; names.len()];
    };
    names
        .iter()
        .map(|name| {
            let st = rustix::fs::statat(&fd, *name, AtFlags::empty()).ok()?;
            if FileType::from_raw_mode(st.st_mode as _) != FileType::RegularFile {
                return None;
            }
            let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
            let mtime = ns(st.st_mtime as i64, st.st_mtime_nsec as i64);
            let ctime = ns(st.st_ctime as i64, st.st_ctime_nsec as i64);
            Some((
                identity(st.st_ino as u64, st.st_size as u64, mtime, ctime),
                ctime,
            ))
        })
        .collect()
}

/// A file's modification time, in nanoseconds since the epoch.
pub fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    use std::os::unix::fs::MetadataExt as _;
    i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec())
}

/// A file's change time (of its content or metadata), in nanoseconds since the epoch.
pub fn ctime_ns(meta: &std::fs::Metadata) -> i128 {
    use std::os::unix::fs::MetadataExt as _;
    i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec())
}

/// The lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&sha256(data))
}

/// The SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// `bytes` in lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 * bytes.len());
    for b in bytes {
        s.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
        s.push(char::from_digit((b & 0xf) as u32, 16).unwrap_or('0'));
    }
    s
}

/// The start of the names of the temporary files atomic writes make (and a killed apply may
/// leave behind, for the next to remove).
pub const TEMP_PREFIX: &str = ".iw-tmp-";

/// Writes `data` to `path` atomically (temporary file in the same directory + rename), creating
/// parent directories. The file gets mode 0644, or keeps the mode of the file it replaces.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    write_atomic_mode(path, data, 0o644)
}

/// [`write_atomic`], giving a file that does not exist yet permissions `new_mode` (an existing
/// file keeps its own).
pub fn write_atomic_mode(path: &Path, data: &[u8], new_mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(new_mode);
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    tmp.write_all(data)
        .map_err(|e| Error::io("write", tmp.path(), e))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("set permissions of", tmp.path(), e))?;
    tmp.persist(path)
        .map(|_| ())
        .map_err(|e| Error::io("replace", path, e.error))
}

/// Checks that no existing part of the directory `rel` (relative to the canonical project
/// `root`) is a symbolic link, so that writing or deleting below it stays inside the project:
/// a symlinked `state/`, `state/backups` or `agents/<name>/.claude` would send iw's writes (and
/// deletes) wherever it points. Parts that do not exist yet are fine: iw creates them as real
/// directories.
pub fn check_real_dirs(root: &Path, rel: &Path) -> Result<()> {
    real_dir_exists(root, rel).map(|_| ())
}

/// [`check_real_dirs`], saying whether the whole of `rel` exists as real directories (`false`:
/// some part is missing, or is not a directory).
pub fn real_dir_exists(root: &Path, rel: &Path) -> Result<bool> {
    let mut here = root.to_path_buf();
    for part in rel.components() {
        here.push(part);
        match std::fs::symlink_metadata(&here) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&here)
                    .map(|t| format!(" (to {})", t.display()))
                    .unwrap_or_default();
                let shown = here.strip_prefix(root).unwrap_or(&here);
                return Err(Error::with_help(
                    format!(
                        "{} is a symbolic link{to}, which can lead outside the project: iw \
                         writes and deletes only through real directories inside it",
                        shown.display()
                    ),
                    "replace the link with a real directory (move what it points to back into \
                     the project), then run the command again; nothing was changed",
                ));
            }
            Ok(m) if m.is_dir() => {}
            // Missing (created later as a real directory), or not a directory (the write that
            // needs it fails and says so).
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// A path relative to the project root (`agents/<name>/.claude/<file>`), split at its last `/`
/// into its directory and its name; the directory of a file at the root is `""`.
pub fn split_rel(path: &str) -> (&str, &str) {
    // What `rsplit_once('/')` gives, found with a vectorised search: a large plan splits every
    // path several times.
    match memchr::memrchr(b'/', path.as_bytes()) {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// True if `name` is 1 to `max_len` ASCII letters, digits, `-` and `_`: safe as one path
/// component (no `/`, no `.` or `..`), whoever supplied it.
pub fn is_plain_name(name: &str, max_len: usize) -> bool {
    !name.is_empty()
        && name.len() <= max_len
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Reads a regular file. Anything else is refused without blocking: a FIFO (named pipe), a
/// socket or a device would make a plain read wait for a writer forever (`InvalidInput`,
/// saying what the file is; a directory is `IsADirectory`).
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    read_regular_meta(path).map(|(data, _)| data)
}

/// [`read_regular`], with the file's metadata as it was just before it was read.
pub fn read_regular_meta(path: &Path) -> std::io::Result<(Vec<u8>, std::fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt as _;
    // O_NONBLOCK: opening a FIFO does not wait for a writer (it has no effect on regular files).
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    read_open(file)
}

/// The content of `file`, opened for reading (and without blocking), and its metadata as it
/// was just before it was read, if it is a regular file ([`read_regular`]).
pub fn read_open(mut file: std::fs::File) -> std::io::Result<(Vec<u8>, std::fs::Metadata)> {
    use std::io::Read as _;
    use std::os::unix::fs::FileTypeExt as _;
    let meta = file.metadata()?;
    let t = meta.file_type();
    if t.is_dir() {
        return Err(std::io::ErrorKind::IsADirectory.into());
    }
    if !t.is_file() {
        let what = if t.is_fifo() {
            "a FIFO (named pipe)"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else {
            "not a regular file"
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("it is {what}, not a regular file"),
        ));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut data)?;
    Ok((data, meta))
}

/// Reads a regular file, returning `None` if it does not exist. Anything but a regular file is
/// an error ([`read_regular`]).
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    Ok(read_optional_meta(path)?.map(|(data, _)| data))
}

/// A file's bytes and its metadata just before they were read; `None`: it is missing.
pub type Read = Option<(Vec<u8>, std::fs::Metadata)>;

/// [`read_optional`], with the file's metadata as it was just before it was read.
pub fn read_optional_meta(path: &Path) -> Result<Read> {
    optional(path, read_regular_meta(path))
}

/// [`read_optional_meta`] of the files `names` in the directory `dir`, which is opened once
/// (through links, as the files' paths would be): a missing directory makes every file missing
/// in one lookup instead of one per file, and each file is looked up by its name alone.
pub fn read_optional_in(dir: &Path, names: &[&str]) -> Vec<Result<Read>> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    match rustix::fs::open(dir, flags, Mode::empty()) {
        Ok(fd) => names
            .iter()
            .map(|name| read_optional_at(&fd, dir, name))
            .collect(),
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => {
            names.iter().map(|_| Ok(None)).collect()
        }
        // Each file's read says what is wrong.
        Err(_) => names
            .iter()
            .map(|name| read_optional_meta(&dir.join(name)))
            .collect(),
    }
}

/// [`read_optional_meta`] of the file `name` in the open directory `fd`, whose path is `dir`.
pub fn read_optional_at(fd: &std::os::fd::OwnedFd, dir: &Path, name: &str) -> Result<Read> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let read = rustix::fs::openat(fd, name, flags, Mode::empty())
        .map_err(std::io::Error::from)
        .and_then(|fd| read_open(std::fs::File::from(fd)));
    match read {
        Ok(read) => Ok(Some(read)),
        Err(e) => optional(&dir.join(name), Err(e)),
    }
}

/// The result of reading `path` as [`read_optional_meta`] gives it: a missing file is `None`,
/// and every other failure says what to do.
pub fn optional<T>(path: &Path, read: std::io::Result<T>) -> Result<Option<T>> {
    match read {
        Ok(d) => Ok(Some(d)),
        // A parent that is not a directory means the file does not exist either.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => Err(Error::with_help(
            format!("{} is a directory, where iw expects a file", path.display()),
            "move the directory away, then run the command again",
        )),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Err(Error::with_help(
            format!("{}: {e}", path.display()),
            "iw reads only regular files here: replace it with one, then run the command again",
        )),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// Removes `dir` and then its parents up to (not including) `stop`, while they are empty.
pub fn remove_empty_dirs(dir: &Path, stop: &Path) {
    let mut d = dir.to_path_buf();
    while d.starts_with(stop) && d != stop {
        if std::fs::remove_dir(&d).is_err() {
            break;
        }
        if !d.pop() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_path_splits_at_its_last_slash() {
        assert_eq!(
            split_rel("agents/a/.claude/x.md"),
            ("agents/a/.claude", "x.md")
        );
        assert_eq!(split_rel("x.md"), ("", "x.md"));
        // As `rsplit_once`, with multi-byte characters on either side.
        for p in ["", "/", "a/", "/b", "é/ü/ö", "ü/", "a//b", "日本/語.md"] {
            assert_eq!(split_rel(p), p.rsplit_once('/').unwrap_or(("", p)), "{p}");
        }
    }

    #[test]
    fn files_in_a_directory_are_read_as_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "one").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let reads = read_optional_in(dir.path(), &["a", "b", "sub"]);
        assert_eq!(reads[0].as_ref().unwrap().as_ref().unwrap().0, b"one");
        assert!(reads[1].as_ref().unwrap().is_none());
        let err = reads[2].as_ref().unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
        // A missing directory, or a file where it should be: every file is missing.
        for missing in ["none", "a"] {
            let reads = read_optional_in(&dir.path().join(missing), &["a", "b"]);
            assert!(reads.iter().all(|r| matches!(r, Ok(None))));
        }
    }

    #[test]
    fn sha256_known_value() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn atomic_write_creates_dirs_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/c.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
            .collect();
        assert!(leftovers.is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
        }
    }

    #[test]
    fn real_dirs_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.join("agents/a/.claude")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("agents/b")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("state")).unwrap();
        assert!(check_real_dirs(&root, Path::new("agents/a/.claude")).is_ok());
        assert!(check_real_dirs(&root, Path::new("agents/new/.claude")).is_ok());
        let e = check_real_dirs(&root, Path::new("agents/b/.claude")).unwrap_err();
        assert!(e.to_string().contains("agents/b is a symbolic link"), "{e}");
        assert!(check_real_dirs(&root, Path::new("state/backups")).is_err());
    }

    #[test]
    fn remove_empty_dirs_stops_at_non_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b/c")).unwrap();
        std::fs::write(dir.path().join("a/keep"), "").unwrap();
        remove_empty_dirs(&dir.path().join("a/b/c"), dir.path());
        assert!(!dir.path().join("a/b").exists());
        assert!(dir.path().join("a").exists());
    }
}
