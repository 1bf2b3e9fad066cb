//! `ananke generate`: generate code under constraints with a local model or an OpenAI-compatible server, check it,
//! repair it, and report how every constraint was enforced; one prompt, or a JSONL batch with a concurrency limit.

use std::io::{BufRead, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ananke::braid::{BodyOptions, CompileConfig, Context as CompileContext, Identifiers, Target};
use ananke::core::{ConstraintSet, Language};
use ananke::maze::{
    Backend, CacheConfig, ConstraintCache, GenerateRequest, Outcome, Pipeline, Prompt, Sampling, Task, TokenEvent,
};
use anyhow::{Context, bail};
use serde_json::json;

use crate::config;
use crate::walk::{self, WalkOptions};

/// What `--target` accepts.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// Free text: no grammar (the output is still checked when constraints are given).
    Text,
    /// The body of one function whose signature is fixed (`--signature`).
    FnBody,
    /// One whole item (a Rust fn item).
    Item,
    /// A JSON value shaped by the set's JSON schemas.
    Json,
}

/// Which backend generates.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// The embedded GGUF model, run in process (default: SmolLM2-135M-Instruct from scripts/fetch-model.sh).
    Local,
    /// An OpenAI-compatible server (vLLM, SGLang, llama.cpp) at `--url`.
    Openai,
}

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The code on stdout, the report on stderr.
    Text,
    /// One JSON document (JSON lines in batch mode).
    Json,
}

/// Where the model comes from and how it is sampled: shared by `generate` and `fill`.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// The backend.
    #[arg(long, value_enum, default_value = "local")]
    pub backend: BackendKind,
    /// The local model (a llama-architecture GGUF file); default `$ANANKE_MODEL` or the fetched SmolLM2.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// The server's API root for `--backend openai`, e.g. `http://127.0.0.1:8000/v1`.
    #[arg(long)]
    pub url: Option<String>,
    /// The model name the server serves.
    #[arg(long, default_value = "default")]
    pub model_name: String,
    /// The kind of server, which decides how the grammar is sent: vllm, vllm-legacy, sglang, llama.cpp, openai.
    #[arg(long, default_value = "vllm")]
    pub flavor: String,
    /// At most this many new tokens per attempt (a fn body's forced header included).
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u32,
    /// The sampling seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Nucleus sampling.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    /// The repetition penalty (DRY): a token that would continue a run of twelve or more tokens repeated from
    /// earlier in the output loses `dry × 1.75^(run − 12)` from its logit (local backend only). 0 turns it off.
    #[arg(long, default_value_t = Sampling::DRY_DEFAULT)]
    pub dry: f32,
    /// Attempts after the first when the output breaks a checked constraint.
    #[arg(long, default_value_t = 2)]
    pub max_repairs: u32,
    /// How repairs are drawn: `branch` takes turns of greedy drafts from the 2nd, 3rd... most likely first token
    /// of the body, resampled ones, and forks of the first draft (kept up to where the model was least sure before
    /// the first located error, the runner-up token written there); `resample` draws a new candidate from the original prompt each time (at
    /// `--repair-temperature`, nucleus 0.95, seed plus the attempt's number); `revise` rewrites the last draft
    /// with its problems as notes in the prompt, resuming where `--verify` located the first one.
    #[arg(long, value_enum, default_value = "branch")]
    pub repair: RepairKind,
    /// The temperature of resampled repairs when decoding is greedy (`--temperature 0`).
    #[arg(long, default_value_t = 0.5)]
    pub repair_temperature: f32,
}

/// How repair attempts are drawn (see `ModelArgs::repair`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepairKind {
    /// Greedy drafts from other first tokens, new draws and forks of the first draft, in turn.
    Branch,
    /// A new draw from the original prompt each time.
    Resample,
    /// A revision of the last draft, with its problems in the prompt.
    Revise,
}

/// The enforcement layers of fn-body generation, all on by default; each switch turns one off for comparison
/// (`benches/quality` measures them). Shared by `generate` and `fill`.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct LayerArgs {
    /// No token-level enforcement at all: generate freely, then check (the baseline to compare with).
    #[arg(long)]
    pub unconstrained: bool,
    /// Only balanced braces and bans in a fn body, not braid's grammar of Rust statements and expressions (turns
    /// off the budget and identifier layers too, which need it).
    #[arg(long)]
    pub no_syntax: bool,
    /// Do not bound the body to `--max-tokens` (it may then be cut off unfinished at the budget).
    #[arg(long)]
    pub no_budget: bool,
    /// Let calls, paths and members name anything (not only what exists in the project and std).
    #[arg(long)]
    pub no_identifiers: bool,
}

