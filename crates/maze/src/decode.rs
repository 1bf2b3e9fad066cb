//! The token-mask generation loop, independent of the inference engine: prefill, then per step forced tokens or
//! mask → sample → commit → forward, with the stop rules and the timings.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use crate::backend::{FinishReason, RunnerUp, Sampling, StepTiming, Timings, TokenEvent};
use crate::constraint::TokenConstraint;
use crate::error::{Error, Result};
use crate::sampling::Sampler;
use crate::vocab::Vocabulary;

/// A model the loop can run: tokens in, next-token logits out, with its own KV cache.
pub(crate) trait LogitsModel {
    /// Runs `tokens` at positions `pos..pos + tokens.len()` and writes the logits of the last position into
    /// `logits` (resized to the model's output size). `pos == 0` starts a new sequence.
    fn forward(&mut self, tokens: &[u32], pos: usize, logits: &mut Vec<f32>) -> Result<()>;

    /// The most positions a sequence may have.
    fn context_len(&self) -> usize;

    /// Starts a new sequence with `prompt` and writes the logits of its last position, like `forward(prompt, 0)`;
    /// returns how many of the prompt's tokens it took from earlier work instead of running them (a model that
    /// keeps snapshots of its state reuses the longest prefix it has seen).
    fn prefill(&mut self, prompt: &[u32], logits: &mut Vec<f32>) -> Result<usize> {
        self.forward(prompt, 0, logits)?;
        Ok(0)
    }

    /// Whether [`rewind`](Self::rewind) works: the loop then backtracks from dead ends. The default cannot.
    fn can_rewind(&self) -> bool {
        false
    }

    /// Goes back to the state after `prompt` then `kept` (a prefix of what was generated after it) and writes the
    /// logits of its last position: positions after it are forgotten. The default runs the prompt again and the
    /// kept tokens after it; a model with snapshots of its state after prompts runs only the kept tokens.
    fn rewind(&mut self, prompt: &[u32], kept: &[u32], logits: &mut Vec<f32>) -> Result<()> {
        self.prefill(prompt, logits)?;
        if !kept.is_empty() {
            self.forward(kept, prompt.len(), logits)?;
        }
        Ok(())
    }
}

/// One generation's inputs to the loop.
pub(crate) struct LoopInput<'a> {
    pub prompt: &'a [u32],
    pub max_tokens: usize,
    pub sampling: Sampling,
    pub vocab: &'a Vocabulary,
    /// When the call started (the rendering of the prompt counts towards prefill).
    pub started: Instant,
}

#[derive(Debug)]
pub(crate) struct LoopOutput {
    pub tokens: Vec<u32>,
    /// Per token, the likeliest other token the step allowed (see [`RunnerUp`]).
    pub runner_up: Vec<Option<RunnerUp>>,
    pub finish: FinishReason,
    pub timings: Timings,
}

/// How many times the loop draws again when the constraint's [`TokenConstraint::vet`] refuses the sampled token.
const MAX_REDRAWS: u32 = 32;

/// How many of the latest sampled steps the loop can go back to (see [`Mark`]).
const BACKTRACK_WINDOW: usize = 16;

/// After how many sampled steps in a row that could only write whitespace (the vetting refused every other draw)
/// the loop takes the draft for stuck and goes back to where the word before that whitespace started, banning
/// its first token there: a name whose every continuation is refused (`self.f` in `f`, whose call would recurse)
/// would otherwise be followed by whitespace to the end of the budget.
const STUCK_AFTER: u32 = 2;

/// How many times one generation may go back.
const MAX_BACKTRACKS: u32 = 16;

/// A sampled step the loop can go back to, and the tokens already tried there that led to a dead end.
struct Mark {
    /// How many tokens were generated before this step.
    at: usize,
    banned: Vec<u32>,
}

