//! The lockfile `state/iw.lock` — what iw last wrote — and the advisory lock that keeps two
//! applies from running at once.
//!
//! The lockfile is JSON with sorted keys (deterministic), versioned, and records for every file
//! iw wrote its path relative to the project root, its SHA-256 and its agent, plus the hashes of
//! the registry and templates it was rendered from. It is the "last written" side of the
//! three-way drift comparison (desired / lock / disk), and it is always written last.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::support::error::{Error, Result};
use crate::support::fsutil;

/// iw's state directory, relative to the project root.
pub const STATE_DIR: &str = "state";
/// The lockfile's path relative to the project root.
pub const LOCK_PATH: &str = "state/iw.lock";
/// The advisory lock file's path relative to the project root.
pub const APPLY_LOCK_PATH: &str = "state/apply.lock";
/// The lockfile format this iw reads and writes.
pub const LOCK_VERSION: u32 = 1;

/// The lockfile's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    /// Format version ([`LOCK_VERSION`]).
    pub version: u32,
    /// The stamp of the policy index written with this lockfile ([`super::lock_index`]): set by
    /// [`LockFile::write`]. Right after `version`, so the hook finds it in the first bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_index: Option<String>,
    /// The iw version that wrote it.
    pub iw_version: String,
    /// Hashes of what the files were rendered from.
    pub inputs: Inputs,
    /// Every file iw wrote, by path relative to the project root.
    #[serde(deserialize_with = "files_in_bulk")]
    pub files: BTreeMap<String, FileEntry>,
    /// The tmux socket iw last managed sessions on, so that sessions left on it are found even
    /// after sessions.yaml moves to another socket or is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<String>,
    /// The sockets of the tenants iw last managed sessions for, for the same reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenant_sockets: Vec<String>,
    /// The no-op key of the last complete apply ([`crate::reconcile::noop`]), if it was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noop: Option<String>,
    /// The warnings the inputs of that apply gave (e.g. a tool Claude Code no longer has): a plan
    /// proven by the no-op key shows them again, as the full plan would.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::support::diag::Diagnostic>,
    /// Each agent's persona path at that apply: a proven plan warns again about those missing.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub personas: BTreeMap<String, String>,
    /// The sessions that apply left as declared, when the project has sessions.yaml: a proven
    /// plan checks the live sessions against them as the full plan would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noop_sessions: Option<NoopSessions>,
    /// What iw wrote and used on other hosts (sessions.yaml's `hosts:`), by host name; absent
    /// for a project on this machine only. Kept after a host leaves sessions.yaml until its
    /// sessions are stopped and its files removed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<String, HostLock>,
}

/// What iw did on one other host: how to reach it, the files it wrote there (as in
/// [`LockFile::files`], relative to the host's root) and the sockets it used there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostLock {
    /// The `ssh` destination.
    pub ssh: String,
    /// The project's root there.
    pub root: std::path::PathBuf,
    /// Extra `ssh` arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_args: Vec<String>,
    /// Every file iw wrote there, by path relative to the host's root.
    #[serde(default, deserialize_with = "files_in_bulk")]
    pub files: BTreeMap<String, FileEntry>,
    /// The tmux sockets iw managed sessions on there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sockets: Vec<String>,
    /// SHA-256 of the lockfile iw last wrote on the host (`state/iw.lock` there): a plan that
    /// finds another one there has its policies re-recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_sha256: Option<String>,
}

impl HostLock {
    /// A record for `target`, with nothing written yet.
    pub fn new(target: &crate::remote::Target) -> HostLock {
        HostLock {
            ssh: target.destination.clone(),
            root: target.root.clone(),
            ssh_args: target.ssh_args.clone(),
            files: BTreeMap::new(),
            sockets: Vec::new(),
            written_sha256: None,
        }
    }

    /// The target it records (to reach a host no longer in sessions.yaml).
    pub fn target(&self, name: &str) -> crate::remote::Target {
        crate::remote::Target {
            name: name.to_string(),
            destination: self.ssh.clone(),
            root: self.root.clone(),
            ssh_args: self.ssh_args.clone(),
        }
    }

