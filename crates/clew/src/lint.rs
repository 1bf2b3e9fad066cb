//! Linting: checking code against a constraint set. A rule means the same thing whether it was extracted, declared
//! or checked, because the linter reads the code with the same queries extraction uses (plus call sites, names
//! and comment/literal ranges, which only linting needs) and then compares what it found with each rule.

use std::collections::HashMap;
use std::sync::Arc;

use ananke_core::{
    Constraint, ConstraintId, ConstraintSet, Diagnostic, ErrorStyle, FindingKind, ImportKind, Language, LengthUnit,
    NamingStyle, Pattern, Rule, Signature, Span, SymbolKind, TestScope, TypeShape, Violation,
};
use globset::{Glob, GlobSet, GlobSetBuilder};
use streaming_iterator::StreamingIterator;
use tree_sitter::{Query, QueryCursor};

use crate::extraction::FileExtraction;
use crate::rust::{self, HARDCODED_SECRET_QUERY, SHELL_COMMAND_QUERY, SQL_FORMAT_QUERY, UNSAFE_QUERY};
use crate::{ExtractConfig, decode, modpath, supports};

/// What can go wrong when preparing rules for linting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A constraint's regex, query or glob does not compile.
    #[error("constraint {constraint}: {message}")]
    InvalidPattern {
        /// The constraint's label or id.
        constraint: String,
        /// What is wrong with the pattern.
        message: String,
    },
}

/// A constraint the linter cannot evaluate on source files, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unchecked {
    /// The constraint.
    pub constraint: ConstraintId,
    /// Why it is not checked on files.
    pub reason: String,
}

/// The result of linting one file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileLint {
    /// Violations, in source order.
    pub violations: Vec<Violation>,
    /// Problems reading the file (not UTF-8, binary, syntax errors).
    pub diagnostics: Vec<Diagnostic>,
}

/// A constraint set prepared for checking files: regexes, queries and globs compiled once, signatures indexed by
/// symbol. Share one `Linter` across threads (it is `Sync`) to lint many files.
#[derive(Debug)]
pub struct Linter {
    rules: Vec<Prepared>,
    /// The rules checked by walking the file (all but signatures and type shapes, which are looked up by symbol).
    general: Vec<usize>,
    signatures: HashMap<String, Vec<usize>>,
    shapes: HashMap<String, Vec<usize>>,
    unchecked: Vec<Unchecked>,
    /// Whether some rule looks at declared names (only then are they collected).
    needs_names: bool,
}

#[derive(Debug)]
struct Prepared {
    constraint: Arc<Constraint>,
    /// The rule again, shared with every violation of it.
    rule: Arc<Rule>,
    scope: ScopeFilter,
    check: Check,
}

#[derive(Debug)]
enum Check {
    Call { segments: Vec<String>, is_macro: bool, finder: regex::Regex },
    Regex { regex: regex::Regex, require: bool },
    Query { query: Box<Query>, require: bool },
    Findings { kinds: &'static [FindingKind] },
    Naming { target: SymbolKind, style: NamingStyle },
    ImportAllow(AllowList),
    ImportForbid(Vec<(String, regex::Regex)>),
    ReturnsResult,
    NoPanic,
    Length { unit: LengthUnit, min: Option<u64>, max: Option<u64> },
    Signature,
    TypeShape,
}

#[derive(Debug)]
struct ScopeFilter {
    languages: Vec<Language>,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    tests: TestScope,
}

impl ScopeFilter {
    fn admits_file(&self, path: &str, language: Language, file_in_test: bool) -> bool {
        (self.languages.is_empty() || self.languages.contains(&language))
            && self.include.as_ref().is_none_or(|g| g.is_match(path))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(path))
            && (self.tests != TestScope::Exclude || !file_in_test)
    }

    fn admits_site(&self, in_test: bool) -> bool {
        self.tests.admits(in_test)
    }
}

const PANICKING: [FindingKind; 6] = [
    FindingKind::Unwrap,
    FindingKind::Expect,
    FindingKind::Panic,
    FindingKind::Todo,
    FindingKind::Unimplemented,
    FindingKind::Unreachable,
];

/// The findings behind each built-in security query (see `queries/rust/security/`).
fn builtin_query(query: &str) -> Option<&'static [FindingKind]> {
    const UNSAFE: &[FindingKind] = &[
        FindingKind::UnsafeBlock,
        FindingKind::UnsafeFn,
        FindingKind::UnsafeImpl,
        FindingKind::UnsafeTrait,
        FindingKind::RawPointerDeref,
    ];
    match query {
        q if q == UNSAFE_QUERY => Some(UNSAFE),
        q if q == SHELL_COMMAND_QUERY => Some(&[FindingKind::ShellCommand]),
        q if q == HARDCODED_SECRET_QUERY => Some(&[FindingKind::HardcodedSecret]),
        q if q == SQL_FORMAT_QUERY => Some(&[FindingKind::SqlFormat]),
        _ => None,
    }
}

