//! Masks for the syntax layer: which tokens the Rust grammar of [`crate::syntax`] allows from a configuration
//! (lexer state and parser stack), computed by walking the vocabulary's trie through the pushdown automaton and
//! memoized so that a stack seen once, or a top frame seen in another stack, costs little after.
//!
//! - **Root walks and suspensions.** A mask depends on the whole stack, but a token rarely reaches below the top
//!   frame. A walk is rooted at the top frame (memoized per top frame and lexer state) and records where a token
//!   would pop past it: a *suspension* (the trie node, the lexer state and the lexemes still to process), resumed
//!   in the frame below (memoized per suspension and frame), recursively down the stack. A token whose last lexeme
//!   is still open is decided by the kinds that lexeme may become; when that needs the frames below, the walk
//!   records the token under that set of kinds, and the set is checked once per mask against the real stack.
//! - **Static classes.** Most tokens of a vocabulary are identifier characters, optionally after whitespace. Such a
//!   token never reaches the parser before its end (or reaches it only with the lexeme that was open before it),
//!   so whether it fits is one question per mask ("may an identifier, or one of these keywords, come here?"). The
//!   classes ([`SyntaxClasses`]) are computed once per vocabulary, and walks skip the subtrees that hold nothing
//!   else: a walk visits the tokens with punctuation, digits or literals only.
//! - **Bans** run as a separate automaton over the same bytes ([`BanWalks`]) on the lexer's states reduced to what
//!   bans see (where literals and comments start and end); a mask is the intersection of both.
//!
//! None of the syntax walks depends on the constraints, so they are shared by every checker of a vocabulary.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::automaton::BanTracker;
use super::index::{NO_TOKEN, VocabIndex};
use super::mask::TokenMask;
use crate::identifiers::{Identifiers, words};
use crate::syntax::grammar::{Action, Frame, Grammar, Role};
use crate::syntax::lexer::{self, Cat, Kind, KindSet, LexState, Lexer, NO_KIND, Region};

/// The most frames a walk pushes above its root within one token.
const LOCAL: usize = 24;

/// Past this many tokens a walk's result is kept as a bitset.
const LIST_MAX: usize = 1024;

/// The most memory one memo may take before it starts over.
const MEMO_BYTES: usize = 256 << 20;

/// The walk state besides the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Syn {
    pub lex: LexState,
}

/// Lexemes still to process, front first (a byte emits at most two; `>>` may split into two `>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Queue {
    kinds: [Kind; 4],
    len: u8,
}

impl Queue {
    fn of(emit: [Kind; 2]) -> Queue {
        let mut q = Queue { kinds: [NO_KIND; 4], len: 0 };
        for k in emit {
            if k != NO_KIND {
                q.kinds[q.len as usize] = k;
                q.len += 1;
            }
        }
        q
    }

    fn front(&self) -> Option<Kind> {
        (self.len > 0).then(|| self.kinds[0])
    }

    fn pop(&mut self) {
        self.kinds.copy_within(1..4, 0);
        self.kinds[3] = NO_KIND;
        self.len -= 1;
    }

    /// Replaces the front with two kinds.
    fn split(&mut self, a: Kind, b: Kind) -> bool {
        if self.len as usize >= self.kinds.len() {
            return false;
        }
        self.kinds.copy_within(1..3, 2);
        self.kinds[0] = a;
        self.kinds[1] = b;
        self.len += 1;
        true
    }
}

/// The frames a walk has above the frames it does not know.
#[derive(Clone, Copy)]
struct Local {
    frames: [Frame; LOCAL],
    len: u8,
    syn: Syn,
}

impl Local {
    fn new(frame: Frame, syn: Syn) -> Local {
        let mut frames = [0; LOCAL];
        frames[0] = frame;
        Local { frames, len: 1, syn }
    }

    fn top(&self) -> Option<Frame> {
        (self.len > 0).then(|| self.frames[self.len as usize - 1])
    }
}

/// How processing went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Ok,
    Dead,
    /// The frame under the walk's root is needed.
    Below,
}

/// A walk stopped where it needs the frame below its root: process the queued lexemes there, then decide the
/// node's token and walk its subtree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Susp {
    node: u32,
    syn: Syn,
    queue: Queue,
}

/// The allowed tokens of a walk: a list when few, a bitset when many.
#[derive(Debug)]
enum Toks {
    List(Vec<u32>),
    Bits(TokenMask),
}

impl Toks {
    fn of(tokens: Vec<u32>, vocab: usize) -> Toks {
        if tokens.len() > LIST_MAX {
            let mut bits = TokenMask::new(vocab);
            for t in tokens {
                bits.allow(t);
            }
            Toks::Bits(bits)
        } else {
            Toks::List(tokens)
        }
    }

    fn add_to(&self, mask: &mut TokenMask) {
        match self {
            Toks::List(l) => {
                for &t in l {
                    mask.allow(t);
                }
            }
            Toks::Bits(b) => mask.union_with(b),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Toks::List(l) => l.len() * 4 + 32,
            Toks::Bits(b) => b.as_words().len() * 4,
        }
    }
}

/// A walk's result: the tokens it allows, the tokens it allows if their open lexeme fits below it (grouped by the
/// kinds that lexeme may become), and its suspensions.
#[derive(Debug)]
pub(crate) struct Walk {
    toks: Toks,
    ends: Vec<(KindSet, Vec<u32>)>,
    susps: Vec<Susp>,
}

impl Walk {
    fn bytes(&self) -> usize {
        self.toks.bytes()
            + self.ends.iter().map(|(_, t)| t.len() * 4 + 48).sum::<usize>()
            + self.susps.len() * std::mem::size_of::<Susp>()
            + 64
    }
}

/// Memoized walks of one vocabulary through the syntax automaton (shared by every checker of the vocabulary).
#[derive(Default)]
pub(crate) struct SyntaxMemo {
    roots: HashMap<(Frame, Syn), Arc<Walk>>,
    resumes: HashMap<(Susp, Frame), Arc<Walk>>,
    bytes: usize,
}

impl std::fmt::Debug for SyntaxMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyntaxMemo")
            .field("roots", &self.roots.len())
            .field("resumes", &self.resumes.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// Counters of the walks behind the masks.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WalkStats {
    pub walks: u64,
    pub nodes: u64,
    pub reused: u64,
}

/// The static token classes of a vocabulary for the syntax layer (see the module documentation).
pub(crate) struct SyntaxClasses {
    /// Whitespace only (`[ \t\n]+`).
    ws: TokenMask,
    /// An identifier (`[A-Za-z_][A-Za-z0-9_]*`).
    id: TokenMask,
    /// Whitespace, then an identifier.
    wsid: TokenMask,
    /// Identifier characters (`[A-Za-z0-9_]+`): the continuation of an identifier.
    cont: TokenMask,
    /// The `id` tokens that may still become a kind other than `IDENT` (a keyword's prefix), by kind.
    id_kw: Vec<(Kind, Vec<u32>)>,
    /// The same for `wsid`.
    wsid_kw: Vec<(Kind, Vec<u32>)>,
    /// Unions of the classes a walk skips, by the kind of lexer state it starts in.
    skip_fresh: TokenMask,
    skip_cont: TokenMask,
    skip_ws: TokenMask,
    /// Per trie node: bit `SKIP_FRESH`, `SKIP_CONT`, `SKIP_WS` when its subtree holds a token outside that union.
    other: Vec<u8>,
    /// Per keyword-trie lexer state: the `cont` tokens after which the lexer is still in the keyword trie, with
    /// the state they end in.
    kw_cont: Mutex<KwCont>,
}

/// Per lexer state: the tokens that keep the lexer in the keyword trie, each with the state it ends in.
type KwCont = HashMap<LexState, Arc<Vec<(u32, LexState)>>>;

impl std::fmt::Debug for SyntaxClasses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyntaxClasses")
            .field("id", &self.id.count())
            .field("cont", &self.cont.count())
            .finish_non_exhaustive()
    }
}

const SKIP_FRESH: u8 = 1;
const SKIP_CONT: u8 = 2;
const SKIP_WS: u8 = 4;
/// Set on every node: a walk that skips nothing tests this bit.
const SKIP_NONE: u8 = 0x80;

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n')
}

fn is_id(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl SyntaxClasses {
    pub(crate) fn new(index: &VocabIndex) -> SyntaxClasses {
        let lx = lexer::lexer();
        let vocab = index.vocabulary();
        let n = index.len();
        let (mut ws, mut id, mut wsid, mut cont) =
            (TokenMask::new(n), TokenMask::new(n), TokenMask::new(n), TokenMask::new(n));
        let mut id_kw: HashMap<Kind, Vec<u32>> = HashMap::new();
        let mut wsid_kw: HashMap<Kind, Vec<u32>> = HashMap::new();
        for t in 0..vocab.len() as u32 {
            if vocab.is_special(t) {
                continue;
            }
            let bytes = vocab.token_bytes(t);
            if bytes.is_empty() {
                continue;
            }
            let lead = bytes.iter().take_while(|&&b| is_ws(b)).count();
            let rest = &bytes[lead..];
            if rest.is_empty() {
                ws.allow(t);
                continue;
            }
            if !rest.iter().all(|&b| is_id(b)) {
                continue;
            }
            if lead == 0 {
                cont.allow(t);
            }
            if rest[0].is_ascii_digit() {
                continue;
            }
            // The lexer state at the end of the identifier, from a fresh start.
            let mut state = lx.start;
            for &b in rest {
                state = lx.step(state, b).map_or(lx.start, |s| s.next);
            }
            let (class, by_kw) = if lead == 0 { (&mut id, &mut id_kw) } else { (&mut wsid, &mut wsid_kw) };
            class.allow(t);
            for k in lx.reachable[state as usize].iter() {
                if k != lexer::IDENT {
                    by_kw.entry(k).or_default().push(t);
                }
            }
        }
        let union = |a: &TokenMask, b: &TokenMask, c: &TokenMask| {
            let mut m = a.clone();
            m.union_with(b);
            m.union_with(c);
            m
        };
        let skip_fresh = union(&ws, &id, &wsid);
        let skip_cont = union(&ws, &cont, &wsid);
        let skip_ws = union(&ws, &wsid, &wsid);
        // Per node: whether its subtree (a contiguous range of the depth-first order) holds a token outside each
        // union, from the nearest such token at or after each node.
        let nodes = &index.nodes;
        let mut other = vec![SKIP_NONE; nodes.len()];
        for (bit, skip) in [(SKIP_FRESH, &skip_fresh), (SKIP_CONT, &skip_cont), (SKIP_WS, &skip_ws)] {
            let mut next = vec![u32::MAX; nodes.len() + 1];
            for i in (0..nodes.len()).rev() {
                let t = nodes[i].token;
                next[i] = if t != NO_TOKEN && !skip.is_allowed(t) { i as u32 } else { next[i + 1] };
            }
            for i in 0..nodes.len() {
                if next[i] < nodes[i].end {
                    other[i] |= bit;
                }
            }
        }
        let sorted = |m: HashMap<Kind, Vec<u32>>| {
            let mut v: Vec<(Kind, Vec<u32>)> = m.into_iter().collect();
            v.sort_unstable_by_key(|(k, _)| *k);
            v
        };
        SyntaxClasses {
            ws,
            id,
            wsid,
            cont,
            id_kw: sorted(id_kw),
            wsid_kw: sorted(wsid_kw),
            skip_fresh,
            skip_cont,
            skip_ws,
            other,
            kw_cont: Mutex::new(HashMap::new()),
        }
    }

    /// The `cont` tokens that keep a keyword-trie state in the keyword trie.
    fn kw_cont(&self, index: &VocabIndex, lx: &Lexer, state: LexState) -> Arc<Vec<(u32, LexState)>> {
        if let Some(v) = lock(&self.kw_cont).get(&state) {
            return Arc::clone(v);
        }
        let mut out = Vec::new();
        let nodes = &index.nodes;
        let mut stack: Vec<(u32, LexState)> = index.root_children.iter().map(|&c| (c, state)).collect();
        while let Some((node, before)) = stack.pop() {
            let n = nodes[node as usize];
            if !is_id(n.byte) {
                continue;
            }
            let Some(s) = lx.step(before, n.byte) else { continue };
            if s.next == lx.ident_other || !lx.ident[s.next as usize] {
                continue;
            }
            if n.token != NO_TOKEN {
                out.push((n.token, s.next));
            }
            let mut c = node + 1;
            while c < n.end {
                stack.push((c, s.next));
                c = nodes[c as usize].end;
            }
        }
        let out = Arc::new(out);
        lock(&self.kw_cont).insert(state, Arc::clone(&out));
        out
    }
}

/// What kind of lexer state a walk starts in, which decides the classes it leaves to the mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// Between lexemes (not the body's entry).
    Boundary,
    /// Inside an identifier or keyword.
    Ident,
    /// After punctuation that a letter or whitespace ends.
    Punct,
    /// Inside a number that whitespace ends.
    Number,
    /// Anything else: nothing is skipped.
    Other,
}

fn start_of(lx: &Lexer, lex: LexState) -> Start {
    let l = lex as usize;
    if lex == lx.entry {
        return Start::Other;
    }
    match lx.region[l] {
        Region::Boundary => Start::Boundary,
        Region::Literal => Start::Other,
        Region::Code if lx.ident[l] => Start::Ident,
        Region::Code => match lx.accept[l] {
            NO_KIND => Start::Other,
            k if lexer::cat(k) == Cat::Punct => Start::Punct,
            k if lexer::cat(k) == Cat::Literal => Start::Number,
            _ => Start::Other,
        },
    }
}

/// The syntax automaton over one vocabulary.
pub(crate) struct SyntaxWalker<'a> {
    pub g: &'static Grammar,
    pub lx: &'static Lexer,
    pub index: &'a VocabIndex,
    pub classes: &'a SyntaxClasses,
    /// The frame after the body's closing brace: nothing may follow.
    pub done: Frame,
    /// Per frame: the kinds it takes itself, with `>>` where it takes `>`.
    pub accepts: &'a [KindSet],
}

/// Per-grammar data the walker needs beyond the grammar: the done frame and the extended accept sets.
pub(crate) struct GrammarFacts {
    pub done: Frame,
    pub accepts: Vec<KindSet>,
}

impl GrammarFacts {
    pub(crate) fn new(g: &Grammar) -> GrammarFacts {
        let open = g.edges(g.start).find_map(|(k, _, t)| (k == Some(lexer::LBRACE)).then_some(t));
        // The start rule is `"{" _stmts "}"`: its only frame reached by `}` is the done frame.
        let mut done = g.start;
        let mut seen = vec![false; g.frames()];
        let mut stack: Vec<Frame> = open.into_iter().collect();
        while let Some(f) = stack.pop() {
            if std::mem::replace(&mut seen[f as usize], true) {
                continue;
            }
            for (k, _, t) in g.edges(f) {
                if k == Some(lexer::RBRACE) && g.rule_of(t) == g.rule_of(g.start) && g.is_final(t) {
                    done = t;
                }
                if g.rule_of(t) == g.rule_of(g.start) {
                    stack.push(t);
                }
            }
        }
        let accepts = g
            .accepts
            .iter()
            .map(|a| {
                let mut a = *a;
                if a.contains(lexer::GT) {
                    a.insert(lexer::SHR);
                }
                a
            })
            .collect();
        GrammarFacts { done, accepts }
    }
}

