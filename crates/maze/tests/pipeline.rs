//! Generate → check → repair with a scripted in-process backend over a byte vocabulary: the real braid checker
//! drives every token, the real clew linter checks every output, and the report says what holds and what does not.

use std::ops::ControlFlow;
use std::sync::Arc;

use ananke_core::{Constraint, ConstraintSet, Language, Pattern, Provenance, Rule, Scope, Severity};
use braid::{CompileConfig, Target};
use maze::{
    Backend, BoxError, ConstraintCache, Error, FinishReason, GenerateRequest, Generation, Pipeline, Prompt, Repair,
    RunnerUp, Sampling, Task, Timings, TokenConstraint, TokenEvent, Vocabulary, mask_allows,
};

const EOS: u32 = 256;
/// A script that stands for a draft whose constraint allowed no token after three.
const DEAD_END: &str = "<dead end>";

/// Writes its scripts in order, one per call, byte by byte through the constraint after the forced tokens (the
/// header and the opening brace), as the real loop does; records the prompts it was given.
struct Scripted {
    vocab: Arc<Vocabulary>,
    scripts: Vec<&'static str>,
    prompts: Vec<Prompt>,
    samplings: Vec<Sampling>,
    /// Per call, whether the constraint's vetting let a `w` through as the first byte written.
    w_vetted: Vec<bool>,
    /// For the first script's bytes (by index), the runner-up the backend reports: another byte and its margin.
    runner_ups: Vec<(usize, u8, f32)>,
}

impl Scripted {
    fn new(scripts: Vec<&'static str>) -> Self {
        let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        tokens.push(b"<eos>".to_vec());
        let vocab = Vocabulary { name: "bytes".into(), tokens, eos: vec![EOS], bos: None, special: vec![EOS] };
        Scripted {
            vocab: Arc::new(vocab),
            scripts,
            prompts: Vec::new(),
            samplings: Vec::new(),
            w_vetted: Vec::new(),
            runner_ups: Vec::new(),
        }
    }
}

impl Backend for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }

    fn vocabulary(&self) -> Option<&Arc<Vocabulary>> {
        Some(&self.vocab)
    }

    fn generate(
        &mut self,
        request: &GenerateRequest,
        constraint: Option<&mut dyn TokenConstraint>,
        on_token: &mut dyn FnMut(&TokenEvent<'_>) -> ControlFlow<()>,
    ) -> maze::Result<Generation> {
        self.prompts.push(request.prompt.clone());
        self.samplings.push(request.sampling);
        let script = self.scripts[(self.prompts.len() - 1).min(self.scripts.len() - 1)];
        if script == DEAD_END {
            return Err(Error::DeadEnd { step: 3 });
        }
        let c = constraint.expect("an in-process backend gets the checker");
        let err = |step, source: BoxError| Error::Constraint { step, source };
        let mut tokens: Vec<u32> = Vec::new();
        let mut runner_up = Vec::new();
        loop {
            let forced = c.forced_tokens().map_err(|e| err(tokens.len(), e))?;
            if forced.is_empty() {
                break;
            }
            for t in forced.into_iter().filter(|&t| t != EOS) {
                c.commit(t).map_err(|e| err(tokens.len(), e))?;
                tokens.push(t);
                runner_up.push(None);
            }
        }
        self.w_vetted.push(c.vet(u32::from(b'w')));
        let mut finish = FinishReason::MaxTokens;
        let first = self.prompts.len() == 1;
        for (i, &b) in script.as_bytes().iter().enumerate() {
            if tokens.len() >= request.max_tokens as usize {
                break;
            }
            let allowed = mask_allows(c.compute_mask().map_err(|e| err(tokens.len(), e))?, u32::from(b));
            assert!(
                allowed,
                "the script's byte {:?} is not allowed after {:?}",
                b as char,
                String::from_utf8_lossy(&self.vocab.decode(&tokens))
            );
            c.commit(u32::from(b)).map_err(|e| err(tokens.len(), e))?;
            tokens.push(u32::from(b));
            let other = self.runner_ups.iter().find(|r| first && r.0 == i);
            runner_up.push(other.map(|&(_, token, margin)| RunnerUp { token: u32::from(token), margin }));
            let _ = on_token(&TokenEvent {
                index: tokens.len() - 1,
                token: Some(u32::from(b)),
                bytes: &[b],
                forced: false,
            });
            if c.is_accepting() {
                finish = FinishReason::Accepted;
                break;
            }
        }
        let text = String::from_utf8_lossy(&self.vocab.decode(&tokens)).into_owned();
        let timings = Timings { generated_tokens: tokens.len(), ..Timings::default() };
        Ok(Generation { text, tokens, runner_up, finish, timings, backend: "scripted".into() })
    }
}

