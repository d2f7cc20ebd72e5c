//! YAML helpers shared by the registry and sessions.yaml readers: ordered maps with located
//! keys, serde-saphyr errors turned into diagnostics, and a keys-only scan that finds every
//! unknown field at once.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_saphyr::Spanned;

use crate::model::diagnostics::Collector;
use crate::support::diag::{Diagnostic, Pos, did_you_mean};

/// A YAML mapping read in file order, with the location of every key and value.
#[derive(Debug, Clone)]
pub struct SpannedMap<V>(pub Vec<(Spanned<String>, Spanned<V>)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SpannedMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Pairs<V> {
            type Value = Vec<(Spanned<String>, Spanned<V>)>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = m.next_key::<Spanned<String>>()? {
                    v.push((k, m.next_value()?));
                }
                Ok(v)
            }
        }
        d.deserialize_map(Pairs(PhantomData)).map(SpannedMap)
    }
}

/// Where a spanned value is, as a diagnostic position; `len` is the highlighted width.
pub fn pos_of<T>(s: &Spanned<T>, len: usize) -> Pos {
    Pos {
        line: s.referenced.line() as u32,
        column: s.referenced.column() as u32,
        len: len.max(1) as u32,
    }
}

/// Where a spanned string is, highlighting the whole string.
pub fn spos(s: &Spanned<String>) -> Pos {
    pos_of(s, s.value.chars().count())
}

/// True when `src` holds no YAML content (only blank lines, comments, `---`).
pub fn is_blank(src: &str) -> bool {
    src.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---"
    })
}

/// Converts a serde-saphyr error into a diagnostic pointing into `file`. `fields` are the field
/// names that may appear as keys, used to name the field a type error is about.
pub fn yaml_error(file: &str, src: &str, err: &serde_saphyr::Error, fields: &[&str]) -> Diagnostic {
    let inner = err.without_snippet();
    let mut message = inner.to_string();
    // The plain message ends with " at line L, column C"; the snippet shows that instead.
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    let pos = err.location().map(|l| Pos {
        line: l.line() as u32,
        column: l.column() as u32,
        len: 1,
    });
    let key = pos.and_then(|p| key_on_line(src, p.line));
    let mut help = None;
    if let Some((words, what_to_do)) = in_words(err) {
        message = words;
        help = Some(what_to_do);
    } else {
        match inner {
            serde_saphyr::Error::SerdeUnknownField {
                field, expected, ..
            } => {
                message = format!("unknown field `{field}`");
                help = Some(unknown_field_help(field, expected));
            }
            serde_saphyr::Error::Eof { .. } if src.trim().is_empty() => {
                message = "the file is empty".into();
            }
            _ => {
                let pretty = match message.as_str() {
                    "expected sequence start" => Some("expected a list"),
                    "expected string scalar" => Some("expected a text value"),
                    "expected mapping start" => Some("expected a mapping (`key: value` lines)"),
                    _ => None,
                };
                if let Some(p) = pretty {
                    message = p.to_string();
                    if p == "expected a list" {
                        help = Some("write `[a, b]` or one `- item` per line".into());
                    }
                }
                if message.contains("null") && message.contains("string") {
                    message = "expected a text value, found nothing (null)".into();
                    help = Some("write a value, or quote it (\"\") if empty text is meant".into());
                }
                if let Some(k) = key.filter(|k| fields.contains(&k.as_str())) {
                    message = format!("`{k}`: {message}");
                }
            }
        }
    }
    let mut d = Diagnostic::error(message);
    d = match pos {
        Some(p) => d.at(file, src, p),
        None => d.in_file(file),
    };
    d.help = help.or(d.help);
    d
}

/// The error a YAML error is about, without the snippet or alias location wrapped around it.
fn original(err: &serde_saphyr::Error) -> &serde_saphyr::Error {
    match err {
        serde_saphyr::Error::WithSnippet { error, .. }
        | serde_saphyr::Error::AliasError { error, .. } => original(error),
        other => other,
    }
}

