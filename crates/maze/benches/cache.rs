//! The cache of compiled constraints: a hit (the target is ≤ 100 ns median), an uncached compile of a typical IR
//! (braid's compile of the constraints extracted from examples/inventory, then the checker build; target ≤ 50 ms),
//! the vocabulary index built once per model, and hits from 2 and 16 threads with one shard and with four.
//!
//! `cargo bench -p maze --bench cache`. The vocabulary is cl100k (100k tokens, embedded in braid: no download);
//! the embedded model's own (SmolLM2, 49k tokens) is used too when its GGUF file is present.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ananke_core::{ConstraintSet, Language};
use braid::{CompileConfig, Target, Tiktoken};
use criterion::{BenchmarkId, Criterion};
use maze::{CacheConfig, CacheKey, Compiled, ConstraintCache, VocabId, Vocabulary};

/// The constraints extracted from the example project, as `ananke extract examples/inventory` finds them.
fn inventory_set() -> ConstraintSet {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/inventory/src");
    let files: Vec<(String, Vec<u8>)> = ["lib.rs", "error.rs", "stock.rs"]
        .iter()
        .map(|f| (format!("src/{f}"), std::fs::read(format!("{dir}/{f}")).expect("examples/inventory is there")))
        .collect();
    let sources: Vec<clew::Source<'_>> = files.iter().map(|(p, b)| clew::Source::new(p, b)).collect();
    clew::extract(&sources, &clew::ExtractConfig::default(), &clew::MineConfig::default())
}

fn config() -> CompileConfig {
    CompileConfig::new(Language::Rust, Target::FnBody { signature: "take".into() })
}

fn vocabularies() -> Vec<Arc<Vocabulary>> {
    let mut out = vec![Arc::new(Vocabulary::tiktoken(Tiktoken::Cl100k))];
    if let Ok(bytes) = std::fs::read(maze::default_model_path())
        && let Ok(v) = Vocabulary::from_gguf(&bytes)
    {
        out.push(Arc::new(v));
    }
    out
}

fn bench(c: &mut Criterion) {
    let set = inventory_set();
    let ir = Arc::new(braid::compile(&set, &config()).expect("the inventory set compiles"));
    let vocabs = vocabularies();

    let mut group = c.benchmark_group("cache");
    group.measurement_time(Duration::from_secs(5));
    for vocab in &vocabs {
        let id = VocabId::of(vocab);
        let name = vocab.name.clone();
        let cache = ConstraintCache::new(CacheConfig { shards: 1, ..CacheConfig::default() });
        let started = Instant::now();
        let index = cache.vocab_index(vocab, id);
        eprintln!("cache bench: vocabulary index of {name} ({} tokens) built in {:?}", vocab.len(), started.elapsed());

        // A cache holding 64 entries, the looked-up one among them.
        for i in 0..63u128 {
            let key = CacheKey(i.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C834));
            cache.insert(key, Compiled::build(Arc::clone(&ir), Arc::clone(&index)).expect("builds"));
        }
        let (compiled, _) = cache.get_or_build(&ir, vocab, id).expect("builds");
        drop(compiled);
        let key = CacheKey::new(ir.hash, id);
        group.bench_function(BenchmarkId::new("hit", &name), |b| b.iter(|| black_box(cache.get(black_box(key)))));
        group.bench_function(BenchmarkId::new("hit_with_key", &name), |b| {
            b.iter(|| black_box(cache.get(CacheKey::new(black_box(ir.hash), black_box(id)))));
        });
        group.bench_function(BenchmarkId::new("hit_and_checker", &name), |b| {
            b.iter(|| black_box(cache.get(black_box(key)).map(|c| c.checker())));
        });
        group.bench_function(BenchmarkId::new("miss", &name), |b| {
            b.iter(|| black_box(cache.get(black_box(CacheKey(7)))));
        });
        // Uncached: braid's compile of the set and the checker build (the vocabulary index exists: it is built
        // once per model).
        group.bench_function(BenchmarkId::new("uncached_compile", &name), |b| {
            b.iter(|| {
                let ir = Arc::new(braid::compile(black_box(&set), &config()).expect("compiles"));
                black_box(Compiled::build(ir, Arc::clone(&index)).expect("builds"))
            });
        });
        group.bench_function(BenchmarkId::new("checker_build", &name), |b| {
            b.iter(|| black_box(Compiled::build(Arc::clone(&ir), Arc::clone(&index)).expect("builds")));
        });
    }
    group.finish();

    // Contention: every thread hits; 16 hot keys spread over the shards. Time per lookup per thread.
    let vocab = &vocabs[0];
    let id = VocabId::of(vocab);
    let mut group = c.benchmark_group("cache_contention");
    group.measurement_time(Duration::from_secs(4));
    for shards in [1usize, 4] {
        let cache = Arc::new(ConstraintCache::new(CacheConfig { shards, ..CacheConfig::default() }));
        let index = cache.vocab_index(vocab, id);
        let keys: Vec<CacheKey> =
            (1..=16u128).map(|i| CacheKey(i.wrapping_mul(0xD6E8_FEB8_6659_FD93_9E37_79B9))).collect();
        for &k in &keys {
            cache.insert(k, Compiled::build(Arc::clone(&ir), Arc::clone(&index)).expect("builds"));
        }
        for threads in [1usize, 2, 16] {
            group.bench_function(BenchmarkId::new(format!("shards_{shards}"), format!("threads_{threads}")), |b| {
                b.iter_custom(|iters| {
                    let started = Instant::now();
                    std::thread::scope(|scope| {
                        for t in 0..threads {
                            let (cache, keys) = (&cache, &keys);
                            scope.spawn(move || {
                                for i in 0..iters as usize {
                                    black_box(cache.get(keys[(i + t) % keys.len()]));
                                }
                            });
                        }
                    });
                    started.elapsed()
                });
            });
        }
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
