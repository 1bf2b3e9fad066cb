//! Quick look at mask times (development aid).
use std::time::Instant;

use ananke_core::{Constraint, ConstraintSet, Language, NamingStyle, Provenance, Rule, Scope, SymbolKind};
use braid::{Checker, CompileConfig, Target, Tiktoken, VocabIndex, Vocabulary};

fn main() {
    let t = Instant::now();
    let index = VocabIndex::new(Vocabulary::tiktoken(Tiktoken::Cl100k));
    println!("index {:?}, {} nodes", t.elapsed(), index.trie_nodes());
    let mut set = ConstraintSet::new();
    for c in [
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
    ] {
        set.insert(Constraint::new(Rule::ForbidCall { callee: c.into() }, Scope::default(), Provenance::user()));
    }
    for (k, s) in [
        (SymbolKind::Variable, NamingStyle::SnakeCase),
        (SymbolKind::Function, NamingStyle::SnakeCase),
        (SymbolKind::Type, NamingStyle::PascalCase),
    ] {
        set.insert(Constraint::new(Rule::Naming { target: k, style: s }, Scope::default(), Provenance::user()));
    }
    let header = "pub fn parse_port(text: &str) -> Result<u16, String>";
    let ir =
        braid::compile(&set, &CompileConfig::new(Language::Rust, Target::FnBody { signature: header.into() })).unwrap();
    let t = Instant::now();
    let mut c = Checker::new(&ir, &index).unwrap();
    println!("compile {:?} states {:?}", t.elapsed(), c.automaton_states());
    let body = "{\n    // Parse \"host:port\" or a bare port\n    let trimmed_text = text.trim();\n    let digits = match trimmed_text.rsplit_once(':') {\n        Some((_, port)) => port,\n        None => trimmed_text,\n    };\n    if digits.is_empty() {\n        return Err(format!(\"empty port in {:?}\", text));\n    }\n    digits.parse::<u16>().map_err(|e| e.to_string())\n}";
    let text = format!("{header} {body}");
    let toks = tiktoken_rs::cl100k_base_singleton().encode_ordinary(&text);
    for pass in 0..2 {
        c.reset().unwrap();
        let mut times = Vec::new();
        for (i, &tok) in toks.iter().enumerate() {
            let s = Instant::now();
            let m = c.compute_mask().unwrap();
            let ok = m.is_allowed(tok);
            times.push(s.elapsed().as_nanos() as u64);
            if !ok {
                println!(
                    "token {i} {:?} not allowed: {:?}",
                    String::from_utf8_lossy(index.vocabulary().token_bytes(tok)),
                    c.violation_reason(tok)
                );
                return;
            }
            c.commit(tok).unwrap();
        }
        let mean = times.iter().sum::<u64>() / times.len() as u64;
        times.sort_unstable();
        println!(
            "pass {pass}: {} tokens accepting {} mean {}us p50 {}us p99 {}us max {}us; {:?}",
            toks.len(),
            c.is_accepting(),
            mean / 1000,
            times[times.len() / 2] / 1000,
            times[times.len() * 99 / 100] / 1000,
            times.last().unwrap() / 1000,
            c.stats()
        );
    }
}
