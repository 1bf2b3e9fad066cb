//! The Rust lexer of the syntax engine: a byte-level greedy transducer whose lexemes are the terminals of the
//! grammar in [`super::rust`].
//!
//! Lexing is maximal munch, as rustc does it: a lexeme goes on while the next byte extends it, and otherwise ends,
//! the byte starting the next lexeme. A lexeme that nothing can extend (`;`, `)`, `::`, a comment's line break) is
//! emitted on its last byte. The transducer refuses what Rust's lexer would reject or read differently: a number or
//! a literal directly followed by an identifier character (a suffix), an identifier followed by a quote or `#` (a
//! reserved prefix), a lifetime followed by a quote, doc comments and block comments, bare carriage returns,
//! invalid escapes and invalid UTF-8 inside literals and comments, and non-ASCII bytes outside them. `1..2` and
//! `x.0.len()` lex as rustc lexes them (an integer, then `..` or `.`): the only transitions that emit two lexemes.

use std::sync::OnceLock;

/// A lexeme kind (an index into [`KINDS`]).
pub(crate) type Kind = u8;

/// No kind.
pub(crate) const NO_KIND: Kind = u8::MAX;

/// What a kind is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cat {
    /// Whitespace and comments: the parser never sees them.
    Trivia,
    /// Identifiers (`IDENT`, `_`).
    Ident,
    /// A strict keyword.
    Keyword,
    /// A reserved word: lexed, never accepted.
    Reserved,
    /// The name of a macro with its own argument grammar (`format`, `vec`, ...): an identifier everywhere else.
    Soft,
    /// A primitive type's name (`u8`, `str`, ...): an identifier everywhere but a macro name (tree-sitter reads
    /// `i8!()` as a type).
    Prim,
    /// A literal.
    Literal,
    /// A lifetime or label.
    Lifetime,
    /// Punctuation.
    Punct,
}

/// Every lexeme kind: its name (the text, for keywords and punctuation) and category. The order is the kind's id.
pub(crate) const KINDS: &[(&str, Cat)] = &[
    ("WS", Cat::Trivia),
    ("COMMENT", Cat::Trivia),
    ("IDENT", Cat::Ident),
    ("_", Cat::Ident),
    ("INT", Cat::Literal),
    ("INDEX", Cat::Literal),
    ("FLOAT", Cat::Literal),
    ("STRING", Cat::Literal),
    ("BSTRING", Cat::Literal),
    ("CHAR", Cat::Literal),
    ("BCHAR", Cat::Literal),
    ("LIFETIME", Cat::Lifetime),
    ("RESERVED", Cat::Reserved),
    ("as", Cat::Keyword),
    ("async", Cat::Keyword),
    ("await", Cat::Keyword),
    ("break", Cat::Keyword),
    ("const", Cat::Keyword),
    ("continue", Cat::Keyword),
    ("crate", Cat::Keyword),
    ("dyn", Cat::Keyword),
    ("else", Cat::Keyword),
    ("enum", Cat::Keyword),
    ("extern", Cat::Keyword),
    ("false", Cat::Keyword),
    ("fn", Cat::Keyword),
    ("for", Cat::Keyword),
    ("if", Cat::Keyword),
    ("impl", Cat::Keyword),
    ("in", Cat::Keyword),
    ("let", Cat::Keyword),
    ("loop", Cat::Keyword),
    ("match", Cat::Keyword),
    ("mod", Cat::Keyword),
    ("move", Cat::Keyword),
    ("mut", Cat::Keyword),
    ("pub", Cat::Keyword),
    ("ref", Cat::Keyword),
    ("return", Cat::Keyword),
    ("self", Cat::Keyword),
    ("Self", Cat::Keyword),
    ("static", Cat::Keyword),
    ("struct", Cat::Keyword),
    ("super", Cat::Keyword),
    ("trait", Cat::Keyword),
    ("true", Cat::Keyword),
    ("type", Cat::Keyword),
    ("unsafe", Cat::Keyword),
    ("use", Cat::Keyword),
    ("where", Cat::Keyword),
    ("while", Cat::Keyword),
    ("format", Cat::Soft),
    ("format_args", Cat::Soft),
    ("print", Cat::Soft),
    ("println", Cat::Soft),
    ("eprint", Cat::Soft),
    ("eprintln", Cat::Soft),
    ("panic", Cat::Soft),
    ("todo", Cat::Soft),
    ("unimplemented", Cat::Soft),
    ("unreachable", Cat::Soft),
    ("write", Cat::Soft),
    ("writeln", Cat::Soft),
    ("vec", Cat::Soft),
    ("assert", Cat::Soft),
    ("debug_assert", Cat::Soft),
    ("assert_eq", Cat::Soft),
    ("assert_ne", Cat::Soft),
    ("debug_assert_eq", Cat::Soft),
    ("debug_assert_ne", Cat::Soft),
    ("matches", Cat::Soft),
    ("dbg", Cat::Soft),
    ("concat", Cat::Soft),
    ("stringify", Cat::Soft),
    ("line", Cat::Soft),
    ("column", Cat::Soft),
    ("file", Cat::Soft),
    ("bool", Cat::Prim),
    ("char", Cat::Prim),
    ("str", Cat::Prim),
    ("u8", Cat::Prim),
    ("u16", Cat::Prim),
    ("u32", Cat::Prim),
    ("u64", Cat::Prim),
    ("u128", Cat::Prim),
    ("usize", Cat::Prim),
    ("i8", Cat::Prim),
    ("i16", Cat::Prim),
    ("i32", Cat::Prim),
    ("i64", Cat::Prim),
    ("i128", Cat::Prim),
    ("isize", Cat::Prim),
    ("f32", Cat::Prim),
    ("f64", Cat::Prim),
    (";", Cat::Punct),
    (",", Cat::Punct),
    (".", Cat::Punct),
    ("..", Cat::Punct),
    ("...", Cat::Punct),
    ("..=", Cat::Punct),
    ("(", Cat::Punct),
    (")", Cat::Punct),
    ("[", Cat::Punct),
    ("]", Cat::Punct),
    ("{", Cat::Punct),
    ("}", Cat::Punct),
    ("@", Cat::Punct),
    ("#", Cat::Punct),
    ("~", Cat::Punct),
    ("?", Cat::Punct),
    (":", Cat::Punct),
    ("::", Cat::Punct),
    ("$", Cat::Punct),
    ("=", Cat::Punct),
    ("==", Cat::Punct),
    ("=>", Cat::Punct),
    ("!", Cat::Punct),
    ("!=", Cat::Punct),
    ("<", Cat::Punct),
    ("<=", Cat::Punct),
    ("<<", Cat::Punct),
    ("<<=", Cat::Punct),
    (">", Cat::Punct),
    (">=", Cat::Punct),
    (">>", Cat::Punct),
    (">>=", Cat::Punct),
    ("-", Cat::Punct),
    ("->", Cat::Punct),
    ("-=", Cat::Punct),
    ("&", Cat::Punct),
    ("&&", Cat::Punct),
    ("&=", Cat::Punct),
    ("|", Cat::Punct),
    ("||", Cat::Punct),
    ("|=", Cat::Punct),
    ("+", Cat::Punct),
    ("+=", Cat::Punct),
    ("*", Cat::Punct),
    ("*=", Cat::Punct),
    ("/", Cat::Punct),
    ("/=", Cat::Punct),
    ("%", Cat::Punct),
    ("%=", Cat::Punct),
    ("^", Cat::Punct),
    ("^=", Cat::Punct),
];

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The kind named `name`, at compile time.
const fn find(name: &str) -> Kind {
    let mut i = 0;
    while i < KINDS.len() {
        if str_eq(KINDS[i].0, name) {
            return i as Kind;
        }
        i += 1;
    }
    panic!("no such lexeme kind")
}

