// security: shell-command
use std::process::Command;

pub fn run(name: &str) {
    let _ = Command::new(format!("/usr/bin/{name}")).output(); // ~
    let _ = Command::new("sh").arg("-c").arg(name).output(); // ~
    let _ = Command::new("ls").arg(name).output();
    let _ = std::process::Command::new("bash").output(); // ~
}
