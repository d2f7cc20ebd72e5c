//! `iw graph --format svg`: the delegation graph as a picture, drawn by iw itself (no graphviz).
//!
//! Layered layout: agents that take part in delegation are placed in rows by their longest
//! distance from an agent nobody delegates to, each layer ordered by the mean position of its
//! delegators and wrapped in rows of [`PER_ROW`] and one fewer, alternately, so that a wrapped
//! row sits staggered under the one above; agents with no delegation edge are gathered in a grid
//! below. Edges run down from the delegator to a bus above its delegates, then down to each:
//! thanks to the stagger, a line to the second row passes through a gap of the first. Each box shows the agent, its model and tool count and its exclusive areas; an
//! edge is an arrow from delegator to delegate, dashed with the schema's name for a typed
//! handoff.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::registry::Registry;

/// Boxes per row before a layer wraps.
pub const PER_ROW: usize = 6;
const BOX_W: f64 = 200.0;
const GAP_X: f64 = 24.0;
const ROW_GAP: f64 = 70.0;
const MARGIN: f64 = 24.0;
const LINE: f64 = 16.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Shortens `s` to `n` characters, with an ellipsis.
fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

struct Placed {
    x: f64,
    y: f64,
    h: f64,
}

/// Where each agent's box is, and the picture's size.
struct Layout<'a> {
    placed: BTreeMap<&'a str, Placed>,
    width: f64,
    height: f64,
    /// The top of the grid of agents without delegation edges, if there are any.
    alone_top: Option<f64>,
}

/// The SVG document of `registry`'s delegation graph.
pub fn to_svg(registry: &Registry) -> String {
    let layout = layout(registry);
    let mut s = String::new();
    header(&mut s, registry, &layout);
    edges(&mut s, registry, &layout.placed);
    if let Some(alone_top) = layout.alone_top {
        let _ = writeln!(
            s,
            r##"<text x="{MARGIN}" y="{:.0}" font-weight="bold" fill="#444">Agents without delegation edges</text>"##,
            alone_top + 12.0
        );
    }
    boxes(&mut s, registry, &layout.placed);
    s.push_str("</svg>\n");
    s
}

/// Each agent's layer: its longest distance from an agent nobody delegates to (the registry has
/// no cycles; validation refuses them).
fn layers<'a>(registry: &'a Registry, names: &[&'a str]) -> BTreeMap<&'a str, usize> {
    let graph = registry.graph();
    let mut layer: BTreeMap<&str, usize> = BTreeMap::new();
    for n in graph.spawn_order().unwrap_or_default().iter().rev() {
        let d = graph
            .delegators(n)
            .iter()
            .filter_map(|p| layer.get(p).map(|l| l + 1))
            .max()
            .unwrap_or(0);
        if let Some(name) = names.iter().find(|x| **x == n.as_str()) {
            layer.insert(name, d);
        }
    }
    layer
}

/// Rows of one layer: `PER_ROW` boxes, then one fewer, alternately (staggered).
fn rows<'a, 'b>(here: &'b [&'a str]) -> Vec<&'b [&'a str]> {
    let mut rows = Vec::new();
    let mut rest = here;
    let mut wide = true;
    while !rest.is_empty() {
        let n = if wide { PER_ROW } else { PER_ROW - 1 }.min(rest.len());
        rows.push(&rest[..n]);
        rest = &rest[n..];
        wide = !wide;
    }
    rows
}

fn row_width(n: usize) -> f64 {
    n as f64 * BOX_W + (n.saturating_sub(1)) as f64 * GAP_X
}

