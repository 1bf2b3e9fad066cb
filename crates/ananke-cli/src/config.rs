//! `ananke.toml`: user-declared rules. Found by walking up from the working directory (or given with `--config`),
//! parsed with the `toml` crate into typed constraints with provenance `user`. Every error names the file, the
//! line and column, the rule and the key, and says what was expected; unknown keys are errors.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ananke::core::{
    Constraint, ConstraintKind, ConstraintSet, ErrorStyle, Language, LengthUnit, NamingStyle, Pattern, Provenance,
    Rule, Scope, Severity, SymbolKind, TestScope, UserOrigin,
};
use serde::Deserialize;
use toml::Spanned;

/// The file name looked for.
pub const FILE_NAME: &str = "ananke.toml";

/// A configuration error, located in its file.
#[derive(Debug)]
pub struct ConfigError {
    file: String,
    line: usize,
    column: usize,
    message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A loaded configuration: where it came from and the constraints it declares.
#[derive(Debug)]
pub struct Config {
    /// The declared rules, as constraints with provenance `user`.
    pub constraints: ConstraintSet,
    /// Paths (globs) never checked, from `[check] exclude`.
    pub exclude: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    check: Option<RawCheck>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    #[serde(default)]
    exclude: Vec<String>,
}

/// One `[[rule]]` table. Exactly one of the rule keys (`forbid-call`, `naming`, ...) must be present.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRule {
    id: Option<String>,
    severity: Option<Spanned<String>>,
    priority: Option<i32>,
    message: Option<String>,
    kind: Option<Spanned<String>>,
    languages: Option<Vec<Spanned<String>>>,
    paths: Option<Vec<String>>,
    exclude_paths: Option<Vec<String>>,
    tests: Option<Spanned<String>>,
    target: Option<Spanned<String>>,
    symbol: Option<String>,

    forbid_call: Option<OneOrMany>,
    forbid_pattern: Option<Spanned<String>>,
    forbid_query: Option<Spanned<String>>,
    require_pattern: Option<Spanned<String>>,
    require_query: Option<Spanned<String>>,
    naming: Option<Spanned<String>>,
    allow_imports: Option<Vec<String>>,
    forbid_imports: Option<Vec<String>>,
    error_handling: Option<Spanned<String>>,
    security: Option<Spanned<String>>,
    max_lines: Option<u64>,
    min_lines: Option<u64>,
    max_chars: Option<u64>,
    min_chars: Option<u64>,
    max_tokens: Option<u64>,
    min_tokens: Option<u64>,
    signature: Option<Spanned<String>>,
    grammar: Option<String>,
    json_schema: Option<Spanned<toml::Value>>,
    regex: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

const RULE_KEYS: &str = "forbid-call, forbid-pattern, forbid-query, require-pattern, require-query, naming, \
                         allow-imports, forbid-imports, error-handling, security, max-lines, min-lines, max-chars, \
                         min-chars, max-tokens, min-tokens, signature, grammar, json-schema, regex";

/// Finds `ananke.toml` in `start` or the nearest ancestor.
pub fn find(start: &Path) -> Option<PathBuf> {
    start.ancestors().map(|dir| dir.join(FILE_NAME)).find(|candidate| candidate.is_file())
}

/// Reads and parses a configuration file.
pub fn load(path: &Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    Ok(parse(&text, path)?)
}

/// Parses configuration text; `path` names the file in errors and provenance.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let locate = |range: Option<Range<usize>>, message: String| {
        let at = range.map_or(0, |r| r.start).min(text.len());
        let before = &text[..at];
        let line = before.matches('\n').count() + 1;
        let column = at - before.rfind('\n').map_or(0, |p| p + 1) + 1;
        ConfigError { file: file.clone(), line, column, message }
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| locate(e.span(), e.message().trim().to_owned()))?;

    let mut constraints = ConstraintSet::new();
    for spanned in raw.rule {
        let span = spanned.span();
        let line = text[..span.start.min(text.len())].matches('\n').count() as u32 + 1;
        let rule = spanned.into_inner();
        let name = rule.id.clone().map_or_else(|| format!("at line {line}"), |id| format!("`{id}`"));
        let built = build(&rule, &file, line).map_err(|(range, message)| {
            locate(Some(range.unwrap_or(span.clone())), format!("rule {name}: {message}"))
        })?;
        for constraint in built {
            constraints.insert(constraint);
        }
    }
    Ok(Config { constraints, exclude: raw.check.unwrap_or_default().exclude })
}

type BuildError = (Option<Range<usize>>, String);

fn parse_enum<T: std::str::FromStr<Err = String>>(value: &Spanned<String>) -> Result<T, BuildError> {
    value.get_ref().parse().map_err(|e| (Some(value.span()), e))
}

