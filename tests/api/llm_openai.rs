//! The OpenAI-compatible provider against [`FakeOpenAi`]: streaming over split writes, tool calls, the
//! non-streamed mode, retries, error mapping, timeouts and the request it sends. No database is involved.
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use openclaw::llm::{
    ChatMessage, ChatRequest, Chunk, FinishReason, LlmError, LlmProvider, ProviderConfig, Role, ToolCall, ToolSpec,
    Usage, openai::OpenAiProvider,
};
use serde_json::json;

use crate::fake_openai::{self, DONE, FakeOpenAi, FakeResponse, PROMPT_TOKENS};

/// Short timeouts and retry delays, so failure paths finish fast.
fn config(base_url: &str) -> ProviderConfig {
    ProviderConfig {
        base_url: Some(base_url.to_owned()),
        connect_timeout_ms: 1_000,
        first_token_timeout_ms: 2_000,
        idle_timeout_ms: 2_000,
        max_retries: 2,
        retry_base_ms: 10,
        ..ProviderConfig::default()
    }
}

fn provider(config: &ProviderConfig) -> OpenAiProvider {
    OpenAiProvider::new("fake", config, reqwest::Client::new()).unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "gpt-4o-mini".into(),
        messages: vec![ChatMessage::new(Role::System, "Be brief."), ChatMessage::new(Role::User, "Hello")],
        temperature: None,
        max_tokens: None,
        tools: vec![],
        tool_choice: None,
    }
}

/// Everything the stream yields, errors included.
async fn run(provider: &OpenAiProvider) -> Vec<Result<Chunk, LlmError>> {
    provider.stream(request()).await.unwrap().collect().await
}

/// The chunks of a stream that must succeed.
async fn chunks(provider: &OpenAiProvider) -> Vec<Chunk> {
    run(provider).await.into_iter().collect::<Result<_, _>>().unwrap()
}

fn usage(completion_tokens: u64) -> Chunk {
    Chunk::Usage(Usage { prompt_tokens: PROMPT_TOKENS, completion_tokens })
}

#[tokio::test]
async fn streams_text_split_mid_json_and_mid_utf8() {
    let fake = FakeOpenAi::start().await;
    let events = fake_openai::text_chunks(&["你好", ", world", "!"]);
    let whole = events.concat();
    let ni = whole.find("你").unwrap();
    // Inside both three-byte characters, and every 13 bytes elsewhere (mid-JSON, mid-`data:`, mid-`\n\n`).
    let mut offsets: Vec<usize> = (13..whole.len()).step_by(13).chain([ni + 1, ni + 4]).collect();
    offsets.sort_unstable();
    let pieces = fake_openai::cut_at(&events, &offsets);
    assert!(pieces.len() > 20);
    fake.push(FakeResponse::Stream { chunks: pieces, delay: Duration::from_millis(1) });

    let chunks = chunks(&provider(&config(&fake.base_url))).await;

    assert_eq!(
        chunks,
        vec![
            Chunk::Delta("你好".into()),
            Chunk::Delta(", world".into()),
            Chunk::Delta("!".into()),
            usage(3),
            Chunk::Finish(FinishReason::Stop),
        ]
    );
}

#[tokio::test]
async fn tool_call_deltas_arrive_in_order_and_reassemble() {
    let fake = FakeOpenAi::start().await;
    let events = fake_openai::tool_call_chunks("call_abc", "get_weather", &["{\"ci", "ty\": \"Pa", "ris\"}"]);
    fake.push(FakeResponse::Stream { chunks: fake_openai::cut_every(&events, 7), delay: Duration::from_millis(1) });

    let chunks = chunks(&provider(&config(&fake.base_url))).await;

    let calls: Vec<_> = chunks
        .iter()
        .filter_map(|chunk| match chunk {
            Chunk::ToolCallDelta { index, id, name, arguments } => Some((*index, id.clone(), name.clone(), arguments)),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[0].1.as_deref(), Some("call_abc"));
    assert_eq!(calls[0].2.as_deref(), Some("get_weather"));
    assert!(calls.iter().all(|call| call.0 == 0));
    assert!(calls[1..].iter().all(|call| call.1.is_none() && call.2.is_none()));
    let arguments: String = calls.iter().map(|call| call.3.as_str()).collect();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&arguments).unwrap(), json!({"city": "Paris"}));
    assert!(!chunks.iter().any(|chunk| matches!(chunk, Chunk::Delta(_))));
    assert_eq!(chunks[chunks.len() - 2..], [usage(4), Chunk::Finish(FinishReason::ToolCalls)]);
}

