//! The syntax layer of fn-body targets: a grammar of the language's statements and expressions (Rust), run as a
//! deterministic pushdown automaton over the bytes of the output.
//!
//! - [`lexer`]: the byte-level lexer (a greedy transducer emitting lexeme kinds);
//! - [`grammar`]: the notation, its compilation to rule DFAs and the LL(1) table;
//! - [`rust`]: the Rust grammar;
//! - [`Config`]: a configuration of the automaton (lexer state and parser stack), advanced byte by byte.

pub(crate) mod grammar;
pub(crate) mod lark;
pub(crate) mod lexer;
pub(crate) mod rust;

use grammar::{Action, Frame, Grammar, Role};
#[cfg(test)]
use lexer::NO_KIND;
use lexer::{Kind, LexState, Lexer};

/// A configuration: the lexer's state and the parser's stack of frames (the top is last). The byte-level
/// reference automaton: the tests and the sampler run it; the checker keeps the same state in its own positions.
#[cfg(test)]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Config {
    pub lex: LexState,
    pub stack: Vec<Frame>,
}

/// Why a byte was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The lexer cannot take the byte.
    #[cfg(test)]
    Lexer,
    /// The parser cannot take the lexeme the byte completes.
    Parser(Kind),
    /// The body is complete.
    #[cfg(test)]
    Done,
}

/// Processes one lexeme kind on a stack: pops until a frame handles it, then applies its chain. Returns the role
/// of the shifted terminal. `>>` where only `>` is expected closes two generic argument lists.
pub(crate) fn process(g: &Grammar, stack: &mut Vec<Frame>, kind: Kind) -> Result<Role, Refusal> {
    loop {
        let Some(&top) = stack.last() else { return Err(Refusal::Parser(kind)) };
        match g.action(top, kind) {
            Action::Shift { chain, len, role } => {
                let frames = g.chain(chain, len);
                let at = stack.len() - 1;
                stack[at] = frames[0];
                stack.extend_from_slice(&frames[1..]);
                return Ok(role);
            }
            Action::Pop => {
                stack.pop();
                if stack.is_empty() {
                    return Err(Refusal::Parser(kind));
                }
            }
            Action::Error => {
                if kind == shr() && !matches!(g.action(top, gt()), Action::Error) {
                    process(g, stack, gt())?;
                    return process(g, stack, gt());
                }
                return Err(Refusal::Parser(kind));
            }
        }
    }
}

fn shr() -> Kind {
    lexer::SHR
}

fn gt() -> Kind {
    lexer::GT
}

#[cfg(test)]
impl Config {
    /// The configuration before a body's first byte.
    pub(crate) fn new(g: &Grammar, lx: &Lexer) -> Config {
        Config { lex: lx.entry, stack: vec![g.start] }
    }

    /// Whether the body is complete: the outermost rule has ended and no lexeme is open.
    pub(crate) fn is_done(&self, g: &Grammar, lx: &Lexer) -> bool {
        self.lex == lx.start && self.stack.len() == 1 && g.is_final(self.stack[0])
    }

    /// Advances over one byte.
    pub(crate) fn feed(&mut self, g: &Grammar, lx: &Lexer, byte: u8) -> Result<(), Refusal> {
        if self.is_done(g, lx) {
            return Err(Refusal::Done);
        }
        let step = lx.step(self.lex, byte).ok_or(Refusal::Lexer)?;
        for kind in step.emit {
            if kind != NO_KIND {
                process(g, &mut self.stack, kind)?;
            }
        }
        self.lex = step.next;
        Ok(())
    }

    /// Advances over bytes; on a refusal, the offset of the refused byte.
    pub(crate) fn feed_all(&mut self, g: &Grammar, lx: &Lexer, bytes: &[u8]) -> Result<(), (usize, Refusal)> {
        for (i, &b) in bytes.iter().enumerate() {
            self.feed(g, lx, b).map_err(|r| (i, r))?;
        }
        Ok(())
    }
}

#[cfg(test)]
impl Config {
    /// Whether the lexeme being read can still end as a kind the parser takes here (so the body can go on).
    pub(crate) fn viable(&self, g: &Grammar, lx: &Lexer) -> bool {
        if lx.region[self.lex as usize] == lexer::Region::Boundary {
            return true;
        }
        if lx.reachable[self.lex as usize].iter().any(|k| process(g, &mut self.stack.clone(), k).is_ok()) {
            return true;
        }
        // `1.` may still be `1` followed by `..`, `..=` or `.name`.
        let int = lx.int_dot[self.lex as usize];
        int != NO_KIND && {
            let mut stack = self.stack.clone();
            process(g, &mut stack, int).is_ok()
                && ["..", "..=", "."].iter().any(|t| process(g, &mut stack.clone(), lexer::k(t)).is_ok())
        }
    }
}

