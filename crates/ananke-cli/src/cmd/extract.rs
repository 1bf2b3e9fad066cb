//! `ananke extract PATH...`: walk, read and extract files in parallel, mine them into a constraint set, and print
//! a summary or the set as JSON.

use std::fmt::Write as _;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use rayon::prelude::*;

use ananke::clew::{self, ExtractConfig, FileExtraction, MineConfig};
use ananke::core::{Diagnostic, DiagnosticCode, FindingKind, Provenance, RuleType};
use ananke::{ConstraintKind, ConstraintSet, Language, Severity};

use crate::progress::Progress;
use crate::walk::{self, WalkOptions};

/// Output formats of `extract`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A summary for people.
    Human,
    /// The full constraint set (versioned JSON, see docs/CONSTRAINTS.md).
    Json,
}

/// Arguments of `ananke extract`.
#[derive(clap::Args, Debug)]
pub struct ExtractArgs {
    /// Files and directories to read (directories are walked, respecting .gitignore).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format: a summary, or the constraint set as JSON.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the constraint set as JSON to FILE (whatever --format says); `-` is stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read files as this language (rust), whatever their extension; directories yield only its files.
    #[arg(long, value_name = "LANG", value_parser = parse_language)]
    pub lang: Option<Language>,
    /// Walk hidden files and directories too.
    #[arg(long)]
    pub hidden: bool,
    /// Do not respect .gitignore, .ignore and git's exclude files.
    #[arg(long)]
    pub no_ignore: bool,
    /// Include or (with a leading `!`) exclude files matching this gitignore-style glob; repeatable.
    #[arg(short, long = "glob", value_name = "GLOB")]
    pub globs: Vec<String>,
    /// Skip files larger than this (bytes, or with a K/M/G suffix).
    #[arg(long, value_name = "SIZE", default_value = "10M", value_parser = parse_size)]
    pub max_file_size: u64,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Do not show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Do not emit one constraint per function signature and type shape (keep only conventions and rules).
    #[arg(long)]
    pub conventions_only: bool,
}

/// Parses `--lang`, accepting only languages with an extractor.
pub fn parse_language(text: &str) -> Result<Language, String> {
    let language: Language = text.parse()?;
    if clew::supports(language) { Ok(language) } else { Err(format!("no {language} extractor yet (supported: rust)")) }
}

/// Parses `123`, `64K`, `10M`, `1G` (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, multiplier) = match text.char_indices().last() {
        Some((at, 'k' | 'K')) => (&text[..at], 1u64 << 10),
        Some((at, 'm' | 'M')) => (&text[..at], 1 << 20),
        Some((at, 'g' | 'G')) => (&text[..at], 1 << 30),
        _ => (text, 1),
    };
    let value: u64 = digits.trim().parse().map_err(|_| format!("{text:?} is not a size (use e.g. 500K, 10M)"))?;
    value.checked_mul(multiplier).ok_or_else(|| format!("{text:?} is too large"))
}

