//! The dependency graph between constraints (petgraph): a constraint depends on the constraints that provide a key
//! it requires (a signature on the type shapes it names and on the function naming rule; a type shape on the
//! shapes of its members' types and on the type naming rule; a forbidden call on a path on the import rules of
//! that path's modules), and an overridden constraint depends on the one that overrode it.

use std::collections::HashMap;

use ananke_core::ConstraintId;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

/// A dependency graph over constraint ids. Edges point from a constraint to what it depends on.
#[derive(Debug, Default)]
pub struct DependencyGraph {
    graph: DiGraph<ConstraintId, ()>,
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

    fn node(&mut self, id: ConstraintId) -> NodeIndex {
        *self.index.entry(id).or_insert_with(|| self.graph.add_node(id))
    }

    /// Number of constraints.
    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// Number of dependency edges.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The constraints `id` depends on directly, sorted.
    pub fn dependencies(&self, id: ConstraintId) -> Vec<ConstraintId> {
        let Some(&n) = self.index.get(&id) else { return Vec::new() };
        let mut out: Vec<ConstraintId> = self.graph.neighbors(n).map(|m| self.graph[m]).collect();
        out.sort_unstable();
        out
    }

    /// Cycles: each strongly connected component with more than one constraint, its ids sorted; the list sorted.
    pub fn cycles(&self) -> Vec<Vec<ConstraintId>> {
        let mut cycles: Vec<Vec<ConstraintId>> = tarjan_scc(&self.graph)
            .into_iter()
            .filter(|scc| scc.len() > 1)
            .map(|scc| {
                let mut ids: Vec<ConstraintId> = scc.into_iter().map(|n| self.graph[n]).collect();
                ids.sort_unstable();
                ids
            })
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
            out.extend(scc.into_iter().map(|n| self.graph[n]));
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
