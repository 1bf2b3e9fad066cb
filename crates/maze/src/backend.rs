//! The `Backend` trait, what a generation is asked (`GenerateRequest`) and what it reports (`Generation`).

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use crate::constraint::TokenConstraint;
use crate::error::{Error, Result};
use crate::vocab::{VocabId, Vocabulary};

/// Something that generates text: the embedded model, or an OpenAI-compatible server.
pub trait Backend: Send {
    /// A short name for reports and errors, e.g. `local:SmolLM2-135M-Instruct.Q4_1.gguf` or
    /// `openai(vllm):http://127.0.0.1:8000/v1`.
    fn name(&self) -> &str;

    /// The vocabulary token constraints must be built for, when the backend runs the model in process.
    /// Remote backends have none: they enforce [`GenerateRequest::grammar`] on the server.
    fn vocabulary(&self) -> Option<&Arc<Vocabulary>>;

    /// The content id of [`vocabulary`](Self::vocabulary), which keys the cache of compiled constraints. The
    /// default computes it on every call; backends compute it once when they load and return it here.
    fn vocabulary_id(&self) -> Option<VocabId> {
        self.vocabulary().map(|v| VocabId::of(v))
    }

    /// Generates a completion for `request`.
    ///
    /// Each backend enforces `request.grammar` its own way: in-process backends through `constraint` (braid's
    /// `Checker` compiled from that grammar, applied as a mask at every step), remote ones by sending the grammar to
    /// the server, in which case `constraint` is not used. A backend that cannot enforce what it is given answers
    /// [`Error::Unsupported`] rather than ignoring it.
    ///
    /// `on_token` sees every piece of output as it is produced (tokens for the local backend, streamed deltas for
    /// servers); returning [`ControlFlow::Break`] stops generation with [`FinishReason::Cancelled`].
    fn generate(
        &mut self,
        request: &GenerateRequest,
        constraint: Option<&mut dyn TokenConstraint>,
        on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
    ) -> Result<Generation>;
}

/// Who says a chat message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The user.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The role's name in chat templates and the OpenAI API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One chat message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl Message {
    /// A message from `role`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message { role, content: content.into() }
    }
}

/// What the model continues from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// A chat, rendered with the model's chat template (locally) or sent to `/v1/chat/completions`; the model
    /// writes the next assistant message.
    Chat(Vec<Message>),
    /// Raw text the model continues as is (no template), or sent to `/v1/completions`.
    Text(String),
}

impl Prompt {
    /// A chat of one user message.
    pub fn user(content: impl Into<String>) -> Self {
        Prompt::Chat(vec![Message::new(Role::User, content)])
    }
}

/// How the next token is chosen among the allowed ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// 0 picks the most likely token (greedy); above 0, tokens are drawn with probabilities `softmax(logits / t)`.
    pub temperature: f32,
    /// Nucleus sampling: draw only among the most likely tokens whose probabilities add up to `top_p` (1 = all).
    pub top_p: f32,
    /// The seed of the random draws: the same seed, prompt and model give the same output.
    pub seed: u64,
    /// The repetition penalty ("don't repeat yourself", DRY): a token that would continue a run of
    /// [`Sampling::DRY_ALLOWED`] or more tokens that already occurred earlier in this output, the way it continued
    /// there, loses `dry × 1.75^(run − DRY_ALLOWED)` from its logit. It breaks the loops small models fall into
    /// (the same line over and over) and leaves alone a name or a pattern used again with a different
    /// continuation, and whitespace and closing punctuation (every block ends the same way). 0 = off. Only the
    /// local backend applies it; servers are not sent it.
    pub dry: f32,
}

impl Sampling {
    /// Always the most likely token.
    pub const GREEDY: Sampling = Sampling { temperature: 0.0, top_p: 1.0, seed: 0, dry: 0.0 };

