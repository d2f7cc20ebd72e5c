//! sessions.yaml's unit tests: defaults, every problem reported at its position, the specs.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::claude::launch;
use crate::model::registry::Registry;

fn registry() -> Registry {
    let src = "agents:\n  a:\n    name: a\n    display_name: A\n    description: d\n    model: opus\n    tools: [Read]\n  b:\n    name: b\n    display_name: B\n    description: d\n    model: opus\n    tools: [Read]\n";
    crate::model::registry::parse("r", src).unwrap().0
}

fn errors(src: &str) -> Vec<String> {
    match parse("sessions.yaml", src, &registry()) {
        Ok(_) => vec![],
        Err(d) => d
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                format!(
                    "{}:{} {}",
                    d.line.unwrap_or(0),
                    d.column.unwrap_or(0),
                    d.headline()
                )
            })
            .collect(),
    }
}

#[test]
fn defaults_and_overrides() {
    let (c, w) = parse(
        "s",
        "sessions:\n  a: {}\n  b:\n    command: sleep 100\n    env: {LOG_LEVEL: debug, N: 1}\n    restart: never\n",
        &registry(),
    )
    .unwrap();
    assert!(w.is_empty());
    assert_eq!(c.socket, "iw-orchestrator");
    assert_eq!(c.prefix, "iw-");
    assert_eq!(c.command, "claude");
    assert_eq!(c.session_name("a"), "iw-a");
    assert_eq!(c.sessions["b"].restart, Restart::Never);
    assert_eq!(c.sessions["b"].env["N"], "1");
    let specs = specs(&c, Path::new("/p"), &BTreeMap::new());
    // Claude Code runs in the project root, as the agent (crate::claude::launch).
    assert_eq!(
        specs[0].command,
        "claude --settings /p/agents/a/.claude/settings.json --add-dir /p/agents/a"
    );
    assert_eq!(specs[0].env[launch::CLAUDE_MD_ENV], "1");
    assert_eq!(specs[0].workdir, Path::new("/p"));
    assert_eq!(specs[1].command, "sleep 100");
    assert!(!specs[1].env.contains_key(launch::CLAUDE_MD_ENV));
    assert_eq!(specs[1].env["IW_AGENT"], "b");
    assert_eq!(specs[1].env["IW_ROOT"], "/p");
    assert_ne!(specs[0].hash(), specs[1].hash());
}

#[test]
fn null_entries_are_empty_sessions() {
    let (c, _) = parse("s", "sessions:\n  a:\n", &registry()).unwrap();
    assert!(c.sessions.contains_key("a"));
}

#[test]
fn every_problem_is_reported() {
    let e = errors(
        "socket: 'a/b'\nprefix: 'x.'\nsessions:\n  c: {}\n  a:\n    restart: sometimes\n    workdir: ../x\n    env: {IW_AGENT: x, 9X: y}\n",
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with("1:9") && m.contains("not a valid socket name")),
        "{e:?}"
    );
    assert!(
        e.iter().any(|m| m.contains("not a valid session prefix")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with("4:3") && m.contains("`c` is not an agent")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.contains("`sometimes` is not a restart policy")),
        "{e:?}"
    );
    assert!(
        e.iter().any(|m| m.contains("leaves the project root")),
        "{e:?}"
    );
    assert!(
        e.iter().any(|m| m.contains("`IW_AGENT` is set by iw")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.contains("`9X` is not a valid environment variable name")),
        "{e:?}"
    );
    assert_eq!(e.len(), 7, "{e:?}");
}

#[test]
fn unknown_keys_are_all_reported() {
    let e = errors("sockt: x\nsessions:\n  a:\n    comand: x\n    restrat: never\n");
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(e[0].contains("unknown field `sockt`"));
    assert!(e[1].contains("agent `a`: unknown field `comand`"));
}

#[test]
fn claude_run_another_way_warns() {
    let (_, w) = parse(
        "s",
        "command: env A=1 claude\nsessions:\n  a:\n    command: claude --model opus\n    workdir: src\n  b: {command: 'cd x && claude'}\n",
        &registry(),
    )
    .unwrap();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].message.contains("`command` runs Claude Code"));
    assert!(w[1].message.contains("session `b`"));
    assert!(w[1].help.as_deref().unwrap().contains("without iw's hook"));
}
