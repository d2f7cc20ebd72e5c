//! The command-line surface: help, exit codes, graph, hook entry point, colours.

use crate::common::{SMALL, TempProject, iw};
use predicates::prelude::*;

#[test]
fn help_teaches_and_exits_0() {
    iw().arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("plan"))
        .stdout(predicate::str::contains("apply"))
        .stdout(predicate::str::contains("--exit-code"))
        .stdout(predicate::str::contains("Exit codes"));
    iw().args(["plan", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--target <AGENT>"))
        .stdout(predicate::str::contains("-/+ replace"));
    iw().arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("iw "));
}

#[test]
fn usage_errors_exit_1_never_2() {
    // 2 means "changes present" to `plan --exit-code` users; a typo must not look like that.
    iw().args(["plan", "--exit-cod"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--exit-code"));
    iw().arg("nonsense").assert().code(1);
    iw().assert()
        .code(1)
        .stderr(predicate::str::contains("Usage"));
}

#[test]
fn hook_with_bad_arguments_blocks_rather_than_failing_open() {
    // Claude Code only blocks on exit 2; any other failure would let the tool call through.
    iw().args(["hook", "pre-tool-use"])
        .write_stdin("{}")
        .assert()
        .code(2);
}

#[test]
fn graph_text_dot_and_json() {
    let p = TempProject::example("pilot");
    p.iw()
        .arg("graph")
        .assert()
        .success()
        .stdout("planning-agent\n├── backend-agent\n└── researcher-agent\n");
    p.iw()
        .args(["graph", "--format", "dot"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\"planning-agent\" -> \"backend-agent\";",
        ))
        .stdout(predicate::str::starts_with("digraph delegation {"));
    let out = p.iw().args(["graph", "--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["spawn_order"],
        serde_json::json!(["backend-agent", "researcher-agent", "planning-agent"])
    );
    assert_eq!(v["edges"].as_array().unwrap().len(), 2);
}

#[test]
fn graph_of_the_26_agent_registry_starts_delegates_first() {
    let p = TempProject::example("instructor-workflow");
    let out = p.iw().args(["graph", "--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let order: Vec<&str> = v["spawn_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(order.len(), 26);
    let planning = order.iter().position(|a| *a == "planning-agent").unwrap();
    for e in v["edges"].as_array().unwrap() {
        assert_eq!(e["from"], "planning-agent");
        let to = order
            .iter()
            .position(|a| *a == e["to"].as_str().unwrap())
            .unwrap();
        assert!(
            to < planning,
            "{} must start before planning-agent",
            e["to"]
        );
    }
}

#[test]
fn colours_only_when_asked_or_on_a_terminal() {
    let p = TempProject::with_registry(SMALL);
    // Not a terminal: no escape codes.
    let out = p.iw().arg("plan").env_remove("NO_COLOR").output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\u{1b}'));
    // Forced on.
    let out = p.iw().args(["--color", "always", "plan"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains('\u{1b}'));
    // Errors too.
    let out = p
        .iw()
        .args(["--color", "always", "plan", "--target", "nobody"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));
    let out = p
        .iw()
        .args(["--color", "never", "plan", "--target", "nobody"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));
}

#[test]
fn plan_errors_in_json_mode_are_json() {
    let p = TempProject::with_registry(&SMALL.replace("model: opus", "model: nope"));
    let out = p.iw().args(["plan", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"], true);
    assert_eq!(v["diagnostics"][0]["field"], "model");
    assert_eq!(v["diagnostics"][0]["agent"], "lead");
    assert_eq!(v["diagnostics"][0]["file"], "agents/registry.yaml");
    assert_eq!(v["diagnostics"][0]["line"], 6);
}

#[test]
fn dir_flag_and_current_directory() {
    let p = TempProject::with_registry(SMALL);
    iw().current_dir(p.path())
        .args(["plan", "--exit-code"])
        .assert()
        .code(2);
    iw().args(["-C", "/definitely/not/here", "plan"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not exist"));
}

#[test]
fn schemas_describe_exactly_the_fields_the_parser_accepts() {
    let out = iw().args(["schema", "registry"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["additionalProperties"], false);
    let top: Vec<&String> = v["properties"].as_object().unwrap().keys().collect();
    assert_eq!(top.len(), iw::model::registry::TOP_FIELDS.len());
    let agent = &v["$defs"]["AgentDoc"];
    assert_eq!(agent["additionalProperties"], false);
    let mut fields: Vec<&str> = agent["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = iw::model::registry::AGENT_FIELDS.to_vec();
    fields.sort_unstable();
    expected.sort_unstable();
    assert_eq!(fields, expected);
    assert!(v.to_string().contains("\"closed\""), "hook_failure values");
    assert!(
        !v.to_string().contains("seed"),
        "iw's schema speaks of iw: {v}"
    );

    let out = iw().args(["schema", "sessions"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let top: Vec<&str> = v["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for f in iw::model::sessions::TOP_FIELDS {
        assert!(top.contains(f), "{f}");
    }
    assert!(v.to_string().contains("\"on-change\""), "restart values");
    iw().args(["schema", "nonsense"]).assert().code(1);
}

#[test]
fn the_svg_graph_is_xml_and_names_every_agent_and_the_readme_picture_is_current() {
    let p = TempProject::example("instructor-workflow");
    let out = p.iw().args(["graph", "--format", "svg"]).output().unwrap();
    assert!(out.status.success());
    let svg = String::from_utf8(out.stdout).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let text: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    let registry = p.read("agents/registry.yaml");
    let agents: Vec<&str> = registry
        .lines()
        .filter_map(|l| l.strip_prefix("  ")?.strip_suffix(':'))
        .filter(|n| !n.starts_with(' '))
        .collect();
    assert_eq!(agents.len(), 26);
    for a in agents {
        assert!(text.contains(&a), "{a} is drawn");
    }
    // 11 delegation edges, each an arrow.
    let arrows = doc
        .descendants()
        .filter(|n| n.has_tag_name("path") && n.attribute("marker-end").is_some())
        .count();
    assert_eq!(arrows, 11);
    // The picture in the README is this one (regenerate: iw -C examples/instructor-workflow
    // graph --format svg > docs/graph.svg).
    let committed = std::fs::read_to_string(crate::common::repo().join("docs/graph.svg")).unwrap();
    assert_eq!(committed, svg, "docs/graph.svg is out of date");
}

/// The registry schema requires what `iw validate` requires: an editor using it rejects an agent
/// without a required field, or with no tools, exactly when validation does.
#[test]
fn the_registry_schema_requires_what_validation_requires() {
    let out = iw().args(["schema", "registry"]).output().unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let as_json = |yaml: &str| -> serde_json::Value { serde_saphyr::from_str(yaml).unwrap() };
    assert!(validator.is_valid(&as_json(SMALL)), "a valid registry");
    assert!(
        !validator.is_valid(&as_json("hook_failure: open\n")),
        "no agents"
    );
    let mut required = Vec::new();
    for field in iw::model::registry::AGENT_FIELDS {
        // The worker without this field (its line removed).
        let without: String = SMALL
            .split_inclusive('\n')
            .scan(false, |in_worker, line| {
                *in_worker |= line == "  worker:\n";
                Some(
                    if *in_worker && line.starts_with(&format!("    {field}:")) {
                        String::new()
                    } else {
                        line.to_string()
                    },
                )
            })
            .collect();
        let p = TempProject::with_registry(&without);
        let valid = p.iw().arg("validate").output().unwrap().status.success();
        assert_eq!(
            validator.is_valid(&as_json(&without)),
            valid,
            "without `{field}`: the schema and `iw validate` disagree"
        );
        if !valid {
            required.push(*field);
        }
    }
    assert_eq!(
        required,
        ["name", "display_name", "description", "model", "tools"]
    );
    let empty_tools = SMALL.replace("tools: [Bash, Read, Write, Edit]", "tools: []");
    assert!(!validator.is_valid(&as_json(&empty_tools)), "tools: []");
    let empty_name = SMALL.replace("display_name: Worker", "display_name: ''");
    assert!(!validator.is_valid(&as_json(&empty_name)), "an empty text");
}

#[test]
fn a_closed_pipe_ends_iw_quietly() {
    // `iw plan | head -1` on 26 agents (some 200 KB of diffs, more than a pipe holds): iw ends
    // as `cat` would, not with a panic (exit 101).
    let p = TempProject::example("instructor-workflow");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' -C '{}' plan | head -1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
            assert_cmd::cargo::cargo_bin!("iw").display(),
            p.path().display()
        ))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(status, "101", "{stderr}");
    assert!(status == "0" || status == "141", "{status}: {stderr}");
}
