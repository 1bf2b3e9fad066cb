//! Per-constraint analysis that does not depend on other constraints: does it apply to this compilation, which
//! conflict buckets does it join, which dependency keys does it provide and require, and what does it ban.

use ananke_core::{Constraint, ErrorStyle, LengthUnit, Pattern, Rule, Signature, SymbolKind, TypeShapeKind};

use crate::config::{CompileConfig, Target};
use crate::lang::{self, Ban};
use crate::pattern::{self, Prepared, Unusable, Use};

/// A conflict bucket: only constraints in one bucket are compared, which keeps detection near-linear.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum BucketKey {
    Naming(SymbolKind),
    Signature {
        symbol: String,
        cfg: Option<String>,
    },
    TypeShape {
        name: String,
        kind: TypeShapeKind,
        target: Option<String>,
    },
    /// Forbidden and required patterns sharing an identifier word (`unwrap`).
    Word(String),
    /// Forbidden and required patterns written identically.
    Pattern(String),
    /// Allowed and forbidden modules sharing a path (an allow joins the bucket of each of its prefixes).
    Module(String),
    ErrorHandling,
    Length(LengthUnit),
    Output,
    Grammar,
    JsonSchema,
}

/// A dependency key: a constraint that provides a key is a dependency of every constraint that requires it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum DepKey {
    /// A type by name (provided by type shapes, required by signatures and by shapes whose members name it).
    Type(String),
    /// The naming rule of a symbol kind.
    Naming(SymbolKind),
    /// A module path (provided by import rules, required by forbidden calls on paths under it).
    Module(String),
}

/// What a constraint's membership in a bucket brings to the comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// The constraint as a whole (naming, signature, shape, length, ...).
    Whole,
    /// A banned regex.
    Forbid(String),
    /// A required regex.
    Require(String),
    /// An allowed module.
    Allow,
    /// A forbidden module.
    ForbidModule,
}

/// The result of [`analyze`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Analysis {
    /// `Err(reason)` when the constraint does not apply to this compilation.
    pub applies: Result<(), String>,
    /// Buckets and what the constraint brings to each.
    pub buckets: Vec<(BucketKey, Side)>,
    /// Dependency keys provided.
    pub provides: Vec<DepKey>,
    /// Dependency keys required.
    pub requires: Vec<DepKey>,
    /// Texts the constraint bans in the generated code.
    pub bans: Vec<Ban>,
    /// The prepared pattern of a regex rule, or why it cannot be used in a grammar.
    pub pattern: Option<Result<Prepared, Unusable>>,
}

/// The resolved target of a compilation: what [`analyze`] needs to decide applicability.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TargetInfo {
    /// The function's name for a fn-body target.
    pub symbol: Option<String>,
    /// The header text for a fn-body target.
    pub header: Option<String>,
    /// Whether the target generates code (fn body, item) rather than JSON.
    pub code: bool,
}

impl TargetInfo {
    pub(crate) fn resolve(config: &CompileConfig, header: Option<String>, symbol: Option<String>) -> TargetInfo {
        TargetInfo { symbol, header, code: !matches!(config.target, Target::Json) }
    }
}

/// Whether a scope's symbol path names the target function (`parse`, `module::parse`, `Type::parse`).
fn symbol_matches(scope_symbol: &str, target: &str) -> bool {
    scope_symbol == target
        || scope_symbol.rsplit("::").next() == Some(target)
        || target.rsplit("::").next() == Some(scope_symbol)
}

/// Decides applicability from the scope (language, tests, paths, symbol) and the target.
fn applies(c: &Constraint, config: &CompileConfig, target: &TargetInfo) -> Result<(), String> {
    let scope = &c.scope;
    if !scope.admits_language(config.language) {
        let langs: Vec<&str> = scope.languages.iter().map(|l| l.as_str()).collect();
        return Err(format!("scoped to {}, compiling {}", langs.join(", "), config.language));
    }
    if !scope.tests.admits(config.context.in_test) {
        return Err(
            if config.context.in_test { "does not apply to test code" } else { "applies to test code only" }.to_owned()
        );
    }
    if let Some(path) = &config.context.path {
        if !scope.paths.is_empty() && !scope.paths.iter().any(|g| glob_match(g, path)) {
            return Err(format!("scoped to paths {}", scope.paths.join(", ")));
        }
        if let Some(g) = scope.exclude_paths.iter().find(|g| glob_match(g, path)) {
            return Err(format!("excludes path {g}"));
        }
    }
    let about_other_symbol = match (&c.rule, &scope.symbol) {
        // Signatures and shapes are about their symbol; they describe code rather than restrict the target.
        (Rule::Signature(_) | Rule::TypeShape(_), _) | (_, None) => false,
        (_, Some(symbol)) => target.symbol.as_deref().is_none_or(|t| !symbol_matches(symbol, t)),
    };
    if about_other_symbol {
        return Err(format!("scoped to `{}`", scope.symbol.as_deref().unwrap_or_default()));
    }
    let code_rule =
        !matches!(c.rule, Rule::Length { .. } | Rule::Regex { .. } | Rule::Grammar { .. } | Rule::JsonSchema { .. });
    if !target.code && code_rule {
        return Err("a rule about code; the target is a JSON value".to_owned());
    }
    if target.code && matches!(c.rule, Rule::JsonSchema { .. }) {
        return Err("applies to JSON targets only".to_owned());
    }
    Ok(())
}

