//! [`ConstraintIR`]: what braid produces. Versioned, serializable, content-hashed, and explainable: every element
//! lists the ids of the constraints that produced it.

use std::fmt;

use ananke_core::{ConstraintId, ConstraintKind, Language, LengthUnit, RuleType, Severity, SymbolKind};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use xxhash_rust::xxh3::Xxh3;

use crate::config::{BodyOptions, Target};
use crate::error::Error;

/// The `format` field of every IR document.
pub const IR_FORMAT: &str = "ananke.ir";
/// The version of the IR format this build writes and reads.
pub const IR_VERSION: u32 = 1;

/// Compiled constraints, ready for a token-level engine (the Lark grammar, JSON schema, regexes, forbidden strings)
/// and for the post-generation check (the `checks` list).
///
/// Lists are in a canonical order (by content, then by source ids), so the same set and configuration always give
/// byte-identical JSON whatever the order of the input constraints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintIR {
    /// Always [`IR_FORMAT`].
    pub format: String,
    /// Always [`IR_VERSION`] for documents this build writes.
    pub version: u32,
    /// xxh3-128 of the canonical encoding of every other field (see [`ConstraintIR::compute_hash`]).
    pub hash: IrHash,
    /// The compiler that produced the IR (`braid 0.1.0`); part of the hash, so caches never mix versions.
    pub compiler: String,
    /// The language of the generated code.
    pub language: Language,
    /// What the grammar generates; for [`Target::FnBody`] the signature is the resolved header text.
    pub target: Target,
    /// For fn-body targets: the layers beyond the bans ([`BodyOptions`]), with `self_type` resolved. Absent when
    /// all are off.
    #[serde(default, skip_serializing_if = "BodyOptions::is_default")]
    pub body: BodyOptions,
    /// The grammar in llguidance's Lark dialect, if the target has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grammar: Option<Grammar>,
    /// The JSON schema of a [`Target::Json`] output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<JsonSchema>,
    /// Identifier, required and whole-output regexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regexes: Vec<RegexElement>,
    /// Text that must not occur anywhere in the output (the token-level fast path).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbidden: Vec<ForbiddenString>,
    /// Bounds on the output's size.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub length: Vec<LengthBound>,
    /// Rules checked on the output after generation (by `clew::check`), because no grammar can express them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// Functions and types known to exist (from signature and type-shape constraints), for identifier rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<KnownSymbol>,
    /// Conflicts found between constraints and how each was resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// Dependency cycles between constraints (each lists the ids on the cycle, smallest first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cycles: Vec<Vec<ConstraintId>>,
    /// Every input constraint and what became of it, in topological order of the dependency graph (dependencies
    /// first, ties by id).
    pub constraints: Vec<ConstraintEntry>,
}

/// The content hash of an IR: xxh3-128, shown as 32 hex digits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IrHash(pub u128);

impl fmt::Display for IrHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl Serialize for IrHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IrHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if text.len() != 32 {
            return Err(serde::de::Error::custom("an IR hash is 32 hex digits"));
        }
        u128::from_str_radix(&text, 16).map(IrHash).map_err(serde::de::Error::custom)
    }
}

/// The grammar: Lark text for llguidance (and the servers that embed it: vLLM, SGLang, llama.cpp), plus which
/// constraints produced each of its named parts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grammar {
    /// The grammar text. Its start rule is `start`.
    pub lark: String,
    /// The named rules and terminals that constraints produced, in the order they appear in `lark`.
    pub parts: Vec<GrammarPart>,
}

/// A named rule or terminal of the grammar and the constraints behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrammarPart {
    /// The rule or terminal name in the Lark text.
    pub name: String,
    /// What it does, for people.
    pub description: String,
    /// The constraints that produced it.
    pub sources: Vec<ConstraintId>,
}

/// The JSON schema of a JSON target (the `allOf` of several schema constraints).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonSchema {
    /// The schema. Key order is kept as given: llguidance generates object properties in schema order.
    pub schema: serde_json::Value,
    /// The constraints that produced it.
    pub sources: Vec<ConstraintId>,
}

