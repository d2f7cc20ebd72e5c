//! tmux's own client protocol, spoken to a local server for one read-only command, without
//! starting a `tmux` client process.
//!
//! Why: the no-op fast path of `iw plan` asks tmux for the live sessions, and a `tmux` client
//! process costs 2–4 ms of a 2-core machine (exec, dynamic linking of libevent and ncurses,
//! locale), more than the rest of the plan, while answering takes the server 0.4–1 ms
//! (docs/PERFORMANCE.md, round 2).
//!
//! What is sent is what tmux 3.3a's client sends for `env -i tmux -u -L SOCKET ARGS` (seen with
//! strace), byte for byte, less the two messages that pass the client's stdin and stdout: the
//! identify messages (flags `CLIENT_UTF8|CLIENT_DEFAULTSOCKET`, as `-u -L` give; no features;
//! empty terminal and tty names; the working directory; the pid; no environment), then
//! `MSG_COMMAND`, in one write. A client whose stdin is not a terminal (iw's own clients run
//! with `/dev/null`) has both descriptors closed by the server when it is identified; sent none,
//! this one ends identified in the same state, and leaves no descriptor to a server of another
//! tmux version. Every message carries protocol version 8 (tmux-protocol.h, since tmux 1.9); a
//! server of another version answers `MSG_VERSION` without reading the rest. The answer is read
//! as tmux's client reads it: stdout opened (`MSG_WRITE_OPEN`, answered `MSG_WRITE_READY`), its
//! data (`MSG_WRITE`), then `MSG_EXIT` with the exit status.
//!
//! No server at the socket (nothing there, or nothing accepting) is an answer too: the client
//! would have failed the same way (`Sent::NoServer`), and a no-op plan of a project whose
//! `sessions:` are all elsewhere or none need not start one to hear it.
//!
//! Anything else — a socket directory tmux would refuse, any other message (an older
//! tmux's output messages, say), error output, a non-zero status, a malformed message, no
//! answer within a second — gives `None`, and the caller runs the real `tmux` client instead:
//! this path only ever returns what the client would have printed, and otherwise steps aside.

use std::io::Read as _;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// `PROTOCOL_VERSION` of tmux-protocol.h.
const PROTOCOL_VERSION: u32 = 8;
/// An imsg header: type (u32), length (u16), flags (u16), peer id (the protocol version), pid.
const HEADER: usize = 16;
/// imsg's `MAX_IMSGSIZE`: no message, header included, is longer.
const MAX_MESSAGE: usize = 16384;

const IDENTIFY_FLAGS: u32 = 100;
const IDENTIFY_TERM: u32 = 101;
const IDENTIFY_TTYNAME: u32 = 102;
const IDENTIFY_DONE: u32 = 106;
const IDENTIFY_CLIENTPID: u32 = 107;
const IDENTIFY_CWD: u32 = 108;
const IDENTIFY_FEATURES: u32 = 109;
const IDENTIFY_LONGFLAGS: u32 = 111;
const COMMAND: u32 = 200;
const EXIT: u32 = 203;
const WRITE_OPEN: u32 = 303;
const WRITE: u32 = 304;
const WRITE_READY: u32 = 305;

/// `CLIENT_UTF8` (`-u`) and `CLIENT_DEFAULTSOCKET` (a socket named by `-L`, not `-S`).
const CLIENT_FLAGS: u32 = 0x10000 | 0x800_0000;

/// How long the server may take to answer before the real client is asked instead.
const TIMEOUT: Duration = Duration::from_secs(1);

/// Appends one imsg to `buf`.
fn message(buf: &mut Vec<u8>, kind: u32, data: &[u8]) {
    let len = u16::try_from(HEADER + data.len()).expect("message fits in u16");
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&0u16.to_ne_bytes());
    buf.extend_from_slice(&PROTOCOL_VERSION.to_ne_bytes());
    buf.extend_from_slice(&u32::MAX.to_ne_bytes());
    buf.extend_from_slice(data);
}

