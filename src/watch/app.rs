//! The state of `iw watch` and how it is refreshed from what it observes: the project's files,
//! the tmux server (at most about once a second), activity records and runs (when they change
//! on disk), and the plan (when an input changes, and every few seconds).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::model::sessions::SessionSpec;
use crate::project::Project;
use crate::reconcile::plan::{Change, Selection};
use crate::runs::RunState;
use crate::status::activity::{Record, Scope, State};
use crate::tmux::{LiveSession, Tmux};

use super::model::{self, Row, Session};

/// What the preview pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preview {
    /// The selected agent's screen (capture-pane).
    Screen,
    /// The output of the selected agent's latest task run.
    Log,
}

/// What the keys do right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Moving around.
    Normal,
    /// Typing a filter after `/`.
    Filter,
    /// The key help.
    Help,
    /// Asking before killing this agent's session.
    ConfirmKill(String),
    /// Showing the plan, asking before applying it (scroll offset).
    Plan(u16),
}

/// The plan, as the UI needs it.
#[derive(Debug, Clone, Default)]
pub struct PlanView {
    /// Agents with a pending change.
    pub changed: BTreeSet<String>,
    /// Changes pending.
    pub changes: usize,
    /// Changes that weaken an agent's guard.
    pub security: usize,
    /// The hosts that could not be reached, each with why.
    pub unreachable: Vec<(String, String)>,
    /// Agents whose sessions run on those hosts: whether they are in sync is unknown.
    pub unknown: BTreeSet<String>,
    /// The plan as `iw plan` prints it (no colour).
    pub text: String,
}

/// Everything `iw watch` knows.
pub struct App {
    /// The project root.
    pub root: PathBuf,
    /// The tenant watched (`--tenant`), if any.
    pub tenant: Option<String>,
    /// The loaded project; `None` while its files do not load.
    pub project: Option<Project>,
    /// Why the project does not load.
    pub load_error: Option<String>,
    /// The tmux socket watched.
    pub socket: String,
    /// Desired sessions of the tenant watched.
    pub specs: Vec<SessionSpec>,
    /// Live sessions on the socket.
    pub live: Vec<LiveSession>,
    /// Why tmux could not be asked, if it could not.
    pub tmux_error: Option<String>,
    /// Every run: this machine's and the hosts' (`remote_runs`).
    pub runs: Vec<RunState>,
    /// The runs on other hosts, as listed there at the last plan.
    pub remote_runs: Vec<RemoteRun>,
    /// The last activity record of each agent.
    pub activity: BTreeMap<String, Record>,
    /// The last plan.
    pub plan: Option<PlanView>,
    /// The rows shown (all agents, before the filter).
    pub rows: Vec<Row>,
    /// Index of the selected row among the visible ones.
    pub selected: usize,
    /// The filter typed after `/`.
    pub filter: String,
    /// What the keys do.
    pub mode: Mode,
    /// What the preview shows.
    pub preview_kind: Preview,
    /// The preview's lines.
    pub preview: Vec<String>,
    /// A message for the status line, and when it was set.
    pub status: Option<(String, Instant)>,
    /// When tmux was last asked.
    pub last_tmux: Option<Instant>,
    /// When the plan was last computed.
    pub last_plan: Option<Instant>,
    /// Set when something changed and the screen must be drawn again.
    pub dirty: bool,
    /// Agents seen waiting or dead at the last refresh (to ring the bell on a change).
    pub alerting: BTreeSet<String>,
    /// Set when the sessions on the socket changed since the plan was computed.
    pub sessions_changed: bool,
    /// The first row the table showed when last drawn (for mouse clicks).
    pub table_offset: std::cell::Cell<usize>,
    /// The connections to the hosts the project declares or the lockfile remembers, kept from
    /// one plan to the next (ssh's master connection makes the next plan cheap); dropped when
    /// the project is reloaded (the next plan connects again). A host that could not be
    /// reached, or stopped answering, is among their failures until a background reconnection
    /// ([`App::reconnected`]) replaces them.
    pub links: Option<crate::reconcile::hosts::Links>,
    /// The links of a reconnection running in the background (after a host could not be
    /// reached), when it is done.
    pub reconnected: Option<std::sync::mpsc::Receiver<crate::reconcile::hosts::Links>>,
}

