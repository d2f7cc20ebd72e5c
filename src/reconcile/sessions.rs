//! Session reconciliation: the session changes and notices for the desired sessions against the
//! live ones, per socket. Pure: the live sessions are observed elsewhere ([`super::observe`]).

use std::collections::BTreeSet;

use super::plan::{Action, Notice, NoticeKind, Selection, SessionChange};
use crate::model::sessions::{Restart, SessionSpec};
use crate::tmux::LiveSession;

/// What differs between a live session's definition (its `@iw-spec` JSON) and the desired one.
fn spec_difference(live: Option<&str>, want: &SessionSpec) -> String {
    let Some(old) = live.and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok()) else {
        return "its definition changed".into();
    };
    let new = serde_json::to_value(want).unwrap_or_default();
    let mut parts = Vec::new();
    if old["command"] != new["command"] {
        parts.push(format!("command {} → {}", old["command"], new["command"]));
    }
    if old["workdir"] != new["workdir"] {
        parts.push(format!("workdir {} → {}", old["workdir"], new["workdir"]));
    }
    if old["env"] != new["env"] {
        let keys = |v: &serde_json::Value| -> BTreeSet<String> {
            v.as_object()
                .map(|o| o.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default()
        };
        let (a, b) = (keys(&old["env"]), keys(&new["env"]));
        let mut names: Vec<String> = a
            .symmetric_difference(&b)
            .map(|kv| kv.split('=').next().unwrap_or("").to_string())
            .collect();
        names.dedup();
        parts.push(format!("environment ({})", names.join(", ")));
    }
    if old["config"] != new["config"] {
        parts.push("the agent's generated configuration".into());
    }
    if parts.is_empty() {
        "its definition changed".into()
    } else {
        format!("changed: {}", parts.join("; "))
    }
}

/// The session changes and notices, given the desired sessions (already filtered by the
/// selection), the declared socket, the live sessions on each observed socket, the project root
/// (to tell this project's sessions from another's) and the spawn order. Pure: no tmux calls.
pub fn session_changes(
    specs: &[SessionSpec],
    declared_socket: Option<&str>,
    live: &[(String, Vec<LiveSession>)],
    root: &str,
    selection: &Selection,
    spawn_order: &[String],
) -> (Vec<SessionChange>, Vec<Notice>) {
    let mut changes = Vec::new();
    let mut notices = Vec::new();
    let declared: Vec<&LiveSession> = live
        .iter()
        .filter(|(s, _)| Some(s.as_str()) == declared_socket)
        .flat_map(|(_, l)| l.iter())
        .collect();
    let socket = declared_socket.unwrap_or_default();
    for spec in specs {
        let l = declared.iter().find(|l| l.name == spec.name).copied();
        match for_spec(spec, l, socket, root, selection) {
            Some(Ok(c)) => changes.push(c),
            Some(Err(n)) => notices.push(n),
            None => {}
        }
    }
    // Sessions this project started that are no longer declared (or live on an old socket).
    for (sock, list) in live {
        // Task runs (`iw run`) live on the socket too; they are not plan's to manage.
        for l in list.iter().filter(|l| l.run.is_none()) {
            match leftover(l, sock, declared_socket, specs, root, selection) {
                Some(Ok(c)) => changes.push(c),
                Some(Err(n)) => notices.push(n),
                None => {}
            }
        }
    }
    (in_order(changes, spawn_order), notices)
}

fn ours(l: &LiveSession, root: &str) -> bool {
    l.managed && l.root.as_deref() == Some(root)
}

