//! Rust extraction: one parse, one pass of the combined queries in `queries/rust/`, then the captured nodes are
//! handled in document order with a stack of enclosing items (modules, impls, traits, functions, unsafe blocks), so
//! every symbol gets its full path and every finding knows whether it sits in test code.

mod imports;
mod items;

use std::cell::RefCell;
use std::cmp::Reverse;
use std::sync::OnceLock;

use ananke_core::{
    Diagnostic, DiagnosticCode, Finding, FindingKind, Hole, Import, ImportKind, Owner, OwnerKind, Severity, Signature,
    Span, SymbolKind, TestItem, TestKind, TypeShapeKind,
};
use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Parser, Query, QueryCursor, Tree};

use crate::Detail;
use crate::extraction::{FileExtraction, NameSite, Symbol};
use crate::modpath::{is_test_path, rust_module_path};
use crate::text::{normalized, span_between, span_of, text};

use items::Attached;
pub(crate) use items::type_head;

/// The query files, in the order they are concatenated into one query.
pub(crate) const QUERY_FILES: [(&str, &str); 8] = [
    ("items.scm", include_str!("../../queries/rust/items.scm")),
    ("imports.scm", include_str!("../../queries/rust/imports.scm")),
    ("calls.scm", include_str!("../../queries/rust/calls.scm")),
    ("security/unsafe.scm", UNSAFE_QUERY),
    ("security/transmute.scm", include_str!("../../queries/rust/security/transmute.scm")),
    ("security/shell_command.scm", SHELL_COMMAND_QUERY),
    ("security/hardcoded_secret.scm", HARDCODED_SECRET_QUERY),
    ("security/sql_format.scm", SQL_FORMAT_QUERY),
];

/// The query behind the built-in "no unsafe code" rule.
pub(crate) const UNSAFE_QUERY: &str = include_str!("../../queries/rust/security/unsafe.scm");
/// The query behind the built-in "no shell command strings" rule.
pub(crate) const SHELL_COMMAND_QUERY: &str = include_str!("../../queries/rust/security/shell_command.scm");
/// The query behind the built-in "no hard-coded secrets" rule.
pub(crate) const HARDCODED_SECRET_QUERY: &str = include_str!("../../queries/rust/security/hardcoded_secret.scm");
/// The query behind the built-in "no SQL built by formatting" rule.
pub(crate) const SQL_FORMAT_QUERY: &str = include_str!("../../queries/rust/security/sql_format.scm");

/// At most this many syntax errors are reported per file; the rest are counted in one last diagnostic.
const MAX_SYNTAX_DIAGNOSTICS: usize = 10;

/// What a query capture stands for. A capture without a dot in its name is the event; `event.part` captures are
/// its parts, of which the handlers use at most two (`a` and `b`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Function,
    Struct,
    Enum,
    Union,
    TypeAlias,
    Trait,
    Impl,
    Const,
    Static,
    Module,
    ExternBlock,
    Attribute,
    Doc,
    Let,
    Use,
    ExternCrate,
    PanickingMethod,
    PanickingMacro,
    Try,
    UnsafeBlock,
    Deref,
    Transmute,
    Shell,
    Secret,
    Sql,
}

impl Event {
    fn from_name(name: &str) -> Option<Event> {
        Some(match name {
            "function" => Event::Function,
            "struct" => Event::Struct,
            "enum" => Event::Enum,
            "union" => Event::Union,
            "type_alias" => Event::TypeAlias,
            "trait" => Event::Trait,
            "impl" => Event::Impl,
            "const" => Event::Const,
            "static" => Event::Static,
            "module" => Event::Module,
            "extern_block" => Event::ExternBlock,
            "attribute" => Event::Attribute,
            "doc" => Event::Doc,
            "let" => Event::Let,
            "use" => Event::Use,
            "extern_crate" => Event::ExternCrate,
            "panicking_method" => Event::PanickingMethod,
            "panicking_macro" => Event::PanickingMacro,
            "try" => Event::Try,
            "unsafe_block" => Event::UnsafeBlock,
            "deref" => Event::Deref,
            "transmute" => Event::Transmute,
            "shell" => Event::Shell,
            "secret" => Event::Secret,
            "sql" => Event::Sql,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Main,
    A,
    B,
    Unused,
}

/// The compiled queries and, per capture index, what the capture means.
pub(crate) struct Queries {
    query: Query,
    captures: Vec<(Event, Slot)>,
}

impl Queries {
    fn compile() -> Result<Queries, String> {
        let language = tree_sitter_rust::LANGUAGE.into();
        let source = QUERY_FILES.iter().map(|(_, text)| *text).collect::<Vec<_>>().join("\n");
        let query = Query::new(&language, &source).map_err(|e| format!("queries/rust: {e}"))?;
        let mut captures = Vec::with_capacity(query.capture_names().len());
        for name in query.capture_names() {
            let (event, part) = name.split_once('.').map_or((*name, None), |(e, p)| (e, Some(p)));
            let event = Event::from_name(event).ok_or_else(|| format!("queries/rust: unknown capture @{name}"))?;
            let slot = match part {
                None => Slot::Main,
                Some("name" | "operand" | "callee" | "text") => Slot::A,
                Some("value") => Slot::B,
                Some(_) => Slot::Unused,
            };
            captures.push((event, slot));
        }
        Ok(Queries { query, captures })
    }
}

/// The built-in Rust queries, compiled once per process.
pub(crate) fn queries() -> &'static Queries {
    static QUERIES: OnceLock<Queries> = OnceLock::new();
    QUERIES.get_or_init(|| match Queries::compile() {
        Ok(q) => q,
        // The queries are compiled into the binary and covered by tests; failing here is a build defect.
        Err(e) => panic!("built-in Rust queries are invalid: {e}"),
    })
}

thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
    static CURSOR: RefCell<QueryCursor> = RefCell::new(QueryCursor::new());
}

/// One captured node and up to two of its parts.
#[derive(Clone, Copy, Debug)]
struct Capture<'t> {
    event: Event,
    node: Node<'t>,
    a: Option<Node<'t>>,
    b: Option<Node<'t>>,
}