/// Kinds the engine refers to by name.
pub(crate) const IDENT: Kind = find("IDENT");
pub(crate) const WS: Kind = find("WS");
pub(crate) const COMMENT: Kind = find("COMMENT");
pub(crate) const GT: Kind = find(">");
pub(crate) const SHR: Kind = find(">>");
pub(crate) const DOT: Kind = find(".");
pub(crate) const DOTDOT: Kind = find("..");
pub(crate) const DOTDOTEQ: Kind = find("..=");
pub(crate) const LBRACE: Kind = find("{");
pub(crate) const RBRACE: Kind = find("}");

/// Words lexed as one reserved kind: never an identifier, never accepted.
const RESERVED: &[&str] = &[
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield",
    "try", "gen",
];

/// The kind named `name` (a keyword's or punctuation's text, or `IDENT`, `INT`, ...).
pub(crate) fn kind(name: &str) -> Option<Kind> {
    KINDS.iter().position(|(n, _)| *n == name).map(|i| i as Kind)
}

/// The kind named `name`, for names this module defines.
pub(crate) fn k(name: &str) -> Kind {
    kind(name).unwrap_or_else(|| panic!("no lexeme kind {name:?}"))
}

/// The category of a kind.
pub(crate) fn cat(kind: Kind) -> Cat {
    KINDS[kind as usize].1
}

/// The number of kinds.
pub(crate) const N_KINDS: usize = KINDS.len();

/// The length of a kind's shortest text (`u32::MAX / 4` for kinds never accepted).
pub(crate) fn min_len(kind: Kind) -> u32 {
    let (name, c) = KINDS[kind as usize];
    match c {
        Cat::Keyword | Cat::Soft | Cat::Prim | Cat::Punct => name.len() as u32,
        Cat::Ident => 1,
        Cat::Lifetime | Cat::Literal => match name {
            "INT" | "INDEX" => 1,
            "STRING" | "LIFETIME" => 2,
            "FLOAT" | "BSTRING" | "CHAR" => 3,
            _ => 4,
        },
        Cat::Trivia | Cat::Reserved => u32::MAX / 4,
    }
}

/// Whether a lexeme of this kind may merge with the lexeme before it when nothing separates them (two words, two
/// operators, a word and a quote): the budget charges a space before it.
pub(crate) fn may_merge(kind: Kind) -> bool {
    let (name, c) = KINDS[kind as usize];
    match c {
        Cat::Punct => name.bytes().next().is_some_and(|b| b"!%&*+-./:<=>^|".contains(&b)),
        _ => true,
    }
}

/// A set of kinds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct KindSet(pub [u64; 3]);

impl KindSet {
    pub(crate) fn insert(&mut self, k: Kind) {
        self.0[k as usize / 64] |= 1 << (k % 64);
    }

    pub(crate) fn contains(&self, k: Kind) -> bool {
        self.0[k as usize / 64] & (1 << (k % 64)) != 0
    }

