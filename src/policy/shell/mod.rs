//! Static analysis of Bash commands for the hook: what a command would write and read, and which
//! simple commands it runs. Parsed with a real shell parser (brush-parser), never split on spaces.
//!
//! Found through `&&`, `||`, `;`, `|`, `&`, newlines, subshells, `{ …; }`, `if`/`while`/`for`/
//! `case` bodies, functions, `$(…)`, backticks (also inside `${…}`, `$((…))`, `((…))` and
//! `[[ … ]]`), `<(…)`, `bash -c '…'`, wrappers (`sudo`, `env`,
//! `nice`, `nohup`, `time`, `timeout`, `xargs`, `command`, `exec`, `stdbuf`) and `cd DIR &&`
//! prefixes: redirections (`>`, `>>`, `>|`, `<>`, `&>`, `N>`), `tee`, `cp`, `mv`, `install`, `ln`,
//! `rm`, `rmdir`, `mkdir`, `touch`, `truncate`, `shred`, `unlink`, `chmod`, `chown`, `chgrp`,
//! `dd of=`, `sed -i`, `perl -i`, `rsync`, `curl -o`, `wget -O`.
//!
//! Best effort, and plainly so: it cannot see paths computed at run time (variables, command
//! substitutions, globs, `eval` of built strings), files written by interpreters and programs by
//! themselves (`python -c`, `node -e`, `make`, `git`, package managers, a script written earlier),
//! aliases and functions defined elsewhere, or what `xargs` appends. What it cannot see through is
//! listed in [`Analysis::opaque`].
//!
//! This module walks the parsed syntax tree (lists, pipelines, compound commands, redirections);
//! `words` removes quotes; `commands` dispatches each simple command by its name to the handlers
//! in `reads` and `writes`, and unwraps wrappers.

mod commands;
mod reads;
mod words;
mod writes;

#[cfg(test)]
mod tests;

use brush_parser::ast;

use words::{Expanded, expand, substitutions_in_heredoc};

/// One thing a Bash command writes, creates, deletes or changes the metadata of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteTarget {
    /// The path as the command names it, after quote removal (`~` expanded with the given HOME;
    /// variables left as written).
    pub path: String,
    /// Directories changed into before it (`cd DIR &&` prefixes), in order, as written.
    pub cd: Vec<String>,
    /// What writes it, for messages: `redirection >`, `rm`, `sed -i`, `dd of=`, …
    pub via: String,
}

/// One path a Bash command reads (best effort: the operands of common reading commands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadTarget {
    /// The path as the command names it (as in [`WriteTarget::path`]).
    pub path: String,
    /// Directories changed into before it.
    pub cd: Vec<String>,
    /// What reads it, for messages: `cat`, `grep -r`, `redirection <`, …
    pub via: String,
    /// True if everything below the path is read too (`grep -r`, `find`, `cp -r`, `tar`).
    pub recursive: bool,
}

/// What a Bash command does, as far as static analysis can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Paths it writes.
    pub writes: Vec<WriteTarget>,
    /// Paths it reads.
    pub reads: Vec<ReadTarget>,
    /// Every simple command found, as its words after quote removal (leading assignments
    /// dropped); for wrapped commands (`sudo git push`) both the whole and the inner command.
    pub commands: Vec<Vec<String>>,
    /// What the analysis could not see through, one short description each.
    pub opaque: Vec<String>,
}

/// How deep `bash -c`, `$(…)` and `eval` are followed.
const MAX_DEPTH: usize = 8;

/// Why a command could not be analysed: it is not valid shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellError {
    /// What the parser said.
    reason: String,
}

impl std::fmt::Display for ShellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not valid shell: {}", self.reason)
    }
}

impl std::error::Error for ShellError {}

/// Parses `command` and returns what it writes and runs. `Err` only when it does not parse as
/// shell. Never panics on any input.
pub fn analyze(command: &str, home: Option<&str>) -> Result<Analysis, ShellError> {
    let mut w = Walker {
        home,
        out: Analysis::default(),
        src: String::new(),
    };
    w.program(command, &mut Vec::new(), 0)?;
    Ok(w.out)
}

