//! Hosts over SSH (issue 17): `iw::remote::connect` against real sshd fixtures on 127.0.0.1
//! (tests/it/common/sshd.rs), each standing for one host with its own HOME, tmux and root.
//! Installing iw there, probing and writing files in one round trip, the host's tmux, and the
//! failures: unreachable, refused, unknown host key, a host going down mid-use.

use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use iw::remote::{HostLink, Options, Probe, Target, WriteOp};
use iw::tmux::Servers as _;
use iw::tmux::TmuxCmd;

use crate::common::sshd::Sshd;

/// The `iw` binary (what gets installed on the hosts: the test binary has no `iw remote`).
fn options() -> Options {
    Options {
        binary: Some(PathBuf::from(env!("CARGO_BIN_EXE_iw"))),
        connect_timeout: Duration::from_secs(5),
        ..Options::default()
    }
}

fn target(name: &str, h: &Sshd) -> Target {
    Target {
        name: name.to_string(),
        destination: h.alias().to_string(),
        root: h.remote_root(),
        ssh_args: h.ssh_args(),
    }
}

/// Connects to `h` with iw already in place there ([`Sshd::preinstall_iw`]).
fn connect_preinstalled(name: &str, h: &Sshd) -> Box<dyn HostLink> {
    h.preinstall_iw();
    connect(name, h)
}

fn connect(name: &str, h: &Sshd) -> Box<dyn HostLink> {
    iw::remote::connect_with(&[target(name, h)], &options())
        .remove(0)
        .unwrap_or_else(|e| panic!("connect {name}: {e}\n--- sshd log ---\n{}", h.log()))
}

fn sha(b: &[u8]) -> String {
    iw::support::fsutil::sha256_hex(b)
}

