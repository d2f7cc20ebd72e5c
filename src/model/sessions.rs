//! `sessions.yaml`: which agents run as live tmux sessions, and how.
//!
//! Optional, at the project root; when it is absent iw manages no sessions and needs no tmux.
//! Validation is as strict as the registry's (unknown keys with suggestions, unknown agents,
//! bad values, each at file:line:col). [`specs`] turns it into the desired sessions: each with
//! its command, directory, environment and a hash of everything that defines it, including the
//! agent's generated configuration, so that a changed config restarts the session.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::claude::launch;
use crate::model::registry::Registry;
use crate::model::yaml::{self, SpannedMap, pos_of, spos};
use crate::support::diag::{Diagnostic, Pos, did_you_mean};
use crate::support::fsutil;

/// The file's path relative to the project root.
pub const SESSIONS_PATH: &str = "sessions.yaml";
/// Default tmux socket (`tmux -L`), as in the seed.
pub const DEFAULT_SOCKET: &str = "iw-orchestrator";
/// Default session name prefix, as in the seed.
pub const DEFAULT_PREFIX: &str = "iw-";
/// Default pane command: Claude Code.
pub const DEFAULT_COMMAND: &str = "claude";
/// Default time to watch new sessions for a command that exits at once.
pub const DEFAULT_CHECK_FOR: Duration = Duration::from_millis(150);
/// Default longest wait for a new Claude Code session to report that it started.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Default command of a task run (`iw run`): Claude Code, non-interactive, on the run's prompt
/// (iw adds the agent's settings and directory, [`crate::claude::launch`]).
pub const DEFAULT_RUN_COMMAND: &str = r#"claude -p "$(cat "$IW_RUN_PROMPT")""#;
/// Default maximum of runs active at once.
pub const DEFAULT_MAX_CONCURRENT: usize = 4;
/// Default (and largest allowed) lifetime of a run.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(3600);

/// Top-level fields.
pub const TOP_FIELDS: &[&str] = &[
    "socket",
    "prefix",
    "command",
    "env",
    "check_for",
    "ready_timeout",
    "runs",
    "notify",
    "tenants",
    "sessions",
];
/// Fields of one session.
pub const SESSION_FIELDS: &[&str] = &["command", "env", "workdir", "restart"];
/// Environment variables iw sets in every session.
pub const RESERVED_ENV: &[&str] = &["IW_AGENT", "IW_ROOT", "IW_TENANT"];

const SHAPE: yaml::Shape<'static> = yaml::Shape {
    top: TOP_FIELDS,
    section: "sessions",
    entry: SESSION_FIELDS,
};

/// What happens to a running session whose definition changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// Replace it (the default).
    OnChange,
    /// Leave it running; plan reports it as outdated.
    Never,
}

/// A validated sessions.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionsConfig {
    /// tmux socket name (`tmux -L`).
    pub socket: String,
    /// Session name prefix: the session of agent `a` is `<prefix>a`.
    pub prefix: String,
    /// Default pane command.
    pub command: String,
    /// Environment for every session.
    pub env: BTreeMap<String, String>,
    /// How long apply watches new sessions for a command that exits at once.
    pub check_for: Duration,
    /// How long apply waits for each new Claude Code session to report `SessionStart`.
    pub ready_timeout: Duration,
    /// Declared sessions, by agent.
    pub sessions: BTreeMap<String, SessionDecl>,
    /// Task runs (`iw run`).
    pub runs: RunsConfig,
    /// How the person is told when an agent needs them (`notify:`).
    pub notify: NotifyConfig,
    /// Tenants: further copies of a subset of the team, each on its own socket.
    pub tenants: BTreeMap<String, Tenant>,
}

/// A tenant (the seed's §7.3.3): its own sessions of a subset of the agents, on its own socket,
/// named `<prefix><tenant>-<agent>`, with per-agent overrides. Agents' generated files and
/// policies are shared; a tenant's sessions get `IW_TENANT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its name.
    pub name: String,
    /// The agents it runs.
    pub agents: Vec<String>,
    /// Its tmux socket (default `iw-<tenant>`).
    pub socket: String,
    /// Environment for its sessions (on top of the global one).
    pub env: BTreeMap<String, String>,
    /// Per-agent overrides.
    pub overrides: BTreeMap<String, Override>,
}

/// What a tenant changes for one agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Override {
    /// The model (given to Claude Code as `ANTHROPIC_MODEL`, which takes precedence over the
    /// model in settings.json).
    pub model: Option<String>,
    /// The pane command.
    pub command: Option<String>,
    /// Environment (on top of the tenant's).
    pub env: BTreeMap<String, String>,
}

/// How iw tells the person that an agent waits for them, or that a run or session failed
/// (`notify:` in sessions.yaml; [`crate::status::notify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Show a message on the clients attached to the agent's tmux server.
    pub tmux: bool,
    /// Ring the bell of those clients' terminals.
    pub bell: bool,
    /// A command to run (by `sh -c`, in the project root) with `IW_AGENT`, `IW_EVENT` and
    /// `IW_MESSAGE` set.
    pub command: Option<String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            tmux: true,
            bell: true,
            command: None,
        }
    }
}

