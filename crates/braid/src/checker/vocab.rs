//! Vocabularies: token id → bytes, end-of-sequence and control tokens, read offline from a HF `tokenizer.json`
//! (byte-level BPE or SentencePiece-style byte fallback), from the tiktoken encodings embedded in `tiktoken-rs`
//! (cl100k, o200k), or from the metadata of a GGUF model file.

use std::collections::HashMap;

use crate::checker::CheckError;

/// A model's vocabulary: what each token id adds to the output, and which ids end generation or are control tokens.
///
/// Plain data (the same fields as maze's `Vocabulary`), built once per model and shared behind an `Arc` through a
/// [`crate::VocabIndex`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vocabulary {
    /// A short name for reports (`cl100k`, `tokenizer.json`, the GGUF model name).
    pub name: String,
    /// The bytes of each token id. For control tokens, their written form (`<|endoftext|>`), which emitting the token
    /// never adds to the output.
    pub tokens: Vec<Vec<u8>>,
    /// Tokens that end generation, sorted.
    pub eos: Vec<u32>,
    /// The token that starts a sequence, if any.
    pub bos: Option<u32>,
    /// Control tokens (end and start of sequence included), sorted: never allowed as text.
    pub special: Vec<u32>,
}

/// The tiktoken encodings embedded in `tiktoken-rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tiktoken {
    /// cl100k_base (GPT-4, GPT-3.5): 100,277 ids.
    Cl100k,
    /// o200k_base (GPT-4o): 200,019 ids.
    O200k,
}

impl Vocabulary {
    /// The number of token ids.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the vocabulary has no token.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The bytes of a token (empty past the end).
    pub fn token_bytes(&self, token: u32) -> &[u8] {
        self.tokens.get(token as usize).map_or(&[], Vec::as_slice)
    }

    /// Whether a token ends generation.
    pub fn is_eos(&self, token: u32) -> bool {
        self.eos.binary_search(&token).is_ok()
    }

    /// Whether a token is a control token.
    pub fn is_special(&self, token: u32) -> bool {
        self.special.binary_search(&token).is_ok()
    }

    /// The text of a token sequence (control tokens left out).
    pub fn decode(&self, tokens: &[u32]) -> Vec<u8> {
        let mut out = Vec::new();
        for &t in tokens {
            if !self.is_special(t) {
                out.extend_from_slice(self.token_bytes(t));
            }
        }
        out
    }

    fn finish(mut self) -> Self {
        self.eos.sort_unstable();
        self.eos.dedup();
        self.special.extend(self.eos.iter().copied());
        self.special.extend(self.bos);
        self.special.sort_unstable();
        self.special.dedup();
        self
    }

    /// A tiktoken encoding embedded in `tiktoken-rs`. Ids without a token are control tokens with no text.
    pub fn tiktoken(encoding: Tiktoken) -> Vocabulary {
        let (bpe, size, specials, name): (&tiktoken_rs::CoreBPE, u32, &[(&str, u32)], &str) = match encoding {
            Tiktoken::Cl100k => (
                tiktoken_rs::cl100k_base_singleton(),
                100_277,
                &[
                    ("<|endoftext|>", 100_257),
                    ("<|fim_prefix|>", 100_258),
                    ("<|fim_middle|>", 100_259),
                    ("<|fim_suffix|>", 100_260),
                    ("<|endofprompt|>", 100_276),
                ],
                "cl100k",
            ),
            Tiktoken::O200k => (
                tiktoken_rs::o200k_base_singleton(),
                200_019,
                &[("<|endoftext|>", 199_999), ("<|endofprompt|>", 200_018)],
                "o200k",
            ),
        };
        let mut v = Vocabulary { name: name.to_owned(), ..Vocabulary::default() };
        v.tokens.reserve(size as usize);
        for rank in 0..size {
            match specials.iter().find(|(_, id)| *id == rank) {
                Some((text, _)) => {
                    v.tokens.push(text.as_bytes().to_vec());
                    v.special.push(rank);
                }
                None => match bpe.decode_bytes(&[rank]) {
                    Ok(bytes) if !bytes.is_empty() => v.tokens.push(bytes),
                    _ => {
                        v.tokens.push(Vec::new());
                        v.special.push(rank);
                    }
                },
            }
        }
        v.eos.push(specials[0].1);
        v.finish()
    }