/// What an extraction collects beyond what every caller needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Collect {
    /// Every declared name with its span (naming rules).
    pub names: bool,
    /// Type shapes (mining, shape rules).
    pub shapes: bool,
}

impl From<Detail> for Collect {
    fn from(detail: Detail) -> Self {
        Collect { names: detail == Detail::Full, shapes: true }
    }
}

/// Extracts everything from one Rust source text into `out`, and returns the syntax tree (for the linter).
pub(crate) fn extract(source: &str, collect: Collect, out: &mut FileExtraction) -> Option<Tree> {
    let tree = PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let parser = slot.get_or_insert_with(|| {
            let mut parser = Parser::new();
            // The grammar crate and tree-sitter are version-matched in Cargo.toml; a mismatch is a build defect.
            if let Err(e) = parser.set_language(&tree_sitter_rust::LANGUAGE.into()) {
                panic!("tree-sitter-rust is incompatible with tree-sitter: {e}");
            }
            parser
        });
        parser.parse(source, None)
    });
    let Some(tree) = tree else {
        out.diagnostics.push(Diagnostic {
            file: out.facts.path.clone(),
            severity: Severity::Error,
            code: DiagnosticCode::ParseFailed,
            message: "the parser gave up on this file".to_owned(),
            line: None,
            column: None,
        });
        return None;
    };
    let root = tree.root_node();
    let errors = if root.has_error() { error_regions(root, source, out) } else { Vec::new() };

    let queries = queries();
    let mut captures: Vec<Capture<'_>> = Vec::with_capacity(source.len() / 64);
    CURSOR.with(|cell| {
        let mut cursor = cell.borrow_mut();
        let mut matches = cursor.matches(&queries.query, root, source.as_bytes());
        while let Some(m) = matches.next() {
            let mut capture: Option<Capture<'_>> = None;
            let (mut a, mut b) = (None, None);
            for c in m.captures() {
                let (event, slot) = queries.captures[c.index as usize];
                match slot {
                    Slot::Main => capture = Some(Capture { event, node: c.node, a: None, b: None }),
                    Slot::A => a = Some(c.node),
                    Slot::B => b = Some(c.node),
                    Slot::Unused => {}
                }
            }
            if let Some(mut capture) = capture {
                capture.a = a;
                capture.b = b;
                captures.push(capture);
            }
        }
    });
    // Outer nodes before the nodes they contain; the stable sort keeps query order for identical ranges.
    captures.sort_by_key(|c| (c.node.start_byte(), Reverse(c.node.end_byte())));

    let path = out.facts.path.clone();
    let module = rust_module_path(&path);
    let mut walker = Walker {
        source,
        detail: collect.names,
        collect_shapes: collect.shapes,
        module: module.clone(),
        file_in_test: is_test_path(&path),
        out,
        stack: Vec::new(),
        functions: Vec::new(),
        pending: Vec::new(),
    };
    for capture in captures {
        let start = capture.node.start_byte();
        if in_regions(&errors, start) {
            continue;
        }
        walker.close_until(start);
        walker.handle(capture);
    }
    walker.close_until(usize::MAX);
    walker.scan_key_literals(root);
    walker.out.facts.module_path = Some(module);
    Some(tree)
}

