//! The SSH implementation of [`super::HostLink`]: the system `ssh`, batch mode, one multiplexed
//! connection per host, iw's own binary on the host.
//!
//! Every call is `ssh -o BatchMode=yes -o ConnectTimeout=… -o ControlMaster=auto
//! -o ControlPersist=60s -o ControlPath=<private dir>/%C [target's ssh_args] -- DEST 'COMMAND'`:
//! `~/.ssh/config`, agents, known_hosts and ProxyJump work as they do for the person, no call
//! ever waits for a password or a host-key question, and after the first call each one rides the
//! same connection. COMMAND is one string for the remote login shell, every word quoted
//! ([`super::quote`]). ssh's own failures (exit 255) become errors that name the host and say
//! what to do (`classify`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use super::install::{self, Facts};
use super::wire::{self, ProbeReply, ProbeRequest, WireOp, WriteReply, WriteRequest};
use super::{HostLink, Probe, Seen, Target, WriteDone, WriteOp, quote};
use crate::support::{Caller, Error, Result};
use crate::tmux::{Launch, LiveSession, Servers, Tmux, TmuxCmd};

/// How [`connect_with`] connects.
#[derive(Debug, Clone)]
pub struct Options {
    /// The iw binary to install on the hosts; `None`: this process's own executable.
    pub binary: Option<PathBuf>,
    /// How long ssh may take to establish a connection (`ConnectTimeout`).
    pub connect_timeout: Duration,
    /// How long one probe or write round trip may take before ssh is stopped.
    pub call_timeout: Duration,
    /// How long installing the binary may take.
    pub install_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            binary: None,
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(120),
            install_timeout: Duration::from_secs(600),
        }
    }
}

/// Connects to every target in parallel (one multiplexed `ssh` connection each, iw installed and
/// verified there); one result per target, same order.
pub fn connect(targets: &[Target]) -> Vec<Result<Box<dyn HostLink>>> {
    connect_with(targets, &Options::default())
}

/// [`connect`], with options (tests install the `iw` binary rather than themselves).
pub fn connect_with(targets: &[Target], opts: &Options) -> Vec<Result<Box<dyn HostLink>>> {
    // Hash the binary once, before the threads (each would otherwise read it too); a failure
    // is reported by each host's connect.
    if let Some(b) = &opts.binary {
        let _ = install::binary_sha256(b);
    } else if let Ok(b) = std::env::current_exe() {
        let _ = install::binary_sha256(&b);
    }
    crate::support::parallel::each(targets, |t| SshLink::connect(t, opts))
        .into_iter()
        .zip(targets)
        .map(|(r, t)| match r {
            Some(r) => r.map(|l| Box::new(l) as Box<dyn HostLink>),
            None => Err(Error::msg(format!(
                "host {}: connecting failed unexpectedly",
                t.name
            ))),
        })
        .collect()
}

/// A connected host: its ssh transport, and the iw installed there.
#[derive(Debug, Clone)]
pub struct SshLink {
    target: Target,
    ssh: Arc<Ssh>,
    iw: PathBuf,
    facts: Facts,
    call_timeout: Duration,
}

