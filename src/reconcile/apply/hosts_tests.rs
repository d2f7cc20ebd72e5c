//! Plan and apply across two fake hosts ([`crate::remote::DirLink`]: directories here, with
//! this machine's tmux on private sockets `iw-test-…-<host>`, killed at the end).

use std::path::{Path, PathBuf};

use super::apply_on;
use crate::project::Project;
use crate::reconcile::hosts::Links;
use crate::reconcile::lock::LockFile;
use crate::reconcile::plan::{Action, Change, Drift, Plan, Selection};
use crate::remote::{DirLink, HostLink, Target};
use crate::tmux::{Servers, System, Tmux};

const REGISTRY: &str = "agents:
  lead: {name: lead, display_name: Lead, description: Leads, model: opus, tools: [Read, Task], delegates_to: [worker]}
  worker: {name: worker, display_name: Worker, description: Works, model: sonnet, tools: [Read]}
";

/// A project with two fake hosts; kills the tmux servers it used when dropped.
struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    socket: String,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for s in [
            self.socket.clone(),
            format!("{}-h1", self.socket),
            format!("{}-h2", self.socket),
        ] {
            let _ = Tmux::new(&s).run(&[crate::tmux::TmuxCmd::new("kill-server")]);
        }
    }
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap().join("p");
        std::fs::create_dir_all(root.join("agents")).unwrap();
        std::fs::write(root.join("agents/registry.yaml"), REGISTRY).unwrap();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let socket = format!("iw-test-{}-hosts-{nanos}", std::process::id());
        Fixture {
            _dir: dir,
            root,
            socket,
        }
    }

    fn host_root(&self, h: &str) -> PathBuf {
        self.root.parent().unwrap().join(h)
    }

    /// Writes sessions.yaml with these `sessions:` lines and loads the project.
    fn project(&self, sessions: &str) -> Project {
        let yaml = format!(
            "socket: {}\ncheck_for: 0s\nhosts:\n  h1: {{ssh: dev@h1, root: {}}}\n  h2: {{ssh: dev@h2, root: {}}}\nsessions:\n{sessions}",
            self.socket,
            self.host_root("h1").display(),
            self.host_root("h2").display()
        );
        std::fs::write(self.root.join("sessions.yaml"), yaml).unwrap();
        Project::load(&self.root).unwrap()
    }

    fn links(&self, p: &Project, down: &[&str]) -> Links {
        let targets = Links::targets(p, LockFile::read(&p.root).unwrap().as_ref());
        Links::connect(&targets, |ts: &[Target]| {
            ts.iter()
                .map(|t| {
                    if down.contains(&t.name.as_str()) {
                        Err(crate::support::Error::msg("connection refused"))
                    } else {
                        Ok(Box::new(DirLink::new(t.clone())) as Box<dyn HostLink>)
                    }
                })
                .collect()
        })
    }

    fn plan(&self, p: &Project, links: &Links) -> Plan {
        let lock = LockFile::read(&p.root).unwrap();
        crate::reconcile::compute_with(p, lock, &Selection::default(), links).unwrap()
    }

    fn converge(&self, p: &Project, links: &Links) -> Plan {
        let plan = self.plan(p, links);
        apply_on(p, &plan, &System, links, |_| {}).unwrap();
        plan
    }

    fn sessions_on(&self, host: &str) -> Vec<String> {
        let l = DirLink::new(Target {
            name: host.into(),
            destination: String::new(),
            root: self.host_root(host),
            ssh_args: Vec::new(),
        });
        l.list(&self.socket)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect()
    }
}

fn summary(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|c| match c {
            Change::File(f) => format!("{} {}", f.action.symbol(), f.display_path()),
            Change::Session(s) => format!("{} session {}", s.action.symbol(), s.display_name()),
        })
        .collect()
}

