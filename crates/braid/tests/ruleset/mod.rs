//! The rule set the checker tests and the mask bench share (the bench includes this file by path).
#![allow(dead_code)] // each includer uses a part

use ananke_core::{Constraint, ConstraintSet, NamingStyle, Provenance, Rule, Scope, SymbolKind};

/// A user rule with the default scope.
pub fn user(rule: Rule) -> Constraint {
    Constraint::new(rule, Scope::default(), Provenance::user())
}

/// The forbidden calls of the rule set.
pub const CALLEES: [&str; 10] = [
    "unwrap",
    "expect",
    "panic!",
    "mem::transmute",
    "todo!",
    "unimplemented!",
    "unreachable!",
    "eval",
    "exec",
    "system",
];

/// Ten forbidden calls and naming rules for variables, functions (snake_case) and types (PascalCase).
pub fn rules() -> ConstraintSet {
    set_of(
        &CALLEES,
        &[
            (SymbolKind::Variable, NamingStyle::SnakeCase),
            (SymbolKind::Function, NamingStyle::SnakeCase),
            (SymbolKind::Type, NamingStyle::PascalCase),
        ],
    )
}

/// A set of user rules: these calls forbidden, these naming styles required.
pub fn set_of(callees: &[&str], naming: &[(SymbolKind, NamingStyle)]) -> ConstraintSet {
    let mut set = ConstraintSet::new();
    for callee in callees {
        set.insert(user(Rule::ForbidCall { callee: (*callee).into() }));
    }
    for &(target, style) in naming {
        set.insert(user(Rule::Naming { target, style }));
    }
    set
}