    /// The repeated run (in tokens) below which [`Sampling::dry`] does not penalize.
    /// Longer than DRY's usual 2: code repeats runs on purpose (`if let Some(` after the same `)?;` and `}` twice).
    pub const DRY_ALLOWED: usize = 12;

    /// The [`Sampling::dry`] multiplier `ananke fill` and `ananke generate` use unless told otherwise (that of
    /// the DRY sampler's authors and llama.cpp's documentation).
    pub const DRY_DEFAULT: f32 = 0.8;

    /// Temperature sampling with nucleus `top_p` and a seed.
    pub fn random(temperature: f32, top_p: f32, seed: u64) -> Self {
        Sampling { temperature, top_p, seed, dry: 0.0 }
    }

    /// These settings with the repetition penalty [`Sampling::dry`] set.
    #[must_use]
    pub fn with_dry(self, dry: f32) -> Self {
        Sampling { dry, ..self }
    }

    /// Whether this picks the most likely token.
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(Error::InvalidRequest(format!("temperature must be ≥ 0, not {}", self.temperature)));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::InvalidRequest(format!("top_p must be in (0, 1], not {}", self.top_p)));
        }
        if !(self.dry.is_finite() && self.dry >= 0.0) {
            return Err(Error::InvalidRequest(format!("the repetition penalty must be ≥ 0, not {}", self.dry)));
        }
        Ok(())
    }
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling::GREEDY
    }
}

/// A grammar for a server to enforce, in one of the forms OpenAI-compatible servers accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grammar {
    /// A Lark grammar in llguidance's dialect (what braid emits). vLLM takes it with its `guidance` backend,
    /// SGLang with `--grammar-backend llguidance`, llama.cpp when built with `LLAMA_LLGUIDANCE`.
    Lark(String),
    /// A JSON schema, as JSON text.
    JsonSchema(String),
    /// A regular expression the whole output must match.
    Regex(String),
    /// A GBNF grammar (llama.cpp's format, also read by XGrammar in vLLM and SGLang).
    Gbnf(String),
}

/// One generation to run.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateRequest {
    /// What to continue.
    pub prompt: Prompt,
    /// At most this many new tokens.
    pub max_tokens: u32,
    /// How tokens are chosen.
    pub sampling: Sampling,
    /// What the output must match. In-process backends need it compiled into a [`TokenConstraint`] passed to
    /// [`Backend::generate`]; servers get it as is.
    pub grammar: Option<Grammar>,
}

impl GenerateRequest {
    /// A greedy request for at most `max_tokens` tokens, with no grammar.
    pub fn new(prompt: Prompt, max_tokens: u32) -> Self {
        GenerateRequest { prompt, max_tokens, sampling: Sampling::GREEDY, grammar: None }
    }

    /// The same request with other sampling settings.
    #[must_use]
    pub fn with_sampling(mut self, sampling: Sampling) -> Self {
        self.sampling = sampling;
        self
    }

    /// The same request with a grammar.
    #[must_use]
    pub fn with_grammar(mut self, grammar: Grammar) -> Self {
        self.grammar = Some(grammar);
        self
    }
}

/// A piece of output, as it is produced.
#[derive(Clone, Copy, Debug)]
pub struct TokenEvent<'a> {
    /// 0 for the first piece of this generation, then 1, 2, ...
    pub index: usize,
    /// The token id, when the backend knows it (the local backend does; servers stream text).
    pub token: Option<u32>,
    /// The bytes this piece adds to the output. A token may end in the middle of a UTF-8 character.
    pub bytes: &'a [u8],
    /// Whether the constraint forced this token (no sampling happened).
    pub forced: bool,
}

/// Why generation stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FinishReason {
    /// The model produced an end-of-sequence token (servers: `finish_reason: "stop"`).
    Eos,
    /// The constraint accepted the output and allowed nothing but end-of-sequence.
    Accepted,
    /// The `max_tokens` budget was used up (servers: `"length"`).
    MaxTokens,
    /// The model's context is full.
    ContextFull,
    /// The `on_token` callback asked to stop.
    Cancelled,
    /// A server gave another reason.
    Other(String),
}

