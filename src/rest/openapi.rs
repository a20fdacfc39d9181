//! The OpenAPI 3.1 document of the REST layer, generated from the same route table the router is built from.
use serde_json::{Map, Value, json};

use super::routes::{Arg, ArgType, ROUTES};

/// Builds `/v2/openapi.json`.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let mut parameters = Vec::new();
        let mut request_body = None;
        for arg in route.args {
            match *arg {
                Arg::Path(name) => parameters.push(json!({
                    "name": name, "in": "path", "required": true, "schema": {"type": "string"}
                })),
                Arg::Query(name, kind) => parameters.push(json!({
                    "name": name, "in": "query", "required": false,
                    "schema": match (kind, name) {
                        (ArgType::Int, "limit") => json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
                        (ArgType::Int, "page") => json!({"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}),
                        (ArgType::Int, _) => json!({"type": "integer"}),
                        (ArgType::String, _) => json!({"type": "string"}),
                    }
                })),
                Arg::Body { required, .. } => {
                    let schema = route.request_schema.map_or_else(|| json!({"type": "object"}), schema_ref);
                    request_body = Some(json!({
                        "required": required,
                        "content": {"application/json": {"schema": schema}}
                    }));
                }
            }
        }
        let mut responses = Map::new();
        // One server-sent event (the OpenAPI 3.2 `itemSchema` convention: the fields of one event block).
        let event_stream = json!({"itemSchema": {"type": "object", "required": ["data"], "properties": {
                "id": {"type": "string", "description": "the event's sequence in its reply's stream, for Last-Event-ID"},
                "event": {"type": "string", "enum": ["message.created", "message.delta", "tool.call", "tool.result",
                                                      "message.completed", "error", "done"]},
                "data": {"type": "string", "contentMediaType": "application/json"},
                "retry": {"type": "integer"}}},
            "description": "SSE (HTML living standard); comment heartbeats keep idle streams open"});
        let success = match (route.response_schema, route.stream) {
            (Some(name), Some(_)) => json!({"description": route.summary, "content": {
                "application/json": {"schema": schema_ref(name)}, "text/event-stream": event_stream}}),
            (Some(name), None) => {
                json!({"description": route.summary, "content": {"application/json": {"schema": schema_ref(name)}}})
            }
            (None, Some(_)) => json!({"description": route.summary, "content": {"text/event-stream": event_stream}}),
            (None, None) => json!({"description": "done"}),
        };
        if route.stream.is_some_and(|s| !s.when_body_flag) {
            parameters.push(json!({"name": "Last-Event-ID", "in": "header", "required": false,
                "description": "resume after this event id (the `sequence`)", "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}}));
        }
        if route.method == axum::http::Method::POST {
            parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
                "description": "retries with the same key and body return the first response (kept 24 h)",
                "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"}}));
        }
        let mut success = success;
        success["headers"] = rate_limit_headers();
        responses.insert(route.status.as_u16().to_string(), success);
        responses.insert("429".into(), too_many_requests());
        responses.insert(
            "default".into(),
            json!({
                "description": "error",
                "content": {"application/json": {"schema": schema_ref("Error")}}
            }),
        );
        let mut operation = json!({
            "operationId": route.name,
            "summary": route.summary,
            "tags": [route.tag],
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(body) = request_body {
            operation["requestBody"] = body;
        }
        if route.public {
            operation["security"] = json!([]);
        }
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    extra_paths(&mut paths);
    json!({
        "openapi": "3.1.0",
        "info": {"title": "OpenClaw API", "version": "2.0.0",
                 "description": "REST compatibility layer; every operation executes the GraphQL schema at /v2/graphql."},
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}, {"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": schemas()
        }
    })
}

/// The rate state every metered response carries (absent for plans without a per-minute limit).
fn rate_limit_headers() -> Value {
    let integer = |description: &str| json!({"description": description, "schema": {"type": "integer"}});
    json!({
        "X-RateLimit-Limit": integer("cost units allowed per minute"),
        "X-RateLimit-Remaining": integer("units left now (a REST call costs 1, a GraphQL operation its complexity)"),
        "X-RateLimit-Reset": integer("epoch seconds when the whole allowance is back"),
        "RateLimit-Policy": {"description": "IETF draft: `\"per-minute\";q=<limit>;w=60`", "schema": {"type": "string"}},
        "RateLimit": {"description": "IETF draft: `\"per-minute\";r=<remaining>;t=<seconds until whole>`", "schema": {"type": "string"}}
    })
}

/// `rate_limited`, `concurrency_limited` or `quota_exceeded`, with `Retry-After` (never earlier than a retry can
/// succeed).
fn too_many_requests() -> Value {
    let mut headers = rate_limit_headers();
    headers["Retry-After"] = json!({"description": "seconds", "schema": {"type": "integer", "minimum": 1}});
    json!({"description": "over the plan's rate, concurrency or monthly token limit", "headers": headers,
           "content": {"application/json": {"schema": schema_ref("Error")}}})
}

/// Endpoints outside the route table: the batch executor and file downloads (binary).
fn extra_paths(paths: &mut Map<String, Value>) {
    let error = json!({"description": "error", "content": {"application/json": {"schema": schema_ref("Error")}}});
    paths.insert(
        "/v2/batch".into(),
        json!({"post": {
        "operationId": "batch",
        "summary": "Run several REST calls in order, each authorised like a request of its own; `{{N.body.field}}` \
                    in a path or body string refers to an earlier result",
        "tags": ["batch"],
        "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref("BatchRequest")}}},
        "responses": {
            "200": {"description": "one result per operation, in order (each operation counted like a request)",
                    "headers": rate_limit_headers(),
                    "content": {"application/json": {"schema": schema_ref("BatchResponse")}}},
            "429": too_many_requests(),
            "default": error.clone()}}}),
    );
    let files = paths.entry("/v2/files").or_insert_with(|| json!({}));
    files["post"] = json!({
        "operationId": "uploadFile",
        "summary": "Upload a file (multipart/form-data: `purpose`, `collection`, then `file`), streamed to storage; the content type is sniffed from the bytes",
        "tags": ["files"],
        "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "purpose": {"type": "string", "enum": crate::services::files::PURPOSES, "default": "user_data",
                        "description": "`knowledge` files are extracted (txt, md, csv, json, html, pdf) and indexed for the knowledge-base skill"},
            "collection": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$", "description": "knowledge files only: the collection (the knowledge-base skill's `index`)"},
            "file": {"type": "string", "format": "binary"}}}}}},
        "responses": {
            "201": {"description": "the stored file", "headers": rate_limit_headers(),
                    "content": {"application/json": {"schema": schema_ref("File")}}},
            "413": {"description": "larger than OPENCLAW_FILE_MAX_BYTES", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "415": {"description": "a knowledge file of a type without extractable text (`unsupported_file_type`)", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "422": {"description": "a knowledge file that does not parse, e.g. a broken PDF (`unreadable_file`), or whose extraction hit a limit of time, memory, nesting or size (`extraction_limit`)", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "429": too_many_requests(),
            "default": error.clone()}});
    paths.insert("/v2/files/{fileId}/content".into(), json!({"get": {
        "operationId": "getFileContent",
        "summary": "Download a stored file (task charts)",
        "tags": ["files"],
        "parameters": [{"name": "fileId", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "the file's bytes, with its Content-Type, ETag, Content-Disposition and Accept-Ranges",
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
            "206": {"description": "the requested range (`Range: bytes=a-b`, `a-`, `-n`; `If-Range` honoured)",
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
            "416": {"description": "range not satisfiable (`Content-Range: bytes */size`)"},
            "304": {"description": "not modified (If-None-Match)"},
            "429": too_many_requests(),
            "default": error}}}));
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn schemas() -> Value {
    let timestamp = json!({"type": "string", "format": "date-time"});
    // Printable text: the server refuses control characters in names.
    let printable = |max: u32| {
        json!({"type": "string", "minLength": 1, "maxLength": max,
               "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"})
    };
    let slug = json!({"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"});
    let version = json!({"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$"});
    let provider = json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"});
    let limits = json!({
        "temperature": {"type": ["number", "null"], "minimum": 0, "maximum": 2},
        "maxTokens": {"type": ["integer", "null"], "minimum": 1, "maximum": 1_000_000}});
    let model_ref = json!({"oneOf": [
        {"type": "string", "examples": ["gpt-4", "openai/gpt-4", "echo"],
         "pattern": "^([A-Za-z0-9_-]{1,64}/)?[^\\u0000-\\u001F\\u007F-\\u009F/\\s][^\\u0000-\\u001F\\u007F-\\u009F/]{0,198}$"},
        {"type": "object", "required": ["name"], "additionalProperties": false, "properties": {
            "provider": provider, "name": printable(200),
            "settings": {"type": "object", "additionalProperties": false, "properties": limits}}}
    ]});
    let skill_ref = json!({"oneOf": [
        {"type": "string", "examples": ["knowledge-base"], "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
        {"type": "object", "required": ["id"], "additionalProperties": false, "properties": {
            "id": slug, "version": version, "enabled": {"type": "boolean"}, "config": {"type": "object"}}}
    ]});
    let memory = json!({"type": "object", "additionalProperties": false, "properties": {
        "enabled": {"type": "boolean"},
        "type": {"type": "string", "enum": ["conversation", "user", "agent"]},
        "retention": {"type": "string", "pattern": "^([1-9][0-9]{0,3}[hdw]|forever|never)$", "examples": ["30d", "12h", "never"]}}});
    let mut settings_props = limits.clone();
    settings_props["memoryEnabled"] = json!({"type": "boolean"});
    let settings = json!({"type": "object", "additionalProperties": false, "properties": settings_props});
    let agent_input = |required: Value| {
        json!({"type": "object", "required": required, "additionalProperties": false, "properties": {
        "id": {"type": "string", "description": "read-only; ignored on input"},
        "name": printable(200),
        "description": {"type": ["string", "null"], "maxLength": 2000},
        "model": model_ref, "systemPrompt": {"type": ["string", "null"], "maxLength": 100_000},
        "skills": {"type": "array", "items": skill_ref}, "settings": settings, "memory": memory}})
    };
    let pagination = json!({"type": "object", "required": ["total", "page", "limit"], "properties": {
        "total": {"type": "integer"}, "page": {"type": "integer"}, "limit": {"type": "integer"}}});
    let skill_props = json!({
        "id": {"type": "string"}, "name": {"type": "string"}, "version": {"type": "string"},
        "category": {"type": "string"}, "description": {"type": "string"}, "author": {"type": "string"},
        "downloads": {"type": "integer"}, "rating": {"type": "number"}});
    let mut detail_props = skill_props.clone();
    detail_props["custom"] = json!({"type": "boolean", "description": "registered by your account, private to it"});
    detail_props["tools"] = json!({"type": "array", "items": {"type": "string"}, "description": "the tools offered to the model when installed"});
    detail_props["endpoint"] =
        json!({"type": ["string", "null"], "description": "custom skills: where invocations are POSTed"});
    detail_props["parameters"] =
        json!({"type": ["object", "null"], "description": "custom skills: JSON Schema of the tool's arguments"});
    detail_props["configSchema"] = json!({"type": "object"});
    detail_props["versions"] = json!({"type": "array", "items": {"type": "object", "properties": {
        "version": {"type": "string"}, "configSchema": {"type": "object"}, "releasedAt": timestamp}}});
    let conversation = json!({"type": "object", "required": ["id", "agentId", "createdAt", "status"], "properties": {
        "id": {"type": "string"}, "agentId": {"type": "string"},
        "context": {"type": "object", "properties": {"userId": {"type": ["string", "null"]}, "metadata": {"type": "object"}}},
        "settings": {"type": "object", "properties": {"model": {"type": ["string", "null"]},
            "temperature": {"type": ["number", "null"]}, "maxTokens": {"type": ["integer", "null"]}}},
        "status": {"type": "string", "enum": ["active", "archived"]}, "activeReplyId": {"type": ["string", "null"]},
        "createdAt": timestamp, "updatedAt": timestamp}});
    let message = json!({"type": "object", "required": ["id", "conversationId", "role", "content", "status", "createdAt"], "properties": {
        "id": {"type": "string"}, "conversationId": {"type": "string"}, "role": {"type": "string", "enum": ["user", "assistant"]},
        "content": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "in_progress", "completed", "failed", "cancelled"]},
        "attachments": {"type": "array", "items": {"type": "object"}}, "model": {"type": ["string", "null"]},
        "usage": {"type": ["object", "null"], "properties": {"promptTokens": {"type": "integer"},
            "completionTokens": {"type": "integer"}, "totalTokens": {"type": "integer"}}},
        "toolCalls": {"type": "array", "description": "the tools the model called for this reply, with their results", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "skillId": {"type": ["string", "null"]}, "arguments": {},
            "result": {}, "error": {"type": ["object", "null"]}, "durationMs": {"type": ["integer", "null"]}}}},
        "finishReason": {"type": ["string", "null"]},
        "error": {"type": ["object", "null"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
        "replyTo": {"type": ["string", "null"]}, "replyId": {"type": ["string", "null"]},
        "createdAt": timestamp, "completedAt": {"type": ["string", "null"], "format": "date-time"}}});
    let cursor = json!({"type": "object", "required": ["limit", "hasMore"], "properties": {
        "limit": {"type": "integer"}, "hasMore": {"type": "boolean"}, "nextCursor": {"type": ["string", "null"]}}});
    let attachment = json!({"oneOf": [
        {"type": "object", "required": ["type", "url"], "additionalProperties": false, "properties": {
            "type": {"const": "file"}, "url": {"type": "string", "format": "uri", "pattern": "^https?://[^\\s]+$", "maxLength": 2048}}},
        {"type": "object", "required": ["type", "fileId"], "additionalProperties": false, "properties": {
            "type": {"const": "file"}, "fileId": {"type": "string", "pattern": "^file-[A-Za-z0-9-]{1,95}$"}}}]});
    let event_types: Vec<&str> = crate::events::EventKind::ALL.iter().map(|k| k.as_str()).collect();
    let mut subscribable = event_types.clone();
    subscribable.push("*");
    let public_url = json!({"type": "string", "format": "uri", "pattern": "^https?://[^\\s]+$", "maxLength": 2048,
        "description": "Private, loopback and link-local hosts are refused unless OPENCLAW_OUTBOUND_ALLOWLIST permits them"});
    let secret = json!({"type": "string", "minLength": 8, "maxLength": 256, "pattern": "^[^\\u0000-\\u001F\\u007F]*$"});
    let event = json!({"type": "object", "required": ["id", "type", "subjectId", "createdAt", "data"], "properties": {
        "id": {"type": "string"}, "type": {"type": "string", "enum": event_types}, "subjectId": {"type": "string"},
        "createdAt": timestamp, "data": {"type": "object"}}});
    let webhook = json!({"type": "object", "required": ["id", "url", "events", "enabled", "createdAt"], "properties": {
        "id": {"type": "string"}, "url": {"type": "string"}, "description": {"type": ["string", "null"]},
        "events": {"type": "array", "items": {"type": "string"}}, "enabled": {"type": "boolean"},
        "disabledReason": {"type": ["string", "null"]},
        "secret": {"type": ["string", "null"], "description": "only in the responses that create or rotate it"},
        "previousSecretExpiresAt": {"type": ["string", "null"], "format": "date-time"},
        "failingSince": {"type": ["string", "null"], "format": "date-time"},
        "createdAt": timestamp, "updatedAt": timestamp}});
    let delivery = json!({"type": "object", "required": ["id", "eventId", "eventType", "status", "attemptCount", "attempts"], "properties": {
        "id": {"type": "string"}, "webhookId": {"type": ["string", "null"]}, "taskId": {"type": ["string", "null"]},
        "eventId": {"type": "string"}, "eventType": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "succeeded", "failed"]}, "attemptCount": {"type": "integer"},
        "nextAttemptAt": {"type": ["string", "null"], "format": "date-time"}, "lastStatus": {"type": ["integer", "null"]},
        "lastError": {"type": ["string", "null"]}, "payload": {},
        "attempts": {"type": "array", "items": {"type": "object", "required": ["attempt", "latencyMs", "createdAt"], "properties": {
            "attempt": {"type": "integer"}, "statusCode": {"type": ["integer", "null"]}, "latencyMs": {"type": "integer"},
            "responseExcerpt": {"type": ["string", "null"]}, "error": {"type": ["string", "null"]}, "createdAt": timestamp}}},
        "createdAt": timestamp, "completedAt": {"type": ["string", "null"], "format": "date-time"}}});
    let task = json!({"type": "object", "required": ["id", "type", "status", "progress", "input", "createdAt"], "properties": {
        "id": {"type": "string"}, "type": {"type": "string", "enum": crate::services::tasks::TYPES},
        "status": {"type": "string", "enum": crate::services::tasks::status::ALL},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100}, "input": {"type": "object"},
        "result": {"type": ["object", "null"], "description": "analysis: {summary, statistics, charts: [url], chartFiles}"},
        "error": {"type": ["object", "null"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
        "callback": {"type": ["object", "null"]},
        "callbackSecret": {"type": ["string", "null"], "description": "only in the create response"},
        "attempts": {"type": "integer"}, "createdAt": timestamp,
        "startedAt": {"type": ["string", "null"], "format": "date-time"},
        "completedAt": {"type": ["string", "null"], "format": "date-time"}, "updatedAt": timestamp}});
    let task_create = json!({"type": "object", "required": ["type", "input"], "additionalProperties": false, "properties": {
        "type": {"type": "string", "enum": crate::services::tasks::TYPES},
        "input": {"type": "object", "description": "analysis: {fileUrl|fileId, operations, agentId?}; agent.run: {agentId|conversationId, content, userId?}; noop: {sleepMs?}"},
        "callback": {"type": "object", "required": ["url"], "additionalProperties": false, "properties": {
            "url": public_url, "headers": {"type": "object", "additionalProperties": {"type": "string"}}, "secret": secret}},
        "timeoutSeconds": {"type": "integer", "minimum": 1}}});
    let extra = json!({
        "BatchRequest": {"type": "object", "required": ["operations"], "additionalProperties": false, "properties": {
            "operations": {"type": "array", "minItems": 1, "maxItems": 100,
                "description": "at most the plan's batch size: free 10, pro 50, enterprise 100",
                "items": {"type": "object", "required": ["method", "path"], "additionalProperties": false, "properties": {
                    "method": {"type": "string", "enum": ["GET", "POST", "PATCH", "PUT", "DELETE"]},
                    "path": {"type": "string", "pattern": "^/", "examples": ["/conversations/{{0.body.id}}/messages"]},
                    "body": {"type": "object"},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}}}}},
            "atomic": {"type": "boolean", "default": false, "description": "all operations in one transaction: committed only if every one succeeds (status < 400, no GraphQL errors); otherwise nothing is applied and the answer is the failing operation's status with error `batch_rolled_back`. Sending a message or cancelling a reply (model runs) is refused inside (`not_atomic`)."}}},
        "BatchResponse": {"type": "object", "required": ["results"], "properties": {
            "committed": {"type": "boolean", "description": "atomic batches only"},
            "error": {"type": "object", "description": "a rolled-back atomic batch: code `batch_rolled_back`, `operation` = index of the failing operation"},
            "results": {"type": "array", "items": {"type": "object", "required": ["status", "body"], "properties": {
                "status": {"type": "integer", "description": "424 for operations of a rolled-back atomic batch other than the failing one (`rolled_back` / `not_run`)"},
                "headers": {"type": "object"}, "body": {}}}}}},
        "Event": event,
        "EventList": {"type": "object", "required": ["events", "pagination"], "properties": {
            "events": {"type": "array", "items": schema_ref("Event")}, "pagination": cursor}},
        "Webhook": webhook,
        "WebhookCreate": {"type": "object", "required": ["url", "events"], "additionalProperties": false, "properties": {
            "url": public_url, "events": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": subscribable}},
            "secret": secret, "description": {"type": ["string", "null"], "maxLength": 500}, "enabled": {"type": "boolean"}}},
        "WebhookUpdate": {"type": "object", "additionalProperties": false, "properties": {
            "url": public_url, "events": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": subscribable}},
            "description": {"type": "string", "maxLength": 500}, "enabled": {"type": "boolean"}}},
        "WebhookRotate": {"type": "object", "additionalProperties": false, "properties": {
            "secret": secret, "gracePeriodSeconds": {"type": "integer", "minimum": 0, "maximum": crate::services::webhooks::MAX_GRACE_SECS}}},
        "WebhookList": {"type": "object", "required": ["webhooks", "pagination"], "properties": {
            "webhooks": {"type": "array", "items": schema_ref("Webhook")}, "pagination": schema_ref("Pagination")}},
        "Delivery": delivery,
        "DeliveryList": {"type": "object", "required": ["deliveries", "pagination"], "properties": {
            "deliveries": {"type": "array", "items": schema_ref("Delivery")}, "pagination": cursor}},
        "Task": task,
        "File": {"type": "object", "required": ["id", "name", "size", "contentType", "sha256", "purpose", "createdAt", "url"], "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "size": {"type": "integer"},
            "contentType": {"type": "string", "description": "sniffed from the bytes"}, "sha256": {"type": "string"},
            "purpose": {"type": "string", "enum": crate::services::files::PURPOSES},
            "collection": {"type": ["string", "null"], "description": "knowledge files: the collection the knowledge-base skill's `index` names"},
            "createdAt": timestamp,
            "url": {"type": "string", "description": "download path (Range supported)"}}},
        "FileList": {"type": "object", "required": ["files", "pagination"], "properties": {
            "files": {"type": "array", "items": schema_ref("File")}, "pagination": schema_ref("Pagination")}},
        "AccountPlan": {"type": "object", "required": ["plan"], "additionalProperties": false, "properties": {
            "plan": {"type": "string", "enum": ["free", "pro", "enterprise"]}}},
        "Account": {"type": "object", "required": ["id", "name", "plan", "createdAt"], "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "plan": {"type": "string", "enum": ["free", "pro", "enterprise"]},
            "createdAt": timestamp}},
        "Usage": {"type": "object", "required": ["plan", "period", "tokens", "modelCalls", "requests", "daily"], "properties": {
            "plan": {"type": "string", "enum": ["free", "pro", "enterprise"]},
            "period": {"type": "object", "properties": {"month": {"type": "string", "examples": ["2026-12"]}, "start": timestamp, "end": timestamp}},
            "tokens": {"type": "object", "properties": {
                "prompt": {"type": "integer"}, "completion": {"type": "integer"}, "used": {"type": "integer"},
                "included": {"type": ["integer", "null"], "description": "null = unlimited"},
                "remaining": {"type": ["integer", "null"]}, "overage": {"type": "integer"},
                "overageCostMicroUsd": {"type": "integer", "description": "exact, in millionths of a dollar"},
                "overageCost": {"type": "string", "examples": ["$0.020000"]}, "blocksWhenExhausted": {"type": "boolean"}}},
            "modelCalls": {"type": "integer"},
            "requests": {"type": "object", "properties": {
                "limitPerMinute": {"type": ["integer", "null"]}, "remaining": {"type": ["integer", "null"]},
                "usedThisMinute": {"type": ["integer", "null"]}, "resetAt": {"type": ["string", "null"], "format": "date-time"},
                "concurrentLimit": {"type": ["integer", "null"]}, "inFlight": {"type": "integer"}}},
            "daily": {"type": "array", "items": {"type": "object", "properties": {
                "date": {"type": "string", "format": "date"}, "promptTokens": {"type": "integer"}, "completionTokens": {"type": "integer"},
                "totalTokens": {"type": "integer"}, "modelCalls": {"type": "integer"}}}}}},
        "TaskCreate": task_create,
        "TaskList": {"type": "object", "required": ["tasks", "pagination"], "properties": {
            "tasks": {"type": "array", "items": schema_ref("Task")}, "pagination": cursor}},
    });
    let mut all = json!({
        "Conversation": conversation,
        "ConversationCreate": {"type": "object", "required": ["agentId"], "additionalProperties": false, "properties": {
            "agentId": {"type": "string", "minLength": 1},
            "context": {"type": "object", "additionalProperties": false, "properties": {
                "userId": printable(200), "metadata": {"type": "object"}}},
            "settings": {"type": "object", "additionalProperties": false, "properties": {
                "model": model_ref, "temperature": limits["temperature"], "maxTokens": limits["maxTokens"]}}}},
        "ConversationList": {"type": "object", "required": ["conversations", "pagination"], "properties": {
            "conversations": {"type": "array", "items": schema_ref("Conversation")}, "pagination": cursor}},
        "Message": message,
        "MessageSend": {"type": "object", "required": ["content"], "additionalProperties": false, "properties": {
            "content": {"type": "string", "minLength": 1, "maxLength": 32_000, "pattern": "\\S"},
            "attachments": {"type": "array", "maxItems": 10, "items": attachment},
            "stream": {"type": "boolean", "default": false},
            "whileBusy": {"type": "string", "enum": ["reject", "enqueue"], "default": "reject"}}},
        "MessageExchange": {"type": "object", "required": ["message", "reply"], "properties": {
            "message": schema_ref("Message"), "reply": schema_ref("Message")}},
        "MessageList": {"type": "object", "required": ["messages", "pagination"], "properties": {
            "messages": {"type": "array", "items": schema_ref("Message")}, "pagination": cursor}},
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message", "requestId"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}, "requestId": {"type": "string"},
                "details": {"type": "object"}}}}},
        "Pagination": pagination,
        "ModelSettings": {"type": "object", "properties": {
            "temperature": {"type": ["number", "null"]}, "maxTokens": {"type": ["integer", "null"]}}},
        "InstalledSkill": {"type": "object", "required": ["id", "version", "enabled", "config", "installedAt"], "properties": {
            "id": {"type": "string"}, "version": {"type": "string"}, "enabled": {"type": "boolean"},
            "config": {"type": "object"}, "installedAt": timestamp}},
        "InstalledSkillList": {"type": "object", "properties": {
            "skills": {"type": "array", "items": schema_ref("InstalledSkill")}}},
        "Agent": {"type": "object", "required": ["id", "name", "model", "skills", "memory", "createdAt", "updatedAt"], "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "description": {"type": ["string", "null"]},
            "model": {"type": "object", "properties": {"provider": {"type": "string"}, "name": {"type": "string"},
                      "settings": schema_ref("ModelSettings")}},
            "systemPrompt": {"type": ["string", "null"]},
            "skills": {"type": "array", "items": schema_ref("InstalledSkill")},
            "memory": memory, "createdAt": timestamp, "updatedAt": timestamp}},
        "AgentCreate": agent_input(json!(["name"])),
        "AgentUpdate": agent_input(json!([])),
        "AgentList": {"type": "object", "required": ["agents", "pagination"], "properties": {
            "agents": {"type": "array", "items": schema_ref("Agent")}, "pagination": schema_ref("Pagination")}},
        "SkillInstall": {"type": "object", "required": ["skillId"], "additionalProperties": false, "properties": {
            "skillId": slug, "version": version, "config": {"type": "object"},
            "enabled": {"type": "boolean", "default": true}}},
        "InstalledSkillUpdate": {"type": "object", "additionalProperties": false, "properties": {
            "version": version, "config": {"type": "object"}, "enabled": {"type": "boolean"}}},
        "Skill": {"type": "object", "properties": skill_props},
        "SkillDetail": {"type": "object", "properties": detail_props},
        "SkillList": {"type": "object", "required": ["skills", "pagination"], "properties": {
            "skills": {"type": "array", "items": schema_ref("Skill")}, "pagination": schema_ref("Pagination")}},
        "TokenRequest": {"type": "object", "additionalProperties": false, "properties": {
            "scopes": {"type": "array", "items": {"type": "string",
                "enum": crate::auth::principal::all_scope_names()}},
            "expiresIn": {"type": "integer", "minimum": 60, "maximum": 86400}}},
        "AccessToken": {"type": "object", "properties": {
            "accessToken": {"type": "string"}, "tokenType": {"const": "Bearer"}, "expiresIn": {"type": "integer"},
            "expiresAt": timestamp, "scopes": {"type": "array", "items": {"type": "string"}}}}
    });
    if let (Some(all), Value::Object(extra)) = (all.as_object_mut(), extra) {
        all.extend(extra);
    }
    if let (Some(all), Value::Object(memories)) = (all.as_object_mut(), memory_schemas(&timestamp)) {
        all.extend(memories);
    }
    all
}