    pub(crate) fn intersects(&self, other: &KindSet) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }

    pub(crate) fn union(&mut self, other: &KindSet) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0 == [0; 3]
    }

    /// The kinds of `self` not in `other`.
    #[must_use]
    pub(crate) fn minus(&self, other: &KindSet) -> KindSet {
        KindSet([self.0[0] & !other.0[0], self.0[1] & !other.0[1], self.0[2] & !other.0[2]])
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Kind> + '_ {
        (0..N_KINDS as Kind).filter(|&k| self.contains(k))
    }
}

/// A lexer state.
pub(crate) type LexState = u16;

/// No transition.
pub(crate) const DEAD: LexState = u16::MAX;

/// What a lexer state is inside of, for the bans (which see code, not literals and comments) and the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Region {
    /// Between lexemes (after whitespace, or after a lexeme nothing can extend).
    Boundary,
    /// Inside an identifier, keyword, number or punctuation.
    Code,
    /// Inside a string, char, lifetime or comment.
    Literal,
}

/// One transition of the transducer: the next state and up to two lexemes emitted (as `NO_KIND` when absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    pub next: LexState,
    pub emit: [Kind; 2],
}

/// The compiled lexer.
pub(crate) struct Lexer {
    /// `states × 256` transitions, packed as `next | emit0 << 16 | emit1 << 24`.
    trans: Vec<u32>,
    /// The kind a lexeme ending in this state has ([`NO_KIND`]: it cannot end here).
    pub accept: Vec<Kind>,
    pub region: Vec<Region>,
    /// The kinds a lexeme in this state can still become (by bytes that extend it).
    pub reachable: Vec<KindSet>,
    /// For identifier states: the identifier trie node's text so far is tracked by the name layer; this says
    /// whether the state is inside an identifier or keyword lexeme.
    pub ident: Vec<bool>,
    /// The fewest bytes that complete the lexeme as each reachable kind: `(kind, bytes)`.
    pub finish: Vec<Vec<(Kind, u8)>>,
    /// For `1.` states: the integer kind emitted if what follows is `.` (`1..`) or an identifier (`1.max`).
    pub int_dot: Vec<Kind>,
    pub start: LexState,
    /// The state before a body: only `{` may come.
    pub entry: LexState,
    /// The identifier state that no keyword continues (`xy`, `len`).
    pub ident_other: LexState,
    /// The lexer's states up to what the bans see (where literals and comments start and end): states with the
    /// same region whose bytes lead to equivalent states are one class. Bans run on this much smaller automaton.
    pub region_class: Vec<u16>,
    /// `classes × 256` transitions between classes ([`DEAD`] for none).
    pub class_trans: Vec<u16>,
    /// The region of each class.
    pub class_region: Vec<Region>,
}

impl std::fmt::Debug for Lexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexer").field("states", &self.accept.len()).finish_non_exhaustive()
    }
}

impl Lexer {
    /// The transition on `byte`, or `None` when the byte cannot follow.
    #[inline]
    pub(crate) fn step(&self, state: LexState, byte: u8) -> Option<Step> {
        let t = self.trans[state as usize * 256 + byte as usize];
        let next = (t & 0xFFFF) as u16;
        if next == DEAD {
            return None;
        }
        Some(Step { next, emit: [(t >> 16) as u8, (t >> 24) as u8] })
    }
}

/// The lexer, built once per process.
pub(crate) fn lexer() -> &'static Lexer {
    static LEXER: OnceLock<Lexer> = OnceLock::new();
    LEXER.get_or_init(build)
}

struct Builder {
    within: Vec<[u16; 256]>,
    accept: Vec<Kind>,
    region: Vec<Region>,
    ident: Vec<bool>,
    /// Bytes after which the lexeme may not simply end (a suffix, a reserved prefix): per state, a 256-bit set.
    refuse: Vec<[bool; 256]>,
    /// `1.` before `.` or an identifier: the integer kind emitted (INT or INDEX).
    int_dot: Vec<Kind>,
}

impl Builder {
    fn state(&mut self, accept: Kind, region: Region) -> u16 {
        self.within.push([DEAD; 256]);
        self.accept.push(accept);
        self.region.push(region);
        self.ident.push(false);
        self.refuse.push([false; 256]);
        self.int_dot.push(NO_KIND);
        (self.within.len() - 1) as u16
    }

    fn set(&mut self, from: u16, bytes: impl IntoIterator<Item = u8>, to: u16) {
        for b in bytes {
            self.within[from as usize][b as usize] = to;
        }
    }

    fn refuse(&mut self, from: u16, bytes: impl IntoIterator<Item = u8>) {
        for b in bytes {
            self.refuse[from as usize][b as usize] = true;
        }
    }

