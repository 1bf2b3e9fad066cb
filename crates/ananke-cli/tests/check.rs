//! `ananke init` and `ananke check` end to end: rules files, constraint sets, output formats, exit codes, and
//! SARIF validated against the SARIF 2.1.0 JSON schema.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn ananke() -> Command {
    Command::cargo_bin("ananke").expect("the ananke binary is built")
}

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(full, text).unwrap();
}

const RULES: &str = r#"
[[rule]]
id = "no-unwrap"
forbid-call = "unwrap"
languages = ["rust"]
severity = "error"
message = "propagate the error with ? instead"
tests = "exclude"

[[rule]]
id = "fn-names"
naming = "snake_case"
target = "function"
severity = "warning"
"#;

/// A crate with one error-level and one warning-level violation, and look-alikes that must not count.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ananke.toml", RULES);
    write(
        dir.path(),
        "src/lib.rs",
        "pub fn parseNumber(s: &str) -> u32 {\n    // .unwrap() in a comment\n    s.parse().unwrap()\n}\n\n#[test]\nfn t() {\n    \"1\".parse::<u8>().unwrap();\n}\n",
    );
    write(dir.path(), "src/clean.rs", "pub fn clean(s: &str) -> Option<u32> {\n    s.parse().ok()\n}\n");
    dir
}

