//! Shared helpers for the integration tests: temp projects and the real `iw` binary.
#![allow(dead_code)]

pub mod case;
pub mod claude;
pub mod sshd;

pub use case::Case;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary project directory, removed when dropped.
pub struct TempProject {
    pub dir: tempfile::TempDir,
}

impl TempProject {
    /// A copy of `examples/<name>` (registry and templates only, never generated files).
    pub fn example(name: &str) -> TempProject {
        let t = TempProject::empty();
        let src = repo().join("examples").join(name);
        copy_file(
            &src.join("agents/registry.yaml"),
            &t.path().join("agents/registry.yaml"),
        );
        if src.join("templates").is_dir() {
            for e in std::fs::read_dir(src.join("templates")).unwrap() {
                let e = e.unwrap();
                copy_file(&e.path(), &t.path().join("templates").join(e.file_name()));
            }
        }
        t
    }

    /// A project whose registry is `yaml`.
    pub fn with_registry(yaml: &str) -> TempProject {
        let t = TempProject::empty();
        t.write("agents/registry.yaml", yaml);
        t
    }

    /// An empty directory.
    pub fn empty() -> TempProject {
        TempProject {
            dir: tempfile::Builder::new()
                .prefix("iw-test-")
                .tempdir()
                .unwrap(),
        }
    }

