//! `ananke serve`: an OpenAI-compatible HTTP endpoint over the embedded model, with constraint enforcement at the
//! token level. It reads the grammar fields that vLLM, SGLang and llama.cpp read (a Lark grammar in llguidance's
//! dialect, a JSON schema, a regex), compiles each one once into braid's checker (cached), and masks every token with
//! it. Also the natural peer of maze's OpenAI backend in tests: the same process on both sides of 127.0.0.1.
//!
//! Plain HTTP/1.1 on std's `TcpListener`: one request per connection (`Connection: close`), a thread per
//! connection, generations queued on the loaded model copies. Meant for a local machine or a trusted network.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ananke::maze::{
    Backend, ConstraintCache, FinishReason, GenerateRequest, Message, Prompt, Role, Sampling, TokenConstraint,
    TokenEvent,
};
use anyhow::Context;
use serde_json::{Value, json};

use crate::cmd::generate::{self, BackendKind, ModelArgs};

/// Arguments of `ananke serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The port (0 picks a free one; the address is printed on the first line of stdout).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Copies of the model loaded: at most this many generations run at once, the others wait.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// The model name reported by /v1/models and in answers.
    #[arg(long, default_value = "ananke-local")]
    pub served_name: String,
    /// The largest `max_tokens` a request may ask for.
    #[arg(long, default_value_t = 2048)]
    pub max_tokens_limit: u32,
    /// The local model (a llama-architecture GGUF file); default `$ANANKE_MODEL` or the fetched SmolLM2.
    #[arg(long, value_name = "PATH")]
    pub model: Option<std::path::PathBuf>,
    /// Stop after answering this many requests (for tests and scripts).
    #[arg(long, hide = true)]
    pub max_requests: Option<u64>,
}

/// Largest request body accepted.
const MAX_BODY: usize = 8 << 20;

struct Server {
    backends: Vec<Mutex<Box<dyn Backend>>>,
    next: AtomicU64,
    cache: ConstraintCache,
    name: String,
    max_tokens_limit: u32,
}

/// Runs `ananke serve` until killed (or `--max-requests`).
pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let model = ModelArgs {
        backend: BackendKind::Local,
        model: args.model.clone(),
        url: None,
        model_name: String::new(),
        flavor: "vllm".into(),
        max_tokens: 0,
        seed: 0,
        temperature: 0.0,
        top_p: 1.0,
        dry: 0.0,
        max_repairs: 0,
        repair: generate::RepairKind::Resample,
        repair_temperature: 0.0,
    };
    let mut backends = Vec::new();
    for _ in 0..args.workers.max(1) {
        backends.push(Mutex::new(generate::backend(&model, false)?));
    }
    let server = Arc::new(Server {
        backends,
        next: AtomicU64::new(0),
        cache: ConstraintCache::default(),
        name: args.served_name.clone(),
        max_tokens_limit: args.max_tokens_limit,
    });
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}/v1");
    std::io::stdout().flush()?;
    eprintln!(
        "serve: {} model cop{} loaded; POST /v1/completions and /v1/chat/completions",
        server.backends.len(),
        if server.backends.len() == 1 { "y" } else { "ies" }
    );
    let mut served = 0u64;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let server = Arc::clone(&server);
        let handle = std::thread::spawn(move || {
            if let Err(e) = handle(&server, stream) {
                eprintln!("serve: {e:#}");
            }
        });
        served += 1;
        if args.max_requests.is_some_and(|max| served >= max) {
            let _ = handle.join();
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A request: method, path and JSON body.
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> anyhow::Result<Option<Request>> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().context("a bad Content-Length")?;
        }
    }
    if length > MAX_BODY {
        anyhow::bail!("a request body of {length} bytes (the limit is {MAX_BODY})");
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(Request { method, path, body }))
}

fn respond(stream: &mut TcpStream, status: u16, body: &Value) -> std::io::Result<()> {
    let text = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()
}

fn error(stream: &mut TcpStream, status: u16, message: &str) -> std::io::Result<()> {
    let kind = if status < 500 { "invalid_request_error" } else { "server_error" };
    respond(stream, status, &json!({ "error": { "message": message, "type": kind } }))
}

