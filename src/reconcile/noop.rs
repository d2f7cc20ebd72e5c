//! The no-op fast path of `iw plan`: proving from the lockfile that nothing changed, without
//! parsing the registry or rendering a single file.
//!
//! After a complete, successful `iw apply` of every agent (and no sessions.yaml),
//! the lockfile records a key: a SHA-256 of everything the generated files are a function of —
//! the registry's bytes, each template's bytes (or "built-in"), the names in `templates/`, the
//! project root, `SOURCE_DATE_EPOCH`, and the identity of the iw binary (its path, size, inode,
//! mtime and ctime: a rebuilt or replaced binary, which may render differently, never matches).
//! When `iw plan` finds the same key and every file the lockfile lists still has the content iw
//! wrote (read and hashed, not judged by mtime), the desired files are exactly the files on disk:
//! the plan is empty, and the warnings the lockfile recorded with the key are shown again.
//! Anything else takes the full path.

use std::path::Path;

use crate::model::templates::BUILTIN_TEMPLATES;
use crate::reconcile::lock::{Inputs, LockFile, TemplateInput};
use crate::support::fsutil;

/// The key for the inputs on disk under `root`, or `None` when the fast path cannot apply
/// (sessions.yaml exists, or something cannot be read).
pub fn key_from_disk(root: &Path) -> Option<String> {
    if root.join(crate::model::sessions::SESSIONS_PATH).exists() {
        return None;
    }
    let registry = fsutil::read_regular(&root.join(crate::project::REGISTRY_PATH)).ok()?;
    // What `Project::inputs` records for a loaded project, read straight from disk.
    let mut inputs = Inputs {
        registry: fsutil::sha256_hex(&registry),
        templates: Default::default(),
    };
    for (name, builtin) in BUILTIN_TEMPLATES {
        let rel = format!("templates/{name}.template");
        let (source, text) = match fsutil::read_regular(&root.join(&rel)) {
            Ok(bytes) => (rel, bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                ("builtin".to_string(), builtin.as_bytes().to_vec())
            }
            Err(_) => return None,
        };
        let sha256 = fsutil::sha256_hex(&text);
        inputs
            .templates
            .insert(name.to_string(), TemplateInput { source, sha256 });
    }
    key(root, &inputs)
}

/// The key of `inputs` (as the lockfile records them: [`crate::project::Project::inputs`]) for
/// the project at `root`, with this binary and environment.
pub fn key(root: &Path, inputs: &Inputs) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let bin = std::env::current_exe().ok()?.canonicalize().ok()?;
    let m = std::fs::metadata(&bin).ok()?;
    let mut names: Vec<String> = std::fs::read_dir(root.join("templates"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut s = format!(
        "iw-noop-2\nversion {}\nbin {}\nbin-meta {} {} {} {} {} {} {}\nroot {}\nepoch {:?}\nregistry {}\n",
        env!("CARGO_PKG_VERSION"),
        bin.display(),
        m.len(),
        m.dev(),
        m.ino(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        root.display(),
        crate::support::Caller::get().source_date_epoch(),
        inputs.registry,
    );
    for (name, t) in &inputs.templates {
        s.push_str(&format!("template {name} {} {}\n", t.source, t.sha256));
    }
    s.push_str(&format!("templates-dir {names:?}\n"));
    Some(fsutil::sha256_hex(s.as_bytes()))
}

/// True when `lock` proves that the plan for every agent is empty: its key matches the inputs on
/// disk and every file it lists has the content iw wrote.
pub fn unchanged(root: &Path, lock: &LockFile) -> bool {
    let Some(recorded) = &lock.noop else {
        return false;
    };
    // Sessions left on a socket iw used before would be planned for destruction.
    if lock.socket.is_some() || !lock.tenant_sockets.is_empty() {
        return false;
    }
    if key_from_disk(root).as_ref() != Some(recorded) {
        return false;
    }
    lock.files.iter().all(|(path, entry)| {
        fsutil::read_regular(&root.join(path)).is_ok_and(|b| fsutil::sha256_hex(&b) == entry.sha256)
    })
}
