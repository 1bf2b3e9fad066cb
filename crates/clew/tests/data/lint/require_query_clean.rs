//! This module is documented.
// rule: {"type": "require_pattern", "pattern": {"query": "(line_comment (inner_doc_comment_marker)) @doc"}}
pub fn documented() {}