/// What the client sends for `argv`, from working directory `cwd` as process `pid`; `None` if
/// a message would be too long or an argument holds a NUL.
fn request(cwd: &[u8], pid: i32, argv: &[&str]) -> Option<Vec<u8>> {
    let mut dir = cwd.to_vec();
    dir.push(0);
    let argc = i32::try_from(argv.len()).ok()?;
    let mut cmd = argc.to_ne_bytes().to_vec();
    for a in argv {
        if a.contains('\0') {
            return None;
        }
        cmd.extend_from_slice(a.as_bytes());
        cmd.push(0);
    }
    if HEADER + dir.len().max(cmd.len()) > MAX_MESSAGE {
        return None;
    }
    let mut out = Vec::with_capacity(200 + dir.len() + cmd.len());
    message(&mut out, IDENTIFY_FLAGS, &CLIENT_FLAGS.to_ne_bytes());
    message(
        &mut out,
        IDENTIFY_LONGFLAGS,
        &u64::from(CLIENT_FLAGS).to_ne_bytes(),
    );
    message(&mut out, IDENTIFY_TERM, b"\0");
    message(&mut out, IDENTIFY_FEATURES, &0i32.to_ne_bytes());
    message(&mut out, IDENTIFY_TTYNAME, b"\0");
    message(&mut out, IDENTIFY_CWD, &dir);
    message(&mut out, IDENTIFY_CLIENTPID, &pid.to_ne_bytes());
    message(&mut out, IDENTIFY_DONE, &[]);
    message(&mut out, COMMAND, &cmd);
    Some(out)
}

/// The socket tmux's client would connect to for `tmux -L label`, if tmux would accept its
/// directory: `$TMUX_TMPDIR` (absolute, one directory) or `/tmp`, resolved, then `tmux-UID`,
/// a directory of this user that no one else may enter.
pub fn socket_path(label: &str) -> Option<PathBuf> {
    if label.is_empty() || label.contains('/') || label.contains('\0') {
        return None;
    }
    let base = crate::support::Caller::get().tmux_tmpdir();
    // tmux reads TMUX_TMPDIR as a list (`:`), expands `~` and variables, and skips what it
    // cannot resolve: all that is left to it.
    if !base.is_absolute() || base.to_string_lossy().contains(':') {
        return None;
    }
    let base = std::fs::canonicalize(base).ok()?;
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    let dir = base.join(format!("tmux-{uid}"));
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return None;
    }
    let path = dir.join(label);
    // sockaddr_un's sun_path: 108 bytes with the terminating NUL.
    (path.as_os_str().len() < 108).then_some(path)
}

