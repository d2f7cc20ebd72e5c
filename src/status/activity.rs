//! What each agent is doing, as Claude Code reports it through hooks rather than guessed from the
//! pane's text.
//!
//! The generated settings.json runs `iw hook status --agent NAME` on SessionStart,
//! UserPromptSubmit, Notification, Stop and SessionEnd; each call records the agent's activity
//! (working / waiting / idle / ended) with a timestamp in `state/activity/<agent>.json` (a
//! tenant's session in `state/activity/<tenant>/<agent>.json`, a task run in its run directory).
//! [`Activity::current`] turns a record into what `iw session list` shows, with an explicit
//! `unknown` when nothing was recorded or the record is older than the session.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::support::{Error, Result};

pub use crate::support::layout::ACTIVITY_DIR;
use crate::support::layout::{run_dir, valid_run_id};
/// The hook events iw listens to, in the order the settings template lists them.
pub const EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "Notification",
    "Stop",
    "SessionEnd",
];

/// What an agent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Working on a prompt (UserPromptSubmit).
    Working,
    /// Waiting for a person: a permission prompt, or a question (Notification).
    Waiting,
    /// Done with its last prompt, or just started (Stop, SessionStart).
    Idle,
    /// Its Claude Code session ended (SessionEnd).
    Ended,
    /// Nothing recorded, or the record is older than the session.
    Unknown,
}

impl State {
    /// The name shown in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Working => "working",
            State::Waiting => "waiting",
            State::Idle => "idle",
            State::Ended => "ended",
            State::Unknown => "unknown",
        }
    }

    /// The state a Claude Code hook event means, if any.
    pub fn of_event(event: &str) -> Option<State> {
        match event {
            "UserPromptSubmit" | "PreToolUse" | "PostToolUse" => Some(State::Working),
            "Notification" | "PermissionRequest" => Some(State::Waiting),
            "SessionStart" | "Stop" => Some(State::Idle),
            "SessionEnd" => Some(State::Ended),
            _ => None,
        }
    }
}

/// One agent's last recorded activity (`state/activity/<agent>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The agent.
    pub agent: String,
    /// What it is doing.
    pub state: State,
    /// The hook event that said so.
    pub event: String,
    /// Claude Code's message, for Notification (e.g. "Claude needs your permission to use Bash").
    pub message: Option<String>,
    /// Claude Code's session id.
    pub session_id: Option<String>,
    /// When it was recorded, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// Whose activity a hook call reports: the same agent can run as the project's session, as a
/// tenant's (`IW_TENANT`), and in task runs (`IW_RUN_ID`), each with its own record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The project's own session of the agent: `state/activity/<agent>.json`.
    Project,
    /// A tenant's session: `state/activity/<tenant>/<agent>.json`.
    Tenant(String),
    /// A task run: `state/runs/<id>/activity.json`.
    Run(String),
}

impl Scope {
    /// The scope of the calling process, from the environment iw sets in sessions and runs.
    pub fn from_env() -> Scope {
        let caller = crate::support::Caller::get();
        if let Some(id) = caller.run_id().filter(|id| valid_run_id(id)) {
            Scope::Run(id.to_string())
        } else if let Some(t) = caller.tenant().filter(|t| valid_agent(t)) {
            Scope::Tenant(t.to_string())
        } else {
            Scope::Project
        }
    }
}

/// The file holding `agent`'s record in `scope`.
pub fn record_path(root: &Path, agent: &str, scope: &Scope) -> PathBuf {
    match scope {
        Scope::Project => root.join(ACTIVITY_DIR).join(format!("{agent}.json")),
        Scope::Tenant(t) => root
            .join(ACTIVITY_DIR)
            .join(t)
            .join(format!("{agent}.json")),
        Scope::Run(id) => run_dir(root, id).join("activity.json"),
    }
}

fn valid_agent(agent: &str) -> bool {
    crate::support::fsutil::is_plain_name(agent, 128)
}

/// Milliseconds since the Unix epoch, as records are stamped.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Records the hook event in `input` (Claude Code's hook JSON) for `agent` in `scope`. Returns
/// what was recorded, `Ok(None)` for an event that says nothing about activity.
pub fn record(root: &Path, agent: &str, scope: &Scope, input: &[u8]) -> Result<Option<Record>> {
    if !valid_agent(agent) {
        return Err(Error::msg(format!("`{agent}` is not a valid agent name")));
    }
    let v: serde_json::Value = serde_json::from_slice(input)
        .map_err(|e| Error::msg(format!("the hook input is not JSON: {e}")))?;
    let event = v
        .get("hook_event_name")
        .and_then(|e| e.as_str())
        .ok_or_else(|| Error::msg("the hook input has no hook_event_name"))?;
    let Some(state) = State::of_event(event) else {
        return Ok(None);
    };
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let rec = Record {
        agent: agent.to_string(),
        state,
        event: event.to_string(),
        message: text("message"),
        session_id: text("session_id"),
        at_ms: now_ms(),
    };
    // A replaced session's Claude Code may report its end after the new one has started: the end
    // of a session that is not the one on record says nothing about the agent now.
    if state == State::Ended
        && let Some(current) = read(root, agent, scope)
        && current.session_id.is_some()
        && rec.session_id.is_some()
        && current.session_id != rec.session_id
    {
        return Ok(None);
    }
    let json = serde_json::to_string(&rec).map_err(|e| Error::msg(e.to_string()))?;
    if let Scope::Run(id) = scope
        && !run_dir(root, id).is_dir()
    {
        return Err(Error::not_found(
            format!("there is no run `{id}`"),
            "IW_RUN_ID names a run of this project (iw sets it in a run's pane)",
        ));
    }
    crate::support::fsutil::write_atomic(&record_path(root, agent, scope), json.as_bytes())?;
    Ok(Some(rec))
}

