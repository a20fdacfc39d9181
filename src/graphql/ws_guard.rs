//! Enforces the `graphql-transport-ws` protocol's rules that async-graphql leaves out, with the close codes the
//! protocol specifies (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md):
//! 4400 invalid message, 4401 subscribe before `connection_init`, 4408 no `connection_init` in time,
//! 4409 a subscription id already in use, 4429 a second `connection_init`.
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::extract::ws::{CloseFrame, Message};
use futures_channel::mpsc;
use futures_util::{SinkExt, Stream, StreamExt};
use serde_json::Value;

/// What the guard decided about one client message.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Close(u16, String),
}

/// Per-connection protocol state, shared by the incoming and outgoing sides.
#[derive(Default)]
pub struct ProtocolState {
    initialised: bool,
    active: HashSet<String>,
}

impl ProtocolState {
    /// Judges a text message from the client.
    pub fn incoming(&mut self, text: &str) -> Verdict {
        let invalid = || Verdict::Close(4400, "Invalid message received".to_owned());
        let Ok(message) = serde_json::from_str::<Value>(text) else { return invalid() };
        let Some(kind) = message.get("type").and_then(Value::as_str) else { return invalid() };
        match kind {
            "connection_init" if self.initialised => Verdict::Close(4429, "Too many initialisation requests".into()),
            "connection_init" => {
                self.initialised = true;
                Verdict::Pass
            }
            "ping" | "pong" => Verdict::Pass,
            "subscribe" => {
                if !self.initialised {
                    return Verdict::Close(4401, "Unauthorized".into());
                }
                let Some(id) = message.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()) else {
                    return invalid();
                };
                if !message.pointer("/payload/query").is_some_and(Value::is_string) {
                    return invalid();
                }
                if !self.active.insert(id.to_owned()) {
                    return Verdict::Close(4409, format!("Subscriber for {id} already exists"));
                }
                Verdict::Pass
            }
            "complete" => match message.get("id").and_then(Value::as_str) {
                Some(id) => {
                    self.active.remove(id);
                    Verdict::Pass
                }
                None => invalid(),
            },
            _ => invalid(),
        }
    }

    /// Notes a server message: a subscription that completed or failed frees its id.
    pub fn outgoing(&mut self, text: &str) {
        if let Ok(message) = serde_json::from_str::<Value>(text) {
            let kind = message.get("type").and_then(Value::as_str);
            if matches!(kind, Some("complete" | "error"))
                && let Some(id) = message.get("id").and_then(Value::as_str)
            {
                self.active.remove(id);
            }
        }
    }
}

fn close(code: u16, reason: String) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

/// The client's next message; before `connection_init`, only until `deadline` (then the connection is closed with
/// 4408 and `None` ends it, as does the end of the input).
async fn next_message<S>(
    input: &mut S,
    initialised: bool,
    deadline: tokio::time::Instant,
    out: &mut mpsc::Sender<Message>,
) -> Option<Result<Message, axum::Error>>
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    if initialised {
        return input.next().await;
    }
    match tokio::time::timeout_at(deadline, input.next()).await {
        Ok(next) => next,
        Err(_) => {
            let _ = out.send(close(4408, "Connection initialisation timeout".into())).await;
            None
        }
    }
}

/// What a guard knows of a connection: whether `connection_init` has arrived, and what it makes of a message.
trait Judge {
    fn initialised(&self) -> bool;
    fn incoming(&mut self, text: &str) -> Verdict;
}

/// `graphql-transport-ws`: the whole protocol state (shared with the outgoing side).
impl Judge for Arc<Mutex<ProtocolState>> {
    fn initialised(&self) -> bool {
        self.lock().map(|s| s.initialised).unwrap_or(true)
    }

    fn incoming(&mut self, text: &str) -> Verdict {
        match self.lock() {
            Ok(mut state) => state.incoming(text),
            Err(_) => Verdict::Close(4500, "Internal error".into()),
        }
    }
}

/// Legacy `graphql-ws`, which has no rules to enforce beyond the init timeout: it only notes `connection_init`.
#[derive(Default)]
struct LegacyInit(bool);

impl Judge for LegacyInit {
    fn initialised(&self) -> bool {
        self.0
    }

    fn incoming(&mut self, text: &str) -> Verdict {
        let kind = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|m| m.get("type").and_then(Value::as_str).map(str::to_owned));
        if kind.as_deref() == Some("connection_init") {
            self.0 = true;
        }
        Verdict::Pass
    }
}

/// Wraps the client's message stream: `judge` checks each message, and the connection ends with the protocol's
/// close code (sent through `out`) on a violation or when `connection_init` does not arrive within `init_timeout`.
fn guarded<S>(
    mut input: S,
    mut judge: impl Judge,
    mut out: mpsc::Sender<Message>,
    init_timeout: Duration,
) -> impl Stream<Item = Result<Message, axum::Error>>
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    async_stream::stream! {
        let deadline = tokio::time::Instant::now() + init_timeout;
        loop {
            let Some(message) = next_message(&mut input, judge.initialised(), deadline, &mut out).await else { break };
            if let Ok(Message::Text(text)) = &message
                && let Verdict::Close(code, reason) = judge.incoming(text)
            {
                let _ = out.send(close(code, reason)).await;
                break;
            }
            yield message;
        }
    }
}

/// `graphql-transport-ws`: the protocol's rules (see [`ProtocolState`]) and its init timeout.
pub fn guard_incoming<S>(
    input: S,
    state: Arc<Mutex<ProtocolState>>,
    out: mpsc::Sender<Message>,
    init_timeout: Duration,
) -> impl Stream<Item = Result<Message, axum::Error>>
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    guarded(input, state, out, init_timeout)
}

/// Legacy `graphql-ws`: a client that does not send `connection_init` within `init_timeout` is closed (4408, as
/// the newer protocol does), so sockets that never authenticate cannot pile up.
pub fn legacy_init_timeout<S>(
    input: S,
    out: mpsc::Sender<Message>,
    init_timeout: Duration,
) -> impl Stream<Item = Result<Message, axum::Error>>
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    guarded(input, LegacyInit::default(), out, init_timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_rules() {
        let mut state = ProtocolState::default();
        let subscribe = r#"{"id":"1","type":"subscribe","payload":{"query":"subscription { agentUpdated { id } }"}}"#;
        assert_eq!(state.incoming(subscribe), Verdict::Close(4401, "Unauthorized".into()));
        assert_eq!(state.incoming(r#"{"type":"ping"}"#), Verdict::Pass);
        assert_eq!(state.incoming(r#"{"type":"connection_init"}"#), Verdict::Pass);
        assert!(matches!(state.incoming(r#"{"type":"connection_init"}"#), Verdict::Close(4429, _)));
        assert_eq!(state.incoming(subscribe), Verdict::Pass);
        assert!(matches!(state.incoming(subscribe), Verdict::Close(4409, _)));
        state.outgoing(r#"{"id":"1","type":"complete"}"#);
        assert_eq!(state.incoming(subscribe), Verdict::Pass, "a completed id can be reused");
        assert!(matches!(state.incoming("nonsense"), Verdict::Close(4400, _)));
        assert!(matches!(state.incoming(r#"{"type":"subscribe","id":"2"}"#), Verdict::Close(4400, _)));
        assert!(matches!(state.incoming(r#"{"type":"unknown"}"#), Verdict::Close(4400, _)));
    }
}
