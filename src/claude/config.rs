//! Claude Code's per-user configuration (`~/.claude.json`): whether a project is trusted, whether
//! the first-run setup is done, whether an API key was approved — read without changing anything
//! — and the one explicit write, `iw trust`.
//!
//! Facts measured with Claude Code 2.1.331 (docs/claude-code.md):
//! - the file is `$CLAUDE_CONFIG_DIR/.claude.json`, else `$HOME/.claude.json`;
//! - a directory is trusted when `projects["<dir>"].hasTrustDialogAccepted` is true for it or an
//!   ancestor — up to the root of its git repository when it is in one, else up to `/`;
//!   `CLAUDE_CODE_SANDBOXED` set trusts everything;
//! - Claude Code changes the file under a lock: it creates the directory `<file>.lock`, re-reads
//!   the file, applies its change and writes it, then removes the directory (a lock whose
//!   directory is older than 10 s is stale). Its changes are functions of what it re-reads, so a
//!   change written under the same lock is kept.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::support::error::{Error, Result};

/// The file's name in its directory.
pub const FILE_NAME: &str = ".claude.json";
/// A lock directory older than this is left over by a process that died (proper-lockfile's
/// default, which Claude Code uses).
const STALE_LOCK: Duration = Duration::from_secs(10);
/// How long `iw trust` waits for Claude Code instances to release the lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Where Claude Code keeps its user configuration in an environment where `var` looks up
/// variables: `$CLAUDE_CONFIG_DIR/.claude.json`, else `$HOME/.claude.json`.
pub fn path(var: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |k: &str| var(k).filter(|v| !v.trim().is_empty());
    set("CLAUDE_CONFIG_DIR")
        .or_else(|| set("HOME"))
        .map(|d| PathBuf::from(d).join(FILE_NAME))
}

/// What a Claude Code session started with the environment `var` reads of its user
/// configuration: the file, the `ANTHROPIC_API_KEY` Claude Code will ask about, and whether it
/// runs sandboxed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// The configuration file ([`path`]).
    pub path: PathBuf,
    /// `ANTHROPIC_API_KEY`, when set and not empty.
    pub api_key: Option<String>,
    /// `CLAUDE_CODE_SANDBOXED` is set (Claude Code then trusts every directory).
    pub sandboxed: bool,
}

impl SessionView {
    /// The view of a session whose environment is `var`; `None` when no configuration file can
    /// be named (neither `CLAUDE_CONFIG_DIR` nor `HOME`).
    pub fn of(var: impl Fn(&str) -> Option<String>) -> Option<SessionView> {
        Some(SessionView {
            path: path(&var)?,
            api_key: var("ANTHROPIC_API_KEY").filter(|k| !k.is_empty()),
            sandboxed: var("CLAUDE_CODE_SANDBOXED").is_some_and(|v| !v.is_empty()),
        })
    }

    /// The file, and the key as Claude Code records an answer about it ([`key_tail`]): sessions
    /// alike in both have the same [`status`], though they may share a file and not a key.
    pub fn seen(&self) -> (PathBuf, Option<String>) {
        (self.path.clone(), self.api_key.as_deref().map(key_tail))
    }

    /// [`status`] of this view for the project at `root`.
    pub fn status(&self, root: &Path) -> Result<Status> {
        status(&self.path, root, self.api_key.as_deref())
    }
}

/// The parts of the file iw reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    #[serde(default)]
    has_completed_onboarding: Option<bool>,
    #[serde(default)]
    projects: HashMap<String, ProjectEntry>,
    #[serde(default)]
    custom_api_key_responses: Option<KeyResponses>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProjectEntry {
    #[serde(default)]
    has_trust_dialog_accepted: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct KeyResponses {
    #[serde(default)]
    approved: Vec<String>,
    #[serde(default)]
    rejected: Vec<String>,
}

/// What Claude Code will make of an API key given in `ANTHROPIC_API_KEY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyApproval {
    /// The person said yes to it once.
    Approved,
    /// The person said no to it.
    Rejected,
    /// Claude Code will ask at start.
    NotAsked,
}

