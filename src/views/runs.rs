//! How runs are shown: one line per run, the status document of `--json`, the detail of one run.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::runs::{self, RunState};

/// Pretty JSON.
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The result file an agent left.
pub enum ResultFile {
    /// Valid JSON.
    Json(Value),
    /// Not valid JSON: where and why.
    Unreadable(String),
}

/// The result an agent left for run `id`, if any.
pub fn result_of(root: &Path, id: &str) -> Option<ResultFile> {
    let path = runs::run_dir(root, id).join(runs::RESULT_FILE);
    let text = std::fs::read_to_string(&path).ok()?;
    Some(match serde_json::from_str(&text) {
        Ok(v) => ResultFile::Json(v),
        Err(e) => ResultFile::Unreadable(format!(
            "{}:{}:{}: not valid JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        )),
    })
}

/// The last `n` non-empty lines of a file.
pub fn last_lines(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// `iw runs status ID --json`'s document: state.json, the run's files, its result, its activity.
pub fn status_doc(root: &Path, s: &RunState) -> Value {
    let dir = runs::run_dir(root, &s.id);
    let mut doc = serde_json::to_value(s).unwrap_or_default();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("dir".into(), dir.to_string_lossy().into());
        obj.insert(
            "duration_seconds".into(),
            s.duration().map(|d| d.as_secs_f64()).into(),
        );
        let (result, error) = match result_of(root, &s.id) {
            None => (Value::Null, None),
            Some(ResultFile::Json(v)) => (v, None),
            Some(ResultFile::Unreadable(e)) => (Value::Null, Some(e)),
        };
        obj.insert("result".into(), result);
        obj.insert("result_error".into(), error.into());
        obj.insert(
            "last_output".into(),
            last_lines(&dir.join(runs::OUTPUT_FILE), 10).into(),
        );
        // What its Claude Code last reported (status hooks), if anything.
        let scope = crate::status::activity::Scope::Run(s.id.clone());
        obj.insert(
            "activity".into(),
            crate::status::activity::read(root, &s.agent, &scope)
                .map(|r| json!({"state": r.state, "event": r.event, "at_ms": r.at_ms}))
                .into(),
        );
    }
    doc
}

/// A run's duration: tenths of a second below a minute.
pub fn human(d: Duration) -> String {
    if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    }
}

/// One line for a run: id, agent, state, why, how long, its result.
pub fn summary_line(root: &Path, s: &RunState) -> String {
    let mut line = format!("run {} ({}) {}", s.id, s.agent, s.status.as_str());
    match (&s.reason, s.exit_code) {
        (Some(r), _) => line.push_str(&format!(" ({r})")),
        (None, Some(c)) => line.push_str(&format!(" (exit {c})")),
        _ => {}
    }
    if let Some(d) = s.duration() {
        line.push_str(&format!(" in {}", human(d)));
    }
    match result_of(root, &s.id) {
        Some(ResultFile::Json(_)) => line.push_str(&format!(
            "; result: {}",
            runs::run_dir(root, &s.id).join(runs::RESULT_FILE).display()
        )),
        Some(ResultFile::Unreadable(e)) => line.push_str(&format!("; result unreadable: {e}")),
        None => {}
    }
    line
}

/// The table of `iw runs`.
pub fn table(all: &[RunState]) -> String {
    let rows: Vec<[String; 6]> = all.iter().map(row).collect();
    crate::views::table(HEADER, &rows)
}

/// The table of `iw runs` when sessions.yaml declares hosts: a HOST column (`-`: this machine).
pub fn table_on_hosts(all: &[(Option<String>, RunState)]) -> String {
    let [id, agent, rest @ ..] = HEADER;
    let [status, duration, parent, detail] = rest;
    let header = [id, agent, "HOST", status, duration, parent, detail];
    let rows: Vec<[String; 7]> = all
        .iter()
        .map(|(host, s)| {
            let [id, agent, rest @ ..] = row(s);
            let [status, duration, parent, detail] = rest;
            let host = host.clone().unwrap_or_else(|| "-".into());
            [id, agent, host, status, duration, parent, detail]
        })
        .collect();
    crate::views::table(header, &rows)
}

const HEADER: [&str; 6] = ["ID", "AGENT", "STATUS", "DURATION", "PARENT", "DETAIL"];

fn row(s: &RunState) -> [String; 6] {
    [
        s.id.clone(),
        s.agent.clone(),
        s.status.as_str().to_string(),
        s.duration().map_or("-".into(), human),
        s.parent.as_ref().map_or("-".into(), |p| match &p.run {
            Some(r) => format!("{} ({r})", p.agent),
            None => p.agent.clone(),
        }),
        match (&s.reason, s.exit_code) {
            (Some(r), _) => r.clone(),
            (None, Some(c)) => format!("exit {c}"),
            _ => String::new(),
        },
    ]
}

/// `iw runs status ID`: the run in detail.
pub fn detail(root: &Path, s: &RunState) -> String {
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    let dir = runs::run_dir(root, &s.id);
    line(format!("run:      {}", s.id));
    line(format!("agent:    {}", s.agent));
    line(format!(
        "status:   {}{}",
        s.status.as_str(),
        match (&s.reason, s.exit_code) {
            (Some(r), _) => format!(" ({r})"),
            (None, Some(c)) => format!(" (exit {c})"),
            _ => String::new(),
        }
    ));
    if let Some(p) = &s.parent {
        let run = p
            .run
            .as_ref()
            .map(|r| format!(" (run {r})"))
            .unwrap_or_default();
        line(format!("parent:   {}{run}", p.agent));
    }
    line(format!("task:     {}", s.task));
    line(format!("created:  {}", s.created_at));
    if let Some(t) = &s.started_at {
        line(format!("started:  {t}"));
    }
    if let Some(t) = &s.ended_at {
        line(format!("ended:    {t}"));
    }
    if let Some(d) = s.duration() {
        line(format!(
            "duration: {} (limit {}s)",
            human(d),
            s.timeout_seconds
        ));
    }
    line(format!("session:  {} (socket {})", s.session, s.socket));
    line(format!("dir:      {}", dir.display()));
    line(match result_of(root, &s.id) {
        Some(ResultFile::Json(v)) => format!(
            "result:   {}",
            serde_json::to_string(&v).unwrap_or_default()
        ),
        Some(ResultFile::Unreadable(e)) => format!("result:   unreadable: {e}"),
        None => "result:   none".into(),
    });
    let last = last_lines(&dir.join(runs::OUTPUT_FILE), 10);
    if !last.is_empty() {
        line("last output:".into());
        for l in last {
            line(format!("  | {l}"));
        }
    }
    out
}
