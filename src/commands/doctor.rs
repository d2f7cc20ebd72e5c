//! `iw doctor`: is everything an `iw apply` needs in place? Each check says ✓ or ✗ and, when it
//! fails, what to do: the project files valid; tmux; the Claude Code CLI and whether iw supports
//! its version; Claude Code set up and trusting the project root; the iw binary the hooks run;
//! the generated files as iw wrote them (no security drift); the tmux socket free or iw's.
//!
//! Read-only: nothing is written, no session is touched.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use crate::claude::catalogue::{self, Version};
use crate::claude::config;
use crate::model::sessions::SessionSpec;
use crate::project::Project;
use crate::reconcile::lock::LockFile;
use crate::support::Caller;
use crate::support::Exit;
use crate::support::error::Result;
use crate::tmux::Tmux;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In place.
    Ok,
    /// Worth knowing, does not stop an apply.
    Warn,
    /// Stops an apply, or leaves agents unguarded.
    Fail,
    /// Not needed by this project.
    Skip,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do, when it is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
        help: None,
    }
}

impl Check {
    fn help(mut self, help: impl Into<String>) -> Check {
        self.help = Some(help.into());
        self
    }
}

/// Runs every check for the project at `root`.
pub fn checks(root: &Path) -> Vec<Check> {
    let mut out = Vec::new();
    let project = project_files(root, &mut out);
    let specs = project
        .as_ref()
        .and_then(|p| {
            p.sessions
                .as_ref()
                .map(|c| crate::model::sessions::specs(c, &p.root, &Default::default()))
        })
        .unwrap_or_default();
    // Claude Code on other hosts is configured there: only this machine's are checked here.
    let claude_specs: Vec<&SessionSpec> = specs
        .iter()
        .filter(|s| s.is_claude() && s.host.is_none())
        .collect();
    let socket = project
        .as_ref()
        .and_then(|p| p.sessions.as_ref())
        .map(|c| c.socket.clone());
    let tmux_ok = tmux(socket.as_deref(), &mut out);
    out.push(claude_cli(&claude_specs));
    if let Some(p) = &project {
        claude_setup(p, &claude_specs, &mut out);
        out.push(hook_binary(p));
        out.push(files(p));
    }
    if let (Some(s), true, Some(p)) = (&socket, tmux_ok, &project) {
        let here: Vec<SessionSpec> = specs.iter().filter(|s| s.host.is_none()).cloned().collect();
        out.push(socket_check(s, p, &here));
    }
    if let Some(p) = &project {
        out.extend(hosts(p));
    }
    out
}

/// Each host sessions.yaml declares: reachable (with iw installed there), or why not; and the
/// persona files of its agents there, which iw does not ship.
fn hosts(p: &Project) -> Vec<Check> {
    let Some(c) = &p.sessions else {
        return Vec::new();
    };
    let targets = crate::remote::targets(c);
    let links = crate::remote::connect_targets(&targets);
    let mut out = Vec::new();
    for (t, l) in targets.iter().zip(links) {
        match l {
            Ok(l) => {
                out.push(check(
                    "host",
                    Status::Ok,
                    format!(
                        "{}: {} {}, iw at {}",
                        t.name,
                        t.destination,
                        t.root.display(),
                        l.iw_path().display()
                    ),
                ));
                out.extend(personas_on(p, c, l.as_ref()));
            }
            Err(e) => out.push(
                check("host", Status::Fail, format!("{}: {e}", t.name)).help(
                    "check that `ssh` reaches it in batch mode (keys, `ssh_args`), then `iw plan`",
                ),
            ),
        }
    }
    out
}

