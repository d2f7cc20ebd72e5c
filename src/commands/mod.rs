//! One module per command: each calls the engine and hands the result to a view.

pub mod completions;
pub mod doctor;
pub mod init;
pub mod run;
pub mod session;
pub mod trust;
