//! `iw graph`: the delegation graph as a tree, DOT, JSON or an SVG picture.

use std::path::Path;

use crate::cli::args::GraphFormat;
use crate::support::{Exit, Result};

/// `iw graph --format F`.
pub fn run(root: &Path, format: GraphFormat) -> Result<Exit> {
    let project = super::load::project(root)?;
    let g = project.registry.graph();
    match format {
        GraphFormat::Text => print!("{}", g.to_text()),
        GraphFormat::Dot => print!("{}", g.to_dot()),
        GraphFormat::Svg => print!("{}", crate::views::graph_svg::to_svg(&project.registry)),
        GraphFormat::Json => {
            let doc = serde_json::json!({
                "agents": project.registry.names().collect::<Vec<_>>(),
                "edges": g.edges().iter().map(|(a, b)| serde_json::json!({"from": a, "to": b})).collect::<Vec<_>>(),
                "spawn_order": g.spawn_order(),
            });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
    }
    Ok(Exit::Success)
}

/// `iw schema registry|sessions`: the JSON Schema of the file.
pub fn schema(file: crate::cli::args::SchemaFile) -> Result<Exit> {
    let schema = match file {
        crate::cli::args::SchemaFile::Registry => crate::model::registry::json_schema(),
        crate::cli::args::SchemaFile::Sessions => crate::model::sessions::json_schema(),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    );
    Ok(Exit::Success)
}
