//! `iw graph`: the delegation graph as a tree, DOT, JSON or an SVG picture.

use std::path::Path;

use clap::ValueEnum;

use crate::support::{Exit, Result};

/// Output format of `iw graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A tree from the agents nobody delegates to
    Text,
    /// Graphviz DOT (`iw graph --format dot | dot -Tsvg > graph.svg`)
    Dot,
    /// JSON: agents, edges and spawn order
    Json,
    /// An SVG picture, drawn by iw (no graphviz needed): `iw graph --format svg > graph.svg`
    Svg,
}

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
pub fn schema(file: SchemaFile) -> Result<Exit> {
    let schema = match file {
        SchemaFile::Registry => crate::model::registry::json_schema(),
        SchemaFile::Sessions => crate::model::sessions::json_schema(),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    );
    Ok(Exit::Success)
}

/// The files `iw schema` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFile {
    /// agents/registry.yaml
    Registry,
    /// sessions.yaml
    Sessions,
}
