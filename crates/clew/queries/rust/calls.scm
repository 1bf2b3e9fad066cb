; Calls that matter for error handling and typed holes.

; `.unwrap()` and `.expect(..)`.
(call_expression
  function: (field_expression field: (field_identifier) @panicking_method.name)
  (#any-of? @panicking_method.name "unwrap" "expect")) @panicking_method

; `panic!`, `todo!`, `unimplemented!`, `unreachable!`, also as `std::panic!` or `core::panic!`.
(macro_invocation
  macro: (identifier) @panicking_macro.name
  (#any-of? @panicking_macro.name "panic" "todo" "unimplemented" "unreachable")) @panicking_macro
(macro_invocation
  macro: (scoped_identifier name: (identifier) @panicking_macro.name)
  (#any-of? @panicking_macro.name "panic" "todo" "unimplemented" "unreachable")) @panicking_macro

; The `?` operator.
(try_expression) @try

; Inside macro arguments (`assert_eq!(x.unwrap(), 1)`, `println!("{}", y.expect("set"))`) a method call is a run
; of tokens rather than a call expression: `.`, `unwrap`, `(...)`. The extractor checks for the dot.
(token_tree
  (identifier) @panicking_method.name @panicking_method
  .
  (token_tree)
  (#any-of? @panicking_method.name "unwrap" "expect"))
