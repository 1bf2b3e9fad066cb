//! [`VocabIndex`]: what is precomputed once per vocabulary and shared (`Arc`) by every [`crate::Checker`] built on
//! it: a flat token trie for mask walks, per-token facts, and llguidance's tokenizer environment.

use std::sync::Arc;

use llguidance::toktrie::{ApproximateTokEnv, TokEnv, TokRxInfo, TokTrie};

use crate::checker::vocab::Vocabulary;

/// No token ends at this trie node.
pub(crate) const NO_TOKEN: u32 = u32::MAX;

/// A vocabulary with its precomputed indices. Build it once per model and share it: it is immutable and `Send +
/// Sync`, and building one for a 200k vocabulary takes tens of milliseconds.
#[derive(Clone)]
pub struct VocabIndex {
    vocab: Vocabulary,
    /// The trie in depth-first order: the byte leading to each node, its level (root children are level 1), the
    /// token ending there, and the index just past its subtree.
    pub(crate) bytes: Vec<u8>,
    pub(crate) levels: Vec<u16>,
    pub(crate) token: Vec<u32>,
    pub(crate) subtree_end: Vec<u32>,
    /// Tokens whose bytes equal another token's (the trie holds one of them): (kept, duplicate).
    pub(crate) duplicates: Vec<(u32, u32)>,
    /// The longest token, in bytes.
    pub(crate) max_token_len: usize,
    /// The most `}` any token holds: past this depth, brace depth cannot change which tokens are allowed.
    pub(crate) max_closing_braces: u32,
    tok_env: TokEnv,
}

impl std::fmt::Debug for VocabIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VocabIndex")
            .field("name", &self.vocab.name)
            .field("tokens", &self.vocab.len())
            .field("trie_nodes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl VocabIndex {
    /// Indexes a vocabulary.
    pub fn new(vocab: Vocabulary) -> Arc<VocabIndex> {
        let mut order: Vec<u32> =
            (0..vocab.len() as u32).filter(|&t| !vocab.is_special(t) && !vocab.token_bytes(t).is_empty()).collect();
        order.sort_unstable_by(|a, b| vocab.token_bytes(*a).cmp(vocab.token_bytes(*b)).then(a.cmp(b)));
        let mut bytes = vec![0u8];
        let mut levels = vec![0u16];
        let mut token = vec![NO_TOKEN];
        let mut subtree_end = vec![0u32];
        let mut duplicates = Vec::new();
        // The path of open nodes: node index per level.
        let mut path: Vec<u32> = vec![0];
        let mut prev: &[u8] = &[];
        for &t in &order {
            let word = vocab.token_bytes(t);
            if word == prev {
                let kept = token[*path.last().unwrap_or(&0) as usize];
                duplicates.push((kept, t));
                continue;
            }
            let common = word.iter().zip(prev).take_while(|(a, b)| a == b).count();
            // Close the nodes below the common prefix.
            while path.len() > common + 1 {
                let closed = path.pop().unwrap_or(0);
                subtree_end[closed as usize] = bytes.len() as u32;
            }
            for (i, &b) in word.iter().enumerate().skip(common) {
                let at = bytes.len() as u32;
                bytes.push(b);
                levels.push((i + 1) as u16);
                token.push(NO_TOKEN);
                subtree_end.push(0);
                path.push(at);
            }
            let last = *path.last().unwrap_or(&0) as usize;
            token[last] = t;
            prev = word;
        }
        while let Some(closed) = path.pop() {
            subtree_end[closed as usize] = bytes.len() as u32;
        }
        let max_token_len = order.iter().map(|&t| vocab.token_bytes(t).len()).max().unwrap_or(0);
        let max_closing_braces = order
            .iter()
            .map(|&t| vocab.token_bytes(t).iter().filter(|&&b| b == b'}').count() as u32)
            .max()
            .unwrap_or(0);
        let tok_env = tok_env(&vocab);
        Arc::new(VocabIndex {
            vocab,
            bytes,
            levels,
            token,
            subtree_end,
            duplicates,
            max_token_len,
            max_closing_braces,
            tok_env,
        })
    }

    /// The vocabulary.
    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocab
    }

    /// The number of token ids (the length of every mask).
    pub fn len(&self) -> usize {
        self.vocab.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.vocab.is_empty()
    }

    /// llguidance's view of the vocabulary (for the parts of a grammar braid hands to llguidance, and to compare).
    pub fn tok_env(&self) -> &TokEnv {
        &self.tok_env
    }

    /// The number of trie nodes (a measure of the work of one uncached mask).
    pub fn trie_nodes(&self) -> usize {
        self.bytes.len()
    }
}

fn tok_env(vocab: &Vocabulary) -> TokEnv {
    let mut words: Vec<Vec<u8>> = Vec::with_capacity(vocab.len());
    for (t, bytes) in vocab.tokens.iter().enumerate() {
        if vocab.is_special(t as u32) {
            // toktrie marks control tokens with a leading 0xFF byte.
            let mut marked = vec![0xFF];
            marked.extend_from_slice(if bytes.is_empty() { b"<|unused|>" } else { bytes });
            words.push(marked);
        } else {
            words.push(bytes.clone());
        }
    }
    let eos = vocab.eos.first().copied().unwrap_or(0);
    let info = TokRxInfo::new(vocab.len() as u32, eos);
    let trie = TokTrie::from(&info, &words);
    Arc::new(ApproximateTokEnv::new(trie))
}