impl LayerArgs {
    /// The layers these switches leave on.
    pub fn layers(&self) -> ananke::maze::holes::Layers {
        ananke::maze::holes::Layers {
            token_level: !self.unconstrained,
            syntax: !self.no_syntax,
            budget: !self.no_syntax && !self.no_budget,
            identifiers: !self.no_syntax && !self.no_identifiers,
        }
    }
}

impl ModelArgs {
    /// The repair strategy these arguments ask for.
    pub fn repair(&self) -> ananke::maze::Repair {
        match self.repair {
            RepairKind::Resample => {
                ananke::maze::Repair::Resample { temperature: self.repair_temperature, top_p: 0.95 }
            }
            RepairKind::Branch => ananke::maze::Repair::Branch { temperature: self.repair_temperature, top_p: 0.95 },
            RepairKind::Revise => ananke::maze::Repair::Revise,
        }
    }

    fn sampling(&self) -> Sampling {
        Sampling { temperature: self.temperature, top_p: self.top_p, seed: self.seed, dry: self.dry }
    }
}

/// Arguments of `ananke generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// What to ask for (a user message; with `--raw`, text the model continues).
    #[arg(long, required_unless_present = "batch")]
    pub prompt: Option<String>,
    /// Prompts from a JSONL file, one object per line: `{"prompt": "...", "signature"?: "...", "max_tokens"?: N,
    /// "seed"?: N, "id"?: any}`. Results are JSON lines in input order.
    #[arg(long, conflicts_with = "prompt", value_name = "FILE")]
    pub batch: Option<PathBuf>,
    /// In batch mode, generations run at once (each local worker loads its own copy of the model).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub concurrency: usize,
    /// Constraint sets (JSON from `ananke extract`).
    #[arg(long, value_name = "SET.json")]
    pub constraints: Vec<PathBuf>,
    /// Extract constraints from these files or directories.
    #[arg(long, value_name = "PATH")]
    pub from: Vec<PathBuf>,
    /// The ananke.toml to use (default: found from the working directory up).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Do not read ananke.toml.
    #[arg(long)]
    pub no_config: bool,
    /// What to generate (default: fn-body with `--signature`, item with constraints, text otherwise).
    #[arg(long, value_enum)]
    pub target: Option<TargetKind>,
    /// For fn-body: a full header (`pub fn parse(s: &str) -> u8`) or the name of a function in the constraints.
    #[arg(long)]
    pub signature: Option<String>,
    /// The language of the generated code.
    #[arg(long, default_value = "rust")]
    pub language: String,
    /// Send the prompt as raw text to continue, not as a chat message.
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub layers: LayerArgs,
    /// Print the output as it is generated (to stderr when the format is JSON).
    #[arg(long)]
    pub stream: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the results here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Do not show a progress bar in batch mode.
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Loads the backend the arguments name.
pub fn backend(args: &ModelArgs, stream: bool) -> anyhow::Result<Box<dyn Backend>> {
    match args.backend {
        BackendKind::Local => local_backend(args),
        BackendKind::Openai => openai_backend(args, stream),
    }
}

#[cfg(feature = "local")]
fn local_backend(args: &ModelArgs) -> anyhow::Result<Box<dyn Backend>> {
    let mut config = ananke::maze::LocalConfig::new();
    config.model.clone_from(&args.model);
    let backend = ananke::maze::LocalBackend::load(&config)?;
    Ok(Box::new(backend))
}

#[cfg(not(feature = "local"))]
fn local_backend(_: &ModelArgs) -> anyhow::Result<Box<dyn Backend>> {
    bail!("this ananke was built without the `local` feature: use --backend openai --url ...")
}

#[cfg(feature = "openai")]
fn openai_backend(args: &ModelArgs, stream: bool) -> anyhow::Result<Box<dyn Backend>> {
    let Some(url) = &args.url else { bail!("--backend openai needs --url (e.g. http://127.0.0.1:8000/v1)") };
    let mut config = ananke::maze::OpenAiConfig::new(url.clone(), args.model_name.clone());
    config.flavor = args.flavor.parse().map_err(anyhow::Error::msg)?;
    config.stream = stream;
    config.api_key = std::env::var("ANANKE_API_KEY").ok().filter(|k| !k.is_empty());
    Ok(Box::new(ananke::maze::OpenAiBackend::new(config)?))
}

