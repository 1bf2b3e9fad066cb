//! The byte automaton of a fn-body target: the fixed header, then the body's lexemes as [`crate::body`] defines
//! them (and as the emitted Lark grammar spells them), with the bans folded into the code-run lexeme. Brace depth
//! is the only context-free part; it is a counter kept beside the automaton state.
//!
//! Lexing is greedy, like llguidance's lexer: a lexeme goes on as long as the next byte can extend it (towards a
//! complete lexeme), and otherwise ends if it is complete, the byte starting the next lexeme the grammar allows.

use std::collections::VecDeque;

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::primitives::StateID;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind};

use crate::body::{self, Lexemes};
use crate::checker::CheckError;
use crate::ir::ForbiddenString;

/// No transition.
pub(crate) const DEAD: u32 = u32::MAX;
/// No transition, in the 16-bit table.
const DEAD16: u16 = u16::MAX;
/// The most states an automaton may have (past it, the checker falls back to llguidance).
pub(crate) const MAX_STATES: usize = DEAD16 as usize;

type BuildFx = std::hash::BuildHasherDefault<crate::compiler::FxHasher>;

/// A lexeme as an explicit DFA over bytes with live states only (start is state 0).
struct Lexeme {
    trans: Vec<u32>,
    accept: Vec<bool>,
}

impl Lexeme {
    fn next(&self, state: u32, byte: u8) -> u32 {
        self.trans[state as usize * 256 + byte as usize]
    }

    fn len(&self) -> usize {
        self.accept.len()
    }
}

/// What kind of lexeme a state belongs to (for explanations and code-run tracking).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Header,
    /// Right after the header: a brace body must open with `{`.
    Entry,
    /// A code run (or Python's first run), which carries the bans.
    Code,
    /// A literal, comment or division sign.
    Item,
    Open,
    Close,
    Done,
}

/// The automaton of one fn-body target.
pub(crate) struct BodyAutomaton {
    /// Transitions, `states × 256`, as 16-bit state ids ([`DEAD16`] for none): half the cache footprint of 32-bit
    /// ids, which mask walks feel.
    trans: Vec<u16>,
    accepting: Vec<bool>,
    kinds: Vec<Kind>,
    pub start: u32,
    pub open: u32,
    pub close: u32,
    pub done: u32,
    pub braces: bool,
    /// The language, and where the item lexeme's states start: item states are the same automaton for every
    /// checker of a language, so what happens inside literals and comments is shared per vocabulary.
    pub language: ananke_core::Language,
    pub item_at: u32,
    /// The state right after the header (a Python body's first line; for brace bodies, before the `{`).
    body_start: u32,
    /// The fixed header bytes (states `0..header.len()` are positions in it).
    pub header: Vec<u8>,
}

impl std::fmt::Debug for BodyAutomaton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyAutomaton").field("states", &self.kinds.len()).finish_non_exhaustive()
    }
}

fn build_dfa(pattern: &str, bytes_only: bool) -> Result<dense::DFA<Vec<u32>>, String> {
    let mut builder = dense::Builder::new();
    builder.configure(
        dense::Config::new()
            .match_kind(MatchKind::All)
            .start_kind(StartKind::Anchored)
            .minimize(false)
            .dfa_size_limit(Some(64 << 20))
            .determinize_size_limit(Some(64 << 20)),
    );
    if bytes_only {
        builder.syntax(syntax::Config::new().unicode(false).utf8(false));
    }
    builder.build(pattern).map_err(|e| e.to_string())
}

/// A DFA for a pattern over ASCII input: byte mode when the pattern allows it (smaller), Unicode otherwise.
fn ascii_dfa(pattern: &str) -> Result<dense::DFA<Vec<u32>>, String> {
    build_dfa(pattern, true).or_else(|_| build_dfa(pattern, false))
}

fn start_of(dfa: &dense::DFA<Vec<u32>>) -> Result<StateID, String> {
    dfa.start_state_forward(&Input::new("").anchored(Anchored::Yes)).map_err(|e| e.to_string())
}

fn accepts(dfa: &dense::DFA<Vec<u32>>, s: StateID) -> bool {
    dfa.is_match_state(dfa.next_eoi_state(s))
}

