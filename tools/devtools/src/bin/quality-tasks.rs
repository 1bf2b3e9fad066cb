//! Builds the function-completion task set for the generation-quality benchmark (`benches/quality/`): real
//! functions of 2 to 15 body lines from dependency-free crates, each to be blanked to `todo!()` and regenerated.
//!
//! Usage: `quality-tasks CRATE_DIR... > tasks.jsonl`
//!
//! One JSON object per line: `{"crate", "file", "name", "line", "body_start", "body_end", "body_lines",
//! "header", "body"}` where `file` is relative to the crate directory, `line` is the 1-based line of the `fn`
//! keyword and `body_start..body_end` the byte range of the body block, braces included. Left out: test code,
//! `unsafe`/`const`/`async` functions, bodies with macros defining items, functions returning `impl Trait`
//! (a `todo!()` body does not type-check there), and functions inside macro bodies (not parsed).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use ananke_devtools::json_string;
use tree_sitter::{Node, Parser};

const MIN_LINES: usize = 2;
const MAX_LINES: usize = 15;

/// Whether the node sits in test code: a `mod tests`-like module or an item with a test attribute before it.
fn in_test(node: Node<'_>, source: &str) -> bool {
    let mut current = Some(node);
    while let Some(n) = current {
        if n.kind() == "mod_item" || n.kind() == "function_item" {
            let mut prev = n.prev_sibling();
            while let Some(p) = prev.filter(|p| p.kind() == "attribute_item" || p.kind().ends_with("comment")) {
                let text = &source[p.byte_range()];
                if text.contains("test") {
                    return true;
                }
                prev = p.prev_sibling();
            }
            if n.kind() == "mod_item"
                && n.child_by_field_name("name").is_some_and(|m| &source[m.byte_range()] == "tests")
            {
                return true;
            }
        }
        current = n.parent();
    }
    false
}

fn visit(node: Node<'_>, source: &str, krate: &str, file: &str, out: &mut String) {
    if node.kind() == "function_item"
        && let (Some(body), Some(name)) = (node.child_by_field_name("body"), node.child_by_field_name("name"))
    {
        let header = source[node.start_byte()..body.start_byte()].trim_end();
        let body_text = &source[body.byte_range()];
        let lines = body.end_position().row - body.start_position().row + 1;
        let modifiers = header.split('(').next().unwrap_or(header);
        let excluded = modifiers.split_whitespace().any(|w| matches!(w, "unsafe" | "const" | "async" | "extern"))
            || header.contains("impl ") && header.rsplit("->").next().is_some_and(|r| r.contains("impl "))
            || body_text.contains("macro_rules!")
            || body_text.contains("todo!")
            || body_text.contains("unimplemented!")
            || in_test(node, source);
        if (MIN_LINES..=MAX_LINES).contains(&lines) && !excluded {
            let _ = writeln!(
                out,
                "{{\"crate\":{},\"file\":{},\"name\":{},\"line\":{},\"body_start\":{},\"body_end\":{},\"body_lines\":{},\"header\":{},\"body\":{}}}",
                json_string(krate),
                json_string(file),
                json_string(&source[name.byte_range()]),
                node.start_position().row + 1,
                body.start_byte(),
                body.end_byte(),
                lines,
                json_string(header),
                json_string(body_text),
            );
        }
    }
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        visit(child, source, krate, file, out);
    }
}

fn main() -> ExitCode {
    let crates: Vec<String> = std::env::args().skip(1).collect();
    if crates.is_empty() {
        eprintln!("usage: quality-tasks CRATE_DIR... > tasks.jsonl");
        return ExitCode::from(2);
    }
    let mut parser = Parser::new();
    if parser.set_language(&tree_sitter_rust::LANGUAGE.into()).is_err() {
        eprintln!("tree-sitter-rust does not match tree-sitter");
        return ExitCode::FAILURE;
    }
    let mut out = String::new();
    for dir in &crates {
        let root = Path::new(dir);
        let krate = root.file_name().map_or_else(|| dir.clone(), |n| n.to_string_lossy().into_owned());
        for path in ananke_devtools::rust_files(&root.join("src")) {
            let Ok(source) = std::fs::read_to_string(&path) else { continue };
            let Some(tree) = parser.parse(&source, None) else { continue };
            if tree.root_node().has_error() {
                continue;
            }
            let file = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            visit(tree.root_node(), &source, &krate, &file, &mut out);
        }
    }
    print!("{out}");
    ExitCode::SUCCESS
}