/// brush-parser's options: `~` is expanded by iw (with the HOME given), not by the parser.
fn options() -> brush_parser::ParserOptions {
    brush_parser::ParserOptions {
        tilde_expansion_at_word_start: false,
        ..Default::default()
    }
}

/// `src` parsed by brush-parser, with a redirection's number read as Bash reads it. Bash takes
/// the digits right before `<` or `>` as the descriptor only when they fit an `int`; a longer
/// number is a word of its own, and the redirection is of the default descriptor (`echo a
/// 99999999999>f` writes `a 99999999999` into `f`). brush-parser 0.4 panics on such a number
/// (it unwraps its conversion to `i32`): the digits are then kept apart from the operator, as
/// Bash keeps them.
fn parse(src: &str) -> Result<ast::Program, brush_parser::ParseError> {
    let whole = || {
        brush_parser::Parser::new(std::io::BufReader::new(src.as_bytes()), &options())
            .parse_program()
    };
    if !long_number_before_redirection(src) {
        return whole();
    }
    let options = options();
    let Ok(mut tokens) = brush_parser::tokenize_str_with_options(src, &options.tokenizer_options())
    else {
        return whole(); // the parser reports the tokenizer's error its own way
    };
    for i in 1..tokens.len() {
        let (before, after) = tokens.split_at_mut(i);
        if let (brush_parser::Token::Word(word, span), brush_parser::Token::Operator(op, op_span)) =
            (&mut before[i - 1], &after[0])
            && op.starts_with(['<', '>'])
            && span.end.index == op_span.start.index
            && !word.is_empty()
            && word.bytes().all(|b| b.is_ascii_digit())
            && word.parse::<i32>().is_err()
        {
            // The parser takes a number as the descriptor only when it ends where the operator
            // starts.
            let mut end = (*span.end).clone();
            end.index -= 1;
            span.end = std::sync::Arc::new(end);
        }
    }
    brush_parser::parse_tokens(&tokens, &options)
}

/// The characters `start..end` of `text` (the parser's positions count characters).
fn char_span(text: &str, start: usize, end: usize) -> Option<&str> {
    let byte = |i: usize| {
        text.char_indices()
            .map(|(b, _)| b)
            .chain([text.len()])
            .nth(i)
    };
    text.get(byte(start)?..byte(end)?)
}

/// True if `src` has ten or more digits right before a `<` or `>` (fewer always fit an `i32`).
fn long_number_before_redirection(src: &str) -> bool {
    let mut digits = 0;
    for b in src.bytes() {
        if (b == b'<' || b == b'>') && digits >= 10 {
            return true;
        }
        digits = if b.is_ascii_digit() { digits + 1 } else { 0 };
    }
    false
}

/// Walks a parsed command, recording what it reads, writes and runs.
struct Walker<'a> {
    /// The home directory, for `~`.
    home: Option<&'a str>,
    /// What was found so far.
    out: Analysis,
    /// The text of the script being walked (for what the parser's tree does not keep).
    src: String,
}