/// How task runs (`iw run`) are started and limited (`runs:` in sessions.yaml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunsConfig {
    /// The command a run's pane runs (by `sh -c`, in the agent's directory, with `IW_RUN_*` set).
    pub command: String,
    /// At most this many runs are active (created or running) at once.
    pub max_concurrent: usize,
    /// A run is stopped and marked FAILED (reason timeout) after this long; `--timeout` may only
    /// shorten it.
    pub max_lifetime: Duration,
}

impl Default for RunsConfig {
    fn default() -> Self {
        RunsConfig {
            command: DEFAULT_RUN_COMMAND.to_string(),
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            max_lifetime: DEFAULT_MAX_LIFETIME,
        }
    }
}

impl Default for SessionsConfig {
    /// The configuration of a project without sessions.yaml.
    fn default() -> Self {
        SessionsConfig {
            socket: DEFAULT_SOCKET.to_string(),
            prefix: DEFAULT_PREFIX.to_string(),
            command: DEFAULT_COMMAND.to_string(),
            env: BTreeMap::new(),
            check_for: DEFAULT_CHECK_FOR,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            sessions: BTreeMap::new(),
            runs: RunsConfig::default(),
            notify: NotifyConfig::default(),
            tenants: BTreeMap::new(),
        }
    }
}

/// One declared session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDecl {
    /// The agent it runs.
    pub agent: String,
    /// Its command, if not the default.
    pub command: Option<String>,
    /// Its environment (on top of the global one).
    pub env: BTreeMap<String, String>,
    /// Its working directory relative to the project root (default `agents/<name>`).
    pub workdir: Option<String>,
    /// Restart policy.
    pub restart: Restart,
}

impl SessionsConfig {
    /// The tmux session name of `agent`.
    pub fn session_name(&self, agent: &str) -> String {
        format!("{}{agent}", self.prefix)
    }

    /// The socket and session name prefix of `tenant` (`None`: the project's own sessions).
    pub fn socket_and_prefix(&self, tenant: Option<&Tenant>) -> (String, String) {
        match tenant {
            None => (self.socket.clone(), self.prefix.clone()),
            Some(t) => (t.socket.clone(), format!("{}{}-", self.prefix, t.name)),
        }
    }
}

/// The tenant `name` declared in `config` (sessions.yaml); the error names the tenants there are
/// ("did you mean").
pub fn tenant<'a>(
    config: Option<&'a SessionsConfig>,
    name: &str,
) -> crate::support::error::Result<&'a Tenant> {
    use crate::support::error::Error;
    let Some(c) = config else {
        return Err(Error::with_help(
            "--tenant needs tenants declared in sessions.yaml, and there is no sessions.yaml",
            "see docs/sessions.md#tenants",
        ));
    };
    if let Some(t) = c.tenants.get(name) {
        return Ok(t);
    }
    let known: Vec<&str> = c.tenants.keys().map(String::as_str).collect();
    Err(Error::with_help(
        format!("there is no tenant `{name}` in sessions.yaml"),
        match did_you_mean(name, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => "sessions.yaml declares no tenants".into(),
            None => format!("tenants: {}", known.join(", ")),
        },
    ))
}

pub(crate) mod raw {
    use super::*;
    use std::collections::BTreeMap as Map;

    /// sessions.yaml: which agents run in tmux sessions, and how (docs/sessions.md).
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[schemars(title = "iw sessions.yaml")]
    pub struct Doc {
        /// The tmux socket (`tmux -L NAME`); default `iw-orchestrator`.
        #[schemars(with = "Option<String>")]
        pub socket: Option<Spanned<String>>,
        /// Session name prefix: a session is named prefix + agent; default `iw-`.
        #[schemars(with = "Option<String>")]
        pub prefix: Option<Spanned<String>>,
        /// Default pane command; default `claude`.
        #[schemars(with = "Option<String>")]
        pub command: Option<Spanned<String>>,
        /// Environment for every session.
        #[schemars(with = "Option<Map<String, String>>")]
        pub env: Option<Spanned<SpannedMap<String>>>,
        /// How long apply watches new panes for a command that exits at once (e.g. `150ms`, `0s`).
        #[schemars(with = "Option<String>")]
        pub check_for: Option<Spanned<String>>,
        /// How long apply waits for each new Claude Code session to report that it started
        /// (its SessionStart hook), e.g. `60s` (the default), `2m`; `0s`: do not wait.
        #[schemars(with = "Option<String>")]
        pub ready_timeout: Option<Spanned<String>>,
        /// Task runs started by `iw run` (docs/runs.md).
        #[schemars(with = "Option<Runs>")]
        pub runs: Option<Spanned<Runs>>,
        /// How iw tells you that an agent waits for you, or that a run or session failed.
        #[schemars(with = "Option<Notify>")]
        pub notify: Option<Spanned<Notify>>,
        /// Tenants: further sessions of a subset of the agents, each tenant on its own socket,
        /// named `<prefix><tenant>-<agent>` (docs/sessions.md#tenants).
        #[schemars(with = "Option<Map<String, TenantDoc>>")]
        pub tenants: Option<Spanned<SpannedMap<TenantDoc>>>,
        /// The sessions, by agent name (an agent of the registry).
        #[schemars(with = "Option<Map<String, Option<Entry>>>")]
        pub sessions: Option<Spanned<SpannedMap<Option<Entry>>>>,
    }

