// rule: {"type": "forbid_call", "callee": "unwrap"}
// scope: {"languages": ["rust"], "tests": "exclude"}
// Lines that must be reported end with `// ~`; everything else must not be.

pub fn parse(text: &str) -> u32 {
    let a = text.parse::<u32>().unwrap(); // ~
    let b = text.parse::<u32>().unwrap_or(0);
    let c = text.parse::<u32>().unwrap_or_default();
    println!("{}", text.parse::<u32>().unwrap()); // ~
    let d = Option::unwrap(Some(1)); // ~
    let e = my_unwrap(3);
    // a comment mentioning x.unwrap() is fine
    let f = "so is a string with .unwrap() in it";
    let unwrap = 4;
    a + b + c + d + e + unwrap + f.len() as u32
}

fn my_unwrap(x: u32) -> u32 {
    x
}

#[cfg(test)]
mod tests {
    #[test]
    fn tests_may_unwrap() {
        assert_eq!(super::parse("1").checked_add(1).unwrap(), 2);
    }
}
