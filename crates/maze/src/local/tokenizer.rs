//! A byte-level BPE tokenizer (GPT-2 style) built from a GGUF file's own metadata, so nothing is downloaded.
//!
//! It does what llama.cpp does for `tokenizer.ggml.model = "gpt2"`: split the text with the pre-tokenizer regexes
//! named by `tokenizer.ggml.pre`, map each piece's bytes to GPT-2's printable characters, and merge by rank. Text is
//! always encoded as text: a prompt that contains `<|im_end|>` gets the characters, never the control token, so a
//! user message cannot forge chat markup.

use std::collections::HashMap;

use fancy_regex::Regex;

/// Token types of `tokenizer.ggml.token_type` (llama.cpp's `llama_token_type`).
const TYPE_UNKNOWN: i64 = 2;
const TYPE_CONTROL: i64 = 3;
const TYPE_USER_DEFINED: i64 = 4;

/// GPT-2's split: contractions, letters, numbers, other symbols, and whitespace (a run of spaces gives its last
/// space to the next word).
const GPT2_REGEX: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
/// Llama 3's split: case-insensitive contractions, numbers in groups of up to three, newlines kept apart.
const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The tokenizer-related parts of a GGUF file's metadata.
#[derive(Debug, Default)]
pub(crate) struct TokenizerSpec {
    /// `tokenizer.ggml.model`.
    pub model: String,
    /// `tokenizer.ggml.pre` (empty when absent).
    pub pre: String,
    pub tokens: Vec<String>,
    /// `tokenizer.ggml.token_type`; empty when absent (everything normal).
    pub token_types: Vec<i64>,
    pub merges: Vec<String>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub add_bos: bool,
}

/// A byte-level BPE tokenizer.
#[derive(Debug)]
pub(crate) struct Tokenizer {
    pre: Vec<Regex>,
    /// The token of each single byte. Some vocabularies (SmolLM2's) lack a few control bytes: like HF tokenizers
    /// and llama.cpp, encoding drops those bytes.
    byte_tokens: [Option<u32>; 256],
    /// `(left << 32 | right)` → (rank, merged token).
    merges: HashMap<u64, (u32, u32)>,
    /// Control and user-defined tokens by their text, for chat templates.
    specials: HashMap<String, u32>,
    /// Each token's bytes.
    bytes: Vec<Vec<u8>>,
    special_ids: Vec<u32>,
    eos_ids: Vec<u32>,
    bos: Option<u32>,
    add_bos: bool,
}

/// Texts of end-of-generation control tokens across model families (llama.cpp treats them the same way).
const END_OF_GENERATION: &[&str] =
    &["<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<end_of_turn>", "<|end_of_text|>"];

impl Tokenizer {
    pub(crate) fn new(spec: &TokenizerSpec) -> Result<Self, String> {
        if spec.model != "gpt2" {
            return Err(format!(
                "tokenizer.ggml.model is {:?}; maze reads byte-level BPE (\"gpt2\") vocabularies only",
                spec.model
            ));
        }
        let pre = pre_tokenizer(&spec.pre)?;
        let to_byte = char_to_byte();
        let n = spec.tokens.len();
        if n == 0 || n > u32::MAX as usize {
            return Err(format!("the vocabulary has {n} tokens"));
        }
        let type_of = |id: usize| spec.token_types.get(id).copied().unwrap_or(1);

        let mut ids: HashMap<&str, u32> = HashMap::with_capacity(n);
        let mut bytes = Vec::with_capacity(n);
        let mut specials = HashMap::new();
        let mut special_ids = Vec::new();
        for (id, text) in spec.tokens.iter().enumerate() {
            let ty = type_of(id);
            let id = id as u32;
            ids.entry(text.as_str()).or_insert(id);
            if matches!(ty, TYPE_CONTROL | TYPE_USER_DEFINED | TYPE_UNKNOWN) {
                specials.insert(text.clone(), id);
                bytes.push(text.as_bytes().to_vec());
                if ty != TYPE_USER_DEFINED {
                    special_ids.push(id);
                }
            } else {
                bytes.push(decode_byte_level(text, &to_byte));
            }
        }

        let byte_to = byte_to_char();
        let mut byte_tokens = [None; 256];
        for (b, slot) in byte_tokens.iter_mut().enumerate() {
            *slot = ids.get(byte_to[b].to_string().as_str()).copied();
        }
        if byte_tokens.iter().filter(|t| t.is_some()).count() < 128 {
            return Err("the vocabulary lacks most single-byte tokens: not a byte-level BPE vocabulary".into());
        }

        let mut merges = HashMap::with_capacity(spec.merges.len());
        for (rank, line) in spec.merges.iter().enumerate() {
            let Some((a, b)) = line.split_once(' ') else {
                return Err(format!("merge {rank} ({line:?}) is not two tokens"));
            };
            let (Some(&left), Some(&right)) = (ids.get(a), ids.get(b)) else { continue };
            let Some(&merged) = ids.get(format!("{a}{b}").as_str()) else { continue };
            merges.entry(u64::from(left) << 32 | u64::from(right)).or_insert((rank as u32, merged));
        }

        let mut eos_ids: Vec<u32> = spec.eos.into_iter().chain(spec.eot).filter(|&t| (t as usize) < n).collect();
        for text in END_OF_GENERATION {
            if let Some(&id) = specials.get(*text)
                && type_of(id as usize) == TYPE_CONTROL
            {
                eos_ids.push(id);
            }
        }
        eos_ids.sort_unstable();
        eos_ids.dedup();
        let bos = spec.bos.filter(|&t| (t as usize) < n);
        special_ids.extend(eos_ids.iter().copied().chain(bos));
        special_ids.sort_unstable();
        special_ids.dedup();
        Ok(Tokenizer { pre, byte_tokens, merges, specials, bytes, special_ids, eos_ids, bos, add_bos: spec.add_bos })
    }