    /// One tenant.
    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct TenantDoc {
        /// The agents it runs (agents of the registry).
        #[schemars(with = "Vec<String>")]
        pub agents: Spanned<Vec<Spanned<String>>>,
        /// Its tmux socket; default `iw-<tenant>`.
        #[schemars(with = "Option<String>")]
        pub socket: Option<Spanned<String>>,
        /// Environment for its sessions (on top of the global one).
        #[schemars(with = "Option<Map<String, String>>")]
        pub env: Option<Spanned<SpannedMap<String>>>,
        /// Per-agent overrides, by agent name.
        #[schemars(with = "Option<Map<String, OverrideDoc>>")]
        pub overrides: Option<Spanned<SpannedMap<OverrideDoc>>>,
    }

    /// What a tenant changes for one agent.
    #[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct OverrideDoc {
        /// The model, e.g. `opus` (set as ANTHROPIC_MODEL, which Claude Code prefers to the
        /// model in settings.json).
        #[schemars(with = "Option<String>")]
        pub model: Option<Spanned<String>>,
        /// The pane command.
        #[schemars(with = "Option<String>")]
        pub command: Option<Spanned<String>>,
        /// Environment (on top of the tenant's).
        #[schemars(with = "Option<Map<String, String>>")]
        pub env: Option<Spanned<SpannedMap<String>>>,
    }

    /// Notifications (docs/watch.md).
    #[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Notify {
        /// Show a message on the clients attached to the agent's tmux server; default true.
        #[schemars(with = "Option<bool>")]
        pub tmux: Option<Spanned<bool>>,
        /// Ring the bell of those clients' terminals; default true.
        #[schemars(with = "Option<bool>")]
        pub bell: Option<Spanned<bool>>,
        /// A command run by `sh -c` in the project root with IW_AGENT, IW_EVENT (`waiting`,
        /// `run-failed`, `session-died`) and IW_MESSAGE set, e.g. `notify-send "$IW_AGENT"
        /// "$IW_MESSAGE"`.
        #[schemars(with = "Option<String>")]
        pub command: Option<Spanned<String>>,
    }

    /// Task runs (`iw run AGENT --task FILE`).
    #[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Runs {
        /// The command a run's pane runs (by `sh -c`, in the agent's directory); default
        /// `claude -p "$(cat "$IW_RUN_PROMPT")"`.
        #[schemars(with = "Option<String>")]
        pub command: Option<Spanned<String>>,
        /// At most this many runs active at once; default 4.
        #[schemars(with = "Option<u32>")]
        pub max_concurrent: Option<Spanned<u32>>,
        /// A run still going after this long is stopped and marked FAILED (timeout); default `1h`.
        #[schemars(with = "Option<String>")]
        pub max_lifetime: Option<Spanned<String>>,
    }

    /// One agent's session.
    #[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Entry {
        /// The pane's command, if not the default.
        #[schemars(with = "Option<String>")]
        pub command: Option<Spanned<String>>,
        /// Environment for this session (on top of the global one).
        #[schemars(with = "Option<Map<String, String>>")]
        pub env: Option<Spanned<SpannedMap<String>>>,
        /// Working directory relative to the project root; default `agents/<agent>`.
        #[schemars(with = "Option<String>")]
        pub workdir: Option<Spanned<String>>,
        /// `on-change` (default: replace the session when its definition changes) or `never`.
        #[schemars(with = "Option<Restart>")]
        pub restart: Option<Spanned<String>>,
    }

    /// Restart policy.
    #[derive(schemars::JsonSchema)]
    #[serde(rename_all = "kebab-case")]
    #[allow(dead_code)]
    pub enum Restart {
        /// Replace the session when its definition changes.
        OnChange,
        /// Report, never replace.
        Never,
    }
}

/// The JSON Schema of sessions.yaml, generated from the types the parser reads it into
/// (`iw schema sessions`).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(raw::Doc)).unwrap_or_default()
}

fn valid_socket(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
}

fn valid_prefix(s: &str) -> bool {
    s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
}

