//! Conflict detection and resolution within one bucket. Buckets come from [`crate::analyze`]; only members of one
//! bucket are compared, and within a bucket members are visited strongest first, each compared with the (few)
//! distinct values already kept, so the whole pass is near-linear in the number of constraints.

use std::cmp::Ordering;
use std::collections::HashMap;

use ananke_core::{Constraint, ErrorStyle, Rule};

use crate::analyze::{BucketKey, Side};
use crate::config::Limits;
use crate::ir::{Conflict, ConflictKind, Decider, Outcome};
use crate::pattern::{self, Answer};

/// Compares two constraints for resolution: user over extracted over default, then severity, then priority, then
/// confidence; all equal, the smaller id wins. Returns which is stronger and the criterion that decided.
pub fn compare(a: &Constraint, b: &Constraint) -> (Ordering, Decider) {
    let steps = [
        (a.provenance.rank().cmp(&b.provenance.rank()), Decider::Provenance),
        (a.severity.cmp(&b.severity), Decider::Severity),
        (a.priority.cmp(&b.priority), Decider::Priority),
        (a.provenance.confidence().total_cmp(&b.provenance.confidence()), Decider::Confidence),
        (b.id.cmp(&a.id), Decider::Id),
    ];
    steps.into_iter().find(|(o, _)| o.is_ne()).unwrap_or((Ordering::Equal, Decider::Id))
}

fn decider_phrase(winner: &Constraint, loser: &Constraint, decider: Decider) -> String {
    match decider {
        Decider::Provenance => format!("{} beats {}", origin_word(winner), origin_word(loser)),
        Decider::Severity => format!("{} beats {}", winner.severity, loser.severity),
        Decider::Priority => format!("priority {} beats {}", winner.priority.0, loser.priority.0),
        Decider::Confidence => {
            format!("confidence {:.2} beats {:.2}", winner.provenance.confidence(), loser.provenance.confidence())
        }
        Decider::Id => "equal standing, the smaller id is kept".to_owned(),
    }
}

fn origin_word(c: &Constraint) -> &'static str {
    match c.provenance.rank() {
        2 => "user-declared",
        1 => "extracted",
        _ => "default",
    }
}

/// Resolves buckets, caching automaton answers across buckets of one compilation.
pub(crate) struct Resolver<'l> {
    limits: &'l Limits,
    cache: HashMap<(u8, String, String), Answer>,
    dfas: pattern::DfaCache,
    /// Automaton questions asked for the current bucket (bounded by [`MAX_QUESTIONS_PER_BUCKET`]).
    asked: usize,
}

/// Past this many automaton questions in one bucket, further pairs are reported undecided: a bucket where hundreds
/// of rules mention one word would otherwise make detection quadratic.
const MAX_QUESTIONS_PER_BUCKET: usize = 256;

/// A bucket member: the constraint and what it brings to this bucket.
pub(crate) type Member<'c> = (&'c Constraint, &'c Side);

impl<'l> Resolver<'l> {
    pub(crate) fn new(limits: &'l Limits) -> Self {
        Resolver { limits, cache: HashMap::new(), dfas: pattern::DfaCache::default(), asked: 0 }
    }

    fn ask(&mut self, question: u8, a: &str, b: &str) -> Answer {
        let limits = self.limits;
        let key = (question, a.to_owned(), b.to_owned());
        if let Some(answer) = self.cache.get(&key) {
            return *answer;
        }
        self.asked += 1;
        if self.asked > MAX_QUESTIONS_PER_BUCKET {
            return Answer::Undecided;
        }
        let dfas = &mut self.dfas;
        let answer = match question {
            0 => pattern::intersection_empty(dfas, a, b, limits.regex_dfa_bytes, limits.regex_product_states),
            // A required match is taken to start at an identifier boundary (`panic!\(` means the macro, not
            // `my_panic!(`), like the bans it is compared with.
            _ => pattern::every_match_contains(
                dfas,
                &format!("{}(?:{a})", pattern::NON_WORD),
                b,
                limits.regex_dfa_bytes,
                limits.regex_product_states,
            ),
        };
        self.cache.insert(key, answer);
        answer
    }