/// Runs the command.
pub fn run(args: &ExtractArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let options =
        WalkOptions { hidden: args.hidden, globs: args.globs.clone(), language: args.lang, no_ignore: args.no_ignore };
    let (found, problems) = walk::files(&args.paths, &options)?;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("could not start worker threads")?;
    let config = ExtractConfig { language: args.lang, ..ExtractConfig::default() };
    let progress = Progress::new(found.len() as u64, "extracting", !args.no_progress);
    let max = args.max_file_size;
    let cpu_before = cpu_seconds();
    let extractions: Vec<FileExtraction> = pool.install(|| {
        found
            .par_iter()
            .map(|file| {
                let extraction = read_and_extract(&file.path, &file.display, max, &config);
                progress.inc();
                extraction
            })
            .collect()
    });
    progress.finish();
    let cpu = cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);

    let mine_config =
        MineConfig { signatures: !args.conventions_only, shapes: !args.conventions_only, ..MineConfig::default() };
    let bytes: u64 = extractions.iter().map(|x| x.facts.bytes).sum();
    let mut set = clew::mine(extractions, &mine_config);
    set.diagnostics.extend(problems.into_iter().map(|p| Diagnostic {
        file: p.path,
        severity: Severity::Error,
        code: DiagnosticCode::Unreadable,
        message: p.message,
        line: None,
        column: None,
    }));

    if let Some(output) = &args.output {
        write_json(&set, output)?;
    }
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    match args.format {
        Format::Json if args.output.is_none() => {
            set.write_json(&mut out, false)?;
            writeln!(out)?;
        }
        Format::Json => {}
        Format::Human => {
            let stats =
                RunStats { files: found.len(), bytes, seconds: started.elapsed().as_secs_f64(), cpu_seconds: cpu };
            out.write_all(summary(&set, &stats).as_bytes())?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn read_and_extract(path: &Path, display: &str, max: u64, config: &ExtractConfig) -> FileExtraction {
    let language = config.language.or_else(|| Language::from_path(display)).unwrap_or(Language::Rust);
    let fail = |code: DiagnosticCode, message: String, size: u64| {
        let mut x = FileExtraction::empty(display, language, size);
        x.diagnostics.push(Diagnostic {
            file: display.to_owned(),
            severity: Severity::Error,
            code,
            message,
            line: None,
            column: None,
        });
        x
    };
    let size = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(err) => return fail(DiagnosticCode::Unreadable, format!("skipped: cannot read the file: {err}"), 0),
    };
    if size > max {
        let message = format!("skipped: the file is {size} bytes, more than --max-file-size ({max} bytes)");
        return fail(DiagnosticCode::TooLarge, message, size);
    }
    match std::fs::read(path) {
        Ok(bytes) => clew::extract_file(display, &bytes, config),
        Err(err) => fail(DiagnosticCode::Unreadable, format!("skipped: cannot read the file: {err}"), size),
    }
}

/// Writes the set to a file through a temporary sibling, so an interrupted run never leaves a truncated file.
fn write_json(set: &ConstraintSet, output: &Path) -> anyhow::Result<()> {
    if output == Path::new("-") {
        let mut out = BufWriter::new(std::io::stdout().lock());
        set.write_json(&mut out, false)?;
        writeln!(out)?;
        return out.flush().map_err(Into::into);
    }
    let tmp = output.with_extension("json.partial");
    let file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut writer = BufWriter::new(file);
    set.write_json(&mut writer, false).with_context(|| format!("cannot write {}", tmp.display()))?;
    writer.flush().with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(writer);
    std::fs::rename(&tmp, output).with_context(|| format!("cannot move {} to {}", tmp.display(), output.display()))
}

/// User plus system CPU time of this process so far, where the platform tells it.
fn cpu_seconds() -> Option<f64> {
    // /proc/self/stat fields 14 and 15 are utime and stime in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

struct RunStats {
    files: usize,
    bytes: u64,
    seconds: f64,
    cpu_seconds: Option<f64>,
}

/// The human summary: what was read, how fast, what was found.
fn summary(set: &ConstraintSet, stats: &RunStats) -> String {
    let mut out = String::new();
    let mb = stats.bytes as f64 / 1e6;
    let skipped = set.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let with_syntax_errors = {
        let mut files: Vec<&str> =
            set.diagnostics.iter().filter(|d| d.code == DiagnosticCode::SyntaxError).map(|d| d.file.as_str()).collect();
        files.dedup();
        files.len()
    };
    let _ = write!(out, "Read {} files ({mb:.1} MB) in {:.2} s", thousands(stats.files as u64), stats.seconds);
    if let Some(cpu) = stats.cpu_seconds.filter(|&c| c > 0.0) {
        let _ = write!(out, " ({:.1} MB per CPU-second)", mb / cpu);
    }
    let _ = writeln!(out, "; {skipped} skipped, {with_syntax_errors} with syntax errors.");

    let _ = writeln!(out, "\n{} constraints:", thousands(set.len() as u64));
    for (rule_type, count) in set.counts() {
        let _ = writeln!(out, "  {:<16} {:>9}", rule_type.as_str(), thousands(count as u64));
    }

    let conventions: Vec<_> = set
        .iter()
        .filter(|c| !matches!(c.rule.rule_type(), RuleType::Signature | RuleType::TypeShape))
        .filter(|c| c.kind != ConstraintKind::Security)
        .collect();
    if !conventions.is_empty() {
        let _ = writeln!(out, "\nConventions:");
        for c in conventions {
            let confidence = c.provenance.confidence() * 100.0;
            let _ = writeln!(out, "  {:<8} {} ({confidence:.1}%)", c.severity.as_str(), c.rule.describe());
        }
    }
    let security: Vec<_> = set.iter().filter(|c| c.kind == ConstraintKind::Security).collect();
    if !security.is_empty() {
        let _ = writeln!(out, "\nSecurity rules:");
        for c in security {
            let at = match &c.provenance {
                Provenance::Extracted(e) if c.severity < Severity::Error => format!(" — first at {}", e.location),
                _ => String::new(),
            };
            let _ = writeln!(out, "  {:<8} {}{at}", c.severity.as_str(), c.message.as_deref().unwrap_or_default());
        }
    }

    let mut counts = [0u64; FindingKind::ALL.len()];
    let mut holes = 0usize;
    let mut tests = 0usize;
    for file in &set.files {
        for finding in &file.findings {
            counts[finding.kind as usize] += 1;
        }
        holes += file.holes.len();
        tests += file.tests.len();
    }
    let findings: Vec<String> = FindingKind::ALL
        .iter()
        .zip(counts)
        .filter(|&(_, n)| n > 0)
        .map(|(kind, n)| format!("{} {}", kind.as_str(), thousands(n)))
        .collect();
    if !findings.is_empty() {
        let _ = writeln!(out, "\nFindings: {}", findings.join(" · "));
    }
    let _ = writeln!(out, "Tests: {tests} · typed holes: {holes}");

    if !set.diagnostics.is_empty() {
        const SHOWN: usize = 20;
        let _ = writeln!(out, "\nDiagnostics ({}):", set.diagnostics.len());
        for d in set.diagnostics.iter().take(SHOWN) {
            let _ = writeln!(out, "  {}: {d}", d.severity.as_str());
        }
        if set.diagnostics.len() > SHOWN {
            let _ = writeln!(out, "  … and {} more (see --format json)", set.diagnostics.len() - SHOWN);
        }
    }
    out
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{parse_size, thousands};

    #[test]
    fn sizes() {
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("64K"), Ok(65_536));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert!(parse_size("ten").is_err());
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