    /// A HF `tokenizer.json`: BPE models, byte-level (GPT-2, Llama 3, Qwen) or with SentencePiece byte fallback
    /// (`<0x41>` tokens, `▁` for a space). Added tokens marked special are control tokens; end of sequence is
    /// recognized by name (`<|eot_id|>`, `<|end_of_text|>`, `<|endoftext|>`, `<|im_end|>`, `</s>`, ...).
    pub fn from_tokenizer_json(json: &[u8]) -> Result<Vocabulary, CheckError> {
        let bad = |why: &str| CheckError::Vocabulary(format!("tokenizer.json: {why}"));
        let doc: serde_json::Value = serde_json::from_slice(json).map_err(|e| bad(&e.to_string()))?;
        let model = doc.get("model").ok_or_else(|| bad("no `model`"))?;
        let vocab = model.get("vocab").and_then(serde_json::Value::as_object).ok_or_else(|| bad("no `model.vocab`"))?;
        let byte_level = mentions(&doc, "ByteLevel");
        let byte_fallback = model.get("byte_fallback").and_then(serde_json::Value::as_bool).unwrap_or(false);
        let mut entries: Vec<(u32, Vec<u8>)> = Vec::with_capacity(vocab.len());
        let unicode_to_byte = gpt2_unicode_to_byte();
        for (text, id) in vocab {
            let id = id.as_u64().ok_or_else(|| bad("a token id is not a number"))? as u32;
            let bytes = if byte_level {
                decode_byte_level(text, &unicode_to_byte)
            } else {
                decode_sentencepiece(text, byte_fallback)
            };
            entries.push((id, bytes));
        }
        let mut specials: Vec<(u32, String)> = Vec::new();
        for added in doc.get("added_tokens").and_then(serde_json::Value::as_array).into_iter().flatten() {
            let (Some(id), Some(content)) = (
                added.get("id").and_then(serde_json::Value::as_u64),
                added.get("content").and_then(serde_json::Value::as_str),
            ) else {
                continue;
            };
            let special = added.get("special").and_then(serde_json::Value::as_bool).unwrap_or(true);
            entries.push((id as u32, content.as_bytes().to_vec()));
            if special {
                specials.push((id as u32, content.to_owned()));
            }
        }
        let name = "tokenizer.json".to_owned();
        Ok(assemble(name, entries, &specials))
    }

    /// The vocabulary embedded in a GGUF model file's metadata (`tokenizer.ggml.*`): `gpt2` (byte-level) and `llama`
    /// (SentencePiece with byte tokens) models. Only the metadata is read; `bytes` may be just the file's beginning
    /// as long as it holds the whole metadata section.
    pub fn from_gguf(bytes: &[u8]) -> Result<Vocabulary, CheckError> {
        let meta = gguf::read_metadata(bytes)?;
        let bad = |why: &str| CheckError::Vocabulary(format!("GGUF: {why}"));
        let Some(gguf::Value::Array(tokens)) = meta.get("tokenizer.ggml.tokens") else {
            return Err(bad("no tokenizer.ggml.tokens"));
        };
        let model = match meta.get("tokenizer.ggml.model") {
            Some(gguf::Value::String(s)) => s.as_str(),
            _ => "gpt2",
        };
        let types: Vec<i64> = match meta.get("tokenizer.ggml.token_type") {
            Some(gguf::Value::Array(items)) => items.iter().map(|v| v.as_int().unwrap_or(1)).collect(),
            _ => Vec::new(),
        };
        let unicode_to_byte = gpt2_unicode_to_byte();
        let mut entries = Vec::with_capacity(tokens.len());
        let mut specials = Vec::new();
        for (id, item) in tokens.iter().enumerate() {
            let gguf::Value::String(text) = item else { return Err(bad("a token is not a string")) };
            let kind = types.get(id).copied().unwrap_or(1);
            // Token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
            let bytes = match (model, kind) {
                (_, 3 | 5) => {
                    specials.push((id as u32, text.clone()));
                    text.as_bytes().to_vec()
                }
                (_, 4) => text.as_bytes().to_vec(),
                ("llama", _) => decode_sentencepiece(text, true),
                _ => decode_byte_level(text, &unicode_to_byte),
            };
            entries.push((id as u32, bytes));
        }
        let name = match meta.get("general.name") {
            Some(gguf::Value::String(s)) => s.clone(),
            _ => "gguf".to_owned(),
        };
        let mut v = assemble(name, entries, &specials);
        let id_of = |key: &str| meta.get(key).and_then(gguf::Value::as_int).map(|i| i as u32);
        // The file says which tokens end generation; names are only a guess for tokenizer.json.
        if let Some(eos) = id_of("tokenizer.ggml.eos_token_id") {
            v.eos = vec![eos];
        }
        if let Some(eot) = id_of("tokenizer.ggml.eot_token_id") {
            v.eos.push(eot);
        }
        if let Some(bos) = id_of("tokenizer.ggml.bos_token_id") {
            v.bos = Some(bos);
        }
        Ok(v.finish())
    }
}