fn valid_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses and validates sessions.yaml against the registry, without looking at the disk.
pub fn parse(
    file: &str,
    src: &str,
    registry: &Registry,
) -> Result<(SessionsConfig, Vec<Diagnostic>), Vec<Diagnostic>> {
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
) -> Result<(SessionsConfig, Vec<Diagnostic>), Vec<Diagnostic>> {
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
    let mut out = Collector {
        file,
        lines: crate::support::diag::LineIndex::new(src),
        diags: Vec::new(),
        errors: 0,
        suggestions: Default::default(),
    };
    let err = |o: &mut Collector, msg: String, pos: Pos, help: Option<String>| {
        o.push(Diagnostic::error(msg), pos, help, None);
    };

    let socket = match doc.socket {
        Some(s) if !valid_socket(&s.value) => {
            err(
                &mut out,
                format!("`{}` is not a valid socket name", s.value),
                spos(&s),
                Some(
                    "use letters, digits, `-` and `_` (it names a file under /tmp/tmux-UID/)"
                        .into(),
                ),
            );
            String::new()
        }
        Some(s) => s.value,
        None => DEFAULT_SOCKET.to_string(),
    };
    let prefix = match doc.prefix {
        Some(p) if !valid_prefix(&p.value) => {
            err(
                &mut out,
                format!("`{}` is not a valid session prefix", p.value),
                spos(&p),
                Some(
                    "use letters, digits, `-` and `_`: tmux silently rewrites `.` and `:` in names"
                        .into(),
                ),
            );
            String::new()
        }
        Some(p) => p.value,
        None => DEFAULT_PREFIX.to_string(),
    };
    let command = match doc.command {
        Some(c) if c.value.trim().is_empty() => {
            err(&mut out, "`command` is empty".into(), spos(&c), None);
            String::new()
        }
        Some(c) if c.value.contains('\0') => {
            err(
                &mut out,
                nul_message("`command`"),
                spos(&c),
                Some(NUL_HELP.into()),
            );
            String::new()
        }
        Some(c) => {
            unrecognised_claude(&c, "`command`", &mut out);
            c.value
        }
        None => DEFAULT_COMMAND.to_string(),
    };
    let check_for = match doc.check_for {
        Some(c) => match humantime::parse_duration(&c.value) {
            Ok(d) if d <= Duration::from_secs(60) => d,
            Ok(_) => {
                err(
                    &mut out,
                    "`check_for` is longer than 60s".into(),
                    spos(&c),
                    None,
                );
                DEFAULT_CHECK_FOR
            }
            Err(e) => {
                err(
                    &mut out,
                    format!("`{}` is not a duration: {e}", c.value),
                    spos(&c),
                    Some("write e.g. `150ms`, `1s`; `0s` disables the check".into()),
                );
                DEFAULT_CHECK_FOR
            }
        },
        None => DEFAULT_CHECK_FOR,
    };
    let ready_timeout = match doc.ready_timeout {
        Some(c) => match humantime::parse_duration(&c.value) {
            Ok(d) if d <= Duration::from_secs(3600) => d,
            Ok(_) => {
                err(
                    &mut out,
                    "`ready_timeout` is longer than 1h".into(),
                    spos(&c),
                    None,
                );
                DEFAULT_READY_TIMEOUT
            }
            Err(e) => {
                err(
                    &mut out,
                    format!("`{}` is not a duration: {e}", c.value),
                    spos(&c),
                    Some("write e.g. `60s`, `2m`; `0s` does not wait".into()),
                );
                DEFAULT_READY_TIMEOUT
            }
        },
        None => DEFAULT_READY_TIMEOUT,
    };
    let env = env_map(doc.env, None, &mut out);
    let runs = runs_config(doc.runs.map(|r| r.value).unwrap_or_default(), &mut out);
    let notify = match doc.notify.map(|n| n.value) {
        None => NotifyConfig::default(),
        Some(n) => NotifyConfig {
            tmux: n.tmux.is_none_or(|b| b.value),
            bell: n.bell.is_none_or(|b| b.value),
            command: match n.command {
                Some(c) if c.value.trim().is_empty() => {
                    err(&mut out, "`notify.command` is empty".into(), spos(&c), None);
                    None
                }
                other => other.map(|c| c.value),
            },
        },
    };
    let tenants = tenants_config(doc.tenants, registry, &socket, &mut out);

    let mut sessions = BTreeMap::new();
    let known: Vec<&str> = registry.names().collect();
    for (key, entry) in doc.sessions.map(|s| s.value.0).unwrap_or_default() {
        let agent = key.value.clone();
        let mut ok = true;
        if !registry.agents.contains_key(&agent) {
            ok = false;
            let help =
                out.suggestions
                    .agent(&agent, "agents in the registry", known.iter().copied());
            err(
                &mut out,
                format!("`{agent}` is not an agent in the registry"),
                spos(&key),
                Some(help),
            );
        }
        let e = entry.value.unwrap_or_default();
        let command = match e.command {
            Some(c) if c.value.trim().is_empty() => {
                ok = false;
                err(
                    &mut out,
                    format!("session `{agent}`: `command` is empty"),
                    spos(&c),
                    None,
                );
                None
            }
            Some(c) if c.value.contains('\0') => {
                ok = false;
                err(
                    &mut out,
                    nul_message(&format!("session `{agent}`: `command`")),
                    spos(&c),
                    Some(NUL_HELP.into()),
                );
                None
            }
            Some(c) => {
                unrecognised_claude(&c, &format!("session `{agent}`"), &mut out);
                Some(c.value)
            }
            None => None,
        };
        let workdir = match e.workdir {
            Some(w) => match check_workdir(&w.value) {
                Ok(()) if root.is_some_and(|r| !workdir_will_exist(r, &w.value, registry)) => {
                    ok = false;
                    out.push(
                        Diagnostic::error(format!(
                            "session `{agent}`: workdir `{}` does not exist",
                            w.value
                        )),
                        spos(&w),
                        Some(
                            "create the directory, or remove `workdir` to start in the project \
                             root (tmux would start the pane somewhere else)"
                                .into(),
                        ),
                        Some(&agent),
                    );
                    None
                }
                Ok(()) => Some(w.value),
                Err(why) => {
                    ok = false;
                    out.push(
                        Diagnostic::error(format!("`{}` is not a valid workdir: {why}", w.value)),
                        spos(&w),
                        Some("write a directory relative to the project root, e.g. `src`".into()),
                        Some(&agent),
                    );
                    None
                }
            },
            None => None,
        };
        let restart = match e.restart {
            None => Restart::OnChange,
            Some(r) => match r.value.as_str() {
                "on-change" => Restart::OnChange,
                "never" => Restart::Never,
                other => {
                    ok = false;
                    let help = match did_you_mean(other, ["on-change", "never"]) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "use `on-change` (replace the session when its definition changes) or `never`".into(),
                    };
                    out.push(
                        Diagnostic::error(format!("`{other}` is not a restart policy")),
                        spos(&r),
                        Some(help),
                        Some(&agent),
                    );
                    Restart::OnChange
                }
            },
        };
        let before = out.errors();
        let env = env_map(e.env, Some(&format!("session `{agent}`")), &mut out);
        ok &= out.errors() == before;
        if ok {
            sessions.insert(
                agent.clone(),
                SessionDecl {
                    agent,
                    command,
                    env,
                    workdir,
                    restart,
                },
            );
        }
    }
    let (errors, warnings): (Vec<_>, Vec<_>) = out.diags.into_iter().partition(|d| d.is_error());
    if errors.is_empty() {
        Ok((
            SessionsConfig {
                socket,
                prefix,
                command,
                env,
                check_for,
                ready_timeout,
                sessions,
                runs,
                notify,
                tenants,
            },
            warnings,
        ))
    } else {
        Err(errors.into_iter().chain(warnings).collect())
    }
}

