; Items: functions, types, impls, traits, modules, constants and statics, and what is attached to them.
;
; Every pattern's capture without a dot names the event the extractor handles (see src/rust/mod.rs);
; captures with a dot are parts of that event. Items inside macro bodies are token trees and are not seen,
; exactly as rustc does not see them before expansion.

(function_item) @function
(function_signature_item) @function

(struct_item) @struct
(enum_item) @enum
(union_item) @union
(type_item) @type_alias
(trait_item) @trait
(impl_item) @impl

(const_item) @const
(static_item) @static

(mod_item) @module
(foreign_mod_item) @extern_block

; Attributes and outer doc comments attach to the item that follows them directly.
(attribute_item) @attribute
(line_comment outer: (outer_doc_comment_marker)) @doc
(block_comment outer: (outer_doc_comment_marker)) @doc

; Local bindings, for variable naming and pointer tracking.
(let_declaration) @let