/// What to do about declared session `spec`, given the live session under its name: a change, a
/// notice, or nothing.
fn for_spec(
    spec: &SessionSpec,
    live: Option<&LiveSession>,
    socket: &str,
    root: &str,
    selection: &Selection,
) -> Option<Result<SessionChange, Notice>> {
    let change = |action, reason: String| {
        Some(Ok(SessionChange {
            action,
            agent: spec.agent.clone(),
            session: spec.name.clone(),
            socket: socket.to_string(),
            reason,
            spec: Some(Box::new(spec.clone())),
            host: spec.host.clone(),
        }))
    };
    let notice = |kind, message: String| {
        Some(Err(Notice {
            kind,
            session: spec.name.clone(),
            agent: Some(spec.agent.clone()),
            message,
        }))
    };
    let Some(l) = live else {
        return change(Action::Create, "not running".into());
    };
    if !l.managed {
        return notice(
            NoticeKind::NameTaken,
            format!(
                "session `{}` exists but iw did not create it, so iw leaves it alone and cannot start `{}` there: stop it, or adopt it with `iw import {}`",
                spec.name, spec.agent, spec.agent
            ),
        );
    }
    if !ours(l, root) {
        return notice(
            NoticeKind::NameTaken,
            format!(
                "session `{}` belongs to the iw project at {}; give this project its own `socket` or `prefix` in sessions.yaml",
                spec.name,
                l.root.as_deref().unwrap_or("?")
            ),
        );
    }
    if l.pane_dead {
        let how = match l.dead_status {
            Some(code) => format!("its command exited (status {code})"),
            None => "its command exited".to_string(),
        };
        return change(Action::Replace, how);
    }
    if l.hash.as_deref() != Some(spec.hash().as_str()) {
        let why = spec_difference(l.spec.as_deref(), spec);
        return match spec.restart {
            Restart::OnChange => change(Action::Replace, why),
            Restart::Never => notice(
                NoticeKind::RestartNever,
                format!(
                    "session `{}` is outdated ({why}) but `restart: never` leaves it running; kill it with `iw session kill {}` to restart it",
                    spec.name, spec.agent
                ),
            ),
        };
    }
    if selection.replace.contains(&spec.agent) {
        return change(Action::Replace, "forced by --replace".into());
    }
    None
}

/// What to do about a live session on `sock` that no declared session wants: destroy it if this
/// project started it (and its agent is selected), report it if not.
fn leftover(
    l: &LiveSession,
    sock: &str,
    declared_socket: Option<&str>,
    specs: &[SessionSpec],
    root: &str,
    selection: &Selection,
) -> Option<Result<SessionChange, Notice>> {
    let on_declared = Some(sock) == declared_socket;
    let wanted = on_declared && specs.iter().any(|s| s.name == l.name);
    let declared_unselected =
        on_declared && l.agent.as_deref().is_some_and(|a| !selection.includes(a));
    if ours(l, root) && !wanted && !declared_unselected {
        let agent = l.agent.clone().unwrap_or_default();
        if !selection.includes(&agent) {
            return None;
        }
        let reason = match (on_declared, declared_socket) {
            (true, _) => format!("`{agent}` is no longer declared in sessions.yaml"),
            (false, Some(s)) => format!("sessions moved to socket `{s}`"),
            (false, None) => "sessions.yaml no longer exists".to_string(),
        };
        return Some(Ok(SessionChange {
            action: Action::Delete,
            agent,
            session: l.name.clone(),
            socket: sock.to_string(),
            reason,
            spec: None,
            host: None,
        }));
    }
    if !on_declared || specs.iter().any(|s| s.name == l.name) || ours(l, root) {
        return None;
    }
    let (kind, message) = if l.managed {
        (
            NoticeKind::OtherProject,
            format!(
                "session `{}` belongs to the iw project at {}; left alone",
                l.name,
                l.root.as_deref().unwrap_or("?")
            ),
        )
    } else {
        (
            NoticeKind::Unmanaged,
            format!("session `{}` was not created by iw; left alone", l.name),
        )
    };
    Some(Err(Notice {
        kind,
        session: l.name.clone(),
        agent: l.agent.clone(),
        message,
    }))
}