/// Whether a token may end here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Yes,
    No,
    Below(KindSet),
}

#[derive(Default)]
struct Out {
    tokens: Vec<u32>,
    ends: HashMap<KindSet, Vec<u32>>,
    susps: Vec<Susp>,
    nodes: u64,
}

impl Out {
    fn into_walk(self, vocab: usize) -> Walk {
        let mut ends: Vec<(KindSet, Vec<u32>)> = self.ends.into_iter().collect();
        ends.sort_unstable_by_key(|(k, _)| k.0);
        Walk { toks: Toks::of(self.tokens, vocab), ends, susps: self.susps }
    }
}

impl SyntaxWalker<'_> {
    /// Processes queued lexemes on a local stack.
    fn run(&self, loc: &mut Local, q: &mut Queue) -> Flow {
        while let Some(kind) = q.front() {
            loop {
                let Some(top) = loc.top() else { return Flow::Below };
                if top == self.done {
                    return Flow::Dead;
                }
                match self.g.action(top, kind) {
                    Action::Shift { chain, len, .. } => {
                        let frames = self.g.chain(chain, len);
                        let at = loc.len as usize - 1;
                        if at + frames.len() > LOCAL {
                            return Flow::Dead;
                        }
                        loc.frames[at..at + frames.len()].copy_from_slice(frames);
                        loc.len = (at + frames.len()) as u8;
                        q.pop();
                        break;
                    }
                    Action::Pop => {
                        loc.len -= 1;
                        if loc.len == 0 {
                            return Flow::Below;
                        }
                    }
                    Action::Error => {
                        // `>>` closing two generic argument lists.
                        if kind == lexer::SHR
                            && !matches!(self.g.action(top, lexer::GT), Action::Error)
                            && q.split(lexer::GT, lexer::GT)
                        {
                            break;
                        }
                        return Flow::Dead;
                    }
                }
            }
        }
        Flow::Ok
    }

    /// Advances a local stack over one byte.
    #[inline]
    fn step(&self, loc: &mut Local, byte: u8) -> Result<(), Option<Queue>> {
        if loc.top() == Some(self.done) {
            return Err(None);
        }
        let s = self.lx.step(loc.syn.lex, byte).ok_or(None)?;
        loc.syn.lex = s.next;
        if s.emit[0] == NO_KIND {
            return Ok(());
        }
        let mut q = Queue::of(s.emit);
        match self.run(loc, &mut q) {
            Flow::Ok => Ok(()),
            Flow::Dead => Err(None),
            Flow::Below => Err(Some(q)),
        }
    }

    /// Whether a token may end here: the open lexeme (if any) can still become a kind the parser takes.
    fn end_check(&self, loc: &Local) -> End {
        let lex = loc.syn.lex as usize;
        if self.lx.region[lex] == Region::Boundary {
            return End::Yes;
        }
        let want = self.lx.reachable[lex];
        match self.kinds_fit(&loc.frames[..loc.len as usize], want) {
            End::No if self.lx.int_dot[lex] != NO_KIND => self.int_dot_fits(loc),
            e => e,
        }
    }

    /// Whether one of `want` can be taken by the frames (top last), or needs the frames below them.
    fn kinds_fit(&self, frames: &[Frame], mut want: KindSet) -> End {
        // Whitespace and comments fit anywhere.
        if want.contains(lexer::COMMENT) || want.contains(lexer::WS) {
            return End::Yes;
        }
        for &f in frames.iter().rev() {
            if want.intersects(&self.accepts[f as usize]) {
                return End::Yes;
            }
            if !self.g.is_final(f) || f == self.done {
                return End::No;
            }
            want = want.minus(self.g.blocked(f));
            if want.is_empty() {
                return End::No;
            }
        }
        End::Below(want)
    }

    /// Whether one of `want` fits a whole stack.
    fn fits(&self, stack: &[Frame], want: KindSet) -> bool {
        self.kinds_fit(stack, want) == End::Yes
    }

    /// `1.` at a token's end: a float, or the integer followed by `.`, `..` or `..=` (decided locally only).
    fn int_dot_fits(&self, loc: &Local) -> End {
        let int = self.lx.int_dot[loc.syn.lex as usize];
        let mut l = *loc;
        let mut q = Queue::of([int, NO_KIND]);
        if self.run(&mut l, &mut q) != Flow::Ok {
            return End::No;
        }
        let mut after = KindSet::default();
        for t in [lexer::DOT, lexer::DOTDOT, lexer::DOTDOTEQ] {
            after.insert(t);
        }
        match self.kinds_fit(&l.frames[..l.len as usize], after) {
            End::Yes => End::Yes,
            _ => End::No,
        }
    }

    fn visit(&self, node: u32, loc: &Local, skip: u8, skip_set: Option<&TokenMask>, out: &mut Out) {
        if self.classes.other[node as usize] & skip == 0 {
            return;
        }
        out.nodes += 1;
        let n = self.index.nodes[node as usize];
        let mut l = *loc;
        match self.step(&mut l, n.byte) {
            Ok(()) => self.after_byte(node, &l, skip, skip_set, out),
            Err(None) => {}
            Err(Some(queue)) => out.susps.push(Susp { node, syn: l.syn, queue }),
        }
    }

    fn after_byte(&self, node: u32, l: &Local, skip: u8, skip_set: Option<&TokenMask>, out: &mut Out) {
        let nodes = &self.index.nodes;
        let n = nodes[node as usize];
        if n.token != NO_TOKEN && !skip_set.is_some_and(|s| s.is_allowed(n.token)) {
            match self.end_check(l) {
                End::Yes => out.tokens.push(n.token),
                End::No => {}
                End::Below(k) => out.ends.entry(k).or_default().push(n.token),
            }
        }
        let mut c = node + 1;
        while c < n.end {
            self.visit(c, l, skip, skip_set, out);
            c = nodes[c as usize].end;
        }
    }

    /// The walk of the whole trie from a top frame, skipping the static classes of the start state.
    fn root_walk(&self, frame: Frame, syn: Syn) -> (Walk, u64) {
        let mut out = Out::default();
        let loc = Local::new(frame, syn);
        let (skip, set) = match start_of(self.lx, syn.lex) {
            Start::Boundary | Start::Punct => (SKIP_FRESH, Some(&self.classes.skip_fresh)),
            Start::Ident => (SKIP_CONT, Some(&self.classes.skip_cont)),
            Start::Number => (SKIP_WS, Some(&self.classes.skip_ws)),
            Start::Other => (SKIP_NONE, None),
        };
        for &c in &self.index.root_children {
            self.visit(c, &loc, skip, set, &mut out);
        }
        let nodes = out.nodes;
        (out.into_walk(self.index.len()), nodes)
    }

    /// A suspension resumed in the frame below.
    fn resume_walk(&self, s: Susp, frame: Frame) -> (Walk, u64) {
        let mut out = Out::default();
        let mut l = Local::new(frame, s.syn);
        let mut q = s.queue;
        match self.run(&mut l, &mut q) {
            Flow::Ok => self.after_byte(s.node, &l, SKIP_NONE, None, &mut out),
            Flow::Dead => {}
            Flow::Below => out.susps.push(Susp { node: s.node, syn: l.syn, queue: q }),
        }
        let nodes = out.nodes;
        (out.into_walk(self.index.len()), nodes)
    }

    /// The tokens the syntax allows from a configuration (lexer state and stack).
    pub(crate) fn mask(
        &self,
        memo: &Mutex<SyntaxMemo>,
        lex: LexState,
        stack: &[Frame],
        stats: &mut WalkStats,
    ) -> TokenMask {
        let mut mask = TokenMask::new(self.index.len());
        let Some((&top, below)) = stack.split_last() else { return mask };
        let root = self.root(memo, top, Syn { lex }, stats);
        self.resolve(memo, &root, below, &mut mask, stats);
        self.add_classes(lex, stack, &mut mask);
        for &(kept, duplicate) in &self.index.duplicates {
            if mask.is_allowed(kept) {
                mask.allow(duplicate);
            }
        }
        mask
    }

    /// The static classes' tokens that fit a configuration.
    fn add_classes(&self, lex: LexState, stack: &[Frame], mask: &mut TokenMask) {
        let c = self.classes;
        if stack.last() == Some(&self.done) {
            return;
        }
        let ident = {
            let mut k = KindSet::default();
            k.insert(lexer::IDENT);
            k
        };
        let fresh = |stack: &[Frame], all: &TokenMask, by_kw: &[(Kind, Vec<u32>)], mask: &mut TokenMask| {
            if self.fits(stack, ident) {
                mask.union_with(all);
            } else {
                for (k, toks) in by_kw {
                    let mut want = KindSet::default();
                    want.insert(*k);
                    if self.fits(stack, want) {
                        for &t in toks {
                            mask.allow(t);
                        }
                    }
                }
            }
        };
        // The lexeme open before the token, emitted by the token's first letter or whitespace.
        let after_pending = |stack: &[Frame]| -> Option<Vec<Frame>> {
            let pending = self.lx.accept[lex as usize];
            if pending == NO_KIND {
                return None;
            }
            let mut st = stack.to_vec();
            crate::syntax::process(self.g, &mut st, pending).ok().map(|_| st)
        };
        match start_of(self.lx, lex) {
            Start::Boundary => {
                mask.union_with(&c.ws);
                fresh(stack, &c.id, &c.id_kw, mask);
                fresh(stack, &c.wsid, &c.wsid_kw, mask);
            }
            Start::Ident => {
                if self.fits(stack, ident) {
                    mask.union_with(&c.cont);
                } else {
                    for &(t, state) in self.classes.kw_cont(self.index, self.lx, lex).iter() {
                        if self.fits(stack, self.lx.reachable[state as usize]) {
                            mask.allow(t);
                        }
                    }
                }
                if let Some(st) = after_pending(stack) {
                    mask.union_with(&c.ws);
                    fresh(&st, &c.wsid, &c.wsid_kw, mask);
                }
            }
            Start::Punct => {
                if let Some(st) = after_pending(stack) {
                    mask.union_with(&c.ws);
                    fresh(&st, &c.id, &c.id_kw, mask);
                    fresh(&st, &c.wsid, &c.wsid_kw, mask);
                }
            }
            Start::Number => {
                if let Some(st) = after_pending(stack) {
                    mask.union_with(&c.ws);
                    fresh(&st, &c.wsid, &c.wsid_kw, mask);
                }
            }
            Start::Other => {}
        }
    }

    fn root(&self, memo: &Mutex<SyntaxMemo>, frame: Frame, syn: Syn, stats: &mut WalkStats) -> Arc<Walk> {
        memoized(memo, |m| &mut m.roots, (frame, syn), stats, || self.root_walk(frame, syn))
    }

    fn resumed(&self, memo: &Mutex<SyntaxMemo>, s: Susp, frame: Frame, stats: &mut WalkStats) -> Arc<Walk> {
        memoized(memo, |m| &mut m.resumes, (s, frame), stats, || self.resume_walk(s, frame))
    }

    fn resolve(
        &self,
        memo: &Mutex<SyntaxMemo>,
        walk: &Walk,
        below: &[Frame],
        mask: &mut TokenMask,
        stats: &mut WalkStats,
    ) {
        walk.toks.add_to(mask);
        for (want, toks) in &walk.ends {
            if self.fits(below, *want) {
                for &t in toks {
                    mask.allow(t);
                }
            }
        }
        // Below the outermost frame nothing may follow the body.
        let Some((&frame, rest)) = below.split_last() else { return };
        for &s in &walk.susps {
            let r = self.resumed(memo, s, frame, stats);
            self.resolve(memo, &r, rest, mask, stats);
        }
    }
}

/// A walk from one of the memo's tables, computed and recorded on a miss (the whole memo starts over past
/// [`MEMO_BYTES`]).
fn memoized<K: std::hash::Hash + Eq>(
    memo: &Mutex<SyntaxMemo>,
    table: impl Fn(&mut SyntaxMemo) -> &mut HashMap<K, Arc<Walk>>,
    key: K,
    stats: &mut WalkStats,
    compute: impl FnOnce() -> (Walk, u64),
) -> Arc<Walk> {
    if let Some(w) = table(&mut lock(memo)).get(&key) {
        stats.reused += 1;
        return Arc::clone(w);
    }
    let (walk, nodes) = compute();
    stats.walks += 1;
    stats.nodes += nodes;
    let walk = Arc::new(walk);
    let mut m = lock(memo);
    m.bytes += walk.bytes();
    if m.bytes > MEMO_BYTES {
        *m = SyntaxMemo::default();
    }
    table(&mut m).insert(key, Arc::clone(&walk));
    walk
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The ban tracker's masks: per (lexer region class, ban state), the tokens whose code bytes complete no ban.
/// Walked by first byte with the subtrees memoized, since states mostly meet again after one byte.
#[derive(Default)]
pub(crate) struct BanWalks {
    masks: HashMap<(u16, u16), Arc<TokenMask>>,
    subtrees: HashMap<(u32, u16, u16), Arc<Toks>>,
    bytes: usize,
}

impl std::fmt::Debug for BanWalks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BanWalks").field("masks", &self.masks.len()).finish_non_exhaustive()
    }
}

/// One step of the ban tracker beside the lexer (a lexer region class): `None` when the byte completes a ban or
/// the lexer refuses it.
#[inline]
fn class_step(lx: &Lexer, bans: &BanTracker, class: u16, ban: u16, byte: u8) -> Option<(u16, u16)> {
    let next = lx.class_trans[class as usize * 256 + byte as usize];
    if next == lexer::DEAD {
        return None;
    }
    let was_literal = lx.class_region[class as usize] == Region::Literal;
    if lx.class_region[next as usize] == Region::Literal {
        if was_literal {
            return Some((next, ban));
        }
        // A literal or comment ends the code run: the run may not end in a banned way.
        return bans.accept[ban as usize].then_some((next, 0));
    }
    let from = if was_literal { 0 } else { ban };
    Some((next, bans.next(from, byte)?))
}

/// One step of the ban tracker beside the lexer (a lexer state).
#[inline]
pub(crate) fn ban_step(lx: &Lexer, bans: &BanTracker, lex: LexState, ban: u16, byte: u8) -> Option<(LexState, u16)> {
    let s = lx.step(lex, byte)?;
    class_step(lx, bans, lx.region_class[lex as usize], ban, byte).map(|(_, b)| (s.next, b))
}