#[cfg(test)]
impl Config {
    /// An upper bound on the bytes that complete the body from here: the lexeme being read finished as the
    /// cheapest kind the parser takes, then the shortest completion of every frame on the stack (`need`, which
    /// charges a separator before every lexeme that could merge with the one before it).
    pub(crate) fn remaining(&self, g: &Grammar, lx: &Lexer, need: &[u32]) -> u32 {
        remaining(g, lx, need, self.lex, &self.stack, &mut Vec::new())
    }
}

/// [`Config::remaining`] of a lexer state and a stack.
/// `scratch` is working space (reused between calls to save allocations).
pub(crate) fn remaining(
    g: &Grammar,
    lx: &Lexer,
    need: &[u32],
    lex: LexState,
    stack: &[Frame],
    scratch: &mut Vec<Frame>,
) -> u32 {
    let base = |stack: &[Frame]| stack.iter().map(|&f| need[f as usize]).fold(0u32, u32::saturating_add);
    if lx.region[lex as usize] == lexer::Region::Boundary {
        return base(stack);
    }
    let mut best = u32::MAX;
    for &(k, d) in &lx.finish[lex as usize] {
        // Trivia (a comment ending at its line break) never reaches the parser: the stack completes as it is.
        if lexer::cat(k) == lexer::Cat::Trivia {
            best = best.min(u32::from(d).saturating_add(base(stack)));
            continue;
        }
        scratch.clear();
        scratch.extend_from_slice(stack);
        if process(g, scratch, k).is_ok() {
            best = best.min(u32::from(d).saturating_add(base(scratch)));
        }
    }
    best
}

/// The shortest-completion costs of the grammar's frames without identifier restrictions: `(need, need_first)`.
pub(crate) fn plain_needs(g: &Grammar) -> (Vec<u32>, Vec<u32>) {
    g.needs(|k, _, sep| lexer::min_len(k) + u32::from(sep && lexer::may_merge(k)))
}

/// [`plain_needs`] of the Rust grammar, computed once per process.
pub(crate) fn rust_needs() -> &'static (Vec<u32>, Vec<u32>) {
    static N: std::sync::OnceLock<(Vec<u32>, Vec<u32>)> = std::sync::OnceLock::new();
    N.get_or_init(|| plain_needs(rust::grammar()))
}

