//! Reusing prefill work across generations: snapshots of the model's state (its KV cache) after prompt prefixes,
//! so a prompt that starts like an earlier one only runs the tokens past the longest known prefix.
//!
//! Repairs and candidate draws send the same prompt again (or the same file context with a note or a resumed draft
//! added): without this, each attempt would pay the whole prefill again (~5 ms per prompt token on two cores with
//! the default model, several seconds per attempt).
//!
//! A snapshot is a clone of candle's model state: its tensors are reference-counted and the KV cache grows by
//! concatenation into new tensors, so a snapshot shares memory with the live state and stays valid after it moves
//! on. Prefill runs in chunks that end at multiples of [`CHUNK`] positions, with a snapshot at each chunk's end, so
//! that a prompt sharing only the start of an earlier one (a note inserted near the end) still finds most of it.
//! The snapshots hold at most [`PrefixCache::capacity`] positions in all, the least recently used dropped first.
//!
//! A prompt is resumed only from a chunk boundary (or served whole when it is exactly an earlier prompt), and
//! prefill always chunks at the same boundaries, cache or not: a prompt's logits are then the same bits whatever
//! ran before it, so generation stays reproducible.

/// Positions per prefill chunk: a snapshot is kept at every multiple.
pub(crate) const CHUNK: usize = 128;

/// The default bound on positions held by all snapshots together (~46 KB of KV cache per position with the
/// default model: ~190 MB).
pub(crate) const DEFAULT_CAPACITY: usize = 4096;

/// A model state after some tokens, and the logits of its last position when the snapshot ends a whole prompt.
#[derive(Debug)]
struct Entry<S> {
    tokens: Vec<u32>,
    state: S,
    logits: Option<Vec<f32>>,
    last_used: u64,
}

/// Snapshots of model states `S` keyed by the tokens they have seen.
#[derive(Debug)]
pub(crate) struct PrefixCache<S> {
    entries: Vec<Entry<S>>,
    capacity: usize,
    clock: u64,
}

/// Where a prefill can start from: a snapshot's state and how many of the prompt's tokens it covers, with the
/// prompt's logits when it covers all of them.
pub(crate) struct Start<S> {
    pub state: S,
    pub covered: usize,
    pub logits: Option<Vec<f32>>,
}

impl<S: Clone> PrefixCache<S> {
    /// A cache holding at most `capacity` positions (0 keeps nothing).
    pub(crate) fn new(capacity: usize) -> Self {
        PrefixCache { entries: Vec::new(), capacity, clock: 0 }
    }

    /// The positions the snapshots may hold in all.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// The snapshot covering the longest prefix of `prompt` (a whole-prompt snapshot with its logits first), if any.
    pub(crate) fn start(&mut self, prompt: &[u32]) -> Option<Start<S>> {
        self.clock += 1;
        let best = self
            .entries
            .iter_mut()
            .filter(|e| {
                let n = e.tokens.len();
                (n % CHUNK == 0 || n == prompt.len()) && n <= prompt.len() && prompt.starts_with(&e.tokens)
            })
            // Longest first; at equal length, one with logits (it can serve a whole prompt).
            .max_by_key(|e| (e.tokens.len(), e.logits.is_some()))?;
        best.last_used = self.clock;
        let covered = best.tokens.len();
        let logits = if covered == prompt.len() { best.logits.clone() } else { None };
        if covered == prompt.len() && logits.is_none() {
            // The state is there but not the logits of its last position: run that one again.
            return self.start(&prompt[..prompt.len() - 1]).map(|s| Start { logits: None, ..s });
        }
        Some(Start { state: best.state.clone(), covered, logits })
    }

    /// Records the state after `tokens` (with the logits of the last position when `tokens` is a whole prompt).
    pub(crate) fn insert(&mut self, tokens: &[u32], state: &S, logits: Option<&[f32]>) {
        if tokens.is_empty() || tokens.len() > self.capacity {
            return;
        }
        self.clock += 1;
        if let Some(e) = self.entries.iter_mut().find(|e| e.tokens == tokens) {
            e.last_used = self.clock;
            if e.logits.is_none() {
                e.logits = logits.map(<[f32]>::to_vec);
            }
            return;
        }
        self.entries.push(Entry {
            tokens: tokens.to_vec(),
            state: state.clone(),
            logits: logits.map(<[f32]>::to_vec),
            last_used: self.clock,
        });
        while self.held() > self.capacity {
            let Some(oldest) = self.entries.iter().enumerate().min_by_key(|(_, e)| e.last_used).map(|(i, _)| i) else {
                break;
            };
            self.entries.swap_remove(oldest);
        }
    }

