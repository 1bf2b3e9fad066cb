//! The syntax layer of Rust fn-body targets, on real vocabularies (cl100k and o200k embedded; Llama-3.1, Qwen3
//! and the SmolLM2 GGUF from the cache when fetched, skipped with a message otherwise):
//!
//! - real bodies walk through token by token and end accepting;
//! - masks equal a brute-force reference (every token run through the automaton without memo) at every position
//!   of a sample, so the memoized, suspended walks lose nothing and admit nothing more;
//! - soundness: random walks through the allowed tokens, finishing when accepting, produce bodies that parse with
//!   `syn` and with tree-sitter-rust, contain no banned call, and never reach a state with no allowed token.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

mod ruleset;

use ananke_core::{ConstraintSet, Language, Rule};
use braid::{BodyOptions, Checker, CompileConfig, ConstraintIR, Target, Tiktoken, VocabIndex, Vocabulary};
use ruleset::{rules, user};

fn cache_dir() -> PathBuf {
    match std::env::var_os("ANANKE_CACHE") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ananke"),
    }
}

fn cl100k() -> &'static Arc<VocabIndex> {
    static V: OnceLock<Arc<VocabIndex>> = OnceLock::new();
    V.get_or_init(|| VocabIndex::new(Vocabulary::tiktoken(Tiktoken::Cl100k)))
}

fn o200k() -> &'static Arc<VocabIndex> {
    static V: OnceLock<Arc<VocabIndex>> = OnceLock::new();
    V.get_or_init(|| VocabIndex::new(Vocabulary::tiktoken(Tiktoken::O200k)))
}

fn llama3() -> Option<&'static Arc<VocabIndex>> {
    static V: OnceLock<Option<Arc<VocabIndex>>> = OnceLock::new();
    V.get_or_init(|| {
        let path = cache_dir().join("tokenizers/llama3_1/tokenizer.json");
        if let Ok(bytes) = std::fs::read(&path) {
            Some(VocabIndex::new(Vocabulary::from_tokenizer_json(&bytes).expect("reads tokenizer.json")))
        } else {
            println!("SKIPPED llama3.1: {} is absent (run scripts/fetch-tokenizers.sh)", path.display());
            None
        }
    })
    .as_ref()
}

fn smollm2() -> Option<&'static Arc<VocabIndex>> {
    static V: OnceLock<Option<Arc<VocabIndex>>> = OnceLock::new();
    V.get_or_init(|| {
        let path = cache_dir().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
        if let Ok(bytes) = std::fs::read(&path) {
            Some(VocabIndex::new(Vocabulary::from_gguf(&bytes).expect("reads the GGUF vocabulary")))
        } else {
            println!("SKIPPED smollm2: {} is absent (run scripts/fetch-model.sh)", path.display());
            None
        }
    })
    .as_ref()
}

fn vocabularies() -> Vec<(&'static str, &'static Arc<VocabIndex>)> {
    let mut out = vec![("cl100k", cl100k()), ("o200k", o200k())];
    if let Some(v) = llama3() {
        out.push(("llama3.1", v));
    }
    if let Some(v) = smollm2() {
        out.push(("smollm2", v));
    }
    out
}

fn tokenize(index: &VocabIndex, text: &str) -> Vec<u32> {
    index.encode(text)
}

const HEADER: &str = "pub fn parse_port(text: &str) -> Result<u16, String>";
const BODY: &str = "{\n    // Parse \"host:port\" or a bare port; braces: \"{\" '}'\n    let trimmed_text = text.trim();\n    let digits = match trimmed_text.rsplit_once(':') {\n        Some((_, port)) => port,\n        None => trimmed_text,\n    };\n    if digits.is_empty() {\n        return Err(format!(\"empty port in {:?}\", text));\n    }\n    let value: u32 = digits.parse().map_err(|e: std::num::ParseIntError| e.to_string())?;\n    u16::try_from(value / 1).map_err(|_| \"too large\".to_owned())\n}";

fn ir(set: &ConstraintSet, header: &str) -> ConstraintIR {
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: header.into() })
        .with_body(BodyOptions::syntax());
    braid::compile(set, &config).unwrap()
}

#[test]
fn the_ir_carries_the_layer_and_a_rust_grammar() {
    let ir = ir(&rules(), HEADER);
    assert!(ir.body.syntax);
    let lark = &ir.grammar.as_ref().unwrap().lark;
    assert!(lark.contains("let_stmt:"), "{lark}");
    assert!(ir.to_json().contains("\"body\""));
    assert_eq!(braid::ConstraintIR::from_json(&ir.to_json()).unwrap(), ir);
    // Without the layer, the IR is the lexical one, hash unchanged by the new field.
    let plain =
        braid::compile(&rules(), &CompileConfig::new(Language::Rust, Target::FnBody { signature: HEADER.into() }))
            .unwrap();
    assert!(!plain.to_json().contains("\"body\""));
    assert_ne!(plain.hash, ir.hash);
}

#[test]
fn valid_bodies_walk_through_and_end_accepting() {
    let ir = ir(&rules(), HEADER);
    for (name, index) in vocabularies() {
        let mut checker = Checker::new(&ir, index).unwrap();
        assert_eq!(checker.engine(), "braid-syntax");
        let text = format!("{HEADER} {BODY}");
        let tokens = tokenize(index, &text);
        for (i, &t) in tokens.iter().enumerate() {
            let allowed = checker.compute_mask().unwrap().is_allowed(t);
            if !allowed {
                let why = checker.violation_reason(t);
                panic!(
                    "{name}: token {i} {:?} refused after {:?}: {why:?}",
                    String::from_utf8_lossy(index.vocabulary().token_bytes(t)),
                    String::from_utf8_lossy(checker.text()),
                );
            }
            checker.commit(t).unwrap();
        }
        assert!(checker.is_accepting(), "{name}");
        let eos = index.vocabulary().eos[0];
        assert!(checker.compute_mask().unwrap().is_allowed(eos));
        assert_eq!(checker.compute_mask().unwrap().count(), index.vocabulary().eos.len(), "{name}: only EOS after");
    }
}

/// At every position of the sample, the mask equals running every token through the automaton.
#[test]
fn masks_equal_brute_force() {
    let ir = ir(&rules(), HEADER);
    let text = format!("{HEADER} {BODY}");
    for (name, index) in vocabularies().into_iter().take(2) {
        let mut checker = Checker::new(&ir, index).unwrap();
        let tokens = tokenize(index, &text);
        let vocab = index.vocabulary();
        let stride = if cfg!(debug_assertions) { 9 } else { 1 };
        for (i, &t) in tokens.iter().enumerate() {
            if i % stride == 0 {
                let mask = checker.compute_mask().unwrap().clone();
                for u in 0..vocab.len() as u32 {
                    if vocab.is_special(u) {
                        continue;
                    }
                    let expected = checker.violation_reason(u).is_none();
                    assert_eq!(
                        mask.is_allowed(u),
                        expected,
                        "{name} at {i} ({:?}): token {u} {:?}",
                        String::from_utf8_lossy(checker.text()),
                        String::from_utf8_lossy(vocab.token_bytes(u))
                    );
                }
            }
            checker.commit(t).unwrap();
        }
    }
}

/// A small deterministic generator (xorshift64*), so every walk can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

