//! The server backend: any OpenAI-compatible HTTP server (vLLM, SGLang, llama.cpp, OpenAI itself).
//!
//! Synchronous on purpose (ureq): one generation is one request, batches run on a few scoped threads, and nothing
//! here needs an async runtime in the library or the CLI.

mod sse;

use std::io::{BufReader, Read};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::backend::{Backend, FinishReason, GenerateRequest, Generation, Grammar, Prompt, Timings, TokenEvent};
use crate::constraint::TokenConstraint;
use crate::error::{Error, Result};
use crate::sampling::SplitMix64;
use crate::vocab::Vocabulary;

/// Which server is on the other end: they take grammars in different request fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ServerFlavor {
    /// vLLM ≥ 0.10.2: `structured_outputs: {grammar | json | regex}`. Run it with
    /// `--structured-outputs-config.backend guidance` for the full llguidance Lark dialect.
    #[default]
    Vllm,
    /// vLLM before 0.12: `guided_grammar`, `guided_json`, `guided_regex`.
    VllmLegacy,
    /// SGLang: `ebnf` (Lark sent as `%llguidance {}` + grammar; needs `--grammar-backend llguidance`),
    /// `json_schema`, `regex`.
    Sglang,
    /// llama.cpp's server: `grammar` (GBNF, or Lark as `%llguidance {}` + grammar when built with
    /// `LLAMA_LLGUIDANCE`), `json_schema`.
    LlamaCpp,
    /// OpenAI's API: JSON schemas only, through `response_format` on chat requests.
    OpenAi,
}

impl ServerFlavor {
    /// The flavor's name in configuration and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerFlavor::Vllm => "vllm",
            ServerFlavor::VllmLegacy => "vllm-legacy",
            ServerFlavor::Sglang => "sglang",
            ServerFlavor::LlamaCpp => "llama.cpp",
            ServerFlavor::OpenAi => "openai",
        }
    }
}

impl std::str::FromStr for ServerFlavor {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "vllm" => ServerFlavor::Vllm,
            "vllm-legacy" | "vllm_legacy" => ServerFlavor::VllmLegacy,
            "sglang" => ServerFlavor::Sglang,
            "llama.cpp" | "llamacpp" | "llama-cpp" => ServerFlavor::LlamaCpp,
            "openai" => ServerFlavor::OpenAi,
            other => {
                return Err(format!("unknown server flavor {other:?} (vllm, vllm-legacy, sglang, llama.cpp, openai)"));
            }
        })
    }
}

/// When to try a request again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = no retry). Only transient failures are retried: connection errors,
    /// timeouts, HTTP 429 and 5xx, streams that broke before any output.
    pub max_retries: u32,
    /// The wait before the first retry; it doubles each time, with jitter (a random half of it), up to
    /// `max_backoff`. A `Retry-After` header from the server lengthens it.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: 3, initial_backoff: Duration::from_millis(250), max_backoff: Duration::from_secs(8) }
    }
}

/// Where the server is and how to talk to it.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenAiConfig {
    /// The API root, `/v1` included: `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    /// The model name the server serves.
    pub model: String,
    /// Sent as `Authorization: Bearer ...` when set.
    pub api_key: Option<String>,
    /// The kind of server, which decides how grammars are sent.
    pub flavor: ServerFlavor,
    /// The longest wait to establish a connection.
    pub connect_timeout: Duration,
    /// The longest silence while waiting for the answer or between two streamed pieces.
    pub read_timeout: Duration,
    /// The longest one attempt may take in all.
    pub total_timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Ask the server to stream (SSE), so `on_token` sees output as it is written.
    pub stream: bool,
    /// At most this many requests in flight in [`OpenAiBackend::generate_batch`].
    pub max_concurrency: usize,
}

// By hand, so the API key never reaches a log.
impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("flavor", &self.flavor)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("retry", &self.retry)
            .field("stream", &self.stream)
            .field("max_concurrency", &self.max_concurrency)
            .finish()
    }
}

impl OpenAiConfig {
    /// A configuration for `model` at `base_url` with default timeouts (connect 10 s, read 120 s, total 600 s),
    /// retries, no streaming and 4 concurrent requests.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            flavor: ServerFlavor::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_mins(2),
            total_timeout: Duration::from_mins(10),
            retry: RetryPolicy::default(),
            stream: false,
            max_concurrency: 4,
        }
    }
}

