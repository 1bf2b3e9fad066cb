; Transmute.
; Reinterpreting bytes as another type.

; `mem::transmute(..)`, `std::mem::transmute::<A, B>(..)`, or `transmute(..)` imported.
(call_expression
  function: [(identifier) (scoped_identifier) (generic_function)] @transmute.callee
  (#match? @transmute.callee "(^|::)transmute(::<.*>)?$")) @transmute
