//! Tenants (sessions.yaml `tenants:`) on real tmux: the project's sessions and each tenant's on
//! their own private sockets, each killed when its test ends.

use crate::common::{SMALL, TempProject, TmuxServer};
use serde_json::Value;

struct Team {
    p: TempProject,
    base: TmuxServer,
    prod: TmuxServer,
    dev: TmuxServer,
}

fn sessions_yaml(t: &Team, with_dev: bool) -> String {
    let mut s = format!(
        "socket: {}\ncommand: sleep 1000\nsessions:\n  lead: {{}}\n  worker: {{env: {{LOG: debug}}}}\n\
         tenants:\n  prod:\n    agents: [lead, worker]\n    socket: {}\n    env: {{STAGE: production}}\n\
         \x20   overrides:\n      worker: {{model: opus, env: {{LOG: warn}}}}\n",
        t.base.socket, t.prod.socket
    );
    if with_dev {
        s.push_str(&format!(
            "  dev-alice:\n    agents: [worker]\n    socket: {}\n",
            t.dev.socket
        ));
    }
    s
}

fn team() -> Team {
    let t = Team {
        p: TempProject::with_registry(SMALL),
        base: TmuxServer::new(),
        prod: TmuxServer::new(),
        dev: TmuxServer::new(),
    };
    t.p.write("sessions.yaml", &sessions_yaml(&t, true));
    t
}

