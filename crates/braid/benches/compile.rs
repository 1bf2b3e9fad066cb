//! Compile benchmarks on synthetic constraint sets generated with a fixed seed: full compile at 10 to 10 000
//! constraints, conflict detection alone, and an incremental recompile after changing 1 constraint in 1 000.

use std::hint::black_box;

use ananke_core::{
    Constraint, ConstraintSet, ErrorStyle, Language, LengthUnit, Member, MemberKind, NamingStyle, Param, Pattern,
    Provenance, Rule, Scope, Signature, Span, SymbolKind, TypeShape, TypeShapeKind,
};
use braid::{CompileConfig, Compiler, Target};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

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
fn synthetic(rng: &mut Rng, i: usize) -> Constraint {
    let confidence = 0.5 + (rng.below(50) as f64) / 100.0;
    let provenance = if rng.below(10) == 0 {
        Provenance::user()
    } else {
        Provenance::extracted(format!("src/m{}.rs", i % 97), Span::default(), confidence)
    };
    let ty = |rng: &mut Rng| format!("Type{}", rng.below(500));
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
        60..75 => Rule::ForbidCall { callee: format!("banned_{}", rng.below(2000)) },
        75..80 => Rule::ForbidPattern { pattern: Pattern::Regex(format!(r"\bsecret_{}\b", rng.below(1000))) },
        80..85 => Rule::RequirePattern { pattern: Pattern::Regex(format!(r"banned_{}\(", rng.below(2000))) },
        85..89 => Rule::Naming {
            target: [SymbolKind::Function, SymbolKind::Variable, SymbolKind::Type][rng.below(3) as usize],
            style: NamingStyle::ALL[rng.below(4) as usize],
        },
        89..93 => Rule::ImportForbid { modules: vec![format!("crate::m{}", rng.below(300))] },
        93..96 => Rule::ImportAllow { modules: vec![format!("crate::m{}", rng.below(300))] },
        96..98 => Rule::Length { unit: LengthUnit::Lines, min: None, max: Some(20 + rng.below(200)) },
        _ => Rule::ErrorHandling { style: [ErrorStyle::Result, ErrorStyle::NoPanic][rng.below(2) as usize] },
    };
    let mut scope = Scope::default();
    if let Rule::Signature(sig) = &rule {
        scope.symbol = Some(format!("crate::m{}::{}", i % 97, sig.name));
    }
    Constraint::new(rule, scope, provenance)
}

fn set_of(n: usize) -> ConstraintSet {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut set = ConstraintSet::new();
    let mut i = 0;
    while set.len() < n {
        set.insert(synthetic(&mut rng, i));
        i += 1;
    }
    set
}

fn config() -> CompileConfig {
    CompileConfig::new(
        Language::Rust,
        Target::FnBody { signature: "pub fn handle(req: &Request) -> Result<Response, Error>".into() },
    )
}

fn full(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    for n in [10, 50, 100, 1_000, 10_000] {
        let set = set_of(n);
        let config = config();
        group.bench_with_input(BenchmarkId::from_parameter(n), &set, |b, set| {
            b.iter(|| braid::compile(black_box(set), &config).expect("compiles"));
        });
    }
    group.finish();
}

fn conflicts(c: &mut Criterion) {
    let mut group = c.benchmark_group("conflicts");
    for n in [1_000, 10_000] {
        let set = set_of(n);
        let config = config();
        group.bench_with_input(BenchmarkId::from_parameter(n), &set, |b, set| {
            b.iter(|| braid::detect_conflicts(black_box(set), &config).expect("detects"));
        });
    }
    group.finish();
}

fn incremental(c: &mut Criterion) {
    let set = set_of(1_000);
    let config = config();
    // Two versions of the set that differ in one constraint, compiled alternately.
    let victim = set.constraints()[500].id;
    let mut other = set.clone();
    other.retain(|c| c.id != victim);
    other.insert(Constraint::new(
        Rule::ForbidCall { callee: "replacement".into() },
        Scope::default(),
        Provenance::user(),
    ));
    let mut compiler = Compiler::new(config);
    compiler.compile(&set).expect("compiles");
    let mut flip = false;
    c.bench_function("incremental/1000", |b| {
        b.iter(|| {
            flip = !flip;
            compiler.compile(black_box(if flip { &other } else { &set })).expect("compiles")
        });
    });
}

criterion_group!(benches, full, conflicts, incremental);
criterion_main!(benches);
