//! The module path a file's location implies (`vendor/tokio/src/runtime/builder.rs` → `tokio::runtime::builder`).

/// Directories whose files are test code (and separate crates in a Cargo package).
pub(crate) const TEST_DIRS: [&str; 3] = ["tests", "benches", "examples"];

/// Whether a path lies in a test directory (`tests/`, `benches/`, `examples/`) of its crate: one that is not
/// followed by a `src/` directory (`examples/inventory/src/lib.rs` is library code of an example crate).
pub(crate) fn is_test_path(path: &str) -> bool {
    let dirs: Vec<&str> = path.split(['/', '\\']).collect();
    let dirs = &dirs[..dirs.len().saturating_sub(1)];
    let after_src = dirs.iter().rposition(|&d| d == "src").map_or(0, |at| at + 1);
    dirs[after_src..].iter().any(|d| TEST_DIRS.contains(d))
}

/// The Rust module path of a file, as far as its location tells it.
///
/// The crate is named after the directory holding `src/` (dashes become underscores); `lib.rs`, `main.rs` and
/// `mod.rs` name their directory's module. Files outside `src/` (integration tests, examples) keep their
/// directory under the crate: `tokio/tests/io.rs` → `tokio::tests::io`. Without any anchor the path is `crate`
/// followed by the directories.
pub(crate) fn rust_module_path(path: &str) -> String {
    let components: Vec<&str> = path.split(['/', '\\']).filter(|c| !c.is_empty() && *c != ".").collect();
    let Some((file, dirs)) = components.split_last() else {
        return "crate".to_owned();
    };
    let stem = file.rsplit_once('.').map_or(*file, |(stem, _)| stem);

    let anchor = dirs.iter().rposition(|&d| d == "src").or_else(|| dirs.iter().rposition(|d| TEST_DIRS.contains(d)));
    let (krate, inner): (String, &[&str]) = match anchor {
        Some(at) => {
            let krate = if at == 0 { "crate".to_owned() } else { dirs[at - 1].replace('-', "_") };
            // `src` itself is not a module; `tests`, `benches` and `examples` are kept so their files stay apart.
            let skip = usize::from(dirs[at] == "src");
            (krate, &dirs[at + skip..])
        }
        None => ("crate".to_owned(), dirs),
    };

    let mut out = krate;
    for dir in inner {
        out.push_str("::");
        out.push_str(&dir.replace('-', "_"));
    }
    if !matches!(stem, "lib" | "main" | "mod") {
        out.push_str("::");
        out.push_str(&stem.replace('-', "_"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{is_test_path, rust_module_path};

    #[test]
    fn module_paths_follow_cargo_layout() {
        assert_eq!(rust_module_path("vendor/tokio/src/runtime/builder.rs"), "tokio::runtime::builder");
        assert_eq!(rust_module_path("vendor/tokio/src/runtime/mod.rs"), "tokio::runtime");
        assert_eq!(rust_module_path("vendor/tokio/src/lib.rs"), "tokio");
        assert_eq!(rust_module_path("serde-json/src/de.rs"), "serde_json::de");
        assert_eq!(rust_module_path("src/lib.rs"), "crate");
        assert_eq!(rust_module_path("./src/parse/expr.rs"), "crate::parse::expr");
        assert_eq!(rust_module_path("vendor/tokio/tests/io_read.rs"), "tokio::tests::io_read");
        assert_eq!(rust_module_path("tests/cli.rs"), "crate::tests::cli");
        assert_eq!(rust_module_path("a/b.rs"), "crate::a::b");
        assert_eq!(rust_module_path("main.rs"), "crate");
        assert_eq!(rust_module_path("x/src/bin/tool.rs"), "x::bin::tool");
        assert_eq!(rust_module_path("x/src/main.rs"), "x");
    }

    #[test]
    fn test_paths_are_recognized() {
        assert!(is_test_path("tokio/tests/io.rs"));
        assert!(is_test_path("benches/parse.rs"));
        assert!(is_test_path("crate/examples/demo.rs"));
        assert!(!is_test_path("src/tests.rs"));
        assert!(!is_test_path("src/testing/mod.rs"));
        assert!(!is_test_path("examples/inventory/src/stock.rs"));
        assert!(is_test_path("examples/inventory/tests/it.rs"));
    }
}
