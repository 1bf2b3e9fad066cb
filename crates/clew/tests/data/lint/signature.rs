// rule: {"type": "signature", "name": "parse", "params": [{"name": "input", "type": "&str"}], "returns": "Result<u32, String>", "visibility": "pub"}
// scope: {"languages": ["rust"], "symbol_kind": "function", "symbol": "crate::signature::parse"}
// path: src/signature.rs
pub fn parse(input: &str) -> Option<u32> { // ~
    input.parse().ok()
}

mod other {
    // Same name, other symbol: not constrained.
    pub fn parse(input: &str) -> Option<u32> {
        input.parse().ok()
    }
}
