//! Every grammar braid emits is built by llguidance on a real vocabulary (cl100k), valid samples walk through it
//! token by token, and forbidden text cannot be produced, even when it is split across tokens.

mod common;
mod ruleset;

use ananke_core::{
    Constraint, ConstraintSet, ErrorStyle, Language, LengthUnit, NamingStyle, Param, Pattern, Provenance, Rule, Scope,
    Signature, SymbolKind,
};
use braid::{CompileConfig, ConstraintIR, Target};

use ruleset::user;

fn rust_rules() -> ConstraintSet {
    let mut set = ConstraintSet::new();
    for callee in ["unwrap", "expect", "panic!", "mem::transmute", "std::process::Command::new"] {
        set.insert(user(Rule::ForbidCall { callee: callee.into() }));
    }
    set.insert(user(Rule::Naming { target: SymbolKind::Variable, style: NamingStyle::SnakeCase }));
    set.insert(user(Rule::Naming { target: SymbolKind::Function, style: NamingStyle::SnakeCase }));
    set.insert(user(Rule::Naming { target: SymbolKind::Type, style: NamingStyle::PascalCase }));
    set.insert(user(Rule::ForbidPattern { pattern: Pattern::Regex(r"\bunsafe\b".into()) }));
    set.insert(user(Rule::ErrorHandling { style: ErrorStyle::NoPanic }));
    set.insert(user(Rule::Length { unit: LengthUnit::Lines, min: None, max: Some(40) }));
    set.insert(user(Rule::Length { unit: LengthUnit::Tokens, min: None, max: Some(400) }));
    set
}

fn signature() -> Signature {
    Signature {
        name: "parse_port".into(),
        params: vec![Param { name: "text".into(), ty: "&str".into() }],
        returns: Some("Result<u16, String>".into()),
        visibility: Some("pub".into()),
        has_body: true,
        ..Signature::default()
    }
}

fn fn_body_ir(set: &ConstraintSet) -> ConstraintIR {
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: "parse_port".into() });
    braid::compile(set, &config).expect("compiles")
}

fn with_signature(mut set: ConstraintSet) -> ConstraintSet {
    set.insert(user(Rule::Signature(signature())));
    set
}

const VALID_BODY: &str = r#"{
    // Parse "host:port" or a bare port; braces in strings and comments: "{" '}' { {
    let trimmed_text = text.trim();
    let digits = match trimmed_text.rsplit_once(':') {
        Some((_, port)) => port,
        None => trimmed_text,
    };
    if digits.is_empty() {
        return Err(format!("empty port in {:?}", text));
    }
    digits.parse::<u16>().map_err(|e| e.to_string())
}"#;

fn lark(ir: &ConstraintIR) -> &str {
    &ir.grammar.as_ref().expect("a grammar").lark
}

#[test]
fn fn_body_grammar_accepts_a_valid_body() {
    let ir = fn_body_ir(&with_signature(rust_rules()));
    let header = "pub fn parse_port(text: &str) -> Result<u16, String> ";
    let mut m = common::matcher(lark(&ir)).expect("llguidance builds the grammar");
    // llguidance only lets the fixed header through in its canonical tokenization, so tokenize the text whole.
    let text = format!("{header}{VALID_BODY}");
    let (walked, accepting) = common::walk_pieces(&mut m, &[&text]);
    let tokens = common::tokenize(&text);
    let total = tokens.len();
    let trie = common::cl100k().tok_env().tok_trie();
    let upto = trie.decode_str(&tokens[..walked.min(total)]);
    assert_eq!(walked, total, "every token of the valid sample is allowed; stopped after {upto:?}");
    assert!(accepting, "the grammar accepts the complete function");
}

/// Walks `prefix + rest[0]`, then each further piece of `rest` tokenized separately (so a token boundary falls
/// between pieces), and returns whether every token was allowed. The fixed header must stay in the first piece:
/// llguidance lets forced text through only in its canonical tokenization.
fn allowed(lark: &str, prefix: &str, rest: &[&str]) -> bool {
    let mut m = common::matcher(lark).expect("llguidance builds the grammar");
    let first = format!("{prefix}{}", rest.first().copied().unwrap_or(""));
    let mut pieces = vec![first.as_str()];
    pieces.extend_from_slice(rest.get(1..).unwrap_or(&[]));
    let total: usize = pieces.iter().map(|p| common::tokenize(p).len()).sum();
    common::walk_pieces(&mut m, &pieces).0 == total
}