/// Random walks through the allowed tokens under a token budget: every walk ends with a complete body within the
/// budget (never cut mid-statement), the body parses with `syn` and with tree-sitter-rust, and no banned call
/// appears. Tokens are drawn uniformly from the mask, a hostile model: long identifiers, deep nesting, open
/// literals; the budget alone brings each walk to a close.
#[test]
fn budgeted_random_walks_close_in_budget_and_parse() {
    let ir = ir(&rules(), HEADER);
    let walks: usize = std::env::var("BRAID_WALKS").ok().and_then(|v| v.parse().ok()).unwrap_or(12);
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_rust::LANGUAGE.into()).unwrap();
    for (name, index) in vocabularies().into_iter().take(2).chain(smollm2().map(|v| ("smollm2", v))) {
        let base = Checker::new(&ir, index).unwrap();
        let header_tokens = base.clone().forced_tokens().len() as u32;
        for w in 0..walks {
            let seed = 0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1).wrapping_mul(0x1234_5678_9ABC_DEF1);
            let mut rng = Rng(seed);
            let budget = header_tokens + 12 + (w as u32 % 6) * 14;
            let mut checker = base.clone();
            assert!(checker.set_budget(Some(budget)), "the syntax layer enforces budgets");
            let forced = checker.forced_tokens();
            for t in forced {
                checker.commit(t).unwrap();
            }
            let mut steps = 0;
            while !checker.is_accepting() {
                let mask = checker.compute_mask().unwrap();
                let allowed: Vec<u32> = mask.iter().filter(|&t| !index.vocabulary().is_special(t)).collect();
                assert!(
                    !allowed.is_empty(),
                    "{name} walk {w}: no token allowed after {:?}",
                    String::from_utf8_lossy(checker.text())
                );
                let t = allowed[rng.below(allowed.len())];
                checker.commit(t).unwrap();
                steps += 1;
                assert!(steps <= budget, "{name} walk {w}: past the budget of {budget}");
            }
            let used = checker.tokens_used().unwrap();
            let text = String::from_utf8(checker.text().to_vec()).unwrap();
            assert!(used <= budget, "{name} walk {w}: {used} tokens > budget {budget}: {text}");
            let body = &text[text.find('{').unwrap()..];
            let file = format!("fn f() {body}\n");
            assert!(syn::parse_file(&file).is_ok(), "{name} walk {w} (seed {seed}): syn rejects {body:?}");
            let tree = parser.parse(&file, None).unwrap();
            assert!(!tree.root_node().has_error(), "{name} walk {w}: tree-sitter rejects {body:?}");
            for banned in [".unwrap()", ".expect(", "panic!", "todo!", "unimplemented!"] {
                assert!(!body.contains(banned), "{name} walk {w}: {banned} in {body:?}");
            }
        }
    }
}

/// Without a budget a uniform walk rarely closes: the budget is what closes these bodies.
#[test]
fn a_budget_only_applies_near_its_end() {
    let ir = ir(&rules(), HEADER);
    let index = cl100k();
    let mut free = Checker::new(&ir, index).unwrap();
    let mut bounded = free.clone();
    bounded.set_budget(Some(10_000));
    for t in free.clone().forced_tokens() {
        free.commit(t).unwrap();
        bounded.commit(t).unwrap();
    }
    assert_eq!(free.compute_mask().unwrap().count(), bounded.compute_mask().unwrap().count());
    // A budget that leaves one token after `{`: only `}` closes the body in time.
    let mut tight = free.clone();
    tight.set_budget(Some(tight.tokens_used().unwrap() + 1));
    let mask = tight.compute_mask().unwrap().clone();
    let allowed: Vec<String> =
        mask.iter().map(|t| String::from_utf8_lossy(index.vocabulary().token_bytes(t)).into_owned()).collect();
    assert!(!allowed.is_empty());
    // Each allowed token ends the body (`}`, ` }`, `;}`, `()}`...).
    assert!(allowed.iter().all(|t| t.ends_with('}')), "{allowed:?}");
}

fn stock_set() -> ConstraintSet {
    let mut set = ConstraintSet::new();
    let shape = ananke_core::TypeShape {
        name: "Stock".into(),
        kind: ananke_core::TypeShapeKind::Struct,
        members: [("items", "Vec<String>"), ("quantities", "HashMap<String, u32>")]
            .into_iter()
            .map(|(n, ty)| ananke_core::Member {
                name: n.into(),
                kind: ananke_core::MemberKind::Field,
                ty: Some(ty.into()),
            })
            .collect(),
        ..Default::default()
    };
    set.insert(user(Rule::TypeShape(shape)));
    let restock = ananke_core::Signature {
        name: "restock".into(),
        owner: Some(ananke_core::Owner { kind: ananke_core::OwnerKind::Impl, name: "Stock".into(), trait_name: None }),
        params: vec![
            ananke_core::Param { name: "self".into(), ty: "&mut Self".into() },
            ananke_core::Param { name: "units".into(), ty: "u32".into() },
        ],
        ..Default::default()
    };
    set.insert(user(Rule::Signature(restock)));
    set
}

