//! [`VocabIndex`]: what is precomputed once per vocabulary and shared (`Arc`) by every [`crate::Checker`] built on
//! it: a flat token trie for mask walks, per-token facts, and llguidance's tokenizer environment.

use std::sync::Arc;

use llguidance::toktrie::{ApproximateTokEnv, TokEnv, TokRxInfo, TokTrie};

use crate::checker::vocab::Vocabulary;

/// No token ends at this trie node.
pub(crate) const NO_TOKEN: u32 = u32::MAX;

/// A trie node: the token ending there (or [`NO_TOKEN`]), the index just past its subtree, its level (root children
/// are level 1) and the byte leading to it. Packed so a walk reads one cache line per five nodes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub token: u32,
    pub end: u32,
    pub level: u16,
    pub byte: u8,
}

/// A vocabulary with its precomputed indices. Build it once per model and share it: it is immutable and `Send +
/// Sync`, and building one for a 200k vocabulary takes tens of milliseconds.
pub struct VocabIndex {
    vocab: Vocabulary,
    /// The trie in depth-first order (node 0 is the root).
    pub(crate) nodes: Vec<Node>,
    /// Tokens that hold a `}`: the only ones whose fate depends on the brace depth.
    pub(crate) closers: Vec<u32>,
    /// The children of the trie's root (one per first byte).
    pub(crate) root_children: Vec<u32>,
    /// Tokens whose bytes equal another token's (the trie holds one of them): (kept, duplicate).
    pub(crate) duplicates: Vec<(u32, u32)>,
    /// The longest token, in bytes.
    pub(crate) max_token_len: usize,
    /// The most `}` any token holds: past this depth, brace depth cannot change which tokens are allowed.
    pub(crate) max_closing_braces: u32,
    tok_env: TokEnv,
    /// llguidance's parser factory for this vocabulary (default limits), built on first use: building one takes
    /// hundreds of milliseconds on a large vocabulary, so it is shared by every checker.
    factory: std::sync::OnceLock<Result<llguidance::ParserFactory, String>>,
    /// Per language and literal/comment state: the tokens that stay inside literals and comments, and where the
    /// others leave them. Independent of the constraints, so shared by every checker of the vocabulary.
    pub(crate) items: std::sync::Mutex<std::collections::HashMap<(ananke_core::Language, u32), Arc<ItemClasses>>>,
    /// The syntax layer's walks (Rust): independent of the constraints, so shared by every checker of the
    /// vocabulary.
    pub(crate) syntax: std::sync::Mutex<crate::checker::syntax::SyntaxMemo>,
    /// The static token classes of the syntax layer, built on first use.
    pub(crate) syntax_classes: std::sync::OnceLock<crate::checker::syntax::SyntaxClasses>,
}

/// The static token classes of one literal/comment state (see [`VocabIndex`]): the tokens whose bytes all stay in
/// literal and comment states, and the trie nodes where a path leaves them (with the local state just before).
#[derive(Debug)]
pub(crate) struct ItemClasses {
    pub inside: crate::checker::TokenMask,
    pub exits: Vec<(u32, u32)>,
}

impl std::fmt::Debug for VocabIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VocabIndex")
            .field("name", &self.vocab.name)
            .field("tokens", &self.vocab.len())
            .field("trie_nodes", &self.nodes.len())
            .finish_non_exhaustive()
    }
}

