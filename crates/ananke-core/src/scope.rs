//! Where a constraint applies: languages, symbol kind and path, file globs, test code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A source language Ananke understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Rust (`.rs`).
    Rust,
    /// TypeScript (`.ts`, `.tsx`, `.mts`, `.cts`).
    TypeScript,
    /// JavaScript (`.js`, `.jsx`, `.mjs`, `.cjs`).
    JavaScript,
    /// Python (`.py`, `.pyi`).
    Python,
    /// Go (`.go`).
    Go,
}

impl Language {
    /// All languages, in declaration order.
    pub const ALL: [Language; 5] =
        [Language::Rust, Language::TypeScript, Language::JavaScript, Language::Python, Language::Go];

    /// The name used in JSON, configuration and `--lang`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::TypeScript => "typescript",
            Language::JavaScript => "javascript",
            Language::Python => "python",
            Language::Go => "go",
        }
    }

    /// The language of a file extension (without the dot), if known.
    pub fn from_extension(ext: &str) -> Option<Language> {
        match ext {
            "rs" => Some(Language::Rust),
            "ts" | "tsx" | "mts" | "cts" => Some(Language::TypeScript),
            "js" | "jsx" | "mjs" | "cjs" => Some(Language::JavaScript),
            "py" | "pyi" => Some(Language::Python),
            "go" => Some(Language::Go),
            _ => None,
        }
    }

    /// The language of a path, from its extension.
    pub fn from_path(path: &str) -> Option<Language> {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let (_, ext) = name.rsplit_once('.')?;
        Language::from_extension(ext)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        let found = match lower.as_str() {
            "rs" => Some(Language::Rust),
            "ts" => Some(Language::TypeScript),
            "js" => Some(Language::JavaScript),
            "py" => Some(Language::Python),
            "golang" => Some(Language::Go),
            _ => Language::ALL.into_iter().find(|l| l.as_str() == lower),
        };
        found.ok_or_else(|| {
            format!("unknown language {s:?}; expected one of: {}", Language::ALL.map(Language::as_str).join(", "))
        })
    }
}

/// The kind of a named symbol, for naming rules and scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    /// Free functions, methods and associated functions.
    Function,
    /// Structs, enums, unions, traits, type aliases, classes, interfaces.
    Type,
    /// Constants.
    Constant,
    /// Statics (global variables).
    Static,
    /// Modules and packages.
    Module,
    /// Local variables and parameters.
    Variable,
    /// Struct fields.
    Field,
    /// Enum variants.
    Variant,
}

impl SymbolKind {
    /// All symbol kinds, in declaration order.
    pub const ALL: [SymbolKind; 8] = [
        SymbolKind::Function,
        SymbolKind::Type,
        SymbolKind::Constant,
        SymbolKind::Static,
        SymbolKind::Module,
        SymbolKind::Variable,
        SymbolKind::Field,
        SymbolKind::Variant,
    ];

    /// The name used in JSON and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Type => "type",
            SymbolKind::Constant => "constant",
            SymbolKind::Static => "static",
            SymbolKind::Module => "module",
            SymbolKind::Variable => "variable",
            SymbolKind::Field => "field",
            SymbolKind::Variant => "variant",
        }
    }
}

impl fmt::Display for SymbolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SymbolKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let singular = match s {
            "functions" | "fn" | "method" | "methods" => "function",
            "types" | "struct" | "enum" | "trait" | "class" => "type",
            "constants" | "const" | "consts" => "constant",
            "statics" => "static",
            "modules" | "mod" | "package" => "module",
            "variables" | "var" | "local" | "locals" | "parameter" | "parameters" => "variable",
            "fields" => "field",
            "variants" => "variant",
            other => other,
        };
        SymbolKind::ALL.into_iter().find(|k| k.as_str() == singular).ok_or_else(|| {
            format!(
                "unknown symbol kind {s:?}; expected one of: {}",
                SymbolKind::ALL.map(SymbolKind::as_str).join(", ")
            )
        })
    }
}

/// Whether a constraint applies to test code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestScope {
    /// Applies everywhere.
    #[default]
    All,
    /// Applies outside test code only (`#[test]` functions, `#[cfg(test)]` modules, `tests/`, `benches/`,
    /// `examples/` directories).
    Exclude,
    /// Applies to test code only.
    Only,
}

impl TestScope {
    fn is_all(&self) -> bool {
        *self == TestScope::All
    }

    /// Whether code with the given test-ness is in this scope.
    pub fn admits(self, in_test: bool) -> bool {
        match self {
            TestScope::All => true,
            TestScope::Exclude => !in_test,
            TestScope::Only => in_test,
        }
    }
}

/// Where a constraint applies. An empty scope applies everywhere.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scope {
    /// Languages the constraint applies to; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<Language>,
    /// The kind of symbol the constraint is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol_kind: Option<SymbolKind>,
    /// The symbol path the constraint is about (`tokio::runtime::Builder::new`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Path globs (gitignore-style, relative to the project root) the constraint applies to; empty means all files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Path globs excluded from the constraint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_paths: Vec<String>,
    /// Whether test code is in scope.
    #[serde(default, skip_serializing_if = "TestScope::is_all")]
    pub tests: TestScope,
}

impl Scope {
    /// A scope for one language.
    pub fn language(language: Language) -> Self {
        Scope { languages: vec![language], ..Scope::default() }
    }

    /// A scope for one symbol of one language.
    pub fn symbol(language: Language, kind: SymbolKind, path: impl Into<String>) -> Self {
        Scope { languages: vec![language], symbol_kind: Some(kind), symbol: Some(path.into()), ..Scope::default() }
    }

    /// The same scope, restricted to non-test code.
    #[must_use]
    pub fn excluding_tests(mut self) -> Self {
        self.tests = TestScope::Exclude;
        self
    }

    /// The same scope, restricted to one symbol kind.
    #[must_use]
    pub fn of_kind(mut self, kind: SymbolKind) -> Self {
        self.symbol_kind = Some(kind);
        self
    }

    /// Whether the scope applies everywhere.
    pub fn is_unrestricted(&self) -> bool {
        *self == Scope::default()
    }

    /// Whether the scope admits a language (an empty language list admits all).
    pub fn admits_language(&self, language: Language) -> bool {
        self.languages.is_empty() || self.languages.contains(&language)
    }

    /// Sorts and de-duplicates the unordered lists, so equal scopes encode equally.
    pub fn normalize(&mut self) {
        self.languages.sort_unstable();
        self.languages.dedup();
        self.paths.sort_unstable();
        self.paths.dedup();
        self.exclude_paths.sort_unstable();
        self.exclude_paths.dedup();
    }
}