#[test]
fn converges_across_two_hosts_and_moves_an_agent_between_them() {
    let f = Fixture::new();
    let p = f.project(
        "  worker: {host: h1, command: sleep 100}\n  lead: {host: h2, command: sleep 100}\n",
    );
    let links = f.links(&p, &[]);
    let plan = f.converge(&p, &links);
    let s = summary(&plan);
    assert!(
        s.contains(&"+ h1:agents/worker/.claude/settings.json".to_string()),
        "{s:?}"
    );
    assert!(
        s.contains(&"+ h2:agents/lead/.claude/iw-policy.json".to_string()),
        "{s:?}"
    );
    // Delegates start first, across hosts.
    let starts: Vec<&String> = s.iter().filter(|l| l.contains("session")).collect();
    assert_eq!(
        starts,
        [
            &"+ session iw-worker on h1".to_string(),
            &"+ session iw-lead on h2".to_string()
        ]
    );
    // Files live on their host only; each host's lockfile records its own files.
    assert!(!f.root.join("agents/worker/.claude").exists());
    let h1 = f.host_root("h1");
    let settings = std::fs::read_to_string(h1.join("agents/worker/.claude/settings.json")).unwrap();
    assert!(settings.contains(&h1.display().to_string()), "{settings}");
    let host_lock = LockFile::read(&h1).unwrap().unwrap();
    assert!(
        host_lock
            .files
            .contains_key("agents/worker/.claude/iw-policy.json")
    );
    assert!(!host_lock.files.keys().any(|k| k.contains("lead")));
    let lock = LockFile::read(&f.root).unwrap().unwrap();
    assert!(lock.files.is_empty());
    assert_eq!(lock.hosts["h1"].files, host_lock.files);
    assert_eq!(lock.hosts["h1"].sockets, vec![f.socket.clone()]);
    assert_eq!(lock.noop, None);
    assert_eq!(f.sessions_on("h1"), vec!["iw-worker".to_string()]);
    assert_eq!(f.sessions_on("h2"), vec!["iw-lead".to_string()]);

    // Nothing to do the second time.
    let again = f.plan(&p, &links);
    assert!(again.is_empty(), "{:?}", summary(&again));

    // The host's lockfile deleted: its hook would trust no policy, so the policy is recorded
    // there again.
    std::fs::remove_file(h1.join("state/iw.lock")).unwrap();
    let plan = f.plan(&p, &links);
    assert_eq!(
        summary(&plan),
        vec!["~ h1:agents/worker/.claude/iw-policy.json".to_string()]
    );
    let Change::File(c) = &plan.changes[0] else {
        unreachable!()
    };
    assert_eq!(c.drift, Some(Drift::NotRecorded));
    assert!(!c.security.is_empty());
    apply_on(&p, &plan, &System, &links, |_| {}).unwrap();
    assert_eq!(LockFile::read(&h1).unwrap().unwrap().files, host_lock.files);
    assert!(f.plan(&p, &links).is_empty());

    // A file edited on a host: modified outside iw, backed up there.
    let edited = h1.join("agents/worker/.claude/CLAUDE.md");
    std::fs::write(&edited, "mine\n").unwrap();
    let plan = f.plan(&p, &links);
    let Change::File(c) = &plan.changes[0] else {
        panic!("{:?}", summary(&plan))
    };
    assert_eq!(
        (c.action, c.drift, c.backup),
        (Action::Update, Some(Drift::ModifiedOutsideIw), true)
    );
    let report = apply_on(&p, &plan, &System, &links, |_| {}).unwrap();
    let backup = report.applied[0].backup.clone().unwrap();
    let rel = backup.strip_prefix("h1:").unwrap();
    assert_eq!(std::fs::read_to_string(h1.join(rel)).unwrap(), "mine\n");

    // The worker moves to h2: stopped on h1, started on h2, its files moved.
    let p = f.project(
        "  worker: {host: h2, command: sleep 100}\n  lead: {host: h2, command: sleep 100}\n",
    );
    let plan = f.converge(&p, &links);
    let s = summary(&plan);
    assert!(
        s.contains(&"- session iw-worker on h1".to_string()),
        "{s:?}"
    );
    assert!(
        s.contains(&"+ session iw-worker on h2".to_string()),
        "{s:?}"
    );
    assert!(
        s.contains(&"- h1:agents/worker/.claude/settings.json".to_string()),
        "{s:?}"
    );
    assert!(f.sessions_on("h1").is_empty());
    let mut on_h2 = f.sessions_on("h2");
    on_h2.sort();
    assert_eq!(on_h2, vec!["iw-lead".to_string(), "iw-worker".to_string()]);
    assert!(f.plan(&p, &links).is_empty());
}

