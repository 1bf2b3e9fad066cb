; Hard-coded secrets.
; The extractor also drops placeholders (empty strings, `changeme`, `<...>`, names of environment
; variables) and scans string literals for AWS-style access key ids.

; Hard-coded secrets: a string literal bound to a name that says it is a secret.
(let_declaration
  pattern: (identifier) @secret.name
  value: [(string_literal) @secret.value
          (call_expression function: (field_expression value: (string_literal) @secret.value))]
  (#match? @secret.name "(?i)(passw(or)?d|secret|api_?key|access_?key|private_?key|auth_?token|credential)")) @secret
(const_item
  name: (identifier) @secret.name
  value: (string_literal) @secret.value
  (#match? @secret.name "(?i)(passw(or)?d|secret|api_?key|access_?key|private_?key|auth_?token|credential)")) @secret
(static_item
  name: (identifier) @secret.name
  value: (string_literal) @secret.value
  (#match? @secret.name "(?i)(passw(or)?d|secret|api_?key|access_?key|private_?key|auth_?token|credential)")) @secret
(assignment_expression
  left: [(identifier) @secret.name (field_expression field: (field_identifier) @secret.name)]
  right: (string_literal) @secret.value
  (#match? @secret.name "(?i)(passw(or)?d|secret|api_?key|access_?key|private_?key|auth_?token|credential)")) @secret
(field_initializer
  field: (field_identifier) @secret.name
  value: [(string_literal) @secret.value
          (call_expression function: (field_expression value: (string_literal) @secret.value))]
  (#match? @secret.name "(?i)(passw(or)?d|secret|api_?key|access_?key|private_?key|auth_?token|credential)")) @secret
