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

use ananke_core::Language;

use crate::pattern::NON_WORD;

/// The boundary classes a ban may start with (a non-identifier character; for module paths, one that does not
/// continue a path either).
pub(crate) const LEADS: &[&str] = &[NON_WORD, "[^A-Za-z0-9_:]", "[^A-Za-z0-9_.]"];

/// The trailing boundary class of a ban.
pub(crate) const TRAIL: &str = NON_WORD;

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

/// A ban split around its boundary classes: `lead core trail`, where `lead` and `trail` are non-identifier classes
/// (each may be absent). At the edges of a code run the boundary is implied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SplitBan<'a> {
    pub lead: Option<&'a str>,
    pub core: &'a str,
    pub trail: Option<&'a str>,
}

/// Splits a ban pattern around a leading and a trailing boundary class.
pub(crate) fn split_ban(pattern: &str) -> SplitBan<'_> {
    let mut core = pattern;
    let mut lead = None;
    for l in LEADS {
        if let Some(rest) = core.strip_prefix(l) {
            lead = Some(*l);
            core = rest;
            break;
        }
    }
    let mut trail = None;
    if let Some(rest) = core.strip_suffix(NON_WORD)
        && !rest.is_empty()
    {
        trail = Some(NON_WORD);
        core = rest;
    }
    SplitBan { lead, core, trail }
}
