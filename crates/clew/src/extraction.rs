//! What extracting one file yields: symbols with their spans, per-kind naming statistics, error-handling
//! statistics, the file's facts, and diagnostics.

use ananke_core::{Diagnostic, FileFacts, Language, NamingStyle, Signature, Span, SymbolKind, TypeShape};

/// A symbol found in a file: its path, what it is, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Symbol<T> {
    /// The symbol path (`tokio::runtime::Builder::new`).
    pub path: String,
    /// The extracted item.
    pub item: T,
    /// The item's span.
    pub span: Span,
    /// Whether the item is test code.
    pub in_test: bool,
}

/// Everything extracted from one file. Turn many of these into constraints with [`crate::mine`].
#[derive(Clone, Debug, PartialEq)]
pub struct FileExtraction {
    /// Imports, findings, tests and typed holes, with the file's path and language.
    pub facts: FileFacts,
    /// Every function and method signature, nested ones included.
    pub signatures: Vec<Symbol<Signature>>,
    /// Structs, enums, unions, traits, type aliases and trait impls.
    pub shapes: Vec<Symbol<TypeShape>>,
    /// Naming statistics per symbol kind.
    pub names: NameStats,
    /// Error-handling statistics.
    pub errors: ErrorStats,
    /// Problems with the file; extraction still returns everything it could read.
    pub diagnostics: Vec<Diagnostic>,
    /// Every declared name with its span ([`crate::Detail::Full`] only).
    pub name_sites: Vec<NameSite>,
}

/// A declared name, for naming rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameSite {
    /// What the name declares.
    pub kind: SymbolKind,
    /// Where: the name's text is the source's bytes `span.start_byte..span.end_byte`.
    pub span: Span,
    /// Whether it is in test code.
    pub in_test: bool,
    /// Whether the name is dictated from elsewhere (a method of a trait impl, a foreign function), so that a
    /// naming rule cannot apply to it.
    pub dictated: bool,
}

impl FileExtraction {
    /// An extraction with no content, for files that could not be read or parsed at all.
    pub fn empty(path: &str, language: Language, bytes: u64) -> Self {
        FileExtraction {
            facts: FileFacts {
                path: path.to_owned(),
                language,
                bytes,
                module_path: None,
                imports: Vec::new(),
                findings: Vec::new(),
                tests: Vec::new(),
                holes: Vec::new(),
            },
            signatures: Vec::new(),
            shapes: Vec::new(),
            names: NameStats::default(),
            errors: ErrorStats::default(),
            diagnostics: Vec::new(),
            name_sites: Vec::new(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &str {
        &self.facts.path
    }
}

/// How names of each [`SymbolKind`] are spelled, for majority-vote convention mining.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NameStats {
    kinds: [KindNames; SymbolKind::ALL.len()],
}

/// Naming statistics for one symbol kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KindNames {
    /// Names seen.
    pub total: u32,
    /// Names conforming to each style, indexed like [`NamingStyle::ALL`].
    pub conforming: [u32; NamingStyle::ALL.len()],
    /// Names conforming to this style and no other (`parse_header` is only snake_case; `parse` is ambiguous).
    pub exclusive: [u32; NamingStyle::ALL.len()],
    /// The first conforming name of each style and its span.
    pub first: [Option<(String, Span)>; NamingStyle::ALL.len()],
    /// The file of each `first` name, once statistics of several files are merged.
    pub first_file: [Option<String>; NamingStyle::ALL.len()],
}

impl NameStats {
    /// Records one name.
    pub fn record(&mut self, kind: SymbolKind, name: &str, span: Span) {
        let name = name.strip_prefix("r#").unwrap_or(name);
        if name.trim_matches('_').is_empty() {
            return;
        }
        let stats = &mut self.kinds[kind as usize];
        stats.total += 1;
        let mut matched = [false; NamingStyle::ALL.len()];
        for (i, style) in NamingStyle::ALL.into_iter().enumerate() {
            if style.matches(name) {
                matched[i] = true;
                stats.conforming[i] += 1;
                if stats.first[i].is_none() {
                    stats.first[i] = Some((name.to_owned(), span));
                }
            }
        }
        if matched.iter().filter(|&&m| m).count() == 1 {
            let only = matched.iter().position(|&m| m).unwrap_or_default();
            stats.exclusive[only] += 1;
        }
    }

    /// Statistics for one kind.
    pub fn kind(&self, kind: SymbolKind) -> &KindNames {
        &self.kinds[kind as usize]
    }

    /// Adds the statistics of the file at `path`; first-seen names of `self` win.
    pub fn merge(&mut self, other: &NameStats, path: &str) {
        for (mine, theirs) in self.kinds.iter_mut().zip(&other.kinds) {
            mine.total += theirs.total;
            for i in 0..NamingStyle::ALL.len() {
                mine.conforming[i] += theirs.conforming[i];
                mine.exclusive[i] += theirs.exclusive[i];
                if mine.first[i].is_none() && theirs.first[i].is_some() {
                    mine.first[i].clone_from(&theirs.first[i]);
                    mine.first_file[i] = Some(path.to_owned());
                }
            }
        }
    }
}

/// How a file handles errors, counted over functions with bodies outside test code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorStats {
    /// Functions with a body, outside test code.
    pub functions: u32,
    /// Of those, functions that can fail: they return `Result`/`Option`, use `?`, or call a panicking construct.
    pub fallible: u32,
    /// Of the fallible ones, those returning a `Result`.
    pub returning_result: u32,
    /// Of the fallible ones, those returning an `Option`.
    pub returning_option: u32,
    /// `?` operators outside test code.
    pub try_operators: u32,
    /// Panicking calls (`unwrap`, `expect`, `panic!`, `todo!`, `unimplemented!`, `unreachable!`) outside tests.
    pub panicking_calls: u32,
}

impl ErrorStats {
    /// Adds another file's statistics.
    pub fn merge(&mut self, other: &ErrorStats) {
        self.functions += other.functions;
        self.fallible += other.fallible;
        self.returning_result += other.returning_result;
        self.returning_option += other.returning_option;
        self.try_operators += other.try_operators;
        self.panicking_calls += other.panicking_calls;
    }
}
