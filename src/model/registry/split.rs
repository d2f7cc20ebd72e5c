//! Reading a large registry on every core: the `agents:` block is cut between agent entries,
//! each part is parsed on its own, and the parts' agents are joined in file order.
//!
//! A part is the file's own lines, with blank lines and an `agents:` line before them, so every
//! line and column it reports is the file's. The cut is made only where the file itself starts an
//! agent entry (a line `<indent>name:` at the entries' indentation, inside the `agents:` block),
//! so a part that parses means the same as in the whole file; a cut inside anything longer (a
//! quoted string, a flow list, an alias to an anchor of an earlier part) leaves a part that does
//! not parse. Anything short of every part parsing, with each agent's name in one part only,
//! gives `None`, and the caller parses the whole file, which is also what reports errors.

use super::raw::RegistryDoc;

/// From this many bytes on, a registry is read in parts (about 1000 agents).
pub const PARALLEL_FROM_BYTES: usize = 1 << 20;

/// `src` parsed in `parts` parts at once, or `None` when it cannot be (see the module's doc).
pub fn parse(src: &str, parts: usize) -> Option<RegistryDoc> {
    let starts = entry_starts(src)?;
    if parts < 2 || starts.len() < parts * 2 {
        return None;
    }
    let cuts: Vec<(usize, usize)> = (1..parts)
        .map(|i| starts[i * starts.len() / parts])
        .collect();
    parse_cut(src, &cuts)
}

/// `src` parsed in parts cut at `cuts` (byte offset, line number), each an entry's start.
fn parse_cut(src: &str, cuts: &[(usize, usize)]) -> Option<RegistryDoc> {
    let texts = part_texts(src, cuts);
    let docs: Vec<Option<RegistryDoc>> = crate::support::parallel::map_in_order(&texts, 2, |t| {
        serde_saphyr::from_str_with_options(t.as_ref(), crate::model::yaml::options()).ok()
    });
    let mut docs = docs
        .into_iter()
        .collect::<Option<Vec<RegistryDoc>>>()?
        .into_iter();
    let mut first = docs.next()?;
    let agents = &mut first.agents.as_mut()?.value.0;
    let mut names: std::collections::HashSet<String> =
        agents.iter().map(|(k, _)| k.value.clone()).collect();
    for doc in docs {
        if doc.hook_failure.is_some() {
            if first.hook_failure.is_some() {
                return None; // twice in the file: the whole file's parse says so
            }
            first.hook_failure = doc.hook_failure;
        }
        for (k, v) in doc.agents?.value.0 {
            if !names.insert(k.value.clone()) {
                return None; // a duplicate name: likewise
            }
            agents.push((k, v));
        }
    }
    Some(first)
}

/// The texts of the parts: the file up to the first cut, then from each cut to the next behind
/// its line's number of lines (blank, then `agents:`).
fn part_texts<'a>(src: &'a str, cuts: &[(usize, usize)]) -> Vec<std::borrow::Cow<'a, str>> {
    let mut texts = Vec::with_capacity(cuts.len() + 1);
    let mut from = 0;
    let mut from_line: usize = 1;
    for (offset, line) in cuts.iter().copied().chain([(src.len(), 0)]) {
        let body = &src[from..offset];
        texts.push(if from == 0 {
            body.into()
        } else {
            let mut t = "\n".repeat(from_line.saturating_sub(2));
            t.push_str("agents:\n");
            t.push_str(body);
            t.into()
        });
        (from, from_line) = (offset, line);
    }
    texts
}

/// Where each agent entry of the `agents:` block starts after the first: (byte offset, line
/// number from 1). `None` unless the block is written the plain way: `agents:` alone at the start
/// of a line, entries below it at one indentation.
fn entry_starts(src: &str) -> Option<Vec<(usize, usize)>> {
    let mut offset = 0;
    let mut in_block = false;
    let mut indent = None;
    let mut starts = Vec::new();
    for (i, line) in crate::support::lines::inclusive(src).enumerate() {
        let at = offset;
        offset += line.len();
        let text = line.trim_end_matches(['\n', '\r']);
        let content = text.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let depth = text.len() - content.len();
        if depth == 0 {
            if in_block {
                break; // the block ends at the next top-level line
            }
            in_block = is_key_alone(content, "agents");
            continue;
        }
        if !in_block || content.starts_with('\t') {
            continue;
        }
        let n = *indent.get_or_insert(depth);
        if depth == n && is_entry(content) {
            starts.push((at, i + 1));
        }
    }
    // The first entry is the first part's.
    (starts.len() > 1).then(|| starts.split_off(1))
}

/// True for `key:` with nothing after it but spaces and a comment.
fn is_key_alone(content: &str, key: &str) -> bool {
    content
        .strip_prefix(key)
        .and_then(|r| r.strip_prefix(':'))
        .is_some_and(|r| {
            let r = r.trim_start_matches(' ');
            r.is_empty() || r.starts_with('#')
        })
}

