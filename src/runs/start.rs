//! Starting a task run: who may start it (delegation and typed handoff when an agent asks), the
//! limits (lifetime, concurrent runs, counted and created under one lock), the run's record, and
//! its tmux session, whose pane runs the supervisor (`iw runs exec ID`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::claude::{launch, shell_quote};
use crate::model::sessions::{SessionsConfig, Tenant};
use crate::project::Project;
use crate::runs::{self, Parent, RunState, Status};
use crate::support::diag::agent_help;
use crate::support::{Caller, Error, Result};
use crate::tmux::Tmux;

/// What to start.
#[derive(Debug, Clone)]
pub struct Request {
    /// The agent to run.
    pub agent: String,
    /// The task file (absolute).
    pub task: PathBuf,
    /// Its lifetime limit, if shorter than `runs.max_lifetime`.
    pub timeout: Option<Duration>,
    /// Run it as this tenant's agent (its socket, environment and overrides).
    pub tenant: Option<String>,
}

/// A run that started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Started {
    /// Its id.
    pub id: String,
    /// Its tmux session.
    pub session: String,
    /// The tmux socket.
    pub socket: String,
}

/// Audits a refusal and returns it.
fn refuse(root: &Path, kind: &str, agent: &str, by: &str, err: Error) -> Error {
    runs::audit(
        root,
        json!({"event": "run.refused", "kind": kind, "agent": agent, "by": by,
               "message": err.to_string()}),
    );
    err
}

/// A run decided on: everything the machine it runs on needs to record and start it. A run on
/// another host is decided here (the registry is here) and sent there (`iw remote run-start`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Launch {
    /// The agent to run.
    pub agent: String,
    /// The task file, as given to `iw run` (on the machine that started it).
    pub task: String,
    /// Set when an agent started it from its session.
    pub parent: Option<Parent>,
    /// Its lifetime limit.
    pub timeout_seconds: u64,
    /// `runs.max_concurrent`: how many runs may be active at once on that machine.
    pub max_concurrent: usize,
    /// The command its pane runs (by `sh -c`).
    pub command: String,
    /// Where it runs.
    pub workdir: PathBuf,
    /// Its environment.
    pub env: BTreeMap<String, String>,
    /// The tmux socket, as named where it runs.
    pub socket: String,
    /// The prefix of session names (`iw-`), the tenant's when it has one.
    pub prefix: String,
    /// The tenant it runs for, if any.
    pub tenant: Option<String>,
    /// Its prompt, up to where to put the result (which depends on its directory).
    pub prompt: String,
    /// Who started it (the audit's `by`).
    pub by: String,
}

/// Starts the run `req` asks for, on this machine. It is recorded CREATED, then its pane's
/// supervisor records RUNNING; a pane that dies first fails the start.
pub fn start(project: &Project, req: &Request) -> Result<Started> {
    let l = prepare(project, req, &project.root)?;
    launch(&project.root, &project.ctx.iw_bin, &l)
}

/// Decides the run `req` asks for, to run under `root` (this project's root, or a host's): who
/// may start it, its task and typed handoff, its lifetime, tenant, command and prompt. Nothing is
/// created.
pub fn prepare(project: &Project, req: &Request, root: &Path) -> Result<Launch> {
    let target = req.agent.as_str();
    let agents = &project.registry.agents;
    if !agents.contains_key(target) {
        return Err(Error::not_found(
            format!("`{target}` is not an agent in the registry"),
            agent_help(target, agents.keys().map(String::as_str)),
        ));
    }
    let by = runs::actor();
    let task_text = read_task(&req.task)?;
    let parent = parent(project, target, &req.task, &task_text, &by)?;
    let config = project.sessions.clone().unwrap_or_default();
    let timeout = lifetime(&config, req.timeout)?;
    let tenant = tenant(project, req.tenant.as_deref(), target)?;
    let (socket, prefix) = config.socket_and_prefix(tenant);
    // The agent's session definition, the tenant's or the project's when there is one, gives the
    // run its directory and environment (a tenant's overrides included).
    let spec = crate::model::sessions::specs(&config, &project.root, &Default::default())
        .into_iter()
        .find(|s| s.agent == target && s.tenant == req.tenant);
    let workdir = spec
        .as_ref()
        .map_or_else(|| root.to_path_buf(), |s| s.workdir.clone());
    let mut env = spec.map_or_else(|| config.env.clone(), |s| s.env);
    // A Claude Code command runs as the agent, like its session (crate::claude::launch).
    let command = if launch::is_claude(&config.runs.command) {
        env.insert(launch::CLAUDE_MD_ENV.into(), "1".into());
        launch::command(&config.runs.command, root, target)
    } else {
        env.remove(launch::CLAUDE_MD_ENV);
        config.runs.command.clone()
    };
    Ok(Launch {
        agent: target.to_string(),
        task: req.task.to_string_lossy().into_owned(),
        parent,
        timeout_seconds: timeout.as_secs().max(1),
        max_concurrent: config.runs.max_concurrent,
        command,
        workdir,
        env,
        socket,
        prefix,
        tenant: req.tenant.clone(),
        prompt: prompt(project, target, &task_text),
        by,
    })
}