/// Diagnostics being collected for one file.
struct Collector<'a> {
    file: &'a str,
    lines: crate::support::diag::LineIndex<'a>,
    diags: Vec<Diagnostic>,
    errors: usize,
    suggestions: crate::support::diag::Suggestions,
}

impl Collector<'_> {
    fn push(&mut self, d: Diagnostic, pos: Pos, help: Option<String>, agent: Option<&str>) {
        let mut d = d.at_line(self.file, &self.lines, pos);
        d.help = help;
        d.agent = agent.map(str::to_string);
        self.errors += usize::from(d.is_error());
        self.diags.push(d);
    }

    fn errors(&self) -> usize {
        self.errors
    }
}

/// Validates an `env` map; `at` names where it is (`session `a``, `tenant `t``) in messages.
fn env_map(
    env: Option<Spanned<SpannedMap<String>>>,
    at: Option<&str>,
    out: &mut Collector<'_>,
) -> BTreeMap<String, String> {
    let agent = at
        .and_then(|a| a.strip_prefix("session `"))
        .and_then(|a| a.strip_suffix('`'))
        .map(str::to_string);
    let mut err = |msg: String, pos: Pos, help: Option<String>| {
        out.push(Diagnostic::error(msg), pos, help, agent.as_deref());
    };
    let mut out = BTreeMap::new();
    let Some(env) = env else { return out };
    let at = at.map(|s| format!("{s}: ")).unwrap_or_default();
    for (k, v) in env.value.0 {
        if !valid_env_name(&k.value) {
            err(
                format!("{at}`{}` is not a valid environment variable name", k.value),
                spos(&k),
                Some("use letters, digits and `_`, not starting with a digit".into()),
            );
        } else if RESERVED_ENV.contains(&k.value.as_str()) {
            err(
                format!("{at}`{}` is set by iw", k.value),
                spos(&k),
                Some("every session gets IW_AGENT (its agent) and IW_ROOT (the project root); remove it".into()),
            );
        } else if v.value.contains('\0') {
            err(
                format!("{at}the value of `{}` contains a NUL byte", k.value),
                pos_of(&v, 1),
                None,
            );
        } else {
            out.insert(k.value, v.value);
        }
    }
    out
}

