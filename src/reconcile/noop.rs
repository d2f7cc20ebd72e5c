//! The no-op fast path of `iw plan`: proving from the lockfile that nothing changed, without
//! parsing the registry or rendering a single file.
//!
//! After a complete, successful `iw apply` of every agent, the lockfile records a key: a SHA-256
//! of everything the generated files and sessions are a function of — the registry's bytes, each
//! template's bytes (or "built-in"), the names in `templates/`, sessions.yaml's bytes, the
//! project root, `SOURCE_DATE_EPOCH`, and the identity of the iw binary (its path, size, inode,
//! mtime and ctime: a rebuilt or replaced binary, which may render differently, never matches).
//! When `iw plan` finds the same key, every file the lockfile lists still has the content iw
//! wrote, and (with sessions.yaml) the live sessions are exactly what the full plan would find in
//! order (the same [`super::sessions::session_changes`] over the desired sessions the lockfile
//! recorded, on a fresh `tmux list-sessions`), the plan is empty, and the warnings the lockfile
//! recorded with the key are shown again. Anything else takes the full path.
//!
//! A file's content is judged by its identity on disk as the stat cache recorded it when iw last
//! read or wrote the file ([`super::stat_cache`], like git's index), else read and hashed.

use std::path::Path;

use crate::model::templates::BUILTIN_TEMPLATES;
use crate::reconcile::lock::{FileEntry, Inputs, LockFile, TemplateInput};
use crate::reconcile::stat_cache::Entries;
use crate::support::fsutil;

