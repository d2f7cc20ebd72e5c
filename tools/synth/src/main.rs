//! `iw-synth N [--seed S] [--exclusive catalogue|per-team]`: writes a synthetic registry of N
//! agents to stdout, for benchmarks and scale tests (see the `iw_synth` library).
//!
//! ```sh
//! mkdir -p /tmp/p1000/agents && iw-synth 1000 > /tmp/p1000/agents/registry.yaml
//! iw -C /tmp/p1000 validate
//! ```

use std::io::Write as _;
use std::process::ExitCode;

use iw_synth::{Exclusive, Options};

const USAGE: &str =
    "usage: iw-synth N [--seed S] [--exclusive catalogue|per-team] > agents/registry.yaml

Writes a valid registry of N synthetic agents (same shape as examples/instructor-workflow),
deterministic from N and the seed (default 1).
  --exclusive catalogue   at most 16 exclusive areas whatever N is (default)
  --exclusive per-team    plus one exclusive area per team of ~25 agents (output grows as N^2)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut n: Option<usize> = None;
    let mut seed = 1u64;
    let mut options = Options::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--seed" => match args.next().and_then(|s| s.parse().ok()) {
                Some(s) => seed = s,
                None => return usage("--seed needs a non-negative integer"),
            },
            "--exclusive" => match args.next().as_deref() {
                Some("catalogue") => options.exclusive = Exclusive::Catalogue,
                Some("per-team") => options.exclusive = Exclusive::PerTeam,
                _ => return usage("--exclusive needs `catalogue` or `per-team`"),
            },
            _ if n.is_none() => match a.parse() {
                Ok(v) if v > 0 => n = Some(v),
                _ => return usage(&format!("`{a}` is not a positive number of agents")),
            },
            _ => return usage(&format!("unexpected argument `{a}`")),
        }
    }
    let Some(n) = n else {
        return usage("missing N, the number of agents");
    };
    let yaml = iw_synth::registry_yaml_with(n, seed, &options);
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(yaml.as_bytes()).and_then(|_| out.flush()) {
        eprintln!("iw-synth: cannot write: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("iw-synth: {problem}\n\n{USAGE}");
    ExitCode::FAILURE
}
