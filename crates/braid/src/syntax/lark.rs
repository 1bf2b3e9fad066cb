//! The Lark form (llguidance's dialect) of the body grammar, for the IR: servers that embed llguidance enforce the
//! same statements and expressions as braid's Checker. It is written from the same rules ([`super::rust::RUST`]);
//! what Lark cannot say is left to the Checker and the post-generation check: the refusals of rustc's lexer that
//! need a look at the next character (suffixes, reserved prefixes), `!"..."` marks (a cast followed by `<=`), the
//! identifier layer, and bans that span several lexemes. Bans of calls and macros become word-level exclusions: a
//! banned callee's name is not an identifier at all, and a banned macro's rules are dropped.

use std::fmt::Write as _;

use super::grammar::{Rx, Sym, parse_rules, parse_rx};
use super::lexer::{self, Cat};

/// The terminals the rules use besides keywords and punctuation.
const TERMINALS: &[(&str, &str)] = &[
    (
        "INT",
        r"/(?:[0-9][0-9_]*|0x[0-9a-fA-F_]*[0-9a-fA-F][0-9a-fA-F_]*|0o[0-7_]*[0-7][0-7_]*|0b[01_]*[01][01_]*)(?:[ui](?:8|16|32|64|128|size))?/",
    ),
    ("INDEX", r"/0|[1-9][0-9]*/"),
    ("FLOAT", r"/[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9][0-9_]*)?(?:f32|f64)?/"),
    (
        "STRING",
        r##"/"(?:[^"\\\r]|\\[nrt\\0'"\n]|\\x[0-7][0-9a-fA-F]|\\u\{[0-9a-fA-F]{1,5}\})*"|r"[^"]*"|r#"(?:[^"]|"[^#])*"#/"##,
    ),
    (
        "BSTRING",
        r#"/b"(?:[\x20-\x21\x23-\x5b\x5d-\x7e\t\n]|\\[nrt\\0'"]|\\x[0-9a-fA-F]{2})*"|br"[\x20-\x21\x23-\x7e\t\n]*"/"#,
    ),
    ("CHAR", r#"/'(?:[^'\\\n\t]|\\[nrt\\0'"]|\\x[0-7][0-9a-fA-F]|\\u\{[0-9a-fA-F]{1,5}\})'/"#),
    ("BCHAR", r#"/b'(?:[\x20-\x26\x28-\x5b\x5d-\x7e]|\\[nrt\\0'"]|\\x[0-9a-fA-F]{2})'/"#),
    ("LIFETIME", r"/'[A-Za-z_][A-Za-z0-9_]*/"),
    ("UNDERSCORE", r#""_""#),
];

fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A rule body in Lark, without the alternatives that need a banned kind; `None` if nothing is left.
fn emit(rx: &Rx, banned: &[lexer::Kind], out: &mut String) -> bool {
    match rx {
        Rx::Sym(Sym::Term(kinds, _)) => {
            let kinds: Vec<lexer::Kind> = kinds.iter().copied().filter(|k| !banned.contains(k)).collect();
            if kinds.is_empty() {
                return false;
            }
            let ident = lexer::k("IDENT");
            if kinds.contains(&ident) {
                // An identifier class (with or without the soft keywords, which NAME also matches).
                out.push_str("NAME");
                return true;
            }
            let names: Vec<String> = kinds
                .iter()
                .map(|&k| {
                    let (name, c) = lexer::KINDS[k as usize];
                    match c {
                        Cat::Ident => "UNDERSCORE".to_owned(),
                        Cat::Keyword | Cat::Soft | Cat::Prim | Cat::Punct => quote(name),
                        _ => name.to_owned(),
                    }
                })
                .collect();
            if names.len() == 1 {
                out.push_str(&names[0]);
            } else {
                let _ = write!(out, "({})", names.join(" | "));
            }
            true
        }
        Rx::Sym(Sym::Rule(name)) => {
            out.push_str(name);
            true
        }
        Rx::Sym(Sym::Block(_)) => true,
        Rx::Seq(items) => {
            let mut parts = Vec::new();
            for item in items {
                let mut s = String::new();
                if !emit(item, banned, &mut s) {
                    return false;
                }
                if !s.is_empty() {
                    parts.push(s);
                }
            }
            out.push_str(&parts.join(" "));
            true
        }
        Rx::Alt(alts) => {
            let parts: Vec<String> = alts
                .iter()
                .filter_map(|a| {
                    let mut s = String::new();
                    emit(a, banned, &mut s).then_some(s)
                })
                .collect();
            if parts.is_empty() {
                return false;
            }
            let _ = write!(out, "({})", parts.join(" | "));
            true
        }
        Rx::Star(x) | Rx::Opt(x) => {
            let mut s = String::new();
            if emit(x, banned, &mut s) {
                let op = if matches!(rx, Rx::Star(_)) { "*" } else { "?" };
                let _ = write!(out, "({s}){op}");
            }
            // An optional part that cannot occur is just absent.
            true
        }
        Rx::Plus(x) => {
            let mut s = String::new();
            if !emit(x, banned, &mut s) {
                return false;
            }
            let _ = write!(out, "({s})+");
            true
        }
    }
}

/// The Lark text of the Rust body grammar after a fixed header. `banned_words` are identifiers that may not occur
/// (banned callees); banned macro names drop their rules.
pub(crate) fn rust_body(header: &str, banned_words: &[String]) -> String {
    let mut out = String::new();
    out.push_str("start: HEADER body\n");
    let _ = writeln!(out, "HEADER: {}", quote(header));
    out.push_str("%ignore /(?:[ \\t\\n]|\\/\\/[^\\n]*\\n)+/\n");
    let banned: Vec<lexer::Kind> =
        banned_words.iter().filter_map(|w| lexer::kind(w)).filter(|&k| lexer::cat(k) == Cat::Soft).collect();
    let rules = parse_rules(super::rust::RUST).unwrap_or_default();
    for r in &rules {
        let Ok(rx) = parse_rx(&r.body) else { continue };
        let mut body = String::new();
        if emit(&rx, &banned, &mut body) {
            let _ = writeln!(out, "{}: {body}", r.name);
        } else {
            // A rule that only banned macros used: it can never match.
            let _ = writeln!(out, "{}: NEVER", r.name);
        }
    }
    let keywords: Vec<&str> = lexer::KINDS
        .iter()
        .filter(|(_, c)| matches!(c, Cat::Keyword))
        .map(|(n, _)| *n)
        .chain([
            "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual",
            "yield", "try", "gen",
        ])
        .chain(banned_words.iter().map(String::as_str))
        .collect();
    let _ = writeln!(out, "NAME: /[A-Za-z_][A-Za-z0-9_]*/ & ~/(?:{})|_/", keywords.join("|"));
    out.push_str("NEVER: /\\x00\\x01\\x02/\n");
    for (name, regex) in TERMINALS {
        let _ = writeln!(out, "{name}: {regex}");
    }
    out
}
