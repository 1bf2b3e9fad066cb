//! Mining: turning the extractions of many files into a [`ConstraintSet`] — one constraint per signature and type
//! shape, and conventions decided by majority vote (naming), by share (error handling) or by absence (forbidden
//! calls, security rules).

use std::collections::BTreeSet;

use ananke_core::{
    Constraint, ConstraintKind, ConstraintSet, ErrorStyle, FindingKind, ImportKind, Language, Location, NamingStyle,
    Pattern, Provenance, Rule, Scope, Severity, Span, SymbolKind,
};

use crate::extraction::{ErrorStats, FileExtraction, NameStats};
use crate::rust;

/// Thresholds for inferring conventions.
#[derive(Clone, Debug, PartialEq)]
pub struct MineConfig {
    /// Names of a kind needed before a naming convention is inferred for it.
    pub min_names: u32,
    /// Share of conforming names needed for a naming convention.
    pub min_naming_share: f64,
    /// Non-test functions needed before the absence of a construct counts as the codebase avoiding it.
    pub min_functions_for_avoidance: u32,
    /// Fallible functions needed before an error-handling style is inferred.
    pub min_fallible_functions: u32,
    /// Emit one `Signature` constraint per function.
    pub signatures: bool,
    /// Emit one `TypeShape` constraint per type.
    pub shapes: bool,
}

impl Default for MineConfig {
    fn default() -> Self {
        MineConfig {
            min_names: 5,
            min_naming_share: 0.5,
            min_functions_for_avoidance: 5,
            min_fallible_functions: 3,
            signatures: true,
            shapes: true,
        }
    }
}

/// Panicking constructs the codebase may clearly avoid, with the callee a `ForbidCall` names.
const AVOIDABLE_CALLS: [(FindingKind, &str); 5] = [
    (FindingKind::Unwrap, "unwrap"),
    (FindingKind::Expect, "expect"),
    (FindingKind::Panic, "panic!"),
    (FindingKind::Todo, "todo!"),
    (FindingKind::Unimplemented, "unimplemented!"),
];

/// A security rule family: the findings that break it and the rule that forbids them.
struct SecurityRule {
    name: &'static str,
    kinds: &'static [FindingKind],
    rule: fn() -> Rule,
    message: &'static str,
}

const SECURITY_RULES: [SecurityRule; 5] = [
    SecurityRule {
        name: "unsafe",
        kinds: &[
            FindingKind::UnsafeBlock,
            FindingKind::UnsafeFn,
            FindingKind::UnsafeImpl,
            FindingKind::UnsafeTrait,
            FindingKind::RawPointerDeref,
        ],
        rule: || Rule::ForbidPattern { pattern: Pattern::Regex(r"\bunsafe\b".to_owned()) },
        message: "no unsafe code",
    },
    SecurityRule {
        name: "transmute",
        kinds: &[FindingKind::Transmute],
        rule: || Rule::ForbidCall { callee: "std::mem::transmute".to_owned() },
        message: "no transmute: convert with safe, checked APIs",
    },
    SecurityRule {
        name: "shell-command",
        kinds: &[FindingKind::ShellCommand],
        rule: || Rule::ForbidPattern { pattern: Pattern::Query(rust::SHELL_COMMAND_QUERY.to_owned()) },
        message: "no commands built from formatted strings or run through a shell: pass arguments separately",
    },
    SecurityRule {
        name: "hardcoded-secret",
        kinds: &[FindingKind::HardcodedSecret],
        rule: || Rule::ForbidPattern { pattern: Pattern::Query(rust::HARDCODED_SECRET_QUERY.to_owned()) },
        message: "no hard-coded secrets: read them from the environment or a secret store",
    },
    SecurityRule {
        name: "sql-format",
        kinds: &[FindingKind::SqlFormat],
        rule: || Rule::ForbidPattern { pattern: Pattern::Query(rust::SQL_FORMAT_QUERY.to_owned()) },
        message: "no SQL built by formatting: use bound parameters",
    },
];

/// The built-in security rules for a language, by name (`unsafe`, `transmute`, `shell-command`,
/// `hardcoded-secret`, `sql-format`): the same rules extraction mines, so a declared one and an extracted one are
/// the same constraint. Returns `(name, rule, message)`.
pub fn security_rules(language: Language) -> Vec<(&'static str, Rule, &'static str)> {
    match language {
        Language::Rust => SECURITY_RULES.iter().map(|r| (r.name, (r.rule)(), r.message)).collect(),
        _ => Vec::new(),
    }
}

