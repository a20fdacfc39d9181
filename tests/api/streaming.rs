//! Streaming replies: SSE per SPEC §5 parsed by a real SSE client, disconnect and resume with `Last-Event-ID`
//! (live and after the end), runs detached from clients, idempotent stream replays, heartbeats, and the same
//! stream over GraphQL subscriptions (WebSocket and SSE).
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    chat::{assert_sequential, events, next_event, text_of, until_done},
    db_tests,
    helpers::{Backend, spawn_app, spawn_app_with},
    websocket::{connect, next_json, send, wait_for_subscribers},
};

db_tests!(
    stream_follows_spec_section_5,
    disconnect_then_resume_gets_every_event_once_in_order,
    a_run_outlives_its_client,
    idempotent_stream_retry_replays_the_same_reply,
    idle_streams_get_heartbeat_comments,
    resume_refuses_bad_ids,
    graphql_transport_ws_streams_the_reply_and_conversation_events,
    graphql_over_sse_streams_the_reply,
    deleting_a_conversation_ends_its_streams,
    resume_past_the_end_of_a_finished_reply_ends_with_the_terminal_events,
    resume_past_the_end_of_a_live_reply_ends_with_the_terminal_events,
    a_slow_reply_is_saved_on_the_time_trigger_while_it_streams,
);

async fn stream_follows_spec_section_5(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, conversation) = app.echo_conversation().await;
    let response = app
        .stream_request(
            Method::POST,
            &format!("/v2/conversations/{conversation}/messages"),
            Some(json!({ "content": "你好", "stream": true })),
            &[],
        )
        .await;
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let mut stream = events(response);
    let all = until_done(&mut stream).await;
    let names: Vec<&str> = all.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names.first(), Some(&"message.created"));
    assert_eq!(&names[names.len() - 2..], &["message.completed", "done"]);
    assert!(names[1..names.len() - 2].iter().all(|n| *n == "message.delta"), "{names:?}");
    assert_sequential(&all, 1);
    let reply_id = all[0].data["messageId"].as_str().unwrap().to_owned();
    assert!(all.iter().all(|e| e.data["messageId"] == reply_id.as_str()));
    let completed = &all[all.len() - 2].data;
    assert_eq!(text_of(&all), "Echo: 你好");
    assert_eq!(completed["content"], "Echo: 你好");
    assert_eq!(all.last().unwrap().data["status"], "completed");
    // `message.completed` carries the stored message exactly as GET shows it.
    let mut stored = app.get(&format!("/v2/messages/{reply_id}")).await.body;
    stored["messageId"] = json!(reply_id);
    assert_eq!(completed, &stored);
    assert!(stream.next().await.is_none(), "the stream ends after done");
}

async fn disconnect_then_resume_gets_every_event_once_in_order(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.echo_token_delay_ms = 25).await;
    let (_, conversation) = app.echo_conversation().await;
    let content = (0..40).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
    let mut first = app.stream_message(&conversation, &content).await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(next_event(&mut first).await);
    }
    drop(first); // the client vanishes mid-reply
    let reply_id = seen[0].data["messageId"].as_str().unwrap().to_owned();
    let resume_path = format!("/v2/conversations/{conversation}/messages/{reply_id}/stream");
    let last = seen.last().unwrap().id.clone();
    let resumed = app.stream_request(Method::GET, &resume_path, None, &[("Last-Event-ID", &last)]).await;
    let rest = until_done(&mut events(resumed)).await;
    assert_sequential(&rest, 5);
    let mut whole = seen.clone();
    whole.extend(rest);
    assert_sequential(&whole, 1);
    let expected = format!("Echo: {content}");
    assert_eq!(text_of(&whole), expected, "every delta exactly once, in order");

    // After the end, the stream is rebuilt from the database: the same events with the same ids.
    let replayed = app.stream_request(Method::GET, &resume_path, None, &[("Last-Event-ID", "2")]).await;
    let replay = until_done(&mut events(replayed)).await;
    assert_sequential(&replay, 3);
    for (live, again) in whole[2..].iter().zip(&replay) {
        assert_eq!((&live.event, &live.data), (&again.event, &again.data));
    }
    assert_eq!(replay.len(), whole.len() - 2);
    // The stable id form is accepted too.
    let by_stable_id = app
        .stream_request(
            Method::GET,
            &resume_path,
            None,
            &[("Last-Event-ID", &format!("{reply_id}:{}", whole.len() - 1))],
        )
        .await;
    let tail = until_done(&mut events(by_stable_id)).await;
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].event, "done");
}

