//! What changed on disk, as `iw watch` learns it: file-change notifications (inotify) on the
//! project's inputs, its generated files and its state, sorted into what each one calls for.

use std::path::Path;
use std::sync::mpsc::Sender;

/// What the file watcher saw.
pub(crate) enum Changed {
    /// An activity record.
    Activity,
    /// A run's state or output.
    Runs,
    /// The registry, sessions.yaml or templates.
    Inputs,
    /// Generated files or the lockfile.
    Files,
}

/// Watches the project's inputs, generated files and state for changes (inotify), sending what
/// changed on `tx`. The watcher stops when dropped.
pub(crate) fn watch_files(root: &Path, tx: Sender<Changed>) -> Option<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher as _};
    let base = root.to_path_buf();
    let state = root.join("state");
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        if matches!(ev.kind, notify::EventKind::Access(_)) {
            return;
        }
        for p in ev.paths {
            let rel = p.strip_prefix(&base).unwrap_or(&p);
            let what = if rel.starts_with("state/activity") {
                Changed::Activity
            } else if rel.starts_with("state/runs") {
                Changed::Runs
            } else if rel.starts_with("agents/registry.yaml")
                || rel.starts_with("sessions.yaml")
                || rel.starts_with("templates")
                || rel == Path::new("state")
            {
                Changed::Inputs
            } else if rel.starts_with("agents") || rel.starts_with("state/iw.lock") {
                Changed::Files
            } else {
                continue;
            };
            let _ = tx.send(what);
        }
    })
    .ok()?;
    let _ = watcher.watch(root, RecursiveMode::NonRecursive);
    let _ = watcher.watch(&root.join("agents"), RecursiveMode::Recursive);
    let _ = watcher.watch(&root.join("templates"), RecursiveMode::NonRecursive);
    // state/ may not exist yet: its creation in the root is an input change, and then watched.
    if state.is_dir() {
        let _ = watcher.watch(&state, RecursiveMode::Recursive);
    }
    Some(watcher)
}

/// Watches state/ for changes, once it exists (the first apply creates it), sending what changed
/// on `tx`. The watcher stops when dropped.
pub(crate) fn watch_state(root: &Path, tx: Sender<Changed>) -> Option<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher as _};
    let base = root.to_path_buf();
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        for p in ev.paths {
            let rel = p.strip_prefix(&base).unwrap_or(&p);
            let _ = tx.send(if rel.starts_with("state/activity") {
                Changed::Activity
            } else if rel.starts_with("state/runs") {
                Changed::Runs
            } else {
                Changed::Files
            });
        }
    })
    .ok()?;
    w.watch(&root.join("state"), RecursiveMode::Recursive)
        .ok()?;
    Some(w)
}