/// Parses a lone function header, e.g. from a configuration file.
pub(crate) fn parse_signature(header: &str) -> Result<Signature, String> {
    let trimmed = header.trim().trim_end_matches(';').trim_end();
    let source = if trimmed.ends_with('}') { trimmed.to_owned() } else { format!("{trimmed} {{}}") };
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_rust::LANGUAGE.into()).map_err(|e| e.to_string())?;
    let tree = parser.parse(&source, None).ok_or("the parser gave up")?;
    let root = tree.root_node();
    let item = root.named_child(0).filter(|n| n.kind() == "function_item" && root.named_child_count() == 1);
    let Some(item) = item.filter(|n| !n.has_error()) else {
        return Err(format!(
            "`{trimmed}` is not a Rust function header (expected e.g. `pub fn name(arg: Type) -> Ret`)"
        ));
    };
    items::signature(item, &source, None, &Attached::default())
        .map(|(sig, _)| sig)
        .ok_or_else(|| format!("`{trimmed}` has no function name"))
}

/// Finds the outermost ERROR nodes (skipped by extraction) and reports them and MISSING nodes as diagnostics.
fn error_regions(root: Node<'_>, source: &str, out: &mut FileExtraction) -> Vec<(usize, usize)> {
    let mut regions = Vec::new();
    let mut reported = 0usize;
    let mut extra = 0usize;
    let mut stack = vec![root];
    let mut found: Vec<Node<'_>> = Vec::new();
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            found.push(node);
            continue;
        }
        if node.has_error() {
            let mut cursor = node.walk();
            let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
    }
    found.sort_by_key(Node::start_byte);
    for node in found {
        if node.is_error() {
            regions.push((node.start_byte(), node.end_byte()));
        }
        if reported == MAX_SYNTAX_DIAGNOSTICS {
            extra += 1;
            continue;
        }
        reported += 1;
        let position = node.start_position();
        let message = if node.is_missing() {
            format!("syntax error: missing `{}`", node.kind())
        } else {
            let snippet: String = text(node, source).split_whitespace().collect::<Vec<_>>().join(" ");
            let snippet: String = snippet.chars().take(40).collect();
            format!("syntax error: unexpected `{snippet}`; items in this region were skipped")
        };
        out.diagnostics.push(Diagnostic {
            file: out.facts.path.clone(),
            severity: Severity::Warning,
            code: DiagnosticCode::SyntaxError,
            message,
            line: Some(position.row as u32 + 1),
            column: Some(position.column as u32 + 1),
        });
    }
    if extra > 0 {
        out.diagnostics.push(Diagnostic {
            file: out.facts.path.clone(),
            severity: Severity::Warning,
            code: DiagnosticCode::SyntaxError,
            message: format!("{extra} more syntax error(s) not shown"),
            line: None,
            column: None,
        });
    }
    regions
}

fn in_regions(regions: &[(usize, usize)], at: usize) -> bool {
    let i = regions.partition_point(|&(start, _)| start <= at);
    i > 0 && at < regions[i - 1].1
}

/// An item that encloses what follows it, until its end byte.
#[derive(Debug)]
struct Frame {
    end: usize,
    kind: FrameKind,
    in_test: bool,
}

#[derive(Debug)]
enum FrameKind {
    Module(String),
    Impl { self_ty: String, trait_name: Option<String> },
    Trait(String),
    Function(usize),
    Extern(String),
    Unsafe,
}

/// What is tracked for an open function until its end.
#[derive(Debug)]
struct FunctionState<'t> {
    path: String,
    signature: Signature,
    body: Option<Node<'t>>,
    in_test: bool,
    is_unsafe: bool,
    pointers: Vec<String>,
    uses_try: bool,
    panics: bool,
}

struct Walker<'s, 't, 'o> {
    source: &'s str,
    /// Whether every declared name is kept with its span (linting).
    detail: bool,
    /// Whether type shapes are built.
    collect_shapes: bool,
    module: String,
    file_in_test: bool,
    out: &'o mut FileExtraction,
    stack: Vec<Frame>,
    functions: Vec<FunctionState<'t>>,
    pending: Vec<Node<'t>>,
}

impl<'t> Walker<'_, 't, '_> {
    fn close_until(&mut self, at: usize) {
        while self.stack.last().is_some_and(|f| f.end <= at) {
            if let Some(Frame { kind: FrameKind::Function(index), .. }) = self.stack.pop() {
                self.finish_function(index);
            }
        }
    }

    fn in_test(&self) -> bool {
        self.file_in_test || self.stack.last().is_some_and(|f| f.in_test)
    }

    fn in_unsafe(&self) -> bool {
        self.stack.iter().rev().any(|f| match f.kind {
            FrameKind::Unsafe => true,
            FrameKind::Function(i) => self.functions[i].is_unsafe,
            _ => false,
        })
    }

