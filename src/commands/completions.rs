//! Shell completions and the man page, both generated from iw's clap definitions.
//!
//! `iw completions SHELL` prints a small registration script for clap_complete's dynamic engine:
//! at each TAB the shell calls iw back (with `COMPLETE=<shell>` set), which answers from the
//! command definitions, and with the agent names of the project's registry where an argument
//! names an agent.

use std::io::Write as _;

use clap::ValueEnum;
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use crate::support::Exit;
use crate::support::error::{Error, Result};

/// The environment variable that asks iw for completions instead of running a command.
pub const VAR: &str = "COMPLETE";

/// A shell iw writes completions for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// GNU Bash
    Bash,
    /// Z shell
    Zsh,
    /// fish
    Fish,
    /// PowerShell
    Powershell,
    /// Elvish
    Elvish,
}

/// Answers a completion request and exits, when the shell made one (`COMPLETE` is set);
/// otherwise returns at once. `cli` builds the command line's definition.
pub fn answer_if_asked(cli: fn() -> clap::Command) {
    if crate::support::Caller::get().var(VAR).is_some() {
        clap_complete::CompleteEnv::with_factory(cli)
            .var(VAR)
            .bin("iw")
            .complete();
    }
}

/// `iw completions SHELL`: prints the registration script.
pub fn run(shell: Shell) -> Result<Exit> {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Powershell => &Powershell,
        Shell::Elvish => &Elvish,
    };
    // The shell calls this very binary back, so completion works wherever it is installed.
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map_or_else(|| "iw".to_string(), |p| p.to_string_lossy().into_owned());
    let mut out = Vec::new();
    completer
        .write_registration(VAR, "iw", "iw", &exe, &mut out)
        .map_err(|e| Error::msg(format!("cannot write the completion script: {e}")))?;
    std::io::stdout()
        .write_all(&out)
        .map_err(|e| Error::msg(format!("cannot print the completion script: {e}")))?;
    Ok(Exit::Success)
}

/// `iw man`: prints the man page (roff) of the command line `cli`.
pub fn man(cli: clap::Command) -> Result<Exit> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cli)
        .render(&mut out)
        .map_err(|e| Error::msg(format!("cannot render the man page: {e}")))?;
    std::io::stdout()
        .write_all(&out)
        .map_err(|e| Error::msg(format!("cannot print the man page: {e}")))?;
    Ok(Exit::Success)
}

/// The agents of the project in the current directory (or `$IW_ROOT`), for completing an
/// argument that names one. Nothing when there is no readable, valid registry.
pub fn agent_candidates() -> Vec<CompletionCandidate> {
    let Ok(root) = crate::project::resolve_root(None) else {
        return Vec::new();
    };
    let path = root.join(crate::project::REGISTRY_PATH);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    match crate::model::registry::parse(crate::project::REGISTRY_PATH, &text) {
        Ok((registry, _)) => registry
            .agents
            .values()
            .map(|a| CompletionCandidate::new(&a.name).help(Some(a.description.clone().into())))
            .collect(),
        Err(_) => Vec::new(),
    }
}
