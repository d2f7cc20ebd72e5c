//! Task runs of agents on other hosts (`iw run`, `iw runs`) through the real binary, each host a
//! directory here reached as `remote::DirLink` (`IW_TEST_DIR_HOSTS`), with this machine's tmux on
//! private sockets killed when the test ends. The same over real sshd: tests/it/hosts_ssh.rs.

use crate::common::{TmuxServer, outcome};
use crate::hosts::Team;

/// `lead` here, `worker` on host h1 (declared as `worker`), runs running `command`; applied,
/// with a task in task.md.
fn team_with(command: &str, worker: &str) -> Team {
    let t = crate::hosts::team_with(worker, &format!("runs:\n  command: '{command}'\n"));
    t.p.write("task.md", "add the endpoint\n");
    let (code, out, err) = outcome(&mut t.iw(&["apply", "--yes"]));
    assert_eq!(code, 0, "{out}{err}");
    t
}

fn team(command: &str) -> Team {
    team_with(command, "{host: h1}")
}

/// `iw run worker --task task.md ARGS`: its id.
fn run(t: &Team, args: &[&str]) -> String {
    let mut all = vec!["run", "worker", "--task", "task.md"];
    all.extend_from_slice(args);
    let (code, out, err) = outcome(&mut t.iw(&all));
    assert_eq!(code, 0, "{out}{err}");
    out.trim().to_string()
}

/// `iw runs status ID --json`.
fn status(t: &Team, id: &str) -> serde_json::Value {
    let (code, out, err) = outcome(&mut t.iw(&["runs", "status", id, "--json"]));
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_run_of_an_agent_on_another_host_runs_there_and_iw_runs_reads_it_from_here() {
    let t = team(
        r#"echo "task seen: $(grep -c "add the endpoint" "$IW_RUN_PROMPT")"; echo "{\"done\": true}" > "$IW_RUN_RESULT""#,
    );
    let id = run(&t, &["--wait"]);
    // Recorded and run under the host's root, where the agent's files are, not here.
    let dir = t.h1_root().join("state/runs").join(&id);
    assert!(dir.join("state.json").is_file(), "{}", dir.display());
    assert!(!t.p.path().join("state/runs").join(&id).exists());
    let prompt = std::fs::read_to_string(dir.join("prompt.md")).unwrap();
    assert!(prompt.contains("add the endpoint"), "{prompt}");
    assert!(
        prompt.contains(&dir.join("result.json").display().to_string()),
        "{prompt}"
    );

    let doc = status(&t, &id);
    assert_eq!(doc["host"], "h1", "{doc}");
    assert_eq!(doc["status"], "COMPLETED", "{doc}");
    assert_eq!(doc["result"]["done"], true, "{doc}");
    assert_eq!(doc["workdir"], t.h1_root().display().to_string(), "{doc}");
    assert_eq!(doc["env"]["IW_ROOT"], t.h1_root().display().to_string());

    let (code, out, err) = outcome(&mut t.iw(&["runs"]));
    assert_eq!(code, 0, "{out}{err}");
    let row = out.lines().find(|l| l.starts_with(&id)).unwrap_or_default();
    assert!(row.contains(" h1 ") && row.contains("COMPLETED"), "{out}");
    assert!(out.starts_with("ID") && out.contains("HOST"), "{out}");

    let (code, out, _) = outcome(&mut t.iw(&["runs", "logs", &id]));
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "task seen: 1");

    let (code, out, _) = outcome(&mut t.iw(&["runs", "status", &id]));
    assert_eq!(code, 0);
    assert!(out.starts_with("host:     h1\n"), "{out}");
    assert!(out.contains("COMPLETED"), "{out}");

    let (code, out, _) = outcome(&mut t.iw(&["runs", "--json", "--status", "COMPLETED"]));
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["runs"][0]["id"], id.as_str(), "{list}");
    assert_eq!(list["runs"][0]["host"], "h1", "{list}");
}

#[test]
fn a_run_on_another_host_is_waited_for_and_killed_from_here_and_only_by_its_starter() {
    let t = team("sleep 1000");
    // Started from lead's session: worker is among its delegates.
    let mut c = t.iw(&["run", "worker", "--task", "task.md"]);
    c.env("IW_AGENT", "lead");
    let (code, out, err) = outcome(&mut c);
    assert_eq!(code, 0, "{out}{err}");
    let id = out.trim().to_string();
    assert!(err.contains("on host h1"), "{err}");
    let doc = status(&t, &id);
    assert_eq!(doc["status"], "RUNNING", "{doc}");
    assert_eq!(doc["parent"]["agent"], "lead", "{doc}");

    let (code, out, _) = outcome(&mut t.iw(&["runs", "wait", &id, "--timeout", "200ms"]));
    assert_eq!(code, 124, "{out}");
    assert!(out.contains("still RUNNING"), "{out}");

    // worker did not start it, so it may not stop it; the refusal is audited here.
    let mut c = t.iw(&["runs", "kill", &id]);
    c.env("IW_AGENT", "worker");
    let (code, _, err) = outcome(&mut c);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("may not kill run"), "{err}");
    assert!(t.p.read("state/audit.log").contains("\"kind\":\"kill\""));
    assert_eq!(status(&t, &id)["status"], "RUNNING");

    let (code, out, err) = outcome(&mut t.iw(&["runs", "kill", &id]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("killed run"), "{out}");
    let (code, out, _) = outcome(&mut t.iw(&["runs", "wait", &id]));
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("KILLED"), "{out}");
    // Its session on the host is gone.
    let live = t.h1.sessions();
    assert!(!live.iter().any(|s| s.contains("run-")), "{live:?}");
}