    /// The lockfile the host itself keeps (`state/iw.lock` under its root): its files, so that
    /// the hook running there finds the policy hashes it trusts.
    pub fn host_lockfile(&self, inputs: &Inputs) -> LockFile {
        LockFile {
            inputs: inputs.clone(),
            files: self.files.clone(),
            ..LockFile::empty()
        }
    }
}

/// The desired sessions of a complete apply, as the no-op fast path needs them: what
/// `reconcile::sessions::session_changes` compares the live sessions with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoopSessions {
    /// The project's own socket.
    pub socket: Option<String>,
    /// The tenants' sockets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenant_sockets: Vec<String>,
    /// Each declared socket, with its tenant (`None`: the project's own sessions).
    pub declared: Vec<(String, Option<String>)>,
    /// The desired sessions.
    pub specs: Vec<LockedSpec>,
    /// The agents in spawn order.
    pub order: Vec<String>,
}

/// A desired session as the lockfile records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedSpec {
    /// The definition (as stored on the session).
    pub spec: crate::model::sessions::SessionSpec,
    /// Its restart policy.
    pub restart: crate::model::sessions::Restart,
    /// Its socket.
    pub socket: String,
}

impl LockedSpec {
    /// The recorded spec, whole.
    pub fn to_spec(&self) -> crate::model::sessions::SessionSpec {
        let mut s = self.spec.clone();
        s.restart = self.restart;
        s.socket.clone_from(&self.socket);
        s
    }
}

pub use crate::project::{Inputs, TemplateInput};

/// One file iw wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// The agent it belongs to.
    pub agent: String,
    /// SHA-256 of the content iw wrote.
    pub sha256: String,
}

impl LockFile {
    /// An empty lockfile for this iw.
    pub fn empty() -> LockFile {
        LockFile {
            version: LOCK_VERSION,
            policy_index: None,
            iw_version: env!("CARGO_PKG_VERSION").to_string(),
            inputs: Inputs::default(),
            files: BTreeMap::new(),
            socket: None,
            tenant_sockets: Vec::new(),
            noop: None,
            warnings: Vec::new(),
            personas: BTreeMap::new(),
            noop_sessions: None,
            hosts: BTreeMap::new(),
        }
    }

