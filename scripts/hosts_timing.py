#!/usr/bin/env python3
"""Times iw over SSH with 1, 2 and 4 hosts (issue 17; figures in docs/scale.md).

Each host is a real sshd on 127.0.0.1 started here the way tests/it/common/sshd.rs starts one:
its own host key, a throwaway client key, its own HOME, TMUX_TMPDIR and root, its own sshd_config
and ssh_config (`ssh -F`), all in a temp dir; nothing in the machine's ssh configuration is read
or changed. The 26-agent registry of examples/instructor-workflow is split round-robin across the
hosts, every session running `sleep`. iw's binary is put in place on each host (as a previous
connect would have), so no run ships it.

Measured with hyperfine: the no-op `iw plan --exit-code` (warm connections), `iw apply` from
scratch (hosts emptied before each run), and connecting cold (no master connection) vs warm.
Only the processes this script started are stopped (each sshd by its pid, each tmux server by its
socket path, each ssh master by its control socket).

Usage: scripts/hosts_timing.py [--iw target/<host tuple>/release/iw] [--runs 20] [--json-dir DIR]
"""

import argparse
import hashlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


class Host:
    """One sshd on 127.0.0.1 standing for a host."""

    def __init__(self, base, n, iw_bin, iw_sha):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=f"h{n}", dir=base))
        self.alias = f"iwtime{os.getpid()}-{n}"
        self.user = sh("id", "-un").strip()
        d = self.dir
        for sub in ("home", "root", "tmux"):
            (d / sub).mkdir()
        for key in ("host_key", "client_key"):
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"iw timing {key}", "-f", str(d / key))
        enter = d / "enter"
        enter.write_text(
            '#!/bin/sh\ncd "$HOME" || exit 255\n'
            'if [ -n "${SSH_ORIGINAL_COMMAND+set}" ]; then c=$SSH_ORIGINAL_COMMAND; '
            'unset SSH_ORIGINAL_COMMAND; exec "${SHELL:-/bin/sh}" -c "$c"; fi\n'
            'exec "${SHELL:-/bin/sh}" -l\n'
        )
        enter.chmod(0o755)
        pub = (d / "client_key.pub").read_text().strip()
        (d / "authorized_keys").write_text(
            f'environment="HOME={d}/home",environment="TMUX_TMPDIR={d}/tmux",command="{enter}" {pub}\n'
        )
        kt, kb = (d / "host_key.pub").read_text().split()[:2]
        (d / "known_hosts").write_text(f"{self.alias} {kt} {kb}\n")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        root_login = "PermitRootLogin prohibit-password\n" if self.user == "root" else ""
        (d / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nAddressFamily inet\nHostKey {d}/host_key\n"
            f"PidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\nAllowUsers {self.user}\n"
            f"{root_login}StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitUserEnvironment HOME,TMUX_TMPDIR\n"
            "PrintMotd no\nPrintLastLog no\nX11Forwarding no\nUseDNS no\n"
            # As many sessions per connection as a default sshd allows.
            "MaxSessions 10\n"
        )
        (d / "ssh_config").write_text(
            f"Host {self.alias}\n  HostName 127.0.0.1\n  Port {self.port}\n  User {self.user}\n"
            f"  IdentityFile {d}/client_key\n  IdentitiesOnly yes\n  IdentityAgent none\n"
            f"  HostKeyAlias {self.alias}\n  UserKnownHostsFile {d}/known_hosts\n"
            "  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  CheckHostIP no\n"
            "  UpdateHostKeys no\n  BatchMode yes\n  LogLevel ERROR\n"
        )
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        pathlib.Path("/run/sshd").mkdir(exist_ok=True) if os.geteuid() == 0 else None
        self.proc = subprocess.Popen(
            [sshd, "-D", "-f", str(d / "sshd_config"), "-E", str(d / "sshd.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        t = time.time()
        while "Server listening" not in self.log():
            if self.proc.poll() is not None or time.time() - t > 15:
                sys.exit(f"sshd did not start:\n{self.log()}")
            time.sleep(0.01)
        # iw in place, as a previous connect would have left it.
        dest = d / "home/.local/share/iw/bin" / f"iw-{iw_sha[:16]}"
        dest.parent.mkdir(parents=True)
        shutil.copy2(iw_bin, dest)

    def log(self):
        p = self.dir / "sshd.log"
        return p.read_text() if p.exists() else ""

    def yaml(self, name):
        return (
            f"  {name}: {{ssh: '{self.user}@{self.alias}', root: '{self.dir}/root', "
            f"ssh_args: [-F, '{self.dir}/ssh_config']}}\n"
        )

    def empty(self):
        """Kills this host's tmux servers and removes what iw wrote under its root."""
        self.kill_tmux()
        for sub in ("agents", "state"):
            shutil.rmtree(self.dir / "root" / sub, ignore_errors=True)

    def kill_tmux(self):
        for sock in (self.dir / "tmux").glob("tmux-*/*"):
            subprocess.run(["tmux", "-S", str(sock), "kill-server"], capture_output=True)

    def stop(self):
        self.kill_tmux()
        self.proc.kill()
        self.proc.wait()


def agents():
    reg = (REPO / "examples/instructor-workflow/agents/registry.yaml").read_text()
    out, inside = [], False
    for line in reg.splitlines():
        if line.startswith("agents:"):
            inside = True
        elif inside and line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            out.append(line.strip()[:-1])
        elif inside and line and not line.startswith(" "):
            inside = False
    return out


def project(base, hosts, socket_name):
    p = pathlib.Path(tempfile.mkdtemp(prefix=f"proj{len(hosts)}-", dir=base))
    src = REPO / "examples/instructor-workflow"
    (p / "agents").mkdir()
    shutil.copy(src / "agents/registry.yaml", p / "agents/registry.yaml")
    if (src / "templates").is_dir():
        shutil.copytree(src / "templates", p / "templates")
    names = agents()
    y = f"socket: {socket_name}\ncommand: sleep 3600\ncheck_for: 0s\nhosts:\n"
    y += "".join(h.yaml(f"h{i}") for i, h in enumerate(hosts))
    y += "sessions:\n" + "".join(f"  {a}: {{host: h{i % len(hosts)}}}\n" for i, a in enumerate(names))
    (p / "sessions.yaml").write_text(y)
    return p, len(names)


def hyperfine(name, cmd, runs, out_dir, prepare=None, warmup=2):
    args = ["hyperfine", "-N", "--style", "basic", "--runs", str(runs), "--warmup", str(warmup),
            "--export-json", str(out_dir / f"{name}.json")]
    if prepare:
        args = ["hyperfine", "--style", "basic", "--runs", str(runs), "--warmup", str(warmup),
                "--prepare", prepare, "--export-json", str(out_dir / f"{name}.json")]
    subprocess.run(args + [cmd], check=True, stdout=subprocess.DEVNULL)
    r = json.loads((out_dir / f"{name}.json").read_text())["results"][0]
    # user + system: CPU of iw and its children here (ssh clients), not of the hosts' side.
    return r["median"] * 1000, min(r["times"]) * 1000, max(r["times"]) * 1000, (r["user"] + r["system"]) * 1000


def main():
    ap = argparse.ArgumentParser()
    # Built for the host's own tuple (.cargo/config.toml: iw is linked statically).
    host = subprocess.run(["rustc", "--print", "host-tuple"], capture_output=True, text=True).stdout.strip()
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    ap.add_argument("--iw", default=str(target / host / "release/iw"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--apply-runs", type=int, default=5)
    ap.add_argument("--json-dir")
    a = ap.parse_args()
    iw = pathlib.Path(a.iw).resolve()
    sha = hashlib.sha256(iw.read_bytes()).hexdigest()
    base = pathlib.Path(tempfile.mkdtemp(prefix="iwt", dir="/tmp"))
    out_dir = pathlib.Path(a.json_dir) if a.json_dir else base / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    # iw's control sockets in a directory of this run's own (iw uses $XDG_RUNTIME_DIR/iw-ssh).
    runtime = base / "run"
    runtime.mkdir(mode=0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    os.environ["NO_COLOR"] = "1"
    hosts = []
    rows = []
    try:
        hosts = [Host(base, i, iw, sha) for i in range(4)]
        for n in (1, 2, 4):
            hs = hosts[:n]
            sock = f"iw-test-timing-{os.getpid()}-{n}"
            proj, count = project(base, hs, sock)
            wipe = f"rm -rf {proj}/state " + " ".join(
                f"{h.dir}/root/agents {h.dir}/root/state" for h in hs
            )
            kill = " ; ".join(
                f"for s in {h.dir}/tmux/tmux-*/{sock}; do [ -S \"$s\" ] && tmux -S \"$s\" kill-server; done"
                for h in hs
            )
            prepare = f"{wipe} ; {kill} ; true"
            apply = f"{iw} -C {proj} apply --yes --no-diff"
            plan = f"{iw} -C {proj} plan --exit-code --no-diff"
            ap_med, ap_min, ap_max, _ = hyperfine(f"apply-{n}", apply, a.apply_runs, out_dir, prepare, warmup=1)
            subprocess.run(apply, shell=True, check=True, capture_output=True)
            check = subprocess.run(plan, shell=True, capture_output=True, text=True)
            if check.returncode != 0:
                sys.exit(f"plan after apply is not a no-op ({check.returncode}):\n{check.stdout}{check.stderr}")
            pl_med, pl_min, pl_max, pl_cpu = hyperfine(f"plan-{n}", plan, a.runs, out_dir)
            # Cold: every master connection closed before each run.
            close = f"for s in {runtime}/iw-ssh/*; do [ -S \"$s\" ] && ssh -o ControlPath=\"$s\" -O exit x 2>/dev/null; done; true"
            cold_med, cold_min, cold_max, _ = hyperfine(f"plan-cold-{n}", plan, a.runs, out_dir, close)
            files_n = sum(1 for h in hs for _ in (h.dir / "root/agents").rglob("*") if _.is_file())
            lock = (proj / "state/iw.lock").stat().st_size
            rows.append((n, count, pl_med, pl_min, pl_max, pl_cpu, cold_med, cold_min, cold_max, ap_med, ap_min, ap_max, files_n, lock))
            subprocess.run(prepare, shell=True)
        h = hosts[0]
        cfg = ["-F", str(h.dir / "ssh_config")]
        cm = str(base / "cm0")
        raw_warm = hyperfine("ssh-warm", f"ssh {' '.join(cfg)} -o ControlMaster=auto -o ControlPath={cm} -o ControlPersist=60 {h.alias} true", a.runs, out_dir)
        raw_cold = hyperfine("ssh-cold", f"ssh {' '.join(cfg)} -o ControlMaster=no -o ControlPath=none {h.alias} true", a.runs, out_dir)
        subprocess.run(["ssh", *cfg, "-o", f"ControlPath={cm}", "-O", "exit", h.alias], capture_output=True)
    finally:
        for s in runtime.glob("iw-ssh/*"):
            subprocess.run(["ssh", "-o", f"ControlPath={s}", "-O", "exit", "x"], capture_output=True)
        for h in hosts:
            h.stop()
    print(f"iw {iw} ({iw.stat().st_size // 1_000_000} MB), {os.cpu_count()} cores; medians (min–max) in ms")
    print("| hosts | agents | no-op plan, warm | its CPU here (mean) | no-op plan, cold connect | apply from scratch | files on hosts | iw.lock bytes |")
    print("|---|---|---|---|---|---|---|---|")
    for (n, c, pm, pmin, pmax, pcpu, cm_, cmin, cmax, am, amin, amax, f, lk) in rows:
        print(f"| {n} | {c} | {pm:.0f} ({pmin:.0f}–{pmax:.0f}) | {pcpu:.0f} | {cm_:.0f} ({cmin:.0f}–{cmax:.0f}) | {am:.0f} ({amin:.0f}–{amax:.0f}) | {f} | {lk} |")
    print(f"ssh true, warm master: {raw_warm[0]:.1f} ms ({raw_warm[1]:.1f}–{raw_warm[2]:.1f}); "
          f"new connection: {raw_cold[0]:.1f} ms ({raw_cold[1]:.1f}–{raw_cold[2]:.1f})")
    if a.json_dir:
        print(f"hyperfine's results: {out_dir}")
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