/// The identifier layer: parameters, locals, the set's and std's names pass; invented functions, methods and
/// members of a known type do not, nor a name no known one starts with.
#[test]
fn identifiers_that_do_not_exist_are_refused() {
    let header = "pub fn take(&mut self, sku: &str, units: u32) -> Result<u32, String>";
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: header.into() })
        .with_body(BodyOptions { syntax: true, identifiers: true, self_type: Some("Stock".into()) });
    let set = stock_set();
    let ir = braid::compile(&set, &config).unwrap();
    let index = cl100k();
    let mut checker = Checker::new(&ir, index).unwrap();
    assert!(checker.set_identifiers(Arc::new(braid::Identifiers::from_set(&set))));
    checker.commit_bytes(format!("{header} {{ let wanted = ").as_bytes()).unwrap();
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert_eq!(ok(&checker, "units;"), None, "a parameter");
    assert_eq!(ok(&checker, "sku.len();"), None, "a std method");
    assert_eq!(ok(&checker, "self.quantities.get(sku);"), None, "a field of Self's type");
    assert_eq!(ok(&checker, "self.clone();"), None, "a method every type has");
    assert_eq!(ok(&checker, "String::new();"), None, "a std path");
    assert!(ok(&checker, "saturating_take(units);").is_some(), "an invented function");
    assert!(ok(&checker, "sku.length();").unwrap().contains("length"), "an invented method");
    assert!(ok(&checker, "self.inventory;").is_some(), "not a member of Stock");
    assert!(ok(&checker, "self.saturating_").is_some(), "no member starts so");
    assert_eq!(ok(&checker, "units.satur"), None, "a prefix of saturating_sub");
    // Receivers of a known std type take that type's methods only (what it derefs to included).
    assert_eq!(ok(&checker, "units.count_ones();"), None, "an integer method");
    assert!(ok(&checker, "units.to_digit(10);").is_some(), "a char method on an integer");
    assert!(ok(&checker, "sku.push_str(\"x\");").is_some(), "a String method on a &str");
    assert_eq!(ok(&checker, "sku.as_bytes();"), None);
    // A field of Self whose type the set gives: `self.items.` is a Vec's (and a slice's) methods.
    assert_eq!(ok(&checker, "self.items.push(String::new());"), None);
    assert_eq!(ok(&checker, "self.items.first();"), None, "a slice method through Deref");
    assert!(ok(&checker, "self.items.push_str(sku);").is_some(), "not a Vec method");
    assert_eq!(ok(&checker, "self.quantities.contains_key(sku);"), None);
    assert!(ok(&checker, "self.quantities.push(1);").is_some(), "not a map method");
    // Types and modules start paths; they are not values. A method is called on a value, not as a function.
    assert_eq!(ok(&checker, "u32::MAX;"), None);
    assert_eq!(ok(&checker, "std::mem::take(&mut self.items);"), None);
    assert!(ok(&checker, "core + units;").unwrap().contains("not a value"));
    assert!(ok(&checker, "mem;").unwrap().contains("module"));
    assert!(ok(&checker, "restock(self);").is_some(), "a method is not a function");
    // Calls of the set's functions take as many arguments as they declare.
    assert_eq!(ok(&checker, "self.restock(units);"), None);
    assert_eq!(ok(&checker, "Stock::restock(self, units);"), None);
    assert!(ok(&checker, "self.restock();").unwrap().contains("takes 1 argument"));
    assert!(ok(&checker, "self.restock(units, 2);").is_some());
    // After `Type::`, a type the set describes offers its own members (and `from`, `default`...).
    assert_eq!(ok(&checker, "Self::restock(self, units);"), None);
    assert_eq!(ok(&checker, "Stock::default();"), None);
    assert!(ok(&checker, "Stock::None;").is_some());
    // No empty comments, no line written twice in a row.
    assert!(ok(&checker, "units;\n    //\n").unwrap().contains("empty comment"));
    assert_eq!(ok(&checker, "units;\n    // why\n"), None);
    let comments = "units;\n    // Add the units to the stock\n    // Add the unit to the stock\n";
    assert!(ok(&checker, comments).unwrap().contains("says again"), "a comment a word apart from the last");
    let comments = "units;\n    // Add the units to the stock\n    // then count\n    // Add the unit to the stock\n";
    assert!(ok(&checker, comments).unwrap().contains("says again"), "or from the one before it");
    let comments = "units;\n    // Add the units to the stock\n    // then count what is left\n";
    assert_eq!(ok(&checker, comments), None);
    let mut three = checker.clone();
    three
        .commit_bytes(b"units;\n    // Add the units to the stock\n    // then count what is left\n\n    // and\n    ")
        .unwrap();
    assert!(ok(&three, "// more").unwrap().contains("in a row"), "a fourth comment line in a row, where it starts");
    assert_eq!(ok(&three, "units;"), None);
    let comments = "units;\n    // Add the units to the stock\n    units;\n    // Add the units to the stock\n";
    assert_eq!(ok(&checker, comments), None, "code between them");
    assert!(ok(&checker, "units;\n    self.restock(1);\n    self.restock(1);\n").unwrap().contains("again"));
    assert_eq!(ok(&checker, "units;\n    self.restock(1);\n    self.restock(2);\n"), None);
    checker.commit_bytes(b"units; let left = wanted").unwrap();
    assert!(ok(&checker, " + left;").is_some(), "a `let` binding is not in scope in its own statement");
    checker.commit_bytes(b"; let right = ").unwrap();
    assert_eq!(ok(&checker, "left;"), None, "a local bound by an earlier statement");
    checker.rollback(2).unwrap();
    assert!(ok(&checker, "left;").is_some(), "a local rolled back is gone");
    checker.commit_bytes(b"units; if let Some(n) = Some(units) {").unwrap();
    assert_eq!(ok(&checker, " n; }"), None, "an `if let` binding is in scope in its block");
    checker.commit_bytes(b" n; }").unwrap();
    // A repair resuming here avoids what the failed draft wrote next.
    let mut resumed = checker.clone();
    assert!(resumed.avoid_next(&["wanted", "self"]));
    assert!(ok(&resumed, " self").is_some());
    assert!(ok(&resumed, " wanted").unwrap().contains("earlier draft"));
    assert!(ok(&resumed, " want").is_some(), "a start of it");
    assert_eq!(ok(&resumed, " units"), None);
    resumed.commit_bytes(b" ").unwrap();
    assert!(ok(&resumed, "wanted").is_some(), "whitespace does not use it up");
    resumed.commit_bytes(b"units").unwrap();
    assert_eq!(ok(&resumed, ";"), None);
    // The function returns a value: a body that ends with a statement and never returns is refused at its `}`.
    checker.commit_bytes(b" units;").unwrap();
    assert!(ok(&checker, " }").unwrap().contains("returns a value"));
    assert_eq!(ok(&checker, " Ok(wanted) }"), None);
    assert_eq!(ok(&checker, " return Ok(wanted); }"), None);
}

/// Finer value rules: `self` needs a `self` parameter, a trait is not a value nor a function, a lower-case path
/// starts with a module or crate the code can name, and a parameter shadowed by a `let` still types the receiver
/// of its own statement.
#[test]
fn selves_traits_module_paths_and_shadowed_parameters() {
    let header = "fn restock_all(stock: &mut Stock, units: u32) -> u32";
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: header.into() })
        .with_body(BodyOptions { syntax: true, identifiers: true, self_type: None });
    let set = stock_set();
    let ir = braid::compile(&set, &config).unwrap();
    let mut checker = Checker::new(&ir, cl100k()).unwrap();
    let mut ids = braid::Identifiers::from_set(&set);
    ids.add_source("use std::collections::HashMap;\nmod report;\nfn helper() {}");
    assert!(checker.set_identifiers(Arc::new(ids)));
    checker.commit_bytes(format!("{header} {{ let n = ").as_bytes()).unwrap();
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert!(ok(&checker, "self.items.len();").unwrap().contains("no `self` parameter"));
    let mut tail = checker.clone();
    tail.commit_bytes(b"units; self\n").unwrap();
    assert!(ok(&tail, "}").unwrap().contains("no `self` parameter"), "judged at what follows the line break");
    let mut spaced_macro = checker.clone();
    spaced_macro.commit_bytes(b"units; return format\n").unwrap();
    assert!(ok(&spaced_macro, "}").unwrap().contains("macro"), "a macro's name, judged past the line break");
    assert_eq!(ok(&spaced_macro, "!(\"{units}\").len() }"), None);
    assert!(ok(&checker, "units; return format\n").unwrap().contains("macro"), "whitespace after a macro's name");
    assert!(ok(&checker, "units.min(1).println(units);").unwrap().contains("macro"), "a macro is no method");
    assert_eq!(ok(&checker, "stock.items.len();"), None);
    assert!(ok(&checker, "Clone(stock);").unwrap().contains("trait"), "a trait called as a function");
    assert_eq!(ok(&checker, "Default::default();"), None, "a trait's function by path");
    assert_eq!(ok(&checker, "report::helper();"), None, "a module of the crate");
    assert_eq!(ok(&checker, "std::cmp::max(units, 1);"), None);
    assert_eq!(ok(&checker, "u32::MAX;"), None);
    assert!(ok(&checker, "helper::total(units);").unwrap().contains("not a module"), "a function is not a module");
    assert!(ok(&checker, "restock_all::x();").is_some());
    assert!(ok(&checker, "todo::x(units);").is_some(), "a macro's name is no module");
    assert_eq!(ok(&checker, "vec![units];"), None);
    assert_eq!(ok(&checker, "restock_all(stock, units - 1);"), None, "a free function may call itself");
    assert!(
        ok(&checker, "restock_all(stock, units);").unwrap().contains("endlessly"),
        "with its own arguments unchanged, it never returns"
    );
    assert!(ok(&checker, "restock_all(&mut *stock, units.clone())").is_some(), "borrowed or cloned, unchanged");
    assert_eq!(ok(&checker, "restock_all(stock, units.min(9))"), None);
    // `let stock = stock.` reads the parameter: its type still says which members exist.
    checker.commit_bytes(b"units; let stock = stock.").unwrap();
    assert_eq!(ok(&checker, "items.len();"), None);
    assert!(ok(&checker, "next_os(units);").is_some(), "not a member of Stock");
    assert!(ok(&checker, "items.str();").unwrap().contains("primitive"), "a primitive type is no member");
    let mut written = checker.clone();
    written.commit_bytes(b"items.as_ref().str").unwrap();
    assert!(ok(&written, "()").unwrap().contains("primitive"), "judged at the token after the name");
    assert_eq!(ok(&written, "ip_prefix(\"a\")"), None, "a longer name");
    assert_eq!(ok(&checker, "items.len() as u32;"), None);
}

