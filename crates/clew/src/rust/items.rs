//! Reading items off Rust syntax nodes: signatures, type shapes, attributes.

use ananke_core::{Member, MemberKind, Owner, Param, Signature, TypeShape, TypeShapeKind};
use tree_sitter::Node;

use crate::text::{normalized, text};

/// What the attributes and doc comments directly above an item say about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Attached {
    /// `#[test]`, `#[tokio::test]`, `#[rstest]`, ...
    pub is_test: bool,
    /// `#[cfg(test)]` or a `cfg` that requires `test`.
    pub cfg_test: bool,
    /// The `cfg` predicates, normalized (`unix`, `feature = "fs"`).
    pub cfg: Vec<String>,
    /// A doc comment or `#[doc]` attribute.
    pub documented: bool,
}

impl Attached {
    /// Folds one attribute or doc-comment node into the summary.
    pub(crate) fn add(&mut self, node: Node<'_>, source: &str) {
        if node.kind() != "attribute_item" {
            self.documented = true;
            return;
        }
        let Some(attribute) = node.named_child(0) else { return };
        let Some(path) = attribute.named_child(0) else { return };
        let path = text(path, source);
        let last = path.rsplit("::").next().unwrap_or(path);
        match last {
            "test" | "rstest" | "test_case" | "quickcheck" | "wasm_bindgen_test" => self.is_test = true,
            "doc" => self.documented = true,
            "cfg" => {
                if let Some(args) = attribute.child_by_field_name("arguments") {
                    let args = normalized(args, source);
                    let inner = args.strip_prefix('(').and_then(|a| a.strip_suffix(')')).unwrap_or(&args).to_owned();
                    if inner == "test" || (mentions_word(&inner, "test") && !inner.contains("not(")) {
                        self.cfg_test = true;
                    }
                    self.cfg.push(inner);
                }
            }
            _ => {}
        }
    }

    /// The combined `cfg` predicate, if any.
    pub(crate) fn cfg_predicate(&self) -> Option<String> {
        match self.cfg.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            many => Some(format!("all({})", many.join(", "))),
        }
    }
}

fn mentions_word(haystack: &str, word: &str) -> bool {
    haystack.match_indices(word).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"')
    })
}

/// The signature of a `function_item` or `function_signature_item`, and the node holding its name.
pub(crate) fn signature<'t>(
    node: Node<'t>,
    source: &str,
    owner: Option<Owner>,
    attached: &Attached,
) -> Option<(Signature, Node<'t>)> {
    let name_node = node.child_by_field_name("name")?;
    let mut sig = Signature {
        name: text(name_node, source).to_owned(),
        owner,
        has_body: node.child_by_field_name("body").is_some(),
        documented: attached.documented,
        cfg: attached.cfg_predicate(),
        ..Signature::default()
    };
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "visibility_modifier" => sig.visibility = Some(normalized(child, source)),
            "function_modifiers" => read_modifiers(child, source, &mut sig),
            "type_parameters" => sig.generics = Some(normalized(child, source)),
            "parameters" => sig.params = parameters(child, source),
            "where_clause" => {
                let clause = normalized(child, source);
                let clause = clause.strip_prefix("where").unwrap_or(&clause).trim();
                sig.where_clause = Some(clause.trim_end_matches(',').to_owned());
            }
            _ => {}
        }
    }
    if let Some(ret) = node.child_by_field_name("return_type") {
        sig.returns = Some(normalized(ret, source));
    }
    Some((sig, name_node))
}

fn read_modifiers(node: Node<'_>, source: &str, sig: &mut Signature) {
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "async" => sig.is_async = true,
            "const" => sig.is_const = true,
            "unsafe" => sig.is_unsafe = true,
            "extern_modifier" => {
                let abi = child.named_child(0).map(|lit| text(lit, source).trim_matches('"').to_owned());
                sig.abi = Some(abi.unwrap_or_else(|| "C".to_owned()));
            }
            _ => {}
        }
    }
}

