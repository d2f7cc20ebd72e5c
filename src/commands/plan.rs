//! `iw plan`: what apply would change, as text (unified diffs) or JSON; the CI drift gate.

use std::path::{Path, PathBuf};

use crate::project;
use crate::reconcile::lock::LockFile;
use crate::reconcile::plan::{Plan, Selection};
use crate::support::{Caller, Exit, Result};
use crate::views;

/// What `iw plan` was asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Which agents.
    pub selection: Selection,
    /// Exit 2 when there are changes.
    pub exit_code: bool,
    /// Print JSON.
    pub json: bool,
    /// Leave out the diffs.
    pub no_diff: bool,
    /// Also save the plan to this file (relative to the project root).
    pub out: Option<PathBuf>,
}

/// `iw plan`.
pub fn run(root: &Path, opts: &Options) -> Result<Exit> {
    let selection = &opts.selection;
    // Like `git -C`, a relative FILE is relative to the project root.
    let out = opts.out.as_ref().map(|f| root.join(f));
    let lock = LockFile::read(root)?;
    // The no-op fast path: the lockfile proves nothing changed (IW_NO_FAST_PATH=1 disables it).
    let proven = out.is_none()
        && selection.is_all()
        && selection.replace.is_empty()
        && selection.tenant.is_none()
        && !Caller::get().no_fast_path()
        && lock
            .as_ref()
            .is_some_and(|l| crate::reconcile::noop::unchanged(root, l));
    let plan = match lock {
        Some(lock) if proven => {
            let mut warnings = lock.warnings.clone();
            warnings.extend(project::missing_personas_of(
                root,
                lock.personas.iter().map(|(a, p)| (a.as_str(), p.as_str())),
            ));
            views::diagnostics::print(&warnings);
            Plan::proven_empty(lock)
        }
        lock => {
            let project = super::load::project(root)?;
            let links = crate::reconcile::connect(&project, lock.as_ref());
            let plan = crate::reconcile::compute_with(&project, lock, selection, &links)?;
            if let Some(file) = &out
                && plan.unreachable.is_empty()
            {
                crate::reconcile::saved::save(&project, &plan, file)?;
            }
            plan
        }
    };
    if opts.json {
        let doc = views::plan_json(&plan, root);
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        views::print_plan(&plan, !opts.no_diff);
        match (&out, plan.is_empty()) {
            (Some(_), _) if !plan.unreachable.is_empty() => {
                println!(
                    "Not saved: a plan that leaves out unreachable hosts is not a plan to apply."
                )
            }
            (Some(file), false) => println!(
                "Saved this plan to {}. To make exactly these changes: iw apply {}",
                file.display(),
                file.display()
            ),
            (None, false) => println!("Run `iw apply` to make these changes."),
            _ => {}
        }
    }
    let exit = if !plan.unreachable.is_empty() {
        // Some hosts could not be planned: the plan is incomplete, whatever it shows.
        Exit::Command(crate::support::exit::ERROR)
    } else if opts.exit_code && !plan.is_empty() {
        Exit::Changes
    } else {
        Exit::Success
    };
    crate::support::exit::keep_until_exit(plan);
    Ok(exit)
}
