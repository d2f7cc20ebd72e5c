//! Diagnostics: what is wrong, where, and what to do next.
//!
//! Every user-facing failure is a [`Diagnostic`]: what is wrong, where (file:line:col, or agent and
//! field), and what to do next. Validation collects them all before failing;
//! [`Error`](crate::support::Error) carries them
//! to the command line, which renders them as source snippets for people or as JSON for scripts.

use serde::{Deserialize, Serialize};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks the command (exit 1).
    Error,
    /// Reported, but the command goes on.
    Warning,
}

/// A position in a source file, 1-based, with the length of the highlighted text in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// Characters to underline (at least one is shown).
    pub len: u32,
}

/// One problem found in the user's input or environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file it is in, as shown to the user (relative to the project root when inside it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line in `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column in `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The agent concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The registry field concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The text of the offending line, for the snippet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
    /// Characters to underline on `source_line`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub span_len: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Diagnostic {
    /// A new error diagnostic with just a message.
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            file: None,
            line: None,
            column: None,
            agent: None,
            field: None,
            help: None,
            source_line: None,
            span_len: 1,
        }
    }

    /// A new warning diagnostic with just a message.
    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    /// Points the diagnostic at `pos` in `file`, whose full text is `source`. Finding the line
    /// reads `source` up to it: to point many diagnostics into one file, use [`Self::at_line`].
    pub fn at(self, file: &str, source: &str, pos: Pos) -> Self {
        let text = pos
            .line
            .checked_sub(1)
            .and_then(|n| source.lines().nth(n as usize));
        self.at_text(file, text, pos)
    }

    /// Points the diagnostic at `pos` in `file`, whose lines `index` knows.
    pub fn at_line(self, file: &str, index: &LineIndex<'_>, pos: Pos) -> Self {
        self.at_text(file, index.line(pos.line), pos)
    }

    fn at_text(mut self, file: &str, text: Option<&str>, pos: Pos) -> Self {
        self.file = Some(file.to_string());
        if pos.line > 0 {
            self.line = Some(pos.line);
            self.column = Some(pos.column.max(1));
            self.source_line = text.map(str::to_string);
            self.span_len = pos.len.max(1);
        }
        self
    }

    /// Names the file without a position.
    pub fn in_file(mut self, file: &str) -> Self {
        self.file = Some(file.to_string());
        self
    }

    /// Names the agent concerned.
    pub fn agent(mut self, agent: &str) -> Self {
        self.agent = Some(agent.to_string());
        self
    }

    /// Names the field concerned.
    pub fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }

    /// Adds advice on what to do.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// True for errors, false for warnings.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The message prefixed with the agent and field it concerns, e.g. "agent `a`, field `model`: …".
    pub fn headline(&self) -> String {
        let mut s = String::new();
        if let Some(agent) = &self.agent {
            s.push_str(&format!("agent `{agent}`"));
        }
        if let Some(field) = &self.field {
            if s.is_empty() {
                s.push_str(&format!("field `{field}`"));
            } else {
                s.push_str(&format!(", field `{field}`"));
            }
        }
        if s.is_empty() {
            self.message.clone()
        } else {
            format!("{s}: {}", self.message)
        }
    }

    /// Renders the diagnostic for a terminal, with a source snippet when the line is known.
    pub fn render(&self, color: bool) -> String {
        use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let headline = self.headline();
        let location = match (&self.file, self.line, self.column) {
            (Some(f), Some(l), Some(c)) => Some(format!("{f}:{l}:{c}")),
            (Some(f), _, _) => Some(f.clone()),
            _ => None,
        };
        let mut out = match (&self.source_line, &self.file, self.line, self.column) {
            (Some(text), Some(file), Some(line), Some(col)) => {
                let start = char_to_byte(text, col as usize - 1);
                let end = char_to_byte(text, col as usize - 1 + self.span_len as usize).max(start);
                let snippet = Snippet::source(text.as_str())
                    .line_start(line as usize)
                    .path(file.as_str())
                    .annotation(AnnotationKind::Primary.span(start..end));
                let mut report = vec![level.primary_title(headline.as_str()).element(snippet)];
                if let Some(help) = &self.help {
                    report.push(Group::with_title(
                        Level::HELP.secondary_title(help.as_str()),
                    ));
                }
                renderer.render(&report)
            }
            _ => {
                // No source line: a compact two-line form (annotate-snippets would add a stray
                // gutter line here).
                let (label, label_style) = match self.severity {
                    Severity::Error => ("error", console::Style::new().red().bold()),
                    Severity::Warning => ("warning", console::Style::new().yellow().bold()),
                };
                let bold = console::Style::new().bold().force_styling(color);
                let mut s = format!(
                    "{}{} ",
                    label_style.force_styling(color).apply_to(label),
                    bold.apply_to(":")
                );
                if let Some(loc) = &location {
                    s.push_str(&format!("{loc}: "));
                }
                s.push_str(&bold.apply_to(&headline).to_string());
                if let Some(help) = &self.help {
                    let help_style = console::Style::new().cyan().bold().force_styling(color);
                    s.push_str(&format!("\n{}: {help}", help_style.apply_to("help")));
                }
                s
            }
        };
        out.push('\n');
        out
    }
}

/// Where each line of a text starts, so that any number of diagnostics can point into one file
/// in time linear in their number. Found when first asked: a valid file (a 10 000-agent registry
/// is 13 MB) is not indexed at all.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    src: &'a str,
    starts: std::sync::OnceLock<Vec<usize>>,
}

