//! Agents on other hosts end to end (issue 17): the real `iw` binary against two real OpenSSH
//! servers on 127.0.0.1 (tests/it/common/sshd.rs), each standing for one host with its own host
//! key, client key, HOME, tmux and root; nothing in the machine's ssh configuration is used.
//! Sessions run `sleep` on a private tmux socket `iw-test-…` on each host (each host's tmux
//! servers are killed when its fixture is dropped). Converging, the no-op plan, drift on a host,
//! the hook run there, a host going down before apply, between plan and apply, and during apply
//! (while it waits for "yes", after planning over it), and an agent moving between hosts.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

use crate::common::sshd::Sshd;
use crate::common::{SMALL, TempProject, TmuxServer};

/// A project whose `lead` runs on host `a` and `worker` on host `b`.
struct Team {
    p: TempProject,
    a: Sshd,
    b: Sshd,
    /// The socket name (the same on every host); also guards a local server of that name.
    tmux: TmuxServer,
}

fn team() -> Team {
    let (a, b) = (Sshd::start(), Sshd::start());
    a.preinstall_iw();
    b.preinstall_iw();
    let t = Team {
        p: TempProject::with_registry(SMALL),
        a,
        b,
        tmux: TmuxServer::new(),
    };
    t.declare("a", "b");
    t
}

impl Team {
    /// Writes sessions.yaml with `lead` on host `lead_on` and `worker` on `worker_on`.
    fn declare(&self, lead_on: &str, worker_on: &str) {
        let host = |name: &str, h: &Sshd| {
            format!(
                "  {name}: {{ssh: '{}@{}', root: '{}', ssh_args: [-F, '{}']}}\n",
                h.user(),
                h.alias(),
                h.remote_root().display(),
                h.config_path().display()
            )
        };
        let yaml = format!(
            "socket: {}\ncommand: sleep 600\ncheck_for: 0s\nhosts:\n{}{}sessions:\n  lead: {{host: {lead_on}}}\n  worker: {{host: {worker_on}}}\n",
            self.tmux.socket,
            host("a", &self.a),
            host("b", &self.b),
        );
        self.p.write("sessions.yaml", &yaml);
    }

    fn iw(&self, args: &[&str]) -> Command {
        let mut c = self.p.iw();
        c.env_remove("IW_TEST_DIR_HOSTS").args(args);
        c
    }

    /// Runs iw; exit code, stdout, stderr.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        crate::common::outcome(&mut self.iw(args))
    }

    /// A change on both hosts: every agent's instructions change.
    fn change_both(&self) {
        self.p.edit_registry(
            "description: Leads the work",
            "description: Leads all the work",
        );
        self.p.edit_registry(
            "description: Does the work",
            "description: Does all the work",
        );
    }

    fn apply_ok(&self) -> String {
        let (code, out, err) = self.run(&["apply", "--yes", "--no-diff"]);
        assert_eq!(code, 0, "apply: {out}{err}\n--- a ---\n{}", self.a.log());
        out
    }

    fn assert_noop(&self) {
        let (code, out, err) = self.run(&["plan", "--no-diff", "--exit-code"]);
        assert_eq!(code, 0, "not a no-op plan:\n{out}{err}");
        assert!(out.contains("No changes"), "{out}");
    }

    /// The sessions on host `h`'s socket, read through ssh, sorted.
    fn sessions_on(&self, h: &Sshd) -> Vec<String> {
        let out = h.run(&format!(
            "tmux -L {} list-sessions -F '#{{session_name}}'",
            self.tmux.socket
        ));
        let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    }

    /// A tmux format for one session on host `h`.
    fn format_on(&self, h: &Sshd, session: &str, format: &str) -> String {
        h.run_ok(&format!(
            "tmux -L {} display-message -p -t '={session}:' '{format}'",
            self.tmux.socket
        ))
        .trim_end()
        .to_string()
    }

    fn lock(&self) -> serde_json::Value {
        serde_json::from_str(&self.p.read("state/iw.lock")).unwrap()
    }
}

fn files(root: &Path, agent: &str) -> Vec<PathBuf> {
    ["settings.json", "CLAUDE.md", "iw-policy.json"]
        .iter()
        .map(|f| root.join("agents").join(agent).join(".claude").join(f))
        .collect()
}

