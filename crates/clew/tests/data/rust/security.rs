//! Fixture: security-relevant constructs, with look-alikes in comments and strings.

use std::mem;
use std::process::Command;

pub unsafe fn raw_copy(src: *const u8, dst: *mut u8, len: usize) {
    for i in 0..len {
        *dst.add(i) = *src.add(i);
    }
}

pub fn read_first(bytes: &[u8]) -> u8 {
    let p = bytes.as_ptr();
    unsafe { *p }
}

pub fn reinterpret(x: u32) -> f32 {
    unsafe { mem::transmute::<u32, f32>(x) }
}

pub fn not_a_pointer(value: &u32) -> u32 {
    *value + 1
}

struct Handle(*mut u8);
unsafe impl Send for Handle {}
unsafe trait Zeroable {}

pub fn run_user_command(name: &str) {
    let _ = Command::new(format!("/usr/bin/{name}")).output();
    let _ = Command::new("sh").arg("-c").arg(format!("ls {name}")).output();
    let _ = Command::new("ls").arg(name).output();
}

const API_KEY: &str = "sk_live_8d7f6e5d4c3b2a19";
const DB_PASSWORD_ENV: &str = "DB_PASSWORD";

pub fn connect() -> String {
    let password = "hunter2-prod!";
    let aws = "AKIAIOSFODNN7EXAMPLE";
    let query = format!("SELECT * FROM users WHERE name = '{}'", password);
    let safe_query = "SELECT * FROM users WHERE name = $1";
    // let password = "in-a-comment-9f8e"; unsafe { transmute(x) } AKIAIOSFODNN7EXAMPLE
    let _ = "unsafe { Command::new(format!(\"rm {}\")) }";
    format!("{aws}{query}{safe_query}")
}

struct Config {
    password: String,
}

fn config() -> Config {
    Config { password: "s3cr3t-v@lue".to_string() }
}
