//! The typed [`Rule`] enum: what a constraint demands, as data rather than prose.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize, Serializer};

use crate::constraint::{ConstraintKind, Severity};
use crate::naming::NamingStyle;
use crate::scope::SymbolKind;

/// What a constraint demands.
///
/// Serialized with an internal `"type"` tag, e.g. `{"type": "forbid_call", "callee": "unwrap"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Rule {
    /// A function with this exact header exists (or must be generated). Scoped by its symbol path.
    Signature(Signature),
    /// A type with these members exists. Scoped by its symbol path.
    TypeShape(TypeShape),
    /// Names of one symbol kind follow one style.
    Naming {
        /// The kind of symbol the style applies to.
        target: SymbolKind,
        /// The style names must follow.
        style: NamingStyle,
    },
    /// A function, method or macro must not be called. `callee` is a name (`unwrap`), a path suffix
    /// (`mem::transmute`, `std::process::Command::new`) or a macro name ending in `!` (`panic!`).
    ForbidCall {
        /// The callee as written in source, matched on its last path segments.
        callee: String,
    },
    /// Code must not match the pattern.
    ForbidPattern {
        /// The pattern, a regex over code (comments and string contents excluded) or a tree-sitter query.
        pattern: Pattern,
    },
    /// Code must match the pattern (at least once in the scope).
    RequirePattern {
        /// The pattern, a regex over code (comments and string contents excluded) or a tree-sitter query.
        pattern: Pattern,
    },
    /// Only these modules (and their children) may be imported.
    ImportAllow {
        /// Module paths, e.g. `std`, `serde`, `crate::db`.
        modules: Vec<String>,
    },
    /// These modules (and their children) must not be imported.
    ImportForbid {
        /// Module paths, e.g. `std::process`, `os`.
        modules: Vec<String>,
    },
    /// How errors are handled.
    ErrorHandling {
        /// The required style.
        style: ErrorStyle,
    },
    /// A bound on the size of the scoped code (a function, a file, or a generated output).
    Length {
        /// What is counted.
        unit: LengthUnit,
        /// Smallest allowed size, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u64>,
        /// Largest allowed size, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u64>,
    },
    /// Output must be derivable from this grammar (llguidance's Lark dialect). Escape hatch for users.
    Grammar {
        /// The grammar text.
        lark: String,
    },
    /// Output must be a JSON value valid against this schema. Escape hatch for users.
    JsonSchema {
        /// The JSON schema.
        #[serde(serialize_with = "serialize_sorted")]
        schema: serde_json::Value,
    },
    /// Output must match this regex entirely. Escape hatch for users.
    Regex {
        /// The regex (Rust `regex` syntax).
        pattern: String,
    },
}

/// The variant of a [`Rule`] without its data; handy for counting and bucketing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // One-to-one with `Rule`'s variants.
pub enum RuleType {
    Signature,
    TypeShape,
    Naming,
    ForbidCall,
    ForbidPattern,
    RequirePattern,
    ImportAllow,
    ImportForbid,
    ErrorHandling,
    Length,
    Grammar,
    JsonSchema,
    Regex,
}

impl RuleType {
    /// All rule types, in declaration order.
    pub const ALL: [RuleType; 13] = [
        RuleType::Signature,
        RuleType::TypeShape,
        RuleType::Naming,
        RuleType::ForbidCall,
        RuleType::ForbidPattern,
        RuleType::RequirePattern,
        RuleType::ImportAllow,
        RuleType::ImportForbid,
        RuleType::ErrorHandling,
        RuleType::Length,
        RuleType::Grammar,
        RuleType::JsonSchema,
        RuleType::Regex,
    ];

