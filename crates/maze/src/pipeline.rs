//! Generate → check → repair: compile a constraint set with braid, enforce what can be enforced at the token level
//! (a cached `Checker` for in-process backends, the IR's grammar for servers), check every output with clew (and
//! the output-only rules here), and on violations try again with them in the prompt, a bounded number of times.
//!
//! The [`Outcome`] says, per constraint, how it was enforced: at the token level, checked after generation, or not
//! checked at all (with why); and which still fail. It never reports "satisfied" unless the output is complete and
//! every checked constraint holds.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ananke_core::{Constraint, ConstraintId, ConstraintSet, Language, LengthUnit, Rule, Span, Violation};
use braid::{CompileConfig, ConstraintIR, Status, Target, Via};
use clew::{ExtractConfig, Linter};

use crate::backend::{Backend, GenerateRequest, Generation, Grammar, Message, Prompt, Role, Sampling, TokenEvent};
use crate::cache::ConstraintCache;
use crate::constraint::TokenConstraint;
use crate::error::{Error, Result};

/// Where generated code is placed to be checked: the file it goes into (or a stand-in) around it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// The file the code is checked as (path-scoped rules and the language's extractor depend on it).
    pub path: String,
    /// The text before the generated code.
    pub before: String,
    /// The text after it.
    pub after: String,
    /// For fn-body targets: place only the body (`{ ... }`), not the header the output starts with (filling a hole
    /// keeps the file's own header).
    pub body_only: bool,
}

impl Placement {
    /// Code checked on its own, as a file named after the compile context (or `generated.rs`). A function body
    /// whose header takes `self` is wrapped in an `impl` block so that it parses as a method.
    pub fn standalone(config: &CompileConfig) -> Placement {
        let path = config.context.path.clone().unwrap_or_else(|| format!("generated.{}", extension(config.language)));
        let method = match &config.target {
            Target::FnBody { signature } => {
                clew::parse_signature(signature, config.language).is_ok_and(|s| s.has_receiver())
                    || signature.contains("self")
            }
            _ => false,
        };
        if method && config.language == Language::Rust {
            Placement { path, before: "impl Generated {\n".into(), after: "\n}\n".into(), body_only: false }
        } else {
            Placement { path, before: String::new(), after: "\n".into(), body_only: false }
        }
    }
}

fn extension(language: Language) -> &'static str {
    match language {
        Language::Rust => "rs",
        Language::Python => "py",
        Language::Go => "go",
        Language::JavaScript => "js",
        Language::TypeScript => "ts",
    }
}

/// One generation to run to a checked result.
#[derive(Clone, Debug)]
pub struct Task {
    /// What the model continues.
    pub prompt: Prompt,
    /// The constraints the output must follow.
    pub constraints: ConstraintSet,
    /// What to compile them for (language, target, context).
    pub compile: CompileConfig,
    /// The token budget of each attempt.
    pub max_tokens: u32,
    /// How tokens are chosen (a repair attempt uses the seed plus its number).
    pub sampling: Sampling,
    /// Attempts after the first one when the output breaks a checked constraint (0 = generate and check once).
    pub max_repairs: u32,
    /// How repair attempts are drawn.
    pub repair: Repair,
    /// Where the output is placed to be checked.
    pub placement: Placement,
    /// Enforce at the token level (a checker in process, the grammar on a server). Off, the output is only checked
    /// after generation: the unconstrained baseline to compare with.
    pub token_level: bool,
    /// Bound the in-process checker to `max_tokens` so the output always ends complete (braid's syntax layer;
    /// other checkers stop at the budget as before).
    pub budget: bool,
    /// The names the output may use, for braid's identifier layer (applies when the compile config turns the layer
    /// on: `compile.body.identifiers`).
    pub identifiers: Option<Arc<braid::Identifiers>>,
    /// A check of each complete attempt beyond the constraints (e.g. `cargo check` of the file it lands in): its
    /// diagnostics fail the attempt and go into the repair prompt.
    pub verify: Option<Arc<dyn Verify>>,
}

/// How the attempts after the first are drawn when an output fails its checks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Repair {
    /// Each repair is a new draw from the original prompt at this temperature (nucleus `top_p`, the seed plus the
    /// attempt's number), under the same token-level constraints: independent candidates, among which the checks
    /// choose. With a small model this finds a body that compiles far more often than revising one draft (a
    /// greedy draft's mistakes are the model's most likely ones; see `docs/QUALITY.md`). When the task's own
    /// sampling is not greedy, its temperature is kept and only the seed changes. With the identifier layer on,
    /// the names a check reported missing in earlier drafts (`cannot find value `x``, `no method named `x``) are
    /// refused in the later ones ([`braid::Checker::refuse_names`]).
    Resample {
        /// The temperature of the repair draws (when the first attempt is greedy).
        temperature: f32,
        /// Their nucleus.
        top_p: f32,
    },
    /// Three kinds of repair in turn, with the task's own (greedy) sampling unless said otherwise: (1, 4, 7...)
    /// from another first token of the body, the 2nd, 3rd, 4th... most likely one the constraints allow; (2, 5,
    /// 8...) like [`Repair::Resample`] (seeds +2, +4, +6...); (3, 6, 9...) a *fork* of the first draft: its
    /// output kept up to the step where the model was least sure (the smallest [`crate::RunnerUp::margin`], then
    /// the next smallest...) before the first problem the [`Verify`] check located, the runner-up written there
    /// instead, and decoding going on from it. A small model's greedy drafts are its best, and the first token
    /// sets the body's shape (`let`, `match`, `self`, `if`); a fork changes the draft where it was nearly a
    /// coin toss and keeps what came before. A fork needs a text prompt, the in-process checker and the tokens'
    /// runner-ups (the local backend); where it has none, that repair resamples (seed +3, +5...).
    Branch {
        /// The temperature of the resampled repairs (when the first attempt is greedy).
        temperature: f32,
        /// Their nucleus.
        top_p: f32,
    },
    /// Each repair revises the last draft with the task's sampling: the problems as notes in the prompt, and the
    /// draft resumed where a [`Verify`] check located the first problem (its code before that kept, what it wrote
    /// there refused).
    Revise,
}

