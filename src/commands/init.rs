//! `iw init`: starts an iw project in a directory — a commented registry with a planner and a
//! specialist (or one copied from an existing registry), a commented sessions.yaml, persona files
//! and the `.gitignore` entries for iw's runtime state — then says what to run next.
//!
//! It never overwrites: an existing registry or sessions.yaml is a refusal (exit 1, nothing
//! written); an existing persona file is kept; `.gitignore` only gains the lines it lacks.

use std::path::{Path, PathBuf};

use crate::model::registry::Registry;
use crate::model::sessions::SESSIONS_PATH;
use crate::project::REGISTRY_PATH;
use crate::support::Exit;
use crate::support::error::{Error, Result};
use crate::support::fsutil;

/// The registries bundled with iw, usable as `--from NAME` (or `--from examples/NAME`).
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "pilot",
        include_str!("../../examples/pilot/agents/registry.yaml"),
    ),
    (
        "instructor-workflow",
        include_str!("../../examples/instructor-workflow/agents/registry.yaml"),
    ),
];

/// What `.gitignore` should hold for iw's runtime state (state/README.md).
pub const IGNORED: &[&str] = &[
    "/state/backups/",
    "/state/runs/",
    "/state/activity/",
    "/state/apply.lock",
    "/state/audit.log",
];

