//! `iw watch` driven as a person uses it: running in a tmux pane of its own (send-keys to type,
//! capture-pane to read) against live sessions on the project's private tmux server.

use std::time::{Duration, Instant};

use crate::common::{TempProject, TmuxServer};
use predicates::prelude::*;

/// A project whose `lead` and `worker` run (as `sleep`) on `agents`, with a notify command that
/// appends to `notified.txt`; and a second tmux server `ui` whose pane runs a shell to start
/// `iw watch` in.
struct Watched {
    p: TempProject,
    agents: TmuxServer,
    ui: TmuxServer,
}

impl Watched {
    fn new() -> Watched {
        let agents = TmuxServer::new();
        let ui = TmuxServer::new();
        let p = TempProject::with_registry(crate::common::SMALL);
        p.write(
            "sessions.yaml",
            &format!(
                "socket: {}\ncommand: sleep 1000\nnotify:\n  command: 'echo \"$IW_AGENT $IW_EVENT $IW_MESSAGE\" >> notified.txt'\nsessions:\n  lead: {{}}\n  worker: {{}}\n",
                agents.socket
            ),
        );
        p.apply();
        let iw = assert_cmd::cargo::cargo_bin!("iw");
        ui.shell("ui", 120, 32);
        let w = Watched { p, agents, ui };
        w.type_line("echo BEFORE-WATCH");
        w.type_line(&format!(
            "NO_COLOR=1 '{}' -C '{}' watch",
            iw.display(),
            w.p.path().display()
        ));
        w.wait_for("└ worker", "the UI to draw");
        w
    }

