//! The command line's definitions (clap types only): every command, its arguments, its help.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory as _, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

use crate::commands::graph::{GraphFormat, SchemaFile};
use crate::reconcile::plan::Selection;

const ABOUT: &str = "Run a team of Claude Code agents, each in its own tmux session and fenced to \
its files and tools, declared in agents/registry.yaml and reconciled like terraform.";

const LONG_ABOUT: &str = "iw reconciles a team of Claude Code agents with what agents/registry.yaml \
(and optionally sessions.yaml) declares: it generates each agent's .claude/settings.json, CLAUDE.md \
and compiled policy (iw-policy.json), runs each declared agent in its own tmux session, shows the \
difference with `iw plan`, converges with `iw apply`, and records what it did in state/iw.lock. \
Every agent's tool calls go through `iw hook pre-tool-use`, which enforces its policy.";

const AFTER_HELP: &str = "\
Typical use:
  iw validate                 check agents/registry.yaml and templates/
  iw plan                     review what would change (unified diffs)
  iw apply                    make it so (asks for confirmation on a terminal)
  iw plan --exit-code         CI / pre-commit drift gate: 0 none, 2 changes, 1 error
  iw session list             the agents' tmux sessions, and what each agent is doing
  iw apply --tenant NAME      one tenant's sessions (sessions.yaml tenants:, own socket)
  iw run AGENT --task FILE    a task run in its own session; `iw runs` lists them

Docs: README.md, docs/registry.md, docs/sessions.md, docs/runs.md, docs/security.md,
docs/json-output.md.

Exit codes: 0 success, 1 error, 2 changes present (plan --exit-code) or tool call denied (hook);
iw session status: 3 not running; iw runs wait: 3 a run failed, 4 a run was killed, 124 timed out.
Colours only on a terminal; NO_COLOR and --color never turn them off.";

/// iw's command line.
#[derive(Debug, Parser)]
#[command(name = "iw", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// Project root: the directory holding agents/registry.yaml [default: $IW_ROOT (set in
    /// agents' sessions), else the current directory]
    #[arg(short = 'C', long = "dir", global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// When to use colours
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set
    Auto,
    /// Always
    Always,
    /// Never
    Never,
}

/// iw's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the registry and templates; report every problem with file:line:col
    #[command(after_help = "Exit 0 when valid, 1 when not. Nothing is written.")]
    Validate(ValidateArgs),
    /// Show what apply would change, with unified diffs
    #[command(after_help = "\
Symbols: + create, ~ update in place, - delete, -/+ replace.
A file edited by hand is marked \"modified outside iw\"; apply backs it up before replacing it.

Examples:
  iw plan                              everything
  iw plan --target backend-agent       one agent (repeatable)
  iw plan --tenant production          one tenant's sessions (sessions.yaml tenants:)
  iw plan --exit-code --no-diff        CI gate: exit 0 no changes, 2 changes, 1 error
  iw plan --json | jq .summary         machine-readable (docs/json-output.md)")]
    Plan(PlanArgs),
    /// Make the generated files match the registry, then record them in state/iw.lock
    #[command(after_help = "\