/// Duplicate keys and the limits iw's YAML reader sets against runaway input (alias bombs, deep
/// nesting, huge files), said in words about the user's file, with what to do; `None` for other
/// errors. The parser's own messages for these name its options and Rust types.
fn in_words(err: &serde_saphyr::Error) -> Option<(String, String)> {
    use serde_saphyr::Error as E;
    Some(match original(err) {
        E::DuplicateMappingKey { key, .. } => (
            match key {
                Some(k) => format!("`{k}` appears twice in the same mapping"),
                None => "a key appears twice in the same mapping".into(),
            },
            "keep one of them: keys must be unique, and iw does not guess which one you meant"
                .into(),
        ),
        E::Budget { breach, .. } => budget_in_words(breach),
        E::AliasReplayLimitExceeded { .. } | E::AliasReplayCounterOverflow { .. } => (
            format!(
                "the aliases (`*name`) of the file expand to more than {MAX_ALIAS_EXPANSION} \
                 values in all"
            ),
            aliases_help(),
        ),
        E::AliasExpansionLimitExceeded {
            max_expansions_per_anchor,
            ..
        } => (
            format!(
                "an anchor (`&name`) is expanded by aliases more than {max_expansions_per_anchor} times"
            ),
            aliases_help(),
        ),
        E::AliasReplayStackDepthExceeded { max_depth, .. } => (
            format!("aliases (`*name`) are nested in each other more than {max_depth} levels deep"),
            aliases_help(),
        ),
        E::RecursiveReferencesRequireWeakTypes { .. } => (
            "an alias (`*name`) refers to the list or mapping it is in".into(),
            "write the values out: a value cannot contain itself".into(),
        ),
        E::UnknownAnchor { .. } => (
            "an alias (`*name`) refers to an anchor (`&name`) not defined before it".into(),
            "define the anchor first, or check the spelling of its name".into(),
        ),
        _ => return None,
    })
}

/// A limit of [`options`]'s budget that the file exceeds, in words, with what to do.
fn budget_in_words(breach: &serde_saphyr::budget::BudgetBreach) -> (String, String) {
    use serde_saphyr::budget::BudgetBreach as B;
    let budget = options().budget.unwrap_or_default();
    match breach {
        B::Depth { .. } => (
            format!(
                "lists and mappings are nested more than {} levels deep here",
                budget.max_depth
            ),
            "a registry needs a few levels: check the indentation and the brackets".into(),
        ),
        B::Nodes { .. } | B::Events { .. } => (
            format!("the file holds more than {} values", budget.max_nodes),
            too_large(),
        ),
        B::ScalarBytes { .. } => (
            format!(
                "the file's text values add up to more than {} MiB",
                budget.max_total_scalar_bytes >> 20
            ),
            too_large(),
        ),
        B::InputBytes { .. } => ("the file is larger than iw reads".into(), too_large()),
        B::Documents { .. } => (
            format!(
                "the file holds more than {} YAML documents (`---`)",
                budget.max_documents
            ),
            "the file is one document: remove the `---` separators".into(),
        ),
        B::MergeKeys { .. } => (
            format!(
                "the file uses more than {} merge keys (`<<`)",
                budget.max_merge_keys
            ),
            "write the values out instead of merging them".into(),
        ),
        B::Aliases { .. } => (
            format!(
                "the file uses more than {} aliases (`*name`)",
                budget.max_aliases
            ),
            aliases_help(),
        ),
        B::Anchors { .. } => (
            format!(
                "the file defines more than {} anchors (`&name`)",
                budget.max_anchors
            ),
            aliases_help(),
        ),
        B::AliasAnchorRatio { aliases, anchors } => (
            format!(
                "the file uses {aliases} aliases (`*name`) of only {anchors} anchors (`&name`)"
            ),
            aliases_help(),
        ),
        B::RecordedAnchorEvents { .. } | B::RecordedAnchorBytes { .. } => (
            "anchored values (`&name`) here grow too large with the aliases (`*name`) inside \
             them"
                .into(),
            aliases_help(),
        ),
        B::SequenceUnbalanced => (
            "lists and mappings here close without having been opened".into(),
            "check the brackets and the indentation".into(),
        ),
        _ => (
            "the file exceeds a limit iw sets against runaway input".into(),
            too_large(),
        ),
    }
}

/// What to do about aliases that expand too far.
fn aliases_help() -> String {
    "write the values out, or use fewer anchors (`&name`) and aliases (`*name`) nested in \
     each other; iw refuses YAML whose aliases expand without bound (an \"alias bomb\")"
        .to_string()
}

/// What to do about a file too large.
fn too_large() -> String {
    "check that the file is the one you meant (a runaway generator?); a registry of a \
     hundred thousand agents stays well below this"
        .to_string()
}

/// "did you mean …?" for an unknown field, or the list of known fields.
pub fn unknown_field_help(field: &str, expected: &[&str]) -> String {
    match did_you_mean(field, expected.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("known fields: {}", expected.join(", ")),
    }
}

/// The mapping key written on `line` of `src`, if the line looks like `key: …`.
fn key_on_line(src: &str, line: u32) -> Option<String> {
    let text = src.lines().nth(line.checked_sub(1)? as usize)?;
    let t = text.trim_start().trim_start_matches("- ");
    let (k, _) = t.split_once(':')?;
    let k = k.trim().trim_matches(|c| c == '"' || c == '\'');
    (!k.is_empty() && !k.contains(' ')).then(|| k.to_string())
}