fn rule(rule: Rule) -> Constraint {
    Constraint::new(rule, Scope::default(), Provenance::user()).with_severity(Severity::Error)
}

fn set() -> ConstraintSet {
    let mut set = ConstraintSet::new();
    set.insert(rule(Rule::ForbidCall { callee: "unwrap".into() }));
    // Not expressible in the body grammar: checked after generation by clew.
    set.insert(rule(Rule::RequirePattern { pattern: Pattern::Regex(r"checked_sub".into()) }));
    set
}

fn task(max_repairs: u32) -> Task {
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: "fn dec(x: u8) -> Option<u8>".into() });
    let mut task = Task::new(Prompt::user("Decrement x."), set(), config);
    task.max_repairs = max_repairs;
    task.max_tokens = 200;
    task
}

fn ignore() -> impl FnMut(&TokenEvent<'_>) -> ControlFlow<()> {
    |_| ControlFlow::Continue(())
}

#[test]
fn a_checked_violation_is_fed_back_and_repaired() {
    let pipeline = Pipeline::new(Arc::new(ConstraintCache::default()));
    let mut backend = Scripted::new(vec![" Some(x - 1) }", " x.checked_sub(1) }"]);
    let mut revise = task(2);
    revise.repair = Repair::Revise;
    let outcome = pipeline.run(&mut backend, &revise, &mut ignore()).unwrap();
    assert_eq!(outcome.attempts.len(), 2);
    let first = &outcome.attempts[0];
    assert!(first.complete && !first.passed());
    assert!(matches!(*first.violations[0].rule, Rule::RequirePattern { .. }), "{:?}", first.violations);
    assert!(outcome.satisfied(), "{}", outcome.summary());
    assert_eq!(outcome.code(), "fn dec(x: u8) -> Option<u8> { x.checked_sub(1) }");
    // The second prompt carries the violation.
    let Prompt::Chat(messages) = &backend.prompts[1] else { panic!() };
    assert!(messages.last().unwrap().content.contains("checked_sub"), "{messages:?}");
    // The forbidden call is enforced at the token level, the required pattern only after; both are checked.
    let e = &outcome.enforcement;
    let forbid = set().iter().find(|c| matches!(c.rule, Rule::ForbidCall { .. })).unwrap().id;
    let require = set().iter().find(|c| matches!(c.rule, Rule::RequirePattern { .. })).unwrap().id;
    assert!(e.token_level.contains(&forbid) && !e.token_level.contains(&require) && !e.by_server);
    assert!(e.checked.contains(&forbid) && e.checked.contains(&require));
    assert!(outcome.summary().contains("All of them hold"), "{}", outcome.summary());
    assert_eq!(outcome.cache_hit, Some(false));

    // The same constraints again: the checker comes from the cache.
    let mut again = Scripted::new(vec![" x.checked_sub(1) }"]);
    let outcome = pipeline.run(&mut again, &task(2), &mut ignore()).unwrap();
    assert_eq!((outcome.cache_hit, outcome.attempts.len()), (Some(true), 1));
    let m = pipeline.cache().metrics();
    assert_eq!((m.hits, m.misses), (1, 1));
    assert_eq!(m.generation.count, 3);
}

#[test]
fn resampled_repairs_draw_again_from_the_original_prompt() {
    let pipeline = Pipeline::default();
    let mut backend = Scripted::new(vec![" Some(x - 1) }", " x.checked_sub(1) }"]);
    let t = task(2);
    assert_eq!(t.repair, Repair::RESAMPLE, "the default");
    let outcome = pipeline.run(&mut backend, &t, &mut ignore()).unwrap();
    assert!(outcome.satisfied(), "{}", outcome.summary());
    assert_eq!((outcome.attempts.len(), outcome.chosen), (2, 1));
    assert_eq!(backend.prompts[0], backend.prompts[1], "no notes: a new candidate for the same prompt");
    let (first, second) = (backend.samplings[0], backend.samplings[1]);
    assert!(first.is_greedy() && !second.is_greedy());
    assert_eq!((second.temperature, second.top_p, second.seed), (0.5, 0.95, first.seed + 1));
}