    /// UTF-8 continuation states for a literal or comment body: lead bytes of valid multi-byte sequences leave
    /// `from` and come back to `back` after the last continuation byte.
    fn utf8(&mut self, from: u16, back: u16) {
        let lit = Region::Literal;
        let c1 = self.state(NO_KIND, lit);
        self.set(c1, 0x80..=0xBF, back);
        let c2 = self.state(NO_KIND, lit);
        self.set(c2, 0x80..=0xBF, c1);
        let c3 = self.state(NO_KIND, lit);
        self.set(c3, 0x80..=0xBF, c2);
        let e0 = self.state(NO_KIND, lit);
        self.set(e0, 0xA0..=0xBF, c1);
        let ed = self.state(NO_KIND, lit);
        self.set(ed, 0x80..=0x9F, c1);
        let f0 = self.state(NO_KIND, lit);
        self.set(f0, 0x90..=0xBF, c2);
        let f4 = self.state(NO_KIND, lit);
        self.set(f4, 0x80..=0x8F, c2);
        self.set(from, 0xC2..=0xDF, c1);
        self.set(from, [0xE0], e0);
        self.set(from, (0xE1..=0xEC).chain(0xEE..=0xEF), c2);
        self.set(from, [0xED], ed);
        self.set(from, [0xF0], f0);
        self.set(from, 0xF1..=0xF3, c3);
        self.set(from, [0xF4], f4);
    }
}

fn ident_start() -> impl Iterator<Item = u8> {
    (b'a'..=b'z').chain(b'A'..=b'Z').chain([b'_'])
}

fn ident_char() -> impl Iterator<Item = u8> {
    ident_start().chain(b'0'..=b'9')
}

fn hex() -> impl Iterator<Item = u8> {
    (b'0'..=b'9').chain(b'a'..=b'f').chain(b'A'..=b'F')
}

/// Printable ASCII (space to `~`).
fn printable() -> impl Iterator<Item = u8> {
    0x20..=0x7E
}