#[cfg(not(feature = "openai"))]
fn openai_backend(_: &ModelArgs, _: bool) -> anyhow::Result<Box<dyn Backend>> {
    bail!("this ananke was built without the `openai` feature")
}

/// The constraints from ananke.toml (unless disabled), constraint-set files, and extraction of paths.
pub fn load_constraints(
    sets: &[PathBuf],
    from: &[PathBuf],
    config_path: Option<&Path>,
    no_config: bool,
    config_start: &Path,
) -> anyhow::Result<ConstraintSet> {
    let mut set = ConstraintSet::new();
    if !no_config {
        let path = match config_path {
            Some(p) => Some(p.to_path_buf()),
            None => config::find(config_start),
        };
        if let Some(path) = path {
            set.extend(config::load(&path)?.constraints);
        }
    }
    for path in sets {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let loaded = ConstraintSet::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        for c in &loaded {
            set.insert(c.clone());
        }
    }
    if !from.is_empty() {
        set.extend(extract(from, None)?);
    }
    Ok(set)
}

/// Extracts and mines the source files under `paths`, each named as the walk shows it, or relative to `base` when
/// given (so that a project's files are named the same whatever directory the command runs from).
pub fn extract(paths: &[PathBuf], base: Option<&Path>) -> anyhow::Result<ConstraintSet> {
    Ok(extract_files(paths, base)?.0)
}

/// Files read for extraction: `(name, bytes)`.
pub type SourceFiles = Vec<(String, Vec<u8>)>;

/// [`extract`], and the files it read, for callers that need the sources too.
pub fn extract_files(paths: &[PathBuf], base: Option<&Path>) -> anyhow::Result<(ConstraintSet, SourceFiles)> {
    let (found, _problems) = walk::files(paths, &WalkOptions::default())?;
    let name = |f: &walk::Found| match base.and_then(|b| f.path.strip_prefix(b).ok()) {
        Some(rel) => rel.to_string_lossy().replace('\\', "/"),
        None => f.display.clone(),
    };
    let files: SourceFiles = found.iter().filter_map(|f| std::fs::read(&f.path).ok().map(|b| (name(f), b))).collect();
    let sources: Vec<ananke::clew::Source<'_>> = files.iter().map(|(p, b)| ananke::clew::Source::new(p, b)).collect();
    let set = ananke::extract_sources(&sources);
    Ok((set, files))
}

/// One generation's parameters (from the arguments, or a batch line).
struct Job {
    id: Option<serde_json::Value>,
    prompt: String,
    signature: Option<String>,
    max_tokens: u32,
    seed: u64,
}

fn target(args: &GenerateArgs, signature: Option<&String>, set: &ConstraintSet) -> anyhow::Result<Option<Target>> {
    let kind = args.target.unwrap_or(if signature.is_some() {
        TargetKind::FnBody
    } else if set.is_empty() {
        TargetKind::Text
    } else {
        TargetKind::Item
    });
    Ok(match kind {
        TargetKind::Text => None,
        TargetKind::FnBody => match signature {
            Some(s) => Some(Target::FnBody { signature: s.clone() }),
            None => bail!("--target fn-body needs --signature (a header or a function name)"),
        },
        TargetKind::Item => Some(Target::Item),
        TargetKind::Json => Some(Target::Json),
    })
}

/// What one generation produced, for reports.
struct Done {
    job: Job,
    result: anyhow::Result<Result<Outcome, ananke::maze::Generation>>,
    wall: Duration,
}