impl SshLink {
    /// Connects to one host: the facts in one round trip, then iw's binary shipped there if it
    /// is missing or differs (a second one).
    pub fn connect(target: &Target, opts: &Options) -> Result<SshLink> {
        let host = &target.name;
        if !target.root.is_absolute() {
            return Err(Error::with_help(
                format!(
                    "host {host}: root {} is not an absolute path",
                    target.root.display()
                ),
                "give the host an absolute `root:` in sessions.yaml",
            ));
        }
        let binary = match &opts.binary {
            Some(b) => b.clone(),
            None => std::env::current_exe()
                .map_err(|e| Error::msg(format!("cannot find iw's own executable: {e}")))?,
        };
        let sha = install::binary_sha256(&binary)?;
        let name = install::file_name(&sha);
        let mut ssh = Ssh {
            host: host.clone(),
            destination: target.destination.clone(),
            args: target.ssh_args.clone(),
            control_dir: control_dir()?,
            connect_timeout: opts.connect_timeout,
            tmux: "tmux".to_string(),
        };
        let timeout = opts.connect_timeout + opts.call_timeout;
        let out = ssh.call(&install::facts_command(&name, &sha), None, timeout)?;
        let facts = Facts::parse(&String::from_utf8_lossy(&out.stdout));
        if !out.status.success() || facts.home.is_empty() {
            return Err(Error::with_help(
                format!(
                    "host {host}: iw's first command there failed ({}): {}",
                    out.status,
                    stderr_text(&out)
                ),
                format!(
                    "iw needs sh, uname and a HOME there: check `ssh {} 'uname -a; echo $HOME'`",
                    target.destination
                ),
            ));
        }
        let here = install::this_platform();
        if facts.platform() != here {
            let (os, arch) = facts.platform();
            return Err(Error::with_help(
                format!(
                    "host {host} is {os}/{arch}, this iw is built for {}/{}: iw runs its own \
                     binary there",
                    here.0, here.1
                ),
                "run iw from a machine of the same system and architecture as the host (or \
                 give the host its own iw project)",
            ));
        }
        let Some(tmux) = facts.tmux.clone() else {
            return Err(Error::with_help(
                format!(
                    "host {host}: tmux is not installed there (not on the PATH of a \
                         non-interactive ssh login, nor in the usual places)"
                ),
                format!(
                    "install tmux on {}: {}",
                    target.destination,
                    crate::tmux::INSTALL_HELP
                ),
            ));
        };
        ssh.tmux = tmux;
        let iw = install::installed_path(&facts.home, &sha);
        if facts.installed.as_deref() != Some(sha.as_str()) {
            ssh.install(&binary, &name, &sha, opts.install_timeout)?;
        } else if facts.link.as_deref() != Some(name.as_str()) {
            // The hooks there run the link: it must name this build.
            return Err(Error::with_help(
                format!(
                    "host {host}: ~/{}/{} does not point at this iw build ({name}), and iw could \
                     not make it",
                    install::BIN_DIR,
                    install::LINK_NAME
                ),
                format!(
                    "check that {} is writable there",
                    Path::new(&facts.home).join(install::BIN_DIR).display()
                ),
            ));
        }
        Ok(SshLink {
            target: target.clone(),
            ssh: Arc::new(ssh),
            iw,
            facts,
            call_timeout: opts.call_timeout,
        })
    }

    /// What connecting learnt about the host.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// Ends the multiplexed connection now (`ssh -O exit`) instead of when it has been idle
    /// for a minute. Later calls open a new one.
    pub fn close(&self) {
        let mut c = self.ssh.base();
        c.args(["-O", "exit", "--", &self.ssh.destination]);
        let _ = c
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn tmux(&self, socket: &str) -> Tmux {
        Tmux::via(socket, self.ssh.clone())
    }

    /// `<iw> remote VERB --root ROOT`, quoted.
    fn iw_command(&self, verb: &str) -> String {
        let iw = self.iw.to_string_lossy();
        let root = self.target.root.to_string_lossy();
        quote::join([iw.as_ref(), "remote", verb, "--root", root.as_ref()])
    }

    /// Runs `iw remote VERB` there with `input`; its stdout when it answered.
    fn iw_call(&self, verb: &str, input: Vec<u8>) -> Result<Vec<u8>> {
        let out = self.ssh.call(
            &self.iw_command(verb),
            Some(Box::new(std::io::Cursor::new(input))),
            self.call_timeout,
        )?;
        if out.status.success() {
            return Ok(out.stdout);
        }
        let host = &self.target.name;
        Err(if out.status.code() == Some(127) {
            Error::with_help(
                format!(
                    "host {host}: iw is no longer at {} ({})",
                    self.iw.display(),
                    stderr_text(&out)
                ),
                "run the command again: connecting installs it",
            )
        } else {
            Error::msg(format!(
                "host {host}: iw remote {verb} failed ({}): {}",
                out.status,
                stderr_text(&out)
            ))
        })
    }
}

impl HostLink for SshLink {
    fn target(&self) -> &Target {
        &self.target
    }

