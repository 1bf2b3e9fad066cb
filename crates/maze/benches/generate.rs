//! The local backend's speed: prefill and decode tokens per second for 64 tokens, unconstrained and through the
//! mask path with a constraint that allows everything (the loop's own overhead), on the default model.
//!
//! `cargo bench -p maze --features local`. criterion's throughput lines are tokens per second. At the end, a
//! summary measured in the same run, alternating the two arms: medians and the constrained/unconstrained ratio.
//! Set `MAZE_BENCH_Q4_1=1` to add the model as shipped (Q4_1, no requantization) to that summary.
//!
//! Then the constrained/unconstrained comparison of issue 6, also alternating in one process: the quickstart's
//! task (the body of examples/inventory's `Stock::take`, its extracted constraints compiled by braid, the checker
//! from maze's cache) against the same model, prompt and budget without a checker. Compared per sampled token (the
//! checker's forced header tokens go through the model in one batch and would flatter the constrained rate).

use std::ops::ControlFlow;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use maze::{
    AllowAll, Backend, GenerateRequest, Generation, LocalBackend, LocalConfig, Prompt, Requantize, TokenConstraint,
};

const TOKENS: u32 = 64;

/// Text that makes the model continue for well over 64 tokens without an end of sequence.
const CONTINUATION: &str = "// A list of the numbers from 1 to 200, one per line, with their squares.\n\
                            fn squares() -> Vec<(u32, u32)> {\n    vec![\n        (1, 1),\n        (2, 4),\n";

fn load(requantize: Requantize) -> Option<LocalBackend> {
    let path = maze::default_model_path();
    if !path.is_file() {
        eprintln!("maze bench: no model at {} (run scripts/fetch-model.sh); nothing to measure", path.display());
        return None;
    }
    let config = LocalConfig { requantize, ..LocalConfig::new().with_model(path) };
    let backend = LocalBackend::load(&config).expect("the model loads");
    eprintln!("maze bench: {:?}", backend.info());
    Some(backend)
}

/// A text prompt of exactly 64 tokens.
fn prompt_of_64(backend: &LocalBackend) -> Prompt {
    let long = "Ananke turns the rules a codebase already follows into rules an LLM cannot break while it writes code. \
                It reads source with tree-sitter, turns what it finds into typed constraints, compiles them into an IR \
                that a token-level engine enforces during decoding, and checks the result against the same rules.";
    let mut words: Vec<&str> = long.split_inclusive(' ').collect();
    while backend.encode(&words.concat()).unwrap().len() > 64 {
        words.pop();
    }
    let mut text = words.concat();
    while backend.encode(&text).unwrap().len() < 64 {
        text.push('.');
    }
    assert_eq!(backend.encode(&text).unwrap().len(), 64);
    Prompt::Text(text)
}

fn run(backend: &mut LocalBackend, request: &GenerateRequest, constrained: bool) -> Generation {
    let vocab_len = backend.vocabulary().unwrap().len();
    let mut all = AllowAll::new(vocab_len);
    let constraint: Option<&mut dyn TokenConstraint> = if constrained { Some(&mut all) } else { None };
    backend.generate(request, constraint, &mut |_| ControlFlow::Continue(())).expect("generation works")
}

fn bench(c: &mut Criterion) {
    let Some(mut backend) = load(Requantize::Auto) else { return };

    let prefill = GenerateRequest::new(prompt_of_64(&backend), 1);
    let decode = GenerateRequest::new(Prompt::Text(CONTINUATION.into()), TOKENS);
    let probe = run(&mut backend, &decode, false);
    assert_eq!(probe.tokens.len(), TOKENS as usize, "the decode prompt must run 64 tokens: {:?}", probe.text);

    let mut group = c.benchmark_group("local");
    group.sample_size(10).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(12));
    group.throughput(Throughput::Elements(64));
    for (name, constrained) in [("unconstrained", false), ("allow_all_mask", true)] {
        group.bench_function(format!("prefill_64/{name}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| run(&mut backend, &prefill, constrained).timings.prefill).sum());
        });
        group.bench_function(format!("decode_64/{name}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| run(&mut backend, &decode, constrained).timings.decode).sum());
        });
    }
    group.finish();

    // The model as shipped (Q4_1, no requantization), in the same alternating summary when asked for.
    let mut shipped =
        if std::env::var_os("MAZE_BENCH_Q4_1").is_some_and(|v| v == "1") { load(Requantize::Never) } else { None };
    summary(&mut backend, shipped.as_mut(), &prefill, &decode);
    constrained_vs_unconstrained(&mut backend);
}