apply shows the plan and asks for confirmation on a terminal. Without a terminal it refuses
unless --yes is given. Hand-edited files are saved under state/backups/ before being replaced.
Only one apply runs at a time per project (advisory lock on state/apply.lock).")]
    Apply(ApplyArgs),
    /// Show the delegation graph (who may delegate to whom)
    Graph(GraphArgs),
    /// Live agent sessions on the project's tmux socket (list, status, attach, kill, create)
    Session(SessionArgs),
    /// Typed handoffs between agents: check a payload against its edge's JSON Schema
    #[command(subcommand)]
    Handoff(HandoffCommand),
    /// Print the JSON Schema of agents/registry.yaml or sessions.yaml (for editors and CI)
    #[command(
        after_help = "Generated from the types iw parses the files into. For editors with \
the YAML language server, put `# yaml-language-server: $schema=registry.schema.json` at the top \
of the file after `iw schema registry > registry.schema.json`."
    )]
    Schema {
        /// Which file
        #[arg(value_enum)]
        file: SchemaFile,
    },
    /// Adopt a session started by hand into iw's management, without restarting it
    #[command(
        after_help = "The session must run under the agent's declared name on the project's \
socket (e.g. iw-backend-agent on iw-orchestrator). iw marks it as its own and records the command \
it runs; if that differs from sessions.yaml, the next `iw plan` shows a replacement (use \
`restart: never` to keep the process)."
    )]
    Import {
        /// The agent whose session to adopt
        #[arg(add = ArgValueCandidates::new(crate::commands::completions::agent_candidates))]
        agent: String,
    },
    /// Start a task run: AGENT works on the task in FILE in its own tmux session
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
    /// Task runs: list them; status, wait, kill, logs of one (`iw runs --help`)
    #[command(after_help = RUNS_HELP)]
    Runs(RunsArgs),
    /// The team at a glance, live: a terminal UI over the agents' sessions, activity and runs
    #[command(after_help = "\
One row per agent, under the agent that delegates to it: its session (running, dead, stopped),
READY (Claude Code reported that it started), ACTIVITY from Claude Code's own hooks (working,
waiting for you, idle, ended, and for how long), running task RUNS, SYNC with the registry, and
Claude Code's last message; below, the selected agent's screen. A banner shows when `iw plan`
would change something (security drift first).

Keys: ↑↓ select (or click), Enter attach (detach with C-b d to come back), r replace, k kill
(asks), a plan and apply (shows the plan, asks), l latest run's output, / filter, ? help, q quit.

An agent that starts waiting for you rings the terminal's bell; sessions.yaml `notify:` adds a
tmux message on iw's server and a command of your own (docs/watch.md).

Examples:
  iw watch                     the project's own sessions
  iw watch --tenant production one tenant's
  iw watch --once              one frame as text, for scripts (also: iw session list --json)")]
    Watch {
        /// Only this tenant's sessions (sessions.yaml `tenants:`)
        #[arg(long, value_name = "TENANT")]
        tenant: Option<String>,
        /// Print one frame as text and exit
        #[arg(long)]
        once: bool,
    },
    /// Start an iw project here: a starter registry (or --from one), sessions.yaml, personas
    #[command(after_help = "\
