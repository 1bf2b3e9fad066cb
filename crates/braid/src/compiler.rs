//! The incremental [`Compiler`]: keeps each constraint's analysis and lowered fragment keyed by id, and after a
//! change re-resolves only the touched conflict buckets and lowers again only the affected constraints (the changed
//! ones, those whose status changed, and their direct dependents). The IR is then assembled from all fragments, so
//! it is byte-identical to a cold compile.

use std::collections::{BTreeMap, HashMap, HashSet};

use ananke_core::{Constraint, ConstraintId, ConstraintSet, Language, LengthUnit, Rule};
use bumpalo::Bump;

use crate::analyze::{self, Analysis, BucketKey, DepKey, TargetInfo};
use crate::config::{CompileConfig, Target};
use crate::conflict::{self, Resolver};
use crate::error::Error;
use crate::grammar;
use crate::graph::DependencyGraph;
use crate::ir::{
    Check, Conflict, ConstraintEntry, ConstraintIR, ForbiddenString, IR_FORMAT, IR_VERSION, IrHash, JsonSchema,
    KnownSymbol, LengthBound, Outcome, RegexElement, RegexRole, Status,
};
use crate::lower::{self, Fragment, LowerContext};

/// The compiler's name and version, recorded in every IR.
pub const COMPILER: &str = concat!("braid ", env!("CARGO_PKG_VERSION"));

/// Compiles a constraint set from scratch.
pub fn compile(set: &ConstraintSet, config: &CompileConfig) -> Result<ConstraintIR, Error> {
    Compiler::new(config.clone()).compile(set)
}

/// Detects and resolves conflicts only (no lowering, no IR): the analysis and bucket pass of [`compile`], for
/// callers that only want the conflict list, and for benchmarking detection alone. Sorted by (loser, winner, kind).
pub fn detect_conflicts(set: &ConstraintSet, config: &CompileConfig) -> Result<Vec<Conflict>, Error> {
    let target = resolve_target(set, config)?;
    let analyses: Vec<(&Constraint, Analysis)> =
        set.iter().map(|c| (c, analyze::analyze(c, config, &target.info))).filter(|(_, a)| a.applies.is_ok()).collect();
    let mut buckets: HashMap<&BucketKey, Vec<conflict::Member<'_>>> = HashMap::new();
    for (c, a) in &analyses {
        for (key, side) in &a.buckets {
            buckets.entry(key).or_default().push((c, side));
        }
    }
    let mut resolver = Resolver::new(&config.limits);
    let mut out: Vec<Conflict> = Vec::new();
    for (key, members) in &mut buckets {
        out.extend(resolver.resolve(key, members));
    }
    out.sort_by_key(|a| (a.loser, a.winner, a.kind));
    out.dedup_by(|a, b| (a.loser, a.winner, a.kind) == (b.loser, b.winner, b.kind));
    Ok(out)
}

/// What the last [`Compiler::compile`] did, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompileStats {
    /// Constraints in the set.
    pub constraints: usize,
    /// Whether everything was recomputed (first compile, or the target or configuration changed).
    pub cold: bool,
    /// Constraints analyzed again (added or changed).
    pub analyzed: usize,
    /// Conflict buckets resolved again.
    pub buckets_resolved: usize,
    /// Constraints lowered again.
    pub lowered: usize,
}

/// An incremental compiler for one configuration.
///
/// ```
/// use ananke_core::{Constraint, ConstraintSet, Language, Provenance, Rule, Scope};
/// use braid::{CompileConfig, Compiler, Target};
///
/// let mut set = ConstraintSet::new();
/// set.insert(Constraint::new(Rule::ForbidCall { callee: "unwrap".into() }, Scope::default(), Provenance::user()));
/// let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: "fn parse(s: &str) -> u8".into() });
/// let mut compiler = Compiler::new(config.clone());
/// let first = compiler.compile(&set).unwrap();
///
/// set.insert(Constraint::new(Rule::ForbidCall { callee: "expect".into() }, Scope::default(), Provenance::user()));
/// let second = compiler.compile(&set).unwrap();
/// assert_eq!(compiler.stats().lowered, 1);
/// assert_eq!(second, braid::compile(&set, &config).unwrap());
/// assert_ne!(first.hash, second.hash);
/// ```
#[derive(Debug)]
pub struct Compiler {
    config: CompileConfig,
    state: State,
    arena: Bump,
    stats: CompileStats,
}

