//! Timing mask computation along a real token sequence, for `ananke mask-stats` and the benchmarks: braid's
//! [`Checker`] and llguidance alone on the same grammar, vocabulary and tokens.

use std::sync::Arc;
use std::time::Instant;

use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};
use serde::Serialize;

use crate::checker::{CheckError, Checker, VocabIndex};

/// Per-token mask times of one walk through a token sequence, in microseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MaskTimes {
    /// Tokens walked (masks computed).
    pub tokens: usize,
    /// Mean mask time.
    pub mean_us: f64,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Slowest mask.
    pub max_us: f64,
    /// Whether every token of the sequence was allowed (the walk stops at the first one that is not).
    pub all_allowed: bool,
    /// Whether the grammar accepts at the end of the sequence.
    pub accepting: bool,
    /// The first token that was not allowed: its position, text and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refused>,
}

/// A token of the sample that the mask did not allow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Refused {
    /// Its position in the sequence.
    pub index: usize,
    /// Its id.
    pub token: u32,
    /// Its text (lossy UTF-8).
    pub text: String,
    /// Why, with constraint ids when braid knows them.
    pub reason: String,
}

impl MaskTimes {
    /// Statistics from per-mask times in nanoseconds.
    pub fn from_nanos(mut times: Vec<u64>, all_allowed: bool, accepting: bool, refused: Option<Refused>) -> Self {
        times.sort_unstable();
        let n = times.len();
        let us = |ns: u64| ns as f64 / 1e3;
        let at = |q: f64| -> f64 {
            if n == 0 {
                return 0.0;
            }
            let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
            us(times[i])
        };
        MaskTimes {
            tokens: n,
            mean_us: if n == 0 { 0.0 } else { times.iter().sum::<u64>() as f64 / n as f64 / 1e3 },
            p50_us: at(0.50),
            p90_us: at(0.90),
            p99_us: at(0.99),
            max_us: times.last().copied().map_or(0.0, us),
            all_allowed,
            accepting,
            refused,
        }
    }
}

/// Walks `tokens` through a checker: for each, time [`Checker::compute_mask`], check the token is allowed, commit
/// it. Stops at the first token that is not allowed.
pub fn time_checker(checker: &mut Checker, index: &VocabIndex, tokens: &[u32]) -> Result<MaskTimes, CheckError> {
    let mut times = Vec::with_capacity(tokens.len());
    for (i, &t) in tokens.iter().enumerate() {
        let start = Instant::now();
        let allowed = checker.compute_mask()?.is_allowed(t);
        times.push(start.elapsed().as_nanos() as u64);
        if !allowed {
            let reason = checker.violation_reason(t).map_or_else(|| "not allowed".to_owned(), |v| v.to_string());
            let refused = Refused { index: i, token: t, text: token_text(index, t), reason };
            return Ok(MaskTimes::from_nanos(times, false, false, Some(refused)));
        }
        checker.commit(t)?;
    }
    Ok(MaskTimes::from_nanos(times, true, checker.is_accepting(), None))
}

/// llguidance alone, with its default limits, on a Lark grammar and a vocabulary index.
#[derive(Debug)]
pub struct LlguidanceRun {
    /// Time to build the parser, in milliseconds.
    pub compile_ms: f64,
    /// The walk.
    pub times: MaskTimes,
}

/// Builds llguidance's parser for `lark` (timed) and walks `tokens` through it the way [`time_checker`] does. With
/// `warm`, the walk is timed a second time through the same parser after a reset (its lexer caches kept).
pub fn time_llguidance(
    lark: &str,
    index: &Arc<VocabIndex>,
    tokens: &[u32],
    warm: bool,
) -> Result<LlguidanceRun, CheckError> {
    let mut factory = ParserFactory::new_simple(index.tok_env()).map_err(|e| CheckError::Engine(e.to_string()))?;
    factory.quiet();
    let start = Instant::now();
    let parser = factory
        .create_parser(TopLevelGrammar::from_lark(lark.to_owned()))
        .map_err(|e| CheckError::Grammar(e.to_string()))?;
    let mut matcher = Matcher::new(Ok(parser));
    let compile_ms = start.elapsed().as_secs_f64() * 1e3;
    if let Some(e) = matcher.get_error() {
        return Err(CheckError::Grammar(e));
    }
    if warm {
        for &t in tokens {
            if matcher.compute_mask().is_err() || matcher.consume_token(t).is_err() {
                break;
            }
        }
        matcher.reset().map_err(|e| CheckError::Engine(e.to_string()))?;
    }
    let mut times = Vec::with_capacity(tokens.len());
    for (i, &t) in tokens.iter().enumerate() {
        let start = Instant::now();
        let mask = matcher.compute_mask().map_err(|e| CheckError::Engine(e.to_string()));
        times.push(start.elapsed().as_nanos() as u64);
        let allowed = match mask {
            Ok(mask) => mask.is_allowed(t),
            Err(e) => {
                let refused = Refused { index: i, token: t, text: token_text(index, t), reason: e.to_string() };
                return Ok(LlguidanceRun {
                    compile_ms,
                    times: MaskTimes::from_nanos(times, false, false, Some(refused)),
                });
            }
        };
        if !allowed || matcher.consume_token(t).is_err() {
            let reason = matcher.get_error().unwrap_or_else(|| "not allowed".to_owned());
            let refused = Refused { index: i, token: t, text: token_text(index, t), reason };
            return Ok(LlguidanceRun { compile_ms, times: MaskTimes::from_nanos(times, false, false, Some(refused)) });
        }
    }
    let accepting = matcher.is_accepting().unwrap_or(false);
    Ok(LlguidanceRun { compile_ms, times: MaskTimes::from_nanos(times, true, accepting, None) })
}

fn token_text(index: &VocabIndex, t: u32) -> String {
    String::from_utf8_lossy(index.vocabulary().token_bytes(t)).into_owned()
}
