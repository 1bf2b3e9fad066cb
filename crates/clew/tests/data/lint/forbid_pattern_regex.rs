// rule: {"type": "forbid_pattern", "pattern": {"regex": "\\bunsafe\\b"}}
pub fn read(p: *const u8) -> u8 {
    let unsafe_count = 0;
    // unsafe in a comment is fine
    let s = "unsafe in a string is fine";
    let v = unsafe { *p }; // ~
    v + unsafe_count + s.len() as u8
}

unsafe fn raw() {} // ~
