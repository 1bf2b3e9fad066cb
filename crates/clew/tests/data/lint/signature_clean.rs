// rule: {"type": "signature", "name": "parse", "params": [{"name": "input", "type": "&str"}], "returns": "Result<u32, String>", "visibility": "pub"}
// scope: {"languages": ["rust"], "symbol_kind": "function", "symbol": "crate::signature_clean::parse"}
// path: src/signature_clean.rs
/// Documentation does not change the signature.
pub fn parse(input: &str) -> Result<u32, String> {
    input.parse().map_err(|e| format!("{e}"))
}
