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
}

macro_rules! agent_fields {
    () => {
        "fragment AgentFields on Agent { id name description model { provider name settings { temperature maxTokens } } \
         systemPrompt skills { ...InstalledSkillFields } memory { enabled type retention } createdAt updatedAt } \
         fragment InstalledSkillFields on InstalledSkill { id version enabled config installedAt }"
    };
}

macro_rules! skill_fields {
    () => {
        "fragment SkillFields on Skill { id name version category description author downloads rating }"
    };
}

const PAGE_ARGS: [Arg; 2] = [Arg::Query("limit", ArgType::Int), Arg::Query("page", ArgType::Int)];

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
    },
    Route {
        name: "getSkill",
        method: Method::GET,
        path: "/v2/skills/{skillId}",
        summary: "Get a catalog skill with its versions and config schema",
        tag: "skills",
        document: concat!(
            "query($skillId: ID!) { skill(id: $skillId) { ...SkillFields configSchema versions { version configSchema releasedAt } } } ",
            skill_fields!()
        ),
        field: "skill",
        args: &[Arg::Path("skillId")],
        status: StatusCode::OK,
        request_schema: None,
        response_schema: Some("SkillDetail"),
        public: false,
    },
];