Creates agents/registry.yaml (a commented planner and developer, or the registry --from names),
sessions.yaml (every agent as a Claude Code session, on a socket of this project's own), a
persona file per agent (docs/agents/<name>.md, unless it exists) and the .gitignore lines for
iw's runtime state (added, never rewritten). Refuses, changing nothing, where a registry or
sessions.yaml exists. Works in any directory, git repository or not; -C DIR is created if needed.

Examples:
  iw init                                 a planner and a developer to start from
  iw init --from instructor-workflow      iw's 26-agent example (also: pilot, examples/NAME)
  iw -C ../other init --from ./agents/registry.yaml")]
    Init {
        /// Start from this registry: a file, a project directory, or a bundled example (`pilot`,
        /// `instructor-workflow`)
        #[arg(long, value_name = "REGISTRY")]
        from: Option<PathBuf>,
    },
    /// Check that everything `iw apply` needs is in place, and say what to do where it is not
    #[command(after_help = "\
Checks: the registry and sessions.yaml valid; tmux present; the Claude Code CLI present, its
version, and whether iw's tool catalogue covers it; Claude Code set up and trusting the project
root (read-only look at ~/.claude.json); the iw binary the hooks run exists and is this version;
the generated files without security drift; the tmux socket free or iw's.
Exit 0 when nothing fails (warnings allowed), 1 otherwise. Changes nothing.")]
    Doctor {
        /// Print JSON ({ok, checks: [{name, status, detail, help}]})
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (agent names completed from the registry)
    #[command(after_help = "\
Load it in your shell's start-up file:
  bash: source <(iw completions bash)          (~/.bashrc)
  zsh:  source <(iw completions zsh)           (~/.zshrc)
  fish: iw completions fish | source           (~/.config/fish/config.fish)
  elvish: eval (iw completions elvish | slurp)
  powershell: iw completions powershell | Out-String | Invoke-Expression
At each TAB the shell asks iw (COMPLETE=<shell>), so completions follow the installed iw and the
registry of the project you are in.")]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: crate::commands::completions::Shell,
    },
    /// Print iw's man page (roff): `iw man > ~/.local/share/man/man1/iw.1`
    Man,
    /// Tell Claude Code to trust this project, once, so that no agent stops at a trust dialog
    #[command(after_help = "\
Claude Code asks, in every folder it has not been told to trust, whether to trust it, and ignores
the folder's settings until then. iw starts every agent in the project root, so one trust of the
root covers them all. `iw trust` records it in Claude Code's user configuration
($CLAUDE_CONFIG_DIR/.claude.json, else ~/.claude.json; the HOME or CLAUDE_CONFIG_DIR that
sessions.yaml gives the agents, when it does) as accepting the dialog there would: atomically,
under Claude Code's own lock, keeping everything else in the file. iw changes that file only
here. The alternative: start `claude` in the project root once and accept the dialog.")]
    Trust,
    /// Claude Code hook entry points (called by Claude Code, not by people)
    #[command(subcommand)]
    Hook(HookCommand),
    /// iw's side on a host reached over ssh (called by iw itself, over ssh; not for people)
    #[command(subcommand, hide = true)]
    Remote(RemoteCommand),
}

/// `iw remote …`: run on a host by iw over ssh, JSON on stdin, JSON on stdout.
#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Look at files under ROOT (hash, mode, content when it differs from what is expected)
    Probe {
        /// The project's root on this host (absolute)
        #[arg(long, value_name = "ROOT")]
        root: PathBuf,
    },
    /// Write and remove files under ROOT, atomically, with backups
    Write {
        /// The project's root on this host (absolute)
        #[arg(long, value_name = "ROOT")]
        root: PathBuf,
    },
    /// Record and start a task run decided by iw on another machine, under ROOT
    RunStart {
        /// The project's root on this host (absolute)
        #[arg(long, value_name = "ROOT")]
        root: PathBuf,
    },
}

