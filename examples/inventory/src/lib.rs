//! A warehouse inventory: items, stock levels, and reservations.
//!
//! The conventions this crate follows are the ones Ananke extracts and enforces: fallible functions return
//! `Result` with the crate's own error type, nothing panics outside tests, names are snake_case.

pub mod error;
pub mod stock;

pub use error::InventoryError;
pub use stock::{Item, Stock};
