//! The dependency graph between constraints (petgraph): a constraint depends on the constraints that provide a key
//! it requires (a signature on the type shapes it names and on the function naming rule; a type shape on the
//! shapes of its members' types and on the type naming rule; a forbidden call on a path on the import rules of
//! that path's modules), and an overridden constraint depends on the one that overrode it.

use std::collections::HashMap;

use ananke_core::ConstraintId;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

/// A dependency graph over constraint ids. Edges point from a constraint to what it depends on.
///
/// Many constraints can depend on many providers of one key (every signature on every function naming rule), so
/// such a shared dependency is stored once, through a hub node: `dependent -> hub -> provider` instead of one edge
/// per pair. Paths between constraints, and so cycles and the topological order, are the same.
#[derive(Debug, Default)]
pub struct DependencyGraph {
    graph: DiGraph<Option<ConstraintId>, ()>,
    index: HashMap<ConstraintId, NodeIndex>,
}

impl DependencyGraph {
    /// Builds the graph from nodes and `(dependent, dependency)` edges. Self-edges are ignored: a type that names
    /// itself (`struct Node { next: Box<Node> }`) depends on no other constraint.
    pub fn new(
        nodes: impl IntoIterator<Item = ConstraintId>,
        edges: impl IntoIterator<Item = (ConstraintId, ConstraintId)>,
    ) -> Self {
        let mut g = DependencyGraph::default();
        for id in nodes {
            g.node(id);
        }
        for (from, to) in edges {
            if from != to {
                let (a, b) = (g.node(from), g.node(to));
                g.graph.update_edge(a, b, ());
            }
        }
        g
    }

    /// Builds the graph from nodes, direct `(dependent, dependency)` edges, and shared dependencies: each
    /// `(dependents, dependencies)` pair means every dependent depends on every dependency (self-edges ignored).
    pub(crate) fn with_hubs(
        nodes: impl IntoIterator<Item = ConstraintId>,
        edges: impl IntoIterator<Item = (ConstraintId, ConstraintId)>,
        hubs: &[(&[ConstraintId], &[ConstraintId])],
    ) -> Self {
        let mut g = DependencyGraph::new(nodes, edges);
        for (dependents, dependencies) in hubs {
            if dependents.is_empty() || dependencies.is_empty() {
                continue;
            }
            if dependents.len() == 1 || dependencies.len() == 1 {
                for &from in *dependents {
                    for &to in *dependencies {
                        if from != to {
                            let (a, b) = (g.node(from), g.node(to));
                            g.graph.add_edge(a, b, ());
                        }
                    }
                }
                continue;
            }
            // A constraint on both sides would reach itself through the hub: give it direct edges instead.
            let hub = g.graph.add_node(None);
            for &from in *dependents {
                if dependencies.binary_search(&from).is_ok() {
                    for &to in *dependencies {
                        if to != from {
                            let (a, b) = (g.node(from), g.node(to));
                            g.graph.add_edge(a, b, ());
                        }
                    }
                } else {
                    let a = g.node(from);
                    g.graph.add_edge(a, hub, ());
                }
            }
            for &to in *dependencies {
                let b = g.node(to);
                g.graph.add_edge(hub, b, ());
            }
        }
        g
    }

    fn node(&mut self, id: ConstraintId) -> NodeIndex {
        *self.index.entry(id).or_insert_with(|| self.graph.add_node(Some(id)))
    }

    /// Number of constraints.
    pub fn node_count(&self) -> usize {
        self.index.len()
    }

    /// Number of dependency edges between constraints (a shared dependency counts once per pair).
    pub fn edge_count(&self) -> usize {
        self.index.values().map(|&n| self.direct(n).len()).sum()
    }

    fn direct(&self, n: NodeIndex) -> Vec<ConstraintId> {
        let mut out: Vec<ConstraintId> = Vec::new();
        for m in self.graph.neighbors(n) {
            match self.graph[m] {
                Some(id) => out.push(id),
                None => out.extend(self.graph.neighbors(m).filter_map(|k| self.graph[k])),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The constraints `id` depends on directly, sorted.
    pub fn dependencies(&self, id: ConstraintId) -> Vec<ConstraintId> {
        let Some(&n) = self.index.get(&id) else { return Vec::new() };
        self.direct(n)
    }

    /// Cycles: each strongly connected component with more than one constraint, its ids sorted; the list sorted.
    pub fn cycles(&self) -> Vec<Vec<ConstraintId>> {
        let mut cycles: Vec<Vec<ConstraintId>> = tarjan_scc(&self.graph)
            .into_iter()
            .map(|scc| {
                let mut ids: Vec<ConstraintId> = scc.into_iter().filter_map(|n| self.graph[n]).collect();
                ids.sort_unstable();
                ids
            })
            .filter(|ids| ids.len() > 1)
            .collect();
        cycles.sort_unstable();
        cycles
    }

    /// A topological order, dependencies first (the members of a cycle, which have no order among themselves, by
    /// id). Deterministic for a graph built from the same nodes and edges in the same order.
    pub fn topological_order(&self) -> Vec<ConstraintId> {
        // Tarjan's algorithm emits strongly connected components in post-order: a component comes after every
        // component it depends on.
        let mut out = Vec::with_capacity(self.graph.node_count());
        for scc in tarjan_scc(&self.graph) {
            let start = out.len();
            out.extend(scc.into_iter().filter_map(|n| self.graph[n]));
            out[start..].sort_unstable();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_cycles() {
        let id = ConstraintId;
        let g = DependencyGraph::new(
            [id(1), id(2), id(3), id(4)],
            [(id(1), id(2)), (id(2), id(3)), (id(3), id(2)), (id(4), id(4))],
        );
        assert_eq!(g.cycles(), vec![vec![id(2), id(3)]]);
        let order = g.topological_order();
        assert_eq!(order.len(), 4);
        let pos = |x| order.iter().position(|&o| o == id(x)).unwrap();
        assert!(pos(1) > pos(2) && pos(1) > pos(3));
    }
}
