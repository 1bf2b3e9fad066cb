//! The lexical model of a generated function body, shared by the Lark grammar braid emits and by the token-level
//! [`crate::Checker`], so both enforce the same language.
//!
//! A body is a sequence of lexemes: **code runs** (printable ASCII, tabs and line breaks, without the characters
//! that open another lexeme) and **items** (braces, string and char literals, comments, a division sign). Two code
//! runs are never adjacent, so every ban is decided inside one code run: a ban cannot be split across two lexemes,
//! and what comes before and after a code run (a brace, a quote, a comment's line break, the division sign's space)
//! is never an identifier character. Bans therefore apply to each code run as if it were surrounded by
//! non-identifier characters, and they do not apply inside literals and comments.
//!
//! Code runs are ASCII on purpose: llguidance's derivative lexer builds far fewer states for an ASCII class than for
//! a Unicode one intersected with the bans (with Unicode classes, 20 bans and the naming rules exhausted its default
//! lexer fuel). Non-ASCII text is still allowed inside strings and comments.

use std::fmt::Write as _;

use ananke_core::Language;

use crate::pattern::NON_WORD;

/// The boundary classes a ban may start with (a non-identifier character; for module paths, one that does not
/// continue a path either).
pub(crate) const LEADS: &[&str] = &[NON_WORD, "[^A-Za-z0-9_:]", "[^A-Za-z0-9_.]"];

/// One item lexeme: its Lark terminal name and regex.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub name: &'static str,
    pub regex: &'static str,
}

/// The lexemes of one language's bodies.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lexemes {
    /// The characters of a code run, as a regex class (ASCII only).
    pub code_class: &'static str,
    /// Whether the body is brace-delimited (`{ ... }` with nested blocks); otherwise it is indented (Python).
    pub braces: bool,
    /// Item lexemes other than braces.
    pub items: &'static [Item],
}

const DIV: Item = Item { name: "DIV", regex: r"\/[ \t\r\n=]" };
const LINE_COMMENT: Item = Item { name: "COMMENT", regex: r"\/\/[^\n]*\n" };

