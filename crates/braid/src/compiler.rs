//! The incremental [`Compiler`]: keeps each constraint's analysis and lowered fragment keyed by id, and after a
//! change re-resolves only the touched conflict buckets and lowers again only the affected constraints (the changed
//! ones, those whose status changed, and their direct dependents). The IR is then assembled from all fragments, so
//! it is byte-identical to a cold compile.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use ananke_core::{Constraint, ConstraintId, ConstraintSet, Language, LengthUnit, Rule, SymbolKind};
use bumpalo::Bump;

use crate::analyze::{self, Analysis, BucketKey, DepKey, TargetInfo};
use crate::config::{CompileConfig, Target};
use crate::conflict::{self, Resolver};
use crate::error::Error;
use crate::grammar;
use crate::graph::DependencyGraph;
use crate::ir::{
    Check, Conflict, ConstraintEntry, ConstraintIR, ForbiddenString, Grammar, IR_FORMAT, IR_VERSION, IrHash,
    JsonSchema, KnownSymbol, LengthBound, Outcome, RegexElement, RegexRole, Status,
};
use crate::lower::{self, Fragment, LowerContext};

/// Maps and sets keyed by constraint id. Ids are already xxh3 hashes, so hashing them again (SipHash) is wasted work.
type IdMap<V> = HashMap<ConstraintId, V, BuildIdHasher>;
type IdSet = HashSet<ConstraintId, BuildIdHasher>;

/// A hasher that passes a constraint id's 64 bits through.
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

type BuildIdHasher = std::hash::BuildHasherDefault<IdHasher>;

/// Maps and sets keyed by buckets and dependency keys (short strings), with a multiply-rotate hasher: DoS
/// resistance buys nothing for keys braid derives itself, and SipHash showed in profiles.
pub(crate) type KeyMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;
type KeySet<K> = HashSet<K, std::hash::BuildHasherDefault<FxHasher>>;

/// The hasher rustc uses internally (Fx): one multiply and rotate per word.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// The compiler's name and version, recorded in every IR.
pub const COMPILER: &str = concat!("braid ", env!("CARGO_PKG_VERSION"));

/// Compiles a constraint set from scratch.
pub fn compile(set: &ConstraintSet, config: &CompileConfig) -> Result<ConstraintIR, Error> {
    let mut compiler = Compiler::new(config.clone());
    let ir = compiler.compile_shared(set)?;
    // The compiler's copy goes first, so the IR is moved out rather than cloned.
    drop(compiler);
    Ok(Arc::unwrap_or_clone(ir))
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
    /// The encoded IR fields of the last assembly.
    state_json: FieldJson,
    /// What the current compile changed, for [`Compiler::assemble`].
    dirty: Dirty,
}

#[derive(Debug, Default)]
struct State {
    ready: bool,
    target: Option<ResolvedTarget>,
    nodes: IdMap<Node>,
    /// All ids, sorted.
    ids: Vec<ConstraintId>,
    buckets: KeyMap<BucketKey, Vec<ConstraintId>>,
    conflicts: KeyMap<BucketKey, Vec<Conflict>>,
    providers: KeyMap<DepKey, Vec<ConstraintId>>,
    requirers: KeyMap<DepKey, Vec<ConstraintId>>,
    cycles: Vec<Vec<ConstraintId>>,
    user_grammar: bool,
    /// A cold compile is indexing everything: lists are appended to and sorted once afterwards.
    bulk: bool,
    /// The IR of the last compile, patched in place by the next one when no caller holds it any more.
    ir: Option<Arc<ConstraintIR>>,
    /// The constraints behind each known symbol.
    symbol_index: BTreeMap<SymbolKey, Vec<ConstraintId>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ResolvedTarget {
    info: TargetInfo,
    header_sources: Vec<ConstraintId>,
    /// The impl's self type of the target's signature, when the set has it.
    self_type: Option<String>,
}

#[derive(Debug)]
struct Node {
    constraint: Constraint,
    analysis: Analysis,
    /// The winner, when this constraint lost a conflict.
    overridden_by: Option<ConstraintId>,
    fragment: Fragment,
    /// The IR entry, from lowering until the next assembly moves it into the IR.
    entry: Option<ConstraintEntry>,
    /// The compact JSON of the entry, for the IR's hash.
    entry_json: Vec<u8>,
}

impl Node {
    fn applies(&self) -> bool {
        self.analysis.applies.is_ok()
    }