impl Repair {
    /// Resampling at temperature 0.5, nucleus 0.95.
    pub const RESAMPLE: Repair = Repair::Resample { temperature: 0.5, top_p: 0.95 };
}

impl Default for Repair {
    fn default() -> Self {
        Repair::RESAMPLE
    }
}

/// A check of generated code beyond the constraint set: a compiler, a test run.
pub trait Verify: Send + Sync + std::fmt::Debug {
    /// The problems found in `code` (the attempt's [`Attempt::code`]), each a line for people and for the repair
    /// prompt; empty when it passes.
    fn verify(&self, code: &str) -> Vec<String>;

    /// Where in `code` the first of `problems` (from [`Verify::verify`]) lies, as a byte offset, when the check
    /// can tell: the next attempt then resumes the draft there, the draft's code before it kept and what it wrote
    /// there refused (a small model regenerating from scratch tends to write the same code again). `None` (the
    /// default): the next attempt starts over.
    fn locate(&self, code: &str, problems: &[String]) -> Option<usize> {
        let _ = (code, problems);
        None
    }
}

/// Where a repair resumes an earlier draft: its output up to the first located problem, and what it (and earlier
/// drafts resumed at the same place) wrote there.
#[derive(Clone, Debug)]
struct Resume {
    text: String,
    avoid: Vec<String>,
}

impl Resume {
    /// Resumes `attempt` at `offset` in its code, when that falls inside the body past its `{`.
    fn at(attempt: &Attempt, offset: usize) -> Option<Resume> {
        let code = &attempt.code;
        if offset == 0 || offset >= code.len() || !code.is_char_boundary(offset) {
            return None;
        }
        let body_at = attempt.generation.text.find(code.as_str())?;
        let rest = &code[offset..];
        let ident = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        let avoid = if ident > 0 { &rest[..ident] } else { rest.get(..1)? };
        Some(Resume { text: attempt.generation.text[..body_at + offset].to_owned(), avoid: vec![avoid.to_owned()] })
    }

    /// This resume, also avoiding what an earlier one at the same place avoided.
    fn after(mut self, earlier: Option<&Resume>) -> Resume {
        if let Some(e) = earlier.filter(|e| e.text == self.text) {
            for w in &e.avoid {
                if !self.avoid.contains(w) {
                    self.avoid.push(w.clone());
                }
            }
        }
        self
    }
}

impl Task {
    /// A task with a budget of 256 tokens, greedy sampling, two repairs, checked standalone.
    pub fn new(prompt: Prompt, constraints: ConstraintSet, compile: CompileConfig) -> Task {
        let placement = Placement::standalone(&compile);
        Task {
            prompt,
            constraints,
            compile,
            max_tokens: 256,
            sampling: Sampling::GREEDY,
            max_repairs: 2,
            repair: Repair::default(),
            placement,
            token_level: true,
            budget: true,
            identifiers: None,
            verify: None,
        }
    }
}

/// One attempt: what was generated and what the check found.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// The backend's output.
    pub generation: Generation,
    /// The code placed for checking: the output, or its body (see [`Placement::body_only`]).
    pub code: String,
    /// Whether the output is complete: the token-level constraint accepts it (in-process), or the server stopped
    /// on its own rather than at the budget.
    pub complete: bool,
    /// Checked constraints the code breaks.
    pub violations: Vec<Violation>,
    /// Other reasons the code is not acceptable (incomplete, does not parse).
    pub problems: Vec<String>,
}

impl Attempt {
    /// Whether the attempt is complete and nothing checked fails.
    pub fn passed(&self) -> bool {
        self.complete && self.violations.is_empty() && self.problems.is_empty()
    }
}

/// How each applicable constraint was enforced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Enforcement {
    /// Enforced while generating: no token that breaks them could be chosen (in-process checker), or sent to the
    /// server as part of the grammar (see [`Enforcement::by_server`]).
    pub token_level: Vec<ConstraintId>,
    /// Whether the token-level constraints were left to a server (which may or may not honor the grammar).
    pub by_server: bool,
    /// Checked on every output after generation (by clew, or here for output-only rules). Token-level
    /// constraints that can also be checked are in both lists.
    pub checked: Vec<ConstraintId>,
    /// Applicable constraints neither enforced at the token level nor checked, with why.
    pub unchecked: Vec<(ConstraintId, String)>,
    /// Constraints that do not apply to this output (other language, test code only, lost a conflict), with why.
    pub inapplicable: Vec<(ConstraintId, String)>,
}

