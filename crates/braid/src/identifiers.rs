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

use ananke_core::{ConstraintSet, MemberKind, OwnerKind, Rule, TypeShapeKind};

/// Argument counts of std's common constructors called by path (`String::new(x)` is refused, E0061).
const STD_ARITIES: &[(&str, &str, usize)] = &[
    ("String", "new", 0),
    ("String", "with_capacity", 1),
    ("String", "from_utf8", 1),
    ("String", "from_utf8_lossy", 1),
    ("Vec", "new", 0),
    ("Vec", "with_capacity", 1),
    ("HashMap", "new", 0),
    ("HashMap", "with_capacity", 1),
    ("HashSet", "new", 0),
    ("BTreeMap", "new", 0),
    ("BTreeSet", "new", 0),
    ("VecDeque", "new", 0),
    ("Box", "new", 1),
    ("Rc", "new", 1),
    ("Arc", "new", 1),
    ("Cell", "new", 1),
    ("RefCell", "new", 1),
    ("Mutex", "new", 1),
    ("PathBuf", "new", 0),
];

/// The names of the prelude that come from `alloc`: a `#![no_std]` crate's prelude (core's) lacks them.
const ALLOC_PRELUDE: &[&str] = &["String", "Vec", "Box", "ToString", "ToOwned"];

/// The capitalized names of Rust's prelude (2021): in scope everywhere without a `use`.
const PRELUDE: &str = "Option Some None Result Ok Err String Vec Box ToString ToOwned Clone Copy Default Iterator
IntoIterator DoubleEndedIterator ExactSizeIterator Extend FromIterator From Into TryFrom TryInto AsRef AsMut Drop Fn
FnMut FnOnce PartialEq Eq PartialOrd Ord Send Sync Sized Unpin Self";

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

/// The lower-case names of [`STD`] that may start a value: keywords (a keyword being typed is a known prefix),
/// modules (paths start with them), macros; the functions are [`STD_FUNCTIONS`]. Methods are not values.
const STD_VALUES: &str = "
std core alloc self super crate
collections fmt io fs mem ptr cmp ops iter slice string vec hash num convert borrow sync cell rc time thread process
env path ffi marker any error char str bool u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize f32 f64
println print eprintln eprint format format_args write writeln vec assert assert_eq assert_ne debug_assert
debug_assert_eq debug_assert_ne matches dbg concat line column file stringify panic todo unimplemented unreachable
cfg env include_str include_bytes
as async await break const continue dyn else enum extern false fn for if impl in let loop match mod move mut pub
ref return static struct trait true type unsafe use where while
";

/// The macros of [`STD`]: called with `!`, never as functions.
const STD_MACROS: &str = "println print eprintln eprint format format_args write writeln vec assert assert_eq
assert_ne debug_assert debug_assert_eq debug_assert_ne matches dbg concat line column file stringify panic todo
unimplemented unreachable cfg env include_str include_bytes";

/// Traits of std a body names: only ever before `::` (`Default::default()`), never a value or a function.
const STD_TRAITS: &str = "Clone Copy Debug Display Default Iterator IntoIterator DoubleEndedIterator ExactSizeIterator
Extend FromIterator From Into TryFrom TryInto AsRef AsMut Borrow BorrowMut Deref DerefMut Drop Fn FnMut FnOnce PartialEq
Eq PartialOrd Ord Hash Hasher Send Sync Sized ToString ToOwned FromStr Error Read Write BufRead Seek Sum Product Any
Future";

/// Associated functions a type commonly gets from derives and std traits, reached by path (`T::from(x)`).
const ASSOCIATED: &str = "from try_from from_str from_iter default new clone eq cmp partial_cmp hash fmt";

/// Members every type has (derived or blanket trait methods) that a type's own shape does not list.
const UNIVERSAL_MEMBERS: &str = "clone clone_from to_owned to_string into try_into as_ref as_mut borrow borrow_mut
eq ne cmp partial_cmp lt le gt ge max min clamp hash fmt default iter into_iter len is_empty";

