//! Regexes: preparing user patterns for llguidance (which has no look-around), extracting their required literals,
//! and deciding emptiness and containment questions between them with bounded DFAs.

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::primitives::StateID;
use regex_automata::{Anchored, Input, MatchKind};
use regex_syntax::hir::{Hir, HirKind};

/// The ASCII identifier-boundary class used where a regex says `\b` next to a word character.
pub(crate) const NON_WORD: &str = "[^A-Za-z0-9_]";

/// How a prepared pattern is used, which decides what its edges may contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Use {
    /// Searched anywhere in the output (forbidden and required patterns).
    Search,
    /// Matched against the whole output.
    Whole,
}

/// A user pattern rewritten into the dialect llguidance reads, with what braid needs to know about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Prepared {
    /// The pattern without look-around: `\b` beside a word character became [`NON_WORD`], whole-match anchors were
    /// dropped.
    pub pattern: String,
    /// The longest literal every match contains (may be empty).
    pub literal: String,
    /// Identifier-like words of the literals every match contains (for bucketing conflicts).
    pub words: Vec<String>,
    /// Whether the pattern matches the empty string.
    pub matches_empty: bool,
}

/// Why a pattern cannot go into a grammar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// It does not parse.
    Invalid(String),
    /// It parses but uses look-around that llguidance cannot express; it can only be checked after generation.
    LookAround,
}

/// Prepares a pattern for use in a grammar.
pub(crate) fn prepare(pattern: &str, usage: Use) -> Result<Prepared, Unusable> {
    // Parse first, so invalid patterns are reported as such and not as unsupported look-around.
    parse(pattern).map_err(Unusable::Invalid)?;
    let mut core = pattern;
    let mut prefix = "";
    let mut suffix = "";
    match usage {
        Use::Whole => {
            core = core.strip_prefix('^').or_else(|| core.strip_prefix("\\A")).unwrap_or(core);
            if let Some(rest) = strip_unescaped_suffix(core, "$").or_else(|| strip_unescaped_suffix(core, "\\z")) {
                core = rest;
            }
        }
        Use::Search => {
            if let Some(rest) = core.strip_prefix("\\b")
                && starts_with_word_char(rest)
            {
                core = rest;
                prefix = NON_WORD;
            }
            if let Some(rest) = strip_unescaped_suffix(core, "\\b")
                && ends_with_word_char(rest)
            {
                core = rest;
                suffix = NON_WORD;
            }
        }
    }
    let hir = parse(core).map_err(Unusable::Invalid)?;
    if !hir.properties().look_set().is_empty() {
        return Err(Unusable::LookAround);
    }
    let mut literals = Vec::new();
    required_literals(&hir, &mut literals);
    let literal = literals
        .iter()
        .filter_map(|l| std::str::from_utf8(l).ok())
        .max_by(|a, b| a.len().cmp(&b.len()).then_with(|| b.cmp(a)))
        .unwrap_or("")
        .to_owned();
    let mut words: Vec<String> = Vec::new();
    for lit in &literals {
        if let Ok(text) = std::str::from_utf8(lit) {
            words.extend(identifier_words(text).map(str::to_owned));
        }
    }
    words.sort_unstable();
    words.dedup();
    let matches_empty = prefix.is_empty() && suffix.is_empty() && hir.properties().minimum_len() == Some(0);
    let pattern =
        if prefix.is_empty() && suffix.is_empty() { core.to_owned() } else { format!("{prefix}(?:{core}){suffix}") };
    Ok(Prepared { pattern, literal, words, matches_empty })
}

fn parse(pattern: &str) -> Result<Hir, String> {
    regex_syntax::ParserBuilder::new().nest_limit(64).build().parse(pattern).map_err(|e| {
        // regex-syntax renders a multi-line diagram; the last line is the message.
        e.to_string().lines().last().unwrap_or("invalid regex").trim().to_owned()
    })
}

fn starts_with_word_char(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `s` ends with a literal word character (not an escape like `\d`).
fn ends_with_word_char(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&last) = bytes.last() else { return false };
    if !(last.is_ascii_alphanumeric() || last == b'_') {
        return false;
    }
    let backslashes = bytes[..bytes.len() - 1].iter().rev().take_while(|&&b| b == b'\\').count();
    backslashes % 2 == 0
}

/// Strips `suffix` from `s` unless its first character is escaped by an odd run of backslashes before it.
fn strip_unescaped_suffix<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let rest = s.strip_suffix(suffix)?;
    let backslashes = rest.bytes().rev().take_while(|&b| b == b'\\').count();
    (backslashes % 2 == 0).then_some(rest)
}

/// Collects literals that every match of `hir` contains.
fn required_literals(hir: &Hir, out: &mut Vec<Vec<u8>>) {
    match hir.kind() {
        HirKind::Literal(lit) => out.push(lit.0.to_vec()),
        HirKind::Capture(cap) => required_literals(&cap.sub, out),
        HirKind::Repetition(rep) if rep.min >= 1 => required_literals(&rep.sub, out),
        HirKind::Concat(children) => {
            for child in children {
                required_literals(child, out);
            }
        }
        _ => {}
    }
}