fn build() -> Lexer {
    let mut b = Builder {
        within: Vec::new(),
        accept: Vec::new(),
        region: Vec::new(),
        ident: Vec::new(),
        refuse: Vec::new(),
        int_dot: Vec::new(),
    };
    let (code, lit) = (Region::Code, Region::Literal);
    let start = b.state(NO_KIND, Region::Boundary);

    // Whitespace.
    let ws = b.state(k("WS"), Region::Boundary);
    b.set(start, [b' ', b'\t', b'\n'], ws);
    b.set(ws, [b' ', b'\t', b'\n'], ws);

    // Identifiers and keywords: a trie of every word with a kind of its own, and one state for other identifiers.
    let other = b.state(k("IDENT"), code);
    let mut words: Vec<(&str, Kind)> = KINDS
        .iter()
        .enumerate()
        .filter(|(_, (_, c))| matches!(c, Cat::Keyword | Cat::Soft | Cat::Prim))
        .map(|(i, (n, _))| (*n, i as Kind))
        .collect();
    words.extend(RESERVED.iter().map(|w| (*w, k("RESERVED"))));
    let mut trie: std::collections::HashMap<String, u16> = std::collections::HashMap::new();
    let mut prefixes: Vec<String> = words.iter().flat_map(|(w, _)| (1..=w.len()).map(|n| w[..n].to_owned())).collect();
    prefixes.sort();
    prefixes.dedup();
    for p in &prefixes {
        let kind = words.iter().find(|(w, _)| w == p).map_or(k("IDENT"), |(_, kd)| *kd);
        let s = b.state(kind, code);
        trie.insert(p.clone(), s);
    }
    let underscore = b.state(k("_"), code);
    for s in [other, underscore].into_iter().chain(trie.values().copied()) {
        b.ident[s as usize] = true;
        b.set(s, ident_char(), other);
        // Reserved prefixes (`foo"..."`, `foo'x'`, `foo#`) and raw identifiers are not ours to produce.
        b.refuse(s, [b'"', b'\'', b'#']);
    }
    b.set(start, ident_start(), other);
    b.set(start, [b'_'], underscore);
    for p in &prefixes {
        let s = trie[p];
        let mut chars = p.chars();
        let last = chars.next_back().unwrap_or('_') as u8;
        let parent = if p.len() == 1 { start } else { trie[&p[..p.len() - 1]] };
        b.set(parent, [last], s);
    }

    // Numbers.
    let (int, index, float) = (k("INT"), k("INDEX"), k("FLOAT"));
    let zero = b.state(index, code);
    let plain = b.state(index, code);
    let dec = b.state(int, code);
    let index_dot = b.state(float, code);
    let int_dot = b.state(float, code);
    b.int_dot[index_dot as usize] = index;
    b.int_dot[int_dot as usize] = int;
    let frac = b.state(float, code);
    let exp = b.state(NO_KIND, code);
    let exp_sign = b.state(NO_KIND, code);
    let exp_digits = b.state(float, code);
    b.set(start, [b'0'], zero);
    b.set(start, b'1'..=b'9', plain);
    b.set(plain, b'0'..=b'9', plain);
    b.set(zero, b'0'..=b'9', dec);
    for s in [zero, plain, dec] {
        b.set(s, [b'_'], dec);
    }
    b.set(dec, b'0'..=b'9', dec);
    b.set(zero, [b'.'], index_dot);
    b.set(plain, [b'.'], index_dot);
    b.set(dec, [b'.'], int_dot);
    for s in [index_dot, int_dot] {
        b.set(s, b'0'..=b'9', frac);
    }
    b.set(frac, (b'0'..=b'9').chain([b'_']), frac);
    for s in [zero, plain, dec, frac] {
        b.set(s, [b'e', b'E'], exp);
    }
    b.set(exp, [b'+', b'-'], exp_sign);
    b.set(exp, b'0'..=b'9', exp_digits);
    b.set(exp_sign, b'0'..=b'9', exp_digits);
    b.set(exp_digits, (b'0'..=b'9').chain([b'_']), exp_digits);
    // Suffixes: a trie each for integers and floats.
    let int_suffixes = ["u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize"];
    let float_suffixes = ["f32", "f64"];
    // The suffix tries hang off the number states by their first letter.
    let suffix = |b: &mut Builder, words: &[&str], kind: Kind, from: &[u16]| {
        let mut nodes: std::collections::HashMap<String, u16> = std::collections::HashMap::new();
        for w in words {
            for n in 1..=w.len() {
                let p = &w[..n];
                if nodes.contains_key(p) {
                    continue;
                }
                let complete = words.contains(&p);
                let s = b.state(if complete { kind } else { NO_KIND }, code);
                nodes.insert(p.to_owned(), s);
                if n == 1 {
                    for &f in from {
                        b.set(f, [p.as_bytes()[0]], s);
                    }
                } else {
                    let parent = nodes[&p[..n - 1]];
                    b.set(parent, [p.as_bytes()[n - 1]], s);
                }
            }
        }
        nodes.into_values().collect::<Vec<u16>>()
    };
    let int_suffix_states = suffix(&mut b, &int_suffixes, int, &[zero, plain, dec]);
    let float_suffix_states = suffix(&mut b, &float_suffixes, float, &[zero, plain, dec, frac, exp_digits]);
    // Radix literals.
    let radix = |b: &mut Builder, letter: u8, digits: &[u8]| -> u16 {
        let first = b.state(NO_KIND, code);
        let body = b.state(int, code);
        b.set(zero, [letter], first);
        b.set(first, digits.iter().copied().chain([b'_']), first);
        b.set(first, digits.iter().copied(), body);
        b.set(body, digits.iter().copied().chain([b'_']), body);
        body
    };
    let hex_digits: Vec<u8> = hex().collect();
    let hex_body = radix(&mut b, b'x', &hex_digits);
    let oct_body = radix(&mut b, b'o', b"01234567");
    let bin_body = radix(&mut b, b'b', b"01");
    let radix_suffix_states = suffix(&mut b, &int_suffixes, int, &[hex_body, oct_body, bin_body]);
    // A number followed by any other identifier character is a literal with a suffix rustc rejects.
    let number_states: Vec<u16> = [zero, plain, dec, frac, exp, exp_sign, exp_digits]
        .into_iter()
        .chain(int_suffix_states.iter().copied())
        .chain(float_suffix_states.iter().copied())
        .chain(radix_suffix_states.iter().copied())
        .chain([hex_body, oct_body, bin_body])
        .collect();
    for s in number_states {
        b.refuse(s, ident_char());
    }
    // `1._x`: rustc splits it, tree-sitter reads a float: not produced.
    b.refuse(index_dot, [b'_']);
    b.refuse(int_dot, [b'_']);

    // Literal escapes shared by strings and chars.
    let esc_simple = [b'n', b'r', b't', b'\\', b'0', b'\'', b'"'];

    // Strings: `"..."` with escapes, UTF-8.
    let (string, bstring) = (k("STRING"), k("BSTRING"));
    let str_body = b.state(NO_KIND, lit);
    let str_end = b.state(string, lit);
    let str_esc = b.state(NO_KIND, lit);
    b.set(start, [b'"'], str_body);
    b.set(str_body, printable().filter(|&c| c != b'"' && c != b'\\').chain([b'\t', b'\n']), str_body);
    b.utf8(str_body, str_body);
    b.set(str_body, [b'"'], str_end);
    b.set(str_body, [b'\\'], str_esc);
    b.set(str_esc, esc_simple, str_body);
    b.set(str_esc, [b'\n'], str_body);
    unicode_and_hex_escapes(&mut b, str_esc, str_body);
    b.refuse(str_end, ident_char());

    // Byte strings `b"..."` (ASCII, any `\xHH`), raw strings `r"..."`, `r#"..."#` and raw byte strings.
    let bstr_body = b.state(NO_KIND, lit);
    let bstr_end = b.state(bstring, lit);
    let bstr_esc = b.state(NO_KIND, lit);
    let bx1 = b.state(NO_KIND, lit);
    let bx2 = b.state(NO_KIND, lit);
    b.set(trie["b"], [b'"'], bstr_body);
    b.set(bstr_body, printable().filter(|&c| c != b'"' && c != b'\\').chain([b'\t', b'\n']), bstr_body);
    b.set(bstr_body, [b'"'], bstr_end);
    b.set(bstr_body, [b'\\'], bstr_esc);
    b.set(bstr_esc, esc_simple, bstr_body);
    b.set(bstr_esc, [b'x'], bx1);
    b.set(bx1, hex(), bx2);
    b.set(bx2, hex(), bstr_body);
    b.refuse(bstr_end, ident_char());
    let raw = |b: &mut Builder, prefix: u16, kind: Kind, utf8: bool| {
        let body0 = b.state(NO_KIND, lit);
        let end = b.state(kind, lit);
        let hash = b.state(NO_KIND, lit);
        let body1 = b.state(NO_KIND, lit);
        let quote1 = b.state(NO_KIND, lit);
        let inner = printable().filter(|&c| c != b'"').chain([b'\t', b'\n']);
        b.set(prefix, [b'"'], body0);
        b.set(prefix, [b'#'], hash);
        b.set(body0, inner, body0);
        b.set(body0, [b'"'], end);
        b.set(hash, [b'"'], body1);
        b.set(body1, printable().filter(|&c| c != b'"').chain([b'\t', b'\n']), body1);
        b.set(body1, [b'"'], quote1);
        b.set(quote1, printable().filter(|&c| c != b'#' && c != b'"').chain([b'\t', b'\n']), body1);
        b.set(quote1, [b'"'], quote1);
        b.set(quote1, [b'#'], end);
        if utf8 {
            b.utf8(body0, body0);
            b.utf8(body1, body1);
            b.utf8(quote1, body1);
        }
        b.refuse(end, ident_char());
    };
    raw(&mut b, trie["r"], string, true);
    raw(&mut b, trie["br"], bstring, false);

    // `'`: a char literal or a lifetime.
    let (char_kind, lifetime) = (k("CHAR"), k("LIFETIME"));
    let apos = b.state(NO_KIND, lit);
    let apos_id = b.state(lifetime, lit);
    let life = b.state(lifetime, lit);
    let char_one = b.state(NO_KIND, lit);
    let char_end = b.state(char_kind, lit);
    let char_esc = b.state(NO_KIND, lit);
    b.set(start, [b'\''], apos);
    b.set(apos, ident_start(), apos_id);
    b.set(apos, printable().filter(|&c| c != b'\'' && c != b'\\' && !c.is_ascii_alphabetic() && c != b'_'), char_one);
    b.utf8(apos, char_one);
    b.set(apos, [b'\\'], char_esc);
    b.set(char_esc, esc_simple, char_one);
    unicode_and_hex_escapes(&mut b, char_esc, char_one);
    b.set(apos_id, [b'\''], char_end);
    b.set(apos_id, ident_char(), life);
    b.set(life, ident_char(), life);
    b.refuse(life, [b'\'']);
    b.set(char_one, [b'\''], char_end);
    b.refuse(char_end, ident_char());
    // Byte chars `b'x'`.
    let bchar = k("BCHAR");
    let bapos = b.state(NO_KIND, lit);
    let bone = b.state(NO_KIND, lit);
    let bend = b.state(bchar, lit);
    let besc = b.state(NO_KIND, lit);
    let bcx1 = b.state(NO_KIND, lit);
    let bcx2 = b.state(NO_KIND, lit);
    b.set(trie["b"], [b'\''], bapos);
    b.set(bapos, printable().filter(|&c| c != b'\'' && c != b'\\'), bone);
    b.set(bapos, [b'\\'], besc);
    b.set(besc, esc_simple, bone);
    b.set(besc, [b'x'], bcx1);
    b.set(bcx1, hex(), bcx2);
    b.set(bcx2, hex(), bone);
    b.set(bone, [b'\''], bend);
    b.refuse(bend, ident_char());

    // Punctuation, as a trie; `//` starts a line comment (not `///` or `//!`), `/*` is refused.
    let mut puncts: Vec<(&str, Kind)> =
        KINDS.iter().enumerate().filter(|(_, (_, c))| *c == Cat::Punct).map(|(i, (n, _))| (*n, i as Kind)).collect();
    puncts.sort_by_key(|(n, _)| n.len());
    let mut ptrie: std::collections::HashMap<&str, u16> = std::collections::HashMap::new();
    for (text, kind) in &puncts {
        let s = b.state(*kind, code);
        ptrie.insert(text, s);
        let parent = if text.len() == 1 { start } else { ptrie[&text[..text.len() - 1]] };
        b.set(parent, [text.as_bytes()[text.len() - 1]], s);
    }
    let slash = ptrie["/"];
    let comment_start = b.state(NO_KIND, lit);
    let comment = b.state(NO_KIND, lit);
    let comment_end = b.state(k("COMMENT"), Region::Boundary);
    b.set(slash, [b'/'], comment_start);
    b.refuse(slash, [b'*']);
    for s in [comment_start, comment] {
        b.set(s, printable().chain([b'\t']), comment);
        b.utf8(s, comment);
        b.set(s, [b'\n'], comment_end);
    }
    // Doc comments attach to the next statement (and are an error before `}`): not produced.
    b.set(comment_start, [b'/', b'!'], DEAD);

    // The body's first byte: only `{`.
    let entry = b.state(NO_KIND, Region::Boundary);
    b.set(entry, [b'{'], ptrie["{"]);

    let mut lexer = compile(&b, start);
    lexer.entry = entry;
    lexer.ident_other = other;
    minimize_regions(&mut lexer);
    lexer
}

