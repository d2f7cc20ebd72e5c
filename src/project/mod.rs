//! A project: its root, and the desired state read from it (registry, templates, sessions.yaml),
//! validated; [`render`] turns it into each agent's generated files.

pub mod render;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::diagnostics::Checked;
use crate::model::registry::{self, Agent, Registry};
use crate::model::sessions::{self, SessionsConfig};
use crate::model::templates::{Origin, Templates};
use crate::support::diag::Diagnostic;
use crate::support::error::{Error, Result};
use crate::support::fsutil;
use crate::support::parallel::{PARALLEL_FROM, map_in_order};
use render::{Context, RenderedFile};

/// The registry's path relative to the project root.
pub const REGISTRY_PATH: &str = "agents/registry.yaml";
/// Hashes of what the generated files are made from, as the lockfile records them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// SHA-256 of `agents/registry.yaml`.
    pub registry: String,
    /// Each template by output name: where it came from and its SHA-256.
    pub templates: BTreeMap<String, TemplateInput>,
    /// SHA-256 of `sessions.yaml`, if the project has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<String>,
}

/// One template input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// `builtin` or the template's path relative to the project root.
    pub source: String,
    /// SHA-256 of the template text.
    pub sha256: String,
}

/// A loaded, validated project.
#[derive(Debug, Clone)]
pub struct Project {
    /// Absolute, canonical project root.
    pub root: PathBuf,
    /// The validated registry.
    pub registry: Registry,
    /// SHA-256 of the registry file.
    pub registry_sha256: String,
    /// The registry file's identity on disk as it was read ([`fsutil::fingerprint`]), when its
    /// last change was long enough before (a second) that no later edit can share its time
    /// stamps: the stat cache may then vouch for its hash ([`crate::reconcile::stat_cache`]).
    pub registry_identity: Option<String>,
    /// The templates in use.
    pub templates: Templates,
    /// Rendering context (paths of the root and the iw binary).
    pub ctx: Context,
    /// sessions.yaml, if the project has one.
    pub sessions: Option<SessionsConfig>,
    /// SHA-256 of sessions.yaml, if the project has one.
    pub sessions_sha256: Option<String>,
    /// Warnings found while loading.
    pub warnings: Vec<Diagnostic>,
}

/// The [`fsutil::fingerprint`] of a file just read (`meta`, taken before the read), if it last
/// changed more than a second before now: an edit after the read then changes its time stamps,
/// however coarse the file system's clock.
fn settled_identity(meta: &std::fs::Metadata) -> Option<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    let changed = u128::try_from(fsutil::ctime_ns(meta)).ok()?;
    (changed + 1_000_000_000 < now).then(|| fsutil::fingerprint(meta))
}

/// Resolves `-C DIR` to an absolute, canonical path. Without `-C`: `$IW_ROOT` (set in every
/// agent's session and run, so that `iw` inside one acts on its project), else the current
/// directory.
pub fn resolve_root(dir: Option<&Path>) -> Result<PathBuf> {
    let env_root = crate::support::Caller::get().root();
    let dir = dir.or(env_root.as_deref()).unwrap_or(Path::new("."));
    dir.canonicalize().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::with_help(
                format!("project directory {} does not exist", dir.display()),
                "pass the project root with -C DIR",
            )
        } else {
            Error::io("open project directory", dir, e)
        }
    })
}

/// A warning for each agent whose persona file (its `persona`, default `docs/agents/<name>.md`)
/// is not a file: CLAUDE.md imports it. These warnings are about files on disk, which the no-op
/// key ((`reconcile::noop`)) does not cover: the lockfile records each agent's persona path instead,
/// and a plan proven by the key checks them again ([`missing_personas_of`]).
pub fn missing_personas(root: &Path, registry: &Registry) -> Vec<Diagnostic> {
    missing_personas_of(
        root,
        registry
            .agents
            .values()
            .map(|a| (a.name.as_str(), a.persona.as_str())),
    )
}

