//! Compiles Ananke constraint sets into an enforceable IR (filled in by later work).
#![deny(missing_docs)]
