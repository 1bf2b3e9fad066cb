//! The local backend on the real default model (fetched by scripts/fetch-model.sh; scripts/test.sh fetches it).
//!
//! When the model file is absent, each test says so on stderr and passes without running: the rest of the suite
//! must not depend on a 100 MB download. Generations are a few tokens long to keep the suite fast.
#![cfg(feature = "local")]

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};

use maze::{
    AllowAll, Backend, BoxError, Error, FinishReason, GenerateRequest, Grammar, LocalBackend, LocalConfig, Message,
    Prompt, Requantize, Role, Sampling, TokenConstraint, TokenEvent, Vocabulary, mask_allows,
};

fn model_path() -> Option<PathBuf> {
    let path = maze::default_model_path();
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("SKIPPED: no model at {} (run scripts/fetch-model.sh, or set ANANKE_MODEL)", path.display());
        None
    }
}

/// One backend for all tests (loading is the slow part); the mutex runs them one at a time.
fn backend() -> Option<MutexGuard<'static, LocalBackend>> {
    static BACKEND: OnceLock<Mutex<LocalBackend>> = OnceLock::new();
    let path = model_path()?;
    let cell = BACKEND.get_or_init(|| {
        let backend = LocalBackend::load(&LocalConfig::new().with_model(path)).expect("the model loads");
        eprintln!("loaded {:?}", backend.info());
        Mutex::new(backend)
    });
    Some(cell.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}

fn ignore() -> impl FnMut(&TokenEvent<'_>) -> ControlFlow<()> {
    |_| ControlFlow::Continue(())
}

#[test]
fn greedy_generation_writes_real_text() {
    let Some(mut b) = backend() else { return };
    let request = GenerateRequest::new(Prompt::user("What is the capital of France? Answer in one sentence."), 12);
    let mut streamed = Vec::new();
    let mut on = |e: &TokenEvent<'_>| {
        streamed.extend_from_slice(e.bytes);
        ControlFlow::Continue(())
    };
    let g = b.generate(&request, None, &mut on).unwrap();
    eprintln!("{:?} {:?} {:?}", g.text, g.finish, g.timings);
    assert!(!g.tokens.is_empty() && g.tokens.len() <= 12);
    assert_eq!(String::from_utf8_lossy(&streamed), g.text, "the stream adds up to the text");
    assert!(g.text.contains("Paris"), "{:?}", g.text);
    assert!(g.timings.prompt_tokens > 10 && g.timings.prefill_tokens_per_s() > 0.0);

    // Greedy is deterministic.
    let again = b.generate(&request, None, &mut ignore()).unwrap();
    assert_eq!(again.tokens, g.tokens);
}

/// A prompt seen before is not run again: the second generation takes its whole prefill from the prefix cache and
/// writes the same tokens; a longer prompt starting with it (a resumed draft), or sharing its first chunks (a
/// note near the end), runs only what follows the shared part, and writes what an uncached run writes.
#[test]
fn prompts_that_start_like_earlier_ones_reuse_their_prefill() {
    let Some(mut b) = backend() else { return };
    let context = (0..40).map(|i| format!("fn helper_{i}(x: u32) -> u32 {{ x + {i} }}")).collect::<Vec<_>>().join("\n");
    let prompt = format!("{context}\nfn double(x: u32) -> u32 {{");
    let request = GenerateRequest::new(Prompt::Text(prompt.clone()), 6);
    let first = b.generate(&request, None, &mut ignore()).unwrap();
    let again = b.generate(&request, None, &mut ignore()).unwrap();
    assert!(first.timings.prompt_tokens > 300, "{}", first.timings.prompt_tokens);
    assert_eq!(again.timings.prompt_tokens_reused, again.timings.prompt_tokens);
    assert_eq!(again.tokens, first.tokens);

    let resumed = GenerateRequest::new(Prompt::Text(format!("{prompt}\n    x")), 4);
    let r = b.generate(&resumed, None, &mut ignore()).unwrap();
    let boundary = first.timings.prompt_tokens / 128 * 128;
    assert_eq!(r.timings.prompt_tokens_reused, boundary, "the earlier prompt's whole chunks");

    let noted = format!("{context}\n// Note: double it.\nfn double(x: u32) -> u32 {{");
    let n = b.generate(&GenerateRequest::new(Prompt::Text(noted.clone()), 6), None, &mut ignore()).unwrap();
    assert!(n.timings.prompt_tokens_reused >= 256, "whole chunks before the note: {}", n.timings.prompt_tokens_reused);
    assert!(n.timings.prompt_tokens_reused < n.timings.prompt_tokens);

    // The same prompts on a backend without the cache write the same tokens.
    drop(b);
    let Some(path) = model_path() else { return };
    let mut plain = LocalBackend::load(&LocalConfig { prefix_cache: Some(0), ..LocalConfig::new().with_model(path) })
        .expect("the model loads");
    let p = plain.generate(&GenerateRequest::new(Prompt::Text(noted), 6), None, &mut ignore()).unwrap();
    assert_eq!(p.timings.prompt_tokens_reused, 0);
    assert_eq!(p.tokens, n.tokens);
}

