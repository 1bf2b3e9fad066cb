//! One conflict test per rule type: the expected winner, loser, kind and reason; plus resolution order and strict
//! mode.
// Test cases read best with owned constraints passed straight from their constructors.
#![allow(clippy::needless_pass_by_value)]

use ananke_core::{
    Constraint, ConstraintSet, ErrorStyle, Language, LengthUnit, Member, MemberKind, NamingStyle, Param, Pattern,
    Provenance, Rule, Scope, Severity, Signature, Span, SymbolKind, TypeShape, TypeShapeKind,
};
use braid::{CompileConfig, ConflictKind, Decider, Error, Outcome, Status, Target};

fn user(rule: Rule) -> Constraint {
    Constraint::new(rule, Scope::default(), Provenance::user())
}

fn extracted(rule: Rule, confidence: f64) -> Constraint {
    Constraint::new(rule, Scope::default(), Provenance::extracted("src/lib.rs", Span::default(), confidence))
}

fn config(target: Target) -> CompileConfig {
    CompileConfig::new(Language::Rust, target)
}

fn body() -> Target {
    Target::FnBody { signature: "fn f(x: u8) -> u8".into() }
}

/// Compiles `winner` and `loser` (in both insertion orders) and checks the single conflict.
fn check(winner: Constraint, loser: Constraint, target: Target, kind: ConflictKind, decided_by: Decider, reason: &str) {
    for order in [[&winner, &loser], [&loser, &winner]] {
        let set: ConstraintSet = order.into_iter().cloned().collect();
        let ir = braid::compile(&set, &config(target.clone())).expect("compiles");
        assert_eq!(ir.conflicts.len(), 1, "{:#?}", ir.conflicts);
        let c = &ir.conflicts[0];
        assert_eq!((c.winner, c.loser), (winner.id, loser.id), "{}", c.reason);
        assert_eq!(c.kind, kind);
        assert_eq!(c.outcome, Outcome::Resolved);
        assert_eq!(c.decided_by, decided_by);
        assert!(c.reason.contains(reason), "reason {:?} lacks {reason:?}", c.reason);
        assert_eq!(ir.entry(loser.id).unwrap().status, Status::Overridden { by: winner.id });
        assert!(matches!(ir.entry(winner.id).unwrap().status, Status::Enforced { .. }));
    }
}

#[test]
fn naming() {
    check(
        user(Rule::Naming { target: SymbolKind::Function, style: NamingStyle::SnakeCase }),
        extracted(Rule::Naming { target: SymbolKind::Function, style: NamingStyle::CamelCase }, 0.9),
        body(),
        ConflictKind::Naming,
        Decider::Provenance,
        "function names: snake_case vs camelCase; user-declared beats extracted",
    );
}

fn sig(ty: &str) -> Signature {
    Signature {
        name: "parse".into(),
        params: vec![Param { name: "x".into(), ty: ty.into() }],
        has_body: true,
        ..Signature::default()
    }
}

#[test]
fn signature() {
    check(
        extracted(Rule::Signature(sig("u16")), 1.0),
        extracted(Rule::Signature(sig("u8")), 0.5),
        Target::Item,
        ConflictKind::Signature,
        Decider::Confidence,
        "two signatures for `parse`: `fn parse(x: u16)` vs `fn parse(x: u8)`; confidence 1.00 beats 0.50",
    );
}

#[test]
fn type_shape() {
    let shape = |n: usize| TypeShape {
        name: "Config".into(),
        kind: TypeShapeKind::Struct,
        members: (0..n)
            .map(|i| Member { name: format!("f{i}"), kind: MemberKind::Field, ty: Some("u8".into()) })
            .collect(),
        ..TypeShape::default()
    };
    check(
        extracted(Rule::TypeShape(shape(2)), 1.0).with_severity(Severity::Error),
        extracted(Rule::TypeShape(shape(3)), 1.0).with_severity(Severity::Warning),
        Target::Item,
        ConflictKind::TypeShape,
        Decider::Severity,
        "two shapes for struct `Config`: 2 vs 3 member(s); error beats warning",
    );
}

#[test]
fn forbid_call_against_require_pattern() {
    let scope = Scope { symbol_kind: Some(SymbolKind::Function), ..Scope::default() };
    check(
        user(Rule::ForbidCall { callee: "unwrap".into() }),
        Constraint::new(
            Rule::RequirePattern { pattern: Pattern::Regex(r"\.unwrap\(\)".into()) },
            scope,
            Provenance::extracted("a.rs", Span::default(), 1.0),
        ),
        body(),
        ConflictKind::ForbidRequire,
        Decider::Provenance,
        "can only be met by breaking forbid call `unwrap`",
    );
}

#[test]
fn forbid_pattern_against_require_pattern() {
    check(
        user(Rule::ForbidPattern { pattern: Pattern::Regex("unsafe".into()) }).with_priority(1),
        user(Rule::RequirePattern { pattern: Pattern::Regex(r"unsafe \{".into()) }),
        body(),
        ConflictKind::ForbidRequire,
        Decider::Priority,
        "priority 1 beats 0",
    );
}

#[test]
fn a_require_that_can_avoid_the_ban_is_no_conflict() {
    let set: ConstraintSet = [
        user(Rule::ForbidCall { callee: "unwrap".into() }),
        user(Rule::RequirePattern { pattern: Pattern::Regex("unwrap_or".into()) }),
    ]
    .into_iter()
    .collect();
    assert!(braid::compile(&set, &config(body())).unwrap().conflicts.is_empty());
}