/// Whether any `type` in the document names `kind` (the pre-tokenizer or decoder says how bytes are spelled).
fn mentions(doc: &serde_json::Value, kind: &str) -> bool {
    ["pre_tokenizer", "decoder"].iter().any(|k| doc.get(*k).is_some_and(|v| v.to_string().contains(kind)))
}

/// Control tokens that end generation, by name (a tokenizer.json does not say which they are).
const EOS_NAMES: &[&str] =
    &["<|eot_id|>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>", "</s>", "<|end|>", "<eos>", "<|eom_id|>"];
/// Control tokens that start a sequence, by name.
const BOS_NAMES: &[&str] = &["<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>"];

fn assemble(name: String, mut entries: Vec<(u32, Vec<u8>)>, specials: &[(u32, String)]) -> Vocabulary {
    entries.sort_by_key(|(id, _)| *id);
    let size = entries.last().map_or(0, |(id, _)| *id as usize + 1);
    let mut v = Vocabulary { name, tokens: vec![Vec::new(); size], ..Vocabulary::default() };
    let mut filled = vec![false; size];
    for (id, bytes) in entries {
        v.tokens[id as usize] = bytes;
        filled[id as usize] = true;
    }
    // Ids with no token at all cannot be emitted as text.
    v.special.extend(filled.iter().enumerate().filter(|(_, f)| !**f).map(|(i, _)| i as u32));
    for (id, content) in specials {
        v.special.push(*id);
        if EOS_NAMES.contains(&content.as_str()) {
            v.eos.push(*id);
        }
        if BOS_NAMES.contains(&content.as_str()) && v.bos.is_none() {
            v.bos = Some(*id);
        }
    }
    v.finish()
}

/// GPT-2's printable stand-ins for bytes, reversed: the character a byte-level BPE vocabulary writes for each byte.
fn gpt2_unicode_to_byte() -> HashMap<char, u8> {
    let mut printable: Vec<u32> = (u32::from(b'!')..=u32::from(b'~')).collect();
    printable.extend(0xA1..=0xAC);
    printable.extend(0xAE..=0xFF);
    let mut map = HashMap::with_capacity(256);
    let mut extra = 0u32;
    for b in 0..=255u32 {
        let c = if printable.contains(&b) {
            b
        } else {
            extra += 1;
            255 + extra
        };
        if let Some(ch) = char::from_u32(c) {
            map.insert(ch, b as u8);
        }
    }
    map
}