/// The shape of a document whose top level is a mapping with one section (`agents`, `sessions`)
/// mapping names to entries: the fields each level may have.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a> {
    /// Top-level fields.
    pub top: &'a [&'a str],
    /// The section holding named entries.
    pub section: &'a str,
    /// Fields of each entry.
    pub entry: &'a [&'a str],
}

/// Diagnostics for a document serde could not read: every unknown field when that was the cause
/// (found by a second, keys-only pass), else the one YAML error. Unknown entry fields are tagged
/// with the entry's name as the agent.
pub fn structural_errors(
    file: &str,
    src: &str,
    err: &serde_saphyr::Error,
    shape: Shape<'_>,
) -> Vec<Diagnostic> {
    let first = yaml_error(file, src, err, shape.entry);
    if !matches!(
        err.without_snippet(),
        serde_saphyr::Error::SerdeUnknownField { .. }
    ) {
        return vec![first];
    }
    let seed = ScanSeed {
        section: shape.section,
    };
    let scan = match serde_saphyr::with_deserializer_from_str_with_options(src, options(), |d| {
        seed.deserialize(d)
    }) {
        Ok(s) => s,
        Err(e2) => return vec![first, yaml_error(file, src, &e2, shape.entry)],
    };
    let mut c = Collector::new(file, src);
    for k in &scan.top {
        if !shape.top.contains(&k.value.as_str()) {
            c.push(
                Diagnostic::error(format!("unknown field `{}`", k.value))
                    .help(unknown_field_help(&k.value, shape.top)),
                spos(k),
            );
        }
    }
    for (name, keys) in &scan.entries {
        for k in keys {
            if !shape.entry.contains(&k.value.as_str()) {
                c.push(
                    Diagnostic::error(format!("unknown field `{}`", k.value))
                        .agent(&name.value)
                        .help(unknown_field_help(&k.value, shape.entry)),
                    spos(k),
                );
            }
        }
    }
    let mut out = c.into_diagnostics();
    if out.is_empty() {
        out.push(first);
    }
    out
}

/// The keys of a document (values skipped): top-level keys, and the keys of each entry of one
/// section.
#[derive(Debug, Default)]
struct KeyScan {
    top: Vec<Spanned<String>>,
    entries: Vec<(Spanned<String>, Vec<Spanned<String>>)>,
}

struct ScanSeed<'a> {
    section: &'a str,
}

impl<'de> DeserializeSeed<'de> for ScanSeed<'_> {
    type Value = KeyScan;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<KeyScan, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ScanSeed<'_> {
    type Value = KeyScan;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<KeyScan, A::Error> {
        let mut scan = KeyScan::default();
        while let Some(k) = m.next_key::<Spanned<String>>()? {
            if k.value == self.section {
                let entries: SpannedMap<KeysOnly> = m.next_value()?;
                scan.entries = entries.0.into_iter().map(|(n, v)| (n, v.value.0)).collect();
            } else {
                m.next_value::<IgnoredAny>()?;
            }
            scan.top.push(k);
        }
        Ok(scan)
    }
}

/// A mapping's keys, its values skipped.
struct KeysOnly(Vec<Spanned<String>>);

impl<'de> Deserialize<'de> for KeysOnly {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeysOnly;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<KeysOnly, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = m.next_key::<Spanned<String>>()? {
                    m.next_value::<IgnoredAny>()?;
                    v.push(k);
                }
                Ok(KeysOnly(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parser options for iw's YAML files: serde-saphyr's defaults, with node and event budgets
/// raised so that registries of tens of thousands of agents parse (the default 250,000 nodes
/// stop at about 7,000 agents), and alias limits fit for what YAML libraries write: PyYAML's
/// default dump of a generated registry uses a few anchors and tens of thousands of aliases
/// (`&id001` … `*id001`), which the alias/anchor ratio heuristic refuses. Alias bombs are still
/// stopped, by the total of values aliases may expand to ([`MAX_ALIAS_EXPANSION`]), of values
/// anchors may hold ([`MAX_ANCHORED`]), and the other limits against resource-amplifying input.
pub fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: MAX_NODES,
            max_events: 80_000_000,
            max_aliases: 2_000_000,
            enforce_alias_anchor_ratio: false,
            max_recorded_anchor_events: MAX_ANCHORED,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_ALIAS_EXPANSION,
        },
    }
}

/// The most YAML values (scalars, lists, mappings) one file may hold.
pub const MAX_NODES: usize = 20_000_000;
/// The most values anchored lists and mappings (`&name`) may hold, aliases inside them expanded,
/// together (PyYAML's anchors hold a few values each).
pub const MAX_ANCHORED: usize = 200_000;
/// The most values all aliases (`*name`) of one file may expand to, together.
pub const MAX_ALIAS_EXPANSION: usize = 4_000_000;
