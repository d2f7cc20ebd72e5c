//! The source tree keeps the shape docs/design.md describes: every folder under `src/` is listed
//! there, each imports only the folders before it in the documented order (no import loops),
//! and engine folders never print.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The order of docs/design.md: the line of backquoted folder names separated by ` · `.
fn documented_order() -> Vec<String> {
    let design = std::fs::read_to_string(Path::new(ROOT).join("docs/design.md")).unwrap();
    let line = design
        .lines()
        .skip_while(|l| !l.contains("checks it"))
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    line.split('·')
        .map(|w| w.trim().trim_matches('`').to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its unit tests (tests may reach anywhere) and without comments.
fn code_of(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file's code names: `crate::x`, and `crate::{x::…, y::…}`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for part in group.split(',') {
                let name = ident(part.trim());
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

#[test]
fn folders_import_only_the_folders_before_them_in_the_documented_order() {
    let order = documented_order();
    assert!(order.len() > 10, "the order in docs/design.md: {order:?}");
    let src = Path::new(ROOT).join("src");
    let mut folders = BTreeSet::new();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            folders.insert(p.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    let documented: BTreeSet<String> = order.iter().cloned().collect();
    assert_eq!(
        folders, documented,
        "the folders under src/ and those docs/design.md orders"
    );
    let mut wrong = Vec::new();
    for (rank, folder) in order.iter().enumerate() {
        let mut files = Vec::new();
        rust_files(&src.join(folder), &mut files);
        for f in files {
            for m in imports(&code_of(&f)) {
                if let Some(r) = order.iter().position(|o| *o == m)
                    && r > rank
                {
                    wrong.push(format!(
                        "{} imports {m}",
                        f.strip_prefix(ROOT).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the order:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn engine_folders_do_not_print() {
    let mut printing = Vec::new();
    for folder in [
        "model",
        "policy",
        "project",
        "reconcile",
        "tmux",
        "status",
        "claude",
    ] {
        let mut files = Vec::new();
        rust_files(&Path::new(ROOT).join("src").join(folder), &mut files);
        for f in files {
            let code = code_of(&f);
            if code.contains("println!(") || code.contains("print!(") {
                printing.push(f.strip_prefix(ROOT).unwrap().display().to_string());
            }
        }
    }
    assert!(printing.is_empty(), "engine code prints: {printing:?}");
}
