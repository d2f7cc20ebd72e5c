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

#[test]
fn sessions_and_tenants_run_on_declared_hosts() {
    let (c, w) = parse(
        "s",
        "hosts:\n  gpu-1: {ssh: dev@gpu-1, root: /srv/p, ssh_args: [-F, cfg]}\nsessions:\n  a: {host: gpu-1}\n  b: {workdir: no-such-dir}\ntenants:\n  t: {agents: [b], host: gpu-1}\n",
        &registry(),
    )
    .unwrap();
    assert!(w.is_empty(), "{w:?}");
    let h = &c.hosts["gpu-1"];
    assert_eq!(
        (h.ssh.as_str(), h.root.as_path(), h.ssh_args.clone()),
        (
            "dev@gpu-1",
            Path::new("/srv/p"),
            vec!["-F".to_string(), "cfg".into()]
        )
    );
    assert_eq!(c.sessions["a"].host.as_deref(), Some("gpu-1"));
    assert_eq!(c.sessions["b"].host, None);
    assert_eq!(c.tenants["t"].host.as_deref(), Some("gpu-1"));
    assert_eq!(c.hosts_of("a"), vec![Some("gpu-1".to_string())]);
    assert_eq!(c.hosts_of("b"), vec![None, Some("gpu-1".to_string())]);
    let specs = specs(&c, Path::new("/p"), &BTreeMap::new());
    let a = specs.iter().find(|s| s.agent == "a").unwrap();
    // A remote session runs under the host's root, and says where it runs.
    assert_eq!(a.workdir, Path::new("/srv/p"));
    assert_eq!(a.env["IW_ROOT"], "/srv/p");
    assert!(
        a.command
            .contains("--settings /srv/p/agents/a/.claude/settings.json")
    );
    assert!(a.spec_json().contains(r#""host":"gpu-1""#));
    let b = specs
        .iter()
        .find(|s| s.agent == "b" && s.tenant.is_none())
        .unwrap();
    assert!(!b.spec_json().contains("host"));
    let tb = specs.iter().find(|s| s.tenant.is_some()).unwrap();
    assert_eq!(tb.host.as_deref(), Some("gpu-1"));
    assert_eq!(tb.env["IW_ROOT"], "/srv/p");
}

#[test]
fn a_local_session_is_defined_as_before_hosts() {
    // The definition (and so @iw-hash) of a session without a host is unchanged.
    let (c, _) = parse("s", "sessions:\n  a: {command: sleep 1}\n", &registry()).unwrap();
    let s = &specs(&c, Path::new("/p"), &BTreeMap::new())[0];
    assert_eq!(
        s.spec_json(),
        r#"{"agent":"a","name":"iw-a","command":"sleep 1","workdir":"/p","env":{"IW_AGENT":"a","IW_ROOT":"/p"},"config":""}"#
    );
}

#[test]
fn every_host_problem_is_reported_where_it_is() {
    let e = errors(
        "hosts:\n  gpu-1: {ssh: dev@gpu-1, root: /srv/p}\n  gpu-2: {ssh: dev@gpu-1, root: /srv/p}\n  'bad.name': {ssh: x, root: /r}\n  nossh: {root: /r}\n  noroot: {ssh: x}\n  rel: {ssh: x, root: srv/p}\n  opt: {ssh: -oProxyCommand=x, root: /r}\nsessions:\n  a: {host: gpu1}\n  b: {host: nowhere}\ntenants:\n  t: {agents: [a], host: gpu-3}\n",
    );
    let has = |at: &str, what: &str| {
        assert!(
            e.iter().any(|m| m.starts_with(at) && m.contains(what)),
            "{at} {what}: {e:?}"
        )
    };
    has("3:3", "with root `/srv/p` is already host `gpu-1`");
    has("4:3", "`bad.name` is not a valid host name");
    has("5:3", "host `nossh` has no `ssh`");
    has("6:3", "host `noroot` has no `root`");
    has("7:23", "not a valid root: it must be absolute");
    has("8:14", "which ssh would read as an option");
    has("10:13", "session `a`: there is no host `gpu1`");
    has("11:13", "session `b`: there is no host `nowhere`");
    has("13:26", "tenant `t`: there is no host `gpu-3`");
    assert_eq!(e.len(), 9, "{e:?}");
    // Unknown hosts come with a suggestion.
    let d = parse(
        "s",
        "hosts:\n  gpu-1: {ssh: h, root: /r}\nsessions:\n  a: {host: gpu1}\n",
        &registry(),
    )
    .unwrap_err();
    assert_eq!(d[0].help.as_deref(), Some("did you mean `gpu-1`?"));
}

#[test]
fn unknown_host_fields_are_reported() {
    let e = errors("hosts:\n  h: {ssh: x, root: /r, port: 22}\n");
    assert!(
        e.iter().any(|m| m.contains("unknown field `port`")),
        "{e:?}"
    );
}