fn run_job(
    pipeline: &Pipeline,
    backend: &mut dyn Backend,
    args: &GenerateArgs,
    set: &ConstraintSet,
    language: Language,
    job: &Job,
    on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
) -> anyhow::Result<Result<Outcome, ananke::maze::Generation>> {
    let prompt = if args.raw { Prompt::Text(job.prompt.clone()) } else { Prompt::user(job.prompt.clone()) };
    let sampling = Sampling { seed: job.seed, ..args.model.sampling() };
    let Some(target) = target(args, job.signature.as_ref(), set)? else {
        // Free text: nothing to compile; one generation.
        let request = GenerateRequest { prompt, max_tokens: job.max_tokens, sampling, grammar: None };
        return Ok(Err(backend.generate(&request, None, on_token)?));
    };
    let context = CompileContext { path: None, in_test: false };
    let layers = args.layers.layers();
    let body = BodyOptions { syntax: layers.syntax, identifiers: layers.identifiers, self_type: None };
    let compile = CompileConfig::new(language, target).with_context(context).with_body(body);
    let mut task = Task::new(prompt, set.clone(), compile);
    task.max_tokens = job.max_tokens;
    task.sampling = sampling;
    task.repair = args.model.repair();
    task.max_repairs = args.model.max_repairs;
    task.token_level = layers.token_level;
    task.budget = layers.budget;
    task.identifiers = layers.identifiers.then(|| Arc::new(Identifiers::from_set(set)));
    Ok(Ok(pipeline.run(backend, &task, on_token)?))
}

/// Runs `ananke generate`. Exit 0 when every output satisfies its checked constraints, 1 when one does not, 2 on
/// usage errors.
pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let language: Language = args.language.parse().map_err(anyhow::Error::msg)?;
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let set = load_constraints(&args.constraints, &args.from, args.config.as_deref(), args.no_config, &cwd)?;
    let jobs: Vec<Job> = match (&args.batch, &args.prompt) {
        (Some(path), _) => read_batch(path, args)?,
        (None, Some(prompt)) => vec![Job {
            id: None,
            prompt: prompt.clone(),
            signature: args.signature.clone(),
            max_tokens: args.model.max_tokens,
            seed: args.model.seed,
        }],
        (None, None) => bail!("give --prompt or --batch"),
    };
    let cache = Arc::new(ConstraintCache::new(CacheConfig::default()));
    let pipeline = Pipeline::new(Arc::clone(&cache));
    let started = Instant::now();
    let done = if args.batch.is_some() {
        run_batch(&pipeline, args, &set, language, jobs)?
    } else {
        let mut backend = backend(&args.model, args.stream)?;
        let job = jobs.into_iter().next().unwrap_or_else(|| unreachable!("one prompt makes one job"));
        let stream_to_stderr = args.format == Format::Json || args.output.is_some();
        let mut on_token = |e: &TokenEvent<'_>| {
            if args.stream {
                if e.index == 0 && e.token.is_some() {
                    // Each attempt streams from its start.
                    let _ = writeln!(std::io::stderr());
                }
                let _ = if stream_to_stderr {
                    std::io::stderr().write_all(e.bytes)
                } else {
                    std::io::stdout().write_all(e.bytes).and_then(|()| std::io::stdout().flush())
                };
            }
            ControlFlow::Continue(())
        };
        let t = Instant::now();
        let result = run_job(&pipeline, backend.as_mut(), args, &set, language, &job, &mut on_token);
        if args.stream && !stream_to_stderr {
            println!();
        }
        vec![Done { job, result, wall: t.elapsed() }]
    };
    report(args, &done, &cache, started.elapsed())
}

fn read_batch(path: &Path, args: &GenerateArgs) -> anyhow::Result<Vec<Job>> {
    let file = std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut jobs = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}: cannot read", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
        let Some(prompt) = v.get("prompt").and_then(serde_json::Value::as_str) else {
            bail!("{}:{}: no \"prompt\" string", path.display(), i + 1);
        };
        let int = |key: &str| v.get(key).and_then(serde_json::Value::as_u64);
        jobs.push(Job {
            id: v.get("id").cloned(),
            prompt: prompt.to_owned(),
            signature: v
                .get("signature")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .or(args.signature.clone()),
            max_tokens: int("max_tokens").map_or(args.model.max_tokens, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            seed: int("seed").unwrap_or(args.model.seed),
        });
    }
    Ok(jobs)
}

