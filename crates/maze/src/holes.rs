//! Typed holes: placeholders for code to write — `todo!()`, `unimplemented!()` and `// HOLE` comments — found with
//! clew together with the enclosing function's signature and body, and turned into a [`Task`] whose output
//! replaces that body.
//!
//! Like every library here, this takes a file's bytes and returns text: reading and (atomically) writing files is
//! the caller's job (`ananke fill`).

use std::sync::Arc;

use ananke_core::{
    Constraint, ConstraintKind, ConstraintSet, Language, MemberKind, OwnerKind, Provenance, Rule, Scope, Severity,
    Signature, Span, TypeShape, TypeShapeKind,
};
use braid::{BodyOptions, CompileConfig, Context, Target};
use clew::ExtractConfig;
use regex::Regex;
use std::fmt::Write as _;

use crate::backend::{Prompt, Sampling};
use crate::error::{Error, Result};
use crate::pipeline::{Placement, Repair, Task};

/// A placeholder in a file, with what is needed to fill it. Offsets and lines are the file's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoleSite {
    /// 1-based line of the placeholder.
    pub line: u32,
    /// The placeholder as written (`todo!()`, `unimplemented!("later")`, `// HOLE: parse the header`).
    pub text: String,
    /// The enclosing function's symbol path (`inventory::stock::Stock::take`).
    pub symbol: Option<String>,
    /// The enclosing function's signature.
    pub signature: Signature,
    /// Byte offset of the start of the line where the function item starts (attributes and doc comments excluded).
    pub item_start: usize,
    /// The function's body, braces included.
    pub body: Span,
    /// Whether the placeholder is all the body holds (comments aside).
    pub whole_body: bool,
    /// Whether the function is test code.
    pub in_test: bool,
}

/// Finds the holes of a Rust file, in source order. A file that does not decode or parse yields what could be read.
pub fn find_holes(path: &str, bytes: &[u8]) -> Vec<HoleSite> {
    let Ok(text) = std::str::from_utf8(bytes) else { return Vec::new() };
    // `// HOLE` comments become `todo!()` in a copy, so clew finds them with their function like any other hole;
    // offsets are mapped back to the original afterwards.
    let marker = hole_comment();
    let mut copy = String::with_capacity(text.len());
    // (offset in the copy where a replacement starts, its length there, original start, original length)
    let mut edits: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut at = 0;
    for m in marker.find_iter(text) {
        copy.push_str(&text[at..m.start()]);
        edits.push((copy.len(), PLACEHOLDER.len(), m.start(), m.len()));
        copy.push_str(PLACEHOLDER);
        at = m.end();
    }
    copy.push_str(&text[at..]);
    let to_original = |offset: usize| -> usize {
        let mut delta: isize = 0;
        for &(start, len, original, original_len) in &edits {
            if offset < start {
                break;
            }
            if offset < start + len {
                return original;
            }
            delta = (original + original_len).cast_signed() - (start + len).cast_signed();
        }
        offset.saturating_add_signed(delta)
    };
    let config = ExtractConfig { language: Some(Language::Rust), ..ExtractConfig::default() };
    let extraction = clew::extract_file(path, copy.as_bytes(), &config);
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() as u32 + 1;
    let mut sites = Vec::new();
    for hole in &extraction.facts.holes {
        let (Some(signature), Some(body)) = (&hole.signature, hole.body) else { continue };
        let start = to_original(hole.span.start_byte as usize);
        let placeholder = match edits.iter().find(|e| e.0 == hole.span.start_byte as usize) {
            Some(&(_, _, original, len)) => text[original..original + len].trim_end().to_owned(),
            None => hole.text.clone(),
        };
        let body_start = to_original(body.start_byte as usize);
        let body_end = to_original(body.end_byte as usize);
        let item = extraction.signatures.iter().find(|s| {
            s.span.start_byte <= body.start_byte
                && s.span.end_byte >= body.end_byte
                && hole.symbol.as_deref().is_none_or(|p| p == s.path)
        });
        let item_start = item.map_or(body_start, |s| to_original(s.span.start_byte as usize));
        let item_start = text[..item_start].rfind('\n').map_or(0, |i| i + 1);
        sites.push(HoleSite {
            line: line_of(start),
            text: placeholder,
            symbol: hole.symbol.clone(),
            signature: signature.clone(),
            item_start,
            body: span_of(text, body_start, body_end),
            whole_body: hole.whole_body,
            in_test: item.is_some_and(|s| s.in_test),
        });
    }
    sites.sort_by_key(|s| (s.line, s.body.start_byte));
    sites
}

const PLACEHOLDER: &str = "todo!()";