/// A warning when the persona files of the agents on `link`'s host (those this machine has) are
/// missing there or differ from this machine's: CLAUDE.md imports them from the host's root,
/// which iw expects to be a checkout of the project.
fn personas_on(
    p: &Project,
    c: &crate::model::sessions::SessionsConfig,
    link: &dyn crate::remote::HostLink,
) -> Option<Check> {
    let host = &link.target().name;
    let mut probes: Vec<crate::remote::Probe> = Vec::new();
    for a in p.registry.agents.values() {
        if !c.hosts_of(&a.name).contains(&Some(host.clone()))
            || probes.iter().any(|q| q.path == a.persona)
        {
            continue;
        }
        if let Ok(bytes) = std::fs::read(p.root.join(&a.persona)) {
            probes.push(crate::remote::Probe {
                path: a.persona.clone(),
                want_sha256: Some(crate::support::fsutil::sha256_hex(&bytes)),
            });
        }
    }
    if probes.is_empty() {
        return None;
    }
    let seen = match link.probe(&probes) {
        Ok(s) => s,
        Err(e) => return Some(check("host personas", Status::Warn, format!("{host}: {e}"))),
    };
    let (mut missing, mut differ) = (Vec::new(), Vec::new());
    for (probe, s) in probes.iter().zip(&seen) {
        match &s.sha256 {
            None => missing.push(probe.path.as_str()),
            Some(sha) if Some(sha) != probe.want_sha256.as_ref() => {
                differ.push(probe.path.as_str())
            }
            Some(_) => {}
        }
    }
    if missing.is_empty() && differ.is_empty() {
        return Some(check(
            "host personas",
            Status::Ok,
            format!("{host}: {} persona file(s) as here", probes.len()),
        ));
    }
    let mut what = Vec::new();
    if !missing.is_empty() {
        what.push(format!("missing there: {}", missing.join(", ")));
    }
    if !differ.is_empty() {
        what.push(format!("different there: {}", differ.join(", ")));
    }
    Some(
        check(
            "host personas",
            Status::Warn,
            format!("{host}: {}", what.join("; ")),
        )
        .help(format!(
            "the agents' CLAUDE.md import their persona from {} on {host}, and iw ships only \
             the files it generates: keep that root a checkout of the project (e.g. `git pull` \
             there)",
            link.target().root.display()
        )),
    )
}

/// The registry and sessions.yaml: valid, and how many warnings.
fn project_files(root: &Path, out: &mut Vec<Check>) -> Option<Project> {
    match Project::load(root) {
        Ok(p) => {
            let sessions = p.sessions.as_ref().map_or(0, |s| s.sessions.len());
            let status = if p.warnings.is_empty() {
                Status::Ok
            } else {
                Status::Warn
            };
            let warned = match p.warnings.len() {
                0 => String::new(),
                n => format!(" ({n} warning(s): `iw validate` shows them)"),
            };
            let what = if p.sessions.is_some() {
                format!("; sessions.yaml valid: {sessions} sessions")
            } else {
                "; no sessions.yaml (no sessions to run)".into()
            };
            out.push(check(
                "project files",
                status,
                format!(
                    "agents/registry.yaml valid: {} agents{what}{warned}",
                    p.registry.agents.len()
                ),
            ));
            Some(p)
        }
        Err(e) => {
            out.push(
                check("project files", Status::Fail, e.to_string()).help(
                    "fix what `iw validate` reports (file:line:col), then run iw doctor again",
                ),
            );
            None
        }
    }
}

/// tmux, when sessions.yaml needs it. Returns whether it runs.
fn tmux(socket: Option<&str>, out: &mut Vec<Check>) -> bool {
    let Some(s) = socket else {
        out.push(check("tmux", Status::Skip, "not needed: no sessions.yaml"));
        return false;
    };
    match Tmux::new(s).version() {
        Ok(v) if !v.is_empty() => {
            out.push(check("tmux", Status::Ok, v));
            true
        }
        Ok(_) => {
            out.push(
                check("tmux", Status::Fail, "tmux printed no version")
                    .help(crate::tmux::INSTALL_HELP),
            );
            false
        }
        Err(e) => {
            out.push(check("tmux", Status::Fail, e.to_string()).help(crate::tmux::INSTALL_HELP));
            false
        }
    }
}

/// The Claude Code CLI on the agents' PATH, and its version.
fn claude_cli(claude_specs: &[&SessionSpec]) -> Check {
    let needed = !claude_specs.is_empty();
    let path_var = claude_specs
        .first()
        .and_then(|s| s.env.get("PATH").cloned())
        .or_else(|| Caller::get().var("PATH").map(str::to_string))
        .unwrap_or_default();
    let first_word = claude_specs
        .first()
        .and_then(|s| s.command.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "claude".into());
    match find_program(&first_word, &path_var) {
        Some(bin) => client_version(&bin, needed),
        None => check(
            "Claude Code",
            if needed { Status::Fail } else { Status::Warn },
            format!("no `{first_word}` on the agents' PATH"),
        )
        .help(
            "install Claude Code (`npm install -g @anthropic-ai/claude-code`, or the native \
             installer), or give the sessions a PATH that has it (sessions.yaml `env: {PATH: …}`)",
        ),
    }
}

