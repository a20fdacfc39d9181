//! Knowledge files and the `knowledge-base` skill: `knowledge` uploads (text, Markdown, CSV, JSON, HTML, PDF) are
//! extracted and chunked at upload, searched by the skill within its `index` collection and the caller's account
//! only; files whose text cannot be read are refused and leave nothing behind; deleting a file removes its passages.
use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use serde_json::{Value, json};

use crate::{
    chat::until_done,
    db_tests,
    helpers::{Backend, TestApp, spawn_app_with},
    tools::{of_kind, tool_conversation},
};
use openclaw::auth::Plan;

db_tests!(
    knowledge_files_are_searched_by_the_knowledge_base_skill,
    unreadable_knowledge_is_refused_and_nothing_is_kept
);

const POLICY_PDF: &[u8] = include_bytes!("../fixtures/policy.pdf");

async fn upload(app: &TestApp, key: &str, name: &str, bytes: Vec<u8>, collection: Option<&str>) -> (StatusCode, Value) {
    let mut form = Form::new().text("purpose", "knowledge");
    if let Some(collection) = collection {
        form = form.text("collection", collection.to_owned());
    }
    let form = form.part("file", Part::bytes(bytes).file_name(name.to_owned()));
    let response = app.client.post(app.url("/v2/files")).header("X-API-Key", key).multipart(form).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn search(app: &TestApp, conversation: &str, query: &str) -> Value {
    let content = format!("/tool knowledge_base_search {}", json!({ "query": query }));
    let events = until_done(&mut app.stream_message(conversation, &content).await).await;
    let result = of_kind(&events, "tool.result")[0].clone();
    assert_eq!(result["error"], Value::Null, "{result}");
    result["result"].clone()
}

fn files_of(result: &Value) -> Vec<String> {
    result["passages"].as_array().unwrap().iter().map(|p| p["fileName"].as_str().unwrap().to_owned()).collect()
}

async fn knowledge_files_are_searched_by_the_knowledge_base_skill(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let key = app.key.clone();
    let (status, pdf) = upload(&app, &key, "policy.pdf", POLICY_PDF.to_vec(), Some("support")).await;
    assert_eq!(status, StatusCode::CREATED, "{pdf}");
    assert_eq!(pdf["contentType"], "application/pdf");
    assert_eq!(pdf["collection"], "support");
    let faq = "# FAQ\n\n## Warranty\n\nEvery kettle has a two-year warranty.\n\n".to_owned()
        + &"## Filler\n\nUnrelated words about teapots and saucers.\n\n".repeat(60);
    for (name, bytes, collection) in [
        ("faq.md", faq.into_bytes(), Some("support")),
        ("prices.csv", b"item,price\nkettle,49\nteapot,25\n".to_vec(), Some("support")),
        ("stores.json", br#"{"stores":[{"city":"Lyon","opens":"09:00"}]}"#.to_vec(), Some("support")),
        ("launch.html", b"<html><body><h1>Spring launch</h1><p>The refund window is longer during the launch.</p><script>var refund=1</script></body></html>".to_vec(), Some("marketing")),
    ] {
        let (status, body) = upload(&app, &key, name, bytes, collection).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
    }
    let (_, support) = tool_conversation(&app, &[("knowledge-base", json!({ "index": "support", "topK": 3 }))]).await;
    let refund = search(&app, &support, "How long is the refund window?").await;
    assert_eq!(refund["collection"], "support");
    assert_eq!(files_of(&refund), ["policy.pdf"], "the marketing page is another collection: {refund}");
    let passage = refund["passages"][0]["passage"].as_str().unwrap();
    assert!(passage.contains("return items within 30 days"), "the PDF's text: {passage}");
    assert_eq!(refund["passages"][0]["fileId"], pdf["id"]);
    assert_eq!(refund["passages"][0]["score"], 1.0, "scores are relative to the best passage");
    let warranty = search(&app, &support, "kettle warranty").await;
    assert_eq!(files_of(&warranty)[0], "faq.md", "{warranty}");
    assert!(warranty["passages"].as_array().unwrap().len() <= 3, "topK");
    assert!(files_of(&search(&app, &support, "Lyon opening").await).contains(&"stores.json".to_owned()));
    assert!(files_of(&search(&app, &support, "price list").await).contains(&"prices.csv".to_owned()));

    // The seed agent's `knowledge-base` (no index) searches every collection.
    let seed = app.seed_agent().await;
    let everything = app.open_conversation(&seed).await;
    let all = search(&app, &everything, "refund window").await;
    let mut names = files_of(&all);
    names.sort();
    assert_eq!(names, ["launch.html", "policy.pdf"], "{all}");
    let html = all["passages"].as_array().unwrap().iter().find(|p| p["fileName"] == "launch.html").unwrap();
    assert!(!html["passage"].as_str().unwrap().contains("var refund"), "scripts are not text: {html}");

    // Another tenant's agent finds nothing of it.
    let other = app.create_key("tenant-b", Plan::Free, &["*"]).await;
    let agent = app
        .send(
            reqwest::Method::POST,
            "/v2/agents",
            Some(&other),
            Some(json!({ "name": "b", "model": "echo", "skills": ["knowledge-base"] })),
        )
        .await;
    let conversation = app
        .send(reqwest::Method::POST, "/v2/conversations", Some(&other), Some(json!({ "agentId": agent.body["id"] })))
        .await;
    let content = "/tool knowledge_base_search {\"query\": \"refund window\"}";
    let response = app
        .client
        .post(app.url(&format!("/v2/conversations/{}/messages", conversation.body["id"].as_str().unwrap())))
        .header("X-API-Key", &other)
        .json(&json!({ "content": content }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body["reply"]["content"].as_str().unwrap().contains("\"passages\":[]"), "{body}");

    // Deleting the file removes its passages.
    let deleted = app.delete(&format!("/v2/files/{}", pdf["id"].as_str().unwrap())).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(search(&app, &support, "refund window").await["passages"], json!([]));
}

async fn unreadable_knowledge_is_refused_and_nothing_is_kept(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let key = app.key.clone();
    let broken_pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf body\n%%EOF".to_vec();
    let png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
    type Case<'a> = (&'a str, Vec<u8>, Option<&'a str>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        ("broken.pdf", broken_pdf, None, StatusCode::UNPROCESSABLE_ENTITY, "unreadable_file"),
        (
            "truncated.pdf",
            POLICY_PDF[..POLICY_PDF.len() / 2].to_vec(),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable_file",
        ),
        ("image.png", png, None, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file_type"),
        ("bad.json", b"{\"open\": ".to_vec(), None, StatusCode::UNPROCESSABLE_ENTITY, "unreadable_file"),
        ("bad-collection.txt", b"text".to_vec(), Some("Not Valid!"), StatusCode::BAD_REQUEST, "validation_error"),
    ];
    for (name, bytes, collection, status, code) in cases {
        let (got, body) = upload(&app, &key, name, bytes, collection).await;
        assert_eq!((got, body["error"]["code"].as_str().unwrap_or_default()), (status, code), "{name}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap_or_default().is_empty());
    }
    // A collection only makes sense for knowledge.
    let form = Form::new()
        .text("purpose", "user_data")
        .text("collection", "support")
        .part("file", Part::bytes(b"x".to_vec()).file_name("x.txt"));
    let response =
        app.client.post(app.url("/v2/files")).header("X-API-Key", &key).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Nothing was kept: no rows, no bytes.
    assert_eq!(app.get("/v2/files").await.body["pagination"]["total"], 0);
    let dir = std::path::Path::new(&app.state.config.storage_dir).join("files");
    let leftovers = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "no bytes left in {}", dir.display());
    // The same PNG is fine as plain user data.
    let form =
        Form::new().part("file", Part::bytes(vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]).file_name("i.png"));
    let response =
        app.client.post(app.url("/v2/files")).header("X-API-Key", &key).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}
