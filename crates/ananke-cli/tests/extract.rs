//! `ananke extract` end to end on temporary directories: walking, per-file problems, output formats, exit codes.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn ananke() -> Command {
    Command::cargo_bin("ananke").expect("the ananke binary is built")
}

fn write(root: &Path, path: &str, bytes: &[u8]) {
    let full = root.join(path);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(full, bytes).unwrap();
}

/// A small project with good files, broken files and files that must be skipped.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "src/lib.rs", b"pub mod net;\n/// Adds.\npub fn add(a: i32, b: i32) -> i32 { a + b }\n");
    write(root, "src/net.rs", b"pub fn parse_port(s: &str) -> Result<u16, std::num::ParseIntError> { s.parse() }\n");
    write(root, "src/broken.rs", b"fn ok() {}\nfn broken() { let x = ; }\nfn after() {}\n");
    write(root, "src/blob.rs", b"\x00\x01\x02binary");
    write(root, "src/latin1.rs", b"fn caf\xe9() {}");
    write(root, "src/generated.rs", b"fn generated() {}");
    write(root, ".gitignore", b"src/generated.rs\n");
    write(root, ".hidden/secret.rs", b"fn hidden() {}");
    write(root, "README.md", b"# not code");
    dir
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("valid JSON on stdout")
}

fn symbols(set: &Value) -> Vec<String> {
    set["constraints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["rule"]["type"] == "signature")
        .map(|c| c["scope"]["symbol"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn extracts_a_project_and_reports_bad_files_without_stopping() {
    let dir = project();
    let out = ananke().current_dir(dir.path()).args(["extract", ".", "--format", "json"]).assert().success();
    let set = json(&out.get_output().stdout);
    assert_eq!(set["format"], "ananke.constraints");
    assert_eq!(set["version"], 1);

    let mut names = symbols(&set);
    names.sort();
    assert_eq!(
        names,
        ["crate::add", "crate::broken::after", "crate::broken::broken", "crate::broken::ok", "crate::net::parse_port"]
    );

    let diagnostics: Vec<(String, String)> = set["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["file"].as_str().unwrap().to_owned(), d["code"].as_str().unwrap().to_owned()))
        .collect();
    assert!(diagnostics.contains(&("src/blob.rs".into(), "binary".into())), "{diagnostics:?}");
    assert!(diagnostics.contains(&("src/latin1.rs".into(), "not_utf8".into())), "{diagnostics:?}");
    assert!(diagnostics.contains(&("src/broken.rs".into(), "syntax_error".into())), "{diagnostics:?}");
    // Ignored, hidden and non-Rust files are not read at all.
    let files: Vec<&str> = set["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(
        !files.iter().any(|f| f.contains("generated") || f.contains("hidden") || f.contains("README")),
        "{files:?}"
    );
}

#[test]
fn hidden_and_glob_flags_change_what_is_walked() {
    let dir = project();
    let out = ananke()
        .current_dir(dir.path())
        .args(["extract", ".", "--format", "json", "--hidden", "--glob", "!src/net.rs"])
        .assert()
        .success();
    let names = symbols(&json(&out.get_output().stdout));
    assert!(
        names.contains(&"crate::_hidden::secret::hidden".to_owned()) || names.iter().any(|n| n.ends_with("::hidden")),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.ends_with("parse_port")), "{names:?}");
}

#[test]
fn human_summary_names_counts_and_problems() {
    let dir = project();
    ananke()
        .current_dir(dir.path())
        .args(["extract", "src"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Read 5 files"))
        .stdout(predicate::str::contains("signature"))
        .stdout(predicate::str::contains("src/blob.rs: skipped: the file looks binary"));
}

#[test]
fn output_file_is_written_whole() {
    let dir = project();
    let target = dir.path().join("out/set.json");
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    ananke().current_dir(dir.path()).args(["extract", "src", "-o"]).arg(&target).assert().success();
    let set = json(&fs::read(&target).unwrap());
    assert!(!symbols(&set).is_empty());
    assert!(!dir.path().join("out/set.json.partial").exists());
}

#[test]
fn oversized_files_are_skipped_with_their_size() {
    let dir = project();
    let out = ananke()
        .current_dir(dir.path())
        .args(["extract", "src", "--format", "json", "--max-file-size", "20"])
        .assert()
        .success();
    let set = json(&out.get_output().stdout);
    let too_large: Vec<&Value> =
        set["diagnostics"].as_array().unwrap().iter().filter(|d| d["code"] == "too_large").collect();
    assert!(!too_large.is_empty());
    assert!(too_large[0]["message"].as_str().unwrap().contains("more than --max-file-size (20 bytes)"));
}

#[test]
fn forced_language_reads_named_files_of_any_extension() {
    let dir = project();
    write(dir.path(), "snippet.txt", b"fn from_text() {}");
    let out = ananke()
        .current_dir(dir.path())
        .args(["extract", "snippet.txt", "--lang", "rust", "--format", "json"])
        .assert()
        .success();
    assert_eq!(symbols(&json(&out.get_output().stdout)), ["crate::snippet::from_text"]);
}

#[test]
fn unusable_arguments_exit_2_with_a_message() {
    let dir = project();
    ananke()
        .current_dir(dir.path())
        .args(["extract", "does-not-exist"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does-not-exist: no such file or directory"));
    ananke()
        .current_dir(dir.path())
        .args(["extract", ".", "--lang", "cobol"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown language"));
    ananke().current_dir(dir.path()).args(["extract", ".", "--max-file-size", "lots"]).assert().code(2);
    ananke().current_dir(dir.path()).args(["extract"]).assert().code(2);
}
