//! Fuzzes the hook's input handling: arbitrary bytes on stdin against a real project whose
//! policies iw generated. The hook must answer (allow or deny) and never panic; the Bash analysis
//! gets the same bytes as a command.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// A project with the 26-agent example registry, applied once.
fn project() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        std::fs::create_dir_all(dir.join("agents")).unwrap();
        std::fs::write(
            dir.join("agents/registry.yaml"),
            include_str!("../../examples/instructor-workflow/agents/registry.yaml"),
        )
        .unwrap();
        let project = iw::project::Project::load(&dir).unwrap();
        let plan = iw::reconcile::compute(&project, None, &Default::default()).unwrap();
        iw::reconcile::apply::apply(&project, &plan, |_| {}).unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    // Skipped: inputs with `<<`, on which brush-parser 0.4's tokenizer can allocate without
    // bound (the hook binary survives it through src/guard.rs; this harness has no such guard).
    if data.windows(2).any(|w| w == b"<<") {
        return;
    }
    let opts = iw::hook::Options {
        agent: "backend-agent".into(),
        root: Some(project().clone()),
        fail_open: false,
    };
    let mut tool = String::new();
    let _ = iw::hook::evaluate(&opts, data, &mut tool);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = iw::policy::shell::analyze(text, Some("/home/u"));
        // Also as the command of a well-formed Bash call.
        let call = serde_json::json!({
            "tool_name": "Bash",
            "cwd": project().join("agents/backend-agent"),
            "tool_input": {"command": text},
        });
        let _ = iw::hook::evaluate(&opts, call.to_string().as_bytes(), &mut tool);
    }
});
