//! The `hosts:` section of sessions.yaml (other machines, reached with OpenSSH) and the `host:`
//! of a session or tenant, which must name one of them.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_saphyr::Spanned;

use super::Host;
use super::checks::{NUL_HELP, nul_message, valid_prefix};
use super::raw;
use crate::model::diagnostics::Collector;
use crate::model::yaml::{SpannedMap, spos};
use crate::support::diag::{Diagnostic, Pos, did_you_mean};

/// The hosts without errors, by name. Two hosts may not share both destination and root: they
/// would be the same directory of the same machine, each overwriting the other's files.
pub(super) fn hosts_config(
    doc: Option<Spanned<SpannedMap<raw::HostDoc>>>,
    out: &mut Collector<'_>,
) -> BTreeMap<String, Host> {
    let mut hosts: BTreeMap<String, Host> = BTreeMap::new();
    for (key, h) in doc.map(|d| d.value.0).unwrap_or_default() {
        let before = out.errors();
        let Some(host) = host(&key, h.value, out) else {
            continue;
        };
        if let Some(other) = hosts
            .values()
            .find(|o| o.ssh == host.ssh && o.root == host.root)
        {
            out.push(
                Diagnostic::error(format!(
                    "host `{}`: `{}` with root `{}` is already host `{}`",
                    host.name,
                    host.ssh,
                    host.root.display(),
                    other.name
                ))
                .help("two hosts in one directory would overwrite each other's files: give each its own `root`"),
                spos(&key),
            );
        }
        if out.errors() == before {
            hosts.insert(host.name.clone(), host);
        }
    }
    hosts
}

/// One host, `key` its name; `None` when a required field is missing or invalid (reported).
fn host(key: &Spanned<String>, h: raw::HostDoc, out: &mut Collector<'_>) -> Option<Host> {
    let name = key.value.clone();
    let before = out.errors();
    if !valid_host_name(&name) {
        out.push(
            Diagnostic::error(format!("`{name}` is not a valid host name"))
                .help("use letters, digits, `-` and `_` (at most 32)"),
            spos(key),
        );
    }
    let ssh = match h.ssh {
        None => {
            missing(&name, "ssh", "e.g. `ssh: dev@gpu-1`", spos(key), out);
            None
        }
        Some(s) => destination(&name, s, out),
    };
    let root = match h.root {
        None => {
            missing(
                &name,
                "root",
                "the project's absolute directory there, e.g. `root: /srv/work/project`",
                spos(key),
                out,
            );
            None
        }
        Some(r) => root(&name, r, out),
    };
    let mut ssh_args = Vec::new();
    for a in h.ssh_args.map(|a| a.value).unwrap_or_default() {
        if a.value.contains('\0') {
            let what = format!("host `{name}`: an ssh argument");
            out.push(
                Diagnostic::error(nul_message(&what)).help(NUL_HELP),
                spos(&a),
            );
        } else {
            ssh_args.push(a.value);
        }
    }
    (out.errors() == before).then_some(Host {
        name,
        ssh: ssh?,
        root: root?,
        ssh_args,
    })
}

/// Reports a missing required field of host `name`.
fn missing(name: &str, field: &str, help: &str, pos: Pos, out: &mut Collector<'_>) {
    out.push(
        Diagnostic::error(format!("host `{name}` has no `{field}`")).help(help),
        pos,
    );
}

/// Why `v` is not an ssh destination iw accepts (empty, white space or NUL, or starting with
/// `-`, which ssh would read as an option), if it is not.
pub fn bad_destination(v: &str) -> Option<&'static str> {
    if v.trim().is_empty() {
        Some("it is empty")
    } else if v.starts_with('-') {
        Some("it starts with `-`, which ssh would read as an option")
    } else if v.chars().any(|c| c.is_whitespace() || c == '\0') {
        Some("it contains white space or a NUL byte")
    } else {
        None
    }
}

/// Why `p` is not a host root iw accepts (absolute, without `.` or `..`, not `/`), if it is not.
pub fn bad_root(p: &Path) -> Option<&'static str> {
    if p.as_os_str().as_encoded_bytes().contains(&0) {
        Some("it contains a NUL byte")
    } else if !p.is_absolute() {
        Some("it must be absolute")
    } else if p
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        Some("it must not contain `.` or `..`")
    } else if p.parent().is_none() {
        Some("it is the file system's root")
    } else {
        None
    }
}

/// True for a host name iw accepts: letters, digits, `-` and `_`, at most 32.
pub fn valid_host_name(name: &str) -> bool {
    !name.is_empty() && valid_prefix(name)
}

/// The `ssh` destination of host `name`, if valid ([`bad_destination`]).
fn destination(name: &str, s: Spanned<String>, out: &mut Collector<'_>) -> Option<String> {
    let v = &s.value;
    let Some(why) = bad_destination(v) else {
        return Some(v.clone());
    };
    out.push(
        Diagnostic::error(format!(
            "host `{name}`: `{v}` is not a valid ssh destination: {why}"
        ))
        .help("write `user@host` or a `Host` of your ssh configuration; options go in `ssh_args`"),
        spos(&s),
    );
    None
}

/// The `root` of host `name`, if it is an absolute, normal path.
fn root(name: &str, r: Spanned<String>, out: &mut Collector<'_>) -> Option<PathBuf> {
    let p = Path::new(&r.value);
    let Some(why) = bad_root(p) else {
        return Some(p.to_path_buf());
    };
    out.push(
        Diagnostic::error(format!(
            "host `{name}`: `{}` is not a valid root: {why}",
            r.value
        ))
        .help("write the project's absolute directory on that host, e.g. `/srv/work/project`"),
        spos(&r),
    );
    None
}

/// The `host:` of a session or tenant (`what` names it in messages), if it names a declared
/// host; `None` (this machine) when it is absent, or unknown (reported with a suggestion).
/// `declared` lists every host written under `hosts:`, valid or not, so that a host with an
/// error of its own is not reported a second time as unknown.
pub(super) fn host_ref(
    what: &str,
    value: Option<Spanned<String>>,
    hosts: &BTreeMap<String, Host>,
    declared: &[String],
    out: &mut Collector<'_>,
) -> Option<String> {
    let v = value?;
    if hosts.contains_key(&v.value) {
        return Some(v.value);
    }
    if declared.contains(&v.value) {
        return None;
    }
    let help = match did_you_mean(&v.value, declared.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`?"),
        None if declared.is_empty() => {
            "declare it under `hosts:`, e.g. `hosts: {gpu-1: {ssh: dev@gpu-1, root: /srv/project}}`"
                .into()
        }
        None => format!("hosts: {}", declared.join(", ")),
    };
    out.push(
        Diagnostic::error(format!("{what}: there is no host `{}`", v.value)).help(help),
        spos(&v),
    );
    None
}
