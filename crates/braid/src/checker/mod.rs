//! The token-level [`Checker`]: which tokens may come next, for a [`ConstraintIR`] and a [`Vocabulary`].
//!
//! Two engines sit behind one API:
//!
//! - **fn-body targets** (what braid emits for "write the body of this function") run on braid's own automaton
//!   ([`automaton`]): the fixed header, then the body lexemes with every ban folded into the code-run lexeme, and a
//!   brace counter. A mask is a walk of the vocabulary's trie through that automaton, and it is memoized per
//!   (automaton state, brace depth up to the deepest closing run any token holds): the states a body visits repeat
//!   (code, string, after `let`, ...), so after the first visit a mask is a cached bitset handed out by reference.
//! - **everything else** (JSON schemas, item grammars, user grammars) runs on llguidance.
//!
//! Both answer the same questions: the allowed tokens ([`Checker::compute_mask`]), advance ([`Checker::commit`],
//! [`Checker::commit_bytes`]), undo ([`Checker::rollback`]), whether the output may end ([`Checker::is_accepting`]),
//! the only possible continuation ([`Checker::forced_tokens`]), and why a token is not allowed, by constraint id
//! ([`Checker::violation_reason`]).

pub(crate) mod automaton;
mod index;
mod mask;
pub(crate) mod syntax;
mod tail;
pub(crate) mod timing;
mod vocab;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ananke_core::{ConstraintId, Language};
use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};

pub use index::VocabIndex;
pub use mask::TokenMask;
pub use vocab::{Tiktoken, Vocabulary};

use crate::config::Target;
use crate::ir::{ConstraintIR, ForbiddenString};
use automaton::{BodyAutomaton, DEAD, Kind};

/// Errors of the token level: an unusable vocabulary or grammar, or a token that breaks the constraints.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// A vocabulary file could not be read.
    #[error("vocabulary: {0}")]
    Vocabulary(String),
    /// The grammar could not be built.
    #[error("grammar: {0}")]
    Grammar(String),
    /// A committed token or text is not allowed.
    #[error("{0}")]
    Violation(Violation),
    /// The grammar engine failed (llguidance's error text).
    #[error("llguidance: {0}")]
    Engine(String),
}

/// Why a token is not allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The token, if the question was about one (not for [`Checker::commit_bytes`]).
    pub token: Option<u32>,
    /// The offset of the first byte that is not allowed, in the token's (or the text's) bytes.
    pub offset: usize,
    /// What is wrong, for people.
    pub message: String,
    /// The constraints that ban it (empty when only the grammar's shape does).
    pub sources: Vec<ConstraintId>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)?;
        if !self.sources.is_empty() {
            let ids: Vec<String> = self.sources.iter().map(ToString::to_string).collect();
            write!(f, " (constraints {})", ids.join(", "))?;
        }
        Ok(())
    }
}

/// Counters of one checker's mask work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckerStats {
    /// Masks served from the memo.
    pub hits: u64,
    /// Masks computed by walking the vocabulary.
    pub walks: u64,
    /// Trie nodes visited by those walks.
    pub nodes_walked: u64,
    /// Masks derived from another depth's mask by re-checking the tokens that hold a `}`.
    pub adjusted: u64,
    /// Subtrees of the trie (by first byte) whose allowed tokens came from the memo during walks.
    pub subtrees_reused: u64,
    /// Masks where no token fitted the token budget's estimate, so the byte that shortens the completion most was
    /// allowed (see [`Checker::set_budget`]).
    pub budget_fallbacks: u64,
}

/// Masks by (automaton state, clamped brace depth), shared by the clones of a checker (one compiled grammar, many
/// generations). Bounded: past [`MASK_CACHE_BYTES`] it starts over.
#[derive(Default)]
struct MaskCache {
    masks: HashMap<(u32, u32), Arc<TokenMask>>,
    /// The allowed tokens below one first byte (a child of the trie's root), by (child, state after that byte,
    /// clamped depth). Walks from different states mostly meet again after one byte (a space or a dot ends any
    /// partial ban), so a new state's mask is mostly the union of subtrees already walked.
    subtrees: HashMap<(u32, u32, u32), Arc<Subtree>>,
    bytes: usize,
}

/// The allowed tokens of one trie subtree: a list when few, a bitset over the whole vocabulary when many (OR-ing
/// a bitset is cheaper than setting thousands of bits one by one).
enum Subtree {
    List(Vec<u32>),
    Bits(TokenMask),
}

/// Past this many allowed tokens a subtree result is kept as a bitset.
const SUBTREE_BITS: usize = 1024;

/// The most memory the masks of one compiled grammar may take.
const MASK_CACHE_BYTES: usize = 256 << 20;

/// What a [`Checker`] is compiled to: shared by its clones.
struct BodyShared {
    automaton: BodyAutomaton,
    index: Arc<VocabIndex>,
    cache: Mutex<MaskCache>,
    forbidden: Vec<ForbiddenString>,
    /// The bans as `regex` patterns, compiled on the first explanation (only explanations need them).
    ban_regexes: std::sync::OnceLock<Vec<Option<regex::Regex>>>,
    header_sources: Vec<ConstraintId>,
}

