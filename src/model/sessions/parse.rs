//! Reading sessions.yaml: the YAML read into [`raw`] types, then each section
//! validated into a [`SessionsConfig`]: the top-level settings, `runs`, `notify`, the tenants
//! ([`super::tenants`]) and the sessions.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_saphyr::Spanned;

use super::checks::{
    check_workdir, command_text, env_map, unrecognised_claude, valid_prefix, valid_socket,
    workdir_will_exist,
};
use super::hosts::{host_ref, hosts_config};
use super::raw;
use super::tenants::tenants_config;
use super::{
    DEFAULT_CHECK_FOR, DEFAULT_COMMAND, DEFAULT_PREFIX, DEFAULT_READY_TIMEOUT, DEFAULT_SOCKET,
    NotifyConfig, Restart, RunsConfig, SESSION_FIELDS, SessionDecl, SessionsConfig, TOP_FIELDS,
};
use crate::model::diagnostics::{Checked, Collector};
use crate::model::registry::Registry;
use crate::model::yaml::{self, SpannedMap, pos_of, spos};
use crate::support::diag::{Diagnostic, did_you_mean};

/// The fields of the file's levels, to find every unknown one.
const SHAPE: yaml::Shape<'static> = yaml::Shape {
    top: TOP_FIELDS,
    section: "sessions",
    entry: SESSION_FIELDS,
};

/// Parses and validates sessions.yaml against the registry, without looking at the disk.
pub fn parse(file: &str, src: &str, registry: &Registry) -> Checked<SessionsConfig> {
    parse_in(file, src, registry, None)
}

/// [`parse`], and when `root` (the project root) is given, a declared `workdir` must exist there
/// (or be an agent's directory, which apply creates): tmux starts a pane whose directory is
/// missing in its own current directory, where Claude Code would find neither the agent's
/// settings nor its hook.
pub fn parse_in(
    file: &str,
    src: &str,
    registry: &Registry,
    root: Option<&Path>,
) -> Checked<SessionsConfig> {
    if yaml::is_blank(src) {
        return Err(vec![
            Diagnostic::error("the file is empty").in_file(file).help(
                "declare the sessions to run, e.g. `sessions: {planning-agent: {}}`, or delete the \
             file to manage no sessions",
            ),
        ]);
    }
    let doc: raw::Doc =
        match serde_saphyr::from_str_with_options(src, crate::model::yaml::options()) {
            Ok(d) => d,
            Err(e) => return Err(yaml::structural_errors(file, src, &e, SHAPE)),
        };
    let mut out = Collector::new(file, src);
    let socket = socket(doc.socket, &mut out);
    let declared: Vec<String> = doc
        .hosts
        .as_ref()
        .map(|h| h.value.0.iter().map(|(k, _)| k.value.clone()).collect())
        .unwrap_or_default();
    let hosts = hosts_config(doc.hosts, &mut out);
    let known_hosts = Hosts {
        hosts: &hosts,
        declared: &declared,
    };
    let config = SessionsConfig {
        prefix: prefix(doc.prefix, &mut out),
        command: command(doc.command, &mut out),
        check_for: CHECK_FOR.read(doc.check_for, &mut out),
        ready_timeout: READY_TIMEOUT.read(doc.ready_timeout, &mut out),
        env: env_map(doc.env, None, None, &mut out),
        runs: runs_config(doc.runs.map(|r| r.value).unwrap_or_default(), &mut out),
        notify: notify_config(doc.notify.map(|n| n.value), &mut out),
        tenants: tenants_config(doc.tenants, registry, &socket, &known_hosts, &mut out),
        sessions: sessions(doc.sessions, registry, root, &known_hosts, &mut out),
        socket,
        hosts,
    };
    out.finish(config)
}

/// The hosts a `host:` may name: the valid ones, and the names of all those declared.
pub(super) struct Hosts<'a> {
    /// The declared hosts without errors.
    pub hosts: &'a BTreeMap<String, super::Host>,
    /// Every name under `hosts:`.
    pub declared: &'a [String],
}

impl Hosts<'_> {
    /// The host named by `value` ([`host_ref`]); `what` names the session or tenant.
    pub fn resolve(
        &self,
        what: &str,
        value: Option<Spanned<String>>,
        out: &mut Collector<'_>,
    ) -> Option<String> {
        host_ref(what, value, self.hosts, self.declared, out)
    }
}

