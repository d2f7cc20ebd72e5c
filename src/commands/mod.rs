//! One module per command: each calls the engine and hands the result to a view. Only here (and in
//! the live UI, [`crate::watch`]) does iw print.

pub mod apply;
pub mod completions;
pub mod doctor;
pub mod graph;
pub mod handoff;
pub mod hook;
pub mod init;
pub mod load;
pub mod place;
pub mod plan;
pub mod remote;
pub mod run;
pub mod runs;
pub mod runs_remote;
pub mod session;
pub mod trust;
pub mod validate;