#[derive(Clone, Copy, Debug)]
struct Step {
    state: u32,
    depth: u32,
    text_len: usize,
    run_start: usize,
}

#[derive(Clone)]
struct BodyEngine {
    shared: Arc<BodyShared>,
    now: Step,
    history: Vec<Step>,
    text: Vec<u8>,
    mask: Arc<TokenMask>,
    stats: CheckerStats,
}

struct LlgEngine {
    matcher: Matcher,
    index: Arc<VocabIndex>,
    mask: Arc<TokenMask>,
    accepting: bool,
    sources: Vec<ConstraintId>,
}

enum Engine {
    Body(Box<BodyEngine>),
    Syntax(Box<syntax::SyntaxEngine>),
    Llg(Box<LlgEngine>),
}

/// The token-level checker for one output: build it from a compiled IR and a vocabulary index, then alternate
/// [`compute_mask`](Checker::compute_mask) and [`commit`](Checker::commit).
///
/// ```
/// use ananke_core::{Constraint, ConstraintSet, Language, Provenance, Rule, Scope};
/// use braid::{Checker, CompileConfig, Target, Tiktoken, VocabIndex, Vocabulary};
///
/// let mut set = ConstraintSet::new();
/// set.insert(Constraint::new(Rule::ForbidCall { callee: "unwrap".into() }, Scope::default(), Provenance::user()));
/// let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: "fn f(x: Option<u8>) -> u8".into() });
/// let ir = braid::compile(&set, &config).unwrap();
/// let vocab = VocabIndex::new(Vocabulary::tiktoken(Tiktoken::Cl100k));
/// let mut checker = Checker::new(&ir, &vocab).unwrap();
///
/// checker.commit_bytes(b"fn f(x: Option<u8>) -> u8 { x.").unwrap();
/// let token = |text: &[u8]| vocab.vocabulary().tokens.iter().position(|t| t == text).unwrap() as u32;
/// checker.commit(token(b"unwrap")).unwrap();
/// // `x.unwrap(` is banned, `x.unwrap_or(` is not.
/// assert!(!checker.compute_mask().unwrap().is_allowed(token(b"(")));
/// assert!(checker.compute_mask().unwrap().is_allowed(token(b"_or")));
/// let why = checker.violation_reason(token(b"(")).unwrap();
/// assert_eq!(why.sources, vec![set.constraints()[0].id]);
/// checker.rollback(1).unwrap();
/// assert!(checker.compute_mask().unwrap().is_allowed(token(b"unwrap")));
/// ```
pub struct Checker {
    engine: Engine,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker").field("engine", &self.engine()).finish_non_exhaustive()
    }
}

impl Clone for Checker {
    /// A checker at the same position sharing the compiled grammar and its mask memo (fn-body targets). An
    /// llguidance checker is deep-cloned.
    fn clone(&self) -> Self {
        let engine = match &self.engine {
            Engine::Body(b) => Engine::Body(b.clone()),
            Engine::Syntax(s) => Engine::Syntax(s.clone()),
            Engine::Llg(l) => Engine::Llg(Box::new(LlgEngine {
                matcher: l.matcher.deep_clone(),
                index: Arc::clone(&l.index),
                mask: Arc::clone(&l.mask),
                accepting: l.accepting,
                sources: l.sources.clone(),
            })),
        };
        Checker { engine }
    }
}

/// The fixed text of a fn-body grammar's header, as `grammar::fn_body` writes it.
fn fixed_header(language: Language, header: &str) -> String {
    let mut fixed = header.trim_end().to_owned();
    if language != Language::Python {
        fixed.push(' ');
    }
    fixed
}

fn llg_factory(index: &VocabIndex) -> Result<&ParserFactory, CheckError> {
    index.parser_factory().map_err(|e| CheckError::Engine(e.clone()))
}

