//! Per-agent policies: compiled from the registry by apply into `agents/<name>/.claude/iw-policy.json`
//! (a generated file covered by the lockfile), and enforced by `iw hook pre-tool-use`.
//!
//! A policy says which tools an agent may use, whom it may delegate to, which paths it may not
//! write (its `cannot_access`, every other agent's `exclusive_access`, and iw's protected paths)
//! or read (`cannot_read`), which shell commands it may not run (`deny_commands`) and which paths
//! outside the project it may write (`write_outside_root`).
//!
//! Paths are never matched as strings: [`resolve`] makes a path absolute against the tool call's
//! `cwd`, follows every symlink in the part that exists, removes `.` and `..`, and only then makes
//! it relative to the (canonical) project root for gitignore-style matching.

pub mod shell;

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::model::pattern::{AccessPattern, PatternSet};
use crate::model::registry::{Agent, HookFailure, Registry};

/// The policy file's name under each agent's `.claude/`.
pub const POLICY_FILE: &str = "iw-policy.json";
/// The policy format this iw writes and reads.
pub const POLICY_VERSION: u32 = 1;

/// Paths no agent may write, whatever the registry says: iw's own inputs and outputs.
pub const PROTECTED: &[(&str, &str)] = &[
    ("/agents/registry.yaml", "the registry"),
    ("/sessions.yaml", "sessions.yaml"),
    ("/templates/", "iw's templates"),
    ("/state/", "iw's state (lockfile, backups)"),
    (
        "agents/*/.claude/",
        "the agents' generated Claude Code configuration",
    ),
];

/// The policy file of `agent`, relative to the project root.
pub fn policy_path(agent: &str) -> String {
    format!("agents/{agent}/.claude/{POLICY_FILE}")
}

/// Why a path is forbidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// One of iw's protected paths.
    Protected,
    /// The agent's own `cannot_access`.
    CannotAccess,
    /// Another agent's `exclusive_access`.
    ExclusiveAccess,
    /// The agent's own `cannot_read`.
    CannotRead,
}

/// One path rule of a compiled policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathRule {
    /// The pattern as written (in the registry, or iw's own for protected paths).
    pub pattern: String,
    /// The root-relative glob it means.
    pub glob: String,
    /// Where it comes from.
    pub rule: RuleKind,
    /// The agent that owns the path exclusively, if one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What the path is, for protected paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
}

/// An agent's compiled policy, as stored in its policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    /// [`POLICY_VERSION`].
    pub format_version: u32,
    /// The agent it fences.
    pub agent: String,
    /// What the hook does when it cannot decide.
    pub hook_failure: HookFailure,
    /// Tools the agent may use (`mcp__server` allows all of that server's tools).
    pub tools: Vec<String>,
    /// Agents it may delegate to with Task.
    pub delegates_to: Vec<String>,
    /// Paths it may not write, in the order they are checked.
    pub no_write: Vec<PathRule>,
    /// Paths it may not read.
    pub no_read: Vec<PathRule>,
    /// Exclusive areas of every agent (to say who owns a forbidden path).
    pub owners: Vec<PathRule>,
    /// For each owner of an exclusive area, the agents that can delegate to it.
    pub delegators: std::collections::BTreeMap<String, Vec<String>>,
    /// Shell command patterns it may not run.
    pub deny_commands: Vec<String>,
    /// Absolute path globs outside the project it may write.
    pub write_outside_root: Vec<String>,
    /// For each agent it delegates to that can write files, that agent's `cannot_access`: to
    /// name, when a path is denied, the delegates that may write it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub delegate_no_write: BTreeMap<String, Vec<PathRule>>,
}

fn rule(p: &AccessPattern, rule: RuleKind, owner: Option<&str>, what: Option<&str>) -> PathRule {
    PathRule {
        pattern: p.source.clone(),
        glob: p.glob.clone(),
        rule,
        owner: owner.map(str::to_string),
        what: what.map(str::to_string),
    }
}

/// The protected paths as parsed patterns, with what each is.
pub fn protected_patterns() -> impl Iterator<Item = (AccessPattern, &'static str)> {
    PROTECTED
        .iter()
        .filter_map(|&(p, what)| AccessPattern::parse(p).ok().map(|p| (p, what)))
}

/// What every agent's policy shares: the exclusive areas and who can delegate to each holder.
/// Computed once per registry (in time linear in its size), not once per agent.
#[derive(Debug, Clone, Default)]
pub struct Shared {
    owners: Vec<PathRule>,
    delegators: std::collections::BTreeMap<String, Vec<String>>,
}

