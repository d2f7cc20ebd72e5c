//! Agents on other hosts (sessions.yaml `hosts:`) through the real binary, each host a directory
//! here reached as `remote::DirLink` (`IW_TEST_DIR_HOSTS`), with this machine's tmux on private
//! sockets `iw-test-…-<host>`, killed when the test ends. The SSH transport has its own tests.

use assert_cmd::Command;

use crate::common::{SMALL, TempProject, TmuxServer, outcome};

/// `lead` here, `worker` on host h1 (a directory here), each on a private tmux server.
pub(crate) struct Team {
    pub(crate) p: TempProject,
    h1_dir: tempfile::TempDir,
    pub(crate) base: TmuxServer,
    pub(crate) h1: TmuxServer,
}

fn team() -> Team {
    team_with("{host: h1}", "")
}

/// [`team`] with `worker`'s session declared as `worker`, and `extra` at the end of
/// sessions.yaml.
pub(crate) fn team_with(worker: &str, extra: &str) -> Team {
    let base = TmuxServer::new();
    let h1 = TmuxServer {
        socket: format!("{}-h1", base.socket),
    };
    let t = Team {
        p: TempProject::with_registry(SMALL),
        h1_dir: tempfile::tempdir().unwrap(),
        base,
        h1,
    };
    let yaml = format!(
        "socket: {}\ncommand: sleep 1000\ncheck_for: 0s\nhosts:\n  h1: {{ssh: dev@h1, root: {}}}\nsessions:\n  lead: {{}}\n  worker: {worker}\n{extra}",
        t.base.socket,
        t.h1_root().display()
    );
    t.p.write("sessions.yaml", &yaml);
    t
}

impl Team {
    pub(crate) fn h1_root(&self) -> std::path::PathBuf {
        self.h1_dir.path().canonicalize().unwrap()
    }

    pub(crate) fn iw(&self, args: &[&str]) -> Command {
        let mut c = self.p.iw();
        c.env("IW_TEST_DIR_HOSTS", "1")
            .env_remove("IW_AGENT")
            .args(args);
        c
    }
}

