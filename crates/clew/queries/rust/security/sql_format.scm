; SQL built by formatting.
; SQL built by string formatting instead of bound parameters.

; SQL text built with a formatting macro: `format!("SELECT .. {}", x)`.
(macro_invocation
  macro: (identifier) @sql.macro
  (token_tree . (string_literal) @sql.text)
  (#any-of? @sql.macro "format" "format_args" "write" "writeln")
  (#match? @sql.text "(?i)^\"\\s*(select|insert|update|delete|replace|upsert|merge|create|drop|alter|truncate)\\s[^\"]*\\{")) @sql
