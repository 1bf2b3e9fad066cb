//! Fixture: a syntax error in the middle of a file; what is around it is still extracted.

pub fn before(a: u8) -> u8 {
    a
}

fn broken( -> {
    let x = ;
}

pub struct After {
    field: u32,
}

pub fn after_error(value: &str) -> usize {
    value.len()
}
