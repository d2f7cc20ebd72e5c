//! iw: a declarative reconciler for a team of Claude Code agents, each in its own tmux session
//! and fenced to the files and tools its role allows.
//!
//! Desired state is `agents/registry.yaml` (+ templates); actual state is the files on disk and
//! the lockfile `state/iw.lock`. [`plan::compute`] shows the difference as plain data,
//! [`apply::apply`] converges, and [`hook`] is the enforcement point Claude Code calls before
//! every tool use.

#![warn(missing_docs)]

pub mod activity;
pub mod apply;
pub mod claude;
pub mod cli;
pub mod completions;
pub mod diag;
pub mod doctor_cmd;
pub mod fsutil;
pub mod graph;
pub mod graph_svg;
pub mod guard;
pub mod handoff;
pub mod hook;
pub mod init_cmd;
pub mod lock;
pub mod noop;
pub mod notify;
pub mod pattern;
pub mod plan;
pub mod policy;
pub mod project;
pub mod registry;
pub mod render;
pub mod run_cmd;
pub mod runs;
pub mod saved;
pub mod session_cmd;
pub mod sessions;
pub mod shell;
pub mod synth;
pub mod tmux;
pub mod trust_cmd;
pub mod ui;
pub mod watch;
pub mod yaml;
