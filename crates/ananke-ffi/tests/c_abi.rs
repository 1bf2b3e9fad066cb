//! The ABI from C: `tests/c/smoke.c` is compiled with `cc -Wall -Wextra -Werror` against the static library and
//! the committed header, and run — under valgrind (memory errors and definite leaks fail the test) when it is
//! installed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory cargo put this crate's libraries in (`target/<profile>`), next to `deps/` where tests run.
fn artifact_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target/<profile>").to_path_buf()
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn c_program_runs_clean() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = artifact_dir();
    // `cargo test` builds this crate as an rlib only, so build the static library here: a no-op when it is fresh,
    // and it keeps a stale `.a` from an older build from being the thing under test.
    let target_dir = dir.parent().expect("target dir");
    let profile = if dir.file_name().is_some_and(|n| n == "release") { ["--release"].as_slice() } else { &[] };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let built = Command::new(cargo)
        .args(["build", "--offline", "--quiet", "-p", "ananke-ffi", "--lib", "--target-dir"])
        .arg(target_dir)
        .args(profile)
        .status()
        .expect("cargo runs");
    assert!(built.success(), "cargo build -p ananke-ffi failed");
    let lib = dir.join("libananke_ffi.a");
    assert!(lib.is_file(), "the static library {} was not built", lib.display());
    let out_dir = std::env::temp_dir().join(format!("ananke-ffi-c-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join("smoke");
    let status = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-o"])
        .arg(&exe)
        .arg(crate_dir.join("tests/c/smoke.c"))
        .arg("-I")
        .arg(crate_dir.join("include"))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm"])
        .status()
        .expect("a C compiler (cc) is installed");
    assert!(status.success(), "the C program does not compile cleanly");

    let output = if have("valgrind") {
        Command::new("valgrind")
            .args(["--quiet", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite"])
            .arg(&exe)
            .output()
    } else {
        eprintln!("valgrind not installed: running the C program without it");
        Command::new(&exe).output()
    }
    .expect("the C program runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status.code());
    assert!(stdout.trim_end().ends_with("ok"), "stdout:\n{stdout}");
    let _ = std::fs::remove_dir_all(&out_dir);
}
