//! The delegation graph: an edge `a → b` when agent `a` may delegate to agent `b`.
//!
//! Used to reject cycles (reported with their whole path), to order session spawns (an agent's
//! delegates start before it, and stop after it), and by `iw graph`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

/// The delegation graph of a registry.
#[derive(Debug, Clone)]
pub struct DelegationGraph {
    graph: DiGraph<String, ()>,
    nodes: BTreeMap<String, NodeIndex>,
}

impl DelegationGraph {
    /// Builds the graph from `(agent, delegates)` pairs. Delegates that are not agents are skipped
    /// (validation reports them).
    pub fn new<'a>(agents: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Self {
        let agents: Vec<(&str, &[String])> = agents.into_iter().collect();
        let mut graph = DiGraph::new();
        let mut names: Vec<&str> = agents.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        // Built from sorted names in one go (linear), not inserted one by one.
        let nodes: BTreeMap<String, _> = names
            .into_iter()
            .map(|name| (name.to_string(), graph.add_node(name.to_string())))
            .collect();
        let mut sorted = agents;
        sorted.sort_by_key(|(n, _)| *n);
        for (name, delegates) in sorted {
            let from = nodes[name];
            let mut ds: Vec<&String> = delegates.iter().collect();
            ds.sort();
            ds.dedup();
            for d in ds {
                if let Some(&to) = nodes.get(d.as_str()) {
                    graph.add_edge(from, to, ());
                }
            }
        }
        DelegationGraph { graph, nodes }
    }

    /// Every cycle, each as a path that starts and ends at the same agent
    /// (e.g. `["a", "b", "a"]`), in a stable order. Self-loops are included.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let mut cycles = Vec::new();
        for scc in tarjan_scc(&self.graph) {
            let self_loop = scc.len() == 1 && self.graph.contains_edge(scc[0], scc[0]);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let start = *scc
                .iter()
                .min_by_key(|&&n| &self.graph[n])
                .expect("scc is not empty");
            cycles.push(self.cycle_through(start, &scc));
        }
        cycles.sort();
        cycles
    }

    /// A shortest cycle from `start` back to itself within `scc` (breadth-first).
    fn cycle_through(&self, start: NodeIndex, scc: &[NodeIndex]) -> Vec<String> {
        let mut prev: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut end = None;
        while let Some(n) = queue.pop_front() {
            let mut next: Vec<NodeIndex> = self
                .graph
                .edges(n)
                .map(|e| e.target())
                .filter(|t| scc.contains(t))
                .collect();
            next.sort_by_key(|&t| &self.graph[t]);
            for t in next {
                if t == start {
                    end = Some(n);
                    break;
                }
                if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(t) {
                    e.insert(n);
                    queue.push_back(t);
                }
            }
            if end.is_some() {
                break;
            }
        }
        let mut path = vec![self.graph[start].clone()];
        let mut n = end.unwrap_or(start);
        let mut back = Vec::new();
        while n != start {
            back.push(self.graph[n].clone());
            n = prev[&n];
        }
        back.reverse();
        path.extend(back);
        path.push(self.graph[start].clone());
        path
    }

    /// Agents in spawn order: every agent after all the agents it delegates to, ties broken by
    /// name (Kahn's algorithm with a sorted ready set). `None` if the graph has a cycle.
    pub fn spawn_order(&self) -> Option<Vec<String>> {
        let mut remaining: BTreeMap<NodeIndex, usize> = self
            .graph
            .node_indices()
            .map(|n| (n, self.graph.edges(n).count()))
            .collect();
        let mut ready: std::collections::BTreeSet<(&str, NodeIndex)> = remaining
            .iter()
            .filter(|&(_, &c)| c == 0)
            .map(|(&n, _)| (self.graph[n].as_str(), n))
            .collect();
        let mut out = Vec::with_capacity(self.graph.node_count());
        while let Some((name, n)) = ready.pop_first() {
            out.push(name.to_string());
            remaining.remove(&n);
            for e in self.graph.edges_directed(n, petgraph::Direction::Incoming) {
                let src = e.source();
                if let Some(c) = remaining.get_mut(&src) {
                    *c -= 1;
                    if *c == 0 {
                        ready.insert((self.graph[src].as_str(), src));
                    }
                }
            }
        }
        (out.len() == self.graph.node_count()).then_some(out)
    }

    /// The agents `agent` delegates to, sorted.
    pub fn delegates(&self, agent: &str) -> Vec<&str> {
        let Some(&n) = self.nodes.get(agent) else {
            return Vec::new();
        };
        let mut v: Vec<&str> = self
            .graph
            .edges(n)
            .map(|e| self.graph[e.target()].as_str())
            .collect();
        v.sort_unstable();
        v
    }

    /// The agents that delegate to `agent`, sorted.
    pub fn delegators(&self, agent: &str) -> Vec<&str> {
        let Some(&n) = self.nodes.get(agent) else {
            return Vec::new();
        };
        let mut v: Vec<&str> = self
            .graph
            .edges_directed(n, petgraph::Direction::Incoming)
            .map(|e| self.graph[e.source()].as_str())
            .collect();
        v.sort_unstable();
        v
    }

    /// A text rendering: each agent with the agents it delegates to, as a tree from the agents
    /// nobody delegates to.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let roots: Vec<&str> = self
            .nodes
            .keys()
            .map(String::as_str)
            .filter(|n| self.delegators(n).is_empty())
            .collect();
        let mut shown = std::collections::BTreeSet::new();
        for r in &roots {
            self.text_node(r, "", "", &mut out, &mut vec![], &mut shown);
        }
        // Agents only reachable through a cycle have no root; show them too.
        for n in self.nodes.keys() {
            if !shown.contains(n.as_str()) {
                self.text_node(n, "", "", &mut out, &mut vec![], &mut shown);
            }
        }
        out
    }

    fn text_node<'a>(
        &'a self,
        name: &'a str,
        prefix: &str,
        child_prefix: &str,
        out: &mut String,
        path: &mut Vec<&'a str>,
        shown: &mut std::collections::BTreeSet<&'a str>,
    ) {
        if path.contains(&name) {
            let _ = writeln!(out, "{prefix}{name} (cycle)");
            return;
        }
        let _ = writeln!(out, "{prefix}{name}");
        shown.insert(name);
        path.push(name);
        let ds = self.delegates(name);
        for (i, d) in ds.iter().enumerate() {
            let last = i + 1 == ds.len();
            let (p, c) = if last {
                ("└── ", "    ")
            } else {
                ("├── ", "│   ")
            };
            self.text_node(
                d,
                &format!("{child_prefix}{p}"),
                &format!("{child_prefix}{c}"),
                out,
                path,
                shown,
            );
        }
        path.pop();
    }

    /// A Graphviz DOT rendering.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph delegation {\n  rankdir=LR;\n  node [shape=box];\n");
        for name in self.nodes.keys() {
            let _ = writeln!(out, "  \"{name}\";");
        }
        for name in self.nodes.keys() {
            for d in self.delegates(name) {
                let _ = writeln!(out, "  \"{name}\" -> \"{d}\";");
            }
        }
        out.push_str("}\n");
        out
    }

    /// The edges as `(from, to)` pairs, sorted.
    pub fn edges(&self) -> Vec<(&str, &str)> {
        let mut v: Vec<(&str, &str)> = self
            .graph
            .edge_references()
            .map(|e| {
                (
                    self.graph[e.source()].as_str(),
                    self.graph[e.target()].as_str(),
                )
            })
            .collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(edges: &[(&str, &[&str])]) -> DelegationGraph {
        let owned: Vec<(String, Vec<String>)> = edges
            .iter()
            .map(|(a, ds)| (a.to_string(), ds.iter().map(|s| s.to_string()).collect()))
            .collect();
        DelegationGraph::new(owned.iter().map(|(a, d)| (a.as_str(), d.as_slice())))
    }

    #[test]
    fn spawn_order_puts_delegates_first() {
        let graph = g(&[
            ("plan", &["back", "front"]),
            ("back", &[]),
            ("front", &["back"]),
            ("z", &[]),
        ]);
        let order = graph.spawn_order().unwrap();
        let pos = |n: &str| order.iter().position(|x| x == n).unwrap();
        assert!(pos("back") < pos("front"));
        assert!(pos("front") < pos("plan"));
        assert_eq!(order.len(), 4);
        assert_eq!(order, vec!["back", "front", "plan", "z"]);
    }

    #[test]
    fn cycles_are_reported_with_their_path() {
        let graph = g(&[
            ("a", &["b"]),
            ("b", &["c"]),
            ("c", &["a"]),
            ("d", &["d"]),
            ("e", &[]),
        ]);
        assert_eq!(
            graph.cycles(),
            vec![vec!["a", "b", "c", "a"], vec!["d", "d"]]
        );
        assert!(graph.spawn_order().is_none());
    }

    #[test]
    fn text_and_dot() {
        let graph = g(&[("plan", &["back", "front"]), ("back", &[]), ("front", &[])]);
        let text = graph.to_text();
        assert_eq!(text, "plan\n├── back\n└── front\n");
        let dot = graph.to_dot();
        assert!(dot.contains("\"plan\" -> \"back\";"));
        assert!(dot.starts_with("digraph delegation {"));
    }
}