async fn a_run_outlives_its_client(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.echo_token_delay_ms = 20).await;
    let (_, conversation) = app.echo_conversation().await;
    let mut stream = app.stream_message(&conversation, "keep going after I leave").await;
    let created = next_event(&mut stream).await;
    drop(stream);
    let reply_id = created.data["messageId"].as_str().unwrap();
    let finished = app.wait_finished(reply_id).await;
    assert_eq!(finished["status"], "completed");
    assert_eq!(finished["content"], "Echo: keep going after I leave");
    for _ in 0..100 {
        if app.state.runs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(app.state.runs.is_empty(), "no run is left behind");
    assert_eq!(app.state.events.subscriber_count(), 0, "no subscriber is left behind");
}

async fn idempotent_stream_retry_replays_the_same_reply(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, conversation) = app.echo_conversation().await;
    let path = format!("/v2/conversations/{conversation}/messages");
    let body = json!({ "content": "only once", "stream": true });
    let headers = [("Idempotency-Key", "stream-key")];
    let first =
        until_done(&mut events(app.stream_request(Method::POST, &path, Some(body.clone()), &headers).await)).await;
    let retry = app.stream_request(Method::POST, &path, Some(body), &headers).await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let again = until_done(&mut events(retry)).await;
    assert_eq!(first.len(), again.len());
    for (a, b) in first.iter().zip(&again) {
        assert_eq!((&a.id, &a.event, &a.data), (&b.id, &b.event, &b.data));
    }
    assert_eq!(app.get(&path).await.body["messages"].as_array().unwrap().len(), 2, "one exchange stored");
}

async fn idle_streams_get_heartbeat_comments(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.echo_token_delay_ms = 1_300;
        c.stream_heartbeat_secs = 1;
    })
    .await;
    let (_, conversation) = app.echo_conversation().await;
    let response = app
        .stream_request(
            Method::POST,
            &format!("/v2/conversations/{conversation}/messages"),
            Some(json!({ "content": "slow", "stream": true })),
            &[],
        )
        .await;
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains(": keep-alive") && tokio::time::Instant::now() < deadline {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next()).await.unwrap().unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.starts_with("retry: 3000\n"), "{text}");
    assert!(text.contains("\n: keep-alive\n") || text.contains(": keep-alive\n"), "{text}");
}

async fn resume_refuses_bad_ids(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, conversation) = app.echo_conversation().await;
    let sent = app.post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": "hi" })).await;
    let (user_id, reply_id) =
        (sent.body["message"]["id"].as_str().unwrap(), sent.body["reply"]["id"].as_str().unwrap());
    let path = |id: &str| format!("/v2/conversations/{conversation}/messages/{id}/stream");
    let read = |response| crate::helpers::read(response);
    read(app.stream_request(Method::GET, &path(reply_id), None, &[("Last-Event-ID", "abc")]).await)
        .await
        .assert_error(400, "validation_error");
    read(app.stream_request(Method::GET, &path("msg-nope"), None, &[]).await).await.assert_error(404, "not_found");
    read(app.stream_request(Method::GET, &path(user_id), None, &[]).await).await.assert_error(404, "not_found");
    let (_, other_conversation) = app.echo_conversation().await;
    let elsewhere = format!("/v2/conversations/{other_conversation}/messages/{reply_id}/stream");
    read(app.stream_request(Method::GET, &elsewhere, None, &[]).await).await.assert_error(404, "not_found");
    let ok = app.stream_request(Method::GET, &path(reply_id), None, &[]).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