/// Runs generation to its end.
///
/// With a constraint and a model that can [rewind](LogitsModel::rewind), the loop backtracks: where
/// the constraint leaves no way on (an empty mask before the end, or no token near the top that its vetting
/// accepts), it goes back one sampled step, within the last [`BACKTRACK_WINDOW`], and draws there again without the
/// token that led to the dead end. Tokens reach `on_token` once they are out of that window (or at the end), so the
/// caller never sees a token taken back.
pub(crate) fn run(
    model: &mut dyn LogitsModel,
    input: &LoopInput<'_>,
    mut constraint: Option<&mut dyn TokenConstraint>,
    on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
) -> Result<LoopOutput> {
    input.sampling.validate()?;
    let context = model.context_len();
    if input.prompt.is_empty() {
        return Err(Error::InvalidRequest("the prompt renders to no token".into()));
    }
    if input.prompt.len() >= context {
        return Err(Error::ContextOverflow { prompt_tokens: input.prompt.len(), context });
    }
    let vocab = input.vocab;
    let mut timings = Timings { prompt_tokens: input.prompt.len(), ..Timings::default() };
    let mut logits = Vec::new();
    timings.prompt_tokens_reused = model.prefill(input.prompt, &mut logits)?;
    let decode_start = Instant::now();
    timings.prefill = decode_start - input.started;

    // `ANANKE_TRACE=1`: per sampled step, the model's favourite tokens before and after the mask, on stderr.
    let trace = std::env::var_os("ANANKE_TRACE").is_some_and(|v| !v.is_empty() && v != "0");
    let mut sampler = Sampler::new(input.sampling);
    let mut out = Output {
        tokens: Vec::new(),
        rewind: Duration::ZERO,
        forced: Vec::new(),
        runner_up: Vec::new(),
        emitted: 0,
        cancelled: false,
    };
    let mut pos = input.prompt.len();
    let budget = input.max_tokens.min(context - pos);
    let out_of_budget =
        if input.max_tokens <= context - pos { FinishReason::MaxTokens } else { FinishReason::ContextFull };
    let left = if constraint.is_some() && model.can_rewind() { MAX_BACKTRACKS } else { 0 };
    let mut back = Backtrack { marks: VecDeque::new(), left, vocab, prompt: input.prompt, trace };
    // Sampled steps in a row that took whitespace after the vetting refused the model's choices.
    let mut stuck = 0u32;

    let finish = 'steps: loop {
        if out.tokens.len() >= budget {
            break out_of_budget;
        }
        let step_index = out.tokens.len();
        let mut step = StepTiming::default();
        let mut chosen: Vec<u32> = Vec::with_capacity(1);
        let mut forced = false;
        let mut runner_up = None;

        if let Some(c) = constraint.as_deref_mut() {
            let t = Instant::now();
            let ff = c.forced_tokens().map_err(|source| Error::Constraint { step: step_index, source })?;
            if ff.is_empty() {
                if back.left > 0 && back.marks.back().is_none_or(|m| m.at != step_index) {
                    back.marks.push_back(Mark { at: step_index, banned: Vec::new() });
                    if back.marks.len() > BACKTRACK_WINDOW {
                        back.marks.pop_front();
                    }
                }
                if trace {
                    let top = trace_top(vocab, &logits, &out.tokens, "model");
                    if let Some(why) = top.and_then(|t| c.explain(t)) {
                        eprintln!("trace {:>4} refused: {why}", out.tokens.len());
                    }
                }
                let mask = c.compute_mask().map_err(|source| Error::Constraint { step: step_index, source })?;
                let verdict = apply_mask(mask, &mut logits, vocab);
                if let Some(m) = back.marks.back().filter(|m| m.at == step_index) {
                    for &t in &m.banned {
                        logits[t as usize] = f32::NEG_INFINITY;
                    }
                }
                step.mask = t.elapsed();
                match verdict {
                    MaskVerdict::OnlyEos | MaskVerdict::Empty if c.is_accepting() => {
                        record(&mut timings, step);
                        break FinishReason::Accepted;
                    }
                    MaskVerdict::Empty => {
                        if back.go(model, c, &mut out, &mut pos, &mut logits, &mut timings, false)? {
                            record(&mut timings, step);
                            continue 'steps;
                        }
                        return Err(Error::DeadEnd { step: step_index });
                    }
                    MaskVerdict::OnlyEos | MaskVerdict::SomeText => {}
                }
            } else {
                forced = true;
                chosen = ff;
                chosen.truncate(budget - out.tokens.len());
                step.mask = t.elapsed();
            }
        }

        if !forced {
            let t = Instant::now();
            crate::sampling::penalize_repeats(&mut logits, &out.tokens, input.sampling.dry, |t| {
                vocab.token_bytes(t).iter().all(|b| b.is_ascii_whitespace() || b"})];,".contains(b))
            });
            let Some(mut token) = sampler.sample(&logits) else {
                if let Some(c) = constraint.as_deref_mut() {
                    // Every allowed token was tried here already (see `Mark::banned`): further back.
                    if back.go(model, c, &mut out, &mut pos, &mut logits, &mut timings, false)? {
                        record(&mut timings, step);
                        continue 'steps;
                    }
                    return Err(Error::DeadEnd { step: step_index });
                }
                return Err(Error::inference("sampling", "the model produced no finite logit"));
            };
            step.sample = t.elapsed();
            if trace && constraint.is_some() {
                let _ = trace_top(vocab, &logits, &out.tokens, "masked");
            }
            // The constraint's check beyond the mask (braid's identifier layer): draw again without a refused
            // token, a bounded number of times; past that, the most likely token near the top it accepts; when
            // there is none, go back a step (see `Mark`), or, when that is not possible, keep the first draw.
            let mut vetting = String::new();
            let mut vetoed = false;
            if let Some(c) = constraint.as_deref_mut() {
                let t = Instant::now();
                let first = token;
                let mut redraws = 0;
                while !vocab.is_eos(token) && !c.vet(token) {
                    timings.redraws += 1;
                    redraws += 1;
                    logits[token as usize] = f32::NEG_INFINITY;
                    match sampler.sample(&logits) {
                        Some(next) if redraws < MAX_REDRAWS => token = next,
                        _ => {
                            if let Some(best) = best_vetted(&logits, c, vocab) {
                                token = best;
                            } else {
                                if back.go(model, c, &mut out, &mut pos, &mut logits, &mut timings, false)? {
                                    step.mask += t.elapsed();
                                    record(&mut timings, step);
                                    continue 'steps;
                                }
                                timings.redraw_fallbacks += 1;
                                vetoed = true;
                                token = first;
                            }
                            break;
                        }
                    }
                }
                // Whitespace is what a draft with no way on can always write: taken after refusals twice in a
                // row, it is a dead end too.
                if redraws > 0 && vocab.token_bytes(token).iter().all(u8::is_ascii_whitespace) {
                    stuck += 1;
                } else {
                    stuck = 0;
                }
                if stuck >= STUCK_AFTER && back.go(model, c, &mut out, &mut pos, &mut logits, &mut timings, true)? {
                    stuck = 0;
                    step.mask += t.elapsed();
                    record(&mut timings, step);
                    continue 'steps;
                }
                if trace && redraws > 0 {
                    let veto = if vetoed { ", vetoed: no token near the top passes" } else { "" };
                    vetting = format!(" (after {redraws} redraw(s){veto})");
                }
                step.mask += t.elapsed();
            }
            if trace {
                let chosen = String::from_utf8_lossy(vocab.token_bytes(token));
                eprintln!("trace {:>4} chose  {chosen:?}{vetting}", out.tokens.len());
            }
            chosen.push(token);
            // Only forks of constrained drafts use it: an unconstrained generation does not pay for the scan.
            runner_up = if vetoed || constraint.is_none() { None } else { runner_up_of(&logits, token, vocab) };
        }

        // An end-of-sequence token ends generation here; it is neither committed nor part of the output.
        let eos_at = chosen.iter().position(|&t| vocab.is_eos(t));
        let emit = &chosen[..eos_at.unwrap_or(chosen.len())];
        for &token in emit {
            // Forced tokens were never masked: the constraint vouches for them itself.
            if let Some(c) = constraint.as_deref_mut() {
                let t = Instant::now();
                c.commit(token).map_err(|source| Error::Constraint { step: out.tokens.len(), source })?;
                step.mask += t.elapsed();
            }
            out.tokens.push(token);
            out.forced.push(forced);
            out.runner_up.push(runner_up.take());
            if forced {
                timings.forced_tokens += 1;
            }
        }
        // Tokens out of reach of going back reach the caller now, the rest at the end.
        let settled = back.marks.front().map_or(out.tokens.len(), |m| m.at.min(out.tokens.len()));
        out.emit(settled, vocab, input.started, &mut timings, on_token);
        step.tokens = emit.len() as u32;
        if !emit.is_empty() {
            // The way back is part of what producing this token cost.
            step.forward += std::mem::take(&mut out.rewind);
        }
        step.forced = forced;
        if eos_at.is_some() {
            record(&mut timings, step);
            break FinishReason::Eos;
        }
        if out.cancelled {
            record(&mut timings, step);
            break FinishReason::Cancelled;
        }
        if out.tokens.len() >= budget {
            // The last token's logits would go unused: skip its forward pass.
            record(&mut timings, step);
            break out_of_budget;
        }
        let t = Instant::now();
        model.forward(emit, pos, &mut logits)?;
        step.forward = t.elapsed();
        pos += emit.len();
        record(&mut timings, step);
    };

    let finish = if out.cancelled {
        finish
    } else {
        out.emit(out.tokens.len(), vocab, input.started, &mut timings, on_token);
        if out.cancelled { FinishReason::Cancelled } else { finish }
    };
    if out.cancelled && out.emitted < out.tokens.len() {
        // The caller stopped before the last tokens reached it: the output (and the constraint) end where it
        // stopped.
        if let Some(c) = constraint {
            c.rollback(out.tokens.len() - out.emitted)
                .map_err(|source| Error::Constraint { step: out.emitted, source })?;
        }
        out.tokens.truncate(out.emitted);
    }
    let end = Instant::now();
    timings.generated_tokens = out.tokens.len();
    timings.decode = end - decode_start;
    timings.total = end - input.started;
    out.runner_up.truncate(out.tokens.len());
    Ok(LoopOutput { tokens: out.tokens, runner_up: out.runner_up, finish, timings })
}