/// The identifier-like runs of a text (`x.unwrap()` → `x`, `unwrap`).
pub(crate) fn identifier_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_'))
}

/// Escapes text so that it matches literally in a regex.
pub(crate) fn escape(text: &str) -> String {
    regex_syntax::escape(text)
}

/// Writes a regex as a Lark `/.../` literal: `/` must be escaped, and so are raw line breaks.
pub(crate) fn lark_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 2);
    out.push('/');
    let mut escaped = false;
    for c in pattern.chars() {
        match c {
            '/' if !escaped => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => out.push(c),
        }
        escaped = c == '\\' && !escaped;
    }
    out.push('/');
    out
}

/// Writes text as a Lark string literal.
pub(crate) fn lark_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The answer to a bounded automaton question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Yes, certainly.
    Yes,
    /// No, certainly.
    No,
    /// The DFAs or their product exceeded the size bound.
    Undecided,
}

/// A DFA that matches the whole input (anchored at both ends).
struct WholeDfa {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
}

impl WholeDfa {
    /// With `Anchored::No` the DFA finds matches anywhere (a match state is entered right after a match ends).
    fn build_with(pattern: &str, size_limit: usize, anchored: Anchored) -> Option<WholeDfa> {
        let start_kind = if anchored == Anchored::Yes { StartKind::Anchored } else { StartKind::Unanchored };
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .match_kind(MatchKind::All)
                    .start_kind(start_kind)
                    .minimize(false)
                    .dfa_size_limit(Some(size_limit))
                    .determinize_size_limit(Some(size_limit)),
            )
            .thompson(regex_automata::nfa::thompson::Config::new().nfa_size_limit(Some(size_limit)))
            .build(pattern)
            .ok()?;
        let start = dfa.start_state_forward(&Input::new("").anchored(anchored)).ok()?;
        Some(WholeDfa { dfa, start })
    }

    fn accepts_here(&self, state: StateID) -> bool {
        self.dfa.is_match_state(self.dfa.next_eoi_state(state))
    }
}

/// Searches the product of two whole-match DFAs for an input where `want(a accepts, b accepts)` holds.
fn product_search(a: &WholeDfa, b: &WholeDfa, max_states: usize, want: impl Fn(bool, bool) -> bool) -> Answer {
    // One representative byte per class of the joint partition of the two alphabets.
    let mut reps: Vec<u8> = Vec::new();
    let mut seen_classes: HashSet<(u8, u8)> = HashSet::new();
    for byte in 0..=255u8 {
        if seen_classes.insert((a.dfa.byte_classes().get(byte), b.dfa.byte_classes().get(byte))) {
            reps.push(byte);
        }
    }
    let mut seen: HashSet<(StateID, StateID)> = HashSet::new();
    let mut queue: VecDeque<(StateID, StateID)> = VecDeque::new();
    seen.insert((a.start, b.start));
    queue.push_back((a.start, b.start));
    while let Some((sa, sb)) = queue.pop_front() {
        if want(a.accepts_here(sa), b.accepts_here(sb)) {
            return Answer::Yes;
        }
        for &byte in &reps {
            let na = a.dfa.next_state(sa, byte);
            if a.dfa.is_dead_state(na) || a.dfa.is_quit_state(na) {
                continue;
            }
            let nb = b.dfa.next_state(sb, byte);
            if b.dfa.is_quit_state(nb) {
                return Answer::Undecided;
            }
            if seen.insert((na, nb)) {
                if seen.len() > max_states {
                    return Answer::Undecided;
                }
                queue.push_back((na, nb));
            }
        }
    }
    Answer::No
}

/// Whole-match DFAs by pattern, so each pattern is determinized once per compilation however many questions mention
/// it (`None`: past the size bound).
#[derive(Default)]
pub(crate) struct DfaCache {
    dfas: HashMap<String, Option<Rc<WholeDfa>>>,
}

impl DfaCache {
    fn get(&mut self, pattern: &str, dfa_bytes: usize) -> Option<Rc<WholeDfa>> {
        self.get_with(pattern, dfa_bytes, Anchored::Yes)
    }

    fn get_with(&mut self, pattern: &str, dfa_bytes: usize, anchored: Anchored) -> Option<Rc<WholeDfa>> {
        let key = if anchored == Anchored::Yes { format!("A{pattern}") } else { format!("U{pattern}") };
        if let Some(found) = self.dfas.get(&key) {
            return found.clone();
        }
        let built = WholeDfa::build_with(pattern, dfa_bytes, anchored).map(Rc::new);
        self.dfas.insert(key, built.clone());
        built
    }
}