#[tokio::test]
async fn non_streaming_mode_emits_the_whole_completion_as_chunks() {
    let fake = FakeOpenAi::start().await;
    fake.push(FakeResponse::completion(Some("Hi there"), &[("call_1", "lookup", r#"{"q":"x"}"#)]));
    let config = ProviderConfig { streaming: false, ..config(&fake.base_url) };

    let chunks = chunks(&provider(&config)).await;

    assert_eq!(
        chunks,
        vec![
            Chunk::Delta("Hi there".into()),
            Chunk::ToolCallDelta {
                index: 0,
                id: Some("call_1".into()),
                name: Some("lookup".into()),
                arguments: r#"{"q":"x"}"#.into(),
            },
            usage(7),
            Chunk::Finish(FinishReason::ToolCalls),
        ]
    );
    let body = &fake.requests()[0].body;
    assert_eq!(body["stream"], json!(false));
    assert!(body.get("stream_options").is_none());
}

#[tokio::test]
async fn rate_limit_is_retried_after_the_retry_after_delay() {
    let fake = FakeOpenAi::start().await;
    fake.push(FakeResponse::error(429, "Rate limit reached").with_header("retry-after", "1"));
    fake.push(FakeResponse::text(&["ok"]));
    let started = Instant::now();

    let chunks = chunks(&provider(&config(&fake.base_url))).await;

    let waited = started.elapsed();
    assert_eq!(chunks[0], Chunk::Delta("ok".into()));
    assert_eq!(fake.requests().len(), 2);
    assert!(waited >= Duration::from_secs(1), "Retry-After ignored: retried after {waited:?}");
    assert!(waited < Duration::from_secs(5), "took {waited:?}");
}

#[tokio::test]
async fn rate_limit_after_retries_is_rate_limited() {
    let fake = FakeOpenAi::start().await;
    fake.set_fallback(FakeResponse::error(429, "Rate limit reached for gpt-4o-mini"));
    let config = ProviderConfig { max_retries: 1, ..config(&fake.base_url) };

    let error = provider(&config).stream(request()).await.err().unwrap();

    assert!(
        matches!(&error, LlmError::RateLimited(m) if m.contains("Rate limit reached for gpt-4o-mini")),
        "{error:?}"
    );
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn server_errors_exhaust_the_retries_then_fail_as_upstream() {
    let fake = FakeOpenAi::start().await;
    for _ in 0..3 {
        fake.push(FakeResponse::error(500, "The server had an error while processing your request."));
    }
    fake.push(FakeResponse::text(&["too late"]));

    let error = provider(&config(&fake.base_url)).stream(request()).await.err().unwrap();

    assert!(matches!(&error, LlmError::Upstream(m) if m.contains("server had an error")), "{error:?}");
    assert_eq!(error.code(), "upstream_error");
    assert_eq!(fake.requests().len(), 3, "one try and max_retries = 2 retries");
}

#[tokio::test]
async fn unauthorized_is_auth_with_the_upstream_message_and_no_retry() {
    let fake = FakeOpenAi::start().await;
    let key = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    // Servers sometimes echo the rejected key; it must not come back through the error.
    fake.push(FakeResponse::error(401, &format!("Incorrect API key provided: {key}. Check your key.")));
    let config = ProviderConfig { api_key_env: Some("CARGO_MANIFEST_DIR".into()), ..config(&fake.base_url) };

    let error = provider(&config).stream(request()).await.err().unwrap();

    let LlmError::Auth(message) = &error else { panic!("expected Auth, got {error:?}") };
    assert!(message.contains("Incorrect API key provided"), "{message}");
    assert!(message.contains("Check your key."), "{message}");
    assert!(!message.contains(&key), "{message}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn bad_request_is_not_retried_and_carries_the_message() {
    let fake = FakeOpenAi::start().await;
    fake.push(FakeResponse::error(400, "This model's maximum context length is 128000 tokens."));
    fake.push(FakeResponse::error(404, "The model `gpt-9` does not exist"));
    let provider = provider(&config(&fake.base_url));

    let first = provider.stream(request()).await.err().unwrap();
    let second = provider.stream(request()).await.err().unwrap();

    assert!(matches!(&first, LlmError::BadRequest(m) if m.contains("maximum context length")), "{first:?}");
    assert!(matches!(&second, LlmError::BadRequest(m) if m.contains("does not exist")), "{second:?}");
    assert_eq!(fake.requests().len(), 2);
}

fn quick_timeouts(base_url: &str) -> ProviderConfig {
    ProviderConfig { first_token_timeout_ms: 200, idle_timeout_ms: 200, ..config(base_url) }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_on_the_first_token() {
    let fake = FakeOpenAi::start().await;
    fake.push(FakeResponse::Stall);
    let started = Instant::now();

    let error = provider(&quick_timeouts(&fake.base_url)).stream(request()).await.err().unwrap();

    assert!(matches!(error, LlmError::Timeout(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(fake.requests().len(), 1, "timeouts are not retried");
}

#[tokio::test]
async fn headers_without_a_first_chunk_time_out() {
    let fake = FakeOpenAi::start().await;
    fake.push(FakeResponse::StallAfter { chunks: vec![] });
    let started = Instant::now();

    let items = run(&provider(&quick_timeouts(&fake.base_url))).await;

    assert!(matches!(items[..], [Err(LlmError::Timeout(_))]), "{items:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn silence_between_chunks_times_out() {
    let fake = FakeOpenAi::start().await;
    let events = fake_openai::text_chunks(&["Hel", "lo"]);
    fake.push(FakeResponse::StallAfter { chunks: events[..2].iter().map(|e| e.clone().into_bytes()).collect() });
    let started = Instant::now();

    let items = run(&provider(&quick_timeouts(&fake.base_url))).await;

    assert!(matches!(&items[..], [Ok(Chunk::Delta(text)), Err(LlmError::Timeout(_))] if text == "Hel"), "{items:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_connection_dropped_mid_stream_is_incomplete() {
    let fake = FakeOpenAi::start().await;
    let events = fake_openai::text_chunks(&["Hel", "lo", " world"]);
    fake.push(FakeResponse::CloseMidStream { chunks: events[..3].iter().map(|e| e.clone().into_bytes()).collect() });

    let items = run(&provider(&config(&fake.base_url))).await;

    assert_eq!(items, vec![Ok(Chunk::Delta("Hel".into())), Ok(Chunk::Delta("lo".into())), Err(LlmError::Incomplete)]);
}

#[tokio::test]
async fn end_of_body_without_done_is_incomplete_unless_the_reply_finished() {
    let fake = FakeOpenAi::start().await;
    let events = fake_openai::text_chunks(&["Hi"]);
    // Role, content; then the body ends cleanly: no finish reason, no [DONE].
    fake.push(FakeResponse::stream(events[..2].to_vec()));
    // Everything but [DONE], as some servers do.
    fake.push(FakeResponse::stream(events.iter().filter(|e| *e != DONE).cloned().collect()));
    let provider = provider(&config(&fake.base_url));

    let cut = run(&provider).await;
    let finished = run(&provider).await;

    assert_eq!(cut, vec![Ok(Chunk::Delta("Hi".into())), Err(LlmError::Incomplete)]);
    assert_eq!(finished, vec![Ok(Chunk::Delta("Hi".into())), Ok(usage(1)), Ok(Chunk::Finish(FinishReason::Stop))]);
}

#[tokio::test]
async fn malformed_chunks_and_stream_errors_fail_as_upstream() {
    let fake = FakeOpenAi::start().await;
    let events = fake_openai::text_chunks(&["Hi"]);
    fake.push(FakeResponse::stream(vec![events[1].clone(), "data: {\"choices\": [oops\n\n".into(), DONE.into()]));
    let error = json!({"error": {"message": "The server is overloaded", "type": "server_error"}});
    fake.push(FakeResponse::stream(vec![events[1].clone(), fake_openai::sse(&error), DONE.into()]));
    let provider = provider(&config(&fake.base_url));

    let malformed = run(&provider).await;
    let in_stream = run(&provider).await;

    assert_eq!(malformed.len(), 2, "{malformed:?}");
    assert!(matches!(&malformed[1], Err(LlmError::Upstream(m)) if m.contains("malformed")), "{malformed:?}");
    assert_eq!(in_stream.len(), 2, "{in_stream:?}");
    assert!(matches!(&in_stream[1], Err(LlmError::Upstream(m)) if m == "The server is overloaded"), "{in_stream:?}");
}

#[tokio::test]
async fn nothing_listening_is_unreachable_after_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = ProviderConfig { max_retries: 1, ..config(&format!("http://{addr}/v1")) };

    let error = provider(&config).stream(request()).await.err().unwrap();

    assert!(matches!(&error, LlmError::Unreachable(m) if m.contains(&addr.to_string())), "{error:?}");
    assert_eq!(error.code(), "upstream_unreachable");
}

#[tokio::test]
async fn the_request_carries_the_key_and_the_openai_body() {
    let fake = FakeOpenAi::start().await;
    fake.push(FakeResponse::tool_call("call_2", "lookup", &["{}"]));
    let config = ProviderConfig {
        api_key_env: Some("CARGO_MANIFEST_DIR".into()),
        // A trailing slash is tolerated.
        ..config(&format!("{}/", fake.base_url))
    };
    let call = ToolCall { id: "call_1".into(), name: "lookup".into(), arguments: r#"{"q":"rust"}"#.into() };
    let mut assistant = ChatMessage::new(Role::Assistant, "");
    assistant.tool_calls = vec![call];
    let mut tool = ChatMessage::new(Role::Tool, "found it");
    tool.tool_call_id = Some("call_1".into());
    let request = ChatRequest {
        model: "gpt-4o-mini".into(),
        messages: vec![ChatMessage::new(Role::User, "Search"), assistant, tool],
        temperature: Some(0.5),
        max_tokens: Some(64),
        tools: vec![ToolSpec {
            name: "lookup".into(),
            description: "Searches the web.".into(),
            parameters: json!({"type": "object", "properties": {"q": {"type": "string"}}}),
        }],
        tool_choice: None,
    };

    let items: Vec<_> = provider(&config).stream(request).await.unwrap().collect().await;

    assert_eq!(items.last(), Some(&Ok(Chunk::Finish(FinishReason::ToolCalls))));

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", "/v1/chat/completions"));
    let key = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {key}").as_str()));
    assert_eq!(
        sent.body,
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "user", "content": "Search"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"rust\"}"}}
                ]},
                {"role": "tool", "content": "found it", "tool_call_id": "call_1"},
            ],
            "temperature": 0.5,
            "max_tokens": 64,
            "tools": [{"type": "function", "function": {
                "name": "lookup",
                "description": "Searches the web.",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            }}],
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    );
}

#[tokio::test]
async fn optional_fields_are_left_out() {
    let fake = FakeOpenAi::start().await;
    fake.push(FakeResponse::text(&["ok"]));
    let config = ProviderConfig { stream_usage: false, ..config(&fake.base_url) };

    let _ = chunks(&provider(&config)).await;

    let sent = &fake.requests()[0];
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(
        sent.body,
        json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
            "stream": true,
        })
    );
}

#[tokio::test]
async fn a_named_but_missing_key_variable_fails_at_construction() {
    let config = ProviderConfig {
        api_key_env: Some("OPENCLAW_TEST_KEY_THAT_IS_NOT_SET".into()),
        ..config("http://127.0.0.1:9/v1")
    };

    let error = OpenAiProvider::new("fake", &config, reqwest::Client::new()).err().unwrap();

    assert!(error.to_string().contains("OPENCLAW_TEST_KEY_THAT_IS_NOT_SET"), "{error}");
}

#[tokio::test]
async fn whole_tool_calls_without_an_index_each_get_their_own() {
    // Older Ollama: each call whole in one delta, no `index`.
    let fake = FakeOpenAi::start().await;
    let call = |id: &str, name: &str| json!({"id": id, "type": "function", "function": {"name": name, "arguments": {"q": id}}});
    let delta = |calls: serde_json::Value| {
        fake_openai::chunk(json!([{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": null}]), json!(null))
    };
    let finish = fake_openai::chunk(json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]), json!(null));
    fake.push(FakeResponse::stream(vec![delta(json!([call("a", "one")])), delta(json!([call("b", "two")])), finish]));

    let chunks = chunks(&provider(&config(&fake.base_url))).await;

    let calls: Vec<_> = chunks
        .iter()
        .filter_map(|chunk| match chunk {
            Chunk::ToolCallDelta { index, id, arguments, .. } => Some((*index, id.clone().unwrap(), arguments.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(calls, vec![(0, "a".into(), r#"{"q":"a"}"#.into()), (1, "b".into(), r#"{"q":"b"}"#.into())]);
    assert_eq!(chunks.last(), Some(&Chunk::Finish(FinishReason::ToolCalls)));
}