fn tenants_config(
    doc: Option<Spanned<SpannedMap<raw::TenantDoc>>>,
    registry: &Registry,
    base_socket: &str,
    out: &mut Collector<'_>,
) -> BTreeMap<String, Tenant> {
    let mut tenants = BTreeMap::new();
    let mut sockets: BTreeMap<String, String> = BTreeMap::new();
    let known: Vec<&str> = registry.names().collect();
    let unknown_agent = |a: &str, out: &mut Collector<'_>| {
        out.suggestions
            .agent(a, "agents in the registry", known.iter().copied())
    };
    for (key, t) in doc.map(|d| d.value.0).unwrap_or_default() {
        let name = key.value.clone();
        let before = out.errors();
        if !valid_prefix(&name) || name.is_empty() {
            out.push(
                Diagnostic::error(format!("`{name}` is not a valid tenant name")),
                spos(&key),
                Some("use letters, digits, `-` and `_`: it is part of session names".into()),
                None,
            );
        }
        let t = t.value;
        let agents_pos = pos_of(&t.agents, 1);
        let mut agents = Vec::new();
        for a in t.agents.value {
            if !registry.agents.contains_key(&a.value) {
                let help = unknown_agent(&a.value, out);
                out.push(
                    Diagnostic::error(format!(
                        "tenant `{name}`: `{}` is not an agent in the registry",
                        a.value
                    )),
                    spos(&a),
                    Some(help),
                    None,
                );
            } else if agents.contains(&a.value) {
                out.push(
                    Diagnostic::error(format!("tenant `{name}` lists `{}` twice", a.value)),
                    spos(&a),
                    None,
                    None,
                );
            } else {
                agents.push(a.value);
            }
        }
        if agents.is_empty() && out.errors() == before {
            out.push(
                Diagnostic::error(format!("tenant `{name}` runs no agents")),
                agents_pos,
                Some(
                    "list the agents it runs, e.g. `agents: [planning-agent, backend-agent]`"
                        .into(),
                ),
                None,
            );
        }
        // The socket, and where it is written (`None`: the default).
        let (socket, at) = match t.socket {
            Some(s) if !valid_socket(&s.value) => {
                out.push(
                    Diagnostic::error(format!("`{}` is not a valid socket name", s.value)),
                    spos(&s),
                    Some("use letters, digits, `-` and `_`".into()),
                    None,
                );
                (String::new(), None)
            }
            Some(s) => (s.value.clone(), Some(spos(&s))),
            None => (format!("iw-{name}"), None),
        };
        let clash = if socket.is_empty() {
            None
        } else if socket == base_socket {
            Some("the project's own sessions".to_string())
        } else {
            sockets.get(&socket).map(|o| format!("tenant `{o}`"))
        };
        if let Some(other) = clash {
            let (what, pos, help) = match at {
                Some(pos) => ("socket", pos, "each tenant needs its own socket"),
                None => (
                    "its default socket",
                    spos(&key),
                    "give it its own `socket:`",
                ),
            };
            out.push(
                Diagnostic::error(format!(
                    "tenant `{name}`: {what} `{socket}` is already used by {other}"
                )),
                pos,
                Some(help.into()),
                None,
            );
        }
        sockets.insert(socket.clone(), name.clone());
        let env = env_map(t.env, Some(&format!("tenant `{name}`")), out);
        let mut overrides = BTreeMap::new();
        for (agent, o) in t.overrides.map(|o| o.value.0).unwrap_or_default() {
            if !agents.contains(&agent.value) {
                out.push(
                    Diagnostic::error(format!(
                        "tenant `{name}`: override for `{}`, which the tenant does not run",
                        agent.value
                    )),
                    spos(&agent),
                    Some(format!("tenant `{name}` runs: {}", agents.join(", "))),
                    None,
                );
                continue;
            }
            let o = o.value;
            if let Some(c) = &o.command {
                unrecognised_claude(c, &format!("tenant `{name}`, agent `{}`", agent.value), out);
            }
            let mut text = |v: Option<Spanned<String>>, field: &str| match v {
                Some(v) if v.value.trim().is_empty() => {
                    out.push(
                        Diagnostic::error(format!(
                            "tenant `{name}`, agent `{}`: `{field}` is empty",
                            agent.value
                        )),
                        spos(&v),
                        None,
                        None,
                    );
                    None
                }
                Some(v) if v.value.contains('\0') => {
                    out.push(
                        Diagnostic::error(nul_message(&format!(
                            "tenant `{name}`, agent `{}`: `{field}`",
                            agent.value
                        ))),
                        spos(&v),
                        Some(NUL_HELP.into()),
                        None,
                    );
                    None
                }
                other => other.map(|v| v.value),
            };
            let model = text(o.model, "model");
            let command = text(o.command, "command");
            let env = env_map(
                o.env,
                Some(&format!("tenant `{name}`, agent `{}`", agent.value)),
                out,
            );
            overrides.insert(
                agent.value,
                Override {
                    model,
                    command,
                    env,
                },
            );
        }
        tenants.insert(
            name.clone(),
            Tenant {
                name,
                agents,
                socket,
                env,
                overrides,
            },
        );
    }
    tenants
}

fn runs_config(r: raw::Runs, out: &mut Collector<'_>) -> RunsConfig {
    let mut c = RunsConfig::default();
    if let Some(cmd) = r.command {
        if cmd.value.trim().is_empty() {
            out.push(
                Diagnostic::error("`runs.command` is empty"),
                spos(&cmd),
                None,
                None,
            );
        } else if cmd.value.contains('\0') {
            out.push(
                Diagnostic::error(nul_message("`runs.command`")),
                spos(&cmd),
                Some(NUL_HELP.into()),
                None,
            );
        } else {
            unrecognised_claude(&cmd, "`runs.command`", out);
            c.command = cmd.value;
        }
    }
    if let Some(n) = r.max_concurrent {
        if n.value == 0 {
            out.push(
                Diagnostic::error("`runs.max_concurrent` is 0, so no run could ever start"),
                pos_of(&n, 1),
                Some("write at least 1".into()),
                None,
            );
        } else {
            c.max_concurrent = n.value as usize;
        }
    }
    if let Some(l) = r.max_lifetime {
        match humantime::parse_duration(&l.value) {
            Ok(d) if !d.is_zero() => c.max_lifetime = d,
            Ok(_) => out.push(
                Diagnostic::error("`runs.max_lifetime` is zero"),
                spos(&l),
                Some("write e.g. `30m` or `2h`".into()),
                None,
            ),
            Err(e) => out.push(
                Diagnostic::error(format!("`{}` is not a duration: {e}", l.value)),
                spos(&l),
                Some("write e.g. `30m` or `2h`".into()),
                None,
            ),
        }
    }
    c
}