/// What the configuration says about one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The file read.
    pub path: PathBuf,
    /// False when the file does not exist.
    pub exists: bool,
    /// `hasCompletedOnboarding`.
    pub onboarding_done: bool,
    /// The directory whose entry trusts the project (the project root or an ancestor), if any.
    pub trusted_by: Option<PathBuf>,
    /// The approval of `ANTHROPIC_API_KEY`, when one is set.
    pub api_key: Option<KeyApproval>,
}

/// The last 20 characters of a key: how Claude Code records its approval.
fn key_tail(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    chars[chars.len().saturating_sub(20)..].iter().collect()
}

/// The directories whose trust covers `root`, nearest first: `root` and its ancestors, up to the
/// root of the git repository `root` is in (if it is in one).
pub fn trust_scope(root: &Path) -> Vec<PathBuf> {
    let git_root = root.ancestors().find(|d| d.join(".git").exists());
    let mut out = Vec::new();
    for d in root.ancestors() {
        out.push(d.to_path_buf());
        if Some(d) == git_root {
            break;
        }
    }
    out
}

/// Reads the configuration at `path` for the project at `root`, with `api_key` the value of
/// `ANTHROPIC_API_KEY` in the agents' environment. A missing file is a status (nothing done
/// yet), an unreadable or malformed one an error.
pub fn status(path: &Path, root: &Path, api_key: Option<&str>) -> Result<Status> {
    let (exists, doc) = match std::fs::read(path) {
        Ok(bytes) => {
            let doc: Doc = serde_json::from_slice(&bytes).map_err(|e| {
                Error::with_help(
                    format!("{} is not the JSON Claude Code writes: {e}", path.display()),
                    "start `claude` once to let it repair the file, then try again",
                )
            })?;
            (true, doc)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (false, Doc::default()),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let trusted_by = trust_scope(root).into_iter().find(|d| {
        doc.projects
            .get(&*d.to_string_lossy())
            .is_some_and(|p| p.has_trust_dialog_accepted == Some(true))
    });
    let api_key = api_key.filter(|k| !k.is_empty()).map(|k| {
        let tail = key_tail(k);
        let r = doc.custom_api_key_responses.as_ref();
        if r.is_some_and(|r| r.approved.contains(&tail)) {
            KeyApproval::Approved
        } else if r.is_some_and(|r| r.rejected.contains(&tail)) {
            KeyApproval::Rejected
        } else {
            KeyApproval::NotAsked
        }
    });
    Ok(Status {
        path: path.to_path_buf(),
        exists,
        onboarding_done: doc.has_completed_onboarding == Some(true),
        trusted_by,
        api_key,
    })
}

/// Something that would stop every Claude Code agent at a dialog, or make it exit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `untrusted`, `onboarding` or `api_key`.
    pub kind: &'static str,
    /// The configuration file it concerns.
    pub config: PathBuf,
    /// What is wrong.
    pub message: String,
    /// What to do, once for all agents.
    pub help: String,
}

/// What stops agents started in `root` from being ready, per `status`; empty when nothing does.
/// `sandboxed`: `CLAUDE_CODE_SANDBOXED` is set in the agents' environment (Claude Code then
/// trusts every directory).
pub fn problems(status: &Status, root: &Path, sandboxed: bool) -> Vec<Problem> {
    let config = status.path.clone();
    let shown = status.path.display();
    let mut out = Vec::new();
    if !status.onboarding_done {
        let why = if status.exists {
            "its first-run setup is not done"
        } else {
            "it has never been started by this user"
        };
        out.push(Problem {
            kind: "onboarding",
            config: config.clone(),
            message: format!(
                "Claude Code is not set up ({shown}: {why}): every agent would stop at the setup \
                 screens, or exit"
            ),
            help: "run `claude` once in a terminal, finish the setup (log in, or approve your API \
                   key), then run iw again"
                .into(),
        });
    }
    if status.trusted_by.is_none() && !sandboxed {
        out.push(Problem {
            kind: "untrusted",
            config: config.clone(),
            message: format!(
                "Claude Code does not trust {} yet ({shown}): every agent would stop at its trust \
                 dialog",
                root.display()
            ),
            help: format!(
                "run `iw trust` once (it records the trust in {shown}), or start `claude` in {} \
                 and accept the dialog",
                root.display()
            ),
        });
    }
    match status.api_key {
        Some(KeyApproval::NotAsked) if status.onboarding_done => out.push(Problem {
            kind: "api_key",
            config: config.clone(),
            message: "Claude Code has not been told whether to use the ANTHROPIC_API_KEY set for \
                      the agents: every agent would ask"
                .into(),
            help: "run `claude` once in a terminal with that key set and answer its question"
                .into(),
        }),
        Some(KeyApproval::Rejected) => out.push(Problem {
            kind: "api_key",
            config,
            message: "Claude Code was told not to use the ANTHROPIC_API_KEY set for the agents"
                .into(),
            help: format!(
                "remove the key's entry from `customApiKeyResponses.rejected` in {shown} (run \
                 `claude` and approve it), or unset it"
            ),
        }),
        _ => {}
    }
    out
}

/// Adds the [`problems`] of `status` to `out`, each kind once per configuration file: agents
/// that share a file would otherwise each report the same one.
pub fn add_problems(out: &mut Vec<Problem>, status: &Status, root: &Path, sandboxed: bool) {
    for p in problems(status, root, sandboxed) {
        if !out.iter().any(|o| o.kind == p.kind && o.config == p.config) {
            out.push(p);
        }
    }
}

/// What `iw trust` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trusted {
    /// The project was trusted already, by this directory's entry.
    Already(PathBuf),
    /// iw recorded the trust.
    Recorded,
}