impl BanWalks {
    pub(crate) fn mask(
        &mut self,
        lx: &Lexer,
        bans: &BanTracker,
        index: &VocabIndex,
        lex: LexState,
        ban: u16,
        stats: &mut WalkStats,
    ) -> Arc<TokenMask> {
        let class = lx.region_class[lex as usize];
        if let Some(m) = self.masks.get(&(class, ban)) {
            stats.reused += 1;
            return Arc::clone(m);
        }
        let mut mask = TokenMask::new(index.len());
        for &child in &index.root_children {
            let n = index.nodes[child as usize];
            let Some((c2, b2)) = class_step(lx, bans, class, ban, n.byte) else { continue };
            let key = (child, c2, b2);
            let sub = if let Some(s) = self.subtrees.get(&key) {
                stats.reused += 1;
                Arc::clone(s)
            } else {
                let mut out = Vec::new();
                let visited = ban_subtree(lx, bans, index, child, c2, b2, &mut out);
                stats.walks += 1;
                stats.nodes += visited;
                let toks = Arc::new(Toks::of(out, index.len()));
                self.bytes += toks.bytes();
                self.subtrees.insert(key, Arc::clone(&toks));
                toks
            };
            sub.add_to(&mut mask);
        }
        for &(kept, duplicate) in &index.duplicates {
            if mask.is_allowed(kept) {
                mask.allow(duplicate);
            }
        }
        let mask = Arc::new(mask);
        self.bytes += mask.as_words().len() * 4;
        if self.bytes > MEMO_BYTES {
            *self = BanWalks::default();
        }
        self.masks.insert((class, ban), Arc::clone(&mask));
        mask
    }
}

/// The tokens of a subtree (its root's byte already taken) that complete no ban.
fn ban_subtree(
    lx: &Lexer,
    bans: &BanTracker,
    index: &VocabIndex,
    root: u32,
    class: u16,
    ban: u16,
    out: &mut Vec<u32>,
) -> u64 {
    let nodes = &index.nodes;
    let top = nodes[root as usize];
    if top.token != NO_TOKEN {
        out.push(top.token);
    }
    let max = index.max_token_len + 1;
    let mut states = vec![(0u16, 0u16); max];
    states[top.level as usize] = (class, ban);
    let mut visited = 1u64;
    let mut i = root as usize + 1;
    while i < top.end as usize {
        let n = nodes[i];
        visited += 1;
        let (c, b) = states[n.level as usize - 1];
        let Some(next) = class_step(lx, bans, c, b, n.byte) else {
            i = n.end as usize;
            continue;
        };
        states[n.level as usize] = next;
        if n.token != NO_TOKEN {
            out.push(n.token);
        }
        i += 1;
    }
    visited
}

// ---------------------------------------------------------------------------------------------------------------
// The engine of a checker: positions, commits and masks.

use ananke_core::ConstraintId;

use super::{CheckError, CheckerStats, Violation};
use crate::ir::ForbiddenString;

/// The grammar facts, once per process.
pub(crate) fn facts() -> &'static GrammarFacts {
    static F: std::sync::OnceLock<GrammarFacts> = std::sync::OnceLock::new();
    F.get_or_init(|| GrammarFacts::new(crate::syntax::rust::grammar()))
}

/// What a syntax checker is compiled to: shared by its clones.
pub(crate) struct SyntaxShared {
    pub index: Arc<VocabIndex>,
    pub header: Vec<u8>,
    pub header_sources: Vec<ConstraintId>,
    pub bans: Option<BanTracker>,
    pub forbidden: Vec<ForbiddenString>,
    ban_regexes: std::sync::OnceLock<Vec<Option<regex::Regex>>>,
    ban_walks: Mutex<BanWalks>,
    /// Whole masks by position (stack, lexer state, ban state): a warm walk is lookups.
    finals: Mutex<(HashMap<u64, Arc<TokenMask>>, usize)>,
    header_masks: Mutex<HashMap<u32, Arc<TokenMask>>>,
}

/// A position in the output.
#[derive(Clone, Debug)]
pub(crate) struct Pos {
    /// Header bytes consumed (the body starts once all are).
    header: u32,
    lex: LexState,
    stack: Vec<Frame>,
    ban: u16,
    text_len: usize,
    /// Where the current code run started (for explanations).
    run_start: usize,
    /// Tokens committed (for the budget).
    pub tokens: u32,
}

impl Pos {
    /// Becomes a copy of `p`, reusing this position's stack allocation.
    fn reset_from(&mut self, p: &Pos) {
        self.header = p.header;
        self.lex = p.lex;
        self.stack.clear();
        self.stack.extend_from_slice(&p.stack);
        self.ban = p.ban;
        self.text_len = p.text_len;
        self.run_start = p.run_start;
        self.tokens = p.tokens;
    }
}

/// Why bytes cannot follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fail {
    Header,
    Ban,
    Lexer,
    Parser(Kind),
    Done,
    /// The bytes go through but leave a lexeme no continuation can complete.
    Unfinished,
}

/// The token-level engine for a Rust fn body with the syntax layer.
#[derive(Clone)]
pub(crate) struct SyntaxEngine {
    pub shared: Arc<SyntaxShared>,
    pub now: Pos,
    history: Vec<Pos>,
    pub text: Vec<u8>,
    pub mask: Arc<TokenMask>,
    pub stats: CheckerStats,
    /// The most tokens the output may take (header included), if bounded: see [`SyntaxEngine::set_budget`].
    budget: Option<u32>,
    /// The identifier layer, when on.
    idl: Option<Arc<IdLayer>>,
    /// Starts the next token that is not whitespace may not make (see [`SyntaxEngine::avoid_next`]).
    avoid: Option<Vec<Vec<u8>>>,
    /// Names the compiler did not find in earlier drafts (see [`SyntaxEngine::refuse_names`]).
    refused: Arc<Vec<String>>,
    /// Names bound in the body so far, with the output length where each was bound (for rollbacks).
    locals: Vec<(usize, String)>,
    /// The type of `self` (an impl's self type), when known.
    pub self_type: Option<String>,
}

/// The identifier layer of one checker: the known names and what the signature binds.
pub(crate) struct IdLayer {
    ids: Arc<Identifiers>,
    /// The parameters and their written types (`self` → the impl's type when known).
    params: Vec<(String, String)>,
    /// Every identifier of the header (parameters, generics, types; the function's name unless it is a method).
    header_names: std::collections::BTreeSet<String>,
    /// The header's generic type parameters (not lifetimes or const generics).
    generics: Vec<String>,
    /// Whether the function returns a value (a return type other than `()` and `!`).
    returns_value: bool,
    /// Whether it returns `()` (no return type, or `()`): the blocks that end it have no value.
    returns_unit: bool,
    /// A method's own name: `self.name(..)` in its body calls it again on the same value, endlessly.
    own_method: Option<String>,
    /// The function's own name when it takes no parameters: a call of itself (`Self::new()` in `new`) recurses
    /// with nothing changed, endlessly.
    own_nullary: Option<String>,
    /// The function's own name and its parameters (`self` included), in order: a call of itself that passes them
    /// on unchanged (`percent_encode(input, ascii_set)` in `percent_encode`, `Trait::name(self)` in `name`)
    /// recurses endlessly too.
    own_call: Option<(String, Vec<String>)>,
    /// Which constructors may start the function's value, when its return type tells (see [`super::tail`]).
    shape: Option<super::tail::Shape>,
}

/// Within this many bytes of the budget's end, every allowed token is checked against the budget. Further away a
/// token is allowed unchecked: one token would have to add more than this to the completion's bound (a keyword
/// adds at most ~9: `for` needs ` x in x{}`; nesting one per byte), and if one ever did, the fallback below still
/// closes the body by the shortest route. Checking every token costs ~1–2 ms per mask on a 49k vocabulary, so the
/// window is what keeps the budget's cost to the last ~10 tokens of a generation that runs out.
const BUDGET_WINDOW: u32 = 32;

impl SyntaxEngine {
    pub(crate) fn new(
        header: &[u8],
        forbidden: &[ForbiddenString],
        header_sources: Vec<ConstraintId>,
        index: &Arc<VocabIndex>,
    ) -> Result<SyntaxEngine, CheckError> {
        let (g, lx) = (crate::syntax::rust::grammar(), lexer::lexer());
        let bans = BanTracker::new(forbidden)?;
        let shared = Arc::new(SyntaxShared {
            index: Arc::clone(index),
            header: header.to_vec(),
            header_sources,
            bans,
            forbidden: forbidden.to_vec(),
            ban_regexes: std::sync::OnceLock::new(),
            ban_walks: Mutex::new(BanWalks::default()),
            finals: Mutex::new((HashMap::new(), 0)),
            header_masks: Mutex::new(HashMap::new()),
        });
        let now = Pos { header: 0, lex: lx.entry, stack: vec![g.start], ban: 0, text_len: 0, run_start: 0, tokens: 0 };
        let mut engine = SyntaxEngine {
            shared,
            now,
            history: Vec::new(),
            text: Vec::new(),
            mask: Arc::new(TokenMask::new(index.len())),
            stats: CheckerStats::default(),
            budget: None,
            idl: None,
            avoid: None,
            refused: Arc::new(Vec::new()),
            locals: Vec::new(),
            self_type: None,
        };
        // The body's first masks (the opening brace, then everything a body may start with) are the largest walks
        // of a generation and always needed: compute them while compiling.
        let mut first = engine.now.clone();
        first.header = header.len() as u32;
        if engine.advance(&mut first, b"{").is_ok() {
            let _ = engine.body_mask(&first);
        }
        engine.stats = CheckerStats::default();
        Ok(engine)
    }