/// Warns when `command` runs Claude Code, but not as its first word: iw then cannot give it the
/// agent's settings, hook and instructions ([`launch::is_claude`]).
fn unrecognised_claude(c: &Spanned<String>, what: &str, out: &mut Collector<'_>) {
    if launch::is_claude(&c.value) {
        return;
    }
    let mentions = c
        .value
        .split(|ch: char| ch.is_whitespace() || "'\";&|()`$=".contains(ch))
        .any(|w| w.rsplit('/').next() == Some("claude"));
    if mentions {
        out.push(
            Diagnostic::warning(format!(
                "{what} runs Claude Code, but `claude` is not its first word"
            )),
            spos(c),
            Some(
                "iw starts Claude Code as the agent (its settings, hook and instructions) only \
                 when the command starts with `claude`, e.g. `claude --model opus`; as written, \
                 the agent would run without iw's hook"
                    .into(),
            ),
            None,
        );
    }
}

fn nul_message(what: &str) -> String {
    format!("{what} contains a NUL byte, which no command line can hold")
}

const NUL_HELP: &str = "remove it (in a double-quoted YAML string, `\\0` writes one)";

/// True if the (checked, relative) workdir `w` is a directory under `root`, or is an agent's own
/// directory `agents/<name>`, which apply creates before starting sessions.
fn workdir_will_exist(root: &Path, w: &str, registry: &Registry) -> bool {
    if root.join(w).is_dir() {
        return true;
    }
    let parts: Vec<&str> = Path::new(w)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    matches!(parts.as_slice(), ["agents", name] if registry.agents.contains_key(*name))
        && !w.split('/').any(|s| s == "..")
}

fn check_workdir(w: &str) -> Result<(), &'static str> {
    let p = Path::new(w);
    if w.trim().is_empty() {
        return Err("it is empty");
    }
    if w.contains('\0') {
        return Err("it contains a NUL byte");
    }
    if p.is_absolute() {
        return Err("it must be relative to the project root");
    }
    let mut depth: i32 = 0;
    for c in p.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err("it leaves the project root");
        }
    }
    Ok(())
}

/// A session as iw wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionSpec {
    /// The agent it runs.
    pub agent: String,
    /// tmux session name.
    pub name: String,
    /// The pane's command (run by the shell tmux uses).
    pub command: String,
    /// Absolute working directory.
    pub workdir: PathBuf,
    /// Environment: global, then the session's own, then IW_AGENT and IW_ROOT.
    pub env: BTreeMap<String, String>,
    /// Restart policy.
    #[serde(skip)]
    pub restart: Restart,
    /// Hash of the agent's desired generated files.
    pub config: String,
    /// The tenant it belongs to (`None`: the project's own sessions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The tmux socket it runs on.
    #[serde(skip)]
    pub socket: String,
}

impl SessionSpec {
    /// True if the session runs Claude Code (started with the agent's launch arguments).
    pub fn is_claude(&self) -> bool {
        launch::is_claude(&self.command)
    }

    /// The definition as compact JSON (stored on the session as `@iw-spec`).
    pub fn spec_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The hash of the definition (stored as `@iw-hash`).
    pub fn hash(&self) -> String {
        fsutil::sha256_hex(self.spec_json().as_bytes())
    }
}

/// The hash of an agent's generated files from `(path, sha256)` pairs.
pub fn config_hash<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut v: Vec<(&str, &str)> = files.into_iter().collect();
    v.sort_unstable();
    let mut s = String::new();
    for (p, h) in v {
        s.push_str(p);
        s.push('\0');
        s.push_str(h);
        s.push('\n');
    }
    fsutil::sha256_hex(s.as_bytes())
}