    fn current_function(&self) -> Option<usize> {
        self.stack.iter().rev().find_map(|f| match f.kind {
            FrameKind::Function(i) => Some(i),
            _ => None,
        })
    }

    /// The symbol path of the innermost enclosing item.
    fn scope_path(&self) -> String {
        let mut path = self.module.clone();
        for frame in &self.stack {
            match &frame.kind {
                FrameKind::Module(name) | FrameKind::Trait(name) => {
                    path.push_str("::");
                    path.push_str(name);
                }
                FrameKind::Impl { self_ty, trait_name: None } => {
                    path.push_str("::");
                    path.push_str(self_ty);
                }
                FrameKind::Impl { self_ty, trait_name: Some(trait_name) } => {
                    path.push_str("::<");
                    path.push_str(self_ty);
                    path.push_str(" as ");
                    path.push_str(trait_name);
                    path.push('>');
                }
                FrameKind::Function(i) => path.clone_from(&self.functions[*i].path),
                FrameKind::Extern(_) | FrameKind::Unsafe => {}
            }
        }
        path
    }

    fn push_frame(&mut self, node: Node<'t>, kind: FrameKind, in_test: bool) {
        self.stack.push(Frame { end: node.end_byte(), kind, in_test: in_test || self.in_test() });
    }

    /// Takes the attributes and doc comments directly above `node` (only whitespace between them).
    fn take_attached(&mut self, node: Node<'t>) -> Attached {
        let mut attached = Attached::default();
        let mut boundary = node.start_byte();
        while let Some(&last) = self.pending.last() {
            let gap = self.source.get(last.end_byte()..boundary);
            if last.end_byte() > boundary || !gap.is_some_and(|g| g.trim().is_empty()) {
                break;
            }
            attached.add(last, self.source);
            boundary = last.start_byte();
            self.pending.pop();
        }
        self.pending.clear();
        attached
    }

    fn finding(&mut self, kind: FindingKind, node: Node<'_>, detail: Option<String>) {
        self.finding_at(kind, span_of(node), detail);
    }

    fn finding_at(&mut self, kind: FindingKind, span: Span, detail: Option<String>) {
        let symbol = self.current_function().map(|i| self.functions[i].path.clone());
        let in_test = self.in_test();
        self.out.facts.findings.push(Finding { kind, span, in_test, symbol, detail });
    }

