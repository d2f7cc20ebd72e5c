//! Criterion benchmarks of iw's stages on synthetic registries of N agents (tools/synth):
//! registry parse + validate, render, plan (all-new; no-op both in full and proven from the
//! lockfile), apply from scratch, policy compile, hook decision (and finding the policy's hash
//! through the policy index or the whole lockfile).
//! Run with `cargo bench`; `cargo bench -- plan_noop` for one group. Results are discussed in
//! docs/PERFORMANCE.md.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use iw::hook::{Options, pre_tool_use};
use iw::project::Project;
use iw::reconcile::lock::LockFile;
use iw::reconcile::plan::Selection;

const SIZES: &[usize] = &[26, 100, 1000, 10_000];

/// A project directory holding a synthetic registry of `n` agents.
fn project_dir(n: usize) -> (tempfile::TempDir, PathBuf) {
    // In memory where there is /dev/shm, as scripts/perf.sh: the figures are iw's, not the
    // disk's (creating thousands of files on an ext4 disk that just freed as many varies 3x).
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("agents")).unwrap();
    std::fs::write(
        root.join("agents/registry.yaml"),
        iw_synth::registry_yaml(n, 1),
    )
    .unwrap();
    (dir, root)
}

fn apply(root: &Path) -> Project {
    let project = Project::load(root).unwrap();
    let plan = iw::reconcile::compute(&project, None, &Selection::default()).unwrap();
    iw::reconcile::apply::apply(&project, &plan, |_| {}).unwrap();
    project
}

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    g
}

fn parse_validate(c: &mut Criterion) {
    let mut g = group(c, "parse_validate");
    for &n in SIZES {
        let yaml = iw_synth::registry_yaml(n, 1);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &yaml, |b, yaml| {
            b.iter(|| iw::model::registry::parse("agents/registry.yaml", yaml).unwrap())
        });
    }
    g.finish();
}

fn render(c: &mut Criterion) {
    let mut g = group(c, "render");
    for &n in SIZES {
        let (_dir, root) = project_dir(n);
        let project = Project::load(&root).unwrap();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| project.render_all().unwrap())
        });
    }
    g.finish();
}

fn plan_all_new(c: &mut Criterion) {
    let mut g = group(c, "plan_all_new");
    for &n in SIZES {
        let (_dir, root) = project_dir(n);
        let project = Project::load(&root).unwrap();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| iw::reconcile::compute(&project, None, &Selection::default()).unwrap())
        });
    }
    g.finish();
}

fn plan_noop(c: &mut Criterion) {
    let mut g = group(c, "plan_noop");
    for &n in SIZES {
        // One applied project serves both ways of planning it (setting up 10000 agents is slow).
        let (_dir, root) = project_dir(n);
        apply(&root);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("full", n), |b| {
            // What `iw plan` does without the lockfile's proof: load, read the lock, compare.
            b.iter(|| {
                let project = Project::load(&root).unwrap();
                let lock = LockFile::read(&root).unwrap();
                let p = iw::reconcile::compute(&project, lock, &Selection::default()).unwrap();
                assert!(p.is_empty());
            })
        });
        g.bench_function(BenchmarkId::new("proven", n), |b| {
            // What `iw plan` does when the lockfile proves nothing changed (src/noop.rs).
            b.iter(|| {
                let lock = LockFile::read(&root).unwrap().unwrap();
                assert!(iw::reconcile::noop::unchanged(&root, &lock));
            })
        });
    }
    g.finish();
}

fn apply_from_scratch(c: &mut Criterion) {
    let mut g = group(c, "apply_from_scratch");
    for &n in SIZES {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            // Load, plan and write every file and the lockfile into a fresh project; removing
            // it afterwards is not timed (the directory is dropped outside the measurement).
            b.iter_batched(
                || project_dir(n),
                |(dir, root)| {
                    apply(&root);
                    dir
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn policy_compile(c: &mut Criterion) {
    let mut g = group(c, "policy_compile");
    for &n in SIZES {
        let yaml = iw_synth::registry_yaml(n, 1);
        let (registry, _) = iw::model::registry::parse("agents/registry.yaml", &yaml).unwrap();
        g.throughput(Throughput::Elements(n as u64));
        // Every agent's policy, as apply writes them (the shared part computed once).
        g.bench_function(BenchmarkId::new("all_agents", n), |b| {
            b.iter(|| {
                let shared = iw::policy::Shared::new(&registry);
                registry
                    .agents
                    .values()
                    .map(|a| {
                        iw::policy::compile_with(&shared, &registry, a)
                            .to_json()
                            .len()
                    })
                    .sum::<usize>()
            })
        });
        // One agent's stored policy into matchers, as the hook does on every call.
        let agent = registry.agents.values().next().unwrap();
        let json = iw::policy::compile(&registry, agent).to_json();
        g.bench_function(BenchmarkId::new("hook_load_one", n), |b| {
            b.iter(|| {
                let doc: iw::policy::PolicyDoc = serde_json::from_str(&json).unwrap();
                iw::policy::Policy::new(doc).unwrap()
            })
        });
    }
    g.finish();
}

fn hook_decision(c: &mut Criterion) {
    let mut g = group(c, "hook_decision");
    for &n in SIZES {
        let (_dir, root) = project_dir(n);
        let project = apply(&root);
        let agent = project.registry.agents.keys().next().unwrap().clone();
        let opts = Options {
            agent: agent.clone(),
            root: Some(root.clone()),
            fail_open: false,
        };
        let write = serde_json::json!({
            "tool_name": "Write",
            "cwd": root.join("agents").join(&agent),
            "tool_input": {"file_path": root.join("src/app/main.rs"), "content": "x"},
        })
        .to_string();
        let bash = serde_json::json!({
            "tool_name": "Bash",
            "cwd": root.join("agents").join(&agent),
            "tool_input": {"command": "cd ../.. && cargo test 2>&1 | tee target/test.log && rm -rf tmp"},
        })
        .to_string();
        g.bench_function(BenchmarkId::new("write", n), |b| {
            b.iter(|| pre_tool_use(&opts, write.as_bytes()))
        });
        g.bench_function(BenchmarkId::new("bash", n), |b| {
            b.iter(|| pre_tool_use(&opts, bash.as_bytes()))
        });
        // Finding the agent's policy hash through the policy index, and loading the verified
        // policy with the index and without it (the whole lockfile read, as before issue 15).
        g.bench_function(BenchmarkId::new("policy_hash_indexed", n), |b| {
            b.iter(|| iw::reconcile::lock_index::locked_policy_sha256(&root, &agent).unwrap())
        });
        g.bench_function(BenchmarkId::new("load_policy_indexed", n), |b| {
            b.iter(|| iw::hook::load_policy(&root, &agent).unwrap())
        });
        std::fs::remove_file(root.join(iw::reconcile::lock_index::INDEX_PATH)).unwrap();
        g.bench_function(BenchmarkId::new("load_policy_lockfile", n), |b| {
            b.iter(|| iw::hook::load_policy(&root, &agent).unwrap())
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    parse_validate,
    render,
    plan_all_new,
    plan_noop,
    apply_from_scratch,
    policy_compile,
    hook_decision
);
criterion_main!(benches);
