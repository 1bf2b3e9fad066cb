//! A grammar written in a small Lark-like notation, compiled to a deterministic pushdown automaton over the
//! lexer's kinds: each rule is a DFA over terminals and calls of other rules (a recursive transition network), and
//! an LL(1) table says, for every frame (a state of a rule's DFA) and kind, what to do: shift, call a rule (the
//! whole chain of calls down to the shift is precomputed) or return to the caller.
//!
//! The notation: `rule: alternatives`; `"text"` is a keyword or punctuation; upper-case names are token classes
//! (`IDENT`, `INT`, ...; `TT` is any lexeme but a delimiter; `NAME` is an identifier or a soft keyword, and `VNAME`, `MNAME`, `TNAME`, `PNAME` are the
//! same with a role for the identifier layer: a value, a member after `.`, a type, a path segment after `::`);
//! `( )`, `|`, `*`, `+`, `?` as usual; rules whose name starts with `_` are inlined where they are used. Rules may
//! not match the empty string, and the table must be conflict-free: [`Grammar::compile`] reports every conflict.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::lexer::{self, Cat, Kind, KindSet, N_KINDS};

/// A frame: a state of one rule's DFA, numbered across all rules.
pub(crate) type Frame = u16;

/// The role of an identifier terminal, for the identifier layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Role {
    /// Any identifier (a new binding, a label, a field name in a literal).
    Free = 0,
    /// The start of a value path: a local, a parameter, a function, a type, a module, a macro.
    Value = 1,
    /// A field or method after `.`.
    Member = 2,
    /// A type name.
    Type = 3,
    /// A path segment after `::`.
    Path = 4,
    /// An identifier inside the token tree of a macro with no grammar of its own: neither checked nor a binding.
    Token = 5,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Sym {
    /// A terminal class with a role.
    Term(Vec<Kind>, Role),
    Rule(String),
    /// `!"<="`: where it stands, the rule may not end before this kind (the caller may not take it).
    Block(Kind),
}

#[derive(Clone, Debug)]
pub(crate) enum Rx {
    Sym(Sym),
    Seq(Vec<Rx>),
    Alt(Vec<Rx>),
    Star(Box<Rx>),
    Plus(Box<Rx>),
    Opt(Box<Rx>),
}

/// A rule as written.
#[derive(Clone, Debug)]
pub(crate) struct RuleText {
    pub name: String,
    pub body: String,
}

/// Parses the notation into rules (in order).
pub(crate) fn parse_rules(text: &str) -> Result<Vec<RuleText>, String> {
    let mut rules: Vec<RuleText> = Vec::new();
    for raw in text.lines() {
        let line = match raw.find("//") {
            // `//` inside a quoted terminal is not a comment.
            Some(at) if raw[..at].matches('"').count() % 2 == 0 => &raw[..at],
            _ => raw,
        };
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            let last = rules.last_mut().ok_or_else(|| format!("continuation line before any rule: {line}"))?;
            last.body.push(' ');
            last.body.push_str(line.trim());
            continue;
        }
        let (name, body) = line.split_once(':').ok_or_else(|| format!("not a rule: {line}"))?;
        rules.push(RuleText { name: name.trim().to_owned(), body: body.trim().to_owned() });
    }
    Ok(rules)
}

struct RxParser<'a> {
    toks: Vec<&'a str>,
    at: usize,
}

fn tokenize(body: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'"' || (c == b'!' && bytes.get(i + 1) == Some(&b'"')) {
            let open = if c == b'!' { i + 1 } else { i };
            let end = body[open + 1..].find('"').ok_or_else(|| format!("unclosed string in {body}"))? + open + 2;
            out.push(&body[i..end]);
            i = end;
        } else if b"()|*+?".contains(&c) {
            out.push(&body[i..=i]);
            i += 1;
        } else {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            if start == i {
                return Err(format!("unexpected {:?} in {body}", c as char));
            }
            out.push(&body[start..i]);
        }
    }
    Ok(out)
}

