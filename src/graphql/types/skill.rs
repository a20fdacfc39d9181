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