/// Claude Code's user configuration for the agents: set up, trusting the project root.
fn claude_setup(p: &Project, claude_specs: &[&SessionSpec], out: &mut Vec<Check>) {
    if claude_specs.is_empty() {
        out.push(check(
            "Claude Code setup",
            Status::Skip,
            "not needed: no Claude Code sessions",
        ));
        return;
    }
    // Each agent as it will see its configuration (as `iw plan` judges it): its file, its API
    // key, sandboxed or not; each problem once per file, each file found in order once.
    let mut problems: Vec<config::Problem> = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for view in claude_specs.iter().filter_map(|s| s.claude_view()) {
        if !seen.insert((view.seen(), view.sandboxed)) {
            continue;
        }
        if !files.contains(&view.path) {
            files.push(view.path.clone());
        }
        match view.status(&p.root) {
            Ok(status) => config::add_problems(&mut problems, &status, &p.root, view.sandboxed),
            Err(e) => out.push(check("Claude Code setup", Status::Fail, e.to_string())),
        }
    }
    if files.is_empty() {
        out.push(
            check(
                "Claude Code setup",
                Status::Fail,
                "cannot tell where Claude Code keeps its configuration: neither HOME nor \
                 CLAUDE_CONFIG_DIR is set for the agents",
            )
            .help("set HOME for iw, or give the sessions one (sessions.yaml `env: {HOME: …}`)"),
        );
    }
    for path in files {
        if !problems.iter().any(|pr| pr.config == path) {
            out.push(check(
                "Claude Code setup",
                Status::Ok,
                format!(
                    "set up, and trusts {} ({})",
                    p.root.display(),
                    path.display()
                ),
            ));
        }
    }
    for pr in problems {
        out.push(check("Claude Code setup", Status::Fail, pr.message).help(pr.help));
    }
}

/// The tmux socket: free, or running only this project's sessions.
fn socket_check(socket: &str, p: &Project, specs: &[SessionSpec]) -> Check {
    let root = p.root.to_string_lossy();
    let live = match Tmux::new(socket).list_sessions() {
        Ok(l) => l,
        Err(e) => return check("tmux socket", Status::Fail, e.to_string()),
    };
    let foreign: Vec<String> = live
        .iter()
        .filter(|l| !(l.managed && l.root.as_deref() == Some(&*root)))
        .map(|l| l.name.clone())
        .collect();
    if foreign.is_empty() {
        let detail = match live.len() {
            0 => format!("`{socket}` is free"),
            n => format!("`{socket}` runs {n} of this project's sessions and nothing else"),
        };
        return check("tmux socket", Status::Ok, detail);
    }
    let holds_declared = foreign.iter().any(|n| specs.iter().any(|sp| sp.name == *n));
    check(
        "tmux socket",
        if holds_declared {
            Status::Fail
        } else {
            Status::Warn
        },
        format!(
            "`{socket}` also runs sessions iw did not start for this project: {}",
            foreign.join(", ")
        ),
    )
    .help(
        "give this project a socket of its own (sessions.yaml `socket:`), or stop those \
         sessions; iw never touches them, and cannot start a declared session whose name one of \
         them holds",
    )
}

/// The first executable `name` on `path` (or `name` itself when it is a path).
fn find_program(name: &str, path: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return executable(&p).then_some(p);
    }
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| executable(p))
}

/// The Claude Code at `bin`: its version, and whether iw's tool catalogue covers it.
fn client_version(bin: &Path, needed: bool) -> Check {
    let out = std::process::Command::new(bin)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output();
    let text = match &out {
        Ok(o) => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Err(e) => {
            return check(
                "Claude Code",
                if needed { Status::Fail } else { Status::Warn },
                format!("{} cannot run: {e}", bin.display()),
            );
        }
    };
    let Some(v) = Version::parse(&text) else {
        return check(
            "Claude Code",
            Status::Warn,
            format!("{}: unrecognised version `{text}`", bin.display()),
        );
    };
    let (oldest, newest) = (catalogue::oldest(), catalogue::newest());
    let at = format!("{v} ({})", bin.display());
    if v < oldest {
        check(
            "Claude Code",
            if needed { Status::Fail } else { Status::Warn },
            format!("{at} is older than iw supports ({oldest}–{newest})"),
        )
        .help("update Claude Code (`claude update`)")
    } else if v > newest {
        check(
            "Claude Code",
            Status::Warn,
            format!(
                "{at} is newer than the versions iw's tool catalogue was measured on \
                 ({oldest}–{newest}): deny rules may name tools it no longer has"
            ),
        )
        .help("measure it with scripts/claude_tools.py (docs/claude-code.md)")
    } else {
        check(
            "Claude Code",
            Status::Ok,
            format!("{at}; supported ({oldest}–{newest})"),
        )
    }
}

