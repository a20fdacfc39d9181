//! Seeds the built-in skills catalog from `catalog.json`: one row per skill, one per released version.
use sea_orm_migration::prelude::*;
use serde_json::Value;

use crate::m20261125_000001_create_core_tables::{SkillVersions, Skills};

#[derive(DeriveMigrationName)]
pub struct Migration;

const CATALOG: &str = include_str!("catalog.json");

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let catalog: Vec<Value> = serde_json::from_str(CATALOG).map_err(|e| DbErr::Migration(e.to_string()))?;
        let now = chrono::Utc::now();
        for skill in &catalog {
            let field = |name: &str| -> Result<&Value, DbErr> {
                skill.get(name).ok_or_else(|| DbErr::Migration(format!("catalog entry lacks {name}")))
            };
            let text =
                |name: &str| -> Result<String, DbErr> { Ok(field(name)?.as_str().unwrap_or_default().to_owned()) };
            let versions =
                field("versions")?.as_object().ok_or_else(|| DbErr::Migration("versions must be an object".into()))?;
            let latest = versions
                .keys()
                .max_by_key(|v| entity::skill_version::version_order_key(v))
                .ok_or_else(|| DbErr::Migration("a skill needs a version".into()))?;
            let id = text("id")?;
            manager
                .exec_stmt(
                    Query::insert()
                        .into_table(Skills::Table)
                        .columns([
                            Skills::Id,
                            Skills::Name,
                            Skills::Version,
                            Skills::Category,
                            Skills::Description,
                            Skills::Author,
                            Skills::Downloads,
                            Skills::Rating,
                            Skills::CreatedAt,
                        ])
                        .values_panic([
                            id.clone().into(),
                            text("name")?.into(),
                            latest.clone().into(),
                            text("category")?.into(),
                            text("description")?.into(),
                            text("author")?.into(),
                            field("downloads")?.as_i64().unwrap_or(0).into(),
                            field("rating")?.as_f64().unwrap_or(0.0).into(),
                            now.into(),
                        ])
                        .to_owned(),
                )
                .await?;
            for (version, schema) in versions {
                manager
                    .exec_stmt(
                        Query::insert()
                            .into_table(SkillVersions::Table)
                            .columns([
                                SkillVersions::SkillId,
                                SkillVersions::Version,
                                SkillVersions::ConfigSchema,
                                SkillVersions::ReleasedAt,
                            ])
                            .values_panic([
                                id.clone().into(),
                                version.clone().into(),
                                schema.clone().into(),
                                now.into(),
                            ])
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.exec_stmt(Query::delete().from_table(SkillVersions::Table).to_owned()).await?;
        manager.exec_stmt(Query::delete().from_table(Skills::Table).to_owned()).await
    }
}
