//! Deciding on one tool call: [`Policy`] is a stored [`PolicyDoc`] compiled for matching, and
//! [`Policy::decide`] judges a call by its tool — delegation (Task), a shell command (Bash, through
//! [`super::shell`]), a read, or a write — down to the paths it names (checked in `check.rs`).

use std::fmt;
use std::path::PathBuf;

use globset::GlobMatcher;

use crate::model::pattern::{
    AccessPattern, GlobError, PatternError, PatternSet, command_glob, outside_glob,
};

use super::doc::{POLICY_VERSION, PathRule, PolicyDoc};

/// A tool call as the hook sees it.
#[derive(Debug, Clone, Default)]
pub struct ToolCall<'a> {
    /// `tool_name`.
    pub tool: &'a str,
    /// `tool_input`.
    pub input: &'a serde_json::Value,
}

/// Where the call runs.
#[derive(Debug, Clone)]
pub struct Env {
    /// The canonical project root.
    pub root: PathBuf,
    /// The tool call's working directory.
    pub cwd: PathBuf,
    /// The home directory, for `~`.
    pub home: Option<PathBuf>,
    /// In a task run (`IW_RUN_ID` set by its wrapper, which the agent cannot change): its
    /// `state/runs/<id>/result.json`, the one file under iw's state it may write.
    pub run_result: Option<String>,
}

/// The policy's verdict on one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed.
    Allow,
    /// Denied, with what to do instead.
    Deny(String),
    /// The policy cannot decide (e.g. a command that does not parse); the failure mode decides.
    Undecided(String),
}

/// A compiled policy, ready to decide.
#[derive(Debug)]
pub struct Policy {
    /// The policy as stored.
    pub doc: PolicyDoc,
    /// `doc.no_write`, compiled.
    pub(super) no_write: PatternSet<usize>,
    /// `doc.no_read`, compiled.
    pub(super) no_read: PatternSet<usize>,
    /// Only needed to word a denial: checked when loaded, compiled on first use.
    pub(super) owners: LazyPatterns,
    /// `doc.deny_commands`, each with its matcher.
    commands: Vec<(String, GlobMatcher)>,
    /// `doc.write_outside_root`, compiled.
    pub(super) outside: Vec<GlobMatcher>,
}

/// Checked patterns whose matcher is compiled only when first needed.
#[derive(Debug)]
pub(super) struct LazyPatterns {
    patterns: Vec<(AccessPattern, usize)>,
    set: std::cell::OnceCell<PatternSet<usize>>,
}

impl LazyPatterns {
    /// The compiled set (compiled now if it was not yet).
    pub(super) fn set(&self) -> &PatternSet<usize> {
        self.set
            .get_or_init(|| PatternSet::new(self.patterns.clone()))
    }
}

/// Tools that read the file named by their input.
const READ_TOOLS: &[&str] = &["Read", "NotebookRead", "Glob", "Grep", "LS"];
/// Tools that write the file named by their input.
const WRITE_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit"];
/// Input fields that name a path, in any tool.
const PATH_FIELDS: &[&str] = &[
    "file_path",
    "notebook_path",
    "path",
    "filePath",
    "filename",
    "destination",
    "target",
    "output",
    "output_path",
    "dir",
    "directory",
];

/// Why a stored policy cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// It was written in another format (by another iw).
    Format(u32),
    /// A path rule's pattern does not parse.
    Pattern {
        /// The pattern as stored.
        pattern: String,
        /// Why it does not parse.
        error: PatternError,
    },
    /// A path rule's pattern means another glob than the one stored beside it.
    Mismatch {
        /// The pattern as stored.
        pattern: String,
        /// The glob it means.
        means: String,
        /// The glob stored beside it.
        stored: String,
    },
    /// A `deny_commands` or `write_outside_root` pattern does not compile.
    Glob(GlobError),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Format(v) => write!(
                f,
                "policy format {v} is not {POLICY_VERSION}: run `iw apply` with this iw"
            ),
            PolicyError::Pattern { pattern, error } => write!(f, "`{pattern}`: {error}"),
            PolicyError::Mismatch {
                pattern,
                means,
                stored,
            } => write!(f, "`{pattern}` means `{means}`, not `{stored}`"),
            PolicyError::Glob(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PolicyError {}

/// The rules' patterns, compiled.
fn parse_rules(rules: &[PathRule]) -> Result<PatternSet<usize>, PolicyError> {
    Ok(PatternSet::new(checked_rules(rules)?))
}

/// The rules' patterns, each checked to parse and to mean the glob stored beside it.
pub(super) fn checked_rules(
    rules: &[PathRule],
) -> Result<Vec<(AccessPattern, usize)>, PolicyError> {
    let mut out = Vec::with_capacity(rules.len());
    for (i, r) in rules.iter().enumerate() {
        let p = AccessPattern::parse(&r.pattern).map_err(|error| PolicyError::Pattern {
            pattern: r.pattern.clone(),
            error,
        })?;
        if p.glob != r.glob {
            return Err(PolicyError::Mismatch {
                pattern: r.pattern.clone(),
                means: p.glob,
                stored: r.glob.clone(),
            });
        }
        out.push((p, i));
    }
    Ok(out)
}

/// A tool call's input, read field by field.
struct Fields<'a> {
    /// The tool, for messages.
    tool: &'a str,
    /// `tool_input`: an object, or null.
    input: &'a serde_json::Value,
}

