; Transmute.
; Reinterpreting bytes as another type.

; `transmute(..)` imported, `mem::transmute(..)`, `std::mem::transmute::<A, B>(..)`. Structure first and a plain
; string comparison last: this pattern is tried on every call in a codebase.
(call_expression
  function: (identifier) @transmute.callee
  (#eq? @transmute.callee "transmute")) @transmute
(call_expression
  function: (scoped_identifier name: (identifier) @transmute.last) @transmute.callee
  (#eq? @transmute.last "transmute")) @transmute
(call_expression
  function: (generic_function function: [(identifier) @transmute.last
                                         (scoped_identifier name: (identifier) @transmute.last)]) @transmute.callee
  (#eq? @transmute.last "transmute")) @transmute
