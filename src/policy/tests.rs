//! Property and unit tests of policies: compiled from a registry, deciding on re-spelled paths.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::json;

use super::doc::rule;
use super::paths::below;
use super::*;
use crate::model::pattern::AccessPattern;

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
            .to_string()
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
    // Every kind of rule: protected, cannot_access, exclusive_access, cannot_read, and a
    // delegate's rules; the real 26-agent registry too.
    let lead = "  lead:
    name: lead
    display_name: Lead
    description: Leads
    model: opus
    tools: [Read, Task]
    delegates_to: [worker, tester]
    cannot_read: ['secrets/**']
    deny_commands: ['git push*']
";
    let real = include_str!("../../examples/instructor-workflow/agents/registry.yaml");
    let mut seen = 0;
    for text in [format!("{REGISTRY}{lead}"), real.to_string()] {
        let (registry, _) = crate::model::registry::parse("r.yaml", &text).unwrap();
        let shared = Shared::new(&registry);
        for a in registry.agents.values() {
            let written = render_json(&shared, &registry, a);
            assert_eq!(written, compile(&registry, a).to_json());
            let back: PolicyDoc = serde_json::from_str(&written).unwrap();
            seen += usize::from(!back.delegate_no_write.is_empty() && !back.no_read.is_empty());
            assert_eq!(back, compile(&registry, a));
            // Each rule as the registry says, every field of it.
            let mut no_write: Vec<PathRule> = super::paths::protected_patterns()
                .map(|(p, what)| rule(&p, RuleKind::Protected, None, Some(what)))
                .collect();
            for (p, owner) in registry.no_write_patterns(a) {
                let kind = match owner {
                    Some(_) => RuleKind::ExclusiveAccess,
                    None => RuleKind::CannotAccess,
                };
                no_write.push(rule(p, kind, owner, None));
            }
            assert_eq!(back.no_write, no_write);
            let no_read: Vec<PathRule> = (a.cannot_read.iter())
                .map(|p| rule(p, RuleKind::CannotRead, None, None))
                .collect();
            assert_eq!(back.no_read, no_read);
            for (d, rules) in &back.delegate_no_write {
                let want: Vec<PathRule> = (registry.agents[d].cannot_access.iter())
                    .map(|p| rule(p, RuleKind::CannotAccess, None, None))
                    .collect();
                assert_eq!(rules, &want);
            }
        }
    }
    assert!(seen > 0, "no policy had a delegate's rules and cannot_read");
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
