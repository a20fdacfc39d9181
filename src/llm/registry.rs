//! The provider registry: `[providers.<name>]` tables in config become providers; an agent's model reference
//! `(provider, name)` resolves to one of them, or to the fallback (the `echo` development model by default) when
//! no provider of that name is configured, so a fresh install answers offline.
use std::{collections::BTreeMap, collections::HashMap, sync::Arc, time::Duration};

use serde::Deserialize;

use super::{LlmProvider, echo::EchoProvider, openai::OpenAiProvider};
use crate::{error::AppError, services::models::ModelRef};

/// What kind of API a configured provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// `POST {base_url}/chat/completions`: OpenAI, vLLM, Ollama, llama.cpp server, LM Studio.
    OpenaiCompatible,
    /// The built-in development model.
    Echo,
}

/// One `[providers.<name>]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "snake_case", deny_unknown_fields)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// e.g. `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1` (Ollama), `http://127.0.0.1:8000/v1` (vLLM).
    pub base_url: Option<String>,
    /// The name of the environment variable holding the API key (the key itself never sits in config).
    pub api_key_env: Option<String>,
    /// Tokens the model sees at once (prompt + reply); history is trimmed to fit.
    pub context_window: u32,
    pub connect_timeout_ms: u64,
    /// Longest wait for the response headers and the first chunk.
    pub first_token_timeout_ms: u64,
    /// Longest silence between two chunks once streaming.
    pub idle_timeout_ms: u64,
    /// Retries on 429/5xx/connection failures, only before the first token.
    pub max_retries: u32,
    /// First backoff delay; doubles per retry, with jitter; `Retry-After` wins when longer.
    pub retry_base_ms: u64,
    /// `false` asks the upstream for one non-streamed completion (for servers without streaming).
    pub streaming: bool,
    /// Ask for the final usage chunk (`stream_options.include_usage`); turn off for servers that reject it.
    pub stream_usage: bool,
    /// Echo only: delay between tokens.
    pub token_delay_ms: u64,
    /// The model accepts image parts (a vision model): image attachments are sent to it.
    pub vision: bool,
    /// The server ignores `tool_choice: "auto"` (llama.cpp's default chat format): a reply's first model call names
    /// the tool when the agent offers exactly one.
    pub force_tool_choice: bool,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            kind: ProviderKind::OpenaiCompatible,
            base_url: None,
            api_key_env: None,
            context_window: 8192,
            connect_timeout_ms: 5_000,
            first_token_timeout_ms: 60_000,
            idle_timeout_ms: 30_000,
            max_retries: 2,
            retry_base_ms: 500,
            streaming: true,
            stream_usage: true,
            token_delay_ms: 20,
            vision: false,
            force_tool_choice: false,
        }
    }
}

impl ProviderConfig {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    pub fn first_token_timeout(&self) -> Duration {
        Duration::from_millis(self.first_token_timeout_ms)
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
}

/// A model reference resolved to the provider that will serve it.
#[derive(Clone)]
pub struct Resolved {
    pub provider: Arc<dyn LlmProvider>,
    /// The model name sent to the provider and stored with the reply.
    pub model: String,
}

impl Resolved {
    /// `provider/model`, as stored on replies.
    pub fn label(&self) -> String {
        format!("{}/{}", self.provider.name(), self.model)
    }
}

pub struct Registry {
    providers: HashMap<String, Arc<dyn LlmProvider>>,
    fallback: Option<String>,
}

impl Registry {
    /// Builds every configured provider; `echo` always exists (with `echo_token_delay_ms` unless configured).
    pub fn from_config(
        providers: &BTreeMap<String, ProviderConfig>,
        fallback: Option<String>,
        echo_token_delay: Duration,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().build()?;
        let mut built: HashMap<String, Arc<dyn LlmProvider>> = HashMap::new();
        built.insert("echo".into(), Arc::new(EchoProvider::new("echo", echo_token_delay)));
        for (name, config) in providers {
            let provider: Arc<dyn LlmProvider> = match config.kind {
                ProviderKind::Echo => Arc::new(EchoProvider::new(name, Duration::from_millis(config.token_delay_ms))),
                ProviderKind::OpenaiCompatible => Arc::new(OpenAiProvider::new(name, config, http.clone())?),
            };
            built.insert(name.clone(), provider);
        }
        if let Some(fallback) = &fallback {
            anyhow::ensure!(built.contains_key(fallback), "fallback_provider `{fallback}` is not configured");
        }
        Ok(Self { providers: built, fallback })
    }

    /// The provider for `model`; an unconfigured provider falls back (to `echo`, model `echo`) when allowed.
    pub fn resolve(&self, model: &ModelRef) -> Result<Resolved, AppError> {
        if let Some(provider) = self.providers.get(&model.provider) {
            let name = if model.provider == "echo" && provider.name() == "echo" { "echo" } else { &model.name };
            return Ok(Resolved { provider: provider.clone(), model: name.to_owned() });
        }
        match self.fallback.as_ref().and_then(|name| self.providers.get(name)) {
            Some(provider) => {
                let model = if provider.name() == "echo" { "echo".to_owned() } else { model.name.clone() };
                Ok(Resolved { provider: provider.clone(), model })
            }
            None => Err(AppError::validation(
                "model",
                format!("no model provider named `{}` is configured on this server", model.provider),
            )),
        }
    }
}