/// The desired session of every declared agent, the project's own and then each tenant's, given
/// each agent's config hash.
pub fn specs(
    config: &SessionsConfig,
    root: &Path,
    config_hashes: &BTreeMap<String, String>,
) -> Vec<SessionSpec> {
    let root_s = root.to_string_lossy().into_owned();
    let workdir = |decl: Option<&SessionDecl>| match decl.and_then(|d| d.workdir.as_ref()) {
        Some(w) => root.join(w),
        None => root.to_path_buf(),
    };
    // A Claude Code command runs as the agent: its settings and directory on the command line
    // (so that one trust of the project root covers every agent), and the directory's CLAUDE.md
    // read as instructions.
    let launch = |command: String, agent: &str, env: &mut BTreeMap<String, String>| {
        if launch::is_claude(&command) {
            env.insert(launch::CLAUDE_MD_ENV.into(), "1".into());
        }
        launch::command(&command, root, agent)
    };
    let mut out: Vec<SessionSpec> = config
        .sessions
        .values()
        .map(|d| {
            let mut env = config.env.clone();
            env.extend(d.env.clone());
            env.insert("IW_AGENT".into(), d.agent.clone());
            env.insert("IW_ROOT".into(), root_s.clone());
            let command = d.command.clone().unwrap_or_else(|| config.command.clone());
            SessionSpec {
                agent: d.agent.clone(),
                name: config.session_name(&d.agent),
                command: launch(command, &d.agent, &mut env),
                workdir: workdir(Some(d)),
                env,
                restart: d.restart,
                config: config_hashes.get(&d.agent).cloned().unwrap_or_default(),
                tenant: None,
                socket: config.socket.clone(),
            }
        })
        .collect();
    for t in config.tenants.values() {
        for agent in &t.agents {
            let decl = config.sessions.get(agent);
            let o = t.overrides.get(agent).cloned().unwrap_or_default();
            let mut env = config.env.clone();
            env.extend(t.env.clone());
            if let Some(d) = decl {
                env.extend(d.env.clone());
            }
            env.extend(o.env.clone());
            if let Some(m) = &o.model {
                env.insert("ANTHROPIC_MODEL".into(), m.clone());
            }
            env.insert("IW_AGENT".into(), agent.clone());
            env.insert("IW_ROOT".into(), root_s.clone());
            env.insert("IW_TENANT".into(), t.name.clone());
            let (socket, prefix) = config.socket_and_prefix(Some(t));
            let command = o
                .command
                .or_else(|| decl.and_then(|d| d.command.clone()))
                .unwrap_or_else(|| config.command.clone());
            out.push(SessionSpec {
                agent: agent.clone(),
                name: format!("{prefix}{agent}"),
                command: launch(command, agent, &mut env),
                workdir: workdir(decl),
                env,
                restart: decl.map_or(Restart::OnChange, |d| d.restart),
                config: config_hashes.get(agent).cloned().unwrap_or_default(),
                tenant: Some(t.name.clone()),
                socket,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        let src = "agents:\n  a:\n    name: a\n    display_name: A\n    description: d\n    model: opus\n    tools: [Read]\n  b:\n    name: b\n    display_name: B\n    description: d\n    model: opus\n    tools: [Read]\n";
        crate::model::registry::parse("r", src).unwrap().0
    }

    fn errors(src: &str) -> Vec<String> {
        match parse("sessions.yaml", src, &registry()) {
            Ok(_) => vec![],
            Err(d) => d
                .iter()
                .filter(|d| d.is_error())
                .map(|d| {
                    format!(
                        "{}:{} {}",
                        d.line.unwrap_or(0),
                        d.column.unwrap_or(0),
                        d.headline()
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn defaults_and_overrides() {
        let (c, w) = parse(
            "s",
            "sessions:\n  a: {}\n  b:\n    command: sleep 100\n    env: {LOG_LEVEL: debug, N: 1}\n    restart: never\n",
            &registry(),
        )
        .unwrap();
        assert!(w.is_empty());
        assert_eq!(c.socket, "iw-orchestrator");
        assert_eq!(c.prefix, "iw-");
        assert_eq!(c.command, "claude");
        assert_eq!(c.session_name("a"), "iw-a");
        assert_eq!(c.sessions["b"].restart, Restart::Never);
        assert_eq!(c.sessions["b"].env["N"], "1");
        let specs = specs(&c, Path::new("/p"), &BTreeMap::new());
        // Claude Code runs in the project root, as the agent (crate::claude::launch).
        assert_eq!(
            specs[0].command,
            "claude --settings /p/agents/a/.claude/settings.json --add-dir /p/agents/a"
        );
        assert_eq!(specs[0].env[launch::CLAUDE_MD_ENV], "1");
        assert_eq!(specs[0].workdir, Path::new("/p"));
        assert_eq!(specs[1].command, "sleep 100");
        assert!(!specs[1].env.contains_key(launch::CLAUDE_MD_ENV));
        assert_eq!(specs[1].env["IW_AGENT"], "b");
        assert_eq!(specs[1].env["IW_ROOT"], "/p");
        assert_ne!(specs[0].hash(), specs[1].hash());
    }

    #[test]
    fn null_entries_are_empty_sessions() {
        let (c, _) = parse("s", "sessions:\n  a:\n", &registry()).unwrap();
        assert!(c.sessions.contains_key("a"));
    }

    #[test]
    fn every_problem_is_reported() {
        let e = errors(
            "socket: 'a/b'\nprefix: 'x.'\nsessions:\n  c: {}\n  a:\n    restart: sometimes\n    workdir: ../x\n    env: {IW_AGENT: x, 9X: y}\n",
        );
        assert!(
            e.iter()
                .any(|m| m.starts_with("1:9") && m.contains("not a valid socket name")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("not a valid session prefix")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.starts_with("4:3") && m.contains("`c` is not an agent")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.contains("`sometimes` is not a restart policy")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("leaves the project root")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("`IW_AGENT` is set by iw")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.contains("`9X` is not a valid environment variable name")),
            "{e:?}"
        );
        assert_eq!(e.len(), 7, "{e:?}");
    }

    #[test]
    fn unknown_keys_are_all_reported() {
        let e = errors("sockt: x\nsessions:\n  a:\n    comand: x\n    restrat: never\n");
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("unknown field `sockt`"));
        assert!(e[1].contains("agent `a`: unknown field `comand`"));
    }

    #[test]
    fn claude_run_another_way_warns() {
        let (_, w) = parse(
            "s",
            "command: env A=1 claude\nsessions:\n  a:\n    command: claude --model opus\n    workdir: src\n  b: {command: 'cd x && claude'}\n",
            &registry(),
        )
        .unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].message.contains("`command` runs Claude Code"));
        assert!(w[1].message.contains("session `b`"));
        assert!(w[1].help.as_deref().unwrap().contains("without iw's hook"));
    }
}
