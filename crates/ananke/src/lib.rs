//! Ananke: constrained code generation. Extract the rules a codebase follows, compile them into an IR a decoder can
//! enforce token by token, and check generated code against them.
//!
//! This crate is the facade to depend on. It re-exports the pipeline's crates:
//!
//! - [`core`] (`ananke-core`): the typed constraint model — [`Constraint`], [`Rule`], [`ConstraintSet`];
//! - [`clew`]: extraction of constraints from source code with tree-sitter;
//! - [`braid`]: compilation of a constraint set into an enforceable IR (grammar, schema, regexes, conflicts);
//! - [`maze`]: generation — the cache of compiled constraints, backends (an embedded GGUF model with the `local`
//!   feature, OpenAI-compatible servers with `openai`), generate → check → repair, typed holes.
//!
//! ```
//! let code = b"pub fn area(width: f64, height: f64) -> f64 { width * height }";
//! let set = ananke::extract_sources(&[ananke::clew::Source::new("src/geometry.rs", code)]);
//! let names: Vec<&str> = set.iter().filter_map(|c| c.scope.symbol.as_deref()).collect();
//! assert_eq!(names, ["crate::geometry::area"]);
//! ```
#![deny(missing_docs)]

pub use ananke_core as core;
pub use ananke_core::{Constraint, ConstraintId, ConstraintKind, ConstraintSet, Language, Rule, Scope, Severity};
pub use braid;
pub use clew;
pub use maze;

/// Extracts and mines a batch of in-memory sources with default settings.
pub fn extract_sources(sources: &[clew::Source<'_>]) -> ConstraintSet {
    clew::extract(sources, &clew::ExtractConfig::default(), &clew::MineConfig::default())
}

/// Generates the body of the function `signature` (a header, or the name of a function whose signature is in
/// `constraints`) with `backend`, under `constraints`, checked and repaired (up to two repairs), with a fresh cache.
/// For many generations keep one [`maze::Pipeline`] instead: its cache makes repeated constraint sets free.
pub fn generate_fn_body(
    backend: &mut dyn maze::Backend,
    prompt: &str,
    constraints: &ConstraintSet,
    signature: &str,
    max_tokens: u32,
) -> maze::Result<maze::Outcome> {
    let config = braid::CompileConfig::new(Language::Rust, braid::Target::FnBody { signature: signature.to_owned() });
    let mut task = maze::Task::new(maze::Prompt::user(prompt), constraints.clone(), config);
    task.max_tokens = max_tokens;
    maze::Pipeline::default().run(backend, &task, &mut |_| std::ops::ControlFlow::Continue(()))
}

/// Fills the first typed hole (`todo!()`, `unimplemented!()`, `// HOLE`) of a Rust file's text under
/// `constraints` (typically the project's, from [`extract_sources`]): returns the new text and the outcome, or
/// `None` when the file has no hole. The text is returned, never written: `ananke fill` writes files.
pub fn fill_first_hole(
    backend: &mut dyn maze::Backend,
    path: &str,
    text: &str,
    constraints: &ConstraintSet,
) -> maze::Result<Option<(String, maze::Outcome)>> {
    let Some(site) = maze::holes::find_holes(path, text.as_bytes()).into_iter().next() else { return Ok(None) };
    let task = maze::holes::fill_task(path, text, &site, constraints, &maze::holes::FillConfig::default())?;
    let outcome = maze::Pipeline::default().run(backend, &task, &mut |_| std::ops::ControlFlow::Continue(()))?;
    let filled = maze::holes::splice(text, &site, outcome.code());
    Ok(Some((filled, outcome)))
}
