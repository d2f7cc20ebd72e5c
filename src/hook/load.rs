//! Loading an agent's compiled policy for the hook, and only a trusted one: its SHA-256 must be
//! the one `state/iw.lock` records, so a policy edited outside iw is never obeyed.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::policy::{self, PolicyDoc};
use crate::reconcile::lock::{LOCK_PATH, LockFile};
use crate::reconcile::lock_index;

/// Why an agent's policy cannot be loaded (the hook then fails to decide).
#[derive(Debug)]
pub enum LoadError {
    /// The agent's name is not a valid agent name.
    InvalidName(String),
    /// There is no lockfile to verify the policy against.
    NoLockfile {
        /// The agent.
        agent: String,
        /// The lockfile's path.
        lock: PathBuf,
        /// The project root.
        root: PathBuf,
    },
    /// The lockfile cannot be read.
    ReadLockfile {
        /// The lockfile's path.
        lock: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The lockfile is not valid.
    BadLockfile {
        /// The lockfile's path.
        lock: PathBuf,
        /// Why it does not parse.
        source: serde_json::Error,
    },
    /// The lockfile records no policy for the agent.
    NotLocked(String),
    /// The policy file cannot be read.
    ReadPolicy {
        /// The agent.
        agent: String,
        /// The policy's root-relative path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The policy file's SHA-256 is not the one the lockfile records.
    Tampered(String),
    /// The policy file is not a valid policy.
    BadPolicy {
        /// The policy's root-relative path.
        path: String,
        /// Why it does not parse.
        source: serde_json::Error,
    },
    /// The policy file is another agent's.
    OtherAgent {
        /// The policy's root-relative path.
        path: String,
        /// The agent it is for.
        found: String,
        /// The agent asked for.
        agent: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::InvalidName(agent) => write!(f, "`{agent}` is not a valid agent name"),
            LoadError::NoLockfile { agent, lock, root } => write!(
                f,
                "{} does not exist, so {agent}'s policy cannot be verified: run `iw apply` in {}",
                lock.display(),
                root.display()
            ),
            LoadError::ReadLockfile { lock, source } => {
                write!(f, "cannot read {}: {source}", lock.display())
            }
            LoadError::BadLockfile { lock, source } => {
                write!(f, "{} is not a valid lockfile: {source}", lock.display())
            }
            LoadError::NotLocked(agent) => write!(
                f,
                "agent `{agent}` has no policy in {LOCK_PATH}: it is not in the registry, or `iw \
                 apply` has not run since it was added"
            ),
            LoadError::ReadPolicy {
                agent,
                path,
                source,
            } => write!(
                f,
                "cannot read {agent}'s policy {path}: {source}; run `iw apply`"
            ),
            LoadError::Tampered(path) => write!(
                f,
                "{path} was changed outside iw (its SHA-256 differs from {LOCK_PATH}), so it is \
                 not trusted; `iw plan` shows the change and `iw apply` restores it"
            ),
            LoadError::BadPolicy { path, source } => {
                write!(f, "{path} is not a valid policy: {source}")
            }
            LoadError::OtherAgent { path, found, agent } => {
                write!(f, "{path} is the policy of `{found}`, not `{agent}`")
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// Loads `agent`'s policy, refusing one whose hash differs from the lockfile's record.
pub fn load_policy(root: &Path, agent: &str) -> Result<PolicyDoc, LoadError> {
    if !crate::model::registry::valid_name(agent) {
        return Err(LoadError::InvalidName(agent.to_string()));
    }
    let rel = policy::policy_path(agent);
    if let Some(doc) = indexed_policy(root, agent, &rel) {
        return Ok(doc);
    }
    let expected = locked_policy_sha256(root, agent, &rel)?;
    let bytes = crate::support::fsutil::read_regular(&root.join(&rel)).map_err(|source| {
        LoadError::ReadPolicy {
            agent: agent.to_string(),
            path: rel.clone(),
            source,
        }
    })?;
    if crate::support::fsutil::sha256_hex(&bytes) != expected {
        return Err(LoadError::Tampered(rel));
    }
    let doc: PolicyDoc = serde_json::from_slice(&bytes).map_err(|source| LoadError::BadPolicy {
        path: rel.clone(),
        source,
    })?;
    if doc.agent != agent {
        return Err(LoadError::OtherAgent {
            path: rel,
            found: doc.agent,
            agent: agent.to_string(),
        });
    }
    Ok(doc)
}

/// `agent`'s policy through the policy index (a few small reads, whatever the team's size), if
/// everything checks out: the index answers ([`lock_index::locked_policy_sha256`]), the policy
/// file has that hash, parses, and is the agent's. `None` on any doubt: [`load_policy`] then
/// takes the path that reads the whole lockfile and says exactly what is wrong.
fn indexed_policy(root: &Path, agent: &str, rel: &str) -> Option<PolicyDoc> {
    let expected = lock_index::locked_policy_sha256(root, agent)?;
    let bytes = crate::support::fsutil::read_regular(&root.join(rel)).ok()?;
    if crate::support::fsutil::sha256_hex(&bytes) != expected {
        return None;
    }
    let doc: PolicyDoc = serde_json::from_slice(&bytes).ok()?;
    (doc.agent == agent).then_some(doc)
}

/// The SHA-256 the lockfile under `root` records for `agent`'s policy file `rel`.
fn locked_policy_sha256(root: &Path, agent: &str, rel: &str) -> Result<String, LoadError> {
    let lock = root.join(LOCK_PATH);
    let lock_bytes = match crate::support::fsutil::read_regular(&lock) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(LoadError::NoLockfile {
                agent: agent.to_string(),
                lock,
                root: root.to_path_buf(),
            });
        }
        Err(source) => return Err(LoadError::ReadLockfile { lock, source }),
    };
    if let Some(sha) = locked_sha256(this_machine(&lock_bytes), rel) {
        return Ok(sha);
    }
    // Not found by the fast path: parse the whole lockfile to say exactly why.
    let parsed: LockFile = serde_json::from_slice(&lock_bytes)
        .map_err(|source| LoadError::BadLockfile { lock, source })?;
    match parsed.files.get(rel) {
        Some(entry) => Ok(entry.sha256.clone()),
        None => Err(LoadError::NotLocked(agent.to_string())),
    }
}

/// The lockfile up to its `hosts` section (written after `files`): the entries of other hosts'
/// files (same paths, other roots) are never this machine's.
fn this_machine(lock: &[u8]) -> &[u8] {
    const HOSTS: &[u8] = b"\n  \"hosts\":";
    match lock.windows(HOSTS.len()).position(|w| w == HOSTS) {
        Some(at) => &lock[..at],
        None => lock,
    }
}

/// The SHA-256 the lockfile records for `path`, found without parsing the whole lockfile (whose
/// size grows with the number of agents): the entry `"<path>": {"agent": …, "sha256": …}` is
/// located by its key and only that object is parsed. `None` if it is not found that way.
fn locked_sha256(lock: &[u8], path: &str) -> Option<String> {
    let key = serde_json::to_string(path).ok()?;
    let key = key.as_bytes();
    let at = lock.windows(key.len()).position(|w| w == key)?;
    crate::reconcile::lock_index::entry_sha256(&lock[at + key.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::lock::FileEntry;

    /// A project with agents `a` and `b`, their policies recorded in the lockfile.
    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut lock = LockFile::empty();
        for agent in ["a", "b"] {
            let doc = serde_json::json!({
                "format_version": policy::POLICY_VERSION, "agent": agent,
                "hook_failure": "closed", "tools": ["Read"], "delegates_to": [],
                "no_write": [], "no_read": [], "owners": [], "delegators": {},
                "deny_commands": [], "write_outside_root": [],
            })
            .to_string();
            let rel = policy::policy_path(agent);
            crate::support::fsutil::write_atomic(&dir.path().join(&rel), doc.as_bytes()).unwrap();
            lock.files.insert(
                rel,
                FileEntry {
                    agent: agent.into(),
                    sha256: crate::support::fsutil::sha256_hex(doc.as_bytes()),
                },
            );
        }
        lock.write(dir.path()).unwrap();
        dir
    }

    #[test]
    fn the_policy_is_loaded_through_the_index_and_without_it_alike() {
        let dir = project();
        let root = dir.path();
        let rel = policy::policy_path("a");
        let through_index = indexed_policy(root, "a", &rel).expect("the index answers");
        assert_eq!(load_policy(root, "a").unwrap(), through_index);
        std::fs::remove_file(root.join(lock_index::INDEX_PATH)).unwrap();
        assert_eq!(indexed_policy(root, "a", &rel), None);
        assert_eq!(load_policy(root, "a").unwrap(), through_index);
    }

    #[test]
    fn whatever_the_index_says_a_changed_policy_or_an_unknown_agent_is_refused_as_before() {
        let dir = project();
        let root = dir.path();
        assert!(matches!(
            load_policy(root, "c"),
            Err(LoadError::NotLocked(_))
        ));
        let rel = policy::policy_path("b");
        let text = std::fs::read_to_string(root.join(&rel)).unwrap();
        std::fs::write(root.join(&rel), text.replace("Read", "Edit")).unwrap();
        assert_eq!(indexed_policy(root, "b", &rel), None);
        let e = load_policy(root, "b").unwrap_err();
        assert!(matches!(e, LoadError::Tampered(_)), "{e}");
        std::fs::remove_file(root.join(LOCK_PATH)).unwrap();
        assert!(matches!(
            load_policy(root, "a"),
            Err(LoadError::NoLockfile { .. })
        ));
    }

    #[test]
    fn another_hosts_entry_is_never_this_machines() {
        let mut lock = LockFile::empty();
        let target = crate::remote::Target {
            name: "h".into(),
            destination: "h".into(),
            root: "/r".into(),
            ssh_args: Vec::new(),
        };
        let mut h = crate::reconcile::lock::HostLock::new(&target);
        let path = "agents/a/.claude/iw-policy.json";
        h.files.insert(
            path.into(),
            crate::reconcile::lock::FileEntry {
                agent: "a".into(),
                sha256: "remote".into(),
            },
        );
        lock.hosts.insert("h".into(), h);
        let bytes = lock.to_bytes().unwrap();
        assert_eq!(locked_sha256(&bytes, path).as_deref(), Some("remote"));
        assert_eq!(locked_sha256(this_machine(&bytes), path), None);
    }

    #[test]
    fn the_policy_hash_is_found_in_the_lockfile_without_parsing_all_of_it() {
        let lock = br#"{"files": {"agents/a/.claude/iw-policy.json": {
            "agent": "a", "sha256": "abc"}, "agents/b/.claude/iw-policy.json": {"agent": "b",
            "sha256": "def"}}}"#;
        assert_eq!(
            locked_sha256(lock, "agents/b/.claude/iw-policy.json").as_deref(),
            Some("def")
        );
        assert_eq!(locked_sha256(lock, "agents/c/.claude/iw-policy.json"), None);
        assert_eq!(locked_sha256(b"{", "agents/a/.claude/iw-policy.json"), None);
    }
}