    fn walker(&self) -> SyntaxWalker<'_> {
        let f = facts();
        let index = &self.shared.index;
        SyntaxWalker {
            g: crate::syntax::rust::grammar(),
            lx: lexer::lexer(),
            index,
            classes: index.syntax_classes.get_or_init(|| SyntaxClasses::new(index)),
            done: f.done,
            accepts: &f.accepts,
        }
    }

    fn in_header(&self, p: &Pos) -> bool {
        (p.header as usize) < self.shared.header.len()
    }

    /// Whether the body is complete at a position.
    pub(crate) fn done(&self, p: &Pos) -> bool {
        !self.in_header(p) && p.lex == lexer::lexer().start && p.stack.as_slice() == [facts().done]
    }

    pub(crate) fn accepting(&self) -> bool {
        let p = &self.now;
        self.done(p) && self.shared.bans.as_ref().is_none_or(|b| b.accept[p.ban as usize])
    }

    /// Advances a position over bytes.
    fn advance(&self, p: &mut Pos, bytes: &[u8]) -> Result<(), (usize, Fail)> {
        self.advance_with(p, bytes, &mut |_, _| {})
    }

    /// [`Self::advance`], telling `on_ident` the role of every identifier lexeme that ends, with the offset in
    /// `bytes` of the byte that ended it.
    fn advance_with(
        &self,
        p: &mut Pos,
        bytes: &[u8],
        on_ident: &mut dyn FnMut(Role, usize),
    ) -> Result<(), (usize, Fail)> {
        let (g, lx) = (crate::syntax::rust::grammar(), lexer::lexer());
        let header = &self.shared.header;
        for (i, &byte) in bytes.iter().enumerate() {
            if (p.header as usize) < header.len() {
                if header[p.header as usize] != byte {
                    return Err((i, Fail::Header));
                }
                p.header += 1;
                continue;
            }
            if self.done(p) {
                return Err((i, Fail::Done));
            }
            if let Some(bans) = &self.shared.bans {
                let Some((_, ban)) = ban_step(lx, bans, p.lex, p.ban, byte) else {
                    return Err((i, if lx.step(p.lex, byte).is_none() { Fail::Lexer } else { Fail::Ban }));
                };
                p.ban = ban;
            }
            let s = lx.step(p.lex, byte).ok_or((i, Fail::Lexer))?;
            for kind in s.emit {
                if kind != NO_KIND {
                    let role = crate::syntax::process(g, &mut p.stack, kind).map_err(|_| (i, Fail::Parser(kind)))?;
                    // A soft keyword (`todo`, `vec`) is a name outside its macro call: checked like one.
                    if kind == lexer::IDENT || lexer::cat(kind) == Cat::Soft {
                        on_ident(role, i);
                    }
                }
            }
            let entering_code =
                lx.region[p.lex as usize] == Region::Literal && lx.region[s.next as usize] != Region::Literal;
            if entering_code || p.text_len + i == 0 {
                p.run_start = p.text_len + i;
            }
            p.lex = s.next;
        }
        if !self.in_header(p) && !self.end_ok(p) {
            return Err((bytes.len(), Fail::Unfinished));
        }
        Ok(())
    }

    /// Whether the open lexeme at a position can still be completed.
    fn end_ok(&self, p: &Pos) -> bool {
        let w = self.walker();
        let lex = p.lex as usize;
        if w.lx.region[lex] == Region::Boundary {
            return true;
        }
        if matches!(w.kinds_fit(&p.stack, w.lx.reachable[lex]), End::Yes) {
            return true;
        }
        let int = w.lx.int_dot[lex];
        int != NO_KIND && {
            let mut stack = p.stack.clone();
            crate::syntax::process(w.g, &mut stack, int).is_ok()
                && [lexer::DOTDOT, lexer::DOTDOTEQ, lexer::DOT]
                    .iter()
                    .any(|&t| crate::syntax::process(w.g, &mut stack.clone(), t).is_ok())
        }
    }

    /// The mask at the current position.
    pub(crate) fn compute(&mut self) {
        let p = self.now.clone();
        self.mask = if self.in_header(&p) { self.header_mask(&p) } else { self.body_mask(&p) };
        if let Some(budget) = self.budget
            && !self.in_header(&p)
            && !self.done(&p)
        {
            let left = budget.saturating_sub(p.tokens);
            if self.remaining(&p).saturating_add(BUDGET_WINDOW) >= left {
                self.mask = Arc::new(self.budget_mask(&p, left));
            }
        }
    }

    /// Bounds the output to `max_tokens` tokens, header included (`None`: unbounded). Within reach of the bound,
    /// a token is allowed only when the body can still be completed in the tokens left after it: the completion's
    /// bytes, each a token of its own, at most [`crate::syntax::remaining`] of them.
    pub(crate) fn set_budget(&mut self, max_tokens: Option<u32>) {
        self.budget = max_tokens;
    }

    /// Refuses `names` wherever the body uses one that it has not bound (a call, a method, a field, a type, a path,
    /// a value), for the rest of the generation.
    pub(crate) fn refuse_names(&mut self, names: Vec<String>) {
        self.refused = Arc::new(names);
    }

    /// The next token that is not whitespace may not spell the start of one of `words` nor begin with one
    /// (checked by [`SyntaxEngine::vet`]); cleared once such a token is committed.
    pub(crate) fn avoid_next(&mut self, words: Vec<Vec<u8>>) {
        self.avoid = (!words.is_empty()).then_some(words);
    }

    /// Whether the identifier layer is on.
    pub(crate) fn has_identifiers(&self) -> bool {
        self.idl.is_some()
    }

    /// Turns the identifier layer on with these names (see [`crate::Identifiers`]).
    pub(crate) fn set_identifiers(&mut self, ids: Arc<Identifiers>) {
        let header = String::from_utf8_lossy(&self.shared.header).into_owned();
        let mut params = crate::identifiers::header_bindings(&header);
        for (name, ty) in &mut params {
            if name == "self"
                && let Some(st) = &self.self_type
            {
                ty.clone_from(st);
            }
        }
        let mut header_names: std::collections::BTreeSet<String> =
            crate::identifiers::words(&header).map(str::to_owned).collect();
        // A method's (or associated function's) own name is no value in its body: `Self::name` or `x.name` reach
        // it, which the set's names cover; a free function may call itself by name.
        let in_impl = self.self_type.is_some() || params.iter().any(|(n, _)| n == "self");
        let own_method = in_impl.then(|| crate::identifiers::fn_name(&header)).flatten().map(str::to_owned);
        if let Some(name) = &own_method {
            header_names.remove(name.as_str());
        }
        let generics = crate::identifiers::header_generics(&header);
        let returns_value = crate::identifiers::returns_value(&header);
        let returns_unit = matches!(crate::identifiers::return_type(&header), Some("" | "()"));
        let name = crate::identifiers::fn_name(&header).map(str::to_owned);
        let own_nullary = name.clone().filter(|_| params.is_empty());
        let own_call =
            name.filter(|_| !params.is_empty()).map(|n| (n, params.iter().map(|(p, _)| p.clone()).collect()));
        let shape = super::tail::shape_with(&header, self.self_type.as_deref(), |t| ids.is_nominal(t));
        self.idl = Some(Arc::new(IdLayer {
            ids,
            params,
            header_names,
            generics,
            returns_value,
            returns_unit,
            own_method,
            own_nullary,
            own_call,
            shape,
        }));
    }

    /// The body written so far (from its opening `{` on, the header left out) with `bytes` after it.
    fn body_with(&self, bytes: &[u8]) -> Vec<u8> {
        let mut body = self.text[self.shared.header.len().min(self.text.len())..].to_vec();
        body.extend_from_slice(bytes);
        body
    }

    /// Whether bytes name only identifiers that exist (the identifier layer; `None` when they do, or when the layer
    /// is off or the bytes are refused by the syntax anyway): the reason otherwise.
    pub(crate) fn vet(&self, bytes: &[u8]) -> Option<String> {
        let start = bytes.trim_ascii_start();
        if !start.is_empty()
            && let Some(word) =
                self.avoid.iter().flatten().find(|w| w.starts_with(start) || start.starts_with(w.as_slice()))
        {
            return Some(format!(
                "an earlier draft wrote `{}` here, and it did not compile",
                String::from_utf8_lossy(word)
            ));
        }
        // The mask takes a `>>` wherever one `>` may close generic arguments, without asking whether a second may
        // follow (`Clone::of<Clone::x::<T, T>>` in an expression: the second `>` would chain comparisons). Ending
        // the lexeme on a copy tells exactly, before the draft runs into a state that allows no token.
        let shr_at_end = ends_in_shr(&self.text, bytes);
        if shr_at_end || writes_shr(&self.text, bytes) {
            let mut p = self.now.clone();
            let taken = self.advance_with(&mut p, bytes, &mut |_, _| {}).is_ok();
            if !taken
                || shr_at_end
                    && [b" ".as_slice(), b"= "]
                        .iter()
                        .all(|next| self.advance_with(&mut p.clone(), next, &mut |_, _| {}).is_err())
            {
                return Some("`>>` cannot close two generic argument lists here".to_owned());
            }
        }
        let idl = self.idl.as_ref()?;
        if self.in_header(&self.now) {
            return None;
        }
        let mut p = self.now.clone();
        let mut found: Vec<(Role, usize)> = Vec::new();
        self.advance_with(&mut p, bytes, &mut |role, i| found.push((role, i))).ok()?;
        let base = self.text.len();
        let start = base.saturating_sub(256);
        let mut joined = self.text[start..].to_vec();
        joined.extend_from_slice(bytes);
        // A member that ended before whitespace (`self.next_os\n +`) is judged by what follows it now.
        let written = self.text.trim_ascii_end();
        if written.len() < self.text.len() && !bytes.trim_ascii_start().is_empty() {
            let name = trailing_ident(written);
            let before = &written[..written.len() - name.len()];
            let line = &before[before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)..];
            if !name.is_empty()
                && before.ends_with(b".")
                && !before.ends_with(b"..")
                && !line.windows(2).any(|w| w == b"//")
                && let Some(why) = self.wrong_member_use(idl, before, name, bytes)
            {
                return Some(why);
            }
            // So is a std macro's name that ended before whitespace (`return todo\n}`): only `!` may follow it.
            if !name.is_empty()
                && !before.ends_with(b".")
                && !before.ends_with(b":")
                && !bytes.trim_ascii_start().starts_with(b"!")
                && !line.windows(2).any(|w| w == b"//")
                && idl.ids.is_macro_only(name)
                && !self.locals.iter().any(|(_, l)| l == name)
                && !idl.params.iter().any(|(n, _)| n == name)
            {
                return Some(format!("`{name}` is a macro: call it with `!`"));
            }
        }
        let mut fresh: Vec<&str> = Vec::new();
        let in_scope = self.in_scope();
        for (role, i) in found {
            let end = base - start + i;
            let name = trailing_ident(&joined[..end]);
            if name.is_empty() {
                continue;
            }
            if role == Role::Free {
                fresh.push(name);
                continue;
            }
            if role == Role::Token {
                continue;
            }
            let before = &joined[..end - name.len()];
            if !self.known(idl, role, before, name, &fresh, &in_scope, false) {
                return Some(format!("`{name}` is not a known {}", role_name(role)));
            }
            if self.refused.iter().any(|r| r == name)
                && !fresh.contains(&name)
                && !in_scope.contains(&name)
                && !idl.params.iter().any(|(n, _)| n == name)
            {
                return Some(format!("`{name}`: the compiler did not find it in an earlier draft"));
            }
            if let Some(why) = self.needs_import(idl, role, before, name, &joined[end..], &fresh, false) {
                return Some(format!("`{name}` is not in scope: {why}"));
            }
            if role == Role::Value
                && let Some(why) = self.not_a_value(idl, name, &joined[end..], &fresh)
            {
                return Some(why);
            }
            if role == Role::Path
                && let Some(why) = function_as_path(before, name, &joined[end..])
            {
                return Some(why);
            }
            if role == Role::Member
                && let Some(why) = self.wrong_member_use(idl, before, name, &joined[end..])
            {
                return Some(why);
            }
        }
        if let Some(name) = primitive_member(&joined, joined.len() - bytes.len()) {
            return Some(format!("`{name}` is a primitive type, no type's member"));
        }
        if bytes.contains(&b'\n')
            && let Some(why) = repeated_line(&joined, joined.len() - bytes.len())
        {
            return Some(why);
        }
        if !idl.params.iter().any(|(n, _)| n == "self") && self_value(&joined, joined.len() - bytes.len()) {
            return Some("this function has no `self` parameter".to_owned());
        }
        if bytes.contains(&b')')
            && let Some(why) = self.wrong_arity(idl, &joined, joined.len() - bytes.len(), &fresh)
        {
            return Some(why);
        }
        let from = joined.len() - bytes.len();
        if let Some(k) = (from.saturating_sub(1)..joined.len().saturating_sub(1))
            .find(|&k| joined[k..].starts_with(b"::") && path_after_function(&joined[..k], &joined[k + 2..]))
        {
            let name =
                String::from_utf8_lossy(&joined[..k]).rsplit(|c: char| c.is_whitespace()).next().map(str::to_owned);
            return Some(format!("`{}` is a function or constant: no path goes on from it", name.unwrap_or_default()));
        }
        if let Some(why) = self.too_many_args(idl, &joined, joined.len() - bytes.len(), &fresh) {
            return Some(why);
        }
        if let Some(why) = self.wrong_borrow_written(idl, &joined, joined.len() - bytes.len(), &fresh) {
            return Some(why);
        }
        if let Some(why) = self.wrong_value_start(idl, &joined, start, bytes, &fresh) {
            return Some(why);
        }
        // The body text the checks below judge, built at most once per vetted token.
        let body_text = std::cell::OnceCell::new();
        let body = || body_text.get_or_init(|| self.body_with(bytes)).as_slice();
        let base = self.text.len().saturating_sub(self.shared.header.len());
        if bytes.contains(&b'/') || bytes.contains(&b'}') {
            let body = body();
            // A comment that starts within the new bytes (its first `/` may end the text before them).
            let comment_starts = (base.saturating_sub(1)..body.len().saturating_sub(1)).filter(|&k| {
                body[k] == b'/'
                    && matches!(body[k + 1], b'/' | b'*')
                    && k + 1 >= base
                    && (k == 0 || body[k - 1] != b'/')
            });
            for k in comment_starts {
                if let Some(why) = super::tail::misplaced_comment(&body[..k]).or_else(|| comment_run(&body[..k])) {
                    return Some(why);
                }
            }
            for k in (base..body.len()).filter(|&k| body[k] == b'}') {
                if let Some(why) = super::tail::unit_value_left(&body[..k], idl.returns_unit) {
                    return Some(why);
                }
            }
        }
        if idl.returns_value && bytes.contains(&b';') {
            let body = body();
            if (base..body.len()).any(|k| body[k] == b';' && super::tail::bare_return(&body[..k])) {
                return Some("`return;` in a function that returns a value: return the value (E0069)".to_owned());
            }
            for k in (base..body.len()).filter(|&k| body[k] == b';') {
                let text = body[..k].trim_ascii_end();
                let name = trailing_ident(text);
                let before = text[..text.len() - name.len()].trim_ascii_end();
                if !name.is_empty()
                    && trailing_ident(before) == "return"
                    && let Some(why) = self.reference_returned(idl, name, &fresh)
                {
                    return Some(why);
                }
            }
        }
        if idl.returns_value && self.done(&p) {
            let body = String::from_utf8_lossy(body());
            let why =
                crate::identifiers::missing_value(&body).or_else(|| self.uncalled_value(idl, &body)).or_else(|| {
                    let tail = crate::identifiers::tail_expression(&body)?;
                    self.reference_returned(idl, tail.trim(), &fresh)
                });
            if why.is_some() {
                return why;
            }
        }
        // A name still being written must be able to become a known one.
        let lx = lexer::lexer();
        if lx.region[p.lex as usize] == Region::Code {
            let name = trailing_ident(&joined);
            if !name.is_empty() {
                let g = crate::syntax::rust::grammar();
                let mut stack = p.stack.clone();
                if let Ok(role) = crate::syntax::process(g, &mut stack, lexer::IDENT)
                    && !matches!(role, Role::Free | Role::Token)
                {
                    let before = &joined[..joined.len() - name.len()];
                    if !self.known(idl, role, before, name, &fresh, &in_scope, true) {
                        return Some(format!("no known {} starts with `{name}`", role_name(role)));
                    }
                    // A keyword being written is a known prefix; once whole it has a way on only where the keyword
                    // may come or where a longer name starts with it (`ex` + `tern` at a statement's start: none).
                    if lexer::kind(name).is_some_and(|k| lexer::cat(k) == Cat::Keyword)
                        && !self.known_longer(idl, name, &fresh)
                        && self.advance_with(&mut p.clone(), b" ", &mut |_, _| {}).is_err()
                    {
                        return Some(format!("`{name}` cannot come here, and no name known here starts with it"));
                    }
                    if let Some(why) = self.needs_import(idl, role, before, name, b"", &fresh, true) {
                        return Some(format!("`{name}` is not in scope: {why}"));
                    }
                    // Only names in scope are ways on: `nul` has none when `null` needs an import the file lacks.
                    if role == Role::Value
                        && !before.ends_with(b"::")
                        && !before.ends_with(b".")
                        && !idl.ids.has_usable_value_prefix(name)
                        && !Self::bound(idl, name, &fresh, &in_scope, true)
                    {
                        return Some(format!("no value in scope here starts with `{name}`"));
                    }
                    // A std macro the constraints ban (`todo!`) is a name with no way on: refused as it is written,
                    // not once its `!` is (a draft that wrote `return todo` had nothing left to write).
                    if role == Role::Value
                        && !before.ends_with(b"::")
                        && !before.ends_with(b".")
                        && idl.ids.is_macro_only(name)
                        && !idl.ids.has_longer_value(name)
                        && !self.known_longer(idl, name, &fresh)
                        && self.advance_with(&mut p.clone(), b"!(", &mut |_, _| {}).is_err()
                    {
                        return Some(format!("`{name}!` is refused here, and no other name is `{name}`"));
                    }
                    if role == Role::Path
                        && let Some(why) = function_as_path(before, name, b"")
                    {
                        return Some(why);
                    }
                }
            }
        }
        None
    }

    /// Why `name`, starting a value or type path (`after` following it), is not in scope (see
    /// [`crate::Identifiers::out_of_scope`]); with `prefix`, only when no name in scope goes on from it either.
    /// The body's own bindings and the header's names shadow it; a macro (`name!`) is judged only for what a
    /// `#![no_std]` crate lacks (`format!`, `vec!`).
    #[allow(clippy::too_many_arguments)]
    fn needs_import(
        &self,
        idl: &IdLayer,
        role: Role,
        before: &[u8],
        name: &str,
        after: &[u8],
        fresh: &[&str],
        prefix: bool,
    ) -> Option<&'static str> {
        if role == Role::Value && after.trim_ascii_start().starts_with(b"!") && !before.ends_with(b"::") {
            return idl.ids.alloc_out_of_scope(name);
        }
        if !matches!(role, Role::Value | Role::Type)
            || before.ends_with(b"::")
            || after.trim_ascii_start().starts_with(b"!")
            || fresh.contains(&name)
            || self.locals.iter().any(|(_, l)| l == name)
            || idl.params.iter().any(|(n, _)| n == name)
            || idl.header_names.contains(name)
        {
            return None;
        }
        let why = idl.ids.out_of_scope(name)?;
        (!(prefix && idl.ids.in_scope_longer(name))).then_some(why)
    }

    /// The body's bindings in scope: a `let` binding once its statement ends (`let x = x;` reads an outer `x`).
    fn in_scope(&self) -> Vec<&str> {
        self.locals
            .iter()
            .filter(|(at, _)| !is_let_binding(&self.text, *at) || self.text[*at..].contains(&b';'))
            .map(|(_, l)| l.as_str())
            .collect()
    }

    /// Whether `name` (or, with `prefix`, a name starting with it) may stand in a position of this role.
    #[allow(clippy::too_many_arguments)]
    fn known(
        &self,
        idl: &IdLayer,
        role: Role,
        before: &[u8],
        name: &str,
        fresh: &[&str],
        in_scope: &[&str],
        prefix: bool,
    ) -> bool {
        let is = |candidate: &str| if prefix { candidate.starts_with(name) } else { candidate == name };
        if role == Role::Path
            && let Some(found) = self.path_member(idl, before, &is)
        {
            return found;
        }
        if role == Role::Member {
            // `recv.name` where `recv` is `self` or a parameter of a type the set describes: that type's members.
            if let Some(ty) = self.receiver_type(idl, before)
                && let Some(found) = idl.ids.has_member(&ty, is)
            {
                return found;
            }
            return if prefix { idl.ids.has_prefix(name) } else { idl.ids.contains(name) };
        }
        let in_ids = match (role, prefix) {
            (Role::Value, true) => idl.ids.has_value_prefix(name),
            (Role::Value, false) => idl.ids.contains_value(name),
            (_, true) => idl.ids.has_prefix(name),
            (_, false) => idl.ids.contains(name),
        };
        in_ids || Self::bound(idl, name, fresh, in_scope, prefix)
    }

    /// Whether `name` (or, with `prefix`, a name starting with it) is bound by the body or the header: a fresh
    /// binding, a local in scope, a parameter, a name the header declares (its generics).
    fn bound(idl: &IdLayer, name: &str, fresh: &[&str], in_scope: &[&str], prefix: bool) -> bool {
        let is = |candidate: &str| if prefix { candidate.starts_with(name) } else { candidate == name };
        fresh.iter().any(|f| is(f))
            || in_scope.iter().any(|l| is(l))
            || idl.params.iter().any(|(n, _)| is(n))
            || if prefix {
                crate::identifiers::has_prefix(&idl.header_names, name)
            } else {
                idl.header_names.contains(name)
            }
    }

    /// Whether the path segment after `before` (which ends with `::`) may be this name, when the segment before
    /// tells: after `self::`, `crate::` or `super::` an item (a capitalized name or one that names an item; after
    /// `self::`, one the file writes); after
    /// `Self::` or a type the set describes, that type's members (variants, associated functions and constants,
    /// methods) and what every type has (`default`, `from`...); after `Option::`, `String::`, `u8::`... what std
    /// gives them. `None`: anything known may follow.
    fn path_member(&self, idl: &IdLayer, before: &[u8], is: &dyn Fn(&str) -> bool) -> Option<bool> {
        // `self\n::new`: whitespace before the `::` does not end the path.
        let head = before.strip_suffix(b"::")?.trim_ascii_end();
        let seg = trailing_ident(head);
        if seg.is_empty() {
            return None;
        }
        if head[..head.len() - seg.len()].ends_with(b"::") {
            // `io::Result::`, `std::option::Option::`: a std type behind std modules is still that type.
            let mut rest = &head[..head.len() - seg.len()];
            while let Some(r) = rest.strip_suffix(b"::") {
                let m = trailing_ident(r);
                let std_module = crate::identifiers::is_std_module(m) && !matches!(m, "crate" | "super");
                if !(std_module || matches!(m, "option" | "result")) {
                    return None;
                }
                rest = &r[..r.len() - m.len()];
            }
            if matches!(rest.last(), Some(b) if b.is_ascii_alphanumeric() || *b == b'_' || *b == b':') {
                return None;
            }
            return idl.ids.has_std_path_member(seg, is);
        }
        match seg {
            // This module's items are the file's (declared or imported there): `self::Current` where the file never
            // writes `Current` is E0425.
            "self" => Some(idl.ids.any_item(&|n| is(n) && idl.ids.file_writes(n))),
            "crate" | "super" => Some(idl.ids.any_item(is)),
            _ => {
                let ty = if seg == "Self" { self.self_type.as_deref()? } else { seg };
                if !ty.starts_with(|c: char| c.is_ascii_uppercase()) {
                    return crate::identifiers::is_primitive_type(ty)
                        .then(|| idl.ids.has_std_path_member(ty, is))
                        .flatten();
                }
                idl.ids.has_own_member(ty, is).or_else(|| idl.ids.has_std_path_member(ty, is))
            }
        }
    }

    /// Why a call closed in the new bytes (those of `joined` from `from` on) has the wrong number of arguments
    /// for the function or method the set declares under that name (every declaration of the name counted; std
    /// names, locals, macros and calls whose arguments hold closures or literals with parentheses are not judged).
    fn wrong_arity(&self, idl: &IdLayer, joined: &[u8], from: usize, fresh: &[&str]) -> Option<String> {
        for close in (from..joined.len()).filter(|&i| joined[i] == b')') {
            let Some(open) = matching_open(&joined[..close]) else { continue };
            let args = &joined[open + 1..close];
            // A bracket in a string or char literal may have closed the wrong call.
            if args.iter().any(|b| matches!(b, b'"' | b'\'')) {
                continue;
            }
            if let Some((own, params)) = &idl.own_call
                && self.calls_itself(idl, joined, open, own)
                && passes_on(args, params, joined[..open].trim_ascii_end().ends_with(format!("::{own}").as_bytes()))
            {
                return Some(format!("`{own}` called with its own arguments unchanged recurses endlessly"));
            }
            if let Some(why) = self.wrong_argument_type(idl, joined, open, args, fresh) {
                return Some(why);
            }
            let Some((callee, allowed)) = self.call_arities(idl, joined, open, fresh) else { continue };
            if args.contains(&b'|') {
                // A closure's parameters hold commas: only too many arguments before it are judged.
                let (n, most) = (min_args(args), allowed.last().copied().unwrap_or(0));
                if n > most {
                    return Some(format!("`{callee}` takes at most {most} argument(s), not {n} or more"));
                }
                continue;
            }
            let n = count_args(args);
            if !allowed.contains(&n) {
                let want: Vec<String> = allowed.iter().map(usize::to_string).collect();
                return Some(format!("`{callee}` takes {} argument(s), not {n}", want.join(" or ")));
            }
        }
        None
    }

    /// Why a call of a function or method the set declares (its `(` at `open`, `args` between the brackets) passes
    /// an argument its declaration cannot take: a parameter of one primitive type where the declaration takes
    /// another (`receiver.codepoint(byte)` with `byte: u8` where `codepoint` takes a `char`: E0308; judged for
    /// arguments that are a header parameter alone, not shadowed by a local, at the call's `)`; `byte as char`
    /// passes), or a reference of the wrong kind (see [`wrong_borrow`]). Comments between the arguments are
    /// skipped.
    fn wrong_argument_type(
        &self,
        idl: &IdLayer,
        joined: &[u8],
        open: usize,
        args: &[u8],
        fresh: &[&str],
    ) -> Option<String> {
        let (callee, types, args) = self.declared_params(idl, joined, open, args, fresh)?;
        let pieces = split_args(args.as_bytes());
        if pieces.len() != types.len() {
            return None;
        }
        for (arg, want) in pieces.iter().zip(types) {
            let arg = String::from_utf8_lossy(arg.trim_ascii());
            if let Some(why) = wrong_borrow(callee, &arg, want) {
                return Some(why);
            }
            if fresh.contains(&arg.as_ref()) || self.locals.iter().any(|(_, l)| *l == arg) {
                continue;
            }
            let Some((_, has)) = idl.params.iter().find(|(n, _)| *n == arg) else { continue };
            if is_scalar(has) && is_scalar(want) && has.trim() != want.trim() {
                return Some(format!(
                    "`{arg}` is a `{}`, and `{callee}` takes a `{want}` there (convert it: `{arg} as {want}`)",
                    has.trim()
                ));
            }
        }
        None
    }

    /// The callee of the call whose `(` is at `open`, the parameter types the set declares for it (see
    /// [`Identifiers::param_types`](crate::Identifiers::param_types)) and its arguments `args` without comments;
    /// `None` when it is not judged: a local or a name bound in the new bytes, or arguments holding a closure or a
    /// string or char literal (whose commas are no separators).
    fn declared_params<'i>(
        &self,
        idl: &'i IdLayer,
        joined: &'i [u8],
        open: usize,
        args: &[u8],
        fresh: &[&str],
    ) -> Option<(&'i str, &'i [String], String)> {
        let callee = trailing_ident(&joined[..open]);
        if callee.is_empty() || fresh.contains(&callee) || self.locals.iter().any(|(_, l)| l == callee) {
            return None;
        }
        if args.iter().any(|b| matches!(b, b'|' | b'"' | b'\'')) {
            return None;
        }
        let before = &joined[..open - callee.len()];
        let types = idl.ids.param_types(callee, before.ends_with(b"."))?;
        Some((callee, types, crate::identifiers::strip_comments(&String::from_utf8_lossy(args))))
    }

    /// Why an argument being written to a call still open at the end of `joined` is a reference of the wrong kind
    /// for the parameter the set declares there (see [`wrong_borrow`]): `next_os(&cursor` where `next_os` takes
    /// `&mut ArgCursor` is refused at `&cursor`, before the call closes.
    fn wrong_borrow_written(&self, idl: &IdLayer, joined: &[u8], from: usize, fresh: &[&str]) -> Option<String> {
        let mut end = joined.len();
        while let Some(open) = open_paren(&joined[..end]) {
            end = open;
            let Some((callee, types, args)) = self.declared_params(idl, joined, open, &joined[open + 1..], fresh)
            else {
                continue;
            };
            let pieces = split_args(args.as_bytes());
            let (Some(last), Some(want)) = (pieces.last(), types.get(pieces.len().saturating_sub(1))) else {
                continue;
            };
            // Only what the new bytes write is judged: an argument already wrong before them (kept by the loop
            // when nothing else passed) is not held against them.
            let old =
                crate::identifiers::strip_comments(&String::from_utf8_lossy(&joined[open + 1..from.max(open + 1)]));
            let old_pieces = split_args(old.as_bytes());
            if old_pieces.len() == pieces.len()
                && old_pieces
                    .last()
                    .is_some_and(|o| wrong_borrow(callee, &String::from_utf8_lossy(o.trim_ascii()), want).is_some())
            {
                continue;
            }
            if let Some(why) = wrong_borrow(callee, &String::from_utf8_lossy(last.trim_ascii()), want) {
                return Some(why);
            }
        }
        None
    }

    /// Why a call still open at the end of `joined` cannot go on: it already has more arguments than its function
    /// takes (`Parser::new(x` when `new` takes none; judged as they are written, not only at the `)`), or a
    /// function without parameters calls itself (`Self::new(` in `new`).
    fn too_many_args(&self, idl: &IdLayer, joined: &[u8], from: usize, fresh: &[&str]) -> Option<String> {
        if let Some(own) = idl.own_nullary.as_deref()
            && (from..joined.len()).any(|open| joined[open] == b'(' && self.calls_itself(idl, joined, open, own))
        {
            return Some("a function without parameters that calls itself recurses endlessly".to_owned());
        }
        let mut end = joined.len();
        // Every call still open, innermost first (`new(\n (1` opens a parenthesis inside `new`'s).
        while let Some(open) = open_paren(&joined[..end]) {
            end = open;
            let args = &joined[open + 1..];
            let Some((callee, allowed)) = self.call_arities(idl, joined, open, fresh) else { continue };
            let Some(&most) = allowed.last() else { continue };
            // Only the new bytes are judged: a call already past its count (a forced close) is not held
            // against them.
            let before = min_args(&joined[open + 1..from.max(open + 1)]);
            if min_args(args) > most && before <= most {
                return Some(format!("`{callee}` takes at most {most} argument(s)"));
            }
        }
        None
    }

    /// Why the new bytes (the end of `joined`, which starts at `start` in the text) start the function's value with
    /// a constructor its return type cannot be (`Ok(` where it returns `bool`; see [`super::tail`]). A constructor
    /// still being written is judged when no known name goes on from it (`Err` may become `Error`).
    fn wrong_value_start(
        &self,
        idl: &IdLayer,
        joined: &[u8],
        start: usize,
        bytes: &[u8],
        fresh: &[&str],
    ) -> Option<String> {
        let from = joined.len() - bytes.len();
        let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let header_len = self.shared.header.len();
        let body = || self.body_with(bytes);
        // `()` is no value of a function that returns one (`const X: u8 = 1; ()}` is E0308).
        if idl.returns_value
            && let Some(close) = (from..joined.len()).find(|&i| joined[i] == b')')
            && let Some(open) = close.checked_sub(1).filter(|&o| joined[o] == b'(')
            && start + open > header_len
        {
            let body = body();
            if super::tail::at_value(&body[..start + open - header_len]) {
                return Some("the function returns a value, not `()`".to_owned());
            }
        }
        let shape = idl.shape?;
        // A path to a function where the value is written, not called (`return Parser::new;`): the value is the
        // function item, not what the function returns.
        if let Some(t) = (from..joined.len()).find(|&i| matches!(joined[i], b';' | b'}' | b','))
            && let Some(path_at) = uncalled_function_path(&joined[..t])
            && start + path_at > header_len
        {
            let body = body();
            if super::tail::at_value(&body[..start + path_at - header_len]) {
                let path = String::from_utf8_lossy(joined[path_at..t].trim_ascii()).into_owned();
                return Some(format!("`{path}` is a function: call it to get the value"));
            }
        }
        for s in from.saturating_sub(5)..joined.len() {
            if !joined[s].is_ascii_alphabetic() || s > 0 && (is_ident(joined[s - 1]) || joined[s - 1] == b':') {
                continue;
            }
            let e = s + joined[s..].iter().take_while(|&&b| is_ident(b)).count();
            let word = std::str::from_utf8(&joined[s..e]).unwrap_or("");
            if e < from || e == from && from == joined.len() || !super::tail::is_constructor(word) {
                continue;
            }
            let complete = e < joined.len();
            if !complete && self.known_longer(idl, word, fresh) || start + s < header_len + 1 {
                continue;
            }
            let Some(why) = super::tail::wrong_constructor(shape, word) else { continue };
            let body = body();
            let at = start + s - header_len;
            if at <= body.len() && super::tail::at_value(&body[..at]) {
                return Some(why);
            }
        }
        None
    }

    /// Whether a name longer than `word` that starts with it may stand in the body (a local, a parameter, a name
    /// of the header, a known value; capitalized, one in scope).
    fn known_longer(&self, idl: &IdLayer, word: &str, fresh: &[&str]) -> bool {
        let longer = |n: &str| n.len() > word.len() && n.starts_with(word);
        fresh.iter().any(|n| longer(n))
            || self.locals.iter().any(|(_, n)| longer(n))
            || idl.params.iter().any(|(n, _)| longer(n))
            || idl.header_names.iter().any(|n| longer(n))
            || if word.starts_with(|c: char| c.is_ascii_uppercase()) {
                // `Err` may become `Error` only where `Error` is in scope: otherwise, once written, every way on
                // from `Err` would be refused.
                idl.ids.in_scope_longer(word)
            } else {
                (b'0'..=b'z')
                    .filter(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    .any(|c| idl.ids.has_value_prefix(&format!("{word}{}", c as char)))
            }
    }

    /// Whether the `(` at `open` calls the function `own` being written: by its bare name outside an impl, or by
    /// `Self::own`, `Type::own` of the impl's type, or `Trait::own` of a trait the set declares with that method
    /// inside one.
    fn calls_itself(&self, idl: &IdLayer, joined: &[u8], open: usize, own: &str) -> bool {
        let head = joined[..open].trim_ascii_end();
        if trailing_ident(head) != own {
            return false;
        }
        let before = &head[..head.len() - own.len()];
        match before.strip_suffix(b"::") {
            Some(path) => {
                let owner = trailing_ident(path);
                owner == "Self"
                    || self.self_type.as_deref() == Some(owner)
                    || self.self_type.is_some() && idl.ids.trait_declares(owner, own)
            }
            None => {
                self.self_type.is_none()
                    && !before.ends_with(b".")
                    && !before.last().is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            }
        }
    }

    /// The function called by the `(` at `open` in `joined`, and the argument counts the set declares for it: by
    /// `.` (methods), by `Type::` or `Self::` (that type's functions, std names included), or by name. `None` for
    /// std names, locals, macros and calls whose arguments hold closures.
    fn call_arities<'j, 'i>(
        &self,
        idl: &'i IdLayer,
        joined: &'j [u8],
        open: usize,
        fresh: &[&str],
    ) -> Option<(&'j str, &'i std::collections::BTreeSet<usize>)> {
        let callee = trailing_ident(&joined[..open]);
        if callee.is_empty()
            || fresh.contains(&callee)
            || self.locals.iter().any(|(_, l)| l == callee)
            || idl.params.iter().any(|(n, _)| n == callee)
        {
            return None;
        }
        let before = &joined[..open - callee.len()];
        let dot = before.last() == Some(&b'.');
        let owner = before.strip_suffix(b"::").map(trailing_ident).filter(|t| !t.is_empty());
        let owner = match owner {
            Some("Self") => self.self_type.as_deref(),
            other => other,
        };
        let allowed = owner.and_then(|t| idl.ids.owned_arities(t, callee));
        Some((callee, allowed.or_else(|| idl.ids.arities(callee, dot))?))
    }

    /// Why a known name that starts a value expression cannot stand there, `after` being what follows it: not
    /// followed by `::` (which makes it a path's first segment), a primitive type, a generic parameter of the
    /// header or a module of std is not a value (`u8 + 1`, `T.len()`, `mem = 0`), a macro of std is called with
    /// `!` (`format(..)`, `format}`) and a function without it (`from_u32!(x)`), and a name the set declares only
    /// as a method is not a function to call (`to_upper_camel_case(self)`). Locals and parameters of that
    /// name shadow all of it.
    fn not_a_value(&self, idl: &IdLayer, name: &str, after: &[u8], fresh: &[&str]) -> Option<String> {
        let next = after.iter().find(|b| !b.is_ascii_whitespace());
        let rest = after.trim_ascii_start();
        if rest.starts_with(b"::")
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && !idl.ids.is_path_start(name)
            && !fresh.contains(&name)
        {
            return Some(format!("`{name}` is not a module or crate this code can name (`{name}::`)"));
        }
        if next == Some(&b':')
            || fresh.contains(&name)
            || self.locals.iter().any(|(_, l)| l == name)
            || idl.params.iter().any(|(n, _)| n == name)
        {
            return None;
        }
        if crate::identifiers::is_primitive_type(name) || idl.generics.iter().any(|g| g == name) {
            return Some(format!("`{name}` is a type, not a value (a path needs `::`)"));
        }
        if crate::identifiers::is_std_module(name) && !idl.ids.is_free_function(name) {
            return Some(format!("`{name}` is a module, not a value (a path needs `::`)"));
        }
        if idl.ids.is_trait(name) && !idl.generics.iter().any(|g| g == name) {
            return Some(format!("`{name}` is a trait: call its methods on a value or by path (`{name}::..`)"));
        }
        // std's collections, strings and pointers are types, no values: `Vec<u8>::new()` needs `::<`, and `Vec<u8>`
        // alone in an expression compares (`Vec < u8`), E0423.
        if next.is_some() && STD_TYPES_NOT_VALUES.contains(&name) && !idl.ids.is_nominal(name) {
            return Some(format!("`{name}` is a type, not a value: `{name}::new()`, `{name}::<T>::..`"));
        }
        // Whitespace after the name is judged too: a macro's `!` follows it directly, and past the whitespace
        // nothing would be judged again.
        if (next.is_some_and(|&b| b != b'!') || next.is_none() && !after.is_empty()) && idl.ids.is_macro_only(name) {
            return Some(format!("`{name}` is a macro: `{name}!(..)`"));
        }
        if next == Some(&b'(') && idl.ids.is_method_only(name) {
            return Some(format!("`{name}` is a method, not a function: call it on a value (`x.{name}(..)`)"));
        }
        if next == Some(&b'!') && rest.get(1) != Some(&b'=') && idl.ids.is_function_not_macro(name) {
            return Some(format!("`{name}` is a function, not a macro: `{name}(..)`"));
        }
        None
    }

    /// Why the parameter `name`, returned as it is (`return self;`, or the body's last expression), cannot be the
    /// function's value: it is a reference (`&self`, `x: &str`) and the function returns an owned type that is
    /// none (`String`, `Vec<_>`, `Option<_>`, `Self`, numbers, a struct or enum the set declares: E0308, no
    /// coercion makes one of a reference). Generics, `impl Trait`, aliases and references are not judged.
    fn reference_returned(&self, idl: &IdLayer, name: &str, fresh: &[&str]) -> Option<String> {
        if fresh.contains(&name) || self.locals.iter().any(|(_, l)| l == name) {
            return None;
        }
        let header = String::from_utf8_lossy(&self.shared.header);
        let is_ref = if name == "self" {
            let params = &header[header.find('(')? + 1..];
            params.trim_start().starts_with('&') && crate::identifiers::words(params).next() == Some("self")
        } else {
            idl.params.iter().any(|(n, ty)| n == name && ty.trim_start().starts_with('&'))
        };
        if !is_ref {
            return None;
        }
        let ty = crate::identifiers::return_type(&header)?;
        if ty.starts_with('&') || ty.contains("impl") || ty.contains("dyn") {
            return None;
        }
        let base = crate::identifiers::base_type(ty);
        let owned = match base.as_str() {
            "Self" => self.self_type.as_deref().is_some_and(|st| !st.trim_start().starts_with('&')),
            "String" | "Vec" | "Option" | "Result" | "Box" | "PathBuf" | "HashMap" | "HashSet" | "BTreeMap"
            | "BTreeSet" | "VecDeque" | "Rc" | "Arc" => true,
            b => is_scalar(b) || idl.ids.is_nominal(b) && !idl.generics.iter().any(|g| g == b),
        };
        owned.then(|| format!("`{name}` is a reference, and the function returns a `{ty}`: convert it"))
    }

    /// Why the value a complete fn body ends with is a function not called (`self::Buffer::new` where the
    /// function returns a `Buffer`: E0308, "found fn item"): a path whose last name is lower-case (a function; a
    /// module is no value either), or a function the set declares, not shadowed by a binding. Functions that
    /// return a `fn`, an `impl Trait` or a `Fn` trait object are not judged.
    fn uncalled_value(&self, idl: &IdLayer, body: &str) -> Option<String> {
        let header = String::from_utf8_lossy(&self.shared.header);
        let ty = crate::identifiers::return_type(&header)?;
        if ty.contains("fn") || ty.contains("Fn") || ty.contains("impl") {
            return None;
        }
        let tail = crate::identifiers::tail_expression(body)?;
        let path: String = tail.chars().filter(|c| !c.is_whitespace()).collect();
        let segments: Vec<&str> = path.split("::").collect();
        let ident = |w: &str| {
            w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        let name = *segments.last()?;
        if !segments.iter().all(|w| ident(w)) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return None;
        }
        let bound = self.locals.iter().any(|(_, l)| l == name) || idl.params.iter().any(|(n, _)| n == name);
        let function = if segments.len() == 1 { idl.ids.is_free_function(name) && !bound } else { name != "self" };
        function.then(|| format!("`{path}` is a function: call it (`{path}(..)`) for the value to return"))
    }

    /// Why a member `name` of the receiver that `before` ends with (its `.`) cannot be used as `after` uses it:
    /// called when it is a field of the receiver's type and nothing callable (`self.items(..)`), not called when it
    /// is a method and no field (`self.cursor.next()`), `drop` called as a method (Rust forbids it), a method
    /// calling itself on `self` (endless recursion).
    fn wrong_member_use(&self, idl: &IdLayer, before: &[u8], name: &str, after: &[u8]) -> Option<String> {
        let rest = after.trim_ascii_start();
        let next = *rest.first()?;
        // `x.name(..)` or `x.name::<..>(..)`.
        if next == b'(' || rest.starts_with(b"::") {
            if name == "drop" {
                return Some("`drop` cannot be called as a method: `drop(x)`".to_owned());
            }
            if idl.ids.is_macro_only(name) {
                return Some(format!("`{name}!` is a macro, not a method"));
            }
            if let Some(why) = idl.ids.alloc_out_of_scope(name) {
                return Some(format!("`.{name}()` is not in scope: {why}"));
            }
            if idl.own_method.as_deref() == Some(name) && receiver_is_self(before) {
                return Some(format!("`self.{name}(..)` in `{name}` calls it again on the same value, endlessly"));
            }
            if next != b'(' {
                return None;
            }
            let ty = self.receiver_type(idl, before)?;
            return idl.ids.is_field_only(&ty, name).then(|| format!("`{name}` is a field of `{ty}`, not a method"));
        }
        if next == b':' {
            return None;
        }
        if next == b'!' && idl.ids.is_macro_only(name) {
            return Some(format!("`{name}!` is a macro, not a method"));
        }
        let ty = self.receiver_type(idl, before)?;
        idl.ids
            .is_method_not_field(&ty, name)
            .then(|| format!("`{name}` is a method of `{ty}`, not a field: call it (`.{name}(..)`)"))
    }

    /// The type of the receiver of a member access, `before` ending with its `.`: see [`Self::expr_type`].
    fn receiver_type(&self, idl: &IdLayer, before: &[u8]) -> Option<String> {
        let recv_end = before.len().checked_sub(1).filter(|&e| before[e] == b'.')?;
        if before[..recv_end].ends_with(b".") {
            return None;
        }
        self.expr_type(idl, &before[..recv_end], 0)
    }

    /// The type of the expression `text` ends with, when it is one of: a parameter (or `self`) not shadowed by a
    /// local; a named field of a typed expression whose type the set describes (`self.items`); a call of a method
    /// the set declares for a typed expression's type (`self.cursor()`) or by path (`Type::f(..)`, `Self::f(..)`),
    /// typed by its declared return type (`Self` being the owner). `None` otherwise (a local, an index, a
    /// function's result, std's methods: not tracked).
    fn expr_type(&self, idl: &IdLayer, text: &[u8], depth: u32) -> Option<String> {
        let text = text.trim_ascii_end();
        if depth > 6 {
            return None;
        }
        if text.last() == Some(&b')') {
            let open = matching_open(&text[..text.len() - 1])?;
            let callee = trailing_ident(&text[..open]);
            if callee.is_empty() {
                return None;
            }
            let head = text[..open - callee.len()].trim_ascii_end();
            let owner = if let Some(recv) = head.strip_suffix(b".") {
                if recv.ends_with(b".") {
                    return None;
                }
                self.expr_type(idl, recv, depth + 1)?
            } else if let Some(path) = head.strip_suffix(b"::") {
                let ty = trailing_ident(path);
                match ty {
                    "Self" => self.self_type.clone()?,
                    _ if ty.starts_with(|c: char| c.is_ascii_uppercase()) => ty.to_owned(),
                    _ => return None,
                }
            } else {
                return None;
            };
            let ret = idl.ids.return_of(&owner, callee)?;
            return Some(if crate::identifiers::base_type(ret) == "Self" { owner } else { ret.to_owned() });
        }
        let recv = trailing_ident(text);
        if recv.is_empty() || recv.as_bytes()[0].is_ascii_digit() {
            return None;
        }
        let head = text[..text.len() - recv.len()].trim_ascii_end();
        match head.last() {
            Some(b'.') if !head.ends_with(b"..") => {
                let owner_ty = self.expr_type(idl, &head[..head.len() - 1], depth + 1)?;
                idl.ids.field_type(&owner_ty, recv).map(str::to_owned)
            }
            Some(b'.' | b':') => None,
            _ => {
                let in_scope = self.in_scope();
                idl.params
                    .iter()
                    .find(|(n, _)| n == recv)
                    .filter(|_| !in_scope.contains(&recv))
                    .map(|(_, ty)| ty.clone())
            }
        }
    }

    /// An upper bound on the bytes (so the tokens, every byte being a token) that complete the output.
    pub(crate) fn remaining(&self, p: &Pos) -> u32 {
        self.remaining_with(p, &mut Vec::new())
    }

    /// [`Self::remaining`] with working space reused between calls.
    fn remaining_with(&self, p: &Pos, scratch: &mut Vec<Frame>) -> u32 {
        if self.in_header(p) {
            // The rest of the header, ` {`, `}`.
            return (self.shared.header.len() - p.header as usize) as u32 + 3;
        }
        if self.done(p) {
            return 0;
        }
        let (g, lx) = (crate::syntax::rust::grammar(), lexer::lexer());
        crate::syntax::remaining(g, lx, &crate::syntax::rust_needs().0, p.lex, &p.stack, scratch)
    }

    /// The syntax mask cut to the tokens after which the body still fits in `left` tokens. Never empty: when no
    /// token of the mask fits (the bound is an estimate), the byte that shortens the completion most is allowed.
    fn budget_mask(&mut self, p: &Pos, left: u32) -> TokenMask {
        let index = Arc::clone(&self.shared.index);
        let vocab = index.vocabulary();
        let mut out = TokenMask::new(index.len());
        // One position and one scratch stack reused for every token: no allocation per token.
        let mut q = p.clone();
        let mut scratch = Vec::with_capacity(p.stack.len() + 32);
        // A token of identifier characters (after at most one leading space) emits no lexeme past that space: the
        // parser's stack is the one before it (or after the space), so the bound depends only on the lexer state the
        // token ends in. Memoized per (leading space, end state); any other token is advanced in full.
        let lx = lexer::lexer();
        let spaced = {
            let mut s = p.clone();
            self.advance(&mut s, b" ").is_ok().then_some(s)
        };
        let mut by_end: HashMap<(bool, LexState), bool> = HashMap::new();
        for t in self.mask.iter() {
            if vocab.is_special(t) {
                out.allow(t);
                continue;
            }
            let bytes = vocab.token_bytes(t);
            let (space, word) = match bytes.split_first() {
                Some((b' ', rest)) => (true, rest),
                _ => (false, bytes),
            };
            let base = if space { spaced.as_ref() } else { Some(p) };
            if let Some(base) = base
                && !word.is_empty()
                && word.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
                && let Some(end) = quiet_steps(lx, base.lex, word)
            {
                let fits = *by_end.entry((space, end)).or_insert_with(|| {
                    q.reset_from(base);
                    q.lex = end;
                    self.remaining_with(&q, &mut scratch) < left
                });
                if fits {
                    out.allow(t);
                }
                continue;
            }
            q.reset_from(p);
            if self.advance(&mut q, bytes).is_ok() && self.remaining_with(&q, &mut scratch) < left {
                out.allow(t);
            }
        }
        if out.count() == 0 {
            self.stats.budget_fallbacks += 1;
            let mut best: Option<(u32, u32)> = None;
            for b in (0x20u8..0x7f).chain([b'\n']) {
                let mut q = p.clone();
                if self.advance(&mut q, &[b]).is_err() {
                    continue;
                }
                let Some(t) = index.longest_token(&[b]).filter(|&(n, _)| n == 1).map(|(_, t)| t) else { continue };
                let r = self.remaining(&q);
                if best.is_none_or(|(br, _)| r < br) {
                    best = Some((r, t));
                }
            }
            match best {
                Some((_, t)) => out.allow(t),
                None => return (*self.mask).clone(),
            }
        }
        out
    }

    fn key(p: &Pos) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for f in &p.stack {
            h.update(&f.to_le_bytes());
        }
        h.update(&p.lex.to_le_bytes());
        h.update(&p.ban.to_le_bytes());
        h.digest()
    }

    fn body_mask(&mut self, p: &Pos) -> Arc<TokenMask> {
        let key = Self::key(p);
        if let Some(m) = lock(&self.shared.finals).0.get(&key) {
            self.stats.hits += 1;
            return Arc::clone(m);
        }
        let mut ws = WalkStats::default();
        let walker = self.walker();
        let mut mask = walker.mask(&self.shared.index.syntax, p.lex, &p.stack, &mut ws);
        if let Some(bans) = &self.shared.bans {
            let bm = lock(&self.shared.ban_walks).mask(walker.lx, bans, &self.shared.index, p.lex, p.ban, &mut ws);
            mask.intersect_with(&bm);
        }
        if self.done(p) && self.shared.bans.as_ref().is_none_or(|b| b.accept[p.ban as usize]) {
            for &eos in &self.shared.index.vocabulary().eos {
                mask.allow(eos);
            }
        }
        self.stats.walks += ws.walks;
        self.stats.nodes_walked += ws.nodes;
        self.stats.subtrees_reused += ws.reused;
        let mask = Arc::new(mask);
        let mut finals = lock(&self.shared.finals);
        finals.1 += mask.as_words().len() * 4;
        if finals.1 > MEMO_BYTES {
            finals.0.clear();
            finals.1 = mask.as_words().len() * 4;
        }
        finals.0.insert(key, Arc::clone(&mask));
        mask
    }

    /// The mask inside the fixed header: tokens that spell the header's next bytes, or all of them and then a
    /// start of the body.
    fn header_mask(&mut self, p: &Pos) -> Arc<TokenMask> {
        if let Some(m) = lock(&self.shared.header_masks).get(&p.header) {
            self.stats.hits += 1;
            return Arc::clone(m);
        }
        let index = Arc::clone(&self.shared.index);
        let vocab = index.vocabulary();
        let mut mask = TokenMask::new(index.len());
        for t in 0..vocab.len() as u32 {
            if vocab.is_special(t) {
                continue;
            }
            let bytes = vocab.token_bytes(t);
            if bytes.is_empty() {
                continue;
            }
            let mut q = p.clone();
            if self.advance(&mut q, bytes).is_ok() {
                mask.allow(t);
            }
        }
        self.stats.walks += 1;
        let mask = Arc::new(mask);
        lock(&self.shared.header_masks).insert(p.header, Arc::clone(&mask));
        mask
    }

    /// Commits bytes (a token's or free text) as one step.
    pub(crate) fn commit(&mut self, token: Option<u32>, bytes: &[u8], tokens: u32) -> Result<(), CheckError> {
        let mut p = self.now.clone();
        let mut bound: Vec<usize> = Vec::new();
        let record = self.idl.is_some();
        let advanced = if record {
            self.advance_with(&mut p, bytes, &mut |role, i| {
                if role == Role::Free {
                    bound.push(i);
                }
            })
        } else {
            self.advance(&mut p, bytes)
        };
        if record {
            let base = self.text.len();
            let mut joined = self.text[base.saturating_sub(256)..].to_vec();
            let shift = base - base.saturating_sub(256);
            joined.extend_from_slice(bytes);
            for i in bound {
                let name = trailing_ident(&joined[..shift + i]);
                if !name.is_empty() {
                    self.locals.push((base + i, name.to_owned()));
                }
            }
        }
        if let Err((offset, fail)) = advanced {
            let mut v = self.explain_fail(token, bytes, offset, fail);
            v.offset = offset.min(bytes.len());
            return Err(CheckError::Violation(v));
        }
        self.history.push(std::mem::replace(&mut self.now, p));
        if self.avoid.is_some() && !bytes.trim_ascii().is_empty() {
            self.avoid = None;
        }
        self.text.extend_from_slice(bytes);
        self.now.text_len = self.text.len();
        self.now.tokens += tokens;
        Ok(())
    }

    /// Commits an end-of-sequence token (only when accepting).
    pub(crate) fn commit_eos(&mut self) {
        self.history.push(self.now.clone());
    }

    pub(crate) fn rollback(&mut self, n: usize) -> Result<(), CheckError> {
        if n > self.history.len() {
            return Err(CheckError::Engine(format!("cannot roll back {n} steps, only {} taken", self.history.len())));
        }
        if n > 0 {
            let at = self.history.len() - n;
            self.now = self.history[at].clone();
            self.history.truncate(at);
            self.text.truncate(self.now.text_len);
            let len = self.text.len();
            self.locals.retain(|(at, _)| *at < len);
        }
        Ok(())
    }

    pub(crate) fn reset(&mut self) {
        let lx = lexer::lexer();
        self.now = Pos {
            header: 0,
            lex: lx.entry,
            stack: vec![crate::syntax::rust::grammar().start],
            ban: 0,
            text_len: 0,
            run_start: 0,
            tokens: 0,
        };
        self.history.clear();
        self.text.clear();
        self.locals.clear();
    }

    /// The only continuation, if there is one: the rest of the header and `{`; EOS once the body is complete.
    pub(crate) fn forced(&self) -> Vec<u32> {
        let index = &self.shared.index;
        if self.done(&self.now) {
            return index.vocabulary().eos.first().copied().into_iter().collect();
        }
        if self.in_header(&self.now) || self.now.lex == lexer::lexer().entry {
            let mut forced = self.shared.header[self.now.header as usize..].to_vec();
            forced.push(b'{');
            return super::greedy_tokens(index, &forced).unwrap_or_default();
        }
        Vec::new()
    }

    /// Why a token (or bytes) cannot follow.
    pub(crate) fn explain(&self, token: Option<u32>, bytes: &[u8]) -> Option<Violation> {
        let mut p = self.now.clone();
        match self.advance(&mut p, bytes) {
            Ok(()) => None,
            Err((offset, fail)) => Some(self.explain_fail(token, bytes, offset, fail)),
        }
    }

    fn explain_fail(&self, token: Option<u32>, bytes: &[u8], offset: usize, fail: Fail) -> Violation {
        let shown = bytes.get(offset).map_or(String::new(), |&b| (b as char).escape_default().to_string());
        let (message, sources) = match fail {
            Fail::Header => {
                // Where the header stood when the byte came.
                let at = self.now.header as usize + offset;
                let expected =
                    self.shared.header.get(at).map_or(String::new(), |&e| (e as char).escape_default().to_string());
                (
                    format!("the signature is fixed: expected `{expected}`, not `{shown}`"),
                    self.shared.header_sources.clone(),
                )
            }
            Fail::Done => ("the body is complete: only the end of the output may follow".to_owned(), Vec::new()),
            Fail::Lexer => {
                let lx = lexer::lexer();
                let mut p = self.now.clone();
                let _ = self.advance(&mut p, &bytes[..offset]);
                if p.lex == lx.entry {
                    (format!("the body starts with `{{`, not `{shown}`"), self.shared.header_sources.clone())
                } else if bytes.get(offset).is_some_and(|b| *b >= 0x80) && lx.region[p.lex as usize] != Region::Literal
                {
                    ("code outside literals and comments is ASCII".to_owned(), Vec::new())
                } else {
                    (format!("`{shown}` cannot continue a Rust token here"), Vec::new())
                }
            }
            Fail::Ban => self.why_banned(bytes, offset),
            Fail::Parser(kind) => {
                let mut p = self.now.clone();
                let _ = self.advance(&mut p, &bytes[..offset]);
                let expected: Vec<&str> = p
                    .stack
                    .last()
                    .map(|&f| facts().accepts[f as usize].iter().take(12).map(|k| lexer::KINDS[k as usize].0).collect())
                    .unwrap_or_default();
                (
                    format!(
                        "`{}` cannot come here in a Rust body (the grammar expects one of: {})",
                        lexer::KINDS[kind as usize].0,
                        expected.join(" ")
                    ),
                    Vec::new(),
                )
            }
            Fail::Unfinished => ("the token leaves a lexeme the grammar cannot complete here".to_owned(), Vec::new()),
        };
        Violation { token, offset, message, sources }
    }

    /// The bans a byte would complete: each ban's own pattern on the code run so far (edges counted as
    /// non-identifier characters).
    fn why_banned(&self, bytes: &[u8], offset: usize) -> (String, Vec<ConstraintId>) {
        let shared = &self.shared;
        let lx = lexer::lexer();
        let mut p = self.now.clone();
        let _ = self.advance(&mut p, &bytes[..offset]);
        let mut text = self.text.clone();
        text.extend_from_slice(&bytes[..offset]);
        let start = if lx.region[p.lex as usize] == Region::Literal { text.len() } else { p.run_start.min(text.len()) };
        let run = &text[start..];
        let b = bytes.get(offset).copied().unwrap_or(0);
        let mut hay = Vec::with_capacity(run.len() + 3);
        hay.push(0u8);
        hay.extend_from_slice(run);
        hay.push(b);
        let open = String::from_utf8_lossy(&hay).into_owned();
        hay.push(0u8);
        let closed = String::from_utf8_lossy(&hay).into_owned();
        let regexes = shared
            .ban_regexes
            .get_or_init(|| shared.forbidden.iter().map(|f| regex::Regex::new(&f.pattern).ok()).collect());
        let mut sources = Vec::new();
        let mut what = Vec::new();
        for (f, re) in shared.forbidden.iter().zip(regexes) {
            if re.as_ref().is_some_and(|re| re.is_match(&open) || re.is_match(&closed)) {
                sources.extend(f.sources.iter().copied());
                what.push(f.description.clone());
            }
        }
        sources.sort_unstable();
        sources.dedup();
        let shown = (b as char).escape_default().to_string();
        if what.is_empty() {
            (format!("`{shown}` would complete a banned text"), sources)
        } else {
            (format!("`{shown}` would complete a banned {}", what.join(" / ")), sources)
        }
    }
}

