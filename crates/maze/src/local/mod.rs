//! The embedded backend: a llama-architecture GGUF model run in process on the CPU with candle.

mod chat;
mod prefix;
mod requant;
mod tokenizer;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::{MAX_SEQ_LEN, ModelWeights};

use self::chat::ChatTemplate;
use self::tokenizer::{Tokenizer, TokenizerSpec};
use crate::backend::{Backend, GenerateRequest, Generation, Prompt, TokenEvent};
use crate::constraint::TokenConstraint;
use crate::decode::{self, LogitsModel, LoopInput};
use crate::error::{Error, Result};
use crate::model::default_model_path;
use crate::vocab::{VocabId, Vocabulary};

pub use self::requant::Requantize;

/// How to load the local model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalConfig {
    /// The GGUF file; `None` means [`default_model_path`].
    pub model: Option<PathBuf>,
    /// Whether to requantize weights candle runs slowly (see [`Requantize`]).
    pub requantize: Requantize,
    /// Use at most this many positions (prompt + output) even if the model allows more.
    pub max_context: Option<usize>,
    /// Positions of prompt prefixes to keep the model's state for, so a prompt that starts like an earlier one
    /// runs only what follows the shared part (`None`: 4096, ~190 MB with the default model; `Some(0)`: off).
    pub prefix_cache: Option<usize>,
}

impl LocalConfig {
    /// The default model with default settings.
    pub fn new() -> Self {
        LocalConfig::default()
    }

    /// Another model file.
    #[must_use]
    pub fn with_model(mut self, path: impl Into<PathBuf>) -> Self {
        self.model = Some(path.into());
        self
    }
}

/// What was loaded, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    /// The model file asked for.
    pub path: PathBuf,
    /// The file the weights came from: `path`, or its requantized copy beside it (`path` again when the copy
    /// could not be written and the weights were requantized in memory).
    pub weights_from: PathBuf,
    /// Whether the weights were requantized (now or in an earlier run).
    pub requantized: bool,
    /// Time spent requantizing in this load (zero when a cached copy was reused or none was needed).
    pub requantize_time: Duration,
    /// `general.name` from the file.
    pub name: Option<String>,
    /// Tensor counts by weight type after requantization, e.g. `{"F32": 61, "Q8_0": 211}`.
    pub weight_types: BTreeMap<String, usize>,
    /// Positions usable for prompt + output.
    pub context_len: usize,
    /// Token ids in the vocabulary.
    pub vocab_size: usize,
    /// Wall time of the whole load.
    pub load_time: Duration,
}

/// The embedded model: a llama-architecture GGUF file run on the CPU, with its own tokenizer and chat template.
///
/// Loading takes well under a second for the default 135M model once its requantized copy exists (the first load
/// writes it). One backend runs one generation at a time; load several for parallel work.
pub struct LocalBackend {
    name: String,
    model: CandleModel,
    tokenizer: Tokenizer,
    vocab: Arc<Vocabulary>,
    vocab_id: VocabId,
    chat: Option<ChatTemplate>,
    info: ModelInfo,
}

impl std::fmt::Debug for LocalBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBackend").field("name", &self.name).field("info", &self.info).finish_non_exhaustive()
    }
}

