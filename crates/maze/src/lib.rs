//! Ananke orchestration: caches, backends, generation (filled in by later work).
#![deny(missing_docs)]
