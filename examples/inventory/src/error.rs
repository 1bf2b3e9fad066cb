//! The crate's error type.

use std::fmt;

/// Everything that can go wrong with the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InventoryError {
    /// No item with this SKU.
    UnknownItem(String),
    /// Not enough units to take.
    InsufficientStock { sku: String, requested: u32, available: u32 },
    /// A SKU that is not of the form `ABC-123`.
    InvalidSku(String),
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InventoryError::UnknownItem(sku) => write!(f, "unknown item {sku}"),
            InventoryError::InsufficientStock { sku, requested, available } => {
                write!(f, "cannot take {requested} of {sku}: only {available} left")
            }
            InventoryError::InvalidSku(sku) => write!(f, "invalid SKU {sku:?}"),
        }
    }
}

impl std::error::Error for InventoryError {}
