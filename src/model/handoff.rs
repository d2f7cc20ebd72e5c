//! Typed handoffs (the seed's Layer 5): a `delegates_to` entry may name a JSON Schema for the
//! payload one agent hands to another; `iw handoff validate --from A --to B FILE` checks that the
//! edge exists and that the payload matches, pointing at each failing field.

use std::path::Path;

use crate::model::registry::Registry;
use crate::support::diag::agent_help;
use crate::support::error::{Error, Result};

/// Checks the handoff payload in `file` (JSON) for the edge `from` → `to`: the edge exists, the
/// payload is JSON and matches the edge's schema. Returns the schema's file, if there is one.
/// Schemas are read relative to the project `root`.
pub fn check(
    registry: &Registry,
    root: &Path,
    from: &str,
    to: &str,
    file: &Path,
) -> Result<Option<String>> {
    check_edge(registry, from, to)?;
    let payload_text = read_text(file)?;
    parse_payload(file, &payload_text)?;
    check_payload(registry, root, from, to, file, &payload_text)
}

/// Checks that both agents exist and that `from` may hand work to `to` (its `delegates_to`).
pub fn check_edge(registry: &Registry, from: &str, to: &str) -> Result<()> {
    let agents = &registry.agents;
    for name in [from, to] {
        if !agents.contains_key(name) {
            return Err(Error::with_help(
                format!("no agent `{name}` in the registry"),
                agent_help(name, agents.keys().map(String::as_str)),
            ));
        }
    }
    let sender = &agents[from];
    if !sender.delegates_to.iter().any(|d| d == to) {
        return Err(Error::with_help(
            format!("`{from}` may not hand work to `{to}`: it is not in its delegates_to"),
            if sender.delegates_to.is_empty() {
                format!("`{from}` delegates to nobody")
            } else {
                format!("`{from}` delegates to: {}", sender.delegates_to.join(", "))
            },
        ));
    }
    Ok(())
}

fn parse_payload(file: &Path, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| {
        Error::msg(format!(
            "{}:{}:{}: the payload is not valid JSON: {e}",
            file.display(),
            e.line(),
            e.column()
        ))
    })
}

/// Checks `payload_text` (read from `file`) against the JSON Schema declared for the edge
/// `from` → `to` (which must exist: [`check_edge`]). Returns the schema's path, or `None` when
/// the edge declares no schema (then the payload may be anything). The schema's path is
/// relative to the project `root`.
pub fn check_payload(
    registry: &Registry,
    root: &Path,
    from: &str,
    to: &str,
    file: &Path,
    payload_text: &str,
) -> Result<Option<String>> {
    let Some(schema_rel) = registry.agents.get(from).and_then(|a| a.handoffs.get(to)) else {
        return Ok(None);
    };
    let payload = parse_payload(file, payload_text)?;
    let schema_path = root.join(schema_rel);
    let schema_text = read_text(&schema_path)?;
    let schema: serde_json::Value = serde_json::from_str(&schema_text).map_err(|e| {
        Error::msg(format!(
            "{schema_rel}:{}:{}: the handoff schema is not valid JSON: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| {
        Error::with_help(
            format!("{schema_rel} is not a valid JSON Schema: {e}"),
            "see https://json-schema.org; iw uses draft 2020-12 unless `$schema` says otherwise",
        )
    })?;
    let problems: Vec<String> = validator
        .iter_errors(&payload)
        .map(|e| {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() { "/".to_string() } else { at };
            format!("{at}: {e}")
        })
        .collect();
    if problems.is_empty() {
        return Ok(Some(schema_rel.clone()));
    }
    Err(Error::with_help(
        format!(
            "{} does not match the handoff schema {schema_rel} for `{from}` → `{to}`:\n  {}",
            file.display(),
            problems.join("\n  ")
        ),
        "each line starts with the JSON pointer of the failing field",
    ))
}

/// A regular file's text (a FIFO or device is refused rather than waited on).
fn read_text(path: &Path) -> Result<String> {
    let bytes =
        crate::support::fsutil::read_regular(path).map_err(|e| Error::io("read", path, e))?;
    String::from_utf8(bytes)
        .map_err(|_| Error::msg(format!("{} is not UTF-8 text", path.display())))
}
