; Unsafe code.
; Unsafe blocks, and dereferences of raw pointers inside unsafe code (`unsafe fn`, `unsafe impl` and
; `unsafe trait` are read off the items themselves).

(unsafe_block) @unsafe_block

; `*expr`: the extractor keeps the ones whose operand is a raw pointer (a cast to `*const`/`*mut`, a pointer
; method like `as_ptr()`/`add()`, or a local/parameter declared with a pointer type) inside unsafe code.
(unary_expression "*" (_) @deref.operand) @deref
