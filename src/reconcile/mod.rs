//! Reconciling: what the agents' files and sessions should be (render), what they are (the
//! lockfile, the disk, tmux), the difference as plain data (the plan), and apply, which carries a
//! plan out.

pub mod apply;
pub mod lock;
pub mod noop;
pub mod plan;
pub mod render;
pub mod saved;
