//! Says whether generated function bodies are Rust, for the generation-quality benchmark (`benches/quality/run.py`).
//!
//! Usage: `parse-bodies < bodies.jsonl`
//!
//! Reads one JSON object per line with the string fields `header` (`pub fn f(x: u8) -> u8`) and `body` (`{ ... }`),
//! and prints one line per input line, in order: `{"parse": bool, "closed": bool, "error": "..."}`.
//! - `parse`: `header + body` parses as a function item with syn (`syn::ItemFn`, an independent full parser);
//! - `closed`: the body lexes (proc-macro2) to exactly one brace-delimited group — its braces close, and nothing
//!   follows the closing one, whether or not what is inside parses;
//! - `error`: syn's message when it does not parse (empty otherwise), or why the line was unusable.
//!
//! A line that is not such an object yields `{"parse": false, "closed": false, "error": "input: ..."}`; the tool never
//! stops early, so output lines always match input lines.

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;
use std::str::FromStr as _;

use ananke_devtools::json_string;

/// The string fields of a flat JSON object (other values are skipped); enough for `{"header", "body"}` lines.
fn string_fields(line: &str) -> Result<Vec<(String, String)>, String> {
    let mut p = Reader { chars: line.chars().collect(), at: 0 };
    let mut fields = Vec::new();
    p.expect('{')?;
    if p.peek() == Some('}') {
        return Ok(fields);
    }
    loop {
        let key = p.string()?;
        p.expect(':')?;
        if p.peek() == Some('"') {
            fields.push((key, p.string()?));
        } else {
            p.scalar()?;
        }
        match p.next() {
            Some(',') => {}
            Some('}') => return Ok(fields),
            other => return Err(format!("expected , or }} at {}, found {other:?}", p.at)),
        }
    }
}

struct Reader {
    chars: Vec<char>,
    at: usize,
}

impl Reader {
    fn skip_space(&mut self) {
        while self.chars.get(self.at).is_some_and(char::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        match self.next() {
            Some(c) if c == want => Ok(()),
            other => Err(format!("expected {want:?} at {}, found {other:?}", self.at)),
        }
    }

    /// A number, `true`, `false` or `null` (nested values are not expected here).
    fn scalar(&mut self) -> Result<(), String> {
        self.skip_space();
        let start = self.at;
        while self.chars.get(self.at).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.')) {
            self.at += 1;
        }
        if self.at == start { Err(format!("unsupported value at {start}")) } else { Ok(()) }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits: String = self.chars.get(self.at..self.at + 4).unwrap_or_default().iter().collect();
        self.at += 4;
        u32::from_str_radix(&digits, 16).map_err(|_| format!("bad \\u escape {digits:?}"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            let Some(&c) = self.chars.get(self.at) else { return Err("unterminated string".to_owned()) };
            self.at += 1;
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let Some(&e) = self.chars.get(self.at) else { return Err("unterminated escape".to_owned()) };
                    self.at += 1;
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'u' => {
                            let mut code = self.hex4()?;
                            if (0xD800..0xDC00).contains(&code)
                                && self.chars.get(self.at..self.at + 2) == Some(&['\\', 'u'])
                            {
                                self.at += 2;
                                let low = self.hex4()?;
                                code = 0x10000 + ((code - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
    }
}

/// Whether `body` lexes to a single `{ ... }` group.
fn closed(body: &str) -> bool {
    let Ok(stream) = proc_macro2::TokenStream::from_str(body) else { return false };
    let mut trees = stream.into_iter();
    matches!(
        (trees.next(), trees.next()),
        (Some(proc_macro2::TokenTree::Group(g)), None) if g.delimiter() == proc_macro2::Delimiter::Brace
    )
}

fn verdict(line: &str) -> String {
    let fields = match string_fields(line) {
        Ok(fields) => fields,
        Err(e) => {
            return format!("{{\"parse\":false,\"closed\":false,\"error\":{}}}", json_string(&format!("input: {e}")));
        }
    };
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (Some(header), Some(body)) = (field("header"), field("body")) else {
        return "{\"parse\":false,\"closed\":false,\"error\":\"input: no header or no body\"}".to_owned();
    };
    let error = match syn::parse_str::<syn::ItemFn>(&format!("{header} {body}")) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    format!("{{\"parse\":{},\"closed\":{},\"error\":{}}}", error.is_empty(), closed(body), json_string(&error))
}

fn main() -> ExitCode {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    for line in stdin.lines() {
        let Ok(line) = line else {
            eprintln!("parse-bodies: stdin is not UTF-8");
            return ExitCode::FAILURE;
        };
        if line.trim().is_empty() {
            continue;
        }
        if writeln!(out, "{}", verdict(&line)).and_then(|()| out.flush()).is_err() {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_that_parse_or_close() {
        let v = |header: &str, body: &str| {
            verdict(&format!("{{\"header\":{},\"body\":{},\"n\":3}}", json_string(header), json_string(body)))
        };
        assert_eq!(v("fn f(x: u8) -> u8", "{\n    x + 1\n}"), "{\"parse\":true,\"closed\":true,\"error\":\"\"}");
        assert!(v("pub fn is_right(&self) -> bool", "{ !self.is_left() }").starts_with("{\"parse\":true,"));
        assert!(v("fn f()", "{ let x = ; }").starts_with("{\"parse\":false,\"closed\":true,"));
        assert!(v("fn f()", "{ let x = 1; ").starts_with("{\"parse\":false,\"closed\":false,"));
        assert!(v("fn f()", "{ 1 } }").starts_with("{\"parse\":false,\"closed\":false,"));
        assert!(v("fn f() -> &'static str", "{ \"}\" }").starts_with("{\"parse\":true,\"closed\":true,"));
        let escaped = r#"{"header": "fn f() -> char", "body": "{ '\u00e9' }"}"#;
        assert!(verdict(escaped).starts_with("{\"parse\":true,\"closed\":true,"));
        assert!(verdict("not json").starts_with("{\"parse\":false,\"closed\":false,\"error\":\"input:"));
    }
}