#[derive(Debug, Default)]
struct State {
    ready: bool,
    target: Option<ResolvedTarget>,
    nodes: HashMap<ConstraintId, Node>,
    /// All ids, sorted.
    ids: Vec<ConstraintId>,
    buckets: HashMap<BucketKey, Vec<ConstraintId>>,
    conflicts: HashMap<BucketKey, Vec<Conflict>>,
    providers: HashMap<DepKey, Vec<ConstraintId>>,
    requirers: HashMap<DepKey, Vec<ConstraintId>>,
    cycles: Vec<Vec<ConstraintId>>,
    user_grammar: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ResolvedTarget {
    info: TargetInfo,
    header_sources: Vec<ConstraintId>,
}

#[derive(Debug)]
struct Node {
    constraint: Constraint,
    analysis: Analysis,
    /// The winner, when this constraint lost a conflict.
    overridden_by: Option<ConstraintId>,
    fragment: Fragment,
    entry: ConstraintEntry,
}

impl Node {
    fn applies(&self) -> bool {
        self.analysis.applies.is_ok()
    }

    fn survives(&self) -> bool {
        self.applies() && self.overridden_by.is_none()
    }
}

fn insert_sorted(list: &mut Vec<ConstraintId>, id: ConstraintId) {
    if let Err(at) = list.binary_search(&id) {
        list.insert(at, id);
    }
}

fn remove_sorted(list: &mut Vec<ConstraintId>, id: ConstraintId) {
    if let Ok(at) = list.binary_search(&id) {
        list.remove(at);
    }
}

impl Compiler {
    /// A compiler with no previous state.
    pub fn new(config: CompileConfig) -> Self {
        Compiler { config, state: State::default(), arena: Bump::new(), stats: CompileStats::default() }
    }

    /// The configuration.
    pub fn config(&self) -> &CompileConfig {
        &self.config
    }

    /// What the last compile did.
    pub fn stats(&self) -> CompileStats {
        self.stats
    }

    /// The dependency graph of the constraints that apply, as of the last compile.
    pub fn graph(&self) -> DependencyGraph {
        self.build_graph()
    }

    /// Compiles `set`, reusing everything the previous call computed for constraints that did not change.
    pub fn compile(&mut self, set: &ConstraintSet) -> Result<ConstraintIR, Error> {
        match self.compile_inner(set) {
            Ok(ir) => Ok(ir),
            Err(e) => {
                // A failed compile may have left the state half-updated; start cold next time.
                self.state = State::default();
                Err(e)
            }
        }
    }

