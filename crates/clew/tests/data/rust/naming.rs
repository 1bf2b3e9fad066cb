//! Fixture: naming conventions, mostly Rust style with a few outliers.

const MAX_LEN: usize = 10;
const DEFAULT_NAME: &str = "x";
const badConst: u8 = 1;
static GLOBAL_COUNTER: u32 = 0;

struct HttpServer;
struct Request;
struct bad_type;
enum Method {
    Get,
    Post,
    put_like,
}

fn handle_request(request_body: &str) -> usize {
    let header_count = 1;
    let mut totalBytes = 0;
    let (first_part, second_part) = (1, 2);
    totalBytes += header_count + first_part + second_part;
    totalBytes + request_body.len()
}

fn parseHeader() {}
fn send_response() {}
fn close() {}
fn r#type() {}

mod http_util {}
mod Legacy {}