impl LocalBackend {
    /// Loads the model `config` names (requantizing it, or reusing its requantized copy, as configured).
    pub fn load(config: &LocalConfig) -> Result<Self> {
        let started = Instant::now();
        let path = config.model.clone().unwrap_or_else(default_model_path);
        if !path.is_file() {
            return Err(Error::ModelNotFound { path });
        }
        let model_err = |reason: String| Error::Model { path: path.clone(), reason };
        let io_err = |source| Error::Io { action: "reading", path: path.clone(), source };

        let mut reader = BufReader::new(File::open(&path).map_err(io_err)?);
        let content = Content::read(&mut reader).map_err(|e| model_err(format!("not a readable GGUF file: {e}")))?;
        let arch = meta_str(&content, "general.architecture").unwrap_or_default();
        if arch != "llama" {
            return Err(model_err(format!(
                "its architecture is {arch:?}; the local backend runs llama-architecture models only"
            )));
        }
        let tokenizer = Tokenizer::new(&tokenizer_spec(&content)).map_err(model_err)?;
        let chat = meta_str(&content, "tokenizer.chat_template").and_then(|t| ChatTemplate::detect(&t, &tokenizer));
        let name = meta_str(&content, "general.name");
        let model_context = meta_u64(&content, "llama.context_length").map_or(MAX_SEQ_LEN, |n| n as usize);

        let plan = requant::plan(&path, &content, config.requantize);
        let (weights_from, requantized, requantize_time, content, mut source): (_, _, _, _, Box<dyn ReadSeek>) =
            match plan {
                requant::Plan::UseOriginal => (path.clone(), false, Duration::ZERO, content, Box::new(reader)),
                requant::Plan::UseCache(cache) => {
                    let mut r = BufReader::new(File::open(&cache).map_err(|source| Error::Io {
                        action: "reading",
                        path: cache.clone(),
                        source,
                    })?);
                    let c =
                        Content::read(&mut r).map_err(|e| model_err(format!("requantized copy unreadable: {e}")))?;
                    (cache, true, Duration::ZERO, c, Box::new(r))
                }
                requant::Plan::Create(cache) => {
                    let t = Instant::now();
                    let bytes = requant::requantize(&path, &content, &mut reader).map_err(model_err)?;
                    let elapsed = t.elapsed();
                    // The copy is a cache: failing to write it (read-only directory) only costs the next load time.
                    let from = if requant::write_atomically(&cache, &bytes).is_ok() { cache } else { path.clone() };
                    let mut r = Cursor::new(bytes);
                    let c =
                        Content::read(&mut r).map_err(|e| model_err(format!("requantized copy unreadable: {e}")))?;
                    (from, true, elapsed, c, Box::new(r))
                }
            };
        let mut weight_types = BTreeMap::new();
        for info in content.tensor_infos.values() {
            *weight_types.entry(format!("{:?}", info.ggml_dtype)).or_insert(0) += 1;
        }
        let device = Device::Cpu;
        let weights = ModelWeights::from_gguf(content, &mut source, &device)
            .map_err(|e| model_err(format!("cannot build the model from its tensors: {e}")))?;

        let context_len = model_context.min(MAX_SEQ_LEN).min(config.max_context.unwrap_or(usize::MAX));
        let file_name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
        let vocab = Arc::new(tokenizer.vocabulary(name.as_deref().unwrap_or(&file_name)));
        // Computed once here: it keys the cache of vocabulary indices and compiled constraints.
        let vocab_id = VocabId::of(&vocab);
        let info = ModelInfo {
            path,
            weights_from,
            requantized,
            requantize_time,
            name,
            weight_types,
            context_len,
            vocab_size: vocab.len(),
            load_time: started.elapsed(),
        };
        Ok(LocalBackend {
            name: format!("local:{file_name}"),
            model: CandleModel {
                weights,
                device,
                context_len,
                prefixes: prefix::PrefixCache::new(config.prefix_cache.unwrap_or(prefix::DEFAULT_CAPACITY)),
            },
            tokenizer,
            vocab,
            vocab_id,
            chat,
            info,
        })
    }

    /// What was loaded.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Encodes `text` as plain text (no control tokens, no BOS).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(text).map_err(|e| self.model_error(e))
    }

    /// The token ids the model sees for `prompt`: a chat rendered with the model's template, or raw text (after
    /// BOS when the model asks for one).
    pub fn render_prompt(&self, prompt: &Prompt) -> Result<Vec<u32>> {
        match prompt {
            Prompt::Text(text) => {
                let mut out = Vec::new();
                if self.tokenizer.add_bos() {
                    out.extend(self.tokenizer.bos());
                }
                self.tokenizer.encode_into(text, &mut out).map_err(|e| self.model_error(e))?;
                Ok(out)
            }
            Prompt::Chat(messages) => {
                if messages.is_empty() {
                    return Err(Error::InvalidRequest("the chat has no message".into()));
                }
                let Some(chat) = &self.chat else {
                    return Err(Error::unsupported(
                        &self.name,
                        "the model's chat template is neither ChatML nor Llama 3's; send a Prompt::Text instead",
                    ));
                };
                chat.render(messages, &self.tokenizer).map_err(|e| self.model_error(e))
            }
        }
    }

    fn model_error(&self, reason: String) -> Error {
        Error::Model { path: self.info.path.clone(), reason }
    }
}

impl Backend for LocalBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn vocabulary(&self) -> Option<&Arc<Vocabulary>> {
        Some(&self.vocab)
    }

    fn vocabulary_id(&self) -> Option<VocabId> {
        Some(self.vocab_id)
    }

    fn generate(
        &mut self,
        request: &GenerateRequest,
        constraint: Option<&mut dyn TokenConstraint>,
        on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
    ) -> Result<Generation> {
        let started = Instant::now();
        if request.grammar.is_some() && constraint.is_none() {
            return Err(Error::unsupported(
                &self.name,
                "the local backend enforces a grammar through a token constraint (braid's Checker compiled from it); \
                 none was given",
            ));
        }
        let prompt = self.render_prompt(&request.prompt)?;
        let input = LoopInput {
            prompt: &prompt,
            max_tokens: request.max_tokens as usize,
            sampling: request.sampling,
            vocab: &self.vocab,
            started,
        };
        let out = decode::run(&mut self.model, &input, constraint, on_token)?;
        let text = String::from_utf8_lossy(&self.vocab.decode(&out.tokens)).into_owned();
        Ok(Generation {
            text,
            tokens: out.tokens,
            runner_up: out.runner_up,
            finish: out.finish,
            timings: out.timings,
            backend: self.name.clone(),
        })
    }
}

trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// candle's quantized llama behind the loop's model interface, with snapshots of its state after prompt
/// prefixes (see [`prefix`]).
struct CandleModel {
    weights: ModelWeights,
    device: Device,
    context_len: usize,
    prefixes: prefix::PrefixCache<ModelWeights>,
}

impl LogitsModel for CandleModel {
    fn forward(&mut self, tokens: &[u32], pos: usize, logits: &mut Vec<f32>) -> Result<()> {
        let mut run = || -> candle_core::Result<Vec<f32>> {
            let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
            let out = self.weights.forward(&input, pos)?;
            out.squeeze(0)?.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()
        };
        *logits = run().map_err(|e| Error::inference(if pos == 0 { "prefilling" } else { "decoding" }, e))?;
        Ok(())
    }

    fn context_len(&self) -> usize {
        self.context_len
    }

    // The default rewind: the prompt's state comes from the prefix snapshots (no work), then one batched pass
    // over the kept tokens. Nothing is kept per generated token, so generation itself costs nothing more.
    fn can_rewind(&self) -> bool {
        true
    }

    fn prefill(&mut self, prompt: &[u32], logits: &mut Vec<f32>) -> Result<usize> {
        let mut from = 0;
        if let Some(start) = self.prefixes.start(prompt) {
            self.weights = start.state;
            from = start.covered;
            if let Some(l) = start.logits {
                *logits = l;
                return Ok(from);
            }
        }
        let reused = from;
        let chunks = prefix::chunks(from, prompt.len());
        let last = chunks.len().saturating_sub(1);
        for (i, range) in chunks.into_iter().enumerate() {
            let end = range.end;
            self.forward(&prompt[range.clone()], range.start, logits)?;
            let whole = i == last;
            if self.prefixes.capacity() > 0 && (whole || end % prefix::CHUNK == 0) {
                self.prefixes.insert(&prompt[..end], &self.weights, whole.then_some(logits.as_slice()));
            }
        }
        Ok(reused)
    }
}

fn meta_str(content: &Content, key: &str) -> Option<String> {
    content.metadata.get(key).and_then(|v| v.to_string().ok()).cloned()
}

fn meta_u64(content: &Content, key: &str) -> Option<u64> {
    content.metadata.get(key).and_then(value_u64)
}

fn value_u64(v: &Value) -> Option<u64> {
    match *v {
        Value::U8(x) => Some(u64::from(x)),
        Value::U16(x) => Some(u64::from(x)),
        Value::U32(x) => Some(u64::from(x)),
        Value::U64(x) => Some(x),
        Value::I8(x) => u64::try_from(x).ok(),
        Value::I16(x) => u64::try_from(x).ok(),
        Value::I32(x) => u64::try_from(x).ok(),
        Value::I64(x) => u64::try_from(x).ok(),
        _ => None,
    }
}

fn value_i64(v: &Value) -> Option<i64> {
    match *v {
        Value::I8(x) => Some(i64::from(x)),
        Value::I16(x) => Some(i64::from(x)),
        Value::I32(x) => Some(i64::from(x)),
        Value::I64(x) => Some(x),
        _ => value_u64(v).and_then(|x| i64::try_from(x).ok()),
    }
}

fn meta_strings(content: &Content, key: &str) -> Vec<String> {
    content
        .metadata
        .get(key)
        .and_then(|v| v.to_vec().ok())
        .map(|items| items.iter().filter_map(|v| v.to_string().ok().cloned()).collect())
        .unwrap_or_default()
}

fn tokenizer_spec(content: &Content) -> TokenizerSpec {
    let id = |key: &str| meta_u64(content, key).and_then(|x| u32::try_from(x).ok());
    TokenizerSpec {
        model: meta_str(content, "tokenizer.ggml.model").unwrap_or_default(),
        pre: meta_str(content, "tokenizer.ggml.pre").unwrap_or_default(),
        tokens: meta_strings(content, "tokenizer.ggml.tokens"),
        token_types: content
            .metadata
            .get("tokenizer.ggml.token_type")
            .and_then(|v| v.to_vec().ok())
            .map(|items| items.iter().map(|v| value_i64(v).unwrap_or(1)).collect())
            .unwrap_or_default(),
        merges: meta_strings(content, "tokenizer.ggml.merges"),
        bos: id("tokenizer.ggml.bos_token_id"),
        eos: id("tokenizer.ggml.eos_token_id"),
        eot: id("tokenizer.ggml.eot_token_id"),
        add_bos: content.metadata.get("tokenizer.ggml.add_bos_token").and_then(|v| v.to_bool().ok()).unwrap_or(false),
    }
}
