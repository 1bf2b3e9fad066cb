// security: sql-format
pub fn query(name: &str) -> (String, &'static str, String) {
    let bad = format!("SELECT * FROM users WHERE name = '{}'", name); // ~
    let good = "SELECT * FROM users WHERE name = $1";
    let message = format!("selected {} users", name);
    (bad, good, message)
}
