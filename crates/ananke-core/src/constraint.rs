//! The [`Constraint`] record and its classification: kind, severity and priority.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::id::ConstraintId;
use crate::provenance::Provenance;
use crate::rule::Rule;
use crate::scope::Scope;

/// What aspect of code a constraint governs. Used for bucketing conflicts and for reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    /// Surface syntax: naming, grammar, layout.
    Syntactic,
    /// Types: signatures and type shapes.
    TypeSafety,
    /// Meaning: forbidden and required calls and patterns, error handling.
    Semantic,
    /// Structure of the codebase: which modules may be imported.
    Architectural,
    /// Operational limits: output length, resource use.
    Operational,
    /// Security rules: no unsafe, no shell strings, no hard-coded secrets, no SQL built by formatting.
    Security,
}

impl ConstraintKind {
    /// All kinds, in declaration order.
    pub const ALL: [ConstraintKind; 6] = [
        ConstraintKind::Syntactic,
        ConstraintKind::TypeSafety,
        ConstraintKind::Semantic,
        ConstraintKind::Architectural,
        ConstraintKind::Operational,
        ConstraintKind::Security,
    ];

    /// The name used in JSON and in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            ConstraintKind::Syntactic => "syntactic",
            ConstraintKind::TypeSafety => "type_safety",
            ConstraintKind::Semantic => "semantic",
            ConstraintKind::Architectural => "architectural",
            ConstraintKind::Operational => "operational",
            ConstraintKind::Security => "security",
        }
    }
}

impl fmt::Display for ConstraintKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConstraintKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConstraintKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || (s == "type-safety" && *k == ConstraintKind::TypeSafety))
            .ok_or_else(|| {
                format!(
                    "unknown constraint kind {s:?}; expected one of: {}",
                    ConstraintKind::ALL.map(ConstraintKind::as_str).join(", ")
                )
            })
    }
}

/// How bad a violation is. Ordered: `Hint < Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A suggestion.
    Hint,
    /// Worth knowing.
    Info,
    /// Should be fixed.
    Warning,
    /// Must be fixed; enforced during generation.
    Error,
}

impl Severity {
    /// All severities, from the weakest to the strongest.
    pub const ALL: [Severity; 4] = [Severity::Hint, Severity::Info, Severity::Warning, Severity::Error];

    /// The name used in JSON and in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Hint => "hint",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!("unknown severity {s:?}; expected one of: {}", Severity::ALL.map(Severity::as_str).join(", "))
        })
    }
}

/// A tie-breaker between constraints of equal provenance and severity: the higher priority wins. Default 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Priority(pub i32);

impl Priority {
    fn is_default(&self) -> bool {
        self.0 == 0
    }
}

/// One typed rule with everything needed to enforce it, explain it and resolve conflicts over it.
///
/// The [`id`](Constraint::id) is derived from `rule` and `scope` only (see [`ConstraintId`]); kind, severity,
/// priority, provenance, label and message are attributes that do not change which constraint it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    /// Stable id: xxh3-64 of the canonical encoding of `rule` and `scope`. May be omitted in input documents.
    #[serde(default)]
    pub id: ConstraintId,
    /// What aspect of code this governs.
    pub kind: ConstraintKind,
    /// How bad a violation is.
    pub severity: Severity,
    /// Tie-breaker in conflict resolution (higher wins).
    #[serde(default, skip_serializing_if = "Priority::is_default")]
    pub priority: Priority,
    /// Where the constraint came from.
    pub provenance: Provenance,
    /// Where the constraint applies.
    #[serde(default, skip_serializing_if = "Scope::is_unrestricted")]
    pub scope: Scope,
    /// What the constraint demands.
    pub rule: Rule,
    /// A user-chosen name (the `id` key of an `ananke.toml` rule), shown in diagnostics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// A human explanation shown with violations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Constraint {
    /// Builds a constraint, normalizing the rule and scope (sorting unordered lists) and computing its id.
    /// Kind and severity start from the rule's defaults ([`Rule::default_kind`], [`Rule::default_severity`]).
    pub fn new(mut rule: Rule, mut scope: Scope, provenance: Provenance) -> Self {
        rule.normalize();
        scope.normalize();
        let id = ConstraintId::of(&rule, &scope);
        Constraint {
            id,
            kind: rule.default_kind(),
            severity: rule.default_severity(),
            priority: Priority::default(),
            provenance,
            scope,
            rule,
            label: None,
            message: None,
        }
    }

    /// Sets the kind.
    #[must_use]
    pub fn with_kind(mut self, kind: ConstraintKind) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the severity.
    #[must_use]
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Sets the priority.
    #[must_use]
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = Priority(priority);
        self
    }

    /// Sets the message shown with violations.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Sets the user-facing label.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Recomputes the id after `rule` or `scope` were changed in place.
    pub fn refresh_id(&mut self) {
        self.rule.normalize();
        self.scope.normalize();
        self.id = ConstraintId::of(&self.rule, &self.scope);
    }

    /// The name to show a person: the label if there is one, else the id.
    pub fn display_name(&self) -> String {
        self.label.clone().unwrap_or_else(|| self.id.to_string())
    }
}
