//! The view of a model's vocabulary that a token constraint is built from.

/// A model's vocabulary as a token constraint needs it: every token's bytes, and which tokens end generation or
/// are control tokens.
///
/// In-process backends expose theirs ([`Backend::vocabulary`](crate::Backend::vocabulary)); braid builds its
/// `Checker` from it. It is plain data so it can cross crate boundaries (and the C ABI) without conversions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vocabulary {
    /// What each token id stands for, as bytes: the text it adds to the output. For control tokens
    /// ([`special`](Self::special)), their written form (e.g. `<|im_end|>`), which never appears in the output
    /// by emitting the token.
    pub tokens: Vec<Vec<u8>>,
    /// Tokens that end generation (end of sequence, end of turn), sorted.
    pub eos: Vec<u32>,
    /// The token that starts a sequence, if the model has one.
    pub bos: Option<u32>,
    /// Control tokens (EOS and BOS included), sorted: they stand for markup, not text.
    pub special: Vec<u32>,
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

    /// The bytes of `token` (empty for an id past the end).
    pub fn token_bytes(&self, token: u32) -> &[u8] {
        self.tokens.get(token as usize).map_or(&[], Vec::as_slice)
    }

    /// Whether `token` ends generation.
    pub fn is_eos(&self, token: u32) -> bool {
        self.eos.binary_search(&token).is_ok()
    }

    /// Whether `token` is a control token.
    pub fn is_special(&self, token: u32) -> bool {
        self.special.binary_search(&token).is_ok()
    }

    /// The bytes of a token sequence, end-of-sequence tokens left out.
    pub fn decode(&self, tokens: &[u32]) -> Vec<u8> {
        let mut out = Vec::new();
        for &t in tokens {
            if !self.is_eos(t) {
                out.extend_from_slice(self.token_bytes(t));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_skips_eos_and_unknown_ids() {
        let v = Vocabulary {
            tokens: vec![b"<eos>".to_vec(), b"a".to_vec(), b" b".to_vec()],
            eos: vec![0],
            bos: None,
            special: vec![0],
        };
        assert_eq!(v.decode(&[1, 2, 0, 1]), b"a ba");
        assert_eq!(v.token_bytes(9), b"");
        assert!(v.is_eos(0) && v.is_special(0) && !v.is_eos(1));
    }
}
