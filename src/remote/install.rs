//! iw's own binary on a host: what connecting learns there in one round trip ([`Facts`]: system,
//! architecture, home, tmux, the installed iw's hash), and the upload that installs it.
//!
//! The binary lives at `~/.local/share/iw/bin/iw-<first 16 hex of its SHA-256>`, so builds never
//! overwrite each other (a hook still running an older one keeps working). An upload goes to a
//! temporary file in that directory, is checked there (SHA-256, and that it runs:
//! `--version`), made executable and renamed into place: a file at the final name is always a
//! whole, verified binary. The scripts run under `sh` whatever the login shell is.
//!
//! An install removes the builds (and their stamps) installed there more than a day before: the
//! hooks run the link, and a build still in use elsewhere is shipped again by its next connect.
//!
//! `~/.local/share/iw/bin/iw` is a symbolic link to the build last verified there, replaced
//! atomically (a new link renamed over it) by each connect whose build it does not name. The
//! hooks in the host's settings.json run it, so a new iw build changes no generated file there
//! and replaces no session: the next connect points the link at it. iw's own calls run the
//! hashed file itself, never another build through the link.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::quote;
use crate::support::error::{Error, Result};

/// Where the binaries go, relative to the remote home.
pub const BIN_DIR: &str = ".local/share/iw/bin";

/// The stable link to the verified build, in [`BIN_DIR`].
pub const LINK_NAME: &str = "iw";

/// Hex digits of the SHA-256 in the installed file's name.
const NAME_HEX: usize = 16;

/// A shell function printing a file's SHA-256 (hex) with whichever tool the host has.
const SHA_FN: &str = "sha() { { sha256sum \"$1\" || shasum -a 256 \"$1\" || \
                      openssl dgst -sha256 -r \"$1\"; } 2>/dev/null | cut -c1-64; }\n";

/// A shell function printing a file's identity (inode, size, modification and change times,
/// with nanoseconds where `stat` gives them), with GNU's or BSD's `stat`; empty if neither works.
const IDENT_FN: &str = "ident() { { stat -c '%i %s %.9Y %.9Z' \"$1\" || \
                        stat -f '%i %z %Fm %Fc' \"$1\"; } 2>/dev/null | head -n 1; }\n";