    /// Encodes `text` as text (no special tokens), appending to `out`.
    pub(crate) fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> Result<(), String> {
        let mut pieces = vec![text];
        for re in &self.pre {
            let mut next = Vec::with_capacity(pieces.len() * 2);
            for piece in pieces {
                let mut last = 0;
                for m in re.find_iter(piece) {
                    let m = m.map_err(|e| format!("pre-tokenizer regex failed: {e}"))?;
                    if m.start() > last {
                        next.push(&piece[last..m.start()]);
                    }
                    if m.end() > m.start() {
                        next.push(m.as_str());
                    }
                    last = m.end();
                }
                if last < piece.len() {
                    next.push(&piece[last..]);
                }
            }
            pieces = next;
        }
        for piece in pieces {
            self.bpe(piece.as_bytes(), out);
        }
        Ok(())
    }

    /// Encodes `text` as text.
    pub(crate) fn encode(&self, text: &str) -> Result<Vec<u32>, String> {
        let mut out = Vec::new();
        self.encode_into(text, &mut out)?;
        Ok(out)
    }

    /// Merges one pre-tokenized piece, lowest rank first (the leftmost among equals), as GPT-2 does.
    fn bpe(&self, piece: &[u8], out: &mut Vec<u32>) {
        let mut symbols: Vec<u32> = piece.iter().filter_map(|&b| self.byte_tokens[b as usize]).collect();
        while symbols.len() > 1 {
            let mut best: Option<(u32, usize, u32)> = None;
            for (i, pair) in symbols.windows(2).enumerate() {
                if let Some(&(rank, merged)) = self.merges.get(&(u64::from(pair[0]) << 32 | u64::from(pair[1])))
                    && best.is_none_or(|(r, _, _)| rank < r)
                {
                    best = Some((rank, i, merged));
                }
            }
            let Some((_, i, merged)) = best else { break };
            symbols[i] = merged;
            symbols.remove(i + 1);
        }
        out.extend_from_slice(&symbols);
    }

    /// The id of a control or user-defined token written as `text`.
    pub(crate) fn special(&self, text: &str) -> Option<u32> {
        self.specials.get(text).copied()
    }

    pub(crate) fn bos(&self) -> Option<u32> {
        self.bos
    }

    pub(crate) fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// The vocabulary view, named `name`: bytes per token, EOS, BOS, control tokens.
    pub(crate) fn vocabulary(&self, name: &str) -> crate::Vocabulary {
        crate::Vocabulary {
            name: name.to_owned(),
            tokens: self.bytes.clone(),
            eos: self.eos_ids.clone(),
            bos: self.bos,
            special: self.special_ids.clone(),
        }
    }
}

fn pre_tokenizer(pre: &str) -> Result<Vec<Regex>, String> {
    let patterns: &[&str] = match pre {
        // Digits one by one, then GPT-2's split (llama.cpp groups these, as StarCoder's tokenizer does).
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva-7b" => {
            &[r"\p{N}", GPT2_REGEX]
        }
        "" | "default" | "gpt2" | "gpt-2" | "mpt" | "olmo" | "jais" => &[GPT2_REGEX],
        "llama3" | "llama-v3" | "llama-bpe" | "smaug-bpe" | "falcon3" | "pixtral" => &[LLAMA3_REGEX],
        other => {
            return Err(format!("tokenizer.ggml.pre is {other:?}, a pre-tokenizer maze does not know"));
        }
    };
    patterns.iter().map(|p| Regex::new(p).map_err(|e| format!("bad pre-tokenizer regex: {e}"))).collect()
}

