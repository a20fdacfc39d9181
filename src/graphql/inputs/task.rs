//! `POST /v2/tasks` body: `{"type","input":{…},"callback":{"url","headers"}}` as in the announcement.
use async_graphql::{InputObject, Json};
use serde_json::Value;

use crate::services::tasks::{NewCallback, NewTask};

#[derive(InputObject)]
pub struct CreateTaskInput {
    /// `analysis`, `agent.run` or `noop`.
    #[graphql(name = "type")]
    pub kind: String,
    /// `analysis`: `{"fileUrl"|"fileId", "operations": ["summarize","visualize"], "agentId"?}`;
    /// `agent.run`: `{"agentId"|"conversationId", "content", "userId"?}`; `noop`: `{"sleepMs"?}`.
    pub input: Json<Value>,
    pub callback: Option<TaskCallbackInput>,
    /// At most the server's task timeout (default 600).
    pub timeout_seconds: Option<i64>,
}

#[derive(InputObject)]
pub struct TaskCallbackInput {
    /// POSTed the task when it completes or fails, signed like a webhook.
    pub url: String,
    /// Extra headers sent with the callback.
    pub headers: Option<Json<Value>>,
    /// The signing secret; generated when omitted and returned once as `callbackSecret`.
    pub secret: Option<String>,
}

impl From<CreateTaskInput> for NewTask {
    fn from(input: CreateTaskInput) -> Self {
        Self {
            kind: input.kind,
            input: input.input.0,
            callback: input.callback.map(|c| NewCallback {
                url: c.url,
                headers: c.headers.map(|h| h.0),
                secret: c.secret,
            }),
            timeout_secs: input.timeout_seconds,
        }
    }
}
