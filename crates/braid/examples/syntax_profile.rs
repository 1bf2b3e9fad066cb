//! Where the syntax layer's mask time goes on a sample (a development aid): per token, the mask time and the walk
//! counters.

use std::time::Instant;

use ananke_core::{Constraint, ConstraintSet, Language, Provenance, Rule, Scope};
use braid::{BodyOptions, Checker, CompileConfig, Target, Tiktoken, VocabIndex, Vocabulary};

const HEADER: &str = "pub fn parse_port(text: &str) -> Result<u16, String>";
const BODY: &str = "{\n    let trimmed_text = text.trim();\n    let digits = match trimmed_text.rsplit_once(':') {\n        Some((host, port)) if !host.is_empty() => port,\n        None => trimmed_text,\n    };\n    let mut value: u32 = 0;\n    for (index, ch) in digits.chars().enumerate() {\n        value = value * 10 + ch.to_digit(10).ok_or_else(|| format!(\"bad {}\", index))?;\n    }\n    u16::try_from(value).map_err(|err| format!(\"port {} out of range: {}\", value, err))\n}";

fn main() {
    let mut set = ConstraintSet::new();
    for callee in ["unwrap", "expect", "panic!"] {
        set.insert(Constraint::new(Rule::ForbidCall { callee: callee.into() }, Scope::default(), Provenance::user()));
    }
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: HEADER.into() })
        .with_body(BodyOptions::syntax());
    let ir = braid::compile(&set, &config).unwrap();
    let index = VocabIndex::new(Vocabulary::tiktoken(Tiktoken::Cl100k));
    println!("trie nodes {}", index.trie_nodes());
    let t = Instant::now();
    let mut checker = Checker::new(&ir, &index).unwrap();
    println!("compile {:?} {:?}", t.elapsed(), checker.stats());
    let tokens = index.encode(&format!("{HEADER} {BODY}"));
    let mut total = 0.0;
    for &tok in &tokens {
        let before = checker.stats();
        let t = Instant::now();
        let allowed = checker.compute_mask().unwrap().is_allowed(tok);
        let us = t.elapsed().as_secs_f64() * 1e6;
        total += us;
        let after = checker.stats();
        println!(
            "{:>9.1} µs  walks {:>3} nodes {:>8} reused {:>4}  {:?}",
            us,
            after.walks - before.walks,
            after.nodes_walked - before.nodes_walked,
            after.subtrees_reused - before.subtrees_reused,
            String::from_utf8_lossy(index.vocabulary().token_bytes(tok))
        );
        if !allowed {
            let why = checker.violation_reason(tok);
            let text = String::from_utf8_lossy(checker.text()).into_owned();
            println!(
                "REFUSED {:?} after {text:?}: {why:?}",
                String::from_utf8_lossy(index.vocabulary().token_bytes(tok))
            );
            return;
        }
        checker.commit(tok).unwrap();
    }
    println!("mean {:.1} µs over {} tokens", total / tokens.len() as f64, tokens.len());
}
