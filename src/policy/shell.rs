//! Static analysis of Bash commands for the hook: what a command would write and read, and which
//! simple commands it runs. Parsed with a real shell parser (brush-parser), never split on spaces.
//!
//! Found through `&&`, `||`, `;`, `|`, `&`, newlines, subshells, `{ …; }`, `if`/`while`/`for`/
//! `case` bodies, functions, `$(…)`, backticks, `<(…)`, `bash -c '…'`, wrappers (`sudo`, `env`,
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

use brush_parser::ast;
use brush_parser::word::{WordPiece, WordPieceWithSource};

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

/// Walks a parsed command, recording what it reads, writes and runs.
struct Walker<'a> {
    /// The home directory, for `~`.
    home: Option<&'a str>,
    /// What was found so far.
    out: Analysis,
}

impl Walker<'_> {
    /// Analyses a whole script (`bash -c`, `$(…)` and `eval` included, to [`MAX_DEPTH`]).
    fn program(&mut self, src: &str, cd: &mut Vec<String>, depth: usize) -> Result<(), ShellError> {
        if depth > MAX_DEPTH {
            self.opaque("commands nested too deeply to follow".into());
            return Ok(());
        }
        let mut parser =
            brush_parser::Parser::new(std::io::BufReader::new(src.as_bytes()), &options());
        let program = parser.parse_program().map_err(|e| ShellError {
            reason: e.to_string(),
        })?;
        for c in &program.complete_commands {
            self.list(c, cd, depth);
        }
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
            ast::Command::ExtendedTest(_, redirects) => {
                if let Some(r) = redirects {
                    for io in &r.0 {
                        self.redirect(io, cd, depth);
                    }
                }
            }
        }
    }

    /// A compound command's bodies: every branch may run; subshells and branches keep their `cd`.
    fn compound(&mut self, c: &ast::CompoundCommand, cd: &mut Vec<String>, depth: usize) {
        match c {
            ast::CompoundCommand::Arithmetic(_) => {}
            ast::CompoundCommand::ArithmeticForClause(f) => self.list(&f.body.list, cd, depth),
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

// ---------------------------------------------------------------------------------------------
// Commands, by name: what each reads, writes or runs.

/// One simple command, after its wrappers: what the handlers of [`reader`] and [`writer`] see.
struct Call<'c> {
    /// The command's name without its directory (`rm` for `/bin/rm`).
    name: &'c str,
    /// Its arguments.
    rest: &'c [Expanded],
    /// The directories changed into before it (a wrapper's `env -C DIR` included).
    cd: &'c [String],
    /// How deeply it is nested in `bash -c`, `$(…)` and `eval`.
    depth: usize,
}

/// What one kind of command does, recorded into the walker.
type Handler<'a> = fn(&mut Walker<'a>, &Call<'_>);

/// The handler of the paths the command `name` reads, if it is a common reading command.
fn reader<'a>(name: &str) -> Option<Handler<'a>> {
    Some(match name {
        "cat" | "tac" | "nl" | "head" | "tail" | "less" | "more" | "most" | "bat" | "batcat"
        | "wc" | "sort" | "uniq" | "cut" | "paste" | "od" | "xxd" | "hexdump" | "hd"
        | "strings" | "base64" | "base32" | "basenc" | "md5sum" | "sha1sum" | "sha224sum"
        | "sha256sum" | "sha384sum" | "sha512sum" | "b2sum" | "cksum" | "sum" | "diff" | "cmp"
        | "comm" | "fold" | "fmt" | "column" | "rev" | "iconv" | "zcat" | "bzcat" | "xzcat"
        | "zstdcat" | "zless" | "zmore" | "expand" | "unexpand" | "pr" | "shuf" | "tsort"
        | "file" | "split" | "csplit" | "look" => Walker::read_operands,
        "ls" | "tree" => Walker::list_dirs,
        "grep" | "egrep" | "fgrep" | "zgrep" | "rg" | "ag" | "ack" | "git-grep" => Walker::search,
        "sed" | "awk" | "gawk" | "mawk" | "nawk" | "jq" | "yq" | "perl" => Walker::run_program,
        "cp" | "mv" | "rsync" | "scp" | "install" => Walker::copy_sources,
        "tar" | "zip" | "7z" | "cpio" => Walker::archive,
        "find" => Walker::find,
        "dd" => Walker::dd_input,
        "source" | "." => Walker::source_file,
        _ => return None,
    })
}

/// The handler of what the command `name` writes or runs, if iw knows it (`cd` aside: it changes
/// where the next commands run).
fn writer<'a>(name: &str) -> Option<Handler<'a>> {
    Some(match name {
        "bash" | "sh" | "dash" | "zsh" | "ksh" => Walker::shell,
        "eval" => Walker::eval,
        "source" | "." => Walker::source,
        "tee" => Walker::tee,
        "cp" | "mv" | "install" | "ln" => Walker::copy_or_link,
        "link" => Walker::link,
        "rm" | "rmdir" | "mkdir" | "touch" | "unlink" | "shred" => Walker::every_operand,
        "truncate" => Walker::truncate,
        "chmod" | "chown" | "chgrp" => Walker::change_mode,
        "dd" => Walker::dd_output,
        "sed" | "perl" => Walker::in_place,
        "rsync" | "scp" => Walker::remote_copy,
        "curl" | "wget" => Walker::download,
        "python" | "python3" | "node" | "ruby" | "php" | "deno" | "bun" => Walker::interpreter,
        _ => return None,
    })
}

impl Walker<'_> {
    /// Analyses one command by its words: records it (and the command inside its wrappers), then
    /// what it reads and what it writes or runs, each by the handler for its name.
    fn argv(&mut self, argv: Vec<Expanded>, cd: &mut Vec<String>, depth: usize) {
        let words: Vec<String> = argv.iter().map(|e| e.text.clone()).collect();
        self.out.commands.push(words.clone());
        let (start, chdir) = unwrap_wrappers(&words);
        if start > 0 {
            if start >= words.len() {
                return;
            }
            self.out.commands.push(words[start..].to_vec());
            if words[..start].iter().any(|w| base(w) == "xargs") {
                self.opaque("`xargs` adds arguments at run time".into());
            }
        }
        let mut cd_here = cd.clone();
        if let Some(d) = chdir {
            cd_here.push(d);
        }
        let args = &argv[start..];
        let call = Call {
            name: base(&args[0].text),
            rest: &args[1..],
            cd: &cd_here,
            depth,
        };
        if let Some(reads) = reader(call.name) {
            reads(self, &call);
        }
        if matches!(call.name, "cd" | "pushd") {
            self.change_dir(call.rest, cd);
        } else if let Some(effects) = writer(call.name) {
            effects(self, &call);
        }
    }

    /// `cd DIR` / `pushd DIR`: the commands after it run in DIR (`cd` alone: in `~`).
    fn change_dir(&mut self, rest: &[Expanded], cd: &mut Vec<String>) {
        match rest
            .iter()
            .find(|a| !a.text.starts_with('-') || a.text == "-")
        {
            None => cd.push("~".into()),
            Some(a) if a.text == "-" || a.dynamic => {
                self.opaque("`cd` to a directory only known at run time".into());
            }
            Some(a) => cd.push(a.text.clone()),
        }
    }

    // Commands that run others (the rest of `writer`'s handlers are further down).

    /// `bash -c SCRIPT` (and other shells): the script is analysed; a script file cannot be.
    fn shell(&mut self, c: &Call) {
        if let Some(i) = c
            .rest
            .iter()
            .position(|a| is_short_cluster_with(&a.text, 'c'))
        {
            if let Some(script) = c.rest.get(i + 1) {
                self.nested(&script.text, c.cd, c.depth);
            }
        } else if c.rest.iter().any(|a| !a.text.starts_with('-')) {
            self.opaque(format!("`{}` runs a script file iw cannot see", c.name));
        }
    }

    /// `eval WORDS`: the words, joined, are analysed as a command.
    fn eval(&mut self, c: &Call) {
        let joined: Vec<&str> = c.rest.iter().map(|a| a.text.as_str()).collect();
        self.opaque("`eval` runs a string built at run time".into());
        self.nested(&joined.join(" "), c.cd, c.depth);
    }

    /// `source FILE`: runs a file iw cannot see.
    fn source(&mut self, _: &Call) {
        self.opaque("`source` runs a file iw cannot see".into());
    }

    /// Interpreters (`python`, `node`, …): write files iw cannot see.
    fn interpreter(&mut self, c: &Call) {
        self.opaque(format!("`{}` can write files iw cannot see", c.name));
    }
}