/// GPT-2's map from bytes to printable characters: printable Latin-1 bytes stand for themselves, the others are
/// shifted to U+0100 and up (a space becomes `Ġ`, a newline `Ċ`).
fn byte_to_char() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        table[b as usize] = if printable {
            char::from(b)
        } else {
            let c = char::from_u32(next).unwrap_or('\u{FFFD}');
            next += 1;
            c
        };
    }
    table
}

fn char_to_byte() -> HashMap<char, u8> {
    byte_to_char().iter().enumerate().map(|(b, &c)| (c, b as u8)).collect()
}

/// A token's text back to bytes. A character outside GPT-2's map (not in well-formed vocabularies) keeps its
/// UTF-8 bytes.
fn decode_byte_level(text: &str, to_byte: &HashMap<char, u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match to_byte.get(&c) {
            Some(&b) => out.push(b),
            None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny vocabulary: every byte, a few merges, two control tokens.
    fn toy(pre: &str) -> Tokenizer {
        let b2c = byte_to_char();
        let mut tokens: Vec<String> = vec!["<|endoftext|>".into(), "<|im_start|>".into(), "<|im_end|>".into()];
        tokens.extend((0..=255u8).map(|b| b2c[b as usize].to_string()));
        let merges = ["Ġ t", "h e", "Ġt he", "l l", "e ll", "ell o", "1 2"];
        for m in merges {
            let (a, b) = m.split_once(' ').unwrap();
            tokens.push(format!("{a}{b}"));
        }
        let mut token_types = vec![3, 3, 3];
        token_types.resize(tokens.len(), 1);
        Tokenizer::new(&TokenizerSpec {
            model: "gpt2".into(),
            pre: pre.into(),
            tokens,
            token_types,
            merges: merges.iter().map(|s| (*s).to_string()).collect(),
            bos: Some(1),
            eos: Some(2),
            eot: None,
            add_bos: false,
        })
        .unwrap()
    }

    fn round_trip(t: &Tokenizer, text: &str) -> Vec<u32> {
        let ids = t.encode(text).unwrap();
        let v = t.vocabulary("toy");
        assert_eq!(String::from_utf8(v.decode(&ids)).unwrap(), text);
        ids
    }

    #[test]
    fn merges_apply_by_rank_and_text_round_trips() {
        let t = toy("smollm");
        let v = t.vocabulary("toy");
        let ids = round_trip(&t, "hello the");
        let pieces: Vec<String> = ids.iter().map(|&i| String::from_utf8_lossy(v.token_bytes(i)).into()).collect();
        // "h e" (rank 1) goes before "l l" (rank 3), which leaves "e ll" nothing to merge.
        assert_eq!(pieces, ["he", "ll", "o", " the"]);
        round_trip(&t, "naïve 日本 \t\n  x\r\n");
    }

    #[test]
    fn smollm_splits_digits_one_by_one_but_gpt2_does_not() {
        let v = toy("smollm").vocabulary("toy");
        let ids = toy("smollm").encode("12").unwrap();
        assert_eq!(ids.len(), 2, "{:?}", v.decode(&ids));
        assert_eq!(toy("gpt2").encode("12").unwrap().len(), 1);
    }

    #[test]
    fn markup_in_text_stays_text() {
        let t = toy("smollm");
        let ids = round_trip(&t, "<|im_end|>");
        assert!(!ids.contains(&2));
        assert_eq!(t.special("<|im_end|>"), Some(2));
        let v = t.vocabulary("toy");
        assert_eq!(v.eos, vec![0, 2], "<|endoftext|> ends generation too");
        assert_eq!(v.special, vec![0, 1, 2]);
        assert_eq!(v.token_bytes(2), b"<|im_end|>");
    }

    #[test]
    fn unknown_models_and_pre_tokenizers_are_refused() {
        let spec = TokenizerSpec { model: "llama".into(), tokens: vec!["a".into()], ..TokenizerSpec::default() };
        assert!(Tokenizer::new(&spec).unwrap_err().contains("byte-level BPE"));
        assert!(pre_tokenizer("mystery").unwrap_err().contains("mystery"));
    }

    #[test]
    fn whitespace_runs_leave_their_last_space_to_the_next_word() {
        let re = Regex::new(GPT2_REGEX).unwrap();
        let parts: Vec<&str> = re.find_iter("a   b\n\nc").map(|m| m.unwrap().as_str()).collect();
        assert_eq!(parts, ["a", "  ", " b", "\n", "\n", "c"]);
    }
}
