//! `ananke mask-stats`: walk a sample's tokens through braid's token-level Checker and report the cost of each
//! mask (and, with `--compare llguidance`, llguidance's on the same grammar, vocabulary and tokens, in the same
//! run). Exit 1 when a token of the sample is not allowed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use ananke::braid::{self, Checker, ConstraintIR, MaskTimes, Tiktoken, VocabIndex, Vocabulary};
use anyhow::{Context, bail};

/// Which engine to compare with.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// llguidance used directly (default limits) on the same Lark grammar.
    Llguidance,
}

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Lines for people.
    Text,
    /// One JSON object.
    Json,
}

/// Arguments of `ananke mask-stats`.
#[derive(clap::Args, Debug)]
pub struct MaskStatsArgs {
    /// A compiled IR (JSON from `ananke compile`).
    #[arg(long, conflicts_with = "lark", required_unless_present = "lark")]
    pub ir: Option<PathBuf>,
    /// A Lark grammar (llguidance's dialect), run by llguidance inside the Checker.
    #[arg(long)]
    pub lark: Option<PathBuf>,
    /// The vocabulary: `cl100k`, `o200k`, a HF `tokenizer.json`, or a `.gguf` model file.
    #[arg(long)]
    pub vocab: String,
    /// The sample: a file holding a valid output (for a fn-body IR, the whole function), or `-` for stdin.
    #[arg(long)]
    pub text: PathBuf,
    /// Also time another engine on the same grammar, vocabulary and tokens.
    #[arg(long, value_enum)]
    pub compare: Option<Peer>,
    /// Walk the sample twice through one compiled grammar and report the second walk (the serving case).
    #[arg(long)]
    pub warm: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).context("reading stdin")?;
        return Ok(bytes);
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn vocabulary(spec: &str) -> anyhow::Result<Vocabulary> {
    match spec {
        "cl100k" | "cl100k_base" => Ok(Vocabulary::tiktoken(Tiktoken::Cl100k)),
        "o200k" | "o200k_base" => Ok(Vocabulary::tiktoken(Tiktoken::O200k)),
        path => {
            let bytes = read(Path::new(path))?;
            let vocab = if Path::new(path).extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) {
                Vocabulary::from_gguf(&bytes)
            } else {
                Vocabulary::from_tokenizer_json(&bytes)
            };
            vocab.with_context(|| format!("reading the vocabulary in {path}"))
        }
    }
}

fn json_of(t: &MaskTimes, compile_ms: f64) -> serde_json::Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.insert("compile_ms".to_owned(), serde_json::json!(compile_ms));
    }
    v
}

fn line(name: &str, compile_ms: f64, t: &MaskTimes) -> String {
    format!(
        "{name}: compile {compile_ms:.2} ms; {} tokens; mask µs: mean {:.1}, p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}; \
         all allowed: {}; accepting at the end: {}",
        t.tokens,
        t.mean_us,
        t.p50_us,
        t.p90_us,
        t.p99_us,
        t.max_us,
        if t.all_allowed { "yes" } else { "no" },
        if t.accepting { "yes" } else { "no" },
    )
}

/// Runs `ananke mask-stats`. Exit 0 when every token of the sample was allowed, 1 otherwise.
pub fn run(args: &MaskStatsArgs) -> anyhow::Result<ExitCode> {
    let sample = String::from_utf8(read(&args.text)?).context("the sample is not UTF-8")?;
    let vocab = vocabulary(&args.vocab)?;
    let index: Arc<VocabIndex> = VocabIndex::new(vocab);
    let (ir, lark): (Option<ConstraintIR>, String) = match (&args.ir, &args.lark) {
        (Some(path), _) => {
            let text = String::from_utf8(read(path)?).context("the IR is not UTF-8")?;
            let ir = ConstraintIR::from_json(&text).with_context(|| format!("reading {}", path.display()))?;
            let Some(lark) = ir.grammar.as_ref().map(|g| g.lark.clone()) else { bail!("the IR has no grammar") };
            (Some(ir), lark)
        }
        (None, Some(path)) => (None, String::from_utf8(read(path)?).context("the grammar is not UTF-8")?),
        (None, None) => bail!("give --ir or --lark"),
    };
    let tokens = index.encode(&sample);

    let start = Instant::now();
    let mut checker = match &ir {
        Some(ir) => Checker::new(ir, &index),
        None => Checker::from_lark(&lark, &index),
    }
    .context("building the checker")?;
    let compile_ms = start.elapsed().as_secs_f64() * 1e3;
    if args.warm {
        braid::time_checker(&mut checker, &index, &tokens).context("walking the sample")?;
        checker.reset().context("resetting the checker")?;
    }
    let ours = braid::time_checker(&mut checker, &index, &tokens).context("walking the sample")?;
    let peer = match args.compare {
        Some(Peer::Llguidance) => {
            Some(braid::time_llguidance(&lark, &index, &tokens, args.warm).context("running llguidance")?)
        }
        None => None,
    };

    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let mut doc = json_of(&ours, compile_ms);
            if let Some(map) = doc.as_object_mut() {
                map.insert("engine".to_owned(), serde_json::json!(checker.engine()));
                map.insert("vocab".to_owned(), serde_json::json!(index.vocabulary().name));
                map.insert("vocab_size".to_owned(), serde_json::json!(index.len()));
                map.insert("warm".to_owned(), serde_json::json!(args.warm));
                if let Some(states) = checker.automaton_states() {
                    map.insert("automaton_states".to_owned(), serde_json::json!(states));
                }
                if let Some(p) = &peer {
                    let mut theirs = json_of(&p.times, p.compile_ms);
                    if let Some(t) = theirs.as_object_mut() {
                        let ratio = if p.times.mean_us > 0.0 { ours.mean_us / p.times.mean_us } else { 0.0 };
                        t.insert("ratio_mean".to_owned(), serde_json::json!(ratio));
                    }
                    map.insert("llguidance".to_owned(), theirs);
                }
            }
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Text => {
            let states = checker.automaton_states().map_or_else(String::new, |n| format!(", {n} automaton states"));
            writeln!(
                out,
                "engine: {}{states}; vocabulary: {} ({} tokens){}",
                checker.engine(),
                index.vocabulary().name,
                index.len(),
                if args.warm { "; warm walk (second pass through one compiled grammar)" } else { "" }
            )?;
            writeln!(out, "{}", line("braid", compile_ms, &ours))?;
            if let Some(r) = &ours.refused {
                writeln!(out, "  token {} ({:?}) not allowed: {}", r.index, r.text, r.reason)?;
            }
            if let Some(p) = &peer {
                writeln!(out, "{}", line("llguidance", p.compile_ms, &p.times))?;
                if let Some(r) = &p.times.refused {
                    writeln!(out, "  llguidance refused token {} ({:?}): {}", r.index, r.text, r.reason)?;
                }
                if p.times.mean_us > 0.0 {
                    writeln!(out, "ratio_mean (braid / llguidance): {:.3}", ours.mean_us / p.times.mean_us)?;
                }
            }
        }
    }
    Ok(if ours.all_allowed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