/// Memories' components (a separate `json!`: one literal for every schema exceeds the macro's recursion limit).
fn memory_schemas(timestamp: &Value) -> Value {
    json!({
        "SkillRegister": {"type": "object", "required": ["name", "description", "parameters", "endpoint"], "additionalProperties": false, "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100}, "version": {"type": "string", "pattern": "^[0-9]{1,6}\\.[0-9]{1,6}\\.[0-9]{1,6}$"},
            "description": {"type": "string", "minLength": 1, "maxLength": 1000}, "category": {"type": "string", "pattern": "^[a-z-]{1,40}$"},
            "parameters": {"type": "object", "description": "JSON Schema with \"type\": \"object\""},
            "endpoint": {"type": "string", "format": "uri", "description": "public http(s) URL (SSRF-guarded)"},
            "secret": {"type": "string", "minLength": 8, "maxLength": 256}, "configSchema": {"type": "object"}}},
        "Ticket": {"type": "object", "required": ["id", "title", "description", "priority", "status", "createdAt", "updatedAt"], "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
            "priority": {"type": "string", "enum": crate::services::tickets::PRIORITIES},
            "status": {"type": "string", "enum": crate::services::tickets::STATUSES},
            "project": {"type": ["string", "null"]}, "agentId": {"type": ["string", "null"]}, "conversationId": {"type": ["string", "null"]},
            "createdAt": timestamp, "updatedAt": timestamp}},
        "TicketList": {"type": "object", "required": ["tickets", "pagination"], "properties": {
            "tickets": {"type": "array", "items": schema_ref("Ticket")}, "pagination": schema_ref("Pagination")}},
        "TicketUpdate": {"type": "object", "additionalProperties": false, "properties": {
            "status": {"type": "string", "enum": crate::services::tickets::STATUSES},
            "priority": {"type": "string", "enum": crate::services::tickets::PRIORITIES}}},
        "RegisteredSkill": {"type": "object", "required": ["skill", "secret"], "properties": {
            "skill": schema_ref("SkillDetail"), "secret": {"type": "string", "description": "signs invocations; shown only here"}}},
        "Memory": {"type": "object", "required": ["id", "agentId", "userId", "content", "type", "metadata", "createdAt", "updatedAt", "expiresAt"], "properties": {
            "id": {"type": "string"}, "agentId": {"type": "string"}, "userId": {"type": ["string", "null"]},
            "content": {"type": "string"}, "type": {"type": "string"}, "metadata": {"type": "object"},
            "conversationId": {"type": ["string", "null"], "description": "provenance: where the agent saved it"},
            "messageId": {"type": ["string", "null"]},
            "score": {"type": ["number", "null"], "description": "search relevance (search results only)"},
            "createdAt": timestamp, "updatedAt": timestamp,
            "expiresAt": {"type": ["string", "null"], "format": "date-time", "description": "from the agent's memory.retention; null = kept"}}},
        "MemoryList": {"type": "object", "required": ["memories", "pagination"], "properties": {
            "memories": {"type": "array", "items": schema_ref("Memory")}, "pagination": schema_ref("Pagination")}},
        "MemoryCreate": {"type": "object", "required": ["agentId", "content"], "additionalProperties": false, "properties": {
            "agentId": {"type": "string"}, "userId": {"type": ["string", "null"], "minLength": 1, "maxLength": 200},
            "content": {"type": "string", "minLength": 1, "maxLength": crate::services::memories::MAX_CONTENT_CHARS},
            "type": {"type": ["string", "null"], "pattern": "^[a-z][a-z0-9_]{0,31}$", "default": "fact"},
            "metadata": {"type": ["object", "null"]}}},
        "MemoryUpdate": {"type": "object", "additionalProperties": false, "properties": {
            "content": {"type": "string", "minLength": 1, "maxLength": crate::services::memories::MAX_CONTENT_CHARS},
            "type": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$"}, "metadata": {"type": "object"}}}
    })
}