/// The identifier that ends `text` (empty when it ends otherwise, or with a number).
fn trailing_ident(text: &[u8]) -> &str {
    let start = text.iter().rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_')).map_or(0, |i| i + 1);
    let word = &text[start..];
    if word.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
        std::str::from_utf8(word).unwrap_or("")
    } else {
        ""
    }
}

/// Whether the binding whose name ends at `at` in `text` is one of a `let` statement's pattern (not `if let` or
/// `while let`, whose bindings are in scope in the block that follows).
fn is_let_binding(text: &[u8], at: usize) -> bool {
    let head = &text[..at.min(text.len())];
    let Some(pos) = head.windows(5).rposition(|w| {
        w[1..4] == *b"let" && !(w[0].is_ascii_alphanumeric() || w[0] == b'_') && matches!(w[4], b' ' | b'(' | b'\n')
    }) else {
        return false;
    };
    let pattern = &head[pos + 4..];
    if pattern.iter().any(|b| matches!(b, b';' | b'{' | b'}' | b'=')) {
        return false;
    }
    let before = String::from_utf8_lossy(&head[..=pos]);
    !matches!(words(before.trim_end()).last(), Some("if" | "while"))
}

/// Why a line the new bytes (`text` from `from` on) complete should not be written: an empty `//` comment, the
/// same line as the one before it (a loop a small model falls into; lines of closing punctuation aside), or a
/// comment that says what one of the two comments just before it says, a word apart (no program is lost: it
/// is a comment; a fourth comment line in a row is refused where it starts, [`comment_run`]).
fn repeated_line(text: &[u8], from: usize) -> Option<String> {
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    // Lines completed by the new bytes: those whose newline lies at or past `from`.
    let mut end = 0usize;
    let mut previous: Option<&[u8]> = None;
    let mut comments: Vec<Vec<&[u8]>> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        end += line.len();
        let complete = i + 1 < lines.len();
        let trimmed = line.trim_ascii();
        if complete && end >= from {
            if matches!(trimmed, b"//" | b"///" | b"//!") {
                return Some("an empty comment".into());
            }
            if !trimmed.is_empty() && trimmed.iter().any(u8::is_ascii_alphanumeric) && previous == Some(trimmed) {
                return Some(format!("the line `{}` again", String::from_utf8_lossy(trimmed)));
            }
            if let Some(words) = comment_words(trimmed)
                && comments.iter().rev().take(2).any(|c| near_same(c, &words))
            {
                return Some(format!(
                    "the comment `{}` says again what one just before says",
                    String::from_utf8_lossy(trimmed)
                ));
            }
        }
        if !trimmed.is_empty() {
            previous = Some(trimmed);
            // Comments written one after another (code between them ends the run).
            match comment_words(trimmed) {
                Some(words) => comments.push(words),
                None => comments.clear(),
            }
        }
        end += 1;
    }
    None
}

