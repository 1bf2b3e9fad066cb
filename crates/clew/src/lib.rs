//! clew reads source code and extracts the rules it follows, as typed constraints.
//!
//! It parses each file once with tree-sitter, runs the queries in `queries/<language>/*.scm` (what to extract is
//! data, not code), and walks the captured nodes in document order to give every symbol its full path and every
//! finding its context (test code or not, inside `unsafe` or not). Mining then turns the per-file results of a
//! whole codebase into a [`ConstraintSet`]: one `Signature` per function, one `TypeShape` per type, and the
//! conventions the code keeps — naming styles by majority vote, error-handling style by share, forbidden calls and
//! security rules by their absence.
//!
//! clew never touches the file system: callers hand it `(path, bytes)`. A file that is binary, not UTF-8 or full
//! of syntax errors is data, not an error: it yields [`Diagnostic`](ananke_core::Diagnostic)s and whatever could
//! be read, and never stops the other files.
//!
//! The three things to know:
//!
//! - [`extract_file`] reads one file into a [`FileExtraction`] (signatures, type shapes, imports, findings, tests,
//!   typed holes, naming and error-handling statistics, diagnostics);
//! - [`mine`] turns many [`FileExtraction`]s into a [`ConstraintSet`], with thresholds in [`MineConfig`];
//! - [`extract`] does both for a batch of [`Source`]s, in parallel with the default `parallel` feature.
//!
//! ```
//! use ananke_core::{Rule, RuleType};
//! use clew::{ExtractConfig, MineConfig, Source};
//!
//! let code = br#"
//! /// Parses a port number.
//! pub fn parse_port(text: &str) -> Result<u16, std::num::ParseIntError> {
//!     text.trim().parse()
//! }
//! "#;
//! let set = clew::extract(&[Source::new("src/net.rs", code)], &ExtractConfig::default(), &MineConfig::default());
//!
//! let signature = set.of_type(RuleType::Signature).next().unwrap();
//! assert_eq!(signature.scope.symbol.as_deref(), Some("crate::net::parse_port"));
//! let Rule::Signature(sig) = &signature.rule else { unreachable!() };
//! assert_eq!(sig.header(), "pub fn parse_port(text: &str) -> Result<u16, std::num::ParseIntError>");
//! assert!(sig.documented);
//! ```
#![deny(missing_docs)]

mod decode;
mod extraction;
mod lint;
mod mine;
mod modpath;
mod rust;
mod text;

use ananke_core::{ConstraintSet, Diagnostic, DiagnosticCode, Language, Severity};

pub use decode::decode;
pub use extraction::{ErrorStats, FileExtraction, KindNames, NameSite, NameStats, Symbol};
pub use lint::{Error, FileLint, Linter, Unchecked, check};
pub use mine::{MineConfig, mine, security_rules};

/// One input file: its path (as it should appear in results) and its raw bytes.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// The path, `/`-separated, relative to where the run started.
    pub path: &'a str,
    /// The file's bytes, not yet decoded.
    pub bytes: &'a [u8],
}

impl<'a> Source<'a> {
    /// A source from a path and bytes.
    pub fn new(path: &'a str, bytes: &'a [u8]) -> Self {
        Source { path, bytes }
    }
}

/// How files are read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtractConfig {
    /// Read every file as this language instead of deciding by extension.
    pub language: Option<Language>,
    /// How much to keep of each file.
    pub detail: Detail,
}

/// How much an extraction keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Detail {
    /// What mining needs: symbols, facts, statistics.
    #[default]
    Summary,
    /// Also every declared name with its own span, which naming rules need.
    Full,
}

/// Whether clew can extract this language.
pub fn supports(language: Language) -> bool {
    matches!(language, Language::Rust)
}

/// Parses a function header written as source (`pub fn parse(input: &str) -> Result<Ast, Error>`, with or without
/// a body or a trailing `;`) into a [`Signature`](ananke_core::Signature).
pub fn parse_signature(header: &str, language: Language) -> Result<ananke_core::Signature, String> {
    if !supports(language) {
        return Err(format!("no {language} parser yet"));
    }
    rust::parse_signature(header)
}

/// Extracts one file. Never fails: problems become diagnostics in the result.
pub fn extract_file(path: &str, bytes: &[u8], config: &ExtractConfig) -> FileExtraction {
    let language = config.language.or_else(|| Language::from_path(path));
    let size = bytes.len() as u64;
    let Some(language) = language else {
        let mut out = FileExtraction::empty(path, Language::Rust, size);
        out.diagnostics.push(unsupported(path, "skipped: no extractor for this file type (use --lang to force one)"));
        return out;
    };
    let mut out = FileExtraction::empty(path, language, size);
    if !supports(language) {
        out.diagnostics.push(unsupported(path, &format!("skipped: no {language} extractor yet")));
        return out;
    }
    match decode(path, bytes) {
        Ok(source) => {
            rust::extract(source, config.detail.into(), &mut out);
        }
        Err(diagnostic) => out.diagnostics.push(diagnostic),
    }
    out
}

fn unsupported(path: &str, message: &str) -> Diagnostic {
    Diagnostic {
        file: path.to_owned(),
        severity: Severity::Info,
        code: DiagnosticCode::UnsupportedLanguage,
        message: message.to_owned(),
        line: None,
        column: None,
    }
}

/// Extracts many files, in parallel when the `parallel` feature is on. Results are in input order.
pub fn extract_files(sources: &[Source<'_>], config: &ExtractConfig) -> Vec<FileExtraction> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        sources.par_iter().map(|s| extract_file(s.path, s.bytes, config)).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        sources.iter().map(|s| extract_file(s.path, s.bytes, config)).collect()
    }
}

/// Extracts many files and mines them into one constraint set.
pub fn extract(sources: &[Source<'_>], config: &ExtractConfig, mine_config: &MineConfig) -> ConstraintSet {
    mine(extract_files(sources, config), mine_config)
}