/// Turns per-file extractions into one constraint set. Files are taken in path order, so the result does not
/// depend on the order of `files`. Takes the extractions by value: their signatures, shapes and facts move into
/// the set instead of being copied.
pub fn mine(mut files: Vec<FileExtraction>, config: &MineConfig) -> ConstraintSet {
    files.sort_by(|a, b| a.path().cmp(b.path()));

    let mut set = ConstraintSet::new();
    let rust_files: Vec<&FileExtraction> = files.iter().filter(|f| f.facts.language == Language::Rust).collect();
    if !rust_files.is_empty() {
        conventions(&rust_files, config, &mut set);
    }

    for file in files {
        let FileExtraction { facts, signatures, shapes, diagnostics, .. } = file;
        let language = facts.language;
        if config.signatures {
            for symbol in signatures {
                let scope = Scope::symbol(language, SymbolKind::Function, symbol.path);
                let provenance = Provenance::extracted(&facts.path, symbol.span, 1.0);
                set.insert(Constraint::new(Rule::Signature(symbol.item), scope, provenance));
            }
        }
        if config.shapes {
            for symbol in shapes {
                let scope = Scope::symbol(language, SymbolKind::Type, symbol.path);
                let provenance = Provenance::extracted(&facts.path, symbol.span, 1.0);
                set.insert(Constraint::new(Rule::TypeShape(symbol.item), scope, provenance));
            }
        }
        // Files no extractor could read appear only through their diagnostic.
        let unsupported = diagnostics.iter().any(|d| d.code == ananke_core::DiagnosticCode::UnsupportedLanguage);
        if !unsupported {
            set.files.push(facts);
        }
        set.diagnostics.extend(diagnostics);
    }
    set
}

/// The location of a file's start, for constraints mined from the absence of something.
fn file_start(path: &str) -> Location {
    Location {
        file: path.to_owned(),
        span: Span { start_line: 1, start_column: 1, end_line: 1, end_column: 1, ..Span::default() },
    }
}

fn provenance_at(location: Location, confidence: f64, frequency: u32) -> Provenance {
    Provenance::Extracted(ananke_core::Extracted {
        location,
        confidence: confidence.clamp(0.0, 1.0),
        frequency: frequency.max(1),
    })
}

fn conventions(files: &[&FileExtraction], config: &MineConfig, set: &mut ConstraintSet) {
    let mut names = NameStats::default();
    let mut errors = ErrorStats::default();
    for file in files {
        names.merge(&file.names, file.path());
        errors.merge(&file.errors);
    }
    let rust = Scope::language(Language::Rust);

    naming(&names, config, &rust, set);

    // Error handling: fallible functions return Result.
    if errors.fallible >= config.min_fallible_functions {
        let share = f64::from(errors.returning_result) / f64::from(errors.fallible);
        let first = files.iter().find_map(|f| {
            f.signatures
                .iter()
                .find(|s| !s.in_test && s.item.returns.as_deref().is_some_and(|r| r.contains("Result")))
                .map(|s| Location { file: f.path().to_owned(), span: s.span })
        });
        if share >= 0.5
            && let Some(location) = first
        {
            let severity = if share >= 0.9 { Severity::Warning } else { Severity::Info };
            let message = format!(
                "{} of {} fallible functions outside tests return Result ({:.0}%)",
                errors.returning_result,
                errors.fallible,
                share * 100.0
            );
            set.insert(
                Constraint::new(
                    Rule::ErrorHandling { style: ErrorStyle::Result },
                    rust.clone().excluding_tests(),
                    provenance_at(location, share, errors.returning_result),
                )
                .with_severity(severity)
                .with_message(message),
            );
        }
    }

    // Panicking calls the codebase clearly avoids outside tests.
    let Some(first_file) = files.first().map(|f| f.path()) else { return };
    if errors.functions >= config.min_functions_for_avoidance {
        let mut avoided_all = true;
        for (kind, callee) in AVOIDABLE_CALLS {
            let used = files.iter().flat_map(|f| &f.facts.findings).any(|x| x.kind == kind && !x.in_test);
            avoided_all &= !used;
            if used {
                continue;
            }
            let message =
                format!("the codebase has no `{callee}` outside tests ({} functions checked)", errors.functions);
            set.insert(
                Constraint::new(
                    Rule::ForbidCall { callee: callee.to_owned() },
                    rust.clone().excluding_tests(),
                    provenance_at(file_start(first_file), 1.0, errors.functions),
                )
                .with_severity(Severity::Warning)
                .with_message(message),
            );
        }
        if avoided_all {
            set.insert(
                Constraint::new(
                    Rule::ErrorHandling { style: ErrorStyle::NoPanic },
                    rust.clone().excluding_tests(),
                    provenance_at(file_start(first_file), 1.0, errors.functions),
                )
                .with_message("no panicking calls outside tests"),
            );
        }
    }

    security(files, &rust, set);
    imports(files, &rust, set);
}