/// Where the body writes the function's value, a constructor of another type cannot start it: `Ok(..)` where the
/// function returns `bool`, `Some(..)` where it returns a `Result`. Elsewhere (a `let`, an argument, a closure,
/// a pattern) any constructor may stand.
#[test]
fn the_value_starts_with_a_constructor_of_the_return_type() {
    let checker_for = |header: &str| {
        let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: header.into() })
            .with_body(BodyOptions { syntax: true, identifiers: true, self_type: None });
        let set = stock_set();
        let ir = braid::compile(&set, &config).unwrap();
        let mut checker = Checker::new(&ir, cl100k()).unwrap();
        assert!(checker.set_identifiers(Arc::new(braid::Identifiers::from_set(&set))));
        checker.commit_bytes(format!("{header} {{\n    ").as_bytes()).unwrap();
        checker
    };
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    let boolean = checker_for("fn is_empty(stock: &Stock, units: u32) -> bool");
    assert!(ok(&boolean, "Ok(units)").unwrap().contains("returns a `bool`"));
    assert!(ok(&boolean, "Some").is_some(), "judged as soon as the word is written");
    assert!(ok(&boolean, "if units > 0 { return None; }").is_some());
    assert!(ok(&boolean, "match units { 0 => Ok(1),").is_some(), "an arm's value");
    assert!(ok(&boolean, "if units > 0 { true } else { None }").is_some(), "an `else` of the tail");
    assert_eq!(ok(&boolean, "units > 0 && stock.items.is_empty()"), None);
    assert_eq!(ok(&boolean, "let found = Some(units); found.is_some()"), None, "a `let`'s value is its own");
    assert_eq!(ok(&boolean, "let n = match units { 0 => None, n => Some(n) };"), None);
    assert_eq!(ok(&boolean, "match Some(units) { Some(0) => true, _ => false }"), None, "patterns and scrutinees");
    assert_eq!(ok(&boolean, "stock.items.iter().any(|i| { let x = Some(i); x.is_some() })"), None);
    assert_eq!(ok(&boolean, "// Some(units)\n    true"), None, "a comment");
    let result = checker_for("fn take(stock: &mut Stock, units: u32) -> std::io::Result<()>");
    assert!(ok(&result, "true").unwrap().contains("`Result`"));
    assert_eq!(ok(&result, "Ok(())"), None);
    assert!(ok(&result, "Err").is_none(), "`Err` may still become `Error`");
    let built = checker_for("fn build(units: u32) -> Stock");
    assert!(ok(&built, "Ok(").unwrap().contains("neither"), "a struct the crate declares");
    let count = checker_for("fn count(stock: &Stock, units: u32) -> usize");
    assert!(ok(&count, "Ok(stock.items.len())").is_some());
    assert!(ok(&count, "let n = 1; ()").unwrap().contains("not `()`"), "no `()` where a value is returned");
    assert!(ok(&count, "return usize::min;").unwrap().contains("call it"), "a function item is no value");
    assert!(ok(&count, "if units > 0 { return Stock::count }").is_some());
    assert_eq!(ok(&count, "let f = usize::min; f(1, 2)"), None, "a `let` may hold a function");
    assert_eq!(ok(&count, "return usize::MAX;"), None, "a constant");
    assert_eq!(ok(&count, "let n = (); stock.items.len()"), None);
    assert!(ok(&count, "String::new(units).len()").unwrap().contains("takes"), "std's constructors' arity");
    assert_eq!(ok(&count, "stock.items.len()"), None);
}

/// A checker of a free function's body (`header`) with the syntax layer, and the identifier layer on `set`'s names
/// when `identifiers`, just inside the body's `{`.
fn free_fn_checker(header: &str, set: &ConstraintSet, identifiers: bool) -> Checker {
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: header.into() })
        .with_body(BodyOptions { syntax: true, identifiers: true, self_type: None });
    let ir = braid::compile(set, &config).unwrap();
    let mut checker = Checker::new(&ir, cl100k()).unwrap();
    if identifiers {
        assert!(checker.set_identifiers(Arc::new(braid::Identifiers::from_set(set))));
    }
    checker.commit_bytes(format!("{header} {{\n    ").as_bytes()).unwrap();
    checker
}

/// A repair draft refuses the names the compiler did not find in earlier drafts, unless the body binds them.
#[test]
fn names_the_compiler_did_not_find_are_refused_in_later_drafts() {
    let header = "fn count(stock: &Stock, units: u32) -> usize";
    let set = stock_set();
    assert!(!free_fn_checker(header, &set, false).refuse_names(&["len"]), "no identifier layer");
    let mut checker = free_fn_checker(header, &set, true);
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert_eq!(ok(&checker, "stock.items.len()"), None);
    assert!(checker.refuse_names(&["len", "max"]));
    assert!(ok(&checker, "stock.items.len()").unwrap().contains("earlier draft"));
    assert!(ok(&checker, "std::cmp::max(units, 1) as usize").unwrap().contains("earlier draft"));
    assert_eq!(ok(&checker, "let len = units as usize; len"), None, "a name the body binds");
    assert_eq!(ok(&checker, "stock.items.iter().count()"), None);
}

/// A std macro the constraints ban is refused as its name is written (`return todo` would have no way on).
#[test]
fn a_banned_macro_is_refused_as_its_name_is_written() {
    let mut set = stock_set();
    set.insert(user(Rule::ForbidCall { callee: "todo!".into() }));
    let mut checker = free_fn_checker("fn count(stock: &Stock, units: u32) -> usize", &set, true);
    checker.commit_bytes(b"return ").unwrap();
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert!(ok(&checker, "todo").unwrap().contains("refused here"));
    assert_eq!(ok(&checker, "unreachable"), None, "a macro not banned");
    assert_eq!(ok(&checker, "units as usize"), None);
}

/// A keyword being written is a known prefix, but once whole it is refused where neither it nor a longer name can
/// go on (`ex` + `tern` at a statement's start was kept, then every way on from `extern` was refused).
#[test]
fn a_whole_keyword_that_cannot_come_here_is_refused() {
    let checker = free_fn_checker("fn count(stock: &Stock, units: u32) -> usize", &stock_set(), true);
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert_eq!(ok(&checker, "ex"), None, "a prefix of names");
    assert!(ok(&checker, "extern").unwrap().contains("cannot come here"));
    assert!(ok(&checker, "let n = units;\n    impl").unwrap().contains("cannot come here"));
    assert!(ok(&checker, "match units { 0 => struct").unwrap().contains("cannot come here"));
    // Keywords where they may come, and keywords longer names start with, are not.
    for fine in ["return", "let", "match", "if", "for", "loop", "unsafe", "self", "as", "let n = units as", "let mut"] {
        assert_eq!(ok(&checker, fine), None, "{fine}");
    }
}

/// A function that returns a value does not `return;` (E0069); a closure's `return;` and a `()` function's are
/// theirs.
#[test]
fn a_bare_return_is_refused_where_the_function_returns_a_value() {
    let set = stock_set();
    let count = free_fn_checker("fn count(stock: &Stock, units: u32) -> usize", &set, true);
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert!(ok(&count, "if units == 0 { return; }").unwrap().contains("E0069"));
    assert!(ok(&count, "return ;").unwrap().contains("E0069"));
    assert_eq!(ok(&count, "if units == 0 { return 0; }"), None);
    assert_eq!(ok(&count, "let f = |n: u32| { return; };"), None, "the closure's own");
    let restock = free_fn_checker("fn restock(stock: &mut Stock, units: u32)", &set, true);
    assert_eq!(ok(&restock, "if units == 0 { return; }"), None);
}

