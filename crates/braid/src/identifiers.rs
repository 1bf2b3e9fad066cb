//! The identifier layer of Rust fn bodies: the names a body may use, so that a call, a path or a member names
//! something that exists.
//!
//! [`Identifiers`] holds the known names: the standard library's common items (a built-in list), what a
//! constraint set declares (functions, methods, types, fields, variants, imported modules) and, optionally, every
//! identifier of the project's source ([`Identifiers::add_source`]), which covers imports, constants and what other
//! functions call. Members are also kept per type, so that after `x.` only the fields and methods of `x`'s type
//! are allowed when `x` is `self` or a parameter whose type the set describes.
//!
//! A checker with the syntax layer applies it ([`crate::Checker::set_identifiers`]): a name in a value, member,
//! type or path position must be known (or a parameter, a generic of the signature, or a local bound earlier in
//! the body); a name in a binding position is free and becomes a local. It is checked on the token the sampler
//! draws ([`crate::Checker::vet`]), so the mask (the syntax layer's) stays cheap; the generation loop redraws.
//!
//! ```
//! use braid::Identifiers;
//!
//! let mut ids = Identifiers::std();
//! ids.add_source("fn restock(stock: &mut Stock) { stock.quantities.clear(); }");
//! assert!(ids.contains("quantities") && ids.contains("Vec") && !ids.contains("saturating_take"));
//! ```

use std::collections::{BTreeMap, BTreeSet};

use ananke_core::{ConstraintSet, OwnerKind, Rule};

/// Names of the standard library a body commonly uses: prelude types and traits, their common methods and
/// associated functions, modules, primitive types, macros and keywords (so a keyword being typed is a known
/// prefix).
const STD: &str = "
std core alloc self Self super crate
Option Some None Result Ok Err String Vec Box Rc Arc Cell RefCell Mutex RwLock HashMap HashSet BTreeMap BTreeSet
VecDeque BinaryHeap Cow Path PathBuf OsStr OsString Duration Instant SystemTime Ordering Default Clone Copy Debug
Display Formatter Iterator IntoIterator DoubleEndedIterator ExactSizeIterator Extend FromIterator From Into TryFrom
TryInto AsRef AsMut Borrow Deref DerefMut Drop Fn FnMut FnOnce PartialEq Eq PartialOrd Ord Hash Hasher Send Sync
Sized ToString ToOwned FromStr Error Read Write BufRead BufReader BufWriter Seek SeekFrom Sum Product Range
RangeInclusive Wrapping NonZeroU8 NonZeroU16 NonZeroU32 NonZeroU64 NonZeroUsize PhantomData Pin Future Poll
Entry Chars Bytes Lines Split Peekable Rev Iter IterMut IntoIter Keys Values ParseIntError ParseFloatError
Utf8Error FromUtf8Error Infallible TypeId Any char str bool u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize
f32 f64 collections fmt io fs mem ptr cmp ops iter slice string vec hash num convert borrow sync cell rc time
thread process env path ffi marker any error char_indices
new with_capacity default from into try_from try_into from_str parse to_string to_owned to_vec as_str as_bytes
as_ref as_mut as_slice as_ptr as_path borrow borrow_mut clone clone_from cloned copied len is_empty capacity
push push_str pop insert remove get get_mut get_or_insert_with contains contains_key starts_with ends_with find
rfind split split_once rsplit_once splitn rsplitn split_whitespace split_at trim trim_start trim_end trim_matches
trim_start_matches trim_end_matches strip_prefix strip_suffix lines chars bytes char_indices replace replacen
to_lowercase to_uppercase to_ascii_lowercase to_ascii_uppercase eq_ignore_ascii_case is_ascii is_ascii_digit
is_ascii_alphabetic is_ascii_alphanumeric is_ascii_uppercase is_ascii_lowercase is_ascii_whitespace
is_ascii_punctuation is_ascii_hexdigit is_alphabetic is_alphanumeric is_numeric is_whitespace is_uppercase
is_lowercase is_digit to_digit from_digit from_u32 len_utf8 encode_utf8 repeat format iter iter_mut into_iter
map map_err map_or map_or_else and_then or_else ok_or ok_or_else unwrap_or unwrap_or_else unwrap_or_default
filter filter_map flat_map flatten fold try_fold reduce any all position rposition count sum product min max
min_by max_by min_by_key max_by_key enumerate zip chain rev skip take skip_while take_while step_by peekable peek
next next_back last nth collect extend for_each inspect partition unzip windows chunks chunks_exact sort
sort_by sort_by_key sort_unstable sort_unstable_by sort_unstable_by_key dedup dedup_by_key retain truncate clear
drain append extend_from_slice split_off reverse binary_search first last_mut first_mut concat join
entry or_insert or_insert_with or_default and_modify keys values values_mut is_some is_none is_ok is_err ok err
as_deref as_deref_mut take replace expect unwrap copied is_some_and is_none_or is_ok_and filter xor zip
checked_add checked_sub checked_mul checked_div checked_rem saturating_add saturating_sub saturating_mul
wrapping_add wrapping_sub wrapping_mul overflowing_add overflowing_sub pow abs signum min max clamp rem_euclid
div_euclid leading_zeros trailing_zeros count_ones count_zeros swap_bytes to_be to_le from_be from_le
to_be_bytes to_le_bytes from_be_bytes from_le_bytes to_ne_bytes from_ne_bytes MAX MIN BITS is_power_of_two
next_power_of_two sqrt floor ceil round trunc fract powi powf exp ln log10 log2 sin cos tan is_nan is_finite
fmt write write_str write_fmt write_all flush read read_to_string read_to_end read_line read_exact eq ne cmp
partial_cmp lt le gt ge hash finish then then_with reverse is_lt is_le is_gt is_ge Less Equal Greater
lock read write try_lock get_ref into_inner load store swap now elapsed as_secs as_millis as_nanos from_secs
from_millis duration_since exists is_file is_dir join parent file_name extension to_str to_string_lossy display
canonicalize metadata chars_rev utf8_chunks from_utf8 from_utf8_lossy from_utf8_unchecked as_mut_ptr size_of
swap replace take drop forget transmute null null_mut spawn sleep args var var_os exit iter_mut values keys
f w e err error kind other source description into_boxed_str into_bytes into_string as_os_str from_fn once
repeat_with empty successors
println print eprintln eprint format format_args write writeln vec assert assert_eq assert_ne debug_assert
debug_assert_eq debug_assert_ne matches dbg concat line column file stringify panic todo unimplemented unreachable
cfg env include_str include_bytes
as async await break const continue dyn else enum extern false fn for if impl in let loop match mod move mut pub
ref return static struct trait true type unsafe use where while
";