/// Records and starts the run `l` under `root`, on this machine, its pane running
/// `iw_bin runs exec ID`: checks the agent's generated files, counts the active runs and creates
/// the record under one lock, then starts its session and waits until it records RUNNING.
pub fn launch(root: &Path, iw_bin: &Path, l: &Launch) -> Result<Started> {
    let target = l.agent.as_str();
    let tmux = Tmux::new(&l.socket);
    tmux.version()?;
    check_files(root, target, &l.workdir)?;
    // Count and create under one lock, so that two runs cannot both take the last slot.
    let runs_lock = runs::lock_runs(root)?;
    check_quota(root, l.max_concurrent, target, &l.by)?;
    let (id, dir) = runs::create_dir(root, target)?;
    let text = format!("{}{}", l.prompt, result_paragraph(&dir));
    crate::support::fsutil::write_atomic(&dir.join(runs::PROMPT_FILE), text.as_bytes())?;
    let session = format!("{}run-{id}", l.prefix);
    let state = RunState {
        id: id.clone(),
        agent: target.to_string(),
        status: Status::Created,
        reason: None,
        task: l.task.clone(),
        parent: l.parent.clone(),
        created_at: runs::now(),
        started_at: None,
        ended_at: None,
        exit_code: None,
        timeout_seconds: l.timeout_seconds,
        command: l.command.clone(),
        workdir: l.workdir.to_string_lossy().into_owned(),
        env: l.env.clone(),
        session: session.clone(),
        socket: l.socket.clone(),
        tenant: l.tenant.clone(),
        wrapper_pid: None,
        pid: None,
    };
    runs::write_new(root, &state, &l.by)?;
    drop(runs_lock);
    spawn(root, iw_bin, &tmux, &state, &l.by)?;
    Ok(Started {
        id,
        session,
        socket: l.socket.clone(),
    })
}

fn read_task(task: &Path) -> Result<String> {
    std::fs::read_to_string(task).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::not_found(
                format!("there is no task file {}", task.display()),
                "write the task (Markdown, or JSON for a typed handoff) to a file and pass it with --task",
            )
        } else {
            Error::io("read", task, e)
        }
    })
}

/// The run's parent: started from inside an agent's session (`IW_AGENT`), the target must be one
/// of that agent's delegates, and a JSON task must match the edge's handoff schema.
fn parent(
    project: &Project,
    target: &str,
    task: &Path,
    task_text: &str,
    by: &str,
) -> Result<Option<Parent>> {
    let root = &project.root;
    let Some(caller) = Caller::get().agent() else {
        return Ok(None);
    };
    let refusal = match project.registry.agents.get(caller) {
        None => Some(Error::refused(
            format!(
                "refusing to start a run: IW_AGENT is `{caller}`, which is not an agent of this \
                 project"
            ),
            "a run started from an agent's session may only target that agent's delegates_to",
        )),
        Some(c) if !c.delegates_to.iter().any(|d| d == target) => Some(Error::refused(
            format!("`{caller}` may not start a run of `{target}`: it is not in its delegates_to"),
            if c.delegates_to.is_empty() {
                format!("`{caller}` delegates to nobody")
            } else {
                format!("`{caller}` may start: {}", c.delegates_to.join(", "))
            },
        )),
        Some(_) => None,
    };
    if let Some(e) = refusal {
        return Err(refuse(root, "delegation", target, by, e));
    }
    if let Err(e) = crate::model::handoff::check_payload(
        &project.registry,
        &project.root,
        caller,
        target,
        task,
        task_text,
    ) {
        return Err(refuse(root, "handoff", target, by, e));
    }
    Ok(Some(Parent {
        agent: caller.to_string(),
        run: Caller::get().run_id().map(str::to_string),
    }))
}

/// The run's lifetime: `--timeout`, which may only shorten `runs.max_lifetime`.
fn lifetime(config: &SessionsConfig, asked: Option<Duration>) -> Result<Duration> {
    let max = config.runs.max_lifetime;
    let timeout = asked.unwrap_or(max);
    if timeout > max {
        return Err(Error::refused(
            format!(
                "--timeout {} is longer than the most a run may last ({}, `runs.max_lifetime`)",
                humantime::format_duration(timeout),
                humantime::format_duration(max)
            ),
            "pass a shorter --timeout, or raise `runs.max_lifetime` in sessions.yaml",
        ));
    }
    if timeout.is_zero() {
        return Err(Error::msg("--timeout must be longer than 0s"));
    }
    Ok(timeout)
}

