//! iw's integration tests, one binary: each module drives the real `iw` binary (assert_cmd)
//! against temporary projects, with real tmux on a private socket per test, the real Claude Code
//! CLI offline against a mock API, and real OpenSSH servers on 127.0.0.1 where they need them.
//! [`common`] holds the fixtures and the small builder most tests start from.
//!
//! Run one module with `cargo test --test it MODULE::` (e.g. `cargo test --test it watch::`).

mod architecture;
mod claude_e2e;
mod claude_interactive;
mod cli;
mod common;
mod fast_path;
mod handoff;
mod hook;
mod hosts;
mod hosts_runs;
mod hosts_ssh;
mod init_doctor;
mod reconcile;
mod remote;
mod runs;
mod sessions;
mod tenants;
mod validate;
mod watch;