/// A private tmux socket name on a host (the host's server is killed by the fixture's drop).
fn socket() -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!(
        "iw-test-{}-r{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

#[test]
fn connect_installs_iw_on_each_host_once() {
    let (a, b) = (Sshd::start(), Sshd::start());
    let links = iw::remote::connect_with(&[target("a", &a), target("b", &b)], &options());
    assert_eq!(links.len(), 2);
    let mut inodes = Vec::new();
    for (link, h) in links.iter().zip([&a, &b]) {
        let link = link.as_ref().unwrap_or_else(|e| panic!("{e}\n{}", h.log()));
        // The hooks run the stable link; it names the build, installed under its hash.
        let stable = link.iw_path();
        assert_eq!(stable, h.remote_home().join(".local/share/iw/bin/iw"));
        let iw = stable
            .parent()
            .unwrap()
            .join(std::fs::read_link(&stable).unwrap());
        let shipped = std::fs::read(&iw).unwrap();
        assert_eq!(shipped, std::fs::read(env!("CARGO_BIN_EXE_iw")).unwrap());
        assert!(iw.to_string_lossy().ends_with(&sha(&shipped)[..16]));
        assert_eq!(std::fs::metadata(&iw).unwrap().mode() & 0o777, 0o755);
        // It runs there, through the link too, and nothing was left half-uploaded.
        let v = h.run_ok(&format!("{} --version", stable.display()));
        assert!(v.starts_with("iw "), "{v}");
        let mut dir: Vec<String> = std::fs::read_dir(iw.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        dir.sort();
        let name = iw.file_name().unwrap().to_string_lossy().into_owned();
        // The link, the binary, and the identity it was verified with (so later connects skip
        // the hash).
        assert_eq!(
            dir,
            ["iw".to_string(), name.clone(), format!("{name}.verified")]
        );
        inodes.push(std::fs::metadata(&iw).unwrap().ino());
    }
    assert_eq!(links[0].as_ref().unwrap().target().name, "a");
    assert_eq!(links[1].as_ref().unwrap().target().name, "b");

    // Connecting again finds it in place: not shipped again (same file, same inode).
    let again = connect("a", &a);
    assert_eq!(again.iw_path(), links[0].as_ref().unwrap().iw_path());
    assert_eq!(std::fs::metadata(again.iw_path()).unwrap().ino(), inodes[0]);

    // A damaged binary (another hash) is replaced.
    std::fs::write(again.iw_path(), b"#!/bin/sh\necho broken\n").unwrap();
    let fixed = connect("a", &a);
    assert_eq!(
        std::fs::read(fixed.iw_path()).unwrap(),
        std::fs::read(env!("CARGO_BIN_EXE_iw")).unwrap()
    );
}

#[test]
fn probe_and_write_in_one_round_trip_each() {
    let h = Sshd::start();
    let link = connect_preinstalled("gpu", &h);
    let root = h.remote_root();
    std::fs::create_dir_all(root.join("agents/x/.claude")).unwrap();
    std::fs::write(root.join("agents/x/.claude/same.json"), b"same").unwrap();
    std::fs::write(root.join("agents/x/.claude/edited.json"), b"edited").unwrap();

    let probes = [
        ("agents/x/.claude/same.json", Some(sha(b"same"))),
        ("agents/x/.claude/edited.json", Some(sha(b"as iw wrote it"))),
        ("agents/x/.claude/missing.json", Some(sha(b"x"))),
    ]
    .map(|(p, w)| Probe {
        path: p.to_string(),
        want_sha256: w,
    });
    let seen = link.probe(&probes).unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].sha256.as_deref(), Some(sha(b"same").as_str()));
    assert_eq!(seen[0].content, None, "equal content is not sent back");
    assert_eq!(seen[1].sha256.as_deref(), Some(sha(b"edited").as_str()));
    assert_eq!(seen[1].content.as_deref(), Some(&b"edited"[..]));
    assert!(seen[1].mode.is_some());
    assert_eq!(
        (seen[2].sha256.clone(), seen[2].content.clone()),
        (None, None)
    );
    let escape = Probe {
        path: "../x".into(),
        want_sha256: None,
    };
    let e = link.probe(&[escape]).unwrap_err().to_string();
    assert!(e.contains("host gpu") && e.contains("../x"), "{e}");

    // Binary content, a new directory, a mode for new files.
    let bytes: Vec<u8> = (0..=255u8).chain([0, 0, b'\n']).collect();
    let op = |path: &str, content: Option<&[u8]>, unless: Option<String>| WriteOp {
        path: path.to_string(),
        content: content.map(<[u8]>::to_vec),
        mode: 0o600,
        backup_unless_sha256: unless,
    };
    let done = link
        .write(&[
            op("agents/y/.claude/new.bin", Some(&bytes), None),
            // iw last wrote "as iw wrote it": the edit is saved before it is replaced.
            op(
                "agents/x/.claude/edited.json",
                Some(b"new"),
                Some(sha(b"as iw wrote it")),
            ),
            // What iw last wrote: replaced without a backup.
            op(
                "agents/x/.claude/same.json",
                Some(b"next"),
                Some(sha(b"same")),
            ),
        ])
        .unwrap();
    assert_eq!(
        std::fs::read(root.join("agents/y/.claude/new.bin")).unwrap(),
        bytes
    );
    let mode = std::fs::metadata(root.join("agents/y/.claude/new.bin"))
        .unwrap()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(done[0].sha256.as_deref(), Some(sha(&bytes).as_str()));
    let backup = done[1].backup.clone().expect("the edit is backed up");
    assert!(backup.starts_with("state/backups/"), "{backup}");
    assert!(
        backup.ends_with("/agents/x/.claude/edited.json"),
        "{backup}"
    );
    assert_eq!(std::fs::read(root.join(&backup)).unwrap(), b"edited");
    assert_eq!(
        std::fs::read(root.join("agents/x/.claude/edited.json")).unwrap(),
        b"new"
    );
    assert_eq!(done[2].backup, None);

    // Removal, then a refused escape: what was done before it is reported.
    let (done, e) = link
        .write(&[
            op("agents/x/.claude/same.json", None, Some(sha(b"next"))),
            op("../outside", Some(b"no"), None),
            op("agents/x/after", Some(b"never"), None),
        ])
        .unwrap_err();
    assert_eq!(done.len(), 1);
    assert_eq!(
        (done[0].sha256.clone(), done[0].backup.clone()),
        (None, None)
    );
    assert!(!root.join("agents/x/.claude/same.json").exists());
    assert!(e.to_string().contains("host gpu"), "{e}");
    assert!(!root.parent().unwrap().join("outside").exists());
    assert!(!root.join("agents/x/after").exists());
}

