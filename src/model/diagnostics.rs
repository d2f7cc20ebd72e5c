//! The one diagnostic collector of iw's file readers (the registry, sessions.yaml): every problem
//! found in a file, in the order found, each pointed at its line and column.
//!
//! Readers report everything at once rather than stopping at the first problem, so validation
//! pushes each diagnostic here and decides at the end ([`Collector::finish`]).

use crate::support::diag::{Diagnostic, LineIndex, Pos, Suggestions};

/// What reading a file gives: the value and its warnings, or every error found followed by the
/// warnings.
pub type Checked<T> = Result<(T, Vec<Diagnostic>), Vec<Diagnostic>>;

/// Diagnostics being collected for one file.
#[derive(Debug)]
pub struct Collector<'a> {
    file: &'a str,
    lines: LineIndex<'a>,
    diags: Vec<Diagnostic>,
    errors: usize,
    /// "Did you mean" suggestions for unknown agent names, within their budget for the file.
    pub suggestions: Suggestions,
}

impl<'a> Collector<'a> {
    /// A collector for `file` (the name shown in diagnostics), whose text is `src`.
    pub fn new(file: &'a str, src: &'a str) -> Self {
        Collector {
            file,
            lines: LineIndex::new(src),
            diags: Vec::new(),
            errors: 0,
            suggestions: Suggestions::default(),
        }
    }

    /// The position of byte `offset` of the file, highlighting `len` characters.
    pub fn pos_at(&self, offset: usize, len: usize) -> Pos {
        self.lines.pos(offset, len)
    }

    /// Records `d`, pointed at `pos` in the file.
    pub fn push(&mut self, d: Diagnostic, pos: Pos) {
        let d = d.at_line(self.file, &self.lines, pos);
        self.record(d);
    }

    /// Records `d` as concerning the file, at no particular position.
    pub fn push_in_file(&mut self, d: Diagnostic) {
        let d = d.in_file(self.file);
        self.record(d);
    }

    fn record(&mut self, d: Diagnostic) {
        self.errors += usize::from(d.is_error());
        self.diags.push(d);
    }

    /// How many errors (not warnings) have been recorded so far.
    pub fn errors(&self) -> usize {
        self.errors
    }

    /// Every diagnostic recorded, in order.
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diags
    }

    /// `value` with the warnings when no error was recorded, else the errors then the warnings.
    pub fn finish<T>(self, value: T) -> Checked<T> {
        let (errors, warnings): (Vec<_>, Vec<_>) =
            self.diags.into_iter().partition(Diagnostic::is_error);
        if errors.is_empty() {
            Ok((value, warnings))
        } else {
            Err(errors.into_iter().chain(warnings).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_come_first_and_each_is_located() {
        let mut c = Collector::new("f.yaml", "a: 1\nb: 2\n");
        c.push(
            Diagnostic::warning("w"),
            Pos {
                line: 1,
                column: 1,
                len: 1,
            },
        );
        c.push(
            Diagnostic::error("e"),
            Pos {
                line: 2,
                column: 4,
                len: 1,
            },
        );
        c.push_in_file(Diagnostic::error("whole file"));
        assert_eq!(c.errors(), 2);
        let d = c.finish(()).unwrap_err();
        let got: Vec<_> = d
            .iter()
            .map(|d| (d.message.as_str(), d.line, d.source_line.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("e", Some(2), Some("b: 2")),
                ("whole file", None, None),
                ("w", Some(1), Some("a: 1")),
            ]
        );
        assert_eq!(d[1].file.as_deref(), Some("f.yaml"));
    }

    #[test]
    fn warnings_alone_let_the_value_through() {
        let mut c = Collector::new("f", "x");
        c.push_in_file(Diagnostic::warning("w"));
        let (v, w) = c.finish(7).unwrap();
        assert_eq!((v, w.len()), (7, 1));
    }
}