#[test]
fn an_unreachable_host_is_reported_and_left_alone() {
    let f = Fixture::new();
    let p = f.project(
        "  worker: {host: h1, command: sleep 100}\n  lead: {host: h2, command: sleep 100}\n",
    );
    let links = f.links(&p, &["h2"]);
    let plan = f.plan(&p, &links);
    assert_eq!(plan.unreachable.len(), 1);
    assert_eq!(plan.unreachable[0].host, "h2");
    assert!(plan.unreachable[0].reason.contains("connection refused"));
    let s = summary(&plan);
    assert!(
        s.contains(&"+ session iw-worker on h1".to_string()),
        "{s:?}"
    );
    assert!(!s.iter().any(|l| l.contains("h2")), "{s:?}");
    apply_on(&p, &plan, &System, &links, |_| {}).unwrap();
    let lock = LockFile::read(&f.root).unwrap().unwrap();
    assert!(lock.hosts.contains_key("h1"));
    assert!(!lock.hosts.contains_key("h2"));
    assert!(!Path::new(&f.host_root("h2")).exists());
    // Reachable again: planned as usual.
    let links = f.links(&p, &[]);
    let s = summary(&f.plan(&p, &links));
    assert!(s.contains(&"+ session iw-lead on h2".to_string()), "{s:?}");
}

#[test]
fn a_host_removed_from_sessions_yaml_is_emptied_then_forgotten() {
    let f = Fixture::new();
    let p = f.project(
        "  worker: {host: h1, command: sleep 100}\n  lead: {host: h2, command: sleep 100}\n",
    );
    f.converge(&p, &f.links(&p, &[]));
    // h2 leaves sessions.yaml: the lockfile still knows how to reach it.
    let yaml = format!(
        "socket: {}\ncheck_for: 0s\nhosts:\n  h1: {{ssh: dev@h1, root: {}}}\nsessions:\n  worker: {{host: h1, command: sleep 100}}\n",
        f.socket,
        f.host_root("h1").display()
    );
    std::fs::write(f.root.join("sessions.yaml"), yaml).unwrap();
    let p = Project::load(&f.root).unwrap();
    // Unreachable, it is said so and kept in the lockfile.
    let down = f.links(&p, &["h2"]);
    let plan = f.plan(&p, &down);
    assert_eq!(plan.unreachable[0].host, "h2");
    apply_on(&p, &plan, &System, &down, |_| {}).unwrap();
    assert!(
        LockFile::read(&f.root)
            .unwrap()
            .unwrap()
            .hosts
            .contains_key("h2")
    );
    // Reachable: its session is stopped and its files removed, then it is forgotten.
    let links = f.links(&p, &[]);
    let plan = f.converge(&p, &links);
    let stop = plan.changes.iter().find_map(|c| match c {
        Change::Session(s) => Some(s),
        _ => None,
    });
    let stop = stop.unwrap();
    assert_eq!(stop.display_name(), "iw-lead on h2");
    assert_eq!(stop.reason, "host `h2` is no longer in sessions.yaml");
    assert!(f.sessions_on("h2").is_empty());
    assert!(
        !f.host_root("h2")
            .join("agents/lead/.claude/CLAUDE.md")
            .exists()
    );
    assert!(
        !LockFile::read(&f.root)
            .unwrap()
            .unwrap()
            .hosts
            .contains_key("h2")
    );
    assert!(f.plan(&p, &f.links(&p, &[])).is_empty());
}

#[test]
fn a_declared_host_without_sessions_is_left_untouched() {
    let f = Fixture::new();
    let p = f.project("  worker: {host: h1, command: sleep 100}\n  lead: {command: sleep 100}\n");
    let links = f.links(&p, &[]);
    f.converge(&p, &links);
    assert!(!f.host_root("h2").exists());
    let lock = LockFile::read(&f.root).unwrap().unwrap();
    assert!(!lock.hosts.contains_key("h2"));
    // The local agent's files are here, the remote one's are not.
    assert!(f.root.join("agents/lead/.claude/settings.json").exists());
    assert!(!f.root.join("agents/worker/.claude").exists());
    assert!(f.plan(&p, &links).is_empty());
}

