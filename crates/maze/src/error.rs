//! maze's one error type.

use std::path::PathBuf;
use std::time::Duration;

/// A boxed error from code maze does not own: a token constraint (braid's `Checker`), or the inference engine.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong while compiling constraints, loading a backend, generating with it, or filling a hole.
///
/// [`Error::is_transient`] tells the errors worth retrying (or falling back from) apart from the ones that will
/// fail the same way again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model file does not exist.
    #[error(
        "no model file at {}: run scripts/fetch-model.sh to fetch the default model, \
         or point --model / ANANKE_MODEL at a llama-architecture GGUF file",
        path.display()
    )]
    ModelNotFound {
        /// Where the model was looked for.
        path: PathBuf,
    },
    /// The model file exists but cannot be used: not GGUF, not llama-architecture, or a tokenizer maze cannot read.
    #[error("cannot use the model {}: {reason}", path.display())]
    Model {
        /// The model file.
        path: PathBuf,
        /// Why, in words.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done ("reading", "writing the requantized model to", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The inference engine failed while running the model.
    #[error("inference failed while {context}: {source}")]
    Inference {
        /// What the engine was doing.
        context: &'static str,
        /// The engine's error.
        source: BoxError,
    },
    /// The token constraint returned an error.
    #[error("the token constraint failed at generated token {step}: {source}")]
    Constraint {
        /// How many tokens had been generated when it failed.
        step: usize,
        /// The constraint's error.
        source: BoxError,
    },
    /// The token constraint allows no token, yet does not accept what was generated so far.
    #[error("the token constraint allows no token after {step} generated tokens and does not accept the output")]
    DeadEnd {
        /// How many tokens had been generated.
        step: usize,
    },
    /// The prompt does not fit in the model's context.
    #[error("the prompt has {prompt_tokens} tokens; the model's context holds {context} tokens")]
    ContextOverflow {
        /// Tokens in the rendered prompt.
        prompt_tokens: usize,
        /// The context length.
        context: usize,
    },
    /// The backend cannot do what the request asks (e.g. a server backend given only a token constraint, or a
    /// server flavor that has no way to take a Lark grammar).
    #[error("{backend} cannot serve this request: {reason}")]
    Unsupported {
        /// The backend's name.
        backend: String,
        /// Why.
        reason: String,
    },
    /// The request itself is invalid (e.g. a negative temperature, an empty chat).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The server could not be reached (refused, reset, DNS, TLS).
    #[error("cannot reach {url}: {message}")]
    Connect {
        /// The URL requested.
        url: String,
        /// What failed.
        message: String,
    },
    /// The server did not answer in time.
    #[error("{url} did not answer within {after:?} ({phase})")]
    Timeout {
        /// The URL requested.
        url: String,
        /// The timeout that expired.
        after: Duration,
        /// Which timeout: "connect", "read" (no byte for that long), or "total".
        phase: &'static str,
    },
    /// The server answered with an HTTP error status.
    #[error("{url} answered HTTP {status}: {body}")]
    Http {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body (servers put their error message there).
        body: String,
    },
    /// The server's answer could not be understood.
    #[error("malformed response from {url}: {message}")]
    MalformedResponse {
        /// The URL requested.
        url: String,
        /// What was wrong with it.
        message: String,
    },
    /// A streamed answer stopped before its end (the server went away, or reported an error mid-stream).
    #[error("the stream from {url} broke off after {received_chars} characters: {message}")]
    StreamInterrupted {
        /// The URL requested.
        url: String,
        /// What was received (and already delivered to the caller) before the break.
        partial: String,
        /// How many characters that is.
        received_chars: usize,
        /// What happened.
        message: String,
    },
    /// braid could not compile the constraint set (invalid input, or conflicts in strict mode).
    #[error("compiling the constraints: {0}")]
    Compile(#[source] braid::Error),
    /// braid could not build a token-level checker from the IR.
    #[error("building the token-level checker: {0}")]
    Checker(#[source] braid::CheckError),
    /// clew could not prepare the constraints for checking the output (a pattern that does not compile).
    #[error("preparing the output check: {0}")]
    Lint(#[source] clew::Error),
    /// A typed hole cannot be filled as asked (none at that line, no enclosing function, ...).
    #[error("{0}")]
    Hole(String),
    /// Every backend of a [`Fallback`](crate::Fallback) chain failed.
    #[error("all {} backends failed; the last one: {}", failures.len(), failures.last().map_or(String::new(), |(name, e)| format!("{name}: {e}")))]
    AllBackendsFailed {
        /// Each backend's name and error, in the order they were tried.
        failures: Vec<(String, Error)>,
    },
}

impl Error {
    /// Whether trying again later (or elsewhere) may succeed: connection failures, timeouts, HTTP 429 and 5xx, and
    /// streams that broke off before delivering anything. 4xx answers, malformed bodies and model errors are not.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::Timeout { .. } => true,
            Error::Http { status, .. } => *status == 429 || *status >= 500,
            Error::StreamInterrupted { received_chars, .. } => *received_chars == 0,
            _ => false,
        }
    }

    #[cfg_attr(not(feature = "local"), allow(dead_code))]
    pub(crate) fn inference(context: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Inference { context, source: source.into() }
    }

    pub(crate) fn unsupported(backend: &str, reason: impl Into<String>) -> Self {
        Error::Unsupported { backend: backend.to_owned(), reason: reason.into() }
    }
}

/// The result type of maze.
pub type Result<T, E = Error> = std::result::Result<T, E>;
