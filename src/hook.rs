//! `iw hook pre-tool-use`: the enforcement point Claude Code calls before every tool use.
//!
//! Claude Code writes the tool call as JSON on stdin. Exit 0 allows it; exit 2 with a reason on
//! stderr denies it (any other non-zero exit does *not* block, so iw never uses one here).

use std::io::Read as _;

/// The largest hook input read; larger input is refused.
pub const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// The hook's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the tool run.
    Allow,
    /// Block it; the reason is shown to the agent.
    Deny(String),
}

impl Decision {
    /// The process exit code Claude Code understands: 0 allow, 2 deny.
    pub fn exit_code(&self) -> i32 {
        match self {
            Decision::Allow => 0,
            Decision::Deny(_) => 2,
        }
    }
}

/// Reads the hook input from `input` and decides. Until policies are compiled, every well-formed
/// call is allowed.
pub fn pre_tool_use(_agent: &str, mut input: impl std::io::Read) -> Decision {
    let mut buf = Vec::new();
    if let Err(e) = (&mut input).take(MAX_INPUT + 1).read_to_end(&mut buf) {
        return Decision::Deny(format!(
            "iw hook: cannot read the tool call from stdin: {e}"
        ));
    }
    if buf.len() as u64 > MAX_INPUT {
        return Decision::Deny("iw hook: the tool call is larger than 16 MiB; refused".into());
    }
    Decision::Allow
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_and_reads_stdin() {
        assert_eq!(pre_tool_use("a", &b"{}"[..]), Decision::Allow);
        assert_eq!(Decision::Deny("x".into()).exit_code(), 2);
    }
}