/// Members every type has (derived or blanket trait methods) that a type's own shape does not list.
const UNIVERSAL_MEMBERS: &str = "clone clone_from to_owned to_string into try_into as_ref as_mut borrow borrow_mut
eq ne cmp partial_cmp lt le gt ge max min clamp hash fmt default iter into_iter len is_empty";

/// The names a body may use: see the [module documentation](self).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identifiers {
    names: BTreeSet<String>,
    /// Per type name (the last path segment, no generics): its fields, variants, methods and associated items.
    members: BTreeMap<String, BTreeSet<String>>,
    universal: BTreeSet<String>,
}

impl Identifiers {
    /// The standard library's common names only.
    pub fn std() -> Identifiers {
        Identifiers {
            names: STD.split_whitespace().map(str::to_owned).collect(),
            members: BTreeMap::new(),
            universal: UNIVERSAL_MEMBERS.split_whitespace().map(str::to_owned).collect(),
        }
    }

    /// The standard library's names and what the set declares: functions and methods (with their parameters),
    /// types with their members, the modules its import rules name.
    pub fn from_set(set: &ConstraintSet) -> Identifiers {
        let mut ids = Identifiers::std();
        for c in set {
            match &c.rule {
                Rule::Signature(sig) => {
                    ids.names.insert(sig.name.clone());
                    if let Some(owner) = &sig.owner
                        && matches!(owner.kind, OwnerKind::Impl | OwnerKind::Trait)
                    {
                        ids.member(&owner.name, &sig.name);
                    }
                    for p in &sig.params {
                        ids.add_source(&p.name);
                        ids.add_source(&p.ty);
                    }
                    if let Some(r) = &sig.returns {
                        ids.add_source(r);
                    }
                }
                Rule::TypeShape(shape) => {
                    ids.add_source(&shape.name);
                    for m in &shape.members {
                        ids.names.insert(m.name.clone());
                        // Variants are reached by path (`Kind::A`), the rest by `.`; both count as the type's.
                        ids.member(&shape.name, &m.name);
                        if let Some(ty) = &m.ty {
                            ids.add_source(ty);
                        }
                    }
                    if let Some(t) = &shape.target {
                        ids.add_source(t);
                    }
                }
                Rule::ImportAllow { modules } | Rule::ImportForbid { modules } => {
                    for m in modules {
                        ids.add_source(m);
                    }
                }
                _ => {}
            }
        }
        ids
    }

    fn member(&mut self, ty: &str, name: &str) {
        let key = base_type(ty);
        if !key.is_empty() {
            self.members.entry(key).or_default().insert(name.to_owned());
        }
    }

    /// Adds every identifier of a piece of source (comments and string literals are skipped roughly: a name that
    /// only appears in them may be added, which loses nothing valid).
    pub fn add_source(&mut self, text: &str) {
        for word in words(text) {
            if !self.names.contains(word) {
                self.names.insert(word.to_owned());
            }
        }
    }

