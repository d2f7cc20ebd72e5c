//! Commands that write: the paths common commands write, create, delete or change the metadata
//! of (`tee`, `cp`, `mv`, `install`, `ln`, `link`, `rm`, `mkdir`, `touch`, `truncate`, `chmod`,
//! `dd of=`, `sed -i`, `perl -i`, `rsync`, `curl -o`, `wget -O`): the handlers of
//! [`super::commands`]' `writer` table.

use super::commands::{Call, has_flag, operands, option_value};
use super::words::Expanded;
use super::{HARD_LINK, Walker};

impl Walker<'_> {
    /// `tee FILE…`: writes every file.
    pub(super) fn tee(&mut self, c: &Call) {
        for a in operands(c.rest, &["--output-error"]) {
            self.write(a, c.cd, "tee");
        }
    }

    /// `cp`, `mv`, `install`, `ln`: write the destination (or every operand of `install -d`);
    /// `mv` also removes its sources, and a hard link writes its source too.
    pub(super) fn copy_or_link(&mut self, c: &Call) {
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
    pub(super) fn hard_link_sources(&mut self, c: &Call, ops: &[&Expanded], target_dir: bool) {
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
    pub(super) fn link(&mut self, c: &Call) {
        let ops = operands(c.rest, &[]);
        if let [source, link] = ops.as_slice() {
            self.write(source, c.cd, &format!("{HARD_LINK} (link)"));
            self.write(link, c.cd, "link");
        }
    }

    /// `rm`, `rmdir`, `mkdir`, `touch`, `unlink`, `shred`: every operand.
    pub(super) fn every_operand(&mut self, c: &Call) {
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
    pub(super) fn truncate(&mut self, c: &Call) {
        for a in operands(c.rest, &["-s", "--size", "-r", "--reference"]) {
            self.write(a, c.cd, c.name);
        }
    }

    /// `chmod`, `chown`, `chgrp`: every operand after the mode or owner.
    pub(super) fn change_mode(&mut self, c: &Call) {
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
    pub(super) fn dd_output(&mut self, c: &Call) {
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
    pub(super) fn remote_copy(&mut self, c: &Call) {
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
    pub(super) fn download(&mut self, c: &Call) {
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
    pub(super) fn in_place(&mut self, c: &Call) {
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
