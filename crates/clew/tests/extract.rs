//! Golden tests: every fixture in `tests/data/rust/` is extracted and rendered as reviewable text; the mined
//! constraint set of all fixtures together is snapshotted too. Review changes with `cargo insta review`.

use std::fmt::Write as _;
use std::path::Path;

use ananke_core::{NamingStyle, Provenance, Span, SymbolKind};
use clew::{ExtractConfig, FileExtraction, MineConfig, Source};

fn at(span: &Span) -> String {
    format!("{}:{}", span.start_line, span.start_column)
}

/// Renders an extraction as text: one line per item, grouped by what it is.
fn render(x: &FileExtraction) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "module: {}", x.facts.module_path.as_deref().unwrap_or("-"));
    let _ = writeln!(out, "signatures:");
    for s in &x.signatures {
        let sig = &s.item;
        let mut flags = Vec::new();
        if sig.documented {
            flags.push("documented".to_owned());
        }
        if !sig.has_body {
            flags.push("no body".to_owned());
        }
        if let Some(owner) = &sig.owner {
            let of = owner.trait_name.as_ref().map(|t| format!(" ({t})")).unwrap_or_default();
            flags.push(format!("{:?} {}{of}", owner.kind, owner.name));
        }
        if let Some(cfg) = &sig.cfg {
            flags.push(format!("cfg({cfg})"));
        }
        if s.in_test {
            flags.push("test".to_owned());
        }
        let _ = writeln!(out, "  {} {}  `{}`  [{}]", at(&s.span), s.path, sig.header(), flags.join(", "));
    }
    let _ = writeln!(out, "shapes:");
    for s in &x.shapes {
        let shape = &s.item;
        let target = shape.target.as_ref().map(|t| format!(" -> {t}")).unwrap_or_default();
        let generics = shape.generics.as_deref().unwrap_or("");
        let _ = writeln!(
            out,
            "  {} {} {}{generics}{target} ({})",
            at(&s.span),
            shape.kind.as_str(),
            s.path,
            shape.visibility.as_deref().unwrap_or("private")
        );
        for m in &shape.members {
            let _ = writeln!(out, "      {:?} {}: {}", m.kind, m.name, m.ty.as_deref().unwrap_or("-"));
        }
    }
    let _ = writeln!(out, "imports:");
    for i in &x.facts.imports {
        let alias = i.alias.as_ref().map(|a| format!(" as {a}")).unwrap_or_default();
        let _ = writeln!(out, "  {} {:?} {}{alias}", i.line, i.kind, i.path);
    }
    let _ = writeln!(out, "findings:");
    for f in &x.facts.findings {
        let test = if f.in_test { " [test]" } else { "" };
        let _ = writeln!(
            out,
            "  {} {} in {}{test}: {}",
            at(&f.span),
            f.kind.as_str(),
            f.symbol.as_deref().unwrap_or("-"),
            f.detail.as_deref().unwrap_or("")
        );
    }
    let _ = writeln!(out, "tests:");
    for t in &x.facts.tests {
        let _ = writeln!(out, "  {} {:?} {}", at(&t.span), t.kind, t.name);
    }
    let _ = writeln!(out, "holes:");
    for h in &x.facts.holes {
        let whole = if h.whole_body { "whole body" } else { "part of body" };
        let header = h.signature.as_ref().map(ananke_core::Signature::header).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} `{}` in {} ({whole}): `{header}`",
            at(&h.span),
            h.text,
            h.symbol.as_deref().unwrap_or("-")
        );
    }
    let _ = writeln!(out, "names:");
    for kind in SymbolKind::ALL {
        let k = x.names.kind(kind);
        if k.total == 0 {
            continue;
        }
        let styles: Vec<String> = NamingStyle::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| k.conforming[*i] > 0)
            .map(|(i, s)| format!("{s}={}", k.conforming[i]))
            .collect();
        let _ = writeln!(out, "  {kind}: {} total; {}", k.total, styles.join(", "));
    }
    let e = &x.errors;
    let _ = writeln!(
        out,
        "errors: {} functions, {} fallible, {} return Result, {} return Option, {} `?`, {} panicking calls",
        e.functions, e.fallible, e.returning_result, e.returning_option, e.try_operators, e.panicking_calls
    );
    let _ = writeln!(out, "diagnostics:");
    for d in &x.diagnostics {
        let _ = writeln!(out, "  {d}");
    }
    out
}

fn fixture(path: &Path) -> (String, Vec<u8>) {
    let name = format!("src/{}", path.file_name().unwrap().to_string_lossy());
    (name, std::fs::read(path).unwrap())
}

#[test]
fn fixtures() {
    insta::glob!("data/rust/*.rs", |path| {
        let (name, bytes) = fixture(path);
        let extraction = clew::extract_file(&name, &bytes, &ExtractConfig::default());
        insta::assert_snapshot!(render(&extraction));
    });
}

#[test]
fn mined_constraints_of_all_fixtures() {
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    insta::glob!("data/rust/*.rs", |path| inputs.push(fixture(path)));
    let sources: Vec<Source<'_>> = inputs.iter().map(|(p, b)| Source::new(p, b)).collect();
    let set = clew::extract(&sources, &ExtractConfig::default(), &MineConfig::default());
    let mut out = String::new();
    for c in &set {
        let Provenance::Extracted(e) = &c.provenance else { panic!("mined constraints are extracted") };
        let _ = writeln!(
            out,
            "{} {} {} [{}] {} @ {}:{} conf={:.3} freq={}{}",
            c.id,
            c.kind,
            c.severity,
            c.scope.symbol.as_deref().unwrap_or("*"),
            c.rule.describe(),
            e.location.file,
            e.location.span.start_line,
            e.confidence,
            e.frequency,
            c.message.as_ref().map(|m| format!(" — {m}")).unwrap_or_default(),
        );
    }
    insta::assert_snapshot!(out);
}