/// True if `rest` (a command's arguments, before `--`) has the short option `short` (alone or in
/// a cluster like `-sf`) or one of the `long` options.
fn has_flag(rest: &[Expanded], short: char, long: &[&str]) -> bool {
    rest.iter()
        .map(|a| a.text.as_str())
        .take_while(|t| *t != "--")
        .any(|t| {
            long.contains(&t)
                || (t.len() > 1
                    && t.starts_with('-')
                    && !t.starts_with("--")
                    && t[1..].chars().all(|c| c.is_ascii_alphabetic())
                    && t[1..].contains(short))
        })
}

/// The last path component of a command name (`/usr/bin/rm` → `rm`).
fn base(cmd: &str) -> &str {
    cmd.rsplit('/').next().unwrap_or(cmd)
}

/// True if `a` is a short option cluster like `-c` or `-ec` containing `opt`.
fn is_short_cluster_with(a: &str, opt: char) -> bool {
    a.len() > 1
        && a.starts_with('-')
        && !a.starts_with("--")
        && a[1..].chars().all(|c| c.is_ascii_alphabetic())
        && a[1..].contains(opt)
}

/// Operands (non-options) of a command; `with_arg` options consume the next word (unless given
/// as `--opt=value` or `-ovalue`); `--` ends options.
fn operands<'e>(rest: &'e [Expanded], with_arg: &[&str]) -> Vec<&'e Expanded> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut done = false;
    while i < rest.len() {
        let t = rest[i].text.as_str();
        if done || !t.starts_with('-') || t == "-" {
            out.push(&rest[i]);
        } else if t == "--" {
            done = true;
        } else if with_arg.contains(&t) {
            i += 1;
        }
        i += 1;
    }
    out
}