impl Checker {
    /// A checker for an IR's output. Fn-body targets whose grammar braid generated use braid's automaton; other
    /// targets use llguidance on the IR's grammar.
    pub fn new(ir: &ConstraintIR, index: &Arc<VocabIndex>) -> Result<Checker, CheckError> {
        let grammar = ir.grammar.as_ref().ok_or_else(|| CheckError::Grammar("the IR has no grammar".to_owned()))?;
        let user_grammar = grammar.parts.iter().any(|p| p.description == "user grammar");
        if let (Target::FnBody { signature }, false) = (&ir.target, user_grammar) {
            let header = fixed_header(ir.language, signature);
            let header_sources =
                grammar.parts.iter().find(|p| p.name == "HEADER").map(|p| p.sources.clone()).unwrap_or_default();
            if ir.body.syntax && ir.language == Language::Rust {
                let mut engine = syntax::SyntaxEngine::new(header.as_bytes(), &ir.forbidden, header_sources, index)?;
                engine.self_type.clone_from(&ir.body.self_type);
                return Ok(Checker { engine: Engine::Syntax(Box::new(engine)) });
            }
            match Checker::for_body(ir.language, header.as_bytes(), &ir.forbidden, header_sources, index) {
                Ok(checker) => return Ok(checker),
                // An automaton past its size bound: llguidance runs the same grammar.
                Err(CheckError::Grammar(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let sources: Vec<ConstraintId> = grammar.parts.iter().flat_map(|p| p.sources.iter().copied()).collect();
        Checker::with_llguidance(&grammar.lark, sources, index)
    }

    /// A checker for a Lark grammar, run by llguidance.
    pub fn from_lark(lark: &str, index: &Arc<VocabIndex>) -> Result<Checker, CheckError> {
        Checker::with_llguidance(lark, Vec::new(), index)
    }

    /// A checker for a fn body with braid's automaton: the fixed header text and the bans.
    pub fn for_body(
        language: Language,
        header: &[u8],
        forbidden: &[ForbiddenString],
        header_sources: Vec<ConstraintId>,
        index: &Arc<VocabIndex>,
    ) -> Result<Checker, CheckError> {
        let automaton = BodyAutomaton::new(language, header, forbidden)?;
        let ban_regexes = std::sync::OnceLock::new();
        let start = automaton.start;
        let shared = Arc::new(BodyShared {
            automaton,
            index: Arc::clone(index),
            cache: Mutex::new(MaskCache::default()),
            forbidden: forbidden.to_vec(),
            ban_regexes,
            header_sources,
        });
        let now = Step { state: start, depth: 0, text_len: 0, run_start: 0 };
        let mask = Arc::new(TokenMask::new(index.len()));
        let mut engine =
            BodyEngine { shared, now, history: Vec::new(), text: Vec::new(), mask, stats: CheckerStats::default() };
        // The body's first mask (everything a body may start with) is the largest walk of a generation and is
        // always needed: compute it while compiling, like the rest of the grammar.
        let a = &engine.shared.automaton;
        let first = if a.braces { (a.open, 1) } else { (a.first_state(), 0) };
        let clamp = engine.shared.index.max_closing_braces + 1;
        engine.mask_for((first.0, first.1.min(clamp)));
        engine.stats = CheckerStats::default();
        Ok(Checker { engine: Engine::Body(Box::new(engine)) })
    }

    fn with_llguidance(lark: &str, sources: Vec<ConstraintId>, index: &Arc<VocabIndex>) -> Result<Checker, CheckError> {
        let factory = llg_factory(index)?;
        let parser = factory
            .create_parser(TopLevelGrammar::from_lark(lark.to_owned()))
            .map_err(|e| CheckError::Grammar(e.to_string()))?;
        let mut matcher = Matcher::new(Ok(parser));
        if let Some(e) = matcher.get_error() {
            return Err(CheckError::Grammar(e));
        }
        let accepting = matcher.is_accepting().unwrap_or(false);
        Ok(Checker {
            engine: Engine::Llg(Box::new(LlgEngine {
                matcher,
                index: Arc::clone(index),
                mask: Arc::new(TokenMask::new(index.len())),
                accepting,
                sources,
            })),
        })
    }

    /// Bounds the output to `max_tokens` tokens (the fixed header included; `None`: unbounded), so that it always
    /// ends complete: as the budget runs low, only tokens after which the body can still be closed in the tokens
    /// left are allowed. Returns whether this checker enforces budgets (the syntax layer of Rust fn bodies does;
    /// for other checkers the caller stops at the budget as before).
    pub fn set_budget(&mut self, max_tokens: Option<u32>) -> bool {
        match &mut self.engine {
            Engine::Syntax(s) => {
                s.set_budget(max_tokens);
                true
            }
            Engine::Body(_) | Engine::Llg(_) => false,
        }
    }

    /// Turns the identifier layer on (see [`crate::Identifiers`]): names in value, member, type and path positions
    /// must be known, parameters, or locals bound earlier. Checked by [`Checker::vet`] on the token the sampler
    /// draws, not in the mask. Returns whether this checker has the layer (the syntax layer of Rust fn bodies).
    pub fn set_identifiers(&mut self, ids: Arc<crate::Identifiers>) -> bool {
        match &mut self.engine {
            Engine::Syntax(s) => {
                s.set_identifiers(ids);
                true
            }
            Engine::Body(_) | Engine::Llg(_) => false,
        }
    }

    /// Whether a token the mask allows also passes the identifier layer: `None` when it does (or the layer is
    /// off), else why not (an unknown function, method, type or path, or a name no known one starts with). The
    /// generation loop draws another token when it is refused.
    pub fn vet(&self, token: u32) -> Option<Violation> {
        match &self.engine {
            Engine::Syntax(s) => {
                let vocab = s.shared.index.vocabulary();
                if vocab.is_special(token) || token as usize >= vocab.len() {
                    return None;
                }
                s.vet(vocab.token_bytes(token)).map(|message| Violation {
                    token: Some(token),
                    offset: 0,
                    message,
                    sources: Vec::new(),
                })
            }
            Engine::Body(_) | Engine::Llg(_) => None,
        }
    }

    /// Makes [`Checker::vet`] refuse `names` wherever the body uses one it has not bound itself (as a function,
    /// method, field, type, path or value), for the rest of this generation: names the compiler reported missing
    /// in an earlier draft (`cannot find value`, `no method named`), which a resampled draft then does not write
    /// again. Replaces the names given before. Needs the identifier layer ([`Checker::set_identifiers`]); for
    /// checkers without it this does nothing and returns `false`.
    pub fn refuse_names<S: AsRef<str>>(&mut self, names: &[S]) -> bool {
        match &mut self.engine {
            Engine::Syntax(s) if s.has_identifiers() => {
                s.refuse_names(names.iter().map(|n| n.as_ref().to_owned()).collect());
                true
            }
            _ => false,
        }
    }

    /// Makes [`Checker::vet`] refuse, at the next token that is not whitespace, any token that spells a start of
    /// one of `words` or begins with one: a repair that resumes an earlier draft where it went wrong (`words`
    /// being what drafts wrote there) takes another way. Cleared once a token that is not whitespace is
    /// committed. Only the syntax layer's checker vets tokens; for the others this does nothing and returns
    /// `false`.
    pub fn avoid_next<S: AsRef<str>>(&mut self, words: &[S]) -> bool {
        match &mut self.engine {
            Engine::Syntax(s) => {
                s.avoid_next(words.iter().map(|w| w.as_ref().as_bytes().to_vec()).filter(|w| !w.is_empty()).collect());
                true
            }
            Engine::Body(_) | Engine::Llg(_) => false,
        }
    }

    /// [`Checker::vet`] for bytes that may span several tokens.
    pub fn vet_bytes(&self, bytes: &[u8]) -> Option<Violation> {
        match &self.engine {
            Engine::Syntax(s) => {
                s.vet(bytes).map(|message| Violation { token: None, offset: 0, message, sources: Vec::new() })
            }
            Engine::Body(_) | Engine::Llg(_) => None,
        }
    }

    /// Tokens committed so far (the header's included), as counted against [`Checker::set_budget`]; `None` for
    /// checkers without budgets.
    pub fn tokens_used(&self) -> Option<u32> {
        match &self.engine {
            Engine::Syntax(s) => Some(s.now.tokens),
            Engine::Body(_) | Engine::Llg(_) => None,
        }
    }

    /// Which engine runs this checker: `braid` (the lexical body), `braid-syntax` (the Rust grammar) or
    /// `llguidance`.
    pub fn engine(&self) -> &'static str {
        match &self.engine {
            Engine::Body(_) => "braid",
            Engine::Syntax(_) => "braid-syntax",
            Engine::Llg(_) => "llguidance",
        }
    }

    /// The number of states of braid's automaton (fn-body targets), `None` for llguidance.
    pub fn automaton_states(&self) -> Option<usize> {
        match &self.engine {
            Engine::Body(b) => Some(b.shared.automaton.states()),
            Engine::Syntax(_) => Some(crate::syntax::rust::grammar().frames()),
            Engine::Llg(_) => None,
        }
    }

    /// The mask work done so far (fn-body targets; zero for llguidance).
    pub fn stats(&self) -> CheckerStats {
        match &self.engine {
            Engine::Body(b) => b.stats,
            Engine::Syntax(s) => s.stats,
            Engine::Llg(_) => CheckerStats::default(),
        }
    }

    /// The tokens allowed next (end-of-sequence tokens only when the output may end here).
    pub fn compute_mask(&mut self) -> Result<&TokenMask, CheckError> {
        match &mut self.engine {
            Engine::Body(b) => {
                b.compute();
                Ok(&b.mask)
            }
            Engine::Syntax(s) => {
                s.compute();
                Ok(&s.mask)
            }
            Engine::Llg(l) => {
                let vob = l.matcher.compute_mask().map_err(|e| CheckError::Engine(e.to_string()))?;
                l.mask = Arc::new(TokenMask::from_words(vob.as_slice(), l.index.len()));
                Ok(&l.mask)
            }
        }
    }

    /// Advances past a token. A token that is not allowed is an error naming why; the checker does not move.
    pub fn commit(&mut self, token: u32) -> Result<(), CheckError> {
        match &mut self.engine {
            Engine::Body(b) => {
                let vocab = b.shared.index.vocabulary();
                if vocab.is_special(token) || token as usize >= vocab.len() {
                    if vocab.is_eos(token) && b.shared.automaton.accepting(b.now.state) {
                        b.history.push(b.now);
                        return Ok(());
                    }
                    return Err(CheckError::Violation(b.explain(Some(token), &[])));
                }
                let bytes = vocab.token_bytes(token).to_vec();
                b.advance(Some(token), &bytes)
            }
            Engine::Syntax(s) => {
                let vocab = s.shared.index.vocabulary();
                if vocab.is_special(token) || token as usize >= vocab.len() {
                    if vocab.is_eos(token) && s.accepting() {
                        s.commit_eos();
                        return Ok(());
                    }
                    return Err(CheckError::Violation(special_violation(token, vocab.is_eos(token))));
                }
                let bytes = vocab.token_bytes(token).to_vec();
                s.commit(Some(token), &bytes, 1)
            }
            Engine::Llg(l) => {
                l.matcher.consume_token(token).map_err(|e| {
                    CheckError::Violation(Violation {
                        token: Some(token),
                        offset: 0,
                        message: format!("not allowed by the grammar: {e}"),
                        sources: l.sources.clone(),
                    })
                })?;
                l.accepting = l.matcher.is_accepting().unwrap_or(false);
                Ok(())
            }
        }
    }

    /// Advances past text that did not come from the model's tokens (a prompt prefix, a forced header). Counts as
    /// one step for [`Checker::rollback`].
    pub fn commit_bytes(&mut self, bytes: &[u8]) -> Result<(), CheckError> {
        match &mut self.engine {
            Engine::Body(b) => b.advance(None, bytes),
            Engine::Syntax(s) => {
                let n = greedy_tokens(&s.shared.index, bytes).map_or(bytes.len(), |t| t.len()) as u32;
                s.commit(None, bytes, n)
            }
            Engine::Llg(l) => {
                let tokens = greedy_tokens(&l.index, bytes)
                    .ok_or_else(|| CheckError::Engine("the text cannot be spelled with this vocabulary".to_owned()))?;
                l.matcher.consume_tokens(&tokens).map_err(|e| {
                    CheckError::Violation(Violation {
                        token: None,
                        offset: 0,
                        message: format!("not allowed by the grammar: {e}"),
                        sources: l.sources.clone(),
                    })
                })?;
                l.accepting = l.matcher.is_accepting().unwrap_or(false);
                Ok(())
            }
        }
    }

    /// Undoes the last `n` commits.
    pub fn rollback(&mut self, n: usize) -> Result<(), CheckError> {
        match &mut self.engine {
            Engine::Body(b) => {
                if n > b.history.len() {
                    return Err(CheckError::Engine(format!(
                        "cannot roll back {n} steps, only {} taken",
                        b.history.len()
                    )));
                }
                let at = b.history.len() - n;
                if n > 0 {
                    b.now = b.history[at];
                    b.history.truncate(at);
                    b.text.truncate(b.now.text_len);
                }
                Ok(())
            }
            Engine::Syntax(s) => s.rollback(n),
            Engine::Llg(l) => {
                l.matcher.rollback(n).map_err(|e| CheckError::Engine(e.to_string()))?;
                l.accepting = l.matcher.is_accepting().unwrap_or(false);
                Ok(())
            }
        }
    }

    /// Whether the output may end here (an end-of-sequence token is allowed).
    pub fn is_accepting(&self) -> bool {
        match &self.engine {
            Engine::Body(b) => b.shared.automaton.accepting(b.now.state),
            Engine::Syntax(s) => s.accepting(),
            Engine::Llg(l) => l.accepting,
        }
    }

    /// The tokens that are the only possible continuation (the fixed header and the body's opening brace; an
    /// end-of-sequence token once the body is closed), to commit without computing masks. Empty when the model
    /// has a choice.
    pub fn forced_tokens(&mut self) -> Vec<u32> {
        match &mut self.engine {
            Engine::Body(b) => b.forced(),
            Engine::Syntax(s) => s.forced(),
            Engine::Llg(l) => l.matcher.compute_ff_tokens(),
        }
    }

    /// Why `token` is not allowed next, naming the constraints that ban it; `None` when it is allowed.
    pub fn violation_reason(&mut self, token: u32) -> Option<Violation> {
        match &mut self.engine {
            Engine::Body(b) => {
                let vocab = b.shared.index.vocabulary();
                if vocab.is_special(token) || token as usize >= vocab.len() {
                    if vocab.is_eos(token) && b.shared.automaton.accepting(b.now.state) {
                        return None;
                    }
                    return Some(b.explain(Some(token), &[]));
                }
                let bytes = vocab.token_bytes(token).to_vec();
                let a = &b.shared.automaton;
                if a.step(b.now.state, b.now.depth, &bytes).is_some() {
                    return None;
                }
                Some(b.explain(Some(token), &bytes))
            }
            Engine::Syntax(s) => {
                let vocab = s.shared.index.vocabulary();
                if vocab.is_special(token) || token as usize >= vocab.len() {
                    if vocab.is_eos(token) && s.accepting() {
                        return None;
                    }
                    return Some(special_violation(token, vocab.is_eos(token)));
                }
                let bytes = vocab.token_bytes(token).to_vec();
                s.explain(Some(token), &bytes)
            }
            Engine::Llg(l) => {
                let vob = l.matcher.compute_mask().ok()?;
                if vob.is_allowed(token) {
                    return None;
                }
                Some(Violation {
                    token: Some(token),
                    offset: 0,
                    message: "not allowed by the grammar here".to_owned(),
                    sources: l.sources.clone(),
                })
            }
        }
    }

    /// The text committed so far (fn-body targets; empty for llguidance).
    pub fn text(&self) -> &[u8] {
        match &self.engine {
            Engine::Body(b) => &b.text,
            Engine::Syntax(s) => &s.text,
            Engine::Llg(_) => &[],
        }
    }

    /// Goes back to the start, keeping what was compiled and memoized (a second walk is warm).
    pub fn reset(&mut self) -> Result<(), CheckError> {
        match &mut self.engine {
            Engine::Body(b) => {
                b.now = Step { state: b.shared.automaton.start, depth: 0, text_len: 0, run_start: 0 };
                b.history.clear();
                b.text.clear();
                Ok(())
            }
            Engine::Syntax(s) => {
                s.reset();
                Ok(())
            }
            Engine::Llg(l) => {
                l.matcher.reset().map_err(|e| CheckError::Engine(e.to_string()))?;
                l.accepting = l.matcher.is_accepting().unwrap_or(false);
                Ok(())
            }
        }
    }
}

/// Why a control token cannot be committed.
fn special_violation(token: u32, eos: bool) -> Violation {
    let message = if eos {
        "the output cannot end here: the body is not complete".to_owned()
    } else {
        "control tokens never appear in the output".to_owned()
    };
    Violation { token: Some(token), offset: 0, message, sources: Vec::new() }
}

/// Greedy longest-match tokenization of `bytes` (for forced text); `None` if some byte has no token.
pub(crate) fn greedy_tokens(index: &VocabIndex, bytes: &[u8]) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (len, token) = longest_token(index, &bytes[at..])?;
        out.push(token);
        at += len;
    }
    Some(out)
}

/// The longest token that is a prefix of `bytes`: (length, token).
fn longest_token(index: &VocabIndex, bytes: &[u8]) -> Option<(usize, u32)> {
    index.longest_token(bytes)
}

impl BodyEngine {
    fn compute(&mut self) {
        let key = (self.now.state, self.now.depth.min(self.shared.index.max_closing_braces + 1));
        self.mask = self.mask_for(key);
    }