impl RxParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.at).copied()
    }

    fn alt(&mut self) -> Result<Rx, String> {
        let mut alts = vec![self.seq()?];
        while self.peek() == Some("|") {
            self.at += 1;
            alts.push(self.seq()?);
        }
        Ok(if alts.len() == 1 { alts.pop().unwrap_or(Rx::Seq(Vec::new())) } else { Rx::Alt(alts) })
    }

    fn seq(&mut self) -> Result<Rx, String> {
        let mut items = Vec::new();
        while let Some(t) = self.toks.get(self.at).copied() {
            if t == "|" || t == ")" {
                break;
            }
            let mut item = if t == "(" {
                self.at += 1;
                let inner = self.alt()?;
                if self.peek() != Some(")") {
                    return Err("missing `)`".to_owned());
                }
                self.at += 1;
                inner
            } else {
                self.at += 1;
                Rx::Sym(symbol(t)?)
            };
            while let Some(op) = self.peek() {
                item = match op {
                    "*" => Rx::Star(Box::new(item)),
                    "+" => Rx::Plus(Box::new(item)),
                    "?" => Rx::Opt(Box::new(item)),
                    _ => break,
                };
                self.at += 1;
            }
            items.push(item);
        }
        Ok(Rx::Seq(items))
    }
}

/// Parses one rule's body.
pub(crate) fn parse_rx(body: &str) -> Result<Rx, String> {
    let toks = tokenize(body)?;
    let mut p = RxParser { toks, at: 0 };
    let rx = p.alt()?;
    if p.at != p.toks.len() {
        return Err("trailing input".to_owned());
    }
    Ok(rx)
}

/// The identifier-like kinds: `IDENT`, the soft keywords and the primitive types' names.
pub(crate) fn name_kinds() -> Vec<Kind> {
    (0..N_KINDS as Kind).filter(|&k| k == lexer::k("IDENT") || matches!(lexer::cat(k), Cat::Soft | Cat::Prim)).collect()
}

fn symbol(t: &str) -> Result<Sym, String> {
    if let Some(text) = t.strip_prefix("!\"").and_then(|t| t.strip_suffix('"')) {
        return Ok(Sym::Block(lexer::kind(text).ok_or_else(|| format!("no lexeme {text:?}"))?));
    }
    if let Some(text) = t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        let kind = lexer::kind(text).ok_or_else(|| format!("no lexeme {text:?}"))?;
        // A soft keyword written out is a macro name: a value, like the identifiers it merges with.
        let role = if lexer::cat(kind) == Cat::Soft { Role::Value } else { Role::Free };
        return Ok(Sym::Term(vec![kind], role));
    }
    if t.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
        let role = match t {
            "NAME" => Some(Role::Free),
            "VNAME" => Some(Role::Value),
            "MNAME" => Some(Role::Member),
            "TNAME" => Some(Role::Type),
            "PNAME" => Some(Role::Path),
            _ => None,
        };
        if let Some(role) = role {
            return Ok(Sym::Term(name_kinds(), role));
        }
        if t == "VIDENT" {
            return Ok(Sym::Term(vec![lexer::k("IDENT")], Role::Value));
        }
        if t == "TT" {
            // Any lexeme but a delimiter: what a macro's token tree holds between its brackets. Not `~`, which
            // tree-sitter-rust refuses, nor a lifetime, which syn's lexer can misread next to other tokens.
            let delims = ["(", ")", "[", "]", "{", "}", "~", "LIFETIME"].map(lexer::k);
            let kinds = (0..N_KINDS as Kind)
                .filter(|&k| !matches!(lexer::cat(k), Cat::Trivia | Cat::Reserved) && !delims.contains(&k))
                .collect();
            return Ok(Sym::Term(kinds, Role::Token));
        }
        if t == "UNDERSCORE" {
            return Ok(Sym::Term(vec![lexer::k("_")], Role::Free));
        }
        let kind = lexer::kind(t).ok_or_else(|| format!("no token class {t}"))?;
        return Ok(Sym::Term(vec![kind], Role::Free));
    }
    Ok(Sym::Rule(t.to_owned()))
}

/// An edge label of a rule DFA: a terminal kind with a role, or a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Label {
    Term(Kind, Role),
    Call(u16),
}

/// A frame's outgoing edges.
#[derive(Clone, Debug, Default)]
struct FrameDef {
    rule: u16,
    final_: bool,
    edges: Vec<(Label, Frame)>,
    /// Kinds on which the rule may not end here.
    blocked: KindSet,
}