async fn graphql_transport_ws_streams_the_reply_and_conversation_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, conversation) = app.echo_conversation().await;
    let mut ws = connect(&app, "graphql-transport-ws").await;
    send(&mut ws, json!({"type": "connection_init", "payload": {"X-API-Key": app.key}})).await;
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    let stream_query =
        "subscription($c: ID!) { messageStream(conversationId: $c) { id sequence type event messageId delta } }";
    send(
        &mut ws,
        json!({"id": "s", "type": "subscribe", "payload": {"query": stream_query, "variables": {"c": conversation}}}),
    )
    .await;
    let events_query = "subscription($c: ID) { conversationEvents(conversationId: $c) { id type subjectId data } }";
    send(
        &mut ws,
        json!({"id": "e", "type": "subscribe", "payload": {"query": events_query, "variables": {"c": conversation}}}),
    )
    .await;
    wait_for_subscribers(&app, 2).await;
    let sent = app
        .graphql(
            "mutation($c: ID!) { sendMessage(conversationId: $c, input: {content: \"over websockets\"}) { replyId message { id } } }",
            json!({ "c": conversation }),
        )
        .await;
    let reply_id = sent.body["data"]["sendMessage"]["replyId"].as_str().unwrap().to_owned();
    let (mut stream, mut domain) = (Vec::new(), Vec::new());
    while stream.last().is_none_or(|e: &Value| e["event"] != "done") || domain.len() < 2 {
        let message = next_json(&mut ws).await;
        assert_eq!(message["type"], "next", "{message}");
        match message["id"].as_str().unwrap() {
            "s" => stream.push(message["payload"]["data"]["messageStream"].clone()),
            _ => domain.push(message["payload"]["data"]["conversationEvents"].clone()),
        }
    }
    assert_eq!(stream[0]["type"], "MESSAGE_CREATED");
    assert_eq!(stream[0]["id"], format!("{reply_id}:1"));
    let text: String = stream.iter().filter_map(|e| e["delta"].as_str()).collect();
    assert_eq!(text, "Echo: over websockets");
    let sequences: Vec<u64> = stream.iter().map(|e| e["sequence"].as_u64().unwrap()).collect();
    assert_eq!(sequences, (1..=sequences.len() as u64).collect::<Vec<_>>());
    let kinds: Vec<&str> = domain.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["message.received", "message.sent"]);
    assert_eq!(domain[1]["subjectId"], reply_id.as_str());
    assert_eq!(domain[1]["data"]["content"], "Echo: over websockets");

    // Resuming over the subscription: the same reply after sequence 2, ending with done.
    let resume = "subscription($c: ID!, $m: ID) { messageStream(conversationId: $c, messageId: $m, after: 2) { sequence event } }";
    send(&mut ws, json!({"id": "r", "type": "subscribe", "payload": {"query": resume, "variables": {"c": conversation, "m": reply_id}}}))
        .await;
    let mut resumed = Vec::new();
    loop {
        let message = next_json(&mut ws).await;
        if message["type"] == "complete" {
            break;
        }
        resumed.push(message["payload"]["data"]["messageStream"]["sequence"].as_u64().unwrap());
    }
    assert_eq!(resumed, (3..=sequences.len() as u64).collect::<Vec<_>>());
}

async fn graphql_over_sse_streams_the_reply(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, conversation) = app.echo_conversation().await;
    let sent = app.post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": "via sse" })).await;
    let reply_id = sent.body["reply"]["id"].as_str().unwrap();
    let query =
        "subscription($c: ID!, $m: ID) { messageStream(conversationId: $c, messageId: $m) { sequence event delta } }";
    let items = app.graphql_sse(query, json!({ "c": conversation, "m": reply_id })).await;
    let text: String = items.iter().filter_map(|item| item["messageStream"]["delta"].as_str()).collect();
    assert_eq!(text, "Echo: via sse");
}

