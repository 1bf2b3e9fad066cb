// rule: {"type": "error_handling", "style": "result"}
// scope: {"tests": "exclude"}
pub fn config(path: &str) -> String {
    std::fs::read_to_string(path).unwrap() // ~
}

pub fn config_checked(path: &str) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(text)
}

pub fn first(values: &[u8]) -> Option<u8> {
    Some(*values.first().expect("callers pass at least one"))
}

pub fn must(flag: bool) {
    if !flag {
        panic!("flag must be set"); // ~
    }
}

#[test]
fn tests_are_exempt() {
    config("x").len().checked_add(1).unwrap();
}