impl Shared {
    /// Computes the shared part for `registry`.
    pub fn new(registry: &Registry) -> Shared {
        let mut owners = Vec::new();
        let mut delegators: std::collections::BTreeMap<String, Vec<String>> = registry
            .holders
            .iter()
            .map(|h| (h.clone(), Vec::new()))
            .collect();
        for h in &registry.holders {
            if let Some(o) = registry.agents.get(h) {
                for p in &o.exclusive_access {
                    owners.push(rule(p, RuleKind::ExclusiveAccess, Some(&o.name), None));
                }
            }
        }
        for d in registry.agents.values() {
            for target in &d.delegates_to {
                if let Some(v) = delegators.get_mut(target) {
                    v.push(d.name.clone());
                }
            }
        }
        Shared { owners, delegators }
    }
}

/// Compiles `agent`'s policy from the registry.
pub fn compile(registry: &Registry, agent: &Agent) -> PolicyDoc {
    compile_with(&Shared::new(registry), registry, agent)
}

/// The policy file's content for `agent`, serialized straight from the registry and the shared
/// part (nothing cloned: at thousands of agents the copies cost more than the writing).
pub fn render_json(shared: &Shared, registry: &Registry, agent: &Agent) -> String {
    #[derive(Serialize)]
    struct View<'a> {
        format_version: u32,
        agent: &'a str,
        hook_failure: HookFailure,
        tools: &'a [String],
        delegates_to: &'a [String],
        no_write: Vec<PathRule>,
        no_read: Vec<PathRule>,
        owners: &'a [PathRule],
        delegators: &'a std::collections::BTreeMap<String, Vec<String>>,
        deny_commands: &'a [String],
        write_outside_root: &'a [String],
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        delegate_no_write: BTreeMap<String, Vec<PathRule>>,
    }
    let (no_write, no_read) = own_rules(registry, agent);
    let view = View {
        format_version: POLICY_VERSION,
        agent: &agent.name,
        hook_failure: registry.hook_failure,
        tools: &agent.tools,
        delegates_to: &agent.delegates_to,
        no_write,
        no_read,
        owners: &shared.owners,
        delegators: &shared.delegators,
        deny_commands: &agent.deny_commands,
        write_outside_root: &agent.write_outside_root,
        delegate_no_write: delegate_no_write(registry, agent),
    };
    let mut s = serde_json::to_string(&view).unwrap_or_default();
    s.push('\n');
    s
}

/// The agent's own path rules: what it may not write (protected paths first) and read.
fn own_rules(registry: &Registry, agent: &Agent) -> (Vec<PathRule>, Vec<PathRule>) {
    let mut no_write: Vec<PathRule> = protected_patterns()
        .map(|(p, what)| rule(&p, RuleKind::Protected, None, Some(what)))
        .collect();
    for (p, owner) in registry.no_write_patterns(agent) {
        let kind = if owner.is_some() {
            RuleKind::ExclusiveAccess
        } else {
            RuleKind::CannotAccess
        };
        no_write.push(rule(p, kind, owner, None));
    }
    let no_read = agent
        .cannot_read
        .iter()
        .map(|p| rule(p, RuleKind::CannotRead, None, None))
        .collect();
    (no_write, no_read)
}

/// Compiles `agent`'s policy with the registry's [`Shared`] part already computed.
pub fn compile_with(shared: &Shared, registry: &Registry, agent: &Agent) -> PolicyDoc {
    let (no_write, no_read) = own_rules(registry, agent);
    PolicyDoc {
        format_version: POLICY_VERSION,
        agent: agent.name.clone(),
        hook_failure: registry.hook_failure,
        tools: agent.tools.clone(),
        delegates_to: agent.delegates_to.clone(),
        no_write,
        no_read,
        owners: shared.owners.clone(),
        delegators: shared.delegators.clone(),
        deny_commands: agent.deny_commands.clone(),
        write_outside_root: agent.write_outside_root.clone(),
        delegate_no_write: delegate_no_write(registry, agent),
    }
}

/// Tools that write files (`Bash` included: it can).
const WRITING_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit", "Bash"];

