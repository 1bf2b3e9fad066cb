; Imports: `use` trees (flattened by the extractor), `extern crate`, and `mod name;` declarations
; (the latter are reported by the @module event of items.scm).

(use_declaration) @use
(extern_crate_declaration) @extern_crate