/// The tokens generated so far, and how many of them the caller has been given.
struct Output {
    tokens: Vec<u32>,
    /// Time spent rewinding the model since the last step that produced a token (charged to the next one).
    rewind: Duration,
    /// Per token, whether the constraint forced it.
    forced: Vec<bool>,
    /// Per token, the likeliest other token its step allowed.
    runner_up: Vec<Option<RunnerUp>>,
    emitted: usize,
    cancelled: bool,
}

impl Output {
    /// Hands the tokens up to `upto` to the caller, stopping when it asks to.
    fn emit(
        &mut self,
        upto: usize,
        vocab: &Vocabulary,
        started: Instant,
        timings: &mut Timings,
        on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
    ) {
        while self.emitted < upto && !self.cancelled {
            let i = self.emitted;
            let token = self.tokens[i];
            let event =
                TokenEvent { index: i, token: Some(token), bytes: vocab.token_bytes(token), forced: self.forced[i] };
            if timings.first_token.is_none() {
                timings.first_token = Some(started.elapsed());
            }
            self.emitted += 1;
            self.cancelled = on_token(&event).is_break();
        }
    }
}

/// Going back one sampled step (see [`Mark`]).
struct Backtrack<'m> {
    /// The latest sampled steps, oldest first (at most [`BACKTRACK_WINDOW`]).
    marks: VecDeque<Mark>,
    /// How many more times this generation may go back.
    left: u32,
    vocab: &'m Vocabulary,
    prompt: &'m [u32],
    /// `ANANKE_TRACE`: print the tokens taken back.
    trace: bool,
}

impl Backtrack<'_> {
    /// Takes back the tokens since the last sampled step before the current one, bans the token chosen there and
    /// puts the model where it was; `false` when there is no such step (or no backtrack left), nothing changed.
    /// With `to_word_start`, it goes back to where the word before the last whitespace started (see
    /// [`STUCK_AFTER`]).
    #[allow(clippy::too_many_arguments)]
    fn go(
        &mut self,
        model: &mut dyn LogitsModel,
        c: &mut dyn TokenConstraint,
        out: &mut Output,
        pos: &mut usize,
        logits: &mut Vec<f32>,
        timings: &mut Timings,
        to_word_start: bool,
    ) -> Result<bool> {
        let now = out.tokens.len();
        while self.marks.back().is_some_and(|m| m.at >= now) {
            self.marks.pop_back();
        }
        if to_word_start {
            let ident = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_');
            let bytes = |at: usize| self.vocab.token_bytes(out.tokens[at]);
            let mut seen_word = false;
            while self.marks.len() > 1 {
                let at = self.marks.back().map_or(0, |m| m.at);
                let space = bytes(at).iter().all(u8::is_ascii_whitespace);
                let continues = at > 0 && ident(bytes(at).first()) && ident(bytes(at - 1).last());
                if space && !seen_word || continues {
                    seen_word |= !space;
                    self.marks.pop_back();
                } else {
                    break;
                }
            }
        }
        let Some(mark) = self.marks.back_mut() else { return Ok(false) };
        if self.left == 0 || mark.at < out.emitted {
            return Ok(false);
        }
        if c.rollback(now - mark.at).is_err() {
            return Ok(false);
        }
        let t = Instant::now();
        model.rewind(self.prompt, &out.tokens[..mark.at], logits)?;
        out.rewind += t.elapsed();
        self.left -= 1;
        timings.backtracks += 1;
        let undone = out.tokens[mark.at];
        mark.banned.push(undone);
        if self.trace {
            let bytes: Vec<u8> =
                out.tokens[mark.at..].iter().flat_map(|&t| self.vocab.token_bytes(t).to_vec()).collect();
            let bytes = String::from_utf8_lossy(&bytes);
            eprintln!("trace {:>4} back   {} token(s) taken back: {bytes:?}", mark.at, now - mark.at);
        }
        out.tokens.truncate(mark.at);
        out.forced.truncate(mark.at);
        out.runner_up.truncate(mark.at);
        *pos = self.prompt.len() + mark.at;
        Ok(true)
    }
}

