//! The error type of this crate: invalid input to compilation. Conflicts are output, not errors, unless strict.

use ananke_core::ConstraintId;

use crate::ir::Conflict;

/// What can make compilation fail. A conflict between constraints is not an error (it is recorded in the IR) unless
/// [`crate::CompileConfig::strict`] is set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A constraint's regex does not parse, or cannot be enforced at all (it matches the empty string).
    #[error("constraint {id}: invalid pattern /{pattern}/: {reason}")]
    InvalidPattern {
        /// The constraint with the pattern.
        id: ConstraintId,
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The target names a function by name, and no (or more than one) signature constraint has that name.
    #[error("target signature {name:?}: {reason}")]
    UnknownSignature {
        /// The name given.
        name: String,
        /// Why it could not be resolved.
        reason: String,
    },
    /// The target is not supported for the language.
    #[error("target `{target}` is not supported for {language}")]
    UnsupportedTarget {
        /// The target's name.
        target: &'static str,
        /// The language.
        language: ananke_core::Language,
    },
    /// The configuration is unusable (for example a brace depth of 0).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Strict mode: the set has conflicts.
    #[error("{} conflict(s) between constraints (strict mode); first: {}", .0.len(), .0.first().map(std::string::ToString::to_string).unwrap_or_default())]
    Conflicts(Vec<Conflict>),
    /// An IR document could not be read.
    #[error("invalid IR document: {0}")]
    InvalidIr(String),
}