#[test]
fn error_handling_no_panic_against_require() {
    check(
        user(Rule::ErrorHandling { style: ErrorStyle::NoPanic }),
        extracted(Rule::RequirePattern { pattern: Pattern::Regex(r"panic!\(".into()) }, 1.0),
        body(),
        ConflictKind::ForbidRequire,
        Decider::Provenance,
        "can only be met by breaking error handling",
    );
}

#[test]
fn import_allow_against_forbid() {
    check(
        user(Rule::ImportForbid { modules: vec!["std".into()] }),
        extracted(Rule::ImportAllow { modules: vec!["std::process".into()] }, 1.0),
        body(),
        ConflictKind::Import,
        Decider::Provenance,
        "module `std` is both allowed and forbidden",
    );
    // Allowing a parent and forbidding a child is a refinement, not a conflict.
    let set: ConstraintSet = [
        user(Rule::ImportAllow { modules: vec!["std".into()] }),
        user(Rule::ImportForbid { modules: vec!["std::process".into()] }),
    ]
    .into_iter()
    .collect();
    assert!(braid::compile(&set, &config(body())).unwrap().conflicts.is_empty());
}

#[test]
fn error_handling_styles() {
    check(
        user(Rule::ErrorHandling { style: ErrorStyle::Result }),
        extracted(Rule::ErrorHandling { style: ErrorStyle::Exceptions }, 0.8),
        body(),
        ConflictKind::ErrorHandling,
        Decider::Provenance,
        "error handling result and exceptions exclude each other",
    );
}

#[test]
fn length() {
    check(
        user(Rule::Length { unit: LengthUnit::Lines, min: None, max: Some(10) }),
        extracted(Rule::Length { unit: LengthUnit::Lines, min: Some(20), max: None }, 0.7),
        body(),
        ConflictKind::Length,
        Decider::Provenance,
        "at least 20 lines and at most 10 lines exclude each other",
    );
}

#[test]
fn regex() {
    check(
        user(Rule::Regex { pattern: "[a-z]+".into() }),
        extracted(Rule::Regex { pattern: "[0-9]+".into() }, 1.0),
        body(),
        ConflictKind::Regex,
        Decider::Provenance,
        "/[a-z]+/ and /[0-9]+/ have no string in common",
    );
}

#[test]
fn regex_past_the_size_bound_is_undecided() {
    let set: ConstraintSet =
        [user(Rule::Regex { pattern: "[a-z]{300}".into() }), user(Rule::Regex { pattern: "(?:a|b){300}".into() })]
            .into_iter()
            .collect();
    let mut cfg = config(body());
    cfg.limits.regex_product_states = 10;
    let ir = braid::compile(&set, &cfg).unwrap();
    assert_eq!(ir.conflicts.len(), 1);
    assert_eq!(ir.conflicts[0].outcome, Outcome::Undecided);
    assert!(ir.constraints.iter().all(|e| matches!(e.status, Status::Enforced { .. })), "both are kept");
    // Undecided is not a conflict for strict mode.
    assert!(braid::compile(&set, &cfg.strict(true)).is_ok());
}

#[test]
fn grammar() {
    check(
        user(Rule::Grammar { lark: "start: \"a\"".into() }).with_severity(Severity::Error),
        user(Rule::Grammar { lark: "start: \"b\"".into() }).with_severity(Severity::Info),
        body(),
        ConflictKind::Grammar,
        Decider::Severity,
        "grammars cannot be intersected",
    );
}

#[test]
fn json_schema() {
    check(
        user(Rule::JsonSchema { schema: serde_json::json!({"type": "object"}) }),
        extracted(Rule::JsonSchema { schema: serde_json::json!({"type": "array"}) }, 1.0),
        Target::Json,
        ConflictKind::JsonSchema,
        Decider::Provenance,
        "top-level types object and array exclude each other",
    );
}

#[test]
fn ties_are_broken_by_id() {
    let a = user(Rule::Naming { target: SymbolKind::Type, style: NamingStyle::PascalCase });
    let b = user(Rule::Naming { target: SymbolKind::Type, style: NamingStyle::SnakeCase });
    let (winner, loser) = if a.id < b.id { (a, b) } else { (b, a) };
    check(winner, loser, body(), ConflictKind::Naming, Decider::Id, "equal standing, the smaller id is kept");
}

#[test]
fn strict_mode_makes_conflicts_errors() {
    let set: ConstraintSet = [
        user(Rule::Naming { target: SymbolKind::Function, style: NamingStyle::SnakeCase }),
        extracted(Rule::Naming { target: SymbolKind::Function, style: NamingStyle::CamelCase }, 0.9),
    ]
    .into_iter()
    .collect();
    match braid::compile(&set, &config(body()).strict(true)) {
        Err(Error::Conflicts(conflicts)) => assert_eq!(conflicts.len(), 1),
        other => panic!("expected a conflict error, got {other:?}"),
    }
}

#[test]
fn invalid_input_is_an_error() {
    let set: ConstraintSet = [user(Rule::ForbidPattern { pattern: Pattern::Regex("(".into()) })].into_iter().collect();
    assert!(matches!(braid::compile(&set, &config(body())), Err(Error::InvalidPattern { .. })));
    let set: ConstraintSet = [user(Rule::ForbidPattern { pattern: Pattern::Regex("a*".into()) })].into_iter().collect();
    assert!(matches!(braid::compile(&set, &config(body())), Err(Error::InvalidPattern { .. })));
    let empty = ConstraintSet::new();
    assert!(matches!(
        braid::compile(&empty, &config(Target::FnBody { signature: "nope".into() })),
        Err(Error::UnknownSignature { .. })
    ));
    assert!(matches!(
        braid::compile(&empty, &CompileConfig::new(Language::Python, Target::Item)),
        Err(Error::UnsupportedTarget { .. })
    ));
}
