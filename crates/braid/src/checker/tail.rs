//! Where a fn body writes the function's value, and which constructors may start it there.
//!
//! The identifier layer knows the return type from the header. A value that starts with `Ok(`/`Err(` can only be a
//! `Result`, one with `Some(`/`None` only an `Option`, and `true`/`false` only a `bool` (any method chained on them
//! in good code keeps that type). So where the body writes the function's value — after `return` (outside
//! closures), at a statement start of the body's block, and at the statement starts and match arms of the `if`,
//! `else`, `match` and plain blocks that end it — a constructor of the wrong family is a type error (E0308)
//! before the first argument is written. Elsewhere (a `let`'s initializer, a call's argument, a closure, a loop's
//! body) any value may stand.
//!
//! The scan is textual over the body written so far (strings, chars and comments skipped) and only runs when a
//! new token writes one of the six words, so it costs nothing per token otherwise.

/// What the header's return type lets a value start with, when the type is one this judges (std's `Result` and
/// `Option` under any path, `bool`, and types that are none of them: numbers, `char`, `String`, `&str`, `Vec`,
/// tuples, arrays and `()`). Aliases, generics, `Self`, `impl Trait` and the crate's own types are not judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `Result<..>`, `io::Result<..>`, `fmt::Result`: `Ok`/`Err`.
    Result,
    /// `Option<..>`: `Some`/`None`.
    Option,
    /// `bool`: `true`/`false`.
    Bool,
    /// A type none of the six words builds.
    Other,
}

/// The shape of `header`'s return type (see [`Shape`]); `None` when it is not judged.
pub(crate) fn shape(header: &str) -> Option<Shape> {
    let ty = crate::identifiers::return_type(header)?;
    if ty.is_empty() {
        return Some(Shape::Other);
    }
    let base = ty.split('<').next().unwrap_or("").trim();
    let last = base.rsplit("::").next().unwrap_or("");
    Some(match last {
        "Result" => Shape::Result,
        "Option" => Shape::Option,
        "bool" => Shape::Bool,
        "String" | "Vec" | "usize" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128" | "i8" | "i16" | "i32" | "i64"
        | "i128" | "f32" | "f64" | "char" => Shape::Other,
        _ if ty == "()" || ty.starts_with("&str") || ty.starts_with("&'static str") || ty.starts_with("&[") => {
            Shape::Other
        }
        _ if ty.starts_with('(') || ty.starts_with('[') => Shape::Other,
        _ => return None,
    })
}

/// [`shape`], also judging a return type the crate declares as a struct, enum or union (`Self` standing for
/// `self_type`): none of the six words builds one.
pub(crate) fn shape_with(header: &str, self_type: Option<&str>, nominal: impl Fn(&str) -> bool) -> Option<Shape> {
    shape(header).or_else(|| {
        let ty = crate::identifiers::return_type(header)?;
        let base = crate::identifiers::base_type(ty);
        let base = if base == "Self" { crate::identifiers::base_type(self_type?) } else { base };
        nominal(&base).then_some(Shape::Other)
    })
}

/// The family a word builds, when it is one of the six constructors.
fn family(word: &str) -> Option<Shape> {
    match word {
        "Ok" | "Err" => Some(Shape::Result),
        "Some" | "None" => Some(Shape::Option),
        "true" | "false" => Some(Shape::Bool),
        _ => None,
    }
}

/// Whether `word` is one of the six constructors judged here.
pub(crate) fn is_constructor(word: &str) -> bool {
    family(word).is_some()
}

