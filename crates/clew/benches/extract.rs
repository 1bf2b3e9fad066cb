//! Criterion benches for extraction: small, medium and large real Rust files (taken from the crates Cargo has
//! already downloaded for this workspace, so no network and nothing committed), per-file mining, and, when
//! `ANANKE_CORPUS` points at a directory (see scripts/fetch-corpora.sh), a whole corpus.
//!
//! Run: `cargo bench -p clew` (add `ANANKE_CORPUS=~/.cache/ananke/corpora/rust-nobindings` for the corpus).

use std::path::{Path, PathBuf};

use clew::{ExtractConfig, MineConfig, Source};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Real files of different sizes from crates in Cargo's registry cache, by (label, crate prefix, path in crate).
const CANDIDATES: [(&str, &str, &str); 3] = [
    ("small", "anyhow-1.", "src/context.rs"),
    ("medium", "serde_json-1.", "src/de.rs"),
    ("large", "syn-2.", "src/expr.rs"),
];

fn registry_dirs() -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry/src")) else { return Vec::new() };
    std::fs::read_dir(src).into_iter().flatten().flatten().map(|e| e.path()).collect()
}

fn find(prefix: &str, inner: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = registry_dirs()
        .into_iter()
        .flat_map(|index| std::fs::read_dir(index).into_iter().flatten().flatten())
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)))
        .map(|p| p.join(inner))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}

fn files() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (label, prefix, inner) in CANDIDATES {
        match find(prefix, inner) {
            Some(path) => out.push((label.to_owned(), std::fs::read(path).unwrap_or_default())),
            None => eprintln!("bench: {prefix}*/{inner} not in Cargo's registry cache; using this crate's own source"),
        }
    }
    if out.is_empty() {
        out.push(("own".to_owned(), include_bytes!("../src/rust/mod.rs").to_vec()));
    }
    out
}

fn per_file(c: &mut Criterion) {
    let config = ExtractConfig::default();
    let mut group = c.benchmark_group("extract_file");
    for (label, bytes) in files() {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new(label, bytes.len()), &bytes, |b, bytes| {
            b.iter(|| clew::extract_file("src/bench.rs", bytes, &config));
        });
    }
    group.finish();
}

fn mining(c: &mut Criterion) {
    let inputs = files();
    let extractions: Vec<_> = inputs
        .iter()
        .enumerate()
        .map(|(i, (_, bytes))| clew::extract_file(&format!("src/f{i}.rs"), bytes, &ExtractConfig::default()))
        .collect();
    c.bench_function("mine/3_files", |b| b.iter(|| clew::mine(extractions.clone(), &MineConfig::default())));
}

fn corpus(c: &mut Criterion) {
    let Some(root) = std::env::var_os("ANANKE_CORPUS") else { return };
    let mut sources = Vec::new();
    let walker = ignore::WalkBuilder::new(root).standard_filters(false).build();
    for entry in walker.flatten() {
        if entry.path().extension().is_some_and(|e| e == "rs")
            && let Ok(bytes) = std::fs::read(entry.path())
        {
            sources.push((entry.path().to_string_lossy().into_owned(), bytes));
        }
    }
    let total: u64 = sources.iter().map(|(_, b)| b.len() as u64).sum();
    let borrowed: Vec<Source<'_>> = sources.iter().map(|(p, b)| Source::new(p, b)).collect();
    let mut group = c.benchmark_group("corpus");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(total));
    group.bench_function(format!("extract_{}_files", borrowed.len()), |b| {
        b.iter(|| clew::extract(&borrowed, &ExtractConfig::default(), &MineConfig::default()));
    });
    group.finish();
}

criterion_group!(benches, per_file, mining, corpus);
criterion_main!(benches);
