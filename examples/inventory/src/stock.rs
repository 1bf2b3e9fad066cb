//! Stock levels per item.

use std::collections::HashMap;

use crate::error::InventoryError;

/// One kind of thing the warehouse holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub sku: String,
    pub name: String,
    pub unit_price_cents: u64,
}

/// Units on hand per SKU.
#[derive(Debug, Default)]
pub struct Stock {
    items: HashMap<String, Item>,
    quantities: HashMap<String, u32>,
}

/// Checks that a SKU looks like `ABC-123`.
pub fn validate_sku(sku: &str) -> Result<(), InventoryError> {
    let (letters, digits) = sku.split_once('-').ok_or_else(|| InventoryError::InvalidSku(sku.to_owned()))?;
    let letters_ok = !letters.is_empty() && letters.chars().all(|c| c.is_ascii_uppercase());
    let digits_ok = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit());
    if letters_ok && digits_ok {
        Ok(())
    } else {
        Err(InventoryError::InvalidSku(sku.to_owned()))
    }
}

impl Stock {
    /// An empty stock.
    pub fn new() -> Self {
        Stock::default()
    }

    /// Registers an item with zero units.
    pub fn add_item(&mut self, item: Item) -> Result<(), InventoryError> {
        validate_sku(&item.sku)?;
        self.quantities.entry(item.sku.clone()).or_insert(0);
        self.items.insert(item.sku.clone(), item);
        Ok(())
    }

    /// Adds units of a known item.
    pub fn receive(&mut self, sku: &str, units: u32) -> Result<u32, InventoryError> {
        let quantity = self.quantities.get_mut(sku).ok_or_else(|| InventoryError::UnknownItem(sku.to_owned()))?;
        *quantity = quantity.saturating_add(units);
        Ok(*quantity)
    }

    /// Units on hand of a known item.
    pub fn quantity(&self, sku: &str) -> Result<u32, InventoryError> {
        self.quantities.get(sku).copied().ok_or_else(|| InventoryError::UnknownItem(sku.to_owned()))
    }

    /// Takes units out of stock, failing without change when there are not enough.
    pub fn take(&mut self, sku: &str, units: u32) -> Result<u32, InventoryError> {
        todo!()
    }

    /// The value of all stock on hand, in cents.
    pub fn total_value_cents(&self) -> u64 {
        self.items
            .values()
            .map(|item| u64::from(self.quantities.get(&item.sku).copied().unwrap_or(0)) * item.unit_price_cents)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget() -> Item {
        Item { sku: "WID-001".to_owned(), name: "Widget".to_owned(), unit_price_cents: 250 }
    }

    #[test]
    fn receiving_adds_units() {
        let mut stock = Stock::new();
        stock.add_item(widget()).unwrap();
        assert_eq!(stock.receive("WID-001", 5).unwrap(), 5);
        assert_eq!(stock.total_value_cents(), 1250);
    }

    #[test]
    fn rejects_bad_skus() {
        assert_eq!(validate_sku("wid-1"), Err(InventoryError::InvalidSku("wid-1".to_owned())));
        assert!(validate_sku("WID-001").is_ok());
    }
}
