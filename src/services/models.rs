//! Model references: `"gpt-4"`, `"openai/gpt-4"` or `{provider, name}` all resolve to a (provider, name) pair.
use crate::error::{AppError, AppResult};

/// A resolved model reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    pub provider: String,
    pub name: String,
}

/// Well-known model families and the provider that serves them, for bare names like `gpt-4`.
const FAMILIES: &[(&str, &str)] = &[
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt-", "openai"),
    ("claude-", "anthropic"),
    ("gemini-", "google"),
    ("mistral-", "mistral"),
    ("llama", "meta"),
    ("smollm", "local"),
];

/// Parses `provider/name` or a bare name; a bare name's provider is inferred from its family,
/// `echo` is the built-in development model, and anything else is served by the default `openai`-compatible provider.
pub fn parse_model(field: &str, raw: &str) -> AppResult<ModelRef> {
    let raw = raw.trim();
    if let Some((provider, name)) = raw.split_once('/') {
        return build(field, provider, name);
    }
    if raw == "echo" {
        return build(field, "echo", "echo");
    }
    let lower = raw.to_ascii_lowercase();
    let provider =
        FAMILIES.iter().find(|(prefix, _)| lower.starts_with(prefix)).map_or("openai", |(_, provider)| provider);
    build(field, provider, raw)
}

/// Validates an explicit provider and name.
pub fn build(field: &str, provider: &str, name: &str) -> AppResult<ModelRef> {
    let valid_provider = !provider.is_empty()
        && provider.len() <= 64
        && provider.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_provider {
        return Err(AppError::validation(format!("{field}.provider"), "must be 1-64 letters, digits, '-' or '_'"));
    }
    if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(AppError::validation(format!("{field}.name"), "must be 1-200 printable characters"));
    }
    Ok(ModelRef { provider: provider.to_owned(), name: name.trim().to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_the_seed_forms() {
        assert_eq!(
            parse_model("model", "gpt-4").expect("gpt-4"),
            ModelRef { provider: "openai".into(), name: "gpt-4".into() }
        );
        assert_eq!(parse_model("model", "openai/gpt-4").expect("slash").provider, "openai");
        assert_eq!(parse_model("model", "claude-3-opus").expect("claude").provider, "anthropic");
        assert_eq!(parse_model("model", "echo").expect("echo").provider, "echo");
        assert_eq!(parse_model("model", "ollama/qwen2.5:7b").expect("ollama").name, "qwen2.5:7b");
        assert!(parse_model("model", "").is_err());
        assert!(parse_model("model", "bad provider/x").is_err());
    }
}
