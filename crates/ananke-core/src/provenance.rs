//! Where a constraint came from: extracted from code (with a span), declared by a user, or a built-in default.

use serde::{Deserialize, Serialize};

/// A region of a source file. Lines and columns are 1-based; columns count bytes, as tree-sitter does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start_byte: u32,
    /// Byte offset one past the last byte.
    pub end_byte: u32,
    /// 1-based line of the first byte.
    pub start_line: u32,
    /// 1-based byte column of the first byte.
    pub start_column: u32,
    /// 1-based line of the last byte.
    pub end_line: u32,
    /// 1-based byte column one past the last byte.
    pub end_column: u32,
}

/// A span in a named file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    /// The file's path as given to the extractor (relative to where the run started, `/` separated).
    pub file: String,
    /// The region in the file.
    pub span: Span,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.span.start_line, self.span.start_column)
    }
}

/// Details of an extracted constraint's origin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    /// The first place (in path, then byte order) the evidence was found.
    pub location: Location,
    /// How sure the extractor is, in `[0, 1]`: 1 for a fact read off the code (a signature), the share of
    /// conforming cases for a mined convention.
    pub confidence: f64,
    /// How many times the evidence was seen (merging equal constraints adds their frequencies).
    pub frequency: u32,
}

/// Details of a user-declared constraint's origin.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserOrigin {
    /// The file the rule was declared in (`ananke.toml`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The 1-based line of the declaration, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// Where a constraint came from. Conflict resolution prefers user-declared over extracted over default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Provenance {
    /// Read off source code by an extractor.
    Extracted(Extracted),
    /// Declared by a user (configuration file or library call).
    User(UserOrigin),
    /// A built-in default rule.
    Default,
}

impl Provenance {
    /// Extracted from one place, seen once, with the given confidence.
    pub fn extracted(file: impl Into<String>, span: Span, confidence: f64) -> Self {
        Provenance::Extracted(Extracted {
            location: Location { file: file.into(), span },
            confidence: confidence.clamp(0.0, 1.0),
            frequency: 1,
        })
    }

    /// Declared by a user, with no file attached.
    pub fn user() -> Self {
        Provenance::User(UserOrigin::default())
    }

    /// Rank for conflict resolution: user (2) over extracted (1) over default (0).
    pub fn rank(&self) -> u8 {
        match self {
            Provenance::User(_) => 2,
            Provenance::Extracted(_) => 1,
            Provenance::Default => 0,
        }
    }

    /// The confidence: extracted constraints carry one; declared and default constraints are certain.
    pub fn confidence(&self) -> f64 {
        match self {
            Provenance::Extracted(e) => e.confidence,
            Provenance::User(_) | Provenance::Default => 1.0,
        }
    }

    /// The source location, if the constraint was extracted.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Provenance::Extracted(e) => Some(&e.location),
            Provenance::User(_) | Provenance::Default => None,
        }
    }

    /// Folds another provenance of the same constraint into this one. User beats extracted beats default; two
    /// extracted provenances add their frequencies, keep the first location and the higher confidence.
    pub fn merge(&mut self, other: Provenance) {
        match (&mut *self, other) {
            (Provenance::Extracted(mine), Provenance::Extracted(theirs)) => {
                mine.frequency = mine.frequency.saturating_add(theirs.frequency);
                mine.confidence = mine.confidence.max(theirs.confidence);
                if theirs.location < mine.location {
                    mine.location = theirs.location;
                }
            }
            (mine, theirs) if theirs.rank() > mine.rank() => *mine = theirs,
            _ => {}
        }
    }
}