/// Builds a lexeme: `base` minus every string that one of the `bans` matches entirely. The bans run side by side
/// (one small DFA each) rather than as one determinized union: the product explores the same states, and small
/// DFAs determinize much faster than the union of every ban.
fn lexeme(base: &dense::DFA<Vec<u32>>, bans: &[std::sync::Arc<dense::DFA<Vec<u32>>>]) -> Result<Lexeme, String> {
    let b0 = start_of(base)?;
    let mut first: Vec<u32> = vec![b0.as_u32()];
    for f in bans {
        first.push(start_of(f)?.as_u32());
    }
    // One representative byte per class of the joint partition of all alphabets: every byte of a class moves
    // every automaton alike.
    let mut class_of = [0u16; 256];
    let mut reps: Vec<u8> = Vec::new();
    let mut seen: std::collections::HashMap<Vec<u8>, u16, BuildFx> = std::collections::HashMap::default();
    for byte in 0..=255u8 {
        let key: Vec<u8> = std::iter::once(base.byte_classes().get(byte))
            .chain(bans.iter().map(|f| f.byte_classes().get(byte)))
            .collect();
        let class = *seen.entry(key).or_insert_with(|| {
            reps.push(byte);
            (reps.len() - 1) as u16
        });
        class_of[byte as usize] = class;
    }
    let width = reps.len();
    let sid = |raw: u32| StateID::new(raw as usize).unwrap_or(StateID::ZERO);
    let mut ids: std::collections::HashMap<Box<[u32]>, u32, BuildFx> = std::collections::HashMap::default();
    let mut tuples: Vec<Box<[u32]>> = vec![first.clone().into_boxed_slice()];
    ids.insert(first.into_boxed_slice(), 0);
    let mut by_class: Vec<u32> = Vec::new();
    let mut accept: Vec<bool> = Vec::new();
    let mut queue: VecDeque<u32> = VecDeque::from([0]);
    let mut next_tuple: Vec<u32> = Vec::with_capacity(bans.len() + 1);
    while let Some(i) = queue.pop_front() {
        let tuple = tuples[i as usize].clone();
        let at = i as usize * width;
        if by_class.len() < at + width {
            by_class.resize(at + width, DEAD);
            accept.resize(i as usize + 1, false);
        }
        accept[i as usize] =
            accepts(base, sid(tuple[0])) && bans.iter().zip(&tuple[1..]).all(|(f, &s)| !accepts(f, sid(s)));
        'class: for (c, &byte) in reps.iter().enumerate() {
            let nb = base.next_state(sid(tuple[0]), byte);
            if base.is_dead_state(nb) || base.is_quit_state(nb) {
                continue;
            }
            next_tuple.clear();
            next_tuple.push(nb.as_u32());
            for (f, &s) in bans.iter().zip(&tuple[1..]) {
                let nf = f.next_state(sid(s), byte);
                // A ban whose pattern ends in `[\x00-\x7f]*` stays matched: nothing after it is allowed.
                if f.is_match_state(nf) && absorbing(f, nf) {
                    continue 'class;
                }
                next_tuple.push(nf.as_u32());
            }
            let next = if let Some(&id) = ids.get(next_tuple.as_slice()) {
                id
            } else {
                let id = tuples.len() as u32;
                tuples.push(next_tuple.clone().into_boxed_slice());
                ids.insert(next_tuple.clone().into_boxed_slice(), id);
                queue.push_back(id);
                id
            };
            by_class[at + c] = next;
        }
    }
    let n = tuples.len();
    by_class.resize(n * width, DEAD);
    let mut raw = vec![DEAD; n * 256];
    for i in 0..n {
        for byte in 0..256 {
            raw[i * 256 + byte] = by_class[i * width + class_of[byte] as usize];
        }
    }
    accept.resize(n, false);
    // Keep the states from which a complete lexeme is still reachable.
    let mut reverse: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (i, row) in raw.chunks(256).enumerate() {
        for &t in row {
            if t != DEAD {
                reverse[t as usize].push(i as u32);
            }
        }
    }
    let mut live = accept.clone();
    let mut stack: Vec<u32> = (0..n as u32).filter(|&i| accept[i as usize]).collect();
    while let Some(s) = stack.pop() {
        for &p in &reverse[s as usize] {
            if !live[p as usize] {
                live[p as usize] = true;
                stack.push(p);
            }
        }
    }
    if !live[0] {
        return Err("the lexeme matches nothing".to_owned());
    }
    // Renumber the live states (start stays 0).
    let mut map = vec![DEAD; n];
    let mut next_id = 0u32;
    for i in 0..n {
        if live[i] {
            map[i] = next_id;
            next_id += 1;
        }
    }
    let mut trans = vec![DEAD; next_id as usize * 256];
    let mut acc = vec![false; next_id as usize];
    for i in 0..n {
        if map[i] == DEAD {
            continue;
        }
        acc[map[i] as usize] = accept[i];
        for b in 0..256 {
            let t = raw[i * 256 + b];
            if t != DEAD {
                trans[map[i] as usize * 256 + b] = map[t as usize];
            }
        }
    }
    Ok(Lexeme { trans, accept: acc })
}

