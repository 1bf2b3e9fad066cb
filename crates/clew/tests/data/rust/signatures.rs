//! Fixture: every shape of function header.

/// Documented, public, generic, with a where clause.
pub fn merge<K: Ord, V>(left: Vec<(K, V)>, right: &[(K, V)]) -> Vec<(K, V)>
where
    V: Clone,
{
    let _ = right;
    left
}

pub(crate) async fn fetch(url: &str, retries: u32) -> Result<String, std::io::Error> {
    Ok(url.repeat(retries as usize))
}

const fn square(x: u64) -> u64 {
    x * x
}

pub unsafe extern "C" fn callback(data: *mut u8, len: usize) {}

fn patterns((a, b): (i32, i32), mut buffer: Vec<u8>, _: &dyn Fn(u8) -> u8) {}

pub struct Parser<'a> {
    input: &'a str,
}

impl<'a> Parser<'a> {
    pub fn new(input: &'a str) -> Self {
        Parser { input }
    }

    fn peek(&self) -> Option<char> {
        self.input.chars().next()
    }

    fn advance(&mut self, n: usize) -> &mut Self {
        fn clamp(n: usize, max: usize) -> usize {
            n.min(max)
        }
        let n = clamp(n, self.input.len());
        self.input = &self.input[n..];
        self
    }

    fn into_rest(self) -> &'a str {
        self.input
    }

    fn boxed(self: Box<Self>) -> usize {
        self.input.len()
    }
}

pub trait Visitor {
    type Output;

    /// Required method.
    fn visit(&mut self, node: &str) -> Self::Output;

    fn finish(self) -> usize
    where
        Self: Sized,
    {
        0
    }
}

impl std::fmt::Display for Parser<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.input)
    }
}

extern "C" {
    fn strlen(s: *const u8) -> usize;
    fn printf(format: *const u8, ...) -> i32;
}

#[cfg(unix)]
fn platform() -> &'static str {
    "unix"
}

#[cfg(not(unix))]
fn platform() -> &'static str {
    "other"
}

mod inner {
    pub fn helper() {}

    pub mod deeper {
        pub(super) fn deepest() -> bool {
            true
        }
    }
}
