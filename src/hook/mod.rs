//! `iw hook pre-tool-use`: the enforcement point Claude Code calls before every tool use.
//!
//! Claude Code writes the tool call as JSON on stdin. Exit 0 allows it; exit 2 with a reason on
//! stderr denies it (any other non-zero exit does *not* block, so iw never uses one here).
//!
//! The hook loads the agent's compiled policy (`agents/<name>/.claude/iw-policy.json`) only after
//! checking its SHA-256 against `state/iw.lock`, so an edited policy is never obeyed ([`load`]).
//! When it cannot decide — unreadable or malformed input, no lockfile, a missing or tampered
//! policy, a command it cannot analyse, an internal error — it blocks the call and says why,
//! unless the registry opted into `hook_failure: open`, which allows it with a warning. If `IW_HOOK_LOG`
//! names a file, every decision is appended to it as one JSON line. [`guard`] bounds its memory
//! and time, so that whatever happens it ends with exit 0 or 2.

pub mod guard;
pub mod load;

use std::io::Write as _;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::policy::{Env, Policy, ToolCall, Verdict};

pub use load::{LoadError, load_policy};

/// The largest hook input read; larger input is refused.
pub const MAX_INPUT: u64 = 16 * 1024 * 1024;
/// Memory the hook may use beyond what it holds at start (see `guard`).
pub const MEMORY_BUDGET: usize = 512 * 1024 * 1024;
/// Time the hook may take before it gives up and blocks the call (see `guard`).
pub const TIME_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// The hook's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the tool run.
    Allow,
    /// Block it; the reason is shown to the agent.
    Deny(String),
    /// The hook could not decide and `hook_failure: open` lets the call through; the warning says
    /// why.
    AllowedOpen(String),
}

impl Decision {
    /// The process exit code Claude Code understands: 0 allow, 2 deny.
    pub fn exit_code(&self) -> i32 {
        match self {
            Decision::Allow | Decision::AllowedOpen(_) => 0,
            Decision::Deny(_) => 2,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny(_) => "deny",
            Decision::AllowedOpen(_) => "allow_open",
        }
    }
}

/// How the hook was called.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The agent making the call (`--agent`).
    pub agent: String,
    /// The project root (`-C`); without it the hook cannot find the policy.
    pub root: Option<PathBuf>,
    /// `--on-failure open`: allow when the hook cannot decide.
    pub fail_open: bool,
}

/// The fields of Claude Code's PreToolUse input that iw reads.
#[derive(Debug, Deserialize)]
struct Input {
    tool_name: String,
    #[serde(default)]
    tool_input: serde_json::Value,
    #[serde(default)]
    cwd: Option<String>,
}

/// Why the hook could not decide, and whether the policy (if it was loaded) opted into failing
/// open.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub reason: String,
    /// True if the verified policy says `hook_failure: open`.
    pub policy_open: bool,
}

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Failure {
            reason,
            policy_open: false,
        }
    }
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        Failure::from(e.to_string())
    }
}

/// Reads the tool call from `input` and decides. Never panics: an internal error is a failure
/// to decide, which blocks unless failing open was chosen.
pub fn pre_tool_use(opts: &Options, input: impl std::io::Read) -> Decision {
    crate::hook::guard::reading_input(true);
    let mut buf = Vec::new();
    let read = read_call(input, &mut buf);
    crate::hook::guard::reading_input(false);
    let mut tool = String::new();
    let outcome = match read {
        Err(e) => Err(Failure::from(format!(
            "cannot read the tool call from stdin: {e}"
        ))),
        Ok(_) if buf.len() as u64 > MAX_INPUT => Err(Failure::from(
            "the tool call is larger than 16 MiB".to_string(),
        )),
        Ok(_) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            evaluate(opts, &buf, &mut tool)
        }))
        .unwrap_or_else(|_| {
            Err(Failure::from(
                "internal error in iw's hook (a bug: please report it)".to_string(),
            ))
        }),
    };
    let decision = match outcome {
        Ok(Verdict::Allow) => Decision::Allow,
        Ok(Verdict::Deny(reason)) => Decision::Deny(reason),
        Ok(Verdict::Undecided(reason)) => fail(opts, reason, true),
        Err(f) => fail(opts, format!("iw hook: {}", f.reason), f.policy_open),
    };
    log(opts, &tool, &decision);
    decision
}

/// Reads the tool call into `buf`: up to the end of the first JSON value, without waiting for
/// the end of the input (a writer that keeps stdin open does not hold the decision up), or up
/// to the end of the input when it is not JSON; at most [`MAX_INPUT`] + 1 bytes.
fn read_call(input: impl std::io::Read, buf: &mut Vec<u8>) -> std::io::Result<()> {
    /// Keeps a copy of every byte read.
    struct Tee<'a, R> {
        inner: R,
        copy: &'a mut Vec<u8>,
    }
    impl<R: std::io::Read> std::io::Read for Tee<'_, R> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(out)?;
            self.copy.extend_from_slice(&out[..n]);
            Ok(n)
        }
    }
    let tee = Tee {
        inner: input.take(MAX_INPUT + 1),
        copy: buf,
    };
    // Small: the buffer is zeroed before the first read (16 KiB is four pages to fault in; a
    // larger call takes a few more reads).
    let reader = std::io::BufReader::with_capacity(16 * 1024, tee);
    let mut values =
        serde_json::Deserializer::from_reader(reader).into_iter::<serde::de::IgnoredAny>();
    match values.next() {
        // Not JSON (or truncated): the error is reported when the bytes read are parsed.
        Some(Err(e)) if e.is_io() => Err(e.into()),
        _ => Ok(()),
    }
}

