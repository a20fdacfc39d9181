//! `Skill`: a catalog entry, and its releases with their config schemas.
use async_graphql::{ComplexObject, Context, ID, Json, Object, SimpleObject};

use super::common::Pagination;
use crate::{
    graphql::{context::ContextExt, errors::GqlResultExt, scalars::DateTime},
    services::skills,
};
use entity::{skill, skill_version};

pub struct Skill(pub skill::Model);

#[Object]
impl Skill {
    /// The slug, e.g. `web-search`.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The latest version.
    async fn version(&self) -> &str {
        &self.0.version
    }
    async fn category(&self) -> &str {
        &self.0.category
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn author(&self) -> &str {
        &self.0.author
    }
    async fn downloads(&self) -> i64 {
        self.0.downloads
    }
    async fn rating(&self) -> f64 {
        self.0.rating
    }
    /// Registered by your account (`POST /v2/skills`), private to it.
    async fn custom(&self) -> bool {
        self.0.account_id.is_some()
    }
    /// The tools this skill offers the model when installed (empty: a catalog entry without an implementation
    /// on this server, which installs but offers no tool).
    async fn tools(&self) -> Vec<String> {
        match self.0.account_id {
            Some(_) => vec![crate::services::custom_skills::tool_name(&self.0.id)],
            None => crate::skills::tool_names(&self.0.id),
        }
    }
    /// Custom skills: where invocations are POSTed.
    async fn endpoint(&self) -> Option<&str> {
        self.0.endpoint_url.as_deref()
    }
    /// Custom skills: the JSON Schema of the tool's arguments.
    async fn parameters(&self) -> Option<Json<serde_json::Value>> {
        self.0.parameters.clone().map(Json)
    }
    /// Every release, newest first.
    async fn versions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SkillVersion>> {
        let db = ctx.db().gql()?;
        Ok(skills::versions(db, &self.0.id).await.gql()?.into_iter().map(SkillVersion).collect())
    }
    /// JSON Schema of the latest version's `config`.
    async fn config_schema(&self, ctx: &Context<'_>) -> async_graphql::Result<Json<serde_json::Value>> {
        let db = ctx.db().gql()?;
        // Only the latest release's row: `versions` may be selected beside this and fetches the whole list.
        let latest = skills::release(db, &self.0.id, &self.0.version).await.gql()?;
        Ok(Json(latest.config_schema))
    }
}

/// A newly registered custom skill and its signing secret (shown only in this response).
#[derive(SimpleObject)]
pub struct RegisteredSkill {
    pub skill: Skill,
    pub secret: String,
}

/// One release of a skill.
pub struct SkillVersion(pub skill_version::Model);

#[Object]
impl SkillVersion {
    async fn version(&self) -> &str {
        &self.0.version
    }
    async fn config_schema(&self) -> Json<serde_json::Value> {
        Json(self.0.config_schema.clone())
    }
    async fn released_at(&self) -> DateTime {
        DateTime(self.0.released_at)
    }
}

/// A page of the catalog.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SkillPage {
    #[graphql(skip)]
    pub items: Vec<skill::Model>,
    pub pagination: Pagination,
}

#[ComplexObject]
impl SkillPage {
    async fn skills(&self) -> Vec<Skill> {
        self.items.iter().cloned().map(Skill).collect()
    }
}
