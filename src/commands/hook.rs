//! `iw hook …`: the entry points Claude Code calls. `pre-tool-use` decides on a tool call and
//! always exits 0 or 2; `status` records what the agent is doing and never fails the agent;
//! `notify` (started detached by `status`) tells the person.

use std::io::Write as _;
use std::path::Path;

use crate::hook;
use crate::project;
use crate::status::activity::{self, Scope, State};
use crate::status::notify;
use crate::support::{Caller, Exit};

/// `iw hook pre-tool-use`: decides, prints the reason of a denial, returns 0 or 2.
pub fn pre_tool_use(opts: &hook::Options) -> i32 {
    // Whatever the input, end with 0 or 2 (Claude Code does not block on anything else): a
    // crash or a panic anywhere ends with the failure code, and a stderr that cannot be written
    // (closed, a broken pipe) changes nothing.
    let failure = if opts.fail_open { 0 } else { 2 };
    hook::guard::arm(hook::MEMORY_BUDGET, hook::TIME_BUDGET, failure);
    std::panic::catch_unwind(|| {
        let decision = hook::pre_tool_use(opts, std::io::stdin().lock());
        match &decision {
            hook::Decision::Deny(reason) | hook::Decision::AllowedOpen(reason) => {
                // One write (stderr is unbuffered).
                let _ = std::io::stderr().write_all(format!("{reason}\n").as_bytes());
            }
            hook::Decision::Allow => {}
        }
        decision.exit_code()
    })
    .unwrap_or(failure)
}

/// `iw hook status --agent A`: records the event on stdin; when the agent starts waiting for the
/// person, hands the notification to a detached `iw hook notify`. Always succeeds.
pub fn status(dir: Option<&Path>, agent: &str) -> Exit {
    let mut buf = Vec::new();
    let _ = std::io::Read::read_to_end(
        &mut std::io::Read::take(std::io::stdin().lock(), 1 << 20),
        &mut buf,
    );
    let scope = Scope::from_env();
    let recorded = project::resolve_root(dir)
        .and_then(|root| activity::record(&root, agent, &scope, &buf).map(|r| (root, r)));
    match recorded {
        Err(e) => eprintln!("iw hook status: {e}"),
        // The agent waits for the person: tell them, without keeping the agent waiting.
        Ok((root, Some(r))) if r.state == State::Waiting => {
            if let Ok(iw) = std::env::current_exe() {
                let event = notify::Event {
                    agent: agent.to_string(),
                    event: "waiting".into(),
                    message: r.message.unwrap_or_default(),
                    tenant: match scope {
                        Scope::Tenant(t) => Some(t),
                        _ => None,
                    },
                };
                notify::spawn(&iw, &root, &event);
            }
        }
        Ok(_) => {}
    }
    Exit::Success
}

/// `iw hook notify`: sends one notification. Always succeeds.
pub fn notify(dir: Option<&Path>, agent: &str, event: &str, message: &str) -> Exit {
    let Ok(root) = project::resolve_root(dir) else {
        return Exit::Success;
    };
    let event = notify::Event {
        agent: agent.to_string(),
        event: event.to_string(),
        message: message.to_string(),
        tenant: Caller::get().tenant().map(str::to_string),
    };
    notify::run(&root, &event);
    Exit::Success
}