fn fail(opts: &Options, reason: String, policy_open: bool) -> Decision {
    if opts.fail_open || policy_open {
        Decision::AllowedOpen(format!(
            "{reason} (allowed: hook_failure is `open` in the registry)"
        ))
    } else {
        Decision::Deny(format!(
            "{reason}. The call was blocked because iw's hook fails closed; fix the cause \
             (usually: run `iw apply`), or set `hook_failure: open` in the registry to allow \
             calls the hook cannot check."
        ))
    }
}

/// Decides on one raw tool call without catching panics (the fuzz target calls this). `tool_out`
/// receives the tool's name once the input parses. `Err` means the hook could not decide.
pub fn evaluate(opts: &Options, buf: &[u8], tool_out: &mut String) -> Result<Verdict, Failure> {
    let input: Input = serde_json::from_slice(buf).map_err(|e| {
        format!("the tool call on stdin is not Claude Code's PreToolUse JSON ({e})")
    })?;
    tool_out.clone_from(&input.tool_name);
    let root = opts.root.as_deref().ok_or_else(|| {
        "no project root: the hook command must be `iw -C ROOT hook …`".to_string()
    })?;
    let root = std::fs::canonicalize(root)
        .map_err(|e| format!("the project root {} is not usable: {e}", root.display()))?;
    let doc = load_policy(&root, &opts.agent)?;
    let policy_open = doc.hook_failure == crate::model::registry::HookFailure::Open;
    let policy = Policy::new(doc).map_err(|e| Failure {
        reason: format!("{}'s policy does not compile: {e}", opts.agent),
        policy_open,
    })?;
    let cwd = match input.cwd.as_deref() {
        Some(c) if Path::new(c).is_absolute() => PathBuf::from(c),
        Some(c) => root.join(c),
        None => std::env::current_dir().unwrap_or_else(|_| root.clone()),
    };
    let env = Env {
        root,
        cwd,
        home: crate::support::Caller::get().home(),
        run_result: crate::support::Caller::get()
            .run_id()
            .filter(|id| crate::runs::valid_id(id))
            .map(|id| {
                format!(
                    "{}/{id}/{}",
                    crate::runs::RUNS_DIR,
                    crate::runs::RESULT_FILE
                )
            }),
    };
    let call = ToolCall {
        tool: &input.tool_name,
        input: &input.tool_input,
    };
    match policy.decide(&call, &env) {
        Verdict::Undecided(reason) => Err(Failure {
            reason,
            policy_open,
        }),
        v => Ok(v),
    }
}

/// Appends the decision to `$IW_HOOK_LOG`, if set. Logging never changes the decision.
fn log(opts: &Options, tool: &str, decision: &Decision) {
    let Some(path) = crate::support::Caller::get().hook_log() else {
        return;
    };
    let reason = match decision {
        Decision::Allow => None,
        Decision::Deny(r) | Decision::AllowedOpen(r) => Some(r.as_str()),
    };
    let mut line = serde_json::json!({
        "agent": opts.agent,
        "tool": tool,
        "decision": decision.label(),
        "reason": reason,
    })
    .to_string();
    line.push('\n');
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn opts(root: &Path) -> Options {
        Options {
            agent: "worker".into(),
            root: Some(root.to_path_buf()),
            fail_open: false,
        }
    }

    #[test]
    fn without_a_lockfile_everything_is_denied_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let d = pre_tool_use(
            &opts(dir.path()),
            &br#"{"tool_name":"Read","tool_input":{"file_path":"/x"}}"#[..],
        );
        assert!(
            matches!(&d, Decision::Deny(r) if r.contains("iw apply")),
            "{d:?}"
        );
        assert_eq!(d.exit_code(), 2);
        let open = Options {
            fail_open: true,
            ..opts(dir.path())
        };
        assert_eq!(pre_tool_use(&open, &b"{"[..]).exit_code(), 0);
    }

    proptest! {
        /// Whatever arrives on stdin, the hook answers 0 or 2 and never panics.
        #[test]
        fn any_input_gets_an_answer(data in prop::collection::vec(any::<u8>(), 0..512),
                                    json in "\\{\"tool_name\":\"[A-Za-z_]{0,12}\",\"tool_input\":\\{\"file_path\":\"[./a-z]{0,20}\"\\}\\}") {
            let dir = tempfile::tempdir().unwrap();
            for input in [&data[..], json.as_bytes()] {
                let mut tool = String::new();
                let _ = evaluate(&opts(dir.path()), input, &mut tool);
                let code = pre_tool_use(&opts(dir.path()), input).exit_code();
                prop_assert!(code == 0 || code == 2);
            }
        }
    }
}
