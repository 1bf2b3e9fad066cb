//! maze runs generation for Ananke: the [`Backend`] trait, the token-mask generation loop, and two backends.
//!
//! A generation is a [`GenerateRequest`] (a chat or raw-text [`Prompt`], a token budget, [`Sampling`] settings
//! and optionally a [`Grammar`]) run by a [`Backend`], which reports a [`Generation`] (text, token ids,
//! [`FinishReason`], [`Timings`]). The three things to know:
//!
//! - [`TokenConstraint`]: what the loop asks of a token-level constraint: an allowed-token bitset before every
//!   sampled token, `commit(token)` after, `is_accepting()`, and optional forced tokens. braid's `Checker`
//!   implements it; a constraint is built for the [`Vocabulary`] an in-process backend exposes.
//! - `LocalBackend` (cargo feature `local`): a llama-architecture GGUF model run in process on the CPU with
//!   candle, its own byte-level BPE tokenizer and chat template read from the GGUF file, the constraint's mask
//!   applied to the logits at every step. The default model is SmolLM2-135M-Instruct, fetched by
//!   `scripts/fetch-model.sh`.
//! - `OpenAiBackend` (cargo feature `openai`): any OpenAI-compatible server (vLLM, SGLang, llama.cpp), with the
//!   grammar sent in the form that server takes, timeouts, retries with backoff, streaming and batches. A
//!   [`Fallback`] chains backends.
//!
//! The loop and the mask path are engine-independent and tested without a model; the example shows the contract
//! with a toy constraint (only digits), the way braid's `Checker` plugs in:
//!
//! ```
//! use maze::{BoxError, TokenConstraint, mask_allows};
//!
//! /// Allows the tokens listed, then accepts.
//! struct OnlyThese {
//!     mask: Vec<u32>,
//!     committed: usize,
//! }
//!
//! impl TokenConstraint for OnlyThese {
//!     fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
//!         Ok(&self.mask)
//!     }
//!     fn commit(&mut self, _token: u32) -> Result<(), BoxError> {
//!         self.committed += 1;
//!         Ok(())
//!     }
//!     fn is_accepting(&self) -> bool {
//!         self.committed > 0
//!     }
//! }
//!
//! let mut c = OnlyThese { mask: vec![0b1100], committed: 0 };
//! let mask = c.compute_mask().unwrap();
//! assert!(mask_allows(mask, 2) && mask_allows(mask, 3) && !mask_allows(mask, 1));
//! ```
#![deny(missing_docs)]

mod backend;
mod cache;
mod constraint;
// The loop and the sampler are engine-independent and tested on their own; the local backend is the only engine
// that drives them today, so without it they are compiled (and tested) but unused.
#[cfg_attr(not(feature = "local"), allow(dead_code))]
mod decode;
mod error;
pub mod holes;
#[cfg(feature = "local")]
mod local;
mod metrics;
mod model;
#[cfg(feature = "openai")]
mod openai;
mod pipeline;
#[cfg_attr(not(feature = "local"), allow(dead_code))]
mod sampling;
mod vocab;

pub use backend::{
    Backend, Fallback, FinishReason, GenerateRequest, Generation, Grammar, Message, Prompt, Role, RunnerUp, Sampling,
    StepTiming, Timings, TokenEvent,
};
pub use cache::{CacheConfig, CacheKey, Compiled, ConstraintCache};
pub use constraint::{AllowAll, TokenConstraint, mask_allows};
pub use error::{BoxError, Error, Result};
#[cfg(feature = "local")]
pub use local::{LocalBackend, LocalConfig, ModelInfo, Requantize};
pub use metrics::{Histogram, Latencies, LatencySummary, Metrics};
pub use model::default_model_path;
#[cfg(feature = "openai")]
pub use openai::{OpenAiBackend, OpenAiConfig, RetryPolicy, ServerFlavor};
pub use pipeline::{Attempt, Enforcement, Outcome, Pipeline, Placement, Repair, Task, Verify};
pub use vocab::{VocabId, Vocabulary};
