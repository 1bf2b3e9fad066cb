//! Choosing the next token from logits: greedy, or temperature and nucleus (top-p) sampling with a seeded PRNG.
//!
//! The generator is our own (SplitMix64) rather than a `rand` version's, so a seed gives the same draws whatever
//! crate versions the build resolves.

use crate::backend::Sampling;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough to draw one token per step.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Picks tokens from logits in which disallowed tokens are already −∞.
#[derive(Clone, Debug)]
pub(crate) struct Sampler {
    settings: Sampling,
    rng: SplitMix64,
    // Scratch buffers reused across steps.
    probs: Vec<f32>,
    order: Vec<u32>,
}

impl Sampler {
    pub(crate) fn new(settings: Sampling) -> Self {
        Sampler { settings, rng: SplitMix64::new(settings.seed), probs: Vec::new(), order: Vec::new() }
    }

    /// The chosen token, or `None` when every logit is −∞ or NaN (nothing can be chosen).
    pub(crate) fn sample(&mut self, logits: &[f32]) -> Option<u32> {
        if self.settings.is_greedy() {
            return argmax(logits);
        }
        let max = logits.iter().copied().filter(|l| l.is_finite()).fold(f32::NEG_INFINITY, f32::max);
        if max == f32::NEG_INFINITY {
            return None;
        }
        let inv_t = 1.0 / self.settings.temperature;
        self.probs.clear();
        self.probs.extend(logits.iter().map(|&l| if l.is_finite() { ((l - max) * inv_t).exp() } else { 0.0 }));
        let total: f64 = self.probs.iter().map(|&p| f64::from(p)).sum();
        let top_p = f64::from(self.settings.top_p);
        if top_p >= 1.0 {
            return Some(self.draw_in_id_order(total));
        }
        self.nucleus(total, top_p)
    }

    fn draw_in_id_order(&mut self, total: f64) -> u32 {
        let target = self.rng.next_f64() * total;
        let mut acc = 0.0;
        let mut last = 0;
        for (i, &p) in self.probs.iter().enumerate() {
            if p > 0.0 {
                acc += f64::from(p);
                last = i;
                if acc > target {
                    return i as u32;
                }
            }
        }
        last as u32
    }

    /// Draws among the smallest set of most likely tokens whose mass reaches `top_p`.
    ///
    /// Sorting all 49k+ candidates every step would cost more than the mask. The nucleus can only contain tokens
    /// above a threshold whose tail mass is at most `1 - top_p`, so sort just those, and fall back to everything
    /// when the distribution is too flat for the threshold to hold.
    fn nucleus(&mut self, total: f64, top_p: f64) -> Option<u32> {
        let mass_needed = top_p * total;
        let mut threshold = 1e-4_f32; // relative to the most likely token, whose probability here is 1
        self.order.clear();
        loop {
            let tail: f64 = self.probs.iter().filter(|&&p| p < threshold).map(|&p| f64::from(p)).sum();
            if tail <= total - mass_needed || threshold == 0.0 {
                self.order.extend((0..self.probs.len() as u32).filter(|&i| {
                    let p = self.probs[i as usize];
                    p > 0.0 && p >= threshold
                }));
                break;
            }
            threshold = if threshold < 1e-9 { 0.0 } else { threshold / 100.0 };
        }
        let probs = &self.probs;
        // Ties broken by id so the order, and so the draw, is deterministic.
        self.order.sort_unstable_by(|&a, &b| probs[b as usize].total_cmp(&probs[a as usize]).then(a.cmp(&b)));
        let mut kept = 0.0;
        let mut n = 0;
        for &i in &self.order {
            kept += f64::from(probs[i as usize]);
            n += 1;
            if kept >= mass_needed {
                break;
            }
        }
        let target = self.rng.next_f64() * kept;
        let mut acc = 0.0;
        for &i in &self.order[..n] {
            acc += f64::from(probs[i as usize]);
            if acc > target {
                return Some(i);
            }
        }
        self.order[..n].last().copied()
    }
}

/// Lowers the logits of the tokens that would continue, the way it went on before, a run of tokens `history`
/// already holds ([`Sampling::dry`]): for every earlier position where the output's last tokens occurred, the
/// token that followed there loses `dry × 1.75^(run − allowed)` when the repeated run is at least
/// [`Sampling::DRY_ALLOWED`] tokens long (the largest run per token counts). Tokens for which `exempt` holds (in
/// code: whitespace and closing punctuation, which end every block the same way) and −∞ logits are left alone.
pub(crate) fn penalize_repeats(logits: &mut [f32], history: &[u32], dry: f32, exempt: impl Fn(u32) -> bool) {
    const BASE: f32 = 1.75;
    // Past this the penalty already dwarfs any logit gap; the cap bounds the work per step too.
    const MAX_RUN: usize = 24;
    let n = history.len();
    if dry <= 0.0 || n <= Sampling::DRY_ALLOWED {
        return;
    }
    let last = history[n - 1];
    let mut longest: Vec<(u32, usize)> = Vec::new();
    // `history[j]` followed `history[..j]`; the run is how far `history[..j]` ends like the whole history does.
    for j in 1..n {
        if history[j - 1] != last {
            continue;
        }
        let mut run = 1;
        while run < j && run < MAX_RUN && history[j - 1 - run] == history[n - 1 - run] {
            run += 1;
        }
        if run < Sampling::DRY_ALLOWED {
            continue;
        }
        match longest.iter_mut().find(|(t, _)| *t == history[j]) {
            Some((_, r)) => *r = (*r).max(run),
            None => longest.push((history[j], run)),
        }
    }
    for (token, run) in longest {
        if exempt(token) {
            continue;
        }
        if let Some(l) = logits.get_mut(token as usize)
            && l.is_finite()
        {
            *l -= dry * BASE.powi(i32::try_from(run - Sampling::DRY_ALLOWED).unwrap_or(i32::MAX));
        }
    }
}