/// The most comment lines a body writes in a row (blank lines between them aside): past them a small model's
/// comments run on to the end of its budget. No program needs them.
const MAX_COMMENT_RUN: usize = 3;

/// Why a comment cannot start at the end of `text`: it would be the line's first and the comment lines right
/// before it (blank lines aside) are already [`MAX_COMMENT_RUN`]. Judged where the comment starts, while the
/// draft can still write code instead.
fn comment_run(text: &[u8]) -> Option<String> {
    let mut lines = text.split(|&b| b == b'\n').rev();
    if !lines.next()?.trim_ascii().is_empty() {
        return None;
    }
    let run = lines
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty())
        .take_while(|l| l.starts_with(b"//"))
        .take(MAX_COMMENT_RUN)
        .count();
    (run >= MAX_COMMENT_RUN).then(|| format!("{MAX_COMMENT_RUN} comment lines in a row already: write the code"))
}

/// The words of a `//` comment line (`None` for any other line).
fn comment_words(line: &[u8]) -> Option<Vec<&[u8]>> {
    let text = line.strip_prefix(b"//")?;
    Some(text.split(|b| b.is_ascii_whitespace() || *b == b'/').filter(|w| !w.is_empty()).collect())
}

/// Whether two comments of three words or more say the same with at most one word changed, added or left out
/// (a small model's loop: `// Add the byte to the set` then `// Add the bytes to the set`).
fn near_same(a: &[&[u8]], b: &[&[u8]]) -> bool {
    if a.len().max(b.len()) < 3 || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let head = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    let tail = short.iter().rev().zip(long.iter().rev()).take_while(|(x, y)| x == y).count();
    // One word added (the lengths differ) or one word changed (they do not): the rest matches on both sides.
    head + tail >= short.len() - usize::from(short.len() == long.len())
}