#[test]
fn a_failed_write_on_a_host_is_recorded_exactly() {
    let f = Fixture::new();
    let p = f.project("  worker: {host: h1, command: sleep 100}\n");
    let links = f.links(&p, &[]);
    // A file where the agent's `.claude` directory should be: every write under it fails.
    let h1 = f.host_root("h1");
    std::fs::create_dir_all(h1.join("agents/worker")).unwrap();
    std::fs::write(h1.join("agents/worker/.claude"), "not a directory").unwrap();
    let plan = f.plan(&p, &links);
    let err = apply_on(&p, &plan, &System, &links, |_| {}).unwrap_err();
    assert!(!err.to_string().is_empty());
    assert!(
        f.sessions_on("h1").is_empty(),
        "no session starts after a failed write"
    );
    let lock = LockFile::read(&f.root).unwrap().unwrap();
    let recorded: Vec<&String> = lock
        .hosts
        .get("h1")
        .map(|h| h.files.keys().collect())
        .unwrap_or_default();
    assert!(recorded.is_empty(), "{recorded:?}");
    // Fixed on the host: the next apply converges.
    std::fs::remove_file(h1.join("agents/worker/.claude")).unwrap();
    f.converge(&p, &links);
    assert_eq!(f.sessions_on("h1"), vec!["iw-worker".to_string()]);
    assert!(f.plan(&p, &links).is_empty());
}

#[test]
fn claude_code_on_another_host_is_waited_for_until_it_reports() {
    use std::os::unix::fs::PermissionsExt as _;
    let f = Fixture::new();
    // A stand-in for Claude Code: reports SessionStart through the record iw's status hook
    // writes (stamped with a clock far in the past: no clocks are compared across hosts).
    let bin = f.root.parent().unwrap().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("claude");
    std::fs::write(
        &script,
        "#!/bin/sh\nsleep 0.3\nmkdir -p \"$IW_ROOT/state/activity\"\nprintf '%s' '{\"agent\":\"worker\",\"state\":\"idle\",\"event\":\"SessionStart\",\"message\":null,\"session_id\":\"s\",\"at_ms\":1}' > \"$IW_ROOT/state/activity/worker.json\"\nexec sleep 100\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let yaml = format!(
        "socket: {}\ncheck_for: 0s\nready_timeout: 20s\nhosts:\n  h1: {{ssh: dev@h1, root: {}}}\nsessions:\n  worker: {{host: h1, command: claude, env: {{PATH: '{}:/usr/bin:/bin'}}}}\n",
        f.socket,
        f.host_root("h1").display(),
        bin.display()
    );
    std::fs::write(f.root.join("sessions.yaml"), yaml).unwrap();
    let p = Project::load(&f.root).unwrap();
    let links = f.links(&p, &[]);
    let plan = f.plan(&p, &links);
    assert!(plan.claude_setup.is_empty(), "{:?}", plan.claude_setup);
    let report = apply_on(&p, &plan, &System, &links, |_| {}).unwrap();
    let started = report
        .applied
        .iter()
        .find(|a| a.resource == "session iw-worker on h1")
        .unwrap();
    let detail = started.detail.clone().unwrap_or_default();
    assert!(detail.starts_with("ready in "), "{detail}");
}

#[test]
fn a_host_at_a_new_root_is_a_new_place() {
    let f = Fixture::new();
    let p = f.project("  worker: {host: h1, command: sleep 100}\n");
    f.converge(&p, &f.links(&p, &[]));
    let old = f.host_root("h1");
    let new = f.host_root("h1-new");
    let yaml = std::fs::read_to_string(f.root.join("sessions.yaml"))
        .unwrap()
        .replace(&old.display().to_string(), &new.display().to_string());
    std::fs::write(f.root.join("sessions.yaml"), yaml).unwrap();
    let p = Project::load(&f.root).unwrap();
    let links = f.links(&p, &[]);
    let plan = f.plan(&p, &links);
    assert!(
        plan.notices
            .iter()
            .any(|n| n.kind == crate::reconcile::plan::NoticeKind::HostMoved),
        "{:?}",
        plan.notices
    );
    // Nothing is deleted at the old place; everything is created at the new one.
    assert!(plan.changes.iter().all(|c| c.action() != Action::Delete));
    assert!(summary(&plan).contains(&"+ h1:agents/worker/.claude/CLAUDE.md".to_string()));
    apply_on(&p, &plan, &System, &links, |_| {}).unwrap();
    assert!(old.join("agents/worker/.claude/CLAUDE.md").exists());
    assert!(new.join("agents/worker/.claude/CLAUDE.md").exists());
    let lock = LockFile::read(&f.root).unwrap().unwrap();
    assert_eq!(lock.hosts["h1"].root, new);
    assert!(
        f.plan(&p, &links)
            .notices
            .iter()
            .all(|n| n.kind != crate::reconcile::plan::NoticeKind::HostMoved)
    );
}