/// Why `word` cannot start the function's value, which must have `shape`: `None` when it may.
pub(crate) fn wrong_constructor(shape: Shape, word: &str) -> Option<String> {
    let f = family(word)?;
    if f == shape {
        return None;
    }
    let what = match shape {
        Shape::Result => "a `Result` (`Ok(..)` or `Err(..)`)",
        Shape::Option => "an `Option` (`Some(..)` or `None`)",
        Shape::Bool => "a `bool`",
        Shape::Other => "neither a `Result`, an `Option` nor a `bool`",
    };
    Some(format!("`{word}` cannot start this function's value: it returns {what}"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A block of statements.
    Block,
    /// The arms of a `match`.
    Arms,
    /// Parentheses, brackets, and braces that hold no statements (struct literals and patterns).
    Other,
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    kind: Kind,
    /// Whether the value this frame's statements or arms end with is the function's.
    tail: bool,
    /// Inside a closure (`return` is the closure's).
    closure: bool,
    /// Where the current statement (or the current arm's pattern or value) started.
    start: usize,
    /// In a match's arms: past the current arm's `=>`.
    in_value: bool,
    /// Whether the last block this frame closed was tail (an `else` continues its `if`).
    closed_tail: bool,
    /// A loop's body: its value is `()` whatever the function returns.
    unit: bool,
}

/// Whether the body text `body` (from its opening `{` on) stops where the function's value starts: after a
/// `return` outside closures, or at an empty statement or arm value in a block whose value is the function's.
pub(crate) fn at_value(body: &[u8]) -> bool {
    let Some(frames) = frames(body) else { return false };
    let Some(top) = frames.last() else { return false };
    let before = body.trim_ascii_end();
    let word = trailing_word(before);
    if word == b"return" {
        return !frames.iter().any(|f| f.closure);
    }
    no_code(&body[top.start.min(body.len())..])
        && top.tail
        && !top.closure
        && match top.kind {
            Kind::Block => true,
            Kind::Arms => top.in_value,
            Kind::Other => false,
        }
}

/// Whether `body` (from its opening `{` on) ends with a `return` of the function's own (outside closures): a `;`
/// there would return no value.
pub(crate) fn bare_return(body: &[u8]) -> bool {
    trailing_word(body.trim_ascii_end()) == b"return" && frames(body).is_some_and(|f| !f.iter().any(|f| f.closure))
}

/// Why the block open at the end of `body` (from the body's opening `{` on) cannot close here: its value must be
/// `()` (a loop's body; with `unit_fn`, a block that ends a function returning `()`) and its last expression, a
/// call or a path, has no `;` (`self.set.insert(x)` returns a `bool`: E0308). `x;` is `x` whenever `x` is `()`, so
/// asking for the `;` loses no program (clippy's `semicolon_if_nothing_returned`). Block-like expressions
/// (`if`, `match`, loops, blocks; their own blocks were judged when they closed), `return`, `break`, `continue`
/// and `()` may end the block as they are. `None` when it may close.
pub(crate) fn unit_value_left(body: &[u8], unit_fn: bool) -> Option<String> {
    let frames = frames(body)?;
    let top = frames.last()?;
    if top.kind != Kind::Block || !(top.unit || unit_fn && top.tail && !top.closure) {
        return None;
    }
    let code = crate::identifiers::strip_comments(&String::from_utf8_lossy(&body[top.start.min(body.len())..]));
    let stmt = code.trim().as_bytes();
    if stmt.is_empty()
        || stmt.ends_with(b";")
        || stmt == b"()"
        || statement_block(stmt)
        || stmt.starts_with(b"#")
        || matches!(
            leading_word(stmt),
            b"return"
                | b"break"
                | b"continue"
                | b"fn"
                | b"impl"
                | b"struct"
                | b"enum"
                | b"union"
                | b"trait"
                | b"mod"
                | b"macro_rules"
                | b"use"
                | b"let"
                | b"const"
                | b"static"
        )
    {
        return None;
    }
    let whose = if top.unit { "a loop's body" } else { "this function's last block" };
    Some(format!("{whose} has the value `()`: end its last expression with `;`"))
}

/// Why a comment cannot start at the end of `body` (from the body's opening `{` on): only between statements,
/// arms and arguments may one start, after `{`, `;`, `,`, `(`, `[` or a block's `}` (or after another comment
/// there). Within an expression (`self.format\n//..`, a call not ended by its `;`) a small model's comments run
/// on to the end of its budget and the code around them never gets written; no program needs a comment, so none
/// is lost. `None` when one may start here (or the end is inside a string or a comment: not a comment's start).
pub(crate) fn misplaced_comment(body: &[u8]) -> Option<String> {
    frames(body)?;
    let code = crate::identifiers::strip_comments(&String::from_utf8_lossy(body));
    let last = code.trim_end().bytes().last()?;
    if matches!(last, b'{' | b';' | b',' | b'(' | b'[' | b'}') {
        return None;
    }
    Some("a comment goes between statements: end this one first".to_owned())
}

/// Whether `text` holds nothing but whitespace and comments.
fn no_code(text: &[u8]) -> bool {
    let mut rest = text.trim_ascii_start();
    loop {
        if rest.is_empty() {
            return true;
        }
        let skip = if rest.starts_with(b"//") {
            rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len())
        } else if rest.starts_with(b"/*") {
            rest.windows(2).position(|w| w == b"*/").map_or(rest.len(), |p| p + 2)
        } else {
            return false;
        };
        rest = rest[skip..].trim_ascii_start();
    }
}

fn trailing_word(text: &[u8]) -> &[u8] {
    let start = text.iter().rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_')).map_or(0, |i| i + 1);
    &text[start..]
}

/// The open frames at the end of `body`; `None` when it does not start with `{`, closes more than it opens, or
/// ends inside a comment or a string.
fn frames(body: &[u8]) -> Option<Vec<Frame>> {
    let open = body.iter().position(|b| !b.is_ascii_whitespace())?;
    if body[open] != b'{' {
        return None;
    }
    let mut frames = vec![Frame {
        kind: Kind::Block,
        tail: true,
        closure: false,
        start: open + 1,
        in_value: false,
        closed_tail: false,
        unit: false,
    }];
    let mut i = open + 1;
    while i < body.len() {
        let rest = &body[i..];
        // The end inside a comment or a string is no place for a value.
        if rest.starts_with(b"//") {
            i += rest.iter().position(|&c| c == b'\n')?;
            continue;
        }
        if rest.starts_with(b"/*") {
            i += rest.windows(2).position(|w| w == b"*/")? + 2;
            continue;
        }
        let b = body[i];
        match b {
            b'"' => {
                // A raw string's closing quote may be followed by `#`s: they are skipped as text next.
                let raw = i > 0 && matches!(body[i - 1], b'r' | b'#');
                let mut j = i + 1;
                while j < body.len() && body[j] != b'"' {
                    j += if body[j] == b'\\' && !raw { 2 } else { 1 };
                }
                if j >= body.len() {
                    return None;
                }
                i = j + 1;
                continue;
            }
            b'\'' => {
                // A char literal (`'{'`, `'\''`); a lifetime's quote has no closing one this close.
                let close = if rest.get(1) == Some(&b'\\') { 3 } else { 2 };
                if let Some(end) = rest.iter().skip(close).take(8).position(|&c| c == b'\'') {
                    i += close + end + 1;
                    continue;
                }
            }
            b'{' => {
                let top = *frames.last()?;
                let stmt = body[top.start.min(i)..i].trim_ascii();
                let frame = open_brace(&top, stmt, i + 1);
                frames.push(frame);
            }
            b'(' | b'[' => {
                let top = *frames.last()?;
                frames.push(Frame {
                    kind: Kind::Other,
                    tail: false,
                    closure: top.closure,
                    start: i + 1,
                    in_value: false,
                    closed_tail: false,
                    unit: false,
                });
            }
            b')' | b']' | b'}' => {
                let closed = frames.pop()?;
                let top = frames.last_mut()?;
                if b == b'}' && closed.kind != Kind::Other {
                    top.closed_tail = closed.tail;
                    match top.kind {
                        // A block-like expression statement ends with its `}`: the next statement (or an `else`)
                        // starts after it; within a longer statement (`let x = if c { .. }`) `start` stays.
                        Kind::Block if statement_block(&body[top.start.min(i)..i]) => top.start = i + 1,
                        // An arm's block value ends the arm (its `,` is optional).
                        Kind::Arms if top.in_value && body[top.start.min(i)..i].trim_ascii().starts_with(b"{") => {
                            top.start = i + 1;
                            top.in_value = false;
                        }
                        _ => {}
                    }
                }
            }
            b';' => {
                let top = frames.last_mut()?;
                if top.kind == Kind::Block {
                    top.start = i + 1;
                }
            }
            b',' => {
                let top = frames.last_mut()?;
                if top.kind == Kind::Arms && top.in_value {
                    top.start = i + 1;
                    top.in_value = false;
                }
            }
            b'=' if rest.starts_with(b"=>") => {
                let top = frames.last_mut()?;
                if top.kind == Kind::Arms && !top.in_value {
                    top.start = i + 2;
                    top.in_value = true;
                    i += 2;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Some(frames)
}

/// Whether a statement so far (up to a `}` that closes one of its blocks) is a block-like expression statement
/// (`if`, `else`, `match`, `loop`, `while`, `for`, `unsafe` or a plain block), which ends with that `}`.
fn statement_block(stmt: &[u8]) -> bool {
    let stmt = stmt.trim_ascii();
    let first = leading_word(stmt);
    stmt.starts_with(b"{")
        || matches!(first, b"if" | b"else" | b"match" | b"loop" | b"while" | b"for" | b"unsafe")
        || stmt.starts_with(b"'")
}

fn leading_word(text: &[u8]) -> &[u8] {
    let end = text.iter().position(|b| !(b.is_ascii_alphanumeric() || *b == b'_')).unwrap_or(text.len());
    &text[..end]
}

/// The frame a `{` opens in `top`, `stmt` being the statement (or arm value) written before it.
fn open_brace(top: &Frame, stmt: &[u8], start: usize) -> Frame {
    let mut frame = Frame {
        kind: Kind::Block,
        tail: false,
        closure: top.closure,
        start,
        in_value: false,
        closed_tail: false,
        unit: false,
    };
    // In a match's arms, a brace before `=>` is a pattern's; within parentheses or a struct literal, braces hold
    // closures' and blocks' statements the function's value never is.
    let here = top.tail && !top.closure && (top.kind == Kind::Block || top.kind == Kind::Arms && top.in_value);
    if top.kind == Kind::Arms && !top.in_value {
        frame.kind = Kind::Other;
        return frame;
    }
    let (here, stmt) = match stmt.strip_prefix(b"return") {
        Some(rest) if !rest.first().is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') => {
            (!top.closure, rest.trim_ascii())
        }
        _ => (here, stmt),
    };
    match leading_word(stmt) {
        b"" if stmt.is_empty() => frame.tail = here,
        b"if" => frame.tail = here,
        b"else" => frame.tail = here && top.closed_tail,
        b"match" => {
            frame.kind = Kind::Arms;
            frame.tail = here;
        }
        b"unsafe" if stmt == b"unsafe" => frame.tail = here,
        b"loop" | b"while" | b"for" => frame.unit = true,
        b"unsafe" => {}
        _ => {
            // Within a longer statement (`let x = if c {`, `v.map(|a| {`): what the last construct is.
            let last = stmt
                .split(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'|'))
                .rev()
                .find(|w| {
                    w.contains(&b'|')
                        || matches!(*w, b"if" | b"else" | b"match" | b"loop" | b"while" | b"for" | b"unsafe" | b"async")
                })
                .unwrap_or(b"");
            if last.contains(&b'|') || stmt.contains(&b'|') {
                frame.closure = true;
                frame.kind = if last == b"match" { Kind::Arms } else { Kind::Block };
            } else if last == b"match" {
                frame.kind = Kind::Arms;
            } else if last.is_empty() {
                frame.kind = Kind::Other;
            }
        }
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_return_types() {
        assert_eq!(shape("fn f(x: u8) -> Result<u8, E>"), Some(Shape::Result));
        assert_eq!(shape("fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result"), Some(Shape::Result));
        assert_eq!(shape("fn f() -> io::Result<()>"), Some(Shape::Result));
        assert_eq!(shape("fn f() -> Option<&str>"), Some(Shape::Option));
        assert_eq!(shape("fn f(&self) -> bool"), Some(Shape::Bool));
        assert_eq!(shape("fn f(&self) -> usize"), Some(Shape::Other));
        assert_eq!(shape("fn f(&mut self)"), Some(Shape::Other));
        assert_eq!(shape("fn f(&self) -> &str"), Some(Shape::Other));
        assert_eq!(shape("fn f<T>(x: T) -> T where T: Copy"), None);
        assert_eq!(shape("fn f(&self) -> Self"), None);
        assert_eq!(shape("fn f(&self) -> Cow<'_, str>"), None);
    }

    #[test]
    fn where_the_value_is_written() {
        let at = |s: &str| at_value(s.as_bytes());
        assert!(at("{ "));
        assert!(at("{ let x = 1; "));
        assert!(!at("{ let x = "));
        assert!(!at("{ foo("));
        assert!(at("{ if x { return "));
        assert!(at("{ if x { a } else { "));
        assert!(at("{ if x {\n    "));
        assert!(at("{ match x { Some(y) => "));
        assert!(!at("{ match x { "), "a pattern");
        assert!(at("{ match x { A => 1, B => { let z = 2; "));
        assert!(at("{ match x { A => { 1 } B => "));
        assert!(!at("{ let y = if x { "));
        assert!(!at("{ let y = if x { a } else { "));
        assert!(!at("{ let y = match x { A => "));
        assert!(!at("{ for a in b { "));
        assert!(!at("{ v.iter().map(|a| { "));
        assert!(!at("{ v.iter().map(|a| { return "), "a closure's return");
        assert!(at("{ for a in b { return "));
        assert!(!at("{ let s = \"{ \"; let t = Foo { a: "));
        assert!(at("{ let s = \"{ \"; // {\n "));
        assert!(at("{ if let Some(Foo { a }) = x { "));
        assert!(at("{ if a { b } c.d(); "));
        assert!(!at("{ x = if a { b } else { "));
        assert!(at("{ return match x { A => "));
        assert!(at("{ return if a { "));
        assert!(!at("{ v.iter().map(|a| match a { A => "));
        assert!(!at("{ let f = move |a| { if a { "));
        assert!(!at("{ let s = \"a; "), "in a string");
        assert!(!at("{ // a; "), "in a comment");
    }

    #[test]
    fn unit_blocks_end_with_a_semicolon() {
        let left = |s: &str, unit_fn: bool| unit_value_left(s.as_bytes(), unit_fn).is_some();
        assert!(left("{ self.set.insert(x) ", true));
        assert!(!left("{ self.set.insert(x) ", false), "the function's value");
        assert!(!left("{ self.set.insert(x); ", true));
        assert!(!left("{ ", true));
        assert!(!left("{ let a = 1;\n    // done\n", true));
        assert!(left("{ a.b(c) // a comment\n", true));
        assert!(!left("{ if a { b(); } ", true), "the if's block was judged when it closed");
        assert!(left("{ if a { b() ", true));
        assert!(left("{ if a { b(); } else { c() ", true));
        assert!(left("{ match x { A => { b() ", true));
        assert!(!left("{ match x { A => b(), ", true), "an arm's value that is no block");
        assert!(!left("{ let y = if a { b() ", true), "a let's value");
        assert!(!left("{ v.iter().map(|a| { a.b() ", true), "a closure's value");
        assert!(left("{ for a in b { c.d(a) ", false), "a loop's body has no value");
        assert!(left("{ while x { c.d(a) ", false));
        assert!(left("{ loop { c.d(a) ", false));
        assert!(!left("{ let n = loop { break 1 ", false));
        assert!(!left("{ return ", true));
        assert!(!left("{ return x ", true));
        assert!(!left("{ ()", true));
        assert!(!left("{ if a { return } ", true));
        assert!(!left("{ fn inner() {} ", true));
        assert!(!left("{ let s = \"}\"; ", true));
        assert!(left("{ println!(\"{}\", x) ", true));
        assert!(!left("{ Foo { a: b ", true), "a struct literal");
    }

    #[test]
    fn comments_go_between_statements() {
        let misplaced = |s: &str| misplaced_comment(s.as_bytes()).is_some();
        assert!(!misplaced("{\n    "));
        assert!(!misplaced("{ let a = 1;\n    "));
        assert!(!misplaced("{ // one\n    "), "after another comment");
        assert!(!misplaced("{ if a { b(); }\n    "));
        assert!(!misplaced("{ foo(a,\n    "));
        assert!(misplaced("{ self.insert(other)\n    "));
        assert!(misplaced("{ self.format\n\n::\n\n"));
        assert!(misplaced("{ let x = "));
        assert!(!misplaced("{ let s = \"a "), "inside a string");
        assert!(!misplaced("{ /* a "), "inside a comment");
    }
}
