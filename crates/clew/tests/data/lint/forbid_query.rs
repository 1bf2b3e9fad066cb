// rule: {"type": "forbid_pattern", "pattern": {"query": "((macro_invocation macro: (identifier) @m) (#eq? @m \"dbg\"))"}}
pub fn compute(x: u32) -> u32 {
    let y = dbg!(x * 2); // ~
    let dbg = "dbg!(x)";
    // dbg!(commented out)
    y + dbg.len() as u32
}