    /// Positions held by all snapshots.
    pub(crate) fn held(&self) -> usize {
        self.entries.iter().map(|e| e.tokens.len()).sum()
    }

    /// How many snapshots there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The chunks a prefill of `prompt[from..]` runs, as ranges of the prompt: each ends at a multiple of [`CHUNK`]
/// or at the prompt's end.
pub(crate) fn chunks(from: usize, len: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = from;
    while at < len {
        let end = ((at / CHUNK + 1) * CHUNK).min(len);
        out.push(at..end);
        at = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_on_multiples_of_the_chunk_size() {
        assert_eq!(chunks(0, 300), vec![0..128, 128..256, 256..300]);
        assert_eq!(chunks(130, 300), vec![130..256, 256..300]);
        assert_eq!(chunks(256, 256), Vec::<std::ops::Range<usize>>::new());
        assert_eq!(chunks(0, 5), vec![0..5]);
    }

    #[test]
    fn the_longest_known_prefix_is_found_and_a_whole_prompt_brings_its_logits() {
        let mut cache: PrefixCache<&'static str> = PrefixCache::new(1000);
        let prompt: Vec<u32> = (0..300).collect();
        cache.insert(&prompt[..128], &"s128", None);
        cache.insert(&prompt[..256], &"s256", None);
        cache.insert(&prompt, &"s300", Some(&[1.0, 2.0]));

        let same = cache.start(&prompt).unwrap();
        assert_eq!((same.state, same.covered, same.logits), ("s300", 300, Some(vec![1.0, 2.0])));

        // The same file with a note near its end: the chunk before the change is reused.
        let mut noted = prompt[..200].to_vec();
        noted.extend([9000, 9001]);
        noted.extend(&prompt[200..]);
        let s = cache.start(&noted).unwrap();
        assert_eq!((s.state, s.covered, s.logits), ("s128", 128, None));

        // A resumed draft: the earlier prompt and more after it, taken up from the last chunk boundary (so its
        // prefill chunks as it would from scratch).
        let mut resumed = prompt.clone();
        resumed.extend([7, 7, 7]);
        let s = cache.start(&resumed).unwrap();
        assert_eq!((s.state, s.covered), ("s256", 256));

        assert!(cache.start(&[5, 6, 7]).is_none(), "nothing shared");
    }

    #[test]
    fn a_state_without_logits_is_not_a_whole_prompt() {
        let mut cache: PrefixCache<u32> = PrefixCache::new(1000);
        let prompt: Vec<u32> = (0..256).collect();
        cache.insert(&prompt, &256, None);
        cache.insert(&prompt[..128], &128, None);
        let s = cache.start(&prompt).unwrap();
        assert_eq!((s.state, s.covered, s.logits), (128, 128, None), "the last chunk must run again for its logits");
        cache.insert(&prompt[..100], &100, Some(&[0.0]));
        assert!(cache.start(&prompt[..120]).is_none(), "100 is neither a chunk boundary nor the whole prompt");
        assert_eq!(cache.start(&prompt[..100]).map(|s| s.covered), Some(100), "but it serves its own prompt");
    }

    #[test]
    fn the_least_recently_used_snapshots_go_first_past_the_capacity() {
        let mut cache: PrefixCache<u32> = PrefixCache::new(250);
        let a: Vec<u32> = (0..100).collect();
        let b: Vec<u32> = (1000..1100).collect();
        let c: Vec<u32> = (2000..2100).collect();
        cache.insert(&a, &1, Some(&[0.0]));
        cache.insert(&b, &2, Some(&[0.0]));
        assert!(cache.start(&a).is_some(), "a used again: b is now the oldest");
        cache.insert(&c, &3, Some(&[0.0]));
        assert_eq!(cache.len(), 2);
        assert!(cache.held() <= cache.capacity());
        assert!(cache.start(&b).is_none() && cache.start(&a).is_some() && cache.start(&c).is_some());

        let mut none: PrefixCache<u32> = PrefixCache::new(0);
        none.insert(&a, &1, Some(&[0.0]));
        assert!(none.start(&a).is_none(), "capacity 0 keeps nothing");
    }
}