/// An OpenAI-compatible server as a [`Backend`].
///
/// It sends [`GenerateRequest::grammar`] in the form its [`ServerFlavor`] takes; a token constraint alone cannot
/// be enforced remotely and is refused with [`Error::Unsupported`].
#[derive(Debug)]
pub struct OpenAiBackend {
    config: OpenAiConfig,
    agent: ureq::Agent,
    name: String,
}

impl OpenAiBackend {
    /// A backend for the server `config` describes (nothing is sent until the first request).
    pub fn new(config: OpenAiConfig) -> Result<Self> {
        let base = config.base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::InvalidRequest(format!("the server URL {:?} is not http(s)", config.base_url)));
        }
        if config.max_concurrency == 0 {
            return Err(Error::InvalidRequest("max_concurrency must be at least 1".into()));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_per_read(Some(config.read_timeout))
            .timeout_global(Some(config.total_timeout))
            .max_idle_connections_per_host(config.max_concurrency.max(1))
            .user_agent(concat!("ananke-maze/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let name = format!("openai({}):{base}", config.flavor.as_str());
        Ok(OpenAiBackend { config, agent, name })
    }

    /// The configuration.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// Runs many requests, at most [`OpenAiConfig::max_concurrency`] at a time, and returns their results in the
    /// order of `requests`. `on_done(index, result)` is called as each one finishes (for progress reporting).
    pub fn generate_batch(
        &self,
        requests: &[GenerateRequest],
        on_done: &(dyn Fn(usize, &Result<Generation>) + Sync),
    ) -> Vec<Result<Generation>> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<Generation>>>> =
            Mutex::new(std::iter::repeat_with(|| None).take(requests.len()).collect());
        let workers = self.config.max_concurrency.min(requests.len());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(request) = requests.get(i) else { break };
                        let result = self.run(request, &mut |_| ControlFlow::Continue(()));
                        on_done(i, &result);
                        results.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(result);
                    }
                });
            }
        });
        results
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::InvalidRequest("a batch worker stopped early".into()))))
            .collect()
    }

    /// One generation with retries.
    fn run(
        &self,
        request: &GenerateRequest,
        on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
    ) -> Result<Generation> {
        request.sampling.validate()?;
        let (path, body) = self.body(request)?;
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let body = body.to_string();
        let chat = matches!(request.prompt, Prompt::Chat(_));
        let mut rng = SplitMix64::new(jitter_seed());
        let mut attempt = 0;
        loop {
            let mut delivered = 0usize;
            let mut counting = |e: &TokenEvent<'_>| {
                delivered += 1;
                on_token(e)
            };
            match self.attempt(&url, &body, chat, &mut counting) {
                Ok(generation) => return Ok(generation),
                Err(failure) => {
                    let retry =
                        delivered == 0 && failure.error.is_transient() && attempt < self.config.retry.max_retries;
                    if !retry {
                        return Err(failure.error);
                    }
                    std::thread::sleep(self.backoff(attempt, failure.retry_after, &mut rng));
                    attempt += 1;
                }
            }
        }
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>, rng: &mut SplitMix64) -> Duration {
        let policy = &self.config.retry;
        let base = policy.initial_backoff.saturating_mul(1u32 << attempt.min(16)).min(policy.max_backoff);
        // "Equal jitter": half the delay fixed, half random, so retries from many clients spread out.
        let jittered = base / 2 + base.mul_f64(rng.next_f64() / 2.0);
        jittered.max(retry_after.unwrap_or_default().min(policy.max_backoff))
    }

    /// The endpoint path and the JSON body of `request`.
    fn body(&self, request: &GenerateRequest) -> Result<(&'static str, Value)> {
        let chat = matches!(request.prompt, Prompt::Chat(_));
        let mut body = Map::new();
        body.insert("model".into(), json!(self.config.model));
        body.insert("max_tokens".into(), json!(request.max_tokens));
        body.insert("temperature".into(), json!(request.sampling.temperature));
        body.insert("top_p".into(), json!(request.sampling.top_p));
        body.insert("seed".into(), json!(request.sampling.seed));
        body.insert("stream".into(), json!(self.config.stream));
        if self.config.stream {
            body.insert("stream_options".into(), json!({ "include_usage": true }));
        }
        let path = match &request.prompt {
            Prompt::Chat(messages) => {
                if messages.is_empty() {
                    return Err(Error::InvalidRequest("the chat has no message".into()));
                }
                let messages: Vec<Value> =
                    messages.iter().map(|m| json!({ "role": m.role.as_str(), "content": m.content })).collect();
                body.insert("messages".into(), Value::Array(messages));
                "/chat/completions"
            }
            Prompt::Text(text) => {
                body.insert("prompt".into(), json!(text));
                "/completions"
            }
        };
        if let Some(grammar) = &request.grammar {
            for (k, v) in
                grammar_fields(self.config.flavor, grammar, chat).map_err(|r| Error::unsupported(&self.name, r))?
            {
                body.insert(k.into(), v);
            }
        }
        Ok((path, Value::Object(body)))
    }

    /// One HTTP exchange.
    fn attempt(
        &self,
        url: &str,
        body: &str,
        chat: bool,
        on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
    ) -> std::result::Result<Generation, Failure> {
        let started = Instant::now();
        let mut req = self.agent.post(url).header("Content-Type", "application/json");
        if let Some(key) = &self.config.api_key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        if self.config.stream {
            req = req.header("Accept", "text/event-stream");
        }
        let response = req.send(body).map_err(|e| Failure::from(self.send_error(url, e)))?;
        let status = response.status().as_u16();
        if status >= 400 {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let mut text = String::new();
            let _ = response.into_body().into_reader().take(64 * 1024).read_to_string(&mut text);
            let body = truncate(text.trim(), 1000);
            return Err(Failure { error: Error::Http { url: url.into(), status, body }, retry_after });
        }
        let reader = response.into_body().into_reader();
        let result = if self.config.stream {
            self.read_stream(url, chat, reader, started, on_token)
        } else {
            self.read_whole(url, chat, reader, started, on_token)
        };
        result.map_err(Failure::from)
    }

    fn read_whole(
        &self,
        url: &str,
        chat: bool,
        mut reader: impl Read,
        started: Instant,
        on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
    ) -> Result<Generation> {
        let mut text = String::new();
        reader.read_to_string(&mut text).map_err(|e| self.read_error(url, &e))?;
        let malformed = |message: String| Error::MalformedResponse { url: url.into(), message };
        let response: Chunk = serde_json::from_str(&text)
            .map_err(|e| malformed(format!("the body is not a completion ({e}): {}", truncate(&text, 200))))?;
        if let Some(err) = &response.error {
            return Err(malformed(format!("the server reported an error: {err}")));
        }
        let Some(choice) = response.choices.first() else {
            return Err(malformed(format!("no `choices[0]` in {}", truncate(&text, 200))));
        };
        let content = match (chat, choice.text.as_ref(), choice.message.as_ref()) {
            (false, Some(text), _) => text.clone(),
            // A chat answer may have `content: null` (e.g. nothing but a refusal or a tool call).
            (true, _, Some(message)) => message.content.clone().unwrap_or_default(),
            _ => return Err(malformed(format!("no text in `choices[0]` of {}", truncate(&text, 200)))),
        };
        let mut timings = Timings::default();
        let elapsed = started.elapsed();
        let mut finish = finish_reason(choice.finish_reason.as_deref());
        if !content.is_empty() {
            timings.first_token = Some(elapsed);
            let event = TokenEvent { index: 0, token: None, bytes: content.as_bytes(), forced: false };
            if on_token(&event).is_break() {
                finish = FinishReason::Cancelled;
            }
        }
        response.record_usage(&mut timings);
        timings.total = elapsed;
        timings.decode = elapsed;
        Ok(Generation {
            text: content,
            tokens: Vec::new(),
            runner_up: Vec::new(),
            finish,
            timings,
            backend: self.name.clone(),
        })
    }

    fn read_stream(
        &self,
        url: &str,
        chat: bool,
        reader: impl Read,
        started: Instant,
        on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
    ) -> Result<Generation> {
        let mut events = sse::Reader::new(BufReader::new(reader));
        let mut text = String::new();
        let mut timings = Timings::default();
        let mut finish: Option<FinishReason> = None;
        let mut index = 0;
        let interrupted = |text: &str, message: String| Error::StreamInterrupted {
            url: url.into(),
            partial: text.to_owned(),
            received_chars: text.chars().count(),
            message,
        };
        loop {
            let event = match events.next_event() {
                Ok(Some(event)) => event,
                Ok(None) => {
                    // Some servers close the stream after the last chunk without `[DONE]`; a finish reason says
                    // the answer was complete.
                    if finish.is_some() {
                        break;
                    }
                    return Err(interrupted(&text, "the connection closed before the end of the stream".into()));
                }
                Err(e) => {
                    let error = self.read_error(url, &e);
                    return Err(match error {
                        Error::Timeout { .. } if text.is_empty() => error,
                        other => interrupted(&text, other.to_string()),
                    });
                }
            };
            let data = match event {
                sse::Event::Done => break,
                sse::Event::Data(data) => data,
            };
            let chunk: Chunk = serde_json::from_str(&data).map_err(|e| Error::MalformedResponse {
                url: url.into(),
                message: format!("a streamed chunk is not a completion chunk ({e}): {}", truncate(&data, 200)),
            })?;
            if let Some(err) = &chunk.error {
                return Err(interrupted(&text, format!("the server reported an error: {err}")));
            }
            chunk.record_usage(&mut timings);
            let Some(choice) = chunk.choices.first() else { continue };
            let piece =
                if chat { choice.delta.as_ref().and_then(|d| d.content.as_ref()) } else { choice.text.as_ref() };
            if let Some(piece) = piece.filter(|p| !p.is_empty()) {
                if timings.first_token.is_none() {
                    timings.first_token = Some(started.elapsed());
                }
                text.push_str(piece);
                let event = TokenEvent { index, token: None, bytes: piece.as_bytes(), forced: false };
                index += 1;
                if on_token(&event).is_break() {
                    finish = Some(FinishReason::Cancelled);
                    break;
                }
            }
            if let Some(reason) = &choice.finish_reason {
                finish = Some(finish_reason(Some(reason)));
            }
        }
        let total = started.elapsed();
        timings.total = total;
        timings.prefill = timings.first_token.unwrap_or(total);
        timings.decode = total.saturating_sub(timings.prefill);
        let finish = finish.unwrap_or(FinishReason::Other("unknown".into()));
        Ok(Generation { text, tokens: Vec::new(), runner_up: Vec::new(), finish, timings, backend: self.name.clone() })
    }

    fn send_error(&self, url: &str, e: ureq::Error) -> Error {
        match e {
            ureq::Error::Timeout(t) => self.timeout(url, t),
            ureq::Error::BadUri(m) => Error::InvalidRequest(format!("bad URL {url}: {m}")),
            ureq::Error::Http(m) => Error::InvalidRequest(format!("cannot build the request to {url}: {m}")),
            ureq::Error::Protocol(m) => {
                Error::MalformedResponse { url: url.into(), message: format!("not an HTTP answer: {m}") }
            }
            other => Error::Connect { url: url.into(), message: other.to_string() },
        }
    }

    fn read_error(&self, url: &str, e: &std::io::Error) -> Error {
        let inner = e.get_ref().and_then(|x| x.downcast_ref::<ureq::Error>());
        match inner {
            Some(ureq::Error::Timeout(t)) => self.timeout(url, *t),
            _ if e.kind() == std::io::ErrorKind::TimedOut => {
                Error::Timeout { url: url.into(), after: self.config.read_timeout, phase: "read" }
            }
            _ => Error::Connect { url: url.into(), message: format!("reading the answer failed: {e}") },
        }
    }

    fn timeout(&self, url: &str, t: ureq::Timeout) -> Error {
        let (after, phase) = match t {
            ureq::Timeout::Connect | ureq::Timeout::Resolve => (self.config.connect_timeout, "connect"),
            ureq::Timeout::Global | ureq::Timeout::PerCall => (self.config.total_timeout, "total"),
            _ => (self.config.read_timeout, "read"),
        };
        Error::Timeout { url: url.into(), after, phase }
    }
}

