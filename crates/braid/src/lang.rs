//! Per-language knowledge: how calls, macros and module paths are spelled, which keywords declare which symbol
//! kinds, which calls panic, and the regexes for identifiers that break a naming style.

use ananke_core::{Language, NamingStyle, SymbolKind};

use crate::pattern::{NON_WORD, escape};

/// Whitespace between the parts of a call (`x . unwrap ( )` is still a call).
const WS: &str = "[ \t\r\n]*";
/// At least one whitespace character.
const WS1: &str = "[ \t\r\n]+";

/// A forbidden text: what every occurrence contains, the exact banned regex, and a description.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Ban {
    /// Text every banned occurrence contains.
    pub literal: String,
    /// The banned regex.
    pub pattern: String,
    /// For people.
    pub description: String,
}

/// The path separator of a language's module paths.
fn separator(language: Language) -> &'static str {
    match language {
        Language::Rust => "::",
        _ => ".",
    }
}

/// The ban for a call to `callee`: a name (`unwrap`), a path suffix (`mem::transmute`, `os.system`) or a macro
/// (`panic!`). The call must start at an identifier boundary; whitespace may separate the segments, the `!` and the
/// opening parenthesis; in Rust the name followed by `::` (a turbofish) is banned too.
pub(crate) fn call_ban(language: Language, callee: &str) -> Ban {
    let callee = callee.trim();
    let (path, is_macro) = match callee.strip_suffix('!') {
        Some(name) => (name.trim(), true),
        None => (callee, false),
    };
    let path = path.strip_suffix("()").unwrap_or(path);
    let sep = separator(language);
    let segments: Vec<&str> =
        path.split(sep).flat_map(|s| s.split("::")).map(str::trim).filter(|s| !s.is_empty()).collect();
    let literal = segments.last().copied().unwrap_or(path).to_owned();
    let joiner = format!("{WS}{}{WS}", escape(sep));
    let body = segments.iter().map(|s| escape(s)).collect::<Vec<_>>().join(&joiner);
    let pattern = if is_macro {
        format!("{NON_WORD}{body}{WS}!")
    } else if language == Language::Rust {
        // A turbofish (`transmute::<A, B>(x)`) is banned at its `::`: matching through the generic arguments
        // would make the lexer track arbitrary text after every mention of the name.
        format!("{NON_WORD}{body}{WS}(?:\\(|::)")
    } else {
        format!("{NON_WORD}{body}{WS}\\(")
    };
    let description = format!("call `{callee}`");
    Ban { literal, pattern, description }
}

/// The ban for any mention of a module path (`std::process`, `os`): the path at an identifier boundary, not
/// continued by more identifier characters.
pub(crate) fn module_ban(language: Language, module: &str) -> Ban {
    let sep = separator(language);
    let segments: Vec<&str> = module.split(sep).map(str::trim).filter(|s| !s.is_empty()).collect();
    let joiner = format!("{WS}{}{WS}", escape(sep));
    let body = segments.iter().map(|s| escape(s)).collect::<Vec<_>>().join(&joiner);
    let literal = segments.last().copied().unwrap_or(module).to_owned();
    // The character before must not continue a path either (`crate::std::process` is another module).
    let before = if sep == "::" { "[^A-Za-z0-9_:]" } else { "[^A-Za-z0-9_.]" };
    Ban { literal, pattern: format!("{before}{body}{NON_WORD}"), description: format!("module `{module}`") }
}

/// The calls that panic, for `ErrorHandling { style: NoPanic }`.
pub(crate) fn panicking_calls(language: Language) -> &'static [&'static str] {
    match language {
        Language::Rust => &["unwrap", "expect", "panic!", "todo!", "unimplemented!", "unreachable!"],
        Language::Go => &["panic"],
        Language::TypeScript | Language::JavaScript | Language::Python => &[],
    }
}