    fn handle(&mut self, capture: Capture<'t>) {
        let node = capture.node;
        match capture.event {
            Event::Attribute | Event::Doc => self.pending.push(node),
            Event::Function => self.function(node),
            Event::Struct => {
                self.shape(node, TypeShapeKind::Struct);
            }
            Event::Enum => {
                self.shape(node, TypeShapeKind::Enum);
            }
            Event::Union => {
                self.shape(node, TypeShapeKind::Union);
            }
            Event::TypeAlias => {
                let associated =
                    matches!(self.stack.last(), Some(Frame { kind: FrameKind::Impl { .. } | FrameKind::Trait(_), .. }));
                if associated {
                    // Associated types are members of their trait or impl, not shapes of their own; in a trait impl
                    // the trait names them.
                    self.take_attached(node);
                    let dictated = matches!(
                        self.stack.last(),
                        Some(Frame { kind: FrameKind::Impl { trait_name: Some(_), .. }, .. })
                    );
                    if let Some(name) = node.child_by_field_name("name") {
                        self.record_name(SymbolKind::Type, name, dictated);
                    }
                } else {
                    self.shape(node, TypeShapeKind::Alias);
                }
            }
            Event::Trait => self.trait_item(node),
            Event::Impl => self.impl_item(node),
            Event::Const => {
                self.take_attached(node);
                // An associated constant of a trait impl is named by the trait.
                let dictated =
                    matches!(self.stack.last(), Some(Frame { kind: FrameKind::Impl { trait_name: Some(_), .. }, .. }));
                if let Some(name) = node.child_by_field_name("name") {
                    self.record_name(SymbolKind::Constant, name, dictated);
                }
            }
            Event::Static => {
                self.take_attached(node);
                self.name(node, SymbolKind::Static);
            }
            Event::Module => self.module(node),
            Event::ExternBlock => {
                self.take_attached(node);
                let abi = node
                    .named_child(0)
                    .filter(|m| m.kind() == "extern_modifier")
                    .and_then(|m| m.named_child(0))
                    .map_or_else(|| "C".to_owned(), |lit| text(lit, self.source).trim_matches('"').to_owned());
                self.push_frame(node, FrameKind::Extern(abi), false);
            }
            Event::Let => self.let_binding(node),
            Event::Use => {
                if let Some(argument) = node.child_by_field_name("argument") {
                    let line = node.start_position().row as u32 + 1;
                    imports::flatten_use(argument, self.source, line, &mut self.out.facts.imports);
                }
            }
            Event::ExternCrate => {
                if let Some(name) = node.child_by_field_name("name") {
                    self.out.facts.imports.push(Import {
                        path: text(name, self.source).to_owned(),
                        kind: ImportKind::ExternCrate,
                        alias: node.child_by_field_name("alias").map(|a| text(a, self.source).to_owned()),
                        line: node.start_position().row as u32 + 1,
                    });
                }
            }
            Event::PanickingMethod => {
                let is_token_run = node.kind() == "identifier";
                if is_token_run && node.prev_sibling().is_none_or(|p| p.kind() != ".") {
                    return;
                }
                let kind = match capture.a.map(|n| text(n, self.source)) {
                    Some("expect") => FindingKind::Expect,
                    _ => FindingKind::Unwrap,
                };
                // Point at `unwrap()`, not at the whole receiver chain before it.
                let span = match capture.a {
                    Some(name) if !is_token_run => span_between(name, node),
                    _ => span_of(node),
                };
                self.panicking(kind, span);
            }
            Event::PanickingMacro => self.panicking_macro(node, capture.a),
            Event::Try => {
                if let Some(i) = self.current_function() {
                    self.functions[i].uses_try = true;
                }
                if !self.in_test() {
                    self.out.errors.try_operators += 1;
                }
            }
            Event::UnsafeBlock => {
                self.finding(FindingKind::UnsafeBlock, node, None);
                self.push_frame(node, FrameKind::Unsafe, false);
            }
            Event::Deref => {
                if let Some(operand) = capture.a
                    && self.in_unsafe()
                    && self.is_raw_pointer(operand)
                {
                    let detail = Some(normalized(operand, self.source));
                    self.finding(FindingKind::RawPointerDeref, node, detail);
                }
            }
            Event::Transmute => {
                let detail = capture.a.map(|c| normalized(c, self.source));
                self.finding(FindingKind::Transmute, node, detail);
            }
            Event::Shell => {
                // `Command::new("sh").arg(format!(..))` matches twice; the outer match already covers the inner.
                let covered = self.out.facts.findings.last().is_some_and(|f| {
                    f.kind == FindingKind::ShellCommand
                        && f.span.start_byte as usize <= node.start_byte()
                        && node.end_byte() <= f.span.end_byte as usize
                });
                if covered {
                    return;
                }
                let detail = Some(first_line(text(node, self.source)));
                self.finding(FindingKind::ShellCommand, node, detail);
            }
            Event::Secret => {
                if let (Some(name), Some(value)) = (capture.a, capture.b)
                    && looks_like_secret(text(value, self.source))
                {
                    let detail = Some(text(name, self.source).to_owned());
                    self.finding(FindingKind::HardcodedSecret, value, detail);
                }
            }
            Event::Sql => {
                let detail = capture.a.map(|t| first_line(text(t, self.source)));
                self.finding(FindingKind::SqlFormat, node, detail);
            }
        }
    }

    /// Records a declared name: always in the statistics, with its own span when linting.
    fn record_name(&mut self, kind: SymbolKind, name_node: Node<'_>, dictated: bool) {
        let name = text(name_node, self.source);
        let span = span_of(name_node);
        self.out.names.record(kind, name, span);
        if self.detail {
            let in_test = self.in_test();
            self.out.name_sites.push(NameSite { kind, span, in_test, dictated });
        }
    }

    fn name(&mut self, node: Node<'_>, kind: SymbolKind) {
        if let Some(name) = node.child_by_field_name("name") {
            self.record_name(kind, name, false);
        }
    }

    fn owner(&self) -> Option<Owner> {
        match &self.stack.last()?.kind {
            FrameKind::Impl { self_ty, trait_name } => {
                Some(Owner { kind: OwnerKind::Impl, name: self_ty.clone(), trait_name: trait_name.clone() })
            }
            FrameKind::Trait(name) => Some(Owner { kind: OwnerKind::Trait, name: name.clone(), trait_name: None }),
            FrameKind::Extern(abi) => Some(Owner { kind: OwnerKind::Extern, name: abi.clone(), trait_name: None }),
            _ => None,
        }
    }

