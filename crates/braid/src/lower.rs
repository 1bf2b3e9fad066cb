//! Lowering one constraint to its IR fragment, given its analysis and its resolved status.

use ananke_core::{Constraint, ConstraintId, ErrorStyle, LengthUnit, Pattern, Rule, SymbolKind, TypeShape};

use crate::analyze::{Analysis, DepKey};
use crate::config::{CompileConfig, Target};
use crate::ir::{ConstraintEntry, Origin, RegexRole, Status, Via};
use crate::pattern::Unusable;

/// What one constraint contributes to the IR.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Fragment {
    /// Whether the constraint's analyzed bans ([`Analysis::bans`]) reach the IR.
    pub bans: bool,
    pub regexes: Vec<(RegexRole, String)>,
    pub length: Option<(LengthUnit, Option<u64>, Option<u64>)>,
    pub check: Option<String>,
    pub symbol: Option<(String, SymbolKind, String, Vec<ConstraintId>)>,
    pub lark: Option<String>,
    pub schema: Option<serde_json::Value>,
    /// This constraint is the target's signature.
    pub header: bool,
}

/// What lowering needs besides the constraint.
pub(crate) struct LowerContext<'a> {
    pub config: &'a CompileConfig,
    /// The signature constraints the fn-body header came from.
    pub header_sources: &'a [ConstraintId],
    /// A user grammar replaces the generated one.
    pub user_grammar: bool,
    /// Providers of dependency keys (sorted ids).
    pub providers: &'a crate::compiler::KeyMap<DepKey, Vec<ConstraintId>>,
}

/// Lowers a constraint that applies and was not overridden; returns the fragment and the IR parts it reached.
pub(crate) fn lower(c: &Constraint, analysis: &Analysis, cx: &LowerContext<'_>) -> (Fragment, Vec<Via>) {
    let mut f = Fragment::default();
    let mut via = Vec::new();
    let code = !matches!(cx.config.target, Target::Json);
    let built_grammar = code && !cx.user_grammar;
    let ban = |f: &mut Fragment, via: &mut Vec<Via>| {
        if !analysis.bans.is_empty() {
            f.bans = true;
            via.push(Via::Forbidden);
            if built_grammar {
                via.push(Via::Grammar);
            }
        }
    };
    match &c.rule {
        Rule::Signature(sig) => {
            if cx.header_sources.contains(&c.id) {
                f.header = true;
                via.push(Via::Grammar);
            } else {
                let path = c.scope.symbol.clone().unwrap_or_else(|| sig.name.clone());
                f.symbol = Some((path, SymbolKind::Function, sig.header(), uses(analysis, c.id, cx)));
                via.push(Via::Symbol);
            }
        }
        Rule::TypeShape(shape) => {
            let path = c.scope.symbol.clone().unwrap_or_else(|| shape.name.clone());
            f.symbol = Some((path, SymbolKind::Type, shape_summary(shape), uses(analysis, c.id, cx)));
            via.push(Via::Symbol);
        }
        Rule::Naming { target, style } => {
            f.regexes.push((RegexRole::Identifier { symbol_kind: *target }, style.regex().to_owned()));
            via.push(Via::Regex);
            ban(&mut f, &mut via);
            let in_item = matches!(cx.config.target, Target::Item)
                && matches!(target, SymbolKind::Function | SymbolKind::Variable | SymbolKind::Type);
            if in_item && built_grammar && !via.contains(&Via::Grammar) {
                via.push(Via::Grammar);
            }
            if analysis.bans.is_empty() && !in_item {
                f.check = Some(c.rule.describe());
                via.push(Via::Check);
            }
        }
        Rule::ForbidCall { .. } => ban(&mut f, &mut via),
        Rule::ImportForbid { .. } => {
            ban(&mut f, &mut via);
            f.check = Some(c.rule.describe());
            via.push(Via::Check);
        }
        Rule::ErrorHandling { style } => {
            if *style == ErrorStyle::NoPanic {
                ban(&mut f, &mut via);
            }
            f.check = Some(c.rule.describe());
            via.push(Via::Check);
        }
        Rule::ForbidPattern { pattern } => {
            if let (Pattern::Regex(_), Some(Ok(_))) = (pattern, &analysis.pattern) {
                ban(&mut f, &mut via);
            } else {
                f.check = Some(c.rule.describe());
                via.push(Via::Check);
            }
        }
        Rule::RequirePattern { pattern } => {
            let per_function = c.scope.symbol_kind == Some(SymbolKind::Function) || c.scope.symbol.is_some();
            match (pattern, &analysis.pattern) {
                (Pattern::Regex(_), Some(Ok(p))) if per_function && code => {
                    // A context-free body cannot count occurrences across lexemes: the regex is for the checker,
                    // and the post-generation check enforces it.
                    f.regexes.push((RegexRole::Required, p.pattern.clone()));
                    f.check = Some(c.rule.describe());
                    via.extend([Via::Regex, Via::Check]);
                }
                _ => {
                    f.check = Some(c.rule.describe());
                    via.push(Via::Check);
                }
            }
        }
        Rule::ImportAllow { .. } => {
            f.check = Some(c.rule.describe());
            via.push(Via::Check);
        }
        Rule::Length { unit, min, max } => {
            f.length = Some((*unit, *min, *max));
            via.push(Via::Length);
        }
        Rule::Grammar { lark } => {
            f.lark = Some(lark.clone());
            via.push(Via::Grammar);
        }
        Rule::JsonSchema { schema } => {
            f.schema = Some(schema.clone());
            via.push(Via::JsonSchema);
            if !cx.user_grammar {
                via.push(Via::Grammar);
            }
        }
        Rule::Regex { .. } => {
            if let Some(Ok(p)) = &analysis.pattern {
                f.regexes.push((RegexRole::Output, p.pattern.clone()));
                f.check = Some(c.rule.describe());
                via.extend([Via::Regex, Via::Check]);
            } else {
                f.check = Some(c.rule.describe());
                via.push(Via::Check);
            }
        }
    }
    via.sort_unstable();
    via.dedup();
    (f, via)
}