    /// The mask of an (automaton state, clamped depth) pair, from the memo or computed. Below the clamp, only
    /// tokens holding a `}` depend on the depth: the mask at the clamp is adjusted for those few instead of walking
    /// the vocabulary again.
    fn mask_for(&mut self, key: (u32, u32)) -> Arc<TokenMask> {
        let shared = Arc::clone(&self.shared);
        if let Some(mask) = shared.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).masks.get(&key) {
            self.stats.hits += 1;
            return Arc::clone(mask);
        }
        let a = &shared.automaton;
        let index = &shared.index;
        let clamp = index.max_closing_braces + 1;
        let mask = if a.braces && key.1 < clamp {
            let base = self.mask_for((key.0, clamp));
            let mut mask = TokenMask::clone(&base);
            let vocab = index.vocabulary();
            for &t in &index.closers {
                if a.step(key.0, key.1, vocab.token_bytes(t)).is_some() {
                    mask.allow(t);
                } else {
                    mask.disallow(t);
                }
            }
            for &(kept, duplicate) in &index.duplicates {
                if mask.is_allowed(kept) {
                    mask.allow(duplicate);
                } else {
                    mask.disallow(duplicate);
                }
            }
            self.stats.adjusted += 1;
            mask
        } else {
            let (mask, walked, reused) = self.walk_by_subtree(key.0, key.1);
            self.stats.walks += 1;
            self.stats.nodes_walked += walked;
            self.stats.subtrees_reused += reused;
            mask
        };
        let mask = Arc::new(mask);
        let mut cache = shared.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let size = mask.as_words().len() * 4;
        if cache.bytes + size > MASK_CACHE_BYTES {
            cache.masks.clear();
            cache.bytes = 0;
        }
        cache.bytes += size;
        cache.masks.insert(key, Arc::clone(&mask));
        mask
    }

