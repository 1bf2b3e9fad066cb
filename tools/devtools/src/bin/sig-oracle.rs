//! Counts function signatures in Rust files with syn, a full Rust parser independent of tree-sitter, and compares
//! the count with clew's `Signature` constraints (before de-duplication) on the same files.
//!
//! Usage: `cargo run --release -p ananke-devtools --bin sig-oracle -- DIR`
//!
//! syn counts `ItemFn`, `ImplItemFn`, `TraitItemFn` and `ForeignItemFn`, nested ones too (functions inside
//! function bodies, modules, impls, traits). Files syn cannot parse are listed and left out of both counts, so the
//! comparison is over the same files.

use std::process::ExitCode;

use syn::visit::Visit;

#[derive(Default)]
struct Counter {
    functions: usize,
}

impl<'ast> Visit<'ast> for Counter {
    fn visit_item_fn(&mut self, node: &'ast syn::ItemFn) {
        self.functions += 1;
        syn::visit::visit_item_fn(self, node);
    }

    fn visit_impl_item_fn(&mut self, node: &'ast syn::ImplItemFn) {
        self.functions += 1;
        syn::visit::visit_impl_item_fn(self, node);
    }

    fn visit_trait_item_fn(&mut self, node: &'ast syn::TraitItemFn) {
        self.functions += 1;
        syn::visit::visit_trait_item_fn(self, node);
    }

    fn visit_foreign_item_fn(&mut self, node: &'ast syn::ForeignItemFn) {
        self.functions += 1;
        syn::visit::visit_foreign_item_fn(self, node);
    }
}

fn main() -> ExitCode {
    let Some(root) = std::env::args_os().nth(1) else {
        eprintln!("usage: sig-oracle DIR");
        return ExitCode::from(2);
    };
    let files = ananke_devtools::rust_files(std::path::Path::new(&root));
    let (mut syn_total, mut clew_total, mut clew_unique) = (0usize, 0usize, 0usize);
    let mut unparsable = Vec::new();
    let mut per_file_mismatches = Vec::new();
    let mut extractions = Vec::new();
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else { continue };
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        let display = path.to_string_lossy().into_owned();
        let file = match syn::parse_file(text) {
            Ok(file) => file,
            Err(err) => {
                unparsable.push(format!("{display}: {err}"));
                continue;
            }
        };
        let mut counter = Counter::default();
        counter.visit_file(&file);
        let extraction = clew::extract_file(&display, &bytes, &clew::ExtractConfig::default());
        let ours = extraction.signatures.len();
        if ours != counter.functions {
            per_file_mismatches.push((display, counter.functions, ours));
        }
        syn_total += counter.functions;
        clew_total += ours;
        extractions.push(extraction);
    }
    let config = clew::MineConfig { shapes: false, ..clew::MineConfig::default() };
    let set = clew::mine(extractions, &config);
    clew_unique += set.of_type(ananke_core::RuleType::Signature).count();

    per_file_mismatches.sort_by_key(|(_, a, b)| std::cmp::Reverse(a.abs_diff(*b)));
    println!("files: {} ({} not parsable by syn, left out)", files.len(), unparsable.len());
    for line in unparsable.iter().take(30) {
        println!("  syn: {line}");
    }
    println!("syn functions:                 {syn_total}");
    println!("clew signatures:               {clew_total}");
    println!("clew Signature constraints:    {clew_unique} (after merging identical symbol+signature)");
    let diff = |a: usize| (a as f64 - syn_total as f64) / syn_total.max(1) as f64 * 100.0;
    println!("difference (signatures):       {:+.3}%", diff(clew_total));
    println!("difference (constraints):      {:+.3}%", diff(clew_unique));
    println!("files whose counts differ:     {}", per_file_mismatches.len());
    for (file, syn_count, ours) in per_file_mismatches.iter().take(15) {
        println!("  {file}: syn {syn_count}, clew {ours}");
    }
    if diff(clew_unique).abs() <= 2.0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
