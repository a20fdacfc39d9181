//! Custom skills: an account registers its own HTTP skill — a name, a version, a description, the JSON Schema of
//! its arguments and the endpoint it runs at. It is private to that account (invisible, 404, to others), installs
//! like a catalog skill, and is invoked by POSTing the arguments to the endpoint, signed like a webhook delivery.
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::{
    db::Db,
    error::{AppError, AppResult},
    outbound::OutboundGuard,
    webhooks::signing,
};
use entity::{agent_skill, skill, skill_version};

/// A skill to register.
#[derive(Debug, Clone)]
pub struct NewCustomSkill {
    pub name: String,
    pub version: Option<String>,
    pub description: String,
    pub category: Option<String>,
    /// JSON Schema (an object schema) of the arguments the model passes.
    pub parameters: Value,
    pub endpoint: String,
    /// Signs invocations; generated (`whsec_…`) when omitted and returned once.
    pub secret: Option<String>,
    /// JSON Schema of the install `config` (any object when omitted).
    pub config_schema: Option<Value>,
}

/// The tool name a custom skill is offered to the model under (`custom-weather-1a2b` → `custom_weather_1a2b`).
pub fn tool_name(skill_id: &str) -> String {
    skill_id.replace('-', "_")
}

fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 32 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() { "skill".to_owned() } else { slug.to_owned() }
}

fn validate(new: &NewCustomSkill, outbound: &OutboundGuard) -> AppResult<()> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::validation("name", "must be 1-100 characters without control characters"));
    }
    if new.description.trim().is_empty() || new.description.chars().count() > 1000 {
        return Err(AppError::validation(
            "description",
            "must be 1-1000 characters: the model reads it to decide when to call the skill",
        ));
    }
    if let Some(version) = &new.version {
        let parts: Vec<&str> = version.split('.').collect();
        if parts.len() != 3
            || parts.iter().any(|p| p.is_empty() || p.len() > 6 || !p.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(AppError::validation("version", "must be a semantic version such as `1.0.0`"));
        }
    }
    if let Some(category) = &new.category
        && (category.is_empty() || category.len() > 40 || !category.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
    {
        return Err(AppError::validation("category", "must be lowercase letters and `-` (at most 40)"));
    }
    for (field, schema) in [("parameters", Some(&new.parameters)), ("configSchema", new.config_schema.as_ref())] {
        let Some(schema) = schema else { continue };
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(AppError::validation(field, "must be a JSON Schema with `\"type\": \"object\"`"));
        }
        // Bounded (size, depth, local acyclic references, linear-time patterns) before the crate compiles it.
        super::json_schema::compile(field, schema)?;
    }
    if new.endpoint.len() > 2048 {
        return Err(AppError::validation("endpoint", "must be at most 2048 bytes"));
    }
    outbound.check_url(&new.endpoint).map_err(|err| AppError::validation("endpoint", err.to_string()))?;
    if let Some(secret) = &new.secret
        && !(8..=256).contains(&secret.len())
    {
        return Err(AppError::validation("secret", "must be 8-256 characters"));
    }
    Ok(())
}

/// Registers a custom skill for the account; returns it and its signing secret (shown once).
pub async fn register(
    db: &Db,
    outbound: &OutboundGuard,
    account_id: &str,
    new: NewCustomSkill,
) -> AppResult<(skill::Model, String)> {
    validate(&new, outbound)?;
    let mut suffix = [0u8; 4];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut suffix);
    let id = format!("custom-{}-{}", slug(&new.name), hex::encode(suffix));
    let version = new.version.unwrap_or_else(|| "1.0.0".to_owned());
    let secret = new.secret.unwrap_or_else(signing::generate_secret);
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let model = skill::ActiveModel {
        id: Set(id.clone()),
        name: Set(new.name.trim().to_owned()),
        version: Set(version.clone()),
        category: Set(new.category.unwrap_or_else(|| "custom".to_owned())),
        description: Set(new.description),
        author: Set(account_id.to_owned()),
        downloads: Set(0),
        rating: Set(0.0),
        created_at: Set(now),
        account_id: Set(Some(account_id.to_owned())),
        endpoint_url: Set(Some(new.endpoint)),
        secret: Set(Some(secret.clone())),
        parameters: Set(Some(new.parameters)),
    }
    .insert(&txn)
    .await?;
    skill_version::ActiveModel {
        skill_id: Set(id),
        version: Set(version),
        config_schema: Set(new.config_schema.unwrap_or_else(|| json!({ "type": "object" }))),
        released_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok((model, secret))
}

/// Deletes one of the account's custom skills, uninstalling it from every agent. Catalog skills and other
/// accounts' skills are 404.
pub async fn delete(db: &Db, account_id: &str, id: &str) -> AppResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let found = skill::Entity::find_by_id(id)
        .filter(skill::Column::AccountId.eq(account_id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound { resource: "custom skill" })?;
    agent_skill::Entity::delete_many().filter(agent_skill::Column::SkillId.eq(found.id.as_str())).exec(&txn).await?;
    skill_version::Entity::delete_many()
        .filter(skill_version::Column::SkillId.eq(found.id.as_str()))
        .exec(&txn)
        .await?;
    skill::Entity::delete_by_id(found.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// The custom skills among `ids` (for a run's toolbox).
pub async fn find_custom(db: &impl ConnectionTrait, ids: &[String]) -> AppResult<Vec<skill::Model>> {
    Ok(skill::Entity::find()
        .filter(skill::Column::Id.is_in(ids.iter().cloned()))
        .filter(skill::Column::EndpointUrl.is_not_null())
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_slugs_of_the_name() {
        assert_eq!(slug("Weather Lookup!"), "weather-lookup");
        assert_eq!(slug("  ~~ "), "skill");
        assert_eq!(slug("ÄÖ CRM sync"), "crm-sync");
        assert_eq!(tool_name("custom-crm-sync-00ff"), "custom_crm_sync_00ff");
    }
}