/// The keywords that introduce a declaration of a symbol kind, and the words that may follow them without being
/// the declared name (`let mut x`: `mut`).
fn declaration_keywords(language: Language, kind: SymbolKind) -> Option<(&'static str, &'static [&'static str])> {
    let found: (&str, &[&str]) = match (language, kind) {
        (Language::Rust, SymbolKind::Variable) => ("let", &["mut", "ref"]),
        (Language::Rust, SymbolKind::Function) => ("fn", &[]),
        (Language::Rust, SymbolKind::Constant) => ("const", &["fn", "unsafe", "async", "extern"]),
        (Language::Rust, SymbolKind::Static) => ("static", &["mut", "ref"]),
        (Language::Rust, SymbolKind::Type) => ("struct|enum|trait|type|union", &["for"]),
        (Language::Rust, SymbolKind::Module) => ("mod", &[]),
        (Language::TypeScript | Language::JavaScript, SymbolKind::Variable) => ("let|var", &[]),
        (Language::TypeScript | Language::JavaScript, SymbolKind::Constant) => ("const", &["enum"]),
        (Language::TypeScript | Language::JavaScript, SymbolKind::Function) => ("function", &[]),
        (Language::TypeScript | Language::JavaScript, SymbolKind::Type) => ("class|interface|type|enum", &[]),
        (Language::Python, SymbolKind::Function) => ("def", &[]),
        (Language::Python, SymbolKind::Type) => ("class", &[]),
        (Language::Go, SymbolKind::Function) => ("func", &[]),
        (Language::Go, SymbolKind::Variable) => ("var", &[]),
        (Language::Go, SymbolKind::Constant) => ("const", &[]),
        (Language::Go, SymbolKind::Type) => ("type", &[]),
        _ => return None,
    };
    Some(found)
}

/// The ban for declaring a name of `kind` that breaks `style` (`let parseHeader` under snake_case variables), or
/// `None` when the language has no declaration keyword for the kind.
pub(crate) fn naming_ban(language: Language, kind: SymbolKind, style: NamingStyle) -> Option<Ban> {
    let (keywords, skipped) = declaration_keywords(language, kind)?;
    // After Rust's `let`, a capitalized word starts a pattern (`let Some(x) = ...`, `if let Ok(v)`,
    // `let Point { x, .. } = p`), not a variable's name: a snake_case ban judges lower-case starts only.
    let bad = if language == Language::Rust && kind == SymbolKind::Variable && style == NamingStyle::SnakeCase {
        "_*[a-z0-9][a-z0-9_]*[A-Z]|_+[0-9]".to_owned()
    } else {
        bad_identifier(style, skipped)
    };
    // Rust's `let mut x` / `static mut X`: the optional modifier is part of the declaration, not its name.
    let modifier = if skipped.contains(&"mut") { format!("(?:mut{WS1})?") } else { String::new() };
    let pattern = format!("{NON_WORD}(?:{keywords}){WS1}{modifier}(?:{bad})");
    let literal = if keywords.contains('|') { String::new() } else { keywords.to_owned() };
    Some(Ban { literal, pattern, description: format!("{kind} names that are not {style}") })
}

/// An ASCII character set for building regexes.
#[derive(Clone, Copy)]
struct Chars([bool; 128]);

impl Chars {
    fn of(ranges: &[(u8, u8)]) -> Chars {
        let mut set = [false; 128];
        for &(lo, hi) in ranges {
            for c in lo..=hi {
                set[c as usize] = true;
            }
        }
        Chars(set)
    }

    fn without(mut self, c: u8) -> Chars {
        self.0[c as usize] = false;
        self
    }

    fn is_empty(&self) -> bool {
        !self.0.iter().any(|&b| b)
    }

    fn render(&self) -> String {
        let mut out = String::from("[");
        let mut c = 0usize;
        while c < 128 {
            if self.0[c] {
                let start = c;
                while c + 1 < 128 && self.0[c + 1] {
                    c += 1;
                }
                out.push(start as u8 as char);
                if c > start {
                    out.push('-');
                    out.push(c as u8 as char);
                }
            }
            c += 1;
        }
        out.push(']');
        out
    }
}

const LOWER: (u8, u8) = (b'a', b'z');
const UPPER: (u8, u8) = (b'A', b'Z');
const DIGIT: (u8, u8) = (b'0', b'9');
const UNDERSCORE: (u8, u8) = (b'_', b'_');

/// A regex for the shortest texts that doom a word of `first rest*` to be none of `words` (all of that form): a
/// character where the word leaves every excluded word, or the end of a proper prefix of one (a non-identifier
/// character after it). Written as a trie (`a(?:s(?:y...)?)`), so a derivative-based lexer keeps one alternative
/// alive per character; and since a deviation is doomed at once, only the finitely many proper prefixes need to see
/// the word's end.
fn words_except(first: Chars, rest: Chars, words: &[&str]) -> String {
    trie_except(first, rest, words, "")
}

fn trie_except(first: Chars, rest: Chars, words: &[&str], prefix: &str) -> String {
    let class = if prefix.is_empty() { first } else { rest };
    let mut children: Vec<u8> = words
        .iter()
        .filter(|w| w.len() > prefix.len() && w.starts_with(prefix))
        .map(|w| w.as_bytes()[prefix.len()])
        .collect();
    children.sort_unstable();
    children.dedup();
    let mut other = class;
    for &c in &children {
        other = other.without(c);
    }
    let mut alternatives = Vec::new();
    if !other.is_empty() {
        alternatives.push(other.render());
    }
    for &c in &children {
        let next = format!("{prefix}{}", c as char);
        let inner = trie_except(first, rest, words, &next);
        let lit = escape(&(c as char).to_string());
        alternatives.push(if inner.is_empty() { lit } else { format!("{lit}(?:{inner})") });
    }
    // A proper prefix that is not itself excluded is a different word if it ends here.
    if !prefix.is_empty() && !words.contains(&prefix) {
        alternatives.push(NON_WORD.to_owned());
    }
    alternatives.join("|")
}

/// A regex for the shortest prefixes that doom an ASCII identifier to break `style` (as [`NamingStyle::matches`]
/// decides), not counting the words in `skipped`. Matching a prefix rather than the whole name keeps the ban cheap
/// for the lexer and lets the decoder reject a bad name at its first bad character (`let parseH`). Lower-case
/// names can only be judged once complete when `skipped` has words (`let mu` may become `let mut x`), so those end
/// with a non-identifier character.
pub(crate) fn bad_identifier(style: NamingStyle, skipped: &[&str]) -> String {
    let alnum = Chars::of(&[LOWER, UPPER, DIGIT]).render();
    let lower_start = || {
        if skipped.is_empty() {
            "[a-z]".to_owned()
        } else {
            let words = words_except(Chars::of(&[LOWER]), Chars::of(&[LOWER, UPPER, DIGIT, UNDERSCORE]), skipped);
            format!("(?:{words})")
        }
    };
    match style {
        // An upper-case letter anywhere, or a digit right after the leading underscores.
        NamingStyle::SnakeCase => "[a-z0-9_]*[A-Z]|_+[0-9]".to_owned(),
        // Starts (after underscores) with an upper-case letter or digit, or has an underscore inside.
        NamingStyle::CamelCase => format!("_*[A-Z0-9]|_*[a-z]{alnum}*_+{alnum}"),
        // Starts (after underscores) with a lower-case letter or digit, or has an underscore inside.
        NamingStyle::PascalCase => format!("_+[a-z0-9]|_*[A-Z]{alnum}*_+{alnum}|{}", lower_start()),
        // A lower-case letter anywhere, or a digit right after the leading underscores.
        NamingStyle::ScreamingSnakeCase => format!("[A-Z_][A-Z0-9_]*[a-z]|_+[0-9]|{}", lower_start()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &[
        "parse_header",
        "parse",
        "parseHeader",
        "HttpServer",
        "MAX_LEN",
        "IO",
        "Bad_Name",
        "x1_y2",
        "a__b",
        "_lead",
        "trail_",
        "mixed_Case",
        "ALLCAPS",
        "camel2Case",
        "mut",
        "ref",
        "mutable",
        "mu",
        "fn",
        "_",
        "__",
        "_1x",
        "r",
        "A",
        "a",
    ];

    #[test]
    fn bad_identifier_is_the_complement_of_the_style() {
        for style in NamingStyle::ALL {
            for skipped in [&[][..], &["mut", "ref"][..], &["fn", "unsafe"][..]] {
                let re = regex::Regex::new(&format!("^(?:{})", bad_identifier(style, skipped))).unwrap();
                for name in NAMES {
                    let expected = !style.matches(name) && !skipped.contains(name);
                    let followed = format!("{name} ");
                    assert_eq!(re.is_match(&followed), expected, "{style} skipping {skipped:?} on {name}");
                }
            }
        }
    }

    #[test]
    fn call_bans() {
        let ban = call_ban(Language::Rust, "unwrap");
        let re = regex::Regex::new(&ban.pattern).unwrap();
        assert!(re.is_match("{ x.unwrap() }"));
        assert!(re.is_match("{ x . unwrap ( ) }"));
        assert!(!re.is_match("{ x.unwrap_or(1) }"));
        assert!(!re.is_match("{ my_unwrap(1) }"));
        let ban = call_ban(Language::Rust, "mem::transmute");
        let re = regex::Regex::new(&ban.pattern).unwrap();
        assert!(re.is_match("{ std::mem::transmute::<u8, i8>(x) }"));
        assert!(!re.is_match("{ transmute(x) }"));
        let ban = call_ban(Language::Rust, "panic!");
        assert!(regex::Regex::new(&ban.pattern).unwrap().is_match("{ panic!(\"x\") }"));
        let ban = call_ban(Language::Python, "os.system");
        assert!(regex::Regex::new(&ban.pattern).unwrap().is_match("\n    os.system('ls')"));
        let ban = module_ban(Language::Rust, "std::process");
        let re = regex::Regex::new(&ban.pattern).unwrap();
        assert!(re.is_match("{ std::process::exit(1) }"));
        assert!(!re.is_match("{ std::processes }"));
    }

    #[test]
    fn naming_bans() {
        let ban = naming_ban(Language::Rust, SymbolKind::Variable, NamingStyle::SnakeCase).unwrap();
        let re = regex::Regex::new(&ban.pattern).unwrap();
        assert!(re.is_match("{ let fooBar = 1; }"));
        assert!(re.is_match("{ let mut fooBar = 1; }"));
        assert!(!re.is_match("{ let foo_bar = 1; let mut x = 2; }"));
        // Patterns after `let` are not names.
        assert!(!re.is_match("{ if let Some(x) = y { } let Point { x, .. } = p; while let Ok(v) = r { } }"));
        let ban = naming_ban(Language::Rust, SymbolKind::Constant, NamingStyle::ScreamingSnakeCase).unwrap();
        let re = regex::Regex::new(&ban.pattern).unwrap();
        assert!(re.is_match("{ const max: u8 = 1; }"));
        assert!(!re.is_match("{ const fn f() {} const MAX: u8 = 1; }"));
    }
}