/// The `cannot_access` of each agent `agent` delegates to that has a tool that writes files.
fn delegate_no_write(registry: &Registry, agent: &Agent) -> BTreeMap<String, Vec<PathRule>> {
    agent
        .delegates_to
        .iter()
        .filter_map(|d| registry.agents.get(d))
        .filter(|d| d.tools.iter().any(|t| WRITING_TOOLS.contains(&t.as_str())))
        .map(|d| {
            let rules = d
                .cannot_access
                .iter()
                .map(|p| rule(p, RuleKind::CannotAccess, None, None))
                .collect();
            (d.name.clone(), rules)
        })
        .collect()
}

impl PolicyDoc {
    /// The policy file's content: JSON on one line with a trailing newline (deterministic; the
    /// same bytes as [`render_json`]). `jq . FILE` shows it indented.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Compiles a `deny_commands` pattern: a glob over a command's words joined by single spaces,
/// where `*` also matches spaces and `/`.
pub fn command_glob(pattern: &str) -> Result<GlobMatcher, String> {
    if pattern.trim().is_empty() {
        return Err("it is empty".into());
    }
    let normalised = pattern.split_whitespace().collect::<Vec<_>>().join(" ");
    GlobBuilder::new(&normalised)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

/// Compiles a `write_outside_root` pattern: an absolute path glob (`*` stays within a directory).
pub fn outside_glob(pattern: &str) -> Result<GlobMatcher, String> {
    if !pattern.starts_with('/') {
        return Err("it must be an absolute path, e.g. `/tmp/**`".into());
    }
    if pattern.split('/').any(|s| s == ".." || s == ".") {
        return Err("`.` and `..` are not allowed".into());
    }
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

// ---------------------------------------------------------------------------------------------
// Paths.

/// Where a path really is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Inside the project: root-relative, `/`-separated, normalised (`""` is the root itself).
    Inside(String),
    /// Outside the project: absolute and normalised.
    Outside(PathBuf),
}

/// The most symlinks followed while resolving one path (as Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// Resolves `path` as the kernel would when the tool touches it: relative to `cwd`, `~` from
/// `home`, every symlink in the existing part followed (also after `..`), `.`/`..` removed. A
/// symlink loop is an error. `root` must be canonical.
pub fn resolve(
    root: &Path,
    cwd: &Path,
    path: &str,
    home: Option<&Path>,
) -> Result<Resolved, String> {
    // `join` keeps an absolute path as it is.
    let abs = cwd.join(expand_home(path, home));
    let real = realpath(&abs)?;
    Ok(match real.strip_prefix(root) {
        Ok(rel) => Resolved::Inside(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
        ),
        Err(_) => Resolved::Outside(real),
    })
}

/// The names and `..` steps of a path (the root and `.` dropped).
fn steps(p: &Path) -> impl Iterator<Item = OsString> + '_ {
    p.components().filter_map(|c| match c {
        Component::Normal(s) => Some(s.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        _ => None,
    })
}

/// `path` with a leading `~` or `~/` replaced by `home` (when known).
fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path, home) {
        ("~", Some(h)) => h.to_path_buf(),
        (p, Some(h)) if p.starts_with("~/") => h.join(&p[2..]),
        (p, _) => PathBuf::from(p),
    }
}