/// The methods of the standard library's common types, by [`std_key`]: what `x.` may name when `x` has one of
/// these types (with [`UNIVERSAL_MEMBERS`], what `Deref` adds, see [`STD_DEREF`], and the methods of the set's
/// traits). Generous on purpose: a method left out here is one the body cannot call.
const STD_MEMBERS: &[(&str, &str)] = &[
    (
        "str",
        "len is_empty as_bytes as_bytes_mut as_ptr as_mut_ptr as_str bytes chars char_indices lines split
        split_whitespace split_ascii_whitespace split_terminator split_inclusive rsplit rsplit_terminator splitn
        rsplitn split_once rsplit_once split_at split_at_mut split_at_checked matches rmatches match_indices
        rmatch_indices find rfind contains starts_with ends_with strip_prefix strip_suffix trim trim_start trim_end
        trim_matches trim_start_matches trim_end_matches trim_left trim_right trim_left_matches trim_right_matches
        trim_ascii trim_ascii_start trim_ascii_end parse to_lowercase to_uppercase to_ascii_lowercase
        to_ascii_uppercase make_ascii_lowercase make_ascii_uppercase eq_ignore_ascii_case is_ascii is_char_boundary
        floor_char_boundary ceil_char_boundary replace replacen repeat get get_mut get_unchecked encode_utf16
        escape_debug escape_default escape_unicode into_string into_boxed_str into_boxed_bytes",
    ),
    (
        "String",
        "new with_capacity capacity push push_str pop insert insert_str remove retain truncate clear drain reserve
        reserve_exact shrink_to_fit shrink_to as_str as_mut_str into_bytes into_boxed_str as_mut_vec split_off extend
        extend_from_within from_utf8 from_utf8_lossy write_str write_fmt write_char replace_range leak",
    ),
    (
        "slice",
        "len is_empty first first_mut last last_mut get get_mut get_unchecked get_unchecked_mut iter iter_mut windows
        chunks chunks_exact chunks_mut chunks_exact_mut rchunks rchunks_exact chunk_by split split_mut splitn rsplit
        rsplitn split_first split_last split_first_mut split_last_mut split_at split_at_mut split_at_checked
        first_chunk last_chunk split_first_chunk split_last_chunk contains starts_with ends_with strip_prefix
        strip_suffix binary_search binary_search_by binary_search_by_key partition_point sort sort_by sort_by_key
        sort_by_cached_key sort_unstable sort_unstable_by sort_unstable_by_key select_nth_unstable is_sorted
        is_sorted_by is_sorted_by_key reverse swap to_vec into_vec concat join copy_from_slice clone_from_slice
        copy_within fill fill_with rotate_left rotate_right as_ptr as_mut_ptr repeat escape_ascii is_ascii
        to_ascii_lowercase to_ascii_uppercase eq_ignore_ascii_case make_ascii_lowercase make_ascii_uppercase
        trim_ascii trim_ascii_start trim_ascii_end utf8_chunks read read_exact read_to_end read_to_string map
        each_ref each_mut as_slice as_mut_slice",
    ),
    (
        "Vec",
        "new with_capacity capacity push pop pop_if insert remove swap_remove truncate clear drain retain retain_mut
        dedup dedup_by dedup_by_key extend extend_from_slice extend_from_within append split_off resize resize_with
        reserve reserve_exact shrink_to_fit shrink_to as_slice as_mut_slice into_boxed_slice leak splice write
        write_all write_fmt flush spare_capacity_mut",
    ),
    (
        "VecDeque",
        "new with_capacity capacity push_back push_front pop_back pop_front front back front_mut back_mut insert
        remove swap truncate clear drain retain extend append split_off resize make_contiguous as_slices rotate_left
        rotate_right range contains get get_mut iter iter_mut len is_empty",
    ),
    (
        "Option",
        "is_some is_none is_some_and is_none_or as_ref as_mut as_deref as_deref_mut as_slice map map_or map_or_else
        ok_or ok_or_else and and_then or or_else xor filter take take_if replace insert get_or_insert
        get_or_insert_with unwrap unwrap_or unwrap_or_else unwrap_or_default expect unwrap_unchecked zip unzip copied
        cloned flatten iter iter_mut transpose inspect",
    ),
    (
        "Result",
        "is_ok is_err is_ok_and is_err_and ok err as_ref as_mut as_deref as_deref_mut map map_err map_or map_or_else
        and and_then or or_else unwrap unwrap_or unwrap_or_else unwrap_or_default expect expect_err unwrap_err copied
        cloned flatten iter iter_mut transpose inspect inspect_err",
    ),
    (
        "int",
        "checked_add checked_sub checked_mul checked_div checked_rem checked_neg checked_shl checked_shr checked_pow
        checked_abs checked_div_euclid checked_rem_euclid checked_next_power_of_two checked_ilog2 checked_ilog10
        checked_add_signed checked_sub_unsigned saturating_add saturating_sub saturating_mul saturating_div
        saturating_pow saturating_neg saturating_abs saturating_add_signed wrapping_add wrapping_sub wrapping_mul
        wrapping_div wrapping_rem wrapping_neg wrapping_shl wrapping_shr wrapping_pow wrapping_abs wrapping_add_signed
        overflowing_add overflowing_sub overflowing_mul overflowing_neg overflowing_shl overflowing_shr
        overflowing_pow pow abs signum is_positive is_negative rem_euclid div_euclid div_ceil next_multiple_of
        abs_diff unsigned_abs leading_zeros trailing_zeros leading_ones trailing_ones count_ones count_zeros
        rotate_left rotate_right swap_bytes reverse_bits to_be to_le to_be_bytes to_le_bytes to_ne_bytes
        is_power_of_two next_power_of_two ilog ilog2 ilog10 isqrt midpoint cast_signed cast_unsigned is_ascii
        is_ascii_digit is_ascii_alphabetic is_ascii_alphanumeric is_ascii_uppercase is_ascii_lowercase
        is_ascii_whitespace is_ascii_punctuation is_ascii_hexdigit is_ascii_graphic is_ascii_control
        to_ascii_lowercase to_ascii_uppercase eq_ignore_ascii_case make_ascii_lowercase make_ascii_uppercase
        escape_ascii as_ascii",
    ),
    (
        "float",
        "abs signum floor ceil round round_ties_even trunc fract sqrt cbrt powi powf exp exp2 exp_m1 ln ln_1p log
        log2 log10 sin cos tan asin acos atan atan2 sin_cos sinh cosh tanh asinh acosh atanh hypot mul_add is_nan
        is_infinite is_finite is_normal is_subnormal is_sign_positive is_sign_negative to_bits to_degrees to_radians
        recip copysign total_cmp rem_euclid div_euclid classify to_be_bytes to_le_bytes to_ne_bytes",
    ),
    (
        "char",
        "is_alphabetic is_alphanumeric is_numeric is_whitespace is_uppercase is_lowercase is_control is_digit
        to_digit is_ascii is_ascii_digit is_ascii_alphabetic is_ascii_alphanumeric is_ascii_uppercase
        is_ascii_lowercase is_ascii_whitespace is_ascii_punctuation is_ascii_hexdigit is_ascii_graphic
        is_ascii_control to_ascii_lowercase to_ascii_uppercase to_lowercase to_uppercase eq_ignore_ascii_case
        make_ascii_lowercase make_ascii_uppercase len_utf8 len_utf16 encode_utf8 encode_utf16 escape_debug
        escape_default escape_unicode",
    ),
    ("bool", "then then_some"),
    (
        "Iterator",
        "next size_hint count last nth step_by chain zip map for_each filter filter_map enumerate peekable skip_while
        take_while map_while skip take scan flat_map flatten fuse inspect by_ref collect partition fold try_fold
        try_for_each reduce all any find find_map position rposition max min max_by_key max_by min_by_key min_by rev
        unzip copied cloned cycle sum product is_sorted next_back rfind rfold nth_back peek next_if next_if_eq",
    ),
    (
        "Formatter",
        "write_str write_fmt write_char pad pad_integral debug_struct debug_tuple debug_list debug_set debug_map
        alternate width precision fill align sign_plus sign_minus sign_aware_zero_pad",
    ),
    (
        "Path",
        "join parent file_name file_stem extension exists is_file is_dir is_symlink is_absolute is_relative to_str
        to_string_lossy to_path_buf components iter display starts_with ends_with with_extension with_file_name
        strip_prefix metadata symlink_metadata canonicalize read_dir read_link as_os_str has_root ancestors
        into_path_buf try_exists",
    ),
    ("PathBuf", "push pop set_extension set_file_name as_path into_os_string into_boxed_path capacity clear"),
    (
        "OsStr",
        "to_str to_string_lossy to_os_string len is_empty as_encoded_bytes to_ascii_lowercase to_ascii_uppercase
        eq_ignore_ascii_case is_ascii display",
    ),
    ("OsString", "push into_string as_os_str capacity clear reserve into_encoded_bytes"),
    (
        "map",
        "new with_capacity insert get get_mut remove remove_entry contains_key entry keys values values_mut iter
        iter_mut len is_empty clear drain retain extend into_keys into_values get_key_value reserve capacity
        first_key_value last_key_value pop_first pop_last range range_mut append split_off try_insert",
    ),
    (
        "set",
        "new with_capacity insert contains remove get take len is_empty iter clear drain retain union intersection
        difference symmetric_difference is_subset is_superset is_disjoint extend replace first last pop_first
        pop_last range append split_off reserve capacity",
    ),
];

/// Types whose values also have another type's methods (by `Deref` or unsizing), by [`std_key`].
const STD_DEREF: &[(&str, &str)] =
    &[("String", "str"), ("Vec", "slice"), ("PathBuf", "Path"), ("OsString", "OsStr"), ("array", "slice")];

/// Functions callable by a bare name without an import: the prelude's (`drop`) and what a body commonly
/// brings in with `use` from std (`min`, `max`, `swap`, `replace`, `take`, `size_of`, `from_fn`...).
const STD_FUNCTIONS: &[&str] = &[
    "drop",
    "min",
    "max",
    "swap",
    "replace",
    "take",
    "size_of",
    "size_of_val",
    "align_of",
    "forget",
    "from_fn",
    "once",
    "repeat",
    "repeat_with",
    "empty",
    "successors",
    "zip",
    "from_utf8",
    "from_u32",
    "from_digit",
    "spawn",
    "sleep",
    "args",
    "var",
    "exit",
    "channel",
    "identity",
    "null",
    "null_mut",
];

/// Every name the standard library lists here have (functions, methods, items): calls of these are not judged
/// by arity.
fn std_names() -> &'static BTreeSet<&'static str> {
    static NAMES: std::sync::OnceLock<BTreeSet<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut set: BTreeSet<&'static str> = STD.split_whitespace().collect();
        set.extend(UNIVERSAL_MEMBERS.split_whitespace());
        for (_, list) in STD_MEMBERS {
            set.extend(list.split_whitespace());
        }
        set.extend(STD_FUNCTIONS.iter().copied());
        set
    })
}

/// Whether a fn header declares a value to return (a return type other than `()` and `!`).
pub(crate) fn returns_value(header: &str) -> bool {
    return_type(header).is_some_and(|ty| !(ty.is_empty() || ty == "()" || ty == "!"))
}

/// The return type a fn header writes after its parameters' `->` (a `where` clause left out), `""` when it
/// writes none; `None` when the header has no parameter list.
pub(crate) fn return_type(header: &str) -> Option<&str> {
    // The parameters' closing parenthesis matches the first `(` after the name and generics (a `->` in an `Fn`
    // bound, among the generics or the parameters, is no arrow; one in the return type is not reached).
    let name_at = header.find("fn ").map_or(0, |i| i + 3);
    let b = header.as_bytes();
    let mut i = name_at;
    let mut angle = 0i32;
    while i < b.len() {
        match b[i] {
            b'<' => angle += 1,
            b'>' if i > 0 && b[i - 1] != b'-' => angle -= 1,
            b'(' if angle <= 0 => break,
            _ => {}
        }
        i += 1;
    }
    let mut depth = 0i32;
    let close = (i..b.len()).find(|&j| {
        match b[j] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ => {}
        }
        depth == 0
    })?;
    let rest = header[close + 1..].trim_start();
    let Some(ty) = rest.strip_prefix("->") else { return Some("") };
    Some(ty.split(" where ").next().unwrap_or("").trim())
}

