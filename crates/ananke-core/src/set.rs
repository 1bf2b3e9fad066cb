//! [`ConstraintSet`]: constraints de-duplicated by id, per-file facts, diagnostics, and the versioned JSON format.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::constraint::Constraint;
use crate::error::Error;
use crate::facts::{Diagnostic, FileFacts};
use crate::id::ConstraintId;
use crate::rule::RuleType;

/// The `format` field of every constraint-set document.
pub const FORMAT_NAME: &str = "ananke.constraints";
/// The version of the JSON format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A set of constraints with unique ids, plus the per-file facts and diagnostics of the run that produced it.
///
/// Inserting a constraint whose id is already present merges it into the existing one (frequencies add up, the
/// stronger provenance and severity win) instead of duplicating it. Iteration order is insertion order, so a set
/// built from inputs in a fixed order serializes byte-identically.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ConstraintSet {
    format: &'static str,
    version: u32,
    constraints: Vec<Constraint>,
    /// Facts read off each file, in the order the files were added.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileFacts>,
    /// Problems with inputs (unreadable, not UTF-8, syntax errors), in the order they were found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
    #[serde(skip)]
    index: HashMap<ConstraintId, usize>,
}

/// The wire form: what a document may contain. Constraint ids are optional on input and verified when present.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    format: String,
    version: u32,
    #[serde(default)]
    constraints: Vec<Constraint>,
    #[serde(default)]
    files: Vec<FileFacts>,
    #[serde(default)]
    diagnostics: Vec<Diagnostic>,
}

impl PartialEq for ConstraintSet {
    fn eq(&self, other: &Self) -> bool {
        self.constraints == other.constraints && self.files == other.files && self.diagnostics == other.diagnostics
    }
}

impl ConstraintSet {
    /// An empty set.
    pub fn new() -> Self {
        ConstraintSet { format: FORMAT_NAME, version: FORMAT_VERSION, ..ConstraintSet::default() }
    }

    /// Adds a constraint, or merges it into the one with the same id. Returns the id.
    pub fn insert(&mut self, constraint: Constraint) -> ConstraintId {
        let id = constraint.id;
        if let Some(&at) = self.index.get(&id) {
            let existing = &mut self.constraints[at];
            existing.severity = existing.severity.max(constraint.severity);
            existing.priority = existing.priority.max(constraint.priority);
            if existing.message.is_none() {
                existing.message = constraint.message;
            }
            if existing.label.is_none() {
                existing.label = constraint.label;
            }
            existing.provenance.merge(constraint.provenance);
        } else {
            self.index.insert(id, self.constraints.len());
            self.constraints.push(constraint);
        }
        id
    }

    /// Adds every constraint, file and diagnostic of `other`.
    pub fn extend(&mut self, other: ConstraintSet) {
        for constraint in other.constraints {
            self.insert(constraint);
        }
        self.files.extend(other.files);
        self.diagnostics.extend(other.diagnostics);
    }

    /// The constraint with this id.
    pub fn get(&self, id: ConstraintId) -> Option<&Constraint> {
        self.index.get(&id).map(|&at| &self.constraints[at])
    }

    /// Whether a constraint with this id is present.
    pub fn contains(&self, id: ConstraintId) -> bool {
        self.index.contains_key(&id)
    }

