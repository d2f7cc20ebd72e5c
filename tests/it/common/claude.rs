//! The real Claude Code CLI for end-to-end tests: a pinned `@anthropic-ai/claude-code` from npm,
//! run offline against a scripted mock of the Anthropic Messages API on 127.0.0.1, with a
//! throwaway HOME.
//!
//! The CLI is installed once into `$IW_E2E_CACHE` (default `~/.cache/iw-e2e`), reused between
//! runs. Needs Node.js and npm (`.ci/run` installs them).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};

/// The Claude Code version the tests run. Bump it here; the cache keeps one directory per
/// version.
pub const CLAUDE_CODE_VERSION: &str = "2.1.331";

/// The team of the Claude Code tests: `worker` may write the project but not `secrets/`; `lead`
/// owns `docs/` and delegates to `worker`.
pub const TEAM: &str = "agents:
  lead:
    name: lead
    display_name: Lead
    description: Leads the work
    model: sonnet
    tools: [Read, Task]
    delegates_to: [worker]
    exclusive_access: [docs/**]
  worker:
    name: worker
    display_name: Worker Of The Team
    description: Does the work
    model: sonnet
    tools: [Bash, Read, Write, Edit]
    cannot_access: [secrets/**]
";

/// The dummy API key the client is given (approved in [`home`]).
pub const API_KEY: &str = "sk-ant-e2e-dummy-key-0123456789";

fn cache_dir() -> PathBuf {
    match std::env::var_os("IW_E2E_CACHE") {
        Some(d) => PathBuf::from(d),
        None => {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            home.join(".cache/iw-e2e")
        }
    }
}

/// The `claude` executable of the pinned version, installing it on first use. A failed or killed
/// install never leaves a half cache: it goes to a temporary directory that is renamed at the end.
pub fn claude() -> &'static Path {
    static CLAUDE: OnceLock<PathBuf> = OnceLock::new();
    CLAUDE.get_or_init(|| {
        let dir = cache_dir().join(format!("claude-code-{CLAUDE_CODE_VERSION}"));
        let bin = dir.join("node_modules/.bin/claude");
        if bin.exists() {
            return bin;
        }
        let npm = Command::new("npm").arg("--version").output();
        assert!(
            npm.as_ref().is_ok_and(|o| o.status.success()),
            "the end-to-end tests need Node.js and npm to install Claude Code \
             (Debian: `apt-get install -y nodejs npm`; .ci/run does this): {npm:?}"
        );
        std::fs::create_dir_all(cache_dir()).unwrap();
        let tmp = tempfile::Builder::new()
            .prefix("install-")
            .tempdir_in(cache_dir())
            .unwrap();
        let out = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(tmp.path())
            .arg(format!("@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "npm install @anthropic-ai/claude-code@{CLAUDE_CODE_VERSION} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let installed = tmp.keep();
        if std::fs::rename(&installed, &dir).is_err() {
            // Another test process won the race; use its copy.
            let _ = std::fs::remove_dir_all(&installed);
        }
        assert!(bin.exists(), "npm installed no {}", bin.display());
        bin
    })
}

/// A throwaway HOME where Claude Code's first-run setup is done and the dummy key approved, as a
/// person does once per machine; `trusted` directories have had their trust dialog accepted.
pub fn home(trusted: &[&Path]) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let tail: String = API_KEY.chars().skip(API_KEY.len() - 20).collect();
    let projects: serde_json::Map<String, Value> = trusted
        .iter()
        .map(|d| {
            (
                d.to_string_lossy().into_owned(),
                json!({"hasTrustDialogAccepted": true}),
            )
        })
        .collect();
    let config = json!({
        "hasCompletedOnboarding": true,
        "customApiKeyResponses": {"approved": [tail], "rejected": []},
        "projects": projects,
    });
    std::fs::write(home.path().join(".claude.json"), config.to_string()).unwrap();
    home
}

/// The environment that runs the client offline against `mock` with `home`, as a JSON object
/// (for sessions.yaml's `env`).
pub fn offline_env(mock: &MockApi, home: &Path, hook_log: &Path) -> Value {
    let path = format!(
        "{}:{}",
        claude().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    json!({
        "HOME": home, "PATH": path,
        "ANTHROPIC_BASE_URL": format!("http://127.0.0.1:{}", mock.port),
        "ANTHROPIC_API_KEY": API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_MAX_RETRIES": "0", "IW_HOOK_LOG": hook_log,
    })
}

/// What the mock "model" answers to one request.
pub enum Reply {
    /// A final text answer.
    Text(&'static str),
    /// One tool call.
    Tool(&'static str, Value),
}

/// A script: the reply to a request, and how long to wait before sending it.
pub type Script = dyn Fn(&Value) -> (Reply, Duration) + Send + Sync;

/// A mock of the Messages API on 127.0.0.1, answering as its script says and recording every
/// request.
pub struct MockApi {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Value>>>,
}

impl MockApi {
    pub fn start(script: Box<Script>) -> MockApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let script: Arc<Script> = Arc::from(script);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                let script = script.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &*script, &seen);
                });
            }
        });
        MockApi { port, requests }
    }

    /// One scripted tool call, then "Done." once the client sends its result.
    pub fn one_call(tool: &'static str, input: Value) -> MockApi {
        MockApi::start(Box::new(move |request: &Value| {
            let answered = request["messages"]
                .as_array()
                .and_then(|m| m.last())
                .and_then(|m| m["content"].as_array())
                .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"));
            let reply = if answered {
                Reply::Text("Done.")
            } else {
                Reply::Tool(tool, with_result_path(&input, request))
            };
            (reply, Duration::ZERO)
        }))
    }

    /// A model that does what each typed prompt says, once: `WRITE <path>` (a Write of
    /// "written by the agent"), `BASH <command> ENDBASH`; `SLOW` delays its answer by two
    /// seconds. Each prompt must be unique: a prompt already acted on gets "Done.".
    pub fn by_prompt() -> MockApi {
        let served: Mutex<Vec<String>> = Mutex::new(Vec::new());
        MockApi::start(Box::new(move |request: &Value| {
            let prompt = last_prompt(request);
            let delay = if prompt.contains("SLOW") {
                Duration::from_secs(2)
            } else {
                Duration::ZERO
            };
            let mut served = served.lock().unwrap();
            if prompt.is_empty() || served.contains(&prompt) {
                return (Reply::Text("Done."), delay);
            }
            let call = if let Some(rest) = prompt.split("WRITE ").nth(1) {
                let path = rest.split_whitespace().next().unwrap_or("");
                Some(Reply::Tool(
                    "Write",
                    json!({"file_path": path, "content": "written by the agent\n"}),
                ))
            } else if let Some(rest) = prompt.split("BASH ").nth(1) {
                let command = rest.split(" ENDBASH").next().unwrap_or("");
                Some(Reply::Tool(
                    "Bash",
                    json!({"command": command, "description": "run it"}),
                ))
            } else {
                None
            };
            match call {
                Some(c) => {
                    served.push(prompt);
                    (c, delay)
                }
                None => (Reply::Text("Done."), delay),
            }
        }))
    }

    /// Every `tool_result` block the client sent back.
    pub fn tool_results(&self) -> Vec<Value> {
        let requests = self.requests.lock().unwrap();
        let mut out = Vec::new();
        for r in requests.iter() {
            for m in r["messages"].as_array().into_iter().flatten() {
                for block in m["content"].as_array().into_iter().flatten() {
                    if block["type"] == "tool_result" && !out.contains(block) {
                        out.push(block.clone());
                    }
                }
            }
        }
        out
    }

    /// True if any request the agent loop sent (with tools) contains `text`.
    pub fn saw(&self, text: &str) -> bool {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r["tools"].as_array().is_some_and(|t| !t.is_empty()))
            .any(|r| r.to_string().contains(text))
    }
}

/// The text of the last typed prompt in a request: the last text block of a user message that is
/// not a reminder Claude Code adds. Empty once a tool result follows it (the call was made).
fn last_prompt(request: &Value) -> String {
    let mut prompt = String::new();
    for m in request["messages"].as_array().into_iter().flatten() {
        if m["role"] != "user" {
            continue;
        }
        let blocks: Vec<Value> = match &m["content"] {
            Value::String(s) => vec![json!({"type": "text", "text": s})],
            Value::Array(a) => a.clone(),
            _ => Vec::new(),
        };
        for b in blocks {
            match b["type"].as_str() {
                Some("text") => {
                    let t = b["text"].as_str().unwrap_or("");
                    if !t.trim_start().starts_with("<system-reminder>") {
                        prompt = t.trim().to_string();
                    }
                }
                Some("tool_result") => prompt.clear(),
                _ => {}
            }
        }
    }
    prompt
}

/// The text of a tool_result block (a string, or text blocks).
pub fn result_text(block: &Value) -> String {
    match &block["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

fn serve(stream: TcpStream, script: &Script, seen: &Mutex<Vec<Value>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    let method = request_line.split(' ').next().unwrap_or("");
    let path = request_line.split(' ').nth(1).unwrap_or("");
    if method != "POST" || !path.starts_with("/v1/messages") {
        return stream.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        );
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if path.starts_with("/v1/messages/count_tokens") {
        return write_json(&mut stream, br#"{"input_tokens":10}"#);
    }
    seen.lock().unwrap().push(request.clone());
    // The agent loop sends the tools; other calls (titles, summaries) get plain text.
    let has_tools = request["tools"].as_array().is_some_and(|t| !t.is_empty());
    let (reply, delay) = if has_tools {
        script(&request)
    } else {
        (Reply::Text("Done."), Duration::ZERO)
    };
    std::thread::sleep(delay);
    static IDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    let id = format!(
        "toolu_e2e_{}",
        IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let (content, stop) = match &reply {
        Reply::Tool(name, input) => (
            json!([{"type": "tool_use", "id": id, "name": name, "input": input}]),
            "tool_use",
        ),
        Reply::Text(t) => (json!([{"type": "text", "text": t}]), "end_turn"),
    };
    if request["stream"] != true {
        let msg = json!({
            "id": "msg_e2e", "type": "message", "role": "assistant", "model": request["model"],
            "content": content, "stop_reason": stop,
            "stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 5}
        });
        return write_json(&mut stream, msg.to_string().as_bytes());
    }
    let mut events = vec![(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": "msg_e2e", "type": "message", "role": "assistant", "model": request["model"],
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 1}}}),
    )];
    match &reply {
        Reply::Tool(name, input) => {
            events.push((
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block":
                    {"type": "tool_use", "id": id, "name": name, "input": {}}}),
            ));
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta":
                    {"type": "input_json_delta", "partial_json": input.to_string()}}),
            ));
        }
        Reply::Text(t) => {
            events.push((
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ));
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}),
            ));
        }
    }
    events.push((
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push((
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop,
            "stop_sequence": null}, "usage": {"output_tokens": 5}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    let mut out = String::from(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
    );
    for (name, data) in events {
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    }
    stream.write_all(out.as_bytes())?;
    stream.flush()
}

/// Replaces `RESULT_PATH` in the scripted input by the path the prompt of an `iw run` asks the
/// model to write its result to, as a model reading the prompt would.
fn with_result_path(input: &Value, request: &Value) -> Value {
    let text = request["messages"].to_string();
    let path = text
        .split("Write your result as one JSON object to ")
        .nth(1)
        .and_then(|rest| rest.split(" (the path").next())
        .unwrap_or("");
    serde_json::from_str(&input.to_string().replace("RESULT_PATH", path)).unwrap()
}

fn write_json(stream: &mut TcpStream, body: &[u8]) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)
}
