//! `iw apply`: shows the plan, asks, converges, and records what it did.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::reconcile::apply;
use crate::reconcile::compute_with;
use crate::reconcile::hosts::Links;
use crate::reconcile::lock::{ApplyLock, LockFile};
use crate::reconcile::plan::{Plan, Selection};
use crate::support::{Error, Exit, Result};
use crate::views;

/// What `iw apply` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    /// A plan saved by `iw plan -o`, to apply exactly.
    pub plan_file: Option<PathBuf>,
    /// Which agents (without a plan file).
    pub selection: Selection,
    /// Apply without asking.
    pub yes: bool,
    /// Leave out the diffs.
    pub no_diff: bool,
    /// How long to wait for another apply.
    pub lock_timeout: Duration,
    /// Do not wait for new Claude Code sessions to be ready.
    pub no_wait: bool,
}

/// `iw apply`.
pub fn run(root: &Path, opts: &Options) -> Result<Exit> {
    let project = super::load::project(root)?;
    let links = crate::reconcile::connect(&project, LockFile::read(root)?.as_ref());
    let (_lock, mut plan) = match &opts.plan_file {
        Some(file) => saved_plan(root, &project, &links, opts, &root.join(file))?,
        None => fresh_plan(root, &project, &links, opts)?,
    };
    if opts.no_wait {
        plan.ready_timeout = Duration::ZERO;
    }
    // Each step's line as it is done. Written files come in bursts of thousands with nothing to
    // wait for between them: their lines are buffered (a write per burst instead of per line),
    // except on a terminal, and the buffer is emptied at each session step, which may be followed
    // by a wait.
    let terminal = std::io::stdout().is_terminal();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
    let report = apply::apply_on(&project, &plan, &crate::tmux::System, &links, |a| {
        let _ = writeln!(out, "{}", views::applied_line(a));
        if terminal || a.is_session() {
            let _ = out.flush();
        }
    });
    let _ = out.flush();
    drop(out);
    let report = report?;
    if !plan.unreachable.is_empty() {
        let hosts: Vec<&str> = plan.unreachable.iter().map(|u| u.host.as_str()).collect();
        return Err(Error::with_help(
            format!(
                "applied on the hosts iw could reach; nothing was changed on {} (unreachable)",
                hosts.join(", ")
            ),
            "the lockfile records what was done on each host; run `iw apply` again once they can be reached",
        ));
    }
    if !plan.is_empty() {
        println!("\n{}", views::apply_done(&report));
    } else if report.lock_written {
        println!("Lockfile {} updated.", crate::reconcile::lock::LOCK_PATH);
    }
    crate::support::exit::keep_until_exit((project, plan, report));
    Ok(Exit::Success)
}

/// A saved plan was reviewed when it was saved: apply exactly it, or nothing.
fn saved_plan(
    root: &Path,
    project: &crate::project::Project,
    links: &Links,
    opts: &Options,
    file: &Path,
) -> Result<(ApplyLock, Plan)> {
    let saved = crate::reconcile::saved::load(file)?;
    let lock = ApplyLock::acquire(root, opts.lock_timeout)?;
    let plan = compute_with(project, LockFile::read(root)?, &saved.selection(), links)?;
    crate::reconcile::saved::check_fresh(&saved, project, &plan, file)?;
    views::print_plan(&plan, !opts.no_diff);
    Ok((lock, plan))
}

/// The plan computed now, under the apply lock, shown and confirmed.
fn fresh_plan(
    root: &Path,
    project: &crate::project::Project,
    links: &Links,
    opts: &Options,
) -> Result<(ApplyLock, Plan)> {
    let interactive = std::io::stdin().is_terminal();
    if !opts.yes && !interactive {
        // Refuse before taking the lock, so that a refused apply writes nothing at all.
        let plan = compute_with(project, LockFile::read(root)?, &opts.selection, links)?;
        if !plan.is_empty() {
            views::print_plan(&plan, !opts.no_diff);
            return Err(Error::refused(
                "refusing to apply without confirmation: stdin is not a terminal",
                "review the plan with `iw plan`, then run `iw apply --yes`",
            ));
        }
    }
    let lock = ApplyLock::acquire(root, opts.lock_timeout)?;
    // Computed again under the lock: what is shown is what is applied.
    let plan = compute_with(project, LockFile::read(root)?, &opts.selection, links)?;
    views::print_plan(&plan, !opts.no_diff);
    if !plan.claude_setup.is_empty() {
        // Said in the plan above; refuse before asking.
        return Err(Error::refused(
            "not applying: Claude Code would stop every new agent at a dialog; nothing was changed",
            "do what the plan says above (once for all agents), then `iw apply` again",
        ));
    }
    if !plan.is_empty() && !opts.yes {
        print!(
            "\nDo you want to make these changes? Only 'yes' will be accepted.\n  Enter a value: "
        );
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if answer.trim() != "yes" {
            return Err(Error::refused(
                "apply cancelled; nothing was changed",
                "run `iw apply` again and answer `yes` to make the changes",
            ));
        }
        println!();
    }
    Ok((lock, plan))
}