fn run_batch(
    pipeline: &Pipeline,
    args: &GenerateArgs,
    set: &ConstraintSet,
    language: Language,
    jobs: Vec<Job>,
) -> anyhow::Result<Vec<Done>> {
    let workers = args.concurrency.clamp(1, jobs.len().max(1));
    let total = jobs.len();
    let queue: Mutex<std::vec::IntoIter<(usize, Job)>> =
        Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>().into_iter());
    let results: Mutex<Vec<(usize, Done)>> = Mutex::new(Vec::with_capacity(total));
    let finished = AtomicUsize::new(0);
    let bar = BatchProgress::new(total, !args.no_progress);
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut backend = match backend(&args.model, false) {
                    Ok(b) => b,
                    Err(e) => {
                        first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(e);
                        return;
                    }
                };
                loop {
                    let next = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).next();
                    let Some((i, job)) = next else { break };
                    let t = Instant::now();
                    let result = run_job(pipeline, backend.as_mut(), args, set, language, &job, &mut |_| {
                        ControlFlow::Continue(())
                    });
                    let done = Done { job, result, wall: t.elapsed() };
                    results.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((i, done));
                    bar.set(finished.fetch_add(1, Ordering::Relaxed) + 1);
                }
            });
        }
    });
    bar.finish();
    let mut results = results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    if results.is_empty()
        && let Some(e) = first_error.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        return Err(e);
    }
    results.sort_by_key(|(i, _)| *i);
    Ok(results.into_iter().map(|(_, d)| d).collect())
}

/// A progress bar for batches: on a terminal only, and only after a moment.
struct BatchProgress {
    bar: indicatif::ProgressBar,
    started: Instant,
    enabled: bool,
}

impl BatchProgress {
    fn new(total: usize, enabled: bool) -> Self {
        let bar = indicatif::ProgressBar::with_draw_target(Some(total as u64), indicatif::ProgressDrawTarget::hidden());
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("generating {bar:40} {pos}/{len} prompts ({eta} left)")
        {
            bar.set_style(style);
        }
        BatchProgress { bar, started: Instant::now(), enabled: enabled && std::io::stderr().is_terminal() }
    }

