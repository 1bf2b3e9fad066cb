// rule: {"type": "import_forbid", "modules": ["std::process"]}
use std::process::Command; // ~
use std::io::Write;
use std::processor::Thing;

pub fn run() {
    std::process::exit(1); // ~
    // std::process::abort() in a comment
}