/// A function is no macro: `drop!(x)` and `from_u32!(x)` are refused (`cannot find macro`), a macro of std or of the
/// sources is not.
#[test]
fn a_function_called_as_a_macro_is_refused() {
    let header = "fn restock(stock: &mut Stock, units: u32)";
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: header.into() })
        .with_body(BodyOptions { syntax: true, identifiers: true, self_type: None });
    let set = stock_set();
    let ir = braid::compile(&set, &config).unwrap();
    let mut checker = Checker::new(&ir, cl100k()).unwrap();
    let mut ids = braid::Identifiers::from_set(&set);
    ids.add_source("macro_rules! drop { ($e:expr) => {}; }\nmacro_rules! each { ($e:expr) => {}; }");
    let mut own_drop = checker.clone();
    assert!(checker.set_identifiers(Arc::new(braid::Identifiers::from_set(&set))));
    assert!(own_drop.set_identifiers(Arc::new(ids)));
    for c in [&mut checker, &mut own_drop] {
        c.commit_bytes(format!("{header} {{\n    ").as_bytes()).unwrap();
    }
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert!(ok(&checker, "drop!(stock);").unwrap().contains("not a macro"));
    assert!(ok(&checker, "let c = from_u32!(units);").is_some());
    assert_eq!(ok(&checker, "println!(\"{units}\");"), None);
    assert_eq!(ok(&checker, "drop(stock);"), None);
    assert_eq!(ok(&own_drop, "drop!(stock);"), None, "the sources define a `drop!`");
    assert_eq!(ok(&own_drop, "each!(stock);"), None);
}

/// A block whose value must be `()` (one that ends a function returning `()`, a loop's body) closes only after a
/// `;` ends its last call: `stock.items.insert(..)` may return a value (E0308), and `x;` is `x` when it is `()`.
#[test]
fn blocks_without_a_value_end_their_last_call_with_a_semicolon() {
    let set = stock_set();
    let checker = free_fn_checker("fn restock(stock: &mut Stock, units: u32)", &set, true);
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert!(ok(&checker, "stock.items.len()\n}").unwrap().contains("`;`"));
    assert_eq!(ok(&checker, "stock.items.len();\n}"), None);
    assert!(ok(&checker, "stock.items.len()\n    // done\n").unwrap().contains("comment"), "within the statement");
    assert_eq!(ok(&checker, "stock.items.len(); // done\n"), None);
    assert!(ok(&checker, "if units > 0 { stock.items.len() }").is_some(), "the tail `if`'s block");
    assert_eq!(ok(&checker, "if units > 0 { stock.items.len(); }\n}"), None);
    assert_eq!(ok(&checker, "let n = if units > 0 { stock.items.len() } else { 0 };\n}"), None, "a `let`'s value");
    assert_eq!(ok(&checker, "let f = |n: u32| { n + units };\n}"), None, "a closure's value");
    // A loop's body has no value whatever the function returns.
    let count = free_fn_checker("fn count(stock: &Stock, units: u32) -> usize", &set, true);
    assert!(ok(&count, "for i in 0..units { stock.items.len() }").unwrap().contains("loop"));
    assert_eq!(ok(&count, "for i in 0..units { stock.items.len(); }\n    stock.items.len()\n}"), None);
}

/// A std type outside the prelude is in scope only where the crate imports it: `HashMap::new()` needs a `use`,
/// `Vec::new()` does not. Judged only when the identifiers have seen the project's source.
#[test]
fn std_types_outside_the_prelude_need_an_import() {
    let header = "fn restock_all(stock: &mut Stock, units: u32) -> usize";
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: header.into() })
        .with_body(BodyOptions { syntax: true, identifiers: true, self_type: None });
    let set = stock_set();
    let ir = braid::compile(&set, &config).unwrap();
    let checker_with = |source: Option<&str>| {
        let mut checker = Checker::new(&ir, cl100k()).unwrap();
        let mut ids = braid::Identifiers::from_set(&set);
        if let Some(source) = source {
            ids.add_source(source);
        }
        assert!(checker.set_identifiers(Arc::new(ids)));
        checker.commit_bytes(format!("{header} {{ let n = ").as_bytes()).unwrap();
        checker
    };
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    let plain = checker_with(Some("use std::fmt;\nfn helper() {}"));
    assert!(ok(&plain, "Keys::new();").unwrap().contains("not in scope"));
    assert!(ok(&plain, "Ordering").is_some(), "judged while written when nothing in scope goes on from it");
    assert_eq!(ok(&plain, "Vec::new();"), None, "the prelude");
    assert_eq!(ok(&plain, "std::cmp::Ordering::Less;"), None, "a full path");
    assert_eq!(ok(&plain, "fmt::Error;"), None, "behind an imported module");
    let imported = checker_with(Some("use std::cmp::Ordering;"));
    assert_eq!(ok(&imported, "Ordering::Less;"), None);
    let no_source = checker_with(None);
    assert_eq!(ok(&no_source, "Ordering::Less;"), None, "a set alone does not show the imports");

    // With the file the body goes into, what it imports and declares is what is in scope.
    let mut set = stock_set();
    set.insert(user(Rule::Signature(ananke_core::Signature {
        name: "elsewhere".into(),
        params: vec![ananke_core::Param { name: "units".into(), ty: "u32".into() }],
        ..Default::default()
    })));
    let ir = braid::compile(&set, &config).unwrap();
    // A checker whose identifiers have seen `source` (the project) and `file` (where the body goes).
    let checker_in = |source: &str, file: &str| {
        let mut checker = Checker::new(&ir, cl100k()).unwrap();
        let mut ids = braid::Identifiers::from_set(&set);
        ids.add_source(source);
        ids.set_file(file);
        assert!(checker.set_identifiers(Arc::new(ids)));
        checker.commit_bytes(format!("{header} {{ let n = ").as_bytes()).unwrap();
        checker
    };
    let in_file = |file: &str| {
        checker_in("use std::cmp::Ordering;\npub fn elsewhere(units: u32) -> u32 { units }\nstruct AsStock(u32);", file)
    };
    let here = in_file("use std::fmt;\nstruct Stock;\n/// Like `elsewhere`, with an `Ordering`.\nfn here() {}");
    assert!(ok(&here, "elsewhere(units);").unwrap().contains("another module"));
    assert!(ok(&here, "Ordering::Less;").unwrap().contains("imports"), "another file's import is not this one's");
    assert_eq!(ok(&here, "crate::elsewhere(units);"), None, "by path");
    assert!(ok(&here, "self::elsewhere(units);").is_some(), "`self::` names this file's items only");
    assert!(ok(&here, "self::AsStock(units);").is_some());
    assert_eq!(ok(&here, "self::Stock;"), None, "declared here");
    let importing = in_file("use crate::other::elsewhere;\nuse std::cmp::Ordering;");
    assert_eq!(ok(&importing, "elsewhere(units);"), None);
    assert_eq!(ok(&importing, "Ordering::Less;"), None);
    assert!(ok(&here, "AsStock(units);").unwrap().contains("neither declares nor imports"), "any capitalized name");
    assert_eq!(ok(&here, "Stock::default();"), None, "declared in the file");
    assert!(ok(&here, "from_u32(units);").unwrap().contains("path"), "std's functions but `drop` need a path");
    assert!(ok(&here, "nul").unwrap().contains("in scope"), "`nul` only goes on to `null`, which needs one too");
    assert_eq!(ok(&here, "dro"), None);
    assert_eq!(ok(&here, "char::from_u32(units);"), None);
    assert_eq!(ok(&here, "drop(units);"), None, "the prelude's");
    let use_max = in_file("use std::cmp::max;");
    assert_eq!(ok(&use_max, "max(units, 1);"), None, "imported");
    let tests = in_file("fn here() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n}");
    assert!(ok(&tests, "elsewhere(units);").is_some(), "a test module's glob brings this file's items");
    // A `#![no_std]` crate: core's prelude, no `std::` without `extern crate std`.
    let no_std = |file: &str| checker_in("#![no_std]\nextern crate alloc;\nmod other;", file);
    let bare = no_std("struct Stock;");
    assert!(ok(&bare, "String::new();").unwrap().contains("neither declares nor imports"));
    assert!(ok(&bare, "std::mem::swap(").unwrap().contains("no_std"));
    assert!(ok(&bare, "format!(\"{units}\");").unwrap().contains("no_std"));
    assert!(ok(&bare, "units.to_string();").unwrap().contains("ToString"));
    assert_eq!(ok(&bare, "core::mem::size_of::<u32>();"), None);
    assert_eq!(ok(&bare, "Some(units);"), None, "core's prelude");
    let imports = no_std("use alloc::string::{String, ToString};\nuse alloc::format;");
    assert_eq!(ok(&imports, "String::new();"), None);
    assert_eq!(ok(&imports, "format!(\"{units}\");"), None);
    assert_eq!(ok(&imports, "units.to_string();"), None);
    let glob = in_file("use crate::other::*;");
    assert_eq!(ok(&glob, "elsewhere(units);"), None, "a glob import may bring anything");
    assert_eq!(ok(&glob, "Ordering::Less;"), None);
}

