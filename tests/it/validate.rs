//! Validation: every rule has a failing fixture in tests/fixtures/invalid/, each declaring what
//! it expects (`# expect:`), where (`# at: line:col`) and the advice (`# help:`). Every command
//! that reads the registry must fail with exit 1, report all of them, and change nothing on disk.

use crate::common::{SMALL, TempProject};

struct Expect {
    message: String,
    at: Option<(u32, u32)>,
    help: Option<String>,
}

fn expectations(text: &str) -> Vec<Expect> {
    let mut out: Vec<Expect> = Vec::new();
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("# expect: ") {
            out.push(Expect {
                message: m.to_string(),
                at: None,
                help: None,
            });
        } else if let Some(a) = line.strip_prefix("# at: ") {
            if a != "-" {
                let (l, c) = a.split_once(':').unwrap();
                out.last_mut().unwrap().at = Some((l.parse().unwrap(), c.parse().unwrap()));
            }
        } else if let Some(h) = line.strip_prefix("# help: ") {
            out.last_mut().unwrap().help = Some(h.to_string());
        }
    }
    out
}

fn fixtures() -> Vec<(String, String)> {
    let dir = crate::common::repo().join("tests/fixtures/invalid");
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_invalid_fixture_fails_with_located_errors_and_writes_nothing() {
    let all = fixtures();
    assert!(all.len() >= 20, "fixtures missing: {}", all.len());
    for (name, text) in all {
        let expects = expectations(&text);
        assert!(!expects.is_empty(), "{name} declares no expectation");
        let p = TempProject::with_registry(&text);
        let before = p.snapshot();

        let out = p.iw().arg("validate").output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}: validate exit code");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Messages speak of the user's file and of iw, never of the parser's options or Rust
        // types, nor of the project iw replaced ("the seed").
        for internal in [
            "budget",
            "Options",
            "Breach",
            "AnchorRatio",
            "RecordedAnchor",
            "{ depth",
            "seed",
        ] {
            assert!(
                !stderr.contains(internal),
                "{name}: {internal:?} in:\n{stderr}"
            );
        }
        for e in &expects {
            assert!(
                stderr.contains(&e.message),
                "{name}: missing {:?} in:\n{stderr}",
                e.message
            );
            if let Some((l, c)) = e.at {
                let loc = format!("agents/registry.yaml:{l}:{c}");
                assert!(
                    stderr.contains(&loc),
                    "{name}: missing location {loc} in:\n{stderr}"
                );
            }
            if let Some(h) = &e.help {
                assert!(
                    stderr.contains(h),
                    "{name}: missing help {h:?} in:\n{stderr}"
                );
            }
        }

        // JSON diagnostics carry the same facts for scripts.
        let out = p.iw().args(["validate", "--json"]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: validate --json exit code"
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: --json output is not JSON: {e}"));
        let diags = doc["diagnostics"].as_array().unwrap();
        for e in &expects {
            let found = diags.iter().any(|d| {
                d["message"].as_str().unwrap_or("").contains(&e.message)
                    && e.at.is_none_or(|(l, c)| d["line"] == l && d["column"] == c)
            });
            assert!(
                found,
                "{name}: {:?} not in JSON diagnostics {diags:#?}",
                e.message
            );
        }

        for args in [
            &["plan"][..],
            &["plan", "--exit-code"],
            &["apply", "--yes"],
            &["graph"],
        ] {
            let out = p.iw().args(args).output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{name}: {args:?} exit code");
        }
        assert_eq!(p.snapshot(), before, "{name}: something was written");
    }
}

#[test]
fn errors_are_reported_all_at_once_with_a_count() {
    let text = std::fs::read_to_string(
        crate::common::repo().join("tests/fixtures/invalid/many-errors-at-once.yaml"),
    )
    .unwrap();
    let p = TempProject::with_registry(&text);
    let out = p.iw().arg("validate").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("3 errors; nothing was changed."),
        "{stderr}"
    );
}

