//! Agents: creation (with their initial skills, in one transaction), reads, updates and deletion, all scoped
//! to the caller's account. Another tenant's agent is indistinguishable from a missing one.
use crate::db::Db;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};

use super::{
    models::ModelRef,
    pagination::PageRequest,
    skills::{self, SkillRequest},
};
use crate::{
    error::{AppError, AppResult},
    events::{Event, EventKind},
};
use entity::{agent, agent_skill};

pub const MEMORY_TYPES: &[&str] = &["conversation", "user", "agent"];

/// A validated-on-write agent definition.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub name: String,
    pub description: Option<String>,
    pub model: ModelRef,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub system_prompt: Option<String>,
    pub memory_enabled: bool,
    pub memory_type: Option<String>,
    pub memory_retention: Option<String>,
    pub skills: Vec<SkillRequest>,
}

/// A partial update: `None` leaves a field alone; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct AgentPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub model: Option<ModelRef>,
    pub temperature: Option<Option<f64>>,
    pub max_tokens: Option<Option<i32>>,
    pub system_prompt: Option<Option<String>>,
    pub memory_enabled: Option<bool>,
    pub memory_type: Option<String>,
    pub memory_retention: Option<String>,
    /// Replaces the whole set of installed skills.
    pub skills: Option<Vec<SkillRequest>>,
}

#[tracing::instrument(skip_all, fields(account_id = %account_id), err(level = "debug"))]
pub async fn create(db: &Db, account_id: &str, new: NewAgent) -> AppResult<agent::Model> {
    validate_name(&new.name)?;
    validate_common(
        new.description.as_deref(),
        new.temperature,
        new.max_tokens,
        new.system_prompt.as_deref(),
        new.memory_type.as_deref(),
        new.memory_retention.as_deref(),
    )?;
    let now = Utc::now();
    let model = agent::ActiveModel {
        id: Set(crate::ids::new_id("agent")),
        account_id: Set(account_id.to_owned()),
        name: Set(new.name.trim().to_owned()),
        description: Set(new.description),
        model_provider: Set(new.model.provider),
        model_name: Set(new.model.name),
        temperature: Set(new.temperature),
        max_tokens: Set(new.max_tokens),
        system_prompt: Set(new.system_prompt),
        memory_enabled: Set(new.memory_enabled),
        memory_type: Set(new.memory_type.unwrap_or_else(|| "conversation".to_owned())),
        memory_retention: Set(new.memory_retention.unwrap_or_else(|| "30d".to_owned())),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let txn = crate::db::begin_write(db).await?;
    let created = model.insert(&txn).await?;
    install_all(&txn, account_id, &created.id, &new.skills).await?;
    txn.commit().await?;
    Ok(created)
}

/// The agent's model reference.
pub fn model_ref(agent: &agent::Model) -> ModelRef {
    ModelRef { provider: agent.model_provider.clone(), name: agent.model_name.clone() }
}

/// The caller's agent, or 404.
#[tracing::instrument(skip_all, fields(account_id = %account_id, agent_id = %id), err(level = "debug"))]
pub async fn get(db: &impl ConnectionTrait, account_id: &str, id: &str) -> AppResult<agent::Model> {
    agent::Entity::find_by_id(id)
        .filter(agent::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "agent" })
}

/// The caller's agent together with its installed skills, in one query (a LEFT JOIN), or 404.
#[tracing::instrument(skip_all, fields(account_id = %account_id, agent_id = %id), err(level = "debug"))]
pub async fn get_with_skills(
    db: &impl ConnectionTrait,
    account_id: &str,
    id: &str,
) -> AppResult<(agent::Model, Vec<agent_skill::Model>)> {
    let mut found = agent::Entity::find_by_id(id)
        .filter(agent::Column::AccountId.eq(account_id))
        .find_with_related(agent_skill::Entity)
        .all(db)
        .await?;
    let (agent, mut skills) = found.pop().ok_or(AppError::NotFound { resource: "agent" })?;
    skills.sort_by(|a, b| (a.installed_at, &a.skill_id).cmp(&(b.installed_at, &b.skill_id)));
    Ok((agent, skills))
}

/// One page of the caller's agents, newest first.
#[tracing::instrument(skip_all, fields(account_id = %account_id), err(level = "debug"))]
pub async fn list(db: &Db, account_id: &str, page: PageRequest) -> AppResult<(Vec<agent::Model>, u64)> {
    let query = agent::Entity::find().filter(agent::Column::AccountId.eq(account_id));
    let total = query.clone().count(db).await?;
    let agents = query.order_by_desc(agent::Column::Id).offset(page.offset()).limit(page.limit).all(db).await?;
    Ok((agents, total))
}

#[tracing::instrument(skip_all, fields(account_id = %account_id, agent_id = %id), err(level = "debug"))]
/// Changes the fields given and records `agent.updated` in the same transaction; returns the event to publish.
pub async fn update(db: &Db, account_id: &str, id: &str, patch: AgentPatch) -> AppResult<(agent::Model, Event)> {
    if let Some(name) = &patch.name {
        validate_name(name)?;
    }
    validate_common(
        patch.description.as_ref().and_then(|d| d.as_deref()),
        patch.temperature.flatten(),
        patch.max_tokens.flatten(),
        patch.system_prompt.as_ref().and_then(|s| s.as_deref()),
        patch.memory_type.as_deref(),
        patch.memory_retention.as_deref(),
    )?;
    let txn = crate::db::begin_write(db).await?;
    let current = get(&txn, account_id, id).await?;
    let mut active: agent::ActiveModel = current.into();
    if let Some(name) = patch.name {
        active.name = Set(name.trim().to_owned());
    }
    if let Some(description) = patch.description {
        active.description = Set(description);
    }
    if let Some(model) = patch.model {
        active.model_provider = Set(model.provider);
        active.model_name = Set(model.name);
    }
    if let Some(temperature) = patch.temperature {
        active.temperature = Set(temperature);
    }
    if let Some(max_tokens) = patch.max_tokens {
        active.max_tokens = Set(max_tokens);
    }
    if let Some(system_prompt) = patch.system_prompt {
        active.system_prompt = Set(system_prompt);
    }
    if let Some(enabled) = patch.memory_enabled {
        active.memory_enabled = Set(enabled);
    }
    if let Some(kind) = patch.memory_type {
        active.memory_type = Set(kind);
    }
    if let Some(retention) = patch.memory_retention {
        active.memory_retention = Set(retention);
    }
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    if let Some(skills) = patch.skills {
        agent_skill::Entity::delete_many().filter(agent_skill::Column::AgentId.eq(id)).exec(&txn).await?;
        install_all(&txn, account_id, id, &skills).await?;
    }
    let event = updated_event(account_id, id);
    super::events::record(&txn, &event).await?;
    txn.commit().await?;
    Ok((updated, event))
}