/// Why a complete fn body (`{ ... }`) of a function that returns a value has none: nothing but comments, or a
/// last statement ended by `;` while none of the body's own statements may diverge. Rust gives such a block the
/// type `()` (E0308): a `return` nested in an `if` without `else` does not change that (`if a { return b; } c;`).
/// A statement may diverge when it starts with `return`, `loop`, `panic!` and the like, a macro that is not one of
/// std's plain ones, or `exit(`; or is an `if` with an `else`, a `match` or a block holding any diverging word.
/// `None` when it may have a value.
pub(crate) fn missing_value(body: &str) -> Option<String> {
    let code = strip_comments(body);
    let inner = code.trim();
    let inner = inner.strip_prefix('{').unwrap_or(inner);
    let inner = inner.strip_suffix('}').unwrap_or(inner).trim();
    if inner.is_empty() {
        return Some("the function returns a value: the body cannot be empty".into());
    }
    let statements = top_statements(inner);
    if inner.ends_with(';') && !statements.iter().any(|s| may_diverge(s)) {
        return Some(
            "the function returns a value: end the body with it (no `;` after the last expression) or `return` it"
                .into(),
        );
    }
    if statements.last().is_some_and(|last| !last.ends_with([';', '}']) && is_assignment(last)) {
        return Some(
            "the function returns a value: an assignment has none (its type is `()`); end the body with it".into(),
        );
    }
    None
}

