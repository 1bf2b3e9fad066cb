// rule: {"type": "import_allow", "modules": ["std", "serde", "crate::db"]}
use std::collections::HashMap;
use serde::Deserialize;
use reqwest::Client; // ~
use crate::db::Pool;
use crate::web::Router; // ~ (the list names `crate::db`, so other crate modules are outside it)
use self::inner::Thing; // `self` is not restricted by the list
use ::tokio::spawn; // ~
extern crate rand; // ~

mod inner {
    pub struct Thing;
}