/// Whether a match state stays a match state on every ASCII byte (a ban that has matched cannot be undone by what
/// follows it in the run).
fn absorbing(dfa: &dense::DFA<Vec<u32>>, state: StateID) -> bool {
    (0..=0x7fu8).all(|b| {
        let next = dfa.next_state(state, b);
        next == state || (dfa.is_match_state(next) && dfa.next_state(next, b) == next)
    })
}

/// The per-ban regexes (Rust `regex` syntax) matching a whole code run that the ban forbids: with its leading
/// boundary or at the run's start, with its trailing boundary or at the run's end. Their union is the Lark
/// `FORBIDDEN` terminal.
pub(crate) fn ban_regexes(forbidden: &[ForbiddenString]) -> Vec<String> {
    let ascii = r"[\x00-\x7f]*";
    forbidden
        .iter()
        .map(|f| {
            let forms = body::ban_forms(&f.pattern);
            let mut inner = format!("(?:{}){ascii}", forms.core);
            if let Some(end) = &forms.end {
                inner = format!("{inner}|(?:{end})");
            }
            if let Some(lead) = forms.lead {
                return format!("(?:{ascii}{lead})?(?:{inner})");
            }
            let mut out = format!("{ascii}(?:{inner})");
            if let Some(start) = &forms.start {
                out = format!("{out}|(?:{start}){ascii}");
            }
            if let Some(whole) = &forms.whole {
                out = format!("{out}|(?:{whole})");
            }
            out
        })
        .collect()
}

/// Compiled ban DFAs by pattern, shared by every checker of the process (bans repeat across constraint sets).
fn ban_dfa(pattern: &str) -> Result<std::sync::Arc<dense::DFA<Vec<u32>>>, String> {
    type Cache = std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<dense::DFA<Vec<u32>>>>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    if let Some(dfa) = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(pattern) {
        return Ok(std::sync::Arc::clone(dfa));
    }
    let dfa = std::sync::Arc::new(ascii_dfa(pattern)?);
    let mut map = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Bounded: a process that sees many different sets starts over rather than growing without end.
    if map.len() >= 4096 {
        map.clear();
    }
    map.insert(pattern.to_owned(), std::sync::Arc::clone(&dfa));
    Ok(dfa)
}

/// What a language's bodies share whatever the constraints: the code-run and first-line DFAs before the bans, and
/// the item lexeme. Built once per language and process.
struct LanguageParts {
    code_base: dense::DFA<Vec<u32>>,
    first_base: Option<dense::DFA<Vec<u32>>>,
    item: Lexeme,
}

fn language_parts(language: ananke_core::Language) -> Result<std::sync::Arc<LanguageParts>, String> {
    type Cache = std::sync::Mutex<Vec<(ananke_core::Language, std::sync::Arc<LanguageParts>)>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    if let Some((_, parts)) =
        cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().find(|(l, _)| *l == language)
    {
        return Ok(std::sync::Arc::clone(parts));
    }
    let lex = body::lexemes(language);
    let class = lex.code_class;
    let code_base = ascii_dfa(&format!("{class}+"))?;
    let first_base = if lex.braces { None } else { Some(ascii_dfa(&format!(r"\n+[ \t]+[!$-&(-\[\]-~]{class}*"))?) };
    let items: Vec<String> = lex.items.iter().map(|i| format!("(?:{})", unlark(i.regex))).collect();
    let item = lexeme(&build_dfa(&items.join("|"), false)?, &[])?;
    let parts = std::sync::Arc::new(LanguageParts { code_base, first_base, item });
    cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((language, std::sync::Arc::clone(&parts)));
    Ok(parts)
}

