//! `iw trust`: records, once per project, that Claude Code trusts the project root, so that every
//! agent iw starts there runs with no trust dialog (docs/claude-code.md).
//!
//! The only place iw writes Claude Code's user configuration, and only when asked: see
//! [`crate::claude::config::trust`] for how (atomic, under Claude Code's own lock, every other
//! value kept).

use std::path::PathBuf;

use crate::claude::config::{self, Trusted};
use crate::project::Project;
use crate::support::Exit;
use crate::support::error::{Error, Result};

/// The configuration files the project's Claude Code agents read: one per distinct
/// `CLAUDE_CONFIG_DIR`/`HOME` among the Claude Code sessions of sessions.yaml (tenants too), else
/// the one of iw's own environment.
pub fn config_paths(project: &Project) -> Vec<PathBuf> {
    let env = |k: &str| crate::support::Caller::get().var(k).map(str::to_string);
    let mut out: Vec<PathBuf> = Vec::new();
    if let Some(c) = &project.sessions {
        for spec in crate::model::sessions::specs(c, &project.root, &Default::default()) {
            if !spec.is_claude() {
                continue;
            }
            if let Some(v) = spec.claude_view()
                && !out.contains(&v.path)
            {
                out.push(v.path);
            }
        }
    }
    if out.is_empty()
        && let Some(p) = config::path(env)
    {
        out.push(p);
    }
    out
}

/// `iw trust`.
pub fn run(project: &Project) -> Result<Exit> {
    let root = &project.root;
    let paths = config_paths(project);
    if paths.is_empty() {
        return Err(Error::with_help(
            "cannot tell where Claude Code keeps its configuration: neither HOME nor \
             CLAUDE_CONFIG_DIR is set",
            "set HOME (or CLAUDE_CONFIG_DIR, as for Claude Code), then run `iw trust` again",
        ));
    }
    for path in &paths {
        match config::trust(path, root)? {
            Trusted::Already(by) if by == *root => println!(
                "{} Claude Code already trusts {} ({}).",
                console::style("✓").green().bold(),
                root.display(),
                path.display()
            ),
            Trusted::Already(by) => println!(
                "{} Claude Code already trusts {} through {} ({}).",
                console::style("✓").green().bold(),
                root.display(),
                by.display(),
                path.display()
            ),
            Trusted::Recorded => println!(
                "{} Claude Code now trusts {}: recorded in {}, as accepting its trust dialog \
                 there would.",
                console::style("✓").green().bold(),
                root.display(),
                path.display()
            ),
        }
        let status = config::status(path, root, None)?;
        for p in config::problems(&status, root, false) {
            println!(
                "{} {}\n  → {}",
                console::style("!").yellow().bold(),
                p.message,
                p.help
            );
        }
    }
    println!("Every agent iw starts in this project now runs with no trust dialog.");
    Ok(Exit::Success)
}
