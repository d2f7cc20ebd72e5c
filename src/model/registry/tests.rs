//! The registry's unit tests: parsing, names, models, every kind of problem reported.

use super::*;

const OK: &str = "agents:
  plan:
    name: plan
    display_name: Plan
    description: Plans
    model: opus
    tools: [Read, Task]
    delegates_to: [back]
  back:
    name: back
    display_name: Back
    description: \"Says \\\"hi\\\"\"
    model: claude-sonnet-4-5
    tools: [Bash, Read, Write]
    cannot_access: [tests/**]
";

fn errors(src: &str) -> Vec<String> {
    match parse("r.yaml", src) {
        Ok(_) => vec![],
        Err(d) => d
            .into_iter()
            .filter(|d| d.is_error())
            .map(|d| {
                format!(
                    "{}:{} {}",
                    d.line.unwrap_or(0),
                    d.column.unwrap_or(0),
                    d.headline()
                )
            })
            .collect(),
    }
}

#[test]
fn valid_registry_parses() {
    let (r, warnings) = parse("r.yaml", OK).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(r.agents.len(), 2);
    assert_eq!(r.agents["back"].description, "Says \"hi\"");
    assert_eq!(r.agents["plan"].delegates_to, vec!["back"]);
    assert_eq!(r.agents["back"].cannot_access[0].glob, "tests/**");
    assert_eq!(r.agents["back"].persona, "docs/agents/back.md");
}

#[test]
fn names() {
    assert!(valid_name("backend-agent"));
    assert!(valid_name("a"));
    for bad in [
        "",
        "A",
        "1a",
        "-a",
        "a_b",
        "../x",
        "a/b",
        "a.b",
        &"a".repeat(64),
    ] {
        assert!(!valid_name(bad), "{bad}");
    }
}

#[test]
fn models() {
    for m in [
        "opus",
        "sonnet",
        "haiku",
        "claude-opus-4-1",
        "claude-3-5-haiku-20241022",
    ] {
        assert!(valid_model(m), "{m}");
    }
    for m in ["gpt-4", "Opus", "claude-", "claude-X"] {
        assert!(!valid_model(m), "{m}");
    }
}

#[test]
fn all_unknown_fields_are_reported_with_suggestions() {
    let src = OK
        .replace("    delegates_to: [back]", "    delegate_to: [back]")
        .replace(
            "    cannot_access: [tests/**]",
            "    cannot_acess: [tests/**]",
        );
    let e = errors(&src);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].starts_with("8:5 agent `plan`: unknown field `delegate_to`"),
        "{e:?}"
    );
    assert!(
        e[1].starts_with("15:5 agent `back`: unknown field `cannot_acess`"),
        "{e:?}"
    );
    let d = parse("r.yaml", &src).unwrap_err();
    assert_eq!(d[0].help.as_deref(), Some("did you mean `delegates_to`?"));
}

#[test]
fn semantic_errors_are_all_reported() {
    let src = OK
        .replace("model: opus", "model: gpt-4")
        .replace("tools: [Read, Task]", "tools: [Read, Tusk]")
        .replace("delegates_to: [back]", "delegates_to: [bak, plan]")
        .replace("    name: back\n", "    name: backend\n");
    let e = errors(&src);
    assert!(
        e.iter()
            .any(|m| m.contains("`gpt-4` is not a Claude model")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.contains("`Tusk` is not a Claude Code tool")),
        "{e:?}"
    );
    assert!(
        e.iter().any(|m| m.contains("`bak` is not an agent")),
        "{e:?}"
    );
    assert!(
        e.iter().any(|m| m.contains("`plan` delegates to itself")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.contains("`name` is `backend` but the entry's key is `back`")),
        "{e:?}"
    );
    assert_eq!(e.len(), 5, "{e:?}");
}

#[test]
fn cycles_are_reported_with_their_path() {
    let src = OK.replace(
        "    cannot_access: [tests/**]",
        "    cannot_access: [tests/**]\n    delegates_to: [plan]",
    );
    let e = errors(&src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("delegation cycle: back → plan → back"),
        "{e:?}"
    );
}

#[test]
fn exclusive_conflict() {
    let src = OK
        .replace(
            "    delegates_to: [back]",
            "    exclusive_access: [tests/**]",
        )
        .replace("cannot_access: [tests/**]", "exclusive_access: [/tests/**]");
    let e = errors(&src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("already held exclusively by `plan`"), "{e:?}");
}

#[test]
fn an_exclusive_conflict_points_at_its_own_entry_after_a_duplicate() {
    // `back` lists `docs/**` twice (a warning) before the pattern `plan` holds: the error is at
    // that pattern's own line, not at the duplicate's.
    let src = OK
        .replace(
            "    delegates_to: [back]",
            "    exclusive_access: [tests/**]",
        )
        .replace(
            "    cannot_access: [tests/**]",
            "    exclusive_access:\n      - docs/**\n      - docs/**\n      - tests/**",
        );
    let e = errors(&src);
    assert_eq!(e.len(), 1, "{e:?}");
    let line = src.lines().position(|l| l == "      - tests/**").unwrap() + 1;
    assert!(
        e[0].starts_with(&format!("{line}:9 ")) && e[0].contains("already held exclusively"),
        "{e:?}"
    );
}

#[test]
fn missing_required_fields_and_bad_names() {
    let src = "agents:\n  Bad_Name:\n    name: Bad_Name\n    tools: []\n";
    let e = errors(src);
    assert!(
        e.iter()
            .any(|m| m.starts_with("2:3") && m.contains("not a valid agent name")),
        "{e:?}"
    );
    for f in ["display_name", "description", "model"] {
        assert!(
            e.iter()
                .any(|m| m.contains(&format!("missing required field `{f}`"))),
            "{f}: {e:?}"
        );
    }
}

#[test]
fn yaml_errors_have_locations() {
    let e = errors("agents:\n  a:\n    tools: Bash\n");
    assert_eq!(e, vec!["3:12 `tools`: expected a list"]);
    let e = errors("agents:\n  a: {name: [x\n");
    assert_eq!(e.len(), 1, "{e:?}");
    let e = errors("");
    assert_eq!(e, vec!["0:0 the file is empty"]);
    let e = errors("agents:\n  a: {}\n  a: {}\n");
    assert_eq!(e, vec!["3:3 `a` appears twice in the same mapping"]);
}

#[test]
fn norway_is_a_string() {
    let src = OK.replace("display_name: Plan", "display_name: NO");
    let (r, _) = parse("r.yaml", &src).unwrap();
    assert_eq!(r.agents["plan"].display_name, "NO");
}

#[test]
fn each_tool_is_judged_the_same_in_every_agent_that_lists_it() {
    // Valid tools are looked up once per registry: a later agent listing one twice, or listing a
    // bad one beside it, is still told so, at its own line and column.
    let src = "agents:
  a:
    name: a
    display_name: A
    description: A
    model: opus
    tools: [Read, Grep]
  b:
    name: b
    display_name: B
    description: B
    model: opus
    tools: [Grep, Read, Read, Raed]
";
    assert_eq!(
        errors(src),
        vec!["13:31 agent `b`, field `tools`: `Raed` is not a Claude Code tool".to_string()]
    );
    let fixed = src.replace(", Raed]", "]");
    let (r, warnings) = parse("r.yaml", &fixed).unwrap();
    assert_eq!(r.agents["b"].tools, vec!["Grep", "Read"]);
    let got: Vec<(Option<u32>, Option<u32>, String)> = warnings
        .iter()
        .map(|w| (w.line, w.column, w.headline()))
        .collect();
    assert_eq!(
        got,
        vec![(
            Some(13),
            Some(25),
            "agent `b`, field `tools`: `Read` is listed twice".to_string()
        )]
    );
}