fn decode_byte_level(text: &str, map: &HashMap<char, u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for ch in text.chars() {
        match map.get(&ch) {
            Some(b) => out.push(*b),
            // Not a byte stand-in (an added token written as text): keep its UTF-8.
            None => out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

fn decode_sentencepiece(text: &str, byte_fallback: bool) -> Vec<u8> {
    if byte_fallback
        && let Some(hex) = text.strip_prefix("<0x").and_then(|t| t.strip_suffix('>'))
        && hex.len() == 2
        && let Ok(b) = u8::from_str_radix(hex, 16)
    {
        return vec![b];
    }
    text.replace('\u{2581}', " ").into_bytes()
}

/// A reader for the metadata section of GGUF files (format versions 2 and 3).
mod gguf {
    use std::collections::HashMap;

    use crate::checker::CheckError;

    /// A metadata value.
    #[derive(Clone, Debug, PartialEq)]
    pub(super) enum Value {
        Int(i64),
        Float(f64),
        Bool(bool),
        String(String),
        Array(Vec<Value>),
    }

    impl Value {
        pub(super) fn as_int(&self) -> Option<i64> {
            match self {
                Value::Int(i) => Some(*i),
                _ => None,
            }
        }
    }

    struct Reader<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    fn truncated() -> CheckError {
        CheckError::Vocabulary("GGUF: the metadata is truncated".to_owned())
    }

    impl Reader<'_> {
        fn take(&mut self, n: usize) -> Result<&[u8], CheckError> {
            let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(truncated)?;
            let out = &self.bytes[self.at..end];
            self.at = end;
            Ok(out)
        }

        fn u32(&mut self) -> Result<u32, CheckError> {
            let b = self.take(4)?;
            Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }

        fn u64(&mut self) -> Result<u64, CheckError> {
            let b = self.take(8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            Ok(u64::from_le_bytes(a))
        }

        fn string(&mut self) -> Result<String, CheckError> {
            let n = usize::try_from(self.u64()?).map_err(|_| truncated())?;
            Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
        }

        fn value(&mut self, kind: u32) -> Result<Value, CheckError> {
            let int = |b: &[u8], signed: bool| -> i64 {
                let mut a = [0u8; 8];
                a[..b.len()].copy_from_slice(b);
                let raw = u64::from_le_bytes(a);
                if signed && b.len() < 8 && b[b.len() - 1] & 0x80 != 0 {
                    (raw | (u64::MAX << (b.len() * 8))).cast_signed()
                } else {
                    raw.cast_signed()
                }
            };
            Ok(match kind {
                0 => Value::Int(int(self.take(1)?, false)),
                1 => Value::Int(int(self.take(1)?, true)),
                2 => Value::Int(int(self.take(2)?, false)),
                3 => Value::Int(int(self.take(2)?, true)),
                4 => Value::Int(int(self.take(4)?, false)),
                5 => Value::Int(int(self.take(4)?, true)),
                6 => {
                    let b = self.take(4)?;
                    Value::Float(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                }
                7 => Value::Bool(self.take(1)?[0] != 0),
                8 => Value::String(self.string()?),
                9 => {
                    let item = self.u32()?;
                    let n = usize::try_from(self.u64()?).map_err(|_| truncated())?;
                    // Each item takes at least one byte: a count past the data is corrupt, not a huge allocation.
                    if n > self.bytes.len() - self.at {
                        return Err(truncated());
                    }
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.value(item)?);
                    }
                    Value::Array(items)
                }
                10 => Value::Int(int(self.take(8)?, false)),
                11 => Value::Int(int(self.take(8)?, true)),
                12 => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    Value::Float(f64::from_le_bytes(a))
                }
                other => return Err(CheckError::Vocabulary(format!("GGUF: unknown metadata type {other}"))),
            })
        }
    }

    /// The key/value metadata of a GGUF file.
    pub(super) fn read_metadata(bytes: &[u8]) -> Result<HashMap<String, Value>, CheckError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4)? != b"GGUF" {
            return Err(CheckError::Vocabulary("not a GGUF file (no `GGUF` magic)".to_owned()));
        }
        let version = r.u32()?;
        if !(2..=3).contains(&version) {
            return Err(CheckError::Vocabulary(format!("GGUF version {version} is not supported (2 or 3)")));
        }
        let _tensors = r.u64()?;
        let count = r.u64()?;
        let mut out = HashMap::new();
        for _ in 0..count {
            let key = r.string()?;
            let kind = r.u32()?;
            let value = r.value(kind)?;
            out.insert(key, value);
        }
        Ok(out)
    }
}