const STARTER: &str = "\
# The team iw runs (docs/registry.md). Each agent runs as its own Claude Code, fenced to the
# tools and paths below by iw's hook. After an edit: `iw validate`, `iw plan`, `iw apply`.
agents:
  planner:
    name: planner                       # must equal the key; also agents/planner/
    display_name: Planner
    description: Breaks requests into tasks and hands each to a specialist
    model: opus                         # opus, sonnet, haiku, or a full claude-… model id
    tools: [Read, Glob, Grep, Task, TodoWrite]
    delegates_to: [developer]           # whom it may hand work to: iw run developer --task FILE
    cannot_access: [src/**, tests/**]   # it plans; it does not write code or tests
    responsibilities:
      - Break each request into tasks with clear acceptance criteria
      - Hand implementation to the developer and review what comes back
    forbidden:
      - Writing code or tests itself
  developer:
    name: developer
    display_name: Developer
    description: Implements the planner's tasks
    model: sonnet
    tools: [Bash, Read, Write, Edit, Glob, Grep]
    cannot_access: [tests/**, '.github/**'] # people own the tests and the CI
    exclusive_access: [src/**]          # only this agent may write src/
    responsibilities:
      - Implement each task in src/, with the smallest change that meets its criteria
    forbidden:
      - Changing tests to make them pass
";

/// A persona file for an agent, from its registry entry.
fn persona(display_name: &str, description: &str) -> String {
    format!(
        "# {display_name}\n\n{description}.\n\n\
         <!-- This is the agent's persona: how it works, what it cares about, what good work \
         looks like in this project. Claude Code reads it at start (the agent's generated \
         CLAUDE.md imports it). Edit it freely; iw never overwrites it. -->\n"
    )
}

/// The registry text `--from` names: a bundled example (`pilot`, `examples/pilot`), a registry
/// file, or a directory holding `agents/registry.yaml`.
fn from_source(from: &Path) -> Result<(String, String)> {
    if from.exists() {
        let file = if from.is_dir() {
            from.join(REGISTRY_PATH)
        } else {
            from.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io("read", &file, e))?;
        return Ok((text, file.display().to_string()));
    }
    let name = from
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match EXAMPLES.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => Ok((text.to_string(), format!("iw's bundled example `{n}`"))),
        None => Err(Error::with_help(
            format!(
                "--from {}: no such file, directory or example",
                from.display()
            ),
            format!(
                "give a registry file, a project directory, or one of iw's examples: {}",
                EXAMPLES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A tmux socket name for the project at `root`: `iw-<directory name>`, so that two projects on
/// one machine do not share a server.
fn socket_for(root: &Path) -> String {
    let base: String = root
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    let base = base.trim_matches('-');
    if base.is_empty() {
        "iw-orchestrator".into()
    } else {
        format!("iw-{base}")
    }
}

/// The commented sessions.yaml for a new project: a session for each of `agents`.
fn sessions_yaml(root: &Path, agents: &[String]) -> String {
    let mut s = format!(
        "# Which agents run as live sessions: real, interactive Claude Code, each in its own tmux \
         session\n\
         # (docs/sessions.md). `iw apply` starts them and waits until each is ready;\n\
         # `iw session list` shows them; `iw session attach NAME` opens one (detach: C-b d).\n\
         socket: {}\n\
         # command: claude        # the default: Claude Code, started as the agent (its settings, hook, persona)\n\
         # ready_timeout: 60s     # how long apply waits for each Claude Code to report it started\n\
         # env: {{TZ: UTC}}        # environment for every session\n\
         sessions:\n",
        socket_for(root)
    );
    for a in agents {
        s.push_str(&format!("  {a}: {{}}\n"));
    }
    s.push_str("  # an agent with its own command: {command: claude --model opus, env: {LOG_LEVEL: debug}}\n");
    s
}

/// `iw init [--from SOURCE]` in `root` (created if missing).
/// `shown` is how the person named the directory (`-C DIR`), repeated in the next commands.
pub fn run(root: &Path, from: Option<&Path>, shown: Option<&Path>) -> Result<Exit> {
    refuse_existing(root)?;
    let (text, origin) = source(from)?;
    // What is written must validate: check before writing anything.
    let registry = validate(&text, &origin)?;
    let agents: Vec<String> = registry.names().map(str::to_string).collect();
    let written = write_project(root, &text, &registry, &agents)?;
    let ignored = ensure_ignored(&root.join(".gitignore"))?;
    print_started(root, &origin, &agents, &written, ignored);
    print_next(shown);
    Ok(Exit::Success)
}

/// Refuses a directory that already has a registry or a sessions.yaml: init never overwrites.
fn refuse_existing(root: &Path) -> Result<()> {
    let registry_path = root.join(REGISTRY_PATH);
    let sessions_path = root.join(SESSIONS_PATH);
    let existing: Vec<&str> = [
        (REGISTRY_PATH, &registry_path),
        (SESSIONS_PATH, &sessions_path),
    ]
    .into_iter()
    .filter(|(_, p)| p.exists())
    .map(|(rel, _)| rel)
    .collect();
    if existing.is_empty() {
        return Ok(());
    }
    Err(Error::with_help(
        format!(
            "{} already has {}: iw init never overwrites; nothing was changed",
            root.display(),
            existing.join(" and ")
        ),
        "this is an iw project already: run `iw validate` and `iw plan`; to start over, move \
         those files away first",
    ))
}

/// The registry text to start from, and where it came from (for the summary): `--from`'s, or
/// the starter team.
fn source(from: Option<&Path>) -> Result<(String, String)> {
    match from {
        Some(f) => from_source(f),
        None => Ok((STARTER.to_string(), "a starter team".to_string())),
    }
}

/// The registry in `text`, if it is valid; otherwise its first problems, from `origin`.
fn validate(text: &str, origin: &str) -> Result<Registry> {
    let registry = crate::model::registry::parse(REGISTRY_PATH, text).map_err(|diags| {
        Error::with_help(
            format!(
                "the registry from {origin} is not valid ({} problems); nothing was changed",
                diags.iter().filter(|d| d.is_error()).count()
            ),
            format!("fix it, or check it with `iw -C DIR validate`: {}", {
                let first: Vec<String> = diags.iter().take(3).map(|d| d.headline()).collect();
                first.join("; ")
            }),
        )
    })?;
    Ok(registry.0)
}

/// Writes the registry, sessions.yaml (a session for each of `agents`) and each agent's persona
/// file that is missing (and inside `root`). Returns what was written, relative to `root`.
fn write_project(
    root: &Path,
    text: &str,
    registry: &Registry,
    agents: &[String],
) -> Result<Vec<String>> {
    let mut written: Vec<String> = Vec::new();
    fsutil::write_atomic(&root.join(REGISTRY_PATH), text.as_bytes())?;
    written.push(REGISTRY_PATH.into());
    fsutil::write_atomic(
        &root.join(SESSIONS_PATH),
        sessions_yaml(root, agents).as_bytes(),
    )?;
    written.push(SESSIONS_PATH.into());
    for a in registry.agents.values() {
        let path = if Path::new(&a.persona).is_absolute() {
            PathBuf::from(&a.persona)
        } else {
            root.join(&a.persona)
        };
        if !path.starts_with(root) || path.exists() {
            continue;
        }
        fsutil::write_atomic(&path, persona(&a.display_name, &a.description).as_bytes())?;
        written.push(a.persona.clone());
    }
    Ok(written)
}

/// Says what was started and written: the files, and the lines `.gitignore` gained.
fn print_started(root: &Path, origin: &str, agents: &[String], written: &[String], ignored: usize) {
    println!(
        "{} Started an iw project in {} with {origin}: {} agents ({}).",
        console::style("✓").green().bold(),
        root.display(),
        agents.len(),
        agents.join(", ")
    );
    for w in written {
        println!("  + {w}");
    }
    if ignored > 0 {
        println!("  ~ .gitignore (+{ignored} lines for iw's runtime state)");
    }
}

/// The commands to run next, with `-C DIR` when the directory was named (`shown`).
fn print_next(shown: Option<&Path>) {
    let iw = match shown {
        Some(d) => format!("iw -C {}", crate::claude::shell_quote(&d.to_string_lossy())),
        None => "iw".into(),
    };
    println!("\nNext:");
    for (cmd, what) in [
        (
            "plan",
            "what iw will create: each agent's settings, hook policy, instructions and session",
        ),
        (
            "trust",
            "once: Claude Code trusts this project, so no agent stops at a dialog",
        ),
        ("apply", "write the files and start every agent"),
    ] {
        println!(
            "  {:<w$}  # {what}",
            format!("{iw} {cmd}"),
            w = iw.len() + 6
        );
    }
}

/// Adds the lines of [`IGNORED`] that `.gitignore` lacks (creating it if missing), never
/// rewriting what is there. Returns how many lines were added.
pub fn ensure_ignored(path: &Path) -> Result<usize> {
    let current = fsutil::read_optional(path)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let have: Vec<&str> = current.lines().map(str::trim).collect();
    let missing: Vec<&str> = IGNORED
        .iter()
        .copied()
        .filter(|l| !have.contains(l) && !have.contains(&l.trim_start_matches('/')))
        .collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let mut out = current.clone();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str("# iw's runtime state (state/iw.lock is the record of what iw wrote)\n");
    for l in &missing {
        out.push_str(l);
        out.push('\n');
    }
    fsutil::write_atomic(path, out.as_bytes())?;
    Ok(missing.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_and_the_examples_validate_without_errors() {
        let (_, warnings) = crate::model::registry::parse(REGISTRY_PATH, STARTER).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        for (name, text) in EXAMPLES {
            assert!(
                crate::model::registry::parse(REGISTRY_PATH, text).is_ok(),
                "{name}"
            );
        }
    }

    #[test]
    fn sockets_are_per_project() {
        assert_eq!(socket_for(Path::new("/srv/My Project")), "iw-my-project");
        assert_eq!(socket_for(Path::new("/")), "iw-orchestrator");
    }

    #[test]
    fn gitignore_gains_each_line_once_and_keeps_its_own() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join(".gitignore");
        std::fs::write(&p, "target\nstate/runs/").unwrap();
        assert_eq!(ensure_ignored(&p).unwrap(), IGNORED.len() - 1);
        assert_eq!(ensure_ignored(&p).unwrap(), 0);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("target\nstate/runs/\n"));
        for l in IGNORED {
            assert!(
                text.lines()
                    .filter(|x| x.trim_start_matches('/') == l.trim_start_matches('/'))
                    .count()
                    == 1,
                "{l}: {text}"
            );
        }
    }
}