/// `socket`: the tmux socket (empty when it is invalid, which is reported).
fn socket(value: Option<Spanned<String>>, out: &mut Collector<'_>) -> String {
    match value {
        Some(s) if !valid_socket(&s.value) => {
            out.push(
                Diagnostic::error(format!("`{}` is not a valid socket name", s.value)).help(
                    "use letters, digits, `-` and `_` (it names a file under /tmp/tmux-UID/)",
                ),
                spos(&s),
            );
            String::new()
        }
        Some(s) => s.value,
        None => DEFAULT_SOCKET.to_string(),
    }
}

/// `prefix`: the session name prefix (empty when it is invalid, which is reported).
fn prefix(value: Option<Spanned<String>>, out: &mut Collector<'_>) -> String {
    match value {
        Some(p) if !valid_prefix(&p.value) => {
            out.push(
                Diagnostic::error(format!("`{}` is not a valid session prefix", p.value)).help(
                    "use letters, digits, `-` and `_`: tmux silently rewrites `.` and `:` in names",
                ),
                spos(&p),
            );
            String::new()
        }
        Some(p) => p.value,
        None => DEFAULT_PREFIX.to_string(),
    }
}

/// `command`: the default pane command (empty when it is invalid, which is reported).
fn command(value: Option<Spanned<String>>, out: &mut Collector<'_>) -> String {
    let Some(c) = value else {
        return DEFAULT_COMMAND.to_string();
    };
    let command = command_text(&c, "`command`", out);
    if command.is_some() {
        unrecognised_claude(&c, "`command`", out);
    }
    command.unwrap_or_default()
}

/// A top-level duration field: its name, default and longest value, and the advice for a value
/// that is not a duration.
struct DurationField {
    name: &'static str,
    default: Duration,
    max: Duration,
    max_written: &'static str,
    help: &'static str,
}

/// `check_for`.
const CHECK_FOR: DurationField = DurationField {
    name: "check_for",
    default: DEFAULT_CHECK_FOR,
    max: Duration::from_secs(60),
    max_written: "60s",
    help: "write e.g. `150ms`, `1s`; `0s` disables the check",
};

/// `ready_timeout`.
const READY_TIMEOUT: DurationField = DurationField {
    name: "ready_timeout",
    default: DEFAULT_READY_TIMEOUT,
    max: Duration::from_secs(3600),
    max_written: "1h",
    help: "write e.g. `60s`, `2m`; `0s` does not wait",
};

impl DurationField {
    /// The field's value, or its default when it is absent or invalid (which is reported).
    fn read(&self, value: Option<Spanned<String>>, out: &mut Collector<'_>) -> Duration {
        let Some(c) = value else {
            return self.default;
        };
        match humantime::parse_duration(&c.value) {
            Ok(d) if d <= self.max => d,
            Ok(_) => {
                out.push(
                    Diagnostic::error(format!(
                        "`{}` is longer than {}",
                        self.name, self.max_written
                    )),
                    spos(&c),
                );
                self.default
            }
            Err(e) => {
                out.push(
                    Diagnostic::error(format!("`{}` is not a duration: {e}", c.value))
                        .help(self.help),
                    spos(&c),
                );
                self.default
            }
        }
    }
}

/// `runs`: how task runs are started and limited.
fn runs_config(r: raw::Runs, out: &mut Collector<'_>) -> RunsConfig {
    let mut c = RunsConfig::default();
    if let Some(cmd) = r.command
        && let Some(command) = command_text(&cmd, "`runs.command`", out)
    {
        unrecognised_claude(&cmd, "`runs.command`", out);
        c.command = command;
    }
    if let Some(n) = r.max_concurrent {
        if n.value == 0 {
            out.push(
                Diagnostic::error("`runs.max_concurrent` is 0, so no run could ever start")
                    .help("write at least 1"),
                pos_of(&n, 1),
            );
        } else {
            c.max_concurrent = n.value as usize;
        }
    }
    if let Some(l) = r.max_lifetime {
        match humantime::parse_duration(&l.value) {
            Ok(d) if !d.is_zero() => c.max_lifetime = d,
            Ok(_) => out.push(
                Diagnostic::error("`runs.max_lifetime` is zero").help("write e.g. `30m` or `2h`"),
                spos(&l),
            ),
            Err(e) => out.push(
                Diagnostic::error(format!("`{}` is not a duration: {e}", l.value))
                    .help("write e.g. `30m` or `2h`"),
                spos(&l),
            ),
        }
    }
    c
}