/// The script that gathers [`Facts`]; `$1` is the binary's file name, `$2` its SHA-256. The
/// installed binary is hashed once: when its hash is right, its identity is kept beside it
/// (`<name>.verified`), and later connects hash it again only if that identity changed (the
/// no-op plan of a host was mostly this hash of a 15 MB file).
const FACTS_SCRIPT: &str = "\
printf 'os=%s\\n' \"$(uname -s)\"
printf 'arch=%s\\n' \"$(uname -m)\"
printf 'home=%s\\n' \"$HOME\"
t=$(command -v tmux 2>/dev/null) || t=
if [ -z \"$t\" ]; then
  for c in /usr/bin/tmux /usr/local/bin/tmux /opt/homebrew/bin/tmux /opt/local/bin/tmux \
/home/linuxbrew/.linuxbrew/bin/tmux; do
    if [ -x \"$c\" ]; then t=$c; break; fi
  done
fi
if [ -n \"$t\" ]; then
  printf 'tmux=%s\\n' \"$t\"
  printf 'tmux_version=%s\\n' \"$(\"$t\" -V 2>&1 | head -n 1)\"
fi
d=\"$HOME/.local/share/iw/bin\"
f=\"$d/$1\"
if [ -f \"$f\" ] && [ -x \"$f\" ]; then
  id=$(ident \"$f\")
  if [ -n \"$id\" ] && [ \"$(cat \"$f.verified\" 2>/dev/null)\" = \"$id $2\" ]; then
    s=$2
  else
    s=$(sha \"$f\")
    if [ -n \"$id\" ] && [ \"$s\" = \"$2\" ]; then printf '%s\\n' \"$id $2\" > \"$f.verified\"; fi
  fi
  printf 'installed=%s\\n' \"$s\"
  if [ \"$s\" = \"$2\" ]; then link \"$1\"; fi
fi
printf 'link=%s\\n' \"$(readlink \"$d/iw\" 2>/dev/null)\"
";

/// A shell function pointing the stable link at build `$1` (in `$d`) unless it does already:
/// a new link renamed over the old one, so the hook never finds no link.
const LINK_FN: &str = "link() { [ \"$(readlink \"$d/iw\" 2>/dev/null)\" = \"$1\" ] || { \
                       ln -s \"$1\" \"$d/.iw-link.$$\" && mv -f \"$d/.iw-link.$$\" \"$d/iw\"; }; }\n";

/// The script that installs the binary arriving on stdin; `$1` file name, `$2` its SHA-256.
const INSTALL_SCRIPT: &str = "\
set -e
d=\"$HOME/.local/share/iw/bin\"
mkdir -p \"$d\"
t=$(mktemp \"$d/.iw-upload.XXXXXX\")
trap 'rm -f \"$t\"' EXIT
cat > \"$t\"
s=$(sha \"$t\")
if [ -z \"$s\" ]; then
  echo 'iw-install: no sha256sum, shasum or openssl here to check the upload with' >&2; exit 3
fi
if [ \"$s\" != \"$2\" ]; then
  echo \"iw-install: the upload arrived damaged (SHA-256 $s, expected $2)\" >&2; exit 3
fi
chmod 755 \"$t\"
if ! \"$t\" --version >/dev/null 2>&1; then
  echo 'iw-install: the binary does not run on this host' >&2; exit 4
fi
mv -f \"$t\" \"$d/$1\"
trap - EXIT
id=$(ident \"$d/$1\")
if [ -n \"$id\" ]; then printf '%s\\n' \"$id $2\" > \"$d/$1.verified\"; fi
link \"$1\"
find \"$d\" -maxdepth 1 -name 'iw-*' ! -name \"$1\" ! -name \"$1.verified\" -mtime +0 \\
  -exec rm -f {} + 2>/dev/null || true
";

/// A script as one remote command line: `sh -c SCRIPT sh ARGS…`, quoted for the login shell.
pub fn sh_line(script: &str, args: &[&str]) -> String {
    let mut words = vec!["sh", "-c", script, "sh"];
    words.extend_from_slice(args);
    quote::join(words)
}

/// The remote command that gathers [`Facts`] about a host for binary `name`.
pub fn facts_command(name: &str, sha: &str) -> String {
    sh_line(
        &format!("{SHA_FN}{IDENT_FN}{LINK_FN}{FACTS_SCRIPT}"),
        &[name, sha],
    )
}

/// The remote command that installs binary `name` (SHA-256 `sha`) from its stdin.
pub fn install_command(name: &str, sha: &str) -> String {
    sh_line(
        &format!("{SHA_FN}{IDENT_FN}{LINK_FN}{INSTALL_SCRIPT}"),
        &[name, sha],
    )
}

/// What connecting learns about a host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// `uname -s`.
    pub os: String,
    /// `uname -m`.
    pub arch: String,
    /// The remote user's `HOME`.
    pub home: String,
    /// The tmux found there (absolute), if any.
    pub tmux: Option<String>,
    /// Its `tmux -V`.
    pub tmux_version: Option<String>,
    /// The SHA-256 of the binary installed under the expected name, if there is one.
    pub installed: Option<String>,
    /// The file name the stable link ([`LINK_NAME`]) points at, if it exists.
    pub link: Option<String>,
}

impl Facts {
    /// Reads the `key=value` lines of the facts script; unknown keys are ignored.
    pub fn parse(text: &str) -> Facts {
        let mut f = Facts::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim().to_string();
            let some = || (!v.is_empty()).then(|| v.clone());
            match k {
                "os" => f.os = v,
                "arch" => f.arch = v,
                "home" => f.home = v,
                "tmux" => f.tmux = some(),
                "tmux_version" => f.tmux_version = some(),
                "installed" => f.installed = some(),
                "link" => f.link = some(),
                _ => {}
            }
        }
        f
    }

    /// The host's platform in Rust's names (`linux`/`x86_64`), as [`this_platform`] gives.
    pub fn platform(&self) -> (String, String) {
        (os_name(&self.os), arch_name(&self.arch))
    }
}

/// This build's platform (`std::env::consts::{OS, ARCH}`).
pub fn this_platform() -> (String, String) {
    (
        std::env::consts::OS.to_string(),
        std::env::consts::ARCH.to_string(),
    )
}

/// `uname -s` in Rust's names.
fn os_name(uname: &str) -> String {
    match uname.to_ascii_lowercase().as_str() {
        "darwin" => "macos".to_string(),
        other => other.to_string(),
    }
}

/// `uname -m` in Rust's names.
fn arch_name(uname: &str) -> String {
    let m = uname.to_ascii_lowercase();
    match m.as_str() {
        "amd64" | "x86_64" => "x86_64".into(),
        "arm64" | "aarch64" => "aarch64".into(),
        "i386" | "i486" | "i586" | "i686" | "x86" => "x86".into(),
        "ppc64le" | "ppc64" => "powerpc64".into(),
        _ if m.starts_with("armv") => "arm".into(),
        _ => m,
    }
}

/// The file name a binary with this SHA-256 is installed under.
pub fn file_name(sha: &str) -> String {
    format!("iw-{}", sha.chars().take(NAME_HEX).collect::<String>())
}

/// Where a binary with this SHA-256 is installed, under `home`.
pub fn installed_path(home: &str, sha: &str) -> PathBuf {
    Path::new(home).join(BIN_DIR).join(file_name(sha))
}

/// The stable link to the build last verified on a host, under `home`: what its hooks run.
pub fn link_path(home: &str) -> PathBuf {
    Path::new(home).join(BIN_DIR).join(LINK_NAME)
}

/// The SHA-256 (hex) of the binary at `path`, computed once per process and file version.
pub fn binary_sha256(path: &Path) -> Result<String> {
    use std::os::unix::fs::MetadataExt as _;
    type Seen = (PathBuf, u64, i64, i64, String);
    static CACHE: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
    let meta = std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?;
    let key = (
        path.to_path_buf(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
    );
    let hit = |c: &Vec<Seen>| {
        c.iter()
            .find(|s| (&s.0, s.1, s.2, s.3) == (&key.0, key.1, key.2, key.3))
            .map(|s| s.4.clone())
    };
    if let Some(sha) = CACHE.lock().ok().and_then(|c| hit(&c)) {
        return Ok(sha);
    }
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let sha: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if let Ok(mut c) = CACHE.lock() {
        c.push((key.0, key.1, key.2, key.3, sha.clone()));
    }
    Ok(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_parse_and_unknown_lines_are_ignored() {
        let f = Facts::parse(
            "os=Linux\narch=x86_64\nhome=/home/a\ntmux=/usr/bin/tmux\ntmux_version=tmux 3.3a\n\
             junk\nother=1\ninstalled=abc\n",
        );
        assert_eq!(f.home, "/home/a");
        assert_eq!(f.tmux.as_deref(), Some("/usr/bin/tmux"));
        assert_eq!(f.tmux_version.as_deref(), Some("tmux 3.3a"));
        assert_eq!(f.installed.as_deref(), Some("abc"));
        assert_eq!(f.platform(), ("linux".into(), "x86_64".into()));
        let none = Facts::parse("os=Darwin\narch=arm64\nhome=/Users/a\ninstalled=\n");
        assert_eq!((&none.tmux, &none.installed), (&None, &None));
        assert_eq!(none.platform(), ("macos".into(), "aarch64".into()));
        assert_eq!(Facts::parse("").platform(), (String::new(), String::new()));
    }

    #[test]
    fn this_machine_matches_its_own_uname() {
        let out = |a: &str| {
            let o = std::process::Command::new("uname").arg(a).output().unwrap();
            String::from_utf8(o.stdout).unwrap().trim().to_string()
        };
        let f = Facts {
            os: out("-s"),
            arch: out("-m"),
            ..Facts::default()
        };
        assert_eq!(f.platform(), this_platform());
    }

    #[test]
    fn the_scripts_run_under_sh() {
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join(BIN_DIR);
        std::fs::create_dir_all(&bin).unwrap();
        let want = crate::support::fsutil::sha256_hex(b"#!/bin/sh\n");
        let script = facts_command("iw-x", &want);
        let run = |cmd: &str| {
            let o = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .env("HOME", home.path())
                .output()
                .unwrap();
            assert!(o.status.success(), "{o:?}");
            Facts::parse(&String::from_utf8(o.stdout).unwrap())
        };
        let f = run(&script);
        assert_eq!(f.home, home.path().to_str().unwrap());
        assert_eq!(f.installed, None);
        std::fs::write(bin.join("iw-x"), b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            bin.join("iw-x"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let f = run(&script);
        assert_eq!(f.installed.as_deref(), Some(want.as_str()));
        // Hashed once: the identity of what was verified is kept beside it, and trusted while
        // the file stays the same file; any change (here, a rewrite) is hashed again.
        let stamp = std::fs::read_to_string(bin.join("iw-x.verified")).unwrap();
        assert!(stamp.trim_end().ends_with(&want), "{stamp}");
        // The stable link names the verified build, and is left alone while it does.
        let link = bin.join(LINK_NAME);
        assert_eq!(std::fs::read_link(&link).unwrap(), PathBuf::from("iw-x"));
        let before = std::fs::symlink_metadata(&link)
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(run(&script).installed.as_deref(), Some(want.as_str()));
        let after = std::fs::symlink_metadata(&link)
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(before, after);
        // Another build verified later takes the link over.
        std::fs::write(bin.join("iw-y"), b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            bin.join("iw-y"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        assert_eq!(
            run(&facts_command("iw-y", &want)).installed.as_deref(),
            Some(want.as_str())
        );
        assert_eq!(std::fs::read_link(&link).unwrap(), PathBuf::from("iw-y"));
        std::fs::write(bin.join("iw-x"), b"#!/bin/sh\n#x\n").unwrap();
        let other = crate::support::fsutil::sha256_hex(b"#!/bin/sh\n#x\n");
        assert_eq!(run(&script).installed, Some(other));
        // A stamp naming another file's identity is not believed either.
        std::fs::write(bin.join("iw-x.verified"), format!("1 2 3 4 {want}\n")).unwrap();
        assert_ne!(run(&script).installed.as_deref(), Some(want.as_str()));
        // A build that does not verify never takes the link.
        assert_eq!(std::fs::read_link(&link).unwrap(), PathBuf::from("iw-y"));
    }

    #[test]
    fn an_install_points_the_link_at_it_and_removes_builds_older_than_a_day() {
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join(BIN_DIR);
        std::fs::create_dir_all(&bin).unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86_400);
        for (name, modified) in [
            ("iw-old", Some(old)),
            ("iw-old.verified", Some(old)),
            ("iw-recent", None),
        ] {
            let f = std::fs::File::create(bin.join(name)).unwrap();
            if let Some(t) = modified {
                f.set_modified(t).unwrap();
            }
        }
        let body = b"#!/bin/sh\n";
        let sha = crate::support::fsutil::sha256_hex(body);
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(install_command("iw-new", &sha))
            .env("HOME", home.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), body).unwrap();
        assert!(child.wait().unwrap().success());
        let mut left: Vec<String> = std::fs::read_dir(&bin)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["iw", "iw-new", "iw-new.verified", "iw-recent"]);
        assert_eq!(
            std::fs::read_link(bin.join("iw")).unwrap(),
            PathBuf::from("iw-new")
        );
    }

    #[test]
    fn names_and_hashes() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("bin");
        std::fs::write(&p, b"abc").unwrap();
        let sha = binary_sha256(&p).unwrap();
        assert_eq!(sha, crate::support::fsutil::sha256_hex(b"abc"));
        assert_eq!(binary_sha256(&p).unwrap(), sha);
        assert_eq!(file_name(&sha), format!("iw-{}", &sha[..16]));
        assert_eq!(
            installed_path("/h", &sha),
            PathBuf::from(format!("/h/.local/share/iw/bin/iw-{}", &sha[..16]))
        );
        assert!(binary_sha256(&t.path().join("missing")).is_err());
    }
}
