//! Typed handoffs: `delegates_to` entries with a JSON Schema, checked by `iw handoff validate`.

use crate::common::TempProject;
use predicates::prelude::*;

const TEAM: &str = "agents:
  lead:
    name: lead
    display_name: Lead
    description: Leads the work
    model: opus
    tools: [Read, Task]
    delegates_to:
      - {agent: worker, schema: schemas/task.json}
      - helper
  worker:
    name: worker
    display_name: Worker
    description: Does the work
    model: sonnet
    tools: [Read, Write]
  helper:
    name: helper
    display_name: Helper
    description: Helps
    model: haiku
    tools: [Read]
";

const SCHEMA: &str = r#"{
  "type": "object",
  "required": ["title", "priority"],
  "properties": {
    "title": {"type": "string", "minLength": 1},
    "priority": {"enum": ["low", "high"]},
    "files": {"type": "array", "items": {"type": "string"}}
  },
  "additionalProperties": false
}"#;

fn team() -> TempProject {
    let p = TempProject::with_registry(TEAM);
    p.write("schemas/task.json", SCHEMA);
    p
}

#[test]
fn typed_and_plain_delegates_validate_and_render() {
    let p = team();
    p.iw().arg("validate").assert().success();
    p.apply();
    let policy = p.read("agents/lead/.claude/iw-policy.json");
    assert!(
        policy.contains("\"delegates_to\":[\"worker\",\"helper\"]"),
        "{policy}"
    );
    p.iw()
        .args(["graph", "--format", "dot"])
        .assert()
        .stdout(predicate::str::contains("\"lead\" -> \"worker\""));
}

#[test]
fn a_payload_is_checked_against_its_edges_schema() {
    let p = team();
    p.write(
        "ok.json",
        r#"{"title": "Add login", "priority": "high", "files": ["src/a.rs"]}"#,
    );
    p.iw()
        .args([
            "handoff", "validate", "--from", "lead", "--to", "worker", "ok.json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("valid handoff"));

    p.write(
        "bad.json",
        r#"{"title": "", "priority": "urgent", "files": [3], "extra": 1}"#,
    );
    let out = p
        .iw()
        .args([
            "handoff", "validate", "--from", "lead", "--to", "worker", "bad.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for field in ["/title:", "/priority:", "/files/0:", "extra"] {
        assert!(err.contains(field), "{field} in {err}");
    }

    // An untyped edge has no schema to check; an edge that does not exist is refused.
    p.iw()
        .args([
            "handoff", "validate", "--from", "lead", "--to", "helper", "bad.json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("no schema"));
    p.iw()
        .args([
            "handoff", "validate", "--from", "worker", "--to", "lead", "ok.json",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not in its delegates_to"));
    p.iw()
        .args([
            "handoff", "validate", "--from", "lead", "--to", "wroker", "ok.json",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("did you mean `worker`?"));
    p.write("broken.json", "{\"title\": ");
    p.iw()
        .args([
            "handoff",
            "validate",
            "--from",
            "lead",
            "--to",
            "worker",
            "broken.json",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("broken.json:1:"));
}

#[test]
fn a_bad_typed_entry_is_a_located_error() {
    let p = TempProject::with_registry(&TEAM.replace("schemas/task.json", "/abs/task.json"));
    p.iw()
        .arg("validate")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "must be a path relative to the project root",
        ))
        .stderr(predicate::str::contains("registry.yaml:9:"));
}
