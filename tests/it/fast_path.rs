//! The no-op fast path of `iw plan` with sessions: after a complete apply it proves an empty
//! plan from the lockfile and one `tmux list-sessions` per socket; after any edit (of files,
//! inputs or live sessions, on real tmux) it agrees with the full plan (`IW_NO_FAST_PATH=1`).

use proptest::prelude::*;
use serde_json::Value;

use crate::common::{SMALL, TempProject, TmuxServer};

/// The project: `lead` and `worker` on a private server, `worker` also for a tenant on another.
struct Team {
    p: TempProject,
    base: TmuxServer,
    prod: TmuxServer,
    sessions: String,
}

impl Team {
    fn new() -> Team {
        let p = TempProject::with_registry(SMALL);
        let (base, prod) = (TmuxServer::new(), TmuxServer::new());
        let sessions = format!(
            "socket: {}\ncommand: sleep 1000\ncheck_for: 0s\nsessions:\n  lead: {{}}\n  worker: {{}}\n\
             tenants:\n  prod:\n    agents: [worker]\n    socket: {}\n",
            base.socket, prod.socket
        );
        p.write("sessions.yaml", &sessions);
        Team {
            p,
            base,
            prod,
            sessions,
        }
    }

    /// The plan as JSON, by the fast path when it can (`full`: never).
    fn plan(&self, full: bool) -> Value {
        let mut c = self.p.iw();
        c.args(["plan", "--json"]);
        if full {
            c.env("IW_NO_FAST_PATH", "1");
        }
        crate::common::json_stdout(&mut c)
    }

    /// Back to the declared state: every session gone (others', renamed, foreign), inputs
    /// restored, then applied.
    fn reset(&self) {
        for srv in [&self.base, &self.prod] {
            for name in srv.sessions() {
                srv.tmux(&["kill-session", "-t", &format!("={name}")]);
            }
        }
        self.p.write("agents/registry.yaml", SMALL);
        self.p.write("sessions.yaml", &self.sessions);
        self.p.apply();
    }
}

/// One thing a person (or a crash) might do between two plans.
#[derive(Debug, Clone)]
enum Edit {
    KillSession(usize),
    KillPaneProcess(usize),
    ForeignUnderDeclaredName(usize),
    UnrelatedSession,
    Rename(usize),
    SetHash(usize),
    SessionsCommand,
    SessionsComment,
    RegistryDescription,
    RegistryComment,
    AppendToFile(usize),
    DeleteFile(usize),
    RewriteSameContent(usize),
}

/// The live sessions, on (server, name).
const SESSIONS: [(usize, &str); 3] = [(0, "iw-lead"), (0, "iw-worker"), (1, "iw-prod-worker")];
const FILES: [&str; 3] = [
    "agents/lead/.claude/settings.json",
    "agents/worker/.claude/CLAUDE.md",
    "agents/worker/.claude/iw-policy.json",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..3usize).prop_map(Edit::KillSession),
        (0..3usize).prop_map(Edit::KillPaneProcess),
        (0..3usize).prop_map(Edit::ForeignUnderDeclaredName),
        Just(Edit::UnrelatedSession),
        (0..3usize).prop_map(Edit::Rename),
        (0..3usize).prop_map(Edit::SetHash),
        Just(Edit::SessionsCommand),
        Just(Edit::SessionsComment),
        Just(Edit::RegistryDescription),
        Just(Edit::RegistryComment),
        (0..3usize).prop_map(Edit::AppendToFile),
        (0..3usize).prop_map(Edit::DeleteFile),
        (0..3usize).prop_map(Edit::RewriteSameContent),
    ]
}

impl Team {
    fn server(&self, i: usize) -> (&TmuxServer, &str) {
        let (srv, name) = SESSIONS[i];
        (if srv == 0 { &self.base } else { &self.prod }, name)
    }