/// Places the connected agents layer by layer, then the others in a grid below.
fn layout(registry: &Registry) -> Layout<'_> {
    let graph = registry.graph();
    let names: Vec<&str> = registry.names().collect();
    let connected: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !graph.delegates(n).is_empty() || !graph.delegators(n).is_empty())
        .collect();
    let alone: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !connected.contains(n))
        .collect();
    let layer = layers(registry, &names);
    let depth = connected
        .iter()
        .filter_map(|n| layer.get(n))
        .max()
        .map_or(0, |d| d + 1);
    let box_h = |agent: &str| -> f64 {
        let areas = registry.agents[agent].exclusive_access.len().min(3);
        LINE * (2 + areas) as f64 + 16.0
    };
    let mut placed: BTreeMap<&str, Placed> = BTreeMap::new();
    let mut y = MARGIN + 34.0;
    let mut width: f64 = 0.0;
    let full = row_width(PER_ROW.min(connected.len().max(alone.len()).max(1)));
    for d in 0..depth {
        let mut here: Vec<&str> = connected
            .iter()
            .copied()
            .filter(|n| layer.get(n) == Some(&d))
            .collect();
        // Under the mean position of its delegators.
        let center = |n: &str| -> f64 {
            let xs: Vec<f64> = graph
                .delegators(n)
                .iter()
                .filter_map(|p| placed.get(p).map(|b| b.x + BOX_W / 2.0))
                .collect();
            if xs.is_empty() {
                0.0
            } else {
                xs.iter().sum::<f64>() / xs.len() as f64
            }
        };
        here.sort_by(|a, b| center(a).total_cmp(&center(b)).then(a.cmp(b)));
        for chunk in rows(&here) {
            let w = row_width(chunk.len());
            let mut x = MARGIN + (full - w) / 2.0;
            let h = chunk.iter().map(|n| box_h(n)).fold(0.0, f64::max);
            for n in chunk {
                placed.insert(n, Placed { x, y, h: box_h(n) });
                x += BOX_W + GAP_X;
            }
            width = width.max(w);
            y += h + ROW_GAP;
        }
    }
    let alone_top = (!alone.is_empty()).then_some(y);
    if !alone.is_empty() {
        y += 26.0;
        for chunk in alone.chunks(PER_ROW) {
            let mut x = MARGIN;
            let h = chunk.iter().map(|n| box_h(n)).fold(0.0, f64::max);
            for n in chunk {
                placed.insert(n, Placed { x, y, h: box_h(n) });
                x += BOX_W + GAP_X;
            }
            width = width.max(row_width(chunk.len()));
            y += h + 24.0;
        }
    }
    Layout {
        placed,
        width: full.max(width) + 2.0 * MARGIN,
        height: y + MARGIN,
        alone_top,
    }
}

/// The document's start: size, the arrow marker, the background, the title and the legend.
fn header(s: &mut String, registry: &Registry, layout: &Layout<'_>) {
    let (total_w, total_h) = (layout.width, layout.height);
    let graph = registry.graph();
    let names: Vec<&str> = registry.names().collect();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0}" height="{total_h:.0}" viewBox="0 0 {total_w:.0} {total_h:.0}" font-family="ui-sans-serif, system-ui, sans-serif" font-size="12">"#
    );
    s.push_str(
        r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>
<rect width="100%" height="100%" fill="#ffffff"/>
"##,
    );
    let _ = writeln!(
        s,
        r##"<text x="{MARGIN}" y="{:.0}" font-size="16" font-weight="bold" fill="#222">Delegation graph: {} agents, {} edges</text>"##,
        MARGIN + 14.0,
        names.len(),
        graph.edges().len()
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.0}" y="{:.0}" text-anchor="end" fill="#666">→ delegates to · dashed: typed handoff (schema) · ▣ exclusive area</text>"##,
        total_w - MARGIN,
        MARGIN + 14.0
    );
}