/// The result of a [`Task`]: every attempt, how each constraint was enforced, and where the time went.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The compiled IR.
    pub ir: Arc<ConstraintIR>,
    /// Whether the checker came from the cache (`None` when the backend has no vocabulary: a server).
    pub cache_hit: Option<bool>,
    /// Time in braid's compile of the set (the checker build, on a cache miss, is in the cache's metrics).
    pub compile_time: Duration,
    /// Time to get the checker (a cache lookup, or a build).
    pub checker_time: Duration,
    /// The attempts, in order.
    pub attempts: Vec<Attempt>,
    /// Which attempt is the result: the one that passed, else the closest to passing (see [`Outcome::result`]).
    pub chosen: usize,
    /// How each constraint was enforced.
    pub enforcement: Enforcement,
    /// Attempts that ended where the token constraint allowed no token and did not accept the output (a bug of
    /// the constraint, reported, not hidden): the step each stopped at. They are not in `attempts`.
    pub dead_ends: Vec<usize>,
}

impl Outcome {
    /// The last attempt.
    pub fn last(&self) -> &Attempt {
        // `run` always makes at least one attempt before returning an outcome.
        &self.attempts[self.attempts.len() - 1]
    }

    /// The attempt that is the result: the one that passed every check, or when none did, the closest to passing
    /// (complete first, then the fewest broken constraints, then the fewest other problems, then the earliest), so
    /// a later, worse draft never replaces a better one.
    pub fn result(&self) -> &Attempt {
        &self.attempts[self.chosen.min(self.attempts.len() - 1)]
    }

    /// The code of the result (see [`Attempt::code`]).
    pub fn code(&self) -> &str {
        &self.result().code
    }

    /// Whether the result is complete and breaks no checked constraint. Unchecked constraints are not claimed:
    /// see [`Enforcement::unchecked`].
    pub fn satisfied(&self) -> bool {
        self.result().passed()
    }

    /// One paragraph for people: how many constraints were enforced how, and what still fails.
    pub fn summary(&self) -> String {
        let e = &self.enforcement;
        let last = self.result();
        let applicable: BTreeSet<ConstraintId> =
            e.token_level.iter().chain(&e.checked).copied().chain(e.unchecked.iter().map(|(id, _)| *id)).collect();
        let only_checked = e.checked.iter().filter(|id| !e.token_level.contains(id)).count();
        let mut out = format!(
            "{} applicable constraint(s): {} enforced {}, {} more checked after generation",
            applicable.len(),
            e.token_level.len(),
            if e.by_server { "by the server's grammar" } else { "at the token level" },
            only_checked,
        );
        if !e.unchecked.is_empty() {
            let _ = write!(out, ", {} not checked", e.unchecked.len());
        }
        let _ = write!(out, "; {} attempt(s). ", self.attempts.len());
        if !self.dead_ends.is_empty() {
            let steps: Vec<String> = self.dead_ends.iter().map(usize::to_string).collect();
            let _ = write!(
                out,
                "{} more attempt(s) ended where the token constraint allowed no token (after {} token(s)) and were \
                 dropped. ",
                self.dead_ends.len(),
                steps.join(", ")
            );
        }
        if last.passed() {
            if e.unchecked.is_empty() {
                out.push_str("All of them hold.");
            } else {
                out.push_str("Every checked constraint holds; the unchecked ones are not claimed.");
            }
        } else {
            let failing: BTreeSet<ConstraintId> = last.violations.iter().map(|v| v.constraint).collect();
            let mut why: Vec<String> = Vec::new();
            if !failing.is_empty() {
                why.push(format!("{} constraint(s) still fail", failing.len()));
            }
            why.extend(last.problems.iter().cloned());
            let _ = write!(out, "NOT satisfied: {}.", why.join("; "));
        }
        out
    }

    /// Tokens generated over all attempts.
    pub fn tokens(&self) -> usize {
        self.attempts.iter().map(|a| a.generation.timings.generated_tokens).sum()
    }
}

/// Runs tasks with a shared [`ConstraintCache`]. Cheap to clone (the cache is shared).
#[derive(Clone, Debug, Default)]
pub struct Pipeline {
    cache: Arc<ConstraintCache>,
}

impl Pipeline {
    /// A pipeline using `cache`.
    pub fn new(cache: Arc<ConstraintCache>) -> Self {
        Pipeline { cache }
    }

    /// The cache (and its metrics).
    pub fn cache(&self) -> &Arc<ConstraintCache> {
        &self.cache
    }

