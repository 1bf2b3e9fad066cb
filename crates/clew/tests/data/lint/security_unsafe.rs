// security: unsafe
pub fn first(bytes: &[u8]) -> u8 {
    let p = bytes.as_ptr();
    unsafe { *p } // ~
}

pub unsafe fn raw() {} // ~

struct Handle(*mut u8);
unsafe impl Send for Handle {} // ~
// unsafe { } in a comment
pub fn fine() -> &'static str {
    "unsafe { *p }"
}