fn handle(server: &Server, mut stream: TcpStream) -> anyhow::Result<()> {
    let Some(request) = read_request(&stream)? else { return Ok(()) };
    let path = request.path.split('?').next().unwrap_or("");
    let chat = match (request.method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/v1/models") => {
            let models =
                json!({ "object": "list", "data": [{ "id": server.name, "object": "model", "owned_by": "ananke" }] });
            return Ok(respond(&mut stream, 200, &models)?);
        }
        ("POST", "/v1/completions") => false,
        ("POST", "/v1/chat/completions") => true,
        (_, "/v1/completions" | "/v1/chat/completions" | "/v1/models") => {
            return Ok(error(&mut stream, 405, "method not allowed")?);
        }
        _ => return Ok(error(&mut stream, 404, &format!("no endpoint {path}"))?),
    };
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(v) => v,
        Err(e) => return Ok(error(&mut stream, 400, &format!("the body is not JSON: {e}"))?),
    };
    match parse(server, &body, chat) {
        Ok(job) => generate(server, &mut stream, &job),
        Err(message) => Ok(error(&mut stream, 400, &message)?),
    }
}

/// What a request asks for.
struct Job {
    chat: bool,
    prompt: Prompt,
    max_tokens: u32,
    sampling: Sampling,
    stream: bool,
    grammar: Option<String>,
}

fn parse(server: &Server, body: &Value, chat: bool) -> Result<Job, String> {
    let prompt = if chat {
        let Some(messages) = body.get("messages").and_then(Value::as_array) else {
            return Err("`messages` is missing".into());
        };
        let mut out = Vec::new();
        for m in messages {
            let role = match m.get("role").and_then(Value::as_str) {
                Some("system" | "developer") => Role::System,
                Some("user") => Role::User,
                Some("assistant") => Role::Assistant,
                other => return Err(format!("unknown message role {other:?}")),
            };
            let content = match m.get("content") {
                Some(Value::String(s)) => s.clone(),
                // Content parts: the text ones, joined.
                Some(Value::Array(parts)) => {
                    parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("")
                }
                _ => String::new(),
            };
            out.push(Message::new(role, content));
        }
        Prompt::Chat(out)
    } else {
        match body.get("prompt") {
            Some(Value::String(s)) => Prompt::Text(s.clone()),
            Some(Value::Array(items)) if items.len() == 1 && items[0].is_string() => {
                Prompt::Text(items[0].as_str().unwrap_or_default().to_owned())
            }
            _ => return Err("`prompt` must be a string".into()),
        }
    };
    let number = |key: &str| body.get(key).and_then(Value::as_f64);
    let max_tokens = number("max_tokens").or_else(|| number("max_completion_tokens")).unwrap_or(256.0);
    if !(max_tokens >= 1.0 && max_tokens <= f64::from(server.max_tokens_limit)) {
        return Err(format!("max_tokens must be in 1..={}", server.max_tokens_limit));
    }
    let sampling = Sampling {
        temperature: number("temperature").unwrap_or(0.0) as f32,
        top_p: number("top_p").unwrap_or(1.0) as f32,
        seed: body.get("seed").and_then(Value::as_u64).unwrap_or(0),
        // llama.cpp's name for the same penalty; off unless asked, as OpenAI clients expect.
        dry: number("dry_multiplier").unwrap_or(0.0) as f32,
    };
    Ok(Job {
        chat,
        prompt,
        max_tokens: max_tokens as u32,
        sampling,
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        grammar: grammar(body)?,
    })
}

