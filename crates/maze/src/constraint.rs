//! The interface between the generation loop and a token-level constraint (braid's `Checker` implements it).

use crate::error::BoxError;

/// What the generation loop asks of a token-level constraint.
///
/// The loop drives it like this, once per generated token:
///
/// 1. [`forced_tokens`](Self::forced_tokens): if the constraint knows the only possible continuation, the loop
///    commits and feeds those tokens to the model in one batch, without computing a mask or sampling;
/// 2. otherwise [`compute_mask`](Self::compute_mask): the loop sets the logit of every token outside the mask to
///    −∞ before sampling, so a disallowed token can never be chosen;
/// 3. [`commit`](Self::commit) with the token chosen.
///
/// Generation stops when the model picks an end-of-sequence token (only possible if the mask allows one), at the
/// token budget, or as soon as the constraint [`is_accepting`](Self::is_accepting) and its mask allows nothing but
/// end-of-sequence tokens. End-of-sequence tokens are never committed.
///
/// Token ids are those of the backend's [`Vocabulary`](crate::Vocabulary); a constraint is built for one
/// vocabulary and must not be used with a backend whose vocabulary differs.
pub trait TokenConstraint: Send {
    /// The tokens allowed next, as a bitset over the vocabulary: token `t` is allowed when bit `t % 32` of word
    /// `t / 32` is set (the layout of llguidance's `SimpleVob`). The slice may be shorter than the vocabulary
    /// (missing words allow nothing) and may hold bits past its end (ignored).
    ///
    /// It is borrowed so an implementation can hand out a cached mask without copying it.
    fn compute_mask(&mut self) -> Result<&[u32], BoxError>;

    /// Advances past `token`, which the last mask allowed (or which [`forced_tokens`](Self::forced_tokens)
    /// returned).
    fn commit(&mut self, token: u32) -> Result<(), BoxError>;

    /// Whether the text committed so far is a complete, acceptable output.
    fn is_accepting(&self) -> bool;

    /// Tokens that are the only possible continuation, in order, for the loop to commit without sampling. The
    /// default is none. Returning an end-of-sequence token ends generation there.
    fn forced_tokens(&mut self) -> Result<Vec<u32>, BoxError> {
        Ok(Vec::new())
    }

    /// A check of the sampled token beyond the mask, too costly to run over the whole vocabulary (braid's
    /// identifier layer): `false` makes the loop draw again without it (a bounded number of times, then keep the
    /// draw). The default accepts every token.
    fn vet(&mut self, token: u32) -> bool {
        let _ = token;
        true
    }

    /// Undoes the last `n` commits, for the loop to go back and draw again elsewhere. The default cannot, and
    /// says so; the loop then does not go back.
    fn rollback(&mut self, n: usize) -> Result<(), BoxError> {
        Err(format!("this constraint cannot take back {n} token(s)").into())
    }

    /// Why `token` is not allowed next, for people (the `ANANKE_TRACE` output); `None` when it is allowed or the
    /// constraint cannot tell. The default tells nothing.
    fn explain(&mut self, token: u32) -> Option<String> {
        let _ = token;
        None
    }
}

/// braid's token-level checker, compiled from a `ConstraintIR` for the backend's vocabulary. Its masks are borrowed
/// words of the memoized bitset (the same layout), so the loop copies nothing.
impl TokenConstraint for braid::Checker {
    fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
        // llguidance stops with an error ("no extension") once a grammar is complete, where the loop expects a mask
        // allowing only the end: an empty mask of an accepting constraint ends generation the same way.
        if braid::Checker::is_accepting(self) && self.engine() == "llguidance" {
            return match braid::Checker::compute_mask(self) {
                Ok(mask) => Ok(mask.as_words()),
                Err(_) => Ok(&[]),
            };
        }
        Ok(braid::Checker::compute_mask(self)?.as_words())
    }

    fn commit(&mut self, token: u32) -> Result<(), BoxError> {
        Ok(braid::Checker::commit(self, token)?)
    }

    fn is_accepting(&self) -> bool {
        braid::Checker::is_accepting(self)
    }

    fn forced_tokens(&mut self) -> Result<Vec<u32>, BoxError> {
        Ok(braid::Checker::forced_tokens(self))
    }

    fn vet(&mut self, token: u32) -> bool {
        braid::Checker::vet(self, token).is_none()
    }

    fn rollback(&mut self, n: usize) -> Result<(), BoxError> {
        Ok(braid::Checker::rollback(self, n)?)
    }

    fn explain(&mut self, token: u32) -> Option<String> {
        let v = self.violation_reason(token).or_else(|| braid::Checker::vet(self, token))?;
        Some(v.message)
    }
}

/// Whether `mask` (in [`TokenConstraint::compute_mask`]'s layout) allows `token`.
#[inline]
pub fn mask_allows(mask: &[u32], token: u32) -> bool {
    mask.get((token / 32) as usize).is_some_and(|word| word & (1 << (token % 32)) != 0)
}

/// A constraint that allows every token and never accepts early: the cost of the mask path with nothing masked.
///
/// Useful to measure the loop's own overhead (the benchmark compares generation with and without it) and as a
/// stand-in where a constraint is required.
#[derive(Clone, Debug)]
pub struct AllowAll {
    mask: Vec<u32>,
}

impl AllowAll {
    /// A constraint allowing all `vocab_size` tokens.
    pub fn new(vocab_size: usize) -> Self {
        AllowAll { mask: vec![u32::MAX; vocab_size.div_ceil(32)] }
    }
}

impl TokenConstraint for AllowAll {
    fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
        Ok(&self.mask)
    }

    fn commit(&mut self, _token: u32) -> Result<(), BoxError> {
        Ok(())
    }

    fn is_accepting(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_bit_layout_is_llguidance_simplevob() {
        let mask = [0b1010u32, 1 << 31];
        assert!(!mask_allows(&mask, 0));
        assert!(mask_allows(&mask, 1));
        assert!(mask_allows(&mask, 3));
        assert!(mask_allows(&mask, 63));
        assert!(!mask_allows(&mask, 62));
        assert!(!mask_allows(&mask, 64), "past the end allows nothing");
    }

    #[test]
    fn allow_all_allows_every_token() {
        let mut all = AllowAll::new(70);
        let mask = all.compute_mask().unwrap().to_vec();
        assert_eq!(mask.len(), 3);
        assert!((0..70).all(|t| mask_allows(&mask, t)));
    }
}
