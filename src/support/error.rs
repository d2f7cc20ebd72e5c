//! The crate's one error type and the exit codes of the command line, in one place.

use std::fmt;
use std::path::{Path, PathBuf};

use super::diag::Diagnostic;

/// The crate's error type. A caller can tell invalid input, a failed file operation, tmux failing,
/// iw refusing to act, and something that does not exist apart; every one exits 1
/// ([`Error::exit_code`]).
#[derive(Debug)]
pub enum Error {
    /// The input is invalid; every problem found is listed.
    Invalid(Vec<Diagnostic>),
    /// iw declined to act (no confirmation, a stale plan, drift, a quota, an unsafe target), and
    /// changed nothing.
    Refused {
        /// What iw did not do, and why.
        message: String,
        /// What to do next.
        help: String,
    },
    /// What was named does not exist (an agent, a tenant, a run, a session).
    NotFound {
        /// What was not found.
        message: String,
        /// What exists, or what to do.
        help: String,
    },
    /// tmux failed, or is not installed.
    Tmux {
        /// The socket (`tmux -L`).
        socket: String,
        /// What tmux said.
        message: String,
        /// What to do, when known.
        help: Option<String>,
    },
    /// A file system operation failed.
    Io {
        /// What iw was doing ("read", "write", ...).
        action: &'static str,
        /// The path it was doing it to.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Anything else, with what to do about it.
    Other {
        /// What went wrong.
        message: String,
        /// What to do next.
        help: Option<String>,
    },
}

impl Error {
    /// An error with a message and no advice.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::Other {
            message: message.into(),
            help: None,
        }
    }

    /// An error with a message and advice.
    pub fn with_help(message: impl Into<String>, help: impl Into<String>) -> Self {
        Error::Other {
            message: message.into(),
            help: Some(help.into()),
        }
    }

    /// iw declined to act, changing nothing.
    pub fn refused(message: impl Into<String>, help: impl Into<String>) -> Self {
        Error::Refused {
            message: message.into(),
            help: help.into(),
        }
    }

    /// Something named does not exist.
    pub fn not_found(message: impl Into<String>, help: impl Into<String>) -> Self {
        Error::NotFound {
            message: message.into(),
            help: help.into(),
        }
    }

    /// The exit status of every error ([`super::exit::ERROR`]).
    pub fn exit_code(&self) -> i32 {
        super::exit::ERROR
    }

    /// Wraps an I/O error with the action and path it concerns.
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// The error as a list of diagnostics, for rendering.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            Error::Invalid(d) => d.clone(),
            Error::Io {
                action,
                path,
                source,
            } => {
                let mut d =
                    Diagnostic::error(format!("cannot {action} {}: {source}", path.display()));
                if source.kind() == std::io::ErrorKind::PermissionDenied {
                    d = d.help("check the file's owner and permissions");
                }
                vec![d]
            }
            Error::Other { message, help } => {
                let mut d = Diagnostic::error(message.clone());
                d.help = help.clone();
                vec![d]
            }
            Error::Refused { message, help } | Error::NotFound { message, help } => {
                vec![Diagnostic::error(message.clone()).help(help.clone())]
            }
            Error::Tmux {
                socket,
                message,
                help,
            } => {
                let mut d = Diagnostic::error(format!("tmux -L {socket}: {message}"));
                d.help = help.clone();
                vec![d]
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let diags = self.diagnostics();
        for (i, d) in diags.iter().filter(|d| d.is_error()).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match (&d.file, d.line, d.column) {
                (Some(file), Some(l), Some(c)) => write!(f, "{file}:{l}:{c}: {}", d.headline())?,
                (Some(file), _, _) => write!(f, "{file}: {}", d.headline())?,
                _ => write!(f, "{}", d.headline())?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Shorthand for results carrying [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_joins_error_headlines() {
        let e = Error::Invalid(vec![
            Diagnostic::error("one").in_file("f.yaml"),
            Diagnostic::warning("ignored"),
            Diagnostic::error("two").agent("b"),
        ]);
        assert_eq!(e.to_string(), "f.yaml: one\nagent `b`: two");
    }
}
