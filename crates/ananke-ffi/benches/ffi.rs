//! Criterion benches through the C ABI, next to the same work called directly in Rust, so the boundary's cost
//! (copies, JSON, checks) is visible: `cargo bench -p ananke-ffi`.

// Calling a C ABI from Rust is unsafe by nature; every block states what makes it sound.
#![allow(unsafe_code)]
// `&mut out` as an out-parameter is exactly the C idiom these calls exercise.
#![allow(clippy::borrow_as_ptr)]

use ananke_ffi::{
    AnankeBuffer, AnankeChecker, AnankeSource, AnankeStatus, AnankeVocab, ananke_buffer_free, ananke_check,
    ananke_checker_free, ananke_checker_mask, ananke_checker_new, ananke_compile, ananke_extract, ananke_vocab_free,
    ananke_vocab_from_tiktoken, ananke_vocab_len,
};
use criterion::{Criterion, criterion_group, criterion_main};

const CODE: &str = include_str!("../src/lib.rs");
const PATH: &str = "src/lib.rs";

fn source() -> AnankeSource {
    AnankeSource { path: PATH.as_ptr(), path_len: PATH.len(), bytes: CODE.as_ptr(), bytes_len: CODE.len() }
}

fn extract_json() -> Vec<u8> {
    let mut out: *mut AnankeBuffer = std::ptr::null_mut();
    // SAFETY: a valid source and out-pointer.
    assert_eq!(unsafe { ananke_extract(&source(), 1, &mut out) }, AnankeStatus::Ok);
    let json = ananke::clew::extract(
        &[ananke::clew::Source::new(PATH, CODE.as_bytes())],
        &ananke::clew::ExtractConfig::default(),
        &ananke::clew::MineConfig { signatures: false, shapes: false, ..ananke::clew::MineConfig::default() },
    )
    .to_json();
    // SAFETY: from ananke_extract.
    unsafe { ananke_buffer_free(out) };
    json.into_bytes()
}

fn benches(c: &mut Criterion) {
    let set = extract_json();
    c.bench_function("ffi/extract", |b| {
        b.iter(|| {
            let mut out: *mut AnankeBuffer = std::ptr::null_mut();
            // SAFETY: valid arguments; the buffer is freed.
            unsafe {
                assert_eq!(ananke_extract(&source(), 1, &mut out), AnankeStatus::Ok);
                ananke_buffer_free(out);
            }
        });
    });
    c.bench_function("rust/extract", |b| {
        b.iter(|| {
            ananke::extract_sources(&[ananke::clew::Source::new(PATH, CODE.as_bytes())]).to_json();
        });
    });
    c.bench_function("ffi/check", |b| {
        b.iter(|| {
            let mut out: *mut AnankeBuffer = std::ptr::null_mut();
            // SAFETY: valid arguments; the buffer is freed.
            unsafe {
                assert_eq!(ananke_check(set.as_ptr(), set.len(), &source(), 1, &mut out), AnankeStatus::Ok);
                ananke_buffer_free(out);
            }
        });
    });

    // Masks through the ABI on cl100k, walking a real body.
    let options = br#"{"target": "fn-body", "signature": "pub fn area(w: f64, h: f64) -> f64"}"#;
    let mut ir: *mut AnankeBuffer = std::ptr::null_mut();
    let mut vocab: *mut AnankeVocab = std::ptr::null_mut();
    let mut checker: *mut AnankeChecker = std::ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: valid arguments throughout; every handle is freed at the end.
    unsafe {
        assert_eq!(ananke_compile(set.as_ptr(), set.len(), options.as_ptr(), options.len(), &mut ir), AnankeStatus::Ok);
        let (mut data, mut n) = (std::ptr::null(), 0usize);
        ananke_ffi::ananke_buffer_data(ir, &mut data, &mut n);
        assert_eq!(ananke_vocab_from_tiktoken(b"cl100k".as_ptr(), 6, &mut vocab), AnankeStatus::Ok);
        assert_eq!(ananke_vocab_len(vocab, &mut len), AnankeStatus::Ok);
        assert_eq!(ananke_checker_new(data, n, vocab, &mut checker), AnankeStatus::Ok);
    }
    let mut words = vec![0u32; len.div_ceil(32)];
    c.bench_function("ffi/checker_mask_cl100k", |b| {
        b.iter(|| {
            // SAFETY: a live checker and a large enough buffer.
            assert_eq!(unsafe { ananke_checker_mask(checker, words.as_mut_ptr(), words.len()) }, AnankeStatus::Ok);
        });
    });
    // SAFETY: each handle is freed once.
    unsafe {
        ananke_checker_free(checker);
        ananke_vocab_free(vocab);
        ananke_buffer_free(ir);
    }
}

criterion_group!(ffi, benches);
criterion_main!(ffi);