    /// The tag used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleType::Signature => "signature",
            RuleType::TypeShape => "type_shape",
            RuleType::Naming => "naming",
            RuleType::ForbidCall => "forbid_call",
            RuleType::ForbidPattern => "forbid_pattern",
            RuleType::RequirePattern => "require_pattern",
            RuleType::ImportAllow => "import_allow",
            RuleType::ImportForbid => "import_forbid",
            RuleType::ErrorHandling => "error_handling",
            RuleType::Length => "length",
            RuleType::Grammar => "grammar",
            RuleType::JsonSchema => "json_schema",
            RuleType::Regex => "regex",
        }
    }
}

impl fmt::Display for RuleType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Rule {
    /// The variant without its data.
    pub fn rule_type(&self) -> RuleType {
        match self {
            Rule::Signature(_) => RuleType::Signature,
            Rule::TypeShape(_) => RuleType::TypeShape,
            Rule::Naming { .. } => RuleType::Naming,
            Rule::ForbidCall { .. } => RuleType::ForbidCall,
            Rule::ForbidPattern { .. } => RuleType::ForbidPattern,
            Rule::RequirePattern { .. } => RuleType::RequirePattern,
            Rule::ImportAllow { .. } => RuleType::ImportAllow,
            Rule::ImportForbid { .. } => RuleType::ImportForbid,
            Rule::ErrorHandling { .. } => RuleType::ErrorHandling,
            Rule::Length { .. } => RuleType::Length,
            Rule::Grammar { .. } => RuleType::Grammar,
            Rule::JsonSchema { .. } => RuleType::JsonSchema,
            Rule::Regex { .. } => RuleType::Regex,
        }
    }

    /// The kind a constraint with this rule gets unless told otherwise.
    pub fn default_kind(&self) -> ConstraintKind {
        match self {
            Rule::Signature(_) | Rule::TypeShape(_) => ConstraintKind::TypeSafety,
            Rule::Naming { .. } | Rule::Grammar { .. } | Rule::JsonSchema { .. } | Rule::Regex { .. } => {
                ConstraintKind::Syntactic
            }
            Rule::ForbidCall { .. }
            | Rule::ForbidPattern { .. }
            | Rule::RequirePattern { .. }
            | Rule::ErrorHandling { .. } => ConstraintKind::Semantic,
            Rule::ImportAllow { .. } | Rule::ImportForbid { .. } => ConstraintKind::Architectural,
            Rule::Length { .. } => ConstraintKind::Operational,
        }
    }

    /// The severity a constraint with this rule gets unless told otherwise.
    pub fn default_severity(&self) -> Severity {
        match self {
            Rule::Naming { .. } | Rule::Length { .. } | Rule::ImportAllow { .. } | Rule::ErrorHandling { .. } => {
                Severity::Warning
            }
            _ => Severity::Error,
        }
    }

    /// Puts unordered data in canonical order (sorted, de-duplicated module lists) so equal rules encode equally.
    pub fn normalize(&mut self) {
        if let Rule::ImportAllow { modules } | Rule::ImportForbid { modules } = self {
            modules.sort_unstable();
            modules.dedup();
        }
    }

    /// Checks structural validity that serde cannot express.
    pub fn validate(&self) -> Result<(), crate::Error> {
        match self {
            Rule::Length { min: None, max: None, .. } => {
                Err(crate::Error::InvalidRule("a length rule needs `min`, `max` or both".into()))
            }
            Rule::Length { min: Some(lo), max: Some(hi), unit } if lo > hi => {
                Err(crate::Error::InvalidRule(format!("length bound on {unit} has min {lo} greater than max {hi}")))
            }
            Rule::ForbidCall { callee } if callee.trim().is_empty() => {
                Err(crate::Error::InvalidRule("a forbidden call needs a non-empty `callee`".into()))
            }
            Rule::ImportAllow { modules } | Rule::ImportForbid { modules } if modules.is_empty() => {
                Err(crate::Error::InvalidRule("an import rule needs at least one module".into()))
            }
            _ => Ok(()),
        }
    }

