//! `ananke fill FILE[:LINE]`: fill typed holes (`todo!()`, `unimplemented!()`, `// HOLE`) with generated bodies that
//! follow the project's constraints, checked; written in place atomically, or shown as a diff with `--dry-run`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use ananke::braid::Identifiers;
use ananke::core::ConstraintSet;
use ananke::maze::holes::{self, FillConfig, HoleSite};
use ananke::maze::{ConstraintCache, Pipeline, Verify};
use anyhow::{Context, bail};

use crate::cmd::generate::{self, LayerArgs, ModelArgs};

/// Arguments of `ananke fill`.
#[derive(clap::Args, Debug)]
pub struct FillArgs {
    /// The file, optionally with the line of one hole (`src/stock.rs:57`); without a line every hole is filled.
    pub target: String,
    /// Print a unified diff instead of writing the file.
    #[arg(long)]
    pub dry_run: bool,
    /// The project whose constraints apply (default: the nearest directory above the file with a Cargo.toml).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Constraint sets (JSON from `ananke extract`) to use as well.
    #[arg(long, value_name = "SET.json")]
    pub constraints: Vec<PathBuf>,
    /// The ananke.toml to use (default: found from the project up).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Do not read ananke.toml.
    #[arg(long)]
    pub no_config: bool,
    /// Replace a whole body even when the placeholder is only part of it (what the body held is lost).
    #[arg(long)]
    pub replace_partial: bool,
    /// Write the body even when it breaks a checked constraint (it is reported either way).
    #[arg(long)]
    pub force: bool,
    /// At most this many bytes of the file before the function go into the prompt (prefill costs ~5 ms per token
    /// on two cores with the default model).
    #[arg(long, default_value_t = FillConfig::default().context_bytes)]
    pub context_bytes: usize,
    /// Also check each complete body by compiling: `cargo` runs `cargo check` on the project with the body in
    /// place (the file is restored after), and its errors fail the attempt and go into the repair prompt.
    #[arg(long, value_enum, default_value = "none")]
    pub verify: VerifyKind,
    /// Output: `text` (a report on stderr) or `json` (one JSON object per hole on stdout, the report on stderr).
    #[arg(long, value_enum, default_value = "text")]
    pub format: generate::Format,
    #[command(flatten)]
    pub layers: LayerArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// What `--verify` runs on each complete body.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyKind {
    /// Nothing beyond the constraints.
    None,
    /// `cargo check` of the project with the body in place.
    Cargo,
}

/// `cargo check` of the project with a candidate body in the file; the file's bytes are put back whatever happens.
#[derive(Debug)]
struct CargoVerify {
    file: PathBuf,
    root: PathBuf,
    /// The file on disk, restored after each check.
    on_disk: Vec<u8>,
    /// The text around the body, as the fill has it (earlier holes of the run filled).
    before: String,
    after: String,
    /// Where the function's item starts in `before` (its header, whose warnings are the body's).
    item_start: usize,
}

/// Warnings of rustc that mean the function is wrong even though it compiles: they fail the attempt when they
/// point at the function being filled.
const FAILING_WARNINGS: &[&str] = &["function cannot return without recursing"];

/// Puts a file's bytes back when dropped.
struct Restore<'a>(&'a Path, &'a [u8]);

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write(self.0, self.1) {
            eprintln!("fill: cannot restore {}: {e}", self.0.display());
        }
    }
}