#[test]
fn valid_registries_validate() {
    for example in ["pilot", "instructor-workflow"] {
        let p = TempProject::example(example);
        let out = p.iw().arg("validate").output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("is valid"), "{stdout}");
        let n = if example == "pilot" { 3 } else { 26 };
        assert!(stdout.contains(&format!("{n} agents")), "{stdout}");
    }
}

#[test]
fn tools_claude_code_no_longer_has_are_warnings_and_never_deny_rules() {
    let p = TempProject::with_registry(&crate::common::SMALL.replace(
        "tools: [Bash, Read, Write, Edit]",
        "tools: [Bash, Read, Write, Edit, MultiEdit]",
    ));
    let out = p.iw().arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Claude Code has no `MultiEdit` tool any more"),
        "{stderr}"
    );
    assert!(stderr.contains("agents/registry.yaml:15:38"), "{stderr}");
    p.apply();
    // A deny rule naming a tool the client lacks prints a warning at every Claude Code start.
    for agent in ["lead", "worker"] {
        let settings: serde_json::Value =
            serde_json::from_str(&p.read(&format!("agents/{agent}/.claude/settings.json")))
                .unwrap();
        let deny: Vec<&str> = settings["permissions"]["deny"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r.as_str())
            .collect();
        for gone in [
            "LS",
            "MultiEdit",
            "NotebookRead",
            "SlashCommand",
            "TeamCreate",
        ] {
            assert!(!deny.contains(&gone), "{agent} denies {gone}: {deny:?}");
        }
        assert!(deny.contains(&"WebFetch"), "{deny:?}");
    }
}

#[test]
fn missing_registry_says_what_to_do() {
    let p = TempProject::empty();
    let out = p.iw().arg("plan").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no registry at"), "{stderr}");
    assert!(stderr.contains("-C DIR"), "{stderr}");
}

#[test]
fn template_unknown_variable_names_template_line_and_variable() {
    let p = TempProject::with_registry(SMALL);
    p.write(
        "templates/CLAUDE.md.template",
        "# ${AGENT_DISPLAY_NAME}\n\nModel: ${AGENT_MODLE}\nTools: ${AGENT_TOOLS_LIST\n",
    );
    let out = p.iw().arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown variable `${AGENT_MODLE}`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("templates/CLAUDE.md.template:3:8"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `${AGENT_MODEL}`?"),
        "{stderr}"
    );
    assert!(stderr.contains("unterminated `${`"), "{stderr}");
    assert!(
        stderr.contains("templates/CLAUDE.md.template:4:8"),
        "{stderr}"
    );
}

#[test]
fn registry_and_template_errors_are_reported_together() {
    let p = TempProject::with_registry(&SMALL.replace("model: sonnet", "model: gpt"));
    p.write("templates/CLAUDE.md.template", "${NOPE}\n");
    let out = p.iw().arg("validate").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`gpt` is not a Claude model"), "{stderr}");
    assert!(stderr.contains("unknown variable `${NOPE}`"), "{stderr}");
}

/// The seed's own settings template renders, but Claude Code would silently ignore its hook:
/// validate must reject it and say why.
#[test]
fn seed_settings_template_is_rejected_for_its_hook_format() {
    let p = TempProject::with_registry(SMALL);
    p.write(
        "templates/settings.json.template",
        r#"{
  "hooks": {
    "PreToolUse": [{
      "command": "${PROJECT_ROOT}/agents/${AGENT_NAME}/.claude/hooks/auto-deny.py",
      "description": "Enforce ${AGENT_DISPLAY_NAME} directory and tool restrictions"
    }]
  },
  "contextFiles": ["CLAUDE.md", "${PROJECT_ROOT}/.project-context.md"],
  "projectInfo": {
    "name": "${AGENT_DISPLAY_NAME}",
    "type": "multi-agent-system",
    "description": "${AGENT_DESCRIPTION}"
  }
}
"#,
    );
    let out = p.iw().arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("templates/settings.json.template"),
        "{stderr}"
    );
    assert!(stderr.contains("hooks.PreToolUse[0]"), "{stderr}");
    assert!(stderr.contains("ignores such entries silently"), "{stderr}");
}