    fn compile_inner(&mut self, set: &ConstraintSet) -> Result<ConstraintIR, Error> {
        if matches!(self.config.target, Target::Item) && self.config.language != Language::Rust {
            return Err(Error::UnsupportedTarget { target: "item", language: self.config.language });
        }
        self.arena.reset();
        let target = resolve_target(set, &self.config)?;
        let cold = !self.state.ready || self.state.target.as_ref() != Some(&target);
        if cold {
            self.state = State { target: Some(target), ..State::default() };
        }
        let mut stats = CompileStats { constraints: set.len(), cold, ..CompileStats::default() };

        // 1. What changed since the last compile.
        let mut changed: Vec<&Constraint> = Vec::new();
        let mut seen = 0usize;
        for c in set {
            match self.state.nodes.get(&c.id) {
                Some(node) if node.constraint == *c => seen += 1,
                Some(_) => {
                    seen += 1;
                    changed.push(c);
                }
                None => changed.push(c),
            }
        }
        let mut removed: Vec<ConstraintId> = Vec::new();
        if seen < self.state.nodes.len() {
            let present: HashSet<ConstraintId> = set.iter().map(|c| c.id).collect();
            removed.extend(self.state.nodes.keys().filter(|id| !present.contains(id)).copied());
            removed.sort_unstable();
        }

        // 2. Unindex what goes away, analyze and index what comes in.
        let mut touched: HashSet<BucketKey> = HashSet::new();
        let mut dep_keys: HashSet<DepKey> = HashSet::new();
        let mut structure_changed = false;
        let stale: Vec<ConstraintId> = removed.iter().copied().chain(changed.iter().map(|c| c.id)).collect();
        for id in &stale {
            if let Some(node) = self.state.nodes.remove(id) {
                structure_changed |= self.unindex(*id, &node, &mut touched, &mut dep_keys);
                if !self.state.nodes.contains_key(id) && removed.contains(id) {
                    remove_sorted(&mut self.state.ids, *id);
                }
            }
        }
        let resolved = self.state.target.clone().unwrap_or_else(|| unreachable!("the target was just resolved"));
        for c in &changed {
            let analysis = analyze::analyze(c, &self.config, &resolved.info);
            if analysis.applies.is_ok()
                && let Some(err) = lower::pattern_error(c, &analysis)
            {
                return Err(err);
            }
            let node = Node {
                constraint: (*c).clone(),
                analysis,
                overridden_by: None,
                fragment: Fragment::default(),
                entry: lower::entry(c, Status::Enforced { via: Vec::new() }),
            };
            structure_changed |= self.index(c.id, &node, &mut touched, &mut dep_keys);
            self.state.nodes.insert(c.id, node);
            insert_sorted(&mut self.state.ids, c.id);
        }
        stats.analyzed = changed.len();

        // 3. Resolve the touched buckets again, and recompute the status of their members.
        let mut candidates: HashSet<ConstraintId> = changed.iter().map(|c| c.id).collect();
        let mut touched: Vec<BucketKey> = touched.into_iter().collect();
        touched.sort_unstable();
        let mut resolver = Resolver::new(&self.config.limits);
        for key in &touched {
            let ids: &[ConstraintId] = self.state.buckets.get(key).map_or(&[], Vec::as_slice);
            let mut members: Vec<conflict::Member<'_>> = Vec::with_capacity(ids.len());
            for id in ids {
                let node = &self.state.nodes[id];
                for (k, side) in &node.analysis.buckets {
                    if k == key {
                        members.push((&node.constraint, side));
                    }
                }
            }
            let found = resolver.resolve(key, &mut members);
            candidates.extend(ids.iter().copied());
            if let Some(old) = self.state.conflicts.get(key) {
                candidates.extend(old.iter().map(|c| c.loser));
            }
            if found.is_empty() {
                self.state.conflicts.remove(key);
            } else {
                structure_changed = true;
                self.state.conflicts.insert(key.clone(), found);
            }
        }
        stats.buckets_resolved = touched.len();
        let mut relower: HashSet<ConstraintId> = changed.iter().map(|c| c.id).collect();
        for id in candidates {
            let Some(node) = self.state.nodes.get(&id) else { continue };
            let winner = self.lost_to(id, node);
            if winner != node.overridden_by {
                self.state.nodes.get_mut(&id).unwrap_or_else(|| unreachable!()).overridden_by = winner;
                relower.insert(id);
                structure_changed = true;
            }
        }

        // 4. Direct dependents of changed providers see other dependency ids; a user grammar changes every part.
        for key in &dep_keys {
            if let Some(ids) = self.state.requirers.get(key) {
                relower.extend(ids.iter().copied());
            }
        }
        let user_grammar = self
            .state
            .buckets
            .get(&BucketKey::Grammar)
            .is_some_and(|ids| ids.iter().any(|id| self.state.nodes.get(id).is_some_and(Node::survives)));
        if user_grammar != self.state.user_grammar || cold {
            self.state.user_grammar = user_grammar;
            relower.extend(self.state.ids.iter().copied());
        }

        // 5. Lower the affected constraints, dependencies first.
        let graph = if structure_changed || cold { Some(self.build_graph()) } else { None };
        let mut order: Vec<ConstraintId> = relower.into_iter().collect();
        if let Some(g) = &graph {
            let position: HashMap<ConstraintId, usize> =
                g.topological_order().into_iter().enumerate().map(|(i, id)| (id, i)).collect();
            order.sort_unstable_by_key(|id| (position.get(id).copied().unwrap_or(usize::MAX), *id));
        } else {
            order.sort_unstable();
        }
        stats.lowered = order.len();
        for id in order {
            self.lower_one(id);
        }
        if let Some(g) = &graph {
            self.state.cycles = g.cycles();
        }

        self.state.ready = true;
        self.stats = stats;
        let ir = self.assemble();
        if self.config.strict {
            let conflicts: Vec<Conflict> =
                ir.conflicts.iter().filter(|c| c.outcome == Outcome::Resolved).cloned().collect();
            if !conflicts.is_empty() {
                return Err(Error::Conflicts(conflicts));
            }
        }
        Ok(ir)
    }