fn parameters(node: Node<'_>, source: &str) -> Vec<Param> {
    let mut params = Vec::new();
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "attribute_item" | "line_comment" | "block_comment" => {}
            "self_parameter" => params.push(self_param(&normalized(child, source))),
            "parameter" => {
                let name = child.child_by_field_name("pattern").map(|p| normalized(p, source)).unwrap_or_default();
                let ty = child.child_by_field_name("type").map(|t| normalized(t, source)).unwrap_or_default();
                let mutable = child.named_child(0).is_some_and(|n| n.kind() == "mutable_specifier");
                let name = if mutable { format!("mut {name}") } else { name };
                params.push(Param { name, ty });
            }
            "variadic_parameter" => {
                let name = child.child_by_field_name("pattern").map(|p| normalized(p, source)).unwrap_or_default();
                params.push(Param { name, ty: "...".to_owned() });
            }
            // Anonymous trait-method parameters of the 2015 edition: `fn f(u8)`.
            _ => params.push(Param { name: "_".to_owned(), ty: normalized(child, source) }),
        }
    }
    params
}

/// `&'a mut self` → name `self`, type `&'a mut Self`; `mut self` → name `mut self`, type `Self`.
fn self_param(written: &str) -> Param {
    if let Some(prefix) = written.strip_suffix("self") {
        if prefix.starts_with('&') {
            return Param { name: "self".to_owned(), ty: format!("{prefix}Self") };
        }
        if prefix.trim() == "mut" {
            return Param { name: "mut self".to_owned(), ty: "Self".to_owned() };
        }
    }
    Param { name: "self".to_owned(), ty: "Self".to_owned() }
}

/// Visibility text of an item, if it has a visibility modifier.
pub(crate) fn visibility(node: Node<'_>, source: &str) -> Option<String> {
    let mut cursor = node.walk();
    node.children(&mut cursor).find(|c| c.kind() == "visibility_modifier").map(|v| normalized(v, source))
}

/// Whether the item starts with the `unsafe` keyword (`unsafe impl`, `unsafe trait`).
pub(crate) fn starts_unsafe(node: Node<'_>) -> bool {
    let mut cursor = node.walk();
    node.children(&mut cursor).take(3).any(|c| c.kind() == "unsafe")
}

/// The shape of a struct, enum, union, type alias or trait item.
pub(crate) fn type_shape(node: Node<'_>, source: &str, kind: TypeShapeKind, attached: &Attached) -> Option<TypeShape> {
    let name = node.child_by_field_name("name")?;
    let mut shape = TypeShape {
        name: text(name, source).to_owned(),
        kind,
        generics: node.child_by_field_name("type_parameters").map(|g| normalized(g, source)),
        visibility: visibility(node, source),
        documented: attached.documented,
        ..TypeShape::default()
    };
    match kind {
        TypeShapeKind::Alias => shape.target = node.child_by_field_name("type").map(|t| normalized(t, source)),
        TypeShapeKind::Trait => {
            shape.target = node
                .child_by_field_name("bounds")
                .map(|b| normalized(b, source).trim_start_matches(':').trim().to_owned());
            if let Some(body) = node.child_by_field_name("body") {
                shape.members = associated_items(body, source);
            }
        }
        TypeShapeKind::Enum => {
            if let Some(body) = node.child_by_field_name("body") {
                let mut cursor = body.walk();
                for variant in body.named_children(&mut cursor).filter(|v| v.kind() == "enum_variant") {
                    let Some(vname) = variant.child_by_field_name("name") else { continue };
                    let payload = variant.child_by_field_name("body").map(|b| normalized(b, source));
                    let value = variant.child_by_field_name("value").map(|v| format!("= {}", normalized(v, source)));
                    shape.members.push(Member {
                        name: text(vname, source).to_owned(),
                        kind: MemberKind::Variant,
                        ty: payload.or(value),
                    });
                }
            }
        }
        _ => {
            if let Some(body) = node.child_by_field_name("body") {
                shape.members = fields(body, source);
            }
        }
    }
    Some(shape)
}

