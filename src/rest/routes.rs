//! The declarative route table: (method, path) → GraphQL document, argument mapping, field to answer with,
//! success status. Adding an endpoint is adding a row.
use axum::http::{Method, StatusCode};

/// Where a GraphQL variable's value comes from.
#[derive(Debug, Clone, Copy)]
pub enum Arg {
    /// A `{name}` path segment, passed as the variable of the same name (an `ID`).
    Path(&'static str),
    /// A query-string parameter, converted to the given type.
    Query(&'static str, ArgType),
    /// The JSON request body, passed whole as this variable.
    Body { variable: &'static str, required: bool },
}

/// Types query-string values are converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    Int,
    String,
}

/// One REST endpoint.
#[derive(Debug)]
pub struct Route {
    /// The OpenAPI operationId.
    pub name: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    pub document: &'static str,
    /// The top-level field of `data` that becomes the response body.
    pub field: &'static str,
    pub args: &'static [Arg],
    pub status: StatusCode,
    /// OpenAPI component names of the request body and the response.
    pub request_schema: Option<&'static str>,
    pub response_schema: Option<&'static str>,
    /// Routes that need no credentials.
    pub public: bool,
    /// Routes that answer `text/event-stream` (always, or when the body says `"stream": true`).
    pub stream: Option<&'static StreamSpec>,
}

/// How a route streams: an optional start operation (e.g. `sendMessage`) whose result names the reply, then a
/// subscription of the same schema whose items become SSE events (`id:` = `sequence`, `event:` = `event`,
/// `data:` = `data`).
#[derive(Debug)]
pub struct StreamSpec {
    /// Stream only when the JSON body has `"stream": true` (otherwise the route answers JSON as usual).
    pub when_body_flag: bool,
    /// Run first with the route's variables; the JSON pointer into its `data` is the reply id, passed to the
    /// subscription as `$messageId`. Errors here are answered as JSON (404, 409, 400…) before any stream starts.
    pub start: &'static str,
    pub start_pointer: &'static str,
    /// Variables: the route's, plus `$messageId` and `$after` (from the `Last-Event-ID` header).
    pub subscription: &'static str,
    /// The subscription field whose items are `{sequence, event, data}`.
    pub field: &'static str,
}

macro_rules! ticket_fields {
    () => {
        "fragment TicketFields on Ticket { id title description priority status project agentId conversationId createdAt updatedAt }"
    };
}

macro_rules! memory_fields {
    () => {
        "fragment MemoryFields on Memory { id agentId userId content type metadata conversationId messageId score createdAt updatedAt expiresAt }"
    };
}

macro_rules! agent_fields {
    () => {
        "fragment AgentFields on Agent { id name description model { provider name settings { temperature maxTokens } } \
         systemPrompt skills { ...InstalledSkillFields } memory { enabled type retention } createdAt updatedAt } \
         fragment InstalledSkillFields on InstalledSkill { id version enabled config installedAt }"
    };
}

macro_rules! conversation_fields {
    () => {
        "fragment ConversationFields on Conversation { id agentId context { userId metadata } \
         settings { model temperature maxTokens } status activeReplyId createdAt updatedAt }"
    };
}

macro_rules! message_fields {
    () => {
        "fragment MessageFields on Message { id conversationId role content status attachments { type url fileId } \
         model usage { promptTokens completionTokens totalTokens } toolCalls { id name skillId arguments result error \
         durationMs } finishReason error { code message } replyTo replyId createdAt completedAt }"
    };
}

/// The exchange a `sendMessage` stored, in the shape it answers: for a retry whose first request died after storing
/// its message (see `rest::idempotency`).
pub const SENT_EXCHANGE: &str = concat!(
    "query($message: ID!, $reply: ID!) { message(id: $message) { ...MessageFields } reply: message(id: $reply) { \
     ...MessageFields } } ",
    message_fields!()
);

const MESSAGE_STREAM: &str = "subscription($conversationId: ID!, $messageId: ID, $after: Int) { \
    messageStream(conversationId: $conversationId, messageId: $messageId, after: $after) { sequence event data } }";

static SEND_MESSAGE_STREAM: StreamSpec = StreamSpec {
    when_body_flag: true,
    start: "mutation($conversationId: ID!, $input: SendMessageInput!) { \
        sendMessage(conversationId: $conversationId, input: $input) { replyId } }",
    start_pointer: "/sendMessage/replyId",
    subscription: MESSAGE_STREAM,
    field: "messageStream",
};

static RESUME_STREAM: StreamSpec = StreamSpec {
    when_body_flag: false,
    start: "query($conversationId: ID!, $messageId: ID!) { conversation(id: $conversationId) { reply(id: $messageId) { id } } }",
    start_pointer: "/conversation/reply/id",
    subscription: MESSAGE_STREAM,
    field: "messageStream",
};

const CURSOR_ARGS: [Arg; 2] = [Arg::Query("after", ArgType::String), Arg::Query("limit", ArgType::Int)];

macro_rules! skill_fields {
    () => {
        "fragment SkillFields on Skill { id name version category description author downloads rating }"
    };
}

const PAGE_ARGS: [Arg; 2] = [Arg::Query("limit", ArgType::Int), Arg::Query("page", ArgType::Int)];

macro_rules! webhook_fields {
    () => {
        "fragment WebhookFields on Webhook { id url description events enabled disabledReason secret \
         previousSecretExpiresAt failingSince createdAt updatedAt }"
    };
}

macro_rules! delivery_fields {
    () => {
        "fragment DeliveryFields on Delivery { id webhookId taskId eventId eventType status attemptCount \
         nextAttemptAt lastStatus lastError payload attempts { attempt statusCode latencyMs responseExcerpt error \
         createdAt } createdAt completedAt }"
    };
}

macro_rules! task_fields {
    () => {
        "fragment TaskFields on Task { id type status progress input result error callback callbackSecret attempts \
         createdAt startedAt completedAt updatedAt }"
    };
}

pub static ROUTES: &[Route] = &[
    Route {
        name: "createAccessToken",
        method: Method::POST,
        path: "/v2/auth/token",
        summary: "Exchange an API key for a short-lived JWT access token",
        tag: "auth",
        document: "mutation($input: CreateAccessTokenInput) { createAccessToken(input: $input) { accessToken tokenType expiresIn expiresAt scopes } }",
        field: "createAccessToken",
        args: &[Arg::Body { variable: "input", required: false }],
        status: StatusCode::OK,
        request_schema: Some("TokenRequest"),
        response_schema: Some("AccessToken"),
        public: false,
        stream: None,
    },
    Route {
        name: "listAgents",
        method: Method::GET,
        path: "/v2/agents",
        summary: "List agents",
        tag: "agents",
        document: concat!(
            "query($limit: Int, $page: Int) { agents(limit: $limit, page: $page) { agents { ...AgentFields } pagination { total page limit } } } ",
            agent_fields!()
        ),
        field: "agents",
        args: &PAGE_ARGS,
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("AgentList"),
        public: false,
        stream: None,
    },
    Route {
        name: "createAgent",
        method: Method::POST,
        path: "/v2/agents",
        summary: "Create an agent",
        tag: "agents",
        document: concat!(
            "mutation($input: CreateAgentInput!) { createAgent(input: $input) { ...AgentFields } } ",
            agent_fields!()
        ),
        field: "createAgent",
        args: &[Arg::Body { variable: "input", required: true }],
        status: StatusCode::CREATED,
        request_schema: Some("AgentCreate"),
        response_schema: Some("Agent"),
        public: false,
        stream: None,
    },
    Route {
        name: "getAgent",
        method: Method::GET,
        path: "/v2/agents/{agentId}",
        summary: "Get an agent's configuration",
        tag: "agents",
        document: concat!("query($agentId: ID!) { agent(id: $agentId) { ...AgentFields } } ", agent_fields!()),
        field: "agent",
        args: &[Arg::Path("agentId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("Agent"),
        public: false,
        stream: None,
    },
    Route {
        name: "updateAgent",
        method: Method::PATCH,
        path: "/v2/agents/{agentId}",
        summary: "Update an agent (only the fields given)",
        tag: "agents",
        document: concat!(
            "mutation($agentId: ID!, $input: UpdateAgentInput!) { updateAgent(id: $agentId, input: $input) { ...AgentFields } } ",
            agent_fields!()
        ),
        field: "updateAgent",
        args: &[Arg::Path("agentId"), Arg::Body { variable: "input", required: true }],
        status: StatusCode::OK,
        request_schema: Some("AgentUpdate"),
        response_schema: Some("Agent"),
        public: false,
        stream: None,
    },
    Route {
        name: "deleteAgent",
        method: Method::DELETE,
        path: "/v2/agents/{agentId}",
        summary: "Delete an agent",
        tag: "agents",
        document: "mutation($agentId: ID!) { deleteAgent(id: $agentId) { id deleted } }",
        field: "deleteAgent",
        args: &[Arg::Path("agentId")],
        status: StatusCode::NO_CONTENT,
        request_schema: None,
        response_schema: None,
        public: false,
        stream: None,
    },
    Route {
        name: "listAgentSkills",
        method: Method::GET,
        path: "/v2/agents/{agentId}/skills",
        summary: "List the skills installed on an agent",
        tag: "skills",
        document: concat!(
            "query($agentId: ID!) { agent(id: $agentId) { skills { ...InstalledSkillFields } } } ",
            "fragment InstalledSkillFields on InstalledSkill { id version enabled config installedAt }"
        ),
        field: "agent",
        args: &[Arg::Path("agentId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("InstalledSkillList"),
        public: false,
        stream: None,
    },
    Route {
        name: "installSkill",
        method: Method::POST,
        path: "/v2/agents/{agentId}/skills",
        summary: "Install a skill into an agent",
        tag: "skills",
        document: "mutation($agentId: ID!, $input: InstallSkillInput!) { installSkill(agentId: $agentId, input: $input) { id version enabled config installedAt } }",
        field: "installSkill",
        args: &[Arg::Path("agentId"), Arg::Body { variable: "input", required: true }],
        status: StatusCode::CREATED,
        request_schema: Some("SkillInstall"),
        response_schema: Some("InstalledSkill"),
        public: false,
        stream: None,
    },
    Route {
        name: "updateInstalledSkill",
        method: Method::PATCH,
        path: "/v2/agents/{agentId}/skills/{skillId}",
        summary: "Change an installed skill's version, config or enabled flag",
        tag: "skills",
        document: "mutation($agentId: ID!, $skillId: ID!, $input: UpdateInstalledSkillInput!) { updateInstalledSkill(agentId: $agentId, skillId: $skillId, input: $input) { id version enabled config installedAt } }",
        field: "updateInstalledSkill",
        args: &[Arg::Path("agentId"), Arg::Path("skillId"), Arg::Body { variable: "input", required: true }],
        status: StatusCode::OK,
        request_schema: Some("InstalledSkillUpdate"),
        response_schema: Some("InstalledSkill"),
        public: false,
        stream: None,
    },
    Route {
        name: "uninstallSkill",
        method: Method::DELETE,
        path: "/v2/agents/{agentId}/skills/{skillId}",
        summary: "Uninstall a skill from an agent",
        tag: "skills",
        document: "mutation($agentId: ID!, $skillId: ID!) { uninstallSkill(agentId: $agentId, skillId: $skillId) { id deleted } }",
        field: "uninstallSkill",
        args: &[Arg::Path("agentId"), Arg::Path("skillId")],
        status: StatusCode::NO_CONTENT,
        request_schema: None,
        response_schema: None,
        public: false,
        stream: None,
    },
    Route {
        name: "listSkills",
        method: Method::GET,
        path: "/v2/skills",
        summary: "Browse the skills catalog",
        tag: "skills",
        document: concat!(
            "query($category: String, $limit: Int, $page: Int) { skills(category: $category, limit: $limit, page: $page) { skills { ...SkillFields } pagination { total page limit } } } ",
            skill_fields!()
        ),
        field: "skills",
        args: &[Arg::Query("category", ArgType::String), PAGE_ARGS[0], PAGE_ARGS[1]],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("SkillList"),
        public: false,
        stream: None,
    },
    Route {
        name: "registerSkill",
        method: Method::POST,
        path: "/v2/skills",
        summary: "Register a custom HTTP skill, private to your account; its invocations are POSTed to `endpoint`, signed with the returned `secret` (shown only here)",
        tag: "skills",
        document: concat!(
            "mutation($input: RegisterSkillInput!) { registerSkill(input: $input) { skill { ...SkillFields custom tools endpoint parameters configSchema } secret } } ",
            skill_fields!()
        ),
        field: "registerSkill",
        args: &[Arg::Body { variable: "input", required: true }],
        status: StatusCode::CREATED,
        request_schema: Some("SkillRegister"),
        response_schema: Some("RegisteredSkill"),
        public: false,
        stream: None,
    },
    Route {
        name: "deleteSkill",
        method: Method::DELETE,
        path: "/v2/skills/{skillId}",
        summary: "Delete one of your custom skills (uninstalling it from your agents)",
        tag: "skills",
        document: "mutation($skillId: ID!) { deleteSkill(id: $skillId) { id deleted } }",
        field: "deleteSkill",
        args: &[Arg::Path("skillId")],
        status: StatusCode::NO_CONTENT,
        request_schema: None,
        response_schema: None,
        public: false,
        stream: None,
    },
    Route {
        name: "getSkill",
        method: Method::GET,
        path: "/v2/skills/{skillId}",
        summary: "Get a catalog skill with its versions and config schema",
        tag: "skills",
        document: concat!(
            "query($skillId: ID!) { skill(id: $skillId) { ...SkillFields custom tools endpoint parameters configSchema versions { version configSchema releasedAt } } } ",
            skill_fields!()
        ),
        field: "skill",
        args: &[Arg::Path("skillId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("SkillDetail"),
        public: false,
        stream: None,
    },
    Route {
        name: "createConversation",
        method: Method::POST,
        path: "/v2/conversations",
        summary: "Open a conversation with an agent",
        tag: "conversations",
        document: concat!(
            "mutation($input: CreateConversationInput!) { createConversation(input: $input) { ...ConversationFields } } ",
            conversation_fields!()
        ),
        field: "createConversation",
        args: &[Arg::Body { variable: "input", required: true }],
        status: StatusCode::CREATED,
        request_schema: Some("ConversationCreate"),
        response_schema: Some("Conversation"),
        public: false,
        stream: None,
    },
    Route {
        name: "listConversations",
        method: Method::GET,
        path: "/v2/conversations",
        summary: "List conversations, newest first (cursor pagination)",
        tag: "conversations",
        document: concat!(
            "query($agentId: ID, $userId: String, $status: String, $after: String, $limit: Int) { \
             conversations(agentId: $agentId, userId: $userId, status: $status, after: $after, limit: $limit) { \
             conversations { ...ConversationFields } pagination { limit hasMore nextCursor } } } ",
            conversation_fields!()
        ),
        field: "conversations",
        args: &[
            Arg::Query("agentId", ArgType::String),
            Arg::Query("userId", ArgType::String),
            Arg::Query("status", ArgType::String),
            CURSOR_ARGS[0],
            CURSOR_ARGS[1],
        ],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("ConversationList"),
        public: false,
        stream: None,
    },
    Route {
        name: "getConversation",
        method: Method::GET,
        path: "/v2/conversations/{conversationId}",
        summary: "Get a conversation",
        tag: "conversations",
        document: concat!(
            "query($conversationId: ID!) { conversation(id: $conversationId) { ...ConversationFields } } ",
            conversation_fields!()
        ),
        field: "conversation",
        args: &[Arg::Path("conversationId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("Conversation"),
        public: false,
        stream: None,
    },
    Route {
        name: "deleteConversation",
        method: Method::DELETE,
        path: "/v2/conversations/{conversationId}",
        summary: "Delete a conversation and its messages (a running reply is cancelled)",
        tag: "conversations",
        document: "mutation($conversationId: ID!) { deleteConversation(id: $conversationId) { id deleted } }",
        field: "deleteConversation",
        args: &[Arg::Path("conversationId")],
        status: StatusCode::NO_CONTENT,
        request_schema: None,
        response_schema: None,
        public: false,
        stream: None,
    },
    Route {
        name: "archiveConversation",
        method: Method::POST,
        path: "/v2/conversations/{conversationId}/archive",
        summary: "Archive a conversation (history kept, no new messages)",
        tag: "conversations",
        document: concat!(
            "mutation($conversationId: ID!) { archiveConversation(id: $conversationId) { ...ConversationFields } } ",
            conversation_fields!()
        ),
        field: "archiveConversation",
        args: &[Arg::Path("conversationId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("Conversation"),
        public: false,
        stream: None,
    },
    Route {
        name: "sendMessage",
        method: Method::POST,
        path: "/v2/conversations/{conversationId}/messages",
        summary: "Send a message; the reply is returned when done, or streamed as text/event-stream with \"stream\": true",
        tag: "messages",
        document: concat!(
            "mutation($conversationId: ID!, $input: SendMessageInput!) { sendMessage(conversationId: $conversationId, input: $input) { \
             message { ...MessageFields } reply { ...MessageFields } } } ",
            message_fields!()
        ),
        field: "sendMessage",
        args: &[Arg::Path("conversationId"), Arg::Body { variable: "input", required: true }],
        status: StatusCode::OK,
        request_schema: Some("MessageSend"),
        response_schema: Some("MessageExchange"),
        public: false,
        stream: Some(&SEND_MESSAGE_STREAM),
    },
    Route {
        name: "listMessages",
        method: Method::GET,
        path: "/v2/conversations/{conversationId}/messages",
        summary: "List a conversation's messages, oldest first (cursor pagination)",
        tag: "messages",
        document: concat!(
            "query($conversationId: ID!, $after: String, $limit: Int) { messages(conversationId: $conversationId, after: $after, limit: $limit) { \
             messages { ...MessageFields } pagination { limit hasMore nextCursor } } } ",
            message_fields!()
        ),
        field: "messages",
        args: &[Arg::Path("conversationId"), CURSOR_ARGS[0], CURSOR_ARGS[1]],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("MessageList"),
        public: false,
        stream: None,
    },
    Route {
        name: "streamMessage",
        method: Method::GET,
        path: "/v2/conversations/{conversationId}/messages/{messageId}/stream",
        summary: "A reply's event stream; with Last-Event-ID, resumes after that event (missed events replayed, then live)",
        tag: "messages",
        document: "query($conversationId: ID!, $messageId: ID!) { conversation(id: $conversationId) { reply(id: $messageId) { id } } }",
        field: "conversation",
        args: &[Arg::Path("conversationId"), Arg::Path("messageId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: None,
        public: false,
        stream: Some(&RESUME_STREAM),
    },
    Route {
        name: "getMessage",
        method: Method::GET,
        path: "/v2/messages/{messageId}",
        summary: "Get a message",
        tag: "messages",
        document: concat!(
            "query($messageId: ID!) { message(id: $messageId) { ...MessageFields } } ",
            message_fields!()
        ),
        field: "message",
        args: &[Arg::Path("messageId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("Message"),
        public: false,
        stream: None,
    },
    Route {
        name: "cancelReply",
        method: Method::POST,
        path: "/v2/conversations/{conversationId}/cancel",
        summary: "Stop the running reply; its partial content is kept with status cancelled",
        tag: "messages",
        document: concat!(
            "mutation($conversationId: ID!) { cancelReply(conversationId: $conversationId) { ...MessageFields } } ",
            message_fields!()
        ),
        field: "cancelReply",
        args: &[Arg::Path("conversationId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("Message"),
        public: false,
        stream: None,
    },
    Route {
        name: "listEvents",
        method: Method::GET,
        path: "/v2/events",
        summary: "List the account's events, oldest first (cursor pagination; `type` filters, comma-separated)",
        tag: "events",
        document: concat!(
            "query($type: [String!], $after: String, $limit: Int) { events(types: $type, after: $after, limit: $limit) { events { ",
            "id type subjectId createdAt data",
            " } pagination { limit hasMore nextCursor } } }"
        ),
        field: "events",
        args: &[Arg::Query("type", ArgType::String), CURSOR_ARGS[0], CURSOR_ARGS[1]],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("EventList"),
        public: false,
        stream: None,
    },
    Route {
        name: "getEvent",
        method: Method::GET,
        path: "/v2/events/{eventId}",
        summary: "Get one event",
        tag: "events",
        document: concat!("query($eventId: ID!) { event(id: $eventId) { ", "id type subjectId createdAt data", " } }"),
        field: "event",
        args: &[Arg::Path("eventId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("Event"),
        public: false,
        stream: None,
    },
    Route {
        name: "listWebhooks",
        method: Method::GET,
        path: "/v2/webhooks",
        summary: "List webhook endpoints",
        tag: "webhooks",
        document: concat!(
            "query($limit: Int, $page: Int) { webhooks(limit: $limit, page: $page) { webhooks { ...WebhookFields } pagination { total page limit } } } ",
            webhook_fields!()
        ),
        field: "webhooks",
        args: &[PAGE_ARGS[0], PAGE_ARGS[1]],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("WebhookList"),
        public: false,
        stream: None,
    },
    Route {
        name: "createWebhook",
        method: Method::POST,
        path: "/v2/webhooks",
        summary: "Register a webhook endpoint (the response shows its secret once)",
        tag: "webhooks",
        document: concat!(
            "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { ...WebhookFields } } ",
            webhook_fields!()
        ),
        field: "createWebhook",
        args: &[Arg::Body { variable: "input", required: true }],
        status: StatusCode::CREATED,
        request_schema: Some("WebhookCreate"),
        response_schema: Some("Webhook"),
        public: false,
        stream: None,
    },
    Route {
        name: "getWebhook",
        method: Method::GET,
        path: "/v2/webhooks/{webhookId}",
        summary: "Get a webhook endpoint",
        tag: "webhooks",
        document: concat!(
            "query($webhookId: ID!) { webhook(id: $webhookId) { ...WebhookFields } } ",
            webhook_fields!()
        ),
        field: "webhook",
        args: &[Arg::Path("webhookId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("Webhook"),
        public: false,
        stream: None,
    },
    Route {
        name: "updateWebhook",
        method: Method::PATCH,
        path: "/v2/webhooks/{webhookId}",
        summary: "Change a webhook endpoint (only the fields given)",
        tag: "webhooks",
        document: concat!(
            "mutation($webhookId: ID!, $input: UpdateWebhookInput!) { updateWebhook(id: $webhookId, input: $input) { ...WebhookFields } } ",
            webhook_fields!()
        ),
        field: "updateWebhook",
        args: &[Arg::Path("webhookId"), Arg::Body { variable: "input", required: true }],
        status: StatusCode::OK,
        request_schema: Some("WebhookUpdate"),
        response_schema: Some("Webhook"),
        public: false,
        stream: None,
    },
    Route {
        name: "deleteWebhook",
        method: Method::DELETE,
        path: "/v2/webhooks/{webhookId}",
        summary: "Delete a webhook endpoint",
        tag: "webhooks",
        document: "mutation($webhookId: ID!) { deleteWebhook(id: $webhookId) { id deleted } }",
        field: "deleteWebhook",
        args: &[Arg::Path("webhookId")],
        status: StatusCode::NO_CONTENT,
        request_schema: None,
        response_schema: None,
        public: false,
        stream: None,
    },
    Route {
        name: "rotateWebhookSecret",
        method: Method::POST,
        path: "/v2/webhooks/{webhookId}/rotate-secret",
        summary: "Rotate the signing secret; the previous one keeps signing for the grace period",
        tag: "webhooks",
        document: concat!(
            "mutation($webhookId: ID!, $input: RotateWebhookSecretInput) { rotateWebhookSecret(id: $webhookId, input: $input) { ...WebhookFields } } ",
            webhook_fields!()
        ),
        field: "rotateWebhookSecret",
        args: &[Arg::Path("webhookId"), Arg::Body { variable: "input", required: false }],
        status: StatusCode::OK,
        request_schema: Some("WebhookRotate"),
        response_schema: Some("Webhook"),
        public: false,
        stream: None,
    },
    Route {
        name: "testWebhook",
        method: Method::POST,
        path: "/v2/webhooks/{webhookId}/test",
        summary: "Send a webhook.test event to this endpoint",
        tag: "webhooks",
        document: concat!(
            "mutation($webhookId: ID!) { testWebhook(id: $webhookId) { ...DeliveryFields } } ",
            delivery_fields!()
        ),
        field: "testWebhook",
        args: &[Arg::Path("webhookId")],
        status: StatusCode::ACCEPTED,
        request_schema: None,
        response_schema: Some("Delivery"),
        public: false,
        stream: None,
    },
    Route {
        name: "listWebhookDeliveries",
        method: Method::GET,
        path: "/v2/webhooks/{webhookId}/deliveries",
        summary: "An endpoint's deliveries with every attempt, newest first",
        tag: "webhooks",
        document: concat!(
            "query($webhookId: ID!, $status: String, $after: String, $limit: Int) { webhookDeliveries(webhookId: $webhookId, status: $status, after: $after, limit: $limit) { deliveries { ...DeliveryFields } pagination { limit hasMore nextCursor } } } ",
            delivery_fields!()
        ),
        field: "webhookDeliveries",
        args: &[Arg::Path("webhookId"), Arg::Query("status", ArgType::String), CURSOR_ARGS[0], CURSOR_ARGS[1]],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("DeliveryList"),
        public: false,
        stream: None,
    },
    Route {
        name: "redeliverWebhookDelivery",
        method: Method::POST,
        path: "/v2/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
        summary: "Send a delivery's event again (a new delivery, same event id)",
        tag: "webhooks",
        document: concat!(
            "mutation($webhookId: ID!, $deliveryId: ID!) { redeliverWebhookDelivery(id: $deliveryId, webhookId: $webhookId) { ...DeliveryFields } } ",
            delivery_fields!()
        ),
        field: "redeliverWebhookDelivery",
        args: &[Arg::Path("webhookId"), Arg::Path("deliveryId")],
        status: StatusCode::ACCEPTED,
        request_schema: None,
        response_schema: Some("Delivery"),
        public: false,
        stream: None,
    },
    Route {
        name: "createTask",
        method: Method::POST,
        path: "/v2/tasks",
        summary: "Queue an async task (202); follow it by GET, subscription, webhook or callback",
        tag: "tasks",
        document: concat!(
            "mutation($input: CreateTaskInput!) { createTask(input: $input) { ...TaskFields } } ",
            task_fields!()
        ),
        field: "createTask",
        args: &[Arg::Body { variable: "input", required: true }],
        status: StatusCode::ACCEPTED,
        request_schema: Some("TaskCreate"),
        response_schema: Some("Task"),
        public: false,
        stream: None,
    },
    Route {
        name: "listTasks",
        method: Method::GET,
        path: "/v2/tasks",
        summary: "List tasks, newest first (cursor pagination)",
        tag: "tasks",
        document: concat!(
            "query($status: String, $type: String, $after: String, $limit: Int) { tasks(status: $status, type: $type, after: $after, limit: $limit) { tasks { ...TaskFields } pagination { limit hasMore nextCursor } } } ",
            task_fields!()
        ),
        field: "tasks",
        args: &[
            Arg::Query("status", ArgType::String),
            Arg::Query("type", ArgType::String),
            CURSOR_ARGS[0],
            CURSOR_ARGS[1],
        ],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("TaskList"),
        public: false,
        stream: None,
    },
    Route {
        name: "getTask",
        method: Method::GET,
        path: "/v2/tasks/{taskId}",
        summary: "Get a task's status, progress and result",
        tag: "tasks",
        document: concat!("query($taskId: ID!) { task(id: $taskId) { ...TaskFields } } ", task_fields!()),
        field: "task",
        args: &[Arg::Path("taskId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("Task"),
        public: false,
        stream: None,
    },
    Route {
        name: "cancelTask",
        method: Method::POST,
        path: "/v2/tasks/{taskId}/cancel",
        summary: "Cancel a queued or running task",
        tag: "tasks",
        document: concat!("mutation($taskId: ID!) { cancelTask(id: $taskId) { ...TaskFields } } ", task_fields!()),
        field: "cancelTask",
        args: &[Arg::Path("taskId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("Task"),
        public: false,
        stream: None,
    },
    Route {
        name: "getUsage",
        method: Method::GET,
        path: "/v2/usage",
        summary: "This month's token usage (allowance, overage and its cost), the rate and concurrency state, and a daily breakdown",
        tag: "usage",
        document: "query { usage { plan period { month start end } tokens { prompt completion used included remaining overage overageCostMicroUsd overageCost blocksWhenExhausted } modelCalls requests { limitPerMinute remaining usedThisMinute resetAt concurrentLimit inFlight } daily { date promptTokens completionTokens totalTokens modelCalls } } }",
        field: "usage",
        args: &[],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("Usage"),
        public: false,
        stream: None,
    },
    Route {
        name: "setAccountPlan",
        method: Method::PATCH,
        path: "/v2/admin/accounts/{accountId}",
        summary: "Move an account (id or name) to another plan — `admin` scope only (never implied by `*`)",
        tag: "admin",
        document: "mutation($accountId: String!, $input: AccountPlanInput!) { setAccountPlan(account: $accountId, input: $input) { id name plan createdAt } }",
        field: "setAccountPlan",
        args: &[Arg::Path("accountId"), Arg::Body { variable: "input", required: true }],
        status: StatusCode::OK,
        request_schema: Some("AccountPlan"),
        response_schema: Some("Account"),
        public: false,
        stream: None,
    },
    Route {
        name: "listMemories",
        method: Method::GET,
        path: "/v2/memories",
        summary: "List memories newest first (`agentId`, `userId`, `type` filter); with `q` (and `agentId`), a full-text search, most relevant first",
        tag: "memories",
        document: concat!(
            "query($agentId: ID, $userId: String, $type: String, $q: String, $limit: Int, $page: Int) { memories(agentId: $agentId, userId: $userId, type: $type, q: $q, limit: $limit, page: $page) { memories { ...MemoryFields } pagination { total page limit } } } ",
            memory_fields!()
        ),
        field: "memories",
        args: &[
            Arg::Query("agentId", ArgType::String),
            Arg::Query("userId", ArgType::String),
            Arg::Query("type", ArgType::String),
            Arg::Query("q", ArgType::String),
            PAGE_ARGS[0],
            PAGE_ARGS[1],
        ],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("MemoryList"),
        public: false,
        stream: None,
    },
    Route {
        name: "createMemory",
        method: Method::POST,
        path: "/v2/memories",
        summary: "Store a memory for an agent (optionally about one user); it expires after the agent's `memory.retention`",
        tag: "memories",
        document: concat!(
            "mutation($input: CreateMemoryInput!) { createMemory(input: $input) { ...MemoryFields } } ",
            memory_fields!()
        ),
        field: "createMemory",
        args: &[Arg::Body { variable: "input", required: true }],
        status: StatusCode::CREATED,
        request_schema: Some("MemoryCreate"),
        response_schema: Some("Memory"),
        public: false,
        stream: None,
    },
    Route {
        name: "getMemory",
        method: Method::GET,
        path: "/v2/memories/{memoryId}",
        summary: "One memory (404 once expired)",
        tag: "memories",
        document: concat!("query($memoryId: ID!) { memory(id: $memoryId) { ...MemoryFields } } ", memory_fields!()),
        field: "memory",
        args: &[Arg::Path("memoryId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("Memory"),
        public: false,
        stream: None,
    },
    Route {
        name: "updateMemory",
        method: Method::PATCH,
        path: "/v2/memories/{memoryId}",
        summary: "Change a memory's content, type or metadata",
        tag: "memories",
        document: concat!(
            "mutation($memoryId: ID!, $input: UpdateMemoryInput!) { updateMemory(id: $memoryId, input: $input) { ...MemoryFields } } ",
            memory_fields!()
        ),
        field: "updateMemory",
        args: &[Arg::Path("memoryId"), Arg::Body { variable: "input", required: true }],
        status: StatusCode::OK,
        request_schema: Some("MemoryUpdate"),
        response_schema: Some("Memory"),
        public: false,
        stream: None,
    },
    Route {
        name: "deleteMemory",
        method: Method::DELETE,
        path: "/v2/memories/{memoryId}",
        summary: "Forget a memory",
        tag: "memories",
        document: "mutation($memoryId: ID!) { deleteMemory(id: $memoryId) { id deleted } }",
        field: "deleteMemory",
        args: &[Arg::Path("memoryId")],
        status: StatusCode::NO_CONTENT,
        request_schema: None,
        response_schema: None,
        public: false,
        stream: None,
    },
    Route {
        name: "listTickets",
        method: Method::GET,
        path: "/v2/tickets",
        summary: "List support tickets opened by agents (`ticket-system` skill), newest first (`status` filters)",
        tag: "tickets",
        document: concat!(
            "query($status: String, $limit: Int, $page: Int) { tickets(status: $status, limit: $limit, page: $page) { tickets { ...TicketFields } pagination { total page limit } } } ",
            ticket_fields!()
        ),
        field: "tickets",
        args: &[Arg::Query("status", ArgType::String), PAGE_ARGS[0], PAGE_ARGS[1]],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("TicketList"),
        public: false,
        stream: None,
    },
    Route {
        name: "getTicket",
        method: Method::GET,
        path: "/v2/tickets/{ticketId}",
        summary: "One ticket",
        tag: "tickets",
        document: concat!("query($ticketId: ID!) { ticket(id: $ticketId) { ...TicketFields } } ", ticket_fields!()),
        field: "ticket",
        args: &[Arg::Path("ticketId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("Ticket"),
        public: false,
        stream: None,
    },
    Route {
        name: "updateTicket",
        method: Method::PATCH,
        path: "/v2/tickets/{ticketId}",
        summary: "Change a ticket's status or priority",
        tag: "tickets",
        document: concat!(
            "mutation($ticketId: ID!, $input: UpdateTicketInput!) { updateTicket(id: $ticketId, input: $input) { ...TicketFields } } ",
            ticket_fields!()
        ),
        field: "updateTicket",
        args: &[Arg::Path("ticketId"), Arg::Body { variable: "input", required: true }],
        status: StatusCode::OK,
        request_schema: Some("TicketUpdate"),
        response_schema: Some("Ticket"),
        public: false,
        stream: None,
    },
    Route {
        name: "listFiles",
        method: Method::GET,
        path: "/v2/files",
        summary: "List the account's files, newest first (`purpose` filters)",
        tag: "files",
        document: "query($purpose: String, $limit: Int, $page: Int) { files(purpose: $purpose, limit: $limit, page: $page) { files { id name size contentType sha256 purpose collection createdAt url } pagination { total page limit } } }",
        field: "files",
        args: &[Arg::Query("purpose", ArgType::String), PAGE_ARGS[0], PAGE_ARGS[1]],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("FileList"),
        public: false,
        stream: None,
    },
    Route {
        name: "getFile",
        method: Method::GET,
        path: "/v2/files/{fileId}",
        summary: "A file's metadata",
        tag: "files",
        document: "query($fileId: ID!) { file(id: $fileId) { id name size contentType sha256 purpose collection createdAt url } }",
        field: "file",
        args: &[Arg::Path("fileId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("File"),
        public: false,
        stream: None,
    },
    Route {
        name: "deleteFile",
        method: Method::DELETE,
        path: "/v2/files/{fileId}",
        summary: "Delete a file (metadata and bytes)",
        tag: "files",
        document: "mutation($fileId: ID!) { deleteFile(id: $fileId) { id deleted } }",
        field: "deleteFile",
        args: &[Arg::Path("fileId")],
        status: StatusCode::NO_CONTENT,
        request_schema: None,
        response_schema: None,
        public: false,
        stream: None,
    },
];