/// Whether an expression statement is an assignment (`a = b`, `a |= b`, `a <<= b`): an `=` at its top level
/// (string and char literals skipped) that is no comparison (`==`, `!=`, `<=`, `>=`), arm (`=>`) or range
/// (`..=`). A closure (`|a| a = 1`) is none.
fn is_assignment(stmt: &str) -> bool {
    let b = stmt.as_bytes();
    if stmt.starts_with('|') || leading_word(stmt) == "move" {
        return false;
    }
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' if let Some(end) = literal_end(b, i) => i = end,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'=' if depth == 0 => {
                let next = b.get(i + 1).copied();
                let prev = i.checked_sub(1).map(|j| b[j]);
                let shift = i >= 2 && matches!(&b[i - 2..i], b"<<" | b">>");
                let compares = matches!(prev, Some(b'=' | b'!' | b'<' | b'>' | b'.')) && !shift;
                if !compares && !matches!(next, Some(b'=' | b'>')) {
                    return true;
                }
                if next == Some(b'=') || next == Some(b'>') {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Where the string or char literal starting at `b[i]` (its opening quote) ends: the index of its closing quote
/// (the end of the text when unclosed). `None` when `b[i]` starts none (a lifetime's `'a`).
fn literal_end(b: &[u8], i: usize) -> Option<usize> {
    let (quote, mut j) = match b[i] {
        b'"' => (b'"', i + 1),
        // `'\''`, `'\n'`, `'\u{41}'`: the escaped character is skipped.
        b'\'' if b.get(i + 1) == Some(&b'\\') => (b'\'', i + 3),
        b'\'' if b.get(i + 2) == Some(&b'\'') => (b'\'', i + 2),
        _ => return None,
    };
    while j < b.len() && b[j] != quote {
        j += if quote == b'"' && b[j] == b'\\' { 2 } else { 1 };
    }
    Some(j.min(b.len()))
}

/// The expression a complete fn body (`{ ... }`) ends with, comments stripped: its last statement when no `;`
/// ends it.
pub(crate) fn tail_expression(body: &str) -> Option<String> {
    let code = strip_comments(body);
    let inner = code.trim();
    let inner = inner.strip_prefix('{').unwrap_or(inner);
    let inner = inner.strip_suffix('}').unwrap_or(inner).trim();
    let last = top_statements(inner).pop()?;
    (!last.ends_with(';') && !last.ends_with('}')).then(|| last.to_owned())
}

/// The statements of a block's inside (comments stripped), split where `;` or the `}` of a block-like statement
/// (`if`, `match`, loops, blocks) ends them at the top level; string and char literals skipped.
fn top_statements(inner: &str) -> Vec<&str> {
    let b = inner.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut start, mut i) = (0i32, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' if let Some(end) = literal_end(b, i) => i = end,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' => depth -= 1,
            b'}' => {
                depth -= 1;
                let stmt = inner[start..=i].trim();
                let next = inner[i + 1..].trim_start();
                let block_like = matches!(leading_word(stmt), "if" | "match" | "loop" | "while" | "for" | "unsafe")
                    || stmt.starts_with('{');
                let goes_on = next.starts_with("else") || next.starts_with(['.', '?']);
                if depth == 0 && block_like && !goes_on {
                    out.push(stmt);
                    start = i + 1;
                }
            }
            b';' if depth == 0 => {
                out.push(inner[start..=i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let rest = inner[start.min(inner.len())..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// The first word of a statement.
fn leading_word(stmt: &str) -> &str {
    let end = stmt.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(stmt.len());
    &stmt[..end]
}

/// Whether a statement of a block (see [`top_statements`]) may diverge, making the block's type `!`.
fn may_diverge(stmt: &str) -> bool {
    const PLAIN_MACROS: &[&str] = &[
        "println",
        "print",
        "eprintln",
        "eprint",
        "format",
        "write",
        "writeln",
        "assert",
        "assert_eq",
        "assert_ne",
        "debug_assert",
        "debug_assert_eq",
        "debug_assert_ne",
        "vec",
        "dbg",
        "format_args",
        "matches",
    ];
    let diverging_word = |w: &str| matches!(w, "return" | "loop" | "break" | "continue");
    let diverging_macro =
        |t: &str| ["panic!", "unreachable!", "todo!", "unimplemented!", "exit("].iter().any(|d| t.contains(d));
    let first = leading_word(stmt);
    if diverging_word(first) || diverging_macro(stmt) {
        return true;
    }
    if stmt[first.len()..].trim_start().starts_with('!') && !PLAIN_MACROS.contains(&first) {
        return true;
    }
    let whole = |s: &str| words(s).any(diverging_word) || diverging_macro(s) || s.contains('!');
    match first {
        "if" => words(stmt).any(|w| w == "else") && whole(stmt),
        "match" | "unsafe" => whole(stmt),
        _ => stmt.starts_with('{') && whole(stmt),
    }
}

/// The text without its `//` and `/* */` comments (string literals kept, so a `//` in one is not a comment).
pub(crate) fn strip_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                out.extend_from_slice(&b[start..i]);
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The primitive types: a type, never a value (`u8::MAX` is a path; `u8 + 1` is wrong).
pub(crate) fn is_primitive_type(name: &str) -> bool {
    matches!(
        name,
        "u8" | "u16"
            | "u32"
            | "u64"
            | "u128"
            | "usize"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "i128"
            | "isize"
            | "f32"
            | "f64"
            | "bool"
            | "char"
            | "str"
    )
}

/// Lower-case names of std besides [`is_std_module`]'s and the primitive types that start paths in bodies.
const STD_PATH_STARTS: &[&str] = &[
    "self", "iter", "slice", "string", "vec", "hash", "num", "borrow", "sync", "cell", "rc", "time", "thread",
    "process", "env", "path", "ffi", "any", "error", "char", "str",
];

/// Modules of std (and the crate roots) that are only ever a path's first segment in a body.
pub(crate) fn is_std_module(name: &str) -> bool {
    matches!(
        name,
        "std"
            | "core"
            | "alloc"
            | "mem"
            | "ptr"
            | "fmt"
            | "io"
            | "fs"
            | "collections"
            | "cmp"
            | "ops"
            | "convert"
            | "marker"
            | "crate"
            | "super"
    )
}

/// The generic type parameters of a fn header (`fn f<'a, T: Into<u8>, const N: usize>` → `T`).
pub(crate) fn header_generics(header: &str) -> Vec<String> {
    let Some(paren) = header.find('(') else { return Vec::new() };
    let Some(open) = header[..paren].find('<') else { return Vec::new() };
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = open + 1;
    let mut pieces = Vec::new();
    for (i, c) in header[..paren].char_indices().skip_while(|(i, _)| *i <= open) {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' if depth > 0 => depth -= 1,
            ',' if depth == 0 => {
                pieces.push(&header[start..i]);
                start = i + 1;
            }
            '>' => {
                pieces.push(&header[start..i]);
                break;
            }
            _ => {}
        }
    }
    for piece in pieces {
        let piece = piece.trim();
        if piece.starts_with('\'') || piece.starts_with("const ") {
            continue;
        }
        let name: String = piece.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

/// The member lists of [`STD_MEMBERS`] a standard type's values have: its own and, by [`STD_DEREF`], those of
/// what it derefs to.
fn std_member_lists(key: &str) -> impl Iterator<Item = &'static str> + '_ {
    let derefs = STD_DEREF.iter().filter(move |(from, _)| *from == key).map(|(_, to)| *to);
    STD_MEMBERS.iter().filter(move |(t, _)| *t == key || derefs.clone().any(|to| to == *t)).map(|(_, list)| *list)
}

/// The key of [`STD_MEMBERS`] for a type's base name ([`base_type`]), if it is one of the standard types there.
fn std_key(base: &str) -> Option<&'static str> {
    Some(match base {
        b if b.starts_with('[') => {
            if b.contains(';') {
                "array"
            } else {
                "slice"
            }
        }
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "int",
        "f32" | "f64" => "float",
        "HashMap" | "BTreeMap" => "map",
        "HashSet" | "BTreeSet" => "set",
        "Peekable"
        | "Chars"
        | "Bytes"
        | "CharIndices"
        | "Lines"
        | "Split"
        | "SplitWhitespace"
        | "Iter"
        | "IterMut"
        | "IntoIter"
        | "Rev"
        | "Enumerate"
        | "DoubleEndedIterator"
        | "ExactSizeIterator" => "Iterator",
        other => STD_MEMBERS.iter().map(|(k, _)| *k).find(|k| *k == other)?,
    })
}

/// The names a body may use: see the [module documentation](self).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identifiers {
    names: BTreeSet<String>,
    /// The lower-case names that may start a value outside the body's own bindings: std's, the set's free
    /// functions, and the source's items (`fn`, `mod`, `const`, `static`, macro and crate names, what `use`
    /// imports, path starts). Another function's locals and parameters are names, not values here.
    values: BTreeSet<String>,
    /// The values the set and the source declare (not std's): what `self::`, `crate::` and `super::` may name.
    items: BTreeSet<String>,
    /// Per type name (the last path segment, no generics): its fields, variants, methods and associated items.
    members: BTreeMap<String, BTreeSet<String>>,
    /// Per type name, its named fields' types as written.
    fields: BTreeMap<String, BTreeMap<String, String>>,
    /// Per type name, the methods and associated functions the set declares for it.
    type_methods: BTreeMap<String, BTreeSet<String>>,
    /// The methods the set's traits declare: any type may implement them (blanket impls included).
    trait_methods: BTreeSet<String>,
    /// Functions the set declares outside impls and traits.
    free_functions: BTreeSet<String>,
    /// Macros the sources define (`macro_rules! name`).
    source_macros: BTreeSet<String>,
    /// Traits: std's and those the set declares (a trait is never a value).
    traits: BTreeSet<String>,
    /// Lower-case names that may start a path (`name::`): std's modules and primitive types, crate roots, and
    /// what the source uses so (before `::`, after `mod`, `use` or `extern crate`).
    path_starts: BTreeSet<String>,
    /// Methods and associated functions the set declares (in impls and traits).
    methods: BTreeSet<String>,
    /// Per function name, the argument counts its declarations take when called with `.` (methods, `self` not
    /// counted) and by path or bare name (every parameter counted).
    dot_arities: BTreeMap<String, BTreeSet<usize>>,
    path_arities: BTreeMap<String, BTreeSet<usize>>,
    /// Per function name and whether it is called with `.`: the parameter types its declarations write (`self`
    /// left out of a `.` call's), `None` where two declarations disagree.
    param_types: BTreeMap<(bool, String), Option<Vec<String>>>,
    /// Per type name and function the set declares in the type's impls: the argument counts a path call
    /// (`Type::f(..)`, `self` counted) takes. Judged even where the name is also std's (`new`, `from`).
    owned_arities: BTreeMap<(String, String), BTreeSet<usize>>,
    /// Per type name and method the set declares in the type's impls: its return type as written (`None` where
    /// two declarations disagree); what `x.f().` is a member of.
    returns: BTreeMap<(String, String), Option<String>>,
    universal: BTreeSet<String>,
    /// The capitalized names the set and the source write (declared, imported or used anywhere): a std type
    /// outside the prelude is in scope only where the crate names it (`use std::collections::HashMap`).
    project: BTreeSet<String>,
    /// The traits the set declares.
    set_traits: BTreeSet<String>,
    /// The structs, enums and unions the set declares (no alias of the same name).
    nominal: BTreeSet<String>,
    /// Every word of the file the body goes into ([`Identifiers::set_file`]), when it has no glob import: what
    /// may be in scope there.
    file: Option<BTreeSet<String>>,
    /// A source declares the crate `#![no_std]` (unconditionally): `String`, `Vec`, `Box`, `ToString`,
    /// `ToOwned`, `format!` and `vec!` need an import, and `std::` needs an `extern crate std`.
    no_std: bool,
    /// A source writes `extern crate std`.
    extern_std: bool,
    /// Whether a source was added ([`Identifiers::add_source`]): only then does what the project writes tell what
    /// is in scope.
    scoped: bool,
}

impl Identifiers {
    /// The standard library's common names only.
    pub fn std() -> Identifiers {
        Identifiers {
            names: STD.split_whitespace().map(str::to_owned).collect(),
            values: STD_VALUES.split_whitespace().chain(STD_FUNCTIONS.iter().copied()).map(str::to_owned).collect(),
            items: BTreeSet::new(),
            members: BTreeMap::new(),
            fields: BTreeMap::new(),
            type_methods: BTreeMap::new(),
            trait_methods: BTreeSet::new(),
            free_functions: BTreeSet::new(),
            source_macros: BTreeSet::new(),
            traits: STD_TRAITS.split_whitespace().map(str::to_owned).collect(),
            path_starts: STD_VALUES
                .split_whitespace()
                .filter(|w| is_std_module(w) || is_primitive_type(w) || STD_PATH_STARTS.contains(w))
                .map(str::to_owned)
                .collect(),
            methods: BTreeSet::new(),
            dot_arities: BTreeMap::new(),
            path_arities: BTreeMap::new(),
            param_types: BTreeMap::new(),
            owned_arities: STD_ARITIES
                .iter()
                .map(|&(ty, f, n)| ((ty.to_owned(), f.to_owned()), BTreeSet::from([n])))
                .collect(),
            returns: BTreeMap::new(),
            universal: UNIVERSAL_MEMBERS.split_whitespace().map(str::to_owned).collect(),
            project: BTreeSet::new(),
            set_traits: BTreeSet::new(),
            nominal: BTreeSet::new(),
            file: None,
            no_std: false,
            extern_std: false,
            scoped: false,
        }
    }

    /// The standard library's names and what the set declares: functions and methods (with their parameters),
    /// types with their members, the modules its import rules name.
    pub fn from_set(set: &ConstraintSet) -> Identifiers {
        let mut ids = Identifiers::std();
        let mut aliases = Vec::new();
        for c in set {
            match &c.rule {
                Rule::Signature(sig) => {
                    ids.add_name_only(&sig.name);
                    let n = sig.params.len();
                    ids.path_arities.entry(sig.name.clone()).or_default().insert(n);
                    let has_self = sig.params.first().is_some_and(|p| p.name == "self");
                    if has_self {
                        ids.dot_arities.entry(sig.name.clone()).or_default().insert(n - 1);
                    }
                    let calls = [(true, usize::from(has_self)), (false, 0)];
                    for (dot, skip) in calls.into_iter().filter(|(dot, _)| has_self || !dot) {
                        let types: Vec<String> = sig.params[skip..].iter().map(|p| p.ty.trim().to_owned()).collect();
                        ids.param_types
                            .entry((dot, sig.name.clone()))
                            .and_modify(|known| {
                                if known.as_ref() != Some(&types) {
                                    *known = None;
                                }
                            })
                            .or_insert(Some(types));
                    }
                    match &sig.owner {
                        Some(owner) if matches!(owner.kind, OwnerKind::Impl | OwnerKind::Trait) => {
                            ids.methods.insert(sig.name.clone());
                        }
                        _ => {
                            ids.free_functions.insert(sig.name.clone());
                            ids.values.insert(sig.name.clone());
                            ids.items.insert(sig.name.clone());
                        }
                    }
                    if let Some(owner) = &sig.owner
                        && matches!(owner.kind, OwnerKind::Impl | OwnerKind::Trait)
                    {
                        ids.member(&owner.name, &sig.name);
                        ids.type_methods.entry(base_type(&owner.name)).or_default().insert(sig.name.clone());
                        if owner.kind == OwnerKind::Impl {
                            ids.owned_arities.entry((base_type(&owner.name), sig.name.clone())).or_default().insert(n);
                            let ret = sig.returns.as_deref().map_or("()", str::trim).to_owned();
                            ids.returns
                                .entry((base_type(&owner.name), sig.name.clone()))
                                .and_modify(|known| {
                                    if known.as_ref() != Some(&ret) {
                                        *known = None;
                                    }
                                })
                                .or_insert(Some(ret));
                        }
                        if owner.kind == OwnerKind::Trait {
                            ids.trait_methods.insert(sig.name.clone());
                        }
                    }
                    for p in &sig.params {
                        ids.add_text(&p.name);
                        ids.add_text(&p.ty);
                    }
                    if let Some(r) = &sig.returns {
                        ids.add_text(r);
                    }
                }
                Rule::TypeShape(shape) => {
                    ids.add_text(&shape.name);
                    match shape.kind {
                        TypeShapeKind::Trait => {
                            ids.traits.insert(base_type(&shape.name));
                            ids.set_traits.insert(base_type(&shape.name));
                        }
                        TypeShapeKind::Struct | TypeShapeKind::Enum | TypeShapeKind::Union => {
                            ids.nominal.insert(base_type(&shape.name));
                        }
                        TypeShapeKind::Alias => aliases.push(base_type(&shape.name)),
                        _ => {}
                    }
                    for m in &shape.members {
                        ids.add_name_only(&m.name);
                        // Variants are reached by path (`Kind::A`), the rest by `.`; both count as the type's.
                        ids.member(&shape.name, &m.name);
                        if let Some(ty) = &m.ty {
                            ids.add_text(ty);
                            if m.kind == MemberKind::Field {
                                ids.fields
                                    .entry(base_type(&shape.name))
                                    .or_default()
                                    .insert(m.name.clone(), ty.clone());
                            }
                        }
                        if m.kind == MemberKind::Method {
                            ids.type_methods.entry(base_type(&shape.name)).or_default().insert(m.name.clone());
                        }
                        if m.kind == MemberKind::Method && shape.kind == TypeShapeKind::Trait {
                            ids.trait_methods.insert(m.name.clone());
                        }
                    }
                    if let Some(t) = &shape.target {
                        ids.add_text(t);
                    }
                }
                Rule::ImportAllow { modules } | Rule::ImportForbid { modules } => {
                    for m in modules {
                        for w in words(m) {
                            ids.add_name(w);
                        }
                    }
                }
                _ => {}
            }
        }
        for alias in aliases {
            ids.nominal.remove(&alias);
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
    /// only appears in them may be added, which loses nothing valid); those that name an item (after `fn`, `mod`,
    /// `const`, `static`, `crate`, `macro_rules!`; in a `use`; before `::` or a macro's `!`) may start a value.
    pub fn add_source(&mut self, text: &str) {
        self.scoped = true;
        for line in text.lines() {
            let l = line.trim_start();
            self.no_std |= l.starts_with("#![no_std]");
            self.extern_std |= l.starts_with("extern crate std") || l.contains("] extern crate std");
        }
        self.add_text(text);
    }

    /// [`Identifiers::add_source`] for the set's own texts (types, parameters): they show no imports.
    fn add_text(&mut self, text: &str) {
        for word in words(text) {
            self.add_name_only(word);
        }
        for (at, _) in text.match_indices("macro_rules!") {
            let rest = text[at + "macro_rules!".len()..].trim_start();
            let name = &rest[..rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())];
            if !name.is_empty() {
                self.source_macros.insert(name.to_owned());
            }
        }
        for word in item_words(text) {
            if !self.values.contains(word) {
                self.values.insert(word.to_owned());
            }
            if !self.items.contains(word) {
                self.items.insert(word.to_owned());
            }
        }
        for word in path_start_words(text) {
            if !self.path_starts.contains(word) {
                self.path_starts.insert(word.to_owned());
            }
        }
    }

    /// Adds one name (one that may also start a value or a path).
    pub fn add_name(&mut self, name: &str) {
        self.add_name_only(name);
        self.values.insert(name.to_owned());
        self.items.insert(name.to_owned());
        self.path_starts.insert(name.to_owned());
    }

    /// A name the project writes (a name only: no value nor path start).
    fn add_name_only(&mut self, name: &str) {
        if !self.names.contains(name) {
            self.names.insert(name.to_owned());
        }
        if name.starts_with(|c: char| c.is_ascii_uppercase()) && !self.project.contains(name) {
            self.project.insert(name.to_owned());
        }
    }

    /// The file the body goes into: an item the set declares elsewhere (a free function, a struct, an enum, a
    /// trait) that this file never writes is not in scope in it (no `use` names it), nor is a std name outside
    /// the prelude the file never writes (its comments do not count). A file with a glob import (`use super::*`
    /// at its top level, `use crate::x::*`) tells nothing.
    pub fn set_file(&mut self, text: &str) {
        // An inline module's `use super::*;` (indented: a `mod tests`) brings this file's own items.
        let glob = text.lines().any(|line| {
            let l = line.trim_start();
            let inline_super = l.len() < line.len() && l.starts_with("use super::*");
            (l.starts_with("use ") || l.starts_with("pub use ") || l.starts_with("pub(crate) use "))
                && (l.contains("::*") || l.contains("{*") || l.contains(", *"))
                && !inline_super
        });
        // Comments (doc comments too) name what is not in scope.
        self.file = (!glob).then(|| words(&strip_comments(text)).map(str::to_owned).collect());
    }

    /// Whether the file the body goes into writes `name` (see [`Identifiers::set_file`]); `true` when that is not
    /// known (no file, or one with a glob import).
    pub(crate) fn file_writes(&self, name: &str) -> bool {
        self.file.as_ref().is_none_or(|file| file.contains(name))
    }

    /// Why `name`, starting a path in the body, is not in scope (see [`Identifiers::set_file`]): a capitalized
    /// name outside the prelude the file never writes (without the file: a std one the project never writes;
    /// `Keys::new()`, `Ordering::Less` without `use std::cmp::Ordering`), or a function the set declares in
    /// another module the file never names.
    /// Judged only once a source was added: a set alone does not show the imports.
    pub(crate) fn out_of_scope(&self, name: &str) -> Option<&'static str> {
        if !self.scoped {
            return None;
        }
        let written = match &self.file {
            Some(file) => file.contains(name),
            None => self.project.contains(name),
        };
        if written {
            return None;
        }
        if name == "std" && self.no_std && !self.extern_std {
            return Some("the crate is `#![no_std]`: `core::` or `alloc::` name what it has");
        }
        let in_prelude =
            PRELUDE.split_whitespace().any(|p| p == name) && !(self.no_std && ALLOC_PRELUDE.contains(&name));
        if name.starts_with(|c: char| c.is_ascii_uppercase()) && !in_prelude {
            // In a file without glob imports a capitalized name (a type, trait, variant or constant) is in scope
            // only where the file writes it (declared or imported); without the file, only std's are judged.
            if self.file.is_some() {
                return Some("this file neither declares nor imports it");
            }
            if std_names().contains(name) && !self.nominal.contains(name) && !self.set_traits.contains(name) {
                return Some("it is not in the prelude and this code never imports it");
            }
            return None;
        }
        let declared =
            self.free_functions.contains(name) || self.nominal.contains(name) || self.set_traits.contains(name);
        if self.file.is_some() && !declared && name != "drop" && STD_FUNCTIONS.contains(&name) {
            // Only `drop` is in the prelude: `from_u32(..)` needs `char::from_u32` or a `use`.
            return Some("std's function needs its path (`char::from_u32`) or an import, which this file never writes");
        }
        (self.file.is_some() && declared).then_some("it is declared in another module and this file never imports it")
    }

    /// Why a macro (`name!`) or a method is not in scope: in a `#![no_std]` crate, `format!`, `vec!` and the
    /// methods of `ToString` and `ToOwned` need an import the file (or, without a file, the project) never
    /// writes.
    pub(crate) fn alloc_out_of_scope(&self, name: &str) -> Option<&'static str> {
        if !self.scoped || !self.no_std {
            return None;
        }
        let (needs, why) = match name {
            "format" | "vec" => (name, "the crate is `#![no_std]` and this code never imports the macro from `alloc`"),
            "to_string" => ("ToString", "the crate is `#![no_std]` and this code never imports `ToString`"),
            "to_owned" => ("ToOwned", "the crate is `#![no_std]` and this code never imports `ToOwned`"),
            _ => return None,
        };
        let written = match &self.file {
            Some(file) => file.contains(needs),
            None => self.project.contains(needs) || self.names.contains(needs) && needs.starts_with(char::is_lowercase),
        };
        (!written).then_some(why)
    }

    /// Whether a name in scope (see [`Identifiers::out_of_scope`]) is longer than `prefix` and starts with it.
    pub(crate) fn in_scope_longer(&self, prefix: &str) -> bool {
        let longer = |set: &BTreeSet<String>| {
            set.range::<str, _>((std::ops::Bound::Excluded(prefix), std::ops::Bound::Unbounded))
                .take_while(|n| n.starts_with(prefix))
                .any(|n| self.out_of_scope(n).is_none())
        };
        longer(&self.names) || longer(&self.values)
    }

    /// Whether a name may start a value outside the body's own bindings: a capitalized known name (a type, a
    /// variant, a constant), or a lower-case one that names an item (see [`Identifiers::add_source`]).
    /// A method the set declares is not a value, even when the source's `fn` names it as an item.
    pub(crate) fn contains_value(&self, name: &str) -> bool {
        if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            self.names.contains(name)
        } else {
            self.values.contains(name) && !self.is_method_only(name)
        }
    }

    /// The lower-case value names that start with `prefix` (itself included), methods only excepted.
    fn values_from<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.values
            .range::<str, _>((std::ops::Bound::Included(prefix), std::ops::Bound::Unbounded))
            .take_while(move |v| v.starts_with(prefix))
            .filter(|v| !self.is_method_only(v))
    }

    /// Whether a value name longer than `prefix` starts with it (a lower-case one: functions, modules, macros...).
    pub(crate) fn has_longer_value(&self, prefix: &str) -> bool {
        self.values_from(prefix).any(|v| v.len() > prefix.len())
    }

    /// Whether a name [`Identifiers::contains_value`] accepts starts with `prefix`.
    pub(crate) fn has_value_prefix(&self, prefix: &str) -> bool {
        if prefix.starts_with(|c: char| c.is_ascii_uppercase()) {
            has_prefix(&self.names, prefix)
        } else {
            self.values_from(prefix).next().is_some()
        }
    }

    /// [`Identifiers::has_value_prefix`] counting only names in scope where a value starts (see
    /// [`Identifiers::out_of_scope`]): `nul` goes on to no name when `null` needs an import the file lacks.
    pub(crate) fn has_usable_value_prefix(&self, prefix: &str) -> bool {
        if prefix.starts_with(|c: char| c.is_ascii_uppercase()) {
            return has_prefix(&self.names, prefix);
        }
        self.values_from(prefix).any(|v| self.out_of_scope(v).is_none())
    }

    /// Whether a name is a trait (std's or the set's).
    pub(crate) fn is_trait(&self, name: &str) -> bool {
        self.traits.contains(name)
    }

    /// Whether the set declares a trait `name` with a method `method`.
    pub(crate) fn trait_declares(&self, name: &str, method: &str) -> bool {
        self.set_traits.contains(name) && self.members.get(name).is_some_and(|m| m.contains(method))
    }

    /// Whether the set declares `name` as a struct, an enum or a union (and not also as an alias): no `Ok(..)`,
    /// `Some(..)` nor `bool` is one.
    pub(crate) fn is_nominal(&self, name: &str) -> bool {
        self.nominal.contains(name)
    }

    /// Whether a lower-case name may start a path (`name::`): a module, a crate, a primitive type.
    pub(crate) fn is_path_start(&self, name: &str) -> bool {
        self.path_starts.contains(name)
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

    /// Whether a member `is` picks out belongs to the type `ty` as written: its members in the set, the standard
    /// library's methods of it (and of what it derefs to), those every type has and the set's trait methods.
    /// `None` when the type is neither described by the set nor a standard type known here (any member may do).
    pub(crate) fn has_member(&self, ty: &str, is: impl Fn(&str) -> bool) -> Option<bool> {
        let base = base_type(ty);
        // `T`, `K2`: a generic parameter (blanket impls in the set may name it too); its bounds are not tracked.
        let generic = base.len() <= 2 && base.starts_with(|c: char| c.is_ascii_uppercase());
        if generic {
            return None;
        }
        let own = self.members.get(&base);
        let key = std_key(&base);
        if own.is_none() && key.is_none() {
            return None;
        }
        let std_lists: Vec<&str> = key.into_iter().flat_map(std_member_lists).collect();
        // A `Formatter` is written to, never cloned, compared or displayed: its own methods only.
        let universal = key != Some("Formatter");
        Some(
            own.is_some_and(|m| m.iter().any(|n| is(n)))
                || std_lists.iter().any(|list| list.split_whitespace().any(&is))
                || universal && self.universal.iter().chain(&self.trait_methods).any(|n| is(n)),
        )
    }

    /// Whether a path member `is` picks out may follow a standard type that starts a path (`Option::`, `String::`,
    /// `u8::`): its variants, associated functions and constants, its methods (callable by path), what every type
    /// has. `None` for the types not listed here (anything may follow).
    pub(crate) fn has_std_path_member(&self, ty: &str, is: &dyn Fn(&str) -> bool) -> Option<bool> {
        let key = match ty {
            "Option" | "Result" | "String" | "Vec" => ty,
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "int",
            _ => return None,
        };
        let extra = match key {
            "Option" => "Some None",
            "Result" => "Ok Err",
            "String" => "from_utf16 from_utf16_lossy from_utf8_unchecked from_iter",
            "Vec" => "from_iter from_raw_parts",
            _ => "MAX MIN BITS from_str_radix from_be_bytes from_le_bytes from_ne_bytes from_be from_le",
        };
        // Neither `Option`, `Result` nor the integers have a `new`; `Option` and `Result` no `from_str`.
        let absent: &[&str] = match key {
            "Option" | "Result" => &["new", "from_str"],
            "int" => &["new"],
            _ => &[],
        };
        Some(
            std_member_lists(key).any(|list| list.split_whitespace().any(is))
                || extra.split_whitespace().any(is)
                || ASSOCIATED.split_whitespace().filter(|m| !absent.contains(m)).any(is)
                || self.universal.iter().chain(&self.trait_methods).any(|m| is(m)),
        )
    }

    /// Whether `name` is a field of the type `ty` as written and nothing callable of that name (no method of the
    /// type, of the set's traits or of every type): `x.name(..)` is then an error.
    pub(crate) fn is_field_only(&self, ty: &str, name: &str) -> bool {
        let base = base_type(ty);
        self.fields.get(&base).is_some_and(|f| f.contains_key(name))
            && !self.type_methods.get(&base).is_some_and(|m| m.contains(name))
            && !self.trait_methods.contains(name)
            && !self.universal.contains(name)
    }

    /// Whether `name` is a function (std's, or one the set declares outside impls) and no macro (std's, or one the
    /// sources define): `name!(..)` cannot be called (`from_u32!(x)`).
    pub(crate) fn is_function_not_macro(&self, name: &str) -> bool {
        (STD_FUNCTIONS.contains(&name) || self.free_functions.contains(name))
            && !STD_MACROS.split_whitespace().any(|m| m == name)
            && !self.source_macros.contains(name)
    }

    /// Whether the set declares a function of this name outside impls and traits.
    pub(crate) fn is_free_function(&self, name: &str) -> bool {
        self.free_functions.contains(name)
    }

    /// Whether the set declares this name as a method or associated function and never as a free function, nor
    /// is it a function of the standard library's prelude-level names (`drop`, `format`...).
    pub(crate) fn is_method_only(&self, name: &str) -> bool {
        self.methods.contains(name) && !self.free_functions.contains(name) && !STD_FUNCTIONS.contains(&name)
    }

    /// The argument counts a call of `name` may take (with `dot`: as a method, `self` not counted), when the set
    /// declares it and the standard library has nothing of that name (whose arity is not known here).
    pub(crate) fn arities(&self, name: &str, dot: bool) -> Option<&BTreeSet<usize>> {
        if std_names().contains(name) {
            return None;
        }
        if dot { self.dot_arities.get(name) } else { self.path_arities.get(name) }
    }

    /// The parameter types a call of `name` passes its arguments to (with `dot`: as a method, `self` left out),
    /// when the set declares it, every declaration agrees and the standard library has nothing of that name.
    pub(crate) fn param_types(&self, name: &str, dot: bool) -> Option<&[String]> {
        if std_names().contains(name) {
            return None;
        }
        self.param_types.get(&(dot, name.to_owned()))?.as_deref()
    }

    /// The return type of the method `name` the set declares in `ty`'s impls (as written; `Self` stands for `ty`),
    /// when every declaration agrees.
    pub(crate) fn return_of(&self, ty: &str, name: &str) -> Option<&str> {
        self.returns.get(&(base_type(ty), name.to_owned()))?.as_deref()
    }

    /// The argument counts a path call `ty::name(..)` takes, when the set declares `name` in `ty`'s impls.
    pub(crate) fn owned_arities(&self, ty: &str, name: &str) -> Option<&BTreeSet<usize>> {
        self.owned_arities.get(&(base_type(ty), name.to_owned()))
    }

    /// Whether a name `is` picks out may follow `self::`, `crate::` or `super::`: an item the set or the source
    /// declares (std's functions, modules and macros are not the crate's), or a capitalized known name.
    pub(crate) fn any_item(&self, is: &dyn Fn(&str) -> bool) -> bool {
        self.items.iter().any(|v| is(v) && !self.is_method_only(v) && !self.is_macro_only(v))
            || self
                .names
                .iter()
                .filter(|n| n.starts_with(|c: char| c.is_ascii_uppercase()))
                .filter(|n| !std_names().contains(n.as_str()) || self.members.contains_key(n.as_str()))
                .any(|n| is(n))
    }

    /// Whether `name` is a method of the type `ty` as written and not one of its fields: `x.name` must be called.
    /// Known for the types the set describes (its methods) and std's types (their listed members are methods).
    pub(crate) fn is_method_not_field(&self, ty: &str, name: &str) -> bool {
        let base = base_type(ty);
        if self.fields.get(&base).is_some_and(|f| f.contains_key(name)) {
            return false;
        }
        if self.type_methods.get(&base).is_some_and(|m| m.contains(name)) {
            return true;
        }
        !self.members.contains_key(&base)
            && std_key(&base)
                .is_some_and(|k| std_member_lists(k).any(|list| list.split_whitespace().any(|m| m == name)))
    }

    /// Whether a name is a macro of std and no function the set declares (`format`, `vec`): only `name!` may
    /// follow it.
    pub(crate) fn is_macro_only(&self, name: &str) -> bool {
        STD_MACROS.split_whitespace().any(|m| m == name)
            && !self.free_functions.contains(name)
            && !STD_FUNCTIONS.contains(&name)
    }

    /// Whether a member `is` picks out belongs to a type the set describes (its own members, those every type
    /// has, associated functions every type may have: `from`, `default`...); `None` when the set does not
    /// describe it.
    pub(crate) fn has_own_member(&self, ty: &str, is: &dyn Fn(&str) -> bool) -> Option<bool> {
        let own = self.members.get(&base_type(ty))?;
        Some(
            own.iter().any(|m| is(m))
                || self.universal.iter().chain(&self.trait_methods).any(|m| is(m))
                || ASSOCIATED.split_whitespace().any(is),
        )
    }

    /// The type of a named field of a type the set describes, as written.
    pub(crate) fn field_type(&self, ty: &str, field: &str) -> Option<&str> {
        self.fields.get(&base_type(ty))?.get(field).map(String::as_str)
    }
}

pub(crate) fn has_prefix(set: &BTreeSet<String>, prefix: &str) -> bool {
    set.range::<str, _>((std::ops::Bound::Included(prefix), std::ops::Bound::Unbounded))
        .next()
        .is_some_and(|n| n.starts_with(prefix))
}

/// The identifiers of a source text that name an item rather than a local: see [`Identifiers::add_source`].
fn item_words(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let (mut prev, mut prev2) = ("", "");
    let mut in_use = false;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte.is_ascii_alphanumeric() || byte == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            if byte.is_ascii_digit() {
                continue; // a number (and its suffix)
            }
            let w = &text[start..i];
            let next = i + bytes[i..].iter().take_while(|b| b.is_ascii_whitespace()).count();
            let path_start = bytes.get(next) == Some(&b':') && bytes.get(next + 1) == Some(&b':');
            let macro_call = bytes.get(next) == Some(&b'!') && bytes.get(next + 1) != Some(&b'=');
            if w == "_" {
                // `as _`, `const _`: no name.
            } else if in_use
                || path_start
                || macro_call
                || matches!(prev, "fn" | "mod" | "const" | "static" | "crate" | "macro_rules")
                || (prev == "mut" && prev2 == "static")
            {
                out.push(w);
            }
            in_use |= w == "use";
            (prev2, prev) = (prev, w);
        } else if bytes[i..].starts_with(b"//") {
            // A comment's words are prose (`use` in a sentence would make what follows items).
            i += bytes[i..].iter().position(|&b| b == b'\n').unwrap_or(bytes.len() - i);
        } else {
            in_use &= byte != b';';
            i += 1;
        }
    }
    out
}

/// The lower-case identifiers of a source text that may start a path: before `::` (not after one), after `mod` or
/// `extern crate`, anywhere in a `use` (what it imports may start a path; the rest of it too, which loses nothing
/// valid).
fn path_start_words(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut prev = "";
    let mut in_use = false;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte.is_ascii_alphabetic() || byte == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let w = &text[start..i];
            let after_path = start >= 2 && &bytes[start - 2..start] == b"::";
            let next = i + bytes[i..].iter().take_while(|b| b.is_ascii_whitespace()).count();
            let path_start = bytes.get(next) == Some(&b':') && bytes.get(next + 1) == Some(&b':');
            if byte.is_ascii_lowercase() && (in_use || (path_start && !after_path) || matches!(prev, "mod" | "crate")) {
                out.push(w);
            }
            in_use |= w == "use";
            prev = w;
        } else {
            in_use &= byte != b';';
            if !byte.is_ascii_whitespace() {
                prev = "";
            }
            i += 1;
        }
    }
    out
}