#[test]
fn text_output_is_rustc_like_and_exit_code_is_1_on_errors() {
    let dir = project();
    ananke()
        .current_dir(dir.path())
        .args(["check", ".", "--color", "never"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error[no-unwrap]: call to forbidden `.unwrap()`"))
        .stdout(predicate::str::contains("--> src/lib.rs:3:15"))
        .stdout(predicate::str::contains("3 |     s.parse().unwrap()"))
        .stdout(predicate::str::contains("^^^^^^^^"))
        .stdout(predicate::str::contains("note: propagate the error with ? instead"))
        .stdout(predicate::str::contains("warning[fn-names]: function name `parseNumber` is not snake_case"))
        .stdout(predicate::str::contains("help: rename to `parse_number`"))
        .stdout(predicate::str::contains("1 error(s), 1 warning(s), 0 note(s) in 1 of 2 file(s)"))
        // No colors when asked for none.
        .stdout(predicate::str::contains("\u{1b}[").not());
}

#[test]
fn warnings_alone_exit_0() {
    let dir = project();
    write(dir.path(), "src/lib.rs", "pub fn parseNumber() {}\n");
    ananke().current_dir(dir.path()).args(["check", "."]).assert().code(0);
}

#[test]
fn json_output_lists_violations() {
    let dir = project();
    let out = ananke().current_dir(dir.path()).args(["check", ".", "--format", "json"]).assert().code(1);
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(doc["files_checked"], 2);
    assert_eq!(doc["errors"], 1);
    let violations = doc["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 2);
    let labels: Vec<&str> = violations.iter().map(|v| v["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["fn-names", "no-unwrap"]);
    assert_eq!(violations[1]["span"]["start_line"], 3);
    assert_eq!(violations[1]["file"], "src/lib.rs");
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let dir = project();
    let out = ananke().current_dir(dir.path()).args(["check", ".", "--format", "sarif"]).assert().code(1);
    let log: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let schema: Value =
        serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).expect("the shipped schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "SARIF does not validate:\n{}", errors.join("\n"));

    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "ananke");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let levels: Vec<&str> = results.iter().map(|r| r["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["warning", "error"]);
    let region = &results[1]["locations"][0]["physicalLocation"]["region"];
    assert_eq!((region["startLine"].as_u64(), region["startColumn"].as_u64()), (Some(3), Some(15)));
    // Each result points at a rule descriptor by index.
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }

    // A clean run is valid SARIF too (no results, no rules).
    fs::remove_file(dir.path().join("src/lib.rs")).unwrap();
    let out = ananke().current_dir(dir.path()).args(["check", ".", "--format", "sarif"]).assert().code(0);
    let log: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(validator.is_valid(&log));
}

#[test]
fn config_errors_exit_2_with_file_line_and_key() {
    let dir = project();
    write(dir.path(), "ananke.toml", "[[rule]]\nid = \"x\"\nforbid-cal = \"unwrap\"\n");
    ananke()
        .current_dir(dir.path())
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ananke.toml:3:1: unknown field `forbid-cal`"));
}

#[test]
fn the_config_is_found_in_a_parent_directory_or_given_explicitly() {
    let dir = project();
    ananke().current_dir(dir.path().join("src")).args(["check", "."]).assert().code(1);
    write(dir.path(), "other.toml", "[[rule]]\nforbid-call = \"parse\"\nseverity = \"warning\"\n");
    ananke()
        .current_dir(dir.path())
        .args(["check", ".", "--config", "other.toml", "--color", "never"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("call to forbidden `.parse()`"));
}

#[test]
fn without_any_constraints_the_user_is_told_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", "fn f() {}\n");
    ananke()
        .current_dir(dir.path())
        .args(["check", ".", "--no-config"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ananke init"));
}

#[test]
fn constraint_sets_from_extract_can_be_checked_against() {
    let dir = project();
    write(dir.path(), "src/lib.rs", "pub fn parse_number(s: &str) -> Option<u32> {\n    s.parse().ok()\n}\n");
    let set = dir.path().join("set.json");
    ananke().current_dir(dir.path()).args(["extract", "src", "-o"]).arg(&set).assert().success();
    // The code the set was extracted from satisfies it.
    ananke().current_dir(dir.path()).args(["check", "src", "--no-config", "--constraints"]).arg(&set).assert().code(0);
    // A changed signature breaks its Signature constraint.
    write(dir.path(), "src/lib.rs", "pub fn parse_number(s: &str) -> u32 {\n    s.len() as u32\n}\n");
    ananke()
        .current_dir(dir.path())
        .args(["check", "src", "--no-config", "--color", "never", "--constraints"])
        .arg(&set)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("`crate::parse_number` has signature `pub fn parse_number(s: &str) -> u32`"));
}

#[test]
fn a_declared_rule_wins_over_a_conflicting_extracted_one() {
    let dir = tempfile::tempdir().unwrap();
    // The code uses camelCase functions, so extraction mines "functions are camelCase"; the user declares
    // snake_case. The user rule wins: camelCase names are reported, snake_case ones are not.
    write(
        dir.path(),
        "src/lib.rs",
        "fn fooBar() {}\nfn bazQux() {}\nfn oneTwo() {}\nfn abcDef() {}\nfn ghiJkl() {}\nfn snake_one() {}\n",
    );
    let set = dir.path().join("set.json");
    ananke().current_dir(dir.path()).args(["extract", "src", "--conventions-only", "-o"]).arg(&set).assert().success();
    write(
        dir.path(),
        "ananke.toml",
        "[[rule]]\nid = \"snake\"\nnaming = \"snake_case\"\ntarget = \"function\"\nseverity = \"error\"\n",
    );
    let out = ananke()
        .current_dir(dir.path())
        .args(["check", "src", "--format", "json", "--constraints"])
        .arg(&set)
        .assert()
        .code(1);
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let flagged: Vec<&str> = doc["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["rule"]["type"] == "naming")
        .map(|v| v["message"].as_str().unwrap())
        .collect();
    assert_eq!(flagged.len(), 5, "{flagged:?}");
    assert!(flagged.iter().all(|m| m.contains("is not snake_case")), "{flagged:?}");
    assert!(!doc["conflicts_resolved"].as_array().unwrap().is_empty());
}

#[test]
fn init_drafts_rules_that_check_cleanly_on_the_code_they_came_from() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..6 {
        write(
            dir.path(),
            &format!("src/m{i}.rs"),
            &format!(
                "pub fn load_{i}(path: &str) -> std::io::Result<String> {{\n    std::fs::read_to_string(path)\n}}\n"
            ),
        );
    }
    ananke()
        .current_dir(dir.path())
        .args(["init"])
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote ananke.toml with"));
    let text = fs::read_to_string(dir.path().join("ananke.toml")).unwrap();
    assert!(text.contains("naming = \"snake_case\""), "{text}");
    assert!(text.contains("forbid-call = \"unwrap\""), "{text}");
    assert!(text.contains("security = \"hardcoded-secret\""), "{text}");
    ananke().current_dir(dir.path()).args(["check", "."]).assert().code(0);
    // It does not overwrite without --force.
    ananke()
        .current_dir(dir.path())
        .args(["init"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists; pass --force"));
    ananke().current_dir(dir.path()).args(["init", "--force"]).assert().success();
}