/// What to do with a kind in a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Error,
    /// Return to the caller (the frame may end here and has nothing for this kind).
    Pop,
    /// Replace the top frame with `chain[0]` and push the rest; `role` is the shifted terminal's role.
    Shift {
        chain: u32,
        len: u8,
        role: Role,
    },
}

/// The compiled grammar.
pub(crate) struct Grammar {
    pub rule_names: Vec<String>,
    /// Each rule's start frame.
    pub rule_start: Vec<Frame>,
    frames: Vec<FrameDef>,
    /// `frames × kinds` actions, packed (see [`Grammar::action`]).
    actions: Vec<u32>,
    chains: Vec<Frame>,
    /// Per frame: the kinds it handles itself (shift, or call and shift).
    pub accepts: Vec<KindSet>,
    /// The start rule's start frame.
    pub start: Frame,
}

impl std::fmt::Debug for Grammar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grammar")
            .field("rules", &self.rule_names.len())
            .field("frames", &self.frames.len())
            .finish_non_exhaustive()
    }
}

const ROLE_BITS: u32 = 3;

impl Grammar {
    /// Compiles rules; the first is the start rule. Errors name every LL(1) conflict.
    pub(crate) fn compile(texts: &[RuleText]) -> Result<Grammar, String> {
        // Inline `_rules`.
        fn inline(rx: &Rx, parsed: &BTreeMap<String, Rx>, depth: usize) -> Result<Rx, String> {
            if depth > 32 {
                return Err("inline rules recurse".to_owned());
            }
            Ok(match rx {
                Rx::Sym(Sym::Rule(n)) if n.starts_with('_') => {
                    let body = parsed.get(n).ok_or_else(|| format!("no rule {n}"))?;
                    inline(body, parsed, depth + 1)?
                }
                Rx::Sym(s) => Rx::Sym(s.clone()),
                Rx::Seq(v) => Rx::Seq(v.iter().map(|x| inline(x, parsed, depth)).collect::<Result<_, _>>()?),
                Rx::Alt(v) => Rx::Alt(v.iter().map(|x| inline(x, parsed, depth)).collect::<Result<_, _>>()?),
                Rx::Star(x) => Rx::Star(Box::new(inline(x, parsed, depth)?)),
                Rx::Plus(x) => Rx::Plus(Box::new(inline(x, parsed, depth)?)),
                Rx::Opt(x) => Rx::Opt(Box::new(inline(x, parsed, depth)?)),
            })
        }
        let by_name: HashMap<&str, &RuleText> = texts.iter().map(|r| (r.name.as_str(), r)).collect();
        let mut parsed: BTreeMap<String, Rx> = BTreeMap::new();
        for r in texts {
            let toks = tokenize(&r.body)?;
            let mut p = RxParser { toks, at: 0 };
            let rx = p.alt()?;
            if p.at != p.toks.len() {
                return Err(format!("rule {}: trailing input", r.name));
            }
            parsed.insert(r.name.clone(), rx);
        }
        let rule_names: Vec<String> = texts.iter().map(|r| r.name.clone()).filter(|n| !n.starts_with('_')).collect();
        let index: HashMap<&str, u16> = rule_names.iter().enumerate().map(|(i, n)| (n.as_str(), i as u16)).collect();
        let mut frames: Vec<FrameDef> = Vec::new();
        let mut rule_start = Vec::new();
        for (ri, name) in rule_names.iter().enumerate() {
            let rx = inline(&parsed[name], &parsed, 0)?;
            let start = dfa(&rx, ri as u16, &index, &mut frames).map_err(|e| format!("rule {name}: {e}"))?;
            rule_start.push(start);
        }
        let _ = by_name;

        for (ri, &s) in rule_start.iter().enumerate() {
            if frames[s as usize].final_ {
                return Err(format!("rule {} matches the empty string", rule_names[ri]));
            }
        }
        // FIRST sets.
        let n_rules = rule_names.len();
        let mut first: Vec<KindSet> = vec![KindSet::default(); n_rules];
        loop {
            let mut changed = false;
            for r in 0..n_rules {
                let mut set = first[r];
                for (label, _) in &frames[rule_start[r] as usize].edges {
                    match *label {
                        Label::Term(k, _) => set.insert(k),
                        Label::Call(c) => set.union(&first[c as usize]),
                    }
                }
                if set != first[r] {
                    first[r] = set;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        // The table.
        let n = frames.len();
        let mut actions = vec![0u32; n * N_KINDS];
        let mut chains: Vec<Frame> = Vec::new();
        let mut accepts = vec![KindSet::default(); n];
        let mut conflicts = Vec::new();
        for f in 0..n {
            for kind in 0..N_KINDS as Kind {
                match resolve(&frames, &rule_start, &first, f as Frame, kind, 0) {
                    Ok(Some((chain, role))) => {
                        let at = chains.len() as u32;
                        let len = chain.len() as u32;
                        chains.extend(chain);
                        actions[f * N_KINDS + kind as usize] = 2 | (role as u32) << 2 | len << 5 | at << 10;
                        accepts[f].insert(kind);
                    }
                    Ok(None) => {
                        if frames[f].final_ && !frames[f].blocked.contains(kind) {
                            actions[f * N_KINDS + kind as usize] = 1;
                        }
                    }
                    Err(e) => conflicts.push(format!(
                        "rule {} frame {f} on {:?}: {e}",
                        rule_names[frames[f].rule as usize],
                        lexer::KINDS[kind as usize].0
                    )),
                }
            }
        }

        if !conflicts.is_empty() {
            conflicts.sort();
            conflicts.dedup();
            let shown: Vec<&str> = conflicts.iter().take(40).map(String::as_str).collect();
            return Err(format!("{} conflicts:\n{}", conflicts.len(), shown.join("\n")));
        }
        let start = rule_start[0];
        Ok(Grammar { rule_names, rule_start, frames, actions, chains, accepts, start })
    }

    /// The action for `kind` in `frame`.
    #[inline]
    pub(crate) fn action(&self, frame: Frame, kind: Kind) -> Action {
        let a = self.actions[frame as usize * N_KINDS + kind as usize];
        match a & 3 {
            0 => Action::Error,
            1 => Action::Pop,
            _ => Action::Shift {
                chain: a >> 10,
                len: ((a >> 5) & 31) as u8,
                role: match (a >> 2) & ((1 << ROLE_BITS) - 1) {
                    1 => Role::Value,
                    2 => Role::Member,
                    3 => Role::Type,
                    4 => Role::Path,
                    5 => Role::Token,
                    _ => Role::Free,
                },
            },
        }
    }

    /// The frames of a chain.
    #[inline]
    pub(crate) fn chain(&self, at: u32, len: u8) -> &[Frame] {
        &self.chains[at as usize..at as usize + len as usize]
    }

    /// Whether the frame's rule may end here.
    #[inline]
    pub(crate) fn is_final(&self, frame: Frame) -> bool {
        self.frames[frame as usize].final_
    }

    /// The kinds on which the frame's rule may not end.
    #[inline]
    pub(crate) fn blocked(&self, frame: Frame) -> &KindSet {
        &self.frames[frame as usize].blocked
    }

    pub(crate) fn frames(&self) -> usize {
        self.frames.len()
    }

    /// The rule a frame belongs to.
    pub(crate) fn rule_of(&self, frame: Frame) -> &str {
        &self.rule_names[self.frames[frame as usize].rule as usize]
    }

    /// The fewest bytes that finish each frame's rule from that frame, given the cost of each terminal (its
    /// shortest text, with the separator it may need before it): `(need, need_first)`, where `need_first` does not
    /// charge a separator for the first terminal (the text before it ends with whitespace or a delimiter).
    /// Shortest paths through the recursive network, by relaxation to a fixed point (costs are positive).
    pub(crate) fn needs(&self, cost: impl Fn(Kind, Role, bool) -> u32) -> (Vec<u32>, Vec<u32>) {
        const INF: u32 = u32::MAX / 4;
        let n = self.frames.len();
        let mut need = vec![INF; n];
        for (f, def) in self.frames.iter().enumerate() {
            if def.final_ {
                need[f] = 0;
            }
        }
        loop {
            let mut changed = false;
            for f in 0..n {
                let mut best = need[f];
                for &(label, t) in &self.frames[f].edges {
                    let c = match label {
                        Label::Term(k, role) => cost(k, role, true).saturating_add(need[t as usize]),
                        Label::Call(r) => need[self.rule_start[r as usize] as usize].saturating_add(need[t as usize]),
                    };
                    best = best.min(c);
                }
                if best < need[f] {
                    need[f] = best;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut first = need.clone();
        loop {
            let mut changed = false;
            for f in 0..n {
                let mut best = first[f];
                for &(label, t) in &self.frames[f].edges {
                    let c = match label {
                        Label::Term(k, role) => cost(k, role, false).saturating_add(need[t as usize]),
                        Label::Call(r) => first[self.rule_start[r as usize] as usize].saturating_add(need[t as usize]),
                    };
                    best = best.min(c);
                }
                if best < first[f] {
                    first[f] = best;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        (need, first)
    }

    /// The terminal edges and calls of a frame: `(Some(kind), None, target)` or `(None, Some(rule), return)`.
    pub(crate) fn edges(&self, frame: Frame) -> impl Iterator<Item = (Option<Kind>, Option<u16>, Frame)> + '_ {
        self.frames[frame as usize].edges.iter().map(|&(l, t)| match l {
            Label::Term(k, _) => (Some(k), None, t),
            Label::Call(r) => (None, Some(r), t),
        })
    }
}

/// The chain of frames for `kind` from `frame`: calls down to the shift. `Ok(None)`: nothing here.
fn resolve(
    frames: &[FrameDef],
    rule_start: &[Frame],
    first: &[KindSet],
    frame: Frame,
    kind: Kind,
    depth: usize,
) -> Result<Option<(Vec<Frame>, Role)>, String> {
    if depth > 24 {
        return Err("left recursion".to_owned());
    }
    let mut found: Vec<(Vec<Frame>, Role)> = Vec::new();
    let mut what = Vec::new();
    for &(label, target) in &frames[frame as usize].edges {
        match label {
            Label::Term(k, role) if k == kind => {
                found.push((vec![target], role));
                what.push("shift".to_owned());
            }
            Label::Call(r) if first[r as usize].contains(kind) => {
                if let Some((inner, role)) =
                    resolve(frames, rule_start, first, rule_start[r as usize], kind, depth + 1)?
                {
                    let mut chain = vec![target];
                    chain.extend(inner);
                    found.push((chain, role));
                    what.push(format!("call {r}"));
                }
            }
            _ => {}
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(format!("{} ways: {}", found.len(), what.join(", "))),
    }
}

/// Builds a rule's DFA (Thompson NFA, subset construction, then Moore minimization) and appends its frames.
fn dfa(rx: &Rx, rule: u16, index: &HashMap<&str, u16>, frames: &mut Vec<FrameDef>) -> Result<Frame, String> {
    // NFA: states with epsilon edges and labelled edges.
    struct Nfa {
        eps: Vec<Vec<usize>>,
        edges: Vec<Vec<(Label, usize)>>,
        blocks: Vec<Vec<Kind>>,
    }
    impl Nfa {
        fn state(&mut self) -> usize {
            self.eps.push(Vec::new());
            self.edges.push(Vec::new());
            self.blocks.push(Vec::new());
            self.eps.len() - 1
        }
    }
    fn build(nfa: &mut Nfa, rx: &Rx, index: &HashMap<&str, u16>) -> Result<(usize, usize), String> {
        Ok(match rx {
            Rx::Sym(Sym::Term(kinds, role)) => {
                let (a, b) = (nfa.state(), nfa.state());
                for &k in kinds {
                    nfa.edges[a].push((Label::Term(k, *role), b));
                }
                (a, b)
            }
            Rx::Sym(Sym::Block(k)) => {
                let (a, b) = (nfa.state(), nfa.state());
                nfa.eps[a].push(b);
                nfa.blocks[a].push(*k);
                (a, b)
            }
            Rx::Sym(Sym::Rule(name)) => {
                let r = *index.get(name.as_str()).ok_or_else(|| format!("no rule {name}"))?;
                let (a, b) = (nfa.state(), nfa.state());
                nfa.edges[a].push((Label::Call(r), b));
                (a, b)
            }
            Rx::Seq(items) => {
                let a = nfa.state();
                let mut end = a;
                for item in items {
                    let (s, e) = build(nfa, item, index)?;
                    nfa.eps[end].push(s);
                    end = e;
                }
                (a, end)
            }
            Rx::Alt(alts) => {
                let (a, b) = (nfa.state(), nfa.state());
                for alt in alts {
                    let (s, e) = build(nfa, alt, index)?;
                    nfa.eps[a].push(s);
                    nfa.eps[e].push(b);
                }
                (a, b)
            }
            Rx::Star(inner) | Rx::Plus(inner) | Rx::Opt(inner) => {
                let (enter, exit) = (nfa.state(), nfa.state());
                let (s, e) = build(nfa, inner, index)?;
                nfa.eps[enter].push(s);
                nfa.eps[e].push(exit);
                if !matches!(rx, Rx::Plus(_)) {
                    nfa.eps[enter].push(exit);
                }
                if !matches!(rx, Rx::Opt(_)) {
                    nfa.eps[e].push(s);
                }
                (enter, exit)
            }
        })
    }
    let mut nfa = Nfa { eps: Vec::new(), edges: Vec::new(), blocks: Vec::new() };
    let (s, e) = build(&mut nfa, rx, index)?;
    let closure = |set: &BTreeSet<usize>| -> BTreeSet<usize> {
        let mut out = set.clone();
        let mut stack: Vec<usize> = set.iter().copied().collect();
        while let Some(x) = stack.pop() {
            for &y in &nfa.eps[x] {
                if out.insert(y) {
                    stack.push(y);
                }
            }
        }
        out
    };
    // Subset construction.
    let start = closure(&BTreeSet::from([s]));
    let mut ids: HashMap<BTreeSet<usize>, usize> = HashMap::from([(start.clone(), 0)]);
    let mut sets = vec![start];
    let mut dedges: Vec<Vec<(Label, usize)>> = Vec::new();
    let mut i = 0;
    while i < sets.len() {
        let mut by_label: BTreeMap<Label, BTreeSet<usize>> = BTreeMap::new();
        for &x in &sets[i] {
            for &(l, y) in &nfa.edges[x] {
                by_label.entry(l).or_default().insert(y);
            }
        }
        let mut out = Vec::new();
        for (l, targets) in by_label {
            let t = closure(&targets);
            let id = if let Some(&id) = ids.get(&t) {
                id
            } else {
                ids.insert(t.clone(), sets.len());
                sets.push(t);
                sets.len() - 1
            };
            out.push((l, id));
        }
        dedges.push(out);
        i += 1;
    }
    let finals: Vec<bool> = sets.iter().map(|set| set.contains(&e)).collect();
    let blocked: Vec<KindSet> = sets
        .iter()
        .map(|set| {
            let mut b = KindSet::default();
            for &x in set {
                for &k in &nfa.blocks[x] {
                    b.insert(k);
                }
            }
            b
        })
        .collect();
    // Moore minimization.
    let n = sets.len();
    let mut initial: HashMap<(bool, KindSet), usize> = HashMap::new();
    let mut class: Vec<usize> = (0..n)
        .map(|x| {
            let len = initial.len();
            *initial.entry((finals[x], blocked[x])).or_insert(len)
        })
        .collect();
    loop {
        let mut sig: HashMap<(usize, Vec<(Label, usize)>), usize> = HashMap::new();
        let mut next = vec![0; n];
        for x in 0..n {
            let key = (class[x], dedges[x].iter().map(|&(l, t)| (l, class[t])).collect::<Vec<_>>());
            let len = sig.len();
            next[x] = *sig.entry(key).or_insert(len);
        }
        let stable = sig.len() == class.iter().collect::<BTreeSet<_>>().len();
        class = next;
        if stable {
            break;
        }
    }
    // Renumber so the start state comes first.
    let mut order: Vec<usize> = Vec::new();
    let mut seen = HashMap::new();
    for (x, &c) in class.iter().enumerate().take(n) {
        seen.entry(c).or_insert_with(|| {
            order.push(x);
            order.len() - 1
        });
    }
    let base = frames.len();
    for &x in &order {
        let edges = dedges[x].iter().map(|&(l, t)| (l, (base + seen[&class[t]]) as Frame)).collect();
        frames.push(FrameDef { rule, final_: finals[x], edges, blocked: blocked[x] });
    }
    if frames.len() >= u16::MAX as usize {
        return Err("too many frames".to_owned());
    }
    Ok((base + seen[&class[0]]) as Frame)
}