/// A primitive type's name the bytes of `text` from `from` on complete as a member (`.as_ref().str()`: the
/// lexer reads it as a type, which the member roles do not see), outside comments and strings (judged by the
/// line: no `//` before it, an even number of `"`).
fn primitive_member(text: &[u8], from: usize) -> Option<String> {
    let is_id = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut at = from.saturating_sub(8);
    while let Some(d) = text.get(at..)?.iter().position(|&b| b == b'.').map(|p| p + at) {
        at = d + 1;
        let len = text[d + 1..].iter().take_while(|&&b| is_id(b)).count();
        let end = d + 1 + len;
        if len == 0 || end >= text.len() || end < from || (d > 0 && text[d - 1] == b'.') {
            continue;
        }
        let name = &text[d + 1..end];
        let line = &text[text[..d].iter().rposition(|&b| b == b'\n').map_or(0, |n| n + 1)..d];
        if line.windows(2).any(|w| w == b"//") || line.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
            continue;
        }
        let name = String::from_utf8_lossy(name);
        if crate::identifiers::is_primitive_type(&name) {
            return Some(name.into_owned());
        }
    }
    None
}

/// Whether the bytes of `text` from `from` on complete a `self` that is a value (not followed by `::`), outside
/// comments and string literals (judged by the line: no `//` before it, an even number of `"`).
fn self_value(text: &[u8], from: usize) -> bool {
    let is_id = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut at = 0;
    while let Some(i) = text[at..].windows(4).position(|w| w == b"self").map(|i| i + at) {
        at = i + 4;
        let end = i + 4;
        // Complete (a byte other than whitespace follows it), a whole word, and the new bytes hold what follows
        // it (`self` then a line break, then `}`: judged at the `}`).
        let next = end + text[end..].iter().take_while(|b| b.is_ascii_whitespace()).count();
        if next >= text.len() || next < from || is_id(text[end]) || (i > 0 && is_id(text[i - 1])) {
            continue;
        }
        let rest = &text[next..];
        if rest.starts_with(b":") || (i > 0 && text[i - 1] == b':') {
            continue;
        }
        let line = &text[text[..i].iter().rposition(|&b| b == b'\n').map_or(0, |n| n + 1)..i];
        if line.windows(2).any(|w| w == b"//") || line.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
            continue;
        }
        return true;
    }
    false
}

