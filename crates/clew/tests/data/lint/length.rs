// rule: {"type": "length", "unit": "lines", "max": 4}
// scope: {"symbol_kind": "function"}
pub fn short() -> u32 {
    1
}

pub fn long() -> u32 { // ~
    let a = 1;
    let b = 2;
    let c = 3;
    a + b + c
}
