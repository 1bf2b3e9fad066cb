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
}

impl CompileConfig {
    /// A configuration for one language and target with default limits, not strict, outside test code.
    pub fn new(language: Language, target: Target) -> Self {
        CompileConfig { language, target, limits: Limits::default(), strict: false, context: Context::default() }
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