    /// The project root (canonical, as iw sees it).
    pub fn path(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    /// `iw -C <root>` with colours off.
    pub fn iw(&self) -> Command {
        let mut c = iw();
        c.arg("-C").arg(self.path());
        c
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path().join(rel).exists()
    }

    /// Edits the registry with a string replacement (which must match).
    pub fn edit_registry(&self, from: &str, to: &str) {
        let r = self.read("agents/registry.yaml");
        assert!(r.contains(from), "registry does not contain {from:?}");
        self.write("agents/registry.yaml", &r.replacen(from, to, 1));
    }

    /// Every file under the project, relative, sorted, with contents.
    pub fn snapshot(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        walk(&self.path(), &self.path(), &mut out);
        out.sort();
        out
    }

    /// `iw apply --yes`, asserting success.
    pub fn apply(&self) -> String {
        let out = self
            .iw()
            .args(["apply", "--yes", "--no-diff"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "apply failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Exit code of `iw plan --exit-code`.
    pub fn plan_code(&self) -> i32 {
        self.iw()
            .args(["plan", "--exit-code", "--no-diff"])
            .output()
            .unwrap()
            .status
            .code()
            .unwrap()
    }

    /// `iw plan --json` parsed.
    pub fn plan_json(&self, extra: &[&str]) -> serde_json::Value {
        json_stdout(self.iw().args(["plan", "--json"]).args(extra))
    }
}

/// Runs `c`, asserts that it succeeded (showing its stderr if not) and parses its stdout as JSON.
/// Runs `c` to the end: (exit code, -1 if killed by a signal; stdout; stderr).
pub fn outcome(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn json_stdout(c: &mut Command) -> serde_json::Value {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            out.push((
                p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
            ));
        }
    }
}

fn copy_file(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
}

/// Writes an executable `script` that appends each call's arguments to `log`, a line per call,
/// then runs `real` (a tmux, or its name on the PATH) with them: for tests that count tmux
/// calls, or rule them out.
pub fn logging_tmux(script: &Path, log: &Path, real: &Path) {
    std::fs::write(
        script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A copy of the `iw` binary in a directory of its own (so that a test can move, replace or
/// touch it), and the copy's path.
pub fn copied_iw() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("iw");
    std::fs::copy(assert_cmd::cargo::cargo_bin!("iw"), &bin).unwrap();
    (dir, bin)
}

/// Runs `bin ARGS` in the project `root` and asserts that it succeeded. A binary copied a moment
/// ago can fail to start with ETXTBSY while another test thread's fork still holds the copy's
/// write descriptor (until its exec): that is retried.
pub fn run_ok(bin: &Path, root: &Path, args: &[&str]) -> std::process::Output {
    let mut tries = 0;
    let out = loop {
        match std::process::Command::new(bin)
            .arg("-C")
            .arg(root)
            .args(args)
            .env("NO_COLOR", "1")
            .output()
        {
            Err(e) if e.raw_os_error() == Some(26) && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The `iw` binary with colours off.
pub fn iw() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("iw"));
    c.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    // As if run by a person, not from inside an agent's session or run.
    for v in ["IW_AGENT", "IW_ROOT", "IW_RUN_ID"] {
        c.env_remove(v);
    }
    c
}

/// A small valid registry: `lead` delegates to `worker`.
pub const SMALL: &str = "agents:
  lead:
    name: lead
    display_name: Lead
    description: Leads the work
    model: opus
    tools: [Read, Glob, Grep, Task]
    delegates_to: [worker]
    cannot_access: [src/**]
  worker:
    name: worker
    display_name: Worker
    description: Does the work
    model: sonnet
    tools: [Bash, Read, Write, Edit]
    cannot_access: [tests/**, '*.spec.*']
";

/// Polls until `cond` holds (or panics after 10 s).
pub fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A private tmux server for one test: a unique socket `iw-test-<pid>-<n>-<nanos>`, whose server
/// (and only it) is killed when the guard is dropped, also when the test panics.
pub struct TmuxServer {
    pub socket: String,
}

impl TmuxServer {
    pub fn new() -> TmuxServer {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        TmuxServer {
            socket: format!(
                "iw-test-{}-{}-{nanos}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ),
        }
    }

    /// Runs `tmux -L <socket> ARGS` and returns what it printed, whether it succeeded or not. A
    /// server shutting down (its last session was just killed) answers "server exited
    /// unexpectedly" without running anything, so that answer is retried until a fresh server
    /// can start, as iw's own tmux client does.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        for _ in 0..200 {
            let out = std::process::Command::new("tmux")
                .arg("-L")
                .arg(&self.socket)
                .args(args)
                .env_remove("TMUX")
                .output()
                .expect("tmux is installed");
            if out.status.success()
                || !String::from_utf8_lossy(&out.stderr).contains("server exited unexpectedly")
            {
                return out;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!(
            "tmux {args:?}: the server on {} never finished exiting",
            self.socket
        )
    }

    /// Runs `tmux -L <socket> ARGS`, returning stdout (panics if tmux fails).
    pub fn tmux(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts session `name` (`width` × `height`) running a bare bash whose prompt is `$ `: a
    /// terminal for a test to type in (send-keys) and read (capture-pane).
    pub fn shell(&self, name: &str, width: u16, height: u16) {
        let (w, h) = (width.to_string(), height.to_string());
        self.tmux(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &w,
            "-y",
            &h,
            "env",
            "-u",
            "TMUX",
            "PS1=$ ",
            "bash",
            "--norc",
            "--noprofile",
        ]);
    }

    /// A terminal (session `ui`, `width` × 40, on a server of its own) in which the person types
    /// `ENV NO_COLOR=1 iw -C ROOT ARGS`; the server, for reading and typing.
    pub fn terminal_running_iw(root: &Path, env: &str, args: &str, width: u16) -> TmuxServer {
        let ui = TmuxServer::new();
        ui.shell("ui", width, 40);
        let iw = assert_cmd::cargo::cargo_bin!("iw");
        ui.type_line(
            "ui",
            &format!(
                "{env} NO_COLOR=1 '{}' -C '{}' {args}",
                iw.display(),
                root.display()
            ),
        );
        ui
    }

    /// Types `keys` into session `name`'s pane, literally, then Enter.
    pub fn type_line(&self, name: &str, keys: &str) {
        let target = format!("={name}:");
        self.tmux(&["send-keys", "-t", &target, "-l", keys]);
        self.tmux(&["send-keys", "-t", &target, "Enter"]);
    }

    /// What session `name`'s pane shows, with up to 200 lines above it, wrapped lines joined.
    pub fn screen(&self, name: &str) -> String {
        self.tmux(&[
            "capture-pane",
            "-p",
            "-J",
            "-S",
            "-200",
            "-t",
            &format!("={name}:"),
        ])
    }

    /// Waits (up to `secs`, for slow machines) until [`TmuxServer::screen`] of `name` contains
    /// `text`; returns that screen.
    pub fn wait_for(&self, name: &str, text: &str, secs: u64) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let s = self.screen(name);
            if s.contains(text) {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waiting for {text}:\n{s}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Session names on the server, sorted (none if no server runs).
    pub fn sessions(&self) -> Vec<String> {
        let out = self.run(&["list-sessions", "-F", "#{session_name}"]);
        let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    }

    /// Waits (up to 10 s) until session `name`'s pane has died after its process was killed:
    /// kept visible as dead (`remain-on-exit`), or gone with its session.
    pub fn wait_pane_dead(&self, name: &str) {
        let target = format!("={name}:");
        until(&format!("the pane of {name} dies"), || {
            let out = self.run(&["display-message", "-p", "-t", &target, "#{pane_dead}"]);
            !out.status.success() || out.stdout.starts_with(b"1")
        });
    }

    /// A tmux format evaluated for one session (exact target).
    pub fn format(&self, session: &str, format: &str) -> String {
        self.tmux(&[
            "display-message",
            "-p",
            "-t",
            &format!("={session}:"),
            format,
        ])
        .trim_end()
        .to_string()
    }
}

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .env_remove("TMUX")
            .output();
    }
}