    /// All constraints, in insertion order.
    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    /// Iterates over the constraints.
    pub fn iter(&self) -> std::slice::Iter<'_, Constraint> {
        self.constraints.iter()
    }

    /// The constraints with one rule type.
    pub fn of_type(&self, rule_type: RuleType) -> impl Iterator<Item = &Constraint> {
        self.constraints.iter().filter(move |c| c.rule.rule_type() == rule_type)
    }

    /// Number of constraints.
    pub fn len(&self) -> usize {
        self.constraints.len()
    }

    /// Whether there are no constraints.
    pub fn is_empty(&self) -> bool {
        self.constraints.is_empty()
    }

    /// Removes the constraints for which `keep` returns false.
    pub fn retain(&mut self, mut keep: impl FnMut(&Constraint) -> bool) {
        self.constraints.retain(|c| keep(c));
        self.reindex();
    }

    /// Sorts constraints by (rule type, symbol, id), a deterministic order independent of insertion order.
    pub fn sort(&mut self) {
        self.constraints.sort_by(|a, b| {
            (a.rule.rule_type(), &a.scope.symbol, a.id).cmp(&(b.rule.rule_type(), &b.scope.symbol, b.id))
        });
        self.reindex();
    }

    fn reindex(&mut self) {
        self.index = self.constraints.iter().enumerate().map(|(at, c)| (c.id, at)).collect();
    }

    /// Counts constraints per rule type, in [`RuleType::ALL`] order, omitting zeros.
    pub fn counts(&self) -> Vec<(RuleType, usize)> {
        let mut counts = [0usize; RuleType::ALL.len()];
        for constraint in &self.constraints {
            counts[constraint.rule.rule_type() as usize] += 1;
        }
        RuleType::ALL.into_iter().zip(counts).filter(|&(_, n)| n > 0).collect()
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        self.to_json_with(false)
    }

    /// Indented JSON.
    pub fn to_json_pretty(&self) -> String {
        self.to_json_with(true)
    }

    fn to_json_with(&self, pretty: bool) -> String {
        let mut this = std::borrow::Cow::Borrowed(self);
        if self.format.is_empty() {
            // Built with `Default` rather than `new`: stamp the format so the document is readable back.
            let owned = this.to_mut();
            owned.format = FORMAT_NAME;
            owned.version = FORMAT_VERSION;
        }
        let result = if pretty { serde_json::to_string_pretty(&*this) } else { serde_json::to_string(&*this) };
        // Every map key in the model is a string and every number finite: serialization cannot fail.
        result.unwrap_or_else(|e| unreachable!("constraint sets always serialize: {e}"))
    }

    /// Writes compact JSON to `out`.
    pub fn write_json(&self, out: impl std::io::Write, pretty: bool) -> std::io::Result<()> {
        let result = if pretty { serde_json::to_writer_pretty(out, self) } else { serde_json::to_writer(out, self) };
        result.map_err(std::io::Error::other)
    }

    /// Reads a constraint-set document: checks the format name and version, validates every rule, normalizes
    /// rules and scopes, recomputes ids (a missing or all-zero `id` is filled in; a wrong one is an error) and merges
    /// duplicates.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let doc: Document = serde_json::from_str(text).map_err(|e| Error::from_json(&e))?;
        if doc.format != FORMAT_NAME {
            return Err(Error::WrongFormat { found: doc.format, expected: FORMAT_NAME });
        }
        if doc.version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion { found: doc.version, supported: FORMAT_VERSION });
        }
        let mut set = ConstraintSet::new();
        for (index, mut constraint) in doc.constraints.into_iter().enumerate() {
            constraint.rule.validate().map_err(|e| match e {
                Error::InvalidRule(reason) => Error::InvalidRule(format!("constraint #{index}: {reason}")),
                other => other,
            })?;
            let stated = constraint.id;
            constraint.refresh_id();
            if stated != ConstraintId::UNSET && stated != constraint.id {
                return Err(Error::IdMismatch {
                    index,
                    expected: constraint.id.to_string(),
                    found: stated.to_string(),
                });
            }
            set.insert(constraint);
        }
        set.files = doc.files;
        set.diagnostics = doc.diagnostics;
        Ok(set)
    }
}

impl FromIterator<Constraint> for ConstraintSet {
    fn from_iter<I: IntoIterator<Item = Constraint>>(iter: I) -> Self {
        let mut set = ConstraintSet::new();
        for constraint in iter {
            set.insert(constraint);
        }
        set
    }
}

impl<'a> IntoIterator for &'a ConstraintSet {
    type Item = &'a Constraint;
    type IntoIter = std::slice::Iter<'a, Constraint>;

    fn into_iter(self) -> Self::IntoIter {
        self.constraints.iter()
    }
}