/// The value of the first of `names` given as an option (`-t DIR`, `-tDIR`, `--name=DIR`,
/// `--name DIR`).
fn option_value(rest: &[Expanded], names: &[&str]) -> Option<Expanded> {
    for (i, a) in rest.iter().enumerate() {
        let t = a.text.as_str();
        if t == "--" {
            return None;
        }
        for n in names {
            if t == *n {
                return rest.get(i + 1).cloned();
            }
            if n.starts_with("--") {
                if let Some(v) = t.strip_prefix(n).and_then(|v| v.strip_prefix('=')) {
                    return Some(Expanded {
                        text: v.to_string(),
                        ..a.clone()
                    });
                }
            } else if let Some(v) = t.strip_prefix(n)
                && !v.is_empty()
            {
                return Some(Expanded {
                    text: v.to_string(),
                    ..a.clone()
                });
            }
        }
    }
    None
}

/// Skips wrapper commands (`sudo`, `env A=b`, `nice -n 5`, `timeout 10`, `xargs -0`, …). Returns
/// the index of the real command and a directory the wrapper changes into (`env -C DIR`).
fn unwrap_wrappers(words: &[String]) -> (usize, Option<String>) {
    let mut i = 0;
    let mut chdir = None;
    // Leading assignments never reach here (the parser keeps them apart), but `env` adds more.
    while i < words.len() {
        let name = base(&words[i]);
        let with_arg: &[&str] = match name {
            "sudo" | "doas" => &[
                "-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "--user", "--group",
                "--chdir",
            ],
            "env" => &["-u", "--unset", "-C", "--chdir", "-S", "--split-string"],
            "nice" => &["-n", "--adjustment"],
            "ionice" => &["-c", "-n", "-p", "-t"],
            "timeout" => &["-s", "--signal", "-k", "--kill-after"],
            "xargs" => &[
                "-I",
                "-i",
                "-n",
                "-P",
                "-d",
                "-a",
                "-E",
                "-L",
                "-s",
                "--max-args",
                "--max-procs",
                "--delimiter",
                "--arg-file",
                "--replace",
            ],
            "stdbuf" => &["-i", "-o", "-e"],
            "exec" => &["-a"],
            "time" | "nohup" | "command" | "builtin" | "unbuffer" => &[],
            _ => break,
        };
        if name == "command" && words.get(i + 1).is_some_and(|w| w == "-v" || w == "-V") {
            return (words.len(), None); // only looks a command up
        }
        i += 1;
        while i < words.len() {
            let w = words[i].as_str();
            if w == "--" {
                i += 1;
                break;
            }
            if name == "env" && w.contains('=') && !w.starts_with('-') {
                i += 1;
                continue;
            }
            if !w.starts_with('-') || w == "-" {
                break;
            }
            if with_arg.contains(&w) {
                if (name == "env" && (w == "-C" || w == "--chdir"))
                    || (matches!(name, "sudo" | "doas") && (w == "-D" || w == "--chdir"))
                {
                    chdir = words.get(i + 1).cloned();
                }
                i += 1;
            }
            i += 1;
        }
        if name == "timeout" && i < words.len() {
            i += 1; // the duration
        }
    }
    (i, chdir)
}

// What commands read: the operands of common reading commands (all of them, so an option's
// value may be taken for a path, which only ever denies more), without the pattern or program of
// `grep`, `sed`, `awk` and `jq`; sources of copies and archives.

/// The current directory, as an operand.
fn here() -> Expanded {
    Expanded {
        text: ".".into(),
        ..Default::default()
    }
}

