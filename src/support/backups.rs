//! Backups of files iw is about to overwrite or delete: one directory per apply (or per remote
//! write) under `state/backups/`, named by the UTC time to the second (`-2`, `-3`, … when taken),
//! each file under its path relative to the root, with its permissions. The same layout on this
//! machine and on every host.

use std::path::{Path, PathBuf};

use super::{Result, fsutil};

/// Where backups go, relative to the project's (or a host's) root.
pub const BACKUPS_DIR: &str = "state/backups";

/// The backup directory of one apply, created on first use.
#[derive(Debug)]
pub struct Backups {
    root: PathBuf,
    dir: Option<PathBuf>,
}

impl Backups {
    /// Backups under `root`; nothing is created until something is saved.
    pub fn new(root: &Path) -> Backups {
        Backups {
            root: root.to_path_buf(),
            dir: None,
        }
    }

    /// Saves `content` (of the file at `rel`, with permission bits `mode`) and returns where,
    /// relative to the root. Never writes through a symbolic link.
    pub fn save(&mut self, rel: &Path, content: &[u8], mode: u32) -> Result<String> {
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => {
                let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                    .to_string()
                    .replace([':', '-'], "");
                let base = Path::new(BACKUPS_DIR);
                let mut dir = base.join(&stamp);
                let mut n = 2;
                while self.root.join(&dir).exists() {
                    dir = base.join(format!("{stamp}-{n}"));
                    n += 1;
                }
                self.dir = Some(dir.clone());
                dir
            }
        };
        let target = dir.join(rel);
        fsutil::check_real_dirs(&self.root, target.parent().unwrap_or(Path::new("")))?;
        fsutil::write_atomic_mode(&self.root.join(&target), content, mode)?;
        Ok(target.to_string_lossy().into_owned())
    }

    /// This apply's backup directory, relative to the root, if anything was saved.
    pub fn dir_rel(&self) -> Option<String> {
        self.dir.as_ref().map(|d| d.to_string_lossy().into_owned())
    }
}