/// The seed's CLAUDE.md template (with every Appendix B variable) renders unchanged.
#[test]
fn seed_claude_md_template_renders() {
    let p = TempProject::with_registry(SMALL);
    p.write(
        "templates/CLAUDE.md.template",
        "# ${AGENT_DISPLAY_NAME}\n\n**Persona**: See `${PERSONA_PATH}`.\n\n**Allowed Tools**:\n${AGENT_TOOLS_LIST}\n\n\
**Cannot Access**:\n${AGENT_CANNOT_ACCESS_LIST}\n\n**Exclusive Access**:\n${AGENT_EXCLUSIVE_ACCESS_LIST}\n\n\
${AGENT_DELEGATION_RULES}\n\n### What You MUST Do\n\n${AGENT_RESPONSIBILITIES_LIST}\n\n### What You MUST NOT Do\n\n\
${AGENT_FORBIDDEN_LIST}\n\n<!-- ${AGENT_NAME} ${AGENT_DESCRIPTION} ${AGENT_MODEL} ${PROJECT_ROOT} ${BUILD_TIMESTAMP} -->\n",
    );
    p.iw().arg("validate").assert().success();
    p.apply();
    let md = p.read("agents/worker/.claude/CLAUDE.md");
    assert!(md.starts_with("# Worker\n"), "{md}");
    assert!(
        md.contains("Bash, Edit, Read, Write"),
        "tools, sorted: {md}"
    );
    assert!(md.contains("- `tests/**`"), "{md}");
    assert!(
        md.contains("1970-01-01T00:00:00Z"),
        "deterministic timestamp: {md}"
    );
    assert!(!md.contains("${"), "{md}");
    // Deterministic: a second plan is empty.
    assert_eq!(p.plan_code(), 0);
}

#[test]
fn description_with_quotes_and_newlines_gives_valid_json() {
    let registry = SMALL.replace(
        "description: Does the work",
        "description: \"Says \\\"hi\\\", uses C:\\\\path\\nand a tab\\there\"",
    );
    let p = TempProject::with_registry(&registry);
    p.write(
        "templates/settings.json.template",
        r#"{
  "model": "${AGENT_MODEL}",
  "projectInfo": {"name": "${AGENT_DISPLAY_NAME}", "description": "${AGENT_DESCRIPTION}"},
  "hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "${IW_HOOK_COMMAND}"}]}]}
}
"#,
    );
    p.apply();
    let v: serde_json::Value =
        serde_json::from_str(&p.read("agents/worker/.claude/settings.json")).unwrap();
    assert_eq!(
        v["projectInfo"]["description"],
        "Says \"hi\", uses C:\\path\nand a tab\there"
    );
}

#[test]
fn invalid_json_template_output_is_reported() {
    let p = TempProject::with_registry(SMALL);
    p.write(
        "templates/settings.json.template",
        "{\"model\": ${AGENT_MODEL}}\n",
    );
    let out = p.iw().arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("output is not valid JSON"), "{stderr}");
    assert!(
        stderr.contains("templates/settings.json.template"),
        "{stderr}"
    );
}

