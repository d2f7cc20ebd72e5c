//! What `iw watch` shows, as plain data: one row per agent in delegation order, computed by a pure
//! function ([`rows`]) over what was observed (live sessions, activity records, runs, the plan).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::graph::DelegationGraph;
use crate::model::sessions::SessionSpec;
use crate::runs::RunState;
use crate::status::activity::{Activity, Record, State};
use crate::tmux::LiveSession;

/// A session's state as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    /// Running, with its pane's pid.
    Running(Option<u32>),
    /// Its command exited (kept visible by `remain-on-exit`), with its status.
    Dead(Option<i32>),
    /// Declared in sessions.yaml, not running.
    Missing,
    /// The agent has no session in sessions.yaml (for this tenant).
    NotDeclared,
}

/// One agent's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The agent.
    pub agent: String,
    /// Depth in the delegation tree (0 for agents nobody delegates to).
    pub depth: usize,
    /// Its declared tmux session's name, if declared.
    pub session: Option<String>,
    /// The session's state.
    pub state: Session,
    /// For a running Claude Code session: whether it reported SessionStart since it started.
    pub ready: Option<bool>,
    /// What the agent is doing (its hooks' last report), for a running session.
    pub activity: Option<State>,
    /// How long it has been doing it.
    pub since: Option<Duration>,
    /// Claude Code's last message (e.g. the permission it waits for).
    pub message: Option<String>,
    /// Task runs of this agent that are not finished.
    pub runs: Vec<String>,
    /// Whether its files and session match the registry (`None`: not known yet).
    pub up_to_date: Option<bool>,
    /// Its host could not be reached, so whether it is in sync is unknown.
    pub unreachable: bool,
}

/// Agents in delegation order: a depth-first walk from the agents nobody delegates to, each
/// agent once (under its first delegator), then any left (cycles).
pub fn tree_order(graph: &DelegationGraph, agents: &[String]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    fn walk(
        g: &DelegationGraph,
        a: &str,
        depth: usize,
        out: &mut Vec<(String, usize)>,
        seen: &mut std::collections::BTreeSet<String>,
    ) {
        if !seen.insert(a.to_string()) {
            return;
        }
        out.push((a.to_string(), depth));
        for d in g.delegates(a) {
            walk(g, d, depth + 1, out, seen);
        }
    }
    for a in agents.iter().filter(|a| graph.delegators(a).is_empty()) {
        walk(graph, a, 0, &mut out, &mut seen);
    }
    for a in agents {
        walk(graph, a, 0, &mut out, &mut seen);
    }
    out
}

/// What was observed, the input of [`rows`].
#[derive(Debug, Default)]
pub struct Observed<'a> {
    /// Agents with their depth, in display order ([`tree_order`]).
    pub order: Vec<(String, usize)>,
    /// The desired sessions (of the tenant watched), by agent.
    pub specs: BTreeMap<String, &'a SessionSpec>,
    /// Sessions live on the socket.
    pub live: &'a [LiveSession],
    /// Each agent's last activity record.
    pub activity: BTreeMap<String, Record>,
    /// Every run.
    pub runs: &'a [RunState],
    /// Agents with pending changes in the plan (`None`: no plan computed).
    pub changed: Option<&'a std::collections::BTreeSet<String>>,
    /// Agents the plan could not judge: their host could not be reached.
    pub unknown: Option<&'a std::collections::BTreeSet<String>>,
}