fn hole_comment() -> Regex {
    // A line comment whose text starts with HOLE (`// HOLE`, `// HOLE: what to write`).
    Regex::new(r"//[ \t]*HOLE\b[^\n]*").unwrap_or_else(|e| unreachable!("a fixed regex compiles: {e}"))
}

fn span_of(text: &str, start: usize, end: usize) -> Span {
    let pos = |at: usize| {
        let before = &text[..at.min(text.len())];
        let line = before.matches('\n').count() as u32 + 1;
        let column = (at - before.rfind('\n').map_or(0, |i| i + 1)) as u32 + 1;
        (line, column)
    };
    let (start_line, start_column) = pos(start);
    let (end_line, end_column) = pos(end);
    Span { start_byte: start as u32, end_byte: end as u32, start_line, start_column, end_line, end_column }
}

/// How to fill a hole.
#[derive(Clone, Debug, PartialEq)]
pub struct FillConfig {
    /// The token budget of each attempt (the forced header included).
    pub max_tokens: u32,
    /// How tokens are chosen.
    pub sampling: Sampling,
    /// Attempts after the first when the body breaks a checked constraint.
    pub max_repairs: u32,
    /// How repair attempts are drawn.
    pub repair: Repair,
    /// At most this many bytes of the file before the function go into the prompt (the nearest ones).
    pub context_bytes: usize,
    /// Replace a whole body even when the placeholder is only part of it (what the body had is lost).
    pub replace_partial: bool,
    /// The enforcement layers (all on by default; each can be switched off to compare).
    pub layers: Layers,
    /// The names a body may use (the identifier layer); `None`: those of the constraint set and the file.
    pub identifiers: Option<Arc<braid::Identifiers>>,
}

/// The enforcement layers of a fill, each switchable so their effect can be measured (`benches/quality`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layers {
    /// Enforce at the token level at all (off: generate freely, then check: the unconstrained baseline).
    pub token_level: bool,
    /// The body follows braid's grammar of Rust statements and expressions (off: balanced braces and bans only).
    pub syntax: bool,
    /// The body always closes within the token budget (needs `syntax`).
    pub budget: bool,
    /// Calls, paths and members name things that exist (needs `syntax`).
    pub identifiers: bool,
}

impl Default for Layers {
    /// Everything on.
    fn default() -> Self {
        Layers { token_level: true, syntax: true, budget: true, identifiers: true }
    }
}

impl Default for FillConfig {
    /// 192 tokens, greedy with the default repetition penalty ([`Sampling::DRY_DEFAULT`]), two resampled repairs,
    /// 1500 bytes of context, whole-body holes only.
    fn default() -> Self {
        FillConfig {
            max_tokens: 192,
            sampling: Sampling::GREEDY.with_dry(Sampling::DRY_DEFAULT),
            max_repairs: 2,
            repair: Repair::default(),
            context_bytes: 1500,
            replace_partial: false,
            layers: Layers::default(),
            identifiers: None,
        }
    }
}

/// The rules every filled hole follows whatever the project says: a placeholder is not an answer.
pub fn placeholder_rules() -> Vec<Constraint> {
    ["todo!", "unimplemented!"]
        .into_iter()
        .map(|callee| {
            Constraint::new(Rule::ForbidCall { callee: callee.into() }, Scope::default(), Provenance::Default)
                .with_kind(ConstraintKind::Semantic)
                .with_severity(Severity::Error)
                .with_label("no-placeholder")
                .with_message("a filled hole must not hold another placeholder")
        })
        .collect()
}

