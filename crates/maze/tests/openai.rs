//! The OpenAI-compatible backend against real HTTP servers on 127.0.0.1, started by each test: success, streaming,
//! timeouts, 5xx then success, 4xx (no retry), malformed bodies, a server gone mid-stream, connection refused and
//! fallback, and batches under a concurrency limit. Nothing here reaches the network.
#![cfg(feature = "openai")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use maze::{
    Backend, Error, Fallback, FinishReason, GenerateRequest, Grammar, OpenAiBackend, OpenAiConfig, Prompt, RetryPolicy,
    ServerFlavor, TokenEvent,
};
use serde_json::{Value, json};

/// What the test server answers to one connection.
#[derive(Clone)]
enum Reply {
    /// A complete response with this status and body.
    Json(u16, String),
    /// The same, with extra headers.
    WithHeaders(u16, Vec<(&'static str, &'static str)>, String),
    /// Waits, then answers.
    After(Duration, Box<Reply>),
    /// A chunked SSE stream of these `data:` payloads; when `complete` is false the connection is dropped after
    /// them, mid-stream (no `[DONE]`, no final chunk).
    Sse { events: Vec<String>, complete: bool },
    /// A completion whose text is the request's prompt, after a short wait (for batches).
    Echo(Duration),
}

/// A loopback HTTP/1.1 server that answers the n-th connection with the n-th reply, records every request body,
/// and stops by itself once every reply is used or after 20 seconds.
struct Server {
    url: String,
    requests: Arc<Mutex<Vec<Value>>>,
    max_active: Arc<AtomicUsize>,
}

