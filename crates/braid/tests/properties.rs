//! Property tests: compilation is deterministic and independent of input order, conflict detection is symmetric,
//! the IR round-trips through JSON, no input set panics, and incremental compilation equals a cold compile.

use ananke_core::{
    Constraint, ConstraintSet, ErrorStyle, Language, LengthUnit, Member, MemberKind, NamingStyle, Param, Pattern,
    Priority, Provenance, Rule, Scope, Severity, Signature, Span, SymbolKind, TypeShape, TypeShapeKind,
};
use braid::{CompileConfig, Compiler, ConstraintIR, Target};
use proptest::prelude::*;

const CALLEES: &[&str] = &["unwrap", "expect", "panic!", "mem::transmute", "eval", "std::process::Command::new"];
const PATTERNS: &[&str] =
    &[r"unsafe", r"\.unwrap\(\)", r"\bunsafe\b", r"todo!\(", r"[a-z]+", r"(", r"a*", r"(?m)^x", r"\?"];
const TYPES: &[&str] = &["Config", "Pool", "Vec<Config>", "u8", "&str", "Option<Pool>"];

fn rule() -> impl Strategy<Value = Rule> {
    let style = prop::sample::select(NamingStyle::ALL.to_vec());
    let kind =
        prop::sample::select(vec![SymbolKind::Function, SymbolKind::Variable, SymbolKind::Type, SymbolKind::Constant]);
    prop_oneof![
        (kind, style).prop_map(|(target, style)| Rule::Naming { target, style }),
        prop::sample::select(CALLEES).prop_map(|c| Rule::ForbidCall { callee: c.to_owned() }),
        prop::sample::select(PATTERNS).prop_map(|p| Rule::ForbidPattern { pattern: Pattern::Regex(p.to_owned()) }),
        prop::sample::select(PATTERNS).prop_map(|p| Rule::RequirePattern { pattern: Pattern::Regex(p.to_owned()) }),
        prop::sample::select(vec!["std", "std::process", "serde"])
            .prop_map(|m| Rule::ImportAllow { modules: vec![m.to_owned()] }),
        prop::sample::select(vec!["std", "std::process", "os"])
            .prop_map(|m| Rule::ImportForbid { modules: vec![m.to_owned()] }),
        prop::sample::select(vec![ErrorStyle::Result, ErrorStyle::NoPanic, ErrorStyle::Exceptions])
            .prop_map(|style| Rule::ErrorHandling { style }),
        (0u64..30, 0u64..30).prop_map(|(a, b)| Rule::Length {
            unit: LengthUnit::Lines,
            min: Some(a.min(b)),
            max: Some(a.max(b))
        }),
        (0u64..30).prop_map(|a| Rule::Length { unit: LengthUnit::Lines, min: Some(a), max: None }),
        prop::sample::select(vec!["[a-z ]+", "[0-9]+", "fn.*"]).prop_map(|p| Rule::Regex { pattern: p.to_owned() }),
        (prop::sample::select(vec!["parse", "run", "load"]), prop::sample::select(TYPES)).prop_map(|(n, t)| {
            Rule::Signature(Signature {
                name: n.to_owned(),
                params: vec![Param { name: "x".into(), ty: t.to_owned() }],
                has_body: true,
                ..Signature::default()
            })
        }),
        (prop::sample::select(vec!["Config", "Pool"]), prop::sample::select(TYPES)).prop_map(|(n, t)| Rule::TypeShape(
            TypeShape {
                name: n.to_owned(),
                kind: TypeShapeKind::Struct,
                members: vec![Member { name: "inner".into(), kind: MemberKind::Field, ty: Some(t.to_owned()) }],
                ..TypeShape::default()
            }
        )),
    ]
}

fn constraint() -> impl Strategy<Value = Constraint> {
    (
        rule(),
        any::<bool>(),
        0.0f64..1.0,
        prop::sample::select(Severity::ALL.to_vec()),
        -2i32..3,
        prop::option::of(prop::sample::select(vec![Language::Rust, Language::Python])),
    )
        .prop_map(|(rule, is_user, confidence, severity, priority, language)| {
            let provenance = if is_user {
                Provenance::user()
            } else {
                Provenance::extracted("src/lib.rs", Span::default(), confidence)
            };
            let scope = language.map(Scope::language).unwrap_or_default();
            let mut c = Constraint::new(rule, scope, provenance).with_severity(severity);
            c.priority = Priority(priority);
            c
        })
}

fn configs() -> Vec<CompileConfig> {
    vec![
        CompileConfig::new(Language::Rust, Target::FnBody { signature: "pub fn parse(x: u8) -> u8".into() }),
        CompileConfig::new(Language::Rust, Target::Item),
        CompileConfig::new(Language::Rust, Target::Json),
        CompileConfig::new(Language::Python, Target::FnBody { signature: "def parse(x):".into() }),
    ]
}

