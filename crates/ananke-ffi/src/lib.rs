//! The C ABI of Ananke (filled in by later work).
#![deny(missing_docs)]
