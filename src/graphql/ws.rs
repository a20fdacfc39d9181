//! GraphQL subscriptions over WebSocket (`graphql-transport-ws`, and legacy `graphql-ws`).
//! Credentials come from the upgrade request's headers or from the `connection_init` payload
//! (`{"X-API-Key": "…"}` or `{"Authorization": "Bearer …"}`), as browsers cannot set WebSocket headers.
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, HeaderName, HeaderValue},
    response::Response,
};
use futures_channel::mpsc;
use futures_util::{SinkExt, StreamExt};

use super::{
    request_data,
    ws_guard::{ProtocolState, guard_incoming, legacy_init_timeout},
};
use crate::{app::HttpState, auth::Principal, error::AppError};

/// Marks a rejected `connection_init`, so the close code can be rewritten to the protocol's `4403 Forbidden`.
const FORBIDDEN_PREFIX: &str = "Forbidden: ";
/// Server messages waiting for a slow client before the executor is paused.
const OUTBOX: usize = 64;

/// `GET /v2/graphql/ws`.
pub async fn graphql_ws(
    State(state): State<HttpState>,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
    slot: Option<axum::Extension<crate::server::ConnectionSlot>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let has_header_credentials = headers.contains_key("x-api-key") || headers.contains_key("authorization");
    let header_principal =
        if has_header_credentials { Some(state.app.auth.from_headers(&headers).await) } else { None };
    // A WebSocket message is bounded like a request body.
    let limit = state.app.config.body_limit_bytes;
    let upgrade = upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).max_message_size(limit).max_frame_size(limit);
    let transport_ws = upgrade.selected_protocol().is_some_and(|p| p.as_bytes() == b"graphql-transport-ws");
    upgrade.on_upgrade(move |socket| async move {
        // The socket keeps its connection's place under the server's connection cap until it closes.
        let _slot = slot;
        serve(socket, state, protocol, transport_ws, header_principal).await
    })
}

async fn serve(
    socket: WebSocket,
    state: HttpState,
    protocol: GraphQLProtocol,
    transport_ws: bool,
    header_principal: Option<Result<Principal, AppError>>,
) {
    let (mut socket_sink, socket_stream) = socket.split();
    let (out, mut outbox) = mpsc::channel::<Message>(OUTBOX);
    let protocol_state = Arc::new(Mutex::new(ProtocolState::default()));

    // One writer: forwards what the executor and the guard send, notes completed ids, stops after a close.
    let writer_state = protocol_state.clone();
    let writer = tokio::spawn(async move {
        while let Some(message) = outbox.next().await {
            if let Message::Text(text) = &message
                && let Ok(mut state) = writer_state.lock()
            {
                state.outgoing(text);
            }
            let message = forbidden_close_code(message);
            let is_close = matches!(message, Message::Close(_));
            if socket_sink.send(message).await.is_err() || is_close {
                break;
            }
        }
    });

    let app = state.app.clone();
    let on_init = move |payload: serde_json::Value| async move {
        let principal = authenticate(&app, &payload, header_principal)
            .await
            .map_err(|err| async_graphql::Error::new(format!("{FORBIDDEN_PREFIX}{}", err.public_message())))?;
        // The connection counts as one request in flight while it is open (its data holds the slot), and as one
        // of the account's open streams.
        let stream =
            app.streams.open(&principal.account_id).map_err(|err| async_graphql::Error::new(err.public_message()))?;
        let permit =
            app.limiter.acquire(&principal).await.map_err(|err| async_graphql::Error::new(err.public_message()))?;
        let mut data = request_data(&app, principal, None);
        data.insert(std::sync::Arc::new(stream));
        if let Some(permit) = permit {
            data.insert(std::sync::Arc::new(permit));
        }
        Ok(data)
    };
    let sink = out.clone().sink_map_err(|_| axum::Error::new(std::io::Error::other("connection writer stopped")));
    let timeout = Duration::from_millis(state.app.config.ws_connection_init_timeout_ms);
    if transport_ws {
        let input = guard_incoming(socket_stream, protocol_state, out, timeout);
        GraphQLWebSocket::new_with_pair(sink, Box::pin(input), state.schema.clone(), protocol)
            .on_connection_init(on_init)
            .serve()
            .await;
    } else {
        let input = legacy_init_timeout(socket_stream, out, timeout);
        GraphQLWebSocket::new_with_pair(sink, Box::pin(input), state.schema.clone(), protocol)
            .on_connection_init(on_init)
            .serve()
            .await;
    }
    let _ = writer.await;
}

async fn authenticate(
    app: &crate::app::AppState,
    payload: &serde_json::Value,
    from_headers: Option<Result<Principal, AppError>>,
) -> Result<Principal, AppError> {
    let mut headers = HeaderMap::new();
    if let Some(object) = payload.as_object() {
        for (key, value) in object {
            let name = match key.to_ascii_lowercase().as_str() {
                "x-api-key" | "apikey" | "api_key" => "x-api-key",
                "authorization" => "authorization",
                _ => continue,
            };
            if let Some(text) = value.as_str().and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert(HeaderName::from_static(name), text);
            }
        }
    }
    if !headers.is_empty() {
        return app.auth.from_headers(&headers).await;
    }
    from_headers.unwrap_or_else(|| {
        Err(AppError::Unauthenticated("send X-API-Key or Authorization in the connection_init payload".into()))
    })
}

/// async-graphql closes a rejected `graphql-transport-ws` handshake with 1002; the protocol says 4403.
fn forbidden_close_code(message: Message) -> Message {
    match message {
        Message::Close(Some(frame)) if frame.code == 1002 && frame.reason.starts_with(FORBIDDEN_PREFIX) => {
            Message::Close(Some(CloseFrame { code: 4403, reason: frame.reason }))
        }
        other => other,
    }
}