const RUN_HELP: &str = "\
The run gets an id like 20261124-153042-backend-agent (printed on stdout) and a directory
state/runs/<id>/ with state.json, prompt.md, output.log and, when the agent writes it,
result.json. Its pane runs `iw runs exec <id>`, which runs `runs.command` from sessions.yaml
(default: claude -p \"$(cat \"$IW_RUN_PROMPT\")\"; a command starting with `claude` gets the
agent's --settings and --add-dir) in the project root with IW_RUN_ID,
IW_RUN_DIR, IW_RUN_TASK, IW_RUN_PROMPT and IW_RUN_RESULT set, and records how it ended:
CREATED -> RUNNING -> COMPLETED (exit 0) | FAILED (non-zero exit, timeout) | KILLED.

Limits (sessions.yaml `runs:`): max_concurrent active runs (default 4), max_lifetime (default
1h; --timeout may only shorten it). Started from an agent's session (IW_AGENT set), the target
must be in that agent's delegates_to, and a JSON task must match the edge's handoff schema.
Every start, refusal, transition and kill is appended to state/audit.log.

An agent whose session runs on another host (sessions.yaml `host:`) runs its task there: the
run is decided here and recorded and started by the iw installed on that host.

Examples:
  iw run backend-agent --task tasks/api.md                 start; prints the run id
  iw run backend-agent --task tasks/api.md --wait -t 20m   wait; exit 0/3/4 (see iw runs --help)
  id=$(iw run qa-agent --task t.md) && iw runs wait \"$id\" && iw runs status \"$id\" --json";

const RUNS_HELP: &str = "\
Exit codes of `iw runs wait` (and `iw run --wait`): 0 every run COMPLETED, 3 one FAILED
(timeouts included), 4 one was KILLED, 124 the wait timed out, 1 error.

Runs of agents on other hosts (sessions.yaml `hosts:`) are recorded there: `iw runs` lists every
host's too (HOST column), and the commands below find a run on its host.

Examples:
  iw runs                          every run, oldest first
  iw runs --status RUNNING --json  for scripts
  iw runs logs ID --follow         the output as it comes, until the run ends
  iw runs wait ID1 ID2 --timeout 30m
  iw runs kill ID";

/// Arguments of `iw run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The agent to run
    #[arg(add = ArgValueCandidates::new(crate::commands::completions::agent_candidates))]
    pub agent: String,
    /// The task: Markdown, or JSON when the handoff has a schema (relative to the current
    /// directory, or to the project root with -C)
    #[arg(long, value_name = "FILE")]
    pub task: PathBuf,
    /// Wait until the run ends; the exit code says how it ended
    #[arg(long)]
    pub wait: bool,
    /// Stop the run and mark it FAILED (timeout) after this long [default: runs.max_lifetime]
    #[arg(long, short = 't', value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Print the run's state as JSON instead of its id
    #[arg(long)]
    pub json: bool,
    /// Run it as this tenant's agent: on the tenant's socket, with its environment and overrides
    /// (sessions.yaml `tenants:`)
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
}

/// Arguments of `iw runs`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    /// What to do; without one, list the runs
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    /// Only runs with this status (repeatable): CREATED, RUNNING, COMPLETED, FAILED, KILLED
    #[arg(long, value_enum, value_name = "STATUS")]
    pub status: Vec<crate::runs::Status>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// `iw runs …`
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// One run: state, timings, parent, result, last output
    Status {
        /// The run id
        id: String,
        /// Print JSON (state.json plus result and last output)
        #[arg(long)]
        json: bool,
    },
    /// Wait until runs end; the exit code says how they ended
    Wait {
        /// Run ids
        #[arg(required = true)]
        ids: Vec<String>,
        /// Give up after this long (exit 124)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
    },
    /// Stop a run: mark it KILLED, stop its command and close its session
    Kill {
        /// The run id
        id: String,
    },
    /// Print a run's output (output.log)
    Logs {
        /// The run id
        id: String,
        /// Keep printing as it comes, until the run ends
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// What a run's pane runs (started by `iw run`, not by people)
    #[command(hide = true)]
    Exec {
        /// The run id
        id: String,
    },
}

/// Arguments of `iw validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `--target` / `--exclude`.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Only this agent (repeatable)
    #[arg(long = "target", value_name = "AGENT", add = ArgValueCandidates::new(crate::commands::completions::agent_candidates))]
    pub targets: Vec<String>,
    /// Not this agent (repeatable)
    #[arg(long = "exclude", value_name = "AGENT", add = ArgValueCandidates::new(crate::commands::completions::agent_candidates))]
    pub excludes: Vec<String>,
    /// Rewrite this agent's files and replace its session even if nothing changed (repeatable;
    /// e.g. after editing a file by hand and restoring it, or to restart a stuck agent)
    #[arg(long = "replace", value_name = "AGENT", add = ArgValueCandidates::new(crate::commands::completions::agent_candidates))]
    pub replace: Vec<String>,
    /// Only this tenant's sessions (sessions.yaml `tenants:`); by default the project's own
    /// sessions and every tenant's
    #[arg(long = "tenant", value_name = "TENANT")]
    pub tenant: Option<String>,
}