/// The edges, under the boxes: down from the delegator to a bus above its delegates, then down.
fn edges(s: &mut String, registry: &Registry, placed: &BTreeMap<&str, Placed>) {
    let graph = registry.graph();
    let names: Vec<&str> = registry.names().collect();
    for from in &names {
        let Some(a) = placed.get(from) else { continue };
        let targets: Vec<(&str, &Placed)> = graph
            .delegates(from)
            .into_iter()
            .filter_map(|t| placed.get(t).map(|b| (t, b)))
            .collect();
        let Some(top) = targets.iter().map(|(_, b)| b.y).reduce(f64::min) else {
            continue;
        };
        let (x1, y1) = (a.x + BOX_W / 2.0, a.y + a.h);
        let bus = top - 22.0;
        for (to, b) in targets {
            let (x2, y2) = (b.x + BOX_W / 2.0, b.y - 2.0);
            let schema = registry.agents[*from].handoffs.get(to);
            let dash = if schema.is_some() {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = writeln!(
                s,
                r##"<path d="M{x1:.1},{y1:.1} V{bus:.1} H{x2:.1} V{y2:.1}" fill="none" stroke="#555" stroke-width="1.2"{dash} marker-end="url(#arrow)"><title>{} → {}</title></path>"##,
                esc(from),
                esc(to)
            );
            if let Some(schema) = schema {
                let file = schema.rsplit('/').next().unwrap_or(schema);
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#8a4b00">{}</text>"##,
                    x2 + 4.0,
                    y2 - 6.0,
                    esc(&fit(file, 28))
                );
            }
        }
    }
}

/// Each agent's box: its name, model and tool count, its exclusive areas.
fn boxes(s: &mut String, registry: &Registry, placed: &BTreeMap<&str, Placed>) {
    let names: Vec<&str> = registry.names().collect();
    for name in &names {
        let Some(b) = placed.get(name) else { continue };
        let a = &registry.agents[*name];
        let exclusive = !a.exclusive_access.is_empty();
        let (fill, stroke) = if exclusive {
            ("#eef6ff", "#2b6cb0")
        } else {
            ("#f7f7f7", "#888")
        };
        let _ = writeln!(
            s,
            r##"<g><title>{}: {}</title><rect x="{:.1}" y="{:.1}" width="{BOX_W}" height="{:.1}" rx="6" fill="{fill}" stroke="{stroke}"/>"##,
            esc(name),
            esc(&a.description),
            b.x,
            b.y,
            b.h
        );
        let tx = b.x + 10.0;
        let mut ty = b.y + 20.0;
        let _ = writeln!(
            s,
            r##"<text x="{tx:.1}" y="{ty:.1}" font-weight="bold" fill="#111">{}</text>"##,
            esc(&fit(name, 28))
        );
        ty += LINE;
        let _ = writeln!(
            s,
            r##"<text x="{tx:.1}" y="{ty:.1}" fill="#555">{} · {} tools</text>"##,
            esc(&fit(&a.model, 16)),
            a.tools.len()
        );
        for p in a.exclusive_access.iter().take(3) {
            ty += LINE;
            let _ = writeln!(
                s,
                r##"<text x="{tx:.1}" y="{ty:.1}" fill="#2b6cb0">▣ {}</text>"##,
                esc(&fit(&p.source, 26))
            );
        }
        s.push_str("</g>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_agent_and_edge_is_drawn_and_text_is_escaped() {
        let (r, _) = crate::model::registry::parse(
            "agents/registry.yaml",
            "agents:\n  lead:\n    name: lead\n    display_name: Lead\n    description: 'Plans <all> & more'\n    model: opus\n    tools: [Read, Task]\n    delegates_to: [{agent: dev, schema: schemas/task.json}]\n  dev:\n    name: dev\n    display_name: Dev\n    description: Builds\n    model: sonnet\n    tools: [Write]\n    exclusive_access: [src/**]\n  solo:\n    name: solo\n    display_name: Solo\n    description: Alone\n    model: haiku\n    tools: [Read]\n",
        )
        .unwrap();
        let svg = to_svg(&r);
        for n in [
            "lead",
            "dev",
            "solo",
            "task.json",
            "src/**",
            "Plans &lt;all&gt; &amp; more",
        ] {
            assert!(svg.contains(n), "{n}");
        }
        assert!(svg.contains("stroke-dasharray"), "typed handoff dashed");
        assert_eq!(svg.matches("marker-end=").count(), 1);
        assert!(svg.contains("Agents without delegation edges"));
    }
}