/// [`missing_personas`] for `(agent, persona path)` pairs: one warning for one missing file, one
/// warning naming them all for several (a project without personas is not 26 warnings).
pub fn missing_personas_of<'a>(
    root: &Path,
    agents: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<Diagnostic> {
    let agents: Vec<(&str, &str)> = agents.into_iter().collect();
    let present = files_present(root, agents.iter().map(|(_, p)| *p));
    let missing: Vec<(&str, &str)> = agents
        .into_iter()
        .filter(|(_, persona)| !present.contains(*persona))
        .collect();
    match missing.as_slice() {
        [] => Vec::new(),
        [(name, persona)] => {
            let help = if *persona == format!("docs/agents/{name}.md") {
                format!(
                    "write the agent's persona to {persona} (its CLAUDE.md imports it), or set `persona:` to where it is"
                )
            } else {
                "check the path (relative to the project root, or absolute), or create the file"
                    .into()
            };
            vec![
                Diagnostic::warning(format!("the persona file {persona} does not exist"))
                    .in_file(REGISTRY_PATH)
                    .agent(name)
                    .field(PERSONA_FIELD)
                    .help(help),
            ]
        }
        many => {
            let shown: Vec<String> = many
                .iter()
                .take(8)
                .map(|(n, p)| format!("{n} ({p})"))
                .collect();
            let more = match many.len().saturating_sub(shown.len()) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            vec![
                Diagnostic::warning(format!(
                    "{} agents have no persona file: {}{more}",
                    many.len(),
                    shown.join(", ")
                ))
                .in_file(REGISTRY_PATH)
                .field(PERSONA_FIELD)
                .help(
                    "write each agent's persona to its file (its CLAUDE.md imports it; docs/agents/<name>.md unless `persona:` says otherwise)",
                ),
            ]
        }
    }
}

const PERSONA_FIELD: &str = "persona";

/// Which of `paths` (relative to `root`, or absolute) are regular files (links followed). A
/// directory holding many of them is listed once instead of asking for each file: a team of
/// thousands keeps its personas in one folder, often one that does not exist yet.
fn files_present<'a>(
    root: &Path,
    paths: impl IntoIterator<Item = &'a str>,
) -> std::collections::HashSet<&'a str> {
    let mut by_dir: BTreeMap<&Path, Vec<&'a str>> = BTreeMap::new();
    for p in paths {
        by_dir
            .entry(Path::new(p).parent().unwrap_or(Path::new("")))
            .or_default()
            .push(p);
    }
    let is_file = |p: &str| std::fs::metadata(root.join(p)).is_ok_and(|m| m.is_file());
    let mut present = std::collections::HashSet::new();
    for (dir, files) in by_dir {
        if files.len() < 16 {
            present.extend(files.into_iter().filter(|p| is_file(p)));
            continue;
        }
        // An absolute persona stays as it is in `join`.
        let Ok(listing) = std::fs::read_dir(root.join(dir)) else {
            if !root.join(dir).exists() {
                continue; // none of them exists
            }
            present.extend(files.into_iter().filter(|p| is_file(p)));
            continue;
        };
        let listed: std::collections::HashSet<std::ffi::OsString> = listing
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        present.extend(files.into_iter().filter(|p| {
            Path::new(p).file_name().is_some_and(|n| listed.contains(n)) && is_file(p)
        }));
    }
    present
}

/// True for the warnings of [`missing_personas`].
pub fn is_persona_warning(d: &Diagnostic) -> bool {
    !d.is_error() && d.field.as_deref() == Some(PERSONA_FIELD)
}

impl Project {
    /// Loads and validates the registry and templates of the project at `root` (canonical).
    /// Every problem found in either is reported.
    pub fn load(root: &Path) -> Result<Project> {
        let reg_path = root.join(REGISTRY_PATH);
        let Some((src, meta)) = fsutil::read_optional_meta(&reg_path)? else {
            return Err(Error::with_help(
                format!("no registry at {}", reg_path.display()),
                "create agents/registry.yaml (see examples/pilot), or point iw at the project \
                 root with -C DIR",
            ));
        };
        let registry_sha256 = fsutil::sha256_hex(&src);
        let registry_identity = settled_identity(&meta);
        let mut diags = Vec::new();
        let registry = read_registry(root, src, &mut diags);
        let templates = checked(Templates::load(root), &mut diags);
        // sessions.yaml names agents, so it is checked against a valid registry only.
        let (sessions, sessions_sha256) = match &registry {
            Some(registry) => read_sessions(root, registry, &mut diags)?,
            None => (None, None),
        };
        match (registry, templates) {
            (Some(registry), Some(templates)) if !diags.iter().any(Diagnostic::is_error) => {
                Ok(Project {
                    root: root.to_path_buf(),
                    registry,
                    registry_sha256,
                    registry_identity,
                    templates,
                    ctx: Context::new(root.to_path_buf()),
                    sessions,
                    sessions_sha256,
                    warnings: diags,
                })
            }
            _ => Err(Error::Invalid(diags)),
        }
    }