/// A run on another host, as `iw runs --json` there shows it.
#[derive(Debug, Clone)]
pub struct RemoteRun {
    /// The host's name.
    pub host: String,
    /// Its record.
    pub state: RunState,
    /// The last lines of its output.
    pub last_output: Vec<String>,
}

/// How often tmux is asked at most.
pub const TMUX_EVERY: Duration = Duration::from_secs(1);
/// How often the plan is computed when nothing prompts it.
pub const PLAN_EVERY: Duration = Duration::from_secs(10);

impl App {
    /// A watcher of the project at `root`, for `tenant`.
    pub fn new(root: PathBuf, tenant: Option<String>) -> App {
        let mut app = App {
            root,
            tenant,
            project: None,
            load_error: None,
            socket: crate::model::sessions::DEFAULT_SOCKET.into(),
            specs: Vec::new(),
            live: Vec::new(),
            tmux_error: None,
            runs: Vec::new(),
            remote_runs: Vec::new(),
            activity: BTreeMap::new(),
            plan: None,
            rows: Vec::new(),
            selected: 0,
            filter: String::new(),
            mode: Mode::Normal,
            preview_kind: Preview::Screen,
            preview: Vec::new(),
            status: None,
            last_tmux: None,
            last_plan: None,
            links: None,
            reconnected: None,
            dirty: true,
            alerting: BTreeSet::new(),
            table_offset: std::cell::Cell::new(0),
            sessions_changed: false,
        };
        app.reload();
        app
    }

    /// Loads the project's files again (registry, sessions.yaml, templates).
    pub fn reload(&mut self) {
        match Project::load(&self.root) {
            Ok(p) => {
                let config = p.sessions.clone().unwrap_or_default();
                let tenant = self.tenant.as_deref().and_then(|t| config.tenants.get(t));
                self.socket = config.socket_and_prefix(tenant).0;
                self.specs =
                    crate::model::sessions::specs(&config, &p.root, &self.config_hashes(&p))
                        .into_iter()
                        .filter(|s| s.tenant == self.tenant)
                        .collect();
                if p.sessions.is_none() {
                    self.specs.clear();
                }
                self.project = Some(p);
                self.load_error = None;
                self.links = None;
                self.reconnected = None;
            }
            Err(e) => {
                self.load_error = Some(e.to_string());
            }
        }
        self.refresh_activity();
        self.dirty = true;
    }

    fn config_hashes(&self, p: &Project) -> BTreeMap<String, String> {
        let Ok(files) = p.render_all() else {
            return BTreeMap::new();
        };
        let mut by_agent: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for f in files {
            by_agent
                .entry(f.agent.clone())
                .or_default()
                .push((f.path.clone(), f.sha256.clone()));
        }
        by_agent
            .into_iter()
            .map(|(a, v)| {
                let h = crate::model::sessions::config_hash(
                    v.iter().map(|(p, s)| (p.as_str(), s.as_str())),
                );
                (a, h)
            })
            .collect()
    }

    /// The first refresh of everything. The plan comes first: it connects to the hosts, whose
    /// sessions tmux is then asked about too.
    pub fn start(&mut self) {
        self.refresh_plan();
        self.refresh_tmux();
        // The first listing is not a change since the plan: it was made over the same sessions.
        self.sessions_changed = false;
        self.refresh_runs();
        self.rebuild();
    }