/// The type shapes a signature or shape depends on, by id.
fn uses(analysis: &Analysis, me: ConstraintId, cx: &LowerContext<'_>) -> Vec<ConstraintId> {
    let mut ids: Vec<ConstraintId> = analysis
        .requires
        .iter()
        .filter(|k| matches!(k, DepKey::Type(_)))
        .filter_map(|k| cx.providers.get(k))
        .flatten()
        .copied()
        .filter(|&id| id != me)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn shape_summary(shape: &TypeShape) -> String {
    let members: Vec<String> = shape
        .members
        .iter()
        .map(|m| match &m.ty {
            Some(ty) => format!("{}: {ty}", m.name),
            None => m.name.clone(),
        })
        .collect();
    let target = shape.target.as_deref().map(|t| format!(" for {t}")).unwrap_or_default();
    format!(
        "{} {}{}{target} {{ {} }}",
        shape.kind.as_str(),
        shape.name,
        shape.generics.as_deref().unwrap_or(""),
        members.join(", ")
    )
}

/// The IR entry for a constraint.
pub(crate) fn entry(c: &Constraint, status: Status) -> ConstraintEntry {
    ConstraintEntry {
        id: c.id,
        rule: c.rule.rule_type(),
        kind: c.kind,
        severity: c.severity,
        origin: match c.provenance.rank() {
            2 => Origin::User,
            1 => Origin::Extracted,
            _ => Origin::Default,
        },
        label: c.label.clone(),
        description: c.rule.describe(),
        status,
    }
}

/// Why a pattern is unusable, as a compile error, if it must be one (invalid regexes and bans of the empty string).
pub(crate) fn pattern_error(c: &Constraint, analysis: &Analysis) -> Option<crate::Error> {
    let (Rule::ForbidPattern { pattern: Pattern::Regex(pattern) }
    | Rule::RequirePattern { pattern: Pattern::Regex(pattern) }
    | Rule::Regex { pattern }) = &c.rule
    else {
        return None;
    };
    let reason = match &analysis.pattern {
        Some(Err(Unusable::Invalid(reason))) => reason.clone(),
        Some(Ok(p)) if p.matches_empty && matches!(c.rule, Rule::ForbidPattern { .. }) => {
            "it matches the empty string, so it would forbid every output".to_owned()
        }
        _ => return None,
    };
    Some(crate::Error::InvalidPattern { id: c.id, pattern: pattern.clone(), reason })
}