/// Whether the grammar accepts a whole body (for tests).
#[cfg(test)]
pub(crate) fn accepts(body: &str) -> Result<(), String> {
    let (g, lx) = (rust::grammar(), lexer::lexer());
    let mut c = Config::new(g, lx);
    if let Err((at, why)) = c.feed_all(g, lx, body.as_bytes()) {
        let stack: Vec<&str> = c.stack.iter().map(|&f| g.rule_of(f)).collect();
        return Err(format!("refused at {at} ({:?}, {why:?}), stack {stack:?}", &body[..at.min(body.len())]));
    }
    if !c.is_done(g, lx) {
        return Err("incomplete".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_compiles_without_conflicts() {
        let g = rust::grammar();
        assert!(g.frames() > 100, "{g:?}");
    }

    #[test]
    fn accepts_real_bodies() {
        for body in [
            "{}",
            "{ x }",
            "{ let x = 1; x + 2 }",
            "{ let (letters, digits) = sku.split_once('-').ok_or_else(|| InventoryError::InvalidSku(sku.to_owned()))?; Ok(()) }",
            "{ if letters_ok && digits_ok { Ok(()) } else { Err(InventoryError::InvalidSku(sku.to_owned())) } }",
            "{ self.quantities.entry(item.sku.clone()).or_insert(0); self.items.insert(item.sku.clone(), item); Ok(()) }",
            "{ let quantity = self.quantities.get_mut(sku).ok_or_else(|| InventoryError::UnknownItem(sku.to_owned()))?;\n    *quantity = quantity.saturating_add(units);\n    Ok(*quantity) }",
            "{ self.items.values().map(|item| u64::from(self.quantities.get(&item.sku).copied().unwrap_or(0)) * item.unit_price_cents).sum() }",
            "{ match self { InventoryError::UnknownItem(sku) => write!(f, \"unknown item {sku}\"), InventoryError::InsufficientStock { sku, requested, available } => { write!(f, \"cannot take {requested} of {sku}: only {available} left\") } InventoryError::InvalidSku(sku) => write!(f, \"invalid SKU {sku:?}\"), } }",
            "{ fn clamp(n: usize, max: usize) -> usize { n.min(max) } let n = clamp(n, self.input.len()); self.input = &self.input[n..]; self }",
            "{ let v: Vec<Vec<u8>> = Vec::new(); let m: HashMap<String, Vec<u8>> = HashMap::new(); v.len() + m.len() }",
            "{ for (i, x) in v.iter().enumerate() { if i > 0 && *x < 3 { continue; } } while let Some(x) = stack.pop() { total += x; } }",
            "{ let s = format!(\"{} {}\", a, b); println!(); println!(\"{s}\"); assert_eq!(a, b, \"{}\", 1); vec![0u8; 4] }",
            "{ let x = if a { 1 } else if b { 2 } else { 3 }; let y = match x { 1 | 2 => \"a\", 3..=5 => \"b\", _ => \"c\" }; y }",
            "{ 'outer: loop { break 'outer; } let c = |a: u8, b| -> u8 { a + b }; c(1, 2) }",
            "{ return Err(e); }",
            "{ let x = -1i32 as u64 as usize; x << 2 }",
            "{ // a comment\n    let x = 1; // another\n    x }",
            "{ use std::collections::HashMap; const N: usize = 3; static S: &str = \"s\"; N }",
            "{ let Point { x, y: py, .. } = p; let [a, b, ..] = arr; let &(c, ref d) = pair; x }",
            "{ x.0.len() + t.1 }",
            "{ 1..2; ..; ..=5; a.. }",
            "{ Self { a: 1, ..Default::default() } }",
            "{ let f: Box<dyn Fn(u8) -> u8 + Send> = Box::new(|x| x); f(1) }",
            "{ unsafe { *p } }",
            "{ std::mem::take(&mut self.buf) }",
            "{ matches!(x, Some(_) | None if true) }",
            "{ let r = x?; r.await }",
            "{ Vec::<u8>::new(); size_of::<u32>(); Self::f::<u8> }",
        ] {
            if let Err(e) = accepts(body) {
                panic!("{body}\n{e}");
            }
        }
    }

    #[test]
    fn refuses_what_is_not_rust() {
        for body in [
            "{ let x = 1 }",
            "{ x.unwrap(into {) }",
            "{ a < b < c }",
            "{ if x { } .len() }",
            "{ let x = 1;",
            "{ x y }",
            "{ format!(x) }",
            "{ 1..2..3 }",
            "{ if Foo { a: 1 } == x { } }",
            "{ x as u8.len() }",
            "{ } x",
            "{ return; } ",
            "{ String::trim::<'s>::<'s> }",
        ] {
            assert!(accepts(body).is_err(), "{body} should be refused");
        }
    }
}

/// A random sampler of bodies the grammar accepts, byte by byte, and the check that `syn` and tree-sitter parse
/// every one.
#[cfg(test)]
pub(crate) mod sample {
    use super::*;

    pub(crate) struct Rng(pub u64);

    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        pub(crate) fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn needs() -> &'static (Vec<u32>, Vec<u32>) {
        rust_needs()
    }

    fn score(c: &Config, lx: &Lexer) -> u32 {
        c.remaining(rust::grammar(), lx, &needs().0)
    }

    /// A body of about `target` bytes (`None` if the walk ran too long).
    pub(crate) fn body(rng: &mut Rng, target: usize) -> Option<String> {
        let (g, lx) = (rust::grammar(), lexer::lexer());
        let mut pieces: Vec<Vec<u8>> = (0x20u8..0x7f).map(|b| vec![b]).collect();
        pieces.push(b"\n".to_vec());
        pieces.push("é".as_bytes().to_vec());
        pieces.push("😀".as_bytes().to_vec());
        // Whole words, so keywords and macros come up often enough.
        for w in [
            "let ",
            "if ",
            "else ",
            "match ",
            "for ",
            "in ",
            "while ",
            "loop ",
            "return ",
            "break",
            "continue",
            "fn ",
            "mut ",
            "ref ",
            "as ",
            "self",
            "Self",
            "move ",
            "unsafe ",
            "use ",
            "const ",
            "static ",
            "true",
            "false",
            "format!(",
            "vec![",
            "println!(",
            "write!(",
            "assert_eq!(",
            "matches!(",
            "=> ",
            "::",
            "..",
            "Some(",
            "None",
            "Ok(",
            "Err(",
            "impl ",
            "dyn ",
            "&mut ",
            "where ",
            "crate::",
            "super::",
            "'a",
            "struct ",
        ] {
            pieces.push(w.as_bytes().to_vec());
        }
        let mut c = Config::new(g, lx);
        let mut out: Vec<u8> = Vec::new();
        let mut run = 0usize;
        while !c.is_done(g, lx) {
            if out.len() > 6 * target + 200 {
                if std::env::var_os("BRAID_SAMPLE_DEBUG").is_some() {
                    eprintln!("unfinished: {}", String::from_utf8_lossy(&out[out.len() - 200..]));
                }
                return None;
            }
            let mut cands: Vec<(usize, Config)> = Vec::new();
            for (i, p) in pieces.iter().enumerate() {
                let mut d = c.clone();
                if d.feed_all(g, lx, p).is_ok() && d.viable(g, lx) {
                    cands.push((i, d));
                }
            }
            assert!(!cands.is_empty(), "dead end after {:?}", String::from_utf8_lossy(&out));
            let pick = if out.len() >= target {
                let now = score(&c, lx);
                let best = cands.iter().map(|(_, d)| score(d, lx)).min().unwrap_or(0);
                // Prefer steps that get closer to the end; among the closest, any.
                let best = if best < now {
                    cands.iter().map(|(_, d)| score(d, lx)).filter(|&x| x < now).max().unwrap_or(best)
                } else {
                    best
                };
                let closing: Vec<usize> = (0..cands.len()).filter(|&i| score(&cands[i].1, lx) == best).collect();
                closing[rng.below(closing.len())]
            } else if run > 3 && rng.below(4) != 0 {
                // Leave long identifiers, numbers and literals.
                let leaving: Vec<usize> =
                    (0..cands.len()).filter(|&i| cands[i].1.lex != c.lex || pieces[cands[i].0].len() > 1).collect();
                if leaving.is_empty() { rng.below(cands.len()) } else { leaving[rng.below(leaving.len())] }
            } else {
                rng.below(cands.len())
            };
            let (i, d) = cands.swap_remove(pick);
            run = if lx.region[d.lex as usize] == lexer::Region::Boundary { 0 } else { run + 1 };
            out.extend_from_slice(&pieces[i]);
            c = d;
        }
        Some(String::from_utf8(out).expect("bodies are UTF-8"))
    }

    /// Parses a body with syn and tree-sitter-rust, as the body of a function; the error of each, if any.
    pub(crate) fn parse_errors(body: &str) -> Vec<String> {
        let mut errors = Vec::new();
        let file = format!("fn f() {body}\n");
        if let Err(e) = syn::parse_file(&file) {
            errors.push(format!("syn: {e}"));
        }
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&tree_sitter_rust::LANGUAGE.into()).expect("tree-sitter-rust loads");
        match parser.parse(&file, None) {
            Some(tree) if !tree.root_node().has_error() => {}
            Some(tree) => errors.push(format!("tree-sitter: {}", tree.root_node().to_sexp())),
            None => errors.push("tree-sitter: no tree".to_owned()),
        }
        errors
    }

    #[test]
    fn sampled_bodies_parse_with_syn_and_tree_sitter() {
        let n: usize = std::env::var("BRAID_SAMPLES").ok().and_then(|v| v.parse().ok()).unwrap_or(150);
        let seed = std::env::var("BRAID_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed_1234_abcd_0001);
        let mut rng = Rng(seed);
        let mut bad = Vec::new();
        let mut done = 0;
        for i in 0..n {
            let target = 20 + (i % 12) * 25;
            let Some(body) = body(&mut rng, target) else { continue };
            done += 1;
            let errors = parse_errors(&body);
            if !errors.is_empty() {
                bad.push(format!("{body}\n  {}", errors.join("\n  ")));
            }
        }
        assert!(done * 10 >= n * 9, "only {done} of {n} walks finished");
        if let Some(path) = std::env::var_os("BRAID_SAMPLE_OUT") {
            let _ = std::fs::write(path, bad.join("\n\n=====\n"));
        }
        assert!(bad.is_empty(), "{} of {done} bodies do not parse:\n{}", bad.len(), bad.join("\n\n"));
    }
}
