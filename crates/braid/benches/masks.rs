//! Token-mask benchmarks: braid's Checker against llguidance used directly, in the same run, on the same grammar,
//! vocabulary and tokens (real token sequences of valid outputs).
//!
//! Grammars: (a) a Rust fn body with a fixed signature, naming regexes and 10 forbidden calls, (b) a TypeScript
//! function body with the same rules, (c) a JSON schema with 4 properties. Vocabularies: cl100k and o200k
//! (embedded), Llama-3.1 (`tokenizer.json` from `scripts/fetch-tokenizers.sh`; skipped with a message when absent).
//!
//! Two parts:
//! - criterion groups `masks/<grammar>/<vocab>` with `braid` and `llguidance`: one cold walk of the whole sample
//!   (a fresh checker or parser per iteration, so every mask is computed from scratch at least once);
//! - a table of per-token percentiles (p50/p90/p99/max), compile times and the mean ratio, printed at the end and
//!   written to `$ANANKE_MASK_TABLE` when set. Each walk is repeated `REPEATS` times with fresh state; "warm" walks
//!   the sample again through the same compiled checker (the serving case: maze keeps compiled grammars).

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[path = "../tests/ruleset/mod.rs"]
mod ruleset;

use ananke_core::{ConstraintSet, Language, Rule};
use braid::{BodyOptions, Checker, CompileConfig, ConstraintIR, MaskTimes, Target, Tiktoken, VocabIndex, Vocabulary};
use criterion::{Criterion, criterion_group};
use ruleset::user;

const REPEATS: usize = 5;

const RUST_HEADER: &str = "pub fn parse_port(text: &str) -> Result<u16, String>";
const RUST_BODY: &str = r#"{
    // Accept "host:port" or a bare port number; reject anything else with a message.
    let trimmed_text = text.trim();
    let digits = match trimmed_text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => port,
        Some((_, _)) => return Err(format!("missing host in {:?}", text)),
        None => trimmed_text,
    };
    if digits.is_empty() || digits.len() > 5 {
        return Err(format!("bad port length in {:?}", text));
    }
    let mut value: u32 = 0;
    for (index, ch) in digits.chars().enumerate() {
        let digit = ch.to_digit(10).ok_or_else(|| format!("not a digit at {}: {:?}", index, ch))?;
        value = value * 10 + digit;
    }
    if value == 0 {
        return Err("port 0 is reserved".to_owned());
    }
    u16::try_from(value).map_err(|err| format!("port {} out of range: {}", value, err))
}"#;
const TS_HEADER: &str = "export function summarize(orders: Order[], currency: string): Summary";
const TS_BODY: &str = r"{
  let total_amount = 0;
  let largest_order: Order | undefined = undefined;
  const by_customer = new Map<string, number>();
  for (const order of orders) {
    if (order.currency !== currency) {
      continue; // other currencies are reported separately
    }
    total_amount += order.amount;
    const previous = by_customer.get(order.customer) ?? 0;
    by_customer.set(order.customer, previous + order.amount);
    if (largest_order === undefined || order.amount > largest_order.amount) {
      largest_order = order;
    }
  }
  const average = orders.length === 0 ? 0 : total_amount / orders.length;
  return { total: total_amount, average: average, largest: largest_order, customers: by_customer.size };
}";
const JSON_SAMPLE: &str =
    r#"{"name": "billing-api", "port": 8443, "tags": ["payments", "internal", "eu-west-1"], "enabled": true}"#;

struct Case {
    grammar: &'static str,
    ir: ConstraintIR,
    text: String,
}

fn cases() -> Vec<Case> {
    let rust = braid::compile(
        &ruleset::rules(),
        &CompileConfig::new(Language::Rust, Target::FnBody { signature: RUST_HEADER.into() }),
    )
    .expect("compiles");
    let ts = braid::compile(
        &ruleset::rules(),
        &CompileConfig::new(Language::TypeScript, Target::FnBody { signature: TS_HEADER.into() }),
    )
    .expect("compiles");
    let mut schema = ConstraintSet::new();
    schema.insert(user(Rule::JsonSchema {
        schema: serde_json::json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "tags": {"type": "array", "items": {"type": "string"}},
                "enabled": {"type": "boolean"}
            },
            "required": ["name", "port", "tags", "enabled"],
            "additionalProperties": false
        }),
    }));
    let json = braid::compile(&schema, &CompileConfig::new(Language::Rust, Target::Json)).expect("compiles");
    let rust_syntax = braid::compile(
        &ruleset::rules(),
        &CompileConfig::new(Language::Rust, Target::FnBody { signature: RUST_HEADER.into() })
            .with_body(BodyOptions::syntax()),
    )
    .expect("compiles");
    let all = vec![
        Case { grammar: "rust-fn-body", ir: rust, text: format!("{RUST_HEADER} {RUST_BODY}") },
        Case { grammar: "rust-syntax", ir: rust_syntax, text: format!("{RUST_HEADER} {RUST_BODY}") },
        Case { grammar: "ts-fn-body", ir: ts, text: format!("{TS_HEADER} {TS_BODY}") },
        Case { grammar: "json-4-props", ir: json, text: JSON_SAMPLE.to_owned() },
    ];
    // `ANANKE_MASK_CASES=rust-syntax,json-4-props` runs some of them.
    match std::env::var("ANANKE_MASK_CASES") {
        Ok(only) => all.into_iter().filter(|c| only.split(',').any(|o| o == c.grammar)).collect(),
        Err(_) => all,
    }
}

