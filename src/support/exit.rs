//! Exit statuses, in one place: how each command's outcome, and every error, reaches the shell.
//!
//! 0 success; 1 an error of any kind ([`crate::support::Error`], usage errors included, so that a
//! typo is never mistaken for "changes present"); 2 changes present (`iw plan --exit-code`) or a
//! tool call denied (`iw hook pre-tool-use`); 3 a session not running (`iw session status`) or a
//! run that failed; 4 a run that was killed; 124 a wait that timed out (`iw runs wait`).

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything went as asked.
    Success,
    /// `iw plan --exit-code`: there are changes.
    Changes,
    /// `iw hook pre-tool-use`: the tool call is denied.
    Denied,
    /// `iw session status`: the session is not running.
    NotRunning,
    /// `iw runs wait`: a run failed (or timed out).
    RunFailed,
    /// `iw runs wait`: a run was killed.
    RunKilled,
    /// `iw runs wait --timeout`: the wait ended before the runs did.
    TimedOut,
    /// `iw doctor`: something an apply needs is missing (exit 1, like an error).
    Unhealthy,
    /// `iw runs exec`: the run's command's own status, passed through.
    Command(i32),
}

/// The status of every error.
pub const ERROR: i32 = 1;

impl Exit {
    /// The exit status.
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::Unhealthy => ERROR,
            Exit::Changes | Exit::Denied => 2,
            Exit::NotRunning | Exit::RunFailed => 3,
            Exit::RunKilled => 4,
            Exit::TimedOut => 124,
            Exit::Command(c) => c,
        }
    }
}

/// Keeps `value` until the process exits, instead of freeing it: for what a command holds to its
/// end (a large project and its plan are about a million allocations at 10 000 agents, ~0.1 s to
/// free one by one), when iw exits right after and the system takes the memory back whole.
pub fn keep_until_exit<T>(value: T) {
    std::mem::forget(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_codes() {
        assert_eq!(Exit::Success.code(), 0);
        assert_eq!(Exit::Changes.code(), 2);
        assert_eq!(Exit::Denied.code(), 2);
        assert_eq!(Exit::NotRunning.code(), 3);
        assert_eq!(Exit::RunKilled.code(), 4);
        assert_eq!(Exit::TimedOut.code(), 124);
        assert_eq!(Exit::Command(7).code(), 7);
    }
}
