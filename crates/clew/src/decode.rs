//! Turning raw bytes into source text, or a diagnostic saying precisely why not.

use ananke_core::{Diagnostic, DiagnosticCode, Severity};

/// How much of a file is inspected for NUL bytes to decide it is binary (as git and ripgrep do).
const BINARY_SNIFF_BYTES: usize = 8 * 1024;

/// Decodes a file's bytes as UTF-8 source, rejecting binary files and invalid UTF-8 with a located diagnostic.
/// A UTF-8 byte-order mark is skipped; spans are then relative to the text after it.
pub fn decode<'b>(path: &str, bytes: &'b [u8]) -> Result<&'b str, Diagnostic> {
    let (body, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, 3),
        None => (bytes, 0),
    };
    if body[..body.len().min(BINARY_SNIFF_BYTES)].contains(&0) {
        return Err(Diagnostic {
            file: path.to_owned(),
            severity: Severity::Error,
            code: DiagnosticCode::Binary,
            message: "skipped: the file looks binary (it contains NUL bytes)".to_owned(),
            line: None,
            column: None,
        });
    }
    match std::str::from_utf8(body) {
        Ok(text) => Ok(text),
        Err(err) => {
            let valid = &body[..err.valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = valid.len() - valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
            Err(Diagnostic {
                file: path.to_owned(),
                severity: Severity::Error,
                code: DiagnosticCode::NotUtf8,
                message: format!(
                    "skipped: the file is not valid UTF-8 (invalid byte 0x{:02x} at byte offset {})",
                    body[err.valid_up_to()],
                    err.valid_up_to() + bom
                ),
                line: Some(line as u32),
                column: Some(column as u32),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode;
    use ananke_core::DiagnosticCode;

    #[test]
    fn rejects_binary_and_invalid_utf8_with_a_location() {
        let err = decode("a.rs", b"fn main() {}\0").unwrap_err();
        assert_eq!(err.code, DiagnosticCode::Binary);

        let err = decode("a.rs", b"fn main() {}\nlet x = \"\xff\";").unwrap_err();
        assert_eq!(err.code, DiagnosticCode::NotUtf8);
        assert_eq!((err.line, err.column), (Some(2), Some(10)));
        assert!(err.message.contains("0xff"), "{}", err.message);
    }

    #[test]
    fn skips_a_byte_order_mark() {
        assert_eq!(decode("a.rs", b"\xEF\xBB\xBFfn f() {}").unwrap(), "fn f() {}");
    }
}