    /// Compiles, generates, checks and repairs, as described in the [module documentation](self). `on_token` sees
    /// the output of every attempt as it is produced (each attempt's pieces start again at index 0).
    pub fn run(
        &self,
        backend: &mut dyn Backend,
        task: &Task,
        on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
    ) -> Result<Outcome> {
        let started = Instant::now();
        let ir = Arc::new(braid::compile(&task.constraints, &task.compile).map_err(Error::Compile)?);
        let compile_time = started.elapsed();
        self.cache.latencies().compile.record(compile_time);

        let started = Instant::now();
        let compiled = match (backend.vocabulary(), backend.vocabulary_id()) {
            (Some(vocab), Some(id)) if task.token_level && ir.grammar.is_some() => {
                Some(self.cache.get_or_build(&ir, vocab, id)?)
            }
            _ => None,
        };
        let checker_time = started.elapsed();
        let grammar = if task.token_level { server_grammar(&ir) } else { None };
        let by_server = compiled.is_none() && grammar.is_some();

        let applicable = applicable_set(&task.constraints, &ir);
        let linter = Linter::new(&applicable).map_err(Error::Lint)?;
        let enforcement = enforcement(&ir, &applicable, &linter, compiled.is_some() || by_server, by_server);

        let mut prompt = task.prompt.clone();
        let mut attempts: Vec<Attempt> = Vec::new();
        let mut resume: Option<Resume> = None;
        let mut last_resume: Option<Resume> = None;
        let mut dead_ends: Vec<usize> = Vec::new();
        // Names the compiler did not find in the drafts so far: resampled drafts may not write them again.
        let mut missing: Vec<String> = Vec::new();
        for n in 0..=task.max_repairs {
            let mut checker = compiled.as_ref().map(|(c, _)| c.checker());
            if let Some(c) = checker.as_mut() {
                if task.budget {
                    c.set_budget(Some(task.max_tokens));
                }
                if ir.body.identifiers
                    && let Some(ids) = &task.identifiers
                {
                    c.set_identifiers(Arc::clone(ids));
                    if matches!(task.repair, Repair::Resample { .. } | Repair::Branch { .. }) && !missing.is_empty() {
                        c.refuse_names(&missing);
                    }
                }
            }
            let draft = match task.repair {
                Repair::Branch { .. } => branch_draft(n),
                _ => Draft::First,
            };
            let draft = match draft {
                Draft::Fork(k) => {
                    let vocab = backend.vocabulary();
                    let fork = match (attempts.first(), vocab, checker.as_ref(), &prompt) {
                        (Some(first), Some(vocab), Some(c), Prompt::Text(_)) => {
                            let problem = task.verify.as_ref().and_then(|v| v.locate(&first.code, &first.problems));
                            fork(first, k, problem, vocab, c)
                        }
                        _ => None,
                    };
                    match fork {
                        Some(r) => {
                            resume = Some(r);
                            Draft::Fork(k)
                        }
                        None => Draft::Resampled(2 * k as u64 + 1),
                    }
                }
                d => d,
            };
            // Resume the last draft where its first located problem is, or a fork (syntax checker and text prompts
            // only).
            let mut resumed = None;
            if let (Some(r), Some(c), Prompt::Text(_)) = (resume.take(), checker.as_mut(), &prompt)
                && c.tokens_used().is_some()
            {
                let mut trial = c.clone();
                if trial.commit_bytes(r.text.as_bytes()).is_ok() && trial.avoid_next(&r.avoid) {
                    *c = trial;
                    resumed = Some(r.text.clone());
                    last_resume = Some(r);
                }
            }
            let used = match (&resumed, &checker) {
                (Some(_), Some(c)) => c.tokens_used().unwrap_or(0),
                _ => 0,
            };
            let mut sampling = Sampling { seed: task.sampling.seed.wrapping_add(u64::from(n)), ..task.sampling };
            // With `Branch`, how many of the likeliest first tokens this draft passes over.
            let mut skip_first = 0;
            match (task.repair, draft) {
                (Repair::Branch { .. }, Draft::OtherFirst(k)) if sampling.is_greedy() => skip_first = k as u32,
                (Repair::Branch { temperature, top_p }, Draft::Resampled(plus)) => {
                    sampling.seed = task.sampling.seed.wrapping_add(plus);
                    if sampling.is_greedy() {
                        sampling.temperature = temperature;
                        sampling.top_p = top_p;
                    }
                }
                (Repair::Resample { temperature, top_p }, _) if n > 0 && sampling.is_greedy() => {
                    sampling.temperature = temperature;
                    sampling.top_p = top_p;
                }
                _ => {}
            }
            let mut request_prompt = prompt.clone();
            if let (Some(text), Prompt::Text(p)) = (&resumed, &mut request_prompt) {
                p.push_str(text);
            }
            let request = GenerateRequest {
                prompt: request_prompt,
                max_tokens: task.max_tokens.saturating_sub(used).max(1),
                sampling,
                grammar: grammar.clone(),
            };
            // Without a checker, a fn body ends where its braces balance: stop there, as a harness would cut it.
            let cut_body = checker.is_none() && grammar.is_none() && is_fn_body(&task.compile.target);
            // And a text prompt ends with the header and `{`, which a checker would have forced: the model writes
            // the body, as it does under constraints.
            let header = match (&ir.target, &request.prompt) {
                (Target::FnBody { signature }, Prompt::Text(_)) if cut_body => {
                    Some(format!("{} {{", signature.trim_end()))
                }
                _ => None,
            };
            let mut request = request;
            if let (Some(h), Prompt::Text(p)) = (&header, &mut request.prompt) {
                p.push_str(h);
            }
            let vocab = backend.vocabulary().cloned();
            let skip = if vocab.is_some() { skip_first } else { 0 };
            let mut branched =
                checker.as_mut().map(|c| OtherFirst { inner: c, vocab, skip, passed: Vec::new(), open: true });
            let constraint: Option<&mut dyn TokenConstraint> = branched.as_mut().map(|c| c as &mut dyn TokenConstraint);
            let mut text = if header.is_some() { "{".to_owned() } else { String::new() };
            let mut body_end = None;
            let mut watch = |event: &TokenEvent<'_>| {
                let flow = on_token(event);
                if cut_body && body_end.is_none() {
                    text.push_str(&String::from_utf8_lossy(event.bytes));
                    // Only a `}` can close the body: rescan then.
                    if event.bytes.contains(&b'}') {
                        body_end = balanced_body_end(&text);
                    }
                    if body_end.is_some() {
                        return ControlFlow::Break(());
                    }
                }
                flow
            };
            let mut generation = match backend.generate(&request, constraint, &mut watch) {
                Ok(generation) => generation,
                // The constraint left no token for this draft: that is this attempt's failure, not the task's. The
                // next attempt samples again (another seed), and the attempts so far are kept.
                Err(Error::DeadEnd { step }) if n < task.max_repairs || !attempts.is_empty() => {
                    dead_ends.push(step);
                    continue;
                }
                Err(e) => return Err(e),
            };
            self.record(&generation);
            if let Some(h) = &header {
                generation.text.insert_str(0, h);
            }
            if let Some(text) = &resumed {
                generation.text.insert_str(0, text);
            }
            if let Some(end) = cut_body.then(|| balanced_body_end(&generation.text)).flatten() {
                generation.text.truncate(end);
            }
            let complete = match &checker {
                Some(c) => c.is_accepting(),
                None if cut_body => balanced_body_end(&generation.text).is_some(),
                None => matches!(generation.finish, crate::FinishReason::Eos | crate::FinishReason::Accepted),
            };
            let mut attempt = check(task, &ir, &applicable, &linter, generation, complete);
            if let Some(verify) = &task.verify
                && attempt.complete
            {
                attempt.problems.extend(verify.verify(&attempt.code));
            }
            let passed = attempt.passed();
            for name in attempt.problems.iter().filter_map(|p| missing_name(p)) {
                if !missing.iter().any(|m| m == name) {
                    missing.push(name.to_owned());
                }
            }
            if !passed && n < task.max_repairs && task.repair == Repair::Revise {
                prompt = repair_prompt(&task.prompt, &attempt, task.max_tokens);
                resume = task
                    .verify
                    .as_ref()
                    .filter(|_| attempt.violations.is_empty() && attempt.complete)
                    .and_then(|v| v.locate(&attempt.code, &attempt.problems))
                    .and_then(|offset| Resume::at(&attempt, offset))
                    .map(|r| r.after(last_resume.as_ref()));
            }
            attempts.push(attempt);
            if passed {
                break;
            }
        }
        if attempts.is_empty() {
            return Err(Error::DeadEnd { step: dead_ends.last().copied().unwrap_or(0) });
        }
        let chosen = best_attempt(&attempts);
        Ok(Outcome {
            ir,
            cache_hit: compiled.as_ref().map(|(_, hit)| *hit),
            compile_time,
            checker_time,
            attempts,
            chosen,
            enforcement,
            dead_ends,
        })
    }

    fn record(&self, generation: &Generation) {
        let latencies = self.cache.latencies();
        latencies.generation.record(generation.timings.total);
        // Per sampled token: forced tokens need no mask, and the loop times their commits as one step.
        for step in generation.timings.steps.iter().filter(|s| !s.forced && s.tokens > 0) {
            latencies.mask.record(step.mask);
        }
    }
}