fn vocabularies() -> Vec<(&'static str, Arc<VocabIndex>)> {
    let mut out = vec![
        ("cl100k", VocabIndex::new(Vocabulary::tiktoken(Tiktoken::Cl100k))),
        ("o200k", VocabIndex::new(Vocabulary::tiktoken(Tiktoken::O200k))),
    ];
    let cache = std::env::var_os("ANANKE_CACHE").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ananke"),
        PathBuf::from,
    );
    let path = cache.join("tokenizers/llama3_1/tokenizer.json");
    match std::fs::read(&path) {
        Ok(bytes) => out.push((
            "llama3.1",
            VocabIndex::new(Vocabulary::from_tokenizer_json(&bytes).expect("reads tokenizer.json")),
        )),
        Err(_) => eprintln!("masks: llama3.1 skipped: {} is absent (run scripts/fetch-tokenizers.sh)", path.display()),
    }
    // `ANANKE_MASK_VOCABS=cl100k,o200k` runs some of them.
    match std::env::var("ANANKE_MASK_VOCABS") {
        Ok(only) => out.into_iter().filter(|(n, _)| only.split(',').any(|o| o == *n)).collect(),
        Err(_) => out,
    }
}

/// Times of several walks, pooled.
fn pooled(walks: &[MaskTimes], raw: &[Vec<u64>]) -> MaskTimes {
    let all: Vec<u64> = raw.iter().flatten().copied().collect();
    let ok = walks.iter().all(|w| w.all_allowed);
    MaskTimes::from_nanos(all, ok, walks.iter().all(|w| w.accepting), None)
}

/// Walks the tokens through a checker, returning per-mask nanoseconds too.
fn walk(checker: &mut Checker, tokens: &[u32]) -> (MaskTimes, Vec<u64>) {
    let mut times = Vec::with_capacity(tokens.len());
    let mut ok = true;
    for &t in tokens {
        let start = Instant::now();
        let allowed = checker.compute_mask().expect("mask").is_allowed(t);
        times.push(start.elapsed().as_nanos() as u64);
        if !allowed {
            ok = false;
            break;
        }
        checker.commit(t).expect("commit");
    }
    (MaskTimes::from_nanos(times.clone(), ok, checker.is_accepting(), None), times)
}

