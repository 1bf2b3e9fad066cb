//! The vocabulary a token constraint is built for (braid's [`Vocabulary`], one type across the crates) and its
//! content id, which keys the cache of vocabulary indices and compiled constraints.

use xxhash_rust::xxh3::Xxh3;

pub use braid::Vocabulary;

/// What identifies a vocabulary's content: xxh3-128 over every token's bytes, the end-of-sequence, start and control
/// tokens. Two backends with the same tokenizer share compiled constraints; any difference gives another id.
///
/// Computing it reads the whole vocabulary (~50 µs for 49k tokens), so backends compute it once, when they load
/// ([`Backend::vocabulary_id`](crate::Backend::vocabulary_id)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VocabId(pub u128);

impl VocabId {
    /// The id of a vocabulary's content (its `name` is a label and does not count).
    pub fn of(vocab: &Vocabulary) -> VocabId {
        let mut h = Xxh3::new();
        h.update(b"ananke-vocab/v1\0");
        h.update(&(vocab.tokens.len() as u64).to_le_bytes());
        for token in &vocab.tokens {
            // Length-prefixed, so token boundaries are part of the content.
            h.update(&(token.len() as u32).to_le_bytes());
            h.update(token);
        }
        for list in [&vocab.eos, &vocab.special] {
            h.update(&(list.len() as u64).to_le_bytes());
            for t in list {
                h.update(&t.to_le_bytes());
            }
        }
        h.update(&vocab.bos.map_or(u64::MAX, u64::from).to_le_bytes());
        VocabId(h.digest128())
    }
}

impl std::fmt::Display for VocabId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocabulary {
        Vocabulary {
            name: "test".into(),
            tokens: vec![b"<eos>".to_vec(), b"a".to_vec(), b" b".to_vec()],
            eos: vec![0],
            bos: None,
            special: vec![0],
        }
    }

    #[test]
    fn decode_skips_control_tokens_and_unknown_ids() {
        let v = vocab();
        assert_eq!(v.decode(&[1, 2, 0, 1]), b"a ba");
        assert_eq!(v.token_bytes(9), b"");
        assert!(v.is_eos(0) && v.is_special(0) && !v.is_eos(1));
    }

    #[test]
    fn the_id_follows_the_content_not_the_name() {
        let a = vocab();
        let mut renamed = vocab();
        renamed.name = "other".into();
        assert_eq!(VocabId::of(&a), VocabId::of(&renamed));
        let mut split = vocab();
        // Same bytes overall, other token boundaries.
        split.tokens = vec![b"<eos>".to_vec(), b"a ".to_vec(), b"b".to_vec()];
        assert_ne!(VocabId::of(&a), VocabId::of(&split));
        let mut no_eos = vocab();
        no_eos.eos.clear();
        assert_ne!(VocabId::of(&a), VocabId::of(&no_eos));
    }
}