    /// The conflicts in one bucket, sorted by (loser, winner).
    pub(crate) fn resolve(&mut self, key: &BucketKey, members: &mut [Member<'_>]) -> Vec<Conflict> {
        if members.len() < 2 {
            return Vec::new();
        }
        members.sort_by(|a, b| compare(b.0, a.0).0);
        self.asked = 0;
        let mut out = Vec::new();
        match key {
            BucketKey::Naming(_) | BucketKey::Signature { .. } | BucketKey::TypeShape { .. } | BucketKey::Grammar => {
                same_value(key, members, &mut out);
            }
            BucketKey::ErrorHandling => error_styles(members, &mut out),
            BucketKey::Length(_) => lengths(members, &mut out),
            BucketKey::JsonSchema => json_types(members, &mut out),
            BucketKey::Output => self.outputs(members, &mut out),
            BucketKey::Word(_) | BucketKey::Pattern(_) => self.forbid_require(members, &mut out),
            BucketKey::Module(module) => imports(module, members, &mut out),
        }
        out.sort_by_key(|a| (a.loser, a.winner));
        out.dedup();
        out
    }

    fn outputs(&mut self, members: &[Member<'_>], out: &mut Vec<Conflict>) {
        let mut kept: Vec<(&Constraint, String)> = Vec::new();
        for &(c, _) in members {
            let Rule::Regex { pattern: re } = &c.rule else { continue };
            let Ok(p) = pattern::prepare(re, pattern::Use::Whole) else { continue };
            let mut lost = false;
            for (winner, kept_pattern) in &kept {
                match self.ask(0, kept_pattern, &p.pattern) {
                    Answer::Yes => {
                        out.push(conflict(
                            winner,
                            c,
                            ConflictKind::Regex,
                            Outcome::Resolved,
                            &format!("/{}/ and /{re}/ have no string in common", regex_text(winner)),
                        ));
                        lost = true;
                        break;
                    }
                    Answer::Undecided => out.push(conflict(
                        winner,
                        c,
                        ConflictKind::Regex,
                        Outcome::Undecided,
                        &format!(
                            "could not decide within the size bound whether /{}/ and /{re}/ intersect",
                            regex_text(winner)
                        ),
                    )),
                    Answer::No => {}
                }
            }
            if !lost {
                kept.push((c, p.pattern));
            }
        }
    }

    fn forbid_require(&mut self, members: &[Member<'_>], out: &mut Vec<Conflict>) {
        let mut forbids: Vec<(&Constraint, &str)> = Vec::new();
        let mut requires: Vec<(&Constraint, &str)> = Vec::new();
        for &(c, side) in members {
            let (found, undecided) = match side {
                Side::Forbid(banned) => self.first_clash(requires.iter().map(|&(r, p)| (r, p, banned.as_str()))),
                Side::Require(required) => self.first_clash(forbids.iter().map(|&(f, p)| (f, required.as_str(), p))),
                _ => (None, Vec::new()),
            };
            for winner in undecided {
                let (req, ban) = if matches!(side, Side::Forbid(_)) { (winner, c) } else { (c, winner) };
                out.push(conflict(
                    winner,
                    c,
                    ConflictKind::ForbidRequire,
                    Outcome::Undecided,
                    &format!(
                        "could not decide within the size bound whether {} can be met without breaking {}",
                        req.rule.describe(),
                        ban.rule.describe()
                    ),
                ));
            }
            if let Some(winner) = found {
                let (req, ban) = if matches!(side, Side::Forbid(_)) { (winner, c) } else { (c, winner) };
                out.push(conflict(
                    winner,
                    c,
                    ConflictKind::ForbidRequire,
                    Outcome::Resolved,
                    &format!("{} can only be met by breaking {}", req.rule.describe(), ban.rule.describe()),
                ));
                continue;
            }
            match side {
                Side::Forbid(p) => forbids.push((c, p)),
                Side::Require(p) => requires.push((c, p)),
                _ => {}
            }
        }
    }

    /// The first kept constraint that clashes, and those for which the answer was undecided.
    fn first_clash<'c>(
        &mut self,
        pairs: impl Iterator<Item = (&'c Constraint, &'c str, &'c str)>,
    ) -> (Option<&'c Constraint>, Vec<&'c Constraint>) {
        let mut undecided = Vec::new();
        for (kept, required, banned) in pairs {
            match self.ask(1, required, banned) {
                Answer::Yes => return (Some(kept), undecided),
                Answer::Undecided => undecided.push(kept),
                Answer::No => {}
            }
        }
        (None, undecided)
    }
}

fn regex_text(c: &Constraint) -> &str {
    match &c.rule {
        Rule::Regex { pattern } => pattern,
        _ => "",
    }
}

fn conflict(winner: &Constraint, loser: &Constraint, kind: ConflictKind, outcome: Outcome, what: &str) -> Conflict {
    let (_, decider) = compare(winner, loser);
    let reason = format!("{what}; {}", decider_phrase(winner, loser, decider));
    Conflict { winner: winner.id, loser: loser.id, kind, outcome, decided_by: decider, reason }
}

/// Buckets where every member must say the same thing: all members that differ from the strongest lose to it.
fn same_value(key: &BucketKey, members: &[Member<'_>], out: &mut Vec<Conflict>) {
    let winner = members[0].0;
    for &(c, _) in &members[1..] {
        let clash = match (&winner.rule, &c.rule) {
            (Rule::Naming { style: a, .. }, Rule::Naming { style: b, target }) => {
                (a != b).then(|| (ConflictKind::Naming, format!("{target} names: {a} vs {b}")))
            }
            (Rule::Signature(a), Rule::Signature(b)) => {
                (a.header() != b.header() || a.has_body != b.has_body).then(|| {
                    let symbol = match key {
                        BucketKey::Signature { symbol, .. } => symbol.as_str(),
                        _ => a.name.as_str(),
                    };
                    (
                        ConflictKind::Signature,
                        format!("two signatures for `{symbol}`: `{}` vs `{}`", a.header(), b.header()),
                    )
                })
            }
            (Rule::TypeShape(a), Rule::TypeShape(b)) => {
                (a.members != b.members || a.generics != b.generics || a.target != b.target).then(|| {
                    (
                        ConflictKind::TypeShape,
                        format!(
                            "two shapes for {} `{}`: {} vs {} member(s)",
                            a.kind.as_str(),
                            a.name,
                            a.members.len(),
                            b.members.len()
                        ),
                    )
                })
            }
            (Rule::Grammar { lark: a }, Rule::Grammar { lark: b }) => (a != b).then(|| {
                (ConflictKind::Grammar, "two grammars for one output (grammars cannot be intersected)".to_owned())
            }),
            _ => None,
        };
        if let Some((kind, what)) = clash {
            out.push(conflict(winner, c, kind, Outcome::Resolved, &what));
        }
    }
}

fn error_style(c: &Constraint) -> Option<ErrorStyle> {
    match c.rule {
        Rule::ErrorHandling { style } => Some(style),
        _ => None,
    }
}

/// Errors as values and errors as exceptions exclude each other; `no_panic` goes with anything.
fn styles_clash(a: ErrorStyle, b: ErrorStyle) -> bool {
    use ErrorStyle::{CheckedErrors, Exceptions, Result};
    matches!((a, b), (Result | CheckedErrors, Exceptions) | (Exceptions, Result | CheckedErrors))
}

fn error_styles(members: &[Member<'_>], out: &mut Vec<Conflict>) {
    let mut kept: Vec<(&Constraint, ErrorStyle)> = Vec::new();
    for &(c, _) in members {
        let Some(style) = error_style(c) else { continue };
        if let Some(&(winner, theirs)) = kept.iter().find(|(_, s)| styles_clash(*s, style)) {
            out.push(conflict(
                winner,
                c,
                ConflictKind::ErrorHandling,
                Outcome::Resolved,
                &format!("error handling {} and {} exclude each other", theirs.as_str(), style.as_str()),
            ));
        } else if !kept.iter().any(|(_, s)| *s == style) {
            kept.push((c, style));
        }
    }
}

fn lengths(members: &[Member<'_>], out: &mut Vec<Conflict>) {
    let mut lo: Option<(u64, &Constraint)> = None;
    let mut hi: Option<(u64, &Constraint)> = None;
    for &(c, _) in members {
        let Rule::Length { unit, min, max } = &c.rule else { continue };
        let clash = match (min, hi, max, lo) {
            (Some(mn), Some((h, w)), _, _) if *mn > h => {
                Some((w, format!("at least {mn} {unit} and at most {h} {unit} exclude each other")))
            }
            (_, _, Some(mx), Some((l, w))) if *mx < l => {
                Some((w, format!("at most {mx} {unit} and at least {l} {unit} exclude each other")))
            }
            _ => None,
        };
        if let Some((winner, what)) = clash {
            out.push(conflict(winner, c, ConflictKind::Length, Outcome::Resolved, &what));
            continue;
        }
        if let Some(mn) = *min
            && lo.is_none_or(|(l, _)| mn > l)
        {
            lo = Some((mn, c));
        }
        if let Some(mx) = *max
            && hi.is_none_or(|(h, _)| mx < h)
        {
            hi = Some((mx, c));
        }
    }
}

const JSON_TYPES: [&str; 7] = ["array", "boolean", "integer", "null", "number", "object", "string"];

/// The top-level JSON types a schema admits, as a bit set over [`JSON_TYPES`] (`integer` counts as a `number`).
fn json_type_set(schema: &serde_json::Value) -> u8 {
    let bit = |name: &str| JSON_TYPES.iter().position(|t| *t == name).map_or(0, |i| 1u8 << i);
    let expand = |bits: u8| if bits & bit("integer") != 0 { bits | bit("number") } else { bits };
    let expand = move |bits: u8| if bits & bit("number") != 0 { bits | bit("integer") } else { expand(bits) };
    match schema.get("type") {
        Some(serde_json::Value::String(t)) => expand(bit(t)),
        Some(serde_json::Value::Array(ts)) => {
            expand(ts.iter().filter_map(|t| t.as_str()).fold(0, |acc, t| acc | bit(t)))
        }
        _ => u8::MAX,
    }
}

fn type_names(bits: u8) -> String {
    JSON_TYPES.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, t)| *t).collect::<Vec<_>>().join("|")
}

fn json_types(members: &[Member<'_>], out: &mut Vec<Conflict>) {
    let mut kept: Vec<(&Constraint, u8)> = Vec::new();
    for &(c, _) in members {
        let Rule::JsonSchema { schema } = &c.rule else { continue };
        let types = json_type_set(schema);
        if let Some(&(winner, theirs)) = kept.iter().find(|(_, t)| t & types == 0) {
            out.push(conflict(
                winner,
                c,
                ConflictKind::JsonSchema,
                Outcome::Resolved,
                &format!("top-level types {} and {} exclude each other", type_names(theirs), type_names(types)),
            ));
        } else {
            kept.push((c, types));
        }
    }
}

fn imports(module: &str, members: &[Member<'_>], out: &mut Vec<Conflict>) {
    let mut allow: Option<&Constraint> = None;
    let mut forbid: Option<&Constraint> = None;
    for &(c, side) in members {
        let (mine, theirs) = match side {
            Side::Allow => (&mut allow, forbid),
            Side::ForbidModule => (&mut forbid, allow),
            _ => continue,
        };
        if let Some(winner) = theirs {
            out.push(conflict(
                winner,
                c,
                ConflictKind::Import,
                Outcome::Resolved,
                &format!("module `{module}` is both allowed and forbidden"),
            ));
        } else if mine.is_none() {
            *mine = Some(c);
        }
    }
}