/// The grammar a request carries, as llguidance Lark, from any of the fields vLLM, SGLang, llama.cpp and OpenAI
/// use.
fn grammar(body: &Value) -> Result<Option<String>, String> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let schema = |v: &Value| -> Result<String, String> {
        let schema = match v {
            Value::String(s) => {
                serde_json::from_str::<Value>(s).map_err(|e| format!("the JSON schema is not JSON: {e}"))?
            }
            other => other.clone(),
        };
        Ok(format!("start: %json {schema}"))
    };
    let regex = |r: &str| format!("start: /{}/", r.replace('/', "\\/"));
    let so = body.get("structured_outputs").or_else(|| body.get("guided_decoding"));
    if let Some(so) = so {
        if let Some(g) = so.get("grammar").and_then(text) {
            return Ok(Some(lark(&g)));
        }
        if let Some(j) = so.get("json") {
            return schema(j).map(Some);
        }
        if let Some(r) = so.get("regex").and_then(Value::as_str) {
            return Ok(Some(regex(r)));
        }
    }
    for key in ["guided_grammar", "grammar", "ebnf"] {
        if let Some(g) = body.get(key).and_then(text) {
            return Ok(Some(lark(&g)));
        }
    }
    for key in ["guided_json", "json_schema"] {
        if let Some(j) = body.get(key) {
            return schema(j).map(Some);
        }
    }
    for key in ["guided_regex", "regex"] {
        if let Some(r) = body.get(key).and_then(Value::as_str) {
            return Ok(Some(regex(r)));
        }
    }
    if let Some(rf) = body.get("response_format")
        && rf.get("type").and_then(Value::as_str) == Some("json_schema")
        && let Some(s) = rf.get("json_schema").and_then(|j| j.get("schema"))
    {
        return schema(s).map(Some);
    }
    Ok(None)
}

/// A grammar as llguidance reads it: the `%llguidance {}` marker llama.cpp and SGLang use is dropped.
fn lark(grammar: &str) -> String {
    let trimmed = grammar.trim_start();
    match trimmed.strip_prefix("%llguidance") {
        Some(rest) => rest.trim_start().strip_prefix("{}").unwrap_or(rest).trim_start().to_owned(),
        None => grammar.to_owned(),
    }
}

/// Bytes of tokens, released as text only up to the last complete UTF-8 character.
#[derive(Default)]
struct Utf8Buffer(Vec<u8>);

impl Utf8Buffer {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.0.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.0) {
            // A character cut at the end: keep its first bytes for the next token.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // Valid, or invalid rather than incomplete (released replaced).
            _ => self.0.len(),
        };
        let out = String::from_utf8_lossy(&self.0[..valid]).into_owned();
        self.0.drain(..valid);
        out
    }
}