    /// A full mask for (state, depth): for each first byte, the state after it, then the subtree's allowed tokens
    /// from the memo or from a walk. Returns the mask, the trie nodes visited and the subtrees reused.
    fn walk_by_subtree(&self, state: u32, depth: u32) -> (TokenMask, u64, u64) {
        let shared = &self.shared;
        let a = &shared.automaton;
        let index = &shared.index;
        if a.kind(state) == Kind::Item {
            return self.walk_item(state, depth);
        }
        let clamp = index.max_closing_braces + 1;
        let mut mask = TokenMask::new(index.len());
        if a.accepting(state) {
            for &eos in &index.vocabulary().eos {
                mask.allow(eos);
            }
        }
        let (mut walked, mut reused) = (0u64, 0u64);
        for &child in &index.root_children {
            let node = index.nodes[child as usize];
            let Some((next, d)) = a.step(state, depth, &[node.byte]) else { continue };
            let key = (child, next, d.min(clamp));
            let found =
                shared.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).subtrees.get(&key).cloned();
            let subtree = if let Some(found) = found {
                reused += 1;
                found
            } else {
                let (allowed, visited) = walk_subtree(a, index, child, next, d);
                walked += visited;
                let subtree = Arc::new(if allowed.len() > SUBTREE_BITS {
                    let mut bits = TokenMask::new(index.len());
                    for &t in &allowed {
                        bits.allow(t);
                    }
                    Subtree::Bits(bits)
                } else {
                    Subtree::List(allowed)
                });
                let size = match subtree.as_ref() {
                    Subtree::List(l) => l.len() * 4,
                    Subtree::Bits(b) => b.as_words().len() * 4,
                };
                let mut cache = shared.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if cache.bytes + size > MASK_CACHE_BYTES {
                    cache.masks.clear();
                    cache.subtrees.clear();
                    cache.bytes = 0;
                }
                cache.bytes += size;
                cache.subtrees.insert(key, Arc::clone(&subtree));
                subtree
            };
            match subtree.as_ref() {
                Subtree::List(list) => {
                    for &t in list {
                        mask.allow(t);
                    }
                }
                Subtree::Bits(bits) => mask.union_with(bits),
            }
        }
        for &(kept, duplicate) in &index.duplicates {
            if mask.is_allowed(kept) {
                mask.allow(duplicate);
            }
        }
        (mask, walked, reused)
    }

    /// The mask of a literal/comment state: the vocabulary's static class of tokens that stay inside literals and
    /// comments (computed once per vocabulary, language and state), plus the subtrees where tokens leave them,
    /// walked with this checker's bans.
    fn walk_item(&self, state: u32, depth: u32) -> (TokenMask, u64, u64) {
        let shared = &self.shared;
        let a = &shared.automaton;
        let index = &shared.index;
        let local = state - a.item_at;
        let key = (a.language, local);
        let found = index.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).cloned();
        let (classes, mut walked, reused) = if let Some(c) = found {
            (c, 0, 1)
        } else {
            let (c, visited) = item_classes(a, index, state);
            let c = Arc::new(c);
            index.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, Arc::clone(&c));
            (c, visited, 0)
        };
        let mut mask = classes.inside.clone();
        if a.accepting(state) {
            for &eos in &index.vocabulary().eos {
                mask.allow(eos);
            }
        }
        for &(node, before) in &classes.exits {
            let n = index.nodes[node as usize];
            let Some((next, d)) = a.step(a.item_at + before, depth, &[n.byte]) else { continue };
            let (allowed, visited) = walk_subtree(a, index, node, next, d);
            walked += visited;
            for t in allowed {
                mask.allow(t);
            }
        }
        for &(kept, duplicate) in &index.duplicates {
            if mask.is_allowed(kept) {
                mask.allow(duplicate);
            }
        }
        (mask, walked, reused)
    }

    fn advance(&mut self, token: Option<u32>, bytes: &[u8]) -> Result<(), CheckError> {
        let a = &self.shared.automaton;
        let mut now = self.now;
        for (i, &b) in bytes.iter().enumerate() {
            let Some((next, depth)) = a.step(now.state, now.depth, &[b]) else {
                let mut v = self.explain(token, bytes);
                v.offset = i;
                return Err(CheckError::Violation(v));
            };
            if a.kind(next) == Kind::Code && a.kind(now.state) != Kind::Code {
                now.run_start = self.text.len() + i;
            }
            now.state = next;
            now.depth = depth;
        }
        self.history.push(self.now);
        self.text.extend_from_slice(bytes);
        now.text_len = self.text.len();
        self.now = now;
        Ok(())
    }

    fn forced(&mut self) -> Vec<u32> {
        let a = &self.shared.automaton;
        let index = &self.shared.index;
        match a.kind(self.now.state) {
            Kind::Done => index.vocabulary().eos.first().copied().into_iter().collect(),
            Kind::Header | Kind::Entry => {
                let mut forced: Vec<u8> = if a.kind(self.now.state) == Kind::Header {
                    a.header[self.now.state as usize..].to_vec()
                } else {
                    Vec::new()
                };
                if a.braces {
                    forced.push(b'{');
                }
                greedy_tokens(index, &forced).unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    /// Why `bytes` (a token's, or text) cannot follow: the first byte that is not allowed and what bans it.
    fn explain(&self, token: Option<u32>, bytes: &[u8]) -> Violation {
        let shared = &self.shared;
        let a = &shared.automaton;
        let vocab = shared.index.vocabulary();
        if let Some(t) = token
            && (vocab.is_special(t) || t as usize >= vocab.len())
        {
            let message = if vocab.is_eos(t) {
                "the output cannot end here: the body is not complete".to_owned()
            } else {
                "control tokens never appear in the output".to_owned()
            };
            return Violation { token, offset: 0, message, sources: Vec::new() };
        }
        let mut now = self.now;
        let mut run: Vec<u8> =
            if a.kind(now.state) == Kind::Code { self.text[now.run_start..].to_vec() } else { Vec::new() };
        for (i, &b) in bytes.iter().enumerate() {
            let kind = a.kind(now.state);
            let Some((next, depth)) = a.step(now.state, now.depth, &[b]) else {
                let (message, sources) = self.why(now, kind, &run, b);
                return Violation { token, offset: i, message, sources };
            };
            if a.kind(next) == Kind::Code && kind != Kind::Code {
                run.clear();
            }
            if a.kind(next) == Kind::Code {
                run.push(b);
            }
            now.state = next;
            now.depth = depth;
        }
        Violation { token, offset: bytes.len(), message: "allowed".to_owned(), sources: Vec::new() }
    }

    fn why(&self, now: Step, kind: Kind, run: &[u8], b: u8) -> (String, Vec<ConstraintId>) {
        let shared = &self.shared;
        let a = &shared.automaton;
        let shown = (b as char).escape_default().to_string();
        if kind == Kind::Header {
            let expected =
                a.header.get(now.state as usize).map_or(String::new(), |&e| (e as char).escape_default().to_string());
            return (
                format!("the signature is fixed: expected `{expected}`, not `{shown}`"),
                shared.header_sources.clone(),
            );
        }
        if kind == Kind::Entry {
            return (format!("the body starts with `{{`, not `{shown}`"), shared.header_sources.clone());
        }
        if kind == Kind::Done {
            return ("the body is complete: only the end of the output may follow".to_owned(), Vec::new());
        }
        // A code byte that no code run may take: a ban (checked with the ban's own pattern, the run's edges counted
        // as non-identifier characters), or the lexical rules.
        let continues_code = kind == Kind::Code || !matches!(kind, Kind::Item);
        if continues_code {
            let mut hay = Vec::with_capacity(run.len() + 3);
            hay.push(0u8);
            hay.extend_from_slice(run);
            hay.push(b);
            let open = String::from_utf8_lossy(&hay).into_owned();
            hay.push(0u8);
            let closed = String::from_utf8_lossy(&hay).into_owned();
            let mut sources = Vec::new();
            let mut what = Vec::new();
            let regexes = shared
                .ban_regexes
                .get_or_init(|| shared.forbidden.iter().map(|f| regex::Regex::new(&f.pattern).ok()).collect());
            for (f, re) in shared.forbidden.iter().zip(regexes) {
                if re.as_ref().is_some_and(|re| re.is_match(&open) || re.is_match(&closed)) {
                    sources.extend(f.sources.iter().copied());
                    what.push(f.description.clone());
                }
            }
            if !sources.is_empty() {
                sources.sort_unstable();
                sources.dedup();
                return (format!("`{shown}` would complete a banned {}", what.join(" / ")), sources);
            }
        }
        let reason = if b == b'}' && now.depth <= 1 && a.braces {
            "it would close the body before it ends".to_owned()
        } else if b >= 0x80 && kind != Kind::Item {
            "code outside literals and comments is ASCII".to_owned()
        } else if b == b'#' || b == b'/' {
            format!("`{shown}` cannot start code here (comments are `//`, division is `/ `; no `#` in Rust code)")
        } else {
            format!("`{shown}` is not allowed here by the grammar")
        };
        (reason, Vec::new())
    }
}

/// The static classes of a literal/comment state: a walk of the whole trie that stays in item states (which do not
/// depend on the constraints), recording the tokens that stay inside and the nodes where paths leave.
fn item_classes(a: &BodyAutomaton, index: &VocabIndex, state: u32) -> (index::ItemClasses, u64) {
    let mut inside = TokenMask::new(index.len());
    let mut exits = Vec::new();
    let max = index.max_token_len + 1;
    let mut states = vec![0u32; max];
    states[0] = state;
    let nodes = &index.nodes;
    let mut visited = 0u64;
    let mut i = 1usize;
    while let Some(node) = nodes.get(i) {
        visited += 1;
        let level = node.level as usize;
        let before = states[level - 1];
        let next = a.next(before, node.byte);
        if next == DEAD {
            i = node.end as usize;
            continue;
        }
        if a.kind(next) != Kind::Item {
            exits.push((i as u32, before - a.item_at));
            i = node.end as usize;
            continue;
        }
        states[level] = next;
        if node.token != index::NO_TOKEN {
            inside.allow(node.token);
        }
        i += 1;
    }
    (index::ItemClasses { inside, exits }, visited)
}

/// Walks one subtree of the vocabulary trie (rooted at `root`, a child of the trie's root) from the automaton state
/// reached after its byte: the tokens whose remaining bytes the automaton (with the brace counter) accepts. Returns
/// them and the number of trie nodes visited.
fn walk_subtree(a: &BodyAutomaton, index: &VocabIndex, root: u32, state: u32, depth: u32) -> (Vec<u32>, u64) {
    let nodes = &index.nodes;
    let top = nodes[root as usize];
    let mut allowed = Vec::new();
    if top.token != index::NO_TOKEN {
        allowed.push(top.token);
    }
    let max = index.max_token_len + 1;
    let mut states = vec![0u32; max];
    let mut depths = vec![0u32; max];
    let top_level = top.level as usize;
    states[top_level] = state;
    depths[top_level] = depth;
    let (open, close, done) = (a.open, a.close, a.done);
    let mut visited = 1u64;
    let end = top.end as usize;
    let mut i = root as usize + 1;
    while i < end {
        let node = nodes[i];
        visited += 1;
        let level = node.level as usize;
        let mut next = a.next(states[level - 1], node.byte);
        if next == DEAD {
            i = node.end as usize;
            continue;
        }
        let mut d = depths[level - 1];
        if next >= open {
            // A brace (the last three states are open, close, done).
            if next == open {
                d += 1;
            } else if next == close {
                if d == 0 {
                    i = node.end as usize;
                    continue;
                }
                d -= 1;
                if d == 0 {
                    next = done;
                }
            }
        }
        states[level] = next;
        depths[level] = d;
        if node.token != index::NO_TOKEN {
            allowed.push(node.token);
        }
        i += 1;
    }
    (allowed, visited)
}