/// The lexemes for a language.
pub(crate) fn lexemes(language: Language) -> Lexemes {
    match language {
        // Not in code runs: braces, quotes, `/` (comments and division are items) and `#` (raw strings `r#"..."#`
        // would otherwise make a quote inside a raw string look like the end of a string).
        Language::Rust => Lexemes {
            code_class: r"[\t\n\r !$-&(-.0-z|~]",
            braces: true,
            items: &[
                Item { name: "STRING", regex: r#""(?:[^"\\]|\\(?s:.))*""# },
                Item {
                    name: "APOS",
                    regex: r#"'(?:[^'\\\n]|\\[nrt\\0'"]|\\x[0-7][0-9a-fA-F]|\\u\{[0-9a-fA-F]{1,6}\})'|'[A-Za-z_][A-Za-z0-9_]*"#,
                },
                LINE_COMMENT,
                DIV,
            ],
        },
        Language::Go => Lexemes {
            code_class: r"[\t\n\r !#-&(-.0-_a-z|~]",
            braces: true,
            items: &[
                Item { name: "STRING", regex: r#""(?:[^"\\\n]|\\[^\n])*""# },
                Item { name: "RAW_STRING", regex: r"`[^`]*`" },
                Item { name: "RUNE", regex: r"'(?:[^'\\\n]|\\[^\n]{1,10})'" },
                LINE_COMMENT,
                DIV,
            ],
        },
        Language::TypeScript | Language::JavaScript => Lexemes {
            code_class: r"[\t\n\r !#-&(-.0-_a-z|~]",
            braces: true,
            items: &[
                Item { name: "STRING", regex: r#""(?:[^"\\\n]|\\[^\n])*"|'(?:[^'\\\n]|\\[^\n])*'"# },
                // No `${...}`: an interpolation is code, and code inside a literal would escape the bans.
                Item { name: "TEMPLATE", regex: r"`(?:[^`\\$]|\\(?s:.)|\$+[^`\\${])*\$*`" },
                LINE_COMMENT,
                DIV,
            ],
        },
        Language::Python => Lexemes {
            code_class: r"[\t\n\r !$-&(-\[\]-~]",
            braces: false,
            items: &[
                // Single-line literals without a prefix (an `f"{...}"` would hold code).
                Item { name: "STRING", regex: r#""(?:[^"\\\n]|\\[^\n])*"|'(?:[^'\\\n]|\\[^\n])*'"# },
                Item { name: "COMMENT", regex: r"#[^\n]*" },
                Item { name: "BACKSLASH", regex: r"\\\n" },
            ],
        },
    }
}

/// The forms of a ban that decide a code run, with the run's edges standing for a non-identifier character (a
/// sentinel `\0` before and after the run): a run is banned when `\0 run \0` contains a match of the pattern.
///
/// With a leading boundary class `LEAD` (`pattern = LEAD core`) the run is banned when it matches
/// `(ASCII LEAD)? (core ASCII | end)` entirely, `end` being the matches of the core whose last character is the
/// sentinel (the run's end). Without one: `ASCII (core ASCII | end) | (start ASCII | whole)`, `start` and `whole`
/// for matches whose first character is the sentinel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BanForms {
    /// The leading boundary class, when the pattern starts with one.
    pub lead: Option<&'static str>,
    /// The pattern without its leading class (or the whole pattern), classes cut to ASCII.
    pub core: String,
    /// Matches of the core that end at the run's end.
    pub end: Option<String>,
    /// Without a leading class: matches that start at the run's start.
    pub start: Option<String>,
    /// Without a leading class: matches that are the whole run.
    pub whole: Option<String>,
}

/// A ban's forms (see [`BanForms`]), from a process-wide memo: the same bans come back with every recompile (the
/// grammar is regenerated whenever the ban list changes) and every checker, and computing them parses the pattern.
pub(crate) fn ban_forms(pattern: &str) -> std::sync::Arc<BanForms> {
    type Memo = std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<BanForms>>>;
    static MEMO: std::sync::OnceLock<Memo> = std::sync::OnceLock::new();
    let memo = MEMO.get_or_init(Memo::default);
    if let Some(forms) = memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(pattern) {
        return std::sync::Arc::clone(forms);
    }
    let forms = std::sync::Arc::new(compute_ban_forms(pattern));
    let mut map = memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Bounded: a process that sees ever new patterns starts over rather than growing without end.
    if map.len() >= 16_384 {
        map.clear();
    }
    map.insert(pattern.to_owned(), std::sync::Arc::clone(&forms));
    forms
}

/// Computes a ban's forms. A pattern that does not parse is taken as is.
fn compute_ban_forms(pattern: &str) -> BanForms {
    let mut lead = None;
    let mut core = pattern;
    for l in LEADS {
        if let Some(rest) = pattern.strip_prefix(l) {
            lead = Some(*l);
            core = rest;
            break;
        }
    }
    let Ok(parsed) = regex_syntax::ParserBuilder::new().build().parse(core) else {
        return BanForms { lead, core: core.to_owned(), end: None, start: None, whole: None };
    };
    // Code runs are ASCII: classes can be cut to ASCII, which keeps every form small for both lexers.
    let parsed = ascii_only(&parsed);
    let end = quotient(&parsed, Side::Right).map(|h| text(&h));
    let (start, whole) = if lead.is_none() {
        let s = quotient(&parsed, Side::Left);
        let w = s.as_ref().and_then(|s| quotient(s, Side::Right));
        (s.map(|h| text(&h)), w.map(|h| text(&h)))
    } else {
        (None, None)
    };
    BanForms { lead, core: text(&parsed), end, start, whole }
}

/// The same regex with every class cut to ASCII (the same language on ASCII text).
fn ascii_only(h: &regex_syntax::hir::Hir) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{Capture, Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Repetition};
    match h.kind() {
        HirKind::Class(Class::Unicode(c)) => {
            let mut c = c.clone();
            c.intersect(&ClassUnicode::new([ClassUnicodeRange::new('\0', '\x7f')]));
            if c.ranges().is_empty() { Hir::fail() } else { Hir::class(Class::Unicode(c)) }
        }
        HirKind::Capture(cap) => {
            Hir::capture(Capture { index: cap.index, name: cap.name.clone(), sub: Box::new(ascii_only(&cap.sub)) })
        }
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            min: rep.min,
            max: rep.max,
            greedy: rep.greedy,
            sub: Box::new(ascii_only(&rep.sub)),
        }),
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(ascii_only).collect()),
        HirKind::Alternation(parts) => Hir::alternation(parts.iter().map(ascii_only).collect()),
        _ => h.clone(),
    }
}

