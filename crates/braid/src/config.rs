//! What to compile for: [`CompileConfig`] (language, [`Target`], [`Limits`], strictness, generation context).

use ananke_core::Language;
use serde::{Deserialize, Serialize};

/// Everything besides the constraint set that changes what [`crate::compile`] produces. Part of the IR's hash.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CompileConfig {
    /// The language of the code to generate.
    pub language: Language,
    /// What to generate.
    pub target: Target,
    /// Size bounds on the work braid does and on what it emits.
    pub limits: Limits,
    /// Make any conflict between constraints a [`crate::Error::Conflicts`] instead of a resolved entry in the IR.
    pub strict: bool,
    /// Where the generated code will live; decides which scoped constraints apply.
    pub context: Context,
    /// The layers that constrain a fn body beyond its bans (all off by default: braces and bans only).
    #[serde(default, skip_serializing_if = "BodyOptions::is_default")]
    pub body: BodyOptions,
}

impl CompileConfig {
    /// A configuration for one language and target with default limits, not strict, outside test code.
    pub fn new(language: Language, target: Target) -> Self {
        CompileConfig {
            language,
            target,
            limits: Limits::default(),
            strict: false,
            context: Context::default(),
            body: BodyOptions::default(),
        }
    }

    /// The same configuration, with other fn-body layers (see [`BodyOptions`]).
    #[must_use]
    pub fn with_body(mut self, body: BodyOptions) -> Self {
        self.body = body;
        self
    }

    /// The same configuration, strict.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// The same configuration, with another generation context.
    #[must_use]
    pub fn with_context(mut self, context: Context) -> Self {
        self.context = context;
        self
    }
}

/// The layers that constrain a fn body beyond its bans, each switchable so their effect can be compared. They
/// apply to Rust fn-body targets (other languages and targets ignore them); the IR records them, and
/// [`crate::Checker::new`] enforces them. The token budget is a third layer, set per generation on the checker
/// ([`crate::Checker::set_budget`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct BodyOptions {
    /// The body follows a grammar of Rust statements and expressions (`docs/IR.md`), not only balanced braces:
    /// what it accepts parses with rustc's grammar.
    pub syntax: bool,
    /// Identifiers exist: calls, macros and paths name the signature's parameters, the locals declared so far,
    /// the set's known functions and types and a built-in list of the standard library's common items; after
    /// `x.` only members of `x`'s type when it is known. Needs `syntax`.
    pub identifiers: bool,
    /// The type `self` has in the body (an impl's self type, `Stock`). `None`: taken from the target's signature
    /// constraint when the set has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_type: Option<String>,
}

impl BodyOptions {
    /// Every layer on.
    pub fn all() -> Self {
        BodyOptions { syntax: true, identifiers: true, self_type: None }
    }

    /// Only the syntax layer.
    pub fn syntax() -> Self {
        BodyOptions { syntax: true, identifiers: false, self_type: None }
    }

    /// Whether nothing is on (the default).
    pub fn is_default(&self) -> bool {
        *self == BodyOptions::default()
    }
}

/// What the IR's grammar generates.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// The body of one function whose header is fixed. `signature` is either a full header (`pub fn parse(s: &str)
    /// -> u8`, any text containing `(`) emitted verbatim, or the name or symbol path of a function whose
    /// [`ananke_core::Rule::Signature`] constraint is in the set (it must be unique).
    FnBody {
        /// A header or the name of a function with a signature constraint.
        signature: String,
    },
    /// One whole item: for Rust, a function item (`fn name(params) -> T { body }`).
    Item,
    /// A JSON value, shaped by the set's [`ananke_core::Rule::JsonSchema`] constraints.
    Json,
}

impl Target {
    /// The name used on the command line and in the IR: `fn-body`, `item`, `json`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Target::FnBody { .. } => "fn-body",
            Target::Item => "item",
            Target::Json => "json",
        }
    }
}

/// Size bounds. Past them braid degrades gracefully (a regex conflict becomes "undecided") rather than spending
/// unbounded time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest DFA (bytes) built for one regex during conflict detection; past it the check is "undecided".
    pub regex_dfa_bytes: usize,
    /// Most state pairs explored when intersecting two regex DFAs; past it the check is "undecided".
    pub regex_product_states: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { regex_dfa_bytes: 1 << 20, regex_product_states: 20_000 }
    }
}

/// Where the generated code will live. Constraints whose [`ananke_core::Scope`] excludes this place do not apply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Context {
    /// The file the code goes into, relative to the project root (`/` separated). `None`: path-scoped constraints
    /// apply (the conservative choice).
    pub path: Option<String>,
    /// Whether the code is test code.
    pub in_test: bool,
}
