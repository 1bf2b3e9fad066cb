//! `ananke check PATH...`: lint files against the rules of `ananke.toml` and/or constraint sets, and report like a
//! compiler: rustc-style diagnostics, JSON, or SARIF 2.1.0. Exit 1 when an error-severity violation is found.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufWriter, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use anyhow::Context as _;
use rayon::prelude::*;
use serde_json::json;

use ananke::braid::{self, CompileConfig, Target};
use ananke::clew::{ExtractConfig, FileLint, Linter};
use ananke::core::{ConstraintSet, Diagnostic, Violation};
use ananke::{Language, Severity};

use crate::config;
use crate::progress::Progress;
use crate::walk::{self, WalkOptions};

/// Output formats of `check`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Diagnostics with the source line and a caret, like rustc.
    Text,
    /// One JSON document with every violation.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other viewers.
    Sarif,
}

/// When to color text output.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Arguments of `ananke check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Files and directories to check (directories are walked, respecting .gitignore).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The rules file; default: the nearest ananke.toml in this directory or above.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Do not read any ananke.toml.
    #[arg(long)]
    pub no_config: bool,
    /// Also check against this constraint set (JSON from `ananke extract`); repeatable.
    #[arg(long = "constraints", value_name = "SET.json")]
    pub constraints: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// When to use colors in text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Read files as this language, whatever their extension.
    #[arg(long, value_name = "LANG", value_parser = super::extract::parse_language)]
    pub lang: Option<Language>,
    /// Walk hidden files and directories too.
    #[arg(long)]
    pub hidden: bool,
    /// Include or (with a leading `!`) exclude files matching this glob; repeatable.
    #[arg(short, long = "glob", value_name = "GLOB")]
    pub globs: Vec<String>,
    /// Skip files larger than this (bytes, or with a K/M/G suffix).
    #[arg(long, value_name = "SIZE", default_value = "10M", value_parser = super::extract::parse_size)]
    pub max_file_size: u64,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Do not show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Runs the command.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let mut set = ConstraintSet::new();
    let mut exclude = Vec::new();
    if !args.no_config {
        let path = match &args.config {
            Some(path) => Some(path.clone()),
            None => config::find(&std::env::current_dir().context("cannot read the working directory")?),
        };
        if let Some(path) = path {
            let loaded = config::load(&path)?;
            exclude = loaded.exclude;
            set.extend(loaded.constraints);
        }
    }
    for path in &args.constraints {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let loaded = ConstraintSet::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        for constraint in &loaded {
            set.insert(constraint.clone());
        }
    }
    if set.is_empty() {
        anyhow::bail!(
            "no constraints to check against: write an {} (`ananke init` drafts one from your code) or pass \
             --constraints SET.json",
            config::FILE_NAME
        );
    }

    // Conflicting rules (a declared style against an extracted one) are resolved as braid resolves them, so a
    // user rule wins over an extracted rule instead of both being reported.
    let conflicts = braid::detect_conflicts(&set, &CompileConfig::new(Language::Rust, Target::Item))
        .map_err(|e| anyhow::anyhow!("invalid constraints: {e}"))?;
    let losers: std::collections::HashSet<_> =
        conflicts.iter().filter(|c| c.outcome == braid::Outcome::Resolved).map(|c| c.loser).collect();
    set.retain(|c| !losers.contains(&c.id));

    let linter = Linter::new(&set).map_err(|e| anyhow::anyhow!("invalid constraint: {e}"))?;
    let mut globs = args.globs.clone();
    globs.extend(exclude.iter().map(|g| format!("!{g}")));
    let options = WalkOptions { hidden: args.hidden, globs, language: args.lang, no_ignore: false };
    let (found, problems) = walk::files(&args.paths, &options)?;

    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    let config = ExtractConfig { language: args.lang, ..ExtractConfig::default() };
    let progress = Progress::new(found.len() as u64, "checking", !args.no_progress);
    let max = args.max_file_size;
    let results: Vec<(String, Option<String>, FileLint)> = pool.install(|| {
        found
            .par_iter()
            .map(|file| {
                let result = lint_one(&linter, &file.path, &file.display, max, &config);
                progress.inc();
                result
            })
            .collect()
    });
    progress.finish();

    let mut diagnostics: Vec<Diagnostic> = problems.into_iter().map(|p| unreadable(&p.path, p.message)).collect();
    let mut violations = Vec::new();
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for (path, source, lint) in results {
        diagnostics.extend(lint.diagnostics);
        if !lint.violations.is_empty()
            && let Some(source) = source
        {
            sources.insert(path, source);
        }
        violations.extend(lint.violations);
    }
    let errors = violations.iter().filter(|v| v.severity == Severity::Error).count();

    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    match args.format {
        Format::Text => {
            let color = match args.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            };
            write_text(&mut out, &violations, &diagnostics, &sources, &linter, found.len(), color)?;
        }
        Format::Json => {
            let doc = json!({
                "files_checked": found.len(),
                "constraints": set.len(),
                "violations": violations,
                "diagnostics": diagnostics,
                "conflicts_resolved": conflicts.iter().map(|c| json!({"winner": c.winner.to_string(), "loser": c.loser.to_string(), "reason": c.reason})).collect::<Vec<_>>(),
                "unchecked": linter.unchecked().iter().map(|u| json!({"constraint": u.constraint.to_string(), "reason": u.reason})).collect::<Vec<_>>(),
                "errors": errors,
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut out, &sarif(&violations, &set))?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(if errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn unreadable(path: &str, message: String) -> Diagnostic {
    Diagnostic {
        file: path.to_owned(),
        severity: Severity::Error,
        code: ananke::core::DiagnosticCode::Unreadable,
        message,
        line: None,
        column: None,
    }
}

/// Reads and lints one file; keeps the text only if it has violations to show.
fn lint_one(
    linter: &Linter,
    path: &std::path::Path,
    display: &str,
    max: u64,
    config: &ExtractConfig,
) -> (String, Option<String>, FileLint) {
    let skip = |message: String| FileLint { violations: Vec::new(), diagnostics: vec![unreadable(display, message)] };
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > max => {
            let message = format!("skipped: the file is {} bytes, more than --max-file-size ({max} bytes)", meta.len());
            return (display.to_owned(), None, skip(message));
        }
        Err(e) => return (display.to_owned(), None, skip(format!("skipped: cannot read the file: {e}"))),
        Ok(_) => {}
    }
    match std::fs::read(path) {
        Ok(bytes) => {
            let lint = linter.lint_file(display, &bytes, config);
            let source = if lint.violations.is_empty() {
                None
            } else {
                ananke::clew::decode(display, &bytes).ok().map(str::to_owned)
            };
            (display.to_owned(), source, lint)
        }
        Err(e) => (display.to_owned(), None, skip(format!("skipped: cannot read the file: {e}"))),
    }
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
        Severity::Hint => Level::HELP,
    }
}

/// rustc-style diagnostics with the source line and a caret, then a summary line.
fn write_text(
    out: &mut impl std::io::Write,
    violations: &[Violation],
    diagnostics: &[Diagnostic],
    sources: &BTreeMap<String, String>,
    linter: &Linter,
    files: usize,
    color: bool,
) -> anyhow::Result<()> {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    for v in violations {
        let id = v.label.clone().unwrap_or_else(|| v.constraint.to_string());
        let title = level(v.severity).primary_title(v.message.as_str()).id(id.as_str());
        let mut group = Group::with_title(title);
        if let Some(source) = sources.get(&v.file) {
            // Hand the renderer only the lines it shows: the span's first line (where the reader needs to look).
            let start = (v.span.start_byte as usize).min(source.len());
            let line_start = source[..start].rfind('\n').map_or(0, |p| p + 1);
            let line_end = source[start..].find('\n').map_or(source.len(), |p| start + p);
            let end = (v.span.end_byte as usize).clamp(start, line_end);
            let label = v.rule.describe();
            group = group.element(
                Snippet::source(&source[line_start..line_end])
                    .line_start(v.span.start_line as usize)
                    .path(v.file.as_str())
                    .annotation(AnnotationKind::Primary.span(start - line_start..end - line_start).label(label)),
            );
        }
        let mut report = vec![group];
        if let Some(note) = &v.note {
            report.push(Group::with_title(Level::NOTE.secondary_title(note.as_str())));
        }
        if let Some(suggestion) = &v.suggestion {
            report.push(Group::with_title(Level::HELP.secondary_title(suggestion.as_str())));
        }
        writeln!(out, "{}\n", renderer.render(&report))?;
    }
    for d in diagnostics {
        writeln!(out, "{}: {d}", d.severity.as_str())?;
    }
    let count = |s: Severity| violations.iter().filter(|v| v.severity == s).count();
    let files_with: std::collections::BTreeSet<&str> = violations.iter().map(|v| v.file.as_str()).collect();
    let mut summary = format!(
        "{} error(s), {} warning(s), {} note(s) in {} of {files} file(s) checked against {} rule(s)",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info) + count(Severity::Hint),
        files_with.len(),
        linter.len(),
    );
    if !linter.unchecked().is_empty() {
        let _ = write!(summary, "; {} rule(s) apply only to generated output", linter.unchecked().len());
    }
    writeln!(out, "{summary}")?;
    Ok(())
}

