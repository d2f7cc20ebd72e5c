//! The small builder most integration tests can start from: a project (a registry, files,
//! optionally sessions on a private tmux server of its own), then `iw` runs with what they must
//! give.
//!
//! ```ignore
//! let c = Case::registry(SMALL).sessions("command: sleep 100\nsessions:\n  worker: {}\n");
//! c.iw(&["apply", "--yes"]).success().stdout(contains("+ session iw-worker"));
//! assert_eq!(c.live(), ["iw-worker"]);
//! ```

use assert_cmd::assert::Assert;

use super::{TempProject, TmuxServer};

/// A project under test, and the tmux server its sessions run on (killed when dropped).
pub struct Case {
    /// The project.
    pub p: TempProject,
    /// Its private tmux server, once it has sessions.
    pub tmux: Option<TmuxServer>,
}

impl Case {
    /// A project whose registry is `yaml`.
    pub fn registry(yaml: &str) -> Case {
        Case {
            p: TempProject::with_registry(yaml),
            tmux: None,
        }
    }

    /// A copy of `examples/<name>`.
    pub fn example(name: &str) -> Case {
        Case {
            p: TempProject::example(name),
            tmux: None,
        }
    }

    /// Adds sessions.yaml: `socket:` (a private server's) followed by `body`.
    pub fn sessions(mut self, body: &str) -> Case {
        let srv = TmuxServer::new();
        self.p
            .write("sessions.yaml", &format!("socket: {}\n{body}", srv.socket));
        self.tmux = Some(srv);
        self
    }

    /// Writes a file of the project.
    pub fn file(self, rel: &str, content: &str) -> Case {
        self.p.write(rel, content);
        self
    }

    /// Runs `iw -C <root> ARGS` (colours off), for assertions.
    pub fn iw(&self, args: &[&str]) -> Assert {
        self.p.iw().args(args).assert()
    }

    /// The sessions on the project's tmux server, sorted.
    pub fn live(&self) -> Vec<String> {
        self.tmux.as_ref().map(|t| t.sessions()).unwrap_or_default()
    }
}