/// The task that fills `site` in the file `path` whose text is `text`: the function's body, generated after its
/// fixed header, under `constraints` (the project's and the file's extracted constraints and the user's rules) and
/// [`placeholder_rules`], prompted with the code before the function and the shapes of the types its signature
/// names, and checked in place in the file.
pub fn fill_task(
    path: &str,
    text: &str,
    site: &HoleSite,
    constraints: &ConstraintSet,
    config: &FillConfig,
) -> Result<Task> {
    if !site.whole_body && !config.replace_partial {
        return Err(Error::Hole(format!(
            "{path}:{}: `{}` is part of a larger body; filling it replaces the whole body of `{}` (pass the \
             option to replace partial bodies to allow it)",
            site.line, site.text, site.signature.name
        )));
    }
    let (body_start, body_end) = (site.body.start_byte as usize, site.body.end_byte as usize);
    if body_end > text.len() || body_start > body_end || site.item_start > body_start {
        return Err(Error::Hole(format!("{path}:{}: the hole's function does not match the text", site.line)));
    }
    let header = site.signature.header();
    let mut set = constraints.clone();
    for rule in placeholder_rules() {
        set.insert(rule);
    }
    let context = Context { path: Some(path.to_owned()), in_test: site.in_test };
    let body = BodyOptions {
        syntax: config.layers.syntax,
        identifiers: config.layers.syntax && config.layers.identifiers,
        self_type: site.signature.owner.as_ref().filter(|o| o.kind == OwnerKind::Impl).map(|o| o.name.clone()),
    };
    let compile = CompileConfig::new(Language::Rust, Target::FnBody { signature: header.clone() })
        .with_context(context)
        .with_body(body);
    let prompt = Prompt::Text(prompt_text(path, text, site, constraints, config.context_bytes));
    let placement = Placement {
        path: path.to_owned(),
        before: text[..body_start].to_owned(),
        after: text[body_end..].to_owned(),
        body_only: true,
    };
    let identifiers = config.layers.identifiers.then(|| {
        config.identifiers.clone().unwrap_or_else(|| {
            let mut ids = braid::Identifiers::from_set(&set);
            ids.add_source(text);
            ids.set_file(text);
            Arc::new(ids)
        })
    });
    Ok(Task {
        prompt,
        constraints: set,
        compile,
        max_tokens: config.max_tokens,
        sampling: config.sampling,
        max_repairs: config.max_repairs,
        repair: config.repair,
        placement,
        token_level: config.layers.token_level,
        budget: config.layers.budget,
        identifiers,
        verify: None,
    })
}

/// The file with the hole's body replaced by `body` (`{ ... }`).
pub fn splice(text: &str, site: &HoleSite, body: &str) -> String {
    let (start, end) = (site.body.start_byte as usize, site.body.end_byte as usize);
    format!("{}{}{}", &text[..start], body, &text[end..])
}

/// A completion prompt: the types the signature names that live in other files, as declarations, then the file
/// up to the function (its nearest `context_bytes`), ending with the function's indentation: the header follows,
/// forced by the grammar.
fn prompt_text(path: &str, text: &str, site: &HoleSite, constraints: &ConstraintSet, context_bytes: usize) -> String {
    let prefix = &text[..site.item_start];
    let indent: String = text[site.item_start..].chars().take_while(|c| *c == ' ' || *c == '\t').collect();
    let cut = prefix.len().saturating_sub(context_bytes);
    let cut = if cut == 0 { 0 } else { prefix[cut..].find('\n').map_or(cut, |i| cut + i + 1) };
    let mut out = String::new();
    let named = type_words(&site.signature);
    let mut shapes: Vec<(&str, String)> = Vec::new();
    for c in constraints {
        let Rule::TypeShape(shape) = &c.rule else { continue };
        let elsewhere = match &c.provenance {
            Provenance::Extracted(e) => e.location.file != path,
            _ => true,
        };
        if elsewhere && named.contains(&shape.name) && !prefix.contains(&declaration_start(shape)) {
            let file = match &c.provenance {
                Provenance::Extracted(e) => e.location.file.as_str(),
                _ => "",
            };
            if let Some(decl) = render_shape(shape) {
                shapes.push((file, decl));
            }
        }
    }
    shapes.sort();
    shapes.dedup();
    for (file, decl) in shapes {
        if !file.is_empty() {
            let _ = writeln!(out, "// {file}");
        }
        out.push_str(&decl);
        out.push_str("\n\n");
    }
    if !out.is_empty() {
        let _ = writeln!(out, "// {path}");
    }
    out.push_str(&prefix[cut..]);
    out.push_str(&indent);
    out
}

