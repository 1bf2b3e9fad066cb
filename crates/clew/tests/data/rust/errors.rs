//! Fixture: error handling and panicking constructs, with look-alikes that must not count.

use std::fs;
use std::io;

/// Propagates with `?`.
pub fn read_config(path: &str) -> io::Result<String> {
    let text = fs::read_to_string(path)?;
    Ok(text)
}

pub fn first_word(text: &str) -> Option<&str> {
    text.split_whitespace().next()
}

pub fn risky(values: &[u8]) -> u8 {
    let first = values.first().unwrap();
    let last = values.last().expect("non-empty");
    if *first > *last {
        panic!("unsorted");
    }
    match first {
        0 => unreachable!("zero is filtered"),
        _ => first.wrapping_add(*last),
    }
}

pub fn not_yet() -> u32 {
    todo!()
}

pub fn later(flag: bool) -> u32 {
    if flag {
        return 1;
    }
    unimplemented!("later")
}

pub fn look_alikes() -> &'static str {
    // .unwrap() in a comment, panic!("no"), todo!()
    let _ = "call .unwrap() and panic!(\"x\") here";
    let safe = Some(3).unwrap_or(0);
    let _ = safe;
    "unwrap()"
}

#[cfg(test)]
mod tests {
    #[test]
    fn uses_unwrap_in_tests() {
        let value: Option<u8> = Some(1);
        assert_eq!(value.unwrap(), 1);
    }
}