    /// Adds a node's bucket memberships and dependency keys to the indices. Returns whether it has graph edges.
    fn index(
        &mut self,
        id: ConstraintId,
        node: &Node,
        touched: &mut HashSet<BucketKey>,
        dep_keys: &mut HashSet<DepKey>,
    ) -> bool {
        if !node.applies() {
            return false;
        }
        for (key, _) in &node.analysis.buckets {
            let list = self.state.buckets.entry(key.clone()).or_default();
            insert_sorted(list, id);
            if list.len() > 1 || self.state.conflicts.contains_key(key) {
                touched.insert(key.clone());
            }
        }
        self.link(id, node, dep_keys, true)
    }

    fn unindex(
        &mut self,
        id: ConstraintId,
        node: &Node,
        touched: &mut HashSet<BucketKey>,
        dep_keys: &mut HashSet<DepKey>,
    ) -> bool {
        if !node.applies() {
            return false;
        }
        for (key, _) in &node.analysis.buckets {
            if let Some(list) = self.state.buckets.get_mut(key) {
                remove_sorted(list, id);
                if list.is_empty() {
                    self.state.buckets.remove(key);
                }
                touched.insert(key.clone());
            }
        }
        self.link(id, node, dep_keys, false) || node.overridden_by.is_some()
    }

    /// Adds or removes a node's dependency keys; returns whether any edge starts or ends at it.
    fn link(&mut self, id: ConstraintId, node: &Node, dep_keys: &mut HashSet<DepKey>, add: bool) -> bool {
        let mut edges = false;
        for key in &node.analysis.provides {
            edges |= self.state.requirers.contains_key(key);
            dep_keys.insert(key.clone());
            update(&mut self.state.providers, key, id, add);
        }
        for key in &node.analysis.requires {
            edges |= self.state.providers.contains_key(key);
            update(&mut self.state.requirers, key, id, add);
        }
        edges
    }

    /// The strongest winner among the resolved conflicts this constraint lost, if any.
    fn lost_to(&self, id: ConstraintId, node: &Node) -> Option<ConstraintId> {
        let mut best: Option<ConstraintId> = None;
        for (key, _) in &node.analysis.buckets {
            for c in self.state.conflicts.get(key).map_or(&[][..], Vec::as_slice) {
                if c.loser == id && c.outcome == Outcome::Resolved && best.is_none_or(|b| c.winner < b) {
                    best = Some(c.winner);
                }
            }
        }
        best
    }

    fn build_graph(&self) -> DependencyGraph {
        let nodes = self.state.ids.iter().copied().filter(|id| self.state.nodes[id].applies());
        let mut edges: Vec<(ConstraintId, ConstraintId)> = Vec::new();
        for id in &self.state.ids {
            let node = &self.state.nodes[id];
            if !node.applies() {
                continue;
            }
            for key in &node.analysis.requires {
                for provider in self.state.providers.get(key).map_or(&[][..], Vec::as_slice) {
                    edges.push((*id, *provider));
                }
            }
            if let Some(winner) = node.overridden_by {
                edges.push((*id, winner));
            }
        }
        DependencyGraph::new(nodes, edges)
    }

    fn lower_one(&mut self, id: ConstraintId) {
        let Some(node) = self.state.nodes.get(&id) else { return };
        let header_sources = self.state.target.as_ref().map_or(&[][..], |t| t.header_sources.as_slice());
        let (fragment, status) = match (&node.analysis.applies, node.overridden_by) {
            (Err(reason), _) => (Fragment::default(), Status::Inapplicable { reason: reason.clone() }),
            (Ok(()), Some(by)) => (Fragment::default(), Status::Overridden { by }),
            (Ok(()), None) => {
                let cx = LowerContext {
                    config: &self.config,
                    header_sources,
                    user_grammar: self.state.user_grammar,
                    providers: &self.state.providers,
                };
                let (fragment, via) = lower::lower(&node.constraint, &node.analysis, &cx);
                (fragment, Status::Enforced { via })
            }
        };
        let entry = lower::entry(&node.constraint, status);
        let node = self.state.nodes.get_mut(&id).unwrap_or_else(|| unreachable!());
        node.fragment = fragment;
        node.entry = entry;
    }

