//! The token-level Checker on real vocabularies (cl100k and o200k embedded; Llama-3.1 and Qwen3 `tokenizer.json`
//! and the SmolLM2 GGUF from the cache that `scripts/fetch-tokenizers.sh` and `scripts/fetch-model.sh` fill, each
//! skipped with a message when absent):
//!
//! - valid bodies walk through, token by token, and end accepting (EOS only then);
//! - completeness: on sampled states, braid's mask equals llguidance's mask for the IR's Lark grammar, and equals a
//!   brute-force reference that runs every token through the automaton without the memo;
//! - soundness: random walks through allowed tokens (biased towards pieces of banned calls) never produce a body
//!   in which an independent re-lexing finds a ban, unbalanced braces, or code after the body;
//! - explanations name the constraint that bans a token; rollback and forced tokens.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

mod ruleset;

use ananke_core::{ConstraintSet, Language, Rule};
use braid::{Checker, CompileConfig, ConstraintIR, Target, Tiktoken, VocabIndex, Vocabulary};
use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};
use proptest::prelude::*;
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

fn hf(name: &str) -> Option<Arc<VocabIndex>> {
    let path = cache_dir().join("tokenizers").join(name).join("tokenizer.json");
    if let Ok(bytes) = std::fs::read(&path) {
        Some(VocabIndex::new(Vocabulary::from_tokenizer_json(&bytes).expect("reads tokenizer.json")))
    } else {
        println!("SKIPPED {name}: {} is absent (run scripts/fetch-tokenizers.sh)", path.display());
        None
    }
}

fn llama3() -> Option<&'static Arc<VocabIndex>> {
    static V: OnceLock<Option<Arc<VocabIndex>>> = OnceLock::new();
    V.get_or_init(|| hf("llama3_1")).as_ref()
}

/// The vocabularies to test on: cl100k, o200k, and Llama-3.1 when fetched.
fn vocabularies() -> Vec<(&'static str, &'static Arc<VocabIndex>)> {
    let mut out = vec![("cl100k", cl100k()), ("o200k", o200k())];
    if let Some(v) = llama3() {
        out.push(("llama3.1", v));
    }
    out
}

/// Tokenizes text the way a model would have produced it: tiktoken's BPE for cl100k and o200k, and otherwise the
/// longest match (a valid tokenization, which is all the checker needs).
fn tokenize(index: &VocabIndex, text: &str) -> Vec<u32> {
    match index.vocabulary().name.as_str() {
        "cl100k" => tiktoken_rs::cl100k_base_singleton().encode_ordinary(text),
        "o200k" => tiktoken_rs::o200k_base_singleton().encode_ordinary(text),
        _ => greedy(index, text.as_bytes()),
    }
}

fn greedy(index: &VocabIndex, mut bytes: &[u8]) -> Vec<u32> {
    let vocab = index.vocabulary();
    let mut by_bytes: std::collections::HashMap<&[u8], u32> = std::collections::HashMap::new();
    for t in 0..vocab.len() as u32 {
        if !vocab.is_special(t) {
            by_bytes.entry(vocab.token_bytes(t)).or_insert(t);
        }
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let n = (1..=bytes.len().min(64)).rev().find(|&n| by_bytes.contains_key(&bytes[..n])).expect("a token");
        out.push(by_bytes[&bytes[..n]]);
        bytes = &bytes[n..];
    }
    out
}

fn ir(language: Language, header: &str) -> ConstraintIR {
    braid::compile(&rules(), &CompileConfig::new(language, Target::FnBody { signature: header.into() })).unwrap()
}

const RUST_HEADER: &str = "pub fn parse_port(text: &str) -> Result<u16, String>";
const RUST_BODY: &str = "{\n    // Parse \"host:port\" or a bare port; braces: \"{\" '}'\n    let trimmed_text = text.trim();\n    let digits = match trimmed_text.rsplit_once(':') {\n        Some((_, port)) => port,\n        None => trimmed_text,\n    };\n    if digits.is_empty() {\n        return Err(format!(\"empty port in {:?}\", text));\n    }\n    let value: u32 = digits.parse().map_err(|e: std::num::ParseIntError| e.to_string())?;\n    u16::try_from(value / 1).map_err(|_| \"too large\".to_owned())\n}";
const TS_HEADER: &str = "function total(items: number[]): number";
const TS_BODY: &str = "{\n  let sum_all = 0;\n  for (const item of items) {\n    sum_all += item / 2; // halves\n  }\n  return sum_all;\n}";
const PY_HEADER: &str = "def total(items: list[int]) -> int:";
const PY_BODY: &str =
    "\n    sum_all = 0\n    for item in items:  # every item\n        sum_all += item // 2\n    return sum_all\n";