/// Counts the `- 1`s of the code as problems.
#[derive(Debug)]
struct MinusOnes;

impl maze::Verify for MinusOnes {
    fn verify(&self, code: &str) -> Vec<String> {
        code.matches("- 1").map(|_| "no `- 1` please".to_owned()).collect()
    }
}

#[test]
fn the_result_is_the_attempt_closest_to_passing_not_the_last() {
    let pipeline = Pipeline::default();
    let mut backend = Scripted::new(vec![" x.checked_sub(1).map(|y| y - 1) }", " Some(x - 1 - 1) }"]);
    let mut t = task(1);
    t.verify = Some(Arc::new(MinusOnes));
    let outcome = pipeline.run(&mut backend, &t, &mut ignore()).unwrap();
    assert_eq!(outcome.attempts.len(), 2);
    assert!(!outcome.satisfied());
    // The first has one problem; the second two problems and a broken constraint (no `checked_sub`).
    assert_eq!(outcome.chosen, 0, "{}", outcome.summary());
    assert_eq!(outcome.code(), "fn dec(x: u8) -> Option<u8> { x.checked_sub(1).map(|y| y - 1) }");
    assert!(outcome.summary().contains("no `- 1` please"), "{}", outcome.summary());
}

/// Says `wrapping_sub` is not a method here, and where.
#[derive(Debug)]
struct NoWrapping;

impl maze::Verify for NoWrapping {
    fn verify(&self, code: &str) -> Vec<String> {
        if code.contains("wrapping_sub") { vec!["no method named `wrapping_sub`".into()] } else { Vec::new() }
    }

    fn locate(&self, code: &str, _: &[String]) -> Option<usize> {
        code.find("wrapping_sub")
    }
}

#[test]
fn a_located_problem_is_repaired_from_where_it_is() {
    let pipeline = Pipeline::default();
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: "fn dec(x: u8) -> Option<u8>".into() })
        .with_body(braid::BodyOptions { syntax: true, identifiers: false, self_type: None });
    let mut task = Task::new(Prompt::Text("// Decrement x.\n".into()), ConstraintSet::new(), config);
    task.max_tokens = 200;
    task.verify = Some(Arc::new(NoWrapping));
    task.repair = Repair::Revise;
    // The second script is what comes after the kept `Some(x.`.
    let mut backend = Scripted::new(vec![" Some(x.wrapping_sub(1)) }", "checked_sub(1)?) }"]);
    let outcome = pipeline.run(&mut backend, &task, &mut ignore()).unwrap();
    assert_eq!(outcome.attempts.len(), 2, "{}", outcome.summary());
    assert!(outcome.satisfied(), "{}", outcome.summary());
    assert_eq!(outcome.code(), "fn dec(x: u8) -> Option<u8> { Some(x.checked_sub(1)?) }");
    // The repair's prompt ends with the draft up to the problem, and what the draft wrote there is refused.
    let Prompt::Text(second) = &backend.prompts[1] else { panic!() };
    assert!(second.ends_with("fn dec(x: u8) -> Option<u8> { Some(x."), "{second:?}");
    assert!(second.contains("wrapping_sub"), "the note names the problem: {second:?}");
    assert_eq!(backend.w_vetted, [true, false]);
}

