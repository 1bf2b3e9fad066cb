//! Ananke: constrained code generation. Extract the rules a codebase follows, compile them into an IR a decoder can
//! enforce token by token, and check generated code against them.
//!
//! This crate is the facade to depend on. It re-exports the pipeline's crates:
//!
//! - [`core`] (`ananke-core`): the typed constraint model — [`Constraint`], [`Rule`], [`ConstraintSet`];
//! - [`clew`]: extraction of constraints from source code with tree-sitter;
//! - [`braid`]: compilation of a constraint set into an enforceable IR (grammar, schema, regexes, conflicts).
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

/// Extracts and mines a batch of in-memory sources with default settings.
pub fn extract_sources(sources: &[clew::Source<'_>]) -> ConstraintSet {
    clew::extract(sources, &clew::ExtractConfig::default(), &clew::MineConfig::default())
}
