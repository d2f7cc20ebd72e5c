//! `iw handoff validate --from A --to B FILE`: may A hand this payload to B?

use std::path::Path;

use crate::project::Project;
use crate::support::{Exit, Result};

/// Exit 0 when valid; an invalid payload or edge is an error listing every problem.
pub fn validate(project: &Project, from: &str, to: &str, file: &Path) -> Result<Exit> {
    match crate::model::handoff::check(&project.registry, &project.root, from, to, file)? {
        None => {
            println!("✓ `{from}` may hand work to `{to}` (no schema is declared for this handoff)")
        }
        Some(schema) => println!(
            "✓ {} is a valid handoff from `{from}` to `{to}` ({schema})",
            file.display()
        ),
    }
    Ok(Exit::Success)
}