fn globs(patterns: &[String], constraint: &Constraint) -> Result<Option<GlobSet>, Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        // Gitignore-style: a glob without a leading `/` or `**/` matches at any depth.
        let anchored = pattern.strip_prefix('/').map(str::to_owned);
        let full = anchored.unwrap_or_else(|| {
            if pattern.starts_with("**/") { pattern.clone() } else { format!("{{{pattern},**/{pattern}}}") }
        });
        let glob = Glob::new(&full).map_err(|e| Error::InvalidPattern {
            constraint: constraint.display_name(),
            message: format!("invalid path glob {pattern:?}: {e}"),
        })?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| Error::InvalidPattern { constraint: constraint.display_name(), message: e.to_string() })
}

/// A regex finding `word` as a whole identifier (ASCII word boundaries, so any text is scanned at full speed).
fn word_finder(word: &str, constraint: &Constraint) -> Result<regex::Regex, Error> {
    regex::Regex::new(&format!(r"(?-u:\b){}(?-u:\b)", regex::escape(word))).map_err(|e| Error::InvalidPattern {
        constraint: constraint.display_name(),
        message: format!("cannot search for `{word}`: {e}"),
    })
}

/// Splits a callee into path segments without generic arguments: `mem::transmute::<u8, i8>` → `mem`, `transmute`.
fn segments(callee: &str) -> Vec<String> {
    let mut depth = 0usize;
    let mut plain = String::with_capacity(callee.len());
    for c in callee.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    plain.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Whether a call's path and a rule's path agree on their common trailing segments (`unwrap` matches
/// `Option::unwrap`; `std::mem::transmute` matches `transmute` and `mem::transmute` but not `foo::transmute`).
fn same_callee(rule: &[String], call: &[String]) -> bool {
    // `std`, `core` and `alloc` re-export the same items: `core::mem::transmute` is `std::mem::transmute`.
    fn root(s: &str) -> &str {
        if matches!(s, "std" | "core" | "alloc") { "std" } else { s }
    }
    !rule.is_empty() && !call.is_empty() && rule.iter().rev().zip(call.iter().rev()).all(|(a, b)| root(a) == root(b))
}

impl Linter {
    /// Prepares every constraint of the set. Invalid regexes, queries and globs are errors naming the constraint.
    pub fn new(set: &ConstraintSet) -> Result<Linter, Error> {
        let mut linter = Linter {
            rules: Vec::new(),
            general: Vec::new(),
            signatures: HashMap::new(),
            shapes: HashMap::new(),
            unchecked: Vec::new(),
            needs_names: false,
        };
        for constraint in set {
            let check = match &constraint.rule {
                Rule::ForbidCall { callee } => {
                    let is_macro = callee.ends_with('!');
                    let segments = segments(callee.trim_end_matches('!'));
                    let finder = word_finder(segments.last().map_or("", String::as_str), constraint)?;
                    Check::Call { segments, is_macro, finder }
                }
                Rule::ForbidPattern { pattern } | Rule::RequirePattern { pattern } => {
                    let require = matches!(constraint.rule, Rule::RequirePattern { .. });
                    match pattern {
                        Pattern::Regex(re) => {
                            let regex = regex::Regex::new(re).map_err(|e| Error::InvalidPattern {
                                constraint: constraint.display_name(),
                                message: format!("invalid regex: {e}"),
                            })?;
                            Check::Regex { regex, require }
                        }
                        Pattern::Query(q) => match builtin_query(q) {
                            Some(kinds) if !require => Check::Findings { kinds },
                            _ => {
                                let query = Query::new(&tree_sitter_rust::LANGUAGE.into(), q).map_err(|e| {
                                    Error::InvalidPattern {
                                        constraint: constraint.display_name(),
                                        message: format!("invalid tree-sitter query for rust: {e}"),
                                    }
                                })?;
                                Check::Query { query: Box::new(query), require }
                            }
                        },
                    }
                }
                Rule::Naming { target, style } => {
                    linter.needs_names = true;
                    Check::Naming { target: *target, style: *style }
                }
                Rule::ImportAllow { modules } => Check::ImportAllow(AllowList::new(modules)),
                Rule::ImportForbid { modules } => Check::ImportForbid(
                    modules
                        .iter()
                        .map(|m| Ok((m.clone(), word_finder(m.rsplit("::").next().unwrap_or(m), constraint)?)))
                        .collect::<Result<_, Error>>()?,
                ),
                Rule::ErrorHandling { style: ErrorStyle::Result } => Check::ReturnsResult,
                Rule::ErrorHandling { style: ErrorStyle::NoPanic } => Check::NoPanic,
                Rule::ErrorHandling { style } => {
                    linter.unchecked.push(Unchecked {
                        constraint: constraint.id,
                        reason: format!("error-handling style `{}` has no Rust checker", style.as_str()),
                    });
                    continue;
                }
                Rule::Length { unit: LengthUnit::Tokens, .. } => {
                    linter.unchecked.push(Unchecked {
                        constraint: constraint.id,
                        reason: "token counts depend on the generating model's tokenizer; enforced during generation"
                            .to_owned(),
                    });
                    continue;
                }
                Rule::Length { unit, min, max } => Check::Length { unit: *unit, min: *min, max: *max },
                Rule::Signature(_) => Check::Signature,
                Rule::TypeShape(_) => Check::TypeShape,
                Rule::Grammar { .. } | Rule::JsonSchema { .. } | Rule::Regex { .. } => {
                    linter.unchecked.push(Unchecked {
                        constraint: constraint.id,
                        reason: "applies to generated output as a whole, not to source files".to_owned(),
                    });
                    continue;
                }
            };
            let scope = ScopeFilter {
                languages: constraint.scope.languages.clone(),
                include: globs(&constraint.scope.paths, constraint)?,
                exclude: globs(&constraint.scope.exclude_paths, constraint)?,
                tests: constraint.scope.tests,
            };
            let index = linter.rules.len();
            match (&check, &constraint.scope.symbol) {
                (Check::Signature, Some(symbol)) => linter.signatures.entry(symbol.clone()).or_default().push(index),
                (Check::TypeShape, Some(symbol)) => linter.shapes.entry(symbol.clone()).or_default().push(index),
                // A signature or shape without a symbol has nothing to be compared with.
                (Check::Signature | Check::TypeShape, None) => {
                    linter.unchecked.push(Unchecked {
                        constraint: constraint.id,
                        reason: "a signature or type shape needs a `symbol` scope to be checked".to_owned(),
                    });
                    continue;
                }
                _ => linter.general.push(index),
            }
            let rule = Arc::new(constraint.rule.clone());
            linter.rules.push(Prepared { constraint: Arc::new(constraint.clone()), rule, scope, check });
        }
        Ok(linter)
    }

    /// Constraints that cannot be checked on source files, with the reason.
    pub fn unchecked(&self) -> &[Unchecked] {
        &self.unchecked
    }

    /// Number of constraints the linter checks.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the linter checks no constraint at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Lints one file. Never fails: unreadable input becomes a diagnostic.
    pub fn lint_file(&self, path: &str, bytes: &[u8], config: &ExtractConfig) -> FileLint {
        let mut lint = FileLint::default();
        let language = config.language.or_else(|| Language::from_path(path));
        let Some(language) = language.filter(|l| supports(*l)) else {
            return lint;
        };
        let source = match decode(path, bytes) {
            Ok(source) => source,
            Err(diagnostic) => {
                lint.diagnostics.push(diagnostic);
                return lint;
            }
        };
        let mut x = FileExtraction::empty(path, language, bytes.len() as u64);
        let collect = rust::Collect { names: self.needs_names, shapes: !self.shapes.is_empty() };
        let tree = rust::extract(source, collect, &mut x);
        lint.diagnostics = std::mem::take(&mut x.diagnostics);
        let file_in_test = modpath::is_test_path(path);
        let ctx = FileContext::new(path, source, &x, tree, file_in_test);
        for &index in &self.general {
            let rule = &self.rules[index];
            if rule.scope.admits_file(path, language, file_in_test) {
                Self::apply(rule, &ctx, &mut lint.violations);
            }
        }
        if !self.signatures.is_empty() {
            self.check_signatures(&ctx, &mut lint.violations);
        }
        if !self.shapes.is_empty() {
            self.check_shapes(&ctx, &mut lint.violations);
        }
        lint.violations.sort_by_key(|v| (v.span.start_byte, v.span.end_byte));
        lint
    }

    fn apply(rule: &Prepared, ctx: &FileContext<'_>, out: &mut Vec<Violation>) {
        let x = ctx.extraction;
        let c = &rule.constraint;
        match &rule.check {
            Check::Call { segments: wanted, is_macro, finder } => {
                // Text first, tree second: only occurrences of the callee's last segment can be calls to it.
                for found in finder.find_iter(ctx.source) {
                    let at = found.start();
                    let Some(call) = ctx.call_at(at, found.len()) else { continue };
                    let in_test = ctx.file_in_test || ctx.in_test_region(at);
                    if call.is_macro != *is_macro || !rule.scope.admits_site(in_test) {
                        continue;
                    }
                    let matches =
                        if call.method { wanted.len() == 1 } else { same_callee(wanted, &segments(&call.callee)) };
                    if matches {
                        let what = match (call.method, call.is_macro) {
                            (true, _) => format!(".{}()", call.callee),
                            (_, true) => format!("{}!", call.callee),
                            _ => call.callee.clone(),
                        };
                        out.push(violation(rule, ctx.path, call.span, format!("call to forbidden `{what}`"), None));
                    }
                }
            }
            Check::Regex { regex, require } => {
                let mut found = false;
                for m in regex.find_iter(ctx.source) {
                    // Code only: a match that touches a comment or a string literal does not count.
                    if m.start() == m.end() || ctx.in_trivia(m.start()) || ctx.in_trivia(m.end() - 1) {
                        continue;
                    }
                    let in_test = ctx.file_in_test || ctx.in_test_region(m.start());
                    if !rule.scope.admits_site(in_test) {
                        continue;
                    }
                    found = true;
                    if *require {
                        break;
                    }
                    let span = ctx.span(m.start(), m.end());
                    let text = ctx.source.get(m.start()..m.end()).unwrap_or_default();
                    out.push(violation(
                        rule,
                        ctx.path,
                        span,
                        format!("forbidden pattern matched: `{}`", short(text)),
                        None,
                    ));
                }
                if *require && !found {
                    let message = format!("required pattern {} not found in this file", c.rule.describe());
                    out.push(violation(rule, ctx.path, ctx.span(0, 0), message, None));
                }
            }
            Check::Query { query, require } => {
                let Some(tree) = &ctx.tree else { return };
                let mut cursor = QueryCursor::new();
                let mut matches = cursor.matches(query, tree.root_node(), ctx.source.as_bytes());
                let mut found = false;
                while let Some(m) = matches.next() {
                    let Some(node) = m.captures().iter().map(|c| c.node).max_by_key(|n| n.end_byte() - n.start_byte())
                    else {
                        continue;
                    };
                    let in_test = ctx.file_in_test || ctx.in_test_region(node.start_byte());
                    if !rule.scope.admits_site(in_test) {
                        continue;
                    }
                    found = true;
                    if *require {
                        break;
                    }
                    let span = crate::text::span_of(node);
                    let text = ctx.source.get(node.byte_range()).unwrap_or_default();
                    out.push(violation(
                        rule,
                        ctx.path,
                        span,
                        format!("forbidden pattern matched: `{}`", short(text)),
                        None,
                    ));
                }
                if *require && !found {
                    let message = format!("required pattern {} not found in this file", c.rule.describe());
                    out.push(violation(rule, ctx.path, ctx.span(0, 0), message, None));
                }
            }
            Check::Findings { kinds } => {
                for finding in x.facts.findings.iter().filter(|f| kinds.contains(&f.kind)) {
                    if rule.scope.admits_site(finding.in_test) {
                        let message = finding_message(finding.kind, finding.detail.as_deref());
                        out.push(violation(rule, ctx.path, finding.span, message, None));
                    }
                }
            }
            Check::Naming { target, style } => {
                for site in x.name_sites.iter().filter(|s| s.kind == *target && !s.dictated) {
                    let name = ctx.source.get(site.span.start_byte as usize..site.span.end_byte as usize).unwrap_or("");
                    if rule.scope.admits_site(site.in_test) && !style.matches(name) {
                        let message = format!("{} name `{name}` is not {style}", target.as_str());
                        let suggestion = Some(format!("rename to `{}`", style.convert(name)));
                        out.push(violation(rule, ctx.path, site.span, message, suggestion));
                    }
                }
            }
            Check::ImportAllow(allow) => {
                let local = ctx.local_modules();
                for import in x.facts.imports.iter().filter(|i| i.kind != ImportKind::Mod) {
                    let path = import.path.trim_start_matches("::");
                    let root = path.split("::").next().unwrap_or_default();
                    let relative = matches!(root, "crate" | "self" | "super");
                    if (relative && !allow.roots.contains(root)) || local.contains(&root) {
                        continue;
                    }
                    if !allow.admits(path) && rule.scope.admits_site(ctx.file_in_test) {
                        let message = format!("import of `{path}` is outside the allowed modules");
                        out.push(violation(rule, ctx.path, ctx.line_span(import.line), message, None));
                    }
                }
            }
            Check::ImportForbid(modules) => {
                for import in x.facts.imports.iter().filter(|i| i.kind != ImportKind::Mod) {
                    let path = import.path.trim_start_matches("::");
                    if let Some((m, _)) = modules.iter().find(|(m, _)| under(path, m)) {
                        let message = format!("import of `{path}` from forbidden module `{m}`");
                        out.push(violation(rule, ctx.path, ctx.line_span(import.line), message, None));
                    }
                }
                // Paths that name the module without importing it: `std::process::exit(1)`.
                let mut seen = std::collections::HashSet::new();
                for (m, finder) in modules {
                    for found in finder.find_iter(ctx.source) {
                        let at = found.start();
                        let Some((path, span)) = ctx.path_at(at, found.len()) else { continue };
                        let in_test = ctx.file_in_test || ctx.in_test_region(at);
                        let forbidden =
                            path.contains("::") && (under(&path, m) || under(&std_root(&path), &std_root(m)));
                        if forbidden && rule.scope.admits_site(in_test) && seen.insert(span.start_byte) {
                            let message = format!("use of `{path}` from forbidden module `{m}`");
                            out.push(violation(rule, ctx.path, span, message, None));
                        }
                    }
                }
            }
            Check::ReturnsResult => {
                let returns: HashMap<&str, &Signature> =
                    x.signatures.iter().map(|s| (s.path.as_str(), &s.item)).collect();
                for finding in &x.facts.findings {
                    if !matches!(finding.kind, FindingKind::Unwrap | FindingKind::Expect | FindingKind::Panic)
                        || !rule.scope.admits_site(finding.in_test)
                    {
                        continue;
                    }
                    let Some(symbol) = &finding.symbol else { continue };
                    let Some(signature) = returns.get(symbol.as_str()) else { continue };
                    let head = signature.returns.as_deref().map(crate::rust::type_head);
                    if head.is_some_and(|h| h.ends_with("Result") || h == "Option") {
                        continue;
                    }
                    let returned = signature.returns.as_deref().unwrap_or("()");
                    let message = format!(
                        "`{}` can fail here ({}) but returns `{returned}`",
                        signature.name,
                        finding.kind.as_str()
                    );
                    let suggestion = Some("return a `Result` and propagate the error with `?`".to_owned());
                    out.push(violation(rule, ctx.path, finding.span, message, suggestion));
                }
            }
            Check::NoPanic => {
                for finding in x.facts.findings.iter().filter(|f| PANICKING.contains(&f.kind)) {
                    if rule.scope.admits_site(finding.in_test) {
                        let message = format!("panicking construct `{}` outside tests", finding.kind.as_str());
                        out.push(violation(rule, ctx.path, finding.span, message, None));
                    }
                }
            }
            Check::Length { unit, min, max } => {
                let measure = |start: usize, end: usize, span: Span| -> u64 {
                    match unit {
                        LengthUnit::Lines => u64::from(span.end_line - span.start_line + 1),
                        _ => ctx.source.get(start..end).map_or(0, |t| t.chars().count() as u64),
                    }
                };
                let too = |n: u64| -> Option<String> {
                    match (min, max) {
                        (_, Some(hi)) if n > *hi => Some(format!("{n} {unit}, more than the maximum of {hi}")),
                        (Some(lo), _) if n < *lo => Some(format!("{n} {unit}, fewer than the minimum of {lo}")),
                        _ => None,
                    }
                };
                if c.scope.symbol_kind == Some(SymbolKind::Function) {
                    for sig in x.signatures.iter().filter(|s| s.item.has_body && rule.scope.admits_site(s.in_test)) {
                        let n = measure(sig.span.start_byte as usize, sig.span.end_byte as usize, sig.span);
                        if let Some(what) = too(n) {
                            let message = format!("function `{}` is {what}", sig.item.name);
                            out.push(violation(
                                rule,
                                ctx.path,
                                ctx.span(sig.span.start_byte as usize, sig.span.start_byte as usize),
                                message,
                                None,
                            ));
                        }
                    }
                } else {
                    let whole = ctx.span(0, ctx.source.len());
                    if let Some(what) = too(measure(0, ctx.source.len(), whole)) {
                        out.push(violation(rule, ctx.path, ctx.span(0, 0), format!("file is {what}"), None));
                    }
                }
            }
            // Looked up by symbol once per file (`check_signatures`, `check_shapes`), never walked.
            Check::Signature | Check::TypeShape => {}
        }
    }

    fn check_signatures(&self, ctx: &FileContext<'_>, out: &mut Vec<Violation>) {
        for found in &ctx.extraction.signatures {
            let Some(indices) = self.signatures.get(&found.path) else { continue };
            let expected: Vec<(&Prepared, &Signature)> = indices
                .iter()
                .filter_map(|&i| {
                    let rule = &self.rules[i];
                    match &rule.constraint.rule {
                        Rule::Signature(sig) if rule.scope.admits_file(ctx.path, Language::Rust, ctx.file_in_test) => {
                            Some((rule, sig))
                        }
                        _ => None,
                    }
                })
                .collect();
            if expected.is_empty() || expected.iter().any(|(_, sig)| sig.header() == found.item.header()) {
                continue;
            }
            let (rule, sig) = expected[0];
            let message = format!("`{}` has signature `{}`", found.path, found.item.header());
            let suggestion = Some(format!("the constraint requires `{}`", sig.header()));
            let span = ctx.span(found.span.start_byte as usize, found.span.start_byte as usize);
            out.push(violation(rule, ctx.path, span, message, suggestion));
        }
    }

    fn check_shapes(&self, ctx: &FileContext<'_>, out: &mut Vec<Violation>) {
        for found in &ctx.extraction.shapes {
            let Some(indices) = self.shapes.get(&found.path) else { continue };
            let expected: Vec<(&Prepared, &TypeShape)> = indices
                .iter()
                .filter_map(|&i| {
                    let rule = &self.rules[i];
                    match &rule.constraint.rule {
                        Rule::TypeShape(shape)
                            if rule.scope.admits_file(ctx.path, Language::Rust, ctx.file_in_test) =>
                        {
                            Some((rule, shape))
                        }
                        _ => None,
                    }
                })
                .collect();
            let same = |a: &TypeShape| a.kind == found.item.kind && a.members == found.item.members;
            if expected.is_empty() || expected.iter().any(|(_, shape)| same(shape)) {
                continue;
            }
            let (rule, shape) = expected[0];
            let names = |s: &TypeShape| s.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ");
            let message = format!(
                "{} `{}` has members ({}), the constraint requires ({})",
                found.item.kind.as_str(),
                found.item.name,
                names(&found.item),
                names(shape)
            );
            let span = ctx.span(found.span.start_byte as usize, found.span.start_byte as usize);
            out.push(violation(rule, ctx.path, span, message, None));
        }
    }
}

/// An import allow list, indexed: the allowed module paths (with `core` and `alloc` read as `std`) and their roots.
#[derive(Debug)]
struct AllowList {
    modules: std::collections::HashSet<String>,
    roots: std::collections::HashSet<String>,
}

impl AllowList {
    fn new(modules: &[String]) -> Self {
        let modules: std::collections::HashSet<String> = modules.iter().map(|m| std_root(m)).collect();
        let roots = modules.iter().filter_map(|m| m.split("::").next()).map(str::to_owned).collect();
        AllowList { modules, roots }
    }

    /// Whether `path` is an allowed module or inside one: some prefix of it is in the list.
    fn admits(&self, path: &str) -> bool {
        let path = std_root(path);
        path.match_indices("::")
            .map(|(at, _)| &path[..at])
            .chain(std::iter::once(path.as_str()))
            .any(|p| self.modules.contains(p))
    }
}

/// `core::x` and `alloc::x` as `std::x`: the standard library re-exports both.
fn std_root(path: &str) -> String {
    match path.split_once("::").map_or((path, ""), |(root, rest)| (root, rest)) {
        ("core" | "alloc", "") => "std".to_owned(),
        ("core" | "alloc", rest) => format!("std::{rest}"),
        _ => path.to_owned(),
    }
}

/// Whether `path` is `module` or inside it.
fn under(path: &str, module: &str) -> bool {
    path == module || path.strip_prefix(module).is_some_and(|rest| rest.starts_with("::"))
}

fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let cut = line.char_indices().nth(60).map_or(line.len(), |(i, _)| i);
    if cut < text.len() { format!("{}…", &line[..cut]) } else { line.to_owned() }
}

fn finding_message(kind: FindingKind, detail: Option<&str>) -> String {
    let what = match kind {
        FindingKind::UnsafeBlock => "unsafe block".to_owned(),
        FindingKind::UnsafeFn => "unsafe function".to_owned(),
        FindingKind::UnsafeImpl => "unsafe impl".to_owned(),
        FindingKind::UnsafeTrait => "unsafe trait".to_owned(),
        FindingKind::RawPointerDeref => "dereference of a raw pointer".to_owned(),
        FindingKind::ShellCommand => "command built from a formatted string or run through a shell".to_owned(),
        FindingKind::HardcodedSecret => "hard-coded secret".to_owned(),
        FindingKind::SqlFormat => "SQL built by string formatting".to_owned(),
        other => other.as_str().replace('_', " "),
    };
    match detail {
        Some(d) if kind == FindingKind::HardcodedSecret => format!("{what} in `{d}`"),
        _ => what,
    }
}

fn violation(p: &Prepared, file: &str, span: Span, message: String, suggestion: Option<String>) -> Violation {
    let c = &p.constraint;
    Violation {
        constraint: c.id,
        label: c.label.clone(),
        rule: Arc::clone(&p.rule),
        kind: c.kind,
        severity: c.severity,
        message,
        file: file.to_owned(),
        span,
        suggestion,
        note: c.message.clone(),
    }
}

/// What the rules of one file share: the source, its extraction, and lazily built views of them.
struct FileContext<'a> {
    path: &'a str,
    source: &'a str,
    extraction: &'a FileExtraction,
    file_in_test: bool,
    line_starts: Vec<usize>,
    tree: Option<tree_sitter::Tree>,
    test_regions: Vec<(u32, u32)>,
}