#[test]
fn plan_apply_and_sessions_on_another_host() {
    let t = team();
    let (code, out, err) = outcome(&mut t.iw(&["plan", "--no-diff", "--exit-code"]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("+ session iw-worker on h1"), "{out}");
    assert!(out.contains("+ session iw-lead  (lead)"), "{out}");
    assert!(
        out.contains("+ h1:agents/worker/.claude/settings.json"),
        "{out}"
    );
    let (_, json, _) = outcome(&mut t.iw(&["plan", "--json"]));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let worker = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["session"] == "iw-worker")
        .unwrap();
    assert_eq!(worker["host"], "h1");

    let (code, out, err) = outcome(&mut t.iw(&["apply", "--yes", "--no-diff"]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(t.h1.sessions(), vec!["iw-worker".to_string()]);
    assert_eq!(t.base.sessions(), vec!["iw-lead".to_string()]);
    // The worker's files are on its host only; the hook there runs with the host's root.
    assert!(!t.p.exists("agents/worker/.claude/settings.json"));
    let settings =
        std::fs::read_to_string(t.h1_root().join("agents/worker/.claude/settings.json")).unwrap();
    assert!(settings.contains(&t.h1_root().display().to_string()));
    assert!(t.h1_root().join("state/iw.lock").exists());
    let (code, out, err) = outcome(&mut t.iw(&["plan", "--no-diff", "--exit-code"]));
    assert_eq!(code, 0, "{out}{err}");

    let (code, out, _) = outcome(&mut t.iw(&["session", "list"]));
    assert_eq!(code, 0);
    assert!(out.contains("On host h1:\nSESSION"), "{out}");
    assert!(out.contains("iw-worker"), "{out}");
    let (code, out, err) = outcome(&mut t.iw(&["session", "status", "worker"]));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = outcome(&mut t.iw(&["session", "kill", "worker"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("killed session iw-worker on h1"), "{out}");
    assert!(t.h1.sessions().is_empty());
    let (code, _, _) = outcome(&mut t.iw(&["session", "status", "worker"]));
    assert_eq!(code, 3);
    let (code, out, err) = outcome(&mut t.iw(&["session", "create", "worker"]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(t.h1.sessions(), vec!["iw-worker".to_string()]);
    // Found on its host; attaching then needs a terminal.
    let (code, _, err) = outcome(&mut t.iw(&["session", "attach", "worker"]));
    assert_eq!(code, 1);
    assert!(err.contains("attaching needs a terminal"), "{err}");
}

#[test]
fn an_unreachable_host_fails_the_plan_but_shows_the_rest() {
    let t = team();
    // Without the test links, hosts go through SSH.
    let mut c = t.p.iw();
    c.env_remove("IW_TEST_DIR_HOSTS")
        .args(["plan", "--no-diff"]);
    let (code, out, err) = outcome(&mut c);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("Hosts iw could not reach"), "{out}");
    assert!(out.contains("  ! h1: "), "{out}");
    assert!(out.contains("+ session iw-lead"), "{out}");
    assert!(!out.contains("on h1"), "{out}");
    // Apply makes the changes it could plan, says which host it left alone, and exits 1.
    let mut c = t.p.iw();
    c.env_remove("IW_TEST_DIR_HOSTS")
        .args(["apply", "--yes", "--no-diff"]);
    let (code, out, err) = outcome(&mut c);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("nothing was changed on h1"), "{err}");
    assert_eq!(t.base.sessions(), vec!["iw-lead".to_string()]);
    assert!(t.h1.sessions().is_empty());
    let lock = t.p.read("state/iw.lock");
    assert!(!lock.contains("\"hosts\""), "{lock}");
}

#[test]
fn doctor_checks_each_host() {
    let t = team();
    let (_, out, err) = outcome(&mut t.iw(&["doctor"]));
    assert!(out.contains("h1: dev@h1"), "{out}{err}");
    // The worker's persona is here, not under h1's root: doctor says so, then that it matches.
    t.p.write("docs/agents/worker.md", "You do the work.\n");
    let (_, out, err) = outcome(&mut t.iw(&["doctor"]));
    let line = out
        .lines()
        .find(|l| l.contains("host personas"))
        .unwrap_or_default();
    assert!(
        line.contains("h1: missing there: docs/agents/worker.md"),
        "{out}{err}"
    );
    assert!(out.contains("keep that root a checkout"), "{out}");
    let theirs = t.h1_root().join("docs/agents/worker.md");
    std::fs::create_dir_all(theirs.parent().unwrap()).unwrap();
    std::fs::write(&theirs, "You did the work.\n").unwrap();
    let (_, out, _) = outcome(&mut t.iw(&["doctor"]));
    assert!(
        out.contains("h1: different there: docs/agents/worker.md"),
        "{out}"
    );
    std::fs::write(&theirs, "You do the work.\n").unwrap();
    let (_, out, _) = outcome(&mut t.iw(&["doctor"]));
    assert!(out.contains("h1: 1 persona file(s) as here"), "{out}");
    let mut c = t.p.iw();
    c.args(["doctor"]);
    let (code, out, err) = outcome(&mut c);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("h1: host h1:"), "{out}{err}");
}

#[test]
fn watch_plans_the_agents_on_other_hosts_too() {
    let t = team();
    let (code, out, err) = outcome(&mut t.iw(&["apply", "--yes", "--no-diff"]));
    assert_eq!(code, 0, "{out}{err}");
    // Converged everywhere: iw watch sees no drift (it plans on h1 as `iw plan` does).
    let (code, frame, err) = outcome(&mut t.iw(&["watch", "--once"]));
    assert_eq!(code, 0, "{frame}{err}");
    assert!(!frame.contains("Drift"), "{frame}");
    // Its session there is listed through the host's link.
    let worker = frame.lines().find(|l| l.contains("worker")).unwrap();
    assert!(worker.contains("running"), "{frame}");
    // A file edited on h1 is drift that watch reports.
    let f = t.h1_root().join("agents/worker/.claude/CLAUDE.md");
    std::fs::write(&f, "edited on the host\n").unwrap();
    let (code, frame, err) = outcome(&mut t.iw(&["watch", "--once"]));
    assert_eq!(code, 0, "{frame}{err}");
    assert!(frame.contains("Drift: 1 change(s) pending"), "{frame}");
}

#[test]
fn import_adopts_a_hand_started_session_on_its_host() {
    let t = team();
    let (code, out, err) = outcome(&mut t.iw(&["apply", "--yes", "--no-diff"]));
    assert_eq!(code, 0, "{out}{err}");
    // The worker's session on h1 replaced by one started by hand under its name.
    t.h1.tmux(&["kill-session", "-t", "=iw-worker"]);
    t.h1.tmux(&["new-session", "-d", "-s", "iw-worker", "sleep 1000"]);
    let pid = t.h1.format("iw-worker", "#{pane_pid}");
    let (_, out, err) = outcome(&mut t.iw(&["plan", "--no-diff"]));
    assert!(
        out.contains("exists but iw did not create it"),
        "{out}{err}"
    );

    let (code, out, err) = outcome(&mut t.iw(&["import", "worker"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("imported session iw-worker on h1 as `worker`"),
        "{out}"
    );
    assert!(out.contains("without restarting it"), "{out}");
    let marks =
        t.h1.format("iw-worker", "#{@iw-managed} #{@iw-agent} #{@iw-root}");
    assert_eq!(marks, format!("1 worker {}", t.h1_root().display()));
    assert_eq!(
        t.h1.format("iw-worker", "#{pane_pid}"),
        pid,
        "not restarted"
    );
    // iw's now, as declared on h1: nothing to do, no notice.
    let (code, out, err) = outcome(&mut t.iw(&["plan", "--no-diff", "--exit-code"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("did not create it"), "{out}");
    assert!(!out.contains("iw-worker"), "{out}");
    let (code, out, _) = outcome(&mut t.iw(&["import", "worker"]));
    assert_eq!(code, 0);
    assert!(out.contains("iw-worker on h1 is already managed"), "{out}");

    // Another command is recorded as it is: the plan replaces it there.
    t.h1.tmux(&["kill-session", "-t", "=iw-worker"]);
    t.h1.tmux(&["new-session", "-d", "-s", "iw-worker", "sleep 999"]);
    let (code, out, err) = outcome(&mut t.iw(&["import", "worker"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("differs from sessions.yaml"), "{out}");
    let (code, out, err) = outcome(&mut t.iw(&["plan", "--no-diff", "--exit-code"]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(!out.contains("did not create it"), "{out}");
    assert!(out.contains("session iw-worker on h1"), "{out}");
    assert!(out.contains("sleep 999"), "{out}");
    assert!(!out.contains("iw-lead"), "{out}");
}

#[test]
fn import_of_a_session_missing_on_its_host_or_an_unreachable_host_fails() {
    let t = team();
    let (code, out, err) = outcome(&mut t.iw(&["import", "worker"]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "there is no session `iw-worker` on socket `{}` on host h1 to import",
            t.base.socket
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("ssh dev@h1 tmux -L {} new-session", t.base.socket)),
        "{err}"
    );
    assert!(t.h1.sessions().is_empty());
    // Without the test links, h1 goes through SSH, and cannot be reached.
    let mut c = t.p.iw();
    c.env_remove("IW_TEST_DIR_HOSTS").args(["import", "worker"]);
    let (code, out, err) = outcome(&mut c);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("host h1 cannot be reached"), "{err}");
}
