//! The grammar of a Rust function body: a subset of Rust's statements, expressions, patterns and types, in the
//! notation of [`super::grammar`]. Every body it accepts parses with rustc's grammar (property-tested against `syn`
//! and tree-sitter-rust); it leaves out what it cannot keep unambiguous in one token of lookahead.
//!
//! Expressions are flat (`unit (op unit)*`), with the precedence levels only where Rust rejects a flat reading:
//! comparisons do not chain (`a < b < c`), a range has at most one `..`, assignments are right-most. Four contexts
//! (rule suffixes) follow rustc's restrictions:
//!
//! - `_s`: anywhere a value is expected (inside parentheses, brackets, braces, arguments, `let` initializers);
//! - `_x`: an expression statement or a match arm body, whose first operand is not block-like (a block-like
//!   expression there is a statement of its own, handled by `blocky`);
//! - `_n`: conditions, scrutinees and `for` iterables: no struct literal, block-like operand, closure, jump or
//!   assignment at the top level (a `{` there opens the block that follows);
//! - `_l`: the scrutinee of `if let` / `while let`: as `_n`, and no `&&`/`||` at the top level.
//!
//! Macros of a known set have their own argument grammar (`format!` starts with a string literal, `vec!` takes
//! brackets, `write!` a destination and a string, ...); any other `name!` takes a token tree (its own rules are
//! not known here), whose identifiers the identifier layer neither checks nor binds.
//!
//! Left out: `let ... else`, labeled block expressions and labels on loops used as values, `async` blocks and
//! closures, qualified paths (`<T as Trait>::f`), attributes, `impl`/`struct`/`enum`/`trait`/`mod` items inside
//! bodies, block comments and doc comments, raw identifiers, `box` and exclusive range patterns, named format
//! arguments (`format!("{x}", x = 1)`; inline `{x}` is fine), `1.` float literals followed by a method call.

use std::sync::OnceLock;

use super::grammar::{Grammar, RuleText, parse_rules};

/// The grammar text. The first rule is the start rule.
pub(crate) const RUST: &str = r#"
body: "{" _stmts "}"
block: "{" _stmts "}"
_stmts: (";" | let_stmt | item | blocky ";"? | expr_x ";")* expr_x?

let_stmt: "let" pat_nta (":" type)? ("=" expr_s)? ";"

item: fn_item | use_item | const_item | static_item
fn_item: "fn" NAME generic_params? "(" (fn_param ("," fn_param)* ","?)? ")" ("->" type)? where_clause? block
fn_param: pat_nta ":" type
generic_params: "<" generic_param ("," generic_param)* ","? ">"
generic_param: LIFETIME (":" LIFETIME ("+" LIFETIME)*)? | NAME (":" bounds)?
where_clause: "where" where_pred ("," where_pred)* ","?
where_pred: type_path ":" bounds | LIFETIME ":" LIFETIME ("+" LIFETIME)*
use_item: "use" use_tree ";"
use_tree: "*" | _use_group | _use_seg ("::" _use_seg)* ("::" ("*" | _use_group) | "as" (NAME | UNDERSCORE))?
_use_group: "{" (use_tree ("," use_tree)* ","?)? "}"
_use_seg: NAME | "self" | "super" | "crate"
const_item: "const" (NAME | UNDERSCORE) ":" type "=" expr_s ";"
static_item: "static" "mut"? NAME ":" type "=" expr_s ";"

blocky: _blocky | LIFETIME ":" ("loop" block | while_expr | for_expr)
_blocky: block | "unsafe" block | if_expr | match_expr | "loop" block | while_expr | for_expr
if_expr: "if" _cond block ("else" (if_expr | block))?
_cond: expr_n | "let" pat_top "=" expr_l
while_expr: "while" _cond block
for_expr: "for" pat_top "in" expr_n block
match_expr: "match" expr_n "{" (_arm (blocky ","? | expr_x ","))* (_arm expr_x)? "}"
_arm: "|"? pat_top ("if" expr_n)? "=>"

// Expressions.
expr_s: _head | _pre unit_s _tail | _prefix_range
expr_x: _head | _pre unit_x _tail | _prefix_range
expr_n: _pre unit_n _tail_n | _prefix_range_n
expr_l: _pre unit_n _tail_l | _prefix_range_l
_head: _closure | _jump
_closure: "move"? ("||" | "|" (closure_param ("," closure_param)*)? "|") ("->" type_nb block | expr_s)
closure_param: pat_nta (":" type)?
// tree-sitter reads `break &mut x` and `a..&mut b` as binary `&`: no `&mut` right after `break` or `..`.
_jump: "return" expr_s? | "break" LIFETIME? | "break" expr_b | "continue" LIFETIME?
expr_b: _pre_nm unit_r _tail | _prefix_range