/// Time spent in one generated step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepTiming {
    /// In the token constraint (forced tokens, mask, commit).
    pub mask: Duration,
    /// Choosing the token.
    pub sample: Duration,
    /// Running the model on the chosen token(s) (zero after the last token).
    pub forward: Duration,
    /// How many tokens the step produced: 1 when sampled, more when the constraint forced them.
    pub tokens: u32,
    /// Whether the constraint forced the step's tokens (no mask, no sampling).
    pub forced: bool,
}

/// Where the time of a generation went.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timings {
    /// Tokens in the rendered prompt (servers: as reported in `usage`, when they do).
    pub prompt_tokens: usize,
    /// Of those, how many the model did not run again: the longest prefix it had seen in an earlier generation
    /// (the local backend's prefix cache).
    pub prompt_tokens_reused: usize,
    /// Tokenizing and running the prompt through the model, up to the first logits.
    pub prefill: Duration,
    /// New tokens produced (sampled and forced).
    pub generated_tokens: usize,
    /// Of those, how many the constraint forced.
    pub forced_tokens: usize,
    /// Wall time from the end of prefill to the end of generation (the model, the constraint and sampling).
    pub decode: Duration,
    /// Of `decode`, time spent in the token constraint.
    pub mask: Duration,
    /// Of `decode`, time spent choosing tokens.
    pub sample: Duration,
    /// Wall time until the first piece of output reached the caller.
    pub first_token: Option<Duration>,
    /// Wall time of the whole call.
    pub total: Duration,
    /// Per generated step, in order (local backend only).
    pub steps: Vec<StepTiming>,
    /// Sampled tokens the constraint's check beyond the mask refused, each followed by another draw.
    pub redraws: u64,
    /// Steps where every redraw was refused too and the loop could not go back, so the first draw was kept.
    pub redraw_fallbacks: u64,
    /// Times the loop went back a step from a dead end (the constraint left no way on) to draw there again.
    pub backtracks: u64,
}

impl Timings {
    /// Prompt tokens per second of prefill.
    pub fn prefill_tokens_per_s(&self) -> f64 {
        per_second(self.prompt_tokens, self.prefill)
    }

    /// Generated tokens per second of decode (constraint and sampling included).
    pub fn decode_tokens_per_s(&self) -> f64 {
        per_second(self.generated_tokens, self.decode)
    }

    /// Sampled tokens per second of the steps that sampled one (their mask, sampling and forward pass): the
    /// per-token speed of decoding, which forced tokens (committed in one batch) would otherwise inflate. The fair
    /// figure to compare constrained with unconstrained decoding.
    pub fn sampled_tokens_per_s(&self) -> f64 {
        let sampled = self.steps.iter().filter(|s| !s.forced && s.tokens > 0);
        let (n, time) = sampled.fold((0usize, Duration::ZERO), |(n, t), s| (n + 1, t + s.mask + s.sample + s.forward));
        per_second(n, time)
    }

    /// Mean time in the token constraint per sampled token (forced tokens need no mask).
    pub fn mask_per_sampled_token(&self) -> Duration {
        let sampled: Vec<&StepTiming> = self.steps.iter().filter(|s| !s.forced && s.tokens > 0).collect();
        match u32::try_from(sampled.len()) {
            Ok(n) if n > 0 => sampled.iter().map(|s| s.mask).sum::<Duration>() / n,
            _ => Duration::ZERO,
        }
    }

    /// Mean time in the token constraint per generated token.
    pub fn mask_per_token(&self) -> Duration {
        match u32::try_from(self.generated_tokens) {
            Ok(n) if n > 0 => self.mask / n,
            _ => Duration::ZERO,
        }
    }
}