    fn function(&mut self, node: Node<'t>) {
        let attached = self.take_attached(node);
        let owner = self.owner();
        let Some((signature, name_node)) = items::signature(node, self.source, owner, &attached) else { return };
        let path = format!("{}::{}", self.scope_path(), signature.name);
        let in_test = self.in_test() || attached.is_test || attached.cfg_test;
        let span = span_of(node);
        if attached.is_test {
            self.out.facts.tests.push(TestItem { name: path.clone(), kind: TestKind::Function, span });
        }
        // A trait impl's methods and foreign functions are named by the trait or the foreign library.
        let dictated = signature
            .owner
            .as_ref()
            .is_some_and(|o| o.kind == OwnerKind::Extern || (o.kind == OwnerKind::Impl && o.trait_name.is_some()));
        self.record_name(SymbolKind::Function, name_node, dictated);
        let mut pointers = Vec::new();
        if let Some(params) = node.child_by_field_name("parameters") {
            let mut cursor = params.walk();
            for param in params.named_children(&mut cursor).filter(|p| p.kind() == "parameter") {
                let Some(pattern) = param.child_by_field_name("pattern") else { continue };
                if pattern.kind() == "identifier" {
                    self.record_name(SymbolKind::Variable, pattern, dictated);
                    if param.child_by_field_name("type").is_some_and(|t| t.kind() == "pointer_type") {
                        pointers.push(text(pattern, self.source).to_owned());
                    }
                }
            }
        }
        if signature.is_unsafe {
            self.finding(FindingKind::UnsafeFn, name_node, Some(path.clone()));
        }
        let is_unsafe = signature.is_unsafe;
        let body = node.child_by_field_name("body");
        if body.is_some() {
            self.functions.push(FunctionState {
                path: path.clone(),
                signature: signature.clone(),
                body,
                in_test,
                is_unsafe,
                pointers,
                uses_try: false,
                panics: false,
            });
            let index = self.functions.len() - 1;
            self.push_frame(node, FrameKind::Function(index), in_test);
        }
        self.out.signatures.push(Symbol { path, item: signature, span, in_test });
    }

    fn finish_function(&mut self, index: usize) {
        let state = &self.functions[index];
        if state.in_test || state.body.is_none() {
            return;
        }
        let head = state.signature.returns.as_deref().map(type_head);
        let returns_result = head.is_some_and(|h| h.ends_with("Result"));
        let returns_option = head == Some("Option");
        let stats = &mut self.out.errors;
        stats.functions += 1;
        if returns_result || returns_option || state.uses_try || state.panics {
            stats.fallible += 1;
            stats.returning_result += u32::from(returns_result);
            stats.returning_option += u32::from(returns_option);
        }
    }

    /// Records a type's names and, when collecting them, its shape. Returns whether it is `#[cfg(test)]`.
    fn shape(&mut self, node: Node<'t>, kind: TypeShapeKind) -> bool {
        let attached = self.take_attached(node);
        self.name(node, SymbolKind::Type);
        if let Some(body) = node.child_by_field_name("body")
            && matches!(kind, TypeShapeKind::Struct | TypeShapeKind::Union | TypeShapeKind::Enum)
        {
            let mut cursor = body.walk();
            let members: Vec<Node<'t>> = body.named_children(&mut cursor).collect();
            for member in members {
                let member_kind = match member.kind() {
                    "field_declaration" => SymbolKind::Field,
                    "enum_variant" => SymbolKind::Variant,
                    _ => continue,
                };
                if let Some(name) = member.child_by_field_name("name") {
                    self.record_name(member_kind, name, false);
                }
            }
        }
        if self.collect_shapes
            && let Some(shape) = items::type_shape(node, self.source, kind, &attached)
        {
            let path = format!("{}::{}", self.scope_path(), shape.name);
            let in_test = self.in_test() || attached.cfg_test;
            self.out.shapes.push(Symbol { path, item: shape, span: span_of(node), in_test });
        }
        attached.cfg_test
    }

    fn trait_item(&mut self, node: Node<'t>) {
        if items::starts_unsafe(node) {
            self.finding(FindingKind::UnsafeTrait, node, None);
        }
        let Some(name) = node.child_by_field_name("name").map(|n| text(n, self.source).to_owned()) else { return };
        let cfg_test = self.shape(node, TypeShapeKind::Trait);
        self.push_frame(node, FrameKind::Trait(name), cfg_test);
    }