/// A regex with a role and a name (the name is also the terminal's name in the grammar when it is used there).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegexElement {
    /// A name unique within the IR (`NAME_FUNCTION`, `REQUIRED_0`, `OUTPUT_0`).
    pub name: String,
    /// What the regex constrains.
    pub role: RegexRole,
    /// The regex (Rust `regex` syntax, which llguidance also reads).
    pub pattern: String,
    /// The constraints that produced it.
    pub sources: Vec<ConstraintId>,
}

/// What a [`RegexElement`] constrains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RegexRole {
    /// Declared names of this symbol kind match the regex entirely.
    Identifier {
        /// The symbol kind.
        symbol_kind: SymbolKind,
    },
    /// The output contains a match somewhere.
    Required,
    /// The output matches entirely.
    Output,
}

/// Text that must not occur in the output.
///
/// `pattern` is the exact ban: a regex that must not match anywhere in the output. `literal` is text that every
/// banned occurrence contains (`unwrap` for the call pattern `[^A-Za-z0-9_]unwrap[ \t\r\n]*\(`), so a token-level
/// engine can precompute which tokens could start or complete a ban; it is empty when the pattern has no required
/// literal. Bans hold in the code of the output, not inside string and char literals and comments; a leading or
/// trailing non-identifier class of a pattern is implied at the edges of a code run (see `docs/IR.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForbiddenString {
    /// Text every banned occurrence contains (may be empty).
    pub literal: String,
    /// The banned regex (Rust `regex` syntax, unanchored).
    pub pattern: String,
    /// What is banned, for people (``call `unwrap` ``).
    pub description: String,
    /// The constraints that produced it.
    pub sources: Vec<ConstraintId>,
}

/// A bound on the output's size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LengthBound {
    /// What is counted.
    pub unit: LengthUnit,
    /// Smallest allowed size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// Largest allowed size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// Whether the grammar itself enforces the bound. Always false today: bodies are context-free, so the decoding
    /// loop (the Checker, maze's token budget) and the post-generation check enforce lengths.
    pub in_grammar: bool,
    /// The constraints that produced it.
    pub sources: Vec<ConstraintId>,
}

/// A rule that is checked on the output after generation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The rule type.
    pub rule: RuleType,
    /// What is checked, for people.
    pub description: String,
    /// The constraints that produced it.
    pub sources: Vec<ConstraintId>,
}

/// A function or type known to exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownSymbol {
    /// The symbol path (or name).
    pub path: String,
    /// Function or type.
    pub kind: SymbolKind,
    /// The header (functions) or a one-line summary (types).
    pub text: String,
    /// Known types this symbol's signature or members name (the type-shape constraints it depends on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<ConstraintId>,
    /// The constraints that produced it.
    pub sources: Vec<ConstraintId>,
}

/// Two constraints that cannot both hold, and which one was kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The constraint kept.
    pub winner: ConstraintId,
    /// The constraint dropped (unless `outcome` is undecided, in which case both are kept).
    pub loser: ConstraintId,
    /// What kind of clash.
    pub kind: ConflictKind,
    /// Whether the clash is certain.
    pub outcome: Outcome,
    /// Which resolution criterion decided the winner.
    pub decided_by: Decider,
    /// One line for people.
    pub reason: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} overrides {}: {}", self.winner, self.loser, self.reason)
    }
}

/// The kinds of [`Conflict`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// Two naming styles for one symbol kind.
    Naming,
    /// Two signatures for one function that disagree.
    Signature,
    /// Two shapes for one type that disagree.
    TypeShape,
    /// A required pattern can only be met by text that a forbidden call or pattern bans.
    ForbidRequire,
    /// A module both allowed and forbidden.
    Import,
    /// Two error-handling styles that exclude each other.
    ErrorHandling,
    /// Length bounds that exclude each other.
    Length,
    /// Whole-output regexes whose intersection is empty.
    Regex,
    /// Two grammars for one output (grammars cannot be intersected).
    Grammar,
    /// JSON schemas whose top-level types exclude each other.
    JsonSchema,
}

