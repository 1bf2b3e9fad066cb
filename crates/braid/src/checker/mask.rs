//! [`TokenMask`]: a bitset over a vocabulary.

/// The tokens allowed next: bit `t % 32` of word `t / 32` is set when token `t` is allowed (the layout of
/// llguidance's `SimpleVob`, which maze hands to its backends).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenMask {
    words: Vec<u32>,
    len: usize,
}

impl std::fmt::Debug for TokenMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenMask({} of {} allowed)", self.count(), self.len)
    }
}

impl TokenMask {
    /// A mask over `len` tokens allowing none.
    pub fn new(len: usize) -> Self {
        TokenMask { words: vec![0; len.div_ceil(32)], len }
    }

    /// The number of tokens the mask ranges over.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mask ranges over no token.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `token` is allowed.
    #[inline]
    pub fn is_allowed(&self, token: u32) -> bool {
        self.words.get((token / 32) as usize).is_some_and(|w| w & (1 << (token % 32)) != 0)
    }

    /// Allows `token`.
    #[inline]
    pub fn allow(&mut self, token: u32) {
        if let Some(w) = self.words.get_mut((token / 32) as usize) {
            *w |= 1 << (token % 32);
        }
    }

    /// Disallows `token`.
    #[inline]
    pub fn disallow(&mut self, token: u32) {
        if let Some(w) = self.words.get_mut((token / 32) as usize) {
            *w &= !(1 << (token % 32));
        }
    }

    /// Allows every token `other` allows.
    pub fn union_with(&mut self, other: &TokenMask) {
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w |= *o;
        }
    }

    /// Keeps only the tokens `other` allows too.
    pub fn intersect_with(&mut self, other: &TokenMask) {
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w &= *o;
        }
    }

    /// How many tokens are allowed.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The allowed tokens, in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words
            .iter()
            .enumerate()
            .flat_map(|(i, &w)| (0..32u32).filter(move |b| w & (1 << b) != 0).map(move |b| i as u32 * 32 + b))
    }

    /// The words of the bitset.
    pub fn as_words(&self) -> &[u32] {
        &self.words
    }

    /// A mask from words in the same layout (bits past `len` are cleared).
    pub fn from_words(words: &[u32], len: usize) -> Self {
        let mut m = TokenMask::new(len);
        let n = m.words.len().min(words.len());
        m.words[..n].copy_from_slice(&words[..n]);
        if !len.is_multiple_of(32)
            && let Some(last) = m.words.last_mut()
        {
            *last &= (1u32 << (len % 32)) - 1;
        }
        m
    }
}