impl<'a> Fields<'a> {
    /// A text field: `None` if absent; a field of another type cannot be judged.
    fn text(&self, name: &str) -> Result<Option<&'a str>, Verdict> {
        match self.input.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(Verdict::Undecided(format!(
                "iw: the {} call's `{name}` is {}, not text, so the hook cannot check it",
                self.tool,
                json_kind(v)
            ))),
        }
    }

    /// The verdict on a call that lacks `what`.
    fn missing(&self, what: &str) -> Verdict {
        Verdict::Undecided(format!(
            "iw: the {} call has no {what}, so the hook cannot check it",
            self.tool
        ))
    }

    /// The first of [`PATH_FIELDS`] that is set.
    fn first_path(&self) -> Result<Option<&'a str>, Verdict> {
        for f in PATH_FIELDS {
            if let Some(p) = self.text(f)? {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }

    /// Every non-empty path named in `fields`; a list of paths is accepted if `lists`.
    fn paths(&self, fields: &[&str], lists: bool) -> Result<Vec<&'a str>, Verdict> {
        let mut paths: Vec<&str> = Vec::new();
        for f in fields {
            match self.input.get(*f) {
                // An MCP tool may name several paths.
                Some(serde_json::Value::Array(items)) if lists => {
                    for item in items {
                        match item.as_str() {
                            Some(p) => paths.push(p),
                            None => {
                                return Err(Verdict::Undecided(format!(
                                    "iw: the {} call's `{f}` lists {}, not a path, so the hook \
                                     cannot check it",
                                    self.tool,
                                    json_kind(item)
                                )));
                            }
                        }
                    }
                }
                _ => paths.extend(self.text(f)?),
            }
        }
        paths.retain(|p| !p.is_empty());
        Ok(paths)
    }
}

impl Policy {
    /// Compiles a stored policy; fails if any pattern does not compile.
    pub fn new(doc: PolicyDoc) -> Result<Policy, PolicyError> {
        if doc.format_version != POLICY_VERSION {
            return Err(PolicyError::Format(doc.format_version));
        }
        let no_write = parse_rules(&doc.no_write)?;
        let no_read = parse_rules(&doc.no_read)?;
        let owners = LazyPatterns {
            patterns: checked_rules(&doc.owners)?,
            set: std::cell::OnceCell::new(),
        };
        let commands = doc
            .deny_commands
            .iter()
            .map(|c| command_glob(c).map(|g| (c.clone(), g)))
            .collect::<Result<_, _>>()
            .map_err(PolicyError::Glob)?;
        let outside = doc
            .write_outside_root
            .iter()
            .map(|c| outside_glob(c))
            .collect::<Result<_, _>>()
            .map_err(PolicyError::Glob)?;
        Ok(Policy {
            doc,
            no_write,
            no_read,
            owners,
            commands,
            outside,
        })
    }

    /// True if the agent may use `tool`: it is listed (or an alias of it is, or its MCP server
    /// is), or it is one of Claude Code's interaction tools.
    fn tool_allowed(&self, tool: &str) -> bool {
        if crate::claude::INTERACTION_TOOLS.contains(&tool) {
            return true;
        }
        self.doc.tools.iter().any(|t| {
            t == tool
                || crate::claude::alias_of(t) == Some(tool)
                || (crate::claude::mcp_parts(t).is_some_and(|(_, sub)| sub.is_none())
                    && tool
                        .strip_prefix(t.as_str())
                        .is_some_and(|rest| rest.starts_with("__") && rest.len() > 2))
        })
    }

    /// Decides on one tool call.
    pub fn decide(&self, call: &ToolCall, env: &Env) -> Verdict {
        let tool = call.tool;
        if !self.tool_allowed(tool) {
            return Verdict::Deny(format!(
                "iw: `{tool}` is not among {}'s tools ({}). Use one of those, or delegate \
                 the work to an agent that has `{tool}`.",
                self.doc.agent,
                self.doc.tools.join(", ")
            ));
        }
        let input = call.input;
        if !(input.is_object() || input.is_null()) {
            return Verdict::Undecided(format!(
                "iw: the {tool} call's `tool_input` is {}, not a JSON object, so the hook cannot \
                 check it",
                json_kind(input)
            ));
        }
        let fields = Fields { tool, input };
        match tool {
            "Task" | "Agent" => self.decide_task(&fields),
            "Bash" => match fields.text("command") {
                Ok(Some(c)) => self.decide_bash(c, env),
                Ok(None) => fields.missing("`command`"),
                Err(v) => v,
            },
            t if READ_TOOLS.contains(&t) => self.decide_read(&fields, env),
            _ => self.decide_write(&fields, env),
        }
    }