    fn survives(&self) -> bool {
        self.applies() && self.overridden_by.is_none()
    }
}

fn insert_sorted(list: &mut Vec<ConstraintId>, id: ConstraintId, bulk: bool) {
    // A cold compile inserts every constraint: appending and sorting once keeps that linear rather than quadratic.
    if bulk {
        list.push(id);
        return;
    }
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
        Compiler {
            config,
            state: State::default(),
            arena: Bump::new(),
            stats: CompileStats::default(),
            state_json: FieldJson::default(),
            dirty: Dirty::default(),
        }
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
        self.compile_shared(set).map(|ir| ConstraintIR::clone(&ir))
    }

    /// [`Compiler::compile`] without copying the IR: the compiler keeps the same `Arc` and, when the caller has
    /// dropped its copy by the next compile, patches that IR in place (only the parts a change touches are rebuilt).
    /// This is the form to use in a serving loop.
    pub fn compile_shared(&mut self, set: &ConstraintSet) -> Result<Arc<ConstraintIR>, Error> {
        match self.compile_inner(set) {
            Ok(ir) => Ok(ir),
            Err(e) => {
                // A failed compile may have left the state half-updated; start cold next time.
                self.state = State::default();
                self.state_json = FieldJson::default();
                Err(e)
            }
        }
    }

    fn compile_inner(&mut self, set: &ConstraintSet) -> Result<Arc<ConstraintIR>, Error> {
        if matches!(self.config.target, Target::Item) && self.config.language != Language::Rust {
            return Err(Error::UnsupportedTarget { target: "item", language: self.config.language });
        }
        self.arena.reset();
        let target = resolve_target(set, &self.config)?;
        let cold = !self.state.ready || self.state.target.as_ref() != Some(&target);
        if cold {
            self.state = State { target: Some(target), bulk: true, ..State::default() };
        }
        self.dirty = Dirty { cold, ..Dirty::default() };
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
            let present: IdSet = set.iter().map(|c| c.id).collect();
            removed.extend(self.state.nodes.keys().filter(|id| !present.contains(id)).copied());
            removed.sort_unstable();
        }

