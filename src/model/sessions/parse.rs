//! Reading sessions.yaml: the YAML read into [`raw`] types, then each section
//! validated into a [`SessionsConfig`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::checks::*;
use super::raw;
use super::tenants::tenants_config;
use super::{
    DEFAULT_CHECK_FOR, DEFAULT_COMMAND, DEFAULT_PREFIX, DEFAULT_READY_TIMEOUT, DEFAULT_SOCKET,
    NotifyConfig, Restart, RunsConfig, SESSION_FIELDS, SessionDecl, SessionsConfig, TOP_FIELDS,
};
use crate::model::registry::Registry;
use crate::model::yaml::{self, pos_of, spos};
use crate::support::diag::{Diagnostic, Pos, did_you_mean};

/// The fields of the file's levels, to find every unknown one.
const SHAPE: yaml::Shape<'static> = yaml::Shape {
    top: TOP_FIELDS,
    section: "sessions",
    entry: SESSION_FIELDS,
};

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
