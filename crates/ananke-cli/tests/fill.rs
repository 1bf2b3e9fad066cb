//! `ananke fill` end to end with the embedded model on a temporary project: `--dry-run` prints a unified diff and
//! leaves the file alone; a real fill writes the file atomically. Skipped, with a message, when the model is absent
//! (scripts/fetch-model.sh fetches it; scripts/test.sh does).

use std::fs;
use std::path::Path;

use assert_cmd::Command;

fn model_present() -> bool {
    let path = ananke::maze::default_model_path();
    if path.is_file() {
        return true;
    }
    eprintln!("SKIPPED: no model at {} (run scripts/fetch-model.sh, or set ANANKE_MODEL)", path.display());
    false
}

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(full, text).unwrap();
}

const LIB: &str = "//! Temperatures.\n\n/// Degrees Celsius to Fahrenheit.\npub fn to_fahrenheit(celsius: f64) -> f64 {\n    celsius * 9.0 / 5.0 + 32.0\n}\n\n/// Degrees Fahrenheit to Celsius.\npub fn to_celsius(fahrenheit: f64) -> f64 {\n    todo!()\n}\n";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.toml", "[package]\nname = \"temps\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    write(dir.path(), "src/lib.rs", LIB);
    dir
}

#[test]
fn fill_dry_run_prints_a_diff_and_leaves_the_file_alone() {
    if !model_present() {
        return;
    }
    let dir = project();
    let out = Command::cargo_bin("ananke")
        .unwrap()
        .current_dir(dir.path())
        .args(["fill", "src/lib.rs:10", "--dry-run", "--force", "--max-tokens", "48", "--max-repairs", "0"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}\n{stdout}");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    assert!(stdout.starts_with("--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -"), "{stdout}");
    assert!(stdout.contains("\n-    todo!()\n"), "{stdout}");
    assert!(stderr.contains("applicable constraint(s)"), "the report says how constraints were enforced: {stderr}");
    assert_eq!(fs::read_to_string(dir.path().join("src/lib.rs")).unwrap(), LIB, "a dry run writes nothing");

    // Without --dry-run the file is rewritten in place (when the body passes its checks), and nothing else is left.
    let out = Command::cargo_bin("ananke")
        .unwrap()
        .current_dir(dir.path())
        .args(["fill", "src/lib.rs", "--max-tokens", "48", "--max-repairs", "0"])
        .output()
        .unwrap();
    let after = fs::read_to_string(dir.path().join("src/lib.rs")).unwrap();
    match out.status.code() {
        Some(0) => assert!(!after.contains("todo!()") && after.contains("pub fn to_celsius(fahrenheit: f64) -> f64 {")),
        Some(1) => assert_eq!(after, LIB, "a body that fails its checks is not written"),
        other => panic!("{other:?}: {}", String::from_utf8_lossy(&out.stderr)),
    }
    let names: Vec<String> = fs::read_dir(dir.path().join("src"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names, ["lib.rs"], "no temporary file left");
}

#[test]
fn fill_without_a_hole_is_a_usage_error() {
    let dir = project();
    write(dir.path(), "src/other.rs", "pub fn one() -> u8 {\n    1\n}\n");
    Command::cargo_bin("ananke")
        .unwrap()
        .current_dir(dir.path())
        .args(["fill", "src/other.rs", "--dry-run"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no typed hole"));
}

/// With every layer on, a tight budget still ends with a closed body (the budget layer), reported as JSON; with
/// `--verify cargo` the body was compiled in place and the file is left as it was when the body is not written.
#[test]
fn fill_json_reports_a_closed_body_under_a_tight_budget() {
    if !model_present() {
        return;
    }
    let dir = project();
    let out = Command::cargo_bin("ananke")
        .unwrap()
        .current_dir(dir.path())
        .args(["fill", "src/lib.rs:10", "--format", "json", "--max-tokens", "30", "--max-repairs", "1"])
        .args(["--verify", "cargo", "--no-config"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(report["function"], "to_celsius");
    assert_eq!(report["complete"], true, "the budget closes the body: {report}");
    let body = report["body"].as_str().unwrap();
    assert!(body.starts_with('{') && body.trim_end().ends_with('}'), "{body}");
    assert!(report["attempts"].as_u64().unwrap() >= 1 && report["tokens_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(report["layers"]["identifiers"], true);
    let after = fs::read_to_string(dir.path().join("src/lib.rs")).unwrap();
    if report["written"] == true {
        assert!(after.contains(body), "{after}");
    } else {
        assert_eq!(after, LIB, "the file is restored after cargo check and not written");
        assert!(report["problems"].as_array().is_some_and(|p| !p.is_empty()), "{report}");
    }
}