        // 2. Unindex what goes away, analyze and index what comes in.
        let mut touched: KeySet<BucketKey> = KeySet::default();
        let mut dep_keys: KeySet<DepKey> = KeySet::default();
        let mut structure_changed = false;
        let stale: Vec<ConstraintId> = removed.iter().copied().chain(changed.iter().map(|c| c.id)).collect();
        for id in &stale {
            if let Some(node) = self.state.nodes.remove(id) {
                self.forget_fragment(*id, &node.fragment);
                structure_changed |= self.unindex(*id, &node, &mut touched, &mut dep_keys);
                if !self.state.nodes.contains_key(id) && removed.contains(id) {
                    remove_sorted(&mut self.state.ids, *id);
                }
            }
        }
        let resolved = self.state.target.clone().unwrap_or_else(|| unreachable!("the target was just resolved"));
        self.state.nodes.reserve(changed.len());
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
                entry: None,
                entry_json: Vec::new(),
            };
            structure_changed |= self.index(c.id, &node, &mut touched, &mut dep_keys);
            self.state.nodes.insert(c.id, node);
            insert_sorted(&mut self.state.ids, c.id, cold);
        }
        stats.analyzed = changed.len();
        if self.state.bulk {
            self.state.bulk = false;
            self.state.ids.sort_unstable();
            self.state.ids.dedup();
            for list in self.state.buckets.values_mut().chain(self.state.providers.values_mut()) {
                list.sort_unstable();
                list.dedup();
            }
            for list in self.state.requirers.values_mut() {
                list.sort_unstable();
                list.dedup();
            }
        }

        // 3. Resolve the touched buckets again, and recompute the status of their members.
        let mut candidates: IdSet = changed.iter().map(|c| c.id).collect();
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
            if self.state.conflicts.get(key).map_or(&[][..], Vec::as_slice) != found.as_slice() {
                self.dirty.conflicts = true;
            }
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
        let mut relower: IdSet = changed.iter().map(|c| c.id).collect();
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
            self.dirty.grammar = true;
            self.state.user_grammar = user_grammar;
            relower.extend(self.state.ids.iter().copied());
        }

        // 5. Lower the affected constraints. Lowering one constraint reads only its own analysis and the provider
        //    index, never another fragment, so the order does not matter; cycles are found on the whole graph after a
        //    cold start and, after a change, only around the constraints whose edges changed.
        let mut order: Vec<ConstraintId> = relower.into_iter().collect();
        order.sort_unstable();
        stats.lowered = order.len();
        for id in &order {
            self.lower_one(*id);
        }
        if cold {
            self.state.cycles = self.build_graph().cycles();
        } else if structure_changed {
            let mut dirty: IdSet = stale.iter().copied().collect();
            dirty.extend(order.iter().copied());
            self.update_cycles(&dirty);
        }

        self.state.ready = true;
        self.stats = stats;
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.cycles = cold || structure_changed;
        dirty.ids = order;
        dirty.ids.extend(removed.iter().copied());
        dirty.ids.sort_unstable();
        dirty.ids.dedup();
        let ir = self.assemble(&dirty);
        if self.config.strict {
            let conflicts: Vec<Conflict> =
                ir.conflicts.iter().filter(|c| c.outcome == Outcome::Resolved).cloned().collect();
            if !conflicts.is_empty() {
                return Err(Error::Conflicts(conflicts));
            }
        }
        Ok(ir)
    }

    /// Records that a constraint's fragment leaves the IR: the parts it fed must be rebuilt.
    fn forget_fragment(&mut self, id: ConstraintId, fragment: &Fragment) {
        self.dirty.flags |= fragment_flags(fragment);
        if let Some((path, kind, text, _)) = &fragment.symbol {
            let key = (path.clone(), *kind, text.clone());
            if let Some(ids) = self.state.symbol_index.get_mut(&key) {
                remove_sorted(ids, id);
                if ids.is_empty() {
                    self.state.symbol_index.remove(&key);
                }
            }
            self.dirty.symbols.insert(key);
        }
    }

    /// Records that a constraint's fragment enters the IR.
    fn record_fragment(&mut self, id: ConstraintId, fragment: &Fragment) {
        self.dirty.flags |= fragment_flags(fragment);
        if let Some((path, kind, text, _)) = &fragment.symbol {
            let key = (path.clone(), *kind, text.clone());
            if self.dirty.cold {
                // A cold assembly rebuilds every symbol; only the index is needed.
                self.state.symbol_index.entry(key).or_default().push(id);
            } else {
                insert_sorted(self.state.symbol_index.entry(key.clone()).or_default(), id, false);
                self.dirty.symbols.insert(key);
            }
        }
    }

    /// Adds a node's bucket memberships and dependency keys to the indices. Returns whether it has graph edges.
    fn index(
        &mut self,
        id: ConstraintId,
        node: &Node,
        touched: &mut KeySet<BucketKey>,
        dep_keys: &mut KeySet<DepKey>,
    ) -> bool {
        if !node.applies() {
            return false;
        }
        for (key, _) in &node.analysis.buckets {
            let list = self.state.buckets.entry(key.clone()).or_default();
            insert_sorted(list, id, self.state.bulk);
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
        touched: &mut KeySet<BucketKey>,
        dep_keys: &mut KeySet<DepKey>,
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
    fn link(&mut self, id: ConstraintId, node: &Node, dep_keys: &mut KeySet<DepKey>, add: bool) -> bool {
        let mut edges = false;
        for key in &node.analysis.provides {
            edges |= self.state.requirers.contains_key(key);
            dep_keys.insert(key.clone());
            update(&mut self.state.providers, key, id, add, self.state.bulk);
        }
        for key in &node.analysis.requires {
            edges |= self.state.providers.contains_key(key);
            update(&mut self.state.requirers, key, id, add, self.state.bulk);
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

    /// The constraints `id` depends on directly (the graph's out-edges), without self-edges.
    fn dependencies_of(&self, id: ConstraintId, out: &mut Vec<ConstraintId>) {
        out.clear();
        let Some(node) = self.state.nodes.get(&id) else { return };
        if !node.applies() {
            return;
        }
        for key in &node.analysis.requires {
            out.extend(self.state.providers.get(key).map_or(&[][..], Vec::as_slice).iter().filter(|&&p| p != id));
        }
        out.extend(node.overridden_by.filter(|&w| w != id));
    }

    /// The strongly connected component of `x`: what `x` reaches that also reaches `x`.
    fn component_of(&self, x: ConstraintId) -> Vec<ConstraintId> {
        let mut reached: IdMap<Vec<ConstraintId>> = IdMap::default();
        let mut stack = vec![x];
        let mut buf = Vec::new();
        while let Some(n) = stack.pop() {
            if reached.contains_key(&n) {
                continue;
            }
            self.dependencies_of(n, &mut buf);
            stack.extend(buf.iter().copied().filter(|m| !reached.contains_key(m)));
            reached.insert(n, buf.clone());
        }
        let mut reverse: IdMap<Vec<ConstraintId>> = IdMap::default();
        for (from, tos) in &reached {
            for to in tos {
                reverse.entry(*to).or_default().push(*from);
            }
        }
        let mut component: IdSet = IdSet::default();
        component.insert(x);
        let mut stack = vec![x];
        while let Some(n) = stack.pop() {
            for m in reverse.get(&n).map_or(&[][..], Vec::as_slice) {
                if component.insert(*m) {
                    stack.push(*m);
                }
            }
        }
        let mut out: Vec<ConstraintId> = component.into_iter().collect();
        out.sort_unstable();
        out
    }

    /// Recomputes the cycles that may have changed: a new cycle contains a new edge, and every new or removed edge
    /// ends at a constraint in `dirty` (added, removed, changed, or with a new winner). Cycles through no dirty
    /// constraint are kept as they are.
    fn update_cycles(&mut self, dirty: &IdSet) {
        let mut redo: Vec<ConstraintId> = dirty.iter().copied().collect();
        let mut kept: Vec<Vec<ConstraintId>> = Vec::with_capacity(self.state.cycles.len());
        for cycle in std::mem::take(&mut self.state.cycles) {
            if cycle.iter().any(|id| dirty.contains(id)) {
                redo.extend(cycle);
            } else {
                kept.push(cycle);
            }
        }
        redo.sort_unstable();
        redo.dedup();
        let mut assigned: IdSet = IdSet::default();
        for x in redo {
            if assigned.contains(&x) || !self.state.nodes.get(&x).is_some_and(Node::applies) {
                continue;
            }
            let component = self.component_of(x);
            assigned.extend(component.iter().copied());
            if component.len() > 1 {
                kept.retain(|c| !c.iter().any(|id| component.binary_search(id).is_ok()));
                kept.push(component);
            }
        }
        kept.sort_unstable();
        self.state.cycles = kept;
    }

    fn build_graph(&self) -> DependencyGraph {
        let nodes = self.state.ids.iter().copied().filter(|id| self.state.nodes[id].applies());
        let edges = self.state.ids.iter().filter_map(|id| {
            self.state.nodes[id].overridden_by.filter(|_| self.state.nodes[id].applies()).map(|w| (*id, w))
        });
        // Requirers and providers of each key are sorted lists of constraints that apply.
        let mut hubs: Vec<(&[ConstraintId], &[ConstraintId])> = Vec::new();
        let mut keys: Vec<&DepKey> = self.state.requirers.keys().collect();
        keys.sort_unstable();
        for key in keys {
            if let Some(providers) = self.state.providers.get(key) {
                hubs.push((&self.state.requirers[key], providers));
            }
        }
        DependencyGraph::with_hubs(nodes, edges, &hubs)
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
        let old = std::mem::take(&mut self.state.nodes.get_mut(&id).unwrap_or_else(|| unreachable!()).fragment);
        self.forget_fragment(id, &old);
        self.record_fragment(id, &fragment);
        let node = self.state.nodes.get_mut(&id).unwrap_or_else(|| unreachable!());
        node.fragment = fragment;
        node.entry_json = crate::ir::entry_json(&entry);
        node.entry = Some(entry);
    }

    /// Brings the IR up to date with the fragments: a cold compile builds every part; after a change only the parts
    /// that a relowered or removed constraint contributed to (before or after) are rebuilt, and the constraint
    /// entries, checks and known symbols are patched in place. The result is the same as building everything.
    fn assemble(&mut self, dirty: &Dirty) -> Arc<ConstraintIR> {
        let cold = dirty.cold || self.state.ir.is_none();
        // The entries of relowered constraints move into the IR (nothing else needs them).
        let ids: &[ConstraintId] = if cold { &self.state.ids } else { &dirty.ids };
        let mut entries: Vec<(ConstraintId, Option<ConstraintEntry>)> = Vec::with_capacity(ids.len());
        for id in ids {
            entries.push((*id, self.state.nodes.get_mut(id).and_then(|n| n.entry.take())));
        }
        let mut shared = match self.state.ir.take() {
            Some(ir) if !cold => ir,
            _ => Arc::new(self.empty_ir()),
        };
        let ir = Arc::make_mut(&mut shared);
        let st = &self.state;
        let flags = if cold { u8::MAX } else { dirty.flags };
        let mut json = std::mem::take(&mut self.state_json);
        if flags & FORBIDDEN != 0 {
            ir.forbidden = self.build_forbidden();
            json.set(Field::Forbidden, &ir.forbidden);
        }
        if flags & REGEX != 0 {
            ir.regexes = self.build_regexes();
            json.set(Field::Regexes, &ir.regexes);
        }
        if flags & LENGTH != 0 {
            ir.length = self.build_length();
            json.set(Field::Length, &ir.length);
        }
        if flags & SCHEMA != 0 {
            ir.json_schema = self.build_schema();
            json.set(Field::JsonSchema, &ir.json_schema);
        }
        if flags & (FORBIDDEN | REGEX | LARK | SCHEMA) != 0 || dirty.grammar {
            ir.grammar = Some(self.build_grammar(&ir.forbidden, &ir.regexes, ir.json_schema.as_ref()));
            json.set(Field::Grammar, &ir.grammar);
        }
        if cold || dirty.conflicts {
            let mut conflicts: Vec<Conflict> = st.conflicts.values().flatten().cloned().collect();
            conflicts.sort_by_key(|a| (a.loser, a.winner, a.kind));
            conflicts.dedup_by(|a, b| (a.loser, a.winner, a.kind) == (b.loser, b.winner, b.kind));
            ir.conflicts = conflicts;
            json.set(Field::Conflicts, &ir.conflicts);
        }
        if cold || dirty.cycles {
            ir.cycles.clone_from(&st.cycles);
            json.set(Field::Cycles, &ir.cycles);
        }
        if cold {
            for field in [Field::Format, Field::Version, Field::Compiler, Field::Language, Field::Target] {
                json.set_scalar(field, ir);
            }
            json.body = (!ir.body.is_default()).then(|| crate::ir::element_json(&ir.body));
            ir.constraints = entries.into_iter().filter_map(|(_, e)| e).collect();
            ir.checks = st.ids.iter().filter_map(|id| check_of(id, &st.nodes[id])).collect();
            json.checks = ir.checks.iter().map(crate::ir::element_json).collect();
            ir.symbols.clear();
            json.symbols.clear();
            for (key, ids) in &st.symbol_index {
                let symbol = known_symbol(key, ids, &st.nodes);
                json.symbols.push(crate::ir::element_json(&symbol));
                ir.symbols.push(symbol);
            }
        } else {
            for (id, entry) in entries {
                let id = &id;
                let node = st.nodes.get(id);
                patch_sorted(&mut ir.constraints, None, |e| e.id.cmp(id), entry.map(|e| (e, Vec::new())));
                if flags & CHECK != 0 {
                    let check = node.and_then(|n| check_of(id, n));
                    let bytes = check.as_ref().map(crate::ir::element_json);
                    patch_sorted(&mut ir.checks, Some(&mut json.checks), |c| c.sources[0].cmp(id), check.zip(bytes));
                }
            }
            for key in &dirty.symbols {
                let symbol = st.symbol_index.get(key).map(|ids| known_symbol(key, ids, &st.nodes));
                let bytes = symbol.as_ref().map(crate::ir::element_json);
                patch_sorted(
                    &mut ir.symbols,
                    Some(&mut json.symbols),
                    |s| (s.path.as_str(), s.kind, s.text.as_str()).cmp(&(key.0.as_str(), key.1, key.2.as_str())),
                    symbol.zip(bytes),
                );
            }
        }
        let entries: Vec<&[u8]> = st.ids.iter().map(|id| st.nodes[id].entry_json.as_slice()).collect();
        ir.hash = json.hash(&entries);
        self.state_json = json;
        self.state.ir = Some(Arc::clone(&shared));
        shared
    }

    fn empty_ir(&self) -> ConstraintIR {
        let target = self.state.target.as_ref().unwrap_or_else(|| unreachable!("assembled after resolving the target"));
        let ir_target = match &self.config.target {
            Target::FnBody { .. } => Target::FnBody { signature: target.info.header.clone().unwrap_or_default() },
            other => other.clone(),
        };
        ConstraintIR {
            format: IR_FORMAT.to_owned(),
            version: IR_VERSION,
            hash: IrHash::default(),
            compiler: COMPILER.to_owned(),
            language: self.config.language,
            target: ir_target,
            body: self.body_options(),
            grammar: None,
            json_schema: None,
            regexes: Vec::new(),
            forbidden: Vec::new(),
            length: Vec::new(),
            checks: Vec::new(),
            symbols: Vec::new(),
            conflicts: Vec::new(),
            cycles: Vec::new(),
            constraints: Vec::new(),
        }
    }

    /// The IR's body layers: the configuration's, with `self_type` resolved (fn-body targets in Rust only).
    fn body_options(&self) -> crate::config::BodyOptions {
        let mut body = self.config.body.clone();
        if !matches!(self.config.target, Target::FnBody { .. }) || self.config.language != Language::Rust {
            return crate::config::BodyOptions::default();
        }
        body.identifiers &= body.syntax;
        if body.self_type.is_none() && !body.is_default() {
            body.self_type = self.state.target.as_ref().and_then(|t| t.self_type.clone());
        }
        body
    }

    fn build_forbidden(&self) -> Vec<ForbiddenString> {
        let st = &self.state;
        let mut forbidden: BTreeMap<&str, (&str, &str, Vec<ConstraintId>)> = BTreeMap::new();
        for id in &st.ids {
            let node = &st.nodes[id];
            if !node.fragment.bans {
                continue;
            }
            for ban in &node.analysis.bans {
                forbidden.entry(&ban.pattern).or_insert((&ban.literal, &ban.description, Vec::new())).2.push(*id);
            }
        }
        forbidden
            .into_iter()
            .map(|(pattern, (literal, description, sources))| ForbiddenString {
                literal: literal.to_owned(),
                pattern: pattern.to_owned(),
                description: description.to_owned(),
                sources,
            })
            .collect()
    }

    fn build_regexes(&self) -> Vec<RegexElement> {
        let st = &self.state;
        let mut regexes: BTreeMap<(RegexRole, &str), Vec<ConstraintId>> = BTreeMap::new();
        for id in &st.ids {
            for (role, pattern) in &st.nodes[id].fragment.regexes {
                regexes.entry((*role, pattern)).or_default().push(*id);
            }
        }
        // Terminal base names are compile temporaries: they live in the arena, reset at each compile.
        let arena = &self.arena;
        let mut counters: HashMap<&str, usize> = HashMap::new();
        regexes
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
            .collect()
    }

    fn build_length(&self) -> Vec<LengthBound> {
        let st = &self.state;
        let mut lengths: BTreeMap<LengthUnit, LengthSlot> = BTreeMap::new();
        for id in &st.ids {
            if let Some((unit, min, max)) = st.nodes[id].fragment.length {
                let slot = lengths.entry(unit).or_insert((None, None, Vec::new()));
                slot.0 = slot.0.max(min);
                slot.1 = match (slot.1, max) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                slot.2.push(*id);
            }
        }
        lengths
            .into_iter()
            .map(|(unit, (min, max, sources))| LengthBound { unit, min, max, in_grammar: false, sources })
            .collect()
    }

    fn build_schema(&self) -> Option<JsonSchema> {
        let st = &self.state;
        let schemas: Vec<(&serde_json::Value, ConstraintId)> =
            st.ids.iter().filter_map(|id| st.nodes[id].fragment.schema.as_ref().map(|s| (s, *id))).collect();
        match schemas.len() {
            0 => None,
            1 => Some(JsonSchema { schema: schemas[0].0.clone(), sources: vec![schemas[0].1] }),
            _ => Some(JsonSchema {
                schema: serde_json::json!({ "allOf": schemas.iter().map(|(s, _)| (*s).clone()).collect::<Vec<_>>() }),
                sources: schemas.iter().map(|(_, id)| *id).collect(),
            }),
        }
    }

    fn build_grammar(
        &self,
        forbidden: &[ForbiddenString],
        regexes: &[RegexElement],
        json_schema: Option<&JsonSchema>,
    ) -> Grammar {
        let st = &self.state;
        let mut larks: BTreeMap<&str, Vec<ConstraintId>> = BTreeMap::new();
        for id in &st.ids {
            if let Some(lark) = &st.nodes[id].fragment.lark {
                larks.entry(lark).or_default().push(*id);
            }
        }
        let target = st.target.as_ref().unwrap_or_else(|| unreachable!("assembled after resolving the target"));
        let inputs = grammar::Inputs { language: self.config.language, forbidden, regexes, compiler: COMPILER };
        if let Some((lark, sources)) = larks.into_iter().next() {
            return grammar::user(lark, &sources);
        }
        match &self.config.target {
            Target::FnBody { .. } if self.config.body.syntax && self.config.language == Language::Rust => {
                grammar::rust_syntax_body(
                    COMPILER,
                    target.info.header.as_deref().unwrap_or_default(),
                    &target.header_sources,
                    forbidden,
                )
            }
            Target::FnBody { .. } => {
                grammar::fn_body(&inputs, target.info.header.as_deref().unwrap_or_default(), &target.header_sources)
            }
            Target::Item => grammar::rust_item(&inputs),
            Target::Json => {
                let (text, sources) = match json_schema {
                    Some(s) => (s.schema.to_string(), s.sources.clone()),
                    None => ("{}".to_owned(), Vec::new()),
                };
                grammar::json(COMPILER, &text, &sources)
            }
        }
    }
}

/// What changed since the last assembly.
#[derive(Debug, Default)]
struct Dirty {
    cold: bool,
    /// Constraints relowered, added or removed (sorted).
    ids: Vec<ConstraintId>,
    /// The IR parts (bits below) that those constraints contributed to before or after.
    flags: u8,
    /// Known-symbol keys whose sources changed.
    symbols: BTreeSet<SymbolKey>,
    conflicts: bool,
    cycles: bool,
    grammar: bool,
}

const FORBIDDEN: u8 = 1;
const REGEX: u8 = 2;
const LENGTH: u8 = 4;
const CHECK: u8 = 8;
const LARK: u8 = 16;
const SCHEMA: u8 = 32;

/// The IR parts a fragment contributes to.
fn fragment_flags(f: &Fragment) -> u8 {
    let mut flags = 0;
    if f.bans {
        flags |= FORBIDDEN;
    }
    if !f.regexes.is_empty() {
        flags |= REGEX;
    }
    if f.length.is_some() {
        flags |= LENGTH;
    }
    if f.check.is_some() {
        flags |= CHECK;
    }
    if f.lark.is_some() {
        flags |= LARK;
    }
    if f.schema.is_some() {
        flags |= SCHEMA;
    }
    flags
}

/// The key of a known symbol: path, kind, text.
type SymbolKey = (String, SymbolKind, String);

fn check_of(id: &ConstraintId, node: &Node) -> Option<Check> {
    node.fragment.check.as_ref().map(|description| Check {
        rule: node.constraint.rule.rule_type(),
        description: description.clone(),
        sources: vec![*id],
    })
}

fn known_symbol(key: &SymbolKey, ids: &[ConstraintId], nodes: &IdMap<Node>) -> KnownSymbol {
    let mut uses: Vec<ConstraintId> = ids
        .iter()
        .filter_map(|id| nodes[id].fragment.symbol.as_ref())
        .flat_map(|(_, _, _, uses)| uses.iter().copied())
        .collect();
    uses.sort_unstable();
    uses.dedup();
    KnownSymbol { path: key.0.clone(), kind: key.1, text: key.2.clone(), uses, sources: ids.to_vec() }
}

/// Replaces, inserts or removes the element of a sorted list that `cmp` finds (and its encoded bytes, when kept).
fn patch_sorted<T>(
    list: &mut Vec<T>,
    bytes: Option<&mut Vec<Vec<u8>>>,
    cmp: impl Fn(&T) -> std::cmp::Ordering,
    value: Option<(T, Vec<u8>)>,
) where
    T: Clone,
{
    let (value, encoded) = match value {
        Some((v, b)) => (Some(v), Some(b)),
        None => (None, None),
    };
    match (list.binary_search_by(cmp), value) {
        (Ok(at), Some(v)) => {
            list[at] = v;
            if let (Some(bytes), Some(b)) = (bytes, encoded) {
                bytes[at] = b;
            }
        }
        (Ok(at), None) => {
            list.remove(at);
            if let Some(bytes) = bytes {
                bytes.remove(at);
            }
        }
        (Err(at), Some(v)) => {
            list.insert(at, v);
            if let (Some(bytes), Some(b)) = (bytes, encoded) {
                bytes.insert(at, b);
            }
        }
        (Err(_), None) => {}
    }
}

/// The IR's fields, in hash order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Format,
    Version,
    Compiler,
    Language,
    Target,
    Grammar,
    JsonSchema,
    Regexes,
    Forbidden,
    Length,
    Conflicts,
    Cycles,
}

/// The compact JSON of each IR field as of the last assembly, so the hash re-encodes only what changed.
#[derive(Debug, Default)]
struct FieldJson {
    fields: [Vec<u8>; 12],
    /// The body layers' JSON when any is on (otherwise left out of the hash).
    body: Option<Vec<u8>>,
    checks: Vec<Vec<u8>>,
    symbols: Vec<Vec<u8>>,
}

impl FieldJson {
    fn set<T: serde::Serialize + ?Sized>(&mut self, field: Field, value: &T) {
        self.fields[field as usize] = crate::ir::element_json(value);
    }

    fn set_scalar(&mut self, field: Field, ir: &ConstraintIR) {
        match field {
            Field::Format => self.set(field, &ir.format),
            Field::Version => self.set(field, &ir.version),
            Field::Compiler => self.set(field, &ir.compiler),
            Field::Language => self.set(field, &ir.language),
            Field::Target => self.set(field, &ir.target),
            _ => {}
        }
    }

    fn hash(&self, entries: &[&[u8]]) -> IrHash {
        let f = |field: Field| self.fields[field as usize].as_slice();
        let checks: Vec<&[u8]> = self.checks.iter().map(Vec::as_slice).collect();
        let symbols: Vec<&[u8]> = self.symbols.iter().map(Vec::as_slice).collect();
        let mut parts = vec![
            ("format", crate::ir::Part::Raw(f(Field::Format))),
            ("version", crate::ir::Part::Raw(f(Field::Version))),
            ("compiler", crate::ir::Part::Raw(f(Field::Compiler))),
            ("language", crate::ir::Part::Raw(f(Field::Language))),
            ("target", crate::ir::Part::Raw(f(Field::Target))),
        ];
        if let Some(body) = &self.body {
            parts.push(("body", crate::ir::Part::Raw(body)));
        }
        parts.extend([
            ("grammar", crate::ir::Part::Raw(f(Field::Grammar))),
            ("json_schema", crate::ir::Part::Raw(f(Field::JsonSchema))),
            ("regexes", crate::ir::Part::Raw(f(Field::Regexes))),
            ("forbidden", crate::ir::Part::Raw(f(Field::Forbidden))),
            ("length", crate::ir::Part::Raw(f(Field::Length))),
            ("checks", crate::ir::Part::List(&checks)),
            ("symbols", crate::ir::Part::List(&symbols)),
            ("conflicts", crate::ir::Part::Raw(f(Field::Conflicts))),
            ("cycles", crate::ir::Part::Raw(f(Field::Cycles))),
            ("constraints", crate::ir::Part::List(entries)),
        ]);
        crate::ir::hash_parts(&parts)
    }
}

/// Merged length bounds of one unit: min, max, sources.
type LengthSlot = (Option<u64>, Option<u64>, Vec<ConstraintId>);

fn update(index: &mut KeyMap<DepKey, Vec<ConstraintId>>, key: &DepKey, id: ConstraintId, add: bool, bulk: bool) {
    if add {
        insert_sorted(index.entry(key.clone()).or_default(), id, bulk);
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
        return Ok(ResolvedTarget {
            info: TargetInfo::resolve(config, None, None),
            header_sources: Vec::new(),
            self_type: None,
        });
    };
    let text = signature.trim();
    if text.contains('(') {
        let symbol = header_name(text);
        return Ok(ResolvedTarget {
            info: TargetInfo::resolve(config, Some(text.to_owned()), symbol),
            header_sources: Vec::new(),
            self_type: self_type_of_header(set, config, text),
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
    Ok(ResolvedTarget {
        info: TargetInfo::resolve(config, Some(header), symbol),
        header_sources: sources,
        self_type: impl_self_type(sig),
    })
}

/// The self type of a method's impl (`Stock` for `impl Stock`, `Parser` for `impl<'a> Parser<'a>`).
fn impl_self_type(sig: &ananke_core::Signature) -> Option<String> {
    let owner = sig.owner.as_ref()?;
    (owner.kind == ananke_core::OwnerKind::Impl).then(|| owner.name.clone())
}

/// The self type of a header given as text: the owner of the set's signature with that exact header, when there
/// is one (or several that agree). Only the body layers use it, and only when they are on.
fn self_type_of_header(set: &ConstraintSet, config: &CompileConfig, header: &str) -> Option<String> {
    if config.body.is_default() || config.language != Language::Rust {
        return None;
    }
    let mut found: Option<String> = None;
    for c in set.of_type(ananke_core::RuleType::Signature) {
        let Rule::Signature(sig) = &c.rule else { continue };
        if sig.header() != header {
            continue;
        }
        let owner = impl_self_type(sig);
        match (&found, owner) {
            (None, Some(o)) => found = Some(o),
            (Some(f), Some(o)) if *f != o => return None,
            _ => {}
        }
    }
    found
}

/// The function name in a header (`pub async fn parse<T>(` → `parse`, `def load(` → `load`).
fn header_name(header: &str) -> Option<String> {
    let before = header.split('(').next()?;
    let before = before.split('<').next()?;
    before.split_whitespace().last().map(str::to_owned)
}