/// A Lark regex body (`\/` escapes) in Rust `regex` syntax.
fn unlark(regex: &str) -> String {
    regex.replace(r"\/", "/")
}

impl BodyAutomaton {
    /// Builds the automaton for a fn-body target: `header` is the fixed text (as the grammar writes it, trailing
    /// space included).
    pub(crate) fn new(
        language: ananke_core::Language,
        header: &[u8],
        forbidden: &[ForbiddenString],
    ) -> Result<BodyAutomaton, CheckError> {
        let err = |what: &str, e: String| CheckError::Grammar(format!("{what}: {e}"));
        let lex: Lexemes = body::lexemes(language);
        let mut bans = Vec::with_capacity(forbidden.len());
        for re in ban_regexes(forbidden) {
            bans.push(ban_dfa(&re).map_err(|e| err("the bans", e))?);
        }
        let parts = language_parts(language).map_err(|e| err("the body lexemes", e))?;
        let code = lexeme(&parts.code_base, &bans).map_err(|e| err("code runs", e))?;
        let first = match &parts.first_base {
            Some(base) => Some(lexeme(base, &bans).map_err(|e| err("the first line", e))?),
            None => None,
        };
        let item = &parts.item;

        // Global numbering: header positions, entry, code, first, item, open, close, done.
        let h = header.len() as u32;
        let entry = h;
        let code_at = entry + 1;
        let first_at = code_at + code.len() as u32;
        let first_len = first.as_ref().map_or(0, Lexeme::len) as u32;
        let item_at = first_at + first_len;
        let open = item_at + item.len() as u32;
        let close = open + 1;
        let done = close + 1;
        let n = done as usize + 1;
        let mut kinds = vec![Kind::Header; n];
        kinds[entry as usize] = Kind::Entry;
        for k in &mut kinds[code_at as usize..item_at as usize] {
            *k = Kind::Code;
        }
        for k in &mut kinds[item_at as usize..open as usize] {
            *k = Kind::Item;
        }
        kinds[open as usize] = Kind::Open;
        kinds[close as usize] = Kind::Close;
        kinds[done as usize] = Kind::Done;

        // The lexeme a byte starts: after a code run only items (and braces); otherwise a code run too.
        let start_lexeme = |byte: u8, after_code: bool| -> u32 {
            if lex.braces && byte == b'{' {
                return open;
            }
            if lex.braces && byte == b'}' {
                return close;
            }
            let t = item.next(0, byte);
            if t != DEAD {
                return item_at + t;
            }
            if !after_code {
                let t = code.next(0, byte);
                if t != DEAD {
                    return code_at + t;
                }
            }
            DEAD
        };
        let mut trans = vec![DEAD; n * 256];
        let mut accepting = vec![false; n];
        for (i, &b) in header.iter().enumerate() {
            trans[i * 256 + b as usize] = i as u32 + 1;
        }
        let body_start = if lex.braces { entry } else { first_at };
        if lex.braces {
            trans[entry as usize * 256 + b'{' as usize] = open;
        } else if h > 0 {
            // The header's last byte leads straight into the first line.
            let last = (h - 1) as usize;
            let byte = header[last] as usize;
            trans[last * 256 + byte] = first_at;
        }
        let mut fill = |at: u32, lexeme: &Lexeme, after_code: bool, trans: &mut Vec<u32>| {
            for s in 0..lexeme.len() as u32 {
                let g = (at + s) as usize;
                accepting[g] = !lex.braces && lexeme.accept[s as usize];
                for byte in 0..=255u8 {
                    let t = lexeme.next(s, byte);
                    trans[g * 256 + byte as usize] = if t != DEAD {
                        at + t
                    } else if lexeme.accept[s as usize] {
                        start_lexeme(byte, after_code)
                    } else {
                        DEAD
                    };
                }
            }
        };
        fill(code_at, &code, true, &mut trans);
        if let Some(first) = &first {
            fill(first_at, first, true, &mut trans);
        }
        fill(item_at, item, false, &mut trans);
        for s in [open, close] {
            for byte in 0..=255u8 {
                trans[s as usize * 256 + byte as usize] = start_lexeme(byte, false);
            }
        }
        accepting[done as usize] = lex.braces;
        let start = if h == 0 { body_start } else { 0 };
        if n >= MAX_STATES {
            return Err(CheckError::Grammar(format!("the body automaton has {n} states (at most {MAX_STATES})")));
        }
        let trans: Vec<u16> = trans.into_iter().map(|t| if t == DEAD { DEAD16 } else { t as u16 }).collect();
        Ok(BodyAutomaton {
            trans,
            accepting,
            kinds,
            start,
            open,
            close,
            done,
            braces: lex.braces,
            language,
            item_at,
            body_start,
            header: header.to_vec(),
        })
    }