/// The fields of a `field_declaration_list` (named) or `ordered_field_declaration_list` (tuple).
pub(crate) fn fields(body: Node<'_>, source: &str) -> Vec<Member> {
    let mut members = Vec::new();
    let mut cursor = body.walk();
    if body.kind() == "field_declaration_list" {
        for field in body.named_children(&mut cursor).filter(|f| f.kind() == "field_declaration") {
            let Some(name) = field.child_by_field_name("name") else { continue };
            members.push(Member {
                name: text(name, source).to_owned(),
                kind: MemberKind::Field,
                ty: field.child_by_field_name("type").map(|t| normalized(t, source)),
            });
        }
    } else {
        let types = body.named_children(&mut cursor).filter(|t| {
            !matches!(t.kind(), "attribute_item" | "visibility_modifier" | "line_comment" | "block_comment")
        });
        for (i, ty) in types.enumerate() {
            members.push(Member { name: i.to_string(), kind: MemberKind::Field, ty: Some(normalized(ty, source)) });
        }
    }
    members
}

/// Methods, associated types and constants of a trait or impl body.
pub(crate) fn associated_items(body: Node<'_>, source: &str) -> Vec<Member> {
    let mut members = Vec::new();
    let mut cursor = body.walk();
    for item in body.named_children(&mut cursor) {
        match item.kind() {
            "function_item" | "function_signature_item" => {
                if let Some((sig, _)) = signature(item, source, None, &Attached::default()) {
                    members.push(Member { name: sig.name.clone(), kind: MemberKind::Method, ty: Some(sig.header()) });
                }
            }
            "associated_type" | "type_item" => {
                let Some(name) = item.child_by_field_name("name") else { continue };
                let ty = item
                    .child_by_field_name("bounds")
                    .or_else(|| item.child_by_field_name("type"))
                    .map(|b| normalized(b, source).trim_start_matches(':').trim().to_owned());
                members.push(Member { name: text(name, source).to_owned(), kind: MemberKind::AssociatedType, ty });
            }
            "const_item" => {
                let Some(name) = item.child_by_field_name("name") else { continue };
                members.push(Member {
                    name: text(name, source).to_owned(),
                    kind: MemberKind::AssociatedConst,
                    ty: item.child_by_field_name("type").map(|t| normalized(t, source)),
                });
            }
            _ => {}
        }
    }
    members
}

/// The last path segment of a type, before generics: `io::Result<()>` → `Result`.
pub(crate) fn type_head(ty: &str) -> &str {
    let base = ty.split('<').next().unwrap_or(ty);
    base.rsplit("::").next().unwrap_or(base).trim()
}

#[cfg(test)]
mod tests {
    use super::{mentions_word, self_param, type_head};

    #[test]
    fn self_params_are_normalized() {
        let p = self_param("&'a mut self");
        assert_eq!((p.name.as_str(), p.ty.as_str()), ("self", "&'a mut Self"));
        let p = self_param("mut self");
        assert_eq!((p.name.as_str(), p.ty.as_str()), ("mut self", "Self"));
        assert_eq!(self_param("&self").render(), "&self");
        assert_eq!(self_param("mut self").render(), "mut self");
    }

    #[test]
    fn type_heads() {
        assert_eq!(type_head("io::Result<()>"), "Result");
        assert_eq!(type_head("Option<&str>"), "Option");
        assert_eq!(type_head("u8"), "u8");
    }

    #[test]
    fn cfg_words() {
        assert!(mentions_word("all(test, feature = \"x\")", "test"));
        assert!(!mentions_word("feature = \"test\"", "test"));
        assert!(!mentions_word("tests", "test"));
    }
}