/// The likeliest token in `logits` other than `chosen` and end-of-sequence (tokens the mask or the vetting refused
/// are −∞ already), and how far below `chosen` its logit is.
fn runner_up_of(logits: &[f32], chosen: u32, vocab: &Vocabulary) -> Option<RunnerUp> {
    let mine = *logits.get(chosen as usize)?;
    let mut best: Option<(u32, f32)> = None;
    for (t, &l) in logits.iter().enumerate() {
        if l.is_finite() && t != chosen as usize && best.is_none_or(|(_, b)| l > b) && !vocab.is_eos(t as u32) {
            best = Some((t as u32, l));
        }
    }
    let (token, l) = best?;
    mine.is_finite().then_some(RunnerUp { token, margin: mine - l })
}

/// How many of the most likely remaining tokens [`best_vetted`] checks.
const VET_SCAN: usize = 8192;

/// The most likely token left in `logits` (vetoed ones are −∞ already) that the constraint's vetting accepts,
/// among the [`VET_SCAN`] most likely.
fn best_vetted(logits: &[f32], c: &mut dyn TokenConstraint, vocab: &Vocabulary) -> Option<u32> {
    let mut order: Vec<u32> =
        (0..logits.len() as u32).filter(|&t| logits[t as usize].is_finite() && !vocab.is_eos(t)).collect();
    let n = order.len().min(VET_SCAN);
    if n == 0 {
        return None;
    }
    order.select_nth_unstable_by(n - 1, |&a, &b| logits[b as usize].total_cmp(&logits[a as usize]));
    order.truncate(n);
    order.sort_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]));
    order.into_iter().find(|&t| c.vet(t))
}

/// Prints the five tokens with the highest logits (see `ANANKE_TRACE` in [`run`]).
fn trace_top(vocab: &Vocabulary, logits: &[f32], tokens: &[u32], what: &str) -> Option<u32> {
    let mut top: Vec<(usize, f32)> = logits.iter().copied().enumerate().filter(|(_, l)| l.is_finite()).collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    let max = top.first().map_or(0.0, |t| t.1);
    let z: f32 = logits.iter().filter(|l| l.is_finite()).map(|l| (l - max).exp()).sum();
    let shown: Vec<String> = top
        .iter()
        .take(5)
        .map(|&(t, l)| format!("{:?} {:.2}", String::from_utf8_lossy(vocab.token_bytes(t as u32)), (l - max).exp() / z))
        .collect();
    eprintln!("trace {:>4} {what:<6} {}", tokens.len(), shown.join(" | "));
    top.first().map(|&(t, _)| t as u32)
}

fn record(timings: &mut Timings, step: StepTiming) {
    timings.mask += step.mask;
    timings.sample += step.sample;
    timings.steps.push(step);
}

#[derive(Debug, PartialEq, Eq)]
enum MaskVerdict {
    /// No token allowed at all.
    Empty,
    /// Only end-of-sequence tokens allowed.
    OnlyEos,
    /// Some token that adds text is allowed.
    SomeText,
}

