//! Token counting where a provider does not report usage, and for trimming history to a context window.
//! A token here is one word-boundary segment of the text (a word, a number, a punctuation mark, one CJK
//! character) with the whitespace before it attached: the unit the `echo` model streams. For real models the
//! count is an estimate (BPE tokenizers differ), used only when the provider reports no usage.
use unicode_segmentation::UnicodeSegmentation;

use super::ChatMessage;

/// Tokens every message adds for its role and framing (OpenAI's chat format adds about 4).
pub const PER_MESSAGE_OVERHEAD: u64 = 4;

/// Splits `text` into tokens; concatenating them gives back `text` exactly.
pub fn split(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = 0;
    for (offset, segment) in text.split_word_bound_indices() {
        // Whitespace waits for the next word and becomes part of it.
        if segment.chars().all(char::is_whitespace) {
            continue;
        }
        let end = offset + segment.len();
        tokens.push(&text[start..end]);
        start = end;
    }
    if start < text.len() {
        tokens.push(&text[start..]);
    }
    tokens
}

pub fn count(text: &str) -> u64 {
    split(text).len() as u64
}

/// Tokens a prompt costs: its messages' tokens plus framing.
pub fn count_prompt(messages: &[ChatMessage]) -> u64 {
    messages
        .iter()
        .map(|m| {
            PER_MESSAGE_OVERHEAD
                + count(&m.content)
                + m.tool_calls.iter().map(|c| count(&c.name) + count(&c.arguments)).sum::<u64>()
        })
        .sum()
}

/// The tokens tool definitions add to a prompt (their names, descriptions and schemas as text).
pub fn count_tools(tools: &[super::ToolSpec]) -> u64 {
    tools.iter().map(|t| count(&t.name) + count(&t.description) + count(&t.parameters.to_string())).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_reassemble_the_text() {
        for text in ["Hello, world!", "  leading and trailing  ", "你好,请帮我分析数据", "a\n\nb", "", "x"] {
            assert_eq!(split(text).concat(), text, "{text:?}");
        }
        assert_eq!(split("Hello, world!"), vec!["Hello", ",", " world", "!"]);
        assert_eq!(count("你好"), 2);
        assert_eq!(count(""), 0);
    }
}
