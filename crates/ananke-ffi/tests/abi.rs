//! The ABI's contract from Rust: NULL arguments, status codes, errors that can be read back, out-parameters
//! written only on success, panics never crossing the boundary.

// Calling a C ABI from Rust is unsafe by nature; every block states what makes it sound.
#![allow(unsafe_code)]
// `&mut out` as an out-parameter is exactly the C idiom these calls exercise.
#![allow(clippy::borrow_as_ptr)]

use std::ptr;

use ananke_ffi::*;

fn last_error() -> String {
    let mut needed = 0usize;
    // SAFETY: a NULL buffer only asks for the size.
    unsafe { ananke_last_error(ptr::null_mut(), 0, &mut needed) };
    let mut buf = vec![0 as std::ffi::c_char; needed];
    // SAFETY: `buf` has `needed` bytes.
    assert_eq!(unsafe { ananke_last_error(buf.as_mut_ptr(), buf.len(), ptr::null_mut()) }, AnankeStatus::Ok);
    // SAFETY: NUL-terminated by ananke_last_error.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

#[test]
fn null_arguments_are_reported() {
    // SAFETY: NULL is what is being tested; nothing is dereferenced.
    unsafe {
        assert_eq!(ananke_extract(ptr::null(), 1, ptr::null_mut()), AnankeStatus::NullParameter);
        assert!(last_error().contains("NULL"), "{}", last_error());
        let mut out: *mut AnankeBuffer = ptr::null_mut();
        assert_eq!(ananke_check(ptr::null(), 0, ptr::null(), 0, &mut out), AnankeStatus::NullParameter);
        assert!(out.is_null(), "out-parameters are untouched on failure");
        assert_eq!(ananke_checker_commit(ptr::null_mut(), 1), AnankeStatus::NullParameter);
        let mut len = 0usize;
        assert_eq!(ananke_vocab_len(ptr::null(), &mut len), AnankeStatus::NullParameter);
        ananke_buffer_free(ptr::null_mut());
        ananke_vocab_free(ptr::null_mut());
        ananke_checker_free(ptr::null_mut());
    }
}

#[test]
fn bad_input_is_an_error_with_a_message() {
    let mut out: *mut AnankeBuffer = ptr::null_mut();
    let set = b"{\"format\": \"ananke.constraints\", \"version\": 7}";
    // SAFETY: valid pointers and lengths.
    let status = unsafe { ananke_check(set.as_ptr(), set.len(), ptr::null(), 0, &mut out) };
    assert_eq!(status, AnankeStatus::InvalidInput);
    assert!(last_error().contains("version 7 is not supported"), "{}", last_error());
    assert!(out.is_null());

    let not_utf8 = [0xffu8, 0xfe];
    // SAFETY: valid pointers and lengths.
    let status = unsafe { ananke_check(not_utf8.as_ptr(), not_utf8.len(), ptr::null(), 0, &mut out) };
    assert_eq!(status, AnankeStatus::InvalidUtf8);

    let mut vocab: *mut AnankeVocab = ptr::null_mut();
    // SAFETY: valid pointers and lengths.
    let status = unsafe { ananke_vocab_from_tiktoken(b"gpt2".as_ptr(), 4, &mut vocab) };
    assert_eq!(status, AnankeStatus::InvalidInput);
    assert!(last_error().contains("unknown vocabulary"));
    assert!(vocab.is_null());

    let options = br#"{"target": "fn-body"}"#;
    let set = b"{\"format\": \"ananke.constraints\", \"version\": 1}";
    // SAFETY: valid pointers and lengths.
    let status = unsafe { ananke_compile(set.as_ptr(), set.len(), options.as_ptr(), options.len(), &mut out) };
    assert_eq!(status, AnankeStatus::InvalidInput);
    assert!(last_error().contains("needs a `signature`"), "{}", last_error());
}

#[test]
fn sources_with_bad_bytes_become_diagnostics_not_errors() {
    let files: [(&str, &[u8]); 2] = [("src/ok.rs", b"fn ok() {}"), ("src/bin.rs", b"\0\x01\x02")];
    let sources: Vec<AnankeSource> = files
        .iter()
        .map(|(p, b)| AnankeSource { path: p.as_ptr(), path_len: p.len(), bytes: b.as_ptr(), bytes_len: b.len() })
        .collect();
    let mut out: *mut AnankeBuffer = ptr::null_mut();
    // SAFETY: two valid sources.
    assert_eq!(unsafe { ananke_extract(sources.as_ptr(), sources.len(), &mut out) }, AnankeStatus::Ok);
    let (mut data, mut len) = (ptr::null(), 0usize);
    // SAFETY: a live buffer; the bytes are read before it is freed.
    let json = unsafe {
        ananke_buffer_data(out, &mut data, &mut len);
        let json = String::from_utf8(std::slice::from_raw_parts(data, len).to_vec()).unwrap();
        ananke_buffer_free(out);
        json
    };
    assert!(json.contains("crate::ok::ok"));
    assert!(json.contains("\"binary\""));
}

#[test]
fn the_mask_buffer_must_be_large_enough() {
    let set = b"{\"format\": \"ananke.constraints\", \"version\": 1}";
    let options = br#"{"target": "fn-body", "signature": "fn f() -> u8"}"#;
    let mut ir: *mut AnankeBuffer = ptr::null_mut();
    let mut vocab: *mut AnankeVocab = ptr::null_mut();
    let mut checker: *mut AnankeChecker = ptr::null_mut();
    // SAFETY: valid arguments; every handle is freed.
    unsafe {
        assert_eq!(ananke_compile(set.as_ptr(), set.len(), options.as_ptr(), options.len(), &mut ir), AnankeStatus::Ok);
        let (mut data, mut n) = (ptr::null(), 0usize);
        ananke_buffer_data(ir, &mut data, &mut n);
        assert_eq!(ananke_vocab_from_tiktoken(b"cl100k".as_ptr(), 6, &mut vocab), AnankeStatus::Ok);
        assert_eq!(ananke_checker_new(data, n, vocab, &mut checker), AnankeStatus::Ok);
        let mut small = [0u32; 4];
        assert_eq!(ananke_checker_mask(checker, small.as_mut_ptr(), small.len()), AnankeStatus::BufferTooSmall);
        assert!(last_error().contains("32-bit words"));
        let mut len = 0usize;
        ananke_vocab_len(vocab, &mut len);
        let mut words = vec![0u32; len.div_ceil(32)];
        assert_eq!(ananke_checker_mask(checker, words.as_mut_ptr(), words.len()), AnankeStatus::Ok);
        assert!(words.iter().any(|w| *w != 0));
        ananke_checker_free(checker);
        ananke_vocab_free(vocab);
        ananke_buffer_free(ir);
    }
}