/// The identifiers of a text, in order (starting with a letter or `_`).
pub(crate) fn words(text: &str) -> impl Iterator<Item = &str> {
    // `_` alone (`use std::fmt::Write as _;`, `let _ =`) names nothing.
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.as_bytes().first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') && *w != "_")
}

/// The name a fn header declares: the word after `fn`.
pub(crate) fn fn_name(header: &str) -> Option<&str> {
    let mut w = words(header);
    w.by_ref().find(|&x| x == "fn")?;
    w.next()
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
    fn header_generics_are_the_type_parameters() {
        assert_eq!(header_generics("fn f<'a, T: Into<Vec<u8>>, const N: usize, W>(x: T) -> W"), ["T", "W"]);
        assert!(header_generics("fn f(x: Vec<u8>) -> Option<u8>").is_empty());
    }

    #[test]
    fn an_assignment_is_no_value() {
        assert!(missing_value("{\n    self.mask[0] |= other.mask[0]\n}").unwrap().contains("assignment"));
        assert!(missing_value("{ x <<= 1 }").is_some() && missing_value("{ x = \"a == b\" }").is_some());
        for valued in ["{ a == b }", "{ a <= b }", "{ a != b && c >= d }", "{ (0..=5).len() }", "{ x << 1 }"] {
            assert_eq!(missing_value(valued), None, "{valued}");
        }
        assert_eq!(missing_value("{ match x { 1 => a, _ => b } }"), None);
        assert_eq!(missing_value("{ f(|a| a == '=') }"), None);
        assert_eq!(missing_value("{ |a| a = 1 }"), None, "a closure");
        assert_eq!(missing_value("{ if a { b = 1; } c }"), None, "inside a block");
        assert_eq!(missing_value("{ x = 1; return x; }"), None, "a statement");
        assert_eq!(missing_value("{ f('\\'', '=') }"), None, "an escaped quote ends no char literal");
    }

    #[test]
    fn a_body_that_returns_nothing_is_told_so() {
        assert!(returns_value("fn f(x: impl Fn(u8) -> u8) -> Option<u8> where T: Copy"));
        assert!(!returns_value("fn f(x: impl Fn(u8) -> u8)"));
        assert!(!returns_value("fn f() -> ()") && !returns_value("fn f() -> !"));
        assert!(returns_value("fn f() -> io::Result<()>"));
        assert!(returns_value("fn f<F: Fn(u8) -> u8>(f: F) -> (u8, u8)"));
        assert_eq!(
            return_type("fn f<F: Fn(u8) -> u8>(f: F) -> Option<(u8, u8)> where F: Copy"),
            Some("Option<(u8, u8)>")
        );
        assert!(missing_value("{\n    // nothing\n}").is_some());
        assert!(missing_value("{ std::fs::canonicalize(path); }").is_some());
        assert!(missing_value("{ let x = 1; x }").is_none());
        assert!(missing_value("{ if a { return b; } c; }").is_some(), "an `if` without `else` does not diverge");
        assert!(missing_value("{ let x = x + 2;\n if x == 1 { return { Ok(1) } }\n let x = x + 1; }").is_some());
        assert!(missing_value("{ if a { return b; } else { return c; } }").is_none(), "both branches return");
        assert!(missing_value("{ if a { return b; } else { return c; }; }").is_none());
        assert!(missing_value("{ match a { A => return 1, _ => panic!() }; }").is_none());
        assert!(missing_value("{ let x = 1; return x; }").is_none());
        assert!(missing_value("{ loop { n += 1; }; }").is_none());
        assert!(missing_value("{ bail!(\"no\"); }").is_none(), "a macro of the crate's may return");
        assert!(missing_value("{ println!(\"{}\", '}'); }").is_some(), "std's plain macros do not");
        assert!(missing_value("{ while a { return b; } }").is_none(), "no `;`: not judged here");
        assert!(missing_value("{ while a { return b; } c; }").is_some(), "a loop that may not run");
        assert!(missing_value("{ let s = \"}\"; std::process::exit(1); }").is_none());
        assert_eq!(
            tail_expression("{ let x = 1; // one\n self\n ::Buffer::new\n}").as_deref(),
            Some("self\n ::Buffer::new")
        );
        assert_eq!(tail_expression("{ if a { 1 } else { 2 } }"), None, "block-like: not an expression here");
        assert_eq!(tail_expression("{ f(); }"), None);
        assert!(missing_value("{ let s = \"a; // b\"; s.len() }").is_none());
        assert!(missing_value("{ match x { A => 1, B => 2 } /* done; */ }").is_none());
    }

    #[test]
    fn only_items_start_values() {
        let mut ids = Identifiers::std();
        ids.add_source(
            "use crate::{parse::{self, next_token}, limits};\nconst fn cap() -> usize { let scratch = 3; \
             helpers::grow(scratch) + log!(1) }\nstatic mut counter: u8 = 0;\n// we use the value here\nfn f() {}",
        );
        assert!(!ids.contains_value("the") && !ids.contains_value("value"), "a comment's `use` imports nothing");
        assert!(ids.any_item(&|n| n == "cap") && !ids.any_item(&|n| n == "drop"), "std's functions are not items");
        for item in ["parse", "next_token", "limits", "cap", "helpers", "log", "counter", "Vec"] {
            assert!(ids.contains_value(item), "{item}");
        }
        assert!(ids.contains("scratch") && !ids.contains_value("scratch"), "another function's local");
        assert!(!ids.contains_value("grow"), "reached by a path, not a value start");
        assert!(ids.has_value_prefix("next_t") && !ids.has_value_prefix("scr"));
    }

    #[test]
    fn methods_traits_and_path_starts() {
        let mut ids = Identifiers::std();
        ids.add_source(
            "mod parse;\nuse crate::limits::MAX;\nextern crate alloc_shim;\nfn helper() { fmt::x(); a::b::c(); }",
        );
        for start in ["parse", "crate", "fmt", "a", "alloc_shim", "std", "u8", "str", "self"] {
            assert!(ids.is_path_start(start), "{start}");
        }
        assert!(!ids.is_path_start("b") && !ids.is_path_start("helper") && !ids.is_path_start("x"));
        assert!(ids.is_path_start("limits"), "named in a use");
        assert!(ids.is_trait("Default") && !ids.is_trait("Vec"));
        ids.add_source("use std::fmt::Write as _;\nconst _: () = ();");
        assert!(!ids.has_value_prefix("_") && !ids.has_prefix("_"), "`_` alone names nothing");
        // `new` is named after `fn` in the source, but the set declares it as a method only.
        ids.add_source("impl Stock { fn new() -> Stock { Stock } fn newest(&self) {} }");
        assert!(ids.contains_value("new") && ids.has_value_prefix("newe"));
        ids.methods.insert("new".into());
        ids.methods.insert("newest".into());
        assert!(!ids.contains_value("new") && !ids.has_value_prefix("ne"), "methods are not values");
    }

    #[test]
    fn prefixes_are_found_in_order() {
        let ids = Identifiers::std();
        assert!(ids.has_prefix("saturating_s"));
        assert!(!ids.has_prefix("saturating_t"));
        assert!(ids.has_prefix("mat"), "keywords are known prefixes");
    }
}