/// Moore minimization of the transducer up to regions (emissions ignored).
fn minimize_regions(lx: &mut Lexer) {
    let n = lx.accept.len();
    let next = |s: usize, b: usize| -> u16 { (lx.trans[s * 256 + b] & 0xFFFF) as u16 };
    let mut class: Vec<u16> = lx.region.iter().map(|r| *r as u16).collect();
    loop {
        let mut sig: std::collections::HashMap<(u16, Vec<u16>), u16> = std::collections::HashMap::new();
        let mut new = vec![0u16; n];
        for s in 0..n {
            let row: Vec<u16> = (0..256)
                .map(|b| match next(s, b) {
                    DEAD => DEAD,
                    t => class[t as usize],
                })
                .collect();
            let len = sig.len() as u16;
            new[s] = *sig.entry((class[s], row)).or_insert(len);
        }
        let before = class.iter().collect::<std::collections::HashSet<_>>().len();
        let stable = sig.len() == before;
        class = new;
        if stable {
            break;
        }
    }
    let classes = class.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let mut trans = vec![DEAD; classes * 256];
    let mut region = vec![Region::Code; classes];
    for s in 0..n {
        let c = class[s] as usize;
        region[c] = lx.region[s];
        for b in 0..256 {
            let t = next(s, b);
            trans[c * 256 + b] = if t == DEAD { DEAD } else { class[t as usize] };
        }
    }
    lx.region_class = class;
    lx.class_trans = trans;
    lx.class_region = region;
}