/// The index of the attempt closest to passing (see [`Outcome::result`]).
fn best_attempt(attempts: &[Attempt]) -> usize {
    attempts
        .iter()
        .enumerate()
        .min_by_key(|(i, a)| (!a.passed(), !a.complete, a.violations.len(), a.problems.len(), *i))
        .map_or(0, |(i, _)| i)
}

/// The grammar a server enforces: the IR's Lark grammar, or its JSON schema.
fn server_grammar(ir: &ConstraintIR) -> Option<Grammar> {
    if let Some(g) = &ir.grammar {
        return Some(Grammar::Lark(g.lark.clone()));
    }
    ir.json_schema.as_ref().map(|s| Grammar::JsonSchema(s.schema.to_string()))
}

/// The constraints of `set` that the IR applied (not inapplicable here, not overridden by a conflict).
fn applicable_set(set: &ConstraintSet, ir: &ConstraintIR) -> ConstraintSet {
    let mut out = set.clone();
    out.retain(|c| ir.entry(c.id).is_none_or(|e| matches!(e.status, Status::Enforced { .. })));
    out
}

/// Rules clew does not check on files, that this module checks on the output itself.
fn checked_here(rule: &Rule) -> bool {
    matches!(rule, Rule::Regex { .. } | Rule::Length { unit: LengthUnit::Tokens, .. })
}

fn enforcement(
    ir: &ConstraintIR,
    applicable: &ConstraintSet,
    linter: &Linter,
    token_level_applies: bool,
    by_server: bool,
) -> Enforcement {
    let mut e = Enforcement { by_server, ..Enforcement::default() };
    for entry in &ir.constraints {
        match &entry.status {
            Status::Enforced { via } => {
                if token_level_applies
                    && via.iter().any(|v| matches!(v, Via::Grammar | Via::Forbidden | Via::JsonSchema))
                {
                    e.token_level.push(entry.id);
                }
            }
            Status::Overridden { by } => e.inapplicable.push((entry.id, format!("overridden by {by}"))),
            Status::Inapplicable { reason } => e.inapplicable.push((entry.id, reason.clone())),
        }
    }
    for c in applicable {
        if let Some(u) = linter.unchecked().iter().find(|u| u.constraint == c.id) {
            if checked_here(&c.rule) {
                e.checked.push(c.id);
            } else if !e.token_level.contains(&c.id) {
                e.unchecked.push((c.id, u.reason.clone()));
            }
        } else {
            e.checked.push(c.id);
        }
    }
    e
}