/// `realpath(3)` that also accepts paths whose tail does not exist yet (the tail is normalised
/// lexically; a missing directory cannot be a symlink).
pub fn realpath(abs: &Path) -> Result<PathBuf, String> {
    let mut queue: VecDeque<OsString> = steps(abs).collect();
    let mut out = PathBuf::from("/");
    let mut links = 0;
    while let Some(c) = queue.pop_front() {
        if c == ".." {
            out.pop();
            continue;
        }
        out.push(&c);
        let Ok(meta) = std::fs::symlink_metadata(&out) else {
            continue;
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(format!(
                "{} has too many levels of symbolic links",
                abs.display()
            ));
        }
        let target = std::fs::read_link(&out)
            .map_err(|e| format!("cannot read the symlink {}: {e}", out.display()))?;
        out.pop();
        if target.is_absolute() {
            out = PathBuf::from("/");
        }
        let mut prefix: Vec<OsString> = steps(&target).collect();
        while let Some(p) = prefix.pop() {
            queue.push_front(p);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Decisions.

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
    no_write: PatternSet<usize>,
    no_read: PatternSet<usize>,
    /// Only needed to word a denial: checked when loaded, compiled on first use.
    owners: LazyPatterns,
    commands: Vec<(String, GlobMatcher)>,
    outside: Vec<GlobMatcher>,
}

/// Checked patterns whose matcher is compiled only when first needed.
#[derive(Debug)]
struct LazyPatterns {
    patterns: Vec<(AccessPattern, usize)>,
    set: std::cell::OnceCell<PatternSet<usize>>,
}

impl LazyPatterns {
    fn set(&self) -> &PatternSet<usize> {
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

fn parse_rules(rules: &[PathRule]) -> Result<PatternSet<usize>, String> {
    Ok(PatternSet::new(checked_rules(rules)?))
}

/// The rules' patterns, each checked to parse and to mean the glob stored beside it.
fn checked_rules(rules: &[PathRule]) -> Result<Vec<(AccessPattern, usize)>, String> {
    let mut out = Vec::with_capacity(rules.len());
    for (i, r) in rules.iter().enumerate() {
        let p = AccessPattern::parse(&r.pattern).map_err(|e| format!("`{}`: {e}", r.pattern))?;
        if p.glob != r.glob {
            return Err(format!(
                "`{}` means `{}`, not `{}`",
                r.pattern, p.glob, r.glob
            ));
        }
        out.push((p, i));
    }
    Ok(out)
}

impl Policy {
    /// Compiles a stored policy; fails if any pattern does not compile.
    pub fn new(doc: PolicyDoc) -> Result<Policy, String> {
        if doc.format_version != POLICY_VERSION {
            return Err(format!(
                "policy format {} is not {POLICY_VERSION}: run `iw apply` with this iw",
                doc.format_version
            ));
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
            .collect::<Result<_, _>>()?;
        let outside = doc
            .write_outside_root
            .iter()
            .map(|c| outside_glob(c))
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            doc,
            no_write,
            no_read,
            owners,
            commands,
            outside,
        })
    }

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
        let agent = &self.doc.agent;
        if !self.tool_allowed(tool) {
            return Verdict::Deny(format!(
                "iw: `{tool}` is not among {agent}'s tools ({}). Use one of those, or delegate \
                 the work to an agent that has `{tool}`.",
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
        // A text field: `None` if absent; a field of another type cannot be judged.
        let text = |name: &str| -> Result<Option<&str>, Verdict> {
            match input.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
                Some(v) => Err(Verdict::Undecided(format!(
                    "iw: the {tool} call's `{name}` is {}, not text, so the hook cannot check it",
                    json_kind(v)
                ))),
            }
        };
        let missing = |what: &str| {
            Verdict::Undecided(format!(
                "iw: the {tool} call has no {what}, so the hook cannot check it"
            ))
        };
        match tool {
            "Task" | "Agent" => {
                let target = match text("subagent_type") {
                    Ok(Some(t)) => t,
                    Ok(None) => return missing("`subagent_type`"),
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
            "Bash" => match text("command") {
                Ok(Some(c)) => self.decide_bash(c, env),
                Ok(None) => missing("`command`"),
                Err(v) => v,
            },
            t if READ_TOOLS.contains(&t) => {
                // Glob, Grep and LS search a directory (default: cwd); Read names a file.
                let searches = matches!(t, "Glob" | "Grep" | "LS");
                let mut path = None;
                for f in PATH_FIELDS {
                    match text(f) {
                        Ok(Some(p)) => {
                            path = Some(p.to_string());
                            break;
                        }
                        Ok(None) => {}
                        Err(v) => return v,
                    }
                }
                let path = match path {
                    Some(p) if !p.is_empty() => p,
                    _ if searches => env.cwd.to_string_lossy().into_owned(),
                    _ => return missing("file to read (`file_path`)"),
                };
                self.check_read(&path, &[], searches, tool, env)
            }
            _ => {
                // Write tools name their target; any other tool naming a path is treated as
                // writing it (MCP servers and future tools included).
                let is_write_tool = WRITE_TOOLS.contains(&tool);
                let fields: &[&str] = if is_write_tool {
                    &["file_path", "notebook_path"]
                } else {
                    PATH_FIELDS
                };
                let mut paths: Vec<&str> = Vec::new();
                for f in fields {
                    match input.get(*f) {
                        // An MCP tool may name several paths.
                        Some(serde_json::Value::Array(items)) if !is_write_tool => {
                            for item in items {
                                match item.as_str() {
                                    Some(p) => paths.push(p),
                                    None => {
                                        return Verdict::Undecided(format!(
                                            "iw: the {tool} call's `{f}` lists {}, not a path, \
                                             so the hook cannot check it",
                                            json_kind(item)
                                        ));
                                    }
                                }
                            }
                        }
                        _ => match text(f) {
                            Ok(Some(p)) => paths.push(p),
                            Ok(None) => {}
                            Err(v) => return v,
                        },
                    }
                }
                paths.retain(|p| !p.is_empty());
                if is_write_tool && paths.is_empty() {
                    return missing("file to write (`file_path`)");
                }
                for p in paths {
                    let v = self.check_write(p, &[], tool, false, false, env);
                    if v != Verdict::Allow {
                        return v;
                    }
                }
                Verdict::Allow
            }
        }
    }

    /// Checks one read. `cd` are the directories changed into first (Bash); `searches` means
    /// everything below the path is read too (Grep, Glob, LS, `grep -r`, `find`, …).
    fn check_read(
        &self,
        path: &str,
        cd: &[String],
        searches: bool,
        tool: &str,
        env: &Env,
    ) -> Verdict {
        if self.doc.no_read.is_empty() {
            return Verdict::Allow;
        }
        let mut cwd = env.cwd.clone();
        for d in cd {
            cwd = cwd.join(expand_home(d, env.home.as_deref()));
        }
        let rel = match resolve(&env.root, &cwd, path, env.home.as_deref()) {
            Ok(Resolved::Inside(rel)) => rel,
            Ok(Resolved::Outside(_)) => return Verdict::Allow,
            Err(e) => return Verdict::Deny(format!("iw: {tool} of {path} refused: {e}")),
        };
        let hit = self.no_read.first_match(&rel).map(|m| m.1).or_else(|| {
            searches
                .then(|| below(&self.doc.no_read, &rel, &env.root))
                .flatten()
        });
        match hit {
            None => Verdict::Allow,
            Some(i) => {
                let r = &self.doc.no_read[i];
                let shown = if rel.is_empty() { "." } else { &rel };
                Verdict::Deny(format!(
                    "iw: {tool} of `{shown}` blocked: `{}` is in {}'s cannot_read \
                     (agents/registry.yaml).{}",
                    r.pattern,
                    self.doc.agent,
                    if searches {
                        " Search a directory that does not contain it."
                    } else {
                        ""
                    }
                ))
            }
        }
    }

    /// Checks one write. `cd` are the directories changed into first (Bash); `recursive` means
    /// the operation can affect everything below the path (rm -r, mv of a directory, …);
    /// `names_only` that it only adds or removes a name (rm, mv, a hard link's source) and so
    /// cannot change another name of the same file.
    fn check_write(
        &self,
        path: &str,
        cd: &[String],
        what: &str,
        recursive: bool,
        names_only: bool,
        env: &Env,
    ) -> Verdict {
        let mut cwd = env.cwd.clone();
        for d in cd {
            cwd = cwd.join(expand_home(d, env.home.as_deref()));
        }
        let rel = match resolve(&env.root, &cwd, path, env.home.as_deref()) {
            Ok(Resolved::Inside(rel)) => rel,
            Ok(Resolved::Outside(abs)) => {
                if self.outside.iter().any(|g| g.is_match(&abs)) {
                    return match std::fs::metadata(&abs) {
                        Ok(m) if !names_only => self.check_links(&m, &abs.to_string_lossy(), what),
                        _ => Verdict::Allow,
                    };
                }
                return Verdict::Deny(format!(
                    "iw: {what} to {} blocked: it is outside the project ({}), and {} may only \
                     write inside it{}. Write inside the project instead.",
                    abs.display(),
                    env.root.display(),
                    self.doc.agent,
                    if self.doc.write_outside_root.is_empty() {
                        String::new()
                    } else {
                        format!(" or to {}", self.doc.write_outside_root.join(", "))
                    }
                ));
            }
            Err(e) => return Verdict::Deny(format!("iw: {what} to {path} refused: {e}")),
        };
        let meta = std::fs::metadata(env.root.join(&rel)).ok();
        let recursive = recursive || meta.as_ref().is_some_and(|m| m.is_dir());
        let links = |v: Verdict| match &meta {
            Some(m) if v == Verdict::Allow && !names_only => self.check_links(m, &rel, what),
            _ => v,
        };
        if !recursive && env.run_result.as_deref() == Some(rel.as_str()) {
            return links(Verdict::Allow);
        }
        let hit = self.no_write.first_match(&rel).map(|m| m.1).or_else(|| {
            recursive
                .then(|| below(&self.doc.no_write, &rel, &env.root))
                .flatten()
        });
        match hit {
            None => links(Verdict::Allow),
            Some(i) => {
                let mut msg = self.write_message(&self.doc.no_write[i], &rel, what);
                if what.contains(crate::policy::shell::HARD_LINK) {
                    msg.push_str(
                        " (A hard link is another name for the same file: writing through it \
                         would change this one.)",
                    );
                }
                Verdict::Deny(msg)
            }
        }
    }

    /// Denies changing the content of an existing file that has more than one name (hard
    /// links): the other name may be a file this agent may not write, and nothing tells which.
    fn check_links(&self, meta: &std::fs::Metadata, shown: &str, what: &str) -> Verdict {
        use std::os::unix::fs::MetadataExt as _;
        if !meta.is_file() || meta.nlink() < 2 {
            return Verdict::Allow;
        }
        Verdict::Deny(format!(
            "iw: {what} to `{shown}` blocked: the file has {} hard links (names), so it may be \
             another name of a file {} may not write, and writing it would change that file \
             too. Write a new file instead (e.g. remove this name first, then create it), or \
             ask a human to check it (`find . -samefile {shown}`).",
            meta.nlink(),
            self.doc.agent
        ))
    }

    fn write_message(&self, r: &PathRule, rel: &str, what: &str) -> String {
        let agent = &self.doc.agent;
        let shown = if rel.is_empty() { "." } else { rel };
        let mut msg = match r.rule {
            RuleKind::Protected => format!(
                "iw: {what} to `{shown}` blocked: `{}` is {}, which no agent may change. A human \
                 edits it and runs `iw apply`.",
                r.pattern,
                r.what.as_deref().unwrap_or("protected")
            ),
            RuleKind::ExclusiveAccess => format!(
                "iw: {what} to `{shown}` blocked: `{}` is {}'s exclusive_access.",
                r.pattern,
                r.owner.as_deref().unwrap_or("another agent")
            ),
            _ => format!(
                "iw: {what} to `{shown}` blocked: `{}` is in {agent}'s cannot_access \
                 (agents/registry.yaml).",
                r.pattern
            ),
        };
        if r.rule == RuleKind::Protected {
            return msg;
        }
        let owner = r.owner.clone().or_else(|| {
            self.owners
                .set()
                .first_match(rel)
                .and_then(|m| self.doc.owners[m.1].owner.clone())
        });
        match owner {
            Some(o) if o == *agent => {}
            Some(o) if self.doc.delegates_to.contains(&o) => msg.push_str(&format!(
                " It belongs to {o}: delegate the change with the Task tool, subagent_type \"{o}\"."
            )),
            Some(o) => {
                let via = self.doc.delegators.get(&o).cloned().unwrap_or_default();
                if via.is_empty() {
                    msg.push_str(&format!(
                        " It belongs to {o}; report back and ask for {o} to do it."
                    ));
                } else {
                    msg.push_str(&format!(
                        " It belongs to {o}, which {} can delegate to; report back and ask for it.",
                        via.join(", ")
                    ));
                }
            }
            None => {
                let writers = self.delegates_who_may_write(rel);
                match writers.as_slice() {
                    [] => msg.push_str(" Leave this path alone; report back if the task needs it."),
                    [d] => msg.push_str(&format!(
                        " {d} may write it: delegate the change to {d} (`iw run {d} --task \
                         FILE`, or the Task tool with subagent_type \"{d}\")."
                    )),
                    several => msg.push_str(&format!(
                        " {} may write it: delegate the change to one of them (`iw run AGENT \
                         --task FILE`, or the Task tool with subagent_type set to the agent).",
                        several.join(", ")
                    )),
                }
            }
        }
        msg
    }

    /// The agents this one delegates to that may write `rel` (which is in no agent's exclusive
    /// area and not protected): they have a tool that writes, and it is not in their
    /// `cannot_access`. Only computed for a denial.
    fn delegates_who_may_write(&self, rel: &str) -> Vec<&str> {
        self.doc
            .delegate_no_write
            .iter()
            .filter(|(_, rules)| {
                // Rules that do not parse (the policy is verified, so: never) name no one:
                // never suggest an agent that may not write the path.
                checked_rules(rules)
                    .is_ok_and(|patterns| PatternSet::new(patterns).first_match(rel).is_none())
            })
            .map(|(d, _)| d.as_str())
            .collect()
    }

    fn decide_bash(&self, command: &str, env: &Env) -> Verdict {
        let home = env.home.as_ref().map(|h| h.to_string_lossy().into_owned());
        let analysis = match crate::policy::shell::analyze(command, home.as_deref()) {
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
            let hard_link = w.via.starts_with(crate::policy::shell::HARD_LINK);
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

/// The first rule naming a path below `dir` (so an operation on `dir` as a whole reaches it):
/// an anchored rule whose literal prefix lies below `dir`, or an unanchored one (`**/name/…`)
/// whose first name exists directly in `dir`. Deeper unanchored matches are not searched for.
fn below(rules: &[PathRule], dir: &str, root: &Path) -> Option<usize> {
    let is_literal = |s: &str| !s.contains(['*', '?', '[', '{', '\\']);
    rules.iter().position(|r| {
        if let Some(rest) = r.glob.strip_prefix("**/") {
            let first = rest.split('/').next().unwrap_or("");
            // `dir` is itself a directory of that name (`secrets` for `secrets/`), or has one.
            return is_literal(first)
                && !first.is_empty()
                && (dir.rsplit('/').next() == Some(first) && rest.len() > first.len()
                    || std::fs::symlink_metadata(root.join(dir).join(first)).is_ok());
        }
        let lit: Vec<&str> = r.glob.split('/').take_while(|s| is_literal(s)).collect();
        if lit.is_empty() {
            return false;
        }
        if dir.is_empty() {
            return true;
        }
        let d: Vec<&str> = dir.split('/').collect();
        // `agents/*/.claude/**` is below `agents` even though `*` stops the literal prefix.
        lit.len() >= d.len() && lit[..d.len()] == d[..]
            || (lit.len() < d.len() && {
                let g: Vec<&str> = r.glob.split('/').collect();
                g.len() > d.len()
                    && d.iter().zip(&g).all(|(a, b)| {
                        globset::Glob::new(b)
                            .map(|g| g.compile_matcher().is_match(a))
                            .unwrap_or(false)
                    })
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const REGISTRY: &str = "agents:
  worker:
    name: worker
    display_name: Worker
    description: Works
    model: sonnet
    tools: [Write, Read]
    cannot_access: ['*.spec.*']
  tester:
    name: tester
    display_name: Tester
    description: Tests
    model: sonnet
    tools: [Write]
    exclusive_access: [tests/**]
";

    /// A project root with `tests/`, `src/`, `src/t -> ../tests`, `up -> ..`, and the policy of
    /// `worker`.
    fn fixture() -> (tempfile::TempDir, PathBuf, Policy) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for d in ["tests/deep", "src/sub", "agents/worker/.claude"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::os::unix::fs::symlink("../tests", root.join("src/t")).unwrap();
        std::os::unix::fs::symlink("..", root.join("src/up")).unwrap();
        let (registry, _) = crate::model::registry::parse("registry.yaml", REGISTRY).unwrap();
        let doc = compile(&registry, &registry.agents["worker"]);
        // The stored form round-trips.
        let doc: PolicyDoc = serde_json::from_str(&doc.to_json()).unwrap();
        (dir, root, Policy::new(doc).unwrap())
    }

    fn write_verdict(policy: &Policy, root: &Path, cwd: &Path, path: &str) -> Verdict {
        let input = json!({"file_path": path, "content": ""});
        let env = Env {
            root: root.to_path_buf(),
            cwd: cwd.to_path_buf(),
            home: None,
            run_result: None,
        };
        policy.decide(
            &ToolCall {
                tool: "Write",
                input: &input,
            },
            &env,
        )
    }

    /// Spells root-relative `rel` another way, driven by `ops`: through the symlinks, with `.`,
    /// detours through real directories and `..`, doubled slashes, relative to another cwd.
    fn respell(rel: &str, ops: &[u8]) -> (String, &'static str) {
        let mut segs: Vec<String> = Vec::new();
        for (i, s) in rel.split('/').enumerate() {
            let mut op = ops.get(i).copied().unwrap_or(0) % 6;
            // Detours through `src/…` only exist at the root.
            if i > 0 && matches!(op, 2 | 3) {
                op = 1;
            }
            match op {
                1 => segs.push(".".into()),
                2 => {
                    segs.push("src".into());
                    segs.push("sub".into());
                    segs.push("..".into());
                    segs.push("..".into());
                }
                3 => {
                    segs.push("src".into());
                    segs.push("up".into());
                }
                4 => segs.push(String::new()), // `//`
                _ => {}
            }
            if i == 0 && s == "tests" && op == 5 {
                segs.push("src".into());
                segs.push("t".into());
                continue;
            }
            segs.push(s.to_string());
        }
        let joined = segs.join("/");
        match ops.last().copied().unwrap_or(0) % 3 {
            0 => (format!("ROOT/{joined}"), ""),
            1 => (format!("../../{joined}"), "agents/worker"),
            _ => (format!("../{joined}"), "src"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// No spelling of a forbidden path is allowed, and no spelling of an allowed one denied.
        #[test]
        fn spelling_never_changes_the_verdict(
            target in prop::sample::select(vec![
                ("tests/a.py", false),
                ("tests/deep/new/b.rs", false),
                ("src/x.spec.ts", false),
                ("agents/registry.yaml", false),
                ("agents/worker/.claude/settings.json", false),
                ("state/iw.lock", false),
                ("src/main.rs", true),
                ("src/sub/new.rs", true),
                ("docs/a.md", true),
            ]),
            ops in prop::collection::vec(any::<u8>(), 1..8),
        ) {
            let (_dir, root, policy) = fixture();
            let (rel, allowed) = target;
            let (spelled, cwd) = respell(rel, &ops);
            let spelled = spelled.replace("ROOT", &root.to_string_lossy());
            let v = write_verdict(&policy, &root, &root.join(cwd), &spelled);
            prop_assert_eq!(v == Verdict::Allow, allowed, "{} spelled {} from {}: {:?}", rel, spelled, cwd, v);
        }

        /// `resolve` agrees with the kernel (`canonicalize`) on every path that exists.
        #[test]
        fn resolve_agrees_with_the_kernel(
            segs in prop::collection::vec(
                prop::sample::select(vec!["src", "tests", "t", "up", "deep", "sub", "..", "."]),
                0..7,
            ),
        ) {
            let (_dir, root, _) = fixture();
            let path = root.join(segs.join("/"));
            if let Ok(real) = std::fs::canonicalize(&path) {
                let mine = realpath(&path).unwrap();
                prop_assert_eq!(mine, real);
            }
        }
    }

    #[test]
    fn outside_and_loops() {
        let (_dir, root, policy) = fixture();
        assert!(matches!(
            write_verdict(&policy, &root, &root, "../escape.txt"),
            Verdict::Deny(m) if m.contains("outside the project")
        ));
        std::os::unix::fs::symlink(root.join("a"), root.join("b")).unwrap();
        std::os::unix::fs::symlink(root.join("b"), root.join("a")).unwrap();
        assert!(
            realpath(&root.join("a/x"))
                .unwrap_err()
                .contains("symbolic links")
        );
    }

    #[test]
    fn removing_a_parent_of_a_forbidden_area_is_forbidden() {
        let rules = compile(
            &crate::model::registry::parse("r.yaml", REGISTRY).unwrap().0,
            &crate::model::registry::parse("r.yaml", REGISTRY)
                .unwrap()
                .0
                .agents["worker"],
        )
        .no_write;
        let root = Path::new("/nonexistent");
        assert!(below(&rules, "", root).is_some());
        assert!(below(&rules, "agents", root).is_some());
        assert!(below(&rules, "agents/worker", root).is_some());
        assert!(below(&rules, "src", root).is_none());
        // A directory named like an unanchored directory pattern is that area.
        let area = vec![rule(
            &AccessPattern::parse("vendor/").unwrap(),
            RuleKind::CannotAccess,
            None,
            None,
        )];
        assert!(below(&area, "vendor", root).is_some());
        assert!(below(&area, "src/vendor", root).is_some());
        assert!(below(&area, "src", root).is_none());
    }

    #[test]
    fn the_written_policy_is_the_compiled_one() {
        let (registry, _) = crate::model::registry::parse("r.yaml", REGISTRY).unwrap();
        let shared = Shared::new(&registry);
        for a in registry.agents.values() {
            let written = render_json(&shared, &registry, a);
            assert_eq!(written, compile(&registry, a).to_json());
            let back: PolicyDoc = serde_json::from_str(&written).unwrap();
            assert_eq!(back, compile(&registry, a));
        }
    }

    #[test]
    fn command_patterns() {
        let g = command_glob("git   push*").unwrap();
        assert!(g.is_match("git push origin main"));
        assert!(g.is_match("git push"));
        assert!(!g.is_match("git pull"));
        assert!(command_glob(" ").is_err());
        assert!(outside_glob("tmp/**").is_err());
        assert!(outside_glob("/tmp/../etc").is_err());
        assert!(outside_glob("/tmp/**").unwrap().is_match("/tmp/a/b"));
    }
}
