//! Diagnostics on stderr: warnings as they come, an error with all its diagnostics, capped.

use std::io::Write as _;

use crate::support::diag::Diagnostic;
use crate::support::error::Error;

/// At most this many diagnostics are printed; the rest are counted (`--json` lists them all).
pub const MAX_SHOWN: usize = 50;

/// Prints `diags` on stderr, the first [`MAX_SHOWN`], then how many more there are.
pub fn print(diags: &[Diagnostic]) {
    let color = console::colors_enabled_stderr();
    let mut err = std::io::stderr().lock();
    for (i, d) in diags.iter().take(MAX_SHOWN).enumerate() {
        if i > 0 {
            let _ = err.write_all(b"\n");
        }
        let _ = err.write_all(d.render(color).as_bytes());
    }
    if let Some(rest) = diags.get(MAX_SHOWN..).filter(|r| !r.is_empty()) {
        let errors = rest.iter().filter(|d| d.is_error()).count();
        let warnings = rest.len() - errors;
        let count = |n: usize, what: &str| match n {
            0 => None,
            1 => Some(format!("1 more {what}")),
            n => Some(format!("{n} more {what}s")),
        };
        let more: Vec<String> = [count(errors, "error"), count(warnings, "warning")]
            .into_iter()
            .flatten()
            .collect();
        let _ = writeln!(
            err,
            "\n… and {}, not shown (the first {MAX_SHOWN} are); `iw validate --json` lists them all.",
            more.join(" and ")
        );
    }
}

/// Reports a command's error: on stderr, and also as JSON on stdout for a command in JSON mode.
pub fn report_error(e: &Error, json: bool) {
    let diags = e.diagnostics();
    if json {
        let doc = serde_json::json!({"error": true, "diagnostics": diags});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    print(&diags);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 1 {
        eprintln!("{errors} errors; nothing was changed.");
    }
}