/// In a method's body its own name is no value: `Self::name(..)` or `x.name(..)` reach it, not `name`.
#[test]
fn a_method_is_not_a_value_in_its_own_body() {
    let header = "fn restock(&mut self, units: u32) -> u32";
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: header.into() })
        .with_body(BodyOptions { syntax: true, identifiers: true, self_type: Some("Stock".into()) });
    let set = stock_set();
    let ir = braid::compile(&set, &config).unwrap();
    let mut checker = Checker::new(&ir, cl100k()).unwrap();
    assert!(checker.set_identifiers(Arc::new(braid::Identifiers::from_set(&set))));
    checker.commit_bytes(format!("{header} {{ ").as_bytes()).unwrap();
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert!(ok(&checker, "restock;").is_some());
    assert!(ok(&checker, "restock(units").is_some());
    assert_eq!(ok(&checker, "Self::restock(self, units / 2)"), None);
    assert!(ok(&checker, "Self::restock(self, units)").unwrap().contains("endlessly"), "the same call by path");
    assert!(ok(&checker, "Stock::restock(&mut *self, units)").is_some());
    let mut set = stock_set();
    set.insert(user(Rule::TypeShape(ananke_core::TypeShape {
        name: "Restock".into(),
        kind: ananke_core::TypeShapeKind::Trait,
        members: vec![ananke_core::Member { name: "restock".into(), kind: ananke_core::MemberKind::Method, ty: None }],
        ..Default::default()
    })));
    let mut in_trait_impl = Checker::new(&ir, cl100k()).unwrap();
    assert!(in_trait_impl.set_identifiers(Arc::new(braid::Identifiers::from_set(&set))));
    in_trait_impl.commit_bytes(format!("{header} {{ ").as_bytes()).unwrap();
    assert!(
        ok(&in_trait_impl, "Restock::restock(self, units)").unwrap().contains("endlessly"),
        "the set's trait that declares the method: the impl being written"
    );
    assert!(ok(&checker, "self.restock(units)").unwrap().contains("endlessly"), "recursion on the same value");
    assert!(ok(&checker, "self.items(units)").unwrap().contains("field"), "a field is not a method");
    assert_eq!(ok(&checker, "self.items.len() as u32"), None);
    assert!(ok(&checker, "self.items.len as u32").unwrap().contains("call it"), "a method is not a field");
    assert!(ok(&checker, "self.items.drop()").is_some(), "`drop` is never called as a method");
    let mut spaced = checker.clone();
    spaced.commit_bytes(b"self.items.len\n").unwrap();
    assert!(ok(&spaced, "    + 1").unwrap().contains("call it"), "judged by what follows the line break");
    assert_eq!(ok(&spaced, "    ()"), None);
    assert!(ok(&checker, "self.restock::<u32>(units)").is_some(), "recursion with a turbofish");
    assert!(ok(&checker, "format(units)").unwrap().contains("macro"), "a macro is not a function");
    assert!(ok(&checker, "format;").unwrap().contains("macro"), "nor a value");
    assert_eq!(ok(&checker, "format!(\"{units}\").len() as u32"), None);
    assert!(ok(&checker, "self::units").is_some(), "a parameter is no item of the module");
    assert!(ok(&checker, "self::from_u32(units)").is_some(), "std's functions are not the module's");
    assert!(ok(&checker, "Option::empty()").is_some(), "Option has no `empty`");
    assert_eq!(ok(&checker, "Option::Some(units)"), None);
    assert_eq!(ok(&checker, "u32::MAX"), None);
}

/// A checker with every layer on, the set's names and `Stock` as the impl's type, just inside `header`'s body.
fn stock_method_checker(header: &str, set: &ConstraintSet) -> Checker {
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: header.into() })
        .with_body(BodyOptions { syntax: true, identifiers: true, self_type: Some("Stock".into()) });
    let ir = braid::compile(set, &config).unwrap();
    let mut checker = Checker::new(&ir, cl100k()).unwrap();
    assert!(checker.set_identifiers(Arc::new(braid::Identifiers::from_set(set))));
    checker.commit_bytes(format!("{header} {{ ").as_bytes()).unwrap();
    checker
}

/// A parameter of one scalar type is not passed where the set's function takes another (`receiver.codepoint(byte)`
/// with `byte: u8` where `codepoint` takes a `char`: E0308); cast, it is.
#[test]
fn scalar_parameters_are_passed_as_the_callee_declares() {
    let header = "fn advance(&mut self, stock: &mut Stock, byte: u8, count: u32)";
    let checker = stock_method_checker(header, &stock_set());
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert!(ok(&checker, "stock.restock(byte);").unwrap().contains("takes a `u32`"));
    assert_eq!(ok(&checker, "stock.restock(count);"), None);
    assert_eq!(ok(&checker, "stock.restock(byte as u32);"), None);
    assert_eq!(ok(&checker, "stock.restock(byte.into());"), None);
    assert_eq!(ok(&checker, "let byte = 1; stock.restock(byte);"), None, "a local shadows the parameter");
    assert!(ok(&checker, "Self::restock(stock, byte);").unwrap().contains("takes a `u32`"), "by path");
}

