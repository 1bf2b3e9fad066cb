//! Fixture: test code and typed holes.

pub fn implemented(x: i32) -> i32 {
    x + 1
}

/// Parses a duration like `10s`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    todo!()
}

impl Widget {
    pub fn render(&self, width: usize) -> String {
        // HOLE: lay out the children
        unimplemented!("rendering")
    }

    pub fn measure(&self) -> (usize, usize) {
        let width = self.width;
        let height = todo!("compute the height");
        (width, height)
    }
}

struct Widget {
    width: usize,
}

#[test]
fn free_test() {
    assert_eq!(implemented(1), 2);
}

#[tokio::test]
async fn async_test() {}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> i32 {
        implemented(0)
    }

    #[test]
    fn uses_helper() {
        assert_eq!(helper(), 1);
    }
}
