//! Message attachments reach the model: a stored file (`fileId`) or a `url` fetched through the SSRF guard is
//! extracted into the prompt within its token budget; images become image parts for models that accept them and
//! a note for the others; unreadable files become a note, not a failure; bad references are refused at send time
//! and store nothing.
use axum::{Router, routing::get};
use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use serde_json::{Value, json};

use crate::{
    db_tests,
    fake_openai::{FakeOpenAi, FakeResponse},
    helpers::{Backend, TestApp, spawn_app_with},
};
use openclaw::{
    auth::Plan,
    llm::{ProviderConfig, ProviderKind},
};

db_tests!(
    files_and_urls_are_read_into_the_prompt,
    images_go_to_models_that_accept_them,
    bad_attachments_are_refused_or_noted,
);

const POLICY_PDF: &[u8] = include_bytes!("../fixtures/policy.pdf");
const PNG: [u8; 16] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];

async fn store(app: &TestApp, key: &str, name: &str, bytes: Vec<u8>) -> String {
    let form = Form::new().text("purpose", "attachment").part("file", Part::bytes(bytes).file_name(name.to_owned()));
    let response = app.client.post(app.url("/v2/files")).header("X-API-Key", key).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn send(app: &TestApp, conversation: &str, content: &str, attachments: Value) -> crate::helpers::Reply {
    app.post(
        &format!("/v2/conversations/{conversation}/messages"),
        json!({ "content": content, "attachments": attachments }),
    )
    .await
}

/// Serves `/report.csv` and `/huge.txt` on loopback (allowed in tests by `OPENCLAW_OUTBOUND_ALLOWLIST`).
async fn file_server() -> String {
    let router = Router::new()
        .route(
            "/report.csv",
            get(|| async { ([("content-type", "application/octet-stream")], "region,sales\nnorth,120\nsouth,95\n") }),
        )
        .route("/missing", get(|| async { (StatusCode::NOT_FOUND, "no") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

async fn files_and_urls_are_read_into_the_prompt(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let (_, conversation) = app.echo_conversation().await;
    let notes = store(&app, &app.key, "notes.md", b"# Notes\n\nThe launch date is 12 March.".to_vec()).await;
    let pdf = store(&app, &app.key, "policy.pdf", POLICY_PDF.to_vec()).await;
    let server = file_server().await;
    let sent = send(
        &app,
        &conversation,
        "Summarise these.",
        json!([{ "type": "file", "fileId": notes }, { "type": "file", "fileId": pdf }, { "type": "file", "url": format!("{server}/report.csv") }]),
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    // The echo model repeats the user message as the model received it: the attachments' text is in it.
    let seen = sent.body["reply"]["content"].as_str().unwrap();
    assert!(seen.starts_with("Echo: Summarise these."), "{seen}");
    assert!(seen.contains("<attachment name=\"notes.md\" type=\"text/markdown\">\n# Notes\n\nThe launch date is 12 March.\n</attachment>"), "{seen}");
    assert!(
        seen.contains("<attachment name=\"policy.pdf\" type=\"application/pdf\">")
            && seen.contains("return items within 30 days"),
        "{seen}"
    );
    assert!(
        seen.contains("<attachment name=\"report.csv\" type=\"text/csv\">\nregion,sales\nnorth,120"),
        "the URL's type is sniffed: {seen}"
    );
    // The stored user message keeps the references, not the text.
    let stored = &sent.body["message"];
    assert_eq!(stored["content"], "Summarise these.");
    assert_eq!(stored["attachments"][0]["fileId"], notes.as_str());
    assert_eq!(stored["attachments"][2]["url"], format!("{server}/report.csv"));

    // A file too long for the prompt is cut to its budget (half the context window) and says so.
    let long = store(&app, &app.key, "long.txt", "lorem ipsum dolor ".repeat(30_000).into_bytes()).await;
    let cut = send(&app, &conversation, "And this?", json!([{ "type": "file", "fileId": long }])).await;
    let seen = cut.body["reply"]["content"].as_str().unwrap();
    assert!(
        seen.contains("[… cut: the rest does not fit in the prompt]"),
        "{}",
        &seen[seen.len().saturating_sub(300)..]
    );
    let prompt_tokens = cut.body["reply"]["usage"]["promptTokens"].as_u64().unwrap();
    assert!(prompt_tokens <= 32_768, "within the echo model's window: {prompt_tokens}");
    assert!(prompt_tokens > 16_000, "the attachment used its budget: {prompt_tokens}");
}

async fn images_go_to_models_that_accept_them(backend: Backend) {
    let fake = FakeOpenAi::start().await;
    let base_url = fake.base_url.clone();
    let app = spawn_app_with(backend, move |config| {
        config.echo_token_delay_ms = 0;
        for (name, vision) in [("vision", true), ("textonly", false)] {
            let provider = ProviderConfig {
                kind: ProviderKind::OpenaiCompatible,
                base_url: Some(base_url.clone()),
                vision,
                max_retries: 0,
                ..ProviderConfig::default()
            };
            config.providers.insert(name.into(), provider);
        }
    })
    .await;
    let image = store(&app, &app.key, "chart.png", PNG.to_vec()).await;
    let attachment = json!([{ "type": "file", "fileId": image }]);
    // Echo describes what it sees.
    let (_, echo) = app.echo_conversation().await;
    let seen = send(&app, &echo, "What is in the chart?", attachment.clone()).await;
    assert!(seen.body["reply"]["content"].as_str().unwrap().contains("[image image/png 16 bytes]"), "{}", seen.text);
    for (model, parts) in [("vision/gpt-4o", true), ("textonly/gpt-3.5", false)] {
        let agent = app.post("/v2/agents", json!({ "name": model, "model": model })).await;
        let conversation = app.open_conversation(agent.body["id"].as_str().unwrap()).await;
        fake.push(FakeResponse::text(&["A chart."]));
        let sent = send(&app, &conversation, "What is in the chart?", attachment.clone()).await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
        let request = fake.requests().last().unwrap().body.clone();
        let content = &request["messages"].as_array().unwrap().last().unwrap()["content"];
        if parts {
            assert_eq!(content[0]["type"], "text");
            assert!(content[0]["text"].as_str().unwrap().starts_with("What is in the chart?"));
            assert_eq!(content[1]["type"], "image_url");
            let url = content[1]["image_url"]["url"].as_str().unwrap();
            assert!(url.starts_with("data:image/png;base64,iVBORw0KGgo"), "{url}");
        } else {
            let text = content.as_str().unwrap();
            assert!(text.contains("[image attached: chart.png — this model cannot see images]"), "{text}");
        }
    }
}

async fn bad_attachments_are_refused_or_noted(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let (_, conversation) = app.echo_conversation().await;
    let other = app.create_key("tenant-b", Plan::Free, &["*"]).await;
    let theirs = store(&app, &other, "secret.txt", b"tenant b's secret".to_vec()).await;
    for (attachment, field) in [
        (json!({ "type": "file", "fileId": theirs }), "attachments[0].fileId"),
        (json!({ "type": "file", "fileId": "file-missing" }), "attachments[0].fileId"),
        (json!({ "type": "file", "url": "http://169.254.169.254/latest/meta-data/" }), "attachments[0].url"),
        (json!({ "type": "file", "url": "http://10.0.0.7/x.txt" }), "attachments[0].url"),
        (json!({ "type": "file", "url": "ftp://example.com/x" }), "attachments[0].url"),
    ] {
        let reply = send(&app, &conversation, "read this", json!([attachment])).await;
        reply.assert_error(400, "validation_error");
        assert_eq!(reply.field(), field, "{}", reply.text);
        assert!(!reply.text.contains("tenant b's secret"));
    }
    let listed = app.get(&format!("/v2/conversations/{conversation}/messages")).await;
    assert_eq!(listed.body["messages"], json!([]), "nothing was stored");

    // Files that cannot be read (a broken PDF, a URL that 404s) become notes; the reply still completes.
    let broken = store(&app, &app.key, "broken.pdf", b"%PDF-1.7\ngarbage\n%%EOF".to_vec()).await;
    let server = file_server().await;
    let sent = send(
        &app,
        &conversation,
        "read these",
        json!([{ "type": "file", "fileId": broken }, { "type": "file", "url": format!("{server}/missing") }]),
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    assert_eq!(sent.body["reply"]["status"], "completed");
    let seen = sent.body["reply"]["content"].as_str().unwrap();
    assert!(seen.contains("[attachment broken.pdf could not be read: the file could not be read as PDF"), "{seen}");
    assert!(seen.contains("could not be read: upstream answered HTTP 404]"), "{seen}");
    // A deleted file is refused like any unknown one.
    let gone = store(&app, &app.key, "gone.txt", b"soon gone".to_vec()).await;
    let deleted = app.delete(&format!("/v2/files/{gone}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let refused = send(&app, &conversation, "read", json!([{ "type": "file", "fileId": gone }])).await;
    refused.assert_error(400, "validation_error");
}