/// Files under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn apply_converges_across_two_hosts_then_plan_is_a_no_op() {
    let t = team();
    let (code, out, err) = t.run(&["plan", "--no-diff", "--exit-code"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("+ session iw-lead on a"), "{out}");
    assert!(out.contains("+ session iw-worker on b"), "{out}");
    assert!(
        out.contains("+ a:agents/lead/.claude/settings.json"),
        "{out}"
    );
    assert!(
        out.contains("+ b:agents/worker/.claude/iw-policy.json"),
        "{out}"
    );

    t.apply_ok();
    // Each agent's files on its host only; nothing generated here.
    for (h, agent, other) in [(&t.a, "lead", &t.b), (&t.b, "worker", &t.a)] {
        for f in files(&h.remote_root(), agent) {
            assert!(f.is_file(), "{} missing", f.display());
        }
        assert!(!other.remote_root().join("agents").join(agent).exists());
        assert!(!t.p.exists(&format!("agents/{agent}/.claude")));
        // The host's own lockfile records its files (what its hook trusts).
        let lock = std::fs::read_to_string(h.remote_root().join("state/iw.lock")).unwrap();
        assert!(
            lock.contains(&format!("agents/{agent}/.claude/iw-policy.json")),
            "{lock}"
        );
        let marks = t.format_on(
            h,
            &format!("iw-{agent}"),
            "#{@iw-managed} #{@iw-agent} #{@iw-root}",
        );
        assert_eq!(
            marks,
            format!("1 {agent} {}", h.remote_root().display()),
            "marks of iw-{agent}"
        );
        // The pane runs the declared command, in the host's root.
        let cmd = t.format_on(
            h,
            &format!("iw-{agent}"),
            "#{pane_current_command} #{pane_dead}",
        );
        assert_eq!(cmd, "sleep 0");
    }
    assert_eq!(t.sessions_on(&t.a), ["iw-lead"]);
    assert_eq!(t.sessions_on(&t.b), ["iw-worker"]);
    assert!(t.tmux.sessions().is_empty(), "nothing started here");
    // The local lockfile remembers both hosts and what iw wrote there.
    let lock = t.lock();
    for (name, agent) in [("a", "lead"), ("b", "worker")] {
        let files = &lock["hosts"][name]["files"];
        assert!(
            files[format!("agents/{agent}/.claude/settings.json")].is_object(),
            "{lock}"
        );
    }
    t.assert_noop();
}

#[test]
fn a_file_edited_on_a_host_is_drift_there_backed_up_and_restored() {
    let t = team();
    t.apply_ok();
    let target = t.b.remote_root().join("agents/worker/.claude/CLAUDE.md");
    let written = std::fs::read_to_string(&target).unwrap();
    std::fs::write(&target, "edited on b by hand\n").unwrap();

    let (code, out, err) = t.run(&["plan", "--no-diff", "--exit-code"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("~ b:agents/worker/.claude/CLAUDE.md"), "{out}");
    assert!(out.contains("modified outside iw"), "{out}");
    assert!(!out.contains("a:agents"), "{out}");
    let doc: serde_json::Value =
        serde_json::from_slice(&t.iw(&["plan", "--json"]).output().unwrap().stdout).unwrap();
    let change = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "agents/worker/.claude/CLAUDE.md")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(change["host"], "b");
    assert_eq!(change["drift"], "modified_outside_iw");

    let out = t.apply_ok();
    assert!(out.contains("b:state/backups/"), "{out}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), written);
    let backups: Vec<String> = tree(&t.b.remote_root().join("state/backups"));
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(backups[0].ends_with("agents/worker/.claude/CLAUDE.md"));
    let saved = t.b.remote_root().join("state/backups").join(&backups[0]);
    assert_eq!(
        std::fs::read_to_string(saved).unwrap(),
        "edited on b by hand\n"
    );
    assert!(!t.a.remote_root().join("state/backups").exists());
    t.assert_noop();
}

#[test]
fn the_hook_on_a_host_denies_a_forbidden_write() {
    let t = team();
    t.apply_ok();
    let root = t.b.remote_root();
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("agents/worker/.claude/settings.json")).unwrap(),
    )
    .unwrap();
    let command = settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap_or_else(|| panic!("{settings}"))
        .to_string();
    // The binary iw installed on that host, with that host's root.
    assert!(
        command.contains(
            &t.b.remote_home()
                .join(".local/share/iw/bin")
                .display()
                .to_string()
        ),
        "{command}"
    );
    assert!(command.contains(&root.display().to_string()), "{command}");

    // As Claude Code runs it there: the command line through the host's shell, the call on
    // stdin, in the project's directory there.
    let call = |path: &Path| {
        serde_json::json!({
            "session_id": "s", "transcript_path": "/dev/null", "cwd": root,
            "hook_event_name": "PreToolUse", "tool_name": "Write",
            "tool_input": {"file_path": path, "content": "x"}, "tool_use_id": "t1",
        })
        .to_string()
    };
    let run = |path: &Path| {
        let line = format!(
            "cd '{}' && CLAUDE_PROJECT_DIR='{}' {command}",
            root.display(),
            root.display()
        );
        t.b.run_with_stdin(&line, call(path).as_bytes())
    };
    let denied = run(&root.join("tests/unit.rs"));
    assert_eq!(
        denied.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );
    let reason = String::from_utf8_lossy(&denied.stderr);
    assert!(reason.contains("tests/"), "{reason}");
    let allowed = run(&root.join("src/lib.rs"));
    assert_eq!(
        allowed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
}