impl Verify for CargoVerify {
    fn verify(&self, code: &str) -> Vec<String> {
        let candidate = format!("{}{code}{}", self.before, self.after);
        let _restore = Restore(&self.file, &self.on_disk);
        if let Err(e) = std::fs::write(&self.file, candidate) {
            return vec![format!("cannot write {} to check it: {e}", self.file.display())];
        }
        let output = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            // Plain text whatever the caller's CARGO_TERM_COLOR: the lines are matched below.
            .args(["check", "--offline", "--quiet", "--message-format", "short", "--color", "never"])
            .current_dir(&self.root)
            .output();
        match output {
            Err(e) => vec![format!("cannot run cargo check: {e}")],
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let failing_warnings = stderr
                    .lines()
                    .filter(|l| FAILING_WARNINGS.iter().any(|w| l.contains(&format!("warning: {w}"))))
                    .filter(|l| self.offset_of(code, l).is_some_and(|at| at >= self.item_start))
                    .map(|l| format!("cargo check: {}", l.trim()));
                if out.status.success() {
                    return failing_warnings.take(6).collect();
                }
                let mut errors: Vec<String> = stderr
                    .lines()
                    .filter(|l| l.contains("error"))
                    .filter(|l| !l.starts_with("error: could not compile"))
                    .map(|l| format!("cargo check: {}", l.trim()))
                    .chain(failing_warnings)
                    .take(6)
                    .collect();
                if errors.is_empty() {
                    errors.push(format!("cargo check failed: {}", stderr.lines().last().unwrap_or("").trim()));
                }
                errors
            }
        }
    }

    /// The first error in this file (`PATH:LINE:COL: error...`, as `--message-format short` writes it) that
    /// falls inside the body.
    fn locate(&self, code: &str, problems: &[String]) -> Option<usize> {
        problems.iter().find_map(|p| {
            let offset = self.offset_of(code, p.strip_prefix("cargo check: ")?)?.checked_sub(self.before.len())?;
            (offset < code.len()).then_some(offset)
        })
    }
}

impl CargoVerify {
    /// The byte offset in the file with `code` in place that a `PATH:LINE:COL: ...` line of cargo's short
    /// messages points at, when PATH is this file.
    fn offset_of(&self, code: &str, line: &str) -> Option<usize> {
        let rel = relative(&self.file, &self.root);
        let candidate = format!("{}{code}{}", self.before, self.after);
        let rest = line.trim().strip_prefix(rel.as_str())?.strip_prefix(':')?;
        let mut parts = rest.splitn(3, ':');
        let line: usize = parts.next()?.parse().ok()?;
        let col: usize = parts.next()?.parse().ok()?;
        let line_start = if line <= 1 { 0 } else { candidate.match_indices('\n').nth(line - 2).map(|(i, _)| i + 1)? };
        let in_line = candidate[line_start..].char_indices().nth(col.checked_sub(1)?).map(|(i, _)| i)?;
        Some(line_start + in_line)
    }
}

/// `FILE[:LINE]`.
fn parse_target(target: &str) -> (PathBuf, Option<u32>) {
    if let Some((file, line)) = target.rsplit_once(':')
        && let Ok(line) = line.parse::<u32>()
        && !Path::new(target).exists()
    {
        return (PathBuf::from(file), Some(line));
    }
    (PathBuf::from(target), None)
}

/// The nearest ancestor of `file` (absolute) holding a Cargo.toml (or an ananke.toml), else the file's directory.
fn project_root(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(file);
    dir.ancestors()
        .find(|d| d.join("Cargo.toml").is_file() || d.join(crate::config::FILE_NAME).is_file())
        .unwrap_or(dir)
        .to_path_buf()
}

/// The file's path relative to the project root, `/`-separated (as extraction names files).
fn relative(file: &Path, root: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    rel.to_string_lossy().replace('\\', "/")
}

