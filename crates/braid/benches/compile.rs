//! Compile benchmarks on synthetic constraint sets generated with a fixed seed: full compile at 10 to 10 000
//! constraints, conflict detection alone, and an incremental recompile after changing 1 constraint in 1 000.

use std::hint::black_box;

use ananke_core::{Constraint, ConstraintSet, Language, Provenance, Rule, Scope};
use braid::{CompileConfig, Compiler, Target};

#[path = "synthetic.rs"]
mod synthetic;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use synthetic::set_of;

fn config() -> CompileConfig {
    CompileConfig::new(
        Language::Rust,
        Target::FnBody { signature: "pub fn handle(req: &Request) -> Result<Response, Error>".into() },
    )
}

fn full(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    for n in [10, 50, 100, 1_000, 10_000] {
        let set = set_of(n);
        let config = config();
        group.bench_with_input(BenchmarkId::from_parameter(n), &set, |b, set| {
            b.iter(|| braid::compile(black_box(set), &config).expect("compiles"));
        });
    }
    group.finish();
}

fn conflicts(c: &mut Criterion) {
    let mut group = c.benchmark_group("conflicts");
    for n in [1_000, 10_000] {
        let set = set_of(n);
        let config = config();
        group.bench_with_input(BenchmarkId::from_parameter(n), &set, |b, set| {
            b.iter(|| braid::detect_conflicts(black_box(set), &config).expect("detects"));
        });
    }
    group.finish();
}

fn incremental(c: &mut Criterion) {
    let set = set_of(1_000);
    let config = config();
    // Two versions of the set that differ in one constraint, compiled alternately.
    let victim = set.constraints()[500].id;
    let mut other = set.clone();
    other.retain(|c| c.id != victim);
    other.insert(Constraint::new(
        Rule::ForbidCall { callee: "replacement".into() },
        Scope::default(),
        Provenance::user(),
    ));
    let mut group = c.benchmark_group("incremental");
    // The serving form: the compiler patches the IR it keeps (the caller drops its `Arc` before the next change).
    let mut compiler = Compiler::new(config.clone());
    compiler.compile_shared(&set).expect("compiles");
    let mut flip = false;
    group.bench_function("1000", |b| {
        b.iter(|| {
            flip = !flip;
            compiler.compile_shared(black_box(if flip { &other } else { &set })).expect("compiles")
        });
    });
    // The owned form: the same, plus a copy of the whole IR for the caller.
    let mut compiler = Compiler::new(config);
    compiler.compile(&set).expect("compiles");
    group.bench_function("1000/owned", |b| {
        b.iter(|| {
            flip = !flip;
            compiler.compile(black_box(if flip { &other } else { &set })).expect("compiles")
        });
    });
    group.finish();
}

/// A set extracted from a real corpus (`ananke extract DIR --format json -o FILE`), when `ANANKE_BENCH_SET` names
/// one; skipped otherwise.
fn corpus(c: &mut Criterion) {
    let Ok(path) = std::env::var("ANANKE_BENCH_SET") else {
        eprintln!("corpus: skipped (set ANANKE_BENCH_SET to a constraint set from `ananke extract`)");
        return;
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("corpus: skipped, cannot read {path}: {e}");
            return;
        }
    };
    let set = match ConstraintSet::from_json(&text) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("corpus: skipped, {path} is not a constraint set: {e}");
            return;
        }
    };
    let config = config();
    let mut group = c.benchmark_group("corpus");
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("compile", set.len()), |b| {
        b.iter(|| braid::compile(black_box(&set), &config).expect("compiles"));
    });
    group.bench_function(BenchmarkId::new("conflicts", set.len()), |b| {
        b.iter(|| braid::detect_conflicts(black_box(&set), &config).expect("detects"));
    });
    group.finish();
}

criterion_group!(benches, full, conflicts, incremental, corpus);
criterion_main!(benches);
