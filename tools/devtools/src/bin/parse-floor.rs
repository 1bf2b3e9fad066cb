//! Measures, in one process and one run, MB per CPU-second of (1) tree-sitter-rust parsing alone and (2) clew's
//! full extraction, single-threaded over the same in-memory files, so their ratio is meaningful on a noisy machine.
//!
//! Usage: `cargo run --release -p ananke-devtools --bin parse-floor -- DIR [ROUNDS] [parse|extract|both]`
//!
//! With `parse` or `extract` only that pass runs, so that the whole process can be timed next to other tools
//! (scripts/bench-peers.sh --tool).

use std::process::ExitCode;

use ananke_devtools::{cpu_seconds, rust_files};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(root) = args.next() else {
        eprintln!("usage: parse-floor DIR [ROUNDS]");
        return ExitCode::from(2);
    };
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(3);
    let mode = args.next().unwrap_or_else(|| "both".to_owned());
    let (do_parse, do_extract) = match mode.as_str() {
        "parse" => (true, false),
        "extract" => (false, true),
        "both" => (true, true),
        other => {
            eprintln!("unknown mode {other:?}: expected parse, extract or both");
            return ExitCode::from(2);
        }
    };
    let sources: Vec<(String, Vec<u8>)> = rust_files(std::path::Path::new(&root))
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p.to_string_lossy().into_owned(), b)))
        .collect();
    let megabytes = sources.iter().map(|(_, b)| b.len()).sum::<usize>() as f64 / 1e6;
    println!("{} files, {megabytes:.1} MB, {rounds} rounds each (median reported)", sources.len());

    let mut parser = tree_sitter::Parser::new();
    if parser.set_language(&tree_sitter_rust::LANGUAGE.into()).is_err() {
        eprintln!("tree-sitter-rust does not match tree-sitter");
        return ExitCode::FAILURE;
    }
    let mut parse = Vec::new();
    let mut extract = Vec::new();
    let config = clew::ExtractConfig::default();
    for _ in 0..rounds {
        if do_parse {
            let start = cpu_seconds();
            let mut nodes = 0usize;
            for (_, bytes) in &sources {
                if let Some(tree) = parser.parse(bytes, None) {
                    nodes += tree.root_node().child_count() as usize;
                }
            }
            parse.push(cpu_seconds() - start);
            std::hint::black_box(nodes);
        }
        if do_extract {
            let start = cpu_seconds();
            let mut signatures = 0usize;
            for (path, bytes) in &sources {
                signatures += clew::extract_file(path, bytes, &config).signatures.len();
            }
            extract.push(cpu_seconds() - start);
            std::hint::black_box(signatures);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let (p, e) = (median(&mut parse), median(&mut extract));
    if let Some(p) = p {
        println!("tree-sitter parse only:  {p:.2} CPU-s  {:.2} MB/CPU-s", megabytes / p);
    }
    if let Some(e) = e {
        println!("clew full extraction:    {e:.2} CPU-s  {:.2} MB/CPU-s", megabytes / e);
    }
    if let (Some(p), Some(e)) = (p, e) {
        println!("ratio extraction/parse-floor (throughput): {:.3}", p / e);
    }
    ExitCode::SUCCESS
}
