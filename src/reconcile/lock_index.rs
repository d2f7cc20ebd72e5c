//! The policy index `state/iw.lock.idx`: where, in `state/iw.lock`, each agent's policy hash is,
//! so that the hook (which runs before every tool call) finds one agent's entry with a few small
//! positioned reads instead of reading a lockfile that grows with the team (6 MB at 10 000
//! agents).
//!
//! [`LockFile::write`](super::lock::LockFile::write) writes it, atomically, just before the
//! lockfile. It is a header line, then one fixed-width line per agent whose policy the lockfile
//! records, sorted by agent name:
//!
//! ```text
//! iw-policy-index 1 <stamp: 64 hex> <records: 10 digits> <name width: 2 digits>\n
//! <agent name, padded with spaces to the width> <sha256: 64 hex> <offset: 12 digits>\n
//! ```
//!
//! The offset is where the entry's key (`"agents/<name>/.claude/iw-policy.json"`) starts in the
//! lockfile. The stamp is the SHA-256 of the records; the lockfile carries the same stamp in its
//! `policy_index` field, right after `version`, so it is found in the lockfile's first bytes.
//!
//! The index is only ever a shortcut. [`locked_policy_sha256`] answers only when every check
//! holds: both files are regular files, the lockfile's stamp is the index's, the index is well
//! formed, the agent is in it, and the lockfile, read at the recorded offset, holds that agent's
//! policy entry with the same hash. Anything else — no index, a stale one (an apply killed
//! between the index and the lockfile, an older index copied back), a lockfile edited by hand,
//! a truncated or garbled index — gives `None`, and the hook reads the whole lockfile as it
//! always did. So the index never makes the hook trust a hash the lockfile does not record at
//! that place. It lives in `state/`, which every agent's policy forbids writing, like the
//! lockfile itself.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use serde::Deserialize;

use super::lock::FileEntry;

/// The index's path relative to the project root.
pub const INDEX_PATH: &str = "state/iw.lock.idx";

/// The first bytes of the header: the format and its version.
const MAGIC: &[u8] = b"iw-policy-index 1 ";
/// The header's length: magic, stamp, space, record count, space, name width, newline.
const HEADER_LEN: usize = MAGIC.len() + 64 + 1 + 10 + 1 + 2 + 1;
/// The widest agent name (as `registry::valid_name` allows).
const MAX_NAME: usize = 63;
/// Digits of a record's offset.
const OFFSET_DIGITS: usize = 12;
/// Below this many bytes of records left to search, read them at once rather than probing.
const READ_AT_ONCE: usize = 4096;
/// Bytes read after an entry's key in the lockfile: enough for `{"agent": <name>, "sha256":
/// <hash>}` pretty-printed.
const ENTRY_WINDOW: usize = 256;

/// The lockfile key of `agent`'s policy file, as JSON.
fn policy_key(agent: &str) -> String {
    format!("\"{}\"", crate::policy::policy_path(agent))
}

/// The agent whose policy file `path` is, if it is one.
fn policy_agent(path: &str) -> Option<&str> {
    let name = path
        .strip_prefix("agents/")?
        .strip_suffix(crate::policy::POLICY_FILE)?
        .strip_suffix("/.claude/")?;
    crate::model::registry::valid_name(name).then_some(name)
}

/// The length of one record for names up to `width` bytes.
fn record_len(width: usize) -> usize {
    width + 1 + 64 + 1 + OFFSET_DIGITS + 1
}

/// True for 64 lowercase hex digits.
fn is_sha256(s: &[u8]) -> bool {
    s.len() == 64
        && s.iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// A built index: its bytes and its stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// The SHA-256 of the records (the lockfile records it as `policy_index`).
    pub stamp: String,
    /// The file's content: header and records.
    pub bytes: Vec<u8>,
}