    fn probe(&self, probes: &[Probe]) -> Result<Vec<Seen>> {
        let host = &self.target.name;
        let req = ProbeRequest {
            v: wire::VERSION,
            probes: probes.to_vec(),
        };
        let input = serde_json::to_vec(&req).map_err(|e| Error::msg(e.to_string()))?;
        let out = self.iw_call("probe", input)?;
        let reply: ProbeReply = serde_json::from_slice(&out).map_err(|e| {
            Error::msg(format!(
                "host {host}: iw remote probe answered garbage: {e}"
            ))
        })?;
        if let Some(e) = reply.error {
            return Err(e.into_error(host));
        }
        let seen: Vec<Seen> = reply.seen.into_iter().map(Into::into).collect();
        if seen.len() != probes.len() || seen.iter().zip(probes).any(|(s, p)| s.path != p.path) {
            return Err(Error::msg(format!(
                "host {host}: iw remote probe answered for other files than asked"
            )));
        }
        Ok(seen)
    }

    fn write(
        &self,
        ops: &[WriteOp],
    ) -> std::result::Result<Vec<WriteDone>, (Vec<WriteDone>, Error)> {
        let host = &self.target.name;
        let req = WriteRequest {
            v: wire::VERSION,
            ops: ops.iter().map(WireOp::from).collect(),
        };
        let input =
            serde_json::to_vec(&req).map_err(|e| (Vec::new(), Error::msg(e.to_string())))?;
        let unknown = |e: Error| {
            // The connection may have dropped after some writes: nothing is known done.
            let then = "some of the files may have been written: run `iw plan` to see where \
                        the host stands";
            let help = match e.diagnostics().into_iter().find_map(|d| d.help) {
                Some(h) => format!("{h}; {then}"),
                None => then.to_string(),
            };
            (Vec::new(), Error::with_help(e.to_string(), help))
        };
        let out = self.iw_call("write", input).map_err(unknown)?;
        let reply: WriteReply = serde_json::from_slice(&out).map_err(|e| {
            unknown(Error::msg(format!(
                "host {host}: iw remote write answered garbage: {e}"
            )))
        })?;
        match reply.error {
            Some(e) => Err((reply.done, e.into_error(host))),
            None => Ok(reply.done),
        }
    }

    fn attach_command(&self, socket: &str, session: &str) -> Command {
        let mut c = self.ssh.base();
        c.arg("-t").arg("--").arg(&self.ssh.destination);
        let args = self.tmux(socket).attach_args(session);
        c.arg(self.ssh.tmux_line(&args));
        c
    }

    fn iw_path(&self) -> PathBuf {
        install::link_path(&self.facts.home)
    }

    fn iw_command(&self, args: &[&str]) -> Command {
        // The host's tmux may be off the PATH of a non-interactive login: name the one found.
        let tmux = format!("IW_TMUX={}", self.ssh.tmux);
        let iw = self.iw.to_string_lossy();
        let root = self.target.root.to_string_lossy();
        let mut words = vec!["env", tmux.as_str(), iw.as_ref(), "-C", root.as_ref()];
        words.extend_from_slice(args);
        self.ssh.command(&quote::join(words))
    }
}

impl Servers for SshLink {
    fn list(&self, socket: &str) -> Result<Vec<LiveSession>> {
        self.tmux(socket).list_sessions()
    }
    fn run(&self, socket: &str, cmds: &[TmuxCmd]) -> Result<String> {
        self.tmux(socket).run(cmds)
    }
    fn run_groups(
        &self,
        socket: &str,
        groups: &[Vec<TmuxCmd>],
    ) -> std::result::Result<usize, (usize, Error)> {
        self.tmux(socket).run_groups(groups)
    }
    fn capture(&self, socket: &str, session: &str, lines: usize) -> Result<Vec<String>> {
        self.tmux(socket).capture(session, lines)
    }
    fn kill(&self, socket: &str, names: &[String]) -> Result<()> {
        self.tmux(socket).kill_sessions(names)
    }
}

/// One host's ssh command lines.
#[derive(Debug, Clone)]
struct Ssh {
    host: String,
    destination: String,
    args: Vec<String>,
    control_dir: PathBuf,
    connect_timeout: Duration,
    /// The tmux binary there (absolute once connected).
    tmux: String,
}

impl Ssh {
    /// `ssh` with iw's options and the target's own arguments; add the destination and command.
    fn base(&self) -> Command {
        let mut c = Command::new("ssh");
        let control = self.control_dir.join("%C");
        for o in [
            "BatchMode=yes".to_string(),
            format!("ConnectTimeout={}", self.connect_timeout.as_secs().max(1)),
            "ControlMaster=auto".to_string(),
            "ControlPersist=60s".to_string(),
            format!("ControlPath={}", control.display()),
            // A host that stops answering ends the connection in ~15 s instead of never.
            "ServerAliveInterval=5".to_string(),
            "ServerAliveCountMax=3".to_string(),
            // The person's forwardings are theirs: iw's connection never sets them up.
            "ClearAllForwardings=yes".to_string(),
        ] {
            c.arg("-o").arg(o);
        }
        c.args(&self.args);
        c
    }

