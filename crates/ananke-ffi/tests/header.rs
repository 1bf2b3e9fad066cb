//! The committed header `include/ananke.h` is exactly what the pinned cbindgen generates from the source.
//! Regenerate it with `ANANKE_BLESS=1 cargo test -p ananke-ffi --test header`.

use std::path::Path;

#[test]
fn committed_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");
    let path = crate_dir.join("include/ananke.h");
    if std::env::var_os("ANANKE_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("header written");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/ananke.h is stale: regenerate it with `ANANKE_BLESS=1 cargo test -p ananke-ffi --test header`"
    );
}