// The rest of an expression after its first unit (the flat reading of Rust's precedence levels).
_tail: _arith_rest _cmp_rest _lazy_rest (_assign (_lazy _assign)* _range | _range_rest)?
_tail_n: _arith_rest_n _cmp_rest_n _lazy_rest_n _range_rest_n?
_tail_l: _arith_rest_n _cmp_rest_n _range_rest_l?
_pre: _prefix*
_pre_nm: ("-" | "!" | "*" | "&")*
_arith_rest: (_arith_op _pre unit_s)*
_cmp_rest: (_cmp_op _arith)?
_lazy_rest: (("&&" | "||") _cmp)*
_arith: _pre unit_s (_arith_op _pre unit_s)*
_cmp: _arith (_cmp_op _arith)?
_lazy: _cmp (("&&" | "||") _cmp)*
_range: _lazy _range_rest? | _prefix_range
_range_rest: ".." _lazy_r? | "..=" _lazy_r
_prefix_range: ".." _lazy_r? | "..=" _lazy_r
_lazy_r: _pre_nm unit_r _arith_rest _cmp_rest _lazy_rest
_arith_rest_n: (_arith_op _pre unit_n)*
_cmp_rest_n: (_cmp_op _arith_n)?
_lazy_rest_n: (("&&" | "||") _cmp_n)*
_arith_n: _pre unit_n (_arith_op _pre unit_n)*
_cmp_n: _arith_n (_cmp_op _arith_n)?
_range_rest_n: (".." | "..=") _pre_nm unit_nr _arith_rest_n _cmp_rest_n _lazy_rest_n
_prefix_range_n: (".." | "..=") _pre_nm unit_nr _arith_rest_n _cmp_rest_n _lazy_rest_n
_range_rest_l: (".." | "..=") _pre_nm unit_nr _arith_rest_n _cmp_rest_n
_prefix_range_l: (".." | "..=") _pre_nm unit_nr _arith_rest_n _cmp_rest_n
_arith_op: "+" | "-" | "*" | "/" | "%" | "&" | "|" | "^" | "<<" | ">>"
_cmp_op: "==" | "!=" | "<" | ">" | "<=" | ">="
_assign: "=" | "+=" | "-=" | "*=" | "/=" | "%=" | "&=" | "|=" | "^=" | "<<=" | ">>="

// A unit: an operand, postfix operators and casts (prefix operators belong to the expression).
unit_s: (_atom | _struct_path | _blocky) _post* _casts?
unit_x: (_atom | _struct_path) _post* _casts?
unit_n: (_atom | _path) _post* _casts?
// `x as T << y` and `x as T <= y` read `<` as the start of generic arguments.
_casts: ("as" type_nb)+ !"<=" !"<<" !"<<="
// After `..` (tree-sitter reads `x..[..a; 3]` as an index): no array literal first.
unit_r: (_atom_r | _struct_path | _blocky) _post* _casts?
unit_nr: (_atom_r | _path) _post* _casts?
_prefix: "-" | "!" | "*" | "&" "mut"?
_post: "?" | "." (MNAME ("::" generic_args _call | _call)? | INDEX | "await") | _call | "[" expr_s "]"
_call: "(" (expr_s ("," expr_s)* ","?)? ")"
_atom: _atom_r | "[" (expr_s (";" expr_s | ("," expr_s)* ","?))? "]"
_atom_r: _lit | "(" (expr_s ("," (expr_s ("," expr_s)* ","?)?)?)? ")" | VIDENT "!" mac_any | _macro | "self"
_lit: INT | INDEX | FLOAT | STRING | BSTRING | CHAR | BCHAR | "true" | "false"
_path: VNAME _path_more | ("Self" | "crate" | "super" | "self") "::" PNAME _path_more | "Self"
// A turbofish ends the path or is followed by a name (`f::<T>::<U>` does not parse).
_path_more: ("::" PNAME | "::" generic_args "::" PNAME)* ("::" generic_args)?
_struct_path: _path ("{" (_field ("," _field)* ("," (".." expr_s)?)? | ".." expr_s)? "}")?
_field: NAME (":" expr_s)? | INDEX ":" expr_s