fn samples() -> Vec<(Language, &'static str, &'static str)> {
    vec![
        (Language::Rust, RUST_HEADER, RUST_BODY),
        (Language::TypeScript, TS_HEADER, TS_BODY),
        (Language::Python, PY_HEADER, PY_BODY),
    ]
}

fn full_text(language: Language, header: &str, body: &str) -> String {
    if language == Language::Python { format!("{header}{body}") } else { format!("{header} {body}") }
}

#[test]
fn valid_bodies_walk_through_and_end_accepting() {
    for (name, index) in vocabularies() {
        for (language, header, body) in samples() {
            let ir = ir(language, header);
            let mut checker = Checker::new(&ir, index).unwrap();
            assert_eq!(checker.engine(), "braid");
            let text = full_text(language, header, body);
            let eos = index.vocabulary().eos[0];
            for (i, &t) in tokenize(index, &text).iter().enumerate() {
                let mask = checker.compute_mask().unwrap();
                assert!(
                    mask.is_allowed(t),
                    "{name} {language}: token {i} {:?} refused: {:?}",
                    String::from_utf8_lossy(index.vocabulary().token_bytes(t)),
                    checker.violation_reason(t)
                );
                assert!(!mask.is_allowed(eos) || checker.is_accepting(), "EOS only when accepting");
                checker.commit(t).unwrap();
            }
            assert!(checker.is_accepting(), "{name} {language}: the whole function is accepted");
            assert!(checker.compute_mask().unwrap().is_allowed(eos));
        }
    }
}

/// llguidance on the same Lark grammar, as the reference for the masks.
fn llguidance_matcher(index: &VocabIndex, lark: &str) -> Matcher {
    let mut factory = ParserFactory::new_simple(index.tok_env()).unwrap();
    factory.quiet();
    let parser = factory.create_parser(TopLevelGrammar::from_lark(lark.to_owned())).unwrap();
    Matcher::new(Ok(parser))
}

/// Compares braid's mask with llguidance's and with a brute-force run of every token, at every body position of
/// the valid samples (positions in the fixed header are skipped: llguidance lets forced text through only in its
/// canonical tokenization, while braid allows any spelling of it).
#[test]
fn masks_equal_llguidance_and_brute_force() {
    for (name, index) in vocabularies() {
        for (language, header, body) in samples() {
            let ir = ir(language, header);
            let lark = &ir.grammar.as_ref().unwrap().lark;
            let mut checker = Checker::new(&ir, index).unwrap();
            let mut reference = llguidance_matcher(index, lark);
            let text = full_text(language, header, body);
            let tokens = tokenize(index, &text);
            let header_len = if language == Language::Python { header.len() } else { header.len() + 1 };
            let mut at = 0usize;
            let vocab = index.vocabulary();
            let mut compared = 0;
            for (i, &t) in tokens.iter().enumerate() {
                let mine = checker.compute_mask().unwrap().clone();
                let theirs = reference.compute_mask().unwrap();
                // Sample: every position in the body for short samples (they are), all tokens compared.
                if at >= header_len {
                    compared += 1;
                    let mut differ = Vec::new();
                    // llguidance knows one end-of-sequence token; braid allows every one the vocabulary has.
                    let llg_eos = index.tok_env().tok_trie().eos_token();
                    assert_eq!(mine.is_allowed(llg_eos), theirs.is_allowed(llg_eos));
                    for &eos in &vocab.eos {
                        assert_eq!(mine.is_allowed(eos), checker.is_accepting());
                    }
                    for token in 0..vocab.len() as u32 {
                        if vocab.is_eos(token) {
                            continue;
                        }
                        if mine.is_allowed(token) != theirs.is_allowed(token) {
                            differ.push(token);
                        }
                    }
                    let shown: Vec<String> = differ
                        .iter()
                        .take(8)
                        .map(|&d| {
                            format!("{:?}(ours {})", String::from_utf8_lossy(vocab.token_bytes(d)), mine.is_allowed(d))
                        })
                        .collect();
                    assert!(
                        differ.is_empty(),
                        "{name} {language}: after {:?} the masks differ on {} tokens: {shown:?}",
                        String::from_utf8_lossy(&text.as_bytes()[..at]),
                        differ.len()
                    );
                    // Brute force: every token through a fresh clone of the checker, without the memo.
                    if i % 13 == 0 {
                        for token in 0..vocab.len() as u32 {
                            let allowed = checker.violation_reason(token).is_none();
                            assert_eq!(allowed, mine.is_allowed(token), "{name}: brute force on {token}");
                        }
                    }
                }
                checker.commit(t).unwrap();
                reference.consume_token(t).unwrap();
                at += vocab.token_bytes(t).len();
            }
            assert!(compared > 10);
        }
    }
}