    fn set(&self, done: usize) {
        self.bar.set_position(done as u64);
        if self.enabled && self.started.elapsed() > Duration::from_millis(300) && self.bar.is_hidden() {
            self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Totals over the generations of a run.
#[derive(Default)]
struct Totals {
    tokens: usize,
    forced: usize,
    decode: Duration,
    mask: Duration,
    satisfied: usize,
    failed: usize,
}

fn report(args: &GenerateArgs, done: &[Done], cache: &ConstraintCache, wall: Duration) -> anyhow::Result<ExitCode> {
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => {
            Box::new(std::fs::File::create(path).with_context(|| format!("{}: cannot write", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut totals = Totals::default();
    let single = args.batch.is_none();
    for d in done {
        let generations: Vec<&ananke::maze::Generation> = match &d.result {
            Ok(Ok(outcome)) => outcome.attempts.iter().map(|a| &a.generation).collect(),
            Ok(Err(generation)) => vec![generation],
            Err(_) => Vec::new(),
        };
        for g in &generations {
            totals.tokens += g.timings.generated_tokens;
            totals.forced += g.timings.forced_tokens;
            totals.decode += g.timings.decode;
            totals.mask += g.timings.mask;
        }
        let ok = match &d.result {
            Ok(Ok(outcome)) => outcome.satisfied(),
            Ok(Err(_)) => true,
            Err(_) => false,
        };
        if ok {
            totals.satisfied += 1;
        } else {
            totals.failed += 1;
        }
        match args.format {
            Format::Json => {
                let doc = json_result(d);
                if single {
                    serde_json::to_writer_pretty(&mut out, &doc)?;
                } else {
                    serde_json::to_writer(&mut out, &doc)?;
                }
                writeln!(out)?;
            }
            Format::Text => text_result(&mut out, d, single && args.stream)?,
        }
    }
    out.flush()?;
    let m = cache.metrics();
    let per_s = |n: usize, t: Duration| if t.is_zero() { 0.0 } else { n as f64 / t.as_secs_f64() };
    let mask_us = if totals.tokens == 0 { 0.0 } else { totals.mask.as_secs_f64() * 1e6 / totals.tokens as f64 };
    eprintln!(
        "\n{} generation(s) in {:.2} s: {} satisfied, {} not; {} tokens ({} forced), {:.1} tokens/s decode ({:.1} \
         overall); mask {:.1} µs/token; cache hit rate {:.0}% ({} hit(s), {} miss(es))",
        done.len(),
        wall.as_secs_f64(),
        totals.satisfied,
        totals.failed,
        totals.tokens,
        totals.forced,
        per_s(totals.tokens, totals.decode),
        per_s(totals.tokens, wall),
        mask_us,
        m.hit_rate() * 100.0,
        m.hits,
        m.misses,
    );
    Ok(if totals.failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn text_result(out: &mut dyn Write, d: &Done, streamed: bool) -> anyhow::Result<()> {
    if let Some(id) = &d.job.id {
        writeln!(out, "== {id}")?;
    }
    match &d.result {
        Err(e) => writeln!(out, "error: {e:#}")?,
        Ok(Err(generation)) => {
            if !streamed {
                writeln!(out, "{}", generation.text)?;
            }
            eprintln!("{}", timing_line(generation, d.wall));
        }
        Ok(Ok(outcome)) => {
            if !streamed {
                writeln!(out, "{}", outcome.code())?;
            }
            for (n, a) in outcome.attempts.iter().enumerate() {
                eprintln!("attempt {}: {}", n + 1, timing_line(&a.generation, d.wall));
                for v in &a.violations {
                    eprintln!(
                        "  {}[{}]: {} ({})",
                        v.severity,
                        v.label.as_deref().unwrap_or("rule"),
                        v.message,
                        v.rule.describe()
                    );
                }
                for p in &a.problems {
                    eprintln!("  problem: {p}");
                }
            }
            eprintln!(
                "cache: {}; compile {:.2} ms, checker {:.2} ms",
                match outcome.cache_hit {
                    Some(true) => "hit",
                    Some(false) => "miss",
                    None => "no token-level checker",
                },
                outcome.compile_time.as_secs_f64() * 1e3,
                outcome.checker_time.as_secs_f64() * 1e3
            );
            eprintln!("{}", outcome.summary());
        }
    }
    Ok(())
}

fn timing_line(g: &ananke::maze::Generation, wall: Duration) -> String {
    let t = &g.timings;
    format!(
        "{} tokens ({} forced, finish {:?}) by {}; prefill {} tokens in {:.2} s, decode {:.1} tokens/s ({:.1} per \
         sampled token), mask {:.1} µs per sampled token; {:.2} s wall",
        t.generated_tokens,
        t.forced_tokens,
        g.finish,
        g.backend,
        t.prompt_tokens,
        t.prefill.as_secs_f64(),
        t.decode_tokens_per_s(),
        t.sampled_tokens_per_s(),
        t.mask_per_sampled_token().as_secs_f64() * 1e6,
        wall.as_secs_f64()
    )
}

fn json_result(d: &Done) -> serde_json::Value {
    let generation_json = |g: &ananke::maze::Generation| {
        let t = &g.timings;
        json!({
            "text": g.text,
            "backend": g.backend,
            "finish": format!("{:?}", g.finish),
            "prompt_tokens": t.prompt_tokens,
            "prompt_tokens_reused": t.prompt_tokens_reused,
            "tokens": t.generated_tokens,
            "forced_tokens": t.forced_tokens,
            "prefill_s": t.prefill.as_secs_f64(),
            "decode_s": t.decode.as_secs_f64(),
            "decode_tokens_per_s": t.decode_tokens_per_s(),
            "sampled_tokens_per_s": t.sampled_tokens_per_s(),
            "mask_us_per_token": t.mask_per_token().as_secs_f64() * 1e6,
            "mask_us_per_sampled_token": t.mask_per_sampled_token().as_secs_f64() * 1e6,
        })
    };
    let mut doc = match &d.result {
        Err(e) => json!({ "error": format!("{e:#}") }),
        Ok(Err(g)) => json!({ "code": g.text, "satisfied": serde_json::Value::Null, "attempts": [generation_json(g)] }),
        Ok(Ok(o)) => {
            let e = &o.enforcement;
            json!({
                "code": o.code(),
                "satisfied": o.satisfied(),
                "summary": o.summary(),
                "chosen_attempt": o.chosen + 1,
                "ir_hash": o.ir.hash.to_string(),
                "cache_hit": o.cache_hit,
                "compile_ms": o.compile_time.as_secs_f64() * 1e3,
                "token_level": e.token_level.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "enforced_by_server": e.by_server,
                "checked": e.checked.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "unchecked": e.unchecked.iter().map(|(id, why)| json!({"constraint": id.to_string(), "reason": why})).collect::<Vec<_>>(),
                "attempts": o.attempts.iter().map(|a| {
                    let mut g = generation_json(&a.generation);
                    g["complete"] = json!(a.complete);
                    g["violations"] = json!(a.violations);
                    g["problems"] = json!(a.problems);
                    g
                }).collect::<Vec<_>>(),
            })
        }
    };
    doc["wall_s"] = json!(d.wall.as_secs_f64());
    if let Some(id) = &d.job.id {
        doc["id"] = id.clone();
    }
    doc
}