    /// Task (or Agent): the `subagent_type` must be one of the agent's `delegates_to`.
    fn decide_task(&self, fields: &Fields) -> Verdict {
        let agent = &self.doc.agent;
        let target = match fields.text("subagent_type") {
            Ok(Some(t)) => t,
            Ok(None) => return fields.missing("`subagent_type`"),
            Err(v) => return v,
        };
        if self.doc.delegates_to.iter().any(|d| d == target) {
            Verdict::Allow
        } else if self.doc.delegates_to.is_empty() {
            Verdict::Deny(format!(
                "iw: {agent} does not delegate (its `delegates_to` is empty); do the \
                 work yourself or report back to whoever assigned it."
            ))
        } else {
            Verdict::Deny(format!(
                "iw: {agent} may not delegate to `{target}`; set `subagent_type` to one \
                 of: {}.",
                self.doc.delegates_to.join(", ")
            ))
        }
    }

    /// A reading tool: the path it names (Read) or searches (Glob, Grep, LS; default: the cwd)
    /// must not be, or for a search contain, one the agent may not read.
    fn decide_read(&self, fields: &Fields, env: &Env) -> Verdict {
        let searches = matches!(fields.tool, "Glob" | "Grep" | "LS");
        let path = match fields.first_path() {
            Ok(Some(p)) if !p.is_empty() => p.to_string(),
            Ok(_) if searches => env.cwd.to_string_lossy().into_owned(),
            Ok(_) => return fields.missing("file to read (`file_path`)"),
            Err(v) => return v,
        };
        self.check_read(&path, &[], searches, fields.tool, env)
    }

    /// A writing tool, or any other tool naming a path (MCP servers and future tools included:
    /// they are treated as writing it): every path it names must be one the agent may write.
    fn decide_write(&self, fields: &Fields, env: &Env) -> Verdict {
        let is_write_tool = WRITE_TOOLS.contains(&fields.tool);
        let names: &[&str] = if is_write_tool {
            &["file_path", "notebook_path"]
        } else {
            PATH_FIELDS
        };
        let paths = match fields.paths(names, !is_write_tool) {
            Ok(p) => p,
            Err(v) => return v,
        };
        if is_write_tool && paths.is_empty() {
            return fields.missing("file to write (`file_path`)");
        }
        for p in paths {
            let v = self.check_write(p, &[], fields.tool, false, false, env);
            if v != Verdict::Allow {
                return v;
            }
        }
        Verdict::Allow
    }

    /// Bash: no command it runs may match `deny_commands`, and every path it writes or reads
    /// (as far as [`super::shell`] can tell) must be allowed.
    fn decide_bash(&self, command: &str, env: &Env) -> Verdict {
        let home = env.home.as_ref().map(|h| h.to_string_lossy().into_owned());
        let analysis = match super::shell::analyze(command, home.as_deref()) {
            Ok(a) => a,
            Err(e) => {
                return Verdict::Undecided(format!(
                    "iw: the Bash command could not be analysed ({e}); rewrite it as plain \
                     commands"
                ));
            }
        };
        for words in &analysis.commands {
            let line = words.join(" ");
            if let Some((pattern, _)) = self.commands.iter().find(|(_, g)| g.is_match(&line)) {
                return Verdict::Deny(format!(
                    "iw: `{line}` blocked: it matches `{pattern}` in {}'s deny_commands \
                     (agents/registry.yaml).",
                    self.doc.agent
                ));
            }
        }
        for w in &analysis.writes {
            let hard_link = w.via.starts_with(super::shell::HARD_LINK);
            let recursive = hard_link
                || matches!(
                    w.via.as_str(),
                    "rm" | "rmdir" | "mv" | "chmod" | "chown" | "chgrp" | "rsync"
                );
            // These add or remove a name; they cannot change what another name of the file
            // holds.
            let names_only =
                hard_link || matches!(w.via.as_str(), "rm" | "rmdir" | "unlink" | "mv" | "ln");
            let what = format!("Bash ({})", w.via);
            let v = self.check_write(&w.path, &w.cd, &what, recursive, names_only, env);
            if v != Verdict::Allow {
                return v;
            }
        }
        for r in &analysis.reads {
            let what = format!("Bash ({})", r.via);
            let v = self.check_read(&r.path, &r.cd, r.recursive, &what, env);
            if v != Verdict::Allow {
                return v;
            }
        }
        Verdict::Allow
    }
}

/// "a number", "a list", … for messages about a JSON value of the wrong type.
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a text",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}
