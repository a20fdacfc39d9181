//! One release of a catalog skill and the JSON Schema its `config` must satisfy.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "skill_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: String,
    pub config_schema: Json,
    pub released_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Orders `major.minor.patch` numerically, so `2.10.0` sorts after `2.9.0`.
pub fn version_order_key(version: &str) -> Vec<u64> {
    version.split('.').map(|part| part.parse().unwrap_or(0)).collect()
}