/// Digits only (1 to 3 of them), then end of sequence; it records every mask and checks every commit against the
/// last mask, so a step that skipped the mask would fail.
struct Digits {
    digit_mask: Vec<u32>,
    eos_mask: Vec<u32>,
    current: Vec<u32>,
    committed: Vec<u32>,
    masks: usize,
    eos: Vec<u32>,
}

impl Digits {
    fn new(vocab: &Vocabulary) -> Self {
        let words = vocab.len().div_ceil(32);
        let mut digit_mask = vec![0u32; words];
        let mut eos_mask = vec![0u32; words];
        for (id, bytes) in vocab.tokens.iter().enumerate() {
            if !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit) && !vocab.is_special(id as u32) {
                digit_mask[id / 32] |= 1 << (id % 32);
            }
        }
        for &e in &vocab.eos {
            eos_mask[e as usize / 32] |= 1 << (e % 32);
        }
        Digits { digit_mask, eos_mask, current: Vec::new(), committed: Vec::new(), masks: 0, eos: vocab.eos.clone() }
    }
}

impl TokenConstraint for Digits {
    fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
        self.masks += 1;
        self.current = match self.committed.len() {
            0 => self.digit_mask.clone(),
            1 | 2 => self.digit_mask.iter().zip(&self.eos_mask).map(|(d, e)| d | e).collect(),
            _ => self.eos_mask.clone(),
        };
        Ok(&self.current)
    }

    fn commit(&mut self, token: u32) -> Result<(), BoxError> {
        if !mask_allows(&self.current, token) || self.eos.contains(&token) {
            return Err(format!("token {token} was not allowed").into());
        }
        self.committed.push(token);
        Ok(())
    }

    fn is_accepting(&self) -> bool {
        !self.committed.is_empty()
    }
}

#[test]
fn the_mask_is_applied_at_every_step() {
    let Some(mut b) = backend() else { return };
    let vocab = b.vocabulary().unwrap().clone();
    let mut digits = Digits::new(&vocab);
    // A prompt that invites words, not numbers: the mask alone makes the output digits.
    let request = GenerateRequest::new(Prompt::user("Write a short poem about the sea."), 8);
    let g = b.generate(&request, Some(&mut digits), &mut ignore()).unwrap();
    eprintln!("{:?} {:?} masks={}", g.text, g.finish, digits.masks);
    assert!(!g.text.is_empty() && g.text.bytes().all(|c| c.is_ascii_digit()), "{:?}", g.text);
    assert!(matches!(g.finish, FinishReason::Eos | FinishReason::Accepted), "{:?}", g.finish);
    assert_eq!(digits.committed, g.tokens);
    // One mask per sampled token, plus the one that ended generation (EOS chosen, or only EOS left).
    assert_eq!(digits.masks, g.tokens.len() + 1);
    assert!(g.timings.mask > std::time::Duration::ZERO);
}

