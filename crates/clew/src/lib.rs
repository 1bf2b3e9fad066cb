//! clew
