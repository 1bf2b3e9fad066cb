//! Flattening `use` trees into full paths.

use ananke_core::{Import, ImportKind};
use tree_sitter::Node;

use crate::text::text;

/// Flattens the argument of a `use` declaration: `use a::{b, c::{self, d as e}, f::*};` yields `a::b`, `a::c`,
/// `a::c::d` (alias `e`) and `a::f::*`.
pub(crate) fn flatten_use(argument: Node<'_>, source: &str, line: u32, out: &mut Vec<Import>) {
    walk(argument, "", source, line, out);
}

fn join(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_owned()
    } else if rest == "self" {
        prefix.to_owned()
    } else {
        format!("{prefix}::{rest}")
    }
}

fn path_text(node: Node<'_>, source: &str) -> String {
    text(node, source).split_whitespace().collect()
}

fn walk(node: Node<'_>, prefix: &str, source: &str, line: u32, out: &mut Vec<Import>) {
    let import = |path: String, alias: Option<String>| Import { path, kind: ImportKind::Use, alias, line };
    match node.kind() {
        "use_as_clause" => {
            let path = node.child_by_field_name("path").map(|p| path_text(p, source)).unwrap_or_default();
            let alias = node.child_by_field_name("alias").map(|a| text(a, source).to_owned());
            out.push(import(join(prefix, &path), alias));
        }
        "use_wildcard" => {
            let path = node.named_child(0).map(|p| path_text(p, source));
            let full = match path {
                Some(p) => join(prefix, &format!("{p}::*")),
                None => join(prefix, "*"),
            };
            out.push(import(full, None));
        }
        "use_list" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                walk(child, prefix, source, line, out);
            }
        }
        "scoped_use_list" => {
            let inner_prefix = match node.child_by_field_name("path") {
                Some(p) => join(prefix, &path_text(p, source)),
                None => prefix.to_owned(),
            };
            if let Some(list) = node.child_by_field_name("list") {
                walk(list, &inner_prefix, source, line, out);
            }
        }
        "line_comment" | "block_comment" | "attribute_item" => {}
        _ => out.push(import(join(prefix, &path_text(node, source)), None)),
    }
}
