//! Per-file facts that are not constraints themselves: imports, findings, tests, typed holes, diagnostics.
//!
//! Constraints are enforceable rules; these are the observations they were mined from (and that later stages use:
//! typed holes drive `ananke fill`, imports and test items scope rules, findings point at the code that breaks a
//! rule today).

use serde::{Deserialize, Serialize};

use crate::constraint::{ConstraintKind, Severity};
use crate::id::ConstraintId;
use crate::provenance::Span;
use crate::rule::{Rule, Signature};
use crate::scope::Language;

/// What the extractor read off one file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileFacts {
    /// The file's path as given to the extractor.
    pub path: String,
    /// The language it was read as.
    pub language: Language,
    /// Size in bytes.
    pub bytes: u64,
    /// The module path the file's location implies (`tokio::runtime::builder`), if the language has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_path: Option<String>,
    /// Imports, flattened to full paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<Import>,
    /// Notable constructs (panicking calls, unsafe code, security smells) with their spans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Test functions and test modules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestItem>,
    /// Typed holes: `todo!()`-style placeholders with their enclosing signature.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holes: Vec<Hole>,
}

/// One imported path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Import {
    /// The full path (`std::collections::HashMap`, `serde::*`, `crate::db`).
    pub path: String,
    /// How it was imported.
    pub kind: ImportKind,
    /// The local name when renamed (`use a::b as c`, `extern crate a as b`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// 1-based line of the declaration.
    pub line: u32,
}

/// How a path was imported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// `use` (Rust), `import` (TypeScript, Python, Go).
    Use,
    /// `extern crate`.
    ExternCrate,
    /// A `mod name;` declaration (the module lives in another file).
    Mod,
}

/// A notable construct found in code.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// What was found.
    pub kind: FindingKind,
    /// Where.
    pub span: Span,
    /// Whether it is in test code.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_test: bool,
    /// The enclosing function's symbol path, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// A short excerpt or detail (the callee, the variable holding a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The kinds of [`Finding`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// `.unwrap()`.
    Unwrap,
    /// `.expect(..)`.
    Expect,
    /// `panic!`.
    Panic,
    /// `todo!`.
    Todo,
    /// `unimplemented!`.
    Unimplemented,
    /// `unreachable!`.
    Unreachable,
    /// The `?` operator.
    TryOperator,
    /// An `unsafe { }` block.
    UnsafeBlock,
    /// An `unsafe fn`.
    UnsafeFn,
    /// An `unsafe impl`.
    UnsafeImpl,
    /// An `unsafe trait`.
    UnsafeTrait,
    /// A call to `mem::transmute`.
    Transmute,
    /// A dereference of a raw pointer.
    RawPointerDeref,
    /// A process command built from a formatted string or run through a shell.
    ShellCommand,
    /// A hard-coded secret (an AWS-style key, a password literal).
    HardcodedSecret,
    /// SQL text built with string formatting.
    SqlFormat,
}

impl FindingKind {
    /// All kinds, in declaration order.
    pub const ALL: [FindingKind; 16] = [
        FindingKind::Unwrap,
        FindingKind::Expect,
        FindingKind::Panic,
        FindingKind::Todo,
        FindingKind::Unimplemented,
        FindingKind::Unreachable,
        FindingKind::TryOperator,
        FindingKind::UnsafeBlock,
        FindingKind::UnsafeFn,
        FindingKind::UnsafeImpl,
        FindingKind::UnsafeTrait,
        FindingKind::Transmute,
        FindingKind::RawPointerDeref,
        FindingKind::ShellCommand,
        FindingKind::HardcodedSecret,
        FindingKind::SqlFormat,
    ];

    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Unwrap => "unwrap",
            FindingKind::Expect => "expect",
            FindingKind::Panic => "panic",
            FindingKind::Todo => "todo",
            FindingKind::Unimplemented => "unimplemented",
            FindingKind::Unreachable => "unreachable",
            FindingKind::TryOperator => "try_operator",
            FindingKind::UnsafeBlock => "unsafe_block",
            FindingKind::UnsafeFn => "unsafe_fn",
            FindingKind::UnsafeImpl => "unsafe_impl",
            FindingKind::UnsafeTrait => "unsafe_trait",
            FindingKind::Transmute => "transmute",
            FindingKind::RawPointerDeref => "raw_pointer_deref",
            FindingKind::ShellCommand => "shell_command",
            FindingKind::HardcodedSecret => "hardcoded_secret",
            FindingKind::SqlFormat => "sql_format",
        }
    }

    /// Whether this finding is a security concern.
    pub fn is_security(self) -> bool {
        matches!(
            self,
            FindingKind::UnsafeBlock
                | FindingKind::UnsafeFn
                | FindingKind::UnsafeImpl
                | FindingKind::UnsafeTrait
                | FindingKind::Transmute
                | FindingKind::RawPointerDeref
                | FindingKind::ShellCommand
                | FindingKind::HardcodedSecret
                | FindingKind::SqlFormat
        )
    }
}

/// A test function or module.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TestItem {
    /// The symbol path.
    pub name: String,
    /// Function or module.
    pub kind: TestKind,
    /// Where.
    pub span: Span,
}

/// The kinds of [`TestItem`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestKind {
    /// A function marked as a test (`#[test]`, `#[tokio::test]`, ...).
    Function,
    /// A module compiled only for tests (`#[cfg(test)]`).
    Module,
}

/// A typed hole: a placeholder (`todo!()`, `unimplemented!()`, `raise NotImplementedError`, `// HOLE`) to be filled
/// with code, with the signature of the function around it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hole {
    /// The placeholder's span.
    pub span: Span,
    /// The placeholder as written (`todo!()`, `unimplemented!("later")`).
    pub text: String,
    /// The enclosing function's symbol path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// The enclosing function's signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// The span of the enclosing function's body, braces included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Span>,
    /// Whether the placeholder is the whole body (as opposed to one expression in it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole_body: bool,
}

/// A problem with one input: it could not be read, decoded or fully parsed. Never fatal to a run.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The file it is about.
    pub file: String,
    /// How bad it is: errors mean the file was skipped, warnings that it was read partially.
    pub severity: Severity,
    /// A stable code for the kind of problem.
    pub code: DiagnosticCode,
    /// A sentence for people.
    pub message: String,
    /// 1-based line, when the problem has a place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based byte column, when the problem has a place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.file, self.message)
            }
            (Some(line), None) => write!(f, "{}:{line}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// The kinds of [`Diagnostic`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticCode {
    /// The file has syntax errors; everything outside the error regions was still extracted.
    SyntaxError,
    /// The file is not valid UTF-8.
    NotUtf8,
    /// The file looks binary (contains NUL bytes).
    Binary,
    /// The file is larger than the configured limit.
    TooLarge,
    /// The file could not be read.
    Unreadable,
    /// No extractor exists for the file's language.
    UnsupportedLanguage,
    /// The parser gave up (it hit its time or size budget).
    ParseFailed,
}

/// A place where code breaks a constraint, found by `clew`'s linter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// The constraint broken.
    pub constraint: ConstraintId,
    /// The constraint's user-facing label, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The rule broken (shared with the constraint, as violations of one rule are often many).
    pub rule: std::sync::Arc<Rule>,
    /// The constraint's kind.
    pub kind: ConstraintKind,
    /// The constraint's severity.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file.
    pub file: String,
    /// Where in the file.
    pub span: Span,
    /// A concrete fix, when there is one (`rename to parse_header`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// The constraint's own message (why the rule exists), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
