// security: hardcoded-secret
pub fn connect() -> String {
    let password = "hunter2-production"; // ~
    let api_key = "DB_API_KEY";
    let secret = "";
    let token_name = "session";
    let aws = "AKIAABCDEFGHIJKLMNOP"; // ~
    // let password = "in-a-comment-123";
    format!("{password}{api_key}{secret}{token_name}{aws}")
}