    /// The lockfile as bytes, as [`LockFile::write`] writes it (with whatever `policy_index` it
    /// holds: [`LockFile::write`] sets it).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.text().map(String::into_bytes)
    }

    /// The lockfile's text: pretty JSON and a final newline.
    fn text(&self) -> Result<String> {
        // About 200 bytes a file: reserved at once rather than grown by doubling (and copying).
        let mut data = Vec::with_capacity(4096 + self.files.len() * 256);
        serde_json::to_writer_pretty(&mut data, self)
            .map_err(|e| Error::msg(format!("cannot serialise the lockfile: {e}")))?;
        data.push(b'\n');
        String::from_utf8(data)
            .map_err(|e| Error::msg(format!("cannot serialise the lockfile: {e}")))
    }

    /// Reads `root/state/iw.lock`; `None` if there is none yet.
    pub fn read(root: &Path) -> Result<Option<LockFile>> {
        let path = root.join(LOCK_PATH);
        let Some(data) = fsutil::read_optional(&path)? else {
            return Ok(None);
        };
        let damaged = |why: String| {
            Error::with_help(
                format!("{LOCK_PATH} is damaged: {why}"),
                "restore it from a backup or version control, or delete it: iw then treats \
                 existing generated files as not written by iw and backs them up before \
                 replacing them",
            )
        };
        /// The version alone, read first: a newer format may not parse as this one.
        #[derive(Deserialize)]
        struct Version {
            #[serde(default)]
            version: u64,
        }
        // As iw writes it, the version is in the first bytes; anything else is parsed for it.
        let version = match version_prefix(&data) {
            Some(v) => v,
            None => {
                serde_json::from_slice::<Version>(&data)
                    .map_err(|e| damaged(e.to_string()))?
                    .version
            }
        };
        if version > LOCK_VERSION as u64 {
            return Err(Error::with_help(
                format!(
                    "{LOCK_PATH} has format version {version}, newer than this iw understands ({LOCK_VERSION})"
                ),
                "upgrade iw to the version that wrote it",
            ));
        }
        let lock: LockFile = serde_json::from_slice(&data).map_err(|e| damaged(e.to_string()))?;
        for (name, h) in &lock.hosts {
            use crate::model::sessions::{bad_destination, bad_root, valid_host_name};
            let why = if !valid_host_name(name) {
                Some("it is not a valid host name")
            } else {
                bad_destination(&h.ssh).or_else(|| bad_root(&h.root))
            };
            if let Some(why) = why {
                return Err(damaged(format!(
                    "its host `{name}` cannot be trusted ({why}); iw will not connect to it"
                )));
            }
        }
        let remote = lock.hosts.values().flat_map(|h| h.files.keys());
        for path in lock.files.keys().chain(remote) {
            if !is_generated_path(path) {
                return Err(damaged(format!(
                    "it lists `{path}`, which is not a path iw generates; iw will not touch it"
                )));
            }
        }
        Ok(Some(lock))
    }

    /// The lockfile's bytes and, for the hook, its policy index ([`super::lock_index`]), with
    /// the index's stamp, of a lockfile whose `policy_index` is the placeholder: the stamp has a
    /// fixed length, so the text is serialised with the placeholder, indexed (offsets do not
    /// move), and the real stamp put in its place.
    fn encode_placed(&self) -> Result<(Vec<u8>, Vec<u8>, String)> {
        let mut data = self.text()?;
        let index = super::lock_index::build(&data, &self.files);
        let field = "\"policy_index\": \"";
        let at = data
            .find(&format!("{field}{STAMP_PLACEHOLDER}\""))
            .ok_or_else(|| Error::msg("cannot serialise the lockfile: no policy_index"))?
            + field.len();
        data.replace_range(at..at + STAMP_PLACEHOLDER.len(), &index.stamp);
        Ok((data.into_bytes(), index.bytes, index.stamp))
    }

    /// Writes the lockfile atomically (refusing a `state/` that is a symbolic link), and just
    /// before it the policy index, whose stamp it records. An apply killed between the two
    /// leaves stamps that differ, and the hook then reads the lockfile itself.
    pub fn write(&mut self, root: &Path) -> Result<()> {
        self.write_after(root, |_| {})
    }

    /// [`LockFile::write`], once `first` has run with the lockfile as it will be written (the
    /// stat cache, which must be on disk before the lockfile). A large lockfile's text is made
    /// on another thread meanwhile.
    pub fn write_after(&mut self, root: &Path, first: impl FnOnce(&LockFile)) -> Result<()> {
        self.policy_index = Some(STAMP_PLACEHOLDER.to_string());
        let this = &*self;
        let encoded = if this.files.len() >= ENCODE_BESIDE_FROM {
            std::thread::scope(|s| {
                let job = s.spawn(|| this.encode_placed());
                first(this);
                job.join().unwrap_or_else(|_| {
                    Err(Error::msg("internal: serialising the lockfile failed"))
                })
            })
        } else {
            first(this);
            this.encode_placed()
        };
        let (data, index, stamp) = encoded?;
        self.policy_index = Some(stamp);
        fsutil::check_real_dirs(root, Path::new(STATE_DIR))?;
        fsutil::write_atomic(&root.join(super::lock_index::INDEX_PATH), &index)?;
        fsutil::write_atomic(&root.join(LOCK_PATH), &data)
    }
}

/// What `policy_index` holds while the lockfile is serialised: as long as a stamp.
const STAMP_PLACEHOLDER: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// From this many files on, [`LockFile::write_after`] makes the text on a thread of its own.
const ENCODE_BESIDE_FROM: usize = 2048;

