//! ananke
