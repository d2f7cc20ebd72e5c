//! Applying session changes: stops (delegators first), then starts (delegates first) packed into
//! as few tmux invocations as tmux accepts, an honest check that each new pane is alive, and for
//! Claude Code sessions the readiness wait ([`super::ready`]). Every failure is collected; the
//! error lists them all. tmux is reached through [`Servers`], so tests can give a fake.

use std::collections::BTreeMap;

use super::Applied;
use super::ready::{self, Readiness};
use crate::model::sessions::SessionSpec;
use crate::project::Project;
use crate::reconcile::plan::{Action, Plan, SessionChange};
use crate::remote::Probe;
use crate::support::{Error, Result};
use crate::tmux::{LiveSession, Servers, TmuxCmd};

/// A new session's start: the change and the session it asked for.
type Start<'a> = (&'a SessionChange, &'a SessionSpec);

/// Where each session's tmux servers are: this machine's, or another host's link.
pub struct Route<'a> {
    /// This machine's tmux servers.
    pub local: &'a dyn Servers,
    /// The other hosts.
    pub links: &'a crate::reconcile::hosts::Links,
}

impl Route<'_> {
    /// The servers of `host` (`None`: this machine).
    fn on(&self, host: Option<&str>) -> Result<&dyn Servers> {
        match host {
            None => Ok(self.local),
            Some(h) => match self.links.links.get(h) {
                Some(l) => Ok(l.as_ref() as &dyn Servers),
                None => Err(Error::msg(format!(
                    "host {h} is not connected; nothing was changed there"
                ))),
            },
        }
    }

    /// The project root on `host`, as tmux marks record it.
    fn root(&self, host: Option<&str>, project: &Project) -> String {
        host.and_then(|h| self.links.links.get(h))
            .map_or(project.root.as_path(), |l| l.target().root.as_path())
            .to_string_lossy()
            .into_owned()
    }
}

/// A (host, socket) pair: where a group of sessions is started.
type Place<'a> = (Option<&'a str>, &'a str);

/// Carries out `changes` (the plan's session changes, in plan order), each on its host.
pub fn apply(
    project: &Project,
    plan: &Plan,
    changes: &[&SessionChange],
    route: &Route<'_>,
    on_step: &mut dyn FnMut(Applied),
) -> Result<()> {
    stop(changes, route, on_step)?;
    let starts: Vec<&SessionChange> = changes
        .iter()
        .copied()
        .filter(|c| c.action != Action::Delete)
        .collect();
    if starts.is_empty() {
        return Ok(());
    }
    let mut failures: Vec<(String, String)> = Vec::new();
    let ready = startable(project, plan, &starts, &mut failures)?;
    let delegates = |agent: &str| {
        project
            .registry
            .agents
            .get(agent)
            .map(|a| a.delegates_to.clone())
            .unwrap_or_default()
    };
    let batches = batches(&ready, &delegates);
    let baseline = remote_baseline(plan, route, &ready);
    let since_ms = crate::status::activity::now_ms();
    // Batches of one wave go to their places at once (one thread each: over ssh, a round trip
    // each); a wave starts when the one before it is done, so delegates start before their
    // delegators on every host.
    let waves = waves(&batches, &delegates);
    for wave in 0..=waves.iter().copied().max().unwrap_or(0) {
        let now: Vec<&(Place<'_>, Vec<Start<'_>>)> = batches
            .iter()
            .zip(&waves)
            .filter(|(_, w)| **w == wave)
            .map(|(b, _)| b)
            .collect();
        let results = crate::support::parallel::each(&now, |((host, socket), group)| {
            let mut failed = Vec::new();
            let root = route.root(*host, project);
            start(socket, group, &root, route.on(*host)?, &mut failed)?;
            Ok(failed)
        });
        for r in results {
            let r: Result<Vec<(String, String)>> =
                r.unwrap_or_else(|| Err(Error::msg("starting sessions failed unexpectedly")));
            failures.extend(r?);
        }
    }
    if !plan.check_for.is_zero() {
        std::thread::sleep(plan.check_for);
    }
    let mut alive: Vec<(&SessionChange, &SessionSpec, Option<u32>)> = Vec::new();
    for ((host, socket), group) in &batches {
        let servers = route.on(*host)?;
        alive.extend(check_started(socket, group, servers, &mut failures)?);
    }
    let since = Since {
        ms: since_ms,
        baseline: &baseline,
    };
    report(project, plan, alive, &since, route, &mut failures, on_step)?;
    if failures.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = failures.into_iter().map(|(_, m)| m).collect();
    let sockets: Vec<String> = batches
        .iter()
        .map(|((h, s), _)| crate::reconcile::plan::on_host(s, *h, " on "))
        .collect();
    Err(Error::with_help(
        lines.join("\n"),
        format!(
            "a dead pane stays visible: `iw session status AGENT` shows it, `iw session attach AGENT` opens it; fix the command in sessions.yaml, then `iw apply` again (socket {})",
            sockets.join(", ")
        ),
    ))
}