/// A call found at a callee name's position.
struct CallAt {
    /// The callee as written, whitespace removed (`mem::transmute`, `unwrap`, `panic`).
    callee: String,
    method: bool,
    is_macro: bool,
    span: Span,
}

/// Node kinds whose text is not code: comments and the insides of literals.
const TRIVIA: [&str; 10] = [
    "line_comment",
    "block_comment",
    "doc_comment",
    "outer_doc_comment_marker",
    "inner_doc_comment_marker",
    "string_literal",
    "raw_string_literal",
    "string_content",
    "escape_sequence",
    "char_literal",
];

impl<'a> FileContext<'a> {
    fn new(
        path: &'a str,
        source: &'a str,
        extraction: &'a FileExtraction,
        tree: Option<tree_sitter::Tree>,
        file_in_test: bool,
    ) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(source.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i + 1));
        let mut test_regions: Vec<(u32, u32)> =
            extraction.facts.tests.iter().map(|t| (t.span.start_byte, t.span.end_byte)).collect();
        test_regions.sort_unstable();
        FileContext { path, source, extraction, file_in_test, line_starts, tree, test_regions }
    }

    fn in_test_region(&self, at: usize) -> bool {
        self.test_regions.iter().any(|&(start, end)| start as usize <= at && at < end as usize)
    }

    /// Whether the byte at `at` lies in a comment or inside a literal.
    fn in_trivia(&self, at: usize) -> bool {
        let Some(tree) = &self.tree else { return false };
        let Some(node) = tree.root_node().descendant_for_byte_range(at, at + 1) else { return false };
        TRIVIA.contains(&node.kind()) || node.parent().is_some_and(|p| TRIVIA.contains(&p.kind()))
    }

    /// The call whose callee name is the identifier at `at..at + len`, if it is one: a function call (`f(..)`,
    /// `a::f(..)`, `f::<T>(..)`), a method call (`x.f(..)`, also inside macro arguments) or a macro (`f!(..)`).
    fn call_at(&self, at: usize, len: usize) -> Option<CallAt> {
        let tree = self.tree.as_ref()?;
        let node = tree.root_node().descendant_for_byte_range(at, at + len)?;
        if !matches!(node.kind(), "identifier" | "field_identifier") || node.byte_range() != (at..at + len) {
            return None;
        }
        let name = self.source.get(at..at + len)?.to_owned();
        let parent = node.parent()?;
        let is_field = |outer: tree_sitter::Node<'_>, field: &str, inner: tree_sitter::Node<'_>| {
            outer.child_by_field_name(field) == Some(inner)
        };
        let plain = |callee: tree_sitter::Node<'_>| -> Option<CallAt> {
            // `callee` is the function position: directly in a call, or under a turbofish.
            let holder = callee.parent()?;
            let call = if holder.kind() == "generic_function" && is_field(holder, "function", callee) {
                holder.parent().filter(|g| g.kind() == "call_expression" && is_field(*g, "function", holder))?
            } else if holder.kind() == "call_expression" && is_field(holder, "function", callee) {
                holder
            } else if holder.kind() == "macro_invocation" && is_field(holder, "macro", callee) {
                let text: String = self.source.get(callee.byte_range())?.split_whitespace().collect();
                return Some(CallAt {
                    callee: text,
                    method: false,
                    is_macro: true,
                    span: crate::text::span_of(holder),
                });
            } else {
                return None;
            };
            let text: String = self.source.get(callee.byte_range())?.split_whitespace().collect();
            Some(CallAt { callee: text, method: false, is_macro: false, span: crate::text::span_of(call) })
        };
        match parent.kind() {
            "field_expression" if is_field(parent, "field", node) => {
                let call =
                    parent.parent().filter(|g| g.kind() == "call_expression" && is_field(*g, "function", parent))?;
                Some(CallAt {
                    callee: name,
                    method: true,
                    is_macro: false,
                    span: crate::text::span_between(node, call),
                })
            }
            "scoped_identifier" if is_field(parent, "name", node) => plain(parent),
            "call_expression" | "generic_function" | "macro_invocation" => plain(node),
            "token_tree" => {
                let before = node.prev_sibling().map(|p| p.kind());
                let after = node.next_sibling();
                match (before, after.map(|a| a.kind())) {
                    (Some("."), Some("token_tree")) => {
                        let args = after?;
                        Some(CallAt {
                            callee: name,
                            method: true,
                            is_macro: false,
                            span: crate::text::span_between(node, args),
                        })
                    }
                    (_, Some("!")) => {
                        let args = after?.next_sibling().filter(|a| a.kind() == "token_tree")?;
                        Some(CallAt {
                            callee: name,
                            method: false,
                            is_macro: true,
                            span: crate::text::span_between(node, args),
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The whole path (`std::process::exit`) that the identifier at `at..at + len` is part of, outside `use`
    /// declarations, with its span.
    fn path_at(&self, at: usize, len: usize) -> Option<(String, Span)> {
        let tree = self.tree.as_ref()?;
        let node = tree.root_node().descendant_for_byte_range(at, at + len)?;
        if node.kind() != "identifier" || node.byte_range() != (at..at + len) {
            return None;
        }
        let mut top = node;
        while let Some(parent) = top.parent().filter(|p| p.kind() == "scoped_identifier") {
            top = parent;
        }
        if top.kind() != "scoped_identifier" {
            return None;
        }
        let mut ancestor = top.parent();
        while let Some(a) = ancestor {
            if matches!(a.kind(), "use_declaration" | "scoped_use_list" | "use_list" | "use_as_clause" | "use_wildcard")
            {
                return None;
            }
            if a.kind().ends_with("_item") || a.kind() == "block" {
                break;
            }
            ancestor = a.parent();
        }
        let text: String = self.source.get(top.byte_range())?.split_whitespace().collect();
        Some((text, crate::text::span_of(top)))
    }

    fn local_modules(&self) -> Vec<&'a str> {
        self.extraction
            .facts
            .imports
            .iter()
            .filter(|i| i.kind == ImportKind::Mod)
            .filter_map(|i| i.path.rsplit("::").next())
            .collect()
    }

    fn position(&self, at: usize) -> (u32, u32) {
        let line = self.line_starts.partition_point(|&s| s <= at).max(1);
        let column = at - self.line_starts[line - 1] + 1;
        (line as u32, column as u32)
    }

    fn span(&self, start: usize, end: usize) -> Span {
        let (start_line, start_column) = self.position(start);
        let (end_line, end_column) = self.position(end);
        Span { start_byte: start as u32, end_byte: end as u32, start_line, start_column, end_line, end_column }
    }

    /// The span of a whole line (1-based), without its newline.
    fn line_span(&self, line: u32) -> Span {
        let index = (line as usize).saturating_sub(1).min(self.line_starts.len() - 1);
        let start = self.line_starts[index];
        let end = self.line_starts.get(index + 1).map_or(self.source.len(), |&next| next.saturating_sub(1));
        self.span(start, end.max(start))
    }
}

/// Checks one piece of code in `language` against a constraint set, in one call. For many files, build a
/// [`Linter`] once and call [`Linter::lint_file`].
pub fn check(code: &str, language: Language, set: &ConstraintSet) -> Result<Vec<Violation>, Error> {
    let linter = Linter::new(set)?;
    let config = ExtractConfig { language: Some(language), ..ExtractConfig::default() };
    let mut diagnostics_ignored = linter.lint_file("<input>", code.as_bytes(), &config);
    Ok(std::mem::take(&mut diagnostics_ignored.violations))
}

#[cfg(test)]
mod tests {
    use super::{same_callee, segments, under};

    fn seg(s: &str) -> Vec<String> {
        segments(s)
    }

    #[test]
    fn callees_match_on_their_common_suffix() {
        assert!(same_callee(&seg("unwrap"), &seg("Option::unwrap")));
        assert!(same_callee(&seg("std::mem::transmute"), &seg("transmute")));
        assert!(same_callee(&seg("std::mem::transmute"), &seg("mem::transmute::<u8, i8>")));
        assert!(!same_callee(&seg("std::mem::transmute"), &seg("foo::transmute")));
        assert!(!same_callee(&seg("unwrap"), &seg("unwrap_or")));
        assert!(same_callee(&seg("std::mem::transmute"), &seg("core::mem::transmute")));
    }

    #[test]
    fn module_prefixes() {
        assert!(under("std::process::Command", "std::process"));
        assert!(under("std::process", "std::process"));
        assert!(!under("std::processes", "std::process"));
    }
}