#[test]
fn a_run_refused_on_the_host_says_why_and_an_unknown_id_is_not_found_anywhere() {
    let t = team("true");
    // The host lost the agent's generated files: the host refuses, naming itself.
    std::fs::remove_dir_all(t.h1_root().join("agents/worker")).unwrap();
    let (code, out, err) = outcome(&mut t.iw(&["run", "worker", "--task", "task.md"]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("host h1:"), "{err}");
    assert!(err.contains("iw apply --target worker"), "{err}");
    assert!(
        !t.h1_root().join("state/runs").exists() || {
            std::fs::read_dir(t.h1_root().join("state/runs"))
                .unwrap()
                .next()
                .is_none()
        }
    );

    let (code, _, err) = outcome(&mut t.iw(&["runs", "status", "20260101-000000-worker"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("there is no run `20260101-000000-worker`"),
        "{err}"
    );
}

#[test]
fn watch_shows_attaches_to_and_kills_a_session_on_a_host_and_counts_its_runs() {
    let t = team_with(
        "sleep 1000",
        "{host: h1, command: \"sh -c \\\"echo SCREEN-ON-H1; exec sleep 1000\\\"\"}",
    );
    let id = run(&t, &[]);
    // One frame: the run on h1 counts for worker.
    let (code, frame, err) = outcome(&mut t.iw(&["watch", "--once"]));
    assert_eq!(code, 0, "{frame}{err}");
    let worker = frame.lines().find(|l| l.contains("worker")).unwrap();
    assert!(
        worker.contains("running") && worker.contains(" 1 "),
        "{frame}"
    );

    // Live, in a terminal: the worker's preview is its screen on h1, then its run's output.
    let ui = TmuxServer::terminal_running_iw(&t.p.path(), "IW_TEST_DIR_HOSTS=1", "watch", 120);
    let wait_for = |text: &str| ui.wait_for("ui", text, 10);
    wait_for("└ worker");
    ui.tmux(&["send-keys", "-t", "=ui:", "Down"]);
    wait_for("SCREEN-ON-H1");
    ui.tmux(&["send-keys", "-t", "=ui:", "l"]);
    wait_for(&format!("run {id} on h1"));
    // Enter attaches to it there (through the host's link), detaching comes back.
    ui.tmux(&["send-keys", "-t", "=ui:", "Enter"]);
    wait_for("[iw-worker");
    ui.tmux(&["send-keys", "-t", "=ui:", "C-b"]);
    ui.tmux(&["send-keys", "-t", "=ui:", "d"]);
    wait_for("back from iw-worker");
    // k, y kills it there.
    ui.tmux(&["send-keys", "-t", "=ui:", "k"]);
    wait_for("Kill worker's session?");
    ui.tmux(&["send-keys", "-t", "=ui:", "y"]);
    wait_for("killed iw-worker");
    let live = t.h1.sessions();
    assert!(!live.contains(&"iw-worker".to_string()), "{live:?}");
    ui.tmux(&["send-keys", "-t", "=ui:", "q"]);
}

#[test]
fn with_a_registry_that_does_not_load_iw_runs_still_lists_this_machines_runs() {
    let t = team("true");
    let (code, out, err) = outcome(&mut t.iw(&["run", "lead", "--task", "task.md", "--wait"]));
    assert_eq!(code, 0, "{out}{err}");
    let id = out.trim().to_string();
    t.p.write("agents/registry.yaml", "agents: [\n");
    let (code, out, err) = outcome(&mut t.iw(&["runs"]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains(&id) && out.contains("COMPLETED"), "{out}");
    assert!(
        err.contains("the runs on other hosts are not listed: the project does not load"),
        "{err}"
    );
    let (code, out, _) = outcome(&mut t.iw(&["runs", "--json"]));
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["runs"][0]["id"], id.as_str(), "{doc}");
    assert!(
        doc["hosts_error"]
            .as_str()
            .unwrap()
            .contains("registry.yaml"),
        "{doc}"
    );
}
