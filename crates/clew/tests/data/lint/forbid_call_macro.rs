// rule: {"type": "forbid_call", "callee": "panic!"}
pub fn check(flag: bool) {
    if flag {
        panic!("no"); // ~
    }
    std::panic!("qualified"); // ~
    let panic = "panic!(\"in a string\")";
    // panic!() in a comment
    assert!(flag, "{}", panic);
    std::panic::catch_unwind(|| ()).ok();
}