/// True for a line that starts a mapping entry with a plain name key: `name:` then the end of the
/// line or a space.
fn is_entry(content: &str) -> bool {
    let key_len = content
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(content.len());
    key_len > 0
        && content.as_bytes()[0].is_ascii_alphanumeric()
        && content[key_len..]
            .strip_prefix(':')
            .is_some_and(|r| r.is_empty() || r.starts_with(' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry as the validator sees it: agents, warnings and errors with their positions.
    fn checked(src: &str, parts: Option<usize>) -> String {
        let doc = match parts {
            Some(n) => parse(src, n).map(Ok),
            None => None,
        }
        .unwrap_or_else(|| serde_saphyr::from_str_with_options(src, crate::model::yaml::options()));
        format!(
            "{:?}",
            doc.map(|d| super::super::validate::check(d, "r.yaml", src))
        )
    }

    fn agent(name: &str, extra: &str) -> String {
        format!(
            "  {name}:\n    name: {name}\n    display_name: \"{name}\"\n    description: Does things\n    model: sonnet\n    tools: [Read, Grep]\n{extra}"
        )
    }

    fn registry(extras: &[(usize, &str)], tail: &str) -> String {
        let mut s = String::from("# a registry\nagents:\n");
        for i in 0..40 {
            let extra = extras.iter().find(|(j, _)| *j == i).map_or("", |(_, e)| e);
            s.push_str(&agent(&format!("a-{i}"), extra));
            if i % 7 == 0 {
                s.push_str("\n  # a comment between entries\n");
            }
        }
        s.push_str(tail);
        s
    }

    #[test]
    fn parts_read_as_the_whole_file_does() {
        let cases = [
            registry(&[], ""),
            registry(&[], "hook_failure: open\n"),
            // Multi-line strings, block scalars, flow lists, quoted keys and an unknown tool
            // (a warning with its position).
            registry(
                &[
                    (
                        3,
                        "    responsibilities:\n    - |\n      line one\n      line two\n",
                    ),
                    (11, "    forbidden: [\"a\",\n      b]\n"),
                    (19, "    persona: \"docs/x\n      y.md\"\n"),
                    (23, "    cannot_access:\n    - secrets/\n    - '*.pem'\n"),
                    (29, "    deny_commands: [\"git push*\"]\n"),
                ],
                "",
            ),
            // Continuation lines at the entries' indentation, as if entries.
            registry(&[(13, "    forbidden: [\"a\",\n  b-x: 1]\n")], ""),
            registry(&[(15, "    forbidden: [\"two\n  lines: here\"]\n")], ""),
            // Errors: a field of the wrong type far into the file, an unknown field, a name that
            // differs from its key.
            registry(&[(33, "    tools: 3\n")], ""),
            registry(&[(31, "    colour: blue\n")], ""),
            registry(&[], "  late:\n    name: other\n"),
            // What only the whole file can judge: a duplicate name in two parts, an alias to an
            // anchor of an earlier part, a second hook_failure, a top-level line in the middle.
            registry(&[], "  a-1:\n    name: a-1\n"),
            registry(
                &[
                    (2, "    cannot_read: &r [x/]\n"),
                    (30, "    cannot_read: *r\n"),
                ],
                "",
            ),
            format!(
                "hook_failure: open\n{}",
                registry(&[], "hook_failure: closed\n")
            ),
            registry(&[(20, "hook_failure: open\n")], ""),
        ];
        for (i, src) in cases.iter().enumerate() {
            let whole = checked(src, None);
            for parts in [2, 3, 5] {
                assert_eq!(checked(src, Some(parts)), whole, "case {i}, {parts} parts");
            }
            // Cut at every place there is to cut.
            for cut in entry_starts(src).unwrap_or_default() {
                let doc = parse_cut(src, &[cut]).map_or_else(
                    || serde_saphyr::from_str_with_options(src, crate::model::yaml::options()),
                    Ok,
                );
                let cut_checked = format!(
                    "{:?}",
                    doc.map(|d| super::super::validate::check(d, "r.yaml", src))
                );
                assert_eq!(cut_checked, whole, "case {i}, cut at line {}", cut.1);
            }
        }
        // The plain cases are read in parts (else the test proves nothing).
        assert!(parse(&cases[0], 3).is_some());
        assert!(parse(&cases[2], 3).is_some());
        // Those only the whole file can judge are not.
        for case in &cases[8..] {
            assert!(parse(case, 2).is_none() || parse(case, 3).is_none());
        }
    }

    #[test]
    fn cuts_only_between_entries_of_the_agents_block() {
        let src = "agents:\n  a:\n    name: a\n  b: {name: b}\n  c:\n    x: |\n  d: 1\n";
        let starts: Vec<usize> = entry_starts(src).unwrap().iter().map(|s| s.1).collect();
        // `b` and `c` start entries; the first entry (`a`) stays in the first part. (The last
        // line ends the block scalar in YAML too: it is at the entries' indentation.)
        assert_eq!(starts, [4, 5, 7]);
        assert!(entry_starts("agents: {a: {name: a}}\n").is_none());
        assert!(entry_starts("other:\n  a: 1\n  b: 2\n").is_none());
        assert!(is_entry("name-1: x") && is_entry("n:") && !is_entry("- x") && !is_entry("'a': x"));
        assert!(!is_entry("? a") && !is_entry("a:b") && !is_entry("\"a\": 1"));
    }
}