    /// Carries `e` out (quietly skipping what no longer applies, e.g. a session already gone).
    fn apply_edit(&self, e: &Edit) {
        let file = |i: usize| FILES[i];
        match e {
            Edit::KillSession(i) => {
                let (srv, name) = self.server(*i);
                srv.run(&["kill-session", "-t", &format!("={name}:")]);
            }
            Edit::KillPaneProcess(i) => {
                let (srv, name) = self.server(*i);
                let pid = srv
                    .sessions()
                    .contains(&name.to_string())
                    .then(|| srv.format(name, "#{pane_pid}"));
                if let Some(pid) = pid.filter(|p| !p.is_empty()) {
                    let _ = std::process::Command::new("kill").arg(pid).status();
                    srv.wait_pane_dead(name);
                }
            }
            Edit::ForeignUnderDeclaredName(i) => {
                let (srv, name) = self.server(*i);
                srv.run(&["kill-session", "-t", &format!("={name}:")]);
                srv.run(&["new-session", "-d", "-s", name, "sleep 1000"]);
            }
            Edit::UnrelatedSession => {
                self.base
                    .run(&["new-session", "-d", "-s", "someone-else", "sleep 1000"]);
            }
            Edit::Rename(i) => {
                let (srv, name) = self.server(*i);
                srv.run(&[
                    "rename-session",
                    "-t",
                    &format!("={name}:"),
                    &format!("{name}-x"),
                ]);
            }
            Edit::SetHash(i) => {
                let (srv, name) = self.server(*i);
                srv.run(&["set-option", "-t", &format!("={name}:"), "@iw-hash", "0"]);
            }
            Edit::SessionsCommand => {
                let s = self.p.read("sessions.yaml");
                self.p
                    .write("sessions.yaml", &s.replace("sleep 1000", "sleep 1001"));
            }
            Edit::SessionsComment => {
                let s = self.p.read("sessions.yaml");
                self.p.write("sessions.yaml", &format!("{s}# a comment\n"));
            }
            Edit::RegistryDescription => {
                let r = self.p.read("agents/registry.yaml");
                let r = r.replace("Does the work", "Does other work");
                self.p.write("agents/registry.yaml", &r);
            }
            Edit::RegistryComment => {
                let r = self.p.read("agents/registry.yaml");
                self.p
                    .write("agents/registry.yaml", &format!("{r}# a comment\n"));
            }
            Edit::AppendToFile(i) => {
                if self.p.exists(file(*i)) {
                    let c = self.p.read(file(*i));
                    self.p.write(file(*i), &format!("{c} "));
                }
            }
            Edit::DeleteFile(i) => {
                let _ = std::fs::remove_file(self.p.path().join(file(*i)));
            }
            Edit::RewriteSameContent(i) => {
                if self.p.exists(file(*i)) {
                    let c = self.p.read(file(*i));
                    self.p.write(file(*i), &c);
                }
            }
        }
    }
}

/// The plan without the field that says which path computed it.
fn comparable(mut doc: Value) -> Value {
    doc.as_object_mut().unwrap().remove("noop_from_lock");
    doc
}

