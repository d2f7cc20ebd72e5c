//! Paths as the kernel sees them: [`resolve`] makes a path absolute against the tool call's
//! `cwd`, follows every symlink in the part that exists, removes `.` and `..`, and only then makes
//! it relative to the (canonical) project root for gitignore-style matching. Also iw's own
//! [`PROTECTED`] paths, and which rules reach below a directory.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::model::pattern::AccessPattern;

use super::doc::PathRule;

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

/// The protected paths as parsed patterns, with what each is.
pub fn protected_patterns() -> impl Iterator<Item = (AccessPattern, &'static str)> {
    PROTECTED
        .iter()
        .filter_map(|&(p, what)| AccessPattern::parse(p).ok().map(|p| (p, what)))
}

/// Why a path cannot be resolved.
#[derive(Debug)]
pub enum PathError {
    /// More than [`MAX_LINKS`] symlinks (a loop, most likely) on the way to the path.
    TooManyLinks(PathBuf),
    /// A symlink on the way could not be read.
    ReadLink {
        /// The symlink.
        link: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::TooManyLinks(path) => write!(
                f,
                "{} has too many levels of symbolic links",
                path.display()
            ),
            PathError::ReadLink { link, source } => {
                write!(f, "cannot read the symlink {}: {source}", link.display())
            }
        }
    }
}

impl std::error::Error for PathError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PathError::TooManyLinks(_) => None,
            PathError::ReadLink { source, .. } => Some(source),
        }
    }
}

/// Where a path really is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Inside the project: root-relative, `/`-separated, normalised (`""` is the root itself).
    Inside(String),
    /// Outside the project: absolute and normalised.
    Outside(PathBuf),
}

/// The most symlinks followed while resolving one path (as Linux's `MAXSYMLINKS`).
pub const MAX_LINKS: usize = 40;

/// Resolves `path` as the kernel would when the tool touches it: relative to `cwd`, `~` from
/// `home`, every symlink in the existing part followed (also after `..`), `.`/`..` removed. A
/// symlink loop is an error. `root` must be canonical.
pub fn resolve(
    root: &Path,
    cwd: &Path,
    path: &str,
    home: Option<&Path>,
) -> Result<Resolved, PathError> {
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
pub(super) fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path, home) {
        ("~", Some(h)) => h.to_path_buf(),
        (p, Some(h)) if p.starts_with("~/") => h.join(&p[2..]),
        (p, _) => PathBuf::from(p),
    }
}

/// `realpath(3)` that also accepts paths whose tail does not exist yet (the tail is normalised
/// lexically; a missing directory cannot be a symlink).
pub fn realpath(abs: &Path) -> Result<PathBuf, PathError> {
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
            return Err(PathError::TooManyLinks(abs.to_path_buf()));
        }
        let target = std::fs::read_link(&out).map_err(|source| PathError::ReadLink {
            link: out.clone(),
            source,
        })?;
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

/// The first rule naming a path below `dir` (so an operation on `dir` as a whole reaches it):
/// an anchored rule whose literal prefix lies below `dir`, or an unanchored one (`**/name/…`)
/// whose first name exists directly in `dir`. Deeper unanchored matches are not searched for.
pub(super) fn below(rules: &[PathRule], dir: &str, root: &Path) -> Option<usize> {
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
