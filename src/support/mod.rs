//! What every part of iw uses: the error type and exit codes, diagnostics, file operations that
//! cannot half-happen, and who is calling (read once from the environment).

pub mod backups;
pub mod caller;
pub mod diag;
pub mod error;
pub mod exit;
pub mod fsutil;
pub mod json;
pub mod layout;
pub mod lines;
pub mod packed;
pub mod parallel;
pub mod realdir;

pub use caller::Caller;
pub use error::{Error, Result};
pub use exit::Exit;