/// The iw binary each generated settings.json runs as its hook: it must exist, run, and be this
/// version of iw.
fn hook_binary(p: &Project) -> Check {
    let mut bins: Vec<String> = Vec::new();
    for a in p.registry.agents.values() {
        let path = p
            .root
            .join(format!("agents/{}/.claude/settings.json", a.name));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let cmd = v["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
            .as_str()
            .unwrap_or("");
        if let Some(bin) = crate::reconcile::security::first_word(cmd)
            && !bins.contains(&bin)
        {
            bins.push(bin);
        }
    }
    if bins.is_empty() {
        return check(
            "hook binary",
            Status::Skip,
            "no agent files yet (`iw apply` writes them)",
        );
    }
    let ours = env!("CARGO_PKG_VERSION");
    for bin in &bins {
        let out = std::process::Command::new(bin)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout).trim().to_string();
                if text.split_whitespace().last() != Some(ours) {
                    return check(
                        "hook binary",
                        Status::Fail,
                        format!("the hooks run {bin}, which is `{text}`, not iw {ours}"),
                    )
                    .help("run `iw apply` with this iw to point every hook at it");
                }
            }
            _ => {
                return check(
                    "hook binary",
                    Status::Fail,
                    format!(
                        "the hooks run {bin}, which cannot be run: Claude Code lets every tool \
                         call through when a hook cannot run"
                    ),
                )
                .help("run `iw apply` with the iw you use now; it rewrites every hook command");
            }
        }
    }
    check(
        "hook binary",
        Status::Ok,
        format!("{} (iw {ours})", bins.join(", ")),
    )
}

/// The generated files against the lockfile: any security drift (a guard weakened outside iw)
/// fails; pending changes are only counted.
fn files(p: &Project) -> Check {
    // Files only: sessions are the socket check's business (and need tmux).
    let mut files_only = p.clone();
    files_only.sessions = None;
    let lock = match LockFile::read(&p.root) {
        Ok(l) => l,
        Err(e) => return check("generated files", Status::Fail, e.to_string()),
    };
    let had_lock = lock.is_some();
    match crate::reconcile::compute(&files_only, lock, &Default::default()) {
        Err(e) => check("generated files", Status::Fail, e.to_string()),
        Ok(plan) => {
            let s = plan.summary();
            // Sessions were left out of this plan: only its file changes count.
            let pending = plan
                .changes
                .iter()
                .filter(|c| matches!(c, crate::reconcile::plan::Change::File(_)))
                .count();
            if s.security > 0 {
                let which: Vec<String> = plan
                    .changes
                    .iter()
                    .filter_map(|c| match c {
                        crate::reconcile::plan::Change::File(f) if !f.security.is_empty() => {
                            Some(format!("{}: {}", f.path, f.security.join("; ")))
                        }
                        _ => None,
                    })
                    .collect();
                check(
                    "generated files",
                    Status::Fail,
                    format!("security drift: {}", which.join(" | ")),
                )
                .help("review with `iw plan`, then `iw apply` restores every guard")
            } else if pending == 0 {
                check(
                    "generated files",
                    Status::Ok,
                    "as iw wrote them (state/iw.lock)",
                )
            } else if !had_lock {
                check(
                    "generated files",
                    Status::Ok,
                    format!(
                        "not written yet: `iw apply` creates {} files",
                        s.add + s.change
                    ),
                )
            } else {
                check(
                    "generated files",
                    Status::Ok,
                    format!("no security drift; {pending} changes pending (`iw plan` shows them)"),
                )
            }
        }
    }
}

/// `iw doctor [--json]`: exit 0 when nothing fails, 1 otherwise.
pub fn run(root: &Path, json_out: bool) -> Result<Exit> {
    let checks = checks(root);
    let ok = !checks.iter().any(|c| c.status == Status::Fail);
    if json_out {
        let doc = json!({"ok": ok, "root": root, "checks": checks});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &checks {
            let mark = match c.status {
                Status::Ok => console::style("✓").green().bold(),
                Status::Warn => console::style("!").yellow().bold(),
                Status::Fail => console::style("✗").red().bold(),
                Status::Skip => console::style("-").dim(),
            };
            println!("{mark} {:width$}  {}", c.name, c.detail);
            if let Some(h) = &c.help {
                println!("  {:width$}  {} {h}", "", console::style("→").dim());
            }
        }
        println!(
            "\n{}",
            if ok {
                "Everything `iw apply` needs is in place."
            } else {
                "Fix the ✗ above, then run `iw doctor` again."
            }
        );
    }
    Ok(if ok { Exit::Success } else { Exit::Unhealthy })
}