/// A lockfile's `files`, read into a list and built into the map in one go: iw writes them in
/// order, and a map built from sorted entries costs a fraction of inserting 30 000 paths one
/// by one (each insertion comparing paths). A path written twice keeps its last entry, as
/// inserting did.
fn files_in_bulk<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<BTreeMap<String, FileEntry>, D::Error> {
    struct Entries;
    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = BTreeMap<String, FileEntry>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of paths to file entries")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1 << 16));
            while let Some(entry) = map.next_entry::<String, FileEntry>()? {
                entries.push(entry);
            }
            Ok(entries.into_iter().collect())
        }
    }
    d.deserialize_map(Entries)
}

/// The format version in the first bytes of a lockfile as iw writes it (`{\n  "version": N,`);
/// `None` when they are not in that form.
fn version_prefix(data: &[u8]) -> Option<u64> {
    let (digits, rest) = super::lock_index::version_digits(data)?;
    if digits.len() > 9 || !rest.starts_with(b",") {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// True for the paths iw generates: `agents/<name>/.claude/<file>` with a valid agent name and
/// a plain file name. A lockfile naming anything else is refused, so that a tampered lockfile
/// cannot make iw delete arbitrary files.
pub fn is_generated_path(path: &str) -> bool {
    let Some((name, rest)) = path
        .strip_prefix("agents/")
        .and_then(|rest| rest.split_once('/'))
    else {
        return false;
    };
    // No `/` in the file's name: it is not among the characters allowed.
    rest.strip_prefix(".claude/").is_some_and(|file| {
        crate::model::registry::valid_name(name)
            && !file.is_empty()
            && !file.starts_with('.')
            && file
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
    })
}

/// An advisory lock held for the duration of an apply; released when dropped or when the
/// process exits, however it exits.
#[derive(Debug)]
pub struct ApplyLock {
    file: File,
}

impl Drop for ApplyLock {
    fn drop(&mut self) {
        // Forget the holder's pid; the OS releases the lock when the file is closed.
        let _ = self.file.set_len(0);
    }
}

impl ApplyLock {
    /// Takes the lock on `root/state/apply.lock`, waiting up to `timeout` for another holder.
    /// A `state/` or `state/apply.lock` that is a symbolic link is refused: the lock file is
    /// written (its holder's pid), and must not be written elsewhere.
    pub fn acquire(root: &Path, timeout: Duration) -> Result<ApplyLock> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = root.join(APPLY_LOCK_PATH);
        fsutil::check_real_dirs(root, Path::new(STATE_DIR))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ELOOP) {
                    Error::with_help(
                        format!(
                            "{APPLY_LOCK_PATH} is a symbolic link: iw writes only inside the \
                             project, so it refuses to write the lock through it"
                        ),
                        "remove the link (iw creates the file), then run the command again; \
                         nothing was changed",
                    )
                } else {
                    Error::io("open", &path, e)
                }
            })?;
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            return Err(Error::with_help(
                format!("{APPLY_LOCK_PATH} is not a regular file"),
                "remove it (iw creates the file), then run the command again",
            ));
        }
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if start.elapsed() >= timeout {
                        let mut holder = String::new();
                        let _ = file.read_to_string(&mut holder);
                        let holder = holder.trim();
                        let who = if holder.is_empty() {
                            String::new()
                        } else {
                            format!(" (held by {holder})")
                        };
                        return Err(Error::with_help(
                            format!(
                                "another iw apply is running in this project{who}; gave up after {}",
                                humantime::format_duration(timeout)
                            ),
                            "wait for it to finish and run the command again, or pass a longer \
                             --lock-timeout",
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(Error::io("lock", &path, e));
                }
            }
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = writeln!(file, "pid {}", std::process::id());
        Ok(ApplyLock { file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`is_generated_path`] as it was first written, by its parts.
    fn generated_by_parts(path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        matches!(parts.as_slice(),
            ["agents", name, ".claude", file]
                if crate::model::registry::valid_name(name)
                    && !file.is_empty()
                    && !file.starts_with('.')
                    && file.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)))
    }

    proptest::proptest! {
        /// The generated paths are exactly those the first form accepted.
        #[test]
        fn generated_paths_are_judged_as_by_their_parts(
            path in "(agents|agent|\\.claude|[a-zA-Z0-9._/é -]{0,6})(/(a|b-1|A|\\.claude|\\.x|[a-z0-9._/é -]{0,5})){0,5}"
        ) {
            proptest::prop_assert_eq!(is_generated_path(&path), generated_by_parts(&path), "{}", path);
        }
    }

    #[test]
    fn generated_paths_by_example() {
        for ok in [
            "agents/a/.claude/CLAUDE.md",
            "agents/b-1/.claude/iw-policy.json",
        ] {
            assert!(is_generated_path(ok), "{ok}");
        }
        for bad in [
            "agents/a/.claude/",
            "agents/a/.claude/.x",
            "agents/a/.claude/x/y",
            "agents/A/.claude/x",
            "agents//.claude/x",
            "agents/a/claude/x",
            "x/agents/a/.claude/x",
            "agents/a/.claude/é",
        ] {
            assert!(!is_generated_path(bad), "{bad}");
        }
    }

    #[test]
    fn files_read_in_any_order_and_a_repeated_path_keeps_its_last_entry() {
        let entry =
            |agent: &str| format!(r#"{{"agent": "{agent}", "sha256": "{}"}}"#, "0".repeat(64));
        let files = format!(
            r#""files":{{"agents/b/.claude/x": {}, "agents/a/.claude/x": {}, "agents/b/.claude/x": {}}}"#,
            entry("first"),
            entry("a"),
            entry("last")
        );
        let empty = serde_json::to_string(&LockFile::empty()).unwrap();
        assert!(empty.contains(r#""files":{}"#), "{empty}");
        let text = empty.replace(r#""files":{}"#, &files);
        let lock: LockFile = serde_json::from_str(&text).unwrap();
        let agents: Vec<(&str, &str)> = lock
            .files
            .iter()
            .map(|(p, e)| (p.as_str(), e.agent.as_str()))
            .collect();
        assert_eq!(
            agents,
            [("agents/a/.claude/x", "a"), ("agents/b/.claude/x", "last")]
        );
        // As the map's own reading would have it.
        #[derive(serde::Deserialize)]
        struct Plain {
            files: BTreeMap<String, FileEntry>,
        }
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let plain: Plain =
            serde_json::from_value(serde_json::json!({"files": v["files"]})).unwrap();
        assert_eq!(plain.files, lock.files);
    }

    #[test]
    fn the_version_is_read_from_the_first_bytes_as_iw_writes_them() {
        assert_eq!(version_prefix(b"{\n  \"version\": 3,\n"), Some(3));
        for other in [
            &b"{\"version\": 3}"[..],
            b"{\n  \"version\": 3}",
            b"{\n  \"version\": ,",
            b"{\n  \"version\": 1234567890,",
            b"",
        ] {
            assert_eq!(version_prefix(other), None);
        }
        // A newer version in the first bytes is refused as newer, not as damaged.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_PATH);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let newer = format!("{{\n  \"version\": {},\n  \"x\": [}}", LOCK_VERSION + 1);
        std::fs::write(&path, newer).unwrap();
        let e = LockFile::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("newer than this iw understands"), "{e}");
    }

    #[test]
    fn what_must_come_first_runs_before_the_lockfile_is_written_at_any_size() {
        for n in [1, ENCODE_BESIDE_FROM] {
            let dir = tempfile::tempdir().unwrap();
            let mut lock = LockFile::empty();
            for i in 0..n {
                let entry = FileEntry {
                    agent: format!("a{i}"),
                    sha256: "0".repeat(64),
                };
                lock.files
                    .insert(format!("agents/a{i}/.claude/CLAUDE.md"), entry);
            }
            let mut seen = None;
            lock.write_after(dir.path(), |l| {
                seen = Some((dir.path().join(LOCK_PATH).exists(), l.files.len()));
            })
            .unwrap();
            assert_eq!(seen, Some((false, n)));
            let back = LockFile::read(dir.path()).unwrap().unwrap();
            assert_eq!(back, lock);
            assert_ne!(back.policy_index.as_deref(), Some(STAMP_PLACEHOLDER));
        }
    }

    #[test]
    fn a_lockfile_without_hosts_has_no_hosts_section_and_bad_host_records_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut lock = LockFile::empty();
        lock.write(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(LOCK_PATH)).unwrap();
        assert!(!text.contains("hosts"), "{text}");
        let target = crate::remote::Target {
            name: "h1".into(),
            destination: "dev@h1".into(),
            root: "/srv/p".into(),
            ssh_args: vec!["-F".into(), "cfg".into()],
        };
        lock.hosts.insert("h1".into(), HostLock::new(&target));
        lock.write(dir.path()).unwrap();
        let back = LockFile::read(dir.path()).unwrap().unwrap();
        assert_eq!(back.hosts["h1"].target("h1"), target);
        // A tampered record must not make iw run `ssh -oProxyCommand=…`.
        for (ssh, root) in [("-oProxyCommand=x", "/srv/p"), ("dev@h1", "relative")] {
            let mut bad = lock.clone();
            let h = bad.hosts.get_mut("h1").unwrap();
            h.ssh = ssh.into();
            h.root = root.into();
            bad.write(dir.path()).unwrap();
            let e = LockFile::read(dir.path()).unwrap_err().to_string();
            assert!(e.contains("cannot be trusted"), "{e}");
        }
    }

    #[test]
    fn generated_paths_only() {
        assert!(is_generated_path("agents/a-b/.claude/settings.json"));
        assert!(is_generated_path("agents/a/.claude/CLAUDE.md"));
        for bad in [
            "agents/../x/.claude/a",
            "agents/a/.claude/../../etc/passwd",
            "/etc/passwd",
            "agents/a/b/.claude/x",
            "agents/A/.claude/x",
            "agents/a/.claude/.hidden",
            "src/main.rs",
        ] {
            assert!(!is_generated_path(bad), "{bad}");
        }
    }

    #[test]
    fn roundtrip_and_tamper_detection() {
        let dir = tempfile::tempdir().unwrap();
        assert!(LockFile::read(dir.path()).unwrap().is_none());
        let mut lock = LockFile::empty();
        lock.files.insert(
            "agents/a/.claude/CLAUDE.md".into(),
            FileEntry {
                agent: "a".into(),
                sha256: "00".into(),
            },
        );
        lock.write(dir.path()).unwrap();
        assert_eq!(LockFile::read(dir.path()).unwrap(), Some(lock.clone()));
        let text = std::fs::read_to_string(dir.path().join(LOCK_PATH)).unwrap();
        std::fs::write(
            dir.path().join(LOCK_PATH),
            text.replace("agents/a/.claude/CLAUDE.md", "src/main.rs"),
        )
        .unwrap();
        let e = LockFile::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a path iw generates"), "{e}");
        std::fs::write(dir.path().join(LOCK_PATH), "{").unwrap();
        assert!(
            LockFile::read(dir.path())
                .unwrap_err()
                .to_string()
                .contains("damaged")
        );
    }

    #[test]
    fn second_lock_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let held = ApplyLock::acquire(dir.path(), Duration::ZERO).unwrap();
        // File locks are per open file description, so a second open in-process conflicts.
        let e = ApplyLock::acquire(dir.path(), Duration::from_millis(60)).unwrap_err();
        assert!(e.to_string().contains("another iw apply is running"), "{e}");
        drop(held);
        // Not `ZERO`: a process another test forks at this moment shares the lock's open file
        // until it execs, keeping the lock held for that long.
        ApplyLock::acquire(dir.path(), Duration::from_secs(5)).unwrap();
    }
}
