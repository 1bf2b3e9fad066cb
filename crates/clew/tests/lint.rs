//! The linter against fixtures: each file in `tests/data/lint/` names its rule in a header comment
//! (`// rule: {json}` with an optional `// scope: {json}` and `// path: ...`, or `// security: name`) and marks
//! every line that must be reported with a trailing `// ~`. Unmarked lines — look-alikes in comments, strings,
//! identifiers and test code — must not be reported.

use std::collections::BTreeSet;
use std::path::Path;

use ananke_core::{Constraint, ConstraintSet, Language, Provenance, Rule, Scope};
use clew::{ExtractConfig, Linter};

struct Case {
    set: ConstraintSet,
    path: String,
    expected: BTreeSet<u32>,
}

fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(&format!("// {key}: "))).map(|v| v.trim_end_matches("// ~").trim())
}

fn case(file: &Path) -> Case {
    let text = std::fs::read_to_string(file).unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let constraint = if let Some(security) = header(&text, "security") {
        let (_, rule, _) = clew::security_rules(Language::Rust)
            .into_iter()
            .find(|(n, _, _)| *n == security)
            .unwrap_or_else(|| panic!("{name}: unknown security rule {security}"));
        Constraint::new(rule, Scope::language(Language::Rust).excluding_tests(), Provenance::user())
    } else {
        let rule: Rule = serde_json::from_str(header(&text, "rule").expect("a rule header")).expect("rule JSON");
        let scope: Scope = header(&text, "scope").map_or_else(Scope::default, |s| serde_json::from_str(s).unwrap());
        Constraint::new(rule, scope, Provenance::user())
    };
    let expected = text
        .lines()
        .enumerate()
        .filter(|(_, line)| line.trim_end().ends_with("// ~") || line.contains("// ~ "))
        .map(|(i, _)| i as u32 + 1)
        .collect();
    let path = header(&text, "path").map_or_else(|| format!("src/{name}"), str::to_owned);
    Case { set: std::iter::once(constraint).collect(), path, expected }
}

#[test]
fn fixtures() {
    let mut failures = Vec::new();
    let mut count = 0;
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/lint")).unwrap() {
        let file = entry.unwrap().path();
        let case = case(&file);
        let linter = Linter::new(&case.set).expect("valid rule");
        let bytes = std::fs::read(&file).unwrap();
        let lint = linter.lint_file(&case.path, &bytes, &ExtractConfig::default());
        let found: BTreeSet<u32> = lint.violations.iter().map(|v| v.span.start_line).collect();
        if found != case.expected {
            let details: Vec<String> = lint
                .violations
                .iter()
                .map(|v| format!("{}:{} {}", v.span.start_line, v.span.start_column, v.message))
                .collect();
            failures.push(format!(
                "{}: expected lines {:?}, found {:?}\n    {}",
                file.display(),
                case.expected,
                found,
                details.join("\n    ")
            ));
        }
        assert!(lint.diagnostics.is_empty(), "{}: {:?}", file.display(), lint.diagnostics);
        count += 1;
    }
    assert!(count >= 20, "all fixtures were read");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn violations_carry_the_constraint_and_a_suggestion() {
    let rule = Rule::Naming { target: ananke_core::SymbolKind::Function, style: ananke_core::NamingStyle::SnakeCase };
    let set: ConstraintSet = std::iter::once(
        Constraint::new(rule.clone(), Scope::default(), Provenance::user())
            .with_label("fn-names")
            .with_message("house style"),
    )
    .collect();
    let violations = clew::check("fn parseHeader() {}", Language::Rust, &set).unwrap();
    assert_eq!(violations.len(), 1);
    let v = &violations[0];
    assert_eq!(v.constraint, set.constraints()[0].id);
    assert_eq!(v.label.as_deref(), Some("fn-names"));
    assert_eq!(*v.rule, rule);
    assert_eq!(v.suggestion.as_deref(), Some("rename to `parse_header`"));
    assert_eq!(v.note.as_deref(), Some("house style"));
    assert_eq!((v.span.start_line, v.span.start_column, v.span.end_column), (1, 4, 15));
}

#[test]
fn invalid_patterns_are_errors_naming_the_constraint() {
    let set: ConstraintSet = std::iter::once(
        Constraint::new(
            Rule::ForbidPattern { pattern: ananke_core::Pattern::Regex("(".into()) },
            Scope::default(),
            Provenance::user(),
        )
        .with_label("broken"),
    )
    .collect();
    let err = Linter::new(&set).unwrap_err().to_string();
    assert!(err.starts_with("constraint broken: invalid regex"), "{err}");
}

#[test]
fn output_only_rules_are_reported_as_unchecked() {
    let set: ConstraintSet = [
        Rule::Grammar { lark: "start: /x/".into() },
        Rule::Length { unit: ananke_core::LengthUnit::Tokens, min: None, max: Some(10) },
    ]
    .into_iter()
    .map(|r| Constraint::new(r, Scope::default(), Provenance::user()))
    .collect();
    let linter = Linter::new(&set).unwrap();
    assert_eq!(linter.unchecked().len(), 2);
    assert!(linter.is_empty());
}