async fn deleting_a_conversation_ends_its_streams(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.echo_token_delay_ms = 50).await;
    let (_, conversation) = app.echo_conversation().await;
    let send = "mutation($c: ID!, $w: WhileBusy!) { sendMessage(conversationId: $c, input: {content: \"a b c d e f g h\", whileBusy: $w}) { replyId } }";
    let running = app.graphql(send, json!({ "c": conversation, "w": "reject" })).await;
    let queued = app.graphql(send, json!({ "c": conversation, "w": "enqueue" })).await;
    let (running, queued) = (
        running.body["data"]["sendMessage"]["replyId"].as_str().unwrap().to_owned(),
        queued.body["data"]["sendMessage"]["replyId"].as_str().unwrap().to_owned(),
    );
    let follow = |reply: &str| format!("/v2/conversations/{conversation}/messages/{reply}/stream");
    let mut running_stream = events(app.stream_request(Method::GET, &follow(&running), None, &[]).await);
    let mut queued_stream = events(app.stream_request(Method::GET, &follow(&queued), None, &[]).await);
    assert_eq!(next_event(&mut running_stream).await.event, "message.created");
    let deleted = app.delete(&format!("/v2/conversations/{conversation}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let queued_events = until_done(&mut queued_stream).await;
    assert_eq!(queued_events[0].event, "error");
    // The stream's subscription looks the reply up when first polled: if that happens after the deletion (a loaded
    // machine), the reply is already gone.
    let code = queued_events[0].data["code"].as_str().unwrap();
    assert!(code == "conversation_deleted" || code == "not_found", "{code}");
    let running_events = until_done(&mut running_stream).await;
    assert_eq!(running_events.last().unwrap().event, "done");
    for _ in 0..200 {
        if app.state.runs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(app.state.runs.is_empty(), "nothing of the deleted conversation is left running");
}

async fn resume_past_the_end_of_a_finished_reply_ends_with_the_terminal_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, conversation) = app.echo_conversation().await;
    let all = until_done(&mut app.stream_message(&conversation, "finish me").await).await;
    let reply_id = all[0].data["messageId"].as_str().unwrap().to_owned();
    let end = all.len() as u64;
    let path = format!("/v2/conversations/{conversation}/messages/{reply_id}/stream");
    // A client that saw `done`, and one whose id is past anything this reply had (it saw a longer stream, or
    // sends garbage that parses): both get `message.completed` then `done`, with ids after theirs, so an
    // EventSource's Last-Event-ID moves forward and the stream closes on `done` instead of reconnecting for ever.
    for after in [end, end + 40] {
        let resumed = app.stream_request(Method::GET, &path, None, &[("Last-Event-ID", &after.to_string())]).await;
        let tail = until_done(&mut events(resumed)).await;
        let names: Vec<&str> = tail.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(names, ["message.completed", "done"], "after {after}");
        assert_sequential(&tail, after + 1);
        assert_eq!(tail[0].data, all[all.len() - 2].data);
        assert_eq!(tail[1].data, all[all.len() - 1].data);
    }
    // The same over the GraphQL subscription.
    let query = format!(
        "subscription($c: ID!, $m: ID) {{ messageStream(conversationId: $c, messageId: $m, after: {}) {{ sequence event }} }}",
        end + 40
    );
    let items = app.graphql_sse(&query, json!({ "c": conversation, "m": reply_id })).await;
    let got: Vec<(u64, &str)> = items
        .iter()
        .map(|item| {
            (item["messageStream"]["sequence"].as_u64().unwrap(), item["messageStream"]["event"].as_str().unwrap())
        })
        .collect();
    assert_eq!(got, [(end + 41, "message.completed"), (end + 42, "done")]);
}

async fn resume_past_the_end_of_a_live_reply_ends_with_the_terminal_events(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.echo_token_delay_ms = 25).await;
    let (_, conversation) = app.echo_conversation().await;
    let mut live = app.stream_message(&conversation, "a b c d e f g h").await;
    let created = next_event(&mut live).await;
    let reply_id = created.data["messageId"].as_str().unwrap().to_owned();
    // While the reply runs, a follower claims an id the run never reaches: it waits, then gets the terminal
    // events numbered after its id, instead of an endless stream.
    let path = format!("/v2/conversations/{conversation}/messages/{reply_id}/stream");
    let resumed = app.stream_request(Method::GET, &path, None, &[("Last-Event-ID", "1000")]).await;
    let tail = until_done(&mut events(resumed)).await;
    let names: Vec<&str> = tail.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["message.completed", "done"]);
    assert_sequential(&tail, 1001);
    let rest = until_done(&mut live).await;
    assert_eq!(rest.last().unwrap().data, tail[1].data);
}

async fn a_slow_reply_is_saved_on_the_time_trigger_while_it_streams(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.echo_token_delay_ms = 300;
        // The count trigger is out of reach: only the time trigger can save.
        c.stream_persist_every_deltas = 10_000;
        c.stream_persist_interval_ms = 50;
    })
    .await;
    let (_, conversation) = app.echo_conversation().await;
    let mut live = app.stream_message(&conversation, "a b c d e f").await;
    let created = next_event(&mut live).await;
    let first = next_event(&mut live).await;
    assert_eq!(first.event, "message.delta");
    let reply_id = created.data["messageId"].as_str().unwrap().to_owned();
    let saved = loop {
        let reply = app.get(&format!("/v2/messages/{reply_id}")).await.body;
        assert_eq!(reply["status"], "in_progress", "the reply finished before any periodic save: {reply}");
        let content = reply["content"].as_str().unwrap().to_owned();
        if !content.is_empty() {
            break content;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let all = until_done(&mut live).await;
    let text = format!("{}{}", first.data["delta"].as_str().unwrap(), text_of(&all));
    assert!(text.starts_with(&saved), "{saved:?} is not a prefix of {text:?}");
    assert_eq!(app.get(&format!("/v2/messages/{reply_id}")).await.body["content"], text.as_str());
}
