//! Loading the project for a command: its files validated, its warnings shown.

use std::path::Path;

use crate::project::Project;
use crate::support::Result;

/// Loads the project at `root` and prints its warnings on stderr.
pub fn project(root: &Path) -> Result<Project> {
    let project = Project::load(root)?;
    crate::views::diagnostics::print(&project.warnings);
    Ok(project)
}