    /// `ssh … -- DEST COMMAND`, for a command that needs no terminal.
    fn command(&self, remote: &str) -> Command {
        let mut c = self.base();
        c.args(["-o", "RequestTTY=no", "--", &self.destination, remote]);
        c
    }

    /// `tmux ARGS` as a remote command line.
    fn tmux_line(&self, args: &[String]) -> String {
        let mut words = vec![self.tmux.as_str()];
        words.extend(args.iter().map(String::as_str));
        quote::join(words)
    }

    /// Runs `remote` there with `input` on its stdin (none: empty), stopped after `timeout`.
    /// ssh's own failures (exit 255) are errors; the remote command's are in the output.
    fn call(
        &self,
        remote: &str,
        input: Option<Box<dyn Read + Send>>,
        timeout: Duration,
    ) -> Result<Output> {
        let (child, feeder) =
            spawn_fed(&mut self.command(remote), input).map_err(|e| self.spawn_error(e))?;
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let out = match rx.recv_timeout(timeout) {
            Ok(out) => out.map_err(|e| self.spawn_error(e))?,
            Err(_) => {
                // Our own child, not yet reaped (its waiter still holds it): stop it.
                // SAFETY: kill(2) on a pid we spawned and have not waited for.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGKILL);
                }
                let _ = rx.recv_timeout(Duration::from_secs(5));
                return Err(Error::with_help(
                    format!(
                        "host {}: no answer within {} s",
                        self.host,
                        timeout.as_secs()
                    ),
                    format!(
                        "check that {} is up and reachable (`ssh {} true`), then try again",
                        self.destination, self.destination
                    ),
                ));
            }
        };
        if let Some(f) = feeder {
            let _ = f.join();
        }
        if let Some(e) = self.failure(&out) {
            return Err(e);
        }
        Ok(out)
    }

    /// Ships `binary` there and installs it as `name` (see [`install`]).
    fn install(&self, binary: &Path, name: &str, sha: &str, timeout: Duration) -> Result<()> {
        let file = std::fs::File::open(binary).map_err(|e| Error::io("read", binary, e))?;
        let out = self.call(
            &install::install_command(name, sha),
            Some(Box::new(file)),
            timeout,
        )?;
        if out.status.success() {
            return Ok(());
        }
        Err(Error::with_help(
            format!(
                "host {}: installing iw under ~/{} failed ({}): {}",
                self.host,
                install::BIN_DIR,
                out.status,
                stderr_text(&out)
            ),
            "check the free space and permissions of that directory on the host, then try again",
        ))
    }
}

impl Launch for Ssh {
    fn command(&self, args: &[String]) -> Command {
        let mut c = Ssh::command(self, &self.tmux_line(args));
        c.stdin(Stdio::null());
        c
    }

    fn failure(&self, out: &Output) -> Option<Error> {
        (out.status.code() == Some(255)).then(|| classify(self, &stderr_text(out)))
    }

    fn spawn_error(&self, e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::with_help(
                format!("host {}: ssh is not installed here", self.host),
                "install the OpenSSH client: `sudo apt-get install openssh-client` \
                 (Debian/Ubuntu), `sudo dnf install openssh-clients` (Fedora)",
            )
        } else {
            Error::msg(format!("host {}: cannot run ssh: {e}", self.host))
        }
    }

    fn place(&self) -> String {
        format!("host {}: ", self.host)
    }
}