#[test]
fn seeded_sampling_is_reproducible_and_allow_all_changes_nothing() {
    let Some(mut b) = backend() else { return };
    let vocab_len = b.vocabulary().unwrap().len();
    let chat =
        Prompt::Chat(vec![Message::new(Role::System, "You are terse."), Message::new(Role::User, "Name a color.")]);
    let request = GenerateRequest::new(chat, 6).with_sampling(Sampling::random(0.9, 0.95, 1234));
    let a = b.generate(&request, None, &mut ignore()).unwrap();
    let again = b.generate(&request, None, &mut ignore()).unwrap();
    assert_eq!(a.tokens, again.tokens, "same seed, same tokens");
    let mut all = AllowAll::new(vocab_len);
    let masked = b.generate(&request, Some(&mut all), &mut ignore()).unwrap();
    assert_eq!(masked.tokens, a.tokens, "an all-allowing mask changes no draw");
}

#[test]
fn prompts_render_with_the_chat_template_and_text_round_trips() {
    let Some(b) = backend() else { return };
    let vocab = b.vocabulary().unwrap().clone();
    let ids = b.render_prompt(&Prompt::user("Hi")).unwrap();
    let rendered = String::from_utf8(ids.iter().flat_map(|&t| vocab.token_bytes(t).to_vec()).collect()).unwrap();
    assert_eq!(
        rendered,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    let text = "fn main() {\n    println!(\"héllo 123\");\n}\n<|im_end|>";
    let ids = b.encode(text).unwrap();
    assert_eq!(String::from_utf8(vocab.decode(&ids)).unwrap(), text);
    assert!(!ids.iter().any(|&t| vocab.is_special(t)), "markup in text stays text");
    // Common words are single tokens.
    assert_eq!(b.encode(" the").unwrap().len(), 1);
    assert_eq!(b.encode("Hello world").unwrap().len(), 2);
}

/// Token ids from Hugging Face `tokenizers` 0.23 with SmolLM2's pipeline (individual digits, then byte-level
/// BPE without prefix space) over the GGUF's own vocabulary and merges: the reference the hand-written encoder
/// must match, tricky whitespace, contractions, digits, non-ASCII and bytes missing from the vocabulary included.
#[test]
fn the_tokenizer_matches_the_reference_ids() {
    let Some(b) = backend() else { return };
    let cases: serde_json::Value =
        serde_json::from_str(include_str!("data/smollm2_tokenizer.json")).expect("the test data is JSON");
    for case in cases.as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let expected: Vec<u32> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        assert_eq!(b.encode(text).unwrap(), expected, "{text:?}");
    }
}

#[test]
fn a_grammar_without_a_token_constraint_is_refused() {
    let Some(mut b) = backend() else { return };
    let request = GenerateRequest::new(Prompt::user("x"), 4).with_grammar(Grammar::Regex("[0-9]+".into()));
    let err = b.generate(&request, None, &mut ignore()).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
}

