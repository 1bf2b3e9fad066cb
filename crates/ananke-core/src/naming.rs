//! Naming styles: recognizing them, their identifier regexes, and converting names between them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A naming convention for identifiers.
///
/// Leading and trailing underscores are allowed in every style (`_unused`, `__private`), and a Rust raw-identifier
/// prefix (`r#`) is ignored. A single lowercase word (`parse`) is both snake_case and camelCase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamingStyle {
    /// `lower_snake_case`.
    SnakeCase,
    /// `lowerCamelCase`.
    CamelCase,
    /// `UpperCamelCase`.
    PascalCase,
    /// `SCREAMING_SNAKE_CASE`.
    ScreamingSnakeCase,
}

impl NamingStyle {
    /// All styles, in declaration order.
    pub const ALL: [NamingStyle; 4] =
        [NamingStyle::SnakeCase, NamingStyle::CamelCase, NamingStyle::PascalCase, NamingStyle::ScreamingSnakeCase];

    /// The name used in JSON and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            NamingStyle::SnakeCase => "snake_case",
            NamingStyle::CamelCase => "camelCase",
            NamingStyle::PascalCase => "PascalCase",
            NamingStyle::ScreamingSnakeCase => "SCREAMING_SNAKE_CASE",
        }
    }

    /// A regex (Rust `regex` syntax, no anchors) matching exactly the identifiers of this style.
    pub fn regex(self) -> &'static str {
        match self {
            NamingStyle::SnakeCase => "_*[a-z][a-z0-9]*(_+[a-z0-9]+)*_*",
            NamingStyle::CamelCase => "_*[a-z][a-zA-Z0-9]*_*",
            NamingStyle::PascalCase => "_*[A-Z][a-zA-Z0-9]*_*",
            NamingStyle::ScreamingSnakeCase => "_*[A-Z][A-Z0-9]*(_+[A-Z0-9]+)*_*",
        }
    }

    /// Whether `name` follows this style.
    pub fn matches(self, name: &str) -> bool {
        let core = name.strip_prefix("r#").unwrap_or(name).trim_matches('_');
        let mut chars = core.chars();
        let Some(first) = chars.next() else {
            // `_` and `__` are placeholders, not names; every style accepts them.
            return true;
        };
        let rest = chars.as_str();
        match self {
            NamingStyle::SnakeCase => {
                first.is_ascii_lowercase()
                    && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            }
            NamingStyle::CamelCase => first.is_ascii_lowercase() && rest.bytes().all(|b| b.is_ascii_alphanumeric()),
            NamingStyle::PascalCase => first.is_ascii_uppercase() && rest.bytes().all(|b| b.is_ascii_alphanumeric()),
            NamingStyle::ScreamingSnakeCase => {
                first.is_ascii_uppercase()
                    && rest.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            }
        }
    }

    /// `name` rewritten in this style (`parseHeader` → `parse_header`), for suggestions in diagnostics.
    pub fn convert(self, name: &str) -> String {
        let words = split_words(name.strip_prefix("r#").unwrap_or(name));
        let leading: String = name.chars().take_while(|&c| c == '_').collect();
        let body = match self {
            NamingStyle::SnakeCase => words.iter().map(|w| w.to_lowercase()).collect::<Vec<_>>().join("_"),
            NamingStyle::ScreamingSnakeCase => words.iter().map(|w| w.to_uppercase()).collect::<Vec<_>>().join("_"),
            NamingStyle::PascalCase => words.iter().map(|w| capitalize(w)).collect(),
            NamingStyle::CamelCase => {
                words.iter().enumerate().map(|(i, w)| if i == 0 { w.to_lowercase() } else { capitalize(w) }).collect()
            }
        };
        leading + &body
    }
}

/// Splits an identifier into words at underscores and lower→upper case changes (`HTTPServer2x` → `HTTP`,
/// `Server2x`).
fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in name.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = part.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let boundary = i > 0
                && c.is_uppercase()
                && (chars[i - 1].is_lowercase()
                    || chars[i - 1].is_ascii_digit()
                    || chars.get(i + 1).is_some_and(|n| n.is_lowercase()) && chars[i - 1].is_uppercase());
            if boundary && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            current.push(c);
        }
        if !current.is_empty() {
            words.push(current);
        }
    }
    words
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

impl fmt::Display for NamingStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NamingStyle {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
        match key.as_str() {
            "snakecase" | "snake" => Ok(NamingStyle::SnakeCase),
            "camelcase" | "camel" | "lowercamelcase" => Ok(NamingStyle::CamelCase),
            "pascalcase" | "pascal" | "uppercamelcase" => Ok(NamingStyle::PascalCase),
            "screamingsnakecase" | "screamingsnake" | "uppersnakecase" | "constantcase" => {
                Ok(NamingStyle::ScreamingSnakeCase)
            }
            _ => Err(format!(
                "unknown naming style {s:?}; expected one of: {}",
                NamingStyle::ALL.map(NamingStyle::as_str).join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NamingStyle::{self, CamelCase, PascalCase, ScreamingSnakeCase, SnakeCase};

    fn styles(name: &str) -> Vec<NamingStyle> {
        NamingStyle::ALL.into_iter().filter(|s| s.matches(name)).collect()
    }

    #[test]
    fn recognizes_styles() {
        assert_eq!(styles("parse_header"), vec![SnakeCase]);
        assert_eq!(styles("parse"), vec![SnakeCase, CamelCase]);
        assert_eq!(styles("parseHeader"), vec![CamelCase]);
        assert_eq!(styles("HttpServer"), vec![PascalCase]);
        assert_eq!(styles("MAX_LEN"), vec![ScreamingSnakeCase]);
        assert_eq!(styles("IO"), vec![PascalCase, ScreamingSnakeCase]);
        assert_eq!(styles("_unused"), vec![SnakeCase, CamelCase]);
        assert_eq!(styles("r#type"), vec![SnakeCase, CamelCase]);
        assert!(styles("Bad_Name").is_empty());
    }

    #[test]
    fn converts_between_styles() {
        assert_eq!(SnakeCase.convert("parseHeader"), "parse_header");
        assert_eq!(SnakeCase.convert("HTTPServer"), "http_server");
        assert_eq!(PascalCase.convert("parse_header"), "ParseHeader");
        assert_eq!(CamelCase.convert("ParseHeader"), "parseHeader");
        assert_eq!(ScreamingSnakeCase.convert("maxLen"), "MAX_LEN");
        assert_eq!(SnakeCase.convert("_privateThing"), "_private_thing");
    }

    #[test]
    fn regexes_agree_with_matches() {
        let names = [
            "parse_header",
            "parse",
            "parseHeader",
            "HttpServer",
            "MAX_LEN",
            "IO",
            "Bad_Name",
            "x1_y2",
            "a__b",
            "_lead",
            "trail_",
            "9lives",
            "mixed_Case",
            "ALLCAPS",
            "camel2Case",
        ];
        for style in NamingStyle::ALL {
            let re = regex::Regex::new(&format!("^(?:{})$", style.regex())).expect("valid regex");
            for name in names {
                assert_eq!(re.is_match(name), style.matches(name), "{style} on {name}");
            }
        }
    }
}