impl<'a> LineIndex<'a> {
    /// Indexes the lines of `src` (when first asked).
    pub fn new(src: &'a str) -> Self {
        LineIndex {
            src,
            starts: std::sync::OnceLock::new(),
        }
    }

    /// The byte offset where each line starts.
    fn starts(&self) -> &[usize] {
        self.starts.get_or_init(|| {
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', self.src.as_bytes()).map(|i| i + 1))
                .collect()
        })
    }

    /// The 1-based line and column (in characters) of byte `offset`, highlighting `len`
    /// characters.
    pub fn pos(&self, offset: usize, len: usize) -> Pos {
        let starts = self.starts();
        let i = starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = starts[i];
        let column = self.src.get(start..offset).map_or(0, |t| t.chars().count());
        Pos {
            line: i as u32 + 1,
            column: column as u32 + 1,
            len: len as u32,
        }
    }

    /// Line `n` (1-based) without its line ending, as [`str::lines`] gives it.
    pub fn line(&self, n: u32) -> Option<&'a str> {
        let i = n.checked_sub(1)? as usize;
        let starts = self.starts();
        let start = *starts.get(i)?;
        if start == self.src.len() {
            return None; // an empty text, or after the last line ending
        }
        let end = starts.get(i + 1).map_or(self.src.len(), |e| e - 1);
        let line = &self.src[start..end];
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

/// Byte offset of the `n`th character of `s` (or `s.len()` past the end).
fn char_to_byte(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map(|(i, _)| i).unwrap_or(s.len())
}

/// The help for an unknown agent name: a "did you mean" suggestion, else the known names.
pub fn agent_help<'a>(name: &str, known: impl ExactSizeIterator<Item = &'a str> + Clone) -> String {
    match did_you_mean(name, known.clone()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => known_names("known agents", known),
    }
}

/// At most this many names are listed in a help text.
pub const MAX_LISTED: usize = 30;

/// `"<label>: a, b, c"`, at most [`MAX_LISTED`] names, then how many there are in all.
pub fn known_names<'a>(label: &str, names: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = names.len();
    let shown: Vec<&str> = names.take(MAX_LISTED).collect();
    if total > shown.len() {
        format!("{label}: {}, … ({total} in all)", shown.join(", "))
    } else {
        format!("{label}: {}", shown.join(", "))
    }
}

/// Suggestions for unknown agent names in one file: "did you mean" costs a comparison with every
/// name, so after [`Suggestions::BUDGET`] of them only the (capped) list of names is given, and
/// a file with any number of unknown names is checked in time linear in its size.
#[derive(Debug)]
pub struct Suggestions {
    left: usize,
}

impl Default for Suggestions {
    fn default() -> Self {
        Suggestions { left: Self::BUDGET }
    }
}

impl Suggestions {
    /// How many unknown names get a "did you mean".
    pub const BUDGET: usize = 100;

    /// The help for the unknown agent `name`; `label` introduces the list of `known` names.
    pub fn agent<'a>(
        &mut self,
        name: &str,
        label: &str,
        known: impl ExactSizeIterator<Item = &'a str> + Clone,
    ) -> String {
        if self.left > 0 {
            self.left -= 1;
            if let Some(s) = did_you_mean(name, known.clone()) {
                return format!("did you mean `{s}`?");
            }
        }
        known_names(label, known)
    }
}

/// The best suggestion for a misspelled `word` among `candidates`, if one is close enough.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_plain_has_location_snippet_and_help() {
        let src = "agents:\n  a:\n    modle: opus\n";
        let d = Diagnostic::error("unknown field `modle`")
            .at(
                "agents/registry.yaml",
                src,
                Pos {
                    line: 3,
                    column: 5,
                    len: 5,
                },
            )
            .agent("a")
            .help("did you mean `model`?");
        let out = d.render(false);
        assert!(out.contains("agents/registry.yaml:3:5"), "{out}");
        assert!(out.contains("modle: opus"), "{out}");
        assert!(out.contains("^^^^^"), "{out}");
        assert!(out.contains("did you mean `model`?"), "{out}");
        assert!(out.contains("agent `a`: unknown field"), "{out}");
    }

    #[test]
    fn the_line_index_finds_the_lines_str_lines_does() {
        for src in ["", "a", "a\n", "a\nb", "a\r\nb\r\n\nc", "\n\n", "é\nü x\n"] {
            let index = LineIndex::new(src);
            for n in 0..6u32 {
                let want = n.checked_sub(1).and_then(|i| src.lines().nth(i as usize));
                assert_eq!(index.line(n), want, "{src:?} line {n}");
            }
            for (offset, _) in src.char_indices() {
                let before = &src[..offset];
                let line = before.matches('\n').count() as u32 + 1;
                let col = before[before.rfind('\n').map_or(0, |p| p + 1)..]
                    .chars()
                    .count() as u32
                    + 1;
                let p = index.pos(offset, 1);
                assert_eq!((p.line, p.column), (line, col), "{src:?} at {offset}");
            }
        }
    }

    #[test]
    fn suggestions_are_close_matches_only() {
        let fields = ["name", "display_name", "delegates_to", "model"];
        assert_eq!(did_you_mean("delegate_to", fields), Some("delegates_to"));
        assert_eq!(did_you_mean("modle", fields), Some("model"));
        assert_eq!(did_you_mean("zzzzzz", fields), None);
    }
}