/// A registry written the way PyYAML's default `yaml.dump` writes a generated one: every list
/// shared between agents is written once with an anchor (`&id001`) and then as aliases
/// (`*id001`), tens of thousands of them for few anchors. Alias bombs are refused (fixtures
/// alias-bomb.yaml, deep-nesting.yaml); this must load.
#[test]
fn a_10000_agent_registry_with_many_aliases_loads() {
    let lists: [&[&str]; 4] = [
        &["Glob", "Grep", "Read"],
        &["Bash", "Edit", "Read", "Write"],
        &["Read", "Task"],
        &["tests/**", "'*.spec.*'"],
    ];
    let mut anchored = [false; 4];
    let mut yaml = String::from("agents:\n");
    let mut list = |yaml: &mut String, key: &str, i: usize| {
        if anchored[i] {
            yaml.push_str(&format!("    {key}: *id00{i}\n"));
        } else {
            anchored[i] = true;
            yaml.push_str(&format!("    {key}: &id00{i}\n"));
            for item in lists[i] {
                yaml.push_str(&format!("    - {item}\n"));
            }
        }
    };
    for n in 0..10_000 {
        yaml.push_str(&format!("  agent-{n}:\n"));
        list(&mut yaml, "cannot_access", 3);
        yaml.push_str(&format!(
            "    description: Does part {n} of the work\n    display_name: Agent {n}\n"
        ));
        list(&mut yaml, "forbidden", 3);
        yaml.push_str("    model: sonnet\n");
        yaml.push_str(&format!("    name: agent-{n}\n"));
        list(&mut yaml, "responsibilities", 3);
        list(&mut yaml, "tools", n % 3);
    }
    assert!(yaml.matches(": *id00").count() > 39_000);
    let p = TempProject::with_registry(&yaml);
    let out = p.iw().args(["graph", "--format", "json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let graph: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(graph["agents"].as_array().unwrap().len(), 10_000);
}

/// A persona file that does not exist (the default `docs/agents/<name>.md`, or `persona:`) is a
/// warning, not an error, in `iw validate` and whenever the registry is loaded.
#[test]
fn a_missing_persona_file_is_a_warning() {
    let registry = SMALL.replace(
        "    description: Leads the work\n",
        "    description: Leads the work\n    persona: personas/lead.md\n",
    );
    let p = TempProject::with_registry(&registry);
    p.write("docs/agents/worker.md", "# Worker\n");
    let out = p.iw().arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "warning: agents/registry.yaml: agent `lead`, field `persona`: the persona file \
             personas/lead.md does not exist"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("worker"),
        "worker's persona exists: {stderr}"
    );

    let doc = crate::common::json_stdout(p.iw().args(["validate", "--json"]));
    let diags = doc["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["severity"], "warning");
    assert_eq!(diags[0]["agent"], "lead");
    assert_eq!(diags[0]["field"], "persona");

    // Every command that loads the registry says so; none fails because of it.
    let out = p.iw().args(["plan", "--no-diff"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("personas/lead.md does not exist"));
    p.write("personas/lead.md", "# Lead\n");
    let out = p.iw().arg("validate").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// Thousands of errors: the first 50 are printed, then how many more there are (reporting stays
/// linear in their number); `--json` lists every one.
#[test]
fn many_errors_print_the_first_fifty_then_a_count() {
    let mut yaml = String::from("agents:\n");
    for n in 0..3000 {
        yaml.push_str(&format!(
            "  a{n}:\n    name: a{n}\n    display_name: A\n    description: d\n    model: opus\n    \
             tools: [Read]\n    delegates_to: [missing-{n}]\n"
        ));
    }
    let p = TempProject::with_registry(&yaml);
    let out = p.iw().arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("error: ").count(), 50, "{stderr}");
    assert!(
        stderr.contains("… and 2950 more errors, not shown (the first 50 are)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("3000 errors; nothing was changed."),
        "{stderr}"
    );
    // The list of known agents in a help is capped too.
    assert!(stderr.contains("a29, … (3000 in all)"), "{stderr}");

    let out = p.iw().args(["validate", "--json"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["diagnostics"].as_array().unwrap().len(), 3000);
}

/// A registry (or template, or sessions.yaml) that is a FIFO would block a plain read forever:
/// it is refused at once, naming the file. (The timeout only keeps a regression from hanging
/// the test suite.)
#[test]
fn a_registry_that_is_not_a_regular_file_is_refused_not_waited_on() {
    let fifo = |p: &TempProject, rel: &str| {
        let path = p.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    };
    let p = TempProject::empty();
    fifo(&p, "agents/registry.yaml");
    for args in [&["validate"][..], &["plan"], &["apply", "--yes"]] {
        let out = p
            .iw()
            .args(args)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("agents/registry.yaml: it is a FIFO (named pipe), not a regular file"),
            "{args:?}: {stderr}"
        );
    }
    for rel in ["templates/CLAUDE.md.template", "sessions.yaml"] {
        let p = TempProject::with_registry(SMALL);
        fifo(&p, rel);
        let out = p
            .iw()
            .arg("validate")
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{rel}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(rel) && stderr.contains("FIFO"),
            "{rel}: {stderr}"
        );
    }
}