fn updated_event(account_id: &str, id: &str) -> Event {
    Event::new(EventKind::AgentUpdated, account_id, id, serde_json::json!({ "agentId": id }))
}

/// Marks the agent as changed (its skills were installed, updated or removed) and records `agent.updated` in the
/// caller's transaction; returns the event to publish after commit.
pub async fn touch(db: &impl ConnectionTrait, account_id: &str, id: &str) -> AppResult<Event> {
    let mut active: agent::ActiveModel = get(db, account_id, id).await?.into();
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    let event = updated_event(account_id, id);
    super::events::record(db, &event).await?;
    Ok(event)
}

#[tracing::instrument(skip_all, fields(account_id = %account_id, agent_id = %id), err(level = "debug"))]
pub async fn delete(db: &Db, account_id: &str, id: &str) -> AppResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let agent = get(&txn, account_id, id).await?;
    agent_skill::Entity::delete_many().filter(agent_skill::Column::AgentId.eq(&agent.id)).exec(&txn).await?;
    agent::Entity::delete_by_id(agent.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

async fn install_all(
    conn: &impl ConnectionTrait,
    account_id: &str,
    agent_id: &str,
    requests: &[SkillRequest],
) -> AppResult<()> {
    let mut seen = std::collections::HashSet::new();
    for (i, request) in requests.iter().enumerate() {
        let field = format!("skills[{i}]");
        if !seen.insert(request.skill_id.as_str()) {
            return Err(AppError::validation(format!("{field}.id"), "the same skill is listed twice"));
        }
        skills::install(conn, account_id, agent_id, &field, request).await?;
    }
    Ok(())
}

fn validate_name(name: &str) -> AppResult<()> {
    let len = name.trim().chars().count();
    if len == 0 || len > 200 {
        return Err(AppError::validation("name", "must be 1-200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::validation("name", "must not contain control characters"));
    }
    Ok(())
}

fn validate_common(
    description: Option<&str>,
    temperature: Option<f64>,
    max_tokens: Option<i32>,
    system_prompt: Option<&str>,
    memory_type: Option<&str>,
    memory_retention: Option<&str>,
) -> AppResult<()> {
    if description.is_some_and(|d| d.chars().count() > 2000) {
        return Err(AppError::validation("description", "must be at most 2000 characters"));
    }
    if temperature.is_some_and(|t| !(0.0..=2.0).contains(&t)) {
        return Err(AppError::validation("settings.temperature", "must be between 0 and 2"));
    }
    if max_tokens.is_some_and(|m| !(1..=1_000_000).contains(&m)) {
        return Err(AppError::validation("settings.maxTokens", "must be between 1 and 1000000"));
    }
    if system_prompt.is_some_and(|s| s.chars().count() > 100_000) {
        return Err(AppError::validation("systemPrompt", "must be at most 100000 characters"));
    }
    if let Some(kind) = memory_type
        && !MEMORY_TYPES.contains(&kind)
    {
        return Err(AppError::validation("memory.type", format!("must be one of {}", MEMORY_TYPES.join(", "))));
    }
    if let Some(retention) = memory_retention {
        parse_retention(retention)?;
    }
    Ok(())
}

/// Parses a retention such as `30d`, `12h`, `4w` (1 to 9999 units), or `never` / `forever` (memories never
/// expire) into days (None = kept until deleted).
pub fn parse_retention(raw: &str) -> AppResult<Option<f64>> {
    let invalid = || {
        AppError::validation("memory.retention", "must look like `12h`, `30d`, `4w`, or `never` (kept until deleted)")
    };
    if raw == "forever" || raw == "never" {
        return Ok(None);
    }
    // The unit is the last character (which may be multi-byte in bad input: never split inside it).
    let cut = raw.char_indices().last().map_or(0, |(i, _)| i);
    let (digits, unit) = raw.split_at(cut);
    let n: u32 = digits.parse().map_err(|_| invalid())?;
    let days = match unit {
        "h" => f64::from(n) / 24.0,
        "d" => f64::from(n),
        "w" => f64::from(n) * 7.0,
        _ => return Err(invalid()),
    };
    if !(1..=9999).contains(&n) {
        return Err(invalid());
    }
    Ok(Some(days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_formats() {
        assert_eq!(parse_retention("30d").expect("30d"), Some(30.0));
        assert_eq!(parse_retention("2w").expect("2w"), Some(14.0));
        assert_eq!(parse_retention("forever").expect("forever"), None);
        assert_eq!(parse_retention("never").expect("never"), None);
        for bad in ["", "d", "0d", "30x", "-1d", "99999999d", "1é", "é"] {
            assert!(parse_retention(bad).is_err(), "{bad} accepted");
        }
    }
}