#[test]
fn branching_repairs_take_turns_and_a_fork_changes_the_first_draft_where_it_was_least_sure() {
    let pipeline = Pipeline::default();
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: "fn dec(x: u8) -> Option<u8>".into() })
        .with_body(braid::BodyOptions { syntax: true, identifiers: false, self_type: None });
    let mut task = Task::new(Prompt::Text("// Decrement x.\n".into()), ConstraintSet::new(), config);
    task.max_tokens = 200;
    task.max_repairs = 3;
    task.verify = Some(Arc::new(NoWrapping));
    task.repair = Repair::Branch { temperature: 0.5, top_p: 0.95 };
    // The third repair is a fork: what comes after the kept `Some(x.` and the runner-up `c` written there.
    let first = " Some(x.wrapping_sub(1)) }";
    let mut backend =
        Scripted::new(vec![first, " Some(x.wrapping_sub(2)) }", " Some(x.wrapping_sub(3)) }", "hecked_sub(1)?) }"]);
    let at = |s: &str| first.find(s).unwrap();
    backend.runner_ups = vec![
        (0, b'\n', 0.0),             // whitespace for whitespace: no fork
        (at("Some"), b'x', 2.0),     // a fork, but a surer step than the one below
        (at("wrapping"), b'c', 0.5), // the least sure step before the problem
        (at("1))"), b'2', 0.1),      // past the problem: no fork
    ];
    let outcome = pipeline.run(&mut backend, &task, &mut ignore()).unwrap();
    assert_eq!(outcome.attempts.len(), 4, "{}", outcome.summary());
    assert!(outcome.satisfied(), "{}", outcome.summary());
    assert_eq!(outcome.code(), "fn dec(x: u8) -> Option<u8> { Some(x.checked_sub(1)?) }");
    let s = &backend.samplings;
    assert!(s[0].is_greedy() && s[1].is_greedy() && s[3].is_greedy(), "{s:?}");
    assert_eq!((s[2].temperature, s[2].seed), (0.5, s[0].seed + 2), "the second repair resamples");
    assert_eq!(backend.prompts[0], backend.prompts[1]);
    let (Prompt::Text(original), Prompt::Text(forked)) = (&backend.prompts[0], &backend.prompts[3]) else { panic!() };
    assert_eq!(forked, &format!("{original}fn dec(x: u8) -> Option<u8> {{ Some(x.c"), "no notes: the draft, forked");
}

/// An attempt that runs into a dead end of the constraint is dropped and reported; the other attempts are kept,
/// and only when none is left does the run fail.
#[test]
fn a_dead_end_loses_one_attempt_not_the_others() {
    let pipeline = Pipeline::default();
    let mut backend = Scripted::new(vec![" Some(x - 1) }", DEAD_END, " x.checked_sub(1) }"]);
    let outcome = pipeline.run(&mut backend, &task(2), &mut ignore()).unwrap();
    assert_eq!((outcome.attempts.len(), outcome.dead_ends.clone()), (2, vec![3]));
    assert!(outcome.satisfied(), "{}", outcome.summary());
    assert!(outcome.summary().contains("allowed no token (after 3 token(s))"), "{}", outcome.summary());

    // The last attempt dead-ends: the earlier one is still the result.
    let mut backend = Scripted::new(vec![" Some(x - 1) }", DEAD_END]);
    let outcome = pipeline.run(&mut backend, &task(1), &mut ignore()).unwrap();
    assert_eq!((outcome.attempts.len(), outcome.dead_ends.len()), (1, 1));
    assert_eq!(outcome.code(), "fn dec(x: u8) -> Option<u8> { Some(x - 1) }");

    // Every attempt dead-ends: an error, as with no repairs at all.
    let mut backend = Scripted::new(vec![DEAD_END]);
    assert!(matches!(pipeline.run(&mut backend, &task(1), &mut ignore()), Err(Error::DeadEnd { step: 3 })));
    let mut backend = Scripted::new(vec![DEAD_END]);
    assert!(matches!(pipeline.run(&mut backend, &task(0), &mut ignore()), Err(Error::DeadEnd { step: 3 })));
}

#[test]
fn a_failure_past_the_repair_bound_is_reported_as_such() {
    let pipeline = Pipeline::default();
    let mut backend = Scripted::new(vec![" Some(x - 1) }"]);
    let outcome = pipeline.run(&mut backend, &task(1), &mut ignore()).unwrap();
    assert_eq!(outcome.attempts.len(), 2);
    assert!(!outcome.satisfied());
    assert!(outcome.summary().contains("NOT satisfied: 1 constraint(s) still fail"), "{}", outcome.summary());
}

#[test]
fn an_output_cut_by_the_budget_is_incomplete_not_satisfied() {
    let pipeline = Pipeline::default();
    let mut backend = Scripted::new(vec![" x.checked_sub(1) }"]);
    let mut t = task(0);
    t.max_tokens = 34; // the header and a few bytes of the body
    let outcome = pipeline.run(&mut backend, &t, &mut ignore()).unwrap();
    let last = outcome.last();
    assert!(!last.complete && !outcome.satisfied());
    assert!(last.problems.iter().any(|p| p.contains("incomplete")), "{:?}", last.problems);
}