/// `\x` (ASCII) and `\u{...}` escapes after a backslash state, back to `back`. Unicode escapes take one to five
/// hex digits, and four-digit ones may not start with `d` (which keeps surrogates out without more states).
fn unicode_and_hex_escapes(b: &mut Builder, esc: u16, back: u16) {
    let lit = Region::Literal;
    let x1 = b.state(NO_KIND, lit);
    let x2 = b.state(NO_KIND, lit);
    b.set(esc, [b'x'], x1);
    b.set(x1, b'0'..=b'7', x2);
    b.set(x2, hex(), back);
    let u = b.state(NO_KIND, lit);
    let brace = b.state(NO_KIND, lit);
    b.set(esc, [b'u'], u);
    b.set(u, [b'{'], brace);
    let d1 = b.state(NO_KIND, lit);
    let d2 = b.state(NO_KIND, lit);
    let d3 = b.state(NO_KIND, lit);
    let d4 = b.state(NO_KIND, lit);
    let d5 = b.state(NO_KIND, lit);
    let s1 = b.state(NO_KIND, lit);
    let s2 = b.state(NO_KIND, lit);
    let s3 = b.state(NO_KIND, lit);
    b.set(brace, hex().filter(|&c| c != b'd' && c != b'D' && c != b'0'), d1);
    b.set(brace, [b'd', b'D'], s1);
    // A leading zero: at most four digits (`\u{0d800}` would be a surrogate).
    let z1 = b.state(NO_KIND, lit);
    let z2 = b.state(NO_KIND, lit);
    let z3 = b.state(NO_KIND, lit);
    let z4 = b.state(NO_KIND, lit);
    b.set(brace, [b'0'], z1);
    b.set(z1, hex(), z2);
    b.set(z2, hex(), z3);
    b.set(z3, hex(), z4);
    for s in [z1, z2, z3, z4] {
        b.set(s, [b'}'], back);
    }
    b.set(d1, hex(), d2);
    b.set(d2, hex(), d3);
    b.set(d3, hex(), d4);
    b.set(d4, hex(), d5);
    b.set(s1, hex(), s2);
    b.set(s2, hex(), s3);
    for s in [d1, d2, d3, d4, d5, s1, s2, s3] {
        b.set(s, [b'}'], back);
    }
}

/// The greedy transducer from the single-lexeme automaton.
fn compile(b: &Builder, start: u16) -> Lexer {
    let n = b.within.len();
    // Lexemes nothing can extend (and that refuse nothing) are emitted on their last byte.
    let terminal: Vec<bool> = (0..n)
        .map(|s| b.accept[s] != NO_KIND && b.within[s].iter().all(|&t| t == DEAD) && !b.refuse[s].iter().any(|&r| r))
        .collect();
    let pack = |next: u16, e0: Kind, e1: Kind| -> u32 { u32::from(next) | u32::from(e0) << 16 | u32::from(e1) << 24 };
    let quiet = |kind: Kind| if kind != NO_KIND && cat(kind) == Cat::Trivia { NO_KIND } else { kind };
    // Entering state `t` having emitted `emitted`: a terminal lexeme is emitted at once and lexing restarts.
    let enter = |t: u16, emitted: Kind| -> u32 {
        if terminal[t as usize] {
            let kind = quiet(b.accept[t as usize]);
            if emitted == NO_KIND { pack(start, kind, NO_KIND) } else { pack(start, emitted, kind) }
        } else {
            pack(t, emitted, NO_KIND)
        }
    };
    let mut trans = vec![pack(DEAD, NO_KIND, NO_KIND); n * 256];
    let dot = b.within[start as usize][b'.' as usize];
    let dotdot = b.within[dot as usize][b'.' as usize];
    for s in 0..n {
        for byte in 0..=255u8 {
            let w = b.within[s][byte as usize];
            let t = if w != DEAD {
                enter(w, NO_KIND)
            } else if b.refuse[s][byte as usize] {
                pack(DEAD, NO_KIND, NO_KIND)
            } else if b.int_dot[s] != NO_KIND && byte == b'.' {
                // `1..`: the integer, then `..` so far.
                pack(dotdot, b.int_dot[s], NO_KIND)
            } else if b.int_dot[s] != NO_KIND && byte.is_ascii_alphabetic() {
                // `1.max(2)`, `x.0.len()`: the integer, `.`, then an identifier.
                let next = b.within[start as usize][byte as usize];
                pack(next, b.int_dot[s], kind_of_dot())
            } else if b.accept[s] != NO_KIND && b.within[start as usize][byte as usize] != DEAD {
                let next = b.within[start as usize][byte as usize];
                enter(next, quiet(b.accept[s]))
            } else {
                pack(DEAD, NO_KIND, NO_KIND)
            };
            trans[s * 256 + byte as usize] = t;
        }
    }
    // What each state's lexeme can become, and the fewest bytes to get there.
    let mut finish: Vec<Vec<(Kind, u8)>> = vec![Vec::new(); n];
    let mut reverse: Vec<Vec<u16>> = vec![Vec::new(); n];
    for s in 0..n {
        for &t in &b.within[s] {
            if t != DEAD {
                reverse[t as usize].push(s as u16);
            }
        }
    }
    for kind in 0..N_KINDS as Kind {
        let mut dist = vec![u8::MAX; n];
        let mut queue = std::collections::VecDeque::new();
        for (s, d) in dist.iter_mut().enumerate() {
            if b.accept[s] == kind {
                *d = 0;
                queue.push_back(s as u16);
            }
        }
        while let Some(s) = queue.pop_front() {
            let d = dist[s as usize];
            for &p in &reverse[s as usize] {
                if dist[p as usize] == u8::MAX && d < u8::MAX - 1 {
                    dist[p as usize] = d + 1;
                    queue.push_back(p);
                }
            }
        }
        for s in 0..n {
            if dist[s] != u8::MAX {
                finish[s].push((kind, dist[s]));
            }
        }
    }
    let reachable = finish
        .iter()
        .enumerate()
        .map(|(s, f)| {
            let mut set = KindSet::default();
            for &(kind, _) in f {
                set.insert(kind);
            }
            let _ = s;
            set
        })
        .collect();
    Lexer {
        trans,
        accept: b.accept.clone(),
        region: b.region.clone(),
        reachable,
        ident: b.ident.clone(),
        finish,
        int_dot: b.int_dot.clone(),
        start,
        entry: start,
        ident_other: start,
        region_class: Vec::new(),
        class_trans: Vec::new(),
        class_region: Vec::new(),
    }
}