/// Builds the index of the policy entries of `files` from `lock`, the lockfile's exact text (as
/// [`LockFile::write`](super::lock::LockFile::write) serialises it). An entry whose key is not
/// found where expected is left out (the hook then reads the lockfile for that agent).
pub fn build(lock: &str, files: &BTreeMap<String, FileEntry>) -> Index {
    // The files map, pretty-printed: keys in order, each at the start of its own line.
    let mut from = lock.find("\n  \"files\": {").unwrap_or(lock.len());
    let mut records: Vec<(&str, &str, usize)> = Vec::new();
    for (path, entry) in files {
        let Some(agent) = policy_agent(path) else {
            continue;
        };
        let key = policy_key(agent);
        let Some(at) = lock[from..].find(&key).map(|i| from + i) else {
            continue;
        };
        from = at + key.len();
        if sha_at(lock.as_bytes(), at, agent).as_deref() == Some(entry.sha256.as_str())
            && is_sha256(entry.sha256.as_bytes())
        {
            records.push((agent, &entry.sha256, at));
        }
    }
    // Sorted by name (the files map is sorted by path, which for policies is nearly the same).
    records.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let width = records.iter().map(|r| r.0.len()).max().unwrap_or(1);
    let mut body = Vec::with_capacity(records.len() * record_len(width));
    for (agent, sha, at) in &records {
        body.extend_from_slice(format!("{agent:<width$} {sha} {at:0OFFSET_DIGITS$}\n").as_bytes());
    }
    let stamp = crate::support::fsutil::sha256_hex(&body);
    let mut bytes = format!(
        "{}{stamp} {:010} {width:02}\n",
        String::from_utf8_lossy(MAGIC),
        records.len()
    )
    .into_bytes();
    bytes.extend_from_slice(&body);
    Index { stamp, bytes }
}

/// The SHA-256 of `agent`'s policy entry whose key starts at `at` in the lockfile bytes
/// `window_start..`: the key, then the entry object (`{"agent": …, "sha256": …}`), parsed alone.
fn sha_at(lock: &[u8], at: usize, agent: &str) -> Option<String> {
    let key = policy_key(agent);
    entry_sha256(lock.get(at..)?.strip_prefix(key.as_bytes())?)
}

/// The `sha256` of the lockfile entry that `after_key` starts with (the bytes just after an
/// entry's key: `: {"agent": …, "sha256": …}`), parsing only that object. The hook's ways of
/// finding a policy's hash without parsing the whole lockfile all end here.
pub fn entry_sha256(after_key: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Entry {
        sha256: String,
    }
    let open = after_key
        .iter()
        .position(|&b| !b.is_ascii_whitespace() && b != b':')?;
    if after_key[open] != b'{' {
        return None;
    }
    let close = open + after_key[open..].iter().position(|&b| b == b'}')?;
    serde_json::from_slice::<Entry>(&after_key[open..=close])
        .ok()
        .map(|e| e.sha256)
}

/// The digits of the format version a lockfile as iw writes it starts with
/// (`{\n  "version": N`), and the bytes after them; `None` when it does not start so.
pub fn version_digits(prefix: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = prefix.strip_prefix(b"{\n  \"version\": ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    (digits > 0).then(|| rest.split_at(digits))
}

/// The stamp a lockfile starts with: `{"version": N, "policy_index": "<stamp>"`, pretty-printed.
pub fn lock_stamp(prefix: &[u8]) -> Option<&str> {
    let (_, rest) = version_digits(prefix)?;
    let rest = rest.strip_prefix(b",\n  \"policy_index\": \"")?;
    let stamp = rest.get(..64)?;
    if !is_sha256(stamp) || rest.get(64) != Some(&b'"') {
        return None;
    }
    std::str::from_utf8(stamp).ok()
}

/// Opens a regular file for reading (not waiting on a FIFO); `None` if it is anything else.
fn open_regular(path: &Path) -> Option<(File, u64)> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    meta.is_file().then_some((file, meta.len()))
}