/// Places the output, lints the file, keeps what concerns the generated region, and checks output-only rules.
fn check(
    task: &Task,
    ir: &ConstraintIR,
    applicable: &ConstraintSet,
    linter: &Linter,
    generation: Generation,
    complete: bool,
) -> Attempt {
    let place = &task.placement;
    let code = placed_code(&generation.text, ir, place.body_only);
    let mut problems = Vec::new();
    if !complete {
        problems.push(format!(
            "the output is incomplete ({}) after {} token(s)",
            match generation.finish {
                crate::FinishReason::MaxTokens => "the token budget ran out".to_owned(),
                ref other => format!("{other:?}"),
            },
            generation.timings.generated_tokens
        ));
    }
    let file = format!("{}{}{}", place.before, code, place.after);
    let region = (place.before.len(), place.before.len() + code.len());
    let first_line = place.before.matches('\n').count() as u32 + 1;
    let last_line = first_line + code.matches('\n').count() as u32;
    let config = ExtractConfig { language: Some(task.compile.language), ..ExtractConfig::default() };
    let lint = linter.lint_file(&place.path, file.as_bytes(), &config);
    let mut violations: Vec<Violation> = lint
        .violations
        .into_iter()
        .filter(|v| (v.span.start_byte as usize) < region.1.max(region.0 + 1) && (v.span.end_byte as usize) >= region.0)
        .collect();
    if complete {
        for d in &lint.diagnostics {
            if d.line.is_none_or(|l| (first_line..=last_line).contains(&l)) {
                problems.push(format!("it does not parse: {}", d.message));
            }
        }
    }
    for c in applicable {
        if let Some(message) = output_rule_failure(c, &generation) {
            violations.push(output_violation(c, message, &place.path));
        }
    }
    Attempt { generation, code, complete, violations, problems }
}

/// The code to place: the whole output, or for a body-only placement the output from its first `{` on (the header
/// the grammar forced is the file's already).
fn placed_code(text: &str, ir: &ConstraintIR, body_only: bool) -> String {
    if !body_only {
        return text.to_owned();
    }
    let rest = match &ir.target {
        Target::FnBody { signature } => text.trim_start().strip_prefix(signature.trim()).unwrap_or(text),
        _ => text,
    };
    match rest.find('{') {
        Some(i) => rest[i..].trim_end().to_owned(),
        None => rest.trim().to_owned(),
    }
}

/// Whole-output regexes and token bounds: checked on the output, since they are about it rather than about code.
fn output_rule_failure(c: &Constraint, generation: &Generation) -> Option<String> {
    match &c.rule {
        Rule::Regex { pattern } => match regex::Regex::new(&format!("^(?:{pattern})$")) {
            Ok(re) if re.is_match(&generation.text) => None,
            Ok(_) => Some(format!("the output does not match /{pattern}/")),
            Err(e) => Some(format!("the regex /{pattern}/ does not compile: {e}")),
        },
        Rule::Length { unit: LengthUnit::Tokens, min, max } => {
            let n = generation.timings.generated_tokens.max(generation.tokens.len()) as u64;
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                Some(format!(
                    "the output has {n} tokens, outside {}..={}",
                    min.unwrap_or(0),
                    max.map_or("∞".into(), |m| m.to_string())
                ))
            } else {
                None
            }
        }
        _ => None,
    }
}

fn output_violation(c: &Constraint, message: String, path: &str) -> Violation {
    Violation {
        constraint: c.id,
        label: c.label.clone(),
        rule: Arc::new(c.rule.clone()),
        kind: c.kind,
        severity: c.severity,
        message,
        file: path.to_owned(),
        span: Span::default(),
        suggestion: None,
        note: c.message.clone(),
    }
}