    /// A one-line description for people, e.g. ``forbid call `unwrap` ``.
    pub fn describe(&self) -> String {
        match self {
            Rule::Signature(sig) => format!("signature `{}`", sig.header()),
            Rule::TypeShape(shape) => {
                format!("{} `{}` with {} member(s)", shape.kind.as_str(), shape.name, shape.members.len())
            }
            Rule::Naming { target, style } => {
                format!("{} names use {}", target.as_str(), style.as_str())
            }
            Rule::ForbidCall { callee } => format!("forbid call `{callee}`"),
            Rule::ForbidPattern { pattern } => format!("forbid pattern {pattern}"),
            Rule::RequirePattern { pattern } => format!("require pattern {pattern}"),
            Rule::ImportAllow { modules } => format!("imports only from {}", list(modules)),
            Rule::ImportForbid { modules } => format!("no imports from {}", list(modules)),
            Rule::ErrorHandling { style } => format!("error handling: {}", style.describe()),
            Rule::Length { unit, min, max } => match (min, max) {
                (Some(lo), Some(hi)) => format!("between {lo} and {hi} {unit}"),
                (Some(lo), None) => format!("at least {lo} {unit}"),
                (None, Some(hi)) => format!("at most {hi} {unit}"),
                (None, None) => format!("unbounded {unit}"),
            },
            Rule::Grammar { lark } => format!("grammar ({} lines of Lark)", lark.lines().count()),
            Rule::JsonSchema { .. } => "JSON value matching a schema".to_owned(),
            Rule::Regex { pattern } => format!("matches /{pattern}/"),
        }
    }
}

/// A list for people: the first few items, then how many more.
fn list(items: &[String]) -> String {
    const SHOWN: usize = 6;
    if items.len() <= SHOWN {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..SHOWN].join(", "), items.len() - SHOWN)
    }
}

/// A code pattern: a regex over code, or a tree-sitter query for structure.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// A regex matched against code with comments and string contents blanked out.
    Regex(String),
    /// A tree-sitter query (S-expression) in the language's grammar; any match counts.
    Query(String),
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Regex(re) => write!(f, "/{re}/"),
            Pattern::Query(q) => {
                // A query that starts with a comment names itself by that comment's first line.
                let title = q.lines().next().and_then(|l| l.strip_prefix(';')).map(str::trim).filter(|t| !t.is_empty());
                if let Some(title) = title {
                    write!(f, "query ({})", title.trim_end_matches('.'))
                } else {
                    let flat = q.split_whitespace().collect::<Vec<_>>().join(" ");
                    let cut = flat.char_indices().nth(60).map_or(flat.len(), |(i, _)| i);
                    let ellipsis = if cut < flat.len() { "…" } else { "" };
                    write!(f, "query `{}{ellipsis}`", &flat[..cut])
                }
            }
        }
    }
}

/// How errors are handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStyle {
    /// Fallible functions return `Result` (or the language's equivalent) and propagate errors.
    Result,
    /// No panicking constructs (`unwrap`, `expect`, `panic!`, ...) outside tests.
    NoPanic,
    /// Errors are returned as values and checked (`if err != nil` in Go).
    CheckedErrors,
    /// Errors are raised as exceptions.
    Exceptions,
}

impl ErrorStyle {
    /// The name used in JSON and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorStyle::Result => "result",
            ErrorStyle::NoPanic => "no_panic",
            ErrorStyle::CheckedErrors => "checked_errors",
            ErrorStyle::Exceptions => "exceptions",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ErrorStyle::Result => "fallible functions return Result",
            ErrorStyle::NoPanic => "no panicking calls outside tests",
            ErrorStyle::CheckedErrors => "errors are returned and checked",
            ErrorStyle::Exceptions => "errors are raised as exceptions",
        }
    }
}

/// What a [`Rule::Length`] bound counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthUnit {
    /// Lines of text.
    Lines,
    /// Model tokens (of the generating backend's tokenizer).
    Tokens,
    /// Characters (Unicode scalar values).
    Chars,
}