    /// Asks tmux for the sessions and the selected agent's screen.
    pub fn refresh_tmux(&mut self) {
        self.last_tmux = Some(Instant::now());
        let remote = self.remote_sessions();
        match Tmux::new(&self.socket)
            .list_sessions()
            .map(|local| local.into_iter().chain(remote).collect::<Vec<_>>())
        {
            Ok(live) => {
                let shape = |l: &[LiveSession]| -> Vec<(String, bool, Option<String>)> {
                    l.iter()
                        .map(|s| (s.name.clone(), s.pane_dead, s.hash.clone()))
                        .collect()
                };
                if shape(&live) != shape(&self.live) {
                    // A session started, ended or died: the plan may differ.
                    self.sessions_changed = true;
                }
                self.live = live;
                self.tmux_error = None;
            }
            Err(e) => self.tmux_error = Some(e.to_string()),
        }
        self.refresh_preview();
        self.dirty = true;
    }

    /// The link to the host `session` (a watched spec's) runs on, and its socket there; `None`
    /// for a session of this machine.
    pub fn host_of(&self, session: &str) -> Option<(&dyn crate::remote::HostLink, &str)> {
        let spec = self.specs.iter().find(|s| s.name == session)?;
        let link = self.links.as_ref()?.links.get(spec.host.as_deref()?)?;
        Some((link.as_ref(), spec.socket.as_str()))
    }

    /// The sessions of the watched specs that run on other hosts, listed there through the links
    /// the last plan made (none before it, or for a host it could not reach). A host that fails
    /// to answer is set aside as unreachable ([`App::set_aside`]).
    fn remote_sessions(&mut self) -> Vec<LiveSession> {
        let Some(links) = &self.links else {
            return Vec::new();
        };
        let mut wanted: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
        for s in &self.specs {
            if let Some(h) = &s.host {
                wanted
                    .entry((h.as_str(), s.socket.as_str()))
                    .or_default()
                    .insert(s.name.as_str());
            }
        }
        let mut out = Vec::new();
        let mut failed = Vec::new();
        for ((host, socket), names) in wanted {
            let Some(link) = links.links.get(host) else {
                continue;
            };
            match link.list(socket) {
                Ok(live) => {
                    out.extend(live.into_iter().filter(|l| names.contains(l.name.as_str())))
                }
                Err(e) => failed.push((host.to_string(), e.to_string())),
            }
        }
        self.set_aside(failed);
        out
    }

    /// Moves hosts that failed to answer from the links to their failures: later refreshes skip
    /// them (a host that stopped answering costs each ssh call its timeouts), the next plan says
    /// so and connects them again in the background.
    fn set_aside(&mut self, failed: Vec<(String, String)>) {
        let Some(links) = self.links.as_mut() else {
            return;
        };
        for (host, why) in failed {
            links.links.remove(&host);
            links.failed.insert(host, why);
            self.sessions_changed = true;
        }
    }

    /// Reads every agent's activity record.
    pub fn refresh_activity(&mut self) {
        let scope = match &self.tenant {
            Some(t) => Scope::Tenant(t.clone()),
            None => Scope::Project,
        };
        let Some(p) = &self.project else { return };
        self.activity = p
            .registry
            .names()
            .filter_map(|a| {
                crate::status::activity::read(&self.root, a, &scope).map(|r| (a.to_string(), r))
            })
            .collect();
        self.dirty = true;
    }

    /// Reads the runs (this machine's; the hosts' as listed at the last plan).
    pub fn refresh_runs(&mut self) {
        let mut runs = crate::runs::list(&self.root).unwrap_or_default();
        runs.extend(self.remote_runs.iter().map(|r| r.state.clone()));
        self.runs = runs;
        if self.preview_kind == Preview::Log {
            self.refresh_preview();
        }
        self.dirty = true;
    }

    /// Takes the links of a background reconnection that is done; true if there were some (a
    /// plan is then due).
    pub fn take_reconnected(&mut self) -> bool {
        let Some(links) = self.reconnected.as_ref().and_then(|rx| rx.try_recv().ok()) else {
            return false;
        };
        self.links = Some(links);
        self.reconnected = None;
        true
    }