/// The prompt of the next attempt: the first prompt plus what was wrong with the last output.
/// The name a compiler's problem line says does not exist (rustc's `cannot find value `x``, `no method named
/// `x``, `no field `x``, `use of undeclared type `X``...), when it says so.
fn missing_name(problem: &str) -> Option<&str> {
    const SAYS: &[&str] = &[
        "cannot find value `",
        "cannot find function `",
        "cannot find type `",
        "cannot find struct, variant or union type `",
        "cannot find tuple struct or tuple variant `",
        "cannot find macro `",
        "cannot find module or crate `",
        "cannot find `",
        "no method named `",
        "no field `",
        "no function or associated item named `",
        "no associated item named `",
        "no variant or associated item named `",
        "use of undeclared type `",
        "use of undeclared crate or module `",
        "use of unresolved module or unlinked crate `",
    ];
    SAYS.iter().find_map(|says| {
        let rest = &problem[problem.find(says)? + says.len()..];
        let name = &rest[..rest.find('`')?];
        (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')).then_some(name)
    })
}

fn repair_prompt(original: &Prompt, attempt: &Attempt, max_tokens: u32) -> Prompt {
    let mut issues: Vec<String> = attempt
        .violations
        .iter()
        .map(|v| {
            let rule = v.rule.describe();
            match &v.suggestion {
                Some(s) => format!("{} ({rule}; {s})", v.message),
                None => format!("{} ({rule})", v.message),
            }
        })
        .collect();
    for p in &attempt.problems {
        if p.contains("budget") {
            issues.push(format!("it must be complete within {max_tokens} tokens: write a shorter body"));
        } else {
            issues.push(p.clone());
        }
    }
    issues.dedup();
    match original {
        Prompt::Chat(messages) => {
            let mut messages = messages.clone();
            messages.push(Message::new(Role::Assistant, attempt.generation.text.clone()));
            let list: Vec<String> = issues.iter().map(|i| format!("- {i}")).collect();
            messages.push(Message::new(
                Role::User,
                format!(
                    "That code breaks rules of this codebase:\n{}\nWrite it again, following every rule.",
                    list.join("\n")
                ),
            ));
            Prompt::Chat(messages)
        }
        Prompt::Text(text) => {
            // Comments just before the code: the model reads them as the file's own notes.
            let (head, indent) = match text.rfind('\n') {
                Some(i) if text[i + 1..].trim().is_empty() => (&text[..=i], &text[i + 1..]),
                _ => (text.as_str(), ""),
            };
            let mut out = head.to_owned();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            let _ =
                writeln!(out, "{indent}// Note: the code below must not repeat these mistakes of an earlier draft:");
            for i in &issues {
                let _ = writeln!(out, "{indent}// - {}", i.replace('\n', " "));
            }
            out.push_str(indent);
            Prompt::Text(out)
        }
    }
}

fn is_fn_body(target: &Target) -> bool {
    matches!(target, Target::FnBody { .. })
}

/// Where a fn body's text ends: just past the `}` that closes its first `{`, braces in strings, chars and comments
/// not counted (Rust lexing, roughly: enough to cut an unconstrained output where a harness would).
fn balanced_body_end(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut opened = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 1);
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            // A char literal (`'{'`, `'\''`); a lifetime has no closing quote within three bytes.
            b'\'' => {
                if b.get(i + 1) == Some(&b'\\') {
                    if let Some(n) = b[i + 2..].iter().take(10).position(|&c| c == b'\'') {
                        i += 2 + n;
                    }
                } else if b.get(i + 2) == Some(&b'\'') {
                    i += 2;
                }
            }
            b'{' => {
                depth += 1;
                opened = true;
            }
            b'}' if opened => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// What an attempt of a [`Repair::Branch`] task draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Draft {
    /// The task's own sampling (the first attempt).
    First,
    /// Greedy from the body's `k + 1`-th likeliest first token.
    OtherFirst(usize),
    /// Resampled, the seed plus this.
    Resampled(u64),
    /// The `k`-th fork of the first draft (see [`fork`]).
    Fork(usize),
}

/// The draft of attempt `n` (0: the first) of a [`Repair::Branch`] task: the three kinds of repair in turn.
fn branch_draft(n: u32) -> Draft {
    if n == 0 {
        return Draft::First;
    }
    let round = (n as usize - 1) / 3 + 1;
    match (n - 1) % 3 {
        0 => Draft::OtherFirst(round),
        1 => Draft::Resampled(2 * round as u64),
        _ => Draft::Fork(round),
    }
}

/// Where the `k`-th fork (1: the first) of `draft` resumes: its output up to the token where the model was the
/// `k`-th least sure (by [`crate::RunnerUp::margin`]) among the body's tokens up to `problem` (an offset in its
/// code; the whole body when `None`), the runner-up written there instead. A runner-up that differs from the
/// token only in whitespace is no fork, nor one `checker` (fresh, configured as the task's) refuses after the
/// kept output. `None` when there are fewer such places or the tokens do not spell the text.
fn fork(
    draft: &Attempt,
    k: usize,
    problem: Option<usize>,
    vocab: &crate::vocab::Vocabulary,
    checker: &braid::Checker,
) -> Option<Resume> {
    let generation = &draft.generation;
    if k == 0 || generation.runner_up.len() != generation.tokens.len() {
        return None;
    }
    let body_at = generation.text.find(draft.code.as_str())?;
    let limit = body_at + problem.unwrap_or(draft.code.len()).min(draft.code.len());
    let mut places = Vec::new();
    let mut at = 0;
    for (&token, runner_up) in generation.tokens.iter().zip(&generation.runner_up) {
        let start = at;
        let bytes = vocab.token_bytes(token);
        at += bytes.len();
        let Some(r) = runner_up else { continue };
        let Ok(other) = std::str::from_utf8(vocab.token_bytes(r.token)) else { continue };
        if start <= body_at || start > limit || bytes.trim_ascii() == other.as_bytes().trim_ascii() {
            continue;
        }
        places.push((r.margin, start, other));
    }
    if at != generation.text.len() {
        return None;
    }
    places.sort_by(|a, b| a.0.total_cmp(&b.0));
    places
        .into_iter()
        .filter_map(|(_, start, other)| {
            let kept = generation.text.get(..start)?;
            let mut trial = checker.clone();
            trial.commit_bytes(kept.as_bytes()).ok()?;
            if trial.vet_bytes(other.as_bytes()).is_some() || trial.commit_bytes(other.as_bytes()).is_err() {
                return None;
            }
            Some(Resume { text: format!("{kept}{other}"), avoid: Vec::new() })
        })
        .nth(k - 1)
}