/// The starts in batches, each on one host and socket, in order. On this machine alone: one
/// batch per socket, in order of first use (as few tmux round trips as possible). With other
/// hosts: each start joins the first batch of its host and socket that comes after every batch
/// starting one of its agent's delegates (`delegates`), so that delegates start before their
/// delegators across hosts, in as many batches per place as the delegation graph is deep (not
/// one per session when agents alternate between hosts).
fn batches<'a>(
    ready: &[Start<'a>],
    delegates: &dyn Fn(&str) -> Vec<String>,
) -> Vec<(Place<'a>, Vec<Start<'a>>)> {
    let remote = ready.iter().any(|(c, _)| c.host.is_some());
    let mut out: Vec<(Place<'a>, Vec<Start<'a>>)> = Vec::new();
    // The last batch starting a session of each agent.
    let mut last: BTreeMap<&str, usize> = BTreeMap::new();
    for &(c, spec) in ready {
        let p = (c.host.as_deref(), c.socket.as_str());
        let after = if remote {
            delegates(&c.agent)
                .iter()
                .filter_map(|d| last.get(d.as_str()).map(|i| i + 1))
                .max()
                .unwrap_or(0)
        } else {
            0
        };
        let at = out
            .iter()
            .enumerate()
            .skip(after)
            .find(|(_, (q, _))| *q == p)
            .map(|(i, _)| i);
        let i = match at {
            Some(i) => {
                out[i].1.push((c, spec));
                i
            }
            None => {
                out.push((p, vec![(c, spec)]));
                out.len() - 1
            }
        };
        let e = last.entry(c.agent.as_str()).or_insert(i);
        *e = (*e).max(i);
    }
    out
}

/// The wave of each of `batches`: one more than the highest wave of an earlier batch that starts
/// a delegate of one of its sessions (0: none). The batches of one wave can start at once.
fn waves(
    batches: &[(Place<'_>, Vec<Start<'_>>)],
    delegates: &dyn Fn(&str) -> Vec<String>,
) -> Vec<usize> {
    let mut waves: Vec<usize> = Vec::with_capacity(batches.len());
    for (_, group) in batches {
        let wave = group
            .iter()
            .flat_map(|(c, _)| delegates(&c.agent))
            .flat_map(|d| {
                batches[..waves.len()]
                    .iter()
                    .zip(&waves)
                    .filter(move |((_, g), _)| g.iter().any(|(c, _)| c.agent == d))
                    .map(|(_, w)| w + 1)
            })
            .max()
            .unwrap_or(0);
        waves.push(wave);
    }
    waves
}