    /// Computes the plan (files and sessions) for the tenant watched.
    pub fn refresh_plan(&mut self) {
        self.last_plan = Some(Instant::now());
        self.sessions_changed = false;
        self.take_reconnected();
        let Some(p) = &self.project else { return };
        let selection = Selection {
            tenant: self.tenant.clone(),
            ..Default::default()
        };
        let lock = crate::reconcile::lock::LockFile::read(&self.root)
            .ok()
            .flatten();
        // Agents on other hosts are planned there, as `iw plan` does (no hosts: no connection).
        let links = self
            .links
            .get_or_insert_with(|| crate::reconcile::connect(p, lock.as_ref()));
        let targets = crate::reconcile::hosts::Links::targets(p, lock.as_ref());
        let planned = crate::reconcile::compute_with(p, lock, &selection, links);
        // The hosts' runs are asked for with each plan (no file watch reaches them).
        let (runs, mut failed) = remote_runs(links);
        if let Ok(plan) = &planned {
            failed.extend(
                plan.unreachable
                    .iter()
                    .filter(|u| links.links.contains_key(&u.host))
                    .map(|u| (u.host.clone(), u.reason.clone())),
            );
        }
        self.remote_runs = runs;
        self.set_aside(failed);
        // A host that could not be reached is shown so, and tried again in the background: one
        // that does not answer (ssh waits `ConnectTimeout` for it) must not freeze the screen.
        let unreachable = self.links.as_ref().is_some_and(|l| !l.failed.is_empty());
        if unreachable && self.reconnected.is_none() {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let links = crate::reconcile::hosts::Links::connect(
                    &targets,
                    crate::remote::connect_targets,
                );
                let _ = tx.send(links);
            });
            self.reconnected = Some(rx);
        }
        self.refresh_runs();
        match planned {
            Ok(plan) => {
                let s = plan.summary();
                let changed = plan
                    .changes
                    .iter()
                    .map(|c| match c {
                        Change::File(f) => f.agent.clone(),
                        Change::Session(s) => s.agent.clone(),
                    })
                    .collect();
                let text = strip_ansi(&crate::views::plan_text(&plan, true));
                let unreachable: Vec<(String, String)> = plan
                    .unreachable
                    .iter()
                    .map(|u| (u.host.clone(), u.reason.clone()))
                    .collect();
                let unknown = self
                    .specs
                    .iter()
                    .filter(|s| {
                        s.host
                            .as_ref()
                            .is_some_and(|h| unreachable.iter().any(|(u, _)| u == h))
                    })
                    .map(|s| s.agent.clone())
                    .collect();
                self.plan = Some(PlanView {
                    changed,
                    changes: plan.changes.len(),
                    security: s.security,
                    unreachable,
                    unknown,
                    text,
                });
            }
            Err(e) => self.status(format!("plan: {e}")),
        }
        self.dirty = true;
    }

    /// Rebuilds the rows from what was observed; returns the agents that started waiting or
    /// died since the last time (to alert the person).
    pub fn rebuild(&mut self) -> Vec<String> {
        let Some(p) = &self.project else {
            return Vec::new();
        };
        let agents: Vec<String> = p.registry.names().map(str::to_string).collect();
        let order = model::tree_order(&p.registry.graph(), &agents);
        let observed = model::Observed {
            order,
            specs: self.specs.iter().map(|s| (s.agent.clone(), s)).collect(),
            live: &self.live,
            activity: self.activity.clone(),
            runs: &self.runs,
            changed: self.plan.as_ref().map(|p| &p.changed),
            unknown: self.plan.as_ref().map(|p| &p.unknown),
        };
        self.rows = model::rows(&observed);
        let now: BTreeSet<String> = self
            .rows
            .iter()
            .filter(|r| {
                r.activity == Some(State::Waiting)
                    || matches!(r.state, Session::Dead(Some(c)) if c != 0)
            })
            .map(|r| r.agent.clone())
            .collect();
        let new: Vec<String> = now.difference(&self.alerting).cloned().collect();
        self.alerting = now;
        let visible = self.visible().len();
        if self.selected >= visible {
            self.selected = visible.saturating_sub(1);
        }
        new
    }

    /// The rows the filter lets through.
    pub fn visible(&self) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| self.filter.is_empty() || r.agent.contains(&self.filter))
            .collect()
    }

    /// The selected row.
    pub fn selected_row(&self) -> Option<&Row> {
        self.visible().get(self.selected).copied()
    }

    /// Moves the selection by `delta` rows.
    pub fn select(&mut self, delta: isize) {
        let n = self.visible().len();
        if n == 0 {
            return;
        }
        let at = (self.selected as isize + delta).clamp(0, n as isize - 1);
        if at as usize != self.selected {
            self.selected = at as usize;
            self.refresh_preview();
            self.dirty = true;
        }
    }

    /// Fills the preview: the selected agent's screen, or its latest run's output.
    pub fn refresh_preview(&mut self) {
        let Some(row) = self.selected_row().cloned() else {
            self.preview.clear();
            return;
        };
        self.preview = match self.preview_kind {
            Preview::Screen => match (&row.session, &row.state) {
                (Some(name), Session::Running(_) | Session::Dead(_)) => {
                    let screen = match self.host_of(name) {
                        Some((link, socket)) => crate::tmux::screen_on(link, socket, name),
                        None => Tmux::new(&self.socket).screen(name),
                    };
                    screen.unwrap_or_else(|e| vec![e.to_string()])
                }
                (Some(name), _) => vec![format!("{name} is not running (a: plan & apply)")],
                (None, _) => vec![format!("{} has no session in sessions.yaml", row.agent)],
            },
            Preview::Log => {
                let latest = self.runs.iter().rfind(|r| r.agent == row.agent);
                let remote =
                    latest.and_then(|l| self.remote_runs.iter().find(|r| r.state.id == l.id));
                match (latest, remote) {
                    (None, _) => vec![format!("{} has no task runs", row.agent)],
                    (Some(r), Some(there)) => {
                        let mut lines = vec![format!(
                            "run {} on {} — {} (its last output there)",
                            r.id,
                            there.host,
                            r.status.as_str()
                        )];
                        lines.extend(there.last_output.iter().cloned());
                        lines
                    }
                    (Some(r), None) => {
                        let log = crate::runs::run_dir(&self.root, &r.id).join("output.log");
                        let text = std::fs::read_to_string(&log).unwrap_or_default();
                        let mut lines: Vec<String> =
                            vec![format!("run {} — {}", r.id, r.status.as_str())];
                        lines.extend(text.lines().map(str::to_string));
                        lines
                    }
                }
            }
        };
        self.dirty = true;
    }

    /// Shows `msg` on the status line for a few seconds.
    pub fn status(&mut self, msg: impl Into<String>) {
        self.status = Some((msg.into(), Instant::now()));
        self.dirty = true;
    }
}

/// `s` without ANSI colour sequences.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The runs on every connected host (`iw runs --json` there), and the hosts that did not
/// answer, with why.
fn remote_runs(links: &crate::reconcile::hosts::Links) -> (Vec<RemoteRun>, Vec<(String, String)>) {
    let mut out = Vec::new();
    let mut failed = Vec::new();
    for (host, answer) in links.ask(crate::runs::remote::list) {
        let docs = match answer {
            Ok(d) => d,
            Err(e) => {
                failed.push((host.to_string(), e.to_string()));
                continue;
            }
        };
        for doc in docs {
            let Ok(state) = serde_json::from_value::<RunState>(doc.clone()) else {
                continue;
            };
            let last_output = doc["last_output"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|l| l.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            out.push(RemoteRun {
                host: host.to_string(),
                state,
                last_output,
            });
        }
    }
    (out, failed)
}