/// Reads up to `len` bytes at `at` (fewer only at the end of the file).
fn read_at(file: &File, at: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0; len];
    let mut got = 0;
    while got < len {
        match file.read_at(&mut buf[got..], at + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    buf.truncate(got);
    Some(buf)
}

/// An opened index: its header checked, its records read on demand.
#[derive(Debug)]
pub struct Reader {
    file: File,
    /// The stamp in the header.
    stamp: String,
    count: usize,
    width: usize,
}

impl Reader {
    /// Opens the index of the project at `root`; `None` if there is none or its header or size
    /// is not right.
    pub fn open(root: &Path) -> Option<Reader> {
        let (file, size) = open_regular(&root.join(INDEX_PATH))?;
        let header = read_at(&file, 0, HEADER_LEN)?;
        let (stamp, count, width) = parse_header(&header)?;
        let expected = count
            .checked_mul(record_len(width))?
            .checked_add(HEADER_LEN)?;
        (size == expected as u64).then(|| Reader {
            file,
            stamp: stamp.to_string(),
            count,
            width,
        })
    }

    /// The stamp the index was written with.
    pub fn stamp(&self) -> &str {
        &self.stamp
    }

    /// The SHA-256 and lockfile offset recorded for `agent`, by binary search over the sorted
    /// records; `None` if it is not there or a record read is malformed.
    pub fn lookup(&self, agent: &str) -> Option<(String, u64)> {
        if agent.is_empty() || agent.len() > self.width {
            return None;
        }
        let rec = record_len(self.width);
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            if (hi - lo) * rec <= READ_AT_ONCE {
                let block = read_at(&self.file, (HEADER_LEN + lo * rec) as u64, (hi - lo) * rec)?;
                if block.len() != (hi - lo) * rec {
                    return None;
                }
                for r in block.chunks_exact(rec) {
                    let (name, sha, at) = parse_record(r, self.width)?;
                    if name == agent {
                        return Some((sha.to_string(), at));
                    }
                }
                return None;
            }
            let mid = lo + (hi - lo) / 2;
            let r = read_at(&self.file, (HEADER_LEN + mid * rec) as u64, rec)?;
            let (name, sha, at) = parse_record(&r, self.width)?;
            match name.cmp(agent) {
                std::cmp::Ordering::Equal => return Some((sha.to_string(), at)),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }
}

/// The header's stamp, record count and name width.
fn parse_header(h: &[u8]) -> Option<(&str, usize, usize)> {
    let rest = h.strip_prefix(MAGIC)?;
    if h.len() != HEADER_LEN || !is_sha256(&rest[..64]) || rest[64] != b' ' {
        return None;
    }
    let count = digits(&rest[65..75])?;
    let width = digits(&rest[76..78])?;
    if rest[75] != b' ' || rest[78] != b'\n' || width == 0 || width > MAX_NAME {
        return None;
    }
    Some((std::str::from_utf8(&rest[..64]).ok()?, count, width))
}

/// One record's name, SHA-256 and offset.
fn parse_record(r: &[u8], width: usize) -> Option<(&str, &str, u64)> {
    if r.len() != record_len(width) || r[width] != b' ' || r[width + 65] != b' ' {
        return None;
    }
    let name = std::str::from_utf8(&r[..width]).ok()?.trim_end_matches(' ');
    let sha = &r[width + 1..width + 65];
    if !crate::model::registry::valid_name(name) || !is_sha256(sha) || r[r.len() - 1] != b'\n' {
        return None;
    }
    let at = digits(&r[width + 66..r.len() - 1])? as u64;
    Some((name, std::str::from_utf8(sha).ok()?, at))
}

/// A fixed-width decimal number.
fn digits(d: &[u8]) -> Option<usize> {
    if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(d).ok()?.parse().ok()
}

/// The SHA-256 that the lockfile of the project at `root` records for `agent`'s policy, found
/// through the index with a few small reads; `None` on any doubt (see the module's
/// documentation), in which case the caller reads the whole lockfile.
pub fn locked_policy_sha256(root: &Path, agent: &str) -> Option<String> {
    let (lock, _) = open_regular(&root.join(super::lock::LOCK_PATH))?;
    let prefix = read_at(&lock, 0, 128)?;
    let stamp = lock_stamp(&prefix)?;
    let index = Reader::open(root)?;
    if index.stamp() != stamp {
        return None;
    }
    let (sha, at) = index.lookup(agent)?;
    let window = read_at(&lock, at, policy_key(agent).len() + ENTRY_WINDOW)?;
    (sha_at(&window, 0, agent)? == sha).then_some(sha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::lock::{LOCK_PATH, LockFile};

    fn entry(agent: &str, sha: &str) -> FileEntry {
        FileEntry {
            agent: agent.into(),
            sha256: sha.into(),
        }
    }

    fn sha(i: usize) -> String {
        crate::support::fsutil::sha256_hex(i.to_string().as_bytes())
    }

    /// A project whose lockfile records `n` agents' three files each.
    fn project(n: usize) -> (tempfile::TempDir, LockFile, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let mut lock = LockFile::empty();
        let names: Vec<String> = (0..n).map(|i| format!("agent-{i}")).collect();
        for (i, a) in names.iter().enumerate() {
            for f in ["CLAUDE.md", "settings.json", crate::policy::POLICY_FILE] {
                lock.files.insert(
                    format!("agents/{a}/.claude/{f}"),
                    entry(a, &sha(i * 3 + f.len())),
                );
            }
        }
        lock.write(dir.path()).unwrap();
        (dir, lock, names)
    }

    fn policy_sha(lock: &LockFile, agent: &str) -> Option<String> {
        lock.files
            .get(&crate::policy::policy_path(agent))
            .map(|e| e.sha256.clone())
    }

    #[test]
    fn every_agent_is_found_and_no_other() {
        let (dir, lock, names) = project(40);
        for a in &names {
            assert_eq!(
                locked_policy_sha256(dir.path(), a),
                policy_sha(&lock, a),
                "{a}"
            );
        }
        for absent in ["agent", "agent-40", "agent-1x", "a", "zz", "", "agent-100"] {
            assert_eq!(locked_policy_sha256(dir.path(), absent), None, "{absent}");
        }
        let idx = Reader::open(dir.path()).unwrap();
        assert_eq!(idx.count, 40);
        assert_eq!(Some(idx.stamp()), lock.policy_index.as_deref());
    }

    #[test]
    fn the_lockfile_records_the_stamp_near_its_start_and_reads_back() {
        let (dir, lock, _) = project(3);
        let text = std::fs::read(dir.path().join(LOCK_PATH)).unwrap();
        assert_eq!(lock_stamp(&text[..128]), lock.policy_index.as_deref());
        assert_eq!(LockFile::read(dir.path()).unwrap(), Some(lock));
    }

    #[test]
    fn ten_thousand_agents_first_last_middle_and_absent() {
        let (dir, lock, mut names) = project(10_000);
        names.sort();
        for a in [
            &names[0],
            &names[1],
            &names[4999],
            &names[9998],
            &names[9999],
        ] {
            assert_eq!(locked_policy_sha256(dir.path(), a), policy_sha(&lock, a));
        }
        let idx = Reader::open(dir.path()).unwrap();
        for absent in ["aaa", "agent-", "agent-99999", "zzz"] {
            assert_eq!(idx.lookup(absent), None, "{absent}");
        }
        for a in names.iter().step_by(97) {
            assert_eq!(idx.lookup(a).map(|r| r.0), policy_sha(&lock, a), "{a}");
        }
    }

    #[test]
    fn no_policies_gives_an_empty_index() {
        let dir = tempfile::tempdir().unwrap();
        let mut lock = LockFile::empty();
        lock.write(dir.path()).unwrap();
        let idx = Reader::open(dir.path()).unwrap();
        assert_eq!(idx.count, 0);
        assert_eq!(idx.lookup("a"), None);
        assert_eq!(locked_policy_sha256(dir.path(), "a"), None);
    }

    #[test]
    fn a_stamp_mismatch_or_no_stamp_gives_no_answer() {
        let (dir, _, _) = project(5);
        let root = dir.path();
        assert!(locked_policy_sha256(root, "agent-2").is_some());
        let lock_path = root.join(LOCK_PATH);
        let text = std::fs::read_to_string(&lock_path).unwrap();
        // The stamp in the lockfile changed (e.g. another apply's lockfile).
        let stamp = lock_stamp(text.as_bytes()).unwrap().to_string();
        std::fs::write(&lock_path, text.replace(&stamp, &"0".repeat(64))).unwrap();
        assert_eq!(locked_policy_sha256(root, "agent-2"), None);
        // A lockfile without the stamp (written by an older iw).
        let mut parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        parsed.as_object_mut().unwrap().shift_remove("policy_index");
        std::fs::write(&lock_path, serde_json::to_string_pretty(&parsed).unwrap()).unwrap();
        assert_eq!(locked_policy_sha256(root, "agent-2"), None);
        // No lockfile at all.
        std::fs::remove_file(&lock_path).unwrap();
        assert_eq!(locked_policy_sha256(root, "agent-2"), None);
    }

    #[test]
    fn a_lockfile_edited_where_the_index_points_gives_no_answer() {
        let (dir, lock, _) = project(5);
        let root = dir.path();
        let old = policy_sha(&lock, "agent-3").unwrap();
        let lock_path = root.join(LOCK_PATH);
        let text = std::fs::read_to_string(&lock_path).unwrap();
        // The same length: the stamp and every offset still agree, the hash does not.
        std::fs::write(&lock_path, text.replace(&old, &"0".repeat(64))).unwrap();
        assert_eq!(locked_policy_sha256(root, "agent-3"), None);
        assert!(locked_policy_sha256(root, "agent-2").is_some());
        // Bytes inserted before the entry: the offset no longer points at it.
        std::fs::write(
            &lock_path,
            text.replacen("\"files\": {", "\"files\":  {", 1),
        )
        .unwrap();
        assert_eq!(locked_policy_sha256(root, "agent-3"), None);
    }

    #[test]
    fn an_older_index_copied_back_is_not_used() {
        let (dir, mut lock, _) = project(5);
        let root = dir.path();
        let old_index = std::fs::read(root.join(INDEX_PATH)).unwrap();
        let path = crate::policy::policy_path("agent-1");
        lock.files.insert(path, entry("agent-1", &sha(999)));
        lock.write(root).unwrap();
        assert_eq!(locked_policy_sha256(root, "agent-1"), Some(sha(999)));
        std::fs::write(root.join(INDEX_PATH), old_index).unwrap();
        assert_eq!(locked_policy_sha256(root, "agent-1"), None);
    }

    #[test]
    fn a_truncated_garbled_or_missing_index_gives_no_answer() {
        let (dir, _, _) = project(300);
        let root = dir.path();
        let path = root.join(INDEX_PATH);
        let good = std::fs::read(&path).unwrap();
        let probe = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            locked_policy_sha256(root, "agent-150")
        };
        assert!(probe(&good).is_some());
        assert_eq!(probe(&good[..good.len() - 1]), None);
        assert_eq!(probe(&good[..HEADER_LEN]), None);
        assert_eq!(probe(b""), None);
        assert_eq!(probe(b"garbage\n"), None);
        // Every single byte changed, one at a time, in the header and around the record found.
        let rec = record_len(Reader::open(root).map(|r| r.width).unwrap_or(9));
        let mut bytes: Vec<usize> = (0..HEADER_LEN).collect();
        let reader = {
            std::fs::write(&path, &good).unwrap();
            Reader::open(root).unwrap()
        };
        let found = (0..reader.count)
            .find(|&i| {
                let r = read_at(&reader.file, (HEADER_LEN + i * rec) as u64, rec).unwrap();
                parse_record(&r, reader.width).unwrap().0 == "agent-150"
            })
            .unwrap();
        bytes.extend(HEADER_LEN + found * rec..HEADER_LEN + (found + 1) * rec);
        let sha_good = probe(&good);
        for i in bytes {
            let mut bad = good.clone();
            bad[i] = if bad[i] == b'x' { b'y' } else { b'x' };
            let got = probe(&bad);
            assert!(got.is_none() || got == sha_good, "byte {i}: {got:?}");
        }
        std::fs::remove_file(&path).unwrap();
        assert_eq!(locked_policy_sha256(root, "agent-150"), None);
        std::fs::create_dir(&path).unwrap();
        assert_eq!(locked_policy_sha256(root, "agent-150"), None);
    }

    #[test]
    fn records_are_fixed_width_and_sorted() {
        let (dir, _, names) = project(12);
        let text = std::fs::read_to_string(dir.path().join(INDEX_PATH)).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with("iw-policy-index 1 "), "{header}");
        assert!(header.ends_with(" 0000000012 08"), "{header}");
        let got: Vec<&str> = lines.map(|l| l.split(' ').next().unwrap()).collect();
        let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
        want.sort();
        assert_eq!(got, want);
        assert!(text.lines().skip(1).all(|l| l.len() == record_len(8) - 1));
    }
}