#[test]
fn the_hosts_tmux_through_ssh() {
    let (a, b) = (Sshd::start(), Sshd::start());
    let (la, lb) = (connect_preinstalled("a", &a), connect_preinstalled("b", &b));
    let s = socket();
    assert_eq!(
        la.list(&s).unwrap(),
        vec![],
        "no server there yet: no sessions"
    );
    // Quoting through two shells and tmux: a space, a quote, a trailing `;`, `$HOME` left for
    // the pane's shell on the host.
    let name = "w 1";
    let cmd = "echo \"it's\" $HOME ';'; sleep 30";
    la.run(
        &s,
        &[TmuxCmd::new("new-session")
            .args(["-d", "-s", name, "-x", "80", "-y", "10"])
            .arg(cmd)],
    )
    .unwrap();
    let live = la.list(&s).unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].name, name);
    assert!(lb.list(&s).unwrap().is_empty(), "host b has its own tmux");
    // Not this machine's tmux either.
    let here = std::process::Command::new("tmux")
        .args(["-L", &s, "list-sessions"])
        .env_remove("TMUX")
        .output()
        .unwrap();
    assert!(!here.status.success());

    let home = a.remote_home().display().to_string();
    let t = Instant::now();
    let mut lines = Vec::new();
    while t.elapsed() < Duration::from_secs(10) {
        lines = la.capture(&s, name, 5).unwrap();
        if !lines.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(lines, vec![format!("it's {home} ;")]);

    // Groups packed and run; a tmux error is reported with the host's name.
    let groups: Vec<Vec<TmuxCmd>> = (0..3)
        .map(|i| vec![TmuxCmd::new("new-session").args(["-d", "-s", &format!("g{i}"), "sleep 30"])])
        .collect();
    match la.run_groups(&s, &groups) {
        Ok(n) => assert_eq!(n, 3),
        Err((n, e)) => panic!("{n} groups ran, then: {e}"),
    }
    let e = la
        .run(&s, &[TmuxCmd::new("kill-session").args(["-t", "=nope"])])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("host a: tmux -L "), "{e}");
    la.kill(&s, &[name.to_string(), "g0".into(), "gone".into()])
        .unwrap();
    let names: Vec<String> = la.list(&s).unwrap().into_iter().map(|l| l.name).collect();
    assert_eq!(names, ["g1", "g2"]);

    let attach = la.attach_command(&s, name);
    let args: Vec<String> = attach
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert!(args.contains(&"-t".to_string()) && args.contains(&a.alias().to_string()));
    assert!(
        args.last()
            .unwrap()
            .ends_with(&format!("-L {s} attach-session -t '=w 1'")),
        "{args:?}"
    );
}

#[test]
fn unreachable_or_refusing_hosts_fail_fast_and_say_why() {
    let mut h = Sshd::start();
    let extra = |args: &[&str]| {
        let mut t = target("edge", &h);
        t.ssh_args.extend(args.iter().map(|s| s.to_string()));
        t
    };
    let fails = |t: Target| {
        let start = Instant::now();
        let e = iw::remote::connect_with(&[t], &options())
            .remove(0)
            .err()
            .expect("connect fails");
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "took {:?}",
            start.elapsed()
        );
        let help = e.diagnostics()[0].help.clone().unwrap_or_default();
        (e.to_string(), help)
    };
    // No key it accepts, and no prompt for a password.
    let (e, help) = fails(extra(&["-o", "PubkeyAuthentication=no"]));
    assert!(
        e.contains("host edge") && e.contains("refused to log in"),
        "{e}"
    );
    assert!(help.contains("batch mode"), "{help}");
    // A host key that is not known here.
    let (e, help) = fails(extra(&["-o", "UserKnownHostsFile=/dev/null"]));
    assert!(e.contains("host edge") && e.contains("host key"), "{e}");
    assert!(help.contains("connect once by hand"), "{help}");
    // Hosts are connected side by side: one failing leaves the others connected, in order.
    h.preinstall_iw();
    let mut bad = extra(&["-o", "PubkeyAuthentication=no"]);
    bad.name = "bad".into();
    let both = iw::remote::connect_with(&[bad, target("good", &h)], &options());
    let e = both[0].as_ref().err().expect("bad fails").to_string();
    assert!(e.starts_with("host bad: "), "{e}");
    assert_eq!(
        both[1].as_ref().expect("good connects").target().name,
        "good"
    );
    // A relative root is refused before anything is run.
    let mut rel = target("edge", &h);
    rel.root = PathBuf::from("relative/root");
    assert!(fails(rel).0.contains("not an absolute path"));
    // Nothing listening any more.
    h.stop();
    let (e, help) = fails(target("edge", &h));
    assert!(
        e.contains("host edge") && e.contains("refused the connection"),
        "{e}"
    );
    assert!(help.contains("sshd"), "{help}");
}