impl VocabIndex {
    /// Indexes a vocabulary.
    pub fn new(vocab: Vocabulary) -> Arc<VocabIndex> {
        let mut order: Vec<u32> =
            (0..vocab.len() as u32).filter(|&t| !vocab.is_special(t) && !vocab.token_bytes(t).is_empty()).collect();
        order.sort_unstable_by(|a, b| vocab.token_bytes(*a).cmp(vocab.token_bytes(*b)).then(a.cmp(b)));
        let mut nodes: Vec<Node> = vec![Node { token: NO_TOKEN, end: 0, level: 0, byte: 0 }];
        let mut duplicates = Vec::new();
        // The path of open nodes: node index per level.
        let mut path: Vec<u32> = vec![0];
        let mut prev: &[u8] = &[];
        for &t in &order {
            let word = vocab.token_bytes(t);
            if word == prev {
                let kept = nodes[*path.last().unwrap_or(&0) as usize].token;
                duplicates.push((kept, t));
                continue;
            }
            let common = word.iter().zip(prev).take_while(|(a, b)| a == b).count();
            // Close the nodes below the common prefix.
            while path.len() > common + 1 {
                let closed = path.pop().unwrap_or(0);
                nodes[closed as usize].end = nodes.len() as u32;
            }
            for (i, &b) in word.iter().enumerate().skip(common) {
                let at = nodes.len() as u32;
                nodes.push(Node { token: NO_TOKEN, end: 0, level: (i + 1) as u16, byte: b });
                path.push(at);
            }
            let last = *path.last().unwrap_or(&0) as usize;
            nodes[last].token = t;
            prev = word;
        }
        while let Some(closed) = path.pop() {
            nodes[closed as usize].end = nodes.len() as u32;
        }
        let closers: Vec<u32> = order.iter().copied().filter(|&t| vocab.token_bytes(t).contains(&b'}')).collect();
        let max_token_len = order.iter().map(|&t| vocab.token_bytes(t).len()).max().unwrap_or(0);
        let max_closing_braces = order
            .iter()
            .map(|&t| vocab.token_bytes(t).iter().filter(|&&b| b == b'}').count() as u32)
            .max()
            .unwrap_or(0);
        let tok_env = tok_env(&vocab);
        let root_children: Vec<u32> =
            nodes.iter().enumerate().filter(|(_, n)| n.level == 1).map(|(i, _)| i as u32).collect();
        Arc::new(VocabIndex {
            vocab,
            nodes,
            closers,
            root_children,
            duplicates,
            max_token_len,
            max_closing_braces,
            tok_env,
            factory: std::sync::OnceLock::new(),
            items: std::sync::Mutex::new(std::collections::HashMap::new()),
            syntax: std::sync::Mutex::new(crate::checker::syntax::SyntaxMemo::default()),
            syntax_classes: std::sync::OnceLock::new(),
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

    /// Token ids for a text, as a model would likely have produced them: tiktoken's BPE for cl100k and o200k, and
    /// otherwise the longest vocabulary match at each position (a valid spelling, not always the model's). Bytes no
    /// token spells are skipped.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        match self.vocab.name.as_str() {
            "cl100k" => tiktoken_rs::cl100k_base_singleton().encode_ordinary(text),
            "o200k" => tiktoken_rs::o200k_base_singleton().encode_ordinary(text),
            _ => {
                let mut out = Vec::new();
                let mut rest = text.as_bytes();
                while !rest.is_empty() {
                    match self.longest_token(rest) {
                        Some((len, token)) => {
                            out.push(token);
                            rest = &rest[len..];
                        }
                        None => rest = &rest[1..],
                    }
                }
                out
            }
        }
    }

    /// The longest token that is a prefix of `bytes`: (length, token).
    pub(crate) fn longest_token(&self, bytes: &[u8]) -> Option<(usize, u32)> {
        let mut best = None;
        let mut i = 1usize;
        let mut level = 0usize;
        let nodes = &self.nodes;
        while i < nodes.len() && level < bytes.len() {
            let node = nodes[i];
            if node.level as usize <= level {
                break;
            }
            if node.byte == bytes[level] {
                level += 1;
                if node.token != NO_TOKEN {
                    best = Some((level, node.token));
                }
                i += 1;
            } else {
                i = node.end as usize;
            }
        }
        best
    }

    /// llguidance's parser factory for this vocabulary, with its default limits.
    pub(crate) fn parser_factory(&self) -> Result<&llguidance::ParserFactory, &String> {
        self.factory
            .get_or_init(|| {
                let mut factory = llguidance::ParserFactory::new_simple(&self.tok_env).map_err(|e| e.to_string())?;
                factory.quiet();
                Ok(factory)
            })
            .as_ref()
    }

    /// The number of trie nodes (a measure of the work of one uncached mask).
    pub fn trie_nodes(&self) -> usize {
        self.nodes.len()
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