/// A reference is passed as the set's function takes it: `&mut x` where it takes `&mut T` (`next_os(&cursor)`
/// is E0308), no reference where it takes a primitive type; judged as the argument is written, and comments
/// between the arguments change nothing (`codepoint(byte, // note` is still judged).
#[test]
fn references_are_passed_as_the_callee_declares() {
    let header = "fn advance(&mut self, stock: &mut Stock, byte: u8, count: u32)";
    let mut set = stock_set();
    let refill = ananke_core::Signature {
        name: "refill".into(),
        owner: Some(ananke_core::Owner { kind: ananke_core::OwnerKind::Impl, name: "Stock".into(), trait_name: None }),
        params: vec![
            ananke_core::Param { name: "self".into(), ty: "&self".into() },
            ananke_core::Param { name: "from".into(), ty: "&'a mut Stock".into() },
            ananke_core::Param { name: "units".into(), ty: "u32".into() },
        ],
        ..Default::default()
    };
    set.insert(user(Rule::Signature(refill)));
    let checker = stock_method_checker(header, &set);
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    let why = ok(&checker, "self.refill(&stock").expect("a shared reference where `&mut` is taken");
    assert!(why.contains("&mut stock"), "{why}");
    assert!(ok(&checker, "self.refill(&self.stock, count);").is_some(), "also when the call closes");
    assert_eq!(ok(&checker, "self.refill(&mut stock, count);"), None);
    assert_eq!(ok(&checker, "self.refill(&m"), None, "`&m` may still become `&mut`");
    assert_eq!(ok(&checker, "self.refill(&mut"), None);
    assert_eq!(ok(&checker, "self.refill(stock, count);"), None, "a name may hold a `&mut` already");
    assert!(ok(&checker, "self.refill(stock, &count").unwrap().contains("not a reference"));
    assert!(ok(&checker, "self.refill(stock, // units\n &count").is_some(), "a comment is skipped");
    assert_eq!(ok(&checker, "self.refill(stock, *count.max(&1));"), None);
    assert!(ok(&checker, "stock.restock(byte, // the byte\n);").unwrap().contains("takes a `u32`"));
    let why = ok(&checker, "stock.restock(count, // then\n ||").expect("a closure after all the arguments");
    assert!(why.contains("at most 1"), "{why}");
    assert_eq!(ok(&checker, "stock.restock(count.max(1) || 2"), None, "`||` may be an or");
    assert_eq!(ok(&checker, "stock.restock(self.items.iter().map(|a, b| 1).count() as u32);"), None);
}

/// std's collections are types, no values: `Vec<u8>>()` in an expression (a comparison, E0423) is refused at the
/// `<`, `Vec::new()` and `Vec::<u8>::new()` pass.
#[test]
fn std_types_are_no_values() {
    let checker = stock_method_checker("fn collect(&self, n: usize) -> Vec<u8>", &stock_set());
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert!(ok(&checker, "let mut result = Vec<").unwrap().contains("is a type"));
    assert!(ok(&checker, "let s = String;").is_some());
    assert!(ok(&checker, "let mut result = Vec ").is_none(), "not judged before what follows");
    assert_eq!(ok(&checker, "let mut result = Vec::new();"), None);
    assert_eq!(ok(&checker, "let mut result = Vec::<u8>::with_capacity(n);"), None);
    assert_eq!(ok(&checker, "let mut result: Vec<u8> = Vec::new();"), None, "a type where a type goes");
}

/// A function is called to give the value it returns: `self::Buffer::new` alone at the body's end is a fn item
/// (E0308), refused at the closing `}`; called, or a local of that name, it passes.
#[test]
fn a_function_value_is_called() {
    let checker = stock_method_checker("fn fresh(&self, restock: u32) -> Stock", &stock_set());
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert!(ok(&checker, "self\n ::Stock::new\n}").unwrap().contains("call it"));
    assert!(ok(&checker, "Stock::new }").is_some());
    assert_eq!(ok(&checker, "Stock::new() }"), None);
    assert_eq!(ok(&checker, "let new = Stock::new(); new }"), None, "a local");
    assert_eq!(ok(&checker, "u32::MAX }"), None, "a constant");
    let makes = stock_method_checker("fn maker(&self) -> fn() -> Stock", &stock_set());
    assert_eq!(ok(&makes, "Stock::new }"), None, "a function that returns a function");
}

/// A method's result is typed by its declared return type: after `self.shelf().` only `Shelf`'s members (and
/// what every type has) pass, `Self::fresh().` is a `Stock`, `self.shelf().label.` a `String`.
#[test]
fn method_results_are_typed_by_their_declaration() {
    let mut set = stock_set();
    let shelf = ananke_core::TypeShape {
        name: "Shelf".into(),
        kind: ananke_core::TypeShapeKind::Struct,
        members: vec![ananke_core::Member {
            name: "label".into(),
            kind: ananke_core::MemberKind::Field,
            ty: Some("String".into()),
        }],
        ..Default::default()
    };
    set.insert(user(Rule::TypeShape(shelf)));
    let method = |owner: &str, name: &str, returns: &str| {
        let sig = ananke_core::Signature {
            name: name.into(),
            owner: Some(ananke_core::Owner {
                kind: ananke_core::OwnerKind::Impl,
                name: owner.into(),
                trait_name: None,
            }),
            params: vec![ananke_core::Param { name: "self".into(), ty: "&self".into() }],
            returns: Some(returns.into()),
            ..Default::default()
        };
        user(Rule::Signature(sig))
    };
    set.insert(method("Stock", "shelf", "&Shelf"));
    set.insert(method("Stock", "fresh", "Self"));
    set.insert(method("Shelf", "width", "u32"));
    let checker = stock_method_checker("fn advance(&mut self, units: u32) -> u32", &set);
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert_eq!(ok(&checker, "self.shelf().width()"), None);
    assert!(ok(&checker, "self.shelf().restock(units)").is_some(), "`restock` is Stock's, not Shelf's");
    assert!(ok(&checker, "self.shelf()\n    .items").is_some(), "nor a field of Shelf's");
    assert_eq!(ok(&checker, "self.shelf().clone()"), None, "what every type has");
    assert_eq!(ok(&checker, "self.shelf().label.len() as u32"), None, "a field's type: String");
    assert!(ok(&checker, "self.shelf().label.width()").is_some(), "a String has no `width`");
    assert_eq!(ok(&checker, "Self::fresh(self).shelf().width()"), None, "`Self` is the owner");
    assert!(ok(&checker, "Self::fresh(self).width()").is_some());
    assert_eq!(ok(&checker, "self.items.len() as u32"), None, "fields as before");
}

/// A parameter that is a reference is no owned value: `return self;` in `fn f(&self) -> String` is E0308, refused
/// at the `;` (`return self.to_string();` passes), and so is `label` at the body's end where `label: &str`.
#[test]
fn a_reference_is_not_returned_as_an_owned_value() {
    let checker = stock_method_checker("fn name(&self, label: &str, units: u32) -> String", &stock_set());
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert!(ok(&checker, "return self;").unwrap().contains("is a reference"));
    assert_eq!(ok(&checker, "return self.items.join(label);"), None);
    assert!(ok(&checker, "if units > 1 { return label; }").is_some());
    assert!(ok(&checker, "label\n}").is_some(), "the body's last expression");
    assert_eq!(ok(&checker, "label.to_owned()\n}"), None);
    assert_eq!(ok(&checker, "let label = label.to_owned(); label }"), None, "a local shadows it");
    let generic = stock_method_checker("fn name<'a>(&'a self, label: &'a str) -> &'a str", &stock_set());
    assert_eq!(ok(&generic, "return label;"), None, "a reference returned as one");
    let owned = stock_method_checker("fn name(self) -> Self", &stock_set());
    assert_eq!(ok(&owned, "return self;"), None, "`self` by value");
}