    fn impl_item(&mut self, node: Node<'t>) {
        let attached = self.take_attached(node);
        if items::starts_unsafe(node) {
            self.finding(FindingKind::UnsafeImpl, node, None);
        }
        let self_ty = node.child_by_field_name("type").map(|t| normalized(t, self.source)).unwrap_or_default();
        let trait_name = node.child_by_field_name("trait").map(|t| normalized(t, self.source));
        let in_test = self.in_test() || attached.cfg_test;
        if let Some(trait_name) = trait_name.as_ref().filter(|_| self.collect_shapes) {
            let shape = ananke_core::TypeShape {
                name: self_ty.clone(),
                kind: TypeShapeKind::TraitImpl,
                generics: node.child_by_field_name("type_parameters").map(|g| normalized(g, self.source)),
                members: node
                    .child_by_field_name("body")
                    .map(|b| items::associated_items(b, self.source))
                    .unwrap_or_default(),
                target: Some(trait_name.clone()),
                visibility: None,
                documented: attached.documented,
            };
            let path = format!("{}::<{} as {}>", self.scope_path(), self_ty, trait_name);
            self.out.shapes.push(Symbol { path, item: shape, span: span_of(node), in_test });
        }
        self.push_frame(node, FrameKind::Impl { self_ty, trait_name }, attached.cfg_test);
    }

    fn module(&mut self, node: Node<'t>) {
        let attached = self.take_attached(node);
        let Some(name_node) = node.child_by_field_name("name") else { return };
        let name = text(name_node, self.source).to_owned();
        self.record_name(SymbolKind::Module, name_node, false);
        let path = format!("{}::{}", self.scope_path(), name);
        if attached.cfg_test {
            self.out.facts.tests.push(TestItem { name: path.clone(), kind: TestKind::Module, span: span_of(node) });
        }
        if node.child_by_field_name("body").is_some() {
            self.push_frame(node, FrameKind::Module(name), attached.cfg_test);
        } else {
            self.out.facts.imports.push(Import {
                path,
                kind: ImportKind::Mod,
                alias: None,
                line: node.start_position().row as u32 + 1,
            });
        }
    }

    fn let_binding(&mut self, node: Node<'t>) {
        let Some(pattern) = node.child_by_field_name("pattern") else { return };
        let mut names = Vec::new();
        binding_names(pattern, &mut names);
        for name in &names {
            // `let Marker = ..` with an upper-case name destructures a unit struct or matches a constant; it does
            // not bind a variable.
            if !text(*name, self.source).starts_with(|c: char| c.is_ascii_uppercase()) {
                self.record_name(SymbolKind::Variable, *name, false);
            }
        }
        // Track raw-pointer locals so later dereferences of them are recognized.
        let declared_pointer = node.child_by_field_name("type").is_some_and(|t| t.kind() == "pointer_type");
        let pointer_value = node.child_by_field_name("value").is_some_and(|v| self.is_raw_pointer(v));
        if (declared_pointer || pointer_value)
            && let [single] = names.as_slice()
            && let Some(i) = self.current_function()
        {
            let name = text(*single, self.source).to_owned();
            self.functions[i].pointers.push(name);
        }
    }

    /// Whether an expression evidently has a raw-pointer type.
    fn is_raw_pointer(&self, expr: Node<'_>) -> bool {
        match expr.kind() {
            "parenthesized_expression" => expr.named_child(0).is_some_and(|inner| self.is_raw_pointer(inner)),
            "type_cast_expression" => expr.child_by_field_name("type").is_some_and(|t| t.kind() == "pointer_type"),
            "call_expression" => expr
                .child_by_field_name("function")
                .filter(|f| f.kind() == "field_expression")
                .and_then(|f| f.child_by_field_name("field"))
                .is_some_and(|m| POINTER_METHODS.contains(&text(m, self.source))),
            "identifier" => self.current_function().is_some_and(|i| {
                let name = text(expr, self.source);
                self.functions[i].pointers.iter().any(|p| p == name)
            }),
            _ => false,
        }
    }

    fn panicking(&mut self, kind: FindingKind, span: Span) {
        if let Some(i) = self.current_function() {
            self.functions[i].panics = true;
        }
        if !self.in_test() {
            self.out.errors.panicking_calls += 1;
        }
        self.finding_at(kind, span, None);
    }

    fn panicking_macro(&mut self, node: Node<'t>, name: Option<Node<'t>>) {
        let kind = match name.map(|n| text(n, self.source)) {
            Some("todo") => FindingKind::Todo,
            Some("unimplemented") => FindingKind::Unimplemented,
            Some("unreachable") => FindingKind::Unreachable,
            _ => FindingKind::Panic,
        };
        self.panicking(kind, span_of(node));
        if matches!(kind, FindingKind::Todo | FindingKind::Unimplemented) {
            self.hole(node);
        }
    }

    fn hole(&mut self, node: Node<'t>) {
        let function = self.current_function().map(|i| &self.functions[i]);
        let body = function.and_then(|f| f.body);
        let whole_body = body.is_some_and(|b| is_whole_body(b, node));
        self.out.facts.holes.push(Hole {
            span: span_of(node),
            text: normalized(node, self.source),
            symbol: function.map(|f| f.path.clone()),
            signature: function.map(|f| f.signature.clone()),
            body: body.map(span_of),
            whole_body,
        });
    }