/// A failed attempt, with the server's `Retry-After` when it sent one.
struct Failure {
    error: Error,
    retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { error, retry_after: None }
    }
}

impl Backend for OpenAiBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn vocabulary(&self) -> Option<&Arc<Vocabulary>> {
        None
    }

    fn generate(
        &mut self,
        request: &GenerateRequest,
        constraint: Option<&mut dyn TokenConstraint>,
        on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
    ) -> Result<Generation> {
        if constraint.is_some() && request.grammar.is_none() {
            return Err(Error::unsupported(
                &self.name,
                "a token constraint cannot be enforced on a remote server; put its grammar in the request",
            ));
        }
        self.run(request, on_token)
    }
}

/// The request fields that carry `grammar` for `flavor`.
fn grammar_fields(
    flavor: ServerFlavor,
    grammar: &Grammar,
    chat: bool,
) -> std::result::Result<Vec<(&'static str, Value)>, String> {
    let schema = |s: &str| serde_json::from_str::<Value>(s).map_err(|e| format!("the JSON schema is not JSON: {e}"));
    Ok(match (flavor, grammar) {
        (ServerFlavor::Vllm, Grammar::Lark(g) | Grammar::Gbnf(g)) => {
            vec![("structured_outputs", json!({ "grammar": g }))]
        }
        (ServerFlavor::Vllm, Grammar::JsonSchema(s)) => vec![("structured_outputs", json!({ "json": schema(s)? }))],
        (ServerFlavor::Vllm, Grammar::Regex(r)) => vec![("structured_outputs", json!({ "regex": r }))],
        (ServerFlavor::VllmLegacy, Grammar::Lark(g) | Grammar::Gbnf(g)) => vec![("guided_grammar", json!(g))],
        (ServerFlavor::VllmLegacy, Grammar::JsonSchema(s)) => vec![("guided_json", schema(s)?)],
        (ServerFlavor::VllmLegacy, Grammar::Regex(r)) => vec![("guided_regex", json!(r))],
        (ServerFlavor::Sglang, Grammar::Lark(g)) => vec![("ebnf", json!(llguidance_lark(g)))],
        (ServerFlavor::Sglang, Grammar::Gbnf(g)) => vec![("ebnf", json!(g))],
        // SGLang takes the schema as a string.
        (ServerFlavor::Sglang, Grammar::JsonSchema(s)) => vec![("json_schema", json!(schema(s)?.to_string()))],
        (ServerFlavor::Sglang, Grammar::Regex(r)) => vec![("regex", json!(r))],
        (ServerFlavor::LlamaCpp, Grammar::Lark(g)) => vec![("grammar", json!(llguidance_lark(g)))],
        (ServerFlavor::LlamaCpp, Grammar::Gbnf(g)) => vec![("grammar", json!(g))],
        (ServerFlavor::LlamaCpp, Grammar::JsonSchema(s)) => vec![("json_schema", schema(s)?)],
        // llama.cpp has no regex field; llguidance's Lark takes a regex as a terminal.
        (ServerFlavor::LlamaCpp, Grammar::Regex(r)) => {
            vec![("grammar", json!(llguidance_lark(&format!("start: /{}/", r.replace('/', "\\/")))))]
        }
        (ServerFlavor::OpenAi, Grammar::JsonSchema(s)) if chat => vec![(
            "response_format",
            json!({ "type": "json_schema", "json_schema": { "name": "ananke", "schema": schema(s)?, "strict": true } }),
        )],
        (ServerFlavor::OpenAi, Grammar::JsonSchema(_)) => {
            return Err("OpenAI takes a JSON schema on chat requests only".into());
        }
        (ServerFlavor::OpenAi, _) => {
            return Err("OpenAI's API takes JSON schemas only, not grammars or regexes".into());
        }
    })
}

