//! What each command does, by its name: the paths common commands read, write, create, delete or
//! change (`cp`, `rm`, `sed -i`, `grep -r`, `tar`, …), the commands that run others (`bash -c`,
//! `eval`, wrappers like `sudo` and `env`), and the option parsing they share.

use super::Walker;
use super::words::Expanded;

/// One simple command, after its wrappers: what the handlers of [`reader`] and [`writer`] see.
pub(super) struct Call<'c> {
    /// The command's name without its directory (`rm` for `/bin/rm`).
    pub(super) name: &'c str,
    /// Its arguments.
    pub(super) rest: &'c [Expanded],
    /// The directories changed into before it (a wrapper's `env -C DIR` included).
    pub(super) cd: &'c [String],
    /// How deeply it is nested in `bash -c`, `$(…)` and `eval`.
    pub(super) depth: usize,
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
    pub(super) fn argv(&mut self, argv: Vec<Expanded>, cd: &mut Vec<String>, depth: usize) {
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

    // Commands that run others (the rest of `writer`'s handlers are in `writes`).

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
pub(super) fn has_flag(rest: &[Expanded], short: char, long: &[&str]) -> bool {
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
pub(super) fn operands<'e>(rest: &'e [Expanded], with_arg: &[&str]) -> Vec<&'e Expanded> {
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
pub(super) fn option_value(rest: &[Expanded], names: &[&str]) -> Option<Expanded> {
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
