// rule: {"type": "require_pattern", "pattern": {"query": "(line_comment (inner_doc_comment_marker)) @doc"}} // ~
// The file has no `//!` module documentation, so the violation is reported at its start (line 1).
pub fn undocumented() {}