/// (action, session, socket) of the plan's session changes.
fn session_changes(p: &TempProject, extra: &[&str]) -> Vec<(String, String, String)> {
    p.plan_json(extra)["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "session")
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["session"].as_str().unwrap().to_string(),
                c["socket"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn env_of(srv: &TmuxServer, session: &str) -> Vec<String> {
    srv.tmux(&["show-environment", "-t", &format!("={session}")])
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn each_tenant_runs_its_agents_on_its_own_socket_with_its_overrides() {
    let t = team();
    let mut c = session_changes(&t.p, &[]);
    c.sort();
    let s = |srv: &TmuxServer| srv.socket.clone();
    assert_eq!(
        c,
        vec![
            ("create".into(), "iw-dev-alice-worker".into(), s(&t.dev)),
            ("create".into(), "iw-lead".into(), s(&t.base)),
            ("create".into(), "iw-prod-lead".into(), s(&t.prod)),
            ("create".into(), "iw-prod-worker".into(), s(&t.prod)),
            ("create".into(), "iw-worker".into(), s(&t.base)),
        ]
    );
    t.p.apply();
    assert_eq!(t.base.sessions(), vec!["iw-lead", "iw-worker"]);
    assert_eq!(t.prod.sessions(), vec!["iw-prod-lead", "iw-prod-worker"]);
    assert_eq!(t.dev.sessions(), vec!["iw-dev-alice-worker"]);
    let prod_worker = env_of(&t.prod, "iw-prod-worker");
    for kv in [
        "ANTHROPIC_MODEL=opus",
        "IW_TENANT=prod",
        "IW_AGENT=worker",
        "STAGE=production",
        "LOG=warn",
    ] {
        assert!(prod_worker.iter().any(|l| l == kv), "{kv}: {prod_worker:?}");
    }
    let base_worker = env_of(&t.base, "iw-worker");
    assert!(base_worker.iter().any(|l| l == "LOG=debug"));
    assert!(!base_worker.iter().any(|l| l.starts_with("IW_TENANT=")));
    assert!(
        !base_worker
            .iter()
            .any(|l| l.starts_with("ANTHROPIC_MODEL="))
    );
    // Same directory (the project root; shared generated config and policy) in every tenant.
    assert_eq!(
        t.prod.format("iw-prod-worker", "#{pane_current_path}"),
        t.p.path().to_string_lossy()
    );
    assert_eq!(t.p.plan_code(), 0);
    let lock: Value = serde_json::from_str(&t.p.read("state/iw.lock")).unwrap();
    let mut remembered: Vec<String> = lock["tenant_sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    remembered.sort();
    let mut want = vec![t.prod.socket.clone(), t.dev.socket.clone()];
    want.sort();
    assert_eq!(remembered, want);
}

#[test]
fn tenant_narrows_plan_apply_and_session_commands() {
    let t = team();
    // Only dev-alice: nothing of the project's own sessions or of prod.
    assert_eq!(
        session_changes(&t.p, &["--tenant", "dev-alice"]),
        vec![(
            "create".into(),
            "iw-dev-alice-worker".into(),
            t.dev.socket.clone()
        )]
    );
    t.p.iw()
        .args(["apply", "--yes", "--tenant", "dev-alice"])
        .assert()
        .success();
    assert_eq!(t.dev.sessions(), vec!["iw-dev-alice-worker"]);
    assert!(t.base.sessions().is_empty() && t.prod.sessions().is_empty());
    // The rest is still to do.
    assert_eq!(session_changes(&t.p, &[]).len(), 4);

    let v = crate::common::json_stdout(t.p.iw().args([
        "session",
        "list",
        "--tenant",
        "dev-alice",
        "--json",
    ]));
    assert_eq!(v["socket"], t.dev.socket.as_str());
    assert_eq!(v["tenant"], "dev-alice");
    let rows = v["sessions"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["session"], "iw-dev-alice-worker");
    assert_eq!(rows[0]["state"], "running");
    assert_eq!(rows[0]["up_to_date"], true);
    // Without --tenant: the project's own (declared, not running), and a hint.
    let out = t.p.iw().args(["session", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("iw-lead") && text.contains("not running"),
        "{text}"
    );
    assert!(
        text.contains("Tenants, on their own sockets: dev-alice, prod"),
        "{text}"
    );
    // Create and kill one tenant session.
    t.p.iw()
        .args(["session", "create", "lead", "--tenant", "prod"])
        .assert()
        .success();
    assert_eq!(t.prod.sessions(), vec!["iw-prod-lead"]);
    assert!(
        t.base.sessions().is_empty(),
        "not the project's own session"
    );
    let out =
        t.p.iw()
            .args(["session", "status", "lead", "--tenant", "prod", "--json"])
            .output()
            .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["session"], "iw-prod-lead");
    assert_eq!(v["declared"], true);
    assert_eq!(v["up_to_date"], true);
    t.p.iw()
        .args(["session", "kill", "lead", "--tenant", "prod"])
        .assert()
        .success();
    assert!(t.prod.sessions().is_empty());
    // A tenant that does not exist.
    let out = t.p.iw().args(["plan", "--tenant", "prd"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `prod`?"));
    let out =
        t.p.iw()
            .args(["session", "list", "--tenant", "nope"])
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no tenant `nope`"));
}

#[test]
fn a_removed_tenant_is_destroyed_on_its_socket() {
    let t = team();
    t.p.apply();
    t.p.write("sessions.yaml", &sessions_yaml(&t, false));
    let out = t.p.plan_json(&[]);
    let c: Vec<&Value> = out["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "session")
        .collect();
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0]["action"], "delete");
    assert_eq!(c[0]["session"], "iw-dev-alice-worker");
    assert_eq!(c[0]["socket"], t.dev.socket.as_str());
    assert_eq!(
        c[0]["reason"],
        format!(
            "socket `{}` is no longer used in sessions.yaml",
            t.dev.socket
        )
    );
    t.p.apply();
    assert!(t.dev.sessions().is_empty());
    assert_eq!(t.prod.sessions().len(), 2);
    assert_eq!(t.p.plan_code(), 0);
    let lock: Value = serde_json::from_str(&t.p.read("state/iw.lock")).unwrap();
    assert_eq!(lock["tenant_sockets"], serde_json::json!([t.prod.socket]));
}

#[test]
fn bad_tenants_are_errors_at_their_line_and_column() {
    let p = TempProject::with_registry(SMALL);
    p.write(
        "sessions.yaml",
        "socket: s1\ntenants:\n  a:\n    agents: [lead, wroker]\n    socket: s1\n    overrides:\n      \
         worker: {model: opus}\n",
    );
    let out = p.iw().args(["validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "sessions.yaml:4:20",
        "tenant `a`: `wroker` is not an agent in the registry",
        "did you mean `worker`?",
        "sessions.yaml:5:13",
        "socket `s1` is already used by the project's own sessions",
        "override for `worker`, which the tenant does not run",
    ] {
        assert!(err.contains(want), "{want}\n{err}");
    }
    p.write(
        "sessions.yaml",
        "tenants:\n  b:\n    agents: [lead]\n    sockt: x\n",
    );
    let out = p.iw().args(["validate"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sockt"), "{err}");
    assert!(err.contains("sessions.yaml:4:"), "{err}");
    // The schema editors use knows tenants.
    let out = p.iw().args(["schema", "sessions"]).output().unwrap();
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(schema["properties"]["tenants"].is_object(), "{schema}");
}

#[test]
fn a_task_run_for_a_tenant_runs_on_its_socket_with_its_overrides() {
    let t = team();
    let mut yaml = sessions_yaml(&t, true);
    yaml.push_str(
        "runs:\n  command: 'echo \"$IW_TENANT $ANTHROPIC_MODEL $STAGE $LOG\"; sleep 0.3'\n",
    );
    t.p.write("sessions.yaml", &yaml);
    t.p.write("task.md", "Ship it.\n");
    t.p.iw().args(["apply", "--yes"]).assert().success();
    let out =
        t.p.iw()
            .args(["run", "worker", "--task", "task.md", "--tenant", "prod"])
            .output()
            .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        t.prod.sessions().contains(&format!("iw-prod-run-{id}")),
        "{:?}",
        t.prod.sessions()
    );
    t.p.iw().args(["runs", "wait", &id]).assert().success();
    let v = crate::common::json_stdout(t.p.iw().args(["runs", "status", &id, "--json"]));
    assert_eq!(v["tenant"], "prod");
    assert_eq!(v["socket"], t.prod.socket.as_str());
    assert_eq!(
        v["last_output"],
        serde_json::json!(["prod opus production warn"])
    );
    // dev-alice does not run lead.
    let out =
        t.p.iw()
            .args(["run", "lead", "--task", "task.md", "--tenant", "dev-alice"])
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tenant `dev-alice` does not run `lead`")
    );
}
