//! Shared helpers for braid's integration tests: a real vocabulary (cl100k, embedded in tiktoken-rs) and llguidance
//! matchers built from emitted grammars.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use llguidance::api::TopLevelGrammar;
use llguidance::toktrie::{ApproximateTokEnv, TokEnv, TokRxInfo, TokTrie, TokenId};
use llguidance::{Matcher, ParserFactory};

/// cl100k's ordinary tokens end here; its special tokens follow.
const CL100K_SIZE: u32 = 100_277;
const CL100K_EOS: u32 = 100_257;

/// The cl100k vocabulary as an llguidance tokenizer environment, built once per test binary.
pub fn cl100k() -> &'static ParserFactory {
    static FACTORY: OnceLock<ParserFactory> = OnceLock::new();
    FACTORY.get_or_init(|| {
        let bpe = tiktoken_rs::cl100k_base_singleton();
        let mut words: Vec<Vec<u8>> = Vec::with_capacity(CL100K_SIZE as usize);
        for rank in 0..CL100K_SIZE {
            let bytes = bpe.decode_bytes(&[rank]).unwrap_or_default();
            // toktrie marks special tokens with a leading 0xFF byte.
            if rank >= CL100K_EOS {
                let mut marked = vec![0xFF];
                marked.extend_from_slice(&bytes);
                words.push(marked);
            } else {
                words.push(bytes);
            }
        }
        let info = TokRxInfo::new(CL100K_SIZE, CL100K_EOS);
        let trie = TokTrie::from(&info, &words);
        let env: TokEnv = Arc::new(ApproximateTokEnv::new(trie));
        let mut factory = ParserFactory::new_simple(&env).expect("parser factory");
        // llguidance's default limits: the grammars braid emits must work as vLLM, SGLang or llama.cpp would run them.
        factory.quiet();
        factory
    })
}

/// Tokenizes text with cl100k's real BPE (not greedy), the way a model would have produced it.
pub fn tokenize(text: &str) -> Vec<TokenId> {
    tiktoken_rs::cl100k_base_singleton().encode_ordinary(text)
}

/// A token id for exact bytes, if the vocabulary has one.
pub fn token_for(bytes: &str) -> Option<TokenId> {
    cl100k().tok_env().tok_trie().token_id(bytes.as_bytes())
}

/// Builds a matcher for a Lark grammar; the error text if llguidance rejects the grammar.
pub fn matcher(lark: &str) -> Result<Matcher, String> {
    let factory = cl100k();
    let parser = factory.create_parser(TopLevelGrammar::from_lark(lark.to_owned())).map_err(|e| e.to_string())?;
    let matcher = Matcher::new(Ok(parser));
    match matcher.get_error() {
        Some(e) => Err(e),
        None => Ok(matcher),
    }
}

/// Walks tokens through the grammar, checking each against the mask first. Returns how many were accepted and
/// whether the grammar accepts at the end.
pub fn walk(matcher: &mut Matcher, tokens: &[TokenId]) -> (usize, bool) {
    for (i, &token) in tokens.iter().enumerate() {
        let mask = match matcher.compute_mask() {
            Ok(mask) => mask,
            Err(e) => {
                eprintln!("llguidance: {e}");
                return (i, false);
            }
        };
        if !mask.is_allowed(token) {
            return (i, false);
        }
        if matcher.consume_token(token).is_err() {
            return (i, false);
        }
    }
    let accepting = matcher.is_accepting().unwrap_or(false);
    (tokens.len(), accepting)
}

/// Walks text split into the given pieces, each piece tokenized separately, so token boundaries fall where the test
/// wants them.
pub fn walk_pieces(matcher: &mut Matcher, pieces: &[&str]) -> (usize, bool) {
    let tokens: Vec<TokenId> = pieces.iter().flat_map(|p| tokenize(p)).collect();
    walk(matcher, &tokens)
}