// Macros with their own argument grammar; any other `name!(...)` takes a token tree.
_macro: ("format" | "format_args" | "print" | "eprint") "!" mac_fmt
    | ("println" | "eprintln" | "panic" | "todo" | "unimplemented" | "unreachable") "!" mac_fmt_opt
    | "write" "!" mac_write | "writeln" "!" mac_writeln | "vec" "!" mac_vec
    | ("assert" | "debug_assert") "!" mac_assert
    | ("assert_eq" | "assert_ne" | "debug_assert_eq" | "debug_assert_ne") "!" mac_assert2
    | "matches" "!" mac_matches | "dbg" "!" mac_dbg | "concat" "!" mac_concat
    | ("line" | "column" | "file") "!" mac_empty | "stringify" "!" mac_any
// A macro of the crate's or another crate's: any token tree (`for_both!(self, x => x.len())`); not braces, which
// make a statement of it.
mac_any: "(" tt* ")" | "[" tt* "]"
tt: TT | "(" tt* ")" | "[" tt* "]" | "{" tt* "}"
mac_fmt: "(" STRING ("," expr_s)* ","? ")"
mac_fmt_opt: "(" (STRING ("," expr_s)* ","?)? ")"
mac_write: "(" expr_s "," STRING ("," expr_s)* ","? ")"
mac_writeln: "(" expr_s ("," (STRING ("," expr_s)* ","?)?)? ")"
mac_vec: "[" (expr_s (";" expr_s | ("," expr_s)* ","?))? "]"
mac_assert: "(" expr_s ("," (STRING ("," expr_s)* ","?)?)? ")"
mac_assert2: "(" expr_s "," expr_s ("," (STRING ("," expr_s)* ","?)?)? ")"
mac_matches: "(" expr_s "," pat_top ("if" expr_s)? ","? ")"
mac_dbg: "(" (expr_s ("," expr_s)* ","?)? ")"
mac_concat: "(" (_lit ("," _lit)* ","?)? ")"
mac_empty: "(" ")"

// Patterns.
pat_top: pat_nta ("|" pat_nta)*
pat_nta: ("&" | "&&") "mut"? pat_ref | ("ref" "mut"? | "mut") NAME ("@" pat_nta)? | _pat_core | _pat_lit "..=" _pat_lit
// After `&`, a range needs parentheses (`&(1..=2)`).
pat_ref: ("&" | "&&") "mut"? pat_ref | "ref" "mut"? NAME ("@" pat_nta)? | _pat_core
_pat_core: NAME ("@" pat_nta | ("::" PNAME)* ("(" _pats? ")" | "{" _field_pats? "}") | ("::" PNAME)+)?
    | "Self" ("::" PNAME)* ("(" _pats? ")" | "{" _field_pats? "}")?
    | ("crate" | "super" | "self") ("::" PNAME)+ ("(" _pats? ")" | "{" _field_pats? "}")?
    | _pat_lit | "(" _pats? ")" | "[" _pats? "]" | UNDERSCORE
_pat_lit: "-" (INT | INDEX) | INT | INDEX | STRING | BSTRING | CHAR | BCHAR | "true" | "false"
_pats: (pat_nta | "..") ("," (pat_nta | ".."))* ","?
_field_pats: _field_pat ("," _field_pat)* ("," ".."?)? | ".."
_field_pat: ("ref" "mut"? | "mut") NAME | NAME (":" pat_nta)?

// Types.
type: _type | ("dyn" | "impl") _trait_bound ("+" _bound)*
type_nb: _type | ("dyn" | "impl") _trait_bound
_type: "&" LIFETIME? "mut"? type_nb | "*" ("const" | "mut") type_nb
    | "(" (type_nb "," (type_nb ("," type_nb)* ","?)?)? ")" | "[" type_nb (";" (INT | INDEX | VNAME))? "]"
    | UNDERSCORE | "!" | "fn" "(" (type ("," type)* ","?)? ")" ("->" type_nb)? | type_path
type_path: _tpath generic_args?
_tpath: (TNAME | "Self") ("::" TNAME)* | ("self" | "super" | "crate") ("::" TNAME)+
generic_args: "<" (type | LIFETIME) ("," (type | LIFETIME))* ","? ">"
bounds: _bound ("+" _bound)*
_bound: _trait_bound | LIFETIME | "?" type_path
_trait_bound: _tpath (generic_args | "(" (type ("," type)* ","?)? ")" ("->" type_nb)?)?
"#;

/// The compiled Rust grammar, built once per process.
pub(crate) fn grammar() -> &'static Grammar {
    static GRAMMAR: OnceLock<Grammar> = OnceLock::new();
    GRAMMAR.get_or_init(|| {
        let rules: Vec<RuleText> = parse_rules(RUST).unwrap_or_else(|e| panic!("the Rust grammar: {e}"));
        Grammar::compile(&rules).unwrap_or_else(|e| panic!("the Rust grammar: {e}"))
    })
}