impl Walker<'_> {
    /// `cat`, `head`, `wc`, `diff`, …: every operand.
    fn read_operands(&mut self, c: &Call) {
        for a in operands(c.rest, &["-o", "--output"]) {
            self.read(a, c.cd, c.name, false);
        }
    }

    /// `ls`, `tree`: every operand (and below it, for `tree` and `ls -R`).
    fn list_dirs(&mut self, c: &Call) {
        let recursive = c.name == "tree"
            || has_flag(c.rest, 'R', &[])
            || has_flag(c.rest, 'R', &["--recursive"]);
        for a in operands(c.rest, &["-I", "-w", "--width", "--ignore", "-T"]) {
            self.read(a, c.cd, c.name, recursive);
        }
    }

    /// `grep`, `rg`, …: a pattern file, and the files (or, recursive, the directories) searched
    /// (the cwd when none is named).
    fn search(&mut self, c: &Call) {
        let (name, rest, cd) = (c.name, c.rest, c.cd);
        let short = |f: char| has_flag(rest, f, &[]);
        let with_arg = [
            "-e",
            "--regexp",
            "-f",
            "--file",
            "-m",
            "--max-count",
            "-A",
            "-B",
            "-C",
            "--context",
            "--include",
            "--exclude",
            "--exclude-dir",
            "--label",
            "-d",
            "-D",
            "-g",
            "--glob",
            "-t",
            "--type",
            "-T",
            "--type-not",
        ];
        let pattern_given = rest.iter().any(|a| {
            matches!(a.text.as_str(), "-e" | "--regexp" | "-f" | "--file")
                || a.text.starts_with("--regexp=")
                || a.text.starts_with("--file=")
        });
        if let Some(f) = option_value(rest, &["-f", "--file"]) {
            self.read(&f, cd, name, false);
        }
        let recursive = matches!(name, "rg" | "ag" | "ack")
            || short('r')
            || short('R')
            || has_flag(rest, 'r', &["--recursive", "--dereference-recursive"]);
        let ops = operands(rest, &with_arg);
        let files = &ops[usize::from(!pattern_given).min(ops.len())..];
        let via = if recursive && !matches!(name, "rg" | "ag" | "ack") {
            format!("{name} -r")
        } else {
            name.to_string()
        };
        if files.is_empty() && recursive {
            self.read(&here(), cd, &via, true);
        }
        for a in files {
            self.read(a, cd, &via, recursive);
        }
    }

    /// `sed`, `awk`, `jq`, `perl`, …: a program file, and the files after the program.
    fn run_program(&mut self, c: &Call) {
        let (name, rest, cd) = (c.name, c.rest, c.cd);
        let with_arg = [
            "-e",
            "--expression",
            "-f",
            "--file",
            "--from-file",
            "-v",
            "--assign",
            "-F",
            "--field-separator",
            "-l",
            "--arg",
            "--argjson",
            "--indent",
        ];
        let program_given = rest.iter().any(|a| {
            matches!(
                a.text.as_str(),
                "-e" | "--expression" | "-f" | "--file" | "--from-file"
            ) || a.text.starts_with("--expression=")
                || a.text.starts_with("--file=")
                || (name != "perl" && a.text.starts_with("-e") && a.text.len() > 2)
        });
        if let Some(f) = option_value(rest, &["-f", "--file", "--from-file"]) {
            self.read(&f, cd, name, false);
        }
        let ops = operands(rest, &with_arg);
        for a in &ops[usize::from(!program_given).min(ops.len())..] {
            self.read(a, cd, name, false);
        }
    }

    /// `cp`, `mv`, `rsync`, `scp`, `install`: the local sources (and below them, when recursive).
    fn copy_sources(&mut self, c: &Call) {
        let (name, rest) = (c.name, c.rest);
        let short = |f: char| has_flag(rest, f, &[]);
        let recursive = name != "install"
            && (name == "mv"
                || short('r')
                || short('R')
                || short('a')
                || has_flag(rest, 'r', &["--recursive", "--archive"]));
        let target_dir = option_value(rest, &["-t", "--target-directory"]).is_some();
        let ops = operands(
            rest,
            &[
                "-t",
                "--target-directory",
                "-S",
                "--suffix",
                "-m",
                "--mode",
                "-o",
                "--owner",
                "-g",
                "--group",
                "-e",
                "--rsh",
                "-f",
                "--filter",
                "--exclude",
                "--include",
            ],
        );
        let n = if target_dir {
            ops.len()
        } else {
            ops.len().saturating_sub(1)
        };
        for a in &ops[..n] {
            if !(matches!(name, "rsync" | "scp") && a.text.contains(':')) {
                self.read(a, c.cd, name, recursive);
            }
        }
    }

    /// `tar`, `zip`, `7z`, `cpio`: the archive named by `-f`, and everything below each operand.
    fn archive(&mut self, c: &Call) {
        if let Some(f) = option_value(c.rest, &["-f", "--file"]) {
            self.read(&f, c.cd, c.name, false);
        }
        for a in operands(c.rest, &["-f", "--file", "-C", "--directory", "-T", "-X"]) {
            self.read(a, c.cd, c.name, true);
        }
    }

    /// `find`: everything below the starting points (the cwd when none is named).
    fn find(&mut self, c: &Call) {
        let mut any = false;
        for a in c.rest {
            let t = a.text.as_str();
            if t.starts_with('-') || t == "(" || t == "!" {
                break;
            }
            any = true;
            self.read(a, c.cd, c.name, true);
        }
        if !any {
            self.read(&here(), c.cd, c.name, true);
        }
    }

    /// `dd if=FILE`.
    fn dd_input(&mut self, c: &Call) {
        for a in c.rest {
            if let Some(f) = a.text.strip_prefix("if=") {
                let e = Expanded {
                    text: f.to_string(),
                    ..a.clone()
                };
                self.read(&e, c.cd, "dd if=", false);
            }
        }
    }

    /// `source FILE`: reads the file.
    fn source_file(&mut self, c: &Call) {
        if let Some(a) = c.rest.first() {
            self.read(a, c.cd, c.name, false);
        }
    }
}

// What commands write: the paths common commands write, create, delete or change.

