// rule: {"type": "forbid_call", "callee": "std::mem::transmute"}
use std::mem;
use std::mem::transmute;

pub fn bits(x: f32) -> u32 {
    let a: u32 = unsafe { mem::transmute(x) }; // ~
    let b: u32 = unsafe { std::mem::transmute::<f32, u32>(x) }; // ~
    let c: u32 = unsafe { core::mem::transmute(x) }; // ~
    let d: u32 = unsafe { transmute(x) }; // ~
    let e = other::transmute(x);
    let f = x.to_bits(); // the safe way; "mem::transmute" in a string is fine
    a ^ b ^ c ^ d ^ e ^ f
}

mod other {
    pub fn transmute(x: f32) -> u32 {
        x as u32
    }
}