/// Whether a conflict is certain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The constraints cannot both hold; the loser is dropped.
    Resolved,
    /// The check ran out of its size bound ([`crate::Limits`]); both constraints are kept.
    Undecided,
}

/// The resolution criterion that separated winner and loser, in the order they are tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decider {
    /// User-declared beats extracted beats built-in default.
    Provenance,
    /// Error beats warning beats info beats hint.
    Severity,
    /// Higher priority wins.
    Priority,
    /// Higher extraction confidence wins.
    Confidence,
    /// Everything else equal: the smaller id wins (arbitrary but deterministic).
    Id,
}

/// One input constraint and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstraintEntry {
    /// Its id.
    pub id: ConstraintId,
    /// Its rule type.
    pub rule: RuleType,
    /// Its kind.
    pub kind: ConstraintKind,
    /// Its severity.
    pub severity: Severity,
    /// `user`, `extracted` or `default`.
    pub origin: Origin,
    /// Its label, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The rule, for people.
    pub description: String,
    /// What became of it.
    pub status: Status,
}

/// Where a constraint came from (the provenance without its details).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A built-in default.
    Default,
    /// Extracted from code.
    Extracted,
    /// Declared by a user.
    User,
}

/// What became of a constraint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// It reached the IR, in these forms.
    Enforced {
        /// The IR parts it lowered to.
        via: Vec<Via>,
    },
    /// It lost a conflict.
    Overridden {
        /// The winner.
        by: ConstraintId,
    },
    /// It does not apply to this compilation (another language, test code only, another symbol, another target).
    Inapplicable {
        /// Why, for people.
        reason: String,
    },
}

/// An IR part a constraint lowered to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// A grammar rule or terminal.
    Grammar,
    /// The JSON schema.
    JsonSchema,
    /// A regex.
    Regex,
    /// A forbidden string.
    Forbidden,
    /// A length bound.
    Length,
    /// A post-generation check.
    Check,
    /// A known symbol.
    Symbol,
}

impl Via {
    /// The name used in JSON and explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Grammar => "grammar",
            Via::JsonSchema => "json_schema",
            Via::Regex => "regex",
            Via::Forbidden => "forbidden",
            Via::Length => "length",
            Via::Check => "check",
            Via::Symbol => "symbol",
        }
    }
}

/// A value written as compact JSON into a buffer (object-safe, so the hash can list fields of different types).
trait ErasedJson {
    fn write_json(&self, buf: &mut Vec<u8>);
}

impl<T: Serialize + ?Sized> ErasedJson for T {
    fn write_json(&self, buf: &mut Vec<u8>) {
        // Writing plain data into a Vec cannot fail: every map key is a string.
        if serde_json::to_writer(&mut *buf, self).is_err() {
            unreachable!("the canonical encoding of an IR cannot fail");
        }
    }
}

/// A JSON array whose elements are already encoded.
struct Spliced<'a>(&'a [&'a [u8]]);

impl ErasedJson for Spliced<'_> {
    fn write_json(&self, buf: &mut Vec<u8>) {
        buf.push(b'[');
        for (i, part) in self.0.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(part);
        }
        buf.push(b']');
    }
}

/// The compact JSON of one constraint entry, as [`ConstraintIR::hash_with`] splices it.
pub(crate) fn entry_json(entry: &ConstraintEntry) -> Vec<u8> {
    element_json(entry)
}

/// The compact JSON of any IR value.
pub(crate) fn element_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256);
    value.write_json(&mut buf);
    buf
}

/// One field's encoding for [`hash_parts`]: the value's JSON, or a list's elements' JSON.
pub(crate) enum Part<'a> {
    Raw(&'a [u8]),
    List(&'a [&'a [u8]]),
}

