//! Text for people: why each construct is required or banned, and what became of each constraint.

use std::collections::HashMap;
use std::fmt::Write as _;

use ananke_core::ConstraintId;

use crate::ir::{ConstraintIR, Outcome, Status};

/// Renders an IR as a readable report: the target, what is banned and required and by which constraints, the
/// conflicts and how they were resolved, cycles, and one line per constraint with its status.
pub fn explain(ir: &ConstraintIR) -> String {
    let mut out = String::new();
    let names: HashMap<ConstraintId, String> = ir
        .constraints
        .iter()
        .map(|e| (e.id, e.label.as_ref().map_or_else(|| e.id.to_string(), |l| format!("{l} ({})", e.id))))
        .collect();
    let name = |id: &ConstraintId| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let list = |ids: &[ConstraintId]| ids.iter().map(&name).collect::<Vec<_>>().join(", ");

    let _ = writeln!(out, "{} target for {} (IR {}, {})", ir.target.as_str(), ir.language, ir.hash, ir.compiler);
    if let crate::Target::FnBody { signature } = &ir.target {
        let _ = writeln!(out, "  signature: {signature}");
    }
    if !ir.forbidden.is_empty() {
        let _ = writeln!(out, "\nBanned anywhere in the generated code:");
        for f in &ir.forbidden {
            let _ = writeln!(out, "  - {}  (by {})", f.description, list(&f.sources));
        }
    }
    if !ir.regexes.is_empty() {
        let _ = writeln!(out, "\nRegexes:");
        for r in &ir.regexes {
            let what = match r.role {
                crate::RegexRole::Identifier { symbol_kind } => format!("{symbol_kind} names match"),
                crate::RegexRole::Required => "the code contains".to_owned(),
                crate::RegexRole::Output => "the whole output matches".to_owned(),
            };
            let _ = writeln!(out, "  - {} {what} /{}/  (by {})", r.name, r.pattern, list(&r.sources));
        }
    }
    if !ir.length.is_empty() {
        let _ = writeln!(out, "\nLength:");
        for l in &ir.length {
            let bound = match (l.min, l.max) {
                (Some(lo), Some(hi)) => format!("{lo}..={hi}"),
                (Some(lo), None) => format!(">= {lo}"),
                (None, Some(hi)) => format!("<= {hi}"),
                (None, None) => "any".to_owned(),
            };
            let how = if l.in_grammar { "in the grammar" } else { "by the decoding loop" };
            let _ = writeln!(out, "  - {bound} {} ({how}; by {})", l.unit, list(&l.sources));
        }
    }
    if !ir.checks.is_empty() {
        let _ = writeln!(out, "\nChecked after generation:");
        for c in &ir.checks {
            let _ = writeln!(out, "  - {}  (by {})", c.description, list(&c.sources));
        }
    }
    if !ir.conflicts.is_empty() {
        let _ = writeln!(out, "\nConflicts:");
        for c in &ir.conflicts {
            let verb = match c.outcome {
                Outcome::Resolved => "overrides",
                Outcome::Undecided => "may clash with (both kept)",
            };
            let _ = writeln!(out, "  - {} {verb} {}: {}", name(&c.winner), name(&c.loser), c.reason);
        }
    }
    if !ir.cycles.is_empty() {
        let _ = writeln!(out, "\nDependency cycles:");
        for cycle in &ir.cycles {
            let _ = writeln!(out, "  - {}", list(cycle));
        }
    }
    if !ir.symbols.is_empty() {
        let _ = writeln!(out, "\nKnown symbols: {}", ir.symbols.len());
    }
    let _ = writeln!(out, "\nConstraints ({}):", ir.constraints.len());
    for e in &ir.constraints {
        let status = match &e.status {
            Status::Enforced { via } => {
                format!("enforced via {}", via.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
            }
            Status::Overridden { by } => format!("overridden by {}", name(by)),
            Status::Inapplicable { reason } => format!("not applied: {reason}"),
        };
        let _ =
            writeln!(out, "  {} [{} {} {:?}] {}: {status}", name(&e.id), e.rule, e.severity, e.origin, e.description);
    }
    out
}