/// Runs `ananke fill`. Exit 0 when every hole asked for was filled with a body that satisfies the checked
/// constraints, 1 when one was not, 2 on usage errors (no such file, no hole there).
pub fn run(args: &FillArgs) -> anyhow::Result<ExitCode> {
    let (file, line) = parse_target(&args.target);
    let original = std::fs::read(&file).with_context(|| format!("{}: cannot read", file.display()))?;
    let Ok(original_text) = String::from_utf8(original.clone()) else {
        bail!("{}: not UTF-8", file.display());
    };
    let absolute = file.canonicalize().with_context(|| format!("{}: cannot resolve", file.display()))?;
    let root = match &args.project {
        Some(p) => p.canonicalize().with_context(|| format!("{}: cannot resolve", p.display()))?,
        None => project_root(&absolute),
    };
    let rel = relative(&absolute, &root);

    let found = holes::find_holes(&rel, original_text.as_bytes());
    let chosen: Vec<&HoleSite> = match line {
        Some(line) => found
            .iter()
            .filter(|h| h.line == line || (h.body.start_line..=h.body.end_line).contains(&line))
            .take(1)
            .collect(),
        None => found.iter().collect(),
    };
    if chosen.is_empty() {
        bail!(
            "{}{}: no typed hole (todo!(), unimplemented!() or // HOLE inside a function){}",
            file.display(),
            line.map_or(String::new(), |l| format!(":{l}")),
            if found.is_empty() {
                String::new()
            } else {
                format!(
                    "; holes are at line(s) {}",
                    found.iter().map(|h| h.line.to_string()).collect::<Vec<_>>().join(", ")
                )
            }
        );
    }
    let targets: Vec<(u32, String)> = chosen.iter().map(|h| (h.line, h.signature.name.clone())).collect();

    let started = Instant::now();
    let mut set = ConstraintSet::new();
    let (extracted, sources) = generate::extract_files(std::slice::from_ref(&root), Some(&root))?;
    set.extend(extracted);
    set.extend(generate::load_constraints(&args.constraints, &[], args.config.as_deref(), args.no_config, &root)?);
    eprintln!(
        "fill: {} constraint(s) from {} in {:.2} s; {} hole(s) to fill in {rel}",
        set.len(),
        root.display(),
        started.elapsed().as_secs_f64(),
        targets.len()
    );

    let mut backend = generate::backend(&args.model, false)?;
    let pipeline = Pipeline::new(Arc::new(ConstraintCache::default()));
    let config = FillConfig {
        max_tokens: args.model.max_tokens,
        sampling: ananke::maze::Sampling {
            temperature: args.model.temperature,
            top_p: args.model.top_p,
            seed: args.model.seed,
            dry: args.model.dry,
        },
        max_repairs: args.model.max_repairs,
        repair: args.model.repair(),
        replace_partial: args.replace_partial,
        context_bytes: args.context_bytes,
        layers: args.layers.layers(),
        identifiers: None,
    };
    // The identifier layer knows every name of the project's sources (read once, by the extraction above).
    let config = FillConfig {
        identifiers: config.layers.identifiers.then(|| {
            let mut ids = Identifiers::from_set(&set);
            for (_, bytes) in &sources {
                ids.add_source(&String::from_utf8_lossy(bytes));
            }
            // What the file imports and declares is what its bodies may name without a path.
            ids.set_file(&original_text);
            Arc::new(ids)
        }),
        ..config
    };
    let json = args.format == generate::Format::Json;
    let mut text = original_text.clone();
    let mut failed = 0;
    for (hole_line, name) in &targets {
        // Earlier fills move later holes: find this one again in the current text, by its function.
        let sites = holes::find_holes(&rel, text.as_bytes());
        let Some(site) =
            sites.iter().find(|s| &s.signature.name == name).or_else(|| sites.iter().find(|s| s.line == *hole_line))
        else {
            continue;
        };
        let mut task = holes::fill_task(&rel, &text, site, &set, &config)?;
        if args.verify == VerifyKind::Cargo {
            task.verify = Some(Arc::new(CargoVerify {
                file: absolute.clone(),
                root: root.clone(),
                on_disk: original.clone(),
                before: task.placement.before.clone(),
                after: task.placement.after.clone(),
                item_start: site.item_start,
            }));
        }
        let t = Instant::now();
        let outcome = pipeline.run(backend.as_mut(), &task, &mut |_| std::ops::ControlFlow::Continue(()))?;
        let last = outcome.last();
        eprintln!(
            "fill: {}:{} `{}`: {} attempt(s), {} tokens in {:.2} s (last: prompt {} tokens, prefill {:.2} s, {:.1} \
             sampled tokens/s, mask {:.1} µs per sampled token; cache {})",
            rel,
            site.line,
            site.signature.name,
            outcome.attempts.len(),
            outcome.tokens(),
            t.elapsed().as_secs_f64(),
            last.generation.timings.prompt_tokens,
            last.generation.timings.prefill.as_secs_f64(),
            last.generation.timings.sampled_tokens_per_s(),
            last.generation.timings.mask_per_sampled_token().as_secs_f64() * 1e6,
            if outcome.cache_hit == Some(true) { "hit" } else { "miss" },
        );
        let result = outcome.result();
        if outcome.attempts.len() > 1 {
            eprintln!("  the result is attempt {} of {}", outcome.chosen + 1, outcome.attempts.len());
        }
        for v in &result.violations {
            eprintln!("  {}: {} ({})", v.severity, v.message, v.rule.describe());
        }
        for p in &result.problems {
            eprintln!("  problem: {p}");
        }
        eprintln!("  {}", outcome.summary());
        let written = outcome.satisfied() || args.force;
        if json {
            let timings = &last.generation.timings;
            let report = serde_json::json!({
                "file": rel,
                "line": site.line,
                "function": site.signature.name,
                "status": if outcome.satisfied() { "filled" } else { "failed" },
                "written": written,
                "body": outcome.code(),
                "complete": result.complete,
                "chosen_attempt": outcome.chosen + 1,
                "attempts": outcome.attempts.len(),
                "tokens": outcome.tokens(),
                "last_tokens": timings.generated_tokens,
                "elapsed_ms": t.elapsed().as_secs_f64() * 1e3,
                "tokens_per_s": timings.sampled_tokens_per_s(),
                "mask_us_per_token": timings.mask_per_sampled_token().as_secs_f64() * 1e6,
                "redraws": outcome.attempts.iter().map(|a| a.generation.timings.redraws).sum::<u64>(),
                "redraw_fallbacks": outcome.attempts.iter().map(|a| a.generation.timings.redraw_fallbacks).sum::<u64>(),
                "backtracks": outcome.attempts.iter().map(|a| a.generation.timings.backtracks).sum::<u64>(),
                "violations": result.violations.iter().map(|v| v.message.clone()).collect::<Vec<_>>(),
                "problems": result.problems,
                "prompt_tokens_reused": timings.prompt_tokens_reused,
                // The layers in effect (each needs token-level enforcement; budget and identifiers need syntax).
                "layers": {
                    "token_level": config.layers.token_level,
                    "syntax": config.layers.token_level && config.layers.syntax,
                    "budget": config.layers.token_level && config.layers.budget,
                    "identifiers": config.layers.token_level && config.layers.identifiers,
                    "verify": args.verify == VerifyKind::Cargo,
                },
            });
            println!("{report}");
        }
        if written {
            text = holes::splice(&text, site, outcome.code());
        }
        if !outcome.satisfied() {
            failed += 1;
            if !args.force {
                eprintln!("  not written (pass --force to write it anyway); the rejected body:\n{}", outcome.code());
            }
        }
    }

    if text != original_text {
        if args.dry_run {
            let diff = unified_diff(&rel, &original_text, &text);
            let mut out = std::io::stdout().lock();
            out.write_all(diff.as_bytes())?;
            out.flush()?;
        } else {
            write_atomically(&file, &original, text.as_bytes())?;
            eprintln!("fill: wrote {}", file.display());
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Replaces `path`'s content with `new` without ever leaving it half-written: a temporary file in the same
/// directory (same permissions), synced, then renamed over it. Refuses if the file changed since it was read.
fn write_atomically(path: &Path, read: &[u8], new: &[u8]) -> anyhow::Result<()> {
    let now = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    if now != read {
        bail!("{} changed while the hole was being filled; nothing written", path.display());
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.ananke-{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(new)?;
        f.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("{}: cannot write", path.display()));
    }
    Ok(())
}

/// A unified diff of two texts that differ in one region (what filling holes does), with three lines of context.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (a_end, b_end) = (a.len() - suffix, b.len() - suffix);
    let start = prefix.saturating_sub(3);
    let (a_stop, b_stop) = ((a_end + 3).min(a.len()), (b_end + 3).min(b.len()));
    let mut out = format!("--- a/{path}\n+++ b/{path}\n");
    let range = |from: usize, to: usize| {
        let n = to - from;
        if n == 0 { format!("{from},0") } else { format!("{},{n}", from + 1) }
    };
    let _ = writeln!(out, "@@ -{} +{} @@", range(start, a_stop), range(start, b_stop));
    let line = |out: &mut String, mark: char, text: &str| {
        out.push(mark);
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    };
    for l in &a[start..prefix] {
        line(&mut out, ' ', l);
    }
    for l in &a[prefix..a_end] {
        line(&mut out, '-', l);
    }
    for l in &b[prefix..b_end] {
        line(&mut out, '+', l);
    }
    for l in &a[a_end..a_stop] {
        line(&mut out, ' ', l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_of_one_replaced_region() {
        let old = "a\nb\nc\nd\n    todo!()\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\n    x + 1\n    // done\ne\nf\ng\nh\n";
        assert_eq!(
            unified_diff("src/x.rs", old, new),
            "--- a/src/x.rs\n+++ b/src/x.rs\n@@ -2,7 +2,8 @@\n b\n c\n d\n-    todo!()\n+    x + 1\n+    // done\n e\n f\n g\n"
        );
    }

    #[test]
    fn cargo_errors_are_located_in_the_body() {
        let verify = CargoVerify {
            file: PathBuf::from("/p/src/lib.rs"),
            root: PathBuf::from("/p"),
            on_disk: Vec::new(),
            before: "fn a() {}\nfn b() -> u8 ".into(),
            after: "\n".into(),
            item_start: 10,
        };
        let code = "{\n    x.bad()\n}";
        let problems = [
            "cargo check: src/other.rs:3:7: error[E0425]: elsewhere".to_owned(),
            "cargo check: src/lib.rs:1:4: error[E0308]: before the body".to_owned(),
            "cargo check: src/lib.rs:3:7: error[E0599]: no method named `bad`".to_owned(),
        ];
        assert_eq!(verify.locate(code, &problems[..1]), None, "another file");
        assert_eq!(verify.locate(code, &problems[1..2]), None, "outside the body");
        let at = verify.locate(code, &problems).unwrap();
        assert!(code[at..].starts_with("bad()"), "{at}");
    }

    /// A real `cargo check` of a throwaway crate: errors fail a body, and so does a body that compiles but can
    /// only call itself forever; the file is put back after each check.
    #[test]
    fn cargo_verify_fails_errors_and_bodies_that_only_recurse() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"rec\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .unwrap();
        std::fs::create_dir(root.join("src")).unwrap();
        let text = "pub fn other() -> u32 {\n    1\n}\n\n/// Counts.\npub fn count(n: u32) -> u32 {\n    todo!()\n}\n";
        let file = root.join("src/lib.rs");
        std::fs::write(&file, text).unwrap();
        let body_start = text.find("{\n    todo").unwrap();
        let body_end = text.rfind('}').unwrap() + 1;
        let verify = CargoVerify {
            file: file.clone(),
            root: root.clone(),
            on_disk: text.as_bytes().to_vec(),
            before: text[..body_start].to_owned(),
            after: text[body_end..].to_owned(),
            item_start: text.find("pub fn count").unwrap(),
        };
        assert_eq!(verify.verify("{\n    n + other()\n}"), Vec::<String>::new());
        let recursing = verify.verify("{\n    count(n)\n}");
        assert!(recursing.iter().any(|p| p.contains("without recursing")), "{recursing:?}");
        let broken = verify.verify("{\n    n + missing()\n}");
        assert!(broken.iter().any(|p| p.contains("E0425")), "{broken:?}");
        assert_eq!(verify.locate("{\n    n + missing()\n}", &broken), Some(10));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "the file is put back");
    }

    #[test]
    fn targets_with_and_without_a_line() {
        assert_eq!(parse_target("src/a.rs:12"), (PathBuf::from("src/a.rs"), Some(12)));
        assert_eq!(parse_target("src/a.rs"), (PathBuf::from("src/a.rs"), None));
    }
}