/// A constraint that, at the body's first sampled token that is not whitespace, refuses the `skip` likeliest
/// tokens the inner constraint accepts there (see [`Repair::Branch`]): the loop draws again without each, so a
/// greedy draft starts with the `skip + 1`-th. Everything else is the inner constraint's.
struct OtherFirst<'c, C: TokenConstraint + ?Sized> {
    inner: &'c mut C,
    /// The backend's vocabulary (without one, `skip` is 0).
    vocab: Option<Arc<crate::vocab::Vocabulary>>,
    skip: u32,
    /// The first tokens refused so far.
    passed: Vec<u32>,
    /// Whether the first token that is not whitespace is still to come.
    open: bool,
}

impl<C: TokenConstraint + ?Sized> OtherFirst<'_, C> {
    fn blank(&self, token: u32) -> bool {
        self.vocab.as_ref().is_some_and(|v| v.token_bytes(token).iter().all(u8::is_ascii_whitespace))
    }
}

impl<C: TokenConstraint + ?Sized> TokenConstraint for OtherFirst<'_, C> {
    fn compute_mask(&mut self) -> std::result::Result<&[u32], crate::error::BoxError> {
        TokenConstraint::compute_mask(self.inner)
    }

    fn commit(&mut self, token: u32) -> std::result::Result<(), crate::error::BoxError> {
        // The header is forced (never vetted): the first sampled token comes after a vetting.
        if self.open && !self.passed.is_empty() && !self.blank(token) {
            self.open = false;
        }
        TokenConstraint::commit(self.inner, token)
    }

    fn is_accepting(&self) -> bool {
        TokenConstraint::is_accepting(self.inner)
    }

    fn forced_tokens(&mut self) -> std::result::Result<Vec<u32>, crate::error::BoxError> {
        TokenConstraint::forced_tokens(self.inner)
    }

    fn vet(&mut self, token: u32) -> bool {
        if !TokenConstraint::vet(self.inner, token) {
            return false;
        }
        if !self.open || self.skip == 0 || self.blank(token) {
            return true;
        }
        if self.passed.len() < self.skip as usize {
            if !self.passed.contains(&token) {
                self.passed.push(token);
            }
            return false;
        }
        !self.passed.contains(&token)
    }

    fn explain(&mut self, token: u32) -> Option<String> {
        TokenConstraint::explain(self.inner, token)
    }

    fn rollback(&mut self, n: usize) -> std::result::Result<(), crate::error::BoxError> {
        TokenConstraint::rollback(self.inner, n)
    }
}

#[cfg(test)]
mod body_end_tests {
    use std::sync::Arc;

    use super::{OtherFirst, balanced_body_end};
    use crate::constraint::TokenConstraint;

    #[test]
    fn a_branch_passes_over_the_likeliest_first_tokens_and_then_nothing() {
        let tokens = ["<eos>", " \n", "a", "b", "c"].iter().map(|t| t.as_bytes().to_vec()).collect();
        let vocab = crate::vocab::Vocabulary { name: "t".into(), tokens, eos: vec![0], bos: None, special: vec![0] };
        let mut inner = crate::constraint::AllowAll::new(5);
        let mut first =
            OtherFirst { inner: &mut inner, vocab: Some(Arc::new(vocab)), skip: 2, passed: Vec::new(), open: true };
        first.commit(2).unwrap(); // a forced header token: never vetted
        assert!(first.vet(1), "whitespace is no first token");
        assert!(!first.vet(2) && !first.vet(3), "the two likeliest are passed over");
        assert!(first.vet(4) && !first.vet(2));
        first.commit(4).unwrap();
        assert!(first.vet(2) && first.vet(3), "after the first token, everything the inner constraint takes");
        let mut none = OtherFirst { inner: &mut inner, vocab: None, skip: 0, passed: Vec::new(), open: true };
        assert!(none.vet(2));
    }

    #[test]
    fn bodies_end_where_their_braces_balance() {
        assert_eq!(balanced_body_end("{ x }\n\nfn next() {}"), Some(5));
        assert_eq!(balanced_body_end("{ let s = \"}\"; let c = '}'; // }\n if a { b } }tail"), Some(46));
        assert_eq!(balanced_body_end("{ let r: &'a str = x; /* } */ r }"), Some(33));
        assert_eq!(balanced_body_end("{ if a { b"), None);
        assert_eq!(balanced_body_end("no brace"), None);
    }
}

#[cfg(test)]
mod missing_name_tests {
    use super::missing_name;

    #[test]
    fn names_rustc_reports_missing() {
        let line = |s: &str| format!("cargo check: src/lib.rs:3:9: error[E0599]: {s}");
        assert_eq!(missing_name(&line("no method named `push_all` found for struct `Vec<u8>`")), Some("push_all"));
        assert_eq!(missing_name(&line("cannot find value `total` in this scope")), Some("total"));
        assert_eq!(missing_name(&line("failed to resolve: use of undeclared type `HashMap`")), Some("HashMap"));
        assert_eq!(missing_name(&line("no field `len` on type `&Stock`")), Some("len"));
        assert_eq!(missing_name(&line("cannot find `Clear` in `self`")), Some("Clear"));
        assert_eq!(missing_name(&line("cannot find module or crate `todo` in this scope")), Some("todo"));
        assert_eq!(missing_name(&line("mismatched types")), None);
        assert_eq!(missing_name(&line("cannot find type `Vec<T>` in this scope")), None, "not a name");
        assert_eq!(missing_name("the body must not call `unwrap`"), None);
    }
}