/// The index of the largest finite logit (the lowest index among equals).
pub(crate) fn argmax(logits: &[f32]) -> Option<u32> {
    let mut best: Option<(u32, f32)> = None;
    for (i, &l) in logits.iter().enumerate() {
        if l.is_finite() && best.is_none_or(|(_, b)| l > b) {
            best = Some((i as u32, l));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_picks_the_largest_finite_logit() {
        let mut s = Sampler::new(Sampling::GREEDY);
        assert_eq!(s.sample(&[0.1, 3.0, f32::NEG_INFINITY, 3.0, f32::NAN]), Some(1));
        assert_eq!(s.sample(&[f32::NEG_INFINITY, f32::NEG_INFINITY]), None);
    }

    #[test]
    fn sampling_never_draws_a_masked_token_and_is_deterministic_per_seed() {
        let logits: Vec<f32> =
            (0..1000).map(|i| if i % 7 == 0 { f32::NEG_INFINITY } else { (i % 13) as f32 * 0.3 }).collect();
        for top_p in [1.0, 0.9, 0.5] {
            let draws = |seed| {
                let mut s = Sampler::new(Sampling::random(0.8, top_p, seed));
                (0..200).map(|_| s.sample(&logits).unwrap()).collect::<Vec<_>>()
            };
            let a = draws(42);
            assert_eq!(a, draws(42), "same seed, same draws");
            assert_ne!(a, draws(43), "another seed, other draws");
            assert!(a.iter().all(|&t| t % 7 != 0), "a masked token was drawn");
        }
    }

    #[test]
    fn repeats_lose_more_the_longer_the_repeated_run() {
        let none = |_| false;
        let allowed = Sampling::DRY_ALLOWED as u32;
        // 1 2 … a 99 | 1 2 … a: continuing with 99 repeats a run one longer than allowed.
        let run: Vec<u32> = (1..=allowed + 1).collect();
        let history: Vec<u32> = run.iter().copied().chain([99]).chain(run.iter().copied()).collect();
        let mut logits = vec![0.0f32; 100];
        penalize_repeats(&mut logits, &history, 0.8, none);
        let expected = 0.8 * 1.75f32.powi(1);
        assert!((logits[99] + expected).abs() < 1e-6, "{:?}", logits[99]);
        assert!(logits.iter().enumerate().all(|(i, &l)| i == 99 || l == 0.0), "only the continuation is penalized");
        // The same run with an exempt continuation (say, a closing brace): no penalty.
        let mut logits = vec![0.0f32; 100];
        penalize_repeats(&mut logits, &history, 0.8, |t| t == 99);
        assert!(logits.iter().all(|&l| l == 0.0));
        // A longer loop costs more; greedy leaves it for the next best token.
        let looped: Vec<u32> = [7, 8, 9].repeat(3 + allowed as usize);
        let mut logits = vec![0.0f32; 10];
        logits[7] = 5.0;
        logits[5] = 4.0;
        penalize_repeats(&mut logits, &looped, 0.8, none);
        assert_eq!(argmax(&logits), Some(5), "{logits:?}");
        // A run shorter than the allowed length, no penalty; nor when it is off; masked tokens stay masked.
        let short: Vec<u32> = (1..allowed).chain([99]).chain(1..allowed).collect();
        let mut logits = vec![0.0f32; 100];
        penalize_repeats(&mut logits, &short, 0.8, none);
        assert!(logits[99].abs() < f32::EPSILON);
        logits[99] = f32::NEG_INFINITY;
        penalize_repeats(&mut logits, &history, 0.8, none);
        assert!(logits[99].is_infinite() && logits[99] < 0.0);
        let mut logits = vec![0.0f32; 100];
        penalize_repeats(&mut logits, &history, 0.0, none);
        assert!(logits.iter().all(|&l| l == 0.0));
    }

    #[test]
    fn top_p_keeps_only_the_nucleus() {
        // Token 0 holds ~88% of the mass; with top_p 0.5 it is the whole nucleus.
        let logits = [5.0, 3.0, 0.0, 0.0];
        let mut s = Sampler::new(Sampling::random(1.0, 0.5, 7));
        assert!((0..100).all(|_| s.sample(&logits) == Some(0)));
        // A flat distribution over 50k tokens takes the slow path and still draws from about half of them.
        let flat = vec![0.0f32; 50_000];
        let mut s = Sampler::new(Sampling::random(1.0, 0.5, 7));
        let draws: Vec<u32> = (0..200).map(|_| s.sample(&flat).unwrap()).collect();
        assert!(draws.iter().all(|&t| t < 25_001), "{draws:?}");
    }
}