fn per_second(count: usize, time: Duration) -> f64 {
    if time.is_zero() { 0.0 } else { count as f64 / time.as_secs_f64() }
}

/// At a sampled step, the likeliest token the constraint allowed besides the one drawn: where a draft could have
/// gone otherwise (see the repairs of [`crate::Repair::Branch`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunnerUp {
    /// The token.
    pub token: u32,
    /// How much likelier the drawn token was: the difference of their logits after the mask and the repetition
    /// penalty (a log-probability ratio; 0 when they tied, negative when sampling drew the less likely one).
    pub margin: f32,
}

/// What a generation produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// The output text (invalid UTF-8, possible when generation stops inside a character, is replaced by U+FFFD).
    pub text: String,
    /// The generated token ids, end-of-sequence excluded (empty for servers, which send text).
    pub tokens: Vec<u32>,
    /// Per token of `tokens`, its sampled step's [`RunnerUp`] when the generation had a token constraint (`None`
    /// without one, for forced tokens and where none was left; empty for servers).
    pub runner_up: Vec<Option<RunnerUp>>,
    /// Why it stopped.
    pub finish: FinishReason,
    /// Where the time went.
    pub timings: Timings,
    /// The name of the backend that produced it.
    pub backend: String,
}

/// Tries backends in order: when one fails with a transient error ([`Error::is_transient`]) or cannot serve the
/// request ([`Error::Unsupported`]) before producing any output, the next one gets the request.
///
/// Output already delivered to `on_token` is never delivered twice: once a backend has produced something, its
/// error is final.
pub struct Fallback {
    backends: Vec<Box<dyn Backend>>,
    name: String,
}

impl std::fmt::Debug for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fallback").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Fallback {
    /// A chain of `backends`, tried first to last.
    pub fn new(backends: Vec<Box<dyn Backend>>) -> Self {
        let name = format!("fallback[{}]", backends.iter().map(|b| b.name()).collect::<Vec<_>>().join(", "));
        Fallback { backends, name }
    }

    /// The backends, in order.
    pub fn backends(&self) -> &[Box<dyn Backend>] {
        &self.backends
    }
}

impl Backend for Fallback {
    fn name(&self) -> &str {
        &self.name
    }

    /// The first in-process backend's vocabulary: build the constraint for it. Remote backends in the chain use
    /// the request's grammar instead, and in-process backends with another vocabulary are skipped.
    fn vocabulary(&self) -> Option<&Arc<Vocabulary>> {
        self.backends.iter().find_map(|b| b.vocabulary())
    }

    fn vocabulary_id(&self) -> Option<VocabId> {
        self.backends.iter().find(|b| b.vocabulary().is_some()).and_then(|b| b.vocabulary_id())
    }