impl Server {
    fn start(replies: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let max_active = Arc::new(AtomicUsize::new(0));
        let (recorded, max) = (requests.clone(), max_active.clone());
        thread::spawn(move || {
            let active = Arc::new(AtomicUsize::new(0));
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut replies = replies.into_iter();
            while Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let Some(reply) = replies.next() else { break };
                        let (recorded, active, max) = (recorded.clone(), active.clone(), max.clone());
                        thread::spawn(move || {
                            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                            max.fetch_max(now, Ordering::SeqCst);
                            handle(stream, &reply, &recorded);
                            active.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Server { url, requests, max_active }
    }

    fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

fn handle(stream: TcpStream, reply: &Reply, recorded: &Mutex<Vec<Value>>) {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    let mut request_line = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if request_line.is_empty() {
            line.trim().clone_into(&mut request_line);
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut request: Value = serde_json::from_slice(&body).unwrap();
    request["_path"] = json!(request_line.split(' ').nth(1).unwrap_or(""));
    recorded.lock().unwrap().push(request.clone());
    respond(stream, reply, &request);
}

fn respond(mut stream: TcpStream, reply: &Reply, request: &Value) {
    match reply {
        Reply::Json(status, body) => write_response(&mut stream, *status, &[], body),
        Reply::WithHeaders(status, headers, body) => write_response(&mut stream, *status, headers, body),
        Reply::After(wait, reply) => {
            thread::sleep(*wait);
            respond(stream, reply, request);
        }
        Reply::Echo(wait) => {
            thread::sleep(*wait);
            let text = request["prompt"].as_str().unwrap_or("?");
            write_response(&mut stream, 200, &[], &completion(text, "stop"));
        }
        Reply::Sse { events, complete } => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
            let _ = stream.write_all(head.as_bytes());
            for data in events {
                let event = format!("data: {data}\n\n");
                let _ = write!(stream, "{:x}\r\n{event}\r\n", event.len());
                let _ = stream.flush();
                thread::sleep(Duration::from_millis(5));
            }
            if *complete {
                let done = "data: [DONE]\n\n";
                let _ = write!(stream, "{:x}\r\n{done}\r\n0\r\n\r\n", done.len());
            }
            // Dropping the stream here closes the connection, mid-stream when not complete.
        }
    }
}

fn write_response(stream: &mut TcpStream, status: u16, headers: &[(&str, &str)], body: &str) {
    let mut head =
        format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

fn completion(text: &str, finish: &str) -> String {
    json!({
        "id": "cmpl-1", "object": "text_completion", "model": "m",
        "choices": [{ "index": 0, "text": text, "finish_reason": finish }],
        "usage": { "prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8 }
    })
    .to_string()
}

fn chat_completion(text: &str) -> String {
    json!({
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "length" }],
        "usage": { "prompt_tokens": 9, "completion_tokens": 16 }
    })
    .to_string()
}

fn chunk(delta: &str) -> String {
    json!({ "choices": [{ "index": 0, "delta": { "content": delta }, "finish_reason": null }] }).to_string()
}

/// Fast retries and short timeouts, so failure tests take milliseconds.
fn config(server: &Server) -> OpenAiConfig {
    let mut c = OpenAiConfig::new(&server.url, "test-model");
    c.read_timeout = Duration::from_millis(300);
    c.retry = RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    };
    c
}

fn text_request() -> GenerateRequest {
    GenerateRequest::new(Prompt::Text("fn add(a: i32, b: i32) -> i32 {".into()), 16)
}

fn collect(into: &mut Vec<String>) -> impl FnMut(&TokenEvent<'_>) -> ControlFlow<()> + '_ {
    |e| {
        into.push(String::from_utf8_lossy(e.bytes).into_owned());
        ControlFlow::Continue(())
    }
}

#[test]
fn a_completion_succeeds_and_the_grammar_is_sent_the_vllm_way() {
    let server = Server::start(vec![Reply::Json(200, completion(" a + b }", "stop"))]);
    let mut backend = OpenAiBackend::new(config(&server)).unwrap();
    let request = text_request().with_grammar(Grammar::Lark("start: /[a-z +]+/ \"}\"".into()));
    let mut pieces = Vec::new();
    let g = backend.generate(&request, None, &mut collect(&mut pieces)).unwrap();
    assert_eq!(g.text, " a + b }");
    assert_eq!(g.finish, FinishReason::Eos);
    assert_eq!((g.timings.prompt_tokens, g.timings.generated_tokens), (5, 3));
    assert_eq!(pieces, [" a + b }"]);

    let sent = &server.requests()[0];
    assert_eq!(sent["_path"], "/v1/completions");
    assert_eq!(sent["model"], "test-model");
    assert_eq!(sent["max_tokens"], 16);
    assert_eq!(sent["prompt"], "fn add(a: i32, b: i32) -> i32 {");
    assert_eq!(sent["structured_outputs"]["grammar"], "start: /[a-z +]+/ \"}\"");
}

#[test]
fn a_chat_goes_to_chat_completions_with_the_llama_cpp_grammar_field() {
    let server = Server::start(vec![Reply::Json(200, chat_completion("{\"x\": 1}"))]);
    let mut c = config(&server);
    c.flavor = ServerFlavor::LlamaCpp;
    let mut backend = OpenAiBackend::new(c).unwrap();
    let request = GenerateRequest::new(Prompt::user("give me json"), 16)
        .with_grammar(Grammar::JsonSchema(r#"{"type":"object"}"#.into()));
    let g = backend.generate(&request, None, &mut |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(g.text, "{\"x\": 1}");
    assert_eq!(g.finish, FinishReason::MaxTokens);
    let sent = &server.requests()[0];
    assert_eq!(sent["_path"], "/v1/chat/completions");
    assert_eq!(sent["messages"], json!([{ "role": "user", "content": "give me json" }]));
    assert_eq!(sent["json_schema"], json!({ "type": "object" }));
}

#[test]
fn streaming_delivers_each_delta_as_it_arrives() {
    let events = vec![
        chunk("Hel"),
        chunk("lo"),
        json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }] }).to_string(),
        json!({ "choices": [], "usage": { "prompt_tokens": 4, "completion_tokens": 2 } }).to_string(),
    ];
    let server = Server::start(vec![Reply::Sse { events, complete: true }]);
    let mut c = config(&server);
    c.stream = true;
    let mut backend = OpenAiBackend::new(c).unwrap();
    let mut pieces = Vec::new();
    let g = backend.generate(&GenerateRequest::new(Prompt::user("hi"), 8), None, &mut collect(&mut pieces)).unwrap();
    assert_eq!(pieces, ["Hel", "lo"]);
    assert_eq!(g.text, "Hello");
    assert_eq!(g.finish, FinishReason::Eos);
    assert_eq!((g.timings.prompt_tokens, g.timings.generated_tokens), (4, 2));
    assert!(g.timings.first_token.is_some());
    assert_eq!(server.requests()[0]["stream"], true);
}

#[test]
fn a_server_gone_mid_stream_is_a_clear_error_and_is_not_retried() {
    let events = vec![chunk("Hel"), chunk("lo wo")];
    let server = Server::start(vec![Reply::Sse { events, complete: false }, Reply::Json(200, completion("x", "stop"))]);
    let mut c = config(&server);
    c.stream = true;
    let mut backend = OpenAiBackend::new(c).unwrap();
    let mut pieces = Vec::new();
    let err =
        backend.generate(&GenerateRequest::new(Prompt::user("hi"), 8), None, &mut collect(&mut pieces)).unwrap_err();
    match &err {
        Error::StreamInterrupted { partial, received_chars, .. } => {
            assert_eq!(partial, "Hello wo");
            assert_eq!(*received_chars, 8);
        }
        other => panic!("expected StreamInterrupted, got {other}"),
    }
    assert!(!err.is_transient());
    assert!(err.to_string().contains("broke off after 8 characters"), "{err}");
    assert_eq!(pieces, ["Hel", "lo wo"], "the caller got the partial output once");
    assert_eq!(server.requests().len(), 1, "output already delivered: no retry");
}

#[test]
fn a_5xx_is_retried_then_succeeds() {
    let server = Server::start(vec![
        Reply::Json(503, r#"{"error":"overloaded"}"#.into()),
        Reply::WithHeaders(429, vec![("Retry-After", "0")], r#"{"error":"slow down"}"#.into()),
        Reply::Json(200, completion("ok", "stop")),
    ]);
    let mut backend = OpenAiBackend::new(config(&server)).unwrap();
    let g = backend.generate(&text_request(), None, &mut |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(g.text, "ok");
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn retries_stop_at_the_limit_with_the_last_error() {
    let reply = Reply::Json(500, r#"{"error":"boom"}"#.into());
    let server = Server::start(vec![reply.clone(), reply.clone(), reply.clone(), reply]);
    let mut backend = OpenAiBackend::new(config(&server)).unwrap();
    let err = backend.generate(&text_request(), None, &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(err, Error::Http { status: 500, .. }), "{err}");
    assert!(err.to_string().contains("boom"), "{err}");
    assert_eq!(server.requests().len(), 3, "one attempt and two retries");
}

#[test]
fn a_4xx_is_not_retried() {
    let server = Server::start(vec![
        Reply::Json(400, r#"{"error":{"message":"grammar does not parse"}}"#.into()),
        Reply::Json(200, completion("never", "stop")),
    ]);
    let mut backend = OpenAiBackend::new(config(&server)).unwrap();
    let err = backend.generate(&text_request(), None, &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(err, Error::Http { status: 400, .. }), "{err}");
    assert!(err.to_string().contains("grammar does not parse"), "{err}");
    assert!(!err.is_transient());
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_server_that_never_answers_times_out_after_its_retries() {
    let slow = Reply::After(Duration::from_millis(1500), Box::new(Reply::Json(200, completion("late", "stop"))));
    let server = Server::start(vec![slow.clone(), slow.clone(), slow]);
    let mut c = config(&server);
    c.retry.max_retries = 1;
    let mut backend = OpenAiBackend::new(c).unwrap();
    let started = Instant::now();
    let err = backend.generate(&text_request(), None, &mut |_| ControlFlow::Continue(())).unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, Error::Timeout { phase: "read", .. }), "{err}");
    assert!(err.to_string().contains("did not answer within 300ms"), "{err}");
    assert!(elapsed < Duration::from_millis(1400), "two attempts of 300 ms, not the server's delay: {elapsed:?}");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_malformed_body_is_a_clear_error_and_is_not_retried() {
    let server = Server::start(vec![
        Reply::Json(200, "this is not json".into()),
        Reply::Json(200, r#"{"choices": []}"#.into()),
        Reply::Sse { events: vec!["{broken".into()], complete: true },
    ]);
    let mut backend = OpenAiBackend::new(config(&server)).unwrap();
    let err = backend.generate(&text_request(), None, &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(err, Error::MalformedResponse { .. }), "{err}");
    assert!(err.to_string().contains("not a completion"), "{err}");
    let err = backend.generate(&text_request(), None, &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(err.to_string().contains("no `choices[0]`"), "{err}");
    let mut c = config(&server);
    c.stream = true;
    let mut streaming = OpenAiBackend::new(c).unwrap();
    let err = streaming.generate(&text_request(), None, &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(err, Error::MalformedResponse { .. }) && err.to_string().contains("streamed chunk"), "{err}");
    assert_eq!(server.requests().len(), 3, "one request each, no retry");
}

#[test]
fn a_refused_connection_falls_back_to_the_next_backend() {
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    let server = Server::start(vec![Reply::Json(200, completion("from the second", "stop"))]);
    let mut first = config(&server);
    first.base_url = dead;
    let first = OpenAiBackend::new(first).unwrap();
    let second = OpenAiBackend::new(config(&server)).unwrap();
    let second_name = second.name().to_owned();
    let mut chain = Fallback::new(vec![Box::new(first), Box::new(second)]);
    let g = chain.generate(&text_request(), None, &mut |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(g.text, "from the second");
    assert_eq!(g.backend, second_name);

    // When every backend fails, the error lists them all.
    let dead_only = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    let mut c = config(&server);
    c.base_url = dead_only;
    let mut chain = Fallback::new(vec![Box::new(OpenAiBackend::new(c).unwrap())]);
    let err = chain.generate(&text_request(), None, &mut |_| ControlFlow::Continue(())).unwrap_err();
    match err {
        Error::AllBackendsFailed { failures } => {
            assert_eq!(failures.len(), 1);
            assert!(matches!(failures[0].1, Error::Connect { .. }), "{}", failures[0].1);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_batch_keeps_order_and_the_concurrency_limit() {
    let server = Server::start(vec![Reply::Echo(Duration::from_millis(60)); 7]);
    let mut c = config(&server);
    c.max_concurrency = 2;
    c.read_timeout = Duration::from_secs(5);
    let backend = OpenAiBackend::new(c).unwrap();
    let requests: Vec<GenerateRequest> =
        (0..7).map(|i| GenerateRequest::new(Prompt::Text(format!("prompt {i}")), 4)).collect();
    let done = AtomicUsize::new(0);
    let results = backend.generate_batch(&requests, &|_, r| {
        assert!(r.is_ok());
        done.fetch_add(1, Ordering::SeqCst);
    });
    let texts: Vec<String> = results.into_iter().map(|r| r.unwrap().text).collect();
    assert_eq!(texts, (0..7).map(|i| format!("prompt {i}")).collect::<Vec<_>>());
    assert_eq!(done.load(Ordering::SeqCst), 7);
    let max = server.max_active.load(Ordering::SeqCst);
    assert!((1..=2).contains(&max), "at most 2 requests in flight, saw {max}");
}

#[test]
fn a_token_constraint_alone_cannot_go_to_a_server() {
    let server = Server::start(vec![]);
    let mut backend = OpenAiBackend::new(config(&server)).unwrap();
    let mut all = maze::AllowAll::new(10);
    let err = backend.generate(&text_request(), Some(&mut all), &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    assert!(server.requests().is_empty());
}