/// The key for the inputs on disk under `root`, or `None` when something cannot be read. The
/// registry's hash is the one `cache` records for it where the cache vouches for it, else it is
/// read and hashed.
pub fn key_from_disk(root: &Path, cache: &Entries) -> Option<String> {
    let path = crate::project::REGISTRY_PATH;
    let recorded = fsutil::fingerprints_in(root, &[path])
        .pop()
        .flatten()
        .and_then(|(identity, ctime)| cache.known(path, &identity, ctime).map(str::to_string));
    let registry = match recorded {
        Some(sha256) => sha256,
        None => fsutil::sha256_hex(&fsutil::read_regular(&root.join(path)).ok()?),
    };
    let sessions = match fsutil::read_regular(&root.join(crate::model::sessions::SESSIONS_PATH)) {
        Ok(bytes) => Some(fsutil::sha256_hex(&bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(_) => return None,
    };
    // What `Project::inputs` records for a loaded project, read straight from disk.
    let mut inputs = Inputs {
        registry,
        templates: Default::default(),
        sessions,
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
    // Which binary settings.json runs as the PreToolUse hook (iw-hook beside iw, or iw) is part
    // of the generated files too.
    let hook_bin = crate::project::render::hook_bin(&bin);
    let mut s = format!(
        "iw-noop-2\nversion {}\nbin {}\nhook-bin {}\nbin-meta {} {} {} {} {} {} {}\nroot {}\nepoch {:?}\nregistry {}\n",
        env!("CARGO_PKG_VERSION"),
        bin.display(),
        hook_bin.display(),
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
    if let Some(sessions) = &inputs.sessions {
        s.push_str(&format!("sessions {sessions}\n"));
    }
    Some(fsutil::sha256_hex(s.as_bytes()))
}

/// True when `lock` proves that the plan for every agent is empty: its key matches the inputs on
/// disk, every file it lists has the content iw wrote, and the live sessions are as declared.
pub fn unchanged(root: &Path, lock: &LockFile) -> bool {
    let Some(recorded) = &lock.noop else {
        return false;
    };
    // Other hosts are never proven unchanged from here: a plan observes them.
    if !lock.hosts.is_empty() {
        return false;
    }
    if !no_stale_sockets(lock) {
        return false;
    }
    // Ask tmux first: a local server is asked through its socket and may answer while the inputs
    // and files are checked here; a tmux client process (`IW_TMUX`, or a server that did not
    // take the question) runs meanwhile in a thread of its own.
    std::thread::scope(|scope| {
        let sessions = lock.noop_sessions.as_ref().map(|s| {
            let asked: Vec<_> = s
                .declared
                .iter()
                .map(|(socket, _)| crate::tmux::Tmux::new(socket).ask_sessions_brief())
                .collect();
            if asked.iter().all(|a| a.sent()) {
                Answer::Later(s, asked)
            } else {
                Answer::Thread(scope.spawn(move || sessions_unchanged(root, s, asked)))
            }
        });
        let cache = super::stat_cache::read(root);
        let cache = cache.entries();
        let here = key_from_disk(root, &cache).as_ref() == Some(recorded)
            && files_unchanged(root, lock, &cache);
        // Unanswered questions are dropped with their connections: the server only sees its
        // client leave.
        here && match sessions {
            None => true,
            Some(Answer::Later(s, asked)) => sessions_unchanged(root, s, asked),
            Some(Answer::Thread(h)) => h.join().unwrap_or(false),
        }
    })
}

/// The live sessions, to be read here or by a thread.
enum Answer<'a, 's> {
    Later(
        &'a super::lock::NoopSessions,
        Vec<crate::tmux::PendingSessions>,
    ),
    Thread(std::thread::ScopedJoinHandle<'s, bool>),
}

/// Sessions left on a socket iw used before would be planned for destruction: only the sockets
/// the recorded sessions use may be remembered.
fn no_stale_sockets(lock: &LockFile) -> bool {
    match &lock.noop_sessions {
        None => lock.socket.is_none() && lock.tenant_sockets.is_empty(),
        Some(s) => {
            lock.socket
                .as_ref()
                .is_none_or(|l| s.socket.as_ref() == Some(l))
                && lock
                    .tenant_sockets
                    .iter()
                    .all(|t| s.tenant_sockets.contains(t))
        }
    }
}

/// Every locked file has the content iw wrote: by its identity on disk where the stat cache
/// vouches for it ([`super::stat_cache`]), else read and hashed. In chunks on every core for
/// large teams, each file looked up from the open root.
fn files_unchanged(root: &Path, lock: &LockFile, cache: &Entries) -> bool {
    let entries: Vec<(&String, &FileEntry)> = lock.files.iter().collect();
    let chunks: Vec<&[(&String, &FileEntry)]> = entries.chunks(256).collect();
    let ok = crate::support::parallel::map_in_order(&chunks, 4, |chunk| {
        let paths: Vec<&str> = chunk.iter().map(|(p, _)| p.as_str()).collect();
        let seen = fsutil::fingerprints_in(root, &paths);
        chunk.iter().zip(seen).all(|((path, entry), seen)| {
            seen.is_some_and(|(id, ctime)| cache.vouches(path, &id, ctime, &entry.sha256))
                || fsutil::read_regular(&root.join(path))
                    .is_ok_and(|b| fsutil::sha256_hex(&b) == entry.sha256)
        })
    });
    ok.into_iter().all(|ok| ok)
}

/// The live sessions on every declared socket (`asked`, in the order of `recorded.declared`)
/// give no session change and no notice, by the full plan's own comparison.
fn sessions_unchanged(
    root: &Path,
    recorded: &super::lock::NoopSessions,
    asked: Vec<crate::tmux::PendingSessions>,
) -> bool {
    let root = root.to_string_lossy();
    let selection = super::plan::Selection::default();
    let specs: Vec<crate::model::sessions::SessionSpec> =
        recorded.specs.iter().map(|s| s.to_spec()).collect();
    recorded
        .declared
        .iter()
        .zip(asked)
        .all(|((socket, tenant), asked)| {
            let Ok(live) = asked.answer() else {
                return false;
            };
            let group: Vec<_> = specs
                .iter()
                .filter(|s| s.tenant == *tenant)
                .cloned()
                .collect();
            let live = [(socket.clone(), live)];
            let (changes, notices) = super::sessions::session_changes(
                &group,
                Some(socket),
                &live,
                &root,
                &selection,
                &recorded.order,
            );
            changes.is_empty() && notices.is_empty()
        })
}
