//! Per-agent policies: compiled from the registry by apply into `agents/<name>/.claude/iw-policy.json`
//! (a generated file covered by the lockfile), and enforced by `iw hook pre-tool-use`.
//!
//! A policy says which tools an agent may use, whom it may delegate to, which paths it may not
//! write (its `cannot_access`, every other agent's `exclusive_access`, and iw's protected paths)
//! or read (`cannot_read`), which shell commands it may not run (`deny_commands`) and which paths
//! outside the project it may write (`write_outside_root`).
//!
//! - [`doc`]: the policy document ([`PolicyDoc`]) and its compilation from the registry;
//! - [`paths`]: where a path really is ([`resolve`], like the kernel), and iw's protected paths;
//! - [`decide`]: a compiled [`Policy`] deciding on one tool call, per kind of tool;
//! - `check`: one path read or written, against the policy's rules, and the denial's wording;
//! - [`shell`]: what a Bash command reads, writes and runs, by static analysis.
//!
//! Paths are never matched as strings: [`resolve`] makes a path absolute against the tool call's
//! `cwd`, follows every symlink in the part that exists, removes `.` and `..`, and only then makes
//! it relative to the (canonical) project root for gitignore-style matching.

mod check;
pub mod decide;
pub mod doc;
pub mod paths;
pub mod shell;

#[cfg(test)]
mod tests;

/// The registry's glob patterns, kept here for callers that compiled them through the policy.
pub use crate::model::pattern::{GlobError, command_glob, outside_glob};
pub use decide::{Env, Policy, PolicyError, ToolCall, Verdict};
pub use doc::{
    POLICY_FILE, POLICY_VERSION, PathRule, PolicyDoc, RuleKind, Shared, compile, compile_with,
    policy_path, render_json,
};
pub use paths::{PROTECTED, PathError, Resolved, protected_patterns, realpath, resolve};