/// Spawns `c` with its output piped and `input` (none: nothing) on its stdin, copied in a thread
/// of its own: join it after the child ended. A remote end that stops reading shows in the
/// child's exit status, not here.
pub fn spawn_fed(
    c: &mut Command,
    input: Option<Box<dyn Read + Send>>,
) -> std::io::Result<(std::process::Child, Option<std::thread::JoinHandle<()>>)> {
    c.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn()?;
    let feeder = match (input, child.stdin.take()) {
        (Some(mut input), Some(mut stdin)) => Some(std::thread::spawn(move || {
            // iw's command line restores SIGPIPE's default action (it ends iw): a remote end
            // that stops reading must not kill iw, only fail this write (EPIPE). The signal is
            // sent to the writing thread, which blocks it and then ends, which discards it.
            block_sigpipe();
            let _ = std::io::copy(&mut input, &mut stdin);
        })),
        _ => None,
    };
    Ok((child, feeder))
}

/// Blocks SIGPIPE in the calling thread.
fn block_sigpipe() {
    // SAFETY: a zeroed sigset_t is filled by sigemptyset; pthread_sigmask only changes this
    // thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// The error for ssh's own failure (exit 255) with this stderr: what happened, what to do.
fn classify(ssh: &Ssh, stderr: &str) -> Error {
    let (host, dest) = (&ssh.host, &ssh.destination);
    let has = |s: &str| {
        stderr
            .to_ascii_lowercase()
            .contains(&s.to_ascii_lowercase())
    };
    let check = format!("check with `ssh -o BatchMode=yes {dest} true`");
    let (what, help) = if has("Could not resolve hostname") || has("Name or service not known") {
        (
            format!("cannot resolve {dest}"),
            format!("check the host's `ssh:` in sessions.yaml and ~/.ssh/config; {check}"),
        )
    } else if has("Connection refused") {
        (
            format!("{dest} refused the connection"),
            format!("is sshd running there, on the port ~/.ssh/config says? {check}"),
        )
    } else if has("timed out") || has("No route to host") || has("Network is unreachable") {
        (
            format!("cannot reach {dest} ({})", last_line(stderr)),
            format!("is the host up and the network path open? {check}"),
        )
    } else if has("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        (
            format!("the host key of {dest} has changed"),
            "if the host was reinstalled, remove the old key (`ssh-keygen -R HOST`) and \
             connect once by hand to check and accept the new one; otherwise do not connect"
                .to_string(),
        )
    } else if has("Host key verification failed") || has("host key is known") {
        (
            format!("the host key of {dest} is not known here"),
            format!(
                "iw never answers host-key questions: connect once by hand (`ssh {dest}`) to \
                 check and accept it, then try again"
            ),
        )
    } else if has("Permission denied") || has("Too many authentication failures") {
        (
            format!("{dest} refused to log in without a password prompt"),
            format!(
                "iw runs ssh in batch mode (no password or passphrase prompts): load your key \
                 (`ssh-add`) or set an IdentityFile for this host in ~/.ssh/config; {check}"
            ),
        )
    } else if has("Connection closed")
        || has("closed by remote host")
        || has("Connection reset")
        || has("Broken pipe")
        || has("mux_client")
        || has("Control socket")
        || stderr.trim().is_empty()
    {
        (
            format!(
                "the connection to {dest} was lost{}",
                if stderr.trim().is_empty() {
                    String::new()
                } else {
                    format!(" ({})", last_line(stderr))
                }
            ),
            format!("the host or its sshd may have gone down: {check}, then try again"),
        )
    } else {
        (
            format!("ssh to {dest} failed: {}", last_line(stderr)),
            check,
        )
    };
    Error::with_help(format!("host {host}: {what}"), help)
}

fn last_line(s: &str) -> &str {
    s.trim().lines().last().unwrap_or("").trim()
}

fn stderr_text(out: &Output) -> String {
    let s = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if s.is_empty() {
        "no message".to_string()
    } else {
        s
    }
}

