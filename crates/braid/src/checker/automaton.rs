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
    trans: Vec<u32>,
    accepting: Vec<bool>,
    kinds: Vec<Kind>,
    pub start: u32,
    pub open: u32,
    pub close: u32,
    pub done: u32,
    pub braces: bool,
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

/// Builds a lexeme: `base` minus (if given) every string `ban` matches entirely.
fn lexeme(base: &dense::DFA<Vec<u32>>, ban: Option<&dense::DFA<Vec<u32>>>) -> Result<Lexeme, String> {
    let b0 = start_of(base)?;
    let f0 = match ban {
        Some(f) => start_of(f)?,
        None => StateID::ZERO,
    };
    let mut ids: std::collections::HashMap<(StateID, StateID), u32> = std::collections::HashMap::new();
    let mut pairs: Vec<(StateID, StateID)> = vec![(b0, f0)];
    ids.insert((b0, f0), 0);
    let mut raw: Vec<u32> = Vec::new();
    let mut accept: Vec<bool> = Vec::new();
    let mut queue: VecDeque<u32> = VecDeque::from([0]);
    while let Some(i) = queue.pop_front() {
        let (sb, sf) = pairs[i as usize];
        let at = i as usize * 256;
        if raw.len() < at + 256 {
            raw.resize(at + 256, DEAD);
            accept.resize(i as usize + 1, false);
        }
        accept[i as usize] = accepts(base, sb) && ban.is_none_or(|f| !accepts(f, sf));
        for byte in 0..=255u8 {
            let nb = base.next_state(sb, byte);
            if base.is_dead_state(nb) || base.is_quit_state(nb) {
                continue;
            }
            let nf = match ban {
                Some(f) => f.next_state(sf, byte),
                None => StateID::ZERO,
            };
            let next = *ids.entry((nb, nf)).or_insert_with(|| {
                pairs.push((nb, nf));
                let id = (pairs.len() - 1) as u32;
                queue.push_back(id);
                id
            });
            raw[at + byte as usize] = next;
        }
    }
    let n = pairs.len();
    raw.resize(n * 256, DEAD);
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

/// The regex (Rust `regex` syntax) matching a whole code run that a ban forbids: the same grouping as the Lark
/// `FORBIDDEN` terminal.
pub(crate) fn forbidden_regex(forbidden: &[ForbiddenString]) -> Option<String> {
    if forbidden.is_empty() {
        return None;
    }
    let mut groups: Vec<(&str, Vec<String>, Vec<String>)> = Vec::new();
    for f in forbidden {
        let split = body::split_ban(&f.pattern);
        let lead = split.lead.unwrap_or("");
        let at = if let Some(at) = groups.iter().position(|(l, _, _)| *l == lead) {
            at
        } else {
            groups.push((lead, Vec::new(), Vec::new()));
            groups.len() - 1
        };
        let core = format!("(?:{})", split.core);
        if split.trail.is_some() { groups[at].2.push(core) } else { groups[at].1.push(core) }
    }
    let ascii = r"[\x00-\x7f]*";
    let mut forms = Vec::new();
    for (lead, open, closed) in &groups {
        let mut inner = Vec::new();
        if !open.is_empty() {
            inner.push(format!("(?:{}){ascii}", open.join("|")));
        }
        if !closed.is_empty() {
            inner.push(format!("(?:{})(?:{}{ascii})?", closed.join("|"), body::TRAIL));
        }
        let prefix = if lead.is_empty() { ascii.to_owned() } else { format!("(?:{ascii}{lead})?") };
        forms.push(format!("{prefix}(?:{})", inner.join("|")));
    }
    Some(forms.join("|"))
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
        let ban = match forbidden_regex(forbidden) {
            Some(re) => Some(ascii_dfa(&re).map_err(|e| err("the bans", e))?),
            None => None,
        };
        let class = lex.code_class;
        let code_base = ascii_dfa(&format!("{class}+")).map_err(|e| err("code runs", e))?;
        let code = lexeme(&code_base, ban.as_ref()).map_err(|e| err("code runs", e))?;
        let first = if lex.braces {
            None
        } else {
            let base = ascii_dfa(&format!(r"\n+[ \t]+[!$-&(-\[\]-~]{class}*")).map_err(|e| err("the first line", e))?;
            Some(lexeme(&base, ban.as_ref()).map_err(|e| err("the first line", e))?)
        };
        let items: Vec<String> = lex.items.iter().map(|i| format!("(?:{})", unlark(i.regex))).collect();
        let item_dfa = build_dfa(&items.join("|"), false).map_err(|e| err("literals and comments", e))?;
        let item = lexeme(&item_dfa, None).map_err(|e| err("literals and comments", e))?;

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
        fill(item_at, &item, false, &mut trans);
        for s in [open, close] {
            for byte in 0..=255u8 {
                trans[s as usize * 256 + byte as usize] = start_lexeme(byte, false);
            }
        }
        accepting[done as usize] = lex.braces;
        let start = if h == 0 { body_start } else { 0 };
        Ok(BodyAutomaton {
            trans,
            accepting,
            kinds,
            start,
            open,
            close,
            done,
            braces: lex.braces,
            header: header.to_vec(),
        })
    }

    /// The next state on `byte`, or [`DEAD`]. Brace depth is the caller's: entering `open` adds one, entering
    /// `close` removes one (and at depth 0 the body is [`BodyAutomaton::done`]).
    #[inline]
    pub(crate) fn next(&self, state: u32, byte: u8) -> u32 {
        self.trans[state as usize * 256 + byte as usize]
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

    /// The number of states.
    pub(crate) fn states(&self) -> usize {
        self.kinds.len()
    }
}