#[test]
fn forbidden_calls_cannot_be_produced_even_split_across_tokens() {
    let ir = fn_body_ir(&with_signature(rust_rules()));
    let g = lark(&ir);
    let header = "pub fn parse_port(text: &str) -> Result<u16, String> ";
    // The split the issue warns about: `.unwr` and `ap()` as separate tokens, across what would be two lexemes in a
    // grammar of repeated negated terminals.
    assert!(common::token_for("ap").is_some(), "cl100k has the token `ap`");
    for pieces in [
        &["{ let x = text.unwr", "ap() }"][..],
        &["{ let x = text.unwrap() }"],
        &["{ let x = text . unwrap ( ) }"],
        &["{ let x = text.exp", "ect(\"port\") }"],
        &["{ pa", "nic!(\"no\") }"],
        &["{ unsafe { 1 } }"],
        &["{ let x = std::mem::transmute::<u8, i8>(1); }"],
        &["{ let c = std::process::Command::new(\"ls\"); }"],
        &["{ let parseHeader = 1; }"],
        &["{ todo!() }"],
        &["{ } }"],
        &["{ { } } }"],
    ] {
        assert!(!allowed(g, header, pieces), "{pieces:?} must be rejected");
    }
    for pieces in [
        &["{ text.unwrap_or_default(); 0 }"][..],
        &["{ let my_unwrap = 1; Ok(my_unwrap) }"],
        &["{ let unsafe_count = 1; Ok(unsafe_count) }"],
        &["{ if true { { } } else { } }"],
        &["{ let s = \"}\"; let c = '{'; // }\n Ok(1) }"],
        &["{ let r: &'static str = \"x\"; Ok(2) }"],
    ] {
        assert!(allowed(g, header, pieces), "{pieces:?} must be allowed");
    }
}

#[test]
fn exhaustive_token_check_at_a_split_point() {
    // After `{ x.unwr`, no token whose text starts with `ap(` (or any continuation completing the call) is allowed.
    let ir = fn_body_ir(&with_signature(rust_rules()));
    let header = "pub fn parse_port(text: &str) -> Result<u16, String> ";
    let mut m = common::matcher(lark(&ir)).unwrap();
    let tokens: Vec<u32> = common::tokenize(&format!("{header}{{ x.unwr"));
    assert_eq!(common::walk(&mut m, &tokens).0, tokens.len());
    let mask = m.compute_mask().unwrap();
    let trie = common::cl100k().tok_env().tok_trie();
    let mut allowed_ap = 0;
    for token in 0..trie.vocab_size() as u32 {
        let bytes = trie.token(token);
        if bytes.starts_with(b"ap(") || bytes.starts_with(b"ap (") {
            assert!(!mask.is_allowed(token), "token {:?} completes a banned call", String::from_utf8_lossy(bytes));
        }
        if bytes == b"ap" && mask.is_allowed(token) {
            allowed_ap += 1;
        }
    }
    // `ap` alone is still fine (`x.unwrap_or(..)` remains possible).
    assert_eq!(allowed_ap, 1);
}

#[test]
fn required_patterns_and_lengths_go_to_the_checker() {
    let mut set = with_signature(rust_rules());
    let scope = Scope { symbol_kind: Some(SymbolKind::Function), ..Scope::default() };
    set.insert(Constraint::new(
        Rule::RequirePattern { pattern: Pattern::Regex(r"\?".into()) },
        scope,
        Provenance::user(),
    ));
    let ir = fn_body_ir(&set);
    assert!(ir.regexes.iter().any(|r| r.role == braid::RegexRole::Required && r.pattern == r"\?"));
    assert!(ir.checks.iter().any(|c| c.description.contains("require pattern")));
    assert!(ir.length.iter().any(|l| l.unit == LengthUnit::Lines && l.max == Some(40) && !l.in_grammar));
    // The grammar still builds and accepts a body with and without the pattern (the check enforces it).
    let header = "pub fn parse_port(text: &str) -> Result<u16, String> ";
    let mut m = common::matcher(lark(&ir)).unwrap();
    let (_, accepting) = common::walk_pieces(&mut m, &[&format!("{header}{{ Ok(text.parse::<u16>()?) }}")]);
    assert!(accepting);
}