    /// Renders the generated files of `agents`, in order, reporting every rendering problem at
    /// once. Large teams are rendered on every core.
    pub fn render<'a>(
        &self,
        agents: impl IntoIterator<Item = &'a Agent>,
    ) -> Result<Vec<RenderedFile>> {
        self.render_in(&self.ctx, agents)
    }

    /// [`Project::render`] for another place: `ctx` gives the root and the hook binary there
    /// (another host's, [`Project::context_on`]).
    pub fn render_in<'a>(
        &self,
        ctx: &Context,
        agents: impl IntoIterator<Item = &'a Agent>,
    ) -> Result<Vec<RenderedFile>> {
        let agents: Vec<&Agent> = agents.into_iter().collect();
        let parts = map_in_order(&agents, PARALLEL_FROM, |a| {
            render::agent_files(&self.templates, &self.registry, a, ctx)
        });
        let mut files = Vec::new();
        let mut errors = Vec::new();
        for part in parts {
            match part {
                Ok(f) => files.extend(f),
                Err(e) => errors.extend(e),
            }
        }
        if errors.is_empty() {
            Ok(files)
        } else {
            Err(Error::Invalid(errors))
        }
    }

    /// The rendering context of the project on another host: its `root` there, and the iw
    /// binary its hooks run there.
    pub fn context_on(&self, root: PathBuf, iw_bin: PathBuf) -> Context {
        Context {
            root,
            // Another host has iw there, not iw-hook.
            hook_bin: iw_bin.clone(),
            iw_bin,
            build_timestamp: self.ctx.build_timestamp.clone(),
            policy: Default::default(),
            references: Default::default(),
        }
    }

    /// Renders every agent: the full check `iw validate` runs.
    pub fn render_all(&self) -> Result<Vec<RenderedFile>> {
        self.render(self.registry.agents.values())
    }

    /// The input hashes recorded in the lockfile.
    pub fn inputs(&self) -> Inputs {
        Inputs {
            registry: self.registry_sha256.clone(),
            templates: self
                .templates
                .list
                .iter()
                .map(|t| {
                    let source = match &t.origin {
                        Origin::Builtin => "builtin".to_string(),
                        Origin::Project(_) => format!("templates/{}.template", t.output),
                    };
                    (
                        t.output.to_string(),
                        TemplateInput {
                            source,
                            sha256: fsutil::sha256_hex(t.text.as_bytes()),
                        },
                    )
                })
                .collect(),
            sessions: self.sessions_sha256.clone(),
        }
    }
}

/// The value of a checked read, its diagnostics (warnings, or errors and warnings) added to
/// `diags`.
fn checked<T>(read: Checked<T>, diags: &mut Vec<Diagnostic>) -> Option<T> {
    match read {
        Ok((value, warnings)) => {
            diags.extend(warnings);
            Some(value)
        }
        Err(d) => {
            diags.extend(d);
            None
        }
    }
}

/// The registry in `src` (the bytes of agents/registry.yaml), if it is valid, with a warning
/// for each missing persona file.
fn read_registry(root: &Path, src: Vec<u8>, diags: &mut Vec<Diagnostic>) -> Option<Registry> {
    let text = match String::from_utf8(src) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::error(format!("the file is not UTF-8 text: {e}"))
                    .in_file(REGISTRY_PATH),
            );
            return None;
        }
    };
    let registry = checked(registry::parse(REGISTRY_PATH, &text), diags)?;
    diags.extend(missing_personas(root, &registry));
    Some(registry)
}

/// sessions.yaml, if the project has one and it is valid, and its SHA-256.
fn read_sessions(
    root: &Path,
    registry: &Registry,
    diags: &mut Vec<Diagnostic>,
) -> Result<(Option<SessionsConfig>, Option<String>)> {
    let path = root.join(sessions::SESSIONS_PATH);
    let Some(bytes) = fsutil::read_optional(&path)? else {
        return Ok((None, None));
    };
    let sha = Some(fsutil::sha256_hex(&bytes));
    match String::from_utf8(bytes) {
        Ok(src) => Ok((
            checked(
                sessions::parse_in(sessions::SESSIONS_PATH, &src, registry, Some(root)),
                diags,
            ),
            sha,
        )),
        Err(e) => {
            diags.push(
                Diagnostic::error(format!("the file is not UTF-8 text: {e}"))
                    .in_file(sessions::SESSIONS_PATH),
            );
            Ok((None, sha))
        }
    }
}