/// `Type::f(..)` takes the arguments the set declares for that type's `f`, std names (`new`) included; std's
/// `Option`, `Result` and integers have no `new`, behind std modules too (`io::Result::`); `self::` names no std item.
#[test]
fn path_calls_take_their_types_arity() {
    let header = "fn restock(&mut self, units: u32) -> u32";
    let mut set = stock_set();
    let new = ananke_core::Signature {
        name: "new".into(),
        owner: Some(ananke_core::Owner { kind: ananke_core::OwnerKind::Impl, name: "Stock".into(), trait_name: None }),
        returns: Some("Self".into()),
        ..Default::default()
    };
    set.insert(user(Rule::Signature(new)));
    let checker = stock_method_checker(header, &set);
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert!(
        ok(&checker, "let s = Stock::new(units);").unwrap().contains("takes 0"),
        "{:?}",
        ok(&checker, "Stock::new(units)")
    );
    assert!(ok(&checker, "let s = Self::new(units);").is_some(), "`Self` is the impl's type");
    assert_eq!(ok(&checker, "let s = Stock::new();"), None);
    assert!(ok(&checker, "let s = Stock::new(\n units").is_some(), "too many arguments before the `)`");
    assert!(ok(&checker, "let s = Stock::new({").is_some(), "a block is an argument too");
    assert!(ok(&checker, "let s = Stock::new((").is_some(), "and a parenthesis");
    assert!(ok(&checker, "let s = Stock::new(\"utf8\"").is_some(), "and a string");
    assert_eq!(ok(&checker, "let s = Stock::new(// no arguments\n"), None, "a comment is none");
    assert_eq!(ok(&checker, "Self::restock(self, \",\" "), None, "a comma in a string is none");
    assert_eq!(ok(&checker, "Self::restock(self, ',' "), None, "nor in a char literal");
    assert_eq!(ok(&checker, "let s = Stock::new(\n"), None, "whitespace is not");
    assert_eq!(ok(&checker, "Self::restock(self, units, "), None, "a trailing comma adds none");
    assert!(ok(&checker, "Self::restock(self, units, units").is_some(), "`restock` takes two by path");
    assert!(ok(&checker, "let v = Vec::new(units);").unwrap().contains("takes 0"), "std's common constructors");
    assert_eq!(ok(&checker, "let v = Vec::with_capacity(units as usize);"), None);
    assert_eq!(ok(&checker, "let v = Path::new(units);"), None, "std's other functions are not judged");
    assert!(ok(&checker, "let o = Option::new(units);").is_some(), "Option has no `new`");
    assert!(ok(&checker, "let r = io::Result::from_str(units);").is_some(), "io::Result is a Result");
    assert_eq!(ok(&checker, "let r: io::Result<u32> = io::Result::Ok(units);"), None);
    assert!(ok(&checker, "let n = u32::new(units);").is_some(), "integers have no `new`");
    assert!(ok(&checker, "self::Clone(self)").is_some(), "a std trait is no item of the module");
    assert_eq!(ok(&checker, "let s = self::Stock::new();"), None, "the crate's own type is");

    let header = "fn new() -> Stock";
    let checker = stock_method_checker(header, &set);
    assert!(ok(&checker, "Self::new(").unwrap().contains("endlessly"), "nothing changes between the calls");
    assert!(ok(&checker, "Stock::new(").unwrap().contains("endlessly"));
    assert!(ok(&checker, "Stock::new()").unwrap().contains("endlessly"), "closed in the same token");
    assert_eq!(ok(&checker, "Stock::default("), None);
    assert!(ok(&checker, "Stock::default::default()").is_some(), "a function is no module");
    assert!(ok(&checker, "Stock::default::").is_none(), "the turbofish may still come");
    assert!(ok(&checker, "Stock::default::def").is_some(), "a name being written after it is judged too");
    assert_eq!(ok(&checker, "Stock::default::<u8>()"), None);
    assert!(ok(&checker, "Stock::default::<u8>::new()").is_some(), "nor after its turbofish");
    assert_eq!(ok(&checker, "std::mem::take(&mut 0u8);"), None);
}

/// A `>>` that closes one generic argument list where a second `>` cannot follow is refused before it is taken:
/// the mask's approximation let it through, and the draft then reached a state that allowed no token at all.
#[test]
fn a_shift_that_cannot_close_two_generic_lists_is_refused() {
    let header = "fn drop(&mut self)";
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: header.into() })
        .with_body(BodyOptions { syntax: true, identifiers: false, self_type: None });
    let ir = braid::compile(&ConstraintSet::new(), &config).unwrap();
    let mut checker = Checker::new(&ir, cl100k()).unwrap();
    checker.commit_bytes(format!("{header} {{\n    let r = Clone::of<Clone::x::<T, T").as_bytes()).unwrap();
    assert!(checker.vet_bytes(b">>").is_some(), "the second `>` would chain comparisons");
    assert_eq!(checker.vet_bytes(b">").map(|v| v.message), None, "one `>` closes the turbofish");
    let mut one = checker.clone();
    one.commit_bytes(b">").unwrap();
    assert!(one.vet_bytes(b">").is_some(), "nor as a second token");
    assert!(checker.vet_bytes(b">>();").is_some(), "nor with more after it in the same token");
    // Where `>>` does close two lists, or shifts, it passes.
    let mut fine = Checker::new(&ir, cl100k()).unwrap();
    fine.commit_bytes(format!("{header} {{\n    let v = Vec::<Vec<u8").as_bytes()).unwrap();
    assert_eq!(fine.vet_bytes(b">>").map(|v| v.message), None);
    let mut shift = Checker::new(&ir, cl100k()).unwrap();
    shift.commit_bytes(format!("{header} {{\n    let v = 1u8 ").as_bytes()).unwrap();
    assert_eq!(shift.vet_bytes(b">>").map(|v| v.message), None);
    assert_eq!(shift.vet_bytes(b">>=").map(|v| v.message), None);
}

/// A macro with no grammar of its own takes any token tree (`=>` and all, as the crate's `macro_rules!` may ask),
/// and the names inside it are neither checked nor taken for bindings; the macro's own name still has to exist.
#[test]
fn unknown_macros_take_token_trees() {
    let header = "fn restock_all(stock: &mut Stock, units: u32) -> u32";
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: header.into() })
        .with_body(BodyOptions { syntax: true, identifiers: true, self_type: None });
    let set = stock_set();
    let ir = braid::compile(&set, &config).unwrap();
    let mut checker = Checker::new(&ir, cl100k()).unwrap();
    let mut ids = braid::Identifiers::from_set(&set);
    ids.add_source("macro_rules! each { ($s:expr, $i:ident => $e:expr) => {}; }");
    assert!(checker.set_identifiers(Arc::new(ids)));
    checker.commit_bytes(format!("{header} {{ ").as_bytes()).unwrap();
    let ok = |c: &Checker, s: &str| c.vet_bytes(s.as_bytes()).map(|v| v.message);
    assert_eq!(ok(&checker, "each!(stock, item => item.count + [1, 2][0]);"), None);
    assert!(ok(&checker, "nowhere!(stock);").is_some(), "an unknown macro name");
    let mut tree = checker.clone();
    tree.commit_bytes(b"each!(stock, item => { item.count }); ").unwrap();
    assert!(ok(&tree, "item.count").is_some(), "a name inside a macro is not a binding after it");
    assert!(checker.commit_bytes(b"each!(stock, (item]);").is_err(), "the brackets still have to match");
}

/// Far from the end of the budget, the budget takes nothing away, inside a comment too (a comment's bound was once
/// unbounded, so the budget let only its line break through: every comment came out empty).
#[test]
fn far_from_its_end_the_budget_leaves_comments_alone() {
    let header = "fn double_quoted_ok(c: u8) -> bool";
    let ir = ir(&rules(), header);
    for (name, index) in vocabularies() {
        for text in ["{\n    match c {\n        //", "{\n    // Work around", "{\n    let x = \"a"] {
            let mut free = Checker::new(&ir, index).unwrap();
            free.commit_bytes(format!("{header} {text}").as_bytes()).unwrap();
            let mut bounded = free.clone();
            bounded.set_budget(Some(192));
            let want = free.compute_mask().unwrap().clone();
            let got = bounded.compute_mask().unwrap();
            assert_eq!(got.count(), want.count(), "{name}: {text:?}");
            let no = tokenize(index, " No")[0];
            assert!(got.is_allowed(no), "{name}: {text:?}");
        }
    }
}