/// The private directory of iw's ssh control sockets: `$XDG_RUNTIME_DIR/iw-ssh` when that is
/// short enough for a unix socket, else `/tmp/iw-ssh-<uid>`; mode 0700, owned by this user, not
/// a symbolic link.
pub fn control_dir() -> Result<PathBuf> {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    // sun_path is 104 bytes on the BSDs/macOS (108 on Linux); the socket's name is %C (40
    // hex) and ssh adds a ~17-byte suffix while it creates it.
    let fits = |p: &Path| p.as_os_str().len() + 1 + 40 + 18 <= 104;
    let dir = Caller::get()
        .var("XDG_RUNTIME_DIR")
        .map(|d| Path::new(d).join("iw-ssh"))
        .filter(|d| d.is_absolute() && fits(d) && d.parent().is_some_and(Path::is_dir))
        .unwrap_or_else(|| PathBuf::from(format!("/tmp/iw-ssh-{uid}")));
    ensure_private_dir(&dir, uid)?;
    Ok(dir)
}

fn ensure_private_dir(dir: &Path, uid: u32) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("create directory", dir, e)),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| Error::io("read", dir, e))?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(Error::with_help(
            format!(
                "{} is not a private directory of this user (mode 0700, not a link): iw keeps \
                 its ssh connections' sockets there",
                dir.display()
            ),
            format!("remove it (`rm -r {}`), then try again", dir.display()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh() -> Ssh {
        Ssh {
            host: "gpu1".into(),
            destination: "me@gpu1".into(),
            args: vec!["-p".into(), "2222".into()],
            control_dir: PathBuf::from("/tmp/iw-ssh-0"),
            connect_timeout: Duration::from_secs(7),
            tmux: "/usr/bin/tmux".into(),
        }
    }

    #[test]
    fn command_lines_carry_the_options_then_the_targets_arguments() {
        let c = ssh().command("true");
        let args: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let at = |s: &str| args.iter().position(|a| a == s).unwrap();
        assert!(args.contains(&"BatchMode=yes".to_string()));
        assert!(args.contains(&"ConnectTimeout=7".to_string()));
        assert!(args.contains(&"ControlPath=/tmp/iw-ssh-0/%C".to_string()));
        assert!(at("-p") < at("--") && at("--") + 1 == at("me@gpu1"));
        assert_eq!(args.last().unwrap(), "true");
        let t = ssh().tmux_line(&[
            "-L".into(),
            "s".into(),
            "has-session".into(),
            "-t".into(),
            "=a b".into(),
        ]);
        assert_eq!(t, "/usr/bin/tmux -L s has-session -t '=a b'");
    }

    #[test]
    fn ssh_failures_name_the_host_and_say_what_to_do() {
        let s = ssh();
        let cases = [
            (
                "ssh: connect to host x port 22: Connection refused",
                "refused the connection",
            ),
            (
                "ssh: Could not resolve hostname x: Name or service not known",
                "cannot resolve",
            ),
            (
                "ssh: connect to host x port 22: Connection timed out",
                "cannot reach",
            ),
            ("me@x: Permission denied (publickey).", "refused to log in"),
            (
                "No ED25519 host key is known for x and you have requested strict checking.\r\nHost key verification failed.",
                "is not known here",
            ),
            (
                "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@",
                "has changed",
            ),
            ("Connection to x closed by remote host.", "was lost"),
            ("", "was lost"),
            ("something new", "ssh to me@gpu1 failed: something new"),
        ];
        for (stderr, want) in cases {
            let e = classify(&s, stderr);
            let text = e.to_string();
            assert!(text.starts_with("host gpu1: "), "{text}");
            assert!(text.contains(want), "{stderr:?} gave {text}");
            assert!(e.diagnostics()[0].help.is_some(), "{text}");
        }
    }

    #[test]
    fn the_control_directory_must_be_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let t = tempfile::tempdir().unwrap();
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let d = t.path().join("cm");
        ensure_private_dir(&d, uid).unwrap();
        let mode = std::fs::metadata(&d).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        ensure_private_dir(&d, uid).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(ensure_private_dir(&d, uid).is_err());
        let link = t.path().join("link");
        std::os::unix::fs::symlink(t.path(), &link).unwrap();
        assert!(ensure_private_dir(&link, uid).is_err());
        assert!(ensure_private_dir(&t.path().join("x"), uid + 1).is_err());
        let c = control_dir().unwrap();
        assert!(c.as_os_str().len() + 59 <= 104, "{}", c.display());
    }
}