fn kind_of_dot() -> Kind {
    k(".")
}

/// Lexes a whole text: the kinds in order (trivia left out), or the offset of the first byte refused. A lexeme
/// still open at the end is emitted if it may end there.
#[cfg(test)]
pub(crate) fn lex(text: &[u8]) -> Result<Vec<Kind>, usize> {
    let lx = lexer();
    let mut state = lx.start;
    let mut out = Vec::new();
    for (i, &byte) in text.iter().enumerate() {
        let step = lx.step(state, byte).ok_or(i)?;
        out.extend(step.emit.iter().copied().filter(|&e| e != NO_KIND));
        state = step.next;
    }
    let last = lx.accept[state as usize];
    if state != lx.start && last == NO_KIND {
        return Err(text.len());
    }
    if last != NO_KIND && cat(last) != Cat::Trivia {
        out.push(last);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Result<Vec<&'static str>, usize> {
        lex(text.as_bytes()).map(|v| v.into_iter().map(|k| KINDS[k as usize].0).collect())
    }

    #[test]
    fn lexes_like_rustc() {
        assert_eq!(names("let x = 1;").unwrap(), ["let", "IDENT", "=", "INDEX", ";"]);
        assert_eq!(names("a..b").unwrap(), ["IDENT", "..", "IDENT"]);
        assert_eq!(names("1..2").unwrap(), ["INDEX", "..", "INDEX"]);
        assert_eq!(names("1..=2").unwrap(), ["INDEX", "..=", "INDEX"]);
        assert_eq!(names("x.0.len()").unwrap(), ["IDENT", ".", "INDEX", ".", "IDENT", "(", ")"]);
        assert_eq!(names("1.5e3f64").unwrap(), ["FLOAT"]);
        assert_eq!(names("1_000u32 0xffu8 0b1010 0o17").unwrap(), ["INT", "INT", "INT", "INT"]);
        assert_eq!(
            names("'a' 'a 'static '\\n' '\\u{1F600}'").unwrap(),
            ["CHAR", "LIFETIME", "LIFETIME", "CHAR", "CHAR"]
        );
        assert_eq!(
            names("b'x' b\"ab\" r\"a\\b\" r#\"a\"b\"# br\"x\"").unwrap(),
            ["BCHAR", "BSTRING", "STRING", "STRING", "BSTRING"]
        );
        assert_eq!(names("a>>=b").unwrap(), ["IDENT", ">>=", "IDENT"]);
        assert_eq!(names("x // hi\ny").unwrap(), ["IDENT", "IDENT"]);
        assert_eq!(names("\"é ü 😀\"").unwrap(), ["STRING"]);
        assert_eq!(names("format!(\"{}\", vec_len)").unwrap(), ["format", "!", "(", "STRING", ",", "IDENT", ")"]);
        assert_eq!(names("_ _x box").unwrap(), ["_", "IDENT", "RESERVED"]);
        assert_eq!(names("self Self").unwrap(), ["self", "Self"]);
    }

    #[test]
    fn refuses_what_rustc_would_read_otherwise() {
        for bad in [
            "1abc",
            "\"a\"x",
            "foo\"bar\"",
            "r#type",
            "'ab'",
            "/// doc",
            "//! doc",
            "/* c */",
            "x\ry",
            "\"\\q\"",
            "'\\x80'",
            "é",
            "\"\\u{d800}\"",
            "1.0f16",
            "0x",
            "'a'b",
            "0x0i64as",
            "0o4usizein",
            "1u8x",
            "\"\\u{0dbfE}\"",
        ] {
            assert!(names(bad).is_err(), "{bad:?} should be refused: {:?}", names(bad));
        }
        // Invalid UTF-8 inside a string.
        assert!(lex(b"\"\xff\"").is_err());
        assert!(lex(b"\"\xe0\x80\x80\"").is_err());
    }
}