/// Analyzes one constraint.
pub(crate) fn analyze(c: &Constraint, config: &CompileConfig, target: &TargetInfo) -> Analysis {
    let language = config.language;
    let mut a = Analysis {
        applies: applies(c, config, target),
        buckets: Vec::new(),
        provides: Vec::new(),
        requires: Vec::new(),
        bans: Vec::new(),
        pattern: None,
    };
    match &c.rule {
        Rule::Signature(sig) => {
            let symbol = c.scope.symbol.clone().unwrap_or_else(|| sig.name.clone());
            a.buckets.push((BucketKey::Signature { symbol, cfg: sig.cfg.clone() }, Side::Whole));
            a.requires.push(DepKey::Naming(SymbolKind::Function));
            for word in signature_type_words(sig) {
                a.requires.push(DepKey::Type(word.to_owned()));
            }
        }
        Rule::TypeShape(shape) => {
            let name = base_name(&shape.name).to_owned();
            a.buckets.push((
                BucketKey::TypeShape { name: name.clone(), kind: shape.kind, target: shape.target.clone() },
                Side::Whole,
            ));
            a.requires.push(DepKey::Naming(SymbolKind::Type));
            for member in &shape.members {
                for word in member.ty.iter().flat_map(|t| pattern::identifier_words(t)) {
                    if word != name {
                        a.requires.push(DepKey::Type(word.to_owned()));
                    }
                }
            }
            if shape.kind != TypeShapeKind::TraitImpl {
                a.provides.push(DepKey::Type(name));
            }
        }
        Rule::Naming { target: kind, style } => {
            a.buckets.push((BucketKey::Naming(*kind), Side::Whole));
            a.provides.push(DepKey::Naming(*kind));
            a.bans.extend(lang::naming_ban(language, *kind, *style));
        }
        Rule::ForbidCall { callee } => {
            let ban = lang::call_ban(language, callee);
            a.buckets.push((BucketKey::Word(ban.literal.clone()), Side::Forbid(ban.pattern.clone())));
            let path = callee.trim_end_matches('!');
            let segments: Vec<&str> = path.split("::").collect();
            for n in 1..segments.len() {
                a.requires.push(DepKey::Module(segments[..n].join("::")));
            }
            a.bans.push(ban);
        }
        Rule::ErrorHandling { style } => {
            a.buckets.push((BucketKey::ErrorHandling, Side::Whole));
            if *style == ErrorStyle::NoPanic {
                for callee in lang::panicking_calls(language) {
                    let ban = lang::call_ban(language, callee);
                    a.buckets.push((BucketKey::Word(ban.literal.clone()), Side::Forbid(ban.pattern.clone())));
                    a.bans.push(ban);
                }
            }
        }
        Rule::ForbidPattern { pattern: Pattern::Regex(re) } => {
            let prepared = pattern::prepare(re, Use::Search);
            if let Ok(p) = &prepared {
                for word in &p.words {
                    a.buckets.push((BucketKey::Word(word.clone()), Side::Forbid(p.pattern.clone())));
                }
                a.buckets.push((BucketKey::Pattern(re.clone()), Side::Forbid(p.pattern.clone())));
                a.bans.push(Ban {
                    literal: p.literal.clone(),
                    pattern: p.pattern.clone(),
                    description: format!("/{re}/"),
                });
            }
            a.pattern = Some(prepared);
        }
        Rule::RequirePattern { pattern: Pattern::Regex(re) } => {
            let prepared = pattern::prepare(re, Use::Search);
            if let Ok(p) = &prepared {
                for word in &p.words {
                    a.buckets.push((BucketKey::Word(word.clone()), Side::Require(p.pattern.clone())));
                }
                a.buckets.push((BucketKey::Pattern(re.clone()), Side::Require(p.pattern.clone())));
            }
            a.pattern = Some(prepared);
        }
        Rule::ForbidPattern { pattern: Pattern::Query(_) } | Rule::RequirePattern { pattern: Pattern::Query(_) } => {}
        Rule::ImportAllow { modules } => {
            let mut prefixes: Vec<String> = Vec::new();
            for module in modules {
                let segments: Vec<&str> = module.split("::").collect();
                for n in 1..=segments.len() {
                    prefixes.push(segments[..n].join("::"));
                }
                a.provides.push(DepKey::Module(module.clone()));
            }
            prefixes.sort_unstable();
            prefixes.dedup();
            a.buckets.extend(prefixes.into_iter().map(|p| (BucketKey::Module(p), Side::Allow)));
        }
        Rule::ImportForbid { modules } => {
            for module in modules {
                a.buckets.push((BucketKey::Module(module.clone()), Side::ForbidModule));
                a.provides.push(DepKey::Module(module.clone()));
                a.bans.push(lang::module_ban(language, module));
            }
        }
        Rule::Length { unit, .. } => a.buckets.push((BucketKey::Length(*unit), Side::Whole)),
        Rule::Grammar { .. } => a.buckets.push((BucketKey::Grammar, Side::Whole)),
        Rule::JsonSchema { .. } => a.buckets.push((BucketKey::JsonSchema, Side::Whole)),
        Rule::Regex { pattern: re } => {
            let prepared = pattern::prepare(re, Use::Whole);
            if prepared.is_ok() {
                a.buckets.push((BucketKey::Output, Side::Whole));
            }
            a.pattern = Some(prepared);
        }
    }
    a.requires.sort_unstable();
    a.requires.dedup();
    a.provides.sort_unstable();
    a.provides.dedup();
    a
}

