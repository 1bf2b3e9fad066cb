//! Fixture: imports of every form.

extern crate alloc;
extern crate serde as serde_crate;

use std::collections::{HashMap, btree_map::{self, Entry as BEntry}};
use std::io::{self, Read as _, Write};
use crate::config::*;
use super::parent_item;
use self::local::Thing;
pub use tokio::sync::mpsc;
use ::regex::Regex;

mod local;
pub(crate) mod config;

mod inline {
    use std::fmt::Debug;
}

fn body_import() {
    use std::mem::swap;
}