#[test]
fn after_a_complete_apply_the_plan_with_sessions_is_proven_by_the_lockfile() {
    let t = Team::new();
    t.p.apply();
    let fast = t.plan(false);
    assert_eq!(fast["noop_from_lock"], true, "{fast:#}");
    assert_eq!(fast["changed"], false);
    assert_eq!(comparable(fast), comparable(t.plan(true)));
    // A file written again with the same content: its identity changed, so it is read, and the
    // proof still holds.
    t.apply_edit(&Edit::RewriteSameContent(2));
    assert_eq!(t.plan(false)["noop_from_lock"], true);
    // An edit that keeps the size and puts the modification time back: the change time (which
    // no one can set) gives it away.
    let path = t.p.path().join(FILES[1]);
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let text = t.p.read(FILES[1]);
    let flipped: String = text.chars().rev().collect();
    assert_eq!(flipped.len(), text.len());
    t.p.write(FILES[1], &flipped);
    let f = std::fs::File::options().append(true).open(&path).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    let after = t.plan(false);
    assert_eq!(after["noop_from_lock"], false);
    assert_eq!(after["changed"], true);
    t.reset();
    // What the proof rests on, each alone: the full plan is taken and shows the change.
    for e in [
        Edit::KillSession(2),
        Edit::Rename(0),
        Edit::SetHash(1),
        Edit::KillPaneProcess(0),
        Edit::SessionsComment,
        Edit::AppendToFile(1),
    ] {
        t.reset();
        assert_eq!(t.plan(false)["noop_from_lock"], true, "before {e:?}");
        t.apply_edit(&e);
        let after = t.plan(false);
        assert_eq!(after["noop_from_lock"], false, "{e:?}");
        let changed = !matches!(e, Edit::SessionsComment);
        assert_eq!(after["changed"], changed, "{e:?}: {after:#}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_fast_path_and_the_full_plan_agree_after_any_edits(edits in prop::collection::vec(edit(), 1..4)) {
        thread_local! {
            static TEAM: Team = Team::new();
        }
        TEAM.with(|t| {
            t.reset();
            let proven = t.plan(false);
            prop_assert_eq!(&proven["noop_from_lock"], &Value::Bool(true), "after reset: {:#}", proven);
            for e in &edits {
                t.apply_edit(e);
            }
            let fast = t.plan(false);
            let full = t.plan(true);
            if fast["noop_from_lock"] == Value::Bool(true) {
                prop_assert_eq!(&full["changed"], &Value::Bool(false), "fast path hid changes after {:?}: {:#}", edits, full);
            }
            prop_assert_eq!(comparable(fast), comparable(full), "after {:?}", edits);
            Ok(())
        })?;
    }
}

/// The fast path asks a local server through its socket (`iw::tmux::wire`), without a tmux
/// client: it must read exactly what the client prints, over several reads (a 40 KB answer),
/// and step aside (`None`, so the client runs instead) on anything but a clean success.
#[test]
#[cfg(target_os = "linux")]
fn a_server_asked_through_its_socket_answers_what_its_client_prints() {
    use iw::tmux::wire;
    let srv = TmuxServer::new();
    let ask = |socket: &str, argv: &[&str]| match wire::send(socket, argv)? {
        wire::Sent::Pending(p) => p.finish(),
        wire::Sent::NoServer => panic!("no server on {socket}"),
    };
    // No server yet: said without a client, as the client says it (and runs nothing).
    let client_says = || {
        let out = std::process::Command::new("tmux")
            .args(["-u", "-L", &srv.socket, "list-sessions"])
            .env_remove("TMUX")
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // (The client first: it makes tmux's socket directory, where there was none.)
    assert!(client_says().contains("error connecting to"));
    assert!(matches!(
        wire::send(&srv.socket, &["list-sessions"]),
        Some(wire::Sent::NoServer)
    ));
    // A socket left behind with nothing accepting on it (a server killed with SIGKILL).
    let path = wire::socket_path(&srv.socket).expect("tmux's socket directory exists");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(matches!(
        wire::send(&srv.socket, &["list-sessions"]),
        Some(wire::Sent::NoServer)
    ));
    assert!(client_says().contains("no server running"));
    std::fs::remove_file(&path).unwrap();
    let long = format!("{{\"note\":\"é ✓ {}\"}}", "x".repeat(10_000));
    for name in ["iw-a", "iw-b", "iw-ç", "iw-d"] {
        srv.tmux(&["new-session", "-d", "-s", name, "sleep 1000"]);
        srv.tmux(&["set-option", "-t", &format!("={name}:"), "@iw-spec", &long]);
    }
    srv.tmux(&["set-option", "-t", "=iw-b:", "@iw-hash", "tab\there"]);
    let format = "#{session_name}\t#{@iw-hash}\t#{pane_dead}\t#{@iw-spec}";
    let client = std::process::Command::new("tmux")
        .args(["-u", "-L", &srv.socket, "list-sessions", "-F", format])
        .env_remove("TMUX")
        .output()
        .unwrap();
    assert!(client.status.success());
    assert!(client.stdout.len() > 40_000);
    let direct = ask(&srv.socket, &["list-sessions", "-F", format]);
    assert_eq!(direct.as_deref(), Some(client.stdout.as_slice()));
    // One line of output (tmux sends it only once the client said it may write).
    let one = ask(
        &srv.socket,
        &["display-message", "-p", "-t", "=iw-a:", "#{session_name}"],
    );
    assert_eq!(one.as_deref(), Some(&b"iw-a\n"[..]));
    // An error (stderr, non-zero status) and a command that prints nothing.
    assert_eq!(ask(&srv.socket, &["has-session", "-t", "=nope"]), None);
    assert_eq!(ask(&srv.socket, &["no-such-command"]), None);
    assert_eq!(
        ask(&srv.socket, &["has-session", "-t", "=iw-a"]),
        Some(Vec::new())
    );
    // Unanswered questions, the connection dropped: the server carries on.
    for _ in 0..3 {
        drop(wire::send(&srv.socket, &["list-sessions"]));
    }
    assert_eq!(srv.sessions().len(), 4);
    assert_eq!(ask(&srv.socket, &["list-sessions", "-F", format]), direct);
}

/// A registry that last changed more than a second before an apply is vouched for by the stat
/// cache (a no-op plan need not read it); an edit afterwards, of the same size and with its old
/// modification time put back, is still noticed: its change time moved, also when the cache
/// is newer than the edit.
#[test]
fn the_stat_cache_vouches_for_a_settled_registry_and_an_edit_is_still_seen() {
    let p = TempProject::with_registry(SMALL);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    p.apply();
    let cache = p.read("state/iw.stat");
    assert!(
        cache.lines().any(|l| l.ends_with("\tagents/registry.yaml")),
        "{cache}"
    );
    assert_eq!(p.plan_json(&[])["noop_from_lock"], true);

    let path = p.path().join("agents/registry.yaml");
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    let text = p.read("agents/registry.yaml");
    let edited = text.replacen("Leads the work", "Leads the team", 1);
    assert_ne!(edited, text);
    assert_eq!(edited.len(), text.len());
    p.write("agents/registry.yaml", &edited);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(before)
        .unwrap();
    let plan = p.plan_json(&[]);
    assert_eq!(plan["noop_from_lock"], false, "{plan:#}");
    // As if the edit had been made while that apply ran, before it wrote the cache: the cache
    // is newer than the edit, and only the registry's identity tells.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(10);
    std::fs::File::options()
        .write(true)
        .open(p.path().join("state/iw.stat"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let plan = p.plan_json(&[]);
    assert_eq!(plan["noop_from_lock"], false, "{plan:#}");
    assert!(!plan["changes"].as_array().unwrap().is_empty(), "{plan:#}");
}

/// sessions.yaml declares no session, and no server runs on its socket: the no-op plan hears
/// "no server" at the socket itself and runs no tmux client (a `tmux` on the PATH that logs its
/// calls sees none), and still proves the plan empty.
#[test]
#[cfg(target_os = "linux")]
fn with_no_server_the_no_op_plan_runs_no_tmux_client() {
    let p = TempProject::with_registry(SMALL);
    let srv = TmuxServer::new();
    p.write(
        "sessions.yaml",
        &format!("socket: {}\nsessions: {{}}\n", srv.socket),
    );
    let path = std::env::var_os("PATH").unwrap_or_default();
    let real = std::env::split_paths(&path)
        .map(|d| d.join("tmux"))
        .find(|t| t.is_file())
        .expect("tmux is installed");
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("calls");
    crate::common::logging_tmux(&bin.path().join("tmux"), &log, &real);
    let mut paths = vec![bin.path().to_path_buf()];
    paths.extend(std::env::split_paths(&path));
    let path = std::env::join_paths(paths).unwrap();
    p.iw()
        .args(["apply", "--yes"])
        .env("PATH", &path)
        .assert()
        .success();
    // tmux's socket directory exists (a client makes it), as on any machine tmux ran on.
    assert!(srv.sessions().is_empty());
    let _ = std::fs::remove_file(&log);
    let plan = crate::common::json_stdout(p.iw().args(["plan", "--json"]).env("PATH", &path));
    assert_eq!(plan["noop_from_lock"], true, "{plan:#}");
    assert_eq!(plan["changed"], false);
    assert!(
        !log.exists(),
        "tmux was run: {}",
        std::fs::read_to_string(&log).unwrap()
    );
    // The shim itself works: the full plan asks the client.
    let full = crate::common::json_stdout(
        p.iw()
            .args(["plan", "--json"])
            .env("PATH", &path)
            .env("IW_NO_FAST_PATH", "1"),
    );
    assert_eq!(full["changed"], false);
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("list-sessions")
    );
}