/// The IR hash from the encoded fields, in order (the same bytes [`ConstraintIR::compute_hash`] hashes).
pub(crate) fn hash_parts(fields: &[(&str, Part<'_>)]) -> IrHash {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    buf.push(b'{');
    for (i, (name, part)) in fields.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.push(b'"');
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(b"\":");
        match part {
            Part::Raw(bytes) => buf.extend_from_slice(bytes),
            Part::List(parts) => Spliced(parts).write_json(&mut buf),
        }
    }
    buf.push(b'}');
    let mut hasher = Xxh3::new();
    hasher.update(b"ananke-ir-hash/v1\0");
    hasher.update(&buf);
    IrHash(hasher.digest128())
}

impl ConstraintIR {
    /// xxh3-128 over the canonical encoding: the compact JSON of every field except `hash`, in declaration order. Lists are already in canonical order when braid builds the IR.
    pub fn compute_hash(&self) -> IrHash {
        self.hash_with(None)
    }

    /// [`ConstraintIR::compute_hash`], taking the compact JSON of each entry of `constraints` from `entries` when
    /// given (the incremental compiler keeps it per constraint, so a recompile does not serialize every entry
    /// again). The bytes hashed are the same either way.
    pub(crate) fn hash_with(&self, entries: Option<&[&[u8]]>) -> IrHash {
        // The canonical encoding is built in one buffer and hashed in one call: serde_json writes many small pieces,
        // and feeding each to the hasher separately costs more than the copy.
        let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
        buf.extend_from_slice(b"{");
        let mut first = true;
        let mut field = |buf: &mut Vec<u8>, name: &str, value: &dyn ErasedJson| {
            if !first {
                buf.push(b',');
            }
            first = false;
            buf.push(b'"');
            buf.extend_from_slice(name.as_bytes());
            buf.extend_from_slice(b"\":");
            value.write_json(buf);
        };
        field(&mut buf, "format", &self.format);
        field(&mut buf, "version", &self.version);
        field(&mut buf, "compiler", &self.compiler);
        field(&mut buf, "language", &self.language);
        field(&mut buf, "target", &self.target);
        // Only when set, so IRs without body layers keep their hashes.
        if !self.body.is_default() {
            field(&mut buf, "body", &self.body);
        }
        field(&mut buf, "grammar", &self.grammar);
        field(&mut buf, "json_schema", &self.json_schema);
        field(&mut buf, "regexes", &self.regexes);
        field(&mut buf, "forbidden", &self.forbidden);
        field(&mut buf, "length", &self.length);
        field(&mut buf, "checks", &self.checks);
        field(&mut buf, "symbols", &self.symbols);
        field(&mut buf, "conflicts", &self.conflicts);
        field(&mut buf, "cycles", &self.cycles);
        match entries {
            Some(parts) if parts.len() == self.constraints.len() => {
                field(&mut buf, "constraints", &Spliced(parts));
            }
            _ => field(&mut buf, "constraints", &self.constraints),
        }
        buf.push(b'}');
        let mut hasher = Xxh3::new();
        hasher.update(b"ananke-ir-hash/v1\0");
        hasher.update(&buf);
        IrHash(hasher.digest128())
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| unreachable!("an IR always serializes: {e}"))
    }

    /// Indented JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| unreachable!("an IR always serializes: {e}"))
    }

    /// Reads an IR document, checking format, version and hash.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let ir: ConstraintIR = serde_json::from_str(text).map_err(|e| Error::InvalidIr(e.to_string()))?;
        if ir.format != IR_FORMAT {
            return Err(Error::InvalidIr(format!("`format` is {:?}, expected {IR_FORMAT:?}", ir.format)));
        }
        if ir.version != IR_VERSION {
            return Err(Error::InvalidIr(format!(
                "version {} is not supported (this build reads {IR_VERSION})",
                ir.version
            )));
        }
        let expected = ir.compute_hash();
        if expected != ir.hash {
            return Err(Error::InvalidIr(format!("hash {} does not match the content (expected {expected})", ir.hash)));
        }
        Ok(ir)
    }

    /// The entry of one constraint.
    pub fn entry(&self, id: ConstraintId) -> Option<&ConstraintEntry> {
        self.constraints.iter().find(|e| e.id == id)
    }
}