/// `notify`: how the person is told when an agent needs them.
fn notify_config(n: Option<raw::Notify>, out: &mut Collector<'_>) -> NotifyConfig {
    let Some(n) = n else {
        return NotifyConfig::default();
    };
    NotifyConfig {
        tmux: n.tmux.is_none_or(|b| b.value),
        bell: n.bell.is_none_or(|b| b.value),
        command: match n.command {
            Some(c) if c.value.trim().is_empty() => {
                out.push(Diagnostic::error("`notify.command` is empty"), spos(&c));
                None
            }
            other => other.map(|c| c.value),
        },
    }
}

/// `sessions`: the declared sessions without errors, by agent.
fn sessions(
    doc: Option<Spanned<SpannedMap<Option<raw::Entry>>>>,
    registry: &Registry,
    root: Option<&Path>,
    hosts: &Hosts<'_>,
    out: &mut Collector<'_>,
) -> BTreeMap<String, SessionDecl> {
    let known: Vec<&str> = registry.names().collect();
    let mut sessions = BTreeMap::new();
    for (key, entry) in doc.map(|s| s.value.0).unwrap_or_default() {
        let entry = entry.value.unwrap_or_default();
        if let Some(decl) = session(&key, entry, registry, &known, root, hosts, out) {
            sessions.insert(decl.agent.clone(), decl);
        }
    }
    sessions
}

/// One declared session, if it has no error.
fn session(
    key: &Spanned<String>,
    e: raw::Entry,
    registry: &Registry,
    known: &[&str],
    root: Option<&Path>,
    hosts: &Hosts<'_>,
    out: &mut Collector<'_>,
) -> Option<SessionDecl> {
    let before = out.errors();
    let agent = key.value.clone();
    let host = hosts.resolve(&format!("session `{agent}`"), e.host, out);
    // A remote workdir is under the host's root, which cannot be looked at from here.
    let root = root.filter(|_| host.is_none());
    if !registry.agents.contains_key(&agent) {
        let help = out
            .suggestions
            .agent(&agent, "agents in the registry", known.iter().copied());
        out.push(
            Diagnostic::error(format!("`{agent}` is not an agent in the registry")).help(help),
            spos(key),
        );
    }
    let command = e.command.and_then(|c| {
        let command = command_text(&c, &format!("session `{agent}`: `command`"), out);
        if command.is_some() {
            unrecognised_claude(&c, &format!("session `{agent}`"), out);
        }
        command
    });
    let workdir = e
        .workdir
        .and_then(|w| workdir(&agent, w, registry, root, out));
    let restart = e
        .restart
        .map_or(Restart::OnChange, |r| restart(&agent, r, out));
    let env = env_map(
        e.env,
        Some(&format!("session `{agent}`")),
        Some(&agent),
        out,
    );
    (out.errors() == before).then_some(SessionDecl {
        agent,
        command,
        env,
        workdir,
        restart,
        host,
    })
}

/// A session's `workdir`, if it is valid (and, given the project `root`, will exist).
fn workdir(
    agent: &str,
    w: Spanned<String>,
    registry: &Registry,
    root: Option<&Path>,
    out: &mut Collector<'_>,
) -> Option<String> {
    let d = match check_workdir(&w.value) {
        Ok(()) if root.is_some_and(|r| !workdir_will_exist(r, &w.value, registry)) => {
            Diagnostic::error(format!(
                "session `{agent}`: workdir `{}` does not exist",
                w.value
            ))
            .help(
                "create the directory, or remove `workdir` to start in the project \
                 root (tmux would start the pane somewhere else)",
            )
        }
        Ok(()) => return Some(w.value),
        Err(why) => Diagnostic::error(format!("`{}` is not a valid workdir: {why}", w.value))
            .help("write a directory relative to the project root, e.g. `src`"),
    };
    out.push(d.agent(agent), spos(&w));
    None
}

/// A session's `restart` policy (the default when it is invalid, which is reported).
fn restart(agent: &str, r: Spanned<String>, out: &mut Collector<'_>) -> Restart {
    match r.value.as_str() {
        "on-change" => Restart::OnChange,
        "never" => Restart::Never,
        other => {
            let help = match did_you_mean(other, ["on-change", "never"]) {
                Some(s) => format!("did you mean `{s}`?"),
                None => {
                    "use `on-change` (replace the session when its definition changes) or `never`"
                        .into()
                }
            };
            out.push(
                Diagnostic::error(format!("`{other}` is not a restart policy"))
                    .agent(agent)
                    .help(help),
                spos(&r),
            );
            Restart::OnChange
        }
    }
}
