//! Small helpers over source text: spans from nodes, whitespace-normalized node text.

use ananke_core::Span;
use tree_sitter::Node;

/// The span of a node, with 1-based lines and columns.
pub(crate) fn span_of(node: Node<'_>) -> Span {
    let start = node.start_position();
    let end = node.end_position();
    Span {
        start_byte: node.start_byte() as u32,
        end_byte: node.end_byte() as u32,
        start_line: start.row as u32 + 1,
        start_column: start.column as u32 + 1,
        end_line: end.row as u32 + 1,
        end_column: end.column as u32 + 1,
    }
}

/// The span from the start of `first` to the end of `last`.
pub(crate) fn span_between(first: Node<'_>, last: Node<'_>) -> Span {
    let (start, end) = (span_of(first), span_of(last));
    Span {
        start_byte: start.start_byte,
        end_byte: end.end_byte,
        start_line: start.start_line,
        start_column: start.start_column,
        end_line: end.end_line,
        end_column: end.end_column,
    }
}

/// The node's source text. Sources are validated UTF-8 and nodes end on character boundaries.
pub(crate) fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    source.get(node.byte_range()).unwrap_or("")
}

/// The node's text with whitespace runs collapsed and the spaces inside brackets removed:
/// `HashMap< K ,\n V >` → `HashMap<K, V>`. Comments inside the text are dropped.
pub(crate) fn normalized(node: Node<'_>, source: &str) -> String {
    normalize(text(node, source))
}

/// See [`normalized`].
pub(crate) fn normalize(raw: &str) -> String {
    let stripped = strip_comments(raw);
    let mut out = String::with_capacity(stripped.len());
    let mut chars = stripped.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_whitespace() {
            out.push(c);
            continue;
        }
        while chars.next_if(|n| n.is_whitespace()).is_some() {}
        let Some(&next) = chars.peek() else { break };
        let prev = out.chars().last();
        let after_path_sep = out.ends_with("::");
        let before_path_sep = next == ':' && stripped_starts_with(&chars, "::");
        let drop = match prev {
            None | Some('(' | '[' | '<' | '&') => true,
            Some(p) => {
                matches!(next, ')' | ']' | '>' | ',' | ';' | '?')
                    || after_path_sep
                    || before_path_sep
                    || (next == '<' && (p.is_alphanumeric() || p == '_'))
            }
        };
        if !drop {
            out.push(' ');
        }
    }
    out
}

fn stripped_starts_with(chars: &std::iter::Peekable<std::str::Chars<'_>>, prefix: &str) -> bool {
    chars.clone().take(prefix.len()).eq(prefix.chars())
}

/// Replaces `// ...` and `/* ... */` comments with a space; types and headers rarely contain them, but
/// multi-line parameter lists and where clauses do.
fn strip_comments(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains("//") && !raw.contains("/*") {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '/' && chars.peek() == Some(&'/') {
            for next in chars.by_ref() {
                if next == '\n' {
                    break;
                }
            }
            out.push(' ');
        } else if c == '/' && chars.peek() == Some(&'*') {
            chars.next();
            let mut prev = ' ';
            for next in chars.by_ref() {
                if prev == '*' && next == '/' {
                    break;
                }
                prev = next;
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn normalizes_types_and_headers() {
        assert_eq!(normalize("HashMap< K ,\n    V >"), "HashMap<K, V>");
        assert_eq!(normalize("&'a  mut\tSelf"), "&'a mut Self");
        assert_eq!(
            normalize("Result<(), Box<dyn std::error::Error + Send>>"),
            "Result<(), Box<dyn std::error::Error + Send>>"
        );
        assert_eq!(normalize("impl Fn(u8) -> u8"), "impl Fn(u8) -> u8");
        assert_eq!(normalize("T: Clone,\n    U: Default"), "T: Clone, U: Default");
        assert_eq!(normalize("Vec<u8> // bytes\n"), "Vec<u8>");
        assert_eq!(normalize("( u8 , /* x */ String )"), "(u8, String)");
        assert_eq!(normalize("std :: io :: Result < () >"), "std::io::Result<()>");
        assert_eq!(normalize("[ u8 ; 4 ]"), "[u8; 4]");
    }
}