/// Sets every logit the mask does not allow to −∞, and says what the mask allows.
fn apply_mask(mask: &[u32], logits: &mut [f32], vocab: &Vocabulary) -> MaskVerdict {
    let mut any_text = false;
    let mut any_eos = false;
    for (w, chunk) in logits.chunks_mut(32).enumerate() {
        let word = mask.get(w).copied().unwrap_or(0);
        // Bits past the end of the logits are ignored.
        let valid = if chunk.len() == 32 { u32::MAX } else { (1u32 << chunk.len()) - 1 };
        let word = word & valid;
        if word == valid {
            any_text |= !chunk.is_empty();
        } else {
            let mut disallowed = !word & valid;
            while disallowed != 0 {
                let bit = disallowed.trailing_zeros();
                chunk[bit as usize] = f32::NEG_INFINITY;
                disallowed &= disallowed - 1;
            }
        }
        if word != 0 && !any_text {
            let mut allowed = word;
            while allowed != 0 {
                let bit = allowed.trailing_zeros();
                if vocab.is_eos((w * 32) as u32 + bit) {
                    any_eos = true;
                } else {
                    any_text = true;
                    break;
                }
                allowed &= allowed - 1;
            }
        }
    }
    if any_text {
        MaskVerdict::SomeText
    } else if any_eos {
        MaskVerdict::OnlyEos
    } else {
        MaskVerdict::Empty
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constraint::{AllowAll, mask_allows};
    use crate::error::BoxError;

    /// A deterministic fake model over a 40-token vocabulary: token 0 is EOS, 1..=10 are the digits "0".."9",
    /// the rest are letters. It prefers letters, then EOS, and records every forward call.
    struct FakeModel {
        calls: Vec<(Vec<u32>, usize)>,
        context: usize,
    }

    fn vocab() -> Vocabulary {
        let mut tokens = vec![b"<eos>".to_vec()];
        tokens.extend((0..10).map(|d| format!("{d}").into_bytes()));
        tokens.extend((0..29).map(|i| vec![b'a' + (i % 26) as u8]));
        Vocabulary { name: "fake".into(), tokens, eos: vec![0], bos: None, special: vec![0] }
    }

    impl LogitsModel for FakeModel {
        fn forward(&mut self, tokens: &[u32], pos: usize, logits: &mut Vec<f32>) -> Result<()> {
            self.calls.push((tokens.to_vec(), pos));
            logits.clear();
            // Letters score highest, then EOS, then digits (higher digits a little more, varying with position).
            logits.extend((0..40u32).map(|t| match t {
                0 => 5.0,
                1..=10 => 1.0 + ((t as usize + pos) % 10) as f32 * 0.1,
                _ => 10.0 - (t as f32) * 0.01,
            }));
            Ok(())
        }
        fn context_len(&self) -> usize {
            self.context
        }
    }

    fn model() -> FakeModel {
        FakeModel { calls: Vec::new(), context: 64 }
    }

    /// Digits only, at most `max` of them, then EOS; records every mask it handed out.
    struct Digits {
        committed: Vec<u32>,
        max: usize,
        mask: Vec<u32>,
        masks_computed: usize,
    }

    impl Digits {
        fn new(max: usize) -> Self {
            Digits { committed: Vec::new(), max, mask: vec![0; 2], masks_computed: 0 }
        }
    }

    impl TokenConstraint for Digits {
        fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
            self.masks_computed += 1;
            self.mask = vec![0; 2];
            if self.committed.len() < self.max {
                for t in 1..=10 {
                    self.mask[t / 32] |= 1 << (t % 32);
                }
            }
            if !self.committed.is_empty() {
                self.mask[0] |= 1; // EOS
            }
            Ok(&self.mask)
        }
        fn commit(&mut self, token: u32) -> Result<(), BoxError> {
            if !(1..=10).contains(&token) {
                return Err(format!("token {token} is not a digit").into());
            }
            self.committed.push(token);
            Ok(())
        }
        fn is_accepting(&self) -> bool {
            !self.committed.is_empty()
        }
    }

    /// Digits without EOS until the budget is used: digits run until the constraint allows nothing else.
    struct NoEos(Digits);
    impl TokenConstraint for NoEos {
        fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
            self.0.compute_mask()?;
            if self.0.committed.len() < self.0.max {
                self.0.mask[0] &= !1;
            }
            Ok(&self.0.mask)
        }
        fn commit(&mut self, token: u32) -> Result<(), BoxError> {
            self.0.commit(token)
        }
        fn is_accepting(&self) -> bool {
            self.0.is_accepting()
        }
    }

    struct Forcing {
        inner: Digits,
        forced_once: bool,
    }
    impl TokenConstraint for Forcing {
        fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
            self.inner.compute_mask()
        }
        fn commit(&mut self, token: u32) -> Result<(), BoxError> {
            self.inner.commit(token)
        }
        fn is_accepting(&self) -> bool {
            self.inner.is_accepting()
        }
        fn forced_tokens(&mut self) -> Result<Vec<u32>, BoxError> {
            if self.forced_once {
                Ok(Vec::new())
            } else {
                self.forced_once = true;
                Ok(vec![2, 3, 4])
            }
        }
    }

    struct Nothing(Vec<u32>);
    impl TokenConstraint for Nothing {
        fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
            Ok(&self.0)
        }
        fn commit(&mut self, _: u32) -> Result<(), BoxError> {
            Ok(())
        }
        fn is_accepting(&self) -> bool {
            false
        }
    }

    struct Failing;
    impl TokenConstraint for Failing {
        fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
            Err("broken".into())
        }
        fn commit(&mut self, _: u32) -> Result<(), BoxError> {
            Ok(())
        }
        fn is_accepting(&self) -> bool {
            false
        }
    }

    fn input<'a>(prompt: &'a [u32], max_tokens: usize, vocab: &'a Vocabulary) -> LoopInput<'a> {
        LoopInput { prompt, max_tokens, sampling: Sampling::GREEDY, vocab, started: Instant::now() }
    }

    fn no_events() -> impl FnMut(&TokenEvent<'_>) -> ControlFlow<()> {
        |_| ControlFlow::Continue(())
    }

    /// Digits, but the vetting refuses the digits the model likes most (7, 8, 9: tokens 8..=10), or every token.
    struct Picky {
        inner: Digits,
        refuse_all: bool,
        vetted: Vec<u32>,
    }
    impl TokenConstraint for Picky {
        fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
            self.inner.compute_mask()
        }
        fn commit(&mut self, token: u32) -> Result<(), BoxError> {
            self.inner.commit(token)
        }
        fn is_accepting(&self) -> bool {
            self.inner.is_accepting()
        }
        fn vet(&mut self, token: u32) -> bool {
            self.vetted.push(token);
            !self.refuse_all && !(8..=10).contains(&token)
        }
    }

    #[test]
    fn a_vetoed_draw_is_drawn_again_and_a_hopeless_one_kept() {
        let v = vocab();
        let mut picky = Picky { inner: Digits::new(1), refuse_all: false, vetted: Vec::new() };
        let out = run(&mut model(), &input(&[11], 4, &v), Some(&mut picky), &mut no_events()).unwrap();
        // The favourite digit is refused, then the next ones, until one passes.
        assert_eq!(out.tokens.len(), 1);
        assert!(!(8..=10).contains(&out.tokens[0]), "{:?}", out.tokens);
        assert!(picky.vetted.len() >= 2 && out.timings.redraws >= 1, "{:?}", picky.vetted);
        assert_eq!(out.timings.redraw_fallbacks, 0);

        let mut hopeless = Picky { inner: Digits::new(1), refuse_all: true, vetted: Vec::new() };
        let out = run(&mut model(), &input(&[11], 4, &v), Some(&mut hopeless), &mut no_events()).unwrap();
        assert_eq!(out.tokens.len(), 1, "the first draw is kept when no other passes");
        assert_eq!(out.timings.redraw_fallbacks, 1);
        assert_eq!(hopeless.vetted[0], out.tokens[0]);
    }

    /// Only digit 3 (token 4) passes the vetting.
    struct OnlyFour(Vec<u32>);
    impl TokenConstraint for OnlyFour {
        fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
            Ok(&[])
        }
        fn commit(&mut self, _: u32) -> Result<(), BoxError> {
            Ok(())
        }
        fn is_accepting(&self) -> bool {
            false
        }
        fn vet(&mut self, token: u32) -> bool {
            self.0.push(token);
            token == 4
        }
    }

    #[test]
    fn past_the_redraws_the_most_likely_vetted_token_is_taken() {
        let v = vocab();
        // Only token 4 passes: found by logit order, whatever the redraws did.
        let mut logits: Vec<f32> = (0..40u32).map(|t| 10.0 - t as f32 * 0.1).collect();
        logits[12] = f32::NEG_INFINITY; // vetoed before: not asked again
        let mut c = OnlyFour(Vec::new());
        assert_eq!(best_vetted(&logits, &mut c, &v), Some(4));
        assert_eq!(c.0, [1, 2, 3, 4], "asked in logit order, EOS (token 0) never");
        let mut none = OnlyFour(Vec::new());
        logits[4] = f32::NEG_INFINITY;
        assert_eq!(best_vetted(&logits, &mut none, &v), None);
        assert!(!none.0.contains(&12) && !none.0.contains(&0));
    }

    #[test]
    fn unconstrained_greedy_follows_the_logits_until_the_budget() {
        let v = vocab();
        let mut m = model();
        let out = run(&mut m, &input(&[11, 12], 3, &v), None, &mut no_events()).unwrap();
        assert_eq!(out.tokens, vec![11, 11, 11]);
        assert_eq!(out.finish, FinishReason::MaxTokens);
        // Prefill, then one forward per token but the last.
        assert_eq!(m.calls, vec![(vec![11, 12], 0), (vec![11], 2), (vec![11], 3)]);
        assert_eq!(out.timings.generated_tokens, 3);
        assert_eq!(out.timings.steps.len(), 3);
    }

    #[test]
    fn the_mask_is_applied_at_every_step_and_generation_stops_when_only_eos_is_left() {
        let v = vocab();
        let mut m = model();
        let mut digits = Digits::new(4);
        let mut seen = Vec::new();
        let mut on = |e: &TokenEvent<'_>| {
            seen.push(e.bytes.to_vec());
            ControlFlow::Continue(())
        };
        let out = run(&mut m, &input(&[11], 10, &v), Some(&mut digits), &mut on).unwrap();
        // Letters score higher, yet every token is a digit; EOS (5.0) beats digits once allowed.
        assert_eq!(out.tokens.len(), 1, "{:?}", out.tokens);
        assert_eq!(out.finish, FinishReason::Eos);
        assert!(out.tokens.iter().all(|&t| (1..=10).contains(&t)));
        assert_eq!(digits.masks_computed, 2);
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn a_constraint_that_accepts_and_allows_only_eos_ends_generation_without_sampling() {
        let v = vocab();
        let mut m = model();
        let mut c = NoEos(Digits::new(3));
        let out = run(&mut m, &input(&[11], 10, &v), Some(&mut c), &mut no_events()).unwrap();
        assert_eq!(out.tokens.len(), 3);
        assert_eq!(out.finish, FinishReason::Accepted);
        assert_eq!(c.0.masks_computed, 4, "one mask per token, and the last one that allowed only EOS");
        // Each step's runner-up: the next best digit (digits score 0.1 apart), never a masked letter or EOS.
        assert_eq!(out.runner_up.len(), 3);
        for (&t, r) in out.tokens.iter().zip(&out.runner_up) {
            let r = r.expect("a digit was left besides the one drawn");
            assert!((1..=10).contains(&r.token) && r.token != t, "{r:?}");
            assert!((r.margin - 0.1).abs() < 1e-4, "{r:?}");
        }
        // Prefill + one forward per token: the step that ended on the mask needed none.
        assert_eq!(m.calls.len(), 4);
    }

    #[test]
    fn forced_tokens_are_committed_and_fed_in_one_batch_without_a_mask() {
        let v = vocab();
        let mut m = model();
        let mut c = Forcing { inner: Digits::new(10), forced_once: false };
        let mut forced_flags = Vec::new();
        let mut on = |e: &TokenEvent<'_>| {
            forced_flags.push(e.forced);
            ControlFlow::Continue(())
        };
        let out = run(&mut m, &input(&[11], 10, &v), Some(&mut c), &mut on).unwrap();
        assert_eq!(&out.tokens[..3], &[2, 3, 4]);
        assert_eq!(c.inner.committed[..3], [2, 3, 4]);
        assert_eq!(m.calls[1], (vec![2, 3, 4], 1), "forced tokens go through the model in one forward pass");
        assert_eq!(&forced_flags[..3], &[true, true, true]);
        assert_eq!(out.timings.forced_tokens, 3);
        assert_eq!(out.finish, FinishReason::Eos);
    }

    #[test]
    fn a_dead_end_is_an_error_and_constraint_errors_carry_the_step() {
        let v = vocab();
        let err = run(&mut model(), &input(&[11], 5, &v), Some(&mut Nothing(vec![0, 0])), &mut no_events());
        assert!(matches!(err, Err(Error::DeadEnd { step: 0 })), "{err:?}");

        let err = run(&mut model(), &input(&[11], 5, &v), Some(&mut Failing), &mut no_events()).unwrap_err();
        assert!(matches!(err, Error::Constraint { step: 0, .. }) && err.to_string().contains("broken"), "{err}");
    }

    #[test]
    fn the_callback_can_cancel_and_the_context_bounds_generation() {
        let v = vocab();
        let mut on = |e: &TokenEvent<'_>| if e.index == 1 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) };
        let out = run(&mut model(), &input(&[11], 10, &v), None, &mut on).unwrap();
        assert_eq!((out.tokens.len(), out.finish), (2, FinishReason::Cancelled));

        let mut small = FakeModel { calls: Vec::new(), context: 4 };
        let out = run(&mut small, &input(&[11, 12], 10, &v), None, &mut no_events()).unwrap();
        assert_eq!((out.tokens.len(), out.finish), (2, FinishReason::ContextFull));
        let err = run(&mut small, &input(&[11; 4], 10, &v), None, &mut no_events()).unwrap_err();
        assert!(matches!(err, Error::ContextOverflow { prompt_tokens: 4, context: 4 }));
    }

    #[test]
    fn allow_all_changes_nothing() {
        let v = vocab();
        let free = run(&mut model(), &input(&[11], 6, &v), None, &mut no_events()).unwrap();
        let mut all = AllowAll::new(v.len());
        let masked = run(&mut model(), &input(&[11], 6, &v), Some(&mut all), &mut no_events()).unwrap();
        assert_eq!(free.tokens, masked.tokens);
    }

    #[test]
    fn apply_mask_handles_partial_words_and_short_masks() {
        let v = vocab();
        let mut logits = vec![1.0f32; 40];
        let mut mask = vec![0u32; 1];
        mask[0] |= 1 << 5;
        assert_eq!(apply_mask(&mask, &mut logits, &v), MaskVerdict::SomeText);
        assert!(logits.iter().enumerate().all(|(i, &l)| (i == 5) == l.is_finite()));
        assert!(mask_allows(&mask, 5));
        let mut logits = vec![1.0f32; 40];
        assert_eq!(apply_mask(&[1], &mut logits, &v), MaskVerdict::OnlyEos);
        assert_eq!(apply_mask(&[], &mut logits, &v), MaskVerdict::Empty);
    }
    /// The fake model, able to go back: its logits depend on the position only; it checks that every forward pass
    /// runs on from where the last one ended.
    struct Rewindable {
        inner: FakeModel,
        at: usize,
        restores: usize,
    }

    impl LogitsModel for Rewindable {
        fn forward(&mut self, tokens: &[u32], pos: usize, logits: &mut Vec<f32>) -> Result<()> {
            assert_eq!(pos, self.at, "runs on from where its state is");
            self.at = pos + tokens.len();
            self.inner.forward(tokens, pos, logits)
        }
        fn context_len(&self) -> usize {
            self.inner.context_len()
        }
        fn can_rewind(&self) -> bool {
            true
        }
        fn rewind(&mut self, prompt: &[u32], kept: &[u32], logits: &mut Vec<f32>) -> Result<()> {
            self.restores += 1;
            self.at = 0;
            self.forward(prompt, 0, logits)?;
            if !kept.is_empty() {
                self.forward(kept, prompt.len(), logits)?;
            }
            Ok(())
        }
    }

    fn rewindable() -> Rewindable {
        Rewindable { inner: model(), at: 0, restores: 0 }
    }

    /// A maze for the fake model, which likes `a` (11) best, then `b` (12), `c` (13)...: `a` or `b` first; after `a`
    /// no way on (an empty mask, or with `vet_dead` a mask of `d` (14) whose every token the vetting refuses);
    /// after `b`, `c` and then the end.
    struct Trap {
        committed: Vec<u32>,
        vet_dead: bool,
        rollbacks: Vec<usize>,
        mask: Vec<u32>,
    }

    impl Trap {
        fn new(vet_dead: bool) -> Self {
            Trap { committed: Vec::new(), vet_dead, rollbacks: Vec::new(), mask: Vec::new() }
        }
    }

    impl TokenConstraint for Trap {
        fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
            let allowed: &[u32] = match self.committed.as_slice() {
                [] => &[11, 12],
                [11] if self.vet_dead => &[14],
                [11] => &[],
                [12] => &[13],
                _ => &[0],
            };
            self.mask = vec![0; 2];
            for &t in allowed {
                self.mask[(t / 32) as usize] |= 1 << (t % 32);
            }
            Ok(&self.mask)
        }
        fn commit(&mut self, token: u32) -> Result<(), BoxError> {
            self.committed.push(token);
            Ok(())
        }
        fn is_accepting(&self) -> bool {
            self.committed == [12, 13]
        }
        fn vet(&mut self, _token: u32) -> bool {
            !(self.vet_dead && self.committed == [11])
        }
        fn rollback(&mut self, n: usize) -> Result<(), BoxError> {
            self.rollbacks.push(n);
            self.committed.truncate(self.committed.len() - n);
            Ok(())
        }
    }

    #[test]
    fn a_dead_end_sends_the_loop_back_a_step_and_the_caller_never_sees_the_token_taken_back() {
        let v = vocab();
        for vet_dead in [false, true] {
            let mut m = rewindable();
            let mut trap = Trap::new(vet_dead);
            let mut seen = Vec::new();
            let mut on = |e: &TokenEvent<'_>| {
                seen.push(e.token.unwrap());
                ControlFlow::Continue(())
            };
            let out = run(&mut m, &input(&[11], 8, &v), Some(&mut trap), &mut on).unwrap();
            assert_eq!(out.tokens, [12, 13], "vet_dead {vet_dead}: `a` led nowhere, `b` was drawn instead");
            assert_eq!(seen, [12, 13], "only the output reached the caller, in order");
            assert_eq!(out.timings.backtracks, 1);
            assert_eq!(out.timings.redraw_fallbacks, 0);
            assert_eq!(out.finish, FinishReason::Accepted);
            assert_eq!((trap.rollbacks.as_slice(), m.restores), (&[1][..], 1));
            assert_eq!(trap.committed, [12, 13]);
            assert_eq!(out.runner_up.len(), 2, "the token taken back took its runner-up with it");
        }
    }

    #[test]
    fn a_model_that_cannot_go_back_keeps_the_old_behaviour() {
        let v = vocab();
        // An empty mask: the draft's dead end is an error, as before.
        let err = run(&mut model(), &input(&[11], 8, &v), Some(&mut Trap::new(false)), &mut no_events());
        assert!(matches!(err, Err(Error::DeadEnd { step: 1 })), "{err:?}");
        // Nothing passes the vetting: the first draw is kept.
        let mut trap = Trap::new(true);
        let out = run(&mut model(), &input(&[11], 3, &v), Some(&mut trap), &mut no_events()).unwrap();
        assert_eq!(out.tokens[..2], [11, 14]);
        assert_eq!((out.timings.backtracks, out.timings.redraw_fallbacks), (0, 1));
        assert!(trap.rollbacks.is_empty());
    }

    #[test]
    fn the_way_back_is_bounded_and_a_cancelled_output_ends_where_the_caller_stopped() {
        // Every first token leads nowhere: each is tried, then there is nowhere left to go back to.
        struct Hopeless(Vec<u32>, Vec<u32>);
        impl TokenConstraint for Hopeless {
            fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
                self.1 = if self.0.is_empty() { vec![u32::MAX << 11, u32::MAX] } else { vec![0, 0] };
                Ok(&self.1)
            }
            fn commit(&mut self, token: u32) -> Result<(), BoxError> {
                self.0.push(token);
                Ok(())
            }
            fn is_accepting(&self) -> bool {
                false
            }
            fn rollback(&mut self, n: usize) -> Result<(), BoxError> {
                self.0.truncate(self.0.len() - n);
                Ok(())
            }
        }
        let v = vocab();
        let mut m = rewindable();
        let err = run(&mut m, &input(&[11], 8, &v), Some(&mut Hopeless(Vec::new(), Vec::new())), &mut no_events());
        assert!(matches!(err, Err(Error::DeadEnd { step: 1 })), "{err:?}");
        assert_eq!(m.restores, MAX_BACKTRACKS as usize, "gives up after its allowance");

        let mut trap = Trap::new(false);
        let mut on = |e: &TokenEvent<'_>| if e.index == 0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) };
        let out = run(&mut rewindable(), &input(&[11], 8, &v), Some(&mut trap), &mut on).unwrap();
        assert_eq!((out.tokens.as_slice(), out.finish), (&[12][..], FinishReason::Cancelled));
        assert_eq!(trap.committed, [12], "the constraint ends where the output does");
    }
    #[test]
    fn a_draft_that_can_only_write_whitespace_goes_back_to_the_start_of_its_last_word() {
        struct Sticky(Vec<u32>, Vec<u32>);
        impl TokenConstraint for Sticky {
            fn compute_mask(&mut self) -> Result<&[u32], BoxError> {
                let allowed: &[u32] = match self.0.as_slice() {
                    [] => &[11, 12],
                    [11] => &[13],
                    [11, 13, ..] => &[1, 14],
                    _ => &[0],
                };
                self.1 = vec![0; 2];
                for &t in allowed {
                    self.1[(t / 32) as usize] |= 1 << (t % 32);
                }
                Ok(&self.1)
            }
            fn commit(&mut self, token: u32) -> Result<(), BoxError> {
                self.0.push(token);
                Ok(())
            }
            fn is_accepting(&self) -> bool {
                self.0 == [12]
            }
            fn vet(&mut self, token: u32) -> bool {
                token != 14
            }
            fn rollback(&mut self, n: usize) -> Result<(), BoxError> {
                self.0.truncate(self.0.len() - n);
                Ok(())
            }
        }
        // Token 1 is a space here. `a` then `c` make a word whose every continuation (`d`) the vetting refuses:
        // twice a space instead, then back to the word's start, where `b` is drawn.
        let mut v = vocab();
        v.tokens[1] = b" ".to_vec();
        let mut sticky = Sticky(Vec::new(), Vec::new());
        let mut seen = Vec::new();
        let mut on = |e: &TokenEvent<'_>| {
            seen.push(e.token.unwrap());
            ControlFlow::Continue(())
        };
        let out = run(&mut rewindable(), &input(&[11], 12, &v), Some(&mut sticky), &mut on).unwrap();
        assert_eq!(out.tokens, [12]);
        assert_eq!(seen, [12]);
        assert_eq!(out.timings.backtracks, 1, "one way back, over the spaces and the whole word");
        assert_eq!(sticky.0, [12]);

        // Without a way back, the spaces run on.
        let mut sticky = Sticky(Vec::new(), Vec::new());
        let out = run(&mut model(), &input(&[11], 6, &v), Some(&mut sticky), &mut no_events()).unwrap();
        assert_eq!(out.tokens, [11, 13, 1, 1, 1, 1]);
    }
}