#[test]
fn item_grammar_accepts_functions_and_enforces_naming() {
    let config = CompileConfig::new(Language::Rust, Target::Item);
    let ir = braid::compile(&rust_rules(), &config).unwrap();
    let g = lark(&ir);
    for item in [
        "pub fn parse_port(text: &str) -> Result<u16, String> { Ok(1) }",
        "fn sum<'a, T: Into<u64> + Copy>(items: &'a [T], mut acc: u64) -> u64 where T: Clone { acc }",
        "pub(crate) async fn run(self: Box<Self>, map: HashMap<String, Vec<Option<u8>>>) { }",
        "fn apply(f: impl Fn(u8) -> u8, g: &dyn Fn() -> ()) -> (u8, [u8; 4]) { (f(1), [0; 4]) }",
    ] {
        let mut m = common::matcher(g).expect("llguidance builds the item grammar");
        let total = common::tokenize(item).len();
        let (n, accepting) = common::walk_pieces(&mut m, &[item]);
        assert_eq!(n, total, "{item}");
        assert!(accepting, "{item}");
    }
    assert!(!allowed(g, "", &["fn parsePort() { }"]), "a camelCase function name is rejected");
    assert!(!allowed(g, "", &["fn f(myArg: u8) { }"]), "a camelCase parameter is rejected");
    assert!(!allowed(g, "", &["fn f() { x.unwr", "ap() }"]), "a banned call in the body is rejected");
}