/// Records in the configuration at `path` that Claude Code trusts `root`, as accepting the trust
/// dialog there would. Explicit (only `iw trust` calls it), atomic (a temporary file renamed over
/// the real one, which keeps its permissions), under Claude Code's own lock so that instances
/// writing at the same time lose nothing, and every other value kept byte for byte.
pub fn trust(path: &Path, root: &Path) -> Result<Trusted> {
    if let Some(by) = status(path, root, None)?.trusted_by {
        return Ok(Trusted::Already(by));
    }
    let _lock = ConfigLock::acquire(path, LOCK_WAIT)?;
    // Write to the file a symlinked config points at, not over the symlink.
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let bytes = match std::fs::read(&target) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("read", &target, e)),
    };
    let updated = with_trust(bytes.as_deref(), &root.to_string_lossy()).map_err(|e| {
        Error::with_help(
            format!("{} was not changed: {e}", target.display()),
            "start `claude` once to let it repair the file, then run `iw trust` again",
        )
    })?;
    crate::support::fsutil::write_atomic_mode(&target, updated.as_bytes(), 0o600)?;
    Ok(Trusted::Recorded)
}

type RawMap = IndexMap<String, Box<RawValue>>;

/// The configuration `current` (`None`: no file yet) with `projects[key].hasTrustDialogAccepted`
/// set to true; every other value is kept as written.
fn with_trust(current: Option<&[u8]>, key: &str) -> Result<String> {
    let raw = |s: &str| RawValue::from_string(s.to_string()).map_err(|e| Error::msg(e.to_string()));
    let mut top: RawMap = match current {
        Some(b) if !b.iter().all(u8::is_ascii_whitespace) => serde_json::from_slice(b)
            .map_err(|e| Error::msg(format!("it is not a JSON object ({e})")))?,
        _ => RawMap::new(),
    };
    let mut projects: RawMap = match top.get("projects") {
        Some(p) => serde_json::from_str(p.get())
            .map_err(|e| Error::msg(format!("its `projects` is not an object ({e})")))?,
        None => RawMap::new(),
    };
    let mut entry: RawMap = match projects.get(key) {
        Some(p) => serde_json::from_str(p.get())
            .map_err(|e| Error::msg(format!("its entry for {key} is not an object ({e})")))?,
        None => RawMap::new(),
    };
    entry.insert("hasTrustDialogAccepted".into(), raw("true")?);
    projects.insert(
        key.to_string(),
        raw(&serde_json::to_string(&entry).map_err(|e| Error::msg(e.to_string()))?)?,
    );
    top.insert(
        "projects".into(),
        raw(&serde_json::to_string(&projects).map_err(|e| Error::msg(e.to_string()))?)?,
    );
    let mut out = serde_json::to_string_pretty(&top).map_err(|e| Error::msg(e.to_string()))?;
    out.push('\n');
    Ok(out)
}

