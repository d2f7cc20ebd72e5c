//! Real OpenSSH servers on 127.0.0.1 for the multi-host tests: each [`Sshd`] stands for one
//! remote host.
//!
//! A fixture runs the distribution's `sshd` as the current user (root in CI; an ordinary user
//! works too) on a free port of 127.0.0.1, with its own host key, a throwaway client key and every
//! file in one temp dir. Nothing in the machine's ssh configuration is read or changed: the server
//! gets its own `sshd_config` (`-f`), the client its own `ssh_config` (`ssh -F`), so
//! `ssh -F <config_path()> <alias()> CMD` works with no prompt and without touching `~/.ssh`.
//!
//! To stand for a separate machine, the login of each fixture is given, through a forced
//! environment in `authorized_keys` (`environment=`, `PermitUserEnvironment`) and a small
//! wrapper (`command=`):
//! - its own `HOME` ([`Sshd::remote_home`]), which is also the working directory of every
//!   remote command (sshd itself would `chdir` to the passwd home, whatever `HOME` says);
//! - its own `TMUX_TMPDIR`, so a plain `tmux` (or `tmux -L name`) on the "host" talks to that
//!   host's own tmux server, independent of the local one and of the other fixtures;
//! - a "root" directory ([`Sshd::remote_root`]) standing for the host's project area.
//!
//! They all share the one real filesystem, under the same absolute paths.
//!
//! Drop closes the client control master (`ssh -O exit`), kills the tmux servers whose sockets
//! live in this fixture's `TMUX_TMPDIR`, and kills this fixture's sshd (the pid it wrote in its
//! PidFile, which is the child this fixture spawned) and that sshd's own descendants: never any
//! other sshd. A watchdog process kills the sshd too if the test process dies without dropping.
//!
//! Needs `sshd`, `ssh`, `ssh-keygen` (Debian: openssh-server, openssh-client; `.ci/run`
//! installs them). As root, sshd needs its privilege separation directory (`/run/sshd` on
//! Debian), normally made by the init system: when sshd says it is missing, the fixture creates
//! it (empty, root-owned, 0755), the same thing the distribution's service unit does.
#![allow(dead_code)]

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Longest path we give a unix socket (ControlPath, tmux's socket): `sun_path` is 108 bytes on
/// Linux, 104 on the BSDs and macOS, and ssh appends a 17-byte random suffix to the ControlPath
/// while it creates the socket.
const MAX_SOCKET_PATH: usize = 104 - 18;

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// One real sshd on 127.0.0.1 standing for one remote host. See the module docs.
pub struct Sshd {
    dir: tempfile::TempDir,
    alias: String,
    port: u16,
    user: String,
    sshd_bin: PathBuf,
    child: Option<Child>,
    watchdog: Option<Child>,
}

impl Sshd {
    /// Starts a fixture, with its own HOME, TMUX_TMPDIR and root. Panics (with sshd's log) when
    /// the server cannot be started or a first login through it fails.
    pub fn start() -> Sshd {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        // Short names: the control socket and tmux sockets live under this directory.
        let dir = short_tempdir();
        let alias = format!("iwhost{}-{n}", std::process::id());
        let user = stdout_of(Command::new("id").arg("-un"));
        let sshd_bin = find_sshd();

        let d = dir.path().to_path_buf();
        for sub in ["home", "root", "tmux"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        keygen(&d.join("host_key"), &format!("iw-test host key {alias}"));
        keygen(
            &d.join("client_key"),
            &format!("iw-test client key {alias}"),
        );
        let control = d.join("cm");
        assert!(
            control.as_os_str().len() <= MAX_SOCKET_PATH,
            "control socket path too long for a unix socket: {}",
            control.display()
        );

        // The login wrapper: cd to the fixture's HOME, then run the command as sshd would (the
        // user's shell with -c), or a login shell when there is none.
        let enter = d.join("enter");
        std::fs::write(
            &enter,
            "#!/bin/sh\n\
             # iw test fixture: the remote login of this host starts in its own HOME.\n\
             cd \"$HOME\" || exit 255\n\
             unset OLDPWD\n\
             if [ -n \"${SSH_ORIGINAL_COMMAND+set}\" ]; then\n\
             \x20   c=$SSH_ORIGINAL_COMMAND\n\
             \x20   unset SSH_ORIGINAL_COMMAND\n\
             \x20   exec \"${SHELL:-/bin/sh}\" -c \"$c\"\n\
             fi\n\
             exec \"${SHELL:-/bin/sh}\" -l\n",
        )
        .unwrap();
        chmod(&enter, "755");

        let pubkey = std::fs::read_to_string(d.join("client_key.pub")).unwrap();
        let home = d.join("home");
        let tmux = d.join("tmux");
        for p in [&home, &tmux, &enter] {
            assert!(
                !p.to_str().unwrap().contains(['"', '\\', ' ']),
                "unexpected character in {}",
                p.display()
            );
        }
        std::fs::write(
            d.join("authorized_keys"),
            format!(
                "environment=\"HOME={}\",environment=\"TMUX_TMPDIR={}\",command=\"{}\" {}",
                home.display(),
                tmux.display(),
                enter.display(),
                pubkey.trim()
            ),
        )
        .unwrap();

        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let mut key = host_pub.split_whitespace();
        let (kt, kb) = (key.next().unwrap(), key.next().unwrap());
        // Pinned under HostKeyAlias, so the entry does not depend on the port.
        std::fs::write(d.join("known_hosts"), format!("{alias} {kt} {kb}\n")).unwrap();

        let mut s = Sshd {
            dir,
            alias,
            port: 0,
            user,
            sshd_bin,
            child: None,
            watchdog: None,
        };
        s.launch(None);

        let out = s
            .command()
            .args(["-o", "ControlMaster=no", "-o", "ControlPath=none"])
            .arg(s.alias())
            .arg("true")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if !out.status.success() {
            panic!(
                "first login through the test sshd failed ({}): {}\n--- sshd log ---\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                s.log()
            );
        }
        s
    }

    /// The `Host` name of this fixture in [`Sshd::config_path`]: the ssh destination.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The client configuration, for `ssh -F`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// The arguments that make `ssh`/`scp`/`sftp` use this fixture's client configuration:
    /// `["-F", config_path]`, what a host's `ssh_args` says in sessions.yaml.
    pub fn ssh_args(&self) -> Vec<String> {
        vec![
            "-F".to_string(),
            self.config_path().to_str().unwrap().to_string(),
        ]
    }

    /// The port sshd listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user the remote login runs as (the current user).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The remote login's `HOME`, and the working directory of remote commands.
    pub fn remote_home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A directory standing for this host's filesystem area (a host's `root:` in sessions.yaml).
    pub fn remote_root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// The remote login's `TMUX_TMPDIR`: where this host's tmux sockets live. Locally,
    /// `tmux -S <this>/tmux-<uid>/default` is the host's default tmux server.
    pub fn remote_tmux_tmpdir(&self) -> PathBuf {
        self.dir.path().join("tmux")
    }

    /// The client's ControlPath (a master runs while `ssh -O check` succeeds).
    pub fn control_path(&self) -> PathBuf {
        self.dir.path().join("cm")
    }

    /// The server's log (`sshd -E`).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("sshd.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The pid of this fixture's sshd (listener), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Freezes this host's sshd and every process under it (SIGSTOP): connections stay open and
    /// nothing answers, as when a host hangs. [`Sshd::thaw`] undoes it.
    pub fn freeze(&self) {
        self.signal_all(libc::SIGSTOP);
    }

    /// Lets a frozen sshd run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal_all(libc::SIGCONT);
    }

    /// Sends `sig` to the sshd listener and all its descendants (found in /proc).
    fn signal_all(&self, sig: i32) {
        let Some(root) = self.pid() else { return };
        let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let pid: u32 = e.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
                // "pid (comm) state ppid …": comm may hold spaces, so read after its last ')'.
                let ppid = stat
                    .rsplit_once(')')?
                    .1
                    .split_whitespace()
                    .nth(1)?
                    .parse()
                    .ok()?;
                Some((pid, ppid))
            })
            .collect();
        let mut all = vec![root];
        let mut i = 0;
        while i < all.len() {
            let p = all[i];
            all.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
            i += 1;
        }
        for pid in all {
            // SAFETY: kill(2) on processes this fixture started (its sshd and their children).
            unsafe { libc::kill(pid as libc::pid_t, sig) };
        }
    }

    /// `ssh -F <config>` with nothing else: add options, the alias and a command.
    pub fn command(&self) -> Command {
        let mut c = Command::new("ssh");
        c.args(self.ssh_args());
        c
    }

    /// Runs `cmd` (a shell command line, as ssh takes it) on this host, stdin empty.
    pub fn run(&self, cmd: &str) -> Output {
        self.command()
            .arg(self.alias())
            .arg(cmd)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs `cmd` on this host, panics unless it succeeds, returns its stdout.
    pub fn run_ok(&self, cmd: &str) -> String {
        let out = self.run(cmd);
        assert!(
            out.status.success(),
            "ssh {} {cmd:?}: {}\nstdout: {}\nstderr: {}",
            self.alias,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `cmd` on this host with `input` on its stdin.
    pub fn run_with_stdin(&self, cmd: &str, input: &[u8]) -> Output {
        let mut child = self
            .command()
            .arg(self.alias())
            .arg(cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    }

    /// Puts the `iw` binary where connecting installs it on this host, as a previous connect
    /// would have (a hard link to a private copy, or a copy): tests that are not about
    /// installing skip shipping ~70 MB of debug binary each time. The `iw` run by the tests
    /// (target/<host tuple>/debug/iw) then finds its own build in place there.
    pub fn preinstall_iw(&self) {
        self.preinstall(private_iw_copy());
    }

    /// [`Sshd::preinstall_iw`] for the binary at `bin` (another build).
    pub fn preinstall(&self, bin: &Path) {
        let sha = iw::remote::install::binary_sha256(bin).unwrap();
        let home = self.remote_home();
        let dest = iw::remote::install::installed_path(home.to_str().unwrap(), &sha);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        if std::fs::hard_link(bin, &dest).is_err() {
            std::fs::copy(bin, &dest).unwrap();
        }
    }

    /// Whether the client control master for this host is up (`ssh -O check`).
    pub fn master_running(&self) -> bool {
        self.command()
            .args(["-O", "check", self.alias()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }

    /// Stops the host as if it went down: kills sshd and its connections (so the client's
    /// control master drops too), without a clean `ssh -O exit`. New connections are refused
    /// until [`Sshd::restart`]. Remote tmux servers keep running, like processes on a host that
    /// is only unreachable.
    pub fn stop(&mut self) {
        self.kill_sshd();
        // The master notices its server connection closed and exits; wait for that, so a test
        // that stops a host gets "connection refused" next, not a dying master.
        let t = Instant::now();
        while self.control_path().exists() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts sshd again after [`Sshd::stop`], on the same port with the same keys.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart: sshd is running");
        let port = self.port;
        self.launch(Some(port));
    }

    /// Writes the configs for `port` and starts sshd, retrying with another free port when the
    /// chosen one was taken in between (unless `fixed`).
    fn launch(&mut self, fixed: Option<u16>) {
        let d = self.dir.path().to_path_buf();
        let mut last_log = String::new();
        for _attempt in 0..8 {
            let port = fixed.unwrap_or_else(free_port);
            self.port = port;
            self.write_configs(port);
            let _ = std::fs::remove_file(d.join("sshd.pid"));
            // Each attempt logs afresh, so a retry reads its own messages.
            let _ = std::fs::remove_file(self.log_path());
            let child = Command::new(&self.sshd_bin)
                .arg("-D")
                .arg("-f")
                .arg(d.join("sshd_config"))
                .arg("-E")
                .arg(self.log_path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", self.sshd_bin.display()));
            match self.wait_listening(child) {
                Ok(child) => {
                    self.child = Some(child);
                    self.spawn_watchdog();
                    return;
                }
                Err(log) => {
                    let missing = "Missing privilege separation directory: ";
                    if let Some(i) = log.find(missing) {
                        // Root's sshd needs it (Debian: /run/sshd, made by systemd at boot).
                        let p = log[i + missing.len()..].lines().next().unwrap().trim();
                        std::fs::create_dir_all(p).unwrap();
                        chmod(Path::new(p), "755");
                    } else if fixed.is_some() || !log.contains("Address already in use") {
                        panic!(
                            "test sshd did not start on 127.0.0.1:{port}\n--- sshd log ---\n{log}"
                        );
                    }
                    last_log = log;
                }
            }
        }
        panic!("test sshd did not start after several tries\n--- sshd log ---\n{last_log}");
    }

    /// Waits until sshd logs that it listens; on exit or timeout returns its log (and stderr).
    fn wait_listening(&self, mut child: Child) -> Result<Child, String> {
        let t = Instant::now();
        loop {
            let log = self.log();
            if log.contains("Server listening on") {
                return Ok(child);
            }
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read as _;
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!("{}{err}(sshd exited: {status})", self.log()));
            }
            if t.elapsed() > Duration::from_secs(15) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{log}(no \"Server listening\" after 15 s)"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn write_configs(&self, port: u16) {
        let d = self.dir.path();
        let p = |name: &str| d.join(name).display().to_string();
        let root_login = if self.user == "root" {
            "PermitRootLogin prohibit-password\n"
        } else {
            ""
        };
        let sshd_config = format!(
            "# iw test fixture: one host on 127.0.0.1; nothing from /etc/ssh is read.\n\
             Port {port}\n\
             ListenAddress 127.0.0.1\n\
             AddressFamily inet\n\
             HostKey {host_key}\n\
             PidFile {pid}\n\
             AuthorizedKeysFile {authorized}\n\
             AllowUsers {user}\n\
             {root_login}\
             StrictModes no\n\
             UsePAM no\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PermitUserEnvironment HOME,TMUX_TMPDIR\n\
             AcceptEnv none\n\
             PrintMotd no\n\
             PrintLastLog no\n\
             X11Forwarding no\n\
             UseDNS no\n\
             LogLevel VERBOSE\n\
             Subsystem sftp {sftp}\n",
            host_key = p("host_key"),
            pid = p("sshd.pid"),
            authorized = p("authorized_keys"),
            user = self.user,
            sftp = find_sftp_server(),
        );
        std::fs::write(d.join("sshd_config"), sshd_config).unwrap();

        let ssh_config = format!(
            "# iw test fixture: use with `ssh -F {cfg} {alias} CMD`; ~/.ssh is not read.\n\
             Host {alias}\n\
             \x20   HostName 127.0.0.1\n\
             \x20   Port {port}\n\
             \x20   User {user}\n\
             \x20   IdentityFile {key}\n\
             \x20   IdentitiesOnly yes\n\
             \x20   IdentityAgent none\n\
             \x20   HostKeyAlias {alias}\n\
             \x20   UserKnownHostsFile {known}\n\
             \x20   GlobalKnownHostsFile /dev/null\n\
             \x20   StrictHostKeyChecking yes\n\
             \x20   CheckHostIP no\n\
             \x20   UpdateHostKeys no\n\
             \x20   BatchMode yes\n\
             \x20   PasswordAuthentication no\n\
             \x20   ConnectTimeout 10\n\
             \x20   ControlMaster auto\n\
             \x20   ControlPath {cm}\n\
             \x20   ControlPersist 60\n\
             \x20   LogLevel ERROR\n",
            cfg = p("ssh_config"),
            alias = self.alias,
            user = self.user,
            key = p("client_key"),
            known = p("known_hosts"),
            cm = p("cm"),
        );
        std::fs::write(d.join("ssh_config"), ssh_config).unwrap();
    }

    /// Kills this fixture's sshd if the test process dies without dropping the fixture.
    fn spawn_watchdog(&mut self) {
        let pid = self.child.as_ref().unwrap().id();
        let script = format!(
            "while kill -0 {me} 2>/dev/null && kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             kill {pid} 2>/dev/null; exit 0",
            me = std::process::id(),
        );
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        self.watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
    }

    /// Kills our sshd and its descendants (its connections and their sessions).
    fn kill_sshd(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The pid in the PidFile is this child (`sshd -D` writes its own pid, and keeps it across
        // a SIGHUP re-exec): we kill the child we spawned and what descends from it, so a
        // PidFile rewritten by anything else can never make us kill another process.
        let pid = child.id();
        // Connections first, while sshd is there to reap them; then sshd itself.
        let descendants = descendants(pid);
        if !descendants.is_empty() {
            let pids: Vec<String> = descendants.iter().map(u32::to_string).collect();
            // The shell's builtin: a `kill` binary is not always installed.
            let _ = Command::new("sh")
                .arg("-c")
                .arg(format!("kill -KILL {}", pids.join(" ")))
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let t = Instant::now();
            while descendants
                .iter()
                .any(|p| Path::new(&format!("/proc/{p}")).exists())
                && t.elapsed() < Duration::from_secs(1)
            {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }

    /// Kills the tmux servers whose sockets live in this fixture's TMUX_TMPDIR.
    fn kill_tmux_servers(&self) {
        let Ok(dirs) = std::fs::read_dir(self.remote_tmux_tmpdir()) else {
            return;
        };
        for d in dirs.flatten() {
            let Ok(socks) = std::fs::read_dir(d.path()) else {
                continue;
            };
            for s in socks.flatten() {
                let _ = Command::new("tmux")
                    .arg("-S")
                    .arg(s.path())
                    .arg("kill-server")
                    .env_remove("TMUX")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // A test that froze it and failed before thawing it: stopped processes would not end.
        self.thaw();
        if self.control_path().exists() {
            let _ = self
                .command()
                .args(["-O", "exit", self.alias()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        self.kill_tmux_servers();
        self.kill_sshd();
    }
}

/// A copy of the `iw` binary, the one [`Sshd::preinstall_iw`] links from: a hard link to
/// target/<host tuple>/debug/iw itself would change its ctime, which is part of the no-op key
/// (src/reconcile/noop.rs), and so disturb tests running beside these.
///
/// One copy per build, shared by every test process (nextest runs each test in its own), in
/// cargo's temp dir for tests: a copy per process, left in /tmp, was 100-200 MB a run.
fn private_iw_copy() -> &'static Path {
    static COPY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        let src = Path::new(env!("CARGO_BIN_EXE_iw"));
        let meta = std::fs::metadata(src).unwrap();
        let name = format!("iw-{}-{}", meta.len(), iw::support::fsutil::mtime_ns(&meta));
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("iw-copy");
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join(&name);
        if !copy.exists() {
            // Whole or not at all, should another process be making the same copy.
            let tmp = tempfile::NamedTempFile::new_in(&dir).unwrap();
            std::fs::copy(src, tmp.path()).unwrap();
            drop(tmp.persist(&copy).unwrap());
            // Copies of earlier builds.
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let old = entry.file_name();
                if old != name.as_str() && old.to_string_lossy().starts_with("iw-") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        copy
    })
}

/// A temp dir with a short path (unix sockets live in it): under `$TMPDIR` when that is short,
/// else under /tmp.
fn short_tempdir() -> tempfile::TempDir {
    let base = std::env::temp_dir();
    // ".iwsshXXXXXX/" + "tmux/tmux-4294967295/default" must fit.
    let base = if base.as_os_str().len() + 50 <= MAX_SOCKET_PATH {
        base
    } else {
        PathBuf::from("/tmp")
    };
    tempfile::Builder::new()
        .prefix("iwssh")
        .rand_bytes(6)
        .tempdir_in(base)
        .unwrap()
}

/// A port that was free on 127.0.0.1 a moment ago (sshd may still lose it: `launch` retries).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find_sshd() -> PathBuf {
    // sshd must be run by absolute path (it re-executes itself); it lives in sbin, which a
    // non-root PATH often lacks.
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|p| p.join("sshd"))
        .chain(["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"].map(PathBuf::from))
        .find(|p| p.is_absolute() && p.is_file())
        .expect("sshd not found (Debian: apt-get install openssh-server)")
}

fn find_sftp_server() -> String {
    [
        "/usr/lib/openssh/sftp-server",
        "/usr/libexec/openssh/sftp-server",
        "/usr/libexec/sftp-server",
        "/usr/lib/ssh/sftp-server",
    ]
    .into_iter()
    .find(|p| Path::new(p).is_file())
    .unwrap_or("internal-sftp")
    .to_string()
}

fn keygen(path: &Path, comment: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("ssh-keygen not found (Debian: apt-get install openssh-client)");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn chmod(path: &Path, mode: &str) {
    let ok = Command::new("chmod")
        .arg(mode)
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "chmod {mode} {}", path.display());
}

fn stdout_of(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{c:?}: {}", out.status);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// All descendants of `pid`, from /proc (Linux); empty elsewhere.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
                parent_of.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(q) = frontier.pop() {
        for &(p, pp) in &parent_of {
            if pp == q && !out.contains(&p) {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out
}