/// An independent re-lexing of a body for the soundness check: code runs, literals and comments (the rules of
/// `docs/IR.md`), brace depth, and whether anything follows the closing brace.
fn code_runs(language: Language, body: &[u8]) -> (Vec<String>, bool) {
    let mut runs = Vec::new();
    let mut run = String::new();
    let mut depth = 0i64;
    let mut ok = true;
    let mut i = 0;
    let mut closed = false;
    while i < body.len() {
        let c = body[i];
        if closed {
            ok = false;
            break;
        }
        let quote = matches!(c, b'"' | b'\'') || (c == b'`' && language != Language::Rust);
        let comment = (c == b'/' && body.get(i + 1) == Some(&b'/')) || (c == b'#' && language == Language::Python);
        let ident = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
        if c == b'\'' && language == Language::Rust && ident(body.get(i + 1)) && body.get(i + 2) != Some(&b'\'') {
            // A lifetime: a quote and an identifier, no closing quote. It is not code either.
            runs.push(std::mem::take(&mut run));
            i += 1;
            while ident(body.get(i)) {
                i += 1;
            }
            continue;
        }
        if quote || comment {
            runs.push(std::mem::take(&mut run));
            // Skip the literal or comment: to the matching quote (escapes skipped) or the end of the line.
            let end = if comment { b'\n' } else { c };
            i += 1;
            while i < body.len() && body[i] != end {
                if body[i] == b'\\' && !comment {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if language != Language::Python && (c == b'{' || c == b'}') {
            runs.push(std::mem::take(&mut run));
            depth += if c == b'{' { 1 } else { -1 };
            if depth < 0 {
                ok = false;
            }
            if depth == 0 {
                closed = true;
            }
            i += 1;
            continue;
        }
        if c == b'/' {
            runs.push(std::mem::take(&mut run));
            i += 1;
            continue;
        }
        run.push(c as char);
        i += 1;
    }
    runs.push(run);
    (runs, ok)
}

fn banned_in(ir: &ConstraintIR, runs: &[String]) -> Option<String> {
    for f in &ir.forbidden {
        let re = regex::Regex::new(&f.pattern).unwrap();
        for run in runs {
            let hay = format!("\u{0}{run}\u{0}");
            if re.is_match(&hay) {
                return Some(format!("{} in {run:?}", f.description));
            }
        }
    }
    None
}

/// Pieces of banned calls and declarations, so random walks come close to the bans.
const BAIT: &[&str] = &[
    "unwrap",
    "un",
    "wrap",
    "(",
    " (",
    ".",
    "expect",
    "exp",
    "ect",
    "!",
    "panic",
    "todo",
    "::",
    "mem",
    "transmute",
    " let",
    "let",
    " mut",
    " foo",
    "Bar",
    "B",
    "x",
    " ",
    "\n",
    ";",
    "}",
    "{",
    "\"",
    "eval",
    "ev",
    "al",
    "system",
    "exec",
    " fn",
    "fn",
    " struct",
    " my",
    "_type",
];

fn random_walk(index: &Arc<VocabIndex>, ir: &ConstraintIR, seed: u64, steps: usize) -> (Vec<u8>, Checker) {
    let mut checker = Checker::new(ir, index).unwrap();
    let vocab = index.vocabulary();
    let bait: Vec<u32> = BAIT
        .iter()
        .filter_map(|b| (0..vocab.len() as u32).find(|&t| !vocab.is_special(t) && vocab.token_bytes(t) == b.as_bytes()))
        .collect();
    let mut state = seed | 1;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for t in checker.forced_tokens() {
        checker.commit(t).unwrap();
    }
    for _ in 0..steps {
        let mask = checker.compute_mask().unwrap().clone();
        let candidates: Vec<u32> = bait.iter().copied().filter(|&t| mask.is_allowed(t)).collect();
        let choice = if !candidates.is_empty() && rand() % 3 != 0 {
            candidates[(rand() % candidates.len() as u64) as usize]
        } else {
            let allowed: Vec<u32> = mask.iter().filter(|&t| !vocab.is_special(t)).collect();
            if allowed.is_empty() {
                break;
            }
            allowed[(rand() % allowed.len() as u64) as usize]
        };
        checker.commit(choice).unwrap();
    }
    (checker.text().to_vec(), checker)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_walks_never_produce_a_banned_body(seed in any::<u64>(), vocab in 0usize..3, language in 0usize..3) {
        let vocabs = vocabularies();
        let (_, index) = vocabs[vocab % vocabs.len()];
        let (language, header, _) = samples()[language];
        let ir = ir(language, header);
        let (text, _) = random_walk(index, &ir, seed, 60);
        let prefix = full_text(language, header, "");
        prop_assert!(text.starts_with(prefix.trim_end().as_bytes()));
        let body = &text[prefix.len().min(text.len())..];
        let (runs, ok) = code_runs(language, body);
        prop_assert!(ok, "braces: {:?}", String::from_utf8_lossy(body));
        let banned = banned_in(&ir, &runs);
        prop_assert!(banned.is_none(), "{:?}: {:?}", banned, String::from_utf8_lossy(body));
    }
}

#[test]
fn explanations_name_the_banning_constraint() {
    let index = cl100k();
    let set = rules();
    let ir =
        braid::compile(&set, &CompileConfig::new(Language::Rust, Target::FnBody { signature: RUST_HEADER.into() }))
            .unwrap();
    let mut checker = Checker::new(&ir, index).unwrap();
    let forced = checker.forced_tokens();
    assert_eq!(index.vocabulary().decode(&forced), format!("{RUST_HEADER} {{").into_bytes());
    for t in forced {
        checker.commit(t).unwrap();
    }
    checker.commit_bytes(b" let x = text.unwrap").unwrap();
    let paren = tokenize(index, "(")[0];
    assert!(!checker.compute_mask().unwrap().is_allowed(paren));
    let why = checker.violation_reason(paren).expect("banned");
    let unwrap_id =
        set.iter().find(|c| matches!(&c.rule, Rule::ForbidCall { callee } if callee == "unwrap")).unwrap().id;
    assert_eq!(why.sources, vec![unwrap_id], "{why}");
    assert!(checker.commit(paren).is_err());
    checker.rollback(1).unwrap();
    checker.commit_bytes(b" let fooB").unwrap_err();
    let eos = index.vocabulary().eos[0];
    assert!(checker.violation_reason(eos).is_some(), "no EOS before the body is complete");
    checker.commit_bytes(b"; }").unwrap();
    assert!(checker.is_accepting());
    assert_eq!(checker.forced_tokens(), vec![eos]);
    assert!(checker.violation_reason(eos).is_none());
}

#[test]
fn vocabularies_load() {
    let cl = cl100k().vocabulary();
    assert_eq!((cl.len(), cl.eos.as_slice()), (100_277, &[100_257][..]));
    let o = o200k().vocabulary();
    assert_eq!(o.len(), 200_019);
    if let Some(llama) = llama3() {
        let v = llama.vocabulary();
        assert_eq!(v.len(), 128_256);
        assert!(v.eos.contains(&128_001) && v.eos.contains(&128_009), "{:?}", v.eos);
        assert_eq!(v.token_bytes(tokenize(llama, " hello")[0]), b" hello");
    }
    if let Some(qwen) = hf("qwen3") {
        let v = qwen.vocabulary();
        assert!(v.len() > 151_000);
        assert!(v.eos.contains(&151_643) && v.eos.contains(&151_645), "{:?}", v.eos);
    }
    let gguf = cache_dir().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    match std::fs::read(&gguf) {
        Ok(bytes) => {
            let v = Vocabulary::from_gguf(&bytes).unwrap();
            assert_eq!(v.len(), 49_152);
            assert_eq!((v.bos, v.eos.as_slice()), (Some(1), &[2][..]));
            let index = VocabIndex::new(v);
            let ir = ir(Language::Rust, RUST_HEADER);
            let mut checker = Checker::new(&ir, &index).unwrap();
            for t in greedy(&index, full_text(Language::Rust, RUST_HEADER, RUST_BODY).as_bytes()) {
                assert!(checker.compute_mask().unwrap().is_allowed(t));
                checker.commit(t).unwrap();
            }
            assert!(checker.is_accepting());
        }
        Err(_) => println!("SKIPPED gguf: {} is absent (run scripts/fetch-model.sh)", gguf.display()),
    }
}

#[test]
fn other_targets_use_llguidance() {
    let mut set = ConstraintSet::new();
    set.insert(user(Rule::JsonSchema {
        schema: serde_json::json!({"type": "object", "properties": {"port": {"type": "integer"}}, "required": ["port"], "additionalProperties": false}),
    }));
    let ir = braid::compile(&set, &CompileConfig::new(Language::Rust, Target::Json)).unwrap();
    let index = cl100k();
    let mut checker = Checker::new(&ir, index).unwrap();
    assert_eq!(checker.engine(), "llguidance");
    for t in tokenize(index, r#"{"port": 80}"#) {
        assert!(checker.compute_mask().unwrap().is_allowed(t));
        checker.commit(t).unwrap();
    }
    assert!(checker.is_accepting());
}