impl SelectArgs {
    /// The agents and tenant selected.
    pub fn selection(&self) -> Selection {
        Selection {
            targets: self.targets.clone(),
            excludes: self.excludes.clone(),
            replace: self.replace.clone(),
            tenant: self.tenant.clone(),
        }
    }
}

/// Arguments of `iw plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 2 when there are changes, 0 when there are none, 1 on error
    #[arg(long)]
    pub exit_code: bool,
    /// Print one JSON document instead of text
    #[arg(long)]
    pub json: bool,
    /// Do not show diffs, only what changes
    #[arg(long)]
    pub no_diff: bool,
    /// Also save the plan to FILE, for `iw apply FILE` (which applies exactly it, or refuses if
    /// anything it depends on changed)
    #[arg(long = "out", short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub select: SelectArgs,
}

/// Arguments of `iw apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `iw plan -o FILE`: apply exactly it, without asking; refuse if it is stale
    #[arg(value_name = "PLANFILE", conflicts_with_all = ["targets", "excludes", "replace", "tenant"])]
    pub plan_file: Option<PathBuf>,
    /// Apply without asking for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Do not show diffs in the plan shown before applying
    #[arg(long)]
    pub no_diff: bool,
    /// How long to wait for another apply to finish
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// Do not wait for new Claude Code sessions to report that they started (sessions.yaml
    /// `ready_timeout`, default 60s)
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub select: SelectArgs,
}

/// Arguments of `iw graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
}

/// `iw session [--tenant T] …`
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// A tenant's sessions (sessions.yaml `tenants:`, on the tenant's socket) instead of the
    /// project's own
    #[arg(long, global = true, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// What to do
    #[command(subcommand)]
    pub command: SessionCommand,
}

/// `iw session …`
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List sessions on the socket, and declared ones that are not running
    #[command(after_help = "FILTER keeps rows whose session or agent name contains it.")]
    List {
        /// Only sessions whose name or agent contains this
        filter: Option<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show one agent's session: exists, pane alive, ready, pid, uptime, managed, up to date
    #[command(
        after_help = "Exit status, like `systemctl status`: 0 the session runs, 3 it does \
not (missing, or its command exited), 1 error. Also with --json."
    )]
    Status {
        /// The agent
        #[arg(add = ArgValueCandidates::new(crate::commands::completions::agent_candidates))]
        agent: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Attach this terminal to an agent's session (detach with C-b d)
    Attach {
        /// The agent
        #[arg(add = ArgValueCandidates::new(crate::commands::completions::agent_candidates))]
        agent: String,
    },
    /// Kill an agent's session, or every session of this project
    #[command(
        after_help = "A session that is already gone is not an error. Sessions iw did not \
create are never killed."
    )]
    Kill {
        /// The agent
        #[arg(required_unless_present = "all", conflicts_with = "all", add = ArgValueCandidates::new(crate::commands::completions::agent_candidates))]
        agent: Option<String>,
        /// Every session iw started for this project (delegators first)
        #[arg(long)]
        all: bool,
    },
    /// Start one agent's declared session, with the same checks as apply
    #[command(
        after_help = "Refuses while the agent's generated files differ from the registry \
(run `iw apply --target AGENT` first)."
    )]
    Create {
        /// The agent
        #[arg(add = ArgValueCandidates::new(crate::commands::completions::agent_candidates))]
        agent: String,
    },
}

/// `iw handoff …`
#[derive(Debug, Subcommand)]
pub enum HandoffCommand {
    /// Check that FROM may hand work to TO and that the payload FILE (JSON) matches the schema
    /// declared for that edge
    #[command(after_help = "Declare the schema in the registry: \
`delegates_to: [{agent: backend-agent, schema: schemas/backend-task.json}]` (plain names keep \
working). Exit 0 valid; 1 with one line per failing field, each starting with its JSON pointer.")]
    Validate {
        /// The agent handing the work over
        #[arg(long, value_name = "AGENT", add = ArgValueCandidates::new(crate::commands::completions::agent_candidates))]
        from: String,
        /// The agent receiving it
        #[arg(long, value_name = "AGENT", add = ArgValueCandidates::new(crate::commands::completions::agent_candidates))]
        to: String,
        /// The payload, a JSON file (relative to the project root if relative)
        file: PathBuf,
    },
}