impl LengthUnit {
    /// The name used in JSON and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            LengthUnit::Lines => "lines",
            LengthUnit::Tokens => "tokens",
            LengthUnit::Chars => "chars",
        }
    }
}

impl fmt::Display for LengthUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The header of a function or method, as data.
///
/// Types are kept as source text with whitespace normalized (`Vec<u8>`, `&'a mut Self`); a `self` parameter is the
/// param named `self` whose type is `Self`, `&Self`, `&mut Self` or an explicit type (`Box<Self>`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signature {
    /// The function's name.
    pub name: String,
    /// Generic parameters as written, including the angle brackets: `<T: Clone, 'a>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generics: Option<String>,
    /// Parameters in order.
    pub params: Vec<Param>,
    /// The return type, if not unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns: Option<String>,
    /// The where clause as written, without the `where` keyword.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub where_clause: Option<String>,
    /// `async fn`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_async: bool,
    /// `unsafe fn`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_unsafe: bool,
    /// `const fn`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_const: bool,
    /// `extern "ABI" fn`: the ABI string, `C` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<String>,
    /// Visibility as written: `pub`, `pub(crate)`, ...; `None` is private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// The impl block, trait or extern block the function belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// Whether the function has a body (trait methods and foreign functions may not).
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub has_body: bool,
    /// Whether a doc comment or `#[doc]` attribute documents the function.
    #[serde(default, skip_serializing_if = "is_false")]
    pub documented: bool,
    /// The `#[cfg(...)]` predicate the function is compiled under, if any (so cfg-variants stay distinct).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cfg: Option<String>,
}

/// One parameter of a [`Signature`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Param {
    /// The binding pattern as written (`x`, `mut buf`, `(a, b)`, `self`).
    pub name: String,
    /// The type as written (`&str`, `impl Fn() -> u8`); for `self` parameters `Self`, `&Self`, `&mut Self`, ...
    #[serde(rename = "type")]
    pub ty: String,
}

/// What a function belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    /// Impl block, trait, or extern block.
    pub kind: OwnerKind,
    /// The self type of an impl (`Foo<T>`), the trait's name, or the extern block's ABI.
    pub name: String,
    /// For trait impls, the trait implemented (`Display`).
    #[serde(default, rename = "trait", skip_serializing_if = "Option::is_none")]
    pub trait_name: Option<String>,
}

/// The kind of an [`Owner`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    /// `impl Type` or `impl Trait for Type`.
    Impl,
    /// `trait Name`.
    Trait,
    /// `extern "C" { ... }`.
    Extern,
}

impl Signature {
    /// The header as Rust source: `pub async fn name<T>(a: A, b: B) -> R where T: Clone`.
    pub fn header(&self) -> String {
        let mut out = String::with_capacity(64);
        if let Some(vis) = &self.visibility {
            out.push_str(vis);
            out.push(' ');
        }
        if self.is_const {
            out.push_str("const ");
        }
        if self.is_async {
            out.push_str("async ");
        }
        if self.is_unsafe {
            out.push_str("unsafe ");
        }
        if let Some(abi) = &self.abi {
            let _ = write!(out, "extern \"{abi}\" ");
        }
        out.push_str("fn ");
        out.push_str(&self.name);
        if let Some(generics) = &self.generics {
            out.push_str(generics);
        }
        out.push('(');
        for (i, param) in self.params.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&param.render());
        }
        out.push(')');
        if let Some(ret) = &self.returns {
            out.push_str(" -> ");
            out.push_str(ret);
        }
        if let Some(clause) = &self.where_clause {
            out.push_str(" where ");
            out.push_str(clause);
        }
        out
    }

    /// Whether the function takes `self` in any form (a method rather than an associated function).
    pub fn has_receiver(&self) -> bool {
        self.params.first().is_some_and(Param::is_self)
    }
}