    /// Builds the IR from every fragment, in canonical order.
    fn assemble(&self) -> ConstraintIR {
        let arena = &self.arena;
        let st = &self.state;
        let language = self.config.language;
        let mut forbidden: BTreeMap<&str, (&str, &str, Vec<ConstraintId>)> = BTreeMap::new();
        let mut regexes: BTreeMap<(RegexRole, &str), Vec<ConstraintId>> = BTreeMap::new();
        let mut lengths: BTreeMap<LengthUnit, LengthSlot> = BTreeMap::new();
        let mut checks: Vec<Check> = Vec::new();
        let mut symbols: BTreeMap<(&str, ananke_core::SymbolKind, &str), UsesAndSources> = BTreeMap::new();
        let mut larks: BTreeMap<&str, Vec<ConstraintId>> = BTreeMap::new();
        let mut schemas: Vec<(&serde_json::Value, ConstraintId)> = Vec::new();
        let mut entries: Vec<ConstraintEntry> = Vec::with_capacity(st.ids.len());
        for id in &st.ids {
            let node = &st.nodes[id];
            entries.push(node.entry.clone());
            let f = &node.fragment;
            for ban in &f.bans {
                forbidden.entry(&ban.pattern).or_insert((&ban.literal, &ban.description, Vec::new())).2.push(*id);
            }
            for (role, pattern) in &f.regexes {
                regexes.entry((*role, pattern)).or_default().push(*id);
            }
            if let Some((unit, min, max)) = f.length {
                let slot = lengths.entry(unit).or_insert((None, None, Vec::new()));
                slot.0 = slot.0.max(min);
                slot.1 = match (slot.1, max) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                slot.2.push(*id);
            }
            if let Some(description) = &f.check {
                checks.push(Check {
                    rule: node.constraint.rule.rule_type(),
                    description: description.clone(),
                    sources: vec![*id],
                });
            }
            if let Some((path, kind, text, uses)) = &f.symbol {
                let slot = symbols.entry((path, *kind, text)).or_default();
                slot.0.extend(uses);
                slot.1.push(*id);
            }
            if let Some(lark) = &f.lark {
                larks.entry(lark).or_default().push(*id);
            }
            if let Some(schema) = &f.schema {
                schemas.push((schema, *id));
            }
        }
        let forbidden: Vec<ForbiddenString> = forbidden
            .into_iter()
            .map(|(pattern, (literal, description, sources))| ForbiddenString {
                literal: literal.to_owned(),
                pattern: pattern.to_owned(),
                description: description.to_owned(),
                sources,
            })
            .collect();
        let mut counters: HashMap<&str, usize> = HashMap::new();
        let regexes: Vec<RegexElement> = regexes
            .into_iter()
            .map(|((role, pattern), sources)| {
                let base: &str = match role {
                    RegexRole::Identifier { symbol_kind } => {
                        arena.alloc_str(&format!("NAME_{}", symbol_kind.as_str().to_ascii_uppercase()))
                    }
                    RegexRole::Required => "REQUIRED",
                    RegexRole::Output => "OUTPUT",
                };
                let n = counters.entry(base).or_insert(0);
                let name = if matches!(role, RegexRole::Identifier { .. }) && *n == 0 {
                    base.to_owned()
                } else {
                    format!("{base}_{n}")
                };
                *n += 1;
                RegexElement { name, role, pattern: pattern.to_owned(), sources }
            })
            .collect();
        let length: Vec<LengthBound> = lengths
            .into_iter()
            .map(|(unit, (min, max, sources))| LengthBound { unit, min, max, in_grammar: false, sources })
            .collect();
        let symbols: Vec<KnownSymbol> = symbols
            .into_iter()
            .map(|((path, kind, text), (mut uses, sources))| {
                uses.sort_unstable();
                uses.dedup();
                KnownSymbol { path: path.to_owned(), kind, text: text.to_owned(), uses, sources }
            })
            .collect();
        let json_schema = match schemas.len() {
            0 => None,
            1 => Some(JsonSchema { schema: schemas[0].0.clone(), sources: vec![schemas[0].1] }),
            _ => Some(JsonSchema {
                schema: serde_json::json!({ "allOf": schemas.iter().map(|(s, _)| (*s).clone()).collect::<Vec<_>>() }),
                sources: schemas.iter().map(|(_, id)| *id).collect(),
            }),
        };
        let mut conflicts: Vec<Conflict> = st.conflicts.values().flatten().cloned().collect();
        conflicts.sort_by_key(|a| (a.loser, a.winner, a.kind));
        conflicts.dedup_by(|a, b| (a.loser, a.winner, a.kind) == (b.loser, b.winner, b.kind));

        let target = st.target.as_ref().unwrap_or_else(|| unreachable!("assembled after resolving the target"));
        let inputs = grammar::Inputs { language, forbidden: &forbidden, regexes: &regexes, compiler: COMPILER };
        let grammar = if let Some((lark, sources)) = larks.into_iter().next() {
            Some(grammar::user(lark, &sources))
        } else {
            match &self.config.target {
                Target::FnBody { .. } => Some(grammar::fn_body(
                    &inputs,
                    target.info.header.as_deref().unwrap_or_default(),
                    &target.header_sources,
                )),
                Target::Item => Some(grammar::rust_item(&inputs)),
                Target::Json => {
                    let (text, sources) = match &json_schema {
                        Some(s) => (s.schema.to_string(), s.sources.clone()),
                        None => ("{}".to_owned(), Vec::new()),
                    };
                    Some(grammar::json(COMPILER, &text, &sources))
                }
            }
        };
        let ir_target = match &self.config.target {
            Target::FnBody { .. } => Target::FnBody { signature: target.info.header.clone().unwrap_or_default() },
            other => other.clone(),
        };
        let mut ir = ConstraintIR {
            format: IR_FORMAT.to_owned(),
            version: IR_VERSION,
            hash: IrHash::default(),
            compiler: COMPILER.to_owned(),
            language,
            target: ir_target,
            grammar,
            json_schema,
            regexes,
            forbidden,
            length,
            checks,
            symbols,
            conflicts,
            cycles: st.cycles.clone(),
            constraints: entries,
        };
        ir.hash = ir.compute_hash();
        ir
    }
}

/// Merged length bounds of one unit: min, max, sources.
type LengthSlot = (Option<u64>, Option<u64>, Vec<ConstraintId>);
/// A known symbol's dependencies and sources.
type UsesAndSources = (Vec<ConstraintId>, Vec<ConstraintId>);

fn update(index: &mut HashMap<DepKey, Vec<ConstraintId>>, key: &DepKey, id: ConstraintId, add: bool) {
    if add {
        insert_sorted(index.entry(key.clone()).or_default(), id);
    } else if let Some(list) = index.get_mut(key) {
        remove_sorted(list, id);
        if list.is_empty() {
            index.remove(key);
        }
    }
}

/// Resolves a fn-body target's signature: a header given as text, or the name of a signature constraint.
fn resolve_target(set: &ConstraintSet, config: &CompileConfig) -> Result<ResolvedTarget, Error> {
    let Target::FnBody { signature } = &config.target else {
        return Ok(ResolvedTarget { info: TargetInfo::resolve(config, None, None), header_sources: Vec::new() });
    };
    let text = signature.trim();
    if text.contains('(') {
        let symbol = header_name(text);
        return Ok(ResolvedTarget {
            info: TargetInfo::resolve(config, Some(text.to_owned()), symbol),
            header_sources: Vec::new(),
        });
    }
    if text.is_empty() {
        return Err(Error::UnknownSignature {
            name: String::new(),
            reason: "the fn-body target needs a signature".to_owned(),
        });
    }
    if config.language != Language::Rust {
        return Err(Error::UnknownSignature {
            name: text.to_owned(),
            reason: format!("give the full header for {}: signature constraints render Rust headers", config.language),
        });
    }
    let candidates: Vec<&Constraint> = set
        .of_type(ananke_core::RuleType::Signature)
        .filter(|c| {
            let Rule::Signature(sig) = &c.rule else { return false };
            c.scope.admits_language(config.language)
                && (sig.name == text
                    || c.scope.symbol.as_deref().is_some_and(|s| s == text || s.ends_with(&format!("::{text}"))))
        })
        .collect();
    let Some(best) = candidates.iter().copied().reduce(|a, b| if conflict::compare(a, b).0.is_ge() { a } else { b })
    else {
        return Err(Error::UnknownSignature {
            name: text.to_owned(),
            reason: "no signature constraint has this name".to_owned(),
        });
    };
    let Rule::Signature(sig) = &best.rule else { unreachable!("filtered to signatures") };
    let header = sig.header();
    let mut sources: Vec<ConstraintId> = candidates
        .iter()
        .filter(|c| matches!(&c.rule, Rule::Signature(s) if s.header() == header))
        .map(|c| c.id)
        .collect();
    sources.sort_unstable();
    let symbol = Some(best.scope.symbol.clone().unwrap_or_else(|| sig.name.clone()));
    Ok(ResolvedTarget { info: TargetInfo::resolve(config, Some(header), symbol), header_sources: sources })
}

/// The function name in a header (`pub async fn parse<T>(` → `parse`, `def load(` → `load`).
fn header_name(header: &str) -> Option<String> {
    let before = header.split('(').next()?;
    let before = before.split('<').next()?;
    before.split_whitespace().last().map(str::to_owned)
}