/// llama.cpp and SGLang read a grammar as llguidance Lark when it starts with `%llguidance`.
fn llguidance_lark(grammar: &str) -> String {
    if grammar.trim_start().starts_with("%llguidance") {
        grammar.to_owned()
    } else {
        format!("%llguidance {{}}\n{grammar}")
    }
}

fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("stop" | "eos" | "end_turn") => FinishReason::Eos,
        Some("length") => FinishReason::MaxTokens,
        Some(other) => FinishReason::Other(other.to_owned()),
        None => FinishReason::Other("unknown".into()),
    }
}

/// A completion, or one streamed chunk of it, from `/v1/completions` or `/v1/chat/completions`: only the fields
/// maze reads, all optional, since servers differ in what they fill in.
#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<Usage>,
    /// Some servers answer 200 with an error object, or send one mid-stream.
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    /// `/v1/completions`, whole or streamed.
    text: Option<String>,
    /// `/v1/chat/completions`, whole.
    message: Option<Content>,
    /// `/v1/chat/completions`, streamed.
    delta: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Content {
    content: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

impl Chunk {
    fn record_usage(&self, timings: &mut Timings) {
        let Some(usage) = &self.usage else { return };
        if let Some(n) = usage.prompt_tokens {
            timings.prompt_tokens = n as usize;
        }
        if let Some(n) = usage.completion_tokens {
            timings.generated_tokens = n as usize;
        }
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// A seed for retry jitter that differs between processes and threads.
fn jitter_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flavor_gets_the_grammar_in_its_own_field() {
        let lark = Grammar::Lark("start: \"a\"".into());
        let f = |flavor| grammar_fields(flavor, &lark, true).unwrap();
        assert_eq!(f(ServerFlavor::Vllm), vec![("structured_outputs", json!({ "grammar": "start: \"a\"" }))]);
        assert_eq!(f(ServerFlavor::VllmLegacy), vec![("guided_grammar", json!("start: \"a\""))]);
        assert_eq!(f(ServerFlavor::Sglang), vec![("ebnf", json!("%llguidance {}\nstart: \"a\""))]);
        assert_eq!(f(ServerFlavor::LlamaCpp), vec![("grammar", json!("%llguidance {}\nstart: \"a\""))]);
        assert!(grammar_fields(ServerFlavor::OpenAi, &lark, true).unwrap_err().contains("JSON schemas only"));

        let schema = Grammar::JsonSchema(r#"{"type":"object"}"#.into());
        assert_eq!(
            grammar_fields(ServerFlavor::Sglang, &schema, false).unwrap(),
            vec![("json_schema", json!(r#"{"type":"object"}"#))]
        );
        assert_eq!(
            grammar_fields(ServerFlavor::LlamaCpp, &schema, false).unwrap(),
            vec![("json_schema", json!({ "type": "object" }))]
        );
        assert!(grammar_fields(ServerFlavor::OpenAi, &schema, true).is_ok());
        assert!(grammar_fields(ServerFlavor::OpenAi, &schema, false).is_err());
        let bad = Grammar::JsonSchema("{".into());
        assert!(grammar_fields(ServerFlavor::Vllm, &bad, true).unwrap_err().contains("not JSON"));

        let regex = Grammar::Regex("a/b".into());
        assert_eq!(
            grammar_fields(ServerFlavor::LlamaCpp, &regex, true).unwrap(),
            vec![("grammar", json!("%llguidance {}\nstart: /a\\/b/"))]
        );
        assert_eq!(llguidance_lark("%llguidance {}\nstart: x"), "%llguidance {}\nstart: x");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_honors_retry_after() {
        let mut config = OpenAiConfig::new("http://127.0.0.1:1/v1", "m");
        config.retry = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        let b = OpenAiBackend::new(config).unwrap();
        let mut rng = SplitMix64::new(1);
        for attempt in 0..6 {
            let d = b.backoff(attempt, None, &mut rng);
            let base = Duration::from_millis(100 * (1 << attempt)).min(Duration::from_secs(1));
            assert!(d >= base / 2 && d <= base, "attempt {attempt}: {d:?}");
        }
        assert_eq!(b.backoff(0, Some(Duration::from_millis(700)), &mut rng), Duration::from_millis(700));
        assert_eq!(b.backoff(0, Some(Duration::from_mins(1)), &mut rng), Duration::from_secs(1));
    }

    #[test]
    fn the_api_key_never_shows_in_debug_output() {
        let mut c = OpenAiConfig::new("http://127.0.0.1:1/v1", "m");
        c.api_key = Some("sk-secret".into());
        let backend = OpenAiBackend::new(c.clone()).unwrap();
        assert!(!format!("{c:?}{backend:?}").contains("sk-secret"));
    }

    #[test]
    fn flavors_parse_from_their_names() {
        for f in [
            ServerFlavor::Vllm,
            ServerFlavor::VllmLegacy,
            ServerFlavor::Sglang,
            ServerFlavor::LlamaCpp,
            ServerFlavor::OpenAi,
        ] {
            assert_eq!(f.as_str().parse::<ServerFlavor>(), Ok(f));
        }
        assert!("tgi".parse::<ServerFlavor>().is_err());
    }
}