    fn type_line(&self, line: &str) {
        self.ui.type_line("ui", line);
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.ui.tmux(&["send-keys", "-t", "=ui:", k]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn screen(&self) -> String {
        self.ui.tmux(&["capture-pane", "-p", "-t", "=ui:"])
    }

    /// Waits (up to 10 s, for slow machines) until the screen contains `text`; returns it.
    fn wait_for(&self, text: &str, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(Instant::now() < deadline, "waiting for {what}:\n{s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn status_event(&self, agent: &str, event: &str, message: &str) {
        self.p
            .iw()
            .args(["hook", "status", "--agent", agent])
            .write_stdin(format!(
                r#"{{"hook_event_name":"{event}","session_id":"s-{agent}","message":"{message}"}}"#
            ))
            .assert()
            .success();
    }
}

#[test]
fn rows_follow_the_delegation_graph_and_a_waiting_agent_is_shown_and_notified() {
    let w = Watched::new();
    let s = w.screen();
    let lead = s.lines().position(|l| l.starts_with("lead ")).unwrap();
    let worker = s.lines().position(|l| l.starts_with("└ worker")).unwrap();
    assert!(lead < worker, "the planner above its delegate:\n{s}");
    for l in [lead, worker] {
        assert!(s.lines().nth(l).unwrap().contains("running"), "{s}");
    }
    w.status_event("worker", "UserPromptSubmit", "");
    w.wait_for("working", "worker working");
    w.status_event(
        "worker",
        "Notification",
        "Claude needs your permission to use Bash",
    );
    let s = w.wait_for("waiting", "worker waiting");
    let row = s.lines().find(|l| l.starts_with("└ worker")).unwrap();
    assert!(
        row.contains("waiting") && row.contains("Claude needs your permission to use Bash"),
        "{s}"
    );
    assert!(s.contains("1 waiting for you"), "{s}");
    // The notify command ran, detached from the hook.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !w.p.exists("notified.txt") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        w.p.read("notified.txt"),
        "worker waiting Claude needs your permission to use Bash\n"
    );
}

#[test]
fn enter_attaches_to_the_selected_session_and_detaching_returns_to_the_ui() {
    let w = Watched::new();
    w.keys(&["Down", "Enter"]);
    // The pane now shows tmux attached to iw-worker (its status line names the session).
    w.wait_for("[iw-worker", "the attached session");
    w.keys(&["C-b", "d"]);
    let s = w.wait_for("back from iw-worker", "the UI again");
    assert!(s.contains("└ worker"), "{s}");
}

#[test]
fn k_kills_only_after_confirmation() {
    let w = Watched::new();
    w.keys(&["Down", "k"]);
    w.wait_for("Kill worker's session?", "the question");
    w.keys(&["n"]);
    w.wait_for("kept", "the answer");
    assert!(w.agents.sessions().contains(&"iw-worker".to_string()));
    w.keys(&["k"]);
    w.wait_for("Kill worker's session?", "the question");
    w.keys(&["y"]);
    w.wait_for("killed iw-worker", "the kill");
    assert_eq!(w.agents.sessions(), ["iw-lead"]);
    let s = w.wait_for("stopped", "the row");
    assert!(
        s.lines()
            .find(|l| l.starts_with("└ worker"))
            .is_some_and(|l| l.contains("stopped")),
        "{s}"
    );
}

#[test]
fn the_plan_is_shown_before_it_is_applied() {
    let w = Watched::new();
    w.agents.tmux(&["kill-session", "-t", "=iw-worker"]);
    w.wait_for("Drift: 1 change(s) pending", "the banner");
    w.keys(&["a"]);
    let s = w.wait_for("will be created", "the plan");
    assert!(s.contains("session iw-worker"), "{s}");
    w.keys(&["y"]);
    w.wait_for("Apply complete: 1 added", "the apply");
    assert_eq!(w.agents.sessions(), ["iw-lead", "iw-worker"]);
}

#[test]
fn filter_help_resize_and_quit() {
    let w = Watched::new();
    w.keys(&["/"]);
    w.ui.tmux(&["send-keys", "-t", "=ui:", "-l", "work"]);
    w.keys(&["Enter"]);
    let s = w.wait_for("[/work]", "the filter");
    assert!(!s.lines().any(|l| l.starts_with("lead ")), "{s}");
    w.keys(&["Escape", "?"]);
    w.wait_for("filter agents by name", "the help");
    w.keys(&["x"]);
    w.ui.tmux(&["resize-window", "-t", "=ui:", "-x", "80", "-y", "24"]);
    std::thread::sleep(Duration::from_millis(500));
    let s = w.wait_for("lead ", "the redraw at 80x24");
    let lines: Vec<&str> = s.lines().collect();
    assert!(lines[0].starts_with("iw watch"), "{s}");
    assert!(lines.iter().any(|l| l.starts_with("└ worker")), "{s}");
    assert!(
        lines.iter().all(|l| l.chars().count() <= 80),
        "nothing wider than the terminal:\n{s}"
    );
    assert!(lines.len() <= 24);
    assert!(s.contains("q quit"), "the key line stays:\n{s}");
    w.keys(&["q"]);
    let s = w.wait_for("BEFORE-WATCH", "the shell again");
    assert!(!s.contains("iw watch  "), "the terminal is restored:\n{s}");
    assert!(s.trim_end().ends_with('$'), "{s}");
}

#[test]
fn once_prints_one_frame_as_text_and_off_a_terminal_it_says_what_to_use() {
    let w = Watched::new();
    w.status_event("worker", "Stop", "");
    let out = w.p.iw().args(["watch", "--once"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("iw watch"), "{text}");
    assert!(lines[1].starts_with("AGENT"), "{text}");
    assert!(
        lines[2].starts_with("lead") && lines[2].contains("running"),
        "{text}"
    );
    assert!(
        lines[3].starts_with("└ worker") && lines[3].contains("idle"),
        "{text}"
    );
    assert!(!text.contains("q quit"), "{text}");
    w.p.iw()
        .arg("watch")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a terminal"))
        .stderr(predicate::str::contains("iw session list --json"));
}

#[test]
fn a_host_that_does_not_answer_does_not_freeze_the_screen() {
    // `worker` on a host whose port first refuses connections, then accepts them and never
    // says a word (ssh then waits its ConnectTimeout, 10 s, for each try).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let agents = TmuxServer::new();
    let p = TempProject::with_registry(crate::common::SMALL);
    let root = tempfile::tempdir().unwrap();
    p.write(
        "sessions.yaml",
        &format!(
            "socket: {}\ncommand: sleep 1000\nhosts:\n  mute: {{ssh: nobody@127.0.0.1, root: {}, \
             ssh_args: [-p, '{port}', -o, UserKnownHostsFile=/dev/null]}}\nsessions:\n  lead: {{}}\n  \
             worker: {{host: mute}}\n",
            agents.socket,
            root.path().display()
        ),
    );
    let ui = TmuxServer::terminal_running_iw(&p.path(), "", "watch", 120);
    let screen = ui.wait_for("ui", "└ worker", 10);
    let started = Instant::now();
    // Said, and its agent's SYNC is unknown rather than a ✓.
    assert!(screen.contains("Host mute cannot be reached"), "{screen}");
    let worker = screen.lines().find(|l| l.starts_with("└ worker")).unwrap();
    assert!(worker.contains('?') && !worker.contains('✓'), "{screen}");
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    // The next plan (every 10 s) tries the host again, and that try hangs: the screen must
    // still answer a key at once, not when ssh gives up.
    std::thread::sleep(Duration::from_secs(11).saturating_sub(started.elapsed()));
    ui.tmux(&["send-keys", "-t", "=ui:", "?"]);
    ui.wait_for("ui", "any key: close", 5);
    ui.tmux(&["send-keys", "-t", "=ui:", "q"]);
}