/// Stops deletions (already ordered), then the old half of replacements, delegators first.
fn stop(
    changes: &[&SessionChange],
    route: &Route<'_>,
    on_step: &mut dyn FnMut(Applied),
) -> Result<()> {
    let mut stops: Vec<&SessionChange> = changes
        .iter()
        .copied()
        .filter(|c| c.action == Action::Delete)
        .collect();
    stops.extend(
        changes
            .iter()
            .rev()
            .copied()
            .filter(|c| c.action == Action::Replace),
    );
    let mut by_socket: BTreeMap<Place<'_>, Vec<String>> = BTreeMap::new();
    for c in &stops {
        by_socket
            .entry((c.host.as_deref(), c.socket.as_str()))
            .or_default()
            .push(c.session.clone());
    }
    for ((host, socket), names) in by_socket {
        route.on(host)?.kill(socket, &names)?;
    }
    for c in stops.iter().filter(|c| c.action == Action::Delete) {
        on_step(session_applied(c, None));
    }
    Ok(())
}

/// The starts whose agent's generated files are as desired: a session never starts while they
/// differ (the others are failures).
fn startable<'a>(
    project: &Project,
    plan: &Plan,
    starts: &[&'a SessionChange],
    failures: &mut Vec<(String, String)>,
) -> Result<Vec<Start<'a>>> {
    let mut ready = Vec::new();
    for c in starts {
        let Some(spec) = c.spec.as_deref() else {
            continue;
        };
        // Another host's files were written by this apply (a host whose write failed has no
        // session changes left).
        let drifted = match c.host {
            Some(_) => Vec::new(),
            None => super::files::drifted_files(&project.root, plan, &c.agent)?,
        };
        if drifted.is_empty() {
            ready.push((*c, spec));
        } else {
            failures.push((
                c.session.clone(),
                format!(
                    "session {} not started: agent `{}`'s generated files differ from the registry ({}); run `iw apply --target {}` first",
                    c.session,
                    c.agent,
                    drifted.join(", "),
                    c.agent
                ),
            ));
        }
    }
    Ok(ready)
}

/// Starts the sessions of `ready` on `socket`, delegates first (plan order), in as few tmux
/// round trips as tmux accepts. One failure aborts the rest of a chain: what is missing is then
/// started one by one, each keeping its own error.
fn start(
    socket: &str,
    group: &[Start<'_>],
    root: &str,
    servers: &dyn Servers,
    failures: &mut Vec<(String, String)>,
) -> Result<()> {
    let cmds: Vec<Vec<TmuxCmd>> = group
        .iter()
        .map(|(_, spec)| crate::tmux::protocol::start_commands(spec, root))
        .collect();
    let Err((done, _)) = servers.run_groups(socket, &cmds) else {
        return Ok(());
    };
    let live = servers.list(socket)?;
    for (c, spec) in &group[done..] {
        let started = live
            .iter()
            .any(|l| l.name == spec.name && l.hash.as_deref() == Some(spec.hash().as_str()));
        if !started
            && let Err(e) = servers.run(socket, &crate::tmux::protocol::start_commands(spec, root))
        {
            failures.push((
                c.session.clone(),
                format!("session {} not started: {e}", c.session),
            ));
        }
    }
    Ok(())
}

/// Reports each session that is alive: Claude Code sessions once Claude Code itself says it
/// started (SessionStart, through iw's status hook), other commands once they survived
/// `check_for`. A Claude Code session that exits meanwhile is a failure.
fn report(
    project: &Project,
    plan: &Plan,
    alive: Vec<(&SessionChange, &SessionSpec, Option<u32>)>,
    since: &Since<'_>,
    route: &Route<'_>,
    failures: &mut Vec<(String, String)>,
    on_step: &mut dyn FnMut(Applied),
) -> Result<()> {
    // Claude Code reports readiness through iw's status hook, on the machine it runs on: this
    // machine's records are read here, another host's are probed there.
    let claude_on = |host: Option<&str>| -> Vec<Start<'_>> {
        alive
            .iter()
            .filter(|(c, spec, _)| {
                c.host.as_deref() == host && spec.is_claude() && !plan.ready_timeout.is_zero()
            })
            .map(|(c, spec, _)| (*c, *spec))
            .collect()
    };
    let mut readiness = ready::wait(
        &project.root,
        &claude_on(None),
        since.ms,
        plan.ready_timeout,
        route.local,
    )?;
    for (host, base) in since.baseline {
        let Some(link) = route.links.links.get(host) else {
            continue;
        };
        let mut reports =
            |specs: &[&SessionSpec]| remote_reports(link.as_ref(), base, since.ms, specs);
        let servers: &dyn Servers = link.as_ref();
        readiness.extend(ready::wait_with(
            &claude_on(Some(host)),
            plan.ready_timeout,
            servers,
            &mut reports,
        )?);
    }
    for (c, spec, pid) in alive {
        let pid = pid.map(|p| format!("pid {p}"));
        let Some(i) = readiness.iter().position(|(s, _)| *s == c.session) else {
            on_step(session_applied(c, pid));
            continue;
        };
        let mut step = session_applied(c, None);
        match readiness.swap_remove(i).1 {
            Readiness::Ready(after) => {
                step.detail = Some(join_detail(
                    format!("ready in {:.1}s", after.as_secs_f64()),
                    pid,
                ));
            }
            Readiness::Waiting(screen) => {
                step.detail = Some(join_detail(
                    format!(
                        "started, but Claude Code has not reported ready after {}; it may wait \
                         at a prompt or dialog: attach with `iw session attach {}`",
                        humantime::format_duration(plan.ready_timeout),
                        spec.agent
                    ),
                    pid,
                ));
                step.output = screen;
            }
            Readiness::Exited(message) => {
                failures.push((c.session.clone(), message));
                continue;
            }
        }
        on_step(step);
    }
    Ok(())
}