/// The last path segment of a type name, without generics (`crate::db::Pool<T>` → `Pool`).
pub(crate) fn base_name(name: &str) -> &str {
    let name = name.split('<').next().unwrap_or(name).trim();
    name.rsplit("::").next().unwrap_or(name)
}

/// The identifier words a signature's parameter and return types mention.
pub(crate) fn signature_type_words(sig: &Signature) -> impl Iterator<Item = &str> {
    sig.params
        .iter()
        .map(|p| p.ty.as_str())
        .chain(sig.returns.as_deref())
        .flat_map(pattern::identifier_words)
        .filter(|w| w.bytes().next().is_some_and(|b| b.is_ascii_uppercase()) && *w != "Self")
}

/// Matches a gitignore-style glob against a `/`-separated path: `*` within a segment, `**` across segments, `?`
/// one character; a glob without `/` matches the file name at any depth.
pub(crate) fn glob_match(glob: &str, path: &str) -> bool {
    let glob = glob.trim_start_matches("./");
    let path = path.trim_start_matches("./");
    if !glob.contains('/') {
        let name = path.rsplit('/').next().unwrap_or(path);
        return glob_segment(glob.as_bytes(), name.as_bytes()) || glob_segments(&["**", glob], path);
    }
    let parts: Vec<&str> = glob.trim_start_matches('/').split('/').collect();
    glob_segments(&parts, path)
}

fn glob_segments(glob: &[&str], path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    match_parts(glob, &segments)
}

fn match_parts(glob: &[&str], path: &[&str]) -> bool {
    match glob.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| match_parts(rest, &path[skip..])),
        Some((first, rest)) => {
            // A trailing directory glob (`src/legacy`) also covers everything under it.
            if rest.is_empty() && path.len() > 1 && glob_segment(first.as_bytes(), path[0].as_bytes()) {
                return true;
            }
            !path.is_empty() && glob_segment(first.as_bytes(), path[0].as_bytes()) && match_parts(rest, &path[1..])
        }
    }
}

fn glob_segment(glob: &[u8], name: &[u8]) -> bool {
    match glob.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| glob_segment(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && glob_segment(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && glob_segment(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("src/**/*.rs", "src/a/b.rs"));
        assert!(glob_match("src/**/*.rs", "src/b.rs"));
        assert!(glob_match("*.rs", "src/a/b.rs"));
        assert!(glob_match("src/legacy", "src/legacy/x.rs"));
        assert!(!glob_match("src/*.rs", "src/a/b.rs"));
        assert!(!glob_match("tests/**", "src/a.rs"));
    }
}