#[test]
fn the_requantized_copy_is_written_beside_the_model_once_then_reused() {
    let Some(path) = model_path() else { return };
    let dir = std::env::temp_dir().join(format!("maze-requant-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("model.gguf");
    std::fs::copy(&path, &model).unwrap();
    let config = LocalConfig::new().with_model(&model);

    let first = LocalBackend::load(&config).unwrap();
    let copy = dir.join("model.q8_0.gguf");
    assert_eq!(first.info().weights_from, copy);
    assert!(first.info().requantized && first.info().requantize_time > std::time::Duration::ZERO);
    assert!(!first.info().weight_types.contains_key("Q4_1"), "{:?}", first.info().weight_types);
    let second = LocalBackend::load(&config).unwrap();
    assert_eq!(second.info().weights_from, copy);
    assert_eq!(second.info().requantize_time, std::time::Duration::ZERO, "the copy is reused");
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries.len(), 2, "no temporary file left: {entries:?}");

    let shipped = LocalBackend::load(&LocalConfig { requantize: Requantize::Never, ..config }).unwrap();
    assert_eq!(shipped.info().weights_from, model);
    assert!(shipped.info().weight_types.contains_key("Q4_1"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_model_says_how_to_fetch_it() {
    let config = LocalConfig::new().with_model("/nonexistent/model.gguf");
    let err = LocalBackend::load(&config).unwrap_err();
    assert!(matches!(err, Error::ModelNotFound { .. }));
    assert!(err.to_string().contains("scripts/fetch-model.sh"), "{err}");
}

/// A fn-body IR: the fixed header, no `unwrap`, no `panic!`.
fn body_ir() -> std::sync::Arc<braid::ConstraintIR> {
    use ananke_core::{Constraint, ConstraintSet, Language, Provenance, Rule, Scope};
    let mut set = ConstraintSet::new();
    for callee in ["unwrap", "panic!", "expect"] {
        set.insert(Constraint::new(Rule::ForbidCall { callee: callee.into() }, Scope::default(), Provenance::user()));
    }
    let config = braid::CompileConfig::new(
        Language::Rust,
        braid::Target::FnBody { signature: "fn parse_port(s: &str) -> Option<u16>".into() },
    );
    std::sync::Arc::new(braid::compile(&set, &config).unwrap())
}

#[test]
fn the_checker_constrains_real_generation_and_every_output_satisfies_the_grammar() {
    let Some(mut b) = backend() else { return };
    let vocab = b.vocabulary().unwrap().clone();
    let cache = maze::ConstraintCache::default();
    let ir = body_ir();
    let (compiled, hit) = cache.get_or_build(&ir, &vocab, b.vocabulary_id().unwrap()).unwrap();
    assert!(!hit);
    for (seed, temperature) in [(0, 0.0), (1, 0.8), (2, 1.2)] {
        let mut checker = compiled.checker();
        let request = GenerateRequest::new(Prompt::user("Parse a TCP port number from a string."), 48)
            .with_sampling(Sampling::random(temperature, 0.95, seed));
        let g = b.generate(&request, Some(&mut checker), &mut ignore()).unwrap();
        eprintln!("{:?} {:?} mask {:?}/token", g.text, g.finish, g.timings.mask_per_token());
        assert!(g.text.starts_with("fn parse_port(s: &str) -> Option<u16> {"), "{:?}", g.text);
        // Every token of the output, replayed through a fresh checker, is allowed where it stands.
        let mut replay = compiled.checker();
        for (i, &t) in g.tokens.iter().enumerate() {
            assert!(
                replay.compute_mask().unwrap().is_allowed(t),
                "token {i} ({:?}) was not allowed",
                vocab.token_bytes(t)
            );
            replay.commit(t).unwrap();
        }
        assert!(!g.text.contains("unwrap(") && !g.text.contains("panic!") && !g.text.contains("expect("));
        // Complete outputs end where the grammar accepts: balanced braces, nothing after the body.
        if matches!(g.finish, FinishReason::Accepted | FinishReason::Eos) {
            assert!(replay.is_accepting() && g.text.ends_with('}'), "{:?}", g.text);
        }
    }
}

#[test]
fn a_hole_is_filled_checked_and_reported_with_the_real_model() {
    let Some(mut b) = backend() else { return };
    let file = "/// Clamps a percentage to 0..=100.\npub fn clamp_percent(value: i64) -> i64 {\n    todo!()\n}\n";
    let sites = maze::holes::find_holes("src/lib.rs", file.as_bytes());
    let config = maze::holes::FillConfig { max_tokens: 64, max_repairs: 1, ..maze::holes::FillConfig::default() };
    let set = ananke_core::ConstraintSet::new();
    let task = maze::holes::fill_task("src/lib.rs", file, &sites[0], &set, &config).unwrap();
    let pipeline = maze::Pipeline::default();
    let outcome = pipeline.run(&mut *b, &task, &mut ignore()).unwrap();
    eprintln!("{:?}\n{}", outcome.code(), outcome.summary());
    assert!(outcome.code().starts_with('{'), "{:?}", outcome.code());
    assert!(!outcome.code().contains("todo!"), "the placeholder ban holds: {:?}", outcome.code());
    // Satisfied means complete and clean; otherwise the report says what is wrong.
    let last = outcome.last();
    assert_eq!(outcome.satisfied(), last.complete && last.violations.is_empty() && last.problems.is_empty());
    assert!(!outcome.enforcement.token_level.is_empty());
    let m = pipeline.cache().metrics();
    assert_eq!((m.misses, m.generation.count as usize), (1, outcome.attempts.len()));
    assert!(m.mask.count > 0);
}
