//! `iw validate`: every problem of the registry, sessions.yaml and templates at once.

use std::path::Path;

use crate::project::{self, Project};
use crate::support::{Exit, Result};

/// `iw validate [--json]`.
pub fn run(root: &Path, json: bool) -> Result<Exit> {
    let project = Project::load(root)?;
    project.render_all()?;
    if json {
        let doc = serde_json::json!({
            "valid": true,
            "agents": project.registry.agents.len(),
            "diagnostics": project.warnings,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        crate::views::diagnostics::print(&project.warnings);
        let templates: Vec<String> = project
            .templates
            .list
            .iter()
            .map(|t| t.display.clone())
            .collect();
        println!(
            "{} {} is valid: {} agents; templates: {}.",
            console::style("✓").green().bold(),
            project::REGISTRY_PATH,
            project.registry.agents.len(),
            templates.join(", ")
        );
    }
    Ok(Exit::Success)
}
