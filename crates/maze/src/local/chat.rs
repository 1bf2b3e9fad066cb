//! Chat templates, rendered straight to token ids.
//!
//! A GGUF file carries its chat template as Jinja (`tokenizer.chat_template`). Rather than embed a Jinja engine,
//! maze recognizes the two families its models use — ChatML (SmolLM2, Qwen, ...) and Llama 3's header style — and
//! renders them the way the template would, with the control tokens inserted as ids and every message encoded as
//! text. That is also what makes prompt injection of markup impossible.

use super::tokenizer::Tokenizer;
use crate::backend::{Message, Role};

/// A chat template maze knows how to render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ChatTemplate {
    /// `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then `<|im_start|>assistant\n`.
    ChatMl {
        im_start: u32,
        im_end: u32,
        /// The system message the template adds when the chat does not start with one (SmolLM2 has one).
        default_system: Option<String>,
    },
    /// `<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>` per message, after BOS.
    Llama3 { start_header: u32, end_header: u32, eot: u32 },
}

impl ChatTemplate {
    /// Recognizes the template from its Jinja source and the vocabulary's control tokens.
    pub(crate) fn detect(jinja: &str, tokenizer: &Tokenizer) -> Option<Self> {
        if jinja.contains("<|im_start|>") {
            return Some(ChatTemplate::ChatMl {
                im_start: tokenizer.special("<|im_start|>")?,
                im_end: tokenizer.special("<|im_end|>")?,
                default_system: default_system(jinja),
            });
        }
        if jinja.contains("<|start_header_id|>") {
            return Some(ChatTemplate::Llama3 {
                start_header: tokenizer.special("<|start_header_id|>")?,
                end_header: tokenizer.special("<|end_header_id|>")?,
                eot: tokenizer.special("<|eot_id|>")?,
            });
        }
        None
    }

    /// The prompt for the next assistant message.
    pub(crate) fn render(&self, messages: &[Message], tokenizer: &Tokenizer) -> Result<Vec<u32>, String> {
        let mut out = Vec::new();
        match self {
            ChatTemplate::ChatMl { im_start, im_end, default_system } => {
                if tokenizer.add_bos()
                    && let Some(bos) = tokenizer.bos()
                    && bos != *im_start
                {
                    out.push(bos);
                }
                let turn = |role: &str, content: &str, out: &mut Vec<u32>| -> Result<(), String> {
                    out.push(*im_start);
                    tokenizer.encode_into(&format!("{role}\n{content}"), out)?;
                    out.push(*im_end);
                    tokenizer.encode_into("\n", out)
                };
                if let Some(system) = default_system
                    && messages.first().is_none_or(|m| m.role != Role::System)
                {
                    turn("system", system, &mut out)?;
                }
                for m in messages {
                    turn(m.role.as_str(), &m.content, &mut out)?;
                }
                out.push(*im_start);
                tokenizer.encode_into("assistant\n", &mut out)?;
            }
            ChatTemplate::Llama3 { start_header, end_header, eot } => {
                out.extend(tokenizer.bos());
                for m in messages {
                    out.push(*start_header);
                    tokenizer.encode_into(m.role.as_str(), &mut out)?;
                    out.push(*end_header);
                    tokenizer.encode_into(&format!("\n\n{}", m.content.trim()), &mut out)?;
                    out.push(*eot);
                }
                out.push(*start_header);
                tokenizer.encode_into("assistant", &mut out)?;
                out.push(*end_header);
                tokenizer.encode_into("\n\n", &mut out)?;
            }
        }
        Ok(out)
    }
}

/// The literal default system message of a ChatML template: the text between `<|im_start|>system\n` and
/// `<|im_end|>` when it is written out in the template rather than taken from a message.
fn default_system(jinja: &str) -> Option<String> {
    const OPEN: &str = "<|im_start|>system\n";
    let (_, after) = jinja.split_once(OPEN).or_else(|| jinja.split_once("<|im_start|>system\\n"))?;
    let text = after.split_once("<|im_end|>")?.0;
    // A template variable or an expression means the text comes from the messages, not from the template.
    if text.contains("{{") || text.contains("{%") || text.contains('\'') || text.contains('+') {
        return None;
    }
    Some(text.replace("\\n", "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn smollm2_default_system_message_is_read_from_the_template() {
        assert_eq!(
            default_system(SMOLLM2).as_deref(),
            Some("You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        );
        let plain = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}";
        assert_eq!(default_system(plain), None);
    }
}
