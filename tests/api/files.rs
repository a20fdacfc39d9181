//! Files: multipart uploads streamed to storage, metadata, listing, deletion, and downloads with ranges.
use openclaw::auth::Plan;
use reqwest::{
    Method, StatusCode,
    multipart::{Form, Part},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    db_tests,
    helpers::{Backend, TestApp, spawn_app, spawn_app_with},
};

db_tests!(
    an_upload_is_stored_with_sniffed_metadata_and_downloads_whole_or_in_ranges,
    files_are_listed_deleted_and_private_to_their_account,
    bad_uploads_are_refused_and_leave_nothing_behind,
    graphql_uploads_follow_the_multipart_request_spec,
);

async fn upload_as(
    app: &TestApp,
    key: &str,
    name: &str,
    client_type: &str,
    bytes: Vec<u8>,
    purpose: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = Form::new();
    if let Some(purpose) = purpose {
        form = form.text("purpose", purpose.to_owned());
    }
    let part = Part::bytes(bytes).file_name(name.to_owned()).mime_str(client_type).unwrap();
    let response = app
        .client
        .post(app.url("/v2/files"))
        .header("X-API-Key", key)
        .multipart(form.part("file", part))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn upload(app: &TestApp, name: &str, client_type: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    upload_as(app, &app.key, name, client_type, bytes, Some("knowledge")).await
}

async fn download(app: &TestApp, id: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(app.url(&format!("/v2/files/{id}/content"))).header("X-API-Key", &app.key);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn an_upload_is_stored_with_sniffed_metadata_and_downloads_whole_or_in_ranges(backend: Backend) {
    let app = spawn_app(backend).await;
    let text = "退货政策：30 天内无理由退货。\nReturns within 30 days.\n".repeat(50).into_bytes();
    // The client claims a binary type and a path: the type is sniffed, the path dropped.
    let (status, file) = upload(&app, "docs/政策.md", "application/octet-stream", text.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    assert_eq!(file["name"], "政策.md");
    assert_eq!(file["size"], text.len());
    assert_eq!(file["contentType"], "text/markdown; charset=utf-8");
    assert_eq!(file["sha256"], hex::encode(Sha256::digest(&text)));
    assert_eq!(file["purpose"], "knowledge");
    let id = file["id"].as_str().unwrap();
    assert_eq!(file["url"], format!("/v2/files/{id}/content"));
    assert_eq!(app.get(&format!("/v2/files/{id}")).await.body, file, "GET answers what the upload answered");

    let whole = download(&app, id, &[]).await;
    assert_eq!(whole.status(), StatusCode::OK);
    let headers = whole.headers().clone();
    assert_eq!(headers["content-type"], "text/markdown; charset=utf-8");
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(headers["etag"], format!("\"{}\"", file["sha256"].as_str().unwrap()));
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"__.md\"; filename*=UTF-8''%E6%94%BF%E7%AD%96%2Emd"
    );
    assert_eq!(whole.bytes().await.unwrap().to_vec(), text);

    let etag = headers["etag"].to_str().unwrap().to_owned();
    let cases: [(&str, usize, usize); 4] = [
        ("bytes=0-9", 0, 9),
        ("bytes=100-", 100, text.len() - 1),
        ("bytes=-7", text.len() - 7, text.len() - 1),
        ("bytes=5-999999", 5, text.len() - 1),
    ];
    for (range, start, end) in cases {
        let part = download(&app, id, &[("Range", range)]).await;
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(part.headers()["content-range"], format!("bytes {start}-{end}/{}", text.len()), "{range}");
        assert_eq!(part.bytes().await.unwrap().to_vec(), text[start..=end], "{range}");
    }
    let beyond = download(&app, id, &[("Range", &format!("bytes={}-", text.len()))]).await;
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.headers()["content-range"], format!("bytes */{}", text.len()));
    // A stale If-Range gets the whole (new) file; a matching one gets the range.
    let stale = download(&app, id, &[("Range", "bytes=0-9"), ("If-Range", "\"old\"")]).await;
    assert_eq!(stale.status(), StatusCode::OK);
    let fresh = download(&app, id, &[("Range", "bytes=0-9"), ("If-Range", &etag)]).await;
    assert_eq!(fresh.status(), StatusCode::PARTIAL_CONTENT);
    let cached = download(&app, id, &[("If-None-Match", &etag)]).await;
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    // Binary formats are recognised by their signature, whatever the name says.
    let png = [&[0x89u8, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a][..], &[0u8; 64][..]].concat();
    let (status, image) = upload_as(&app, &app.key, "photo.txt", "text/plain", png, Some("attachment")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(image["contentType"], "image/png");
    // GraphQL sees the same files.
    let gql = app.graphql("{ files { files { id contentType } pagination { total } } }", json!({})).await;
    assert_eq!(gql.body["data"]["files"]["pagination"]["total"], 2, "{}", gql.text);
    assert_eq!(gql.body["data"]["files"]["files"][0]["contentType"], "image/png", "newest first");
}

async fn files_are_listed_deleted_and_private_to_their_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, kept) = upload(&app, "a.csv", "text/csv", b"a,b\n1,2\n".to_vec()).await;
    let (_, gone) = upload_as(&app, &app.key, "b.json", "application/json", br#"{"x":1}"#.to_vec(), None).await;
    assert_eq!(gone["purpose"], "user_data", "the default purpose");
    assert_eq!(gone["contentType"], "application/json; charset=utf-8");
    let list = app.get("/v2/files?limit=1").await;
    assert_eq!(list.body["pagination"], json!({ "total": 2, "page": 1, "limit": 1 }));
    assert_eq!(list.body["files"][0]["id"], gone["id"]);
    assert_eq!(app.get("/v2/files?purpose=knowledge").await.body["files"][0]["id"], kept["id"]);
    app.get("/v2/files?purpose=nope").await.assert_error(400, "validation_error");

    // Another tenant sees none of it.
    let other = app.create_key("tenant-b", Plan::Free, &["*"]).await;
    let id = kept["id"].as_str().unwrap();
    let reply = app.send(Method::GET, &format!("/v2/files/{id}"), Some(&other), None).await;
    reply.assert_error(404, "not_found");
    let bytes =
        app.client.get(app.url(&format!("/v2/files/{id}/content"))).header("X-API-Key", &other).send().await.unwrap();
    assert_eq!(bytes.status(), StatusCode::NOT_FOUND);
    app.send(Method::DELETE, &format!("/v2/files/{id}"), Some(&other), None).await.assert_error(404, "not_found");
    // Scopes: reading needs files:read, uploading and deleting files:write.
    let reader = app.create_key("tenant-a", Plan::Free, &["files:read"]).await;
    let (status, body) = upload_as(&app, &reader, "x.txt", "text/plain", b"x".to_vec(), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    assert_eq!(app.send(Method::GET, "/v2/files", Some(&reader), None).await.status, 200);

    let deleted = app.delete(&format!("/v2/files/{}", gone["id"].as_str().unwrap())).await;
    assert_eq!(deleted.status, 204);
    app.get(&format!("/v2/files/{}", gone["id"].as_str().unwrap())).await.assert_error(404, "not_found");
    assert_eq!(download(&app, gone["id"].as_str().unwrap(), &[]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v2/files").await.body["pagination"]["total"], 1);
    // The bytes go right after the deletion commits.
    let dir = std::path::Path::new(&app.state.config.storage_dir).join("files");
    let mut stored = usize::MAX;
    for _ in 0..100 {
        stored = std::fs::read_dir(&dir).unwrap().count();
        if stored == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(stored, 1, "the deleted file's bytes are gone too");
}

async fn bad_uploads_are_refused_and_leave_nothing_behind(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.file_max_bytes = 1000).await;
    let (status, body) = upload(&app, "big.txt", "text/plain", vec![b'a'; 5000]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));
    let (status, body) = upload(&app, "empty.txt", "text/plain", Vec::new()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("empty_file")));
    let (status, body) = upload_as(&app, &app.key, "x.txt", "text/plain", b"x".to_vec(), Some("secrets")).await;
    assert_eq!((status, body["error"]["details"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("purpose")));
    let no_file = app
        .client
        .post(app.url("/v2/files"))
        .header("X-API-Key", &app.key)
        .multipart(Form::new().text("purpose", "knowledge"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_file.status(), StatusCode::BAD_REQUEST);
    let not_multipart = app.post("/v2/files", json!({ "file": "x" })).await;
    not_multipart.assert_error(415, "unsupported_media_type");
    assert_eq!(app.get("/v2/files").await.body["pagination"]["total"], 0);
    let dir = std::path::Path::new(&app.state.config.storage_dir).join("files");
    let left = std::fs::read_dir(&dir).map(|entries| entries.count()).unwrap_or(0);
    assert_eq!(left, 0, "no partial or orphaned bytes in {}", dir.display());
    // The limit is exact: a file of exactly the limit is accepted.
    let (status, _) = upload(&app, "edge.txt", "text/plain", vec![b'a'; 1000]).await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn graphql_multipart(
    app: &TestApp,
    operations: Value,
    map: Value,
    files: Vec<(&str, &str, Vec<u8>)>,
) -> (StatusCode, Value) {
    let mut form = Form::new().text("operations", operations.to_string()).text("map", map.to_string());
    for (field, name, bytes) in files {
        form = form.part(field.to_owned(), Part::bytes(bytes).file_name(name.to_owned()));
    }
    let response =
        app.client.post(app.url("/v2/graphql")).header("X-API-Key", &app.key).multipart(form).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn graphql_uploads_follow_the_multipart_request_spec(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.file_max_bytes = 10_000).await;
    let upload = "mutation($file: Upload!) { uploadFile(file: $file, purpose: \"knowledge\") { id name size contentType sha256 purpose } }";
    let bytes = "a,b\n1,2\n".as_bytes().to_vec();
    let (status, body) = graphql_multipart(
        &app,
        json!({ "query": upload, "variables": { "file": null } }),
        json!({ "0": ["variables.file"] }),
        vec![("0", "table.csv", bytes.clone())],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let file = &body["data"]["uploadFile"];
    assert_eq!(file["name"], "table.csv", "{body}");
    assert_eq!(file["size"], bytes.len());
    assert_eq!(file["contentType"], "text/csv; charset=utf-8");
    assert_eq!(file["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(file["purpose"], "knowledge");
    let id = file["id"].as_str().unwrap();
    assert_eq!(download(&app, id, &[]).await.bytes().await.unwrap().to_vec(), bytes);
    // Past the size limit: refused, nothing stored.
    let (status, body) = graphql_multipart(
        &app,
        json!({ "query": upload, "variables": { "file": null } }),
        json!({ "0": ["variables.file"] }),
        vec![("0", "big.txt", vec![b'a'; 20_000])],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    // A map pointing at a file that is not there is a request error.
    let (status, _) = graphql_multipart(
        &app,
        json!({ "query": upload, "variables": { "file": null } }),
        json!({ "0": ["variables.file"] }),
        Vec::new(),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(app.get("/v2/files").await.body["pagination"]["total"], 1);
}
