//! `iw hook pre-tool-use` as Claude Code runs it: the real binary, the hook command iw wrote into
//! settings.json, JSON on stdin, exit 0 (allow) or 2 (deny, reason on stderr).

use crate::common::TempProject;
use serde_json::{Value, json};

/// A team: `lead` delegates to `worker` and `tester`; `tester` owns `tests/`; `worker` may not
/// touch `*.spec.*` or read `secrets/`, may not `git push`, and may write `/tmp/iw-hook-ok-*`.
const TEAM: &str = "agents:
  lead:
    name: lead
    display_name: Lead
    description: Leads the work
    model: opus
    tools: [Read, Glob, Grep, Task, mcp__github]
    delegates_to: [worker, tester]
  worker:
    name: worker
    display_name: Worker
    description: Does the work
    model: sonnet
    tools: [Bash, Read, Write, Edit, Grep]
    cannot_access: ['*.spec.*']
    cannot_read: [secrets/]
    deny_commands: ['git push*']
    write_outside_root: ['/tmp/iw-hook-ok-*']
  tester:
    name: tester
    display_name: Tester
    description: Writes tests
    model: sonnet
    tools: [Read, Write]
    exclusive_access: [tests/**]
";

fn team() -> TempProject {
    let p = TempProject::with_registry(TEAM);
    p.apply();
    p
}

/// The hook command exactly as iw wrote it into the agent's settings.json.
fn hook_command(p: &TempProject, agent: &str) -> String {
    let s: Value =
        serde_json::from_str(&p.read(&format!("agents/{agent}/.claude/settings.json"))).unwrap();
    s["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Runs the hook for `agent` through `sh -c` (as Claude Code does) with `input` on stdin;
/// returns the exit code and stderr.
fn run(p: &TempProject, agent: &str, input: &Value) -> (i32, String) {
    run_raw(p, agent, &input.to_string(), &[])
}

fn run_raw(p: &TempProject, agent: &str, input: &str, env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(hook_command(p, agent));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn call(p: &TempProject, agent: &str, tool: &str, input: Value) -> Value {
    json!({
        "session_id": "s1",
        "transcript_path": "/dev/null",
        "cwd": p.path().join("agents").join(agent),
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
        "tool_use_id": "t1",
    })
}

/// Asserts that `bash` (a Bash call through the hook) blocks each of `commands`, saying `why`.
fn all_blocked(bash: impl Fn(&str) -> (i32, String), commands: &[&str], why: &str) {
    for command in commands {
        let (code, reason) = bash(command);
        assert_eq!(code, 2, "{command}: {reason}");
        assert!(reason.contains(why), "{command}: {reason}");
    }
}

fn write(p: &TempProject, agent: &str, path: &str) -> (i32, String) {
    run(
        p,
        agent,
        &call(
            p,
            agent,
            "Write",
            json!({"file_path": path, "content": "x"}),
        ),
    )
}

#[test]
fn writes_follow_cannot_access_exclusive_access_and_protected_paths() {
    let p = team();
    let root = p.path();
    let abs = |rel: &str| root.join(rel).to_string_lossy().into_owned();

    assert_eq!(write(&p, "worker", &abs("src/main.rs")).0, 0);
    assert_eq!(write(&p, "worker", "../../src/lib.rs").0, 0);

    let (code, why) = write(&p, "worker", &abs("src/a.spec.ts"));
    assert_eq!(code, 2, "{why}");
    assert!(
        why.contains("`*.spec.*` is in worker's cannot_access"),
        "{why}"
    );

    // Another agent's exclusive area: the message names the owner and who can delegate to it.
    let (code, why) = write(&p, "worker", &abs("tests/test_a.py"));
    assert_eq!(code, 2);
    assert!(why.contains("tester's exclusive_access"), "{why}");
    assert!(why.contains("lead can delegate to"), "{why}");
    // The owner itself may write there.
    assert_eq!(write(&p, "tester", &abs("tests/test_a.py")).0, 0);

    for protected in [
        "agents/registry.yaml",
        "sessions.yaml",
        "templates/settings.json.template",
        "state/iw.lock",
        "agents/worker/.claude/settings.json",
        "agents/lead/.claude/iw-policy.json",
    ] {
        let (code, why) = write(&p, "tester", &abs(protected));
        assert_eq!(code, 2, "{protected}: {why}");
        assert!(why.contains("no agent may change"), "{why}");
    }

    // Outside the project: only what write_outside_root allows.
    let (code, why) = write(&p, "worker", "/etc/iw-hook-test");
    assert_eq!(code, 2);
    assert!(why.contains("outside the project"), "{why}");
    assert_eq!(write(&p, "worker", "/tmp/iw-hook-ok-1").0, 0);
    assert_eq!(write(&p, "tester", "/tmp/iw-hook-ok-1").0, 2);
}

#[test]
fn spelling_and_symlinks_do_not_get_around_the_rules() {
    let p = team();
    let root = p.path();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::os::unix::fs::symlink(root.join("tests"), root.join("src/t")).unwrap();
    std::os::unix::fs::symlink("../agents", root.join("src/a")).unwrap();
    let r = root.to_string_lossy();
    for spelling in [
        format!("{r}/src/../tests/x.py"),
        format!("{r}//tests/./x.py"),
        format!("{r}/src/t/x.py"),
        format!("{r}/src/t/../tests/x.py"),
        "../../src/t/new/deeper.py".to_string(),
        "./../../tests/x.py".to_string(),
    ] {
        let (code, why) = write(&p, "worker", &spelling);
        assert_eq!(code, 2, "{spelling}: {why}");
        assert!(why.contains("exclusive_access"), "{spelling}: {why}");
    }
    let (code, why) = write(&p, "worker", &format!("{r}/src/a/registry.yaml"));
    assert_eq!(code, 2, "{why}");
    assert!(why.contains("the registry"), "{why}");
    // A symlink loop is refused, not followed forever.
    std::os::unix::fs::symlink(root.join("src/loop"), root.join("src/loop")).unwrap();
    assert_eq!(write(&p, "worker", &format!("{r}/src/loop/x")).0, 2);
}

#[test]
fn tools_delegation_reads_and_mcp() {
    let p = team();
    let (code, why) = run(
        &p,
        "lead",
        &call(&p, "lead", "Write", json!({"file_path": "x"})),
    );
    assert_eq!(code, 2);
    assert!(why.contains("`Write` is not among lead's tools"), "{why}");

    let task = |target: &str| {
        call(
            &p,
            "lead",
            "Task",
            json!({"subagent_type": target, "prompt": "go"}),
        )
    };
    assert_eq!(run(&p, "lead", &task("worker")).0, 0);
    let (code, why) = run(&p, "lead", &task("stranger"));
    assert_eq!(code, 2);
    assert!(why.contains("worker, tester"), "{why}");
    // Claude Code's newer name for Task is held to the same rule.
    let agent = call(&p, "lead", "Agent", json!({"subagent_type": "stranger"}));
    assert_eq!(run(&p, "lead", &agent).0, 2);

    // `mcp__github` allows that server's tools, and no other server's.
    let mcp = |tool: &str| call(&p, "lead", tool, json!({}));
    assert_eq!(run(&p, "lead", &mcp("mcp__github__create_issue")).0, 0);
    assert_eq!(run(&p, "lead", &mcp("mcp__gitlab__create_issue")).0, 2);
    assert_eq!(run(&p, "lead", &mcp("mcp__githubx__a")).0, 2);

    // cannot_read covers Read, and a search of a directory that contains the area.
    let root = p.path().to_string_lossy().into_owned();
    std::fs::create_dir_all(p.path().join("secrets")).unwrap();
    let read = |tool: &str, input: Value| run(&p, "worker", &call(&p, "worker", tool, input));
    let (code, why) = read(
        "Read",
        json!({"file_path": format!("{root}/secrets/key.pem")}),
    );
    assert_eq!(code, 2);
    assert!(why.contains("cannot_read"), "{why}");
    assert_eq!(
        read("Read", json!({"file_path": format!("{root}/src/a.rs")})).0,
        0
    );
    assert_eq!(read("Grep", json!({"pattern": "x", "path": root})).0, 2);
    assert_eq!(
        read(
            "Grep",
            json!({"pattern": "x", "path": format!("{root}/src")})
        )
        .0,
        0
    );
}

#[test]
fn bash_writes_and_denied_commands() {
    let p = team();
    let bash = |command: &str| {
        run(
            &p,
            "worker",
            &call(&p, "worker", "Bash", json!({"command": command})),
        )
    };
    assert_eq!(bash("ls -la && echo hi > ../../src/out.txt").0, 0);
    let (code, why) = bash("echo x > ../../tests/out.txt");
    assert_eq!(code, 2);
    assert!(why.contains("exclusive_access"), "{why}");
    assert_eq!(bash("cd ../.. && echo x >> tests/out.txt").0, 2);
    assert_eq!(
        bash("true; (cd ../../src && touch ../agents/registry.yaml)").0,
        2
    );
    assert_eq!(
        bash("rm -rf ../../agents").0,
        2,
        "removing a parent of protected files"
    );
    assert_eq!(bash("cat a | tee ../../src/x.spec.js").0, 2);
    assert_eq!(bash("cp a /etc/passwd").0, 2);
    assert_eq!(bash("echo x >/dev/null 2>&1").0, 0);
    let (code, why) = bash("sudo git push --force origin main");
    assert_eq!(code, 2);
    assert!(why.contains("deny_commands"), "{why}");
    assert_eq!(bash("git status").0, 0);
    // Nested subshells that the shell parser took for arithmetic, and command substitutions
    // inside expansions: Bash runs them, so the hook judges their writes.
    let hidden = [
        "( (echo x > ../../tests/out.txt) )",
        "((echo x > ../../tests/out.txt) )",
        "echo ${x:-$(echo x > ../../tests/out.txt)}",
        "(( $(echo x > ../../tests/out.txt) ))",
        "[[ -n $(echo x > ../../tests/out.txt) ]]",
    ];
    all_blocked(bash, &hidden, "exclusive_access");
    assert_eq!(bash("(( 1 > 0 )) && echo yes").0, 0);
}

#[test]
fn the_hook_fails_closed_with_reasons() {
    let p = team();
    let good = call(
        &p,
        "worker",
        "Write",
        json!({"file_path": "../../src/a.rs"}),
    );
    assert_eq!(run(&p, "worker", &good).0, 0);

    for (input, why) in [
        ("", "not Claude Code's PreToolUse JSON"),
        ("{not json", "not Claude Code's PreToolUse JSON"),
        ("[1,2]", "not Claude Code's PreToolUse JSON"),
        (r#"{"tool_input":{}}"#, "tool_name"),
    ] {
        let (code, err) = run_raw(&p, "worker", input, &[]);
        assert_eq!(code, 2, "{input:?}");
        assert!(
            err.contains(why) && err.contains("fails closed"),
            "{input:?}: {err}"
        );
    }

    // An agent without a policy.
    let mut cmd = hook_command(&p, "worker");
    cmd = cmd.replace("--agent worker", "--agent ghost");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("echo '{}' | {cmd}", good))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no policy"));

    // A policy edited outside iw is not obeyed, even one that allows more.
    let policy = "agents/worker/.claude/iw-policy.json";
    let loosened = p.read(policy).replace("\"*.spec.*\"", "\"*.nothing.*\"");
    p.write(policy, &loosened);
    let (code, why) = run(&p, "worker", &good);
    assert_eq!(code, 2);
    assert!(why.contains("changed outside iw"), "{why}");
    p.apply();
    assert_eq!(run(&p, "worker", &good).0, 0);

    // No lockfile: nothing can be verified.
    std::fs::remove_file(p.path().join("state/iw.lock")).unwrap();
    let (code, why) = run(&p, "worker", &good);
    assert_eq!(code, 2);
    assert!(why.contains("iw apply"), "{why}");
}

#[test]
fn hook_failure_open_allows_what_it_cannot_check_but_still_denies_violations() {
    let p = TempProject::with_registry(&format!("hook_failure: open\n{TEAM}"));
    p.apply();
    assert!(hook_command(&p, "worker").ends_with("--on-failure open"));
    let (code, warning) = run_raw(&p, "worker", "{not json", &[]);
    assert_eq!(code, 0);
    assert!(warning.contains("hook_failure is `open`"), "{warning}");
    let root = p.path().to_string_lossy().into_owned();
    assert_eq!(write(&p, "worker", &format!("{root}/tests/x.py")).0, 2);
    // A number too long for a descriptor before `>` once made the Bash parser panic: a call the
    // hook could not check, which failing open allowed. It is now read as Bash reads it, an
    // argument, and the write behind it is judged.
    let bash = |command: &str| {
        let input = call(&p, "worker", "Bash", json!({"command": command}));
        run(&p, "worker", &input)
    };
    let (code, why) = bash("echo x 99999999999>../../tests/out.txt");
    assert_eq!(code, 2, "{why}");
    assert!(why.contains("exclusive_access"), "{why}");
    assert_eq!(
        bash("echo x 99999999999>../../src/out.txt"),
        (0, String::new())
    );
}

#[test]
fn every_decision_is_logged_when_asked() {
    let p = team();
    let log = p.path().join("decisions.jsonl");
    let log_s = log.to_string_lossy().into_owned();
    let env = [("IW_HOOK_LOG", log_s.as_str())];
    let root = p.path().to_string_lossy().into_owned();
    let ok = call(
        &p,
        "worker",
        "Write",
        json!({"file_path": format!("{root}/src/a.rs")}),
    );
    let bad = call(
        &p,
        "worker",
        "Write",
        json!({"file_path": format!("{root}/tests/a.py")}),
    );
    assert_eq!(run_raw(&p, "worker", &ok.to_string(), &env).0, 0);
    assert_eq!(run_raw(&p, "worker", &bad.to_string(), &env).0, 2);
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["decision"], "allow");
    assert_eq!(lines[0]["agent"], "worker");
    assert_eq!(lines[0]["tool"], "Write");
    assert_eq!(lines[1]["decision"], "deny");
    assert!(lines[1]["reason"].as_str().unwrap().contains("tests/a.py"));
}

#[test]
fn plan_shows_a_weakened_guard_first_as_security_drift() {
    let p = team();
    assert_eq!(p.plan_code(), 0);
    let settings = "agents/worker/.claude/settings.json";
    let mut s: Value = serde_json::from_str(&p.read(settings)).unwrap();
    s["hooks"] = json!({});
    p.write(settings, &serde_json::to_string_pretty(&s).unwrap());
    let policy = "agents/tester/.claude/iw-policy.json";
    p.write(policy, &p.read(policy).replace("tests/**", "nothing/**"));

    let out = p.iw().args(["plan", "--no-diff"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("SECURITY DRIFT"),
        "security drift comes first:\n{text}"
    );
    assert!(text.contains("PreToolUse hook entry"), "{text}");
    assert!(text.contains("policy was edited outside iw"), "{text}");
    assert!(
        text.contains("SECURITY: 2 weaken an agent's guard"),
        "{text}"
    );
    assert_eq!(p.plan_code(), 2, "the drift gate fails");

    let doc = p.plan_json(&[]);
    assert_eq!(doc["summary"]["security"], 2);
    let drift = doc["security_drift"].as_array().unwrap();
    assert_eq!(drift.len(), 2);
    assert_eq!(drift[0]["path"], policy);
    assert_eq!(drift[1]["path"], settings);

    // A hook binary that cannot run lets every call through: reported too.
    p.apply();
    let mut moved: Value = serde_json::from_str(&p.read(settings)).unwrap();
    moved["hooks"]["PreToolUse"][0]["hooks"][0]["command"] =
        json!("/nonexistent/iw hook pre-tool-use --agent worker");
    p.write(settings, &serde_json::to_string_pretty(&moved).unwrap());
    let doc = p.plan_json(&[]);
    let problems = doc["security_drift"][0]["problems"].to_string();
    assert!(problems.contains("not an executable file"), "{problems}");
    p.apply();
    assert_eq!(p.plan_code(), 0);
    assert_eq!(p.plan_json(&[])["security_drift"], json!([]));
}

#[test]
fn a_pathological_command_is_blocked_not_crashed_on() {
    // This command makes the shell tokenizer (brush-parser 0.4) allocate without bound. A hook
    // that died of it would let the call through (Claude Code only blocks on exit 2): the hook's
    // memory guard must end it with 2 and a reason instead.
    let p = team();
    let command = "cd $( rm a 2>&1 * > a || | $x } echo << | > >> $( echo } { 2>&1 echo $(";
    let (code, why) = run(
        &p,
        "worker",
        &call(&p, "worker", "Bash", json!({"command": command})),
    );
    assert_eq!(code, 2, "{why}");
    assert!(why.contains("blocked"), "{why}");
}

#[test]
fn in_a_task_run_the_agent_may_write_its_own_result_file_and_nothing_else_under_state() {
    let p = team();
    let root = p.path();
    let run_id = [("IW_RUN_ID", "20261124-153042-worker")];
    let write = |rel: &str| {
        json!({"tool_name": "Write", "cwd": root.join("agents/worker"),
               "tool_input": {"file_path": root.join(rel), "content": "{}"}})
        .to_string()
    };
    let mine = "state/runs/20261124-153042-worker/result.json";
    assert_eq!(run_raw(&p, "worker", &write(mine), &run_id).0, 0);
    // Not outside a run, not another run's, not the run's state.
    assert_eq!(run_raw(&p, "worker", &write(mine), &[]).0, 2);
    for other in [
        "state/runs/20261124-153042-lead/result.json",
        "state/runs/20261124-153042-worker/state.json",
        "state/iw.lock",
    ] {
        let (code, err) = run_raw(&p, "worker", &write(other), &run_id);
        assert_eq!(code, 2, "{other}: {err}");
    }
    // Through Bash, as `$IW_RUN_RESULT` would be written.
    let bash = json!({"tool_name": "Bash", "cwd": root.join("agents/worker"),
        "tool_input": {"command": format!("echo '{{}}' > {}", root.join(mine).display())}});
    assert_eq!(run_raw(&p, "worker", &bash.to_string(), &run_id).0, 0);
    // A bad id in the environment grants nothing.
    let (code, _) = run_raw(
        &p,
        "worker",
        &write("state/iw.lock"),
        &[("IW_RUN_ID", "../../state/iw.lock")],
    );
    assert_eq!(code, 2);
}

#[test]
fn the_hook_decides_the_same_through_its_fast_argument_path_and_through_clap() {
    // settings.json's exact form skips clap; any other spelling goes through clap.
    let p = team();
    let root = p.path();
    for (file, want) in [("tests/a.py", 2), ("src/ok.py", 0)] {
        let input = json!({"tool_name": "Write", "cwd": root.join("agents/worker"),
            "tool_input": {"file_path": root.join(file), "content": "x"}})
        .to_string();
        let (fast_code, fast_err) = run_raw(&p, "worker", &input, &[]);
        let out = crate::common::iw()
            .args(["hook", "pre-tool-use", "--agent", "worker", "-C"])
            .arg(&root)
            .write_stdin(input.clone())
            .output()
            .unwrap();
        assert_eq!(fast_code, want, "{file}: {fast_err}");
        assert_eq!(out.status.code(), Some(want), "{file}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), fast_err, "{file}");
    }
}

#[test]
fn a_call_the_hook_cannot_interpret_is_denied_with_a_reason() {
    // Claude Code lets a call through on anything but exit 2: input the hook cannot judge must
    // be denied (hook_failure: closed), saying what is wrong.
    let p = team();
    for (tool, input, why) in [
        ("Write", json!({"content": "x"}), "has no file to write"),
        (
            "Write",
            json!({"file_path": 3, "content": "x"}),
            "`file_path` is a number",
        ),
        (
            "Edit",
            json!({"file_path": null, "old_string": "a"}),
            "has no file to write",
        ),
        ("Write", json!("tests/x.py"), "`tool_input` is a text"),
        ("Write", json!(["tests/x.py"]), "`tool_input` is a list"),
        (
            "Bash",
            json!({"command": ["rm", "-rf", "/"]}),
            "`command` is a list",
        ),
        ("Bash", json!({}), "has no `command`"),
        (
            "Read",
            json!({"file_path": {"path": "secrets/key"}}),
            "`file_path` is an object",
        ),
        ("Read", json!({}), "has no file to read"),
        (
            "Grep",
            json!({"pattern": "x", "path": 1}),
            "`path` is a number",
        ),
        (
            "Task",
            json!({"subagent_type": 1}),
            "`subagent_type` is a number",
        ),
    ] {
        let agent = if tool == "Task" { "lead" } else { "worker" };
        let (code, err) = run(&p, agent, &call(&p, agent, tool, input.clone()));
        assert_eq!(code, 2, "{tool} {input}: {err}");
        assert!(
            err.contains(why) && err.contains("cannot check it"),
            "{tool} {input}: {err}"
        );
    }
    // An MCP tool naming several paths has each one checked.
    let p = TempProject::with_registry(&TEAM.replace("[Read, Write]", "[Read, Write, mcp__fs]"));
    p.apply();
    let root = p.path().to_string_lossy().into_owned();
    let write = |paths: Value| run(&p, "tester", &call(&p, "tester", "mcp__fs__write", paths));
    let (code, err) = write(
        json!({"path": [format!("{root}/src/a.rs"), format!("{root}/agents/registry.yaml")]}),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the registry"), "{err}");
    assert_eq!(
        write(json!({"path": [format!("{root}/src/a.rs")], "mode": 7})).0,
        0
    );
    let (code, err) = write(json!({"path": [format!("{root}/src/a.rs"), 7]}));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("lists a number, not a path"), "{err}");
}

#[test]
fn a_denied_path_names_the_delegates_that_may_write_it() {
    let p = TempProject::with_registry(
        "agents:
  planner:
    name: planner
    display_name: Planner
    description: Plans
    model: opus
    tools: [Read, Write, Task, Bash]
    delegates_to: [backend, frontend, reviewer]
    cannot_access: [src/**, tests/**, docs/**]
  backend:
    name: backend
    display_name: Backend
    description: Server code
    model: sonnet
    tools: [Read, Write, Edit]
    cannot_access: [tests/**, src/ui/**]
  frontend:
    name: frontend
    display_name: Frontend
    description: UI code
    model: sonnet
    tools: [Read, Bash]
    cannot_access: [tests/**]
  reviewer:
    name: reviewer
    display_name: Reviewer
    description: Reads
    model: sonnet
    tools: [Read, Grep]
  writer:
    name: writer
    display_name: Writer
    description: Docs
    model: sonnet
    tools: [Write]
",
    );
    p.apply();
    let root = p.path();
    let write = |rel: &str| {
        let (code, why) = write(&p, "planner", &root.join(rel).to_string_lossy());
        assert_eq!(code, 2, "{rel}: {why}");
        why
    };
    // Both backend and frontend may write src/main.py (reviewer has no tool that writes; writer
    // is not a delegate).
    let why = write("src/main.py");
    assert!(why.contains("backend, frontend may write it"), "{why}");
    assert!(why.contains("iw run AGENT --task FILE"), "{why}");
    assert!(
        !why.contains("reviewer") && !why.contains("writer"),
        "{why}"
    );
    assert!(!why.contains("Leave this path alone"), "{why}");
    // Only frontend may write the UI.
    let why = write("src/ui/app.ts");
    assert!(
        why.contains(
            "frontend may write it: delegate the change to frontend (`iw run frontend --task \
             FILE`, or the Task tool with subagent_type \"frontend\")"
        ),
        "{why}"
    );
    // Nobody it delegates to may write tests: no one is suggested.
    let why = write("tests/a.py");
    assert!(why.contains("Leave this path alone"), "{why}");
    assert!(!why.contains("may write it"), "{why}");
}

#[test]
fn hard_links_cannot_open_a_second_door_to_a_protected_file() {
    let p = team();
    let root = p.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/a.rs"), "").unwrap();
    let bash = |command: &str| {
        run(
            &p,
            "worker",
            &call(&p, "worker", "Bash", json!({"command": command})),
        )
    };
    // Making a hard link to a file the agent may not write is refused, however it is made.
    let links = [
        "ln ../../agents/registry.yaml ../../src/x.yaml",
        "cd ../.. && ln -f agents/registry.yaml src/",
        "cp -l ../../agents/registry.yaml ../../src/x.yaml",
        "cp -al ../../agents ../../src/copy",
        "link ../../agents/registry.yaml ../../src/x.yaml",
    ];
    all_blocked(bash, &links, "hard link");
    // A symbolic link, a hard link between files it may write, and a plain copy are fine.
    assert_eq!(bash("ln -s ../../agents/registry.yaml ../../src/l").0, 0);
    assert_eq!(bash("ln ../../src/a.rs ../../src/b.rs").0, 0);
    assert_eq!(
        bash("cp ../../agents/registry.yaml ../../src/copy.yaml").0,
        0
    );

    // A hard link made some other way (by a human, or before iw): writing through it is refused,
    // since it may be another name of a protected file; removing that name is not.
    std::fs::hard_link(root.join("agents/registry.yaml"), root.join("src/x.yaml")).unwrap();
    let x = root.join("src/x.yaml").to_string_lossy().into_owned();
    let (code, why) = write(&p, "worker", &x);
    assert_eq!(code, 2, "{why}");
    assert!(why.contains("the file has 2 hard links"), "{why}");
    assert!(why.contains("find . -samefile"), "{why}");
    for command in [
        format!("echo x > {x}"),
        format!("sed -i s/a/b/ {x}"),
        format!("chmod 666 {x}"),
    ] {
        assert_eq!(bash(&command).0, 2, "{command}");
    }
    assert_eq!(bash(&format!("rm {x}")).0, 0);
    assert_eq!(
        write(&p, "worker", &root.join("src/a.rs").to_string_lossy()).0,
        0
    );
}

#[test]
fn cannot_read_covers_the_common_reading_commands_in_bash() {
    let p = team();
    let root = p.path();
    std::fs::create_dir_all(root.join("secrets")).unwrap();
    std::fs::write(root.join("secrets/key.pem"), "k").unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    let bash = |command: &str| {
        run(
            &p,
            "worker",
            &call(&p, "worker", "Bash", json!({"command": command})),
        )
    };
    let reads = [
        "cat ../../secrets/key.pem",
        "head -n 3 ../../secrets/key.pem",
        "base64 < ../../secrets/key.pem",
        "cd ../../secrets && cat key.pem",
        "grep -r BEGIN ../..",
        "rg BEGIN ../../secrets",
        "find ../.. -name '*.pem'",
        "cp ../../secrets/key.pem /tmp/iw-hook-ok-1",
        "tar czf /tmp/iw-hook-ok-2 ../../secrets",
        "echo $(cat ../../secrets/key.pem) | wc -c",
        "sudo sed -n p ../../secrets/key.pem",
    ];
    all_blocked(bash, &reads, "`secrets/` is in worker's cannot_read");
    // Searching the area itself with the Grep tool is a read of it too.
    let grep = json!({"pattern": "BEGIN", "path": root.join("secrets")});
    assert_eq!(run(&p, "worker", &call(&p, "worker", "Grep", grep)).0, 2);
    for command in [
        "cat ../../src/a.rs",
        "grep -r secrets ../../src",
        "grep secrets ../../src/a.rs",
        "ls ../../src && wc -l ../../src/a.rs",
    ] {
        let (code, why) = bash(command);
        assert_eq!(code, 0, "{command}: {why}");
    }
}

#[test]
fn every_way_out_of_the_hook_is_0_or_2() {
    // Claude Code lets a call through on any exit but 2: a denial whose reason cannot be written
    // (stderr a pipe nobody reads: EPIPE) and a crash (a stack overflow in the shell parser on a
    // deeply nested command) must still exit 2.
    let p = team();
    let root = p.path();
    let denied = call(
        &p,
        "worker",
        "Write",
        json!({"file_path": root.join("agents/registry.yaml")}),
    );
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    unsafe { libc::close(fds[0]) }; // the reading end: gone
    let stderr = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(hook_command(&p, "worker"))
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::from(stderr))
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(denied.to_string().as_bytes()).unwrap();
    }
    assert_eq!(
        child.wait().unwrap().code(),
        Some(2),
        "denied, stderr broken"
    );

    for command in [
        format!("{}ls{}", "(".repeat(50_000), ")".repeat(50_000)),
        format!("echo {}ls{}", "$(".repeat(20_000), ")".repeat(20_000)),
    ] {
        let (code, why) = run(
            &p,
            "worker",
            &call(&p, "worker", "Bash", json!({"command": command})),
        );
        assert_eq!(code, 2, "{why}");
        assert!(why.contains("it was blocked"), "{why}");
    }
}

#[test]
fn the_hook_answers_a_complete_call_without_waiting_for_the_end_of_its_input() {
    // A writer that keeps stdin open must not hold the decision up; one that never sends a
    // complete call is refused within the hook's time limit, saying so.
    let p = team();
    let root = p.path();
    let read_src = call(
        &p,
        "worker",
        "Read",
        json!({"file_path": root.join("src/a.rs")}),
    );
    let with_open_stdin = |input: &str| {
        use std::io::{Read as _, Write as _};
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(hook_command(&p, "worker"))
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        stdin.flush().unwrap();
        // stdin stays open until the hook has exited.
        let status = child.wait().unwrap();
        drop(stdin);
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status.code(), err)
    };
    let (code, err) = with_open_stdin(&format!("{read_src}\n"));
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = with_open_stdin(r#"{"tool_name": "Read", "tool_input": {"#);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("no complete tool call arrived on stdin"),
        "{err}"
    );
}

#[test]
fn a_missing_iw_binary_blocks_every_call() {
    // settings.json names the iw that applied it; when that binary is moved or deleted, the
    // shell's "not found" (127) would let every call through: the hook command denies instead.
    let p = TempProject::with_registry(TEAM);
    let (_bin_dir, bin) = crate::common::copied_iw();
    crate::common::run_ok(&bin, &p.path(), &["apply", "--yes"]);
    let read = call(
        &p,
        "worker",
        "Read",
        json!({"file_path": p.path().join("src/a.rs")}),
    );
    assert_eq!(run(&p, "worker", &read).0, 0, "iw answers");
    std::fs::remove_file(&bin).unwrap();
    let (code, why) = run(&p, "worker", &read);
    assert_eq!(code, 2, "{why}");
    assert!(
        why.contains("the hook failed (exit 127), so the tool call is blocked"),
        "{why}"
    );
    // `iw plan` reports it as security drift, and apply (with an iw that exists) repairs it.
    let doc = p.plan_json(&[]);
    assert!(
        doc["security_drift"]
            .to_string()
            .contains("not an executable file")
    );
    p.apply();
    assert_eq!(run(&p, "worker", &read).0, 0);
}

#[test]
fn plan_shows_what_the_hook_will_refuse_and_apply_repairs_it() {
    // Files written but not the lockfile (an apply killed between them, a full disk), or a
    // policy hash edited in the lockfile: the hook refuses the agent's policy, so the plan must
    // not say "no changes".
    let p = team();
    let root = p.path();
    let read = call(
        &p,
        "worker",
        "Read",
        json!({"file_path": root.join("src/a.rs")}),
    );
    let old_lock = p.read("state/iw.lock");
    p.edit_registry(
        "cannot_access: ['*.spec.*']",
        "cannot_access: ['*.spec.*', docs/**]",
    );
    p.apply();
    p.write("state/iw.lock", &old_lock);
    let (code, why) = run(&p, "worker", &read);
    assert_eq!(code, 2, "the hook refuses the policy: {why}");
    assert_eq!(p.plan_code(), 2, "and the plan shows it");
    let doc = p.plan_json(&[]);
    let policy = "agents/worker/.claude/iw-policy.json";
    assert!(
        doc["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["path"] == policy && c["drift"] == "not_recorded"),
        "{doc:#}"
    );
    assert!(
        doc["security_drift"]
            .to_string()
            .contains("does not record this policy"),
        "{doc:#}"
    );
    p.apply();
    assert_eq!(run(&p, "worker", &read).0, 0, "apply repaired it");
    assert_eq!(p.plan_code(), 0);

    // A policy hash edited in the lockfile.
    let lock: Value = serde_json::from_str(&p.read("state/iw.lock")).unwrap();
    let sha = lock["files"][policy]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    p.write(
        "state/iw.lock",
        &p.read("state/iw.lock").replace(&sha, &"0".repeat(64)),
    );
    assert_eq!(run(&p, "worker", &read).0, 2);
    assert_eq!(p.plan_code(), 2);
    let out = p.iw().args(["plan", "--no-diff"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not recorded in state/iw.lock"), "{text}");
    p.apply();
    assert_eq!(run(&p, "worker", &read).0, 0);
    assert_eq!(p.plan_code(), 0);
}

/// Every agent's answer (exit code and message) to a set of calls covering allow, deny and the
/// messages that name other agents.
fn answers(p: &TempProject) -> Vec<(i32, String)> {
    let root = p.path();
    let abs = |rel: &str| root.join(rel).to_string_lossy().into_owned();
    let mut out = Vec::new();
    for agent in ["lead", "worker", "tester"] {
        for (tool, input) in [
            (
                "Write",
                json!({"file_path": abs("src/main.rs"), "content": "x"}),
            ),
            (
                "Write",
                json!({"file_path": abs("src/a.spec.ts"), "content": "x"}),
            ),
            (
                "Write",
                json!({"file_path": abs("tests/test_a.py"), "content": "x"}),
            ),
            (
                "Write",
                json!({"file_path": abs("state/iw.lock.idx"), "content": "x"}),
            ),
            ("Read", json!({"file_path": abs("secrets/key.pem")})),
            ("Bash", json!({"command": "cat src/a.rs > tests/out.txt"})),
            ("Bash", json!({"command": "git push origin main"})),
            ("Task", json!({"subagent_type": "tester", "prompt": "x"})),
        ] {
            out.push(run(p, agent, &call(p, agent, tool, input)));
        }
    }
    out
}

#[test]
fn the_policy_index_gives_the_same_answers_as_the_lockfile() {
    // apply writes state/iw.lock.idx and records its stamp near the lockfile's start; the hook
    // decides the same with the index, without it (it reads the lockfile), and with a damaged one.
    let p = team();
    assert!(p.exists("state/iw.lock.idx"));
    let lock = p.read("state/iw.lock");
    let stamp = lock.lines().nth(2).unwrap();
    assert!(stamp.starts_with("  \"policy_index\": \""), "{lock}");
    assert!(p.read("state/iw.lock.idx").contains(&stamp[19..83]));
    let with_index = answers(&p);
    assert!(with_index.iter().any(|a| a.0 == 0) && with_index.iter().any(|a| a.0 == 2));
    // worker's Write to the index (worker's answers follow lead's eight).
    assert!(
        with_index[8 + 3].1.contains("iw's state"),
        "the index is protected like the lockfile: {}",
        with_index[8 + 3].1
    );

    std::fs::remove_file(p.path().join("state/iw.lock.idx")).unwrap();
    assert_eq!(answers(&p), with_index, "no index: the lockfile is read");
    p.write("state/iw.lock.idx", "iw-policy-index 1 garbage\n");
    assert_eq!(answers(&p), with_index, "a damaged index is not used");
    // An apply that changes nothing leaves the index as it is; one that writes the lockfile
    // writes the index again.
    p.edit_registry(
        "description: Does the work",
        "description: Does all the work",
    );
    p.apply();
    assert!(
        p.read("state/iw.lock.idx")
            .starts_with("iw-policy-index 1 ")
    );
    assert_eq!(answers(&p), with_index);
}

#[test]
fn a_stale_policy_index_never_makes_the_hook_trust_an_old_policy() {
    // The second apply forbids worker `docs/**`. Putting back the old index, and even the old
    // policy file the old index vouches for, must not bring the old, looser policy back.
    let p = team();
    let root = p.path();
    let policy = "agents/worker/.claude/iw-policy.json";
    let old_index = p.read("state/iw.lock.idx");
    let old_policy = p.read(policy);
    let docs = json!({"file_path": root.join("docs/a.md"), "content": "x"});
    assert_eq!(
        run(&p, "worker", &call(&p, "worker", "Write", docs.clone())).0,
        0
    );
    p.edit_registry(
        "cannot_access: ['*.spec.*']",
        "cannot_access: ['*.spec.*', docs/**]",
    );
    p.apply();
    let (code, why) = run(&p, "worker", &call(&p, "worker", "Write", docs.clone()));
    assert_eq!(code, 2, "{why}");
    assert!(
        why.contains("`docs/**` is in worker's cannot_access"),
        "{why}"
    );

    // The old index back: its stamp is not the lockfile's, so it is not used.
    p.write("state/iw.lock.idx", &old_index);
    let (code, why) = run(&p, "worker", &call(&p, "worker", "Write", docs.clone()));
    assert_eq!(code, 2, "{why}");
    assert!(
        why.contains("`docs/**` is in worker's cannot_access"),
        "{why}"
    );

    // The old policy back too: the lockfile records the new one.
    p.write(policy, &old_policy);
    let (code, why) = run(&p, "worker", &call(&p, "worker", "Write", docs.clone()));
    assert_eq!(code, 2, "{why}");
    assert!(why.contains("changed outside iw"), "{why}");

    // Even with the old stamp forged into the lockfile, the lockfile's own entry decides.
    let old_stamp = &old_index["iw-policy-index 1 ".len()..][..64];
    let lock = p.read("state/iw.lock");
    let new_stamp = &lock[lock.find("\"policy_index\": \"").unwrap() + 17..][..64];
    p.write("state/iw.lock", &lock.replace(new_stamp, old_stamp));
    let (code, why) = run(&p, "worker", &call(&p, "worker", "Write", docs));
    assert_eq!(code, 2, "{why}");
    assert!(why.contains("changed outside iw"), "{why}");
}

#[test]
fn the_hook_runs_iw_hook_when_it_is_beside_iw_and_iw_itself_when_not() {
    let hook_cmd = |p: &TempProject| -> String {
        let v: Value =
            serde_json::from_str(&p.read("agents/worker/.claude/settings.json")).unwrap();
        v["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Built beside iw (as cargo builds and installs both): settings.json names iw-hook, which
    // decides exactly as iw does.
    let p = TempProject::with_registry(TEAM);
    p.apply();
    let small = std::fs::canonicalize(assert_cmd::cargo::cargo_bin!("iw-hook")).unwrap();
    let cmd = hook_cmd(&p);
    assert!(
        cmd.starts_with(&format!("{} -C ", small.display())),
        "{cmd}"
    );
    let write = call(
        &p,
        "worker",
        "Write",
        json!({"file_path": p.path().join("tests/a.py"), "content": "x"}),
    );
    let (code, why) = run(&p, "worker", &write);
    assert_eq!(code, 2, "{why}");
    assert!(why.contains("tests/**"), "{why}");
    // Alone (an iw copied without it): iw runs the hook itself.
    let q = TempProject::with_registry(TEAM);
    let (_dir, bin) = crate::common::copied_iw();
    crate::common::run_ok(&bin, &q.path(), &["apply", "--yes"]);
    let cmd = hook_cmd(&q);
    assert!(
        cmd.starts_with(&format!("{} -C ", bin.display())) && cmd.contains(" hook pre-tool-use "),
        "{cmd}"
    );
    // iw-hook installed beside it later: the next plan (no-op proof included) sees that every
    // settings.json changes, and apply points them at it.
    let beside = bin.with_file_name("iw-hook");
    std::fs::copy(assert_cmd::cargo::cargo_bin!("iw-hook"), &beside).unwrap();
    let out = std::process::Command::new(&bin)
        .arg("-C")
        .arg(q.path())
        .args(["plan", "--exit-code", "--no-diff"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("agents/worker/.claude/settings.json"),
        "{text}"
    );
    crate::common::run_ok(&bin, &q.path(), &["apply", "--yes"]);
    assert!(
        hook_cmd(&q).starts_with(&format!("{} -C ", beside.display())),
        "{}",
        hook_cmd(&q)
    );
}

#[test]
fn iw_hook_takes_only_the_command_iw_writes_and_blocks_anything_else() {
    let small = assert_cmd::cargo::cargo_bin!("iw-hook");
    let out = std::process::Command::new(small)
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("iw-hook {}", env!("CARGO_PKG_VERSION"))
    );
    for args in [&["plan"][..], &["hook", "pre-tool-use"], &[]] {
        let out = std::process::Command::new(small)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("for anything else use iw"),
            "{args:?}"
        );
    }
}

/// iw-hook starts without the standard library's start-up (src/hook_main.rs) and does what of it
/// the hook relies on itself: started with its standard descriptors closed, it still decides
/// (exit 2 for a denied Write, with the decision logged once), and an allowed call exits 0.
#[test]
fn iw_hook_decides_with_its_standard_descriptors_closed() {
    let p = team();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hook.log");
    let input = dir.path().join("call.json");
    let bin = assert_cmd::cargo::cargo_bin!("iw-hook");
    let decide = |path: &str, closed: &str| -> i32 {
        let c = call(
            &p,
            "worker",
            "Write",
            json!({"file_path": path, "content": "x"}),
        );
        std::fs::write(&input, c.to_string()).unwrap();
        let script = format!("exec \"$0\" \"$@\" < \"$IN\" {closed}");
        std::process::Command::new("sh")
            .args(["-c", &script])
            .arg(bin)
            .arg("-C")
            .arg(p.path())
            .args(["hook", "pre-tool-use", "--agent", "worker"])
            .env("IN", &input)
            .env("IW_HOOK_LOG", &log)
            .status()
            .unwrap()
            .code()
            .unwrap_or(-1)
    };
    let denied = p.path().join("tests/a.py");
    let allowed = p.path().join("src/a.py");
    assert_eq!(decide(denied.to_str().unwrap(), ">&- 2>&-"), 2);
    assert_eq!(decide(allowed.to_str().unwrap(), ">&- 2>&-"), 0);
    assert_eq!(decide(denied.to_str().unwrap(), "2>&-"), 2);
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decisions: Vec<&str> = lines
        .iter()
        .map(|l| l["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["deny", "allow", "deny"], "{lines:?}");
}
