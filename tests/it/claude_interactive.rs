//! The real Claude Code CLI, interactive, in the tmux sessions `iw apply` starts, as a person uses
//! it: prompts typed with `send-keys`, the screen read with `capture-pane`, offline against a
//! mock of the Messages API that does what each prompt says (tests/it/common/claude.rs). HOME is a
//! throwaway where Claude Code's first-run setup is done and only the project root is trusted
//! (once per machine, once per project: docs/claude-code.md).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::claude::{self, MockApi, TEAM};
use crate::common::{TempProject, TmuxServer};
use predicates::prelude::*;
use serde_json::Value;

/// Written into worker's persona file (docs/agents/worker.md), which its generated CLAUDE.md
/// imports.
const PERSONA: &str = "PERSONA-7f3a: you are the team's careful worker.";

/// A project whose sessions.yaml runs the default command (Claude Code) for `agents`, offline
/// against a prompt-driven mock, on a private tmux socket; HOME trusts `trusted` only.
struct Team {
    project: TempProject,
    srv: TmuxServer,
    mock: MockApi,
    home: tempfile::TempDir,
}

impl Team {
    fn new(agents: &[&str], extra: &str, trust_root: bool) -> Team {
        let _ = claude::claude();
        let project = TempProject::with_registry(TEAM);
        let srv = TmuxServer::new();
        let mock = MockApi::by_prompt();
        let root = project.path();
        let home = if trust_root {
            claude::home(&[&root])
        } else {
            claude::home(&[])
        };
        let log = root.join("state/hook-decisions.jsonl");
        let env = claude::offline_env(&mock, home.path(), &log);
        let sessions: String = agents.iter().map(|a| format!("  {a}: {{}}\n")).collect();
        project.write(
            "sessions.yaml",
            &format!(
                "socket: {}\nenv: {env}\n{extra}sessions:\n{sessions}",
                srv.socket
            ),
        );
        project.write("docs/agents/worker.md", &format!("{PERSONA}\n"));
        project.write("docs/agents/lead.md", "The lead.\n");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("secrets")).unwrap();
        Team {
            project,
            srv,
            mock,
            home,
        }
    }

    /// A team with a trusted root whose `worker` session `iw apply` brought to ready.
    fn ready_worker() -> Team {
        let t = Team::new(&["worker"], "", true);
        let out = t.project.apply();
        assert!(
            out.contains("+ session iw-worker: created (ready in"),
            "{out}"
        );
        t
    }

    fn root(&self) -> PathBuf {
        self.project.path()
    }

    /// The pane's text, wrapped lines joined, with its history.
    fn screen(&self, session: &str) -> String {
        self.srv.tmux(&[
            "capture-pane",
            "-p",
            "-J",
            "-S",
            "-500",
            "-t",
            &format!("={session}:"),
        ])
    }

    /// The screen of `session` once Claude Code has drawn its banner and prompt, and a moment
    /// more for anything it prints at start (SessionStart fires before the first frame).
    fn drawn(&self, session: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen(session);
            if screen.contains("Claude Code v") && screen.contains('❯') {
                std::thread::sleep(Duration::from_millis(700));
                return self.screen(session);
            }
            assert!(Instant::now() < deadline, "{session} never drew:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `agent`'s last activity record.
    fn activity(&self, agent: &str) -> Option<Value> {
        let text =
            std::fs::read_to_string(self.root().join(format!("state/activity/{agent}.json")))
                .ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Types `prompt` into `agent`'s session and waits until Claude Code reports the turn done:
    /// its UserPromptSubmit hook, then its Stop hook. Returns every activity state seen
    /// meanwhile. (SessionStart fires before the first frame: keys are sent once the prompt box
    /// is drawn, and Enter again if the prompt was not submitted.)
    fn prompt(&self, agent: &str, prompt: &str) -> Vec<String> {
        let name = format!("iw-{agent}");
        self.drawn(&name);
        let target = format!("={name}:");
        let sent = now_ms();
        self.srv.tmux(&["send-keys", "-t", &target, "-l", prompt]);
        std::thread::sleep(Duration::from_millis(200));
        self.srv.tmux(&["send-keys", "-t", &target, "Enter"]);
        let mut entered = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut states: Vec<String> = Vec::new();
        let mut submitted: Option<u64> = None;
        loop {
            if let Some(a) = self.activity(agent) {
                let at = a["at_ms"].as_u64().unwrap_or(0);
                if submitted.is_none() && a["event"] == "UserPromptSubmit" && at >= sent {
                    submitted = Some(at);
                }
                if let Some(from) = submitted
                    && at >= from
                {
                    let state = a["state"].as_str().unwrap_or("").to_string();
                    if states.last() != Some(&state) {
                        states.push(state);
                    }
                    if a["event"] == "Stop" {
                        return states;
                    }
                }
            }
            if submitted.is_none() && entered.elapsed() > Duration::from_secs(5) {
                self.srv.tmux(&["send-keys", "-t", &target, "Enter"]);
                entered = Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "no Stop after typing {prompt:?}; states {states:?}; screen:\n{}",
                self.screen(&name)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The hook's logged decisions for `tool`.
    fn decisions(&self, tool: &str) -> Vec<String> {
        std::fs::read_to_string(self.root().join("state/hook-decisions.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["tool"] == tool)
            .map(|l| l["decision"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn abs(root: &Path, rel: &str) -> String {
    root.join(rel).to_string_lossy().into_owned()
}

#[test]
fn one_trust_then_one_apply_brings_every_agent_to_ready_with_no_dialog_and_no_warning() {
    let t = Team::new(&["lead", "worker"], "", false);
    let root = t.root();
    // Untrusted: said once, for all agents, and nothing is started or written.
    let plan = t.project.iw().args(["plan", "--no-diff"]).output().unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(text.matches("does not trust").count(), 1, "{text}");
    assert!(text.contains("iw trust"), "{text}");
    t.project
        .iw()
        .args(["apply", "--yes", "--no-diff"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nothing was changed"));
    assert!(t.srv.sessions().is_empty());
    assert!(!t.project.exists("agents/worker/.claude/settings.json"));

    // One explicit trust, kept alongside everything else in Claude Code's config.
    t.project.iw().arg("trust").assert().success();
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(t.home.path().join(".claude.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["projects"][root.to_string_lossy().as_ref()]["hasTrustDialogAccepted"],
        true
    );
    assert_eq!(config["hasCompletedOnboarding"], true);

    let out = t.project.apply();
    for s in ["iw-lead", "iw-worker"] {
        assert!(
            out.contains(&format!("+ session {s}: created (ready in")),
            "{out}"
        );
        let screen = t.drawn(s);
        for bad in [
            "trust this folder",
            "Quick safety check",
            "matches no tool",
            "focus-events",
            "⚠",
        ] {
            assert!(!screen.contains(bad), "{s} shows {bad:?}:\n{screen}");
        }
    }
    let list = crate::common::json_stdout(t.project.iw().args(["session", "list", "--json"]));
    let rows = list["sessions"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["ready"] == true), "{list}");
    assert_eq!(t.srv.tmux(&["show", "-gv", "focus-events"]).trim(), "on");
    assert_eq!(t.project.plan_code(), 0);
}

#[test]
fn a_typed_bash_write_to_a_forbidden_path_is_blocked_with_the_hooks_reason_on_screen() {
    let t = Team::ready_worker();
    let target = abs(&t.root(), "secrets/b.txt");
    t.prompt("worker", &format!("BASH echo leaked > {target} ENDBASH #1"));
    assert!(!t.project.exists("secrets/b.txt"));
    assert_eq!(t.decisions("Bash"), ["deny"]);
    // The Stop hook can fire a moment before the screen shows the turn.
    let reason = "blocked: `secrets/**` is in worker's cannot_access";
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut screen = t.screen("iw-worker");
    while !screen.contains(reason) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        screen = t.screen("iw-worker");
    }
    assert!(
        screen.contains(reason),
        "the hook's reason is on screen:\n{screen}"
    );
}

#[test]
fn a_typed_allowed_write_lands_while_activity_goes_from_working_to_idle() {
    let t = Team::ready_worker();
    let states = t.prompt(
        "worker",
        &format!("SLOW WRITE {} #2", abs(&t.root(), "src/ok.txt")),
    );
    assert_eq!(t.project.read("src/ok.txt"), "written by the agent\n");
    assert_eq!(t.decisions("Write"), ["allow"]);
    assert_eq!(
        states.first().map(String::as_str),
        Some("working"),
        "{states:?}"
    );
    assert_eq!(
        states.last().map(String::as_str),
        Some("idle"),
        "{states:?}"
    );
}

#[test]
fn a_typed_forbidden_write_is_refused_and_the_agent_cannot_alter_its_own_guard() {
    let t = Team::ready_worker();
    let guarded = [
        "agents/worker/.claude/settings.json",
        "agents/worker/.claude/iw-policy.json",
        "state/iw.lock",
    ];
    let before: Vec<String> = guarded.iter().map(|f| t.project.read(f)).collect();
    t.prompt(
        "worker",
        &format!("WRITE {} #3", abs(&t.root(), "secrets/k.txt")),
    );
    assert!(!t.project.exists("secrets/k.txt"));
    for (i, f) in guarded.iter().enumerate() {
        t.prompt("worker", &format!("WRITE {} #g{i}", abs(&t.root(), f)));
        assert_eq!(t.project.read(f), before[i], "{f} changed");
    }
    // Claude Code's own deny rule stops the first before the hook; the hook denies the rest.
    assert_eq!(t.decisions("Write"), ["deny", "deny", "deny"]);
    let results: Vec<String> = t
        .mock
        .tool_results()
        .iter()
        .map(claude::result_text)
        .collect();
    assert!(
        results.iter().any(|r| r.contains("no agent may change")),
        "{results:?}"
    );
}

#[test]
fn the_agents_instructions_and_persona_reach_the_model() {
    let t = Team::ready_worker();
    t.prompt("worker", "Say hello. #4");
    assert!(t.mock.saw(PERSONA), "the persona file reached the model");
    assert!(
        t.mock.saw("Worker Of The Team"),
        "the agent's generated CLAUDE.md reached the model"
    );
    let models: Vec<Value> = t
        .mock
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r["tools"].as_array().is_some_and(|x| !x.is_empty()))
        .map(|r| r["model"].clone())
        .collect();
    assert!(
        models
            .iter()
            .all(|m| m.as_str().is_some_and(|m| m.contains("sonnet"))),
        "the agent's model (sonnet, from its settings): {models:?}"
    );
}

#[test]
fn iw_run_with_the_default_command_writes_an_allowed_file() {
    let t = Team::new(&["worker"], "", true);
    t.project.apply();
    let target = abs(&t.root(), "src/from-run.txt");
    t.project
        .write("task.md", &format!("WRITE {target} please.\n"));
    let out = t
        .project
        .iw()
        .args(["run", "worker", "--task", "task.md", "--wait", "--json"])
        .args(["--timeout", "2m"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(out.status.code(), Some(0), "{doc}");
    assert_eq!(doc["status"], "COMPLETED", "{doc}");
    assert_eq!(t.project.read("src/from-run.txt"), "written by the agent\n");
    assert!(t.decisions("Write").contains(&"allow".to_string()));
}

#[test]
fn a_claude_session_that_exits_while_starting_fails_apply_naming_it_with_its_output() {
    let t = Team::new(&[], "check_for: 0s\n", true);
    t.project.write(
        "sessions.yaml",
        &format!(
            "{}  worker: {{command: claude --no-such-option}}\n",
            t.project.read("sessions.yaml")
        ),
    );
    let out = t
        .project
        .iw()
        .args(["apply", "--yes", "--no-diff"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("session iw-worker"), "{stderr}");
    assert!(stderr.contains("unknown option"), "{stderr}");
}

#[test]
fn trust_keeps_claude_codes_own_writes_while_instances_run() {
    // Claude Code instances rewrite ~/.claude.json at start and exit, under their lock; iw trust
    // writes under the same lock, so both kinds of change survive.
    let _ = claude::claude();
    let home = claude::home(&[]);
    let mock = MockApi::by_prompt();
    let dirs: Vec<tempfile::TempDir> = (0..6).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut children = Vec::new();
    for _ in 0..4 {
        let mut c = std::process::Command::new(claude::claude());
        c.args(["-p", "Say hello."]).current_dir(home.path());
        let env = claude::offline_env(&mock, home.path(), &home.path().join("log"));
        for (k, v) in env.as_object().unwrap() {
            c.env(k, v.as_str().unwrap());
        }
        c.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        children.push(c.spawn().unwrap());
    }
    for d in &dirs {
        let registry = d.path().join("agents/registry.yaml");
        std::fs::create_dir_all(registry.parent().unwrap()).unwrap();
        std::fs::write(&registry, TEAM).unwrap();
        crate::common::iw()
            .arg("-C")
            .arg(d.path())
            .arg("trust")
            .env("HOME", home.path())
            .assert()
            .success();
        std::thread::sleep(Duration::from_millis(150));
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(home.path().join(".claude.json")).unwrap())
            .unwrap();
    for d in &dirs {
        let key = d.path().canonicalize().unwrap();
        assert_eq!(
            config["projects"][key.to_string_lossy().as_ref()]["hasTrustDialogAccepted"],
            true,
            "{config}"
        );
    }
    assert_eq!(config["hasCompletedOnboarding"], true);
    // What the instances recorded themselves is there too.
    assert!(config["firstStartTime"].is_string(), "{config}");
    assert!(config["userID"].is_string(), "{config}");
    assert!(!home.path().join(".claude.json.lock").exists());
}

#[test]
fn doctor_on_a_healthy_project_with_running_agents_exits_0() {
    let t = Team::new(&["worker"], "", true);
    t.project.apply();
    let out = t.project.iw().args(["doctor", "--json"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{doc}");
    let status = |name: &str| -> Vec<String> {
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["name"] == name)
            .map(|c| c["status"].as_str().unwrap().to_string())
            .collect()
    };
    for name in [
        "project files",
        "tmux",
        "Claude Code",
        "Claude Code setup",
        "hook binary",
        "generated files",
        "tmux socket",
    ] {
        assert_eq!(status(name), ["ok"], "{name}: {doc}");
    }
}
