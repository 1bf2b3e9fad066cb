//! The error type of this crate: invalid input when reading or building constraint data.

/// What can go wrong when reading a constraint set or building a constraint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not valid JSON for a constraint set.
    #[error("invalid constraint-set JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line of the error in the JSON text.
        line: usize,
        /// 1-based column of the error in the JSON text.
        column: usize,
        /// What serde_json reported.
        message: String,
    },
    /// The document is JSON but not an Ananke constraint set.
    #[error("not an Ananke constraint set: `format` is {found:?}, expected {expected:?}")]
    WrongFormat {
        /// The `format` field found in the document.
        found: String,
        /// The expected `format` value.
        expected: &'static str,
    },
    /// The document was written by a format version this build does not read.
    #[error("constraint-set format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion {
        /// The version found in the document.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A constraint carries an id that does not match its rule and scope (the file was edited by hand or corrupted).
    #[error(
        "constraint #{index} has id {found} but its rule and scope hash to {expected}; remove the `id` field to let it be recomputed"
    )]
    IdMismatch {
        /// 0-based index of the constraint in the `constraints` array.
        index: usize,
        /// The id recomputed from rule and scope.
        expected: String,
        /// The id found in the document.
        found: String,
    },
    /// A rule is structurally invalid (e.g. a length bound with neither minimum nor maximum).
    #[error("invalid rule: {0}")]
    InvalidRule(String),
}

impl Error {
    pub(crate) fn from_json(err: &serde_json::Error) -> Self {
        Error::Json { line: err.line(), column: err.column(), message: strip_position(&err.to_string()) }
    }
}

/// serde_json appends " at line L column C" to its messages; the position is already in dedicated fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}