/// The constraints `ananke extract examples/inventory` finds.
fn inventory_set() -> ananke_core::ConstraintSet {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/inventory/src");
    let files: Vec<(String, Vec<u8>)> = ["lib.rs", "error.rs", "stock.rs"]
        .iter()
        .map(|f| (format!("src/{f}"), std::fs::read(format!("{dir}/{f}")).expect("examples/inventory is there")))
        .collect();
    let sources: Vec<clew::Source<'_>> = files.iter().map(|(p, b)| clew::Source::new(p, b)).collect();
    clew::extract(&sources, &clew::ExtractConfig::default(), &clew::MineConfig::default())
}

fn constrained_vs_unconstrained(backend: &mut LocalBackend) {
    let config =
        braid::CompileConfig::new(ananke_core::Language::Rust, braid::Target::FnBody { signature: "take".into() });
    let set = inventory_set();
    let ir = std::sync::Arc::new(braid::compile(&set, &config).expect("compiles"));
    let layered = braid::BodyOptions { self_type: Some("Stock".into()), ..braid::BodyOptions::all() };
    let ir_layers = std::sync::Arc::new(braid::compile(&set, &config.clone().with_body(layered)).expect("compiles"));
    let identifiers = std::sync::Arc::new(braid::Identifiers::from_set(&set));
    let cache = maze::ConstraintCache::default();
    let vocab = backend.vocabulary().expect("a vocabulary").clone();
    let id = backend.vocabulary_id().expect("an id");
    let (compiled, _) = cache.get_or_build(&ir, &vocab, id).expect("builds");
    let (compiled_layers, _) = cache.get_or_build(&ir_layers, &vocab, id).expect("builds");
    let prompt = Prompt::user(
        "Write the body of Stock::take: take units of an item out of stock, returning the units left, and fail with \
         InventoryError::InsufficientStock without changing anything when there are not enough.",
    );
    let request = GenerateRequest::new(prompt, TOKENS);
    let mut rows: [Vec<(f64, f64, f64, f64)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..9 {
        for (arm, row) in rows.iter_mut().enumerate() {
            let mut checker = if arm == 2 { compiled_layers.checker() } else { compiled.checker() };
            if arm == 2 {
                checker.set_budget(Some(TOKENS));
                checker.set_identifiers(std::sync::Arc::clone(&identifiers));
            }
            let constraint: Option<&mut dyn TokenConstraint> = if arm > 0 { Some(&mut checker) } else { None };
            let g = backend.generate(&request, constraint, &mut |_| ControlFlow::Continue(())).expect("generates");
            let t = &g.timings;
            // The first round warms the checker's mask memo (a cache hit in serving): kept out of the medians.
            if round > 0 {
                row.push((
                    t.sampled_tokens_per_s(),
                    t.decode_tokens_per_s(),
                    t.mask_per_sampled_token().as_secs_f64() * 1e6,
                    (t.generated_tokens - t.forced_tokens) as f64,
                ));
            }
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let best = |v: Vec<f64>| v.into_iter().fold(0.0, f64::max);
    eprintln!("\nmaze bench: Stock::take, 64-token budget, 8 alternating rounds after a warm-up round");
    eprintln!(
        "  {:<28} {:>24} {:>16} {:>18} {:>8}",
        "", "sampled tok/s med/best", "all tok/s med", "mask µs/sampled", "sampled"
    );
    let mut sampled_median = Vec::new();
    let mut sampled_best = Vec::new();
    for (name, r) in ["unconstrained", "braces + bans (cached)", "syntax+budget+identifiers"].iter().zip(&rows) {
        let (sm, sb) = (median(r.iter().map(|x| x.0).collect()), best(r.iter().map(|x| x.0).collect()));
        let all = median(r.iter().map(|x| x.1).collect());
        let mask = median(r.iter().map(|x| x.2).collect());
        let n = median(r.iter().map(|x| x.3).collect());
        sampled_median.push(sm);
        sampled_best.push(sb);
        eprintln!("  {name:<28} {sm:>12.1} / {sb:>7.1} {all:>16.1} {mask:>18.1} {n:>8.0}");
    }
    for (arm, name) in [(1, "braces + bans"), (2, "all layers")] {
        eprintln!(
            "  {name} / unconstrained, per sampled token: {:.3} median, {:.3} best",
            sampled_median[arm] / sampled_median[0],
            sampled_best[arm] / sampled_best[0]
        );
    }
}

/// One arm's measurements of one round.
struct Sample {
    prefill_tps: f64,
    decode_tps: f64,
    /// Generated tokens per CPU-second of the whole decode request (its prompt's prefill included), which holds
    /// better than wall time when other work shares the cores.
    decode_per_cpu_s: Option<f64>,
    mask_us: f64,
}

/// Medians of alternating runs, so every arm sees the same machine load.
fn summary(
    backend: &mut LocalBackend,
    mut shipped: Option<&mut LocalBackend>,
    prefill: &GenerateRequest,
    decode: &GenerateRequest,
) {
    let names = ["Q8_0 unconstrained", "Q8_0 allow-all mask", "Q4_1 unconstrained"];
    let mut rows: [Vec<Sample>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let sample = |b: &mut LocalBackend, constrained: bool| {
        let p = run(b, prefill, constrained).timings;
        let cpu = cpu_time();
        let d = run(b, decode, constrained).timings;
        let cpu = cpu.zip(cpu_time()).map(|(before, after)| after.saturating_sub(before));
        assert_eq!(d.generated_tokens, TOKENS as usize);
        Sample {
            prefill_tps: p.prefill_tokens_per_s(),
            decode_tps: d.decode_tokens_per_s(),
            decode_per_cpu_s: cpu.filter(|c| !c.is_zero()).map(|c| f64::from(TOKENS) / c.as_secs_f64()),
            mask_us: d.mask_per_token().as_secs_f64() * 1e6,
        }
    };
    for _ in 0..7 {
        rows[0].push(sample(backend, false));
        rows[1].push(sample(backend, true));
        if let Some(q4) = shipped.as_deref_mut() {
            rows[2].push(sample(q4, false));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let best = |v: Vec<f64>| v.into_iter().fold(0.0, f64::max);
    // On a shared, loaded machine the best run is the closest to the uncontended speed, the median shows the
    // spread, and tokens per CPU-second give the ratios that hold under load.
    eprintln!("\nmaze bench summary: 7 alternating rounds; prefill of 64 tokens, decode of 64 tokens");
    eprintln!(
        "  {:<20} {:>20} {:>20} {:>18} {:>12}",
        "", "prefill tok/s med/best", "decode tok/s med/best", "decode tok/CPU-s", "mask µs/tok"
    );
    let mut per_cpu = Vec::new();
    let mut best_decode = Vec::new();
    for (name, r) in names.iter().zip(&rows).filter(|(_, r)| !r.is_empty()) {
        let (pm, pb) =
            (median(r.iter().map(|x| x.prefill_tps).collect()), best(r.iter().map(|x| x.prefill_tps).collect()));
        let (dm, db) =
            (median(r.iter().map(|x| x.decode_tps).collect()), best(r.iter().map(|x| x.decode_tps).collect()));
        let cpu = median(r.iter().filter_map(|x| x.decode_per_cpu_s).collect());
        let mask = median(r.iter().map(|x| x.mask_us).collect());
        per_cpu.push(cpu);
        best_decode.push(db);
        eprintln!("  {name:<20} {pm:>10.1} / {pb:>7.1} {dm:>10.1} / {db:>7.1} {cpu:>18.1} {mask:>12.1}");
    }
    eprintln!(
        "  allow-all mask / unconstrained decode: {:.3} per CPU-second, {:.3} best wall",
        per_cpu[1] / per_cpu[0],
        best_decode[1] / best_decode[0]
    );
    if per_cpu.len() > 2 {
        eprintln!(
            "  Q8_0 / Q4_1 decode: {:.2} per CPU-second, {:.2} best wall",
            per_cpu[0] / per_cpu[2],
            best_decode[0] / best_decode[2]
        );
    }
}

/// User + system CPU time of this process so far (all threads), from `/proc/self/stat`; `None` elsewhere.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime are the 12th and
    // 13th, in clock ticks of 1/100 s on Linux.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