fn naming(names: &NameStats, config: &MineConfig, scope: &Scope, set: &mut ConstraintSet) {
    for kind in SymbolKind::ALL {
        let stats = names.kind(kind);
        if stats.total < config.min_names {
            continue;
        }
        let default = rust_default_style(kind);
        let Some(best) = (0..NamingStyle::ALL.len())
            .max_by_key(|&i| (stats.conforming[i], stats.exclusive[i], NamingStyle::ALL[i] == default))
        else {
            continue;
        };
        let share = f64::from(stats.conforming[best]) / f64::from(stats.total);
        let Some((example, _)) = &stats.first[best] else { continue };
        if share < config.min_naming_share {
            continue;
        }
        let style = NamingStyle::ALL[best];
        let severity = if share >= 0.95 { Severity::Warning } else { Severity::Info };
        let message = format!(
            "{} of {} {kind} names are {style} ({:.1}%), e.g. `{example}`",
            stats.conforming[best],
            stats.total,
            share * 100.0
        );
        set.insert(
            Constraint::new(
                Rule::Naming { target: kind, style },
                scope.clone(),
                provenance_at(first_location(names, kind, best), share, stats.conforming[best]),
            )
            .with_severity(severity)
            .with_message(message),
        );
    }
}

/// Where the first conforming name of a kind was seen.
fn first_location(names: &NameStats, kind: SymbolKind, style: usize) -> Location {
    let stats = names.kind(kind);
    let span = stats.first[style].as_ref().map(|(_, s)| *s).unwrap_or_default();
    let file = stats.first_file[style].clone().unwrap_or_default();
    Location { file, span }
}

fn rust_default_style(kind: SymbolKind) -> NamingStyle {
    match kind {
        SymbolKind::Type | SymbolKind::Variant => NamingStyle::PascalCase,
        SymbolKind::Constant | SymbolKind::Static => NamingStyle::ScreamingSnakeCase,
        SymbolKind::Function | SymbolKind::Module | SymbolKind::Variable | SymbolKind::Field => NamingStyle::SnakeCase,
    }
}

fn security(files: &[&FileExtraction], scope: &Scope, set: &mut ConstraintSet) {
    let total = files.len();
    for family in &SECURITY_RULES {
        let mut count = 0u32;
        let mut files_with = 0usize;
        let mut first: Option<Location> = None;
        for file in files {
            let mut in_file = false;
            for finding in file.facts.findings.iter().filter(|f| !f.in_test && family.kinds.contains(&f.kind)) {
                count += 1;
                in_file = true;
                if first.is_none() {
                    first = Some(Location { file: file.path().to_owned(), span: finding.span });
                }
            }
            files_with += usize::from(in_file);
        }
        // Confidence is the share of files free of the construct; the rule is an error where the codebase already
        // keeps it, a warning (pointing at the first offender) where it does not.
        let confidence = (total - files_with) as f64 / total as f64;
        let (severity, location, message) = match first {
            None => (Severity::Error, file_start(files[0].path()), family.message.to_owned()),
            Some(location) => (
                Severity::Warning,
                location,
                format!("{} ({count} existing occurrence(s) in {files_with} file(s))", family.message),
            ),
        };
        set.insert(
            Constraint::new(
                (family.rule)(),
                scope.clone().excluding_tests(),
                provenance_at(location, confidence, count),
            )
            .with_kind(ConstraintKind::Security)
            .with_severity(severity)
            .with_message(message),
        );
    }
}

fn imports(files: &[&FileExtraction], scope: &Scope, set: &mut ConstraintSet) {
    // Since the 2018 edition `use child::Item;` may name a module declared in the same file: such roots are not
    // crates. (The linter applies the same rule, so an allow list mined here checks cleanly on its own code.)
    let mut roots = BTreeSet::new();
    let mut first: Option<Location> = None;
    let mut count = 0u32;
    for file in files {
        if crate::modpath::is_test_path(file.path()) {
            continue;
        }
        let local: BTreeSet<&str> = file
            .facts
            .imports
            .iter()
            .filter(|i| i.kind == ImportKind::Mod)
            .filter_map(|i| i.path.rsplit("::").next())
            .collect();
        for import in file.facts.imports.iter().filter(|i| i.kind != ImportKind::Mod) {
            let root = import.path.trim_start_matches("::").split("::").next().unwrap_or_default();
            let is_crate_name = root.starts_with(|c: char| c.is_ascii_lowercase())
                && root.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !is_crate_name || matches!(root, "crate" | "self" | "super") || local.contains(root) {
                continue;
            }
            count += 1;
            roots.insert(root.to_owned());
            if first.is_none() {
                let span = Span { start_line: import.line, end_line: import.line, ..Span::default() };
                first = Some(Location { file: file.path().to_owned(), span });
            }
        }
    }
    let Some(location) = first else { return };
    let message = format!("the codebase imports from {} crate(s)", roots.len());
    set.insert(
        Constraint::new(
            Rule::ImportAllow { modules: roots.into_iter().collect() },
            scope.clone().excluding_tests(),
            provenance_at(location, 1.0, count),
        )
        .with_severity(Severity::Info)
        .with_message(message),
    );
}