/// Reads `agent`'s record in `scope`, if there is a readable one.
pub fn read(root: &Path, agent: &str, scope: &Scope) -> Option<Record> {
    if !valid_agent(agent) {
        return None;
    }
    let bytes = std::fs::read(record_path(root, agent, scope)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// What `iw session list` shows for an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// The state.
    pub state: State,
    /// How long it has been in it.
    #[serde(skip)]
    pub since: Option<Duration>,
    /// The event that set it.
    pub event: Option<String>,
    /// Claude Code's message, for `waiting`.
    pub message: Option<String>,
}

impl Activity {
    /// The activity of an agent whose session was created at `session_created` (Unix seconds;
    /// `None` when it has no session) from its `record`. A record older than the session belongs
    /// to an earlier session: unknown.
    pub fn current(record: Option<&Record>, session_created: Option<u64>) -> Activity {
        let unknown = Activity {
            state: State::Unknown,
            since: None,
            event: None,
            message: None,
        };
        let Some(r) = record else { return unknown };
        // tmux reports whole seconds: a record from within the creation second counts.
        if session_created.is_some_and(|c| r.at_ms / 1000 < c) {
            return unknown;
        }
        Activity {
            state: r.state,
            since: Some(Duration::from_millis(now_ms().saturating_sub(r.at_ms))),
            event: Some(r.event.clone()),
            message: r.message.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_map_to_states_and_are_recorded() {
        let t = tempfile::tempdir().unwrap();
        for (event, state) in [
            ("SessionStart", State::Idle),
            ("UserPromptSubmit", State::Working),
            ("Notification", State::Waiting),
            ("Stop", State::Idle),
            ("SessionEnd", State::Ended),
        ] {
            let input = format!(
                r#"{{"session_id":"s1","hook_event_name":"{event}","message":"m","cwd":"/x"}}"#
            );
            let r = record(t.path(), "a", &Scope::Project, input.as_bytes())
                .unwrap()
                .unwrap();
            assert_eq!(r.state, state, "{event}");
            assert_eq!(read(t.path(), "a", &Scope::Project).unwrap(), r);
        }
        let p = Scope::Project;
        assert_eq!(
            record(t.path(), "a", &p, br#"{"hook_event_name":"PreCompact"}"#).unwrap(),
            None
        );
        assert!(record(t.path(), "../x", &p, br#"{"hook_event_name":"Stop"}"#).is_err());
        assert!(record(t.path(), "a", &p, b"not json").is_err());
        // A tenant's record is its own; a run's needs the run.
        let tenant = Scope::Tenant("prod".into());
        let working = br#"{"hook_event_name":"UserPromptSubmit"}"#;
        record(t.path(), "a", &tenant, working).unwrap();
        assert_eq!(read(t.path(), "a", &tenant).unwrap().state, State::Working);
        assert_eq!(read(t.path(), "a", &p).unwrap().state, State::Ended);
        assert!(
            record(
                t.path(),
                "a",
                &Scope::Run("20260101-000000-a".into()),
                working
            )
            .is_err()
        );
    }

    #[test]
    fn the_end_of_a_replaced_session_does_not_hide_the_new_one() {
        let t = tempfile::tempdir().unwrap();
        let p = Scope::Project;
        let event = |id: &str, e: &str| {
            format!(r#"{{"session_id":"{id}","hook_event_name":"{e}"}}"#).into_bytes()
        };
        record(t.path(), "a", &p, &event("new", "SessionStart")).unwrap();
        assert_eq!(
            record(t.path(), "a", &p, &event("old", "SessionEnd")).unwrap(),
            None
        );
        assert_eq!(read(t.path(), "a", &p).unwrap().state, State::Idle);
        record(t.path(), "a", &p, &event("new", "SessionEnd")).unwrap();
        assert_eq!(read(t.path(), "a", &p).unwrap().state, State::Ended);
    }

    #[test]
    fn a_record_older_than_the_session_is_unknown() {
        let r = Record {
            agent: "a".into(),
            state: State::Working,
            event: "UserPromptSubmit".into(),
            message: None,
            session_id: None,
            at_ms: 1_000_000,
        };
        assert_eq!(Activity::current(Some(&r), Some(999)).state, State::Working);
        assert_eq!(
            Activity::current(Some(&r), Some(1001)).state,
            State::Unknown
        );
        assert_eq!(Activity::current(None, Some(1)).state, State::Unknown);
    }
}