#[test]
fn json_grammar_is_built_from_the_schema() {
    let mut set = ConstraintSet::new();
    set.insert(user(Rule::JsonSchema {
        schema: serde_json::json!({"type": "object", "properties": {"port": {"type": "integer"}, "host": {"type": "string"}}, "required": ["port"], "additionalProperties": false}),
    }));
    let ir = braid::compile(&set, &CompileConfig::new(Language::Rust, Target::Json)).unwrap();
    let g = lark(&ir);
    let mut m = common::matcher(g).expect("llguidance builds the JSON grammar");
    let (_, accepting) = common::walk_pieces(&mut m, &[r#"{"port": 8080, "host": "a"}"#]);
    assert!(accepting);
    assert!(!allowed(g, "", &[r#"{"host": "a", "x": 1}"#]));
}

#[test]
fn other_languages_build() {
    let mut set = ConstraintSet::new();
    set.insert(user(Rule::ForbidCall { callee: "eval".into() }));
    set.insert(user(Rule::ForbidCall { callee: "os.system".into() }));
    set.insert(user(Rule::Naming { target: SymbolKind::Function, style: NamingStyle::SnakeCase }));
    for (language, header, body, banned) in [
        (
            Language::Python,
            "def run(cmd: str) -> int:",
            "\n    x = len(cmd)\n    return x\n",
            "\n    os.sys|tem(cmd)\n",
        ),
        (
            Language::TypeScript,
            "function run(cmd: string): number",
            "{ const t = `a$b` + cmd; return t.length; }",
            "{ ev|al(cmd) }",
        ),
        (Language::Go, "func run(cmd string) int", "{ s := `raw{`; return len(s) }", "{ ev|al(cmd) }"),
        (Language::JavaScript, "function run(cmd)", "{ return cmd.length / 2; }", "{ return ev|al(cmd) }"),
    ] {
        let config = CompileConfig::new(language, Target::FnBody { signature: header.into() });
        let ir = braid::compile(&set, &config).unwrap();
        let g = lark(&ir);
        let mut m = common::matcher(g).unwrap_or_else(|e| panic!("{language}: {e}\n{g}"));
        let prefix = if language == Language::Python { header.to_owned() } else { format!("{header} ") };
        let text = format!("{prefix}{body}");
        let total = common::tokenize(&text).len();
        let (n, accepting) = common::walk_pieces(&mut m, &[&text]);
        assert!(n == total && accepting, "{language}: valid body accepted ({n}/{total})\n{g}");
        let parts: Vec<&str> = banned.split('|').collect();
        assert!(!allowed(g, &prefix, &parts), "{language}: {banned} rejected");
    }
}

/// Twenty forbidden calls and every naming rule, under llguidance's default limits (no raised lexer fuel): the
/// grammar builds, valid bodies walk through on cl100k, and bans still hold across token boundaries.
#[test]
fn many_bans_work_under_default_limits() {
    const CALLEES: [&str; 20] = [
        "unwrap",
        "expect",
        "panic!",
        "mem::transmute",
        "std::process::Command::new",
        "todo!",
        "unimplemented!",
        "unreachable!",
        "eval",
        "exec",
        "system",
        "spawn",
        "from_raw_parts",
        "get_unchecked",
        "forget",
        "leak",
        "as_ptr",
        "offset",
        "read_volatile",
        "zeroed",
    ];
    let set = ruleset::set_of(
        &CALLEES,
        &[
            (SymbolKind::Variable, NamingStyle::SnakeCase),
            (SymbolKind::Function, NamingStyle::SnakeCase),
            (SymbolKind::Type, NamingStyle::PascalCase),
            (SymbolKind::Constant, NamingStyle::ScreamingSnakeCase),
        ],
    );
    let cases: [(Language, &str, &str, &str); 5] = [
        (
            Language::Rust,
            "pub fn parse_port(text: &str) -> Result<u16, String>",
            VALID_BODY,
            "{ let x = text.unwr|ap(); }",
        ),
        (
            Language::Rust,
            "fn total(items: &[u32]) -> u32",
            "{\n    const LIMIT: u32 = 10;\n    let mut sum_all = 0;\n    for item in items {\n        sum_all += item / 2;\n    }\n    sum_all.min(LIMIT)\n}",
            "{ let parse|Header = 1; }",
        ),
        (
            Language::TypeScript,
            "function run(cmd: string): number",
            "{ let total_len = cmd.length; return total_len / 2; }",
            "{ return ev|al(cmd); }",
        ),
        (Language::Go, "func run(cmd string) int", "{ s := `raw{`; return len(s) }", "{ sys|tem(cmd) }"),
        (
            Language::Python,
            "def run(cmd: str) -> int:",
            "\n    total_len = len(cmd)  # the length\n    return total_len\n",
            "\n    sp|awn(cmd)\n",
        ),
    ];
    for (language, header, body, banned) in cases {
        let config = CompileConfig::new(language, Target::FnBody { signature: header.into() });
        let ir = braid::compile(&set, &config).unwrap();
        let g = lark(&ir);
        let prefix = if language == Language::Python { header.to_owned() } else { format!("{header} ") };
        let text = format!("{prefix}{body}");
        let mut m = common::matcher(g).unwrap_or_else(|e| panic!("{language}: {e}"));
        let total = common::tokenize(&text).len();
        let (n, accepting) = common::walk_pieces(&mut m, &[&text]);
        let upto = common::cl100k().tok_env().tok_trie().decode_str(&common::tokenize(&text)[..n.min(total)]);
        assert!(n == total && accepting, "{language}: valid body accepted ({n}/{total}): {upto:?}");
        let parts: Vec<&str> = banned.split('|').collect();
        assert!(!allowed(g, &prefix, &parts), "{language}: {banned} rejected");
    }
    let ir = braid::compile(&set, &CompileConfig::new(Language::Rust, Target::Item)).unwrap();
    let mut m = common::matcher(lark(&ir)).expect("the item grammar builds");
    let item = "fn parse_port(text: &str) -> u16 { let port_number = 1; port_number }";
    assert_eq!(common::walk_pieces(&mut m, &[item]), (common::tokenize(item).len(), true));
}

#[test]
fn bans_do_not_apply_inside_literals_and_comments() {
    let ir = fn_body_ir(&with_signature(rust_rules()));
    let g = lark(&ir);
    let header = "pub fn parse_port(text: &str) -> Result<u16, String> ";
    assert!(allowed(g, header, &["{ let s = \"x.unwrap()\"; // never .unwrap() here\n Ok(1) }"]));
    assert!(!allowed(g, header, &["{ let s = r#\"a\"#; Ok(1) }"]), "`#` (raw strings) is not in code runs");
    let config = CompileConfig::new(Language::TypeScript, Target::FnBody { signature: "function f(x: string)".into() });
    let ir = braid::compile(&rust_rules(), &config).unwrap();
    assert!(!allowed(lark(&ir), "function f(x: string) ", &["{ return `${x}`; }"]), "no code inside templates");
}