/// The identifiers in a signature's types and owner: the types worth showing the model.
fn type_words(sig: &Signature) -> Vec<String> {
    let mut text = String::new();
    for p in &sig.params {
        text.push_str(&p.ty);
        text.push(' ');
    }
    if let Some(r) = &sig.returns {
        text.push_str(r);
    }
    if let Some(o) = &sig.owner {
        text.push(' ');
        text.push_str(&o.name);
    }
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

fn declaration_start(shape: &TypeShape) -> String {
    let keyword = match shape.kind {
        TypeShapeKind::Enum => "enum",
        TypeShapeKind::Trait => "trait",
        _ => "struct",
    };
    format!("{keyword} {}", shape.name)
}

/// A struct's or enum's declaration from its shape (fields and variants; methods left out).
fn render_shape(shape: &TypeShape) -> Option<String> {
    let (keyword, members): (&str, Vec<String>) = match shape.kind {
        TypeShapeKind::Struct => (
            "struct",
            shape
                .members
                .iter()
                .filter(|m| m.kind == MemberKind::Field)
                .map(|m| format!("{}: {}", m.name, m.ty.as_deref().unwrap_or("_")))
                .collect(),
        ),
        TypeShapeKind::Enum => (
            "enum",
            shape
                .members
                .iter()
                .filter(|m| m.kind == MemberKind::Variant)
                .map(|m| match m.ty.as_deref() {
                    Some(payload) if payload.starts_with('{') => format!("{} {payload}", m.name),
                    Some(payload) => format!("{}{payload}", m.name),
                    None => m.name.clone(),
                })
                .collect(),
        ),
        _ => return None,
    };
    let vis = shape.visibility.as_deref().map_or(String::new(), |v| format!("{v} "));
    let generics = shape.generics.as_deref().unwrap_or("");
    Some(format!("{vis}{keyword} {}{generics} {{ {} }}", shape.name, members.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "pub struct Counter { n: u32 }\n\nimpl Counter {\n    /// Adds one.\n    pub fn bump(&mut self) -> u32 {\n        todo!()\n    }\n\n    pub fn get(&self) -> u32 {\n        // HOLE: return the count\n    }\n\n    pub fn half(&self) -> u32 {\n        let x = self.n;\n        unimplemented!()\n    }\n}\n";

    #[test]
    fn todo_unimplemented_and_hole_comments_are_found_with_their_functions() {
        let sites = find_holes("src/counter.rs", FILE.as_bytes());
        let lines: Vec<(u32, &str, &str, bool)> =
            sites.iter().map(|s| (s.line, s.text.as_str(), s.signature.name.as_str(), s.whole_body)).collect();
        assert_eq!(
            lines,
            [
                (6, "todo!()", "bump", true),
                (10, "// HOLE: return the count", "get", true),
                (15, "unimplemented!()", "half", false)
            ]
        );
        for s in &sites {
            let body = &FILE[s.body.start_byte as usize..s.body.end_byte as usize];
            assert!(body.starts_with('{') && body.ends_with('}'), "{body:?}");
            assert!(FILE[s.item_start..].trim_start().starts_with("pub fn"), "{:?}", &FILE[s.item_start..]);
        }
        let get = &sites[1];
        assert_eq!(
            &FILE[get.body.start_byte as usize..get.body.end_byte as usize],
            "{\n        // HOLE: return the count\n    }"
        );
        let filled = splice(FILE, get, "{\n        self.n\n    }");
        assert!(filled.contains("pub fn get(&self) -> u32 {\n        self.n\n    }"), "{filled}");
    }

    #[test]
    fn a_fill_task_forces_the_header_and_bans_placeholders() {
        let sites = find_holes("src/counter.rs", FILE.as_bytes());
        let task = fill_task("src/counter.rs", FILE, &sites[0], &ConstraintSet::new(), &FillConfig::default()).unwrap();
        assert_eq!(task.compile.target, Target::FnBody { signature: "pub fn bump(&mut self) -> u32".into() });
        assert!(task.placement.body_only && task.placement.before.ends_with("pub fn bump(&mut self) -> u32 "));
        let Prompt::Text(prompt) = &task.prompt else { panic!() };
        assert!(prompt.ends_with("    /// Adds one.\n    "), "{prompt:?}");
        assert!(task.constraints.iter().any(|c| c.rule == Rule::ForbidCall { callee: "todo!".into() }));
        let partial = fill_task("src/counter.rs", FILE, &sites[2], &ConstraintSet::new(), &FillConfig::default());
        assert!(matches!(partial, Err(Error::Hole(m)) if m.contains("part of a larger body")));
    }

    #[test]
    fn shapes_from_other_files_are_declared_in_the_prompt() {
        let error = "pub enum CountError { Overflow { at: u32 }, Empty }\n";
        let set = clew::extract(
            &[
                clew::Source::new("src/error.rs", error.as_bytes()),
                clew::Source::new("src/counter.rs", FILE.as_bytes()),
            ],
            &ExtractConfig::default(),
            &clew::MineConfig::default(),
        );
        let file = FILE.replace("pub fn bump(&mut self) -> u32", "pub fn bump(&mut self) -> Result<u32, CountError>");
        let sites = find_holes("src/counter.rs", file.as_bytes());
        let task = fill_task("src/counter.rs", &file, &sites[0], &set, &FillConfig::default()).unwrap();
        let Prompt::Text(prompt) = &task.prompt else { panic!() };
        assert!(
            prompt.starts_with(
                "// src/error.rs\npub enum CountError { Overflow { at: u32 }, Empty }\n\n// src/counter.rs\n"
            ),
            "{prompt}"
        );
    }
}
