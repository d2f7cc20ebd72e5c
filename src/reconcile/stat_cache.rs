//! The stat cache `state/iw.stat`: for each generated file, its identity on disk (inode, size,
//! modification and change times: [`fsutil::fingerprint`]) when iw last knew its content, with
//! that content's SHA-256. The no-op fast path ([`super::noop`]) takes a file whose identity and
//! recorded hash both match as unchanged, without reading it, like git's index.
//!
//! The cache only ever saves reading: an entry says "the file with this identity had this
//! content", so one that is stale, missing or garbled just sends the file to be read and hashed.
//! A file whose change time is not older than the cache itself is "racily clean" (it may have
//! changed again within the same clock tick) and is always read. Unlike the lockfile, the cache
//! is not deterministic, which is why it is a file of its own. It also records the registry's
//! hash, so that a no-op plan need not read a large registry to compute its key.

use std::path::Path;

use crate::support::{Result, fsutil};

/// The cache's path, relative to the project root.
pub const PATH: &str = "state/iw.stat";

/// A file's identity and the SHA-256 of its content then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known<'a> {
    /// [`fsutil::fingerprint`] of the file.
    pub identity: &'a str,
    /// SHA-256 of its content.
    pub sha256: &'a str,
}

/// The cache as read: its text and its own modification time (ns).
#[derive(Debug, Default)]
pub struct Cache {
    text: String,
    /// When the cache was written (its modification time, in ns).
    pub written_ns: i128,
}

/// The cache's entries, borrowed from its text and sorted by path for lookups.
#[derive(Debug)]
pub struct Entries<'a> {
    /// (path, identity, sha256), by path.
    rows: Vec<(&'a str, &'a str, &'a str)>,
    written_ns: i128,
}

impl Cache {
    /// The entries, parsed without copying.
    pub fn entries(&self) -> Entries<'_> {
        let mut rows: Vec<(&str, &str, &str)> = self
            .text
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, '\t');
                let (sha256, identity, path) = (parts.next()?, parts.next()?, parts.next()?);
                Some((path, identity, sha256))
            })
            .collect();
        // Written in the lockfile's (sorted) order; sorting again costs little if it is.
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Entries {
            rows,
            written_ns: self.written_ns,
        }
    }
}

impl Entries<'_> {
    /// True when `path`, seen now with `identity` and change time `ctime_ns`, still has the
    /// content whose hash is `sha256`.
    pub fn vouches(&self, path: &str, identity: &str, ctime_ns: i128, sha256: &str) -> bool {
        self.known(path, identity, ctime_ns) == Some(sha256)
    }

    /// The content hash recorded for `path`, if the entry vouches for it: `path` is seen now
    /// with the recorded `identity`, and its change time `ctime_ns` is older than the cache.
    pub fn known(&self, path: &str, identity: &str, ctime_ns: i128) -> Option<&str> {
        if ctime_ns >= self.written_ns {
            return None;
        }
        let i = self.rows.binary_search_by(|r| r.0.cmp(path)).ok()?;
        (self.rows[i].1 == identity).then_some(self.rows[i].2)
    }

    /// True when the cache has no entry.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Reads the cache; an empty one if there is none or it cannot be read.
pub fn read(root: &Path) -> Cache {
    let Ok((bytes, meta)) = fsutil::read_regular_meta(&root.join(PATH)) else {
        return Cache::default();
    };
    Cache {
        text: String::from_utf8(bytes).unwrap_or_default(),
        written_ns: fsutil::mtime_ns(&meta),
    }
}

/// Writes the cache (atomically) with `entries`: (path, known).
pub fn write<'a>(
    root: &Path,
    entries: impl IntoIterator<Item = (&'a str, Known<'a>)>,
) -> Result<()> {
    use std::fmt::Write as _;
    let entries = entries.into_iter();
    // About 170 bytes a line: reserved at once rather than grown by doubling (and copying).
    let mut text = String::with_capacity(entries.size_hint().1.unwrap_or(0) * 192);
    for (path, k) in entries {
        let _ = writeln!(text, "{}\t{}\t{path}", k.sha256, k.identity);
    }
    fsutil::write_atomic(&root.join(PATH), text.as_bytes())
}

/// Removes the cache, if there is one (nothing to vouch for after an incomplete apply).
pub fn remove(root: &Path) {
    let _ = std::fs::remove_file(root.join(PATH));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_vouches_only_for_its_identity_and_hash_and_only_when_older_than_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        let k = |identity, sha256| Known { identity, sha256 };
        write(dir.path(), [("agents/a/.claude/x", k("1 2 3 4", "abc"))]).unwrap();
        let cache = read(dir.path());
        let c = cache.entries();
        let old = cache.written_ns - 1_000_000_000;
        assert!(c.vouches("agents/a/.claude/x", "1 2 3 4", old, "abc"));
        assert!(
            !c.vouches("agents/a/.claude/x", "1 2 3 5", old, "abc"),
            "other identity"
        );
        assert!(
            !c.vouches("agents/a/.claude/x", "1 2 3 4", old, "abd"),
            "other hash"
        );
        assert!(
            !c.vouches("agents/a/.claude/y", "1 2 3 4", old, "abc"),
            "unknown path"
        );
        assert!(
            !c.vouches("agents/a/.claude/x", "1 2 3 4", cache.written_ns, "abc"),
            "racily clean"
        );
        std::fs::write(dir.path().join(PATH), "garbage\n\tx\n").unwrap();
        assert!(read(dir.path()).entries().is_empty());
        remove(dir.path());
        assert!(read(dir.path()).entries().is_empty());
    }
}
