//! Task runs (`iw run`, `iw runs …`) and activity hooks on real tmux: each test runs its own
//! tmux server on a private socket and kills only that server. The agent's command is a stand-in
//! shell script set with `runs.command` in sessions.yaml.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{SMALL, TempProject, TmuxServer, until};
use serde_json::Value;

/// A project with SMALL's agents, generated files applied, runs on `srv`'s socket with `command`.
fn project(srv: &TmuxServer, command: &str, extra: &str) -> TempProject {
    let p = TempProject::with_registry(SMALL);
    p.write(
        "sessions.yaml",
        &format!(
            "socket: {}\nruns:\n  command: '{}'\n{extra}",
            srv.socket,
            command.replace('\'', "''")
        ),
    );
    p.write("task.md", "Count to three.\n");
    p.apply();
    p
}

/// `iw run AGENT --task task.md ARGS`: (exit code, stdout, stderr).
fn run(p: &TempProject, agent: &str, args: &[&str]) -> (i32, String, String) {
    run_with(p, &[], agent, args)
}

/// `run` with the environment an agent's session or run would set (`IW_AGENT`, `IW_RUN_ID`).
fn run_with(
    p: &TempProject,
    env: &[(&str, &str)],
    agent: &str,
    args: &[&str],
) -> (i32, String, String) {
    crate::common::outcome(
        p.iw()
            .envs(env.iter().copied())
            .args(["run", agent, "--task", "task.md"])
            .args(args),
    )
}

/// Starts a run and returns its id.
fn start(p: &TempProject, agent: &str) -> String {
    let (code, out, err) = run(p, agent, &[]);
    assert_eq!(code, 0, "{out}{err}");
    out.trim().to_string()
}

fn status(p: &TempProject, id: &str) -> Value {
    crate::common::json_stdout(p.iw().args(["runs", "status", id, "--json"]))
}