/// Writes all of `data` to `sock`; false if it could not. `MSG_NOSIGNAL`: iw's command line
/// lets SIGPIPE end the process, and a server gone away must only make this path step aside.
fn send_all(sock: &UnixStream, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        // SAFETY: the pointer and length describe `data`, which outlives the call.
        let n = unsafe {
            libc::send(
                sock.as_raw_fd(),
                data.as_ptr().cast(),
                data.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        match usize::try_from(n) {
            Ok(n) if n > 0 => data = &data[n..],
            _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            _ => return false,
        }
    }
    true
}

/// A command sent to a server, its answer not read yet: the server works on it meanwhile.
#[derive(Debug)]
pub struct Pending {
    sock: UnixStream,
}

/// What became of a command given to [`send`].
#[derive(Debug)]
pub enum Sent {
    /// The server has it; [`Pending::finish`] reads its answer.
    Pending(Pending),
    /// No server: nothing at the socket's path, or nothing accepting there. tmux's client
    /// connects to that same path, and for a command that does not start a server (as
    /// `list-sessions` does not) it fails the same way, printing "no server running on …" or
    /// "error connecting to …" without running anything.
    NoServer,
}

/// Sends `tmux -u -L label ARGV` to the server of this machine through its socket, as tmux's
/// client would. `None` when that cannot be done cleanly (see the module's documentation).
pub fn send(label: &str, argv: &[&str]) -> Option<Sent> {
    let path = socket_path(label)?;
    let sock = match UnixStream::connect(&path) {
        Ok(sock) => sock,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.raw_os_error() == Some(libc::ECONNREFUSED) =>
        {
            return Some(Sent::NoServer);
        }
        Err(_) => return None,
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let pid = i32::try_from(std::process::id()).ok()?;
    let request = request(cwd.as_os_str().as_encoded_bytes(), pid, argv)?;
    sock.set_read_timeout(Some(TIMEOUT)).ok()?;
    send_all(&sock, &request).then_some(Sent::Pending(Pending { sock }))
}

impl Pending {
    /// What the client would have printed on stdout, when the command succeeded without a
    /// word on stderr; `None` in every other case (see the module's documentation).
    pub fn finish(mut self) -> Option<Vec<u8>> {
        let mut buf: Vec<u8> = Vec::with_capacity(16384);
        let mut stdout = Vec::new();
        let mut opened = false;
        let mut chunk = [0u8; 16384];
        loop {
            let mut at = 0;
            while buf.len() - at >= HEADER {
                let head = &buf[at..at + HEADER];
                let word =
                    |i: usize| u32::from_ne_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
                let (kind, peer) = (word(0), word(8));
                let len = usize::from(u16::from_ne_bytes([head[4], head[5]]));
                let flags = u16::from_ne_bytes([head[6], head[7]]);
                // A server never passes a command client a descriptor.
                if !(HEADER..=MAX_MESSAGE).contains(&len)
                    || flags != 0
                    || peer & 0xff != PROTOCOL_VERSION
                {
                    return None;
                }
                if buf.len() - at < len {
                    break;
                }
                let data = &buf[at + HEADER..at + len];
                let int = |i: usize| -> Option<i32> {
                    Some(i32::from_ne_bytes(data.get(i..i + 4)?.try_into().ok()?))
                };
                match kind {
                    // Stdout (stream 1 on descriptor 1), opened once, no path: anything else
                    // (stderr included) is not a clean answer.
                    WRITE_OPEN if data.len() == 12 && int(0)? == 1 && int(4)? == 1 && !opened => {
                        opened = true;
                        let mut ready = Vec::new();
                        let reply = [1i32.to_ne_bytes(), 0i32.to_ne_bytes()].concat();
                        message(&mut ready, WRITE_READY, &reply);
                        if !send_all(&self.sock, &ready) {
                            return None;
                        }
                    }
                    WRITE if opened && int(0)? == 1 => stdout.extend_from_slice(&data[4..]),
                    // The exit status alone: with a message, tmux's client would print it.
                    EXIT if data.len() == 4 && int(0)? == 0 => return Some(stdout),
                    _ => return None,
                }
                at += len;
            }
            buf.drain(..at);
            let n = self.sock.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What tmux 3.3a's client sent for `env -i tmux -u -L s list-sessions -F
    /// '#{session_name}'` from /tmp as pid 0x1346, as strace showed it (little-endian), less its
    /// stdin and stdout messages (`68…` and `6e…`, each with a descriptor).
    #[test]
    #[cfg(target_endian = "little")]
    fn the_request_is_what_tmux_sends() {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let sent = request(b"/tmp", 0x1346, &["list-sessions", "-F", "#{session_name}"]);
        let tmux = hex(concat!(
            "640000001400000008000000ffffffff00000108",
            "6f0000001800000008000000ffffffff0000010800000000",
            "650000001100000008000000ffffffff00",
            "6d0000001400000008000000ffffffff00000000",
            "660000001100000008000000ffffffff00",
            "6c0000001500000008000000ffffffff2f746d7000",
            "6b0000001400000008000000ffffffff46130000",
            "6a0000001000000008000000ffffffff",
            "c80000003500000008000000ffffffff030000006c6973742d73657373696f6e73002d46",
            "00237b73657373696f6e5f6e616d657d00",
        ));
        assert_eq!(sent, Some(tmux));
        assert_eq!(request(b"/tmp", 1, &["a\0b"]), None);
        assert_eq!(request(b"/tmp", 1, &[&"x".repeat(MAX_MESSAGE)]), None);
    }

    #[test]
    fn labels_tmux_would_read_otherwise_are_left_to_it() {
        for label in ["", "a/b", "a\0b"] {
            assert_eq!(socket_path(label), None, "{label:?}");
        }
    }
}
