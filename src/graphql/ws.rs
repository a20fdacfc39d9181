//! GraphQL subscriptions over WebSocket (`graphql-transport-ws`, and legacy `graphql-ws`).
//! Credentials come from the upgrade request's headers or from the `connection_init` payload
//! (`{"X-API-Key": "…"}` or `{"Authorization": "Bearer …"}`), as browsers cannot set WebSocket headers.
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message},
    },
    http::{HeaderMap, HeaderName, HeaderValue},
    response::Response,
};
use futures_util::{SinkExt, StreamExt, future};

use super::request_data;
use crate::{app::HttpState, auth::Principal, error::AppError};

/// Marks a rejected `connection_init`, so the close code can be rewritten to the protocol's `4403 Forbidden`.
const FORBIDDEN_PREFIX: &str = "Forbidden: ";

/// `GET /v2/graphql/ws` (and `/v2/graphql` with an Upgrade header).
pub async fn graphql_ws(
    State(state): State<HttpState>,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let has_header_credentials = headers.contains_key("x-api-key") || headers.contains_key("authorization");
    let header_principal =
        if has_header_credentials { Some(state.app.auth.from_headers(&headers).await) } else { None };
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| async move {
        let (sink, stream) = socket.split();
        let sink = sink.with(|message: Message| future::ready(Ok::<_, axum::Error>(forbidden_close_code(message))));
        let app = state.app.clone();
        GraphQLWebSocket::new_with_pair(sink, stream, state.schema.clone(), protocol)
            .on_connection_init(move |payload| async move {
                let principal = authenticate(&app, &payload, header_principal)
                    .await
                    .map_err(|err| async_graphql::Error::new(format!("{FORBIDDEN_PREFIX}{}", err.public_message())))?;
                Ok(request_data(&app, principal))
            })
            .serve()
            .await;
    })
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