fn generate(server: &Server, stream: &mut TcpStream, job: &Job) -> anyhow::Result<()> {
    // The first free model copy, else the next in turn (its lock queues the request).
    let mut backend = server.backends.iter().find_map(|b| b.try_lock().ok()).unwrap_or_else(|| {
        let i = (server.next.fetch_add(1, Ordering::Relaxed) as usize) % server.backends.len();
        server.backends[i].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    });
    let mut checker = match &job.grammar {
        None => None,
        Some(lark) => {
            let (vocab, id) = match (backend.vocabulary(), backend.vocabulary_id()) {
                (Some(v), Some(id)) => (Arc::clone(v), id),
                _ => return Ok(error(stream, 500, "the model has no vocabulary to enforce a grammar with")?),
            };
            match server.cache.get_or_build_lark(lark, &vocab, id) {
                Ok((compiled, _)) => Some(compiled.checker()),
                Err(e) => return Ok(error(stream, 400, &format!("the grammar: {e}"))?),
            }
        }
    };
    let request = GenerateRequest {
        prompt: job.prompt.clone(),
        max_tokens: job.max_tokens,
        sampling: job.sampling,
        grammar: None,
    };
    let id = format!("cmpl-{}", server.next.fetch_add(1, Ordering::Relaxed));
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let object = if job.chat { "chat.completion" } else { "text_completion" };
    let constraint: Option<&mut dyn TokenConstraint> = checker.as_mut().map(|c| c as &mut dyn TokenConstraint);

    if !job.stream {
        let g = match backend.generate(&request, constraint, &mut |_| ControlFlow::Continue(())) {
            Ok(g) => g,
            Err(e) => return Ok(error(stream, 500, &e.to_string())?),
        };
        let choice = if job.chat {
            json!({ "index": 0, "message": { "role": "assistant", "content": g.text }, "finish_reason": finish(&g.finish) })
        } else {
            json!({ "index": 0, "text": g.text, "finish_reason": finish(&g.finish) })
        };
        let t = &g.timings;
        let body = json!({
            "id": id, "object": object, "created": created, "model": server.name, "choices": [choice],
            "usage": { "prompt_tokens": t.prompt_tokens, "completion_tokens": t.generated_tokens,
                       "total_tokens": t.prompt_tokens + t.generated_tokens },
        });
        return Ok(respond(stream, 200, &body)?);
    }

    // Streaming: server-sent events in a chunked body.
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )?;
    let chunk_object = if job.chat { "chat.completion.chunk" } else { "text_completion" };
    let event = |stream: &mut TcpStream, data: &str| -> std::io::Result<()> {
        let payload = format!("data: {data}\n\n");
        write!(stream, "{:x}\r\n{payload}\r\n", payload.len())?;
        stream.flush()
    };
    let piece = |text: &str, reason: Option<&str>| {
        let choice = if job.chat {
            json!({ "index": 0, "delta": { "content": text }, "finish_reason": reason })
        } else {
            json!({ "index": 0, "text": text, "finish_reason": reason })
        };
        json!({ "id": id, "object": chunk_object, "created": created, "model": server.name, "choices": [choice] })
            .to_string()
    };
    let mut pending = Utf8Buffer::default();
    let mut gone = false;
    let result = {
        let stream = &mut *stream;
        backend.generate(&request, constraint, &mut |e: &TokenEvent<'_>| {
            let text = pending.push(e.bytes);
            if !text.is_empty() && event(stream, &piece(&text, None)).is_err() {
                // The client went away: stop generating for it.
                gone = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })
    };
    if gone {
        return Ok(());
    }
    match result {
        Ok(g) => {
            let rest = String::from_utf8_lossy(&pending.0).into_owned();
            event(stream, &piece(&rest, Some(finish(&g.finish))))?;
            let t = &g.timings;
            let usage = json!({ "id": id, "object": chunk_object, "created": created, "model": server.name, "choices": [],
                "usage": { "prompt_tokens": t.prompt_tokens, "completion_tokens": t.generated_tokens,
                           "total_tokens": t.prompt_tokens + t.generated_tokens } });
            event(stream, &usage.to_string())?;
        }
        Err(e) => event(stream, &json!({ "error": { "message": e.to_string(), "type": "server_error" } }).to_string())?,
    }
    event(stream, "[DONE]")?;
    write!(stream, "0\r\n\r\n")?;
    Ok(stream.flush()?)
}

fn finish(reason: &FinishReason) -> &'static str {
    match reason {
        FinishReason::MaxTokens | FinishReason::ContextFull => "length",
        _ => "stop",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammars_are_read_from_every_servers_field() {
        let lark = r#"start: "a""#;
        for body in [
            json!({ "structured_outputs": { "grammar": lark } }),
            json!({ "guided_grammar": lark }),
            json!({ "grammar": format!("%llguidance {{}}\n{lark}") }),
            json!({ "ebnf": format!("%llguidance {{}}\n{lark}") }),
        ] {
            assert_eq!(grammar(&body).unwrap().as_deref(), Some(lark), "{body}");
        }
        let schema = json!({ "type": "object" });
        assert_eq!(grammar(&json!({ "guided_json": schema })).unwrap().unwrap(), r#"start: %json {"type":"object"}"#);
        assert_eq!(
            grammar(&json!({ "json_schema": "{\"type\":\"object\"}" })).unwrap().unwrap(),
            r#"start: %json {"type":"object"}"#
        );
        assert_eq!(grammar(&json!({ "structured_outputs": { "regex": "a/b" } })).unwrap().unwrap(), r"start: /a\/b/");
        assert!(grammar(&json!({ "json_schema": "{" })).is_err());
        assert_eq!(grammar(&json!({ "prompt": "x" })).unwrap(), None);
    }

    #[test]
    fn utf8_is_released_whole() {
        let mut b = Utf8Buffer::default();
        let e = "é".as_bytes();
        assert_eq!(b.push(&e[..1]), "");
        assert_eq!(b.push(&e[1..]), "é");
        assert_eq!(b.push(b"ok"), "ok");
    }
}
