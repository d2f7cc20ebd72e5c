//! iw: a declarative reconciler for a team of Claude Code agents, each in its own tmux session
//! and fenced to the files and tools its role allows.
//!
//! Desired state is `agents/registry.yaml` (+ templates, sessions.yaml): read and validated by
//! [`model`], loaded and rendered into each agent's files by [`project`]. Actual state is the
//! files on disk, the lockfile `state/iw.lock` and the tmux sessions; [`reconcile`]
//! computes the difference as plain data ([`reconcile::plan`]) and carries it out
//! ([`reconcile::apply`]). [`hook`] is the enforcement point Claude Code calls before every tool
//! use, deciding with [`policy`]. The command line is [`cli`] → [`commands`] → [`views`].

#![warn(missing_docs)]

pub mod claude;
pub mod cli;
pub mod commands;
pub mod hook;
pub mod model;
pub mod policy;
pub mod project;
pub mod reconcile;
pub mod remote;
pub mod runs;
pub mod status;
pub mod support;
pub mod tmux;
pub mod views;
pub mod watch;