/// Claude Code's lock on its configuration: the directory `<file>.lock`, created atomically and
/// removed when dropped.
struct ConfigLock {
    dir: PathBuf,
}

impl ConfigLock {
    fn acquire(config: &Path, wait: Duration) -> Result<ConfigLock> {
        let mut dir = config.as_os_str().to_owned();
        dir.push(".lock");
        let dir = PathBuf::from(dir);
        if let Some(parent) = config.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("create directory", parent, e))?;
        }
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(5);
        loop {
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(ConfigLock { dir }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(&dir)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    if age.is_some_and(|a| a > STALE_LOCK) {
                        // Left by a process that died; Claude Code removes such locks too.
                        let _ = std::fs::remove_dir(&dir);
                        continue;
                    }
                    if Instant::now() > deadline {
                        return Err(Error::with_help(
                            format!(
                                "{} is locked by another process (the directory {} exists)",
                                config.display(),
                                dir.display()
                            ),
                            "a Claude Code instance is writing its configuration; try again in a \
                             moment",
                        ));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(e) => return Err(Error::io("lock", &dir, e)),
            }
        }
    }
}

impl Drop for ConfigLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn the_path_follows_claude_config_dir_then_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            path(env(&[("HOME", "/h"), ("CLAUDE_CONFIG_DIR", "/c")])),
            Some(PathBuf::from("/c/.claude.json"))
        );
        assert_eq!(
            path(env(&[("HOME", "/h"), ("CLAUDE_CONFIG_DIR", " ")])),
            Some(PathBuf::from("/h/.claude.json"))
        );
        assert_eq!(path(env(&[])), None);
    }

    #[test]
    fn trust_covers_ancestors_up_to_the_git_root() {
        let t = tempfile::tempdir().unwrap();
        let base = t.path().canonicalize().unwrap();
        let root = base.join("repo/sub/project");
        std::fs::create_dir_all(&root).unwrap();
        assert_eq!(trust_scope(&root).last().unwrap(), Path::new("/"));
        std::fs::create_dir_all(base.join("repo/.git")).unwrap();
        assert_eq!(
            trust_scope(&root),
            vec![root.clone(), base.join("repo/sub"), base.join("repo")]
        );
        let cfg = base.join("home/.claude.json");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        let write = |v: Value| std::fs::write(&cfg, v.to_string()).unwrap();
        write(json!({"projects": {base.to_string_lossy(): {"hasTrustDialogAccepted": true}}}));
        assert_eq!(status(&cfg, &root, None).unwrap().trusted_by, None);
        write(
            json!({"projects": {base.join("repo").to_string_lossy(): {"hasTrustDialogAccepted": true}}}),
        );
        assert_eq!(
            status(&cfg, &root, None).unwrap().trusted_by,
            Some(base.join("repo"))
        );
    }

    #[test]
    fn problems_name_what_stops_the_agents() {
        let t = tempfile::tempdir().unwrap();
        let cfg = t.path().join(".claude.json");
        let root = Path::new("/srv/p");
        let s = status(&cfg, root, Some("sk-key")).unwrap();
        assert!(!s.exists);
        let kinds: Vec<&str> = problems(&s, root, false).iter().map(|p| p.kind).collect();
        assert_eq!(kinds, ["onboarding", "untrusted"]);
        assert!(
            problems(&s, root, true)
                .iter()
                .all(|p| p.kind != "untrusted")
        );
        std::fs::write(
            &cfg,
            json!({"hasCompletedOnboarding": true,
                   "customApiKeyResponses": {"approved": ["0123456789abcdefghij"], "rejected": ["x"]},
                   "projects": {"/srv/p": {"hasTrustDialogAccepted": true}}})
            .to_string(),
        )
        .unwrap();
        let ok = status(&cfg, root, Some("sk-ant-0123456789abcdefghij")).unwrap();
        assert_eq!(ok.api_key, Some(KeyApproval::Approved));
        assert!(problems(&ok, root, false).is_empty());
        let asks = status(&cfg, root, Some("sk-other-key")).unwrap();
        assert_eq!(problems(&asks, root, false)[0].kind, "api_key");
        let rejected = status(&cfg, root, Some("x")).unwrap();
        assert_eq!(rejected.api_key, Some(KeyApproval::Rejected));
        std::fs::write(&cfg, "{not json").unwrap();
        assert!(
            status(&cfg, root, None)
                .unwrap_err()
                .to_string()
                .contains("not the JSON")
        );
    }

    #[test]
    fn trusting_keeps_every_other_value_as_written() {
        let before = r#"{
  "numStartups": 12345678901234567890123,
  "tipsHistory": {"a": 1.50},
  "projects": {
    "/other": {"hasTrustDialogAccepted": false, "lastCost": 0.1000},
    "/srv/p": {"allowedTools": [], "x": 1e3}
  },
  "userID": "u"
}"#;
        let after = with_trust(Some(before.as_bytes()), "/srv/p").unwrap();
        let v: Value = serde_json::from_str(&after).unwrap();
        assert_eq!(v["projects"]["/srv/p"]["hasTrustDialogAccepted"], true);
        assert_eq!(v["projects"]["/other"]["hasTrustDialogAccepted"], false);
        for kept in ["12345678901234567890123", "1.50", "0.1000", "1e3", "\"u\""] {
            assert!(after.contains(kept), "{kept} in {after}");
        }
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["numStartups", "tipsHistory", "projects", "userID"]);
        let fresh = with_trust(None, "/srv/p").unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&fresh).unwrap(),
            json!({"projects": {"/srv/p": {"hasTrustDialogAccepted": true}}})
        );
        assert!(with_trust(Some(b"[1]"), "/p").is_err());
        assert!(with_trust(Some(br#"{"projects": 3}"#), "/p").is_err());
    }

    #[test]
    fn trust_writes_atomically_under_the_lock_and_waits_for_it() {
        let t = tempfile::tempdir().unwrap();
        let cfg = t.path().join(".claude.json");
        std::fs::write(&cfg, r#"{"hasCompletedOnboarding": true}"#).unwrap();
        // Another process holds the lock for a moment.
        let lock = t.path().join(".claude.json.lock");
        std::fs::create_dir(&lock).unwrap();
        let release = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                std::fs::remove_dir(&lock).unwrap();
            })
        };
        assert_eq!(trust(&cfg, Path::new("/srv/p")).unwrap(), Trusted::Recorded);
        release.join().unwrap();
        assert!(!lock.exists(), "iw released its lock");
        let s = status(&cfg, Path::new("/srv/p"), None).unwrap();
        assert!(s.onboarding_done && s.trusted_by.is_some());
        assert_eq!(
            trust(&cfg, Path::new("/srv/p/sub")).unwrap(),
            Trusted::Already(PathBuf::from("/srv/p"))
        );
        // A stale lock (its owner died) does not block.
        std::fs::create_dir(&lock).unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::open(&lock)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(trust(&cfg, Path::new("/q")).unwrap(), Trusted::Recorded);
    }
}
