//! Shell words after quote removal: their literal text, `~` expanded with the given HOME,
//! whether their value is only known at run time, and the command substitutions inside them.

use brush_parser::word::{WordPiece, WordPieceWithSource};

use super::options;

/// A word after quote removal.
#[derive(Debug, Clone, Default)]
pub(super) struct Expanded {
    /// The literal text (parameters kept as `$NAME`).
    pub(super) text: String,
    /// True if its value is only known at run time.
    pub(super) dynamic: bool,
    /// Command substitutions inside it, to analyse.
    pub(super) substitutions: Vec<String>,
}

/// Quote removal and `~` expansion of one word; parameter expansions are kept as written and
/// mark the word dynamic; command substitutions are returned for analysis.
pub(super) fn expand(raw: &str, home: Option<&str>) -> Expanded {
    let mut e = Expanded::default();
    match brush_parser::word::parse(raw, &options()) {
        Ok(pieces) => pieces_into(&pieces, raw, home, &mut e, true),
        Err(_) => {
            e.text = raw.to_string();
            e.dynamic = true;
        }
    }
    e
}

fn pieces_into(
    pieces: &[WordPieceWithSource],
    raw: &str,
    home: Option<&str>,
    e: &mut Expanded,
    top: bool,
) {
    for (i, p) in pieces.iter().enumerate() {
        let src = raw.get(p.start_index..p.end_index).unwrap_or("");
        match &p.piece {
            WordPiece::Text(t) => {
                // An unquoted `~` or `~/…` at the very start is the home directory.
                if top && i == 0 && e.text.is_empty() && (t == "~" || t.starts_with("~/")) {
                    match home {
                        Some(h) => {
                            e.text.push_str(h);
                            e.text.push_str(&t[1..]);
                        }
                        None => {
                            e.text.push_str(t);
                            e.dynamic = true;
                        }
                    }
                } else {
                    e.text.push_str(t)
                }
            }
            WordPiece::SingleQuotedText(t) | WordPiece::AnsiCQuotedText(t) => e.text.push_str(t),
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                pieces_into(inner, raw, home, e, false)
            }
            WordPiece::TildeExpansion(_) => match home {
                Some(h) if src == "~" || src.is_empty() => e.text.push_str(h),
                _ => {
                    e.text.push_str(src);
                    e.dynamic = true;
                }
            },
            WordPiece::EscapeSequence(s) => {
                e.text.push_str(s.strip_prefix('\\').unwrap_or(s));
            }
            WordPiece::ParameterExpansion(_) | WordPiece::ArithmeticExpression(_) => {
                e.text.push_str(src);
                e.dynamic = true;
                expansion_substitutions(src, &mut e.substitutions);
            }
            WordPiece::CommandSubstitution(c) | WordPiece::BackquotedCommandSubstitution(c) => {
                e.text.push_str(src);
                e.dynamic = true;
                e.substitutions.push(c.clone());
            }
        }
    }
}

/// Command substitutions in an unquoted here-document body.
pub(super) fn substitutions_in_heredoc(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(pieces) = brush_parser::word::parse_heredoc(body, &options()) {
        collect_substitutions(&pieces, body, &mut out);
    }
    out
}

/// Command substitutions in `text` read as a word (an arithmetic expression, say).
pub(super) fn substitutions_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(pieces) = brush_parser::word::parse(text, &options()) {
        collect_substitutions(&pieces, text, &mut out);
    }
    out
}

/// The command substitutions inside a `${…}` or `$((…))` (`${x:-$(cmd)}`, `$(( $(cmd) + 1 ))`):
/// Bash runs them when it expands the word.
fn expansion_substitutions(src: &str, out: &mut Vec<String>) {
    let inner = src
        .strip_prefix("$((")
        .and_then(|s| s.strip_suffix("))"))
        .or_else(|| src.strip_prefix("${").and_then(|s| s.strip_suffix('}')));
    if let Some(inner) = inner
        && (inner.contains("$(") || inner.contains('`'))
    {
        out.extend(substitutions_in(inner));
    }
}

fn collect_substitutions(pieces: &[WordPieceWithSource], raw: &str, out: &mut Vec<String>) {
    for p in pieces {
        match &p.piece {
            WordPiece::CommandSubstitution(c) | WordPiece::BackquotedCommandSubstitution(c) => {
                out.push(c.clone())
            }
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                collect_substitutions(inner, raw, out)
            }
            WordPiece::ParameterExpansion(_) | WordPiece::ArithmeticExpression(_) => {
                expansion_substitutions(raw.get(p.start_index..p.end_index).unwrap_or(""), out)
            }
            _ => {}
        }
    }
}