/// A SARIF 2.1.0 log: one run, one reporting descriptor per violated constraint.
pub fn sarif(violations: &[Violation], set: &ConstraintSet) -> serde_json::Value {
    let mut rule_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    for v in violations {
        let key = v.constraint.to_string();
        if rule_index.contains_key(&key) {
            continue;
        }
        rule_index.insert(key.clone(), rules.len());
        let constraint = set.get(v.constraint);
        let name = v.label.clone().unwrap_or_else(|| v.rule.rule_type().as_str().to_owned());
        let mut descriptor = json!({
            "id": key,
            "name": name,
            "shortDescription": {"text": v.rule.describe()},
            "defaultConfiguration": {"level": sarif_level(v.severity)},
            "properties": {"kind": v.kind.as_str(), "tags": [v.kind.as_str()]},
        });
        if let Some(message) = constraint.and_then(|c| c.message.clone()) {
            descriptor["fullDescription"] = json!({"text": message});
        }
        rules.push(descriptor);
    }
    let results: Vec<serde_json::Value> = violations
        .iter()
        .map(|v| {
            let key = v.constraint.to_string();
            let mut text = v.message.clone();
            if let Some(suggestion) = &v.suggestion {
                let _ = write!(text, " ({suggestion})");
            }
            json!({
                "ruleId": key,
                "ruleIndex": rule_index[&key],
                "level": sarif_level(v.severity),
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": v.file, "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": v.span.start_line.max(1),
                            "startColumn": v.span.start_column.max(1),
                            "endLine": v.span.end_line.max(v.span.start_line).max(1),
                            "endColumn": v.span.end_column.max(1),
                        }
                    }
                }],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "ananke",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/ananke",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info | Severity::Hint => "note",
    }
}