/// A regex's text with control and non-ASCII characters escaped (`\x{..}`): regex-syntax prints them raw, which a
/// Lark grammar and a JSON document should not carry.
fn text(h: &regex_syntax::hir::Hir) -> String {
    let mut out = String::new();
    for c in h.to_string().chars() {
        if c.is_ascii_graphic() || c == ' ' {
            out.push(c);
        } else {
            let _ = write!(out, "\\x{{{:X}}}", c as u32);
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// The sentinel standing for the edge of a code run: a non-identifier character no code run contains.
const SENTINEL: char = '\0';

/// The quotient of a regex by the sentinel on one side: the strings `x` such that `\0x` (left) or `x\0` (right)
/// matches. `None` is the empty language.
fn quotient(h: &regex_syntax::hir::Hir, side: Side) -> Option<regex_syntax::hir::Hir> {
    use regex_syntax::hir::{Class, Hir, HirKind, Repetition};
    let nullable = |h: &Hir| h.properties().minimum_len() == Some(0);
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0).ok()?;
            match side {
                Side::Right => text.strip_suffix(SENTINEL).map(|rest| Hir::literal(rest.as_bytes())),
                Side::Left => text.strip_prefix(SENTINEL).map(|rest| Hir::literal(rest.as_bytes())),
            }
        }
        HirKind::Class(class) => {
            let contains = match class {
                Class::Unicode(c) => c.ranges().iter().any(|r| r.start() <= SENTINEL && SENTINEL <= r.end()),
                Class::Bytes(c) => c.ranges().iter().any(|r| r.start() == 0),
            };
            contains.then(Hir::empty)
        }
        HirKind::Capture(cap) => quotient(&cap.sub, side),
        HirKind::Repetition(rep) => {
            if rep.max == Some(0) {
                return None;
            }
            let inner = quotient(&rep.sub, side)?;
            let rest = Hir::repetition(Repetition {
                min: rep.min.saturating_sub(1),
                max: rep.max.map(|m| m - 1),
                greedy: rep.greedy,
                sub: rep.sub.clone(),
            });
            Some(match side {
                Side::Right => Hir::concat(vec![rest, inner]),
                Side::Left => Hir::concat(vec![inner, rest]),
            })
        }
        HirKind::Concat(parts) => {
            let mut options = Vec::new();
            match side {
                Side::Right => {
                    for i in (0..parts.len()).rev() {
                        if let Some(q) = quotient(&parts[i], side) {
                            let mut v: Vec<Hir> = parts[..i].to_vec();
                            v.push(q);
                            options.push(Hir::concat(v));
                        }
                        if !nullable(&parts[i]) {
                            break;
                        }
                    }
                }
                Side::Left => {
                    for i in 0..parts.len() {
                        if let Some(q) = quotient(&parts[i], side) {
                            let mut v = vec![q];
                            v.extend(parts[i + 1..].iter().cloned());
                            options.push(Hir::concat(v));
                        }
                        if !nullable(&parts[i]) {
                            break;
                        }
                    }
                }
            }
            (!options.is_empty()).then(|| Hir::alternation(options))
        }
        HirKind::Alternation(alts) => {
            let options: Vec<Hir> = alts.iter().filter_map(|a| quotient(a, side)).collect();
            (!options.is_empty()).then(|| Hir::alternation(options))
        }
    }
}