/// When the starts began: this machine's clock, and for each other host the SHA-256 of each
/// Claude Code session's activity record there just before (`None`: none yet).
struct Since<'a> {
    ms: u64,
    baseline: &'a BTreeMap<String, BTreeMap<String, Option<String>>>,
}

/// The activity records of the Claude Code sessions about to start on other hosts, one probe
/// per host, by host and path. A host whose probe fails is left out: its sessions are
/// reported started, without waiting.
fn remote_baseline(
    plan: &Plan,
    route: &Route<'_>,
    ready: &[Start<'_>],
) -> BTreeMap<String, BTreeMap<String, Option<String>>> {
    let mut paths: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (c, spec) in ready {
        if let Some(h) = c.host.as_deref()
            && spec.is_claude()
            && !plan.ready_timeout.is_zero()
        {
            paths.entry(h).or_default().push(ready::record_path(spec));
        }
    }
    let mut out = BTreeMap::new();
    for (host, paths) in paths {
        let Some(link) = route.links.links.get(host) else {
            continue;
        };
        let probes: Vec<Probe> = paths
            .iter()
            .map(|p| Probe {
                path: p.clone(),
                want_sha256: None,
            })
            .collect();
        if let Ok(seen) = link.probe(&probes) {
            out.insert(
                host.to_string(),
                seen.into_iter().map(|s| (s.path, s.sha256)).collect(),
            );
        }
    }
    out
}

/// Whether each of `specs` reported on the host of `link` (its record changed since `base` and
/// says Claude Code runs), and how long after `since_ms` (this machine's clock) that was seen.
fn remote_reports(
    link: &dyn crate::remote::HostLink,
    base: &BTreeMap<String, Option<String>>,
    since_ms: u64,
    specs: &[&SessionSpec],
) -> Vec<Option<std::time::Duration>> {
    let probes: Vec<Probe> = specs
        .iter()
        .map(|s| {
            let path = ready::record_path(s);
            let want_sha256 = base.get(&path).cloned().flatten();
            Probe { path, want_sha256 }
        })
        .collect();
    let Ok(seen) = link.probe(&probes) else {
        return vec![None; specs.len()];
    };
    let after = crate::status::activity::now_ms().saturating_sub(since_ms);
    seen.iter()
        .map(|s| {
            let new =
                s.sha256.is_some() && s.content.as_deref().is_some_and(ready::remote_reported);
            new.then(|| std::time::Duration::from_millis(after))
        })
        .collect()
}

fn join_detail(first: String, pid: Option<String>) -> String {
    match pid {
        Some(p) => format!("{first}, {p}"),
        None => first,
    }
}

/// What was done to a session, for the report.
fn session_applied(c: &SessionChange, detail: Option<String>) -> Applied {
    Applied {
        action: c.action,
        resource: format!("session {}", c.display_name()),
        agent: c.agent.clone(),
        backup: None,
        detail,
        output: Vec::new(),
    }
}

/// Checks honestly that the sessions of `ready` on `socket` are running: a pane whose command
/// already exited is a failure, shown with its output. Returns the running ones, with their pids.
fn check_started<'a>(
    socket: &str,
    ready: &[Start<'a>],
    servers: &dyn Servers,
    failures: &mut Vec<(String, String)>,
) -> Result<Vec<(&'a SessionChange, &'a SessionSpec, Option<u32>)>> {
    let mut live = servers.list(socket)?;
    // tmux can show a pane as dead a moment before it records the exit status: wait for it
    // (up to 1 s; under load tmux 3.3 has also been seen never to record it).
    for _ in 0..100 {
        if !live.iter().any(|l| l.pane_dead && l.dead_status.is_none()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        live = servers.list(socket)?;
    }
    let mut alive = Vec::new();
    for (c, spec) in ready {
        if failures.iter().any(|(s, _)| *s == c.session) {
            continue;
        }
        match live.iter().find(|l| l.name == spec.name) {
            Some(l) if !l.pane_dead => alive.push((*c, *spec, l.pid)),
            l => failures.push((
                c.session.clone(),
                ended(servers, socket, c, spec, l, "at once"),
            )),
        }
    }
    Ok(alive)
}

/// Why a new session is not running: it is gone, or its pane is dead (with the command's exit
/// status and last output). `when` says when it ended ("at once", "while starting").
pub fn ended(
    servers: &dyn Servers,
    socket: &str,
    c: &SessionChange,
    spec: &SessionSpec,
    live: Option<&LiveSession>,
    when: &str,
) -> String {
    let Some(l) = live else {
        return format!(
            "session {}: it disappeared right after starting (its command `{}` exited and the session closed)",
            c.session, spec.command
        );
    };
    let status = match l.dead_status {
        Some(code) => format!("exited {when} with status {code}"),
        None => format!("exited {when}"),
    };
    // tmux can mark a pane dead before it has read all the pty's output: capture until two
    // non-empty captures agree (at most two seconds, spent only when the pane still shows
    // nothing: under load tmux has taken over half a second).
    let capture = || servers.capture(socket, &spec.name, 15).unwrap_or_default();
    let mut output = capture();
    for _ in 0..80 {
        std::thread::sleep(std::time::Duration::from_millis(25));
        let again = capture();
        if again == output && !again.is_empty() {
            break;
        }
        output = again;
    }
    let mut msg = format!(
        "session {}: its command `{}` {status}",
        c.session, spec.command
    );
    if output.is_empty() {
        msg.push_str(" and printed nothing");
    } else {
        msg.push_str("; its last output:");
        for line in output {
            msg.push_str(&format!("\n    | {line}"));
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(host: Option<&str>, socket: &str, agent: &str) -> SessionChange {
        SessionChange {
            action: Action::Create,
            agent: agent.into(),
            session: format!("iw-{agent}"),
            socket: socket.into(),
            reason: String::new(),
            spec: None,
            host: host.map(str::to_string),
        }
    }

    fn spec() -> SessionSpec {
        serde_json::from_str(
            r#"{"agent":"a","name":"iw-a","command":"x","workdir":"/p","env":{},"config":""}"#,
        )
        .unwrap()
    }

    #[test]
    fn batches_keep_delegation_order_across_hosts() {
        let s = spec();
        let local = [
            change(None, "s", "c"),
            change(None, "t", "d"),
            change(None, "s", "e"),
        ];
        let ready: Vec<Start<'_>> = local.iter().map(|c| (c, &s)).collect();
        let none = |_: &str| Vec::new();
        // This machine alone: one batch per socket.
        let got: Vec<(Place<'_>, usize)> = batches(&ready, &none)
            .iter()
            .map(|(p, g)| (*p, g.len()))
            .collect();
        assert_eq!(got, vec![((None, "s"), 2), ((None, "t"), 1)]);
        // Across hosts: lead delegates to mid, mid to worker: three batches, in that order.
        let chain = |a: &str| match a {
            "lead" => vec!["mid".to_string()],
            "mid" => vec!["worker".to_string()],
            _ => Vec::new(),
        };
        let mixed = [
            change(Some("h1"), "s", "worker"),
            change(None, "s", "mid"),
            change(Some("h1"), "s", "lead"),
        ];
        let ready: Vec<Start<'_>> = mixed.iter().map(|c| (c, &s)).collect();
        let got: Vec<Place<'_>> = batches(&ready, &chain).iter().map(|(p, _)| *p).collect();
        assert_eq!(got, vec![(Some("h1"), "s"), (None, "s"), (Some("h1"), "s")]);
        // Independent agents alternating between hosts: one batch per host, not per session.
        let got: Vec<(Place<'_>, usize)> = batches(&ready, &none)
            .iter()
            .map(|(p, g)| (*p, g.len()))
            .collect();
        assert_eq!(got, vec![((Some("h1"), "s"), 2), ((None, "s"), 1)]);
        // A delegator joins the first batch of its place after its delegate's.
        let four = [
            change(Some("a"), "s", "w1"),
            change(Some("b"), "s", "w2"),
            change(Some("a"), "s", "w3"),
            change(Some("b"), "s", "boss"),
            change(Some("a"), "s", "top"),
        ];
        let deps = |a: &str| match a {
            "boss" => vec!["w3".to_string()],
            "top" => vec!["boss".to_string()],
            _ => Vec::new(),
        };
        let ready: Vec<Start<'_>> = four.iter().map(|c| (c, &s)).collect();
        let got: Vec<(Place<'_>, Vec<&str>)> = batches(&ready, &deps)
            .iter()
            .map(|(p, g)| (*p, g.iter().map(|(c, _)| c.agent.as_str()).collect()))
            .collect();
        assert_eq!(
            got,
            vec![
                ((Some("a"), "s"), vec!["w1", "w3"]),
                ((Some("b"), "s"), vec!["w2", "boss"]),
                ((Some("a"), "s"), vec!["top"]),
            ]
        );
        // Waves: each batch after the batches of its delegates, the others at once.
        assert_eq!(waves(&batches(&ready, &deps), &deps), [0, 1, 2]);
        assert_eq!(waves(&batches(&ready, &none), &none), [0, 0]);
        // Specialists on two hosts start together, their planner here after both.
        let team = [
            change(Some("h1"), "s", "w1"),
            change(Some("h2"), "s", "w2"),
            change(None, "s", "lead"),
        ];
        let lead = |a: &str| match a {
            "lead" => vec!["w1".to_string(), "w2".to_string()],
            _ => Vec::new(),
        };
        let ready: Vec<Start<'_>> = team.iter().map(|c| (c, &s)).collect();
        assert_eq!(waves(&batches(&ready, &lead), &lead), [0, 0, 1]);
    }
}
