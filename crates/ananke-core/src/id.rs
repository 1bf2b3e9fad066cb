//! Stable constraint ids: xxh3-64 over a canonical encoding of rule and scope.

use std::fmt;
use std::io;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use xxhash_rust::xxh3::Xxh3;

use crate::rule::Rule;
use crate::scope::Scope;

/// Bumped whenever the canonical encoding changes, so ids from different encodings never collide silently.
const ENCODING_TAG: &[u8] = b"ananke-constraint-id/v1\0";

/// The stable identity of a constraint: xxh3-64 of the canonical encoding of its rule and scope.
///
/// The canonical encoding is the JSON serialization of the *normalized* rule and scope: struct fields in declaration
/// order, unordered lists (module lists, languages, path globs) sorted and de-duplicated, and JSON-schema objects
/// with sorted keys. So the same constraint extracted twice, or declared with its lists in another order, gets the
/// same id; anything that changes what the rule demands or where it applies changes the id. Shown as 16 hex digits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConstraintId(pub u64);

impl ConstraintId {
    /// The all-zero id, which input documents may use (or omit the field) to ask for the id to be computed.
    pub const UNSET: ConstraintId = ConstraintId(0);

    /// Hashes an already-normalized rule and scope. [`crate::Constraint::new`] normalizes before calling this.
    pub fn of(rule: &Rule, scope: &Scope) -> Self {
        let mut writer = HashWriter(Xxh3::new());
        writer.0.update(ENCODING_TAG);
        // Serializing plain data into a hasher cannot fail: the writer never errors and every map key is a string.
        if serde_json::to_writer(&mut writer, &(rule, scope)).is_err() {
            unreachable!("canonical encoding of a rule cannot fail");
        }
        ConstraintId(writer.0.digest())
    }
}

struct HashWriter(Xxh3);

impl io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Display for ConstraintId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for ConstraintId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 16 {
            return Err(format!("constraint id {s:?} must be 16 hex digits"));
        }
        u64::from_str_radix(s, 16).map(ConstraintId).map_err(|_| format!("constraint id {s:?} is not hexadecimal"))
    }
}

impl Serialize for ConstraintId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ConstraintId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