/// Whether two whole-match regexes have an empty intersection.
pub(crate) fn intersection_empty(
    cache: &mut DfaCache,
    a: &str,
    b: &str,
    dfa_bytes: usize,
    max_states: usize,
) -> Answer {
    let (Some(da), Some(db)) = (cache.get(a, dfa_bytes), cache.get(b, dfa_bytes)) else {
        return Answer::Undecided;
    };
    match product_search(&da, &db, max_states, |x, y| x && y) {
        Answer::Yes => Answer::No,
        Answer::No => Answer::Yes,
        Answer::Undecided => Answer::Undecided,
    }
}

/// Whether every match of `required` contains a match of `banned` (so requiring the one means breaking the other).
pub(crate) fn every_match_contains(
    cache: &mut DfaCache,
    required: &str,
    banned: &str,
    dfa_bytes: usize,
    max_states: usize,
) -> Answer {
    // `banned` as an unanchored search: much smaller than a whole-match DFA of `.*banned.*`. Whether a match was
    // seen is carried along the product search.
    let (Some(dr), Some(db)) = (cache.get(required, dfa_bytes), cache.get_with(banned, dfa_bytes, Anchored::No)) else {
        return Answer::Undecided;
    };
    let mut reps: Vec<u8> = Vec::new();
    let mut seen_classes: HashSet<(u8, u8)> = HashSet::new();
    for byte in 0..=255u8 {
        if seen_classes.insert((dr.dfa.byte_classes().get(byte), db.dfa.byte_classes().get(byte))) {
            reps.push(byte);
        }
    }
    let mut seen: HashSet<(StateID, StateID, bool)> = HashSet::new();
    let mut queue: VecDeque<(StateID, StateID, bool)> = VecDeque::new();
    seen.insert((dr.start, db.start, false));
    queue.push_back((dr.start, db.start, false));
    while let Some((sr, sb, matched)) = queue.pop_front() {
        // A match of `required` that avoids `banned` is a counterexample.
        if dr.accepts_here(sr) && !matched && !db.accepts_here(sb) {
            return Answer::No;
        }
        for &byte in &reps {
            let nr = dr.dfa.next_state(sr, byte);
            if dr.dfa.is_dead_state(nr) || dr.dfa.is_quit_state(nr) {
                continue;
            }
            let nb = db.dfa.next_state(sb, byte);
            if db.dfa.is_quit_state(nb) {
                return Answer::Undecided;
            }
            let now = matched || db.dfa.is_match_state(nb);
            if now {
                // Every continuation contains the ban: nothing to find here.
                continue;
            }
            if seen.insert((nr, nb, now)) {
                if seen.len() > max_states {
                    return Answer::Undecided;
                }
                queue.push_back((nr, nb, now));
            }
        }
    }
    Answer::Yes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepares_word_boundaries_and_anchors() {
        let p = prepare(r"\bunwrap\b", Use::Search).unwrap();
        assert_eq!(p.pattern, "[^A-Za-z0-9_](?:unwrap)[^A-Za-z0-9_]");
        assert_eq!(p.literal, "unwrap");
        let p = prepare(r"^[a-z]+$", Use::Whole).unwrap();
        assert_eq!(p.pattern, "[a-z]+");
        assert_eq!(prepare(r"(?m)^x", Use::Search), Err(Unusable::LookAround));
        assert!(matches!(prepare(r"(", Use::Search), Err(Unusable::Invalid(_))));
        assert!(prepare(r"a*", Use::Search).unwrap().matches_empty);
    }

    #[test]
    fn literals_and_words() {
        let p = prepare(r"x\.unwrap\(\)", Use::Search).unwrap();
        assert_eq!(p.literal, "x.unwrap()");
        assert_eq!(p.words, vec!["unwrap", "x"]);
        let p = prepare(r"(?:foo|bar)baz+", Use::Search).unwrap();
        assert_eq!(p.literal, "ba");
    }

    #[test]
    fn lark_escaping() {
        assert_eq!(lark_regex(r"a/b\/c"), r"/a\/b\/c/");
        assert_eq!(lark_string("say \"hi\"\\"), r#""say \"hi\"\\""#);
    }

    #[test]
    fn automata_questions() {
        let (bytes, states) = (1 << 20, 10_000);
        let c = &mut DfaCache::default();
        assert_eq!(intersection_empty(c, "[a-z]+", "[0-9]+", bytes, states), Answer::Yes);
        assert_eq!(intersection_empty(c, "[a-z]+", "ab.", bytes, states), Answer::No);
        assert_eq!(
            every_match_contains(c, r"\.unwrap\(\)", r"[^A-Za-z0-9_]unwrap[ \t]*\(", bytes, states),
            Answer::Yes
        );
        assert_eq!(every_match_contains(c, "unwrap", r"[^A-Za-z0-9_]unwrap[ \t]*\(", bytes, states), Answer::No);
        assert_eq!(intersection_empty(&mut DfaCache::default(), "[a-z]{200}", "a{200}", 64, states), Answer::Undecided);
    }
}
