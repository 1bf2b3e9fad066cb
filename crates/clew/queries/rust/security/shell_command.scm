; Shell commands.
; Process commands built from formatted strings or run through a shell.

; `Command::new(format!(..))`: a program name built from a formatted string.
(call_expression
  function: (scoped_identifier path: (_) @shell.type name: (identifier) @shell.ctor)
  arguments: (arguments (macro_invocation macro: (identifier) @shell.macro))
  (#match? @shell.type "(^|::)Command$")
  (#eq? @shell.ctor "new")
  (#any-of? @shell.macro "format" "concat")) @shell
; `Command::new("sh")`: a command run through a shell.
(call_expression
  function: (scoped_identifier path: (_) @shell.type name: (identifier) @shell.ctor)
  arguments: (arguments . (string_literal) @shell.program)
  (#match? @shell.type "(^|::)Command$")
  (#eq? @shell.ctor "new")
  (#match? @shell.program "^\"(/usr)?(/bin/)?(sh|bash|zsh|dash|cmd|cmd\\.exe|powershell|pwsh)\"$")) @shell
; `.arg(format!(..))` / `.args(..format!..)` on a `Command` chain.
(call_expression
  function: (field_expression value: (_) @shell.receiver field: (field_identifier) @shell.method)
  arguments: (arguments (macro_invocation macro: (identifier) @shell.macro))
  (#match? @shell.receiver "Command::new")
  (#any-of? @shell.method "arg" "args")
  (#eq? @shell.macro "format")) @shell
