//! `ananke compile`: compile a constraint set (a file or `-` for stdin) into a ConstraintIR.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use ananke::braid::{self, CompileConfig, Target};
use ananke::core::{ConstraintSet, Language};
use anyhow::{Context, bail};

/// What `--target` accepts.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// The body of one function whose signature is fixed (`--signature`).
    FnBody,
    /// One whole item (a Rust fn item).
    Item,
    /// A JSON value shaped by the set's JSON schemas.
    Json,
}

/// Arguments of `ananke compile`.
#[derive(clap::Args, Debug)]
pub struct CompileArgs {
    /// The constraint set (JSON from `ananke extract`), or `-` to read it from stdin.
    pub input: PathBuf,
    /// Where to write the IR (JSON); stdout when omitted.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// What to generate.
    #[arg(long, value_enum, default_value = "fn-body")]
    pub target: TargetKind,
    /// For `--target fn-body`: a full header (`pub fn parse(s: &str) -> u8`) or the name of a function with a
    /// signature constraint in the set.
    #[arg(long)]
    pub signature: Option<String>,
    /// The language of the generated code.
    #[arg(long, default_value = "rust")]
    pub language: String,
    /// Print why each construct is required or banned (to stderr when the IR goes to stdout).
    #[arg(long)]
    pub explain: bool,
    /// Fail (exit 1) when constraints conflict instead of resolving the conflicts.
    #[arg(long)]
    pub strict: bool,
}

/// Runs `ananke compile`. Exit 0 on success, 1 on conflicts in strict mode, 2 on invalid input.
pub fn run(args: &CompileArgs) -> anyhow::Result<ExitCode> {
    let text = if args.input.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("reading the constraint set from stdin")?;
        text
    } else {
        std::fs::read_to_string(&args.input).with_context(|| format!("reading {}", args.input.display()))?
    };
    let set = ConstraintSet::from_json(&text).context("reading the constraint set")?;
    let language: Language = args.language.parse().map_err(anyhow::Error::msg)?;
    let target = match (args.target, &args.signature) {
        (TargetKind::FnBody, Some(signature)) => Target::FnBody { signature: signature.clone() },
        (TargetKind::FnBody, None) => bail!("--target fn-body needs --signature (a header or a function name)"),
        (TargetKind::Item, _) => Target::Item,
        (TargetKind::Json, _) => Target::Json,
    };
    let config = CompileConfig::new(language, target).strict(args.strict);
    let ir = match braid::compile(&set, &config) {
        Ok(ir) => ir,
        Err(braid::Error::Conflicts(conflicts)) => {
            let mut err = std::io::stderr().lock();
            writeln!(err, "error: {} conflict(s) between constraints (--strict):", conflicts.len())?;
            for c in &conflicts {
                writeln!(err, "  {c}")?;
            }
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let json = ir.to_json_pretty();
    if let Some(path) = &args.output {
        std::fs::write(path, format!("{json}\n")).with_context(|| format!("writing {}", path.display()))?;
        if args.explain {
            write_or_ignore_broken_pipe(&mut std::io::stdout().lock(), &braid::explain(&ir))?;
        }
    } else {
        write_or_ignore_broken_pipe(&mut std::io::stdout().lock(), &format!("{json}\n"))?;
        if args.explain {
            eprint!("{}", braid::explain(&ir));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes to a pipe; a reader that went away (`| head`) is not an error.
fn write_or_ignore_broken_pipe(out: &mut impl Write, text: &str) -> anyhow::Result<()> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