    fn generate(
        &mut self,
        request: &GenerateRequest,
        mut constraint: Option<&mut dyn TokenConstraint>,
        on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
    ) -> Result<Generation> {
        let first_vocab = self.vocabulary().cloned();
        let mut failures = Vec::new();
        for backend in &mut self.backends {
            // A constraint speaks the token ids of the chain's vocabulary; another in-process backend with a
            // different vocabulary would misread them.
            let same_vocab = match (backend.vocabulary(), &first_vocab) {
                (Some(v), Some(first)) => Arc::ptr_eq(v, first) || v == first || constraint.is_none(),
                _ => true,
            };
            if !same_vocab {
                let reason = "its vocabulary differs from the one the token constraint was built for";
                failures.push((backend.name().to_owned(), Error::unsupported(backend.name(), reason)));
                continue;
            }
            let mut delivered = 0usize;
            let mut counting = |event: &TokenEvent<'_>| {
                delivered += 1;
                on_token(event)
            };
            let reborrowed: Option<&mut dyn TokenConstraint> = match constraint {
                Some(ref mut c) => Some(&mut **c),
                None => None,
            };
            match backend.generate(request, reborrowed, &mut counting) {
                Ok(generation) => return Ok(generation),
                Err(e) if delivered == 0 && (e.is_transient() || matches!(e, Error::Unsupported { .. })) => {
                    failures.push((backend.name().to_owned(), e));
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::AllBackendsFailed { failures })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails with the error it is given (after emitting `emit` pieces), or succeeds when it has none.
    struct Scripted {
        name: String,
        fail: Option<fn() -> Error>,
        emit: usize,
        calls: usize,
    }

    impl Scripted {
        fn boxed(name: &str, fail: Option<fn() -> Error>, emit: usize) -> Box<dyn Backend> {
            Box::new(Scripted { name: name.into(), fail, emit, calls: 0 })
        }
    }

    impl Backend for Scripted {
        fn name(&self) -> &str {
            &self.name
        }
        fn vocabulary(&self) -> Option<&Arc<Vocabulary>> {
            None
        }
        fn generate(
            &mut self,
            _: &GenerateRequest,
            _: Option<&mut dyn TokenConstraint>,
            on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
        ) -> Result<Generation> {
            self.calls += 1;
            for index in 0..self.emit {
                let _ = on_token(&TokenEvent { index, token: None, bytes: b"x", forced: false });
            }
            match self.fail {
                Some(f) => Err(f()),
                None => Ok(Generation {
                    text: self.name.clone(),
                    tokens: Vec::new(),
                    runner_up: Vec::new(),
                    finish: FinishReason::Eos,
                    timings: Timings::default(),
                    backend: self.name.clone(),
                }),
            }
        }
    }

    fn refused() -> Error {
        Error::Connect { url: "u".into(), message: "refused".into() }
    }
    fn bad_request() -> Error {
        Error::Http { url: "u".into(), status: 400, body: "no".into() }
    }
    fn unsupported() -> Error {
        Error::unsupported("a", "no grammar")
    }

    fn generate(chain: &mut Fallback) -> Result<Generation> {
        chain.generate(&GenerateRequest::new(Prompt::user("hi"), 4), None, &mut |_| ControlFlow::Continue(()))
    }

    #[test]
    fn transient_and_unsupported_failures_fall_back_to_the_next_backend() {
        let mut chain = Fallback::new(vec![
            Scripted::boxed("a", Some(refused), 0),
            Scripted::boxed("b", Some(unsupported), 0),
            Scripted::boxed("c", None, 0),
        ]);
        assert_eq!(chain.name(), "fallback[a, b, c]");
        assert_eq!(generate(&mut chain).unwrap().backend, "c");
    }

    #[test]
    fn a_final_error_or_delivered_output_stops_the_chain() {
        let mut chain = Fallback::new(vec![Scripted::boxed("a", Some(bad_request), 0), Scripted::boxed("b", None, 0)]);
        assert!(matches!(generate(&mut chain), Err(Error::Http { status: 400, .. })));

        // Output already delivered cannot be taken back: no second backend, even for a transient error.
        let mut chain = Fallback::new(vec![Scripted::boxed("a", Some(refused), 2), Scripted::boxed("b", None, 0)]);
        assert!(matches!(generate(&mut chain), Err(Error::Connect { .. })));

        let mut chain =
            Fallback::new(vec![Scripted::boxed("a", Some(refused), 0), Scripted::boxed("b", Some(refused), 0)]);
        match generate(&mut chain) {
            Err(Error::AllBackendsFailed { failures }) => {
                assert_eq!(failures.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["a", "b"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sampling_settings_are_validated() {
        assert!(Sampling::GREEDY.validate().is_ok());
        assert!(Sampling::random(-1.0, 1.0, 0).validate().is_err());
        assert!(Sampling::random(1.0, 0.0, 0).validate().is_err());
        assert!(Sampling::random(f32::NAN, 1.0, 0).validate().is_err());
    }
}