    /// Adds one name.
    pub fn add_name(&mut self, name: &str) {
        self.names.insert(name.to_owned());
    }

    /// Whether a name is known.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Whether a known name starts with `prefix`.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        has_prefix(&self.names, prefix)
    }

    /// How many names are known.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no name is known.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The members of a type the set describes (`None` when it does not), plus those every type has.
    pub(crate) fn members_of(&self, ty: &str) -> Option<impl Iterator<Item = &String>> {
        self.members.get(&base_type(ty)).map(|m| m.iter().chain(&self.universal))
    }
}

pub(crate) fn has_prefix(set: &BTreeSet<String>, prefix: &str) -> bool {
    set.range::<str, _>((std::ops::Bound::Included(prefix), std::ops::Bound::Unbounded))
        .next()
        .is_some_and(|n| n.starts_with(prefix))
}

/// The identifiers of a text, in order (starting with a letter or `_`).
pub(crate) fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.as_bytes().first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_'))
}

/// The type a written type names, for member lookup: references, `mut`, `dyn`/`impl`, lifetimes and generic
/// arguments stripped, the last path segment (`&mut crate::stock::Stock<'a>` → `Stock`).
pub(crate) fn base_type(ty: &str) -> String {
    let mut t = ty.trim();
    loop {
        let before = t;
        t = t.trim_start_matches('&').trim_start();
        if let Some(rest) = t.strip_prefix('\'') {
            t = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_').trim_start();
        }
        for kw in ["mut ", "dyn ", "impl "] {
            if let Some(rest) = t.strip_prefix(kw) {
                t = rest.trim_start();
            }
        }
        if t == before {
            break;
        }
    }
    let t = t.split('<').next().unwrap_or("");
    t.rsplit("::").next().unwrap_or("").trim().to_owned()
}

/// The parameters of a fn header: `(name, type)` for each simple binding (`x: T`, `mut x: T`; `self` forms as
/// `("self", "Self")`), and every identifier of the header (generics, types, names).
pub(crate) fn header_bindings(header: &str) -> Vec<(String, String)> {
    let Some(open) = header.find('(') else { return Vec::new() };
    let bytes = header.as_bytes();
    let mut depth = 0i32;
    let mut close = header.len();
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'(' | b'<' | b'[' => depth += 1,
            b')' | b'>' | b']' if !(b == b'>' && i > 0 && bytes[i - 1] == b'-') => {
                depth -= 1;
                if depth == 0 && b == b')' {
                    close = i;
                    break;
                }
            }
            _ => {}
        }
    }
    let params = &header[open + 1..close.min(header.len())];
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let pieces = {
        let mut v = Vec::new();
        for (i, c) in params.char_indices() {
            match c {
                '(' | '<' | '[' => depth += 1,
                ')' | '>' | ']' => depth -= 1,
                ',' if depth == 0 => {
                    v.push(&params[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        v.push(&params[start..]);
        v
    };
    for piece in pieces {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        if piece.trim_start_matches('&').trim_start_matches(|c: char| c == '\'' || c.is_ascii_alphanumeric()).is_empty()
            || piece.ends_with("self")
        {
            out.push(("self".to_owned(), "Self".to_owned()));
            continue;
        }
        if let Some((pat, ty)) = piece.split_once(':') {
            let pat = pat.trim().trim_start_matches("mut ").trim();
            if pat.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                out.push((pat.to_owned(), ty.trim().to_owned()));
            } else if pat == "self" {
                out.push(("self".to_owned(), ty.trim().to_owned()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_types_strip_references_generics_and_paths() {
        assert_eq!(base_type("&mut crate::stock::Stock<'a>"), "Stock");
        assert_eq!(base_type("&'a str"), "str");
        assert_eq!(base_type("impl Iterator<Item = u8>"), "Iterator");
        assert_eq!(base_type("Self"), "Self");
    }

    #[test]
    fn header_bindings_name_params_and_self() {
        let b = header_bindings("pub fn take<T: Into<u32>>(&mut self, sku: &str, mut units: T) -> Result<u32, E>");
        assert_eq!(
            b,
            vec![
                ("self".to_owned(), "Self".to_owned()),
                ("sku".to_owned(), "&str".to_owned()),
                ("units".to_owned(), "T".to_owned())
            ]
        );
        assert!(
            header_bindings("fn f((a, b): (u8, u8), c: Vec<(u8, u8)>)").contains(&("c".into(), "Vec<(u8, u8)>".into()))
        );
    }

    #[test]
    fn prefixes_are_found_in_order() {
        let ids = Identifiers::std();
        assert!(ids.has_prefix("saturating_s"));
        assert!(!ids.has_prefix("saturating_t"));
        assert!(ids.has_prefix("mat"), "keywords are known prefixes");
    }
}
