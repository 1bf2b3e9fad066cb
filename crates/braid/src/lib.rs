//! braid compiles a [`ConstraintSet`](ananke_core::ConstraintSet) into a [`ConstraintIR`] that a token-level engine
//! can enforce while a model writes code.
//!
//! The types to know:
//!
//! - [`CompileConfig`]: the language, the [`Target`] (a function body for a fixed signature, a whole item, or a
//!   JSON value), [`Limits`], strictness and the [`Context`] the code will live in.
//! - [`ConstraintIR`]: the result. A grammar in llguidance's Lark dialect (so vLLM, SGLang and llama.cpp accept it
//!   as-is), a JSON schema, named regexes, forbidden strings, length bounds, post-generation checks, known symbols,
//!   the conflicts found and how they were resolved, and for every input constraint what became of it. Every element
//!   lists the ids of the constraints that produced it. Versioned, serde JSON, content-hashed with xxh3-128.
//! - [`Checker`] (with [`Vocabulary`] and [`VocabIndex`]): the token-level enforcement of an IR while a model
//!   decodes: the allowed-token mask, commit, rollback, forced tokens, and why a token is banned, by constraint id.
//!   Fn-body targets run on braid's own automaton with memoized masks; other targets on llguidance.
//! - [`Compiler`]: the incremental compiler. It keeps each constraint's lowered fragment keyed by id; after a change
//!   only the affected constraints are analyzed, resolved and lowered again, only the IR parts they feed are rebuilt
//!   (the IR is patched in place through [`Compiler::compile_shared`]), and the result is byte-identical to a cold
//!   [`compile`].
//!
//! # How it works
//!
//! 1. **Analysis** (per constraint): does it apply (language, tests, paths, symbol, target)? Which conflict buckets
//!    does it join (`(rule family, target)`: the symbol kind of a naming rule, the callee word of a forbidden call or
//!    required pattern, the symbol of a signature, the module of an import rule)? What does it ban?
//! 2. **Dependency graph** ([`DependencyGraph`], petgraph): a signature depends on the type shapes it names and on
//!    the function naming rule, a type shape on its members' shapes and on the type naming rule, a forbidden call on
//!    a path on the import rules of its modules, an overridden constraint on its winner. Lowering runs in
//!    topological order; cycles are reported in the IR with their ids, never a panic.
//! 3. **Conflicts**: members of one bucket are compared, strongest first (user over extracted over default, then
//!    severity, then priority, then confidence, then the smaller id); a loser is recorded with its winner and a
//!    one-line reason and dropped. Regex questions (empty intersection, a required pattern that can only match banned
//!    text) are decided on bounded regex-automata DFAs and reported "undecided" past the bound. Nothing is dropped
//!    silently; [`CompileConfig::strict`] turns any conflict into [`Error::Conflicts`].
//! 4. **Lowering and assembly**: fragments are merged in canonical order into the IR and the grammar is emitted.
//!
//! # The fn-body grammar
//!
//! The fixed header is a string literal; the body is `block: "{" body "}"` with `body: CODE? (item CODE?)*` (see
//! [`docs/IR.md`]). A code run is ASCII text without braces, quotes, `/` and `#`, and carries every ban as one
//! complement (`CODE: /class+/ & ~FORBIDDEN`); items are nested blocks, string and char literals, line comments and a
//! division sign. Two code runs are never adjacent, so a forbidden string cannot be split across lexemes, and a ban's
//! identifier boundary is implied at both edges of a run. Bans do not apply inside literals and comments. Naming
//! rules ban declarations that break them (`let parseHeader` under snake_case variables) the same way. The grammar
//! builds and runs under llguidance's default limits with twenty forbidden calls and every naming rule (tested on
//! cl100k). Required patterns, whole-output regexes and length bounds are not in the grammar (a context-free body
//! cannot count across lexemes): they are in the IR for the token-level checker and in `checks` for the
//! post-generation check.
//!
//! [`docs/IR.md`]: https://example.invalid/ananke/docs/IR.md
//!
//! ```
//! use ananke_core::{Constraint, ConstraintSet, Language, NamingStyle, Provenance, Rule, Scope, SymbolKind};
//! use braid::{CompileConfig, Target};
//!
//! let mut set = ConstraintSet::new();
//! set.insert(Constraint::new(Rule::ForbidCall { callee: "unwrap".into() }, Scope::default(), Provenance::user()));
//! set.insert(Constraint::new(
//!     Rule::Naming { target: SymbolKind::Variable, style: NamingStyle::SnakeCase },
//!     Scope::default(),
//!     Provenance::user(),
//! ));
//! let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: "fn parse(s: &str) -> u8".into() });
//! let ir = braid::compile(&set, &config).unwrap();
//!
//! assert!(ir.grammar.as_ref().unwrap().lark.contains("FORBIDDEN"));
//! assert_eq!(ir.forbidden.len(), 2);
//! assert!(ir.conflicts.is_empty());
//! let back = braid::ConstraintIR::from_json(&ir.to_json()).unwrap();
//! assert_eq!(back, ir);
//! println!("{}", braid::explain(&ir));
//! ```
#![deny(missing_docs)]

mod analyze;
mod body;
mod checker;
mod compiler;
mod config;
mod conflict;
mod error;
mod explain;
mod grammar;
mod graph;
mod identifiers;
mod ir;
mod lang;
mod lower;
mod pattern;
mod syntax;

pub use checker::timing::{LlguidanceRun, MaskTimes, Refused, time_checker, time_llguidance};
pub use checker::{CheckError, Checker, CheckerStats, Tiktoken, TokenMask, Violation, VocabIndex, Vocabulary};
pub use compiler::{COMPILER, CompileStats, Compiler, compile, detect_conflicts};
pub use config::{BodyOptions, CompileConfig, Context, Limits, Target};
pub use conflict::compare;
pub use error::Error;
pub use explain::explain;
pub use graph::DependencyGraph;
pub use identifiers::Identifiers;
pub use ir::{
    Check, Conflict, ConflictKind, ConstraintEntry, ConstraintIR, Decider, ForbiddenString, Grammar, GrammarPart,
    IR_FORMAT, IR_VERSION, IrHash, JsonSchema, KnownSymbol, LengthBound, Origin, Outcome, RegexElement, RegexRole,
    Status, Via,
};