/// The tenant the run is for, which must run `target`.
fn tenant<'a>(
    project: &'a Project,
    name: Option<&str>,
    target: &str,
) -> Result<Option<&'a Tenant>> {
    let tenant = name
        .map(|t| crate::model::sessions::tenant(project.sessions.as_ref(), t))
        .transpose()?;
    if let Some(t) = tenant
        && !t.agents.iter().any(|a| a == target)
    {
        return Err(Error::not_found(
            format!("tenant `{}` does not run `{target}`", t.name),
            format!("add it to `tenants.{}.agents` in sessions.yaml", t.name),
        ));
    }
    Ok(tenant)
}

/// The agent's generated settings and the run's working directory must exist.
fn check_files(root: &Path, target: &str, workdir: &Path) -> Result<()> {
    let settings = root
        .join(launch::agent_dir(target))
        .join(".claude/settings.json");
    if !settings.is_file() {
        return Err(Error::refused(
            format!(
                "`{target}`'s generated settings {} do not exist",
                settings.display()
            ),
            format!("generate them first: `iw apply --target {target}`"),
        ));
    }
    if !workdir.is_dir() {
        return Err(Error::not_found(
            format!(
                "`{target}`'s working directory {} does not exist",
                workdir.display()
            ),
            "create it, or change the session's `workdir` in sessions.yaml",
        ));
    }
    Ok(())
}

/// Refuses (audited) when `runs.max_concurrent` runs are active. Called under the runs lock.
fn check_quota(root: &Path, max_concurrent: usize, target: &str, by: &str) -> Result<()> {
    let active: Vec<String> = runs::list(root)?
        .into_iter()
        .filter(|r| !r.status.is_terminal())
        .map(|r| r.id)
        .collect();
    if active.len() < max_concurrent {
        return Ok(());
    }
    Err(refuse(
        root,
        "quota",
        target,
        by,
        Error::refused(
            format!(
                "refusing to start a run of `{target}`: {} runs are active, the most allowed \
                 (`runs.max_concurrent: {}` in sessions.yaml)",
                active.len(),
                max_concurrent
            ),
            format!(
                "active: {}. Wait for one (`iw runs wait ID`), stop one (`iw runs kill ID`), \
                 or raise `runs.max_concurrent`",
                active.join(", ")
            ),
        ),
    ))
}

/// Starts the run's tmux session, whose pane runs the supervisor, and waits until it records
/// RUNNING (milliseconds); a pane that dies first fails the run and the start.
fn spawn(root: &Path, iw_bin: &Path, tmux: &Tmux, state: &RunState, by: &str) -> Result<()> {
    let id = &state.id;
    let cmds = crate::tmux::protocol::run_session(
        &state.session,
        Path::new(&state.workdir),
        &format!(
            "exec {} -C {} runs exec {id}",
            shell_quote(&iw_bin.to_string_lossy()),
            shell_quote(&root.to_string_lossy())
        ),
        id,
        &root.to_string_lossy(),
    );
    if let Err(e) = tmux.run(&cmds) {
        runs::transition(root, id, by, |s| {
            s.status = Status::Failed;
            s.reason = Some(format!("could not start its tmux session: {e}"));
            true
        })?;
        return Err(e);
    }
    let t0 = Instant::now();
    loop {
        if runs::read(root, id)?.status != Status::Created {
            return Ok(());
        }
        let alive = tmux
            .list_sessions()?
            .iter()
            .any(|l| l.name == state.session);
        if !alive || t0.elapsed() > Duration::from_secs(10) {
            // Under the run's lock: only if the supervisor has not recorded RUNNING meanwhile.
            let (_, failed) = runs::transition(root, id, by, |s| {
                if s.status != Status::Created {
                    return false;
                }
                s.status = Status::Failed;
                s.reason = Some("its pane exited before the run started".into());
                true
            })?;
            if failed {
                return Err(Error::with_help(
                    format!("run {id} could not start: its pane exited before the run started"),
                    format!("check that `{}` runs", iw_bin.display()),
                ));
            }
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The prompt a run's command gets, up to where to put the result: who the agent is and the task.
fn prompt(project: &Project, agent: &str, task: &str) -> String {
    let a = &project.registry.agents[agent];
    format!(
        "You are {} (`{agent}`): {}\n\
         Your instructions are in your CLAUDE.md ({}/.claude/CLAUDE.md).\n\n\
         # Task\n\n{}\n\n",
        a.display_name,
        a.description.trim(),
        launch::agent_dir(agent),
        task.trim_end(),
    )
}

/// The end of the prompt: where to put the result, in run directory `dir`.
fn result_paragraph(dir: &Path) -> String {
    format!(
        "# When you are done\n\n\
         Write your result as one JSON object to {} (the path is also in $IW_RUN_RESULT), then \
         stop.\n",
        dir.join(runs::RESULT_FILE).display()
    )
}