    /// Finds AWS-style access key ids (`AKIA` or `ASIA` + 16 upper-case letters or digits) inside string literals.
    fn scan_key_literals(&mut self, root: Node<'_>) {
        static KEY: OnceLock<Option<regex::Regex>> = OnceLock::new();
        let Some(key) = KEY.get_or_init(|| regex::Regex::new(r"(?-u:\b)A[KS]IA[0-9A-Z]{16}(?-u:\b)").ok()) else {
            return;
        };
        let starts: Vec<usize> = key.find_iter(self.source).map(|m| m.start()).collect();
        for at in starts {
            let Some(node) = root.descendant_for_byte_range(at, at + 20) else { continue };
            let in_string = matches!(node.kind(), "string_content" | "string_literal" | "raw_string_literal");
            if in_string {
                let before = &self.source[..at];
                let line = before.bytes().filter(|&b| b == b'\n').count() as u32 + 1;
                let column = (at - before.rfind('\n').map_or(0, |p| p + 1)) as u32 + 1;
                let span = Span {
                    start_byte: at as u32,
                    end_byte: at as u32 + 20,
                    start_line: line,
                    start_column: column,
                    end_line: line,
                    end_column: column + 20,
                };
                let symbol = None;
                let detail = Some(format!("{}…", &self.source[at..at + 8]));
                let kind = FindingKind::HardcodedSecret;
                self.out.facts.findings.push(Finding { kind, span, in_test: self.file_in_test, symbol, detail });
            }
        }
    }
}

/// Methods whose result is a raw pointer.
const POINTER_METHODS: [&str; 14] = [
    "as_ptr",
    "as_mut_ptr",
    "add",
    "sub",
    "offset",
    "byte_add",
    "byte_sub",
    "byte_offset",
    "wrapping_add",
    "wrapping_sub",
    "wrapping_offset",
    "cast",
    "cast_mut",
    "cast_const",
];

/// The identifiers a `let` pattern binds (`x`, `mut x`, `(a, b)`, `ref x`), not enum variants or paths.
fn binding_names<'t>(pattern: Node<'t>, out: &mut Vec<Node<'t>>) {
    match pattern.kind() {
        "identifier" => out.push(pattern),
        "tuple_pattern" | "mut_pattern" | "ref_pattern" | "reference_pattern" | "slice_pattern" => {
            let mut cursor = pattern.walk();
            for child in pattern.named_children(&mut cursor) {
                binding_names(child, out);
            }
        }
        _ => {}
    }
}

/// Whether `hole` is all there is in `body` (comments aside).
fn is_whole_body(body: Node<'_>, hole: Node<'_>) -> bool {
    let mut cursor = body.walk();
    let mut statements =
        body.named_children(&mut cursor).filter(|c| !matches!(c.kind(), "line_comment" | "block_comment"));
    let Some(only) = statements.next() else { return false };
    if statements.next().is_some() {
        return false;
    }
    only.id() == hole.id()
        || (only.kind() == "expression_statement" && only.named_child(0).is_some_and(|e| e.id() == hole.id()))
}

/// Whether a string literal bound to a secret-sounding name holds something that looks like a real secret, not an
/// empty string, a placeholder, an environment variable's name or a sentence.
fn looks_like_secret(literal: &str) -> bool {
    let value = literal.trim_start_matches(['b', 'r', '#']).trim_matches(['"', '#']);
    if value.len() < 6 || value.chars().any(char::is_whitespace) {
        return false;
    }
    let env_name = value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    let placeholder = value.starts_with(['<', '$', '{', '%'])
        || ["changeme", "example", "xxxx", "****", "password", "secret", "redacted", "placeholder", "your_", "dummy"]
            .iter()
            .any(|p| value.to_ascii_lowercase().contains(p));
    !env_name && !placeholder
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.len() > 80 {
        let cut = (0..=80).rev().find(|&i| line.is_char_boundary(i)).unwrap_or(0);
        format!("{}…", &line[..cut])
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::{Queries, looks_like_secret};

    #[test]
    fn built_in_queries_compile_and_every_capture_is_known() {
        let queries = Queries::compile().expect("queries compile");
        assert!(queries.query.pattern_count() > 20);
    }

    #[test]
    fn secrets_are_told_from_placeholders() {
        assert!(looks_like_secret("\"hunter2-prod-9f8e\""));
        assert!(!looks_like_secret("\"\""));
        assert!(!looks_like_secret("\"DB_PASSWORD\""));
        assert!(!looks_like_secret("\"<your password>\""));
        assert!(!looks_like_secret("\"enter the password\""));
        assert!(!looks_like_secret("\"changeme\""));
    }
}