/// The rows for what was observed. Pure.
pub fn rows(o: &Observed<'_>) -> Vec<Row> {
    o.order
        .iter()
        .map(|(agent, depth)| {
            let spec = o.specs.get(agent);
            let live = spec.and_then(|s| o.live.iter().find(|l| l.name == s.name));
            let state = match (spec, live) {
                (None, _) => Session::NotDeclared,
                (Some(_), None) => Session::Missing,
                (Some(_), Some(l)) if l.pane_dead => Session::Dead(l.dead_status),
                (Some(_), Some(l)) => Session::Running(l.pid),
            };
            let running = matches!(state, Session::Running(_));
            let act = live
                .filter(|_| running)
                .map(|l| Activity::current(o.activity.get(agent), l.created));
            let ready = match (spec, &act) {
                (Some(s), Some(a)) if s.is_claude() => {
                    Some(!matches!(a.state, State::Unknown | State::Ended))
                }
                _ => None,
            };
            let runs = o
                .runs
                .iter()
                .filter(|r| r.agent == *agent && !r.status.is_terminal())
                .map(|r| r.id.clone())
                .collect();
            let judged = !o.unknown.is_some_and(|u| u.contains(agent));
            let up_to_date = o
                .changed
                .filter(|_| judged)
                .map(|c| !c.contains(agent))
                .map(|files_ok| {
                    files_ok
                        && match (spec, live) {
                            (Some(s), Some(l)) => l.hash.as_deref() == Some(s.hash().as_str()),
                            _ => true,
                        }
                });
            Row {
                agent: agent.clone(),
                depth: *depth,
                session: spec.map(|s| s.name.clone()),
                state,
                ready,
                activity: act.as_ref().map(|a| a.state),
                since: act.as_ref().and_then(|a| a.since),
                message: act.and_then(|a| a.message),
                runs,
                up_to_date,
                unreachable: !judged,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> DelegationGraph {
        let lead = vec!["a".to_string(), "b".to_string()];
        let a = vec!["c".to_string()];
        let none: Vec<String> = vec![];
        DelegationGraph::new([
            ("lead", lead.as_slice()),
            ("a", a.as_slice()),
            ("b", a.as_slice()),
            ("c", none.as_slice()),
            ("solo", none.as_slice()),
        ])
    }

    #[test]
    fn delegates_are_under_their_first_delegator_once() {
        let agents: Vec<String> = ["a", "b", "c", "lead", "solo"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let order = tree_order(&graph(), &agents);
        assert_eq!(
            order,
            vec![
                ("lead".to_string(), 0),
                ("a".to_string(), 1),
                ("c".to_string(), 2),
                ("b".to_string(), 1),
                ("solo".to_string(), 0),
            ]
        );
    }

    #[test]
    fn rows_combine_sessions_activity_runs_and_the_plan() {
        let spec = |agent: &str, command: &str| SessionSpec {
            agent: agent.into(),
            name: format!("iw-{agent}"),
            command: command.into(),
            workdir: "/p".into(),
            env: Default::default(),
            restart: crate::model::sessions::Restart::OnChange,
            config: String::new(),
            tenant: None,
            socket: "s".into(),
            host: None,
        };
        let (a, b) = (spec("a", "claude --settings x"), spec("b", "sleep 1"));
        let live = vec![
            LiveSession {
                name: "iw-a".into(),
                id: 1,
                managed: true,
                agent: Some("a".into()),
                hash: Some(a.hash()),
                root: Some("/p".into()),
                spec: None,
                run: None,
                pane_dead: false,
                dead_status: None,
                pid: Some(7),
                created: Some(1),
            },
            LiveSession {
                name: "iw-b".into(),
                pane_dead: true,
                dead_status: Some(3),
                ..live_default()
            },
        ];
        let record = Record {
            agent: "a".into(),
            state: State::Waiting,
            event: "Notification".into(),
            message: Some("Claude needs your permission to use Bash".into()),
            session_id: None,
            at_ms: 5_000,
        };
        let changed: std::collections::BTreeSet<String> = ["b".to_string()].into();
        let unknown: std::collections::BTreeSet<String> = ["c".to_string()].into();
        let o = Observed {
            order: vec![("a".into(), 0), ("b".into(), 1), ("c".into(), 1)],
            specs: [("a".to_string(), &a), ("b".to_string(), &b)].into(),
            live: &live,
            activity: [("a".to_string(), record)].into(),
            runs: &[],
            changed: Some(&changed),
            unknown: Some(&unknown),
        };
        let r = rows(&o);
        assert_eq!(r[0].state, Session::Running(Some(7)));
        assert_eq!(r[0].activity, Some(State::Waiting));
        assert_eq!(r[0].ready, Some(true));
        assert_eq!(r[0].up_to_date, Some(true));
        // c's host could not be reached: neither ✓ nor ~.
        assert_eq!((r[2].up_to_date, r[2].unreachable), (None, true));
        assert!(!r[0].unreachable);
        assert!(r[0].message.as_deref().unwrap().contains("permission"));
        assert_eq!(r[1].state, Session::Dead(Some(3)));
        assert_eq!(r[1].activity, None);
        assert_eq!(r[1].up_to_date, Some(false));
        assert_eq!(r[2].state, Session::NotDeclared);
    }

    fn live_default() -> LiveSession {
        LiveSession {
            name: String::new(),
            id: 0,
            managed: true,
            agent: None,
            hash: None,
            root: None,
            spec: None,
            run: None,
            pane_dead: false,
            dead_status: None,
            pid: None,
            created: None,
        }
    }
}