#[test]
fn a_host_going_down_mid_use_is_an_error_not_a_hang() {
    let mut h = Sshd::start();
    let link = connect_preinstalled("flaky", &h);
    let s = socket();
    link.run(
        &s,
        &[TmuxCmd::new("new-session").args(["-d", "-s", "x", "sleep 60"])],
    )
    .unwrap();
    h.stop();
    let start = Instant::now();
    // A lost connection is never "no sessions".
    let e = link.list(&s).unwrap_err().to_string();
    assert!(e.contains("host flaky"), "{e}");
    let probe = [Probe {
        path: "f".into(),
        want_sha256: None,
    }];
    let e = link.probe(&probe).unwrap_err().to_string();
    assert!(e.contains("host flaky"), "{e}");
    let (done, e) = link
        .write(&[WriteOp {
            path: "f".into(),
            content: Some(b"x".to_vec()),
            mode: 0o644,
            backup_unless_sha256: None,
        }])
        .unwrap_err();
    assert!(
        done.is_empty() && e.to_string().contains("host flaky"),
        "{e}"
    );
    let help = e.diagnostics()[0].help.clone().unwrap_or_default();
    assert!(help.contains("iw plan"), "{help}");
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );

    // Back up: the same link works again (a new connection), and the session survived.
    h.restart();
    let names: Vec<String> = link.list(&s).unwrap().into_iter().map(|l| l.name).collect();
    assert_eq!(names, ["x"]);
}

/// Round-trip times over the multiplexed connection, printed (`--nocapture`) for the record.
/// `IW_REMOTE_TIMING_BINARY=target/x86_64-unknown-linux-gnu/release/iw` (the host's tuple) times shipping a release build instead.
#[test]
fn round_trip_times() {
    let h = Sshd::start();
    let mut opts = options();
    if let Some(b) = std::env::var_os("IW_REMOTE_TIMING_BINARY") {
        opts.binary = Some(PathBuf::from(b));
    }
    let connect = |name: &str, h: &Sshd| {
        iw::remote::connect_with(&[target(name, h)], &opts)
            .remove(0)
            .unwrap()
    };
    let time = |what: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        let d = t.elapsed();
        eprintln!(
            "remote round trip: {what}: {:.1} ms",
            d.as_secs_f64() * 1000.0
        );
        d
    };
    let mut link = None;
    time("connect (cold: new connection, iw shipped)", &mut || {
        link = Some(connect("t", &h));
    });
    let link = link.unwrap();
    let warm = time("connect (warm: connection up, iw in place)", &mut || {
        connect("t", &h);
    });
    let probes: Vec<Probe> = (0..20)
        .map(|i| Probe {
            path: format!("agents/a{i}/.claude/settings.json"),
            want_sha256: None,
        })
        .collect();
    let ops: Vec<WriteOp> = probes
        .iter()
        .map(|p| WriteOp {
            path: p.path.clone(),
            content: Some(vec![b'x'; 4096]),
            mode: 0o644,
            backup_unless_sha256: None,
        })
        .collect();
    time("write (20 files of 4 KiB)", &mut || {
        assert_eq!(link.write(&ops).unwrap().len(), 20);
    });
    time("probe (20 files)", &mut || {
        assert_eq!(link.probe(&probes).unwrap().len(), 20);
    });
    let s = socket();
    time("tmux list (no server)", &mut || {
        assert!(link.list(&s).unwrap().is_empty());
    });
    // Without its connection, the next call opens a new one.
    let direct = iw::remote::SshLink::connect(&target("t", &h), &opts).unwrap();
    direct.close();
    time("tmux list (new connection)", &mut || {
        assert!(direct.list(&s).unwrap().is_empty());
    });
    // A warm connect is one round trip: well under the time to ship a binary.
    assert!(warm < Duration::from_secs(10), "{warm:?}");
}

#[test]
fn the_hidden_subcommand_speaks_json_on_stdin_and_stdout() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().canonicalize().unwrap();
    let write = r#"{"v":1,"ops":[{"path":"a/f","content":"AAE=","mode":384,"backup_unless_sha256":null},
                                  {"path":"/etc/x","content":"AAE=","mode":384,"backup_unless_sha256":null}]}"#;
    let out = crate::common::iw()
        .args(["remote", "write", "--root"])
        .arg(&root)
        .write_stdin(write)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["done"].as_array().unwrap().len(), 1);
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("absolute")
    );
    assert_eq!(std::fs::read(root.join("a/f")).unwrap(), [0, 1]);
    let probe = r#"{"v":1,"probes":[{"path":"a/f","want_sha256":null}]}"#;
    let out = crate::common::iw()
        .args(["remote", "probe", "--root"])
        .arg(&root)
        .write_stdin(probe)
        .output()
        .unwrap();
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["seen"][0]["content"], "AAE=");
    assert_eq!(reply["seen"][0]["mode"], 0o600);
    // Not for people: not in the help.
    let help = crate::common::iw().arg("--help").output().unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("remote"));
}