impl Param {
    /// Whether this is the `self` parameter.
    pub fn is_self(&self) -> bool {
        self.name == "self" || self.name == "mut self"
    }

    /// The parameter as Rust source: `x: u8`, `&mut self`, `self: Box<Self>`, `...` (an unnamed C variadic).
    pub fn render(&self) -> String {
        if self.name.is_empty() {
            return self.ty.clone();
        }
        if self.is_self() {
            // `&'a mut Self` is written `&'a mut self`; other explicit types keep the `self: T` form.
            if let Some(prefix) = self.ty.strip_suffix("Self")
                && (prefix.is_empty() || prefix.starts_with('&'))
            {
                let binding = if self.name == "mut self" && prefix.is_empty() { "mut self" } else { "self" };
                return format!("{prefix}{binding}");
            }
            return format!("{}: {}", self.name, self.ty);
        }
        format!("{}: {}", self.name, self.ty)
    }
}

/// The shape of a type: its members and what kind of type it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TypeShape {
    /// The type's name (for impls: the self type).
    pub name: String,
    /// What kind of type.
    pub kind: TypeShapeKind,
    /// Generic parameters as written, including angle brackets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generics: Option<String>,
    /// Fields, variants, methods, associated items, in declaration order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// For aliases the aliased type; for trait impls the trait; for traits their supertraits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Visibility as written; `None` is private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// Whether the type is documented.
    #[serde(default, skip_serializing_if = "is_false")]
    pub documented: bool,
}

/// What kind of type a [`TypeShape`] describes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeShapeKind {
    /// A struct with named fields, a tuple struct (fields named `0`, `1`, ...) or a unit struct.
    #[default]
    Struct,
    /// An enum.
    Enum,
    /// A union.
    Union,
    /// A trait (members are its methods and associated items).
    Trait,
    /// A type alias (`target` is the aliased type).
    Alias,
    /// A trait implementation (`name` is the self type, `target` the trait).
    TraitImpl,
    /// A class (TypeScript, Python).
    Class,
    /// An interface (TypeScript, Go).
    Interface,
}

impl TypeShapeKind {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TypeShapeKind::Struct => "struct",
            TypeShapeKind::Enum => "enum",
            TypeShapeKind::Union => "union",
            TypeShapeKind::Trait => "trait",
            TypeShapeKind::Alias => "alias",
            TypeShapeKind::TraitImpl => "trait_impl",
            TypeShapeKind::Class => "class",
            TypeShapeKind::Interface => "interface",
        }
    }
}

/// A member of a [`TypeShape`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    /// The member's name (`0`, `1`, ... for tuple fields).
    pub name: String,
    /// What kind of member.
    pub kind: MemberKind,
    /// Field type, variant payload (`(u8, String)` or `{ x: i32 }`), method header, or associated type bounds.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
}

/// The kind of a [`Member`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    /// A field.
    Field,
    /// An enum variant.
    Variant,
    /// A method or associated function.
    Method,
    /// An associated type.
    AssociatedType,
    /// An associated constant.
    AssociatedConst,
}

// Serde's `skip_serializing_if` passes a reference, so these helpers take `&bool`.
fn is_false(value: &bool) -> bool {
    !*value
}

fn is_true(value: &bool) -> bool {
    *value
}

fn default_true() -> bool {
    true
}

/// Serializes a JSON value with object keys sorted at every level, whatever map type serde_json was built with
/// (another crate in the build may turn on `preserve_order`), so schemas hash and print canonically.
fn serialize_sorted<S: Serializer>(value: &serde_json::Value, serializer: S) -> Result<S::Ok, S::Error> {
    Sorted(value).serialize(serializer)
}

struct Sorted<'a>(&'a serde_json::Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    out.serialize_entry(key, &Sorted(value))?;
                }
                out.end()
            }
            serde_json::Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Sorted(item))?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}