/// `iw hook …`
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Decide on one tool call (Claude Code's PreToolUse event JSON on stdin)
    #[command(
        after_help = "Exit 0 allows the tool call; exit 2 denies it, with the reason on stderr \
(Claude Code shows it to the agent). iw writes this command into each agent's settings.json as \
`<iw> -C <root> hook pre-tool-use --agent <name>`; the policy is agents/<name>/.claude/iw-policy.json, \
trusted only if its hash matches state/iw.lock. Anything the hook cannot decide is denied unless \
the registry says `hook_failure: open`. IW_HOOK_LOG=FILE appends each decision as a JSON line.

Try it:
  echo '{\"tool_name\":\"Write\",\"cwd\":\"'$PWD'\",\"tool_input\":{\"file_path\":\"tests/x.py\"}}' \\
    | iw -C . hook pre-tool-use --agent backend-agent; echo $?"
    )]
    PreToolUse(HookArgs),
    /// Record what an agent is doing (Claude Code's SessionStart, UserPromptSubmit,
    /// Notification, Stop or SessionEnd event JSON on stdin)
    #[command(
        after_help = "Always exits 0: a status hook never blocks the agent. The state \
(working, waiting, idle, ended) goes to state/activity/<agent>.json, and `iw session list` \
shows it.

Try it:
  echo '{\"hook_event_name\":\"UserPromptSubmit\",\"session_id\":\"s\"}' \\
    | iw -C . hook status --agent backend-agent && iw session list"
    )]
    Status {
        /// The agent
        #[arg(long, value_name = "NAME")]
        agent: String,
    },
    /// Tell the person about an event (started by the status hook, detached; see sessions.yaml
    /// `notify:`)
    #[command(hide = true)]
    Notify {
        /// The agent
        #[arg(long, value_name = "NAME")]
        agent: String,
        /// `waiting`, `run-failed` or `session-died`
        #[arg(long)]
        event: String,
        /// What to say
        #[arg(long, default_value = "")]
        message: String,
    },
}

/// Arguments of `iw hook pre-tool-use`.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// The agent making the call
    #[arg(long, value_name = "NAME")]
    pub agent: String,
    /// What to do when the hook cannot decide (bad input, missing or tampered policy):
    /// `closed` blocks the call, `open` allows it with a warning (registry `hook_failure`)
    #[arg(long, value_name = "MODE", default_value = "closed", value_parser = ["closed", "open"])]
    pub on_failure: String,
}

/// A duration on the command line (`500ms`, `3s`, `1m`), for clap.
pub(crate) fn parse_duration(s: &str) -> crate::support::Result<Duration> {
    humantime::parse_duration(s)
        .map_err(|e| crate::support::Error::msg(format!("{e} (examples: 500ms, 3s, 1m)")))
}

impl Command {
    /// True when the command prints JSON: an error is then also reported as JSON on stdout.
    pub fn wants_json(&self) -> bool {
        match self {
            Command::Validate(a) => a.json,
            Command::Plan(a) => a.json,
            Command::Doctor { json } => *json,
            Command::Run(a) => a.json,
            Command::Session(SessionArgs { command, .. }) => matches!(
                command,
                SessionCommand::List { json: true, .. } | SessionCommand::Status { json: true, .. }
            ),
            Command::Runs(a) => {
                a.json
                    && matches!(
                        a.command,
                        None | Some(RunsCommand::Status { json: true, .. })
                    )
            }
            _ => false,
        }
    }
}

/// The clap command, for generating documentation.
pub fn command() -> clap::Command {
    Cli::command()
}