#[test]
fn a_host_down_before_apply_is_named_the_other_converges_and_the_next_apply_finishes() {
    let mut t = team();
    t.b.stop();
    let (code, out, err) = t.run(&["apply", "--yes", "--no-diff"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("nothing was changed on b"), "{err}");
    assert!(out.contains("! b: "), "{out}");
    assert_eq!(t.sessions_on(&t.a), ["iw-lead"]);
    for f in files(&t.a.remote_root(), "lead") {
        assert!(f.is_file(), "{}", f.display());
    }
    assert!(!t.b.remote_root().join("agents").exists());
    let lock = t.lock();
    assert!(lock["hosts"]["a"].is_object(), "{lock}");
    assert!(lock["hosts"].get("b").is_none(), "{lock}");

    t.b.restart();
    let out = t.apply_ok();
    assert!(out.contains("session iw-worker on b"), "{out}");
    assert!(!out.contains("on a"), "a was already converged: {out}");
    assert_eq!(t.sessions_on(&t.b), ["iw-worker"]);
    t.assert_noop();
}

#[test]
fn a_host_down_between_plan_and_apply_is_named_and_nothing_is_lost() {
    let mut t = team();
    t.apply_ok();
    let before = t.lock();
    t.change_both();
    let (code, out, err) = t.run(&["plan", "--no-diff", "-o", "saved.plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("~ a:agents/lead/.claude/CLAUDE.md"), "{out}");
    assert!(out.contains("~ b:agents/worker/.claude/CLAUDE.md"), "{out}");
    t.b.stop();

    // The saved plan is applied where it still can be: b's part is left out, and said so.
    let (code, out, err) = t.run(&["apply", "--yes", "--no-diff", "saved.plan"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("! b: "), "{out}");
    assert!(err.contains("nothing was changed on b"), "{err}");
    assert!(out.contains("~ a:agents/lead/.claude/CLAUDE.md"), "{out}");
    let lead =
        std::fs::read_to_string(t.a.remote_root().join("agents/lead/.claude/CLAUDE.md")).unwrap();
    assert!(lead.contains("Leads all the work"), "{lead}");
    // The local lockfile records exactly what was done: a's new files, b's record untouched.
    let after = t.lock();
    assert_eq!(after["hosts"]["b"], before["hosts"]["b"]);
    let a_md = "agents/lead/.claude/CLAUDE.md";
    assert_ne!(
        after["hosts"]["a"]["files"][a_md],
        before["hosts"]["a"]["files"][a_md]
    );
    let sha = iw::support::fsutil::sha256_hex(lead.as_bytes());
    assert_eq!(after["hosts"]["a"]["files"][a_md]["sha256"], sha.as_str());
    // Sessions survive a host that is only unreachable.
    assert_eq!(t.sessions_on(&t.a), ["iw-lead"]);

    t.b.restart();
    t.apply_ok();
    let worker =
        std::fs::read_to_string(t.b.remote_root().join("agents/worker/.claude/CLAUDE.md")).unwrap();
    assert!(worker.contains("Does all the work"), "{worker}");
    assert_eq!(t.sessions_on(&t.a), ["iw-lead"]);
    assert_eq!(t.sessions_on(&t.b), ["iw-worker"]);
    t.assert_noop();
}

#[test]
fn moving_an_agent_between_hosts_stops_it_on_one_and_starts_it_on_the_other() {
    let t = team();
    t.apply_ok();
    let pid_lead = t.format_on(&t.a, "iw-lead", "#{pane_pid}");
    t.declare("a", "a");
    let (code, out, err) = t.run(&["plan", "--no-diff", "--exit-code"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("- session iw-worker on b"), "{out}");
    assert!(out.contains("+ session iw-worker on a"), "{out}");
    assert!(
        out.contains("+ a:agents/worker/.claude/settings.json"),
        "{out}"
    );
    assert!(
        out.contains("- b:agents/worker/.claude/settings.json"),
        "{out}"
    );
    assert!(!out.contains("iw-lead"), "lead stays: {out}");

    t.apply_ok();
    assert_eq!(t.sessions_on(&t.a), ["iw-lead", "iw-worker"]);
    assert!(t.sessions_on(&t.b).is_empty());
    assert_eq!(t.format_on(&t.a, "iw-lead", "#{pane_pid}"), pid_lead);
    for f in files(&t.a.remote_root(), "worker") {
        assert!(f.is_file(), "{}", f.display());
    }
    assert!(!t.b.remote_root().join("agents/worker").exists());
    // b holds nothing of iw's any more: the record of it is gone.
    let lock = t.lock();
    assert!(lock["hosts"].get("b").is_none(), "{lock}");
    t.assert_noop();
}

#[test]
fn a_host_failing_during_apply_is_left_there_and_the_other_converges() {
    let t = team();
    // On host a, a file where lead's `.claude` directory goes: a is reached and planned, then
    // its write fails part way through apply. Host a comes first: b is written after it.
    let a_root = t.a.remote_root();
    std::fs::create_dir_all(a_root.join("agents/lead")).unwrap();
    std::fs::write(a_root.join("agents/lead/.claude"), "in the way\n").unwrap();

    let (code, out, err) = t.run(&["apply", "--yes", "--no-diff"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("host a"), "{err}");
    // b converged: files, its lockfile, its session.
    for f in files(&t.b.remote_root(), "worker") {
        assert!(f.is_file(), "{}", f.display());
    }
    assert!(t.b.remote_root().join("state/iw.lock").is_file());
    assert_eq!(t.sessions_on(&t.b), ["iw-worker"]);
    // a: nothing written under the obstacle, no session started there.
    assert!(t.sessions_on(&t.a).is_empty());
    // The local lockfile records exactly that.
    let lock = t.lock();
    let worker = "agents/worker/.claude/settings.json";
    assert!(lock["hosts"]["b"]["files"][worker].is_object(), "{lock}");
    let a_files = lock["hosts"]["a"]["files"].as_object();
    assert!(a_files.is_none_or(|f| f.is_empty()), "{lock}");

    std::fs::remove_file(a_root.join("agents/lead/.claude")).unwrap();
    let out = t.apply_ok();
    assert!(out.contains("session iw-lead on a"), "{out}");
    assert!(!out.contains("on b"), "b was already converged: {out}");
    assert_eq!(t.sessions_on(&t.a), ["iw-lead"]);
    t.assert_noop();
}

#[test]
fn a_host_stopped_while_apply_waits_for_yes_is_named_and_nothing_is_lost() {
    let mut t = team();
    t.apply_ok();
    let before = t.lock();
    t.change_both();
    // `iw apply` as a person runs it, in a terminal: it connects, plans, shows the plan and
    // asks. Host b goes down while it waits for the answer, after the plan was made over it.
    let ui = TmuxServer::new();
    ui.shell("ui", 200, 50);
    let iw = assert_cmd::cargo::cargo_bin!("iw");
    let line = format!(
        // (The marker is split so that the typed line itself does not contain it.)
        "NO_COLOR=1 '{}' -C '{}' apply --no-diff; echo \"EX\"\"IT=$?\"",
        iw.display(),
        t.p.path().display()
    );
    ui.type_line("ui", &line);
    let wait_for = |text: &str| ui.wait_for("ui", text, 30);
    let shown = wait_for("Enter a value:");
    assert!(
        shown.contains("~ b:agents/worker/.claude/CLAUDE.md"),
        "{shown}"
    );
    t.b.stop();
    ui.type_line("ui", "yes");
    let done = wait_for("EXIT=");
    // A clear error naming the host, exit 1; host a converged and recorded.
    assert!(done.contains("EXIT=1"), "{done}");
    assert!(done.contains("error: host b:"), "{done}");
    assert!(done.contains("run `iw plan`"), "{done}");
    // a was applied: its file and its session.
    assert!(
        done.contains("~ a:agents/lead/.claude/CLAUDE.md: updated"),
        "{done}"
    );
    let lead =
        std::fs::read_to_string(t.a.remote_root().join("agents/lead/.claude/CLAUDE.md")).unwrap();
    assert!(lead.contains("Leads all the work"), "{lead}");
    let after = t.lock();
    let a_md = "agents/lead/.claude/CLAUDE.md";
    let sha = iw::support::fsutil::sha256_hex(lead.as_bytes());
    assert_eq!(after["hosts"]["a"]["files"][a_md]["sha256"], sha.as_str());
    // Nothing lost on b: its files and its record are what they were.
    let b_md = "agents/worker/.claude/CLAUDE.md";
    let worker = std::fs::read_to_string(t.b.remote_root().join(b_md)).unwrap();
    assert!(worker.contains("Does the work"), "{worker}");
    assert_eq!(
        after["hosts"]["b"]["files"][b_md],
        before["hosts"]["b"]["files"][b_md]
    );

    // Back up, the next apply converges it.
    t.b.restart();
    t.apply_ok();
    let worker = std::fs::read_to_string(t.b.remote_root().join(b_md)).unwrap();
    assert!(worker.contains("Does all the work"), "{worker}");
    assert_eq!(t.sessions_on(&t.b), ["iw-worker"]);
    t.assert_noop();
}

#[test]
fn import_adopts_a_session_started_by_hand_on_a_host() {
    let t = team();
    t.b.run_ok(&format!(
        "tmux -L {} new-session -d -s iw-worker 'sleep 600'",
        t.tmux.socket
    ));
    let (_, out, err) = t.run(&["plan", "--no-diff"]);
    assert!(
        out.contains("exists but iw did not create it"),
        "{out}{err}"
    );

    let (code, out, err) = t.run(&["import", "worker"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("imported session iw-worker on b"), "{out}");
    assert_eq!(
        t.format_on(&t.b, "iw-worker", "#{@iw-managed} #{@iw-root}"),
        format!("1 {}", t.b.remote_root().display())
    );
    // The next plan over ssh takes it as iw's there: no notice, nothing to do for it.
    let (code, out, err) = t.run(&["plan", "--no-diff", "--exit-code"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(!out.contains("did not create it"), "{out}");
    assert!(!out.contains("session iw-worker"), "{out}");
    assert!(out.contains("+ session iw-lead on a"), "{out}");
}

#[test]
fn a_task_run_of_an_agent_on_a_host_runs_there_and_is_followed_and_killed_from_here() {
    let t = team();
    let yaml = t.p.read("sessions.yaml");
    t.p.write(
        "sessions.yaml",
        &format!(
            "{yaml}runs:\n  command: 'grep -c \"the task\" \"$IW_RUN_PROMPT\"; if grep -q forever \"$IW_RUN_PROMPT\"; then sleep 600; fi'\n"
        ),
    );
    t.p.write("task.md", "the task\n");
    t.apply_ok();

    // A run that completes: recorded under b's root, its output read from here.
    let (code, out, err) = t.run(&["run", "worker", "--task", "task.md", "--wait"]);
    assert_eq!(code, 0, "{out}{err}\n--- b ---\n{}", t.b.log());
    let id = out.trim().to_string();
    let state =
        t.b.remote_root()
            .join("state/runs")
            .join(&id)
            .join("state.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(doc["status"], "COMPLETED", "{doc}");
    assert!(!t.p.path().join("state/runs").join(&id).exists());
    let (code, out, _) = t.run(&["runs", "logs", &id]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "1");
    let (code, out, err) = t.run(&["runs"]);
    assert_eq!(code, 0, "{out}{err}");
    let row = out.lines().find(|l| l.starts_with(&id)).unwrap_or_default();
    assert!(row.contains(" b ") && row.contains("COMPLETED"), "{out}");

    // A run that would not end: stopped from here, its session on b closed.
    t.p.write("forever.md", "the task, forever\n");
    let (code, out, err) = t.run(&["run", "worker", "--task", "forever.md"]);
    assert_eq!(code, 0, "{out}{err}");
    let id = out.trim().to_string();
    let (code, out, err) = t.run(&["runs", "kill", &id]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = t.run(&["runs", "wait", &id]);
    assert_eq!(code, 4, "{out}");
    assert!(!t.sessions_on(&t.b).iter().any(|s| s.contains(&id)));
}

#[test]
fn a_new_iw_build_changes_nothing_on_the_hosts_and_their_hooks_run_it() {
    let t = team();
    t.apply_ok();
    let settings =
        t.b.remote_root()
            .join("agents/worker/.claude/settings.json");
    let before = std::fs::read_to_string(&settings).unwrap();
    let link = t.b.remote_home().join(".local/share/iw/bin/iw");
    assert!(
        before.contains(&link.display().to_string()),
        "the hook runs the stable link: {before}"
    );
    let pid = t.format_on(&t.b, "iw-worker", "#{pane_pid}");

    // Another build of iw (the same program with other bytes: another SHA-256), placed on the
    // hosts as its first connect would.
    let (_dir, newer) = crate::common::copied_iw();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&newer)
        .unwrap();
    std::io::Write::write_all(&mut f, b"\n# another build\n").unwrap();
    drop(f);
    t.a.preinstall(&newer);
    t.b.preinstall(&newer);
    let sha = iw::remote::install::binary_sha256(&newer).unwrap();
    let out = crate::common::run_ok(&newer, &t.p.path(), &["plan", "--exit-code", "--no-diff"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("No changes"), "{text}");
    // The hooks there now run the new build; nothing was rewritten, nothing restarted.
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        PathBuf::from(iw::remote::install::file_name(&sha))
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), before);
    assert_eq!(t.format_on(&t.b, "iw-worker", "#{pane_pid}"), pid);
    // And back: the first build takes the link again.
    t.assert_noop();
    assert_ne!(
        std::fs::read_link(&link).unwrap(),
        PathBuf::from(iw::remote::install::file_name(&sha))
    );
}

#[test]
fn watch_sets_aside_a_host_that_stops_answering_and_stays_live() {
    let t = team();
    t.apply_ok();
    let ui = TmuxServer::terminal_running_iw(&t.p.path(), "", "watch", 160);
    let screen = ui.wait_for("ui", "└ worker", 30);
    assert!(!screen.contains("cannot be reached"), "{screen}");
    // Host b hangs: its connection stays open and nothing answers. The first call that meets it
    // waits for ssh to give up (ServerAliveInterval, ~15 s); then b is set aside, said to be
    // unreachable, and tried again in the background, while the screen answers keys at once.
    t.b.freeze();
    let screen = ui.wait_for("ui", "Host b cannot be reached", 60);
    let worker = screen.lines().find(|l| l.starts_with("└ worker")).unwrap();
    assert!(worker.contains('?'), "{screen}");
    for _ in 0..3 {
        ui.tmux(&["send-keys", "-t", "=ui:", "?"]);
        ui.wait_for("ui", "any key: close", 5);
        ui.tmux(&["send-keys", "-t", "=ui:", "Escape"]);
        std::thread::sleep(std::time::Duration::from_secs(4));
    }
    ui.tmux(&["send-keys", "-t", "=ui:", "q"]);
    t.b.thaw();
}
