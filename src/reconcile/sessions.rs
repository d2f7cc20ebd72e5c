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
    let ours = |l: &LiveSession| l.managed && l.root.as_deref() == Some(root);
    let declared: Vec<&LiveSession> = live
        .iter()
        .filter(|(s, _)| Some(s.as_str()) == declared_socket)
        .flat_map(|(_, l)| l.iter())
        .collect();
    let socket = declared_socket.unwrap_or_default().to_string();
    for spec in specs {
        let change = |action, reason: String| SessionChange {
            action,
            agent: spec.agent.clone(),
            session: spec.name.clone(),
            socket: socket.clone(),
            reason,
            spec: Some(spec.clone()),
        };
        match declared.iter().find(|l| l.name == spec.name) {
            None => changes.push(change(Action::Create, "not running".into())),
            Some(l) if !l.managed => notices.push(Notice {
                kind: NoticeKind::NameTaken,
                session: spec.name.clone(),
                agent: Some(spec.agent.clone()),
                message: format!(
                    "session `{}` exists but iw did not create it, so iw leaves it alone and cannot start `{}` there: stop it, or adopt it with `iw import {}`",
                    spec.name, spec.agent, spec.agent
                ),
            }),
            Some(l) if !ours(l) => notices.push(Notice {
                kind: NoticeKind::NameTaken,
                session: spec.name.clone(),
                agent: Some(spec.agent.clone()),
                message: format!(
                    "session `{}` belongs to the iw project at {}; give this project its own `socket` or `prefix` in sessions.yaml",
                    spec.name,
                    l.root.as_deref().unwrap_or("?")
                ),
            }),
            Some(l) if l.pane_dead => {
                let how = match l.dead_status {
                    Some(code) => format!("its command exited (status {code})"),
                    None => "its command exited".to_string(),
                };
                changes.push(change(Action::Replace, how));
            }
            Some(l) if l.hash.as_deref() != Some(spec.hash().as_str()) => {
                let why = spec_difference(l.spec.as_deref(), spec);
                match spec.restart {
                    Restart::OnChange => changes.push(change(Action::Replace, why)),
                    Restart::Never => notices.push(Notice {
                        kind: NoticeKind::RestartNever,
                        session: spec.name.clone(),
                        agent: Some(spec.agent.clone()),
                        message: format!(
                            "session `{}` is outdated ({why}) but `restart: never` leaves it running; kill it with `iw session kill {}` to restart it",
                            spec.name, spec.agent
                        ),
                    }),
                }
            }
            Some(_) if selection.replace.contains(&spec.agent) => {
                changes.push(change(Action::Replace, "forced by --replace".into()))
            }
            Some(_) => {}
        }
    }
    // Sessions this project started that are no longer declared (or live on an old socket).
    for (sock, list) in live {
        // Task runs (`iw run`) live on the socket too; they are not plan's to manage.
        for l in list.iter().filter(|l| l.run.is_none()) {
            let wanted =
                Some(sock.as_str()) == declared_socket && specs.iter().any(|s| s.name == l.name);
            let declared_unselected = Some(sock.as_str()) == declared_socket
                && l.agent.as_deref().is_some_and(|a| !selection.includes(a));
            if ours(l) && !wanted && !declared_unselected {
                let agent = l.agent.clone().unwrap_or_default();
                if !selection.includes(&agent) {
                    continue;
                }
                let reason = if Some(sock.as_str()) != declared_socket {
                    match declared_socket {
                        Some(s) => format!("sessions moved to socket `{s}`"),
                        None => "sessions.yaml no longer exists".to_string(),
                    }
                } else {
                    format!("`{agent}` is no longer declared in sessions.yaml")
                };
                changes.push(SessionChange {
                    action: Action::Delete,
                    agent,
                    session: l.name.clone(),
                    socket: sock.clone(),
                    reason,
                    spec: None,
                });
            } else if Some(sock.as_str()) == declared_socket
                && !specs.iter().any(|s| s.name == l.name)
                && !ours(l)
            {
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
                notices.push(Notice {
                    kind,
                    session: l.name.clone(),
                    agent: l.agent.clone(),
                    message,
                });
            }
        }
    }
    // Stop delegators before their delegates; start delegates before their delegators.
    let rank = |agent: &str| spawn_order.iter().position(|a| a == agent);
    let (mut deletes, mut starts): (Vec<SessionChange>, Vec<SessionChange>) = changes
        .into_iter()
        .partition(|c| c.action == Action::Delete);
    // Agents gone from the registry first, then delegators before delegates.
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
    (deletes, notices)
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
