//! The `ananke` command line: extract constraints from code, compile them, check code against them, generate.

mod cmd;
mod config;
mod progress;
mod walk;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Ananke: make the rules a codebase lives by explicit, and enforce them while an LLM writes code.
#[derive(Parser, Debug)]
#[command(name = "ananke", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Extract the constraints a codebase follows (signatures, type shapes, naming, error handling, security).
    Extract(cmd::extract::ExtractArgs),
    /// Compile a constraint set into an IR: Lark grammar, JSON schema, regexes, forbidden strings, conflicts.
    Compile(cmd::compile::CompileArgs),
    /// Check code against ananke.toml and constraint sets; report like a linter (text, JSON, SARIF).
    Check(cmd::check::CheckArgs),
    /// Draft an ananke.toml from the conventions the code already follows.
    Init(cmd::init::InitArgs),
    /// Generate code under constraints (local model or OpenAI-compatible server), check it, repair it.
    Generate(cmd::generate::GenerateArgs),
    /// Fill typed holes (todo!(), unimplemented!(), // HOLE) with generated, checked bodies.
    Fill(cmd::fill::FillArgs),
    /// Serve the local model as an OpenAI-compatible endpoint that enforces the grammars requests carry.
    Serve(cmd::serve::ServeArgs),
    /// Walk a sample through the token-level checker and time its masks.
    MaskStats(cmd::mask_stats::MaskStatsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Extract(args) => cmd::extract::run(args),
        Command::Compile(args) => cmd::compile::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Init(args) => cmd::init::run(args),
        Command::Generate(args) => cmd::generate::run(args),
        Command::Fill(args) => cmd::fill::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::MaskStats(args) => cmd::mask_stats::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`ananke extract . | head`) is the reader's choice, not a failure (as in ripgrep).
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {err:#}");
            ExitCode::from(cmd::EXIT_USAGE)
        }
    }
}
