//! Who is calling iw, from where: the environment, read once, through one type.
//!
//! iw runs as a person's command, as an agent's hook, inside an agent's session or task run, and
//! in tests; what tells them apart is the environment iw itself sets in sessions and runs
//! (`IW_AGENT`, `IW_ROOT`, `IW_TENANT`, `IW_RUN_ID`) and a few variables of the machine. Engine
//! code asks [`Caller`], never `std::env`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The calling environment: a snapshot of the variables iw reads.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    vars: HashMap<String, String>,
}

impl Caller {
    /// The process's caller, read from the environment on first use.
    pub fn get() -> &'static Caller {
        static CALLER: OnceLock<Caller> = OnceLock::new();
        CALLER.get_or_init(|| Caller {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        })
    }

    /// A caller with exactly these variables (tests).
    pub fn with(vars: &[(&str, &str)]) -> Caller {
        Caller {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// A variable, if set and not empty.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The agent whose session or run this runs in (`IW_AGENT`, set by iw).
    pub fn agent(&self) -> Option<&str> {
        self.var("IW_AGENT")
    }

    /// The task run this runs in (`IW_RUN_ID`, set by iw).
    pub fn run_id(&self) -> Option<&str> {
        self.var("IW_RUN_ID")
    }

    /// The tenant whose session this runs in (`IW_TENANT`, set by iw).
    pub fn tenant(&self) -> Option<&str> {
        self.var("IW_TENANT")
    }

    /// The project root of the session or run this runs in (`IW_ROOT`, set by iw).
    pub fn root(&self) -> Option<PathBuf> {
        self.var("IW_ROOT").map(PathBuf::from)
    }

    /// Who acts, for the audit log: the agent, else the login name.
    pub fn actor(&self) -> String {
        match self.agent() {
            Some(a) => format!("agent:{a}"),
            None => match self.var("USER").or_else(|| self.var("LOGNAME")) {
                Some(u) => format!("user:{u}"),
                // SAFETY: getuid cannot fail.
                None => format!("uid:{}", unsafe { libc::getuid() }),
            },
        }
    }

    /// The home directory.
    pub fn home(&self) -> Option<PathBuf> {
        self.var("HOME").map(PathBuf::from)
    }

    /// `IW_HOOK_LOG`: a file the hook appends each decision to.
    pub fn hook_log(&self) -> Option<PathBuf> {
        self.var("IW_HOOK_LOG").map(PathBuf::from)
    }

    /// The tmux binary: `IW_TMUX`, else `tmux` on the PATH.
    pub fn tmux_bin(&self) -> PathBuf {
        self.var("IW_TMUX")
            .map_or_else(|| PathBuf::from("tmux"), PathBuf::from)
    }

    /// `TMUX`: set inside a tmux pane (`<socket path>,<pid>,<session>`).
    pub fn inside_tmux(&self) -> Option<&str> {
        self.var("TMUX")
    }

    /// tmux's directory for its sockets: `TMUX_TMPDIR`, else `/tmp`.
    pub fn tmux_tmpdir(&self) -> PathBuf {
        self.var("TMUX_TMPDIR")
            .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
    }

    /// `SOURCE_DATE_EPOCH`: a fixed time for reproducible output.
    pub fn source_date_epoch(&self) -> Option<&str> {
        self.var("SOURCE_DATE_EPOCH")
    }

    /// `IW_NO_FAST_PATH`: plan without the lockfile's proof of no changes.
    pub fn no_fast_path(&self) -> bool {
        self.vars.contains_key("IW_NO_FAST_PATH")
    }

    /// `IW_TEST_DIR_HOSTS`: reach every host of sessions.yaml as a directory here (its `root`)
    /// with this machine's tmux on sockets suffixed by its name, instead of over SSH: the
    /// integration tests' way to drive other hosts without sshd ([`crate::remote::DirLink`]).
    pub fn test_dir_hosts(&self) -> bool {
        self.vars.contains_key("IW_TEST_DIR_HOSTS")
    }

    /// `IW_TEST_ABORT_AFTER=N`: the crash-safety tests' way to abort an apply after N changes, as
    /// `kill -9` would.
    pub fn test_abort_after(&self) -> Option<usize> {
        self.var("IW_TEST_ABORT_AFTER").and_then(|v| v.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_variables_are_unset_and_the_actor_is_named() {
        let c = Caller::with(&[("IW_AGENT", ""), ("USER", "ann")]);
        assert_eq!(c.agent(), None);
        assert_eq!(c.actor(), "user:ann");
        assert_eq!(Caller::with(&[("IW_AGENT", "qa")]).actor(), "agent:qa");
        assert_eq!(Caller::with(&[]).tmux_bin(), PathBuf::from("tmux"));
        assert!(Caller::with(&[("IW_NO_FAST_PATH", "")]).no_fast_path());
    }
}