    /// The next state on `byte`, or [`DEAD`]. Brace depth is the caller's: entering `open` adds one, entering
    /// `close` removes one (and at depth 0 the body is [`BodyAutomaton::done`]).
    #[inline]
    pub(crate) fn next(&self, state: u32, byte: u8) -> u32 {
        let t = self.trans[state as usize * 256 + byte as usize];
        if t == DEAD16 { DEAD } else { u32::from(t) }
    }

    /// Whether the body may end in this state.
    pub(crate) fn accepting(&self, state: u32) -> bool {
        self.accepting[state as usize]
    }

    pub(crate) fn kind(&self, state: u32) -> Kind {
        self.kinds[state as usize]
    }

    /// Advances over bytes with the brace counter; `None` when a byte is not allowed.
    pub(crate) fn step(&self, mut state: u32, mut depth: u32, bytes: &[u8]) -> Option<(u32, u32)> {
        for &b in bytes {
            let mut next = self.next(state, b);
            if next == DEAD {
                return None;
            }
            if next == self.open {
                depth += 1;
            } else if next == self.close {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    next = self.done;
                }
            }
            state = next;
        }
        Some((state, depth))
    }

    /// The state where the body starts (after the header; for brace bodies, before the `{`).
    pub(crate) fn first_state(&self) -> u32 {
        self.body_start
    }

    /// The number of states.
    pub(crate) fn states(&self) -> usize {
        self.kinds.len()
    }
}

/// The bans of a fn body as one DFA over code bytes, for the syntax engine: it runs over the bytes outside
/// literals and comments, which form runs separated by them. A run is banned when it contains a ban, or (like a
/// code run of the lexical body) ends at a literal in a way a ban's end form matches; `accept` says whether the run
/// may end in a state. States from which no run can end are dropped, and a byte with no transition completes a ban.
pub(crate) struct BanTracker {
    trans: Vec<u16>,
    pub accept: Vec<bool>,
}

impl std::fmt::Debug for BanTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BanTracker").field("states", &self.accept.len()).finish_non_exhaustive()
    }
}

impl BanTracker {
    /// The tracker for a list of bans, `None` when there are none.
    pub(crate) fn new(forbidden: &[ForbiddenString]) -> Result<Option<BanTracker>, CheckError> {
        if forbidden.is_empty() {
            return Ok(None);
        }
        let err = |what: &str, e: String| CheckError::Grammar(format!("{what}: {e}"));
        let mut bans = Vec::with_capacity(forbidden.len());
        for re in ban_regexes(forbidden) {
            bans.push(ban_dfa(&re).map_err(|e| err("the bans", e))?);
        }
        let base = code_base().map_err(|e| err("code runs", e))?;
        let code = lexeme(&base, &bans).map_err(|e| err("code runs", e))?;
        if code.len() >= MAX_STATES {
            return Err(CheckError::Grammar(format!("the bans need {} states (at most {MAX_STATES})", code.len())));
        }
        let trans = code.trans.iter().map(|&t| if t == DEAD { DEAD16 } else { t as u16 }).collect();
        Ok(Some(BanTracker { trans, accept: code.accept }))
    }

    /// The next state on a code byte, or `None` when the byte completes a ban.
    #[inline]
    pub(crate) fn next(&self, state: u16, byte: u8) -> Option<u16> {
        let t = self.trans[state as usize * 256 + byte as usize];
        (t != DEAD16).then_some(t)
    }
}

/// Any run of code bytes (printable ASCII, tabs and line breaks), the empty run included.
fn code_base() -> Result<std::sync::Arc<dense::DFA<Vec<u32>>>, String> {
    static BASE: std::sync::OnceLock<Result<std::sync::Arc<dense::DFA<Vec<u32>>>, String>> = std::sync::OnceLock::new();
    BASE.get_or_init(|| ascii_dfa(r"[\t\n\x20-\x7e]*").map(std::sync::Arc::new)).clone()
}