fn walk_llguidance(index: &Arc<VocabIndex>, lark: &str, tokens: &[u32]) -> (f64, MaskTimes, Vec<u64>) {
    let mut factory = llguidance::ParserFactory::new_simple(index.tok_env()).expect("factory");
    factory.quiet();
    let start = Instant::now();
    let parser = factory.create_parser(llguidance::api::TopLevelGrammar::from_lark(lark.to_owned())).expect("parser");
    let mut m = llguidance::Matcher::new(Ok(parser));
    let compile_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut times = Vec::with_capacity(tokens.len());
    let mut ok = true;
    for &t in tokens {
        let start = Instant::now();
        let allowed = m.compute_mask().is_ok_and(|mask| mask.is_allowed(t));
        times.push(start.elapsed().as_nanos() as u64);
        if !allowed || m.consume_token(t).is_err() {
            ok = false;
            break;
        }
    }
    let accepting = m.is_accepting().unwrap_or(false);
    (compile_ms, MaskTimes::from_nanos(times.clone(), ok, accepting, None), times)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

fn row(grammar: &str, vocab: &str, engine: &str, compile_ms: f64, t: &MaskTimes, ratio: Option<f64>) -> String {
    format!(
        "| {grammar} | {vocab} | {engine} | {compile_ms:.2} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |",
        t.mean_us,
        t.p50_us,
        t.p90_us,
        t.p99_us,
        t.max_us,
        ratio.map_or_else(String::new, |r| format!("{r:.3}")),
        if t.all_allowed { "yes" } else { "NO" },
    )
}

fn table(vocabs: &[(&'static str, Arc<VocabIndex>)], cases: &[Case]) -> String {
    let mut lines = vec![
        "| grammar | vocab | engine | compile ms | mean µs | p50 µs | p90 µs | p99 µs | max µs | ratio_mean | all allowed |"
            .to_owned(),
        "|---|---|---|---|---|---|---|---|---|---|---|".to_owned(),
    ];
    for case in cases {
        let lark = &case.ir.grammar.as_ref().expect("a grammar").lark;
        for (vname, index) in vocabs {
            let tokens = index.encode(&case.text);
            let (mut ours, mut ours_raw, mut warm, mut warm_raw, mut theirs, mut theirs_raw) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let (mut compile_ours, mut compile_theirs) = (Vec::new(), Vec::new());
            // The syntax layer's walks are memoized per vocabulary (they do not depend on the constraints): its
            // first walk of a process is timed on a fresh index too.
            let (mut first, mut first_raw, mut compile_first) = (Vec::new(), Vec::new(), Vec::new());
            let syntax = Checker::new(&case.ir, index).expect("checker").engine() == "braid-syntax";
            for _ in 0..REPEATS {
                if syntax {
                    let fresh = VocabIndex::new(index.vocabulary().clone());
                    let start = Instant::now();
                    let mut checker = Checker::new(&case.ir, &fresh).expect("checker");
                    compile_first.push(start.elapsed().as_secs_f64() * 1e3);
                    let (t, raw) = walk(&mut checker, &tokens);
                    first.push(t);
                    first_raw.push(raw);
                }
                let start = Instant::now();
                let mut checker = Checker::new(&case.ir, index).expect("checker");
                compile_ours.push(start.elapsed().as_secs_f64() * 1e3);
                let (t, raw) = walk(&mut checker, &tokens);
                ours.push(t);
                ours_raw.push(raw);
                checker.reset().expect("reset");
                let (t, raw) = walk(&mut checker, &tokens);
                warm.push(t);
                warm_raw.push(raw);
                let (ms, t, raw) = walk_llguidance(index, lark, &tokens);
                compile_theirs.push(ms);
                theirs.push(t);
                theirs_raw.push(raw);
            }
            let engine = Checker::new(&case.ir, index).expect("checker").engine();
            let ours = pooled(&ours, &ours_raw);
            let warm = pooled(&warm, &warm_raw);
            let theirs = pooled(&theirs, &theirs_raw);
            let ratio = ours.mean_us / theirs.mean_us;
            let label = format!("{} ({} tokens)", case.grammar, tokens.len());
            if syntax {
                let first = pooled(&first, &first_raw);
                lines.push(row(
                    &label,
                    vname,
                    &format!("braid [{engine}] first"),
                    median(compile_first),
                    &first,
                    Some(first.mean_us / theirs.mean_us),
                ));
            }
            lines.push(row(
                &label,
                vname,
                &format!("braid [{engine}] cold"),
                median(compile_ours.clone()),
                &ours,
                Some(ratio),
            ));
            lines.push(row(
                &label,
                vname,
                &format!("braid [{engine}] warm"),
                median(compile_ours),
                &warm,
                Some(warm.mean_us / theirs.mean_us),
            ));
            lines.push(row(&label, vname, "llguidance 1.9.1", median(compile_theirs), &theirs, None));
        }
    }
    lines.join("\n")
}

fn masks(c: &mut Criterion) {
    let vocabs = vocabularies();
    let cases = cases();
    for case in &cases {
        let lark = &case.ir.grammar.as_ref().expect("a grammar").lark;
        for (vname, index) in &vocabs {
            let tokens = index.encode(&case.text);
            let mut group = c.benchmark_group(format!("masks/{}/{vname}", case.grammar));
            group.sample_size(10);
            group.bench_function("braid", |b| {
                b.iter(|| {
                    let mut checker = Checker::new(&case.ir, index).expect("checker");
                    black_box(walk(&mut checker, &tokens));
                });
            });
            group.bench_function("llguidance", |b| {
                b.iter(|| black_box(walk_llguidance(index, lark, &tokens)));
            });
            group.finish();
        }
    }
}

criterion_group!(benches, masks);

fn main() {
    let filter_table = std::env::args().any(|a| a == "--table-only");
    if !filter_table {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    let vocabs = vocabularies();
    let cases = cases();
    let text = table(&vocabs, &cases);
    println!("\n{text}");
    if let Ok(path) = std::env::var("ANANKE_MASK_TABLE")
        && let Err(e) = std::fs::write(&path, format!("{text}\n"))
    {
        eprintln!("masks: cannot write {path}: {e}");
    }
}
