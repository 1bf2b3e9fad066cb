//! Extraction never panics and never loses a file, whatever the bytes.

use ananke_core::DiagnosticCode;
use clew::{ExtractConfig, MineConfig, Source};
use proptest::prelude::*;

/// Fragments of Rust that, shuffled, make plausible and implausible programs alike.
const FRAGMENTS: &[&str] = &[
    "fn ",
    "f",
    "(",
    ")",
    "{",
    "}",
    "<",
    ">",
    "->",
    "u8",
    "x: ",
    ",",
    ";",
    "impl ",
    "trait ",
    "struct ",
    "enum ",
    "mod ",
    "use ",
    "::",
    "*",
    "unsafe ",
    "{ }",
    ".unwrap()",
    "todo!()",
    "panic!(\"x\")",
    "#[test]",
    "#[cfg(test)]",
    "\"",
    "'",
    "//",
    "/*",
    "*/",
    "\n",
    " ",
    "let ",
    "= ",
    "?",
    "&",
    "mut ",
    "self",
    "pub ",
    "where ",
    "T: Clone",
    "r#\"",
    "\"#",
    "b'",
    "Command::new(format!(\"{}\", x))",
    "transmute",
    "AKIAIOSFODNN7EXAMPLE",
    "password = ",
    "format!(\"SELECT {}\", x)",
    "extern \"C\" ",
    "...",
    "async ",
    "const ",
    "'a",
    "dyn ",
    "[",
    "]",
    "#",
    "!",
];

fn rustish() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..200).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let x = clew::extract_file("src/fuzz.rs", &bytes, &ExtractConfig::default());
        prop_assert_eq!(x.facts.bytes, bytes.len() as u64);
    }

    #[test]
    fn rust_like_text_never_panics(text in rustish()) {
        let x = clew::extract_file("src/fuzz.rs", text.as_bytes(), &ExtractConfig::default());
        // Every span lies inside the file.
        for s in &x.signatures {
            prop_assert!(s.span.end_byte as usize <= text.len());
        }
        for f in &x.facts.findings {
            prop_assert!(f.span.end_byte as usize <= text.len());
        }
    }

    #[test]
    fn mining_is_independent_of_input_order(texts in proptest::collection::vec(rustish(), 1..5), seed in any::<u64>()) {
        let named: Vec<(String, String)> =
            texts.into_iter().enumerate().map(|(i, t)| (format!("src/m{i}.rs"), t)).collect();
        let sources: Vec<Source<'_>> = named.iter().map(|(p, t)| Source::new(p, t.as_bytes())).collect();
        let mut shuffled = sources.clone();
        let len = shuffled.len();
        shuffled.rotate_left((seed as usize) % len);
        shuffled.reverse();
        let a = clew::extract(&sources, &ExtractConfig::default(), &MineConfig::default());
        let b = clew::extract(&shuffled, &ExtractConfig::default(), &MineConfig::default());
        prop_assert_eq!(a.to_json(), b.to_json());
    }
}

#[test]
fn bad_files_are_reported_and_do_not_stop_the_others() {
    let good = b"pub fn ok() -> u8 { 1 }".as_slice();
    let binary = b"\x7fELF\0\0\0\x01".as_slice();
    let latin1 = b"fn caf\xe9() {}".as_slice();
    let sources = [
        Source::new("src/a.rs", good),
        Source::new("src/b.rs", binary),
        Source::new("src/c.rs", latin1),
        Source::new("README.md", good),
    ];
    let set = clew::extract(&sources, &ExtractConfig::default(), &MineConfig::default());
    let codes: Vec<(&str, DiagnosticCode)> = set.diagnostics.iter().map(|d| (d.file.as_str(), d.code)).collect();
    assert_eq!(
        codes,
        vec![
            ("README.md", DiagnosticCode::UnsupportedLanguage),
            ("src/b.rs", DiagnosticCode::Binary),
            ("src/c.rs", DiagnosticCode::NotUtf8),
        ]
    );
    assert_eq!(set.files.len(), 3, "every Rust file is accounted for, even unreadable ones");
    assert!(set.iter().any(|c| c.scope.symbol.as_deref() == Some("crate::a::ok")));
}

#[test]
fn forcing_a_language_reads_any_extension() {
    let config = ExtractConfig { language: Some(ananke_core::Language::Rust), ..ExtractConfig::default() };
    let x = clew::extract_file("snippet.txt", b"fn f() {}", &config);
    assert_eq!(x.signatures.len(), 1);
    assert!(x.diagnostics.is_empty());
}