fn wait_code(p: &TempProject, ids: &[&str], extra: &[&str]) -> i32 {
    p.iw()
        .args(["runs", "wait"])
        .args(ids)
        .args(extra)
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

fn audit(p: &TempProject) -> Vec<Value> {
    p.read("state/audit.log")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn pid_alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[test]
fn a_run_goes_created_running_completed_with_its_output_and_result() {
    let srv = TmuxServer::new();
    // Waits for a `go` file, so that RUNNING can be observed, then hands back a result.
    let p = project(
        &srv,
        r#"echo "agent $IW_AGENT on $(basename "$IW_RUN_TASK")"; grep -c Task "$IW_RUN_PROMPT"; while [ ! -f "$IW_RUN_DIR/go" ]; do sleep 0.02; done; echo "stderr line" >&2; printf '{"files_changed": 2}' > "$IW_RUN_RESULT""#,
        "",
    );
    let id = start(&p, "worker");
    assert!(
        id.len() > 16 && id.ends_with("-worker") && id.as_bytes()[8] == b'-',
        "{id}"
    );
    let dir = p.path().join("state/runs").join(&id);
    until("RUNNING", || status(&p, &id)["status"] == "RUNNING");
    let s = status(&p, &id);
    assert!(s["started_at"].is_string() && s["ended_at"].is_null());
    assert!(s["pid"].as_u64().is_some_and(pid_alive));
    assert_eq!(srv.format(&format!("iw-run-{id}"), "#{@iw-run}"), id);
    assert!(
        p.read(&format!("state/runs/{id}/prompt.md"))
            .contains("Count to three.")
    );
    until("output captured while running", || {
        std::fs::read_to_string(dir.join("output.log"))
            .unwrap_or_default()
            .contains("agent worker on task.md")
    });
    std::fs::write(dir.join("go"), "").unwrap();
    assert_eq!(wait_code(&p, &[&id], &[]), 0);

    let s = status(&p, &id);
    assert_eq!(s["status"], "COMPLETED");
    assert_eq!(s["exit_code"], 0);
    assert!(s["ended_at"].is_string());
    assert_eq!(s["result"], serde_json::json!({"files_changed": 2}));
    assert_eq!(
        s["task"],
        p.path().join("task.md").to_string_lossy().as_ref()
    );
    let log = p.read(&format!("state/runs/{id}/output.log"));
    assert_eq!(log, "agent worker on task.md\n1\nstderr line\n", "{log}");
    let state: Value =
        serde_json::from_str(&p.read(&format!("state/runs/{id}/state.json"))).unwrap();
    assert_eq!(state["status"], "COMPLETED");
    // Every transition is audited, in order, by the run itself.
    let trans: Vec<(String, String)> = audit(&p)
        .iter()
        .filter(|e| e["run"] == id.as_str())
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["to"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        trans,
        vec![
            ("run.created".into(), "".into()),
            ("run.transition".into(), "RUNNING".into()),
            ("run.transition".into(), "COMPLETED".into()),
        ]
    );
    // The run's session is gone, and `iw plan` never touches run sessions.
    until("session closed", || srv.sessions().is_empty());
    assert_eq!(p.plan_code(), 0);
    // Listed, also by status.
    let out = p
        .iw()
        .args(["runs", "--status", "COMPLETED"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id));
    let out = p
        .iw()
        .args(["runs", "--status", "FAILED", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 0);
}

#[test]
fn wait_exit_codes_say_how_runs_ended_and_terminal_states_stay() {
    let srv = TmuxServer::new();
    let p = project(&srv, "echo failing; exit 3", "");
    let (code, out, err) = run(&p, "worker", &["--wait"]);
    assert_eq!(code, 3, "{out}{err}");
    let id = out.trim();
    assert!(err.contains("FAILED (exit status 3)"), "{err}");
    let s = status(&p, id);
    assert_eq!(s["status"], "FAILED");
    assert_eq!(s["exit_code"], 3);
    assert_eq!(s["reason"], "exit status 3");
    // A terminal run cannot be killed into another state.
    let out = p.iw().args(["runs", "kill", id]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("already ended: FAILED"));
    assert_eq!(status(&p, id)["status"], "FAILED");
    assert_eq!(wait_code(&p, &[id], &[]), 3);
    // --json prints the final state instead of the id.
    let (code, out, _) = run(&p, "worker", &["--wait", "--json"]);
    assert_eq!(code, 3);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "FAILED");
}

#[test]
fn a_run_past_its_timeout_is_stopped_and_failed() {
    let srv = TmuxServer::new();
    let p = project(&srv, "echo started; sleep 30; echo never", "");
    let t0 = Instant::now();
    let (code, out, err) = run(&p, "worker", &["--wait", "--timeout", "1s"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(t0.elapsed() < Duration::from_secs(20));
    let s = status(&p, out.trim());
    assert_eq!(s["status"], "FAILED");
    assert_eq!(s["reason"], "timeout: still running after 1s");
    assert_eq!(s["timeout_seconds"], 1);
    assert_eq!(s["last_output"], serde_json::json!(["started"]));
    let pid = s["pid"].as_u64().unwrap();
    until("the command was stopped", || !pid_alive(pid));
    // A timeout longer than runs.max_lifetime is refused up front.
    p.write(
        "sessions.yaml",
        &format!(
            "socket: {}\nruns:\n  command: sleep 30\n  max_lifetime: 2s\n",
            srv.socket
        ),
    );
    let (code, _, err) = run(&p, "worker", &["--timeout", "1m"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("longer than the most a run may last (2s"),
        "{err}"
    );
}

#[test]
fn kill_marks_killed_and_stops_the_command_and_its_session() {
    let srv = TmuxServer::new();
    let p = project(&srv, "sleep 30 & sleep 30; wait", "");
    let id = start(&p, "worker");
    until("RUNNING", || status(&p, &id)["status"] == "RUNNING");
    let pid = status(&p, &id)["pid"].as_u64().unwrap();
    // An agent may only stop the runs it started (this one was started by a person).
    let out = p
        .iw()
        .env("IW_AGENT", "lead")
        .args(["runs", "kill", &id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`lead` may not kill run"));
    assert_eq!(status(&p, &id)["status"], "RUNNING");
    // A live run's session is neither plan's to destroy nor a session list row.
    assert_eq!(p.plan_code(), 0);
    let out = p.iw().args(["session", "list", "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sessions"], serde_json::json!([]), "{v}");
    let out = p.iw().args(["runs", "kill", &id]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = status(&p, &id);
    assert_eq!(s["status"], "KILLED");
    assert!(s["reason"].as_str().unwrap().starts_with("killed by "));
    assert_eq!(wait_code(&p, &[&id], &[]), 4);
    until("its process group is gone", || {
        !pid_alive(pid)
            && !std::process::Command::new("pgrep")
                .args(["-g", &pid.to_string()])
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap()
                .success()
    });
    until("its session is gone", || srv.sessions().is_empty());
    let a = audit(&p);
    assert!(
        a.iter()
            .any(|e| e["run"] == id.as_str() && e["to"] == "KILLED" && e["from"] == "RUNNING")
    );
}

#[test]
fn closing_a_runs_session_by_hand_is_recorded_not_lost() {
    let srv = TmuxServer::new();
    let p = project(&srv, "sleep 30", "");
    let id = start(&p, "worker");
    until("RUNNING", || status(&p, &id)["status"] == "RUNNING");
    srv.tmux(&["kill-session", "-t", &format!("=iw-run-{id}")]);
    assert_eq!(wait_code(&p, &[&id], &["--timeout", "10s"]), 4);
    let s = status(&p, &id);
    assert_eq!(s["status"], "KILLED");
    assert!(s["reason"].as_str().unwrap().contains("SIGHUP"), "{s}");
}

#[test]
fn quota_refuses_a_run_beyond_max_concurrent() {
    let srv = TmuxServer::new();
    let p = project(&srv, "sleep 30", "  max_concurrent: 1\n");
    let first = start(&p, "worker");
    let before = std::fs::read_dir(p.path().join("state/runs"))
        .unwrap()
        .count();
    let (code, out, err) = run(&p, "worker", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("1 runs are active, the most allowed (`runs.max_concurrent: 1`"),
        "{err}"
    );
    assert!(err.contains(&first), "names the active run: {err}");
    assert_eq!(
        std::fs::read_dir(p.path().join("state/runs"))
            .unwrap()
            .count(),
        before,
        "a refused run leaves no record"
    );
    assert!(
        audit(&p)
            .iter()
            .any(|e| e["event"] == "run.refused" && e["kind"] == "quota")
    );
    // A slot frees when the run ends.
    p.iw().args(["runs", "kill", &first]).assert().success();
    let second = start(&p, "worker");
    assert_ne!(second, first);
}

#[test]
fn runs_started_in_the_same_second_get_distinct_ids() {
    let srv = TmuxServer::new();
    let p = project(&srv, "true", "  max_concurrent: 10\n");
    let ids: Vec<String> = (0..4).map(|_| start(&p, "lead")).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "{ids:?}");
    for id in &ids {
        assert_eq!(wait_code(&p, &[id], &[]), 0);
    }
}

#[test]
fn an_agent_may_only_start_runs_of_its_delegates() {
    let srv = TmuxServer::new();
    let p = project(&srv, "echo from $IW_AGENT", "");
    // worker delegates to nobody.
    let (code, _, err) = run_with(&p, &[("IW_AGENT", "worker")], "lead", &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("`worker` may not start a run of `lead`: it is not in its delegates_to"),
        "{err}"
    );
    assert!(
        audit(&p)
            .iter()
            .any(|e| e["event"] == "run.refused" && e["kind"] == "delegation")
    );
    assert!(
        !p.exists("state/runs")
            || std::fs::read_dir(p.path().join("state/runs"))
                .unwrap()
                .all(|e| e.unwrap().file_name() == ".lock")
    );
    // lead delegates to worker: allowed, and the parent is recorded.
    let (code, out, err) = run_with(
        &p,
        &[("IW_AGENT", "lead"), ("IW_RUN_ID", "20260101-000000-lead")],
        "worker",
        &["--wait", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["parent"],
        serde_json::json!({"agent": "lead", "run": "20260101-000000-lead"})
    );
    assert_eq!(v["last_output"], serde_json::json!(["from worker"]));
    // An unknown IW_AGENT is refused too.
    let (code, _, _) = run_with(&p, &[("IW_AGENT", "stranger")], "worker", &[]);
    assert_eq!(code, 1);
}

#[test]
fn a_typed_handoff_task_must_match_the_edges_schema() {
    let srv = TmuxServer::new();
    let p = project(&srv, "true", "");
    p.edit_registry(
        "delegates_to: [worker]",
        "delegates_to: [{agent: worker, schema: schemas/work.json}]",
    );
    p.write(
        "schemas/work.json",
        r#"{"type": "object", "required": ["goal"], "properties": {"goal": {"type": "string"}}}"#,
    );
    p.apply();
    p.write("task.md", r#"{"goal": 7}"#);
    let (code, _, err) = run_with(&p, &[("IW_AGENT", "lead")], "worker", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("/goal: 7 is not of type \"string\""), "{err}");
    p.write("task.md", r#"{"goal": "ship it"}"#);
    let (code, _, err) = run_with(&p, &[("IW_AGENT", "lead")], "worker", &["--wait"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn logs_follow_prints_everything_until_the_run_ends() {
    let srv = TmuxServer::new();
    let p = project(
        &srv,
        "for i in 1 2 3 4 5; do echo line $i; sleep 0.1; done",
        "",
    );
    let id = start(&p, "worker");
    let out = p
        .iw()
        .args(["runs", "logs", &id, "--follow"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "line 1\nline 2\nline 3\nline 4\nline 5\n"
    );
    assert_eq!(status(&p, &id)["status"], "COMPLETED");
    let out = p.iw().args(["runs", "logs", &id]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 5);
}

#[test]
fn bad_run_requests_fail_clearly_and_create_nothing() {
    let srv = TmuxServer::new();
    let p = project(&srv, "true", "");
    for (args, want) in [
        (
            &["run", "wroker", "--task", "task.md"][..],
            "did you mean `worker`?",
        ),
        (
            &["run", "worker", "--task", "nope.md"],
            "there is no task file",
        ),
        (
            &["runs", "status", "20990101-000000-x"],
            "there is no run `20990101-000000-x`",
        ),
    ] {
        let out = p.iw().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert!(!p.exists("state/runs") || common_runs(&p).is_empty());
    // Bad runs settings are errors at file:line:col.
    p.write(
        "sessions.yaml",
        "runs:\n  max_concurrent: 0\n  max_lifetime: soon\n",
    );
    let out = p.iw().args(["validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sessions.yaml:2:19"), "{err}");
    assert!(err.contains("`soon` is not a duration"), "{err}");
}

fn common_runs(p: &TempProject) -> Vec<String> {
    std::fs::read_dir(p.path().join("state/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

/// Feeds `iw hook status` one Claude Code event.
fn event(p: &TempProject, agent: &str, json: &str) {
    let out = p
        .iw()
        .args(["hook", "status", "--agent", agent])
        .write_stdin(json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "a status hook never blocks");
}

fn activity(p: &TempProject, agent: &str) -> Value {
    let out = p.iw().args(["session", "list", "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agent"] == agent)
        .cloned()
        .unwrap()
}

#[test]
fn session_activity_comes_from_claude_codes_hook_events() {
    let srv = TmuxServer::new();
    let p = TempProject::with_registry(SMALL);
    p.write(
        "sessions.yaml",
        &format!(
            "socket: {}\ncommand: sleep 1000\nsessions:\n  lead: {{}}\n",
            srv.socket
        ),
    );
    // A record left by an earlier session is stale once the session is (re)created.
    event(
        &p,
        "lead",
        r#"{"session_id":"old","hook_event_name":"UserPromptSubmit"}"#,
    );
    std::thread::sleep(Duration::from_millis(1100));
    p.apply();
    assert_eq!(activity(&p, "lead")["activity"], "unknown");

    // The settings Claude Code reads call the status hook on each event.
    let settings: Value =
        serde_json::from_str(&p.read("agents/lead/.claude/settings.json")).unwrap();
    for e in [
        "SessionStart",
        "UserPromptSubmit",
        "Notification",
        "Stop",
        "SessionEnd",
    ] {
        let cmd = settings["hooks"][e][0]["hooks"][0]["command"]
            .as_str()
            .unwrap();
        assert!(cmd.ends_with("hook status --agent lead"), "{e}: {cmd}");
    }

    let base = r#""session_id":"abc","transcript_path":"/tmp/t.jsonl","cwd":"/x""#;
    for (json, want) in [
        (
            format!(r#"{{{base},"hook_event_name":"SessionStart","source":"startup"}}"#),
            "idle",
        ),
        (
            format!(r#"{{{base},"hook_event_name":"UserPromptSubmit","prompt":"go"}}"#),
            "working",
        ),
        (
            format!(
                r#"{{{base},"hook_event_name":"Notification","message":"Claude needs your permission to use Bash","notification_type":"permission_prompt"}}"#
            ),
            "waiting",
        ),
        (
            format!(r#"{{{base},"hook_event_name":"Stop","stop_hook_active":false}}"#),
            "idle",
        ),
        (
            format!(r#"{{{base},"hook_event_name":"SessionEnd","reason":"exit"}}"#),
            "ended",
        ),
    ] {
        event(&p, "lead", &json);
        let row = activity(&p, "lead");
        assert_eq!(row["activity"], want, "{json}");
        assert!(row["activity_seconds"].as_u64().is_some());
        if want == "waiting" {
            assert_eq!(
                row["activity_message"],
                "Claude needs your permission to use Bash"
            );
        }
    }
    let out = p.iw().args(["session", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ACTIVITY") && text.contains("ended "),
        "{text}"
    );
    let out = p.iw().args(["session", "status", "lead"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("activity:   ended"));
    // The same agent in a tenant's session or a task run reports into its own record.
    let out = p
        .iw()
        .env("IW_TENANT", "prod")
        .args(["hook", "status", "--agent", "lead"])
        .write_stdin(format!(
            r#"{{{base},"hook_event_name":"UserPromptSubmit"}}"#
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(p.exists("state/activity/prod/lead.json"));
    assert_eq!(
        activity(&p, "lead")["activity"],
        "ended",
        "the project's own is unchanged"
    );
    // Garbage never blocks the agent either, and records nothing.
    event(&p, "lead", "not json");
    event(&p, "../../etc", r#"{"hook_event_name":"Stop"}"#);
    assert!(!p.path().join("state/etc.json").exists());
    assert_eq!(activity(&p, "lead")["activity"], "ended");
}

#[test]
fn a_run_whose_wrapper_dies_without_a_word_is_settled_as_failed() {
    // kill -9 of the pane's wrapper (a crash, an OOM kill): nothing records the end, so the next
    // reader settles it, and stops what the command left running.
    let srv = TmuxServer::new();
    let p = project(&srv, "sleep 30", "  max_concurrent: 1\n");
    let id = start(&p, "worker");
    until("RUNNING", || status(&p, &id)["status"] == "RUNNING");
    let s = status(&p, &id);
    let (wrapper, pid) = (
        s["wrapper_pid"].as_u64().unwrap(),
        s["pid"].as_u64().unwrap(),
    );
    std::process::Command::new("kill")
        .args(["-KILL", &wrapper.to_string()])
        .status()
        .unwrap();
    until("the wrapper is gone", || !pid_alive(wrapper));
    let s = status(&p, &id);
    assert_eq!(s["status"], "FAILED");
    assert!(
        s["reason"].as_str().unwrap().starts_with("lost:"),
        "{}",
        s["reason"]
    );
    until("its command was stopped", || !pid_alive(pid));
    // It no longer holds the only slot.
    let next = start(&p, "worker");
    assert_ne!(next, id);
}
