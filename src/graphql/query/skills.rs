//! Browsing the skills catalog.
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        types::{Skill, SkillPage},
    },
    services::{pagination::PageRequest, skills},
};

#[derive(Default)]
pub struct SkillQuery;

#[Object]
impl SkillQuery {
    /// The catalog, most downloaded first, optionally filtered by category.
    #[graphql(
        guard = "ScopeGuard(\"skills:read\")",
        complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn skills(
        &self,
        ctx: &Context<'_>,
        category: Option<String>,
        limit: Option<i64>,
        page: Option<i64>,
    ) -> async_graphql::Result<SkillPage> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let request = PageRequest::new(page, limit).gql()?;
        let (items, total) =
            skills::list_catalog(db, &principal.account_id, category.as_deref(), request).await.gql()?;
        Ok(SkillPage { items, pagination: request.info(total).into() })
    }

    /// One catalog skill by slug.
    #[graphql(guard = "ScopeGuard(\"skills:read\")")]
    async fn skill(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Skill>> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        Ok(Some(Skill(skills::get(db, &principal.account_id, &id).await.gql()?)))
    }
}
