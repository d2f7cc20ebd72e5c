//! Commands that read: the operands of common reading commands (all of them, so an option's
//! value may be taken for a path, which only ever denies more), without the pattern or program of
//! `grep`, `sed`, `awk` and `jq`; sources of copies and archives. The handlers of
//! [`super::commands`]' `reader` table.

use super::Walker;
use super::commands::{Call, has_flag, operands, option_value};
use super::words::Expanded;

/// The current directory, as an operand.
fn here() -> Expanded {
    Expanded {
        text: ".".into(),
        ..Default::default()
    }
}

impl Walker<'_> {
    /// `cat`, `head`, `wc`, `diff`, …: every operand.
    pub(super) fn read_operands(&mut self, c: &Call) {
        for a in operands(c.rest, &["-o", "--output"]) {
            self.read(a, c.cd, c.name, false);
        }
    }

    /// `ls`, `tree`: every operand (and below it, for `tree` and `ls -R`).
    pub(super) fn list_dirs(&mut self, c: &Call) {
        let recursive = c.name == "tree"
            || has_flag(c.rest, 'R', &[])
            || has_flag(c.rest, 'R', &["--recursive"]);
        for a in operands(c.rest, &["-I", "-w", "--width", "--ignore", "-T"]) {
            self.read(a, c.cd, c.name, recursive);
        }
    }

    /// `grep`, `rg`, …: a pattern file, and the files (or, recursive, the directories) searched
    /// (the cwd when none is named).
    pub(super) fn search(&mut self, c: &Call) {
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
    pub(super) fn run_program(&mut self, c: &Call) {
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
    pub(super) fn copy_sources(&mut self, c: &Call) {
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
    pub(super) fn archive(&mut self, c: &Call) {
        if let Some(f) = option_value(c.rest, &["-f", "--file"]) {
            self.read(&f, c.cd, c.name, false);
        }
        for a in operands(c.rest, &["-f", "--file", "-C", "--directory", "-T", "-X"]) {
            self.read(a, c.cd, c.name, true);
        }
    }

    /// `find`: everything below the starting points (the cwd when none is named).
    pub(super) fn find(&mut self, c: &Call) {
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
    pub(super) fn dd_input(&mut self, c: &Call) {
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
    pub(super) fn source_file(&mut self, c: &Call) {
        if let Some(a) = c.rest.first() {
            self.read(a, c.cd, c.name, false);
        }
    }
}