fn compile(set: &ConstraintSet, config: &CompileConfig) -> Option<ConstraintIR> {
    braid::compile(set, config).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn deterministic_and_order_independent(cs in prop::collection::vec(constraint(), 0..24), seed in any::<u64>()) {
        let set: ConstraintSet = cs.iter().cloned().collect();
        let mut shuffled = cs.clone();
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let reordered: ConstraintSet = shuffled.into_iter().collect();
        for config in configs() {
            let a = braid::compile(&set, &config).map(|ir| ir.to_json()).map_err(|e| e.to_string());
            let b = braid::compile(&set, &config).map(|ir| ir.to_json()).map_err(|e| e.to_string());
            let c = braid::compile(&reordered, &config).map(|ir| ir.to_json()).map_err(|e| e.to_string());
            prop_assert_eq!(&a, &b);
            // Errors may name a different first offender; successful IRs must be byte-identical.
            if let (Ok(a), Ok(c)) = (&a, &c) {
                prop_assert_eq!(a, c);
            } else {
                prop_assert_eq!(a.is_ok(), c.is_ok());
            }
        }
    }

    #[test]
    fn conflict_detection_is_symmetric(a in constraint(), b in constraint()) {
        let ab: ConstraintSet = [a.clone(), b.clone()].into_iter().collect();
        let ba: ConstraintSet = [b, a].into_iter().collect();
        for config in configs() {
            let x = compile(&ab, &config).map(|ir| ir.conflicts);
            let y = compile(&ba, &config).map(|ir| ir.conflicts);
            prop_assert_eq!(x, y);
        }
    }

    #[test]
    fn ir_round_trips_through_json(cs in prop::collection::vec(constraint(), 0..16)) {
        let set: ConstraintSet = cs.into_iter().collect();
        for config in configs() {
            if let Some(ir) = compile(&set, &config) {
                prop_assert_eq!(ir.compute_hash(), ir.hash);
                let back = ConstraintIR::from_json(&ir.to_json()).expect("reads back");
                prop_assert_eq!(&back, &ir);
                let pretty = ConstraintIR::from_json(&ir.to_json_pretty()).expect("reads back");
                prop_assert_eq!(&pretty, &ir);
            }
        }
    }

    #[test]
    fn incremental_equals_cold(cs in prop::collection::vec(constraint(), 0..20), edits in prop::collection::vec((any::<prop::sample::Index>(), constraint(), any::<bool>()), 1..5)) {
        for config in configs() {
            let mut set: ConstraintSet = cs.iter().cloned().collect();
            let mut compiler = Compiler::new(config.clone());
            let _ = compiler.compile(&set);
            for (index, replacement, remove) in &edits {
                let mut list: Vec<Constraint> = set.iter().cloned().collect();
                if list.is_empty() {
                    list.push(replacement.clone());
                } else {
                    let at = index.index(list.len());
                    if *remove { list.remove(at); } else { list[at] = replacement.clone(); }
                }
                set = list.into_iter().collect();
                let warm = compiler.compile(&set).map(|ir| ir.to_json()).map_err(|e| e.to_string());
                let cold = braid::compile(&set, &config).map(|ir| ir.to_json()).map_err(|e| e.to_string());
                prop_assert_eq!(warm, cold);
            }
        }
    }
}

#[test]
fn incremental_relowers_only_the_affected_constraints() {
    let mut set = ConstraintSet::new();
    for i in 0..200 {
        set.insert(Constraint::new(
            Rule::ForbidCall { callee: format!("banned_{i}") },
            Scope::default(),
            Provenance::user(),
        ));
    }
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: "fn f()".into() });
    let mut compiler = Compiler::new(config.clone());
    compiler.compile(&set).unwrap();
    assert!(compiler.stats().cold);
    set.insert(Constraint::new(Rule::ForbidCall { callee: "one_more".into() }, Scope::default(), Provenance::user()));
    let warm = compiler.compile(&set).unwrap();
    let stats = compiler.stats();
    assert!(!stats.cold);
    assert_eq!((stats.analyzed, stats.lowered), (1, 1));
    assert_eq!(warm, braid::compile(&set, &config).unwrap());
}

#[test]
fn dependency_cycles_are_reported_by_id() {
    let shape = |name: &str, member: &str| {
        Constraint::new(
            Rule::TypeShape(TypeShape {
                name: name.into(),
                kind: TypeShapeKind::Struct,
                members: vec![Member { name: "x".into(), kind: MemberKind::Field, ty: Some(member.into()) }],
                ..TypeShape::default()
            }),
            Scope::default(),
            Provenance::user(),
        )
    };
    let (a, b) = (shape("Alpha", "Box<Beta>"), shape("Beta", "Vec<Alpha>"));
    let set: ConstraintSet = [a.clone(), b.clone()].into_iter().collect();
    let ir = braid::compile(&set, &CompileConfig::new(Language::Rust, Target::Item)).unwrap();
    let mut ids = vec![a.id, b.id];
    ids.sort_unstable();
    assert_eq!(ir.cycles, vec![ids]);
}