/// The index of the `(` that the `)` just past `text` closes (`None` when it is not in `text`).
/// Where the path ending `text` starts, when it names a function (`Parser::new`, `mem::take`: two or more
/// segments, the last lower-case) and nothing follows it but whitespace.
fn uncalled_function_path(text: &[u8]) -> Option<usize> {
    let text = text.trim_ascii_end();
    let last = trailing_ident(text);
    if !last.starts_with(|c: char| c.is_ascii_lowercase()) {
        return None;
    }
    let mut at = text.len() - last.len();
    let mut segments = 1;
    while let Some(head) = text[..at].strip_suffix(b"::") {
        let seg = trailing_ident(head);
        if seg.is_empty() {
            return None;
        }
        at = head.len() - seg.len();
        segments += 1;
    }
    (segments > 1).then_some(at)
}

/// Whether a call's arguments are exactly `params`, in order, each passed on as it came (borrowed, dereferenced or
/// cloned at most: `&input`, `*n`, `set.clone()`); `self` among them only for a call by path (`Self::f(self, x)`,
/// where a bare call passes `x` alone).
fn passes_on(args: &[u8], params: &[String], by_path: bool) -> bool {
    let args = String::from_utf8_lossy(args);
    let pieces: Vec<&str> = args.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
    let params: Vec<&String> = params.iter().filter(|p| by_path || p.as_str() != "self").collect();
    pieces.len() == params.len()
        && pieces.iter().zip(params).all(|(arg, param)| {
            let mut a = *arg;
            loop {
                let next = a
                    .strip_prefix("&mut ")
                    .or_else(|| a.strip_prefix('&'))
                    .or_else(|| a.strip_prefix('*'))
                    .or_else(|| a.strip_suffix(".clone()"))
                    .or_else(|| a.strip_suffix(".as_ref()"))
                    .or_else(|| a.strip_suffix(".into()"))
                    .map(str::trim);
                match next {
                    Some(n) => a = n,
                    None => break,
                }
            }
            a == param
        })
}

fn matching_open(text: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &b) in text.iter().enumerate().rev() {
        match b {
            b')' | b']' | b'}' => depth += 1,
            b'(' | b'[' | b'{' => {
                if depth == 0 {
                    return (b == b'(').then_some(i);
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    None
}

/// Why a path segment cannot stand after `before` (which ends with `::`) followed by `after`: a lower-case member
/// of a type (`Buffer::new`) is a function or constant, not a module, so no `::` but a turbofish's follows it
/// (`Buffer::new::new()`, judged both at the second `::` and at the name after it).
fn function_as_path(before: &[u8], name: &str, after: &[u8]) -> Option<String> {
    let is_lower = |w: &str| w.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
    let is_type = |w: &str| w.starts_with(|c: char| c.is_ascii_uppercase());
    let mut head = before.strip_suffix(b"::")?;
    // `Buffer::new::<u8>::`: the turbofish's arguments stand for no segment.
    if head.ends_with(b">") {
        head = before_turbofish(head)?;
    }
    let seg = trailing_ident(head);
    if is_lower(seg) {
        let ty = trailing_ident(head[..head.len() - seg.len()].strip_suffix(b"::")?);
        return is_type(ty).then(|| format!("`{ty}::{seg}` is a function or constant, not a module"));
    }
    let tail = after.trim_ascii_start().strip_prefix(b"::")?.trim_ascii_start();
    (is_type(seg) && is_lower(name) && !tail.is_empty() && !tail.starts_with(b"<"))
        .then(|| format!("`{seg}::{name}` is a function or constant, not a module"))
}

/// What `head`, ending with a turbofish (`Buffer::new::<u8>`), has before it (`Buffer::new`).
fn before_turbofish(head: &[u8]) -> Option<&[u8]> {
    let mut depth = 0usize;
    let open = head.iter().rposition(|&b| {
        match b {
            b'>' => depth += 1,
            b'<' => depth = depth.saturating_sub(1),
            _ => {}
        }
        depth == 0
    })?;
    head[..open].strip_suffix(b"::")
}

/// Whether a `::` after `head` and before `tail` goes on from a function or constant of a type (`Buffer::new::x`,
/// `Buffer::new::<u8>::x`): only a turbofish may follow `Type::name`, and only a call the turbofish.
fn path_after_function(head: &[u8], tail: &[u8]) -> bool {
    let is_type = |w: &str| w.starts_with(|c: char| c.is_ascii_uppercase());
    let is_lower = |w: &str| w.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
    let type_member = |h: &[u8]| {
        let seg = trailing_ident(h);
        is_lower(seg) && h[..h.len() - seg.len()].strip_suffix(b"::").is_some_and(|t| is_type(trailing_ident(t)))
    };
    if head.ends_with(b">") {
        return before_turbofish(head).is_some_and(type_member);
    }
    let tail = tail.trim_ascii_start();
    type_member(head) && !tail.is_empty() && !tail.starts_with(b"<")
}

/// Whether `text` followed by `bytes` ends with a `>>` the new bytes wrote (all of it or its second `>`).
fn ends_in_shr(text: &[u8], bytes: &[u8]) -> bool {
    match bytes {
        [.., b'>', b'>'] => true,
        [b'>'] => text.ends_with(b">") && !text.ends_with(b">>"),
        _ => false,
    }
}

/// Whether the new bytes write a `>>` (or its second `>`) that is followed by more of them.
fn writes_shr(text: &[u8], bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w == b">>") || text.ends_with(b">") && bytes.first() == Some(&b'>')
}

/// The innermost `(` of `text` still open, blocks and brackets opened after it included (`f({ x`).
fn open_paren(text: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &b) in text.iter().enumerate().rev() {
        match b {
            b')' | b']' | b'}' => depth += 1,
            b'(' if depth == 0 => return Some(i),
            b'[' | b'{' if depth == 0 => {}
            b'(' | b'[' | b'{' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Whether a written type is one of Rust's scalar primitives (numbers, `char`, `bool`: the primitive types but
/// `str`).
/// std's types that are no values (no unit or tuple struct, no function of that name): written in an expression,
/// only `::` may follow them.
const STD_TYPES_NOT_VALUES: &[&str] = &[
    "Vec",
    "VecDeque",
    "String",
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "BinaryHeap",
    "LinkedList",
    "Box",
    "Rc",
    "Arc",
    "Cell",
    "RefCell",
    "Mutex",
    "RwLock",
    "Option",
    "Result",
    "PathBuf",
    "Path",
    "OsString",
    "OsStr",
    "Cow",
];

/// Why `arg` (an argument as written so far, trimmed) cannot be passed where `callee` declares a parameter of
/// type `want`: a shared reference (`&x`) where it takes `&mut T` (E0308: `&mut x`), or any reference where it
/// takes a primitive type by value. `None` when it may be (`&m` may still become `&mut`).
fn wrong_borrow(callee: &str, arg: &str, want: &str) -> Option<String> {
    let rest = arg.strip_prefix('&')?.trim_start();
    let want = want.trim();
    if is_scalar(want) {
        return Some(format!("`{callee}` takes a `{want}` there, not a reference"));
    }
    let after = want.strip_prefix('&')?.trim_start();
    // A lifetime (`&'a mut T`) comes first.
    let after = match after.strip_prefix('\'') {
        Some(l) => l.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_').trim_start(),
        None => after,
    };
    let wants_mut = after.strip_prefix("mut").is_some_and(|r| r.starts_with(char::is_whitespace));
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let writes_mut = rest.strip_prefix("mut").is_some_and(|r| !r.starts_with(ident))
        || (!rest.is_empty() && "mut".starts_with(rest));
    if wants_mut && !rest.is_empty() && !writes_mut {
        return Some(format!("`{callee}` takes `{want}` there: pass `&mut {}`", rest.trim_start_matches('&')));
    }
    None
}

fn is_scalar(ty: &str) -> bool {
    let ty = ty.trim();
    ty != "str" && crate::identifiers::is_primitive_type(ty)
}

/// A call's arguments split at its top-level commas (brackets nested; the caller skips arguments holding string
/// or char literals). A trailing comma adds no argument.
fn split_args(args: &[u8]) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, &b) in args.iter().enumerate() {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                pieces.push(&args[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !args[start..].trim_ascii().is_empty() {
        pieces.push(&args[start..]);
    }
    pieces
}

/// At least how many arguments are between a call's parentheses: [`count_args`] when they hold no closure, else
/// those before the first `|` (a closure's parameters hold commas), and the closure itself when a `,` or the
/// call's `(` comes right before it (`f(a, |x| ..)` has two; `f(a || b)` at least one).
fn min_args(args: &[u8]) -> usize {
    let Some(bar) = args.iter().position(|&b| b == b'|') else { return count_args(args) };
    let prefix = &args[..bar];
    if prefix.iter().any(|b| matches!(b, b'"' | b'\'')) {
        return count_args(prefix);
    }
    let code = crate::identifiers::strip_comments(&String::from_utf8_lossy(prefix));
    let code = code.trim();
    count_args(prefix) + usize::from(code.is_empty() || code.ends_with(','))
}

/// The number of arguments between a call's parentheses (top-level commas; a trailing comma adds none; commas
/// and brackets in strings, char literals and comments do not count, nor does a comment alone).
fn count_args(args: &[u8]) -> usize {
    let mut depth = 0i32;
    let mut n = 0;
    let mut piece_has_text = false;
    let mut i = 0;
    while i < args.len() {
        let b = args[i];
        let rest = &args[i..];
        if rest.starts_with(b"//") {
            i += rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            continue;
        }
        if rest.starts_with(b"/*") {
            i += rest.windows(2).position(|w| w == b"*/").map_or(rest.len(), |p| p + 2);
            continue;
        }
        match b {
            b'"' => {
                piece_has_text = true;
                let mut j = 1;
                while j < rest.len() && rest[j] != b'"' {
                    j += if rest[j] == b'\\' { 2 } else { 1 };
                }
                i += j + 1;
                continue;
            }
            // A char literal (`','`, `'\''`); a lifetime's quote has no closing one this close.
            b'\'' => {
                let close = if rest.get(1) == Some(&b'\\') { 3 } else { 2 };
                if let Some(end) = rest.iter().skip(close).take(8).position(|&c| c == b'\'') {
                    piece_has_text = true;
                    i += close + end + 1;
                    continue;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                if piece_has_text {
                    n += 1;
                }
                piece_has_text = false;
                i += 1;
                continue;
            }
            _ => {}
        }
        if !b.is_ascii_whitespace() {
            piece_has_text = true;
        }
        i += 1;
    }
    n + usize::from(piece_has_text)
}

/// Whether the receiver of a member access (`before` ending with its `.`) is `self` itself, not `x.self` or a
/// path.
fn receiver_is_self(before: &[u8]) -> bool {
    let Some(head) = before.strip_suffix(b".") else { return false };
    let head = head.trim_ascii_end();
    head.strip_suffix(b"self").is_some_and(|rest| {
        rest.last().is_none_or(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b':'))
    })
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Free => "name",
        Role::Value => "value, function or path",
        Role::Member => "field or method",
        Role::Type => "type",
        Role::Path => "path segment",
        Role::Token => "macro token",
    }
}

/// The lexer state after `bytes` from `state` when no byte completes a lexeme (`None` when one does, or the lexer
/// refuses a byte).
fn quiet_steps(lx: &Lexer, mut state: LexState, bytes: &[u8]) -> Option<LexState> {
    for &b in bytes {
        let step = lx.step(state, b)?;
        if step.emit.iter().any(|&k| k != NO_KIND) {
            return None;
        }
        state = step.next;
    }
    Some(state)
}
