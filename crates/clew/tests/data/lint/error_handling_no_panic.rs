// rule: {"type": "error_handling", "style": "no_panic"}
// scope: {"tests": "exclude"}
pub fn all(values: &[u32]) -> u32 {
    let a = values[0].checked_add(1).unwrap(); // ~
    let b = values.get(1).copied().expect("two values"); // ~
    if a == b {
        unreachable!("distinct"); // ~
    }
    let c = values.get(2).copied().unwrap_or(0);
    a + b + c
}

pub fn later() -> u32 {
    todo!() // ~
}

#[cfg(test)]
mod tests {
    #[test]
    fn fine_here() {
        Some(1).unwrap();
    }
}