/// Stops first — agents gone from the registry, then delegators before their delegates — then
/// starts, delegates before their delegators.
pub(super) fn in_order(changes: Vec<SessionChange>, spawn_order: &[String]) -> Vec<SessionChange> {
    let rank = |agent: &str| spawn_order.iter().position(|a| a == agent);
    let (mut deletes, mut starts): (Vec<SessionChange>, Vec<SessionChange>) = changes
        .into_iter()
        .partition(|c| c.action == Action::Delete);
    let stop_rank = |agent: &str| rank(agent).map_or(0, |r| spawn_order.len() - r);
    deletes.sort_by(|a, b| {
        stop_rank(&a.agent)
            .cmp(&stop_rank(&b.agent))
            .then(a.session.cmp(&b.session))
    });
    starts.sort_by(|a, b| {
        rank(&a.agent)
            .unwrap_or(usize::MAX)
            .cmp(&rank(&b.agent).unwrap_or(usize::MAX))
            .then(a.session.cmp(&b.session))
    });
    deletes.extend(starts);
    deletes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sessions::Restart;

    const ROOT: &str = "/p";

    fn spec(agent: &str, restart: Restart) -> SessionSpec {
        SessionSpec {
            agent: agent.into(),
            name: format!("iw-{agent}"),
            command: "sleep 1".into(),
            workdir: ROOT.into(),
            env: Default::default(),
            restart,
            config: "c".into(),
            tenant: None,
            socket: "s".into(),
            host: None,
        }
    }

    fn live(
        name: &str,
        agent: Option<&str>,
        root: Option<&str>,
        hash: Option<String>,
    ) -> LiveSession {
        LiveSession {
            name: name.into(),
            id: 0,
            managed: root.is_some(),
            agent: agent.map(str::to_string),
            hash,
            root: root.map(str::to_string),
            spec: None,
            run: None,
            pane_dead: false,
            dead_status: None,
            pid: Some(1),
            created: Some(1),
        }
    }

    fn plan(
        specs: &[SessionSpec],
        sessions: Vec<LiveSession>,
    ) -> (Vec<(Action, String)>, Vec<NoticeKind>) {
        let order: Vec<String> = ["b", "a"].iter().map(|s| s.to_string()).collect();
        let (changes, notices) = session_changes(
            specs,
            Some("s"),
            &[("s".into(), sessions)],
            ROOT,
            &Selection::default(),
            &order,
        );
        (
            changes.into_iter().map(|c| (c.action, c.session)).collect(),
            notices.into_iter().map(|n| n.kind).collect(),
        )
    }

    #[test]
    fn each_live_state_gives_its_change() {
        let a = spec("a", Restart::OnChange);
        let ok = Some(a.hash());
        let dead = LiveSession {
            pane_dead: true,
            dead_status: Some(3),
            ..live("iw-a", Some("a"), Some(ROOT), ok.clone())
        };
        type Row = (Vec<LiveSession>, Vec<(Action, String)>, Vec<NoticeKind>);
        let table: Vec<Row> = vec![
            // missing → create
            (vec![], vec![(Action::Create, "iw-a".into())], vec![]),
            // running as desired → nothing
            (
                vec![live("iw-a", Some("a"), Some(ROOT), ok.clone())],
                vec![],
                vec![],
            ),
            // its command exited → replace
            (vec![dead], vec![(Action::Replace, "iw-a".into())], vec![]),
            // definition changed → replace
            (
                vec![live("iw-a", Some("a"), Some(ROOT), Some("old".into()))],
                vec![(Action::Replace, "iw-a".into())],
                vec![],
            ),
            // the name is held by a session iw did not start → notice, nothing started
            (
                vec![live("iw-a", None, None, None)],
                vec![],
                vec![NoticeKind::NameTaken],
            ),
            // … or by another project's → notice
            (
                vec![live("iw-a", Some("a"), Some("/other"), ok.clone())],
                vec![],
                vec![NoticeKind::NameTaken],
            ),
            // ours, no longer declared → destroyed; someone else's → left alone
            (
                vec![
                    live("iw-a", Some("a"), Some(ROOT), ok.clone()),
                    live("iw-gone", Some("gone"), Some(ROOT), None),
                    live("mine", None, None, None),
                ],
                vec![(Action::Delete, "iw-gone".into())],
                vec![NoticeKind::Unmanaged],
            ),
        ];
        for (sessions, changes, notices) in table {
            let names: Vec<String> = sessions.iter().map(|s| s.name.clone()).collect();
            assert_eq!(
                plan(std::slice::from_ref(&a), sessions),
                (changes, notices),
                "{names:?}"
            );
        }
        // restart: never keeps an outdated session running, with a notice.
        let never = spec("a", Restart::Never);
        assert_eq!(
            plan(
                &[never],
                vec![live("iw-a", Some("a"), Some(ROOT), Some("old".into()))]
            ),
            (vec![], vec![NoticeKind::RestartNever])
        );
    }

    #[test]
    fn delegates_start_first_and_stop_last() {
        // Spawn order: b before a (a delegates to b).
        let specs = [spec("a", Restart::OnChange), spec("b", Restart::OnChange)];
        let (changes, _) = plan(&specs, vec![]);
        assert_eq!(
            changes,
            vec![
                (Action::Create, "iw-b".into()),
                (Action::Create, "iw-a".into())
            ]
        );
        let running = vec![
            live("iw-a", Some("a"), Some(ROOT), None),
            live("iw-b", Some("b"), Some(ROOT), None),
        ];
        let (changes, _) = plan(&[], running);
        assert_eq!(
            changes,
            vec![
                (Action::Delete, "iw-a".into()),
                (Action::Delete, "iw-b".into())
            ]
        );
    }
}
