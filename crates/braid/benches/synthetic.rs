//! Synthetic constraint sets generated with a fixed seed, shared by the compile benchmark and the CPU-time example.
#![allow(dead_code)]

use ananke_core::{
    Constraint, ConstraintSet, ErrorStyle, LengthUnit, Member, MemberKind, NamingStyle, Param, Pattern, Provenance,
    Rule, Scope, Signature, Span, SymbolKind, TypeShape, TypeShapeKind,
};

/// A small xorshift generator: fixed seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One synthetic constraint, shaped like an extracted set: mostly signatures and type shapes, then forbidden calls,
/// patterns, naming and import rules, with some user-declared rules that override extracted ones.
///
/// Names (callees, types, modules, patterns) are drawn from pools that grow with the set (`pool` = 2 × n, at least
/// 200): a crate with ten times the constraints has about ten times the distinct functions and types, not ten times
/// the rules about the same few names. (A fixed pool made forbid/require collisions, and so the regex questions,
/// grow quadratically with n, which is not what extraction produces.)
fn synthetic(rng: &mut Rng, i: usize, pool: u64) -> Constraint {
    let confidence = 0.5 + (rng.below(50) as f64) / 100.0;
    let provenance = if rng.below(10) == 0 {
        Provenance::user()
    } else {
        Provenance::extracted(format!("src/m{}.rs", i % 97), Span::default(), confidence)
    };
    let ty = |rng: &mut Rng| format!("Type{}", rng.below(pool / 4));
    let rule = match rng.below(100) {
        0..40 => Rule::Signature(Signature {
            name: format!("func_{i}"),
            params: (0..rng.below(4)).map(|p| Param { name: format!("p{p}"), ty: ty(rng) }).collect(),
            returns: Some(format!("Result<{}, Error>", ty(rng))),
            visibility: Some("pub".into()),
            has_body: true,
            ..Signature::default()
        }),
        40..60 => Rule::TypeShape(TypeShape {
            name: format!("Type{i}"),
            kind: TypeShapeKind::Struct,
            members: (0..rng.below(5))
                .map(|m| Member { name: format!("field{m}"), kind: MemberKind::Field, ty: Some(ty(rng)) })
                .collect(),
            ..TypeShape::default()
        }),
        60..75 => Rule::ForbidCall { callee: format!("banned_{}", rng.below(pool)) },
        75..80 => Rule::ForbidPattern { pattern: Pattern::Regex(format!(r"\bsecret_{}\b", rng.below(pool / 2))) },
        80..85 => Rule::RequirePattern { pattern: Pattern::Regex(format!(r"banned_{}\(", rng.below(pool))) },
        85..89 => Rule::Naming {
            target: [SymbolKind::Function, SymbolKind::Variable, SymbolKind::Type][rng.below(3) as usize],
            style: NamingStyle::ALL[rng.below(4) as usize],
        },
        89..93 => Rule::ImportForbid { modules: vec![format!("crate::m{}", rng.below(pool / 8))] },
        93..96 => Rule::ImportAllow { modules: vec![format!("crate::m{}", rng.below(pool / 8))] },
        96..98 => Rule::Length { unit: LengthUnit::Lines, min: None, max: Some(20 + rng.below(200)) },
        _ => Rule::ErrorHandling { style: [ErrorStyle::Result, ErrorStyle::NoPanic][rng.below(2) as usize] },
    };
    let mut scope = Scope::default();
    if let Rule::Signature(sig) = &rule {
        scope.symbol = Some(format!("crate::m{}::{}", i % 97, sig.name));
    }
    Constraint::new(rule, scope, provenance)
}

pub fn set_of(n: usize) -> ConstraintSet {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut set = ConstraintSet::new();
    let mut i = 0;
    let pool = (2 * n as u64).max(200);
    while set.len() < n {
        set.insert(synthetic(&mut rng, i, pool));
        i += 1;
    }
    set
}
