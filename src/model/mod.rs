//! The desired state, as read and validated from the user's files: the registry of agents, the
//! sessions, the templates, access patterns, the delegation graph, typed handoffs. The readers share one YAML toolkit ([`yaml`]) and one diagnostic collector
//! ([`diagnostics`]).

pub mod diagnostics;
pub mod graph;
pub mod handoff;
pub mod pattern;
pub mod registry;
pub mod sessions;
pub mod simple_glob;
pub mod templates;
pub mod yaml;
