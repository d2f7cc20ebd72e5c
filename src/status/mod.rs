//! What the agents are doing, as Claude Code reports it through iw's status hook, and telling the
//! person when one needs them.

pub mod activity;
pub mod notify;
pub mod sessions;