impl Walker<'_> {
    /// `tee FILE…`: writes every file.
    fn tee(&mut self, c: &Call) {
        for a in operands(c.rest, &["--output-error"]) {
            self.write(a, c.cd, "tee");
        }
    }

    /// `cp`, `mv`, `install`, `ln`: write the destination (or every operand of `install -d`);
    /// `mv` also removes its sources, and a hard link writes its source too.
    fn copy_or_link(&mut self, c: &Call) {
        let (name, rest, cd) = (c.name, c.rest, c.cd);
        let with_arg = [
            "-S",
            "--suffix",
            "-t",
            "--target-directory",
            "-m",
            "--mode",
            "-o",
            "--owner",
            "-g",
            "--group",
        ];
        let target_dir = option_value(rest, &["-t", "--target-directory"]);
        let ops = operands(rest, &with_arg);
        self.hard_link_sources(c, &ops, target_dir.is_some());
        let dir_mode = name == "install"
            && rest
                .iter()
                .any(|a| a.text == "-d" || a.text == "--directory");
        if dir_mode {
            for a in &ops {
                self.write(a, cd, name);
            }
        } else if let Some(t) = &target_dir {
            self.write(t, cd, name);
        } else if let Some((dest, _)) = ops.split_last()
            && (ops.len() >= 2 || name == "ln")
        {
            self.write(dest, cd, name);
        }
        if name == "mv" {
            let n = if target_dir.is_some() {
                ops.len()
            } else {
                ops.len().saturating_sub(1)
            };
            for a in &ops[..n] {
                self.write(a, cd, "mv");
            }
        }
    }

    /// A hard link is another name for the same file: its source is written too, whenever the
    /// link is (`ln` without `-s`, `cp -l` / `--link`).
    fn hard_link_sources(&mut self, c: &Call, ops: &[&Expanded], target_dir: bool) {
        let hard_link = match c.name {
            "ln" => !has_flag(c.rest, 's', &["--symbolic"]),
            "cp" => has_flag(c.rest, 'l', &["--link"]),
            _ => false,
        };
        if hard_link {
            let sources = if target_dir || ops.len() < 2 {
                ops
            } else {
                &ops[..ops.len() - 1]
            };
            let via = format!("{HARD_LINK} ({})", c.name);
            for a in sources {
                self.write(a, c.cd, &via);
            }
        }
    }

    /// `link SOURCE LINK`: a hard link, so both are written.
    fn link(&mut self, c: &Call) {
        let ops = operands(c.rest, &[]);
        if let [source, link] = ops.as_slice() {
            self.write(source, c.cd, &format!("{HARD_LINK} (link)"));
            self.write(link, c.cd, "link");
        }
    }

    /// `rm`, `rmdir`, `mkdir`, `touch`, `unlink`, `shred`: every operand.
    fn every_operand(&mut self, c: &Call) {
        for a in operands(
            c.rest,
            &[
                "-m",
                "--mode",
                "-d",
                "--date",
                "-t",
                "-r",
                "--reference",
                "-n",
                "--iterations",
                "-s",
                "--size",
            ],
        ) {
            self.write(a, c.cd, c.name);
        }
    }

    /// `truncate -s SIZE FILE…`: every file.
    fn truncate(&mut self, c: &Call) {
        for a in operands(c.rest, &["-s", "--size", "-r", "--reference"]) {
            self.write(a, c.cd, c.name);
        }
    }

    /// `chmod`, `chown`, `chgrp`: every operand after the mode or owner.
    fn change_mode(&mut self, c: &Call) {
        let (name, rest) = (c.name, c.rest);
        let by_reference = rest.iter().any(|a| a.text.starts_with("--reference"));
        let ops = operands(rest, &[]);
        // chmod's mode may look like an option (`-x`): operands() kept only non-options,
        // so the mode is the first operand unless it was `-…`.
        let mode_is_option = name == "chmod"
            && rest.iter().any(|a| {
                a.text.len() > 1
                    && a.text.starts_with('-')
                    && a.text[1..].chars().all(|c| "rwxXstugo".contains(c))
            });
        let skip = usize::from(!by_reference && !mode_is_option);
        for a in ops.iter().skip(skip) {
            self.write(a, c.cd, name);
        }
    }

    /// `dd of=FILE`.
    fn dd_output(&mut self, c: &Call) {
        for a in c.rest {
            if let Some(f) = a.text.strip_prefix("of=") {
                let e = Expanded {
                    text: f.to_string(),
                    ..a.clone()
                };
                self.write(&e, c.cd, "dd of=");
            }
        }
    }

    /// `rsync`, `scp`: a local destination.
    fn remote_copy(&mut self, c: &Call) {
        let ops = operands(
            c.rest,
            &["-e", "--rsh", "-f", "--filter", "--exclude", "--include"],
        );
        if ops.len() >= 2
            && let Some(dest) = ops.last()
            && !dest.text.contains(':')
        {
            self.write(dest, c.cd, c.name);
        }
    }

    /// `curl -o FILE`, `wget -O FILE`.
    fn download(&mut self, c: &Call) {
        let (names, via): (&[&str], &str) = if c.name == "curl" {
            (&["-o", "--output"], "curl -o")
        } else {
            (&["-O", "--output-document"], "wget -O")
        };
        if let Some(o) = option_value(c.rest, names) {
            self.write(&o, c.cd, via);
        }
    }

    /// `sed -i`, `perl -i`: the files edited in place (after the script, unless `-e`/`-f` gave
    /// it).
    fn in_place(&mut self, c: &Call) {
        let (name, rest, cd) = (c.name, c.rest, c.cd);
        let mut in_place = false;
        let mut script_given = false;
        let mut files: Vec<&Expanded> = Vec::new();
        let mut i = 0;
        let mut options_done = false;
        while i < rest.len() {
            let t = rest[i].text.as_str();
            if !options_done && t == "--" {
                options_done = true;
            } else if !options_done && t.starts_with("--") {
                if t.starts_with("--in-place") {
                    in_place = true;
                } else if t == "--expression" || t == "--file" {
                    script_given = true;
                    i += 1;
                } else if t.starts_with("--expression=") || t.starts_with("--file=") {
                    script_given = true;
                }
            } else if !options_done && t.len() > 1 && t.starts_with('-') {
                for (k, c) in t[1..].char_indices() {
                    match c {
                        'i' => {
                            in_place = true;
                            break; // the rest is a backup suffix
                        }
                        'e' | 'f' | 'l' => {
                            if c != 'l' {
                                script_given = true;
                            }
                            if k + 2 == t.len() {
                                i += 1; // its value is the next word
                            }
                            break;
                        }
                        _ => {}
                    }
                }
            } else {
                files.push(&rest[i]);
            }
            i += 1;
        }
        if !in_place {
            return;
        }
        if !script_given && !files.is_empty() {
            files.remove(0);
        }
        let via = format!("{name} -i");
        for f in files {
            self.write(f, cd, &via);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Words.

/// A word after quote removal.
#[derive(Debug, Clone, Default)]
struct Expanded {
    /// The literal text (parameters kept as `$NAME`).
    text: String,
    /// True if its value is only known at run time.
    dynamic: bool,
    /// Command substitutions inside it, to analyse.
    substitutions: Vec<String>,
}

/// Quote removal and `~` expansion of one word; parameter expansions are kept as written and
/// mark the word dynamic; command substitutions are returned for analysis.
fn expand(raw: &str, home: Option<&str>) -> Expanded {
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
fn substitutions_in_heredoc(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(pieces) = brush_parser::word::parse_heredoc(body, &options()) {
        collect_substitutions(&pieces, &mut out);
    }
    out
}

fn collect_substitutions(pieces: &[WordPieceWithSource], out: &mut Vec<String>) {
    for p in pieces {
        match &p.piece {
            WordPiece::CommandSubstitution(c) | WordPiece::BackquotedCommandSubstitution(c) => {
                out.push(c.clone())
            }
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => collect_substitutions(inner, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (path, cd, via) of every write.
    fn writes(cmd: &str) -> Vec<(String, Vec<String>, String)> {
        analyze(cmd, Some("/home/u"))
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
            .writes
            .into_iter()
            .map(|w| (w.path, w.cd, w.via))
            .collect()
    }

    fn paths(cmd: &str) -> Vec<String> {
        writes(cmd).into_iter().map(|w| w.0).collect()
    }

    #[test]
    fn redirections() {
        assert_eq!(paths("echo x > a"), ["a"]);
        assert_eq!(paths("echo x >> a 2> err.log"), ["a", "err.log"]);
        assert_eq!(paths("cmd &> both"), ["both"]);
        assert_eq!(paths("cmd &>> both"), ["both"]);
        assert_eq!(paths("cmd >| clobbered"), ["clobbered"]);
        assert_eq!(paths("cmd 3<> rw"), ["rw"]);
        assert_eq!(paths("cmd >& file"), ["file"]);
        assert!(paths("cmd > /dev/null 2>&1").is_empty());
        assert!(paths("cmd 2>/dev/stderr 1>&2").is_empty());
        assert!(paths("echo \"a > b\" 'c > d'").is_empty(), "quoted");
        assert_eq!(paths("cat > f <<EOF\nhello > x\nEOF"), ["f"]);
        assert_eq!(paths("echo x > \"my file\""), ["my file"]);
        assert_eq!(paths("echo x > ~/notes"), ["/home/u/notes"]);
        assert_eq!(paths("{ echo a; echo b; } > grouped"), ["grouped"]);
        assert_eq!(paths("while read l; do echo $l; done < in > out"), ["out"]);
    }

    #[test]
    fn commands_that_write() {
        assert_eq!(paths("echo x | tee -a a b"), ["a", "b"]);
        assert_eq!(paths("cp -r a b c/"), ["c/"]);
        assert_eq!(paths("cp -t dest a b"), ["dest"]);
        assert_eq!(paths("cp --target-directory=dest a"), ["dest"]);
        assert_eq!(paths("mv a b"), ["b", "a"]);
        assert_eq!(paths("ln -s target link"), ["link"]);
        assert_eq!(paths("ln -sf target link"), ["link"]);
        assert_eq!(paths("ln --symbolic target link"), ["link"]);
        assert_eq!(paths("install -m 644 src dst"), ["dst"]);
        assert_eq!(paths("install -d d1 d2"), ["d1", "d2"]);
        assert_eq!(paths("rm -rf x y"), ["x", "y"]);
        assert_eq!(paths("rm -- -weird"), ["-weird"]);
        assert_eq!(paths("rmdir d; mkdir -p -m 700 e"), ["d", "e"]);
        assert_eq!(paths("touch -d yesterday f"), ["f"]);
        assert_eq!(paths("truncate -s 0 log"), ["log"]);
        assert_eq!(paths("chmod 755 a b"), ["a", "b"]);
        assert_eq!(paths("chmod -R u+x dir"), ["dir"]);
        assert_eq!(paths("chmod -x file"), ["file"]);
        assert_eq!(paths("chown -R me:me dir"), ["dir"]);
        assert_eq!(paths("chgrp --reference=r f"), ["f"]);
        assert_eq!(paths("dd if=x of=y bs=1"), ["y"]);
        assert_eq!(paths("sed -i.bak -e s/a/b/ f1 f2"), ["f1", "f2"]);
        assert_eq!(paths("sed -i 's/a/b/' f"), ["f"]);
        assert_eq!(paths("sed --in-place=.orig -n p f"), ["f"]);
        assert!(paths("sed -n 's/a/b/p' f").is_empty(), "not in place");
        assert_eq!(paths("perl -pi -e 's/a/b/' f"), ["f"]);
        assert_eq!(paths("rsync -av src/ host:dst/"), Vec::<String>::new());
        assert_eq!(paths("rsync -av src/ dst/"), ["dst/"]);
        assert_eq!(paths("curl -o out.html https://x"), ["out.html"]);
        assert_eq!(paths("wget -Oout https://x"), ["out"]);
        assert_eq!(paths("/bin/rm f"), ["f"]);
    }

    #[test]
    fn hard_links_write_their_source() {
        let w = writes("ln agents/registry.yaml src/x.yaml");
        assert_eq!(
            w.iter().map(|w| (&w.0[..], &w.2[..])).collect::<Vec<_>>(),
            [
                ("agents/registry.yaml", "hard link (ln)"),
                ("src/x.yaml", "ln")
            ]
        );
        assert_eq!(paths("ln -f a b c dir/"), ["a", "b", "c", "dir/"]);
        assert_eq!(paths("ln -t dir a b"), ["a", "b", "dir"]);
        assert_eq!(paths("ln only"), ["only", "only"]);
        assert_eq!(paths("cp -l a b"), ["a", "b"]);
        assert_eq!(paths("cp -al dir copy"), ["dir", "copy"]);
        assert_eq!(paths("cp --link a b"), ["a", "b"]);
        assert_eq!(paths("cp -a a b"), ["b"], "a copy is no link");
        assert_eq!(paths("link a b"), ["a", "b"]);
        assert_eq!(writes("link a b")[0].2, "hard link (link)");
    }

    /// (path, via, recursive) of every read.
    fn reads(cmd: &str) -> Vec<(String, String, bool)> {
        analyze(cmd, Some("/home/u"))
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
            .reads
            .into_iter()
            .map(|r| (r.path, r.via, r.recursive))
            .collect()
    }

    fn read_paths(cmd: &str) -> Vec<String> {
        reads(cmd).into_iter().map(|r| r.0).collect()
    }

    #[test]
    fn commands_that_read() {
        assert_eq!(read_paths("cat a b"), ["a", "b"]);
        assert_eq!(read_paths("head -n 5 secrets/key"), ["5", "secrets/key"]);
        assert_eq!(read_paths("tail -f log | wc -l"), ["log"]);
        assert_eq!(read_paths("base64 -d < in > out"), ["in"]);
        assert_eq!(read_paths("grep -i token src/a.rs"), ["src/a.rs"]);
        assert_eq!(read_paths("grep -e token -f pats.txt a"), ["pats.txt", "a"]);
        assert_eq!(
            reads("grep -rn token")[0],
            (".".into(), "grep -r".into(), true)
        );
        assert_eq!(reads("rg token src")[0], ("src".into(), "rg".into(), true));
        assert_eq!(read_paths("sed -n 's/a/b/p' f"), ["f"]);
        assert_eq!(read_paths("sed -e 1d f g"), ["f", "g"]);
        assert_eq!(read_paths("sed -i 's/a/b/' f"), ["f"]);
        assert_eq!(
            read_paths("awk -F: '{print $1}' /etc/passwd"),
            ["/etc/passwd"]
        );
        assert_eq!(read_paths("jq .a config.json"), ["config.json"]);
        assert_eq!(read_paths("cp -r secrets /tmp/s"), ["secrets"]);
        assert!(reads("cp -r secrets /tmp/s")[0].2, "recursive");
        assert_eq!(read_paths("cp -t dest a b"), ["a", "b"]);
        assert_eq!(read_paths("rsync -a host:x local/ dst/"), ["local/"]);
        // Old-style options are taken for a path too (which only ever denies more).
        assert_eq!(
            read_paths("tar czf out.tgz secrets"),
            ["czf", "out.tgz", "secrets"]
        );
        assert_eq!(
            read_paths("tar -czf out.tgz secrets"),
            ["out.tgz", "secrets"]
        );
        assert_eq!(
            reads("find secrets -name '*.pem'")[0],
            ("secrets".into(), "find".into(), true)
        );
        assert_eq!(read_paths("find -name x"), ["."]);
        assert_eq!(read_paths("dd if=secrets/key of=x"), ["secrets/key"]);
        assert_eq!(read_paths("source env.sh"), ["env.sh"]);
        assert_eq!(read_paths("cd secrets && cat key"), ["key"]);
        assert_eq!(reads("cd secrets && cat key").len(), 1);
        assert_eq!(read_paths("sudo cat /root/x"), ["/root/x"]);
        assert_eq!(read_paths("echo $(cat k)"), ["k"]);
        assert!(read_paths("cat < /dev/null; echo hi; git status").is_empty());
    }

    #[test]
    fn through_lists_pipelines_subshells_and_substitutions() {
        assert_eq!(
            paths("true && rm a || rm b; rm c & rm d"),
            ["a", "b", "c", "d"]
        );
        assert_eq!(paths("cat x | tee y | wc -l > z"), ["y", "z"]);
        assert_eq!(paths("echo $(rm z)"), ["z"]);
        assert_eq!(paths("echo `touch q`"), ["q"]);
        assert_eq!(paths("x=$(rm v) true"), ["v"]);
        assert_eq!(paths("bash -c 'echo hi > out'"), ["out"]);
        assert_eq!(paths("sh -ec \"rm -f a && touch b\""), ["a", "b"]);
        assert_eq!(paths("if true; then rm a; else rm b; fi"), ["a", "b"]);
        assert_eq!(paths("for f in 1 2; do touch $f.txt; done"), ["$f.txt"]);
        assert_eq!(paths("case x in x) rm a;; *) rm b;; esac"), ["a", "b"]);
        assert_eq!(paths("f() { rm inner; }; f"), ["inner"]);
        assert_eq!(paths("diff <(rm p) q"), ["p"]);
        assert_eq!(paths("cat <<EOF\n$(rm h)\nEOF"), ["h"]);
        assert_eq!(paths("eval 'rm e'"), ["e"]);
    }

    #[test]
    fn cd_prefixes_are_tracked_and_do_not_leak_out_of_subshells() {
        assert_eq!(
            writes("cd src && echo x > ../tests/a.txt"),
            [(
                "../tests/a.txt".into(),
                vec!["src".into()],
                "redirection >".into()
            )]
        );
        let w = writes("(cd /tmp; rm -rf x) && touch y");
        assert_eq!(w[0].1, vec!["/tmp".to_string()]);
        assert_eq!(w[1], ("y".into(), vec![], "touch".into()));
        let w = writes("cd a; cd b; rm c");
        assert_eq!(w[0].1, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(writes("cd a | true; rm c")[0].1, Vec::<String>::new());
        assert_eq!(writes("cd; rm c")[0].1, vec!["~".to_string()]);
        assert_eq!(writes("env -C sub rm c")[0].1, vec!["sub".to_string()]);
    }

    #[test]
    fn wrappers_and_commands() {
        let a = analyze("FOO=1 sudo -u x tee f", None).unwrap();
        assert_eq!(a.writes[0].path, "f");
        assert!(
            a.commands
                .contains(&vec!["tee".to_string(), "f".to_string()])
        );
        let a = analyze("sudo git push origin main", None).unwrap();
        assert!(a.commands.contains(&vec![
            "git".into(),
            "push".into(),
            "origin".into(),
            "main".into()
        ]));
        assert!(a.commands.contains(&vec![
            "sudo".into(),
            "git".into(),
            "push".into(),
            "origin".into(),
            "main".into()
        ]));
        assert_eq!(paths("env A=1 B=2 rm x"), ["x"]);
        assert_eq!(paths("nice -n 5 timeout 10 rm x"), ["x"]);
        assert_eq!(paths("timeout -s KILL 5s touch t"), ["t"]);
        let a = analyze("find . -name '*.o' | xargs rm", None).unwrap();
        assert!(a.commands.iter().any(|c| c == &["rm"]));
        assert!(a.opaque.iter().any(|o| o.contains("xargs")));
        assert!(paths("command -v rm").is_empty());
        let a = analyze("git -c 'a=b' commit -m \"x; rm y\"", None).unwrap();
        assert!(a.writes.is_empty(), "a quoted `;` is not a separator");
    }

    #[test]
    fn what_it_cannot_see_is_listed() {
        let a = analyze("echo x > \"$OUT\"", None).unwrap();
        assert_eq!(a.writes[0].path, "$OUT");
        assert!(a.opaque[0].contains("run time"));
        assert!(
            !analyze("python3 -c 'open(\"x\",\"w\")'", None)
                .unwrap()
                .opaque
                .is_empty()
        );
        assert!(!analyze("source env.sh", None).unwrap().opaque.is_empty());
        assert!(analyze("echo 'unterminated", None).is_err());
        assert!(analyze("if then fi", None).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = analyze(&s, Some("/h"));
        }

        /// (Without `<<`: brush-parser 0.4's tokenizer can allocate without bound on an unclosed
        /// here-document inside `$(`, e.g. `cd $( rm a 2>&1 * > a || | $x } echo << | > >> $( echo
        /// } { 2>&1 echo `. The hook survives that through its memory guard, tested in
        /// tests/hook.rs; the test process here has no such guard.)
        #[test]
        fn never_panics_on_shell_tokens(tokens in prop::collection::vec(
            prop::sample::select(vec!["echo", "rm", "a", ">", ">>", "&&", "||", ";", "|", "(", ")",
                "{", "}", "$(", "`", "'", "\"", "EOF", "\n", "cd", "-rf", "2>&1", "&", "*", "$x", "\\"]),
            0..30,
        )) {
            let _ = analyze(&tokens.join(" "), Some("/h"));
        }

        /// A redirection appended to any command that parses is always found.
        #[test]
        fn an_appended_redirection_is_found(prefix in "[a-z ;|&>.'\"-]{0,40}", target in "[a-z][a-z0-9_./]{0,12}") {
            if analyze(&prefix, None).is_ok() {
                let cmd = format!("{prefix}\necho x > {target}");
                if let Ok(a) = analyze(&cmd, None) {
                    prop_assert!(a.writes.iter().any(|w| w.path == target), "{cmd:?}: {a:?}");
                }
            }
        }
    }
}