impl Walker<'_> {
    /// Analyses a whole script (`bash -c`, `$(…)` and `eval` included, to [`MAX_DEPTH`]).
    fn program(&mut self, src: &str, cd: &mut Vec<String>, depth: usize) -> Result<(), ShellError> {
        if depth > MAX_DEPTH {
            self.opaque("commands nested too deeply to follow".into());
            return Ok(());
        }
        let program = parse(src).map_err(|e| ShellError {
            reason: e.to_string(),
        })?;
        let outer = std::mem::replace(&mut self.src, src.to_string());
        for c in &program.complete_commands {
            self.list(c, cd, depth);
        }
        self.src = outer;
        Ok(())
    }

    /// Records something the analysis cannot see through (once).
    fn opaque(&mut self, what: String) {
        if !self.out.opaque.contains(&what) {
            self.out.opaque.push(what);
        }
    }

    /// Analyses a nested script (`bash -c`, `$(…)`, `eval`); one that does not parse is opaque.
    fn nested(&mut self, src: &str, cd: &[String], depth: usize) {
        let mut cd = cd.to_vec();
        if let Err(e) = self.program(src, &mut cd, depth + 1) {
            self.opaque(format!("a nested command could not be parsed ({e})"));
        }
    }

    /// `(( … ))`. brush-parser 0.4 also takes `( (…) )` and `((…) )` for one; Bash reads `((` as
    /// arithmetic only when its two opening parentheses touch and so do the two that close it,
    /// and otherwise as nested subshells, whose commands run. The command substitutions of a
    /// real arithmetic command run too.
    fn arithmetic(&mut self, a: &ast::ArithmeticCommand, cd: &[String], depth: usize) {
        let text = char_span(&self.src, a.loc.start.index, a.loc.end.index).map(str::to_string);
        let arithmetic = text
            .as_deref()
            .is_some_and(|t| t.starts_with("((") && t.ends_with("))"));
        if !arithmetic {
            // Subshells (or, should the text not be found, possibly so): what the outer
            // parentheses hold, as a script.
            let inner = match &text {
                Some(t) => t
                    .strip_prefix('(')
                    .and_then(|t| t.strip_suffix(')'))
                    .unwrap_or(t),
                None => &a.expr.value,
            };
            self.nested(inner, cd, depth);
        }
        self.substitutions_in(&a.expr.value, cd, depth);
    }

    /// The command substitutions in `text` (an arithmetic expression), each analysed.
    fn substitutions_in(&mut self, text: &str, cd: &[String], depth: usize) {
        for s in words::substitutions_in(text) {
            self.nested(&s, cd, depth);
        }
    }

    /// A list of commands (`a; b`, a body).
    fn list(&mut self, l: &ast::CompoundList, cd: &mut Vec<String>, depth: usize) {
        for item in &l.0 {
            self.and_or(&item.0, cd, depth);
        }
    }

    /// `a && b || c`: every part may run.
    fn and_or(&mut self, l: &ast::AndOrList, cd: &mut Vec<String>, depth: usize) {
        self.pipeline(&l.first, cd, depth);
        for next in &l.additional {
            match next {
                ast::AndOr::And(p) | ast::AndOr::Or(p) => self.pipeline(p, cd, depth),
            }
        }
    }

    /// `a | b`: every part runs, each in its own subshell.
    fn pipeline(&mut self, p: &ast::Pipeline, cd: &mut Vec<String>, depth: usize) {
        if p.seq.len() == 1 {
            self.command(&p.seq[0], cd, depth);
        } else {
            // Each part of a pipeline runs in its own subshell: a `cd` there does not leak.
            for c in &p.seq {
                self.command(c, &mut cd.clone(), depth);
            }
        }
    }

    /// One command: simple, compound (with its redirections), a function definition or `[[ … ]]`.
    fn command(&mut self, c: &ast::Command, cd: &mut Vec<String>, depth: usize) {
        match c {
            ast::Command::Simple(s) => self.simple(s, cd, depth),
            ast::Command::Compound(cc, redirects) => {
                self.compound(cc, cd, depth);
                if let Some(r) = redirects {
                    for io in &r.0 {
                        self.redirect(io, cd, depth);
                    }
                }
            }
            ast::Command::Function(f) => {
                // The body runs when called: analyse it as if it were.
                self.compound(&f.body.0, &mut cd.clone(), depth);
                if let Some(r) = &f.body.1 {
                    for io in &r.0 {
                        self.redirect(io, cd, depth);
                    }
                }
            }
            ast::Command::ExtendedTest(t, redirects) => {
                self.test_expr(&t.expr, cd, depth);
                if let Some(r) = redirects {
                    for io in &r.0 {
                        self.redirect(io, cd, depth);
                    }
                }
            }
        }
    }

    /// The words of `[[ … ]]`: Bash expands them, running their command substitutions.
    fn test_expr(&mut self, e: &ast::ExtendedTestExpr, cd: &[String], depth: usize) {
        match e {
            ast::ExtendedTestExpr::And(a, b) | ast::ExtendedTestExpr::Or(a, b) => {
                self.test_expr(a, cd, depth);
                self.test_expr(b, cd, depth);
            }
            ast::ExtendedTestExpr::Not(x) | ast::ExtendedTestExpr::Parenthesized(x) => {
                self.test_expr(x, cd, depth)
            }
            ast::ExtendedTestExpr::UnaryTest(_, w) => {
                self.word(&w.value, cd, depth);
            }
            ast::ExtendedTestExpr::BinaryTest(_, a, b) => {
                self.word(&a.value, cd, depth);
                self.word(&b.value, cd, depth);
            }
        }
    }

    /// A compound command's bodies: every branch may run; subshells and branches keep their `cd`.
    fn compound(&mut self, c: &ast::CompoundCommand, cd: &mut Vec<String>, depth: usize) {
        match c {
            ast::CompoundCommand::Arithmetic(a) => self.arithmetic(a, cd, depth),
            ast::CompoundCommand::ArithmeticForClause(f) => {
                let parts = [&f.initializer, &f.condition, &f.updater];
                for e in parts.into_iter().flatten() {
                    self.substitutions_in(&e.value, cd, depth);
                }
                self.list(&f.body.list, cd, depth);
            }
            ast::CompoundCommand::BraceGroup(b) => self.list(&b.list, cd, depth),
            ast::CompoundCommand::Subshell(s) => self.list(&s.list, &mut cd.clone(), depth),
            ast::CompoundCommand::ForClause(f) => {
                for w in f.values.iter().flatten() {
                    self.word(&w.value, cd, depth);
                }
                self.list(&f.body.list, cd, depth);
            }
            ast::CompoundCommand::CaseClause(c) => {
                self.word(&c.value.value, cd, depth);
                for item in &c.cases {
                    if let Some(l) = &item.cmd {
                        self.list(l, &mut cd.clone(), depth);
                    }
                }
            }
            ast::CompoundCommand::IfClause(i) => {
                self.list(&i.condition, cd, depth);
                self.list(&i.then, &mut cd.clone(), depth);
                for e in i.elses.iter().flatten() {
                    if let Some(cond) = &e.condition {
                        self.list(cond, &mut cd.clone(), depth);
                    }
                    self.list(&e.body, &mut cd.clone(), depth);
                }
            }
            ast::CompoundCommand::WhileClause(w) | ast::CompoundCommand::UntilClause(w) => {
                self.list(&w.0, cd, depth);
                self.list(&w.1.list, cd, depth);
            }
            ast::CompoundCommand::Coprocess(c) => self.command(&c.body, &mut cd.clone(), depth),
        }
    }

    /// Expands a word: quote removal, `~`, and its command substitutions analysed.
    fn word(&mut self, raw: &str, cd: &[String], depth: usize) -> Expanded {
        let e = expand(raw, self.home);
        for sub in &e.substitutions {
            self.nested(sub, cd, depth);
        }
        e
    }

    /// Records a write of `target` (devices like `/dev/null` aside).
    fn write(&mut self, target: &Expanded, cd: &[String], via: &str) {
        let path = &target.text;
        if path.is_empty() || is_harmless_device(path) {
            return;
        }
        if target.dynamic {
            self.opaque(format!(
                "the target `{path}` of {via} is only known at run time"
            ));
        }
        self.out.writes.push(WriteTarget {
            path: path.clone(),
            cd: cd.to_vec(),
            via: via.to_string(),
        });
    }

    /// A redirection: the file it writes or reads, and the commands inside it.
    fn redirect(&mut self, io: &ast::IoRedirect, cd: &[String], depth: usize) {
        match io {
            ast::IoRedirect::File(fd, kind, target) => {
                let op = format!("{}{kind}", fd.map(|f| f.to_string()).unwrap_or_default());
                match target {
                    ast::IoFileRedirectTarget::Filename(w) => {
                        let e = self.word(&w.value, cd, depth);
                        if matches!(
                            kind,
                            ast::IoFileRedirectKind::Write
                                | ast::IoFileRedirectKind::Append
                                | ast::IoFileRedirectKind::Clobber
                                | ast::IoFileRedirectKind::ReadAndWrite
                                | ast::IoFileRedirectKind::DuplicateOutput
                        ) {
                            self.write(&e, cd, &format!("redirection {op}"));
                        }
                        if matches!(
                            kind,
                            ast::IoFileRedirectKind::Read | ast::IoFileRedirectKind::ReadAndWrite
                        ) {
                            self.read(&e, cd, &format!("redirection {op}"), false);
                        }
                    }
                    ast::IoFileRedirectTarget::Duplicate(w) => {
                        // `>&file` (not a descriptor number or `-`) writes the file.
                        let e = self.word(&w.value, cd, depth);
                        let is_fd = e.text == "-" || e.text.chars().all(|c| c.is_ascii_digit());
                        if !is_fd && matches!(kind, ast::IoFileRedirectKind::DuplicateOutput) {
                            self.write(&e, cd, &format!("redirection {op}"));
                        }
                    }
                    ast::IoFileRedirectTarget::Fd(_) => {}
                    ast::IoFileRedirectTarget::ProcessSubstitution(_, s) => {
                        self.list(&s.list, &mut cd.to_vec(), depth);
                    }
                }
            }
            ast::IoRedirect::OutputAndError(w, append) => {
                let e = self.word(&w.value, cd, depth);
                self.write(
                    &e,
                    cd,
                    if *append {
                        "redirection &>>"
                    } else {
                        "redirection &>"
                    },
                );
            }
            ast::IoRedirect::HereDocument(_, doc) => {
                if doc.requires_expansion {
                    for sub in substitutions_in_heredoc(&doc.doc.value) {
                        self.nested(&sub, cd, depth);
                    }
                }
            }
            ast::IoRedirect::HereString(_, w) => {
                self.word(&w.value, cd, depth);
            }
        }
    }

    /// A simple command: its words expanded (their substitutions analysed), its redirections,
    /// then the command itself by its words.
    fn simple(&mut self, s: &ast::SimpleCommand, cd: &mut Vec<String>, depth: usize) {
        let items = s
            .prefix
            .iter()
            .flat_map(|p| p.0.iter())
            .map(Some)
            .chain(std::iter::once(None))
            .chain(s.suffix.iter().flat_map(|p| p.0.iter()).map(Some));
        let mut argv: Vec<Expanded> = Vec::new();
        for item in items {
            match item {
                None => {
                    if let Some(w) = &s.word_or_name {
                        let e = self.word(&w.value, cd, depth);
                        argv.push(e);
                    }
                }
                Some(ast::CommandPrefixOrSuffixItem::Word(w)) => {
                    let e = self.word(&w.value, cd, depth);
                    argv.push(e);
                }
                Some(ast::CommandPrefixOrSuffixItem::AssignmentWord(_, w)) => {
                    // `A=$(cmd)` runs cmd; after the command name (e.g. `declare A=…`) it is
                    // an argument.
                    let e = self.word(&w.value, cd, depth);
                    if !argv.is_empty() {
                        argv.push(e);
                    }
                }
                Some(ast::CommandPrefixOrSuffixItem::IoRedirect(io)) => {
                    self.redirect(io, cd, depth)
                }
                Some(ast::CommandPrefixOrSuffixItem::ProcessSubstitution(_, sub)) => {
                    self.list(&sub.list, &mut cd.clone(), depth)
                }
            }
        }
        if argv.is_empty() {
            return;
        }
        self.argv(argv, cd, depth);
    }

    /// Records a read of `target` (stdin and devices aside).
    fn read(&mut self, target: &Expanded, cd: &[String], via: &str, recursive: bool) {
        let path = &target.text;
        if path.is_empty() || path == "-" || is_harmless_device(path) || path == "/dev/stdin" {
            return;
        }
        self.out.reads.push(ReadTarget {
            path: path.clone(),
            cd: cd.to_vec(),
            via: via.to_string(),
            recursive,
        });
    }
}

/// How [`WriteTarget::via`] starts for the source of a hard link (`ln`, `cp -l`, `link`): the
/// existing file the new name will be another name of.
pub const HARD_LINK: &str = "hard link";

/// Devices that are not files in the project.
fn is_harmless_device(path: &str) -> bool {
    matches!(
        path,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty"
    ) || path.starts_with("/dev/fd/")
}