/// Builds the constraints of one rule table (one per callee for `forbid-call` lists).
fn build(raw: &RawRule, file: &str, line: u32) -> Result<Vec<Constraint>, BuildError> {
    let mut rules: Vec<(Rule, &'static str)> = Vec::new();
    if let Some(callees) = &raw.forbid_call {
        let list = match callees {
            OneOrMany::One(c) => vec![c.clone()],
            OneOrMany::Many(cs) => cs.clone(),
        };
        if list.is_empty() || list.iter().any(|c| c.trim().is_empty()) {
            return Err((
                None,
                "`forbid-call` needs non-empty callee names, e.g. \"unwrap\" or [\"eval\", \"exec\"]".into(),
            ));
        }
        rules.extend(list.into_iter().map(|callee| (Rule::ForbidCall { callee }, "forbid-call")));
    }
    for (value, require, is_query, key) in [
        (&raw.forbid_pattern, false, false, "forbid-pattern"),
        (&raw.forbid_query, false, true, "forbid-query"),
        (&raw.require_pattern, true, false, "require-pattern"),
        (&raw.require_query, true, true, "require-query"),
    ] {
        let Some(value) = value else { continue };
        let text = value.get_ref().clone();
        if is_query {
            ananke::clew::Linter::new(
                &std::iter::once(Constraint::new(
                    Rule::ForbidPattern { pattern: Pattern::Query(text.clone()) },
                    Scope::default(),
                    Provenance::user(),
                ))
                .collect(),
            )
            .map_err(|e| (Some(value.span()), format!("`{key}` is not a valid tree-sitter query: {e}")))?;
        } else {
            regex_check(&text).map_err(|e| (Some(value.span()), format!("`{key}` is not a valid regex: {e}")))?;
        }
        let pattern = if is_query { Pattern::Query(text) } else { Pattern::Regex(text) };
        let rule = if require { Rule::RequirePattern { pattern } } else { Rule::ForbidPattern { pattern } };
        rules.push((rule, key));
    }
    let target: Option<SymbolKind> = raw.target.as_ref().map(parse_enum).transpose()?;
    if let Some(style) = &raw.naming {
        let style: NamingStyle = parse_enum(style)?;
        let Some(target) = target else {
            return Err((
                None,
                "`naming` needs `target`, the kind of name it applies to (function, type, constant, static, module, \
                 variable, field, variant)"
                    .into(),
            ));
        };
        rules.push((Rule::Naming { target, style }, "naming"));
    }
    if let Some(modules) = &raw.allow_imports {
        if modules.is_empty() {
            return Err((None, "`allow-imports` needs at least one module".into()));
        }
        rules.push((Rule::ImportAllow { modules: modules.clone() }, "allow-imports"));
    }
    if let Some(modules) = &raw.forbid_imports {
        if modules.is_empty() {
            return Err((None, "`forbid-imports` needs at least one module".into()));
        }
        rules.push((Rule::ImportForbid { modules: modules.clone() }, "forbid-imports"));
    }
    if let Some(style) = &raw.error_handling {
        let style = match style.get_ref().replace('-', "_").as_str() {
            "result" => ErrorStyle::Result,
            "no_panic" => ErrorStyle::NoPanic,
            "checked_errors" => ErrorStyle::CheckedErrors,
            "exceptions" => ErrorStyle::Exceptions,
            other => {
                return Err((
                    Some(style.span()),
                    format!(
                        "unknown error-handling style {other:?}; expected one of: result, no-panic, checked-errors, exceptions"
                    ),
                ));
            }
        };
        rules.push((Rule::ErrorHandling { style }, "error-handling"));
    }
    let mut security_message = None;
    if let Some(name) = &raw.security {
        let all = ananke::clew::security_rules(Language::Rust);
        let Some((_, rule, message)) = all.iter().find(|(n, _, _)| *n == name.get_ref()) else {
            let names: Vec<&str> = all.iter().map(|(n, _, _)| *n).collect();
            return Err((
                Some(name.span()),
                format!("unknown security rule {:?}; expected one of: {}", name.get_ref(), names.join(", ")),
            ));
        };
        security_message = Some(*message);
        rules.push((rule.clone(), "security"));
    }
    for (unit, min, max, key) in [
        (LengthUnit::Lines, raw.min_lines, raw.max_lines, "max-lines/min-lines"),
        (LengthUnit::Chars, raw.min_chars, raw.max_chars, "max-chars/min-chars"),
        (LengthUnit::Tokens, raw.min_tokens, raw.max_tokens, "max-tokens/min-tokens"),
    ] {
        if min.is_none() && max.is_none() {
            continue;
        }
        let rule = Rule::Length { unit, min, max };
        rule.validate().map_err(|e| (None, e.to_string()))?;
        rules.push((rule, key));
    }
    if let Some(header) = &raw.signature {
        let signature = ananke::clew::parse_signature(header.get_ref(), Language::Rust)
            .map_err(|e| (Some(header.span()), format!("`signature`: {e}")))?;
        if raw.symbol.is_none() {
            return Err((
                None,
                "`signature` needs `symbol`, the path of the function it fixes (e.g. \"crate::parser::parse\")".into(),
            ));
        }
        rules.push((Rule::Signature(signature), "signature"));
    }
    if let Some(lark) = &raw.grammar {
        rules.push((Rule::Grammar { lark: lark.clone() }, "grammar"));
    }
    if let Some(schema) = &raw.json_schema {
        let value = match schema.get_ref() {
            toml::Value::String(text) => serde_json::from_str(text)
                .map_err(|e| (Some(schema.span()), format!("`json-schema` is not valid JSON: {e}")))?,
            toml::Value::Table(table) => serde_json::to_value(table)
                .map_err(|e| (Some(schema.span()), format!("`json-schema` cannot be converted to JSON: {e}")))?,
            _ => {
                return Err((Some(schema.span()), "`json-schema` must be a JSON string or an inline table".to_owned()));
            }
        };
        rules.push((Rule::JsonSchema { schema: value }, "json-schema"));
    }
    if let Some(pattern) = &raw.regex {
        regex_check(pattern.get_ref())
            .map_err(|e| (Some(pattern.span()), format!("`regex` is not a valid regex: {e}")))?;
        rules.push((Rule::Regex { pattern: pattern.get_ref().clone() }, "regex"));
    }

    let keys: Vec<&str> =
        rules.iter().map(|(_, key)| *key).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    match keys.len() {
        0 => return Err((None, format!("says nothing to enforce; add one of: {RULE_KEYS}"))),
        1 => {}
        _ => {
            return Err((
                None,
                format!("has several rule keys ({}); split them into separate [[rule]] tables", keys.join(", ")),
            ));
        }
    }

    let severity: Option<Severity> = raw.severity.as_ref().map(parse_enum).transpose()?;
    let kind: Option<ConstraintKind> = raw.kind.as_ref().map(parse_enum).transpose()?;
    let languages: Vec<Language> = raw.languages.iter().flatten().map(parse_enum).collect::<Result<_, _>>()?;
    let tests = match raw.tests.as_ref().map(|t| (t, t.get_ref().as_str())) {
        None | Some((_, "include" | "all")) => TestScope::All,
        Some((_, "exclude")) => TestScope::Exclude,
        Some((_, "only")) => TestScope::Only,
        Some((t, other)) => {
            return Err((
                Some(t.span()),
                format!("unknown `tests` value {other:?}; expected one of: include, exclude, only"),
            ));
        }
    };
    let provenance = Provenance::User(UserOrigin { file: Some(file.to_owned()), line: Some(line) });
    let mut out = Vec::with_capacity(rules.len());
    for (rule, _) in rules {
        let symbol_kind = match rule {
            Rule::Signature(_) => Some(SymbolKind::Function),
            _ => target,
        };
        let scope = Scope {
            languages: languages.clone(),
            symbol_kind,
            symbol: raw.symbol.clone(),
            paths: raw.paths.clone().unwrap_or_default(),
            exclude_paths: raw.exclude_paths.clone().unwrap_or_default(),
            tests,
        };
        let mut constraint = Constraint::new(rule, scope, provenance.clone());
        if let Some(severity) = severity {
            constraint.severity = severity;
        }
        if let Some(kind) = kind {
            constraint.kind = kind;
        } else if security_message.is_some() {
            constraint.kind = ConstraintKind::Security;
        }
        constraint.priority = ananke::core::Priority(raw.priority.unwrap_or(0));
        constraint.label.clone_from(&raw.id);
        constraint.message = raw.message.clone().or_else(|| security_message.map(str::to_owned));
        out.push(constraint);
    }
    Ok(out)
}

fn regex_check(pattern: &str) -> Result<(), String> {
    // The linter compiles patterns with the same engine; compiling here reports the error at the key.
    let probe: ConstraintSet = std::iter::once(Constraint::new(
        Rule::ForbidPattern { pattern: Pattern::Regex(pattern.to_owned()) },
        Scope::default(),
        Provenance::user(),
    ))
    .collect();
    ananke::clew::Linter::new(&probe).map(|_| ()).map_err(|e| {
        let text = e.to_string();
        text.split_once("invalid regex: ").map_or(text.clone(), |(_, rest)| rest.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use ananke::core::{Rule, Severity, TestScope};

    use super::parse;

    fn error(text: &str) -> String {
        parse(text, Path::new("ananke.toml")).expect_err("invalid config").to_string()
    }

    #[test]
    fn the_documented_first_example_works_as_written() {
        let config = parse(
            r#"
[[rule]]
id = "no-unwrap"
forbid-call = "unwrap"
languages = ["rust"]
severity = "error"
message = "propagate the error with ? instead"
"#,
            Path::new("ananke.toml"),
        )
        .expect("valid");
        let c = &config.constraints.constraints()[0];
        assert_eq!(c.rule, Rule::ForbidCall { callee: "unwrap".into() });
        assert_eq!(c.severity, Severity::Error);
        assert_eq!(c.label.as_deref(), Some("no-unwrap"));
        assert_eq!(c.message.as_deref(), Some("propagate the error with ? instead"));
        assert_eq!(c.provenance.rank(), 2, "declared rules are user rules");
        assert_eq!(c.scope.tests, TestScope::All);
    }

    #[test]
    fn every_rule_kind_parses() {
        let config = parse(
            r#"
[check]
exclude = ["target/**"]

[[rule]]
forbid-call = ["eval", "exec"]
tests = "exclude"
[[rule]]
forbid-pattern = '\bunsafe\b'
[[rule]]
forbid-query = "(unsafe_block) @u"
[[rule]]
require-pattern = "//! "
[[rule]]
naming = "snake_case"
target = "function"
[[rule]]
allow-imports = ["std", "serde"]
[[rule]]
forbid-imports = ["std::process"]
[[rule]]
error-handling = "no-panic"
[[rule]]
security = "hardcoded-secret"
[[rule]]
max-lines = 50
target = "function"
[[rule]]
signature = "pub fn parse(input: &str) -> Result<u32, String>"
symbol = "crate::parse"
[[rule]]
grammar = "start: /[a-z]+/"
[[rule]]
json-schema = '{"type": "object"}'
[[rule]]
json-schema = { type = "array" }
[[rule]]
regex = "[0-9]+"
"#,
            Path::new("ananke.toml"),
        )
        .expect("valid");
        assert_eq!(config.constraints.len(), 16);
        assert_eq!(config.exclude, ["target/**"]);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        assert_eq!(
            error("[[rule]]\nforbid-call = \"unwrap\"\nseverity = \"fatal\"\n"),
            "ananke.toml:3:12: rule at line 1: unknown severity \"fatal\"; expected one of: hint, info, warning, error"
        );
        let unknown = error("[[rule]]\nid = \"x\"\nforbid-cal = \"unwrap\"\n");
        assert!(unknown.starts_with("ananke.toml:3:1: unknown field `forbid-cal`, expected one of"), "{unknown}");
        assert!(error("[[rule]]\nid = \"x\"\n").contains("rule `x`: says nothing to enforce; add one of: forbid-call"));
        assert!(
            error("[[rule]]\nforbid-call = \"a\"\nnaming = \"snake_case\"\ntarget = \"function\"\n")
                .contains("has several rule keys (forbid-call, naming)")
        );
        assert!(error("[[rule]]\nnaming = \"snake_case\"\n").contains("`naming` needs `target`"));
        assert!(
            error("[[rule]]\nnaming = \"kebab\"\ntarget = \"function\"\n").contains("unknown naming style \"kebab\"")
        );
        assert_eq!(
            error("[[rule]]\nforbid-pattern = \"(unclosed\"\n").lines().next().unwrap_or_default(),
            "ananke.toml:2:18: rule at line 1: `forbid-pattern` is not a valid regex: regex parse error:"
        );
        assert!(error("[[rule]]\nforbid-query = \"(not_a_node)\"\n").contains("not a valid tree-sitter query"));
        assert!(error("[[rule]]\nsignature = \"fn (\"\nsymbol = \"x\"\n").contains("is not a Rust function header"));
        assert!(error("[[rule]]\nsignature = \"fn f()\"\n").contains("`signature` needs `symbol`"));
        assert!(error("[[rule]]\nmax-lines = 1\nmin-lines = 5\n").contains("min 5 greater than max 1"));
        assert!(error("[[rule]]\nsecurity = \"xss\"\n").contains("unknown security rule \"xss\""));
        assert!(error("[[rule]]\nforbid-call = \"a\"\ntests = \"sometimes\"\n").contains("unknown `tests` value"));
        assert!(
            error("[[rule]]\nforbid-call = \"a\"\nlanguages = [\"cobol\"]\n").contains("unknown language \"cobol\"")
        );
        assert!(error("[[rule]]\nforbid-call = 3\n").starts_with("ananke.toml:2:15:"));
        assert!(error("[[rule]\n").starts_with("ananke.toml:1:"));
        assert!(error("[[rule]]\njson-schema = \"{\"\n").contains("`json-schema` is not valid JSON"));
        assert!(error("[checks]\n").contains("unknown field `checks`"));
    }
}
