//! The typed constraint model shared by every Ananke crate.
//!
//! Ananke turns the rules a codebase follows into constraints an LLM cannot break while it writes code. This
//! crate holds the plain data those constraints are made of, and nothing else: no I/O, no parsing of source code,
//! no grammar engine. `clew` (extraction) and `braid` (compilation) both depend on it and never on each other.
//!
//! The three types to know:
//!
//! - [`Constraint`]: one typed rule with its [`ConstraintKind`], [`Severity`], [`Priority`], [`Provenance`] (where
//!   it came from, with a file span and a confidence when it was extracted), [`Scope`] (languages, symbol kind,
//!   symbol path, path globs, test code) and a [`Rule`] (what it demands, as typed data rather than prose).
//! - [`Rule`]: the typed enum of everything a constraint can say: [`Signature`]s, [`TypeShape`]s, naming styles,
//!   forbidden calls and patterns, import allow/forbid lists, error-handling style, length bounds, and the raw
//!   Lark grammar / JSON schema / regex escape hatches.
//! - [`ConstraintSet`]: constraints de-duplicated by their stable [`ConstraintId`] (xxh3-64 of a canonical encoding
//!   of rule and scope), plus per-file facts ([`FileFacts`]: imports, findings, tests, typed holes) and
//!   [`Diagnostic`]s, in a versioned JSON format.
//!
//! ```
//! use ananke_core::{Constraint, ConstraintSet, Language, Provenance, Rule, Scope, Severity};
//!
//! let rule = Rule::ForbidCall { callee: "unwrap".into() };
//! let scope = Scope::language(Language::Rust).excluding_tests();
//! let constraint = Constraint::new(rule, scope, Provenance::user())
//!     .with_severity(Severity::Error)
//!     .with_message("propagate the error with ? instead");
//!
//! let mut set = ConstraintSet::new();
//! let id = set.insert(constraint.clone());
//! assert_eq!(id, constraint.id);
//!
//! // The same rule and scope always get the same id, so inserting it again merges rather than duplicates.
//! set.insert(constraint);
//! assert_eq!(set.len(), 1);
//!
//! let json = set.to_json_pretty();
//! let back = ConstraintSet::from_json(&json).unwrap();
//! assert_eq!(back, set);
//! ```
#![deny(missing_docs)]

mod constraint;
mod error;
mod facts;
mod id;
mod naming;
mod provenance;
mod rule;
mod scope;
mod set;

pub use constraint::{Constraint, ConstraintKind, Priority, Severity};
pub use error::Error;
pub use facts::{
    Diagnostic, DiagnosticCode, FileFacts, Finding, FindingKind, Hole, Import, ImportKind, TestItem, TestKind,
    Violation,
};
pub use id::ConstraintId;
pub use naming::NamingStyle;
pub use provenance::{Extracted, Location, Provenance, Span, UserOrigin};
pub use rule::{
    ErrorStyle, LengthUnit, Member, MemberKind, Owner, OwnerKind, Param, Pattern, Rule, RuleType, Signature, TypeShape,
    TypeShapeKind,
};
pub use scope::{Language, Scope, SymbolKind, TestScope};
pub use set::{ConstraintSet, FORMAT_NAME, FORMAT_VERSION};
