//! The skills catalog and skills installed into agents.
use crate::db::Db;
use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value;

use super::{agents, events, pagination::PageRequest, skill_config};
use crate::{
    error::{AppError, AppResult},
    events::{Event, EventKind},
};
use entity::{agent_skill, skill, skill_version};

/// A request to install (or, on agent creation, to include) a skill.
#[derive(Debug, Clone)]
pub struct SkillRequest {
    pub skill_id: String,
    /// `None` installs the latest version.
    pub version: Option<String>,
    pub enabled: bool,
    pub config: Value,
}

/// Changes to an installed skill.
#[derive(Debug, Clone, Default)]
pub struct InstalledSkillPatch {
    pub version: Option<String>,
    pub enabled: Option<bool>,
    pub config: Option<Value>,
}

/// One page of the catalog, most downloaded first.
#[tracing::instrument(skip_all, fields(category = ?category), err(level = "debug"))]
pub async fn list_catalog(
    db: &impl ConnectionTrait,
    account_id: &str,
    category: Option<&str>,
    page: PageRequest,
) -> AppResult<(Vec<skill::Model>, u64)> {
    let mut query = skill::Entity::find().filter(visible_to(account_id));
    if let Some(category) = category {
        query = query.filter(skill::Column::Category.eq(category));
    }
    let total = query.clone().count(db).await?;
    let skills = query
        .order_by_desc(skill::Column::Downloads)
        .order_by_asc(skill::Column::Id)
        .offset(page.offset())
        .limit(page.limit)
        .all(db)
        .await?;
    Ok((skills, total))
}

/// The catalog's skills and the account's own custom skills (another account's are invisible: 404).
fn visible_to(account_id: &str) -> Condition {
    Condition::any().add(skill::Column::AccountId.is_null()).add(skill::Column::AccountId.eq(account_id))
}

pub async fn get(db: &impl ConnectionTrait, account_id: &str, id: &str) -> AppResult<skill::Model> {
    skill::Entity::find_by_id(id)
        .filter(visible_to(account_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "skill" })
}

/// Every released version of a skill, newest first.
pub async fn versions(db: &impl ConnectionTrait, id: &str) -> AppResult<Vec<skill_version::Model>> {
    let mut versions = skill_version::Entity::find().filter(skill_version::Column::SkillId.eq(id)).all(db).await?;
    versions.sort_by_key(|v| std::cmp::Reverse(skill_version::version_order_key(&v.version)));
    Ok(versions)
}

/// One release of a skill, or 404.
pub async fn release(db: &impl ConnectionTrait, id: &str, version: &str) -> AppResult<skill_version::Model> {
    skill_version::Entity::find_by_id((id.to_owned(), version.to_owned()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "skill version" })
}

/// Checks that the skill and version exist and that `config` satisfies that version's schema.
/// Returns the version to pin. `field` is the input path used in error messages (`skills[0]`, or `` for the body).
pub async fn check_install(
    db: &impl ConnectionTrait,
    account_id: &str,
    field: &str,
    request: &SkillRequest,
) -> AppResult<String> {
    let path = |name: &str| if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") };
    let id_field = if field.is_empty() { "skillId".to_owned() } else { path("id") };
    let skill = skill::Entity::find_by_id(&request.skill_id)
        .filter(visible_to(account_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::validation(&id_field, format!("unknown skill `{}`", request.skill_id)))?;
    let version = request.version.clone().unwrap_or(skill.version);
    let release = release(db, &request.skill_id, &version).await.map_err(|err| match err {
        AppError::NotFound { .. } => {
            AppError::validation(path("version"), format!("`{}` has no version `{version}`", request.skill_id))
        }
        other => other,
    })?;
    skill_config::validate(&path("config"), &release.config_schema, &request.config)?;
    Ok(version)
}

/// Installs a skill into an agent the caller has already been checked to own.
#[tracing::instrument(skip_all, fields(account_id = %account_id, agent_id = %agent_id, skill_id = %request.skill_id), err(level = "debug"))]
pub async fn install(
    db: &impl ConnectionTrait,
    account_id: &str,
    agent_id: &str,
    field: &str,
    request: &SkillRequest,
) -> AppResult<agent_skill::Model> {
    let version = check_install(db, account_id, field, request).await?;
    let existing = agent_skill::Entity::find_by_id((agent_id.to_owned(), request.skill_id.clone())).one(db).await?;
    if existing.is_some() {
        return Err(AppError::Conflict {
            code: "already_installed",
            message: format!(
                "skill `{}` is already installed on this agent; PATCH it to change version or config",
                request.skill_id
            ),
        });
    }
    let model = agent_skill::ActiveModel {
        agent_id: Set(agent_id.to_owned()),
        skill_id: Set(request.skill_id.clone()),
        account_id: Set(account_id.to_owned()),
        version: Set(version),
        enabled: Set(request.enabled),
        config: Set(request.config.clone()),
        installed_at: Set(Utc::now()),
    };
    Ok(model.insert(db).await?)
}

/// The installed skill, or 404 (also for another tenant's agent).
pub async fn get_installed(
    db: &impl ConnectionTrait,
    account_id: &str,
    agent_id: &str,
    skill_id: &str,
) -> AppResult<agent_skill::Model> {
    agent_skill::Entity::find_by_id((agent_id.to_owned(), skill_id.to_owned()))
        .filter(agent_skill::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "installed skill" })
}

/// Changes the version, config or enabled flag of an installed skill, re-validating the config.
#[tracing::instrument(skip_all, fields(account_id = %account_id, agent_id = %agent_id, skill_id = %skill_id), err(level = "debug"))]
pub async fn update_installed(
    db: &impl ConnectionTrait,
    account_id: &str,
    agent_id: &str,
    skill_id: &str,
    patch: InstalledSkillPatch,
) -> AppResult<agent_skill::Model> {
    let current = get_installed(db, account_id, agent_id, skill_id).await?;
    let request = SkillRequest {
        skill_id: skill_id.to_owned(),
        version: Some(patch.version.unwrap_or_else(|| current.version.clone())),
        enabled: patch.enabled.unwrap_or(current.enabled),
        config: patch.config.unwrap_or_else(|| current.config.clone()),
    };
    let version = check_install(db, account_id, "", &request).await?;
    let mut active: agent_skill::ActiveModel = current.into();
    active.version = Set(version);
    active.enabled = Set(request.enabled);
    active.config = Set(request.config);
    Ok(active.update(db).await?)
}

#[tracing::instrument(skip_all, fields(account_id = %account_id, agent_id = %agent_id, skill_id = %skill_id), err(level = "debug"))]
pub async fn uninstall(db: &impl ConnectionTrait, account_id: &str, agent_id: &str, skill_id: &str) -> AppResult<()> {
    let installed = get_installed(db, account_id, agent_id, skill_id).await?;
    agent_skill::Entity::delete_by_id((installed.agent_id, installed.skill_id)).exec(db).await?;
    Ok(())
}

/// Installed skills of many agents in one query, keyed by agent id (the dataloader's batch function).
#[tracing::instrument(skip_all, fields(agents = agent_ids.len()), err(level = "debug"))]
pub async fn installed_for_agents(
    db: &impl ConnectionTrait,
    agent_ids: &[String],
) -> AppResult<HashMap<String, Vec<agent_skill::Model>>> {
    let rows = agent_skill::Entity::find()
        .filter(agent_skill::Column::AgentId.is_in(agent_ids.iter().cloned()))
        .order_by_asc(agent_skill::Column::InstalledAt)
        .order_by_asc(agent_skill::Column::SkillId)
        .all(db)
        .await?;
    let mut by_agent: HashMap<String, Vec<agent_skill::Model>> = HashMap::new();
    for row in rows {
        by_agent.entry(row.agent_id.clone()).or_default().push(row);
    }
    Ok(by_agent)
}

/// Installs a skill into one of the caller's agents, recording `skill.installed` and `agent.updated` in the same
/// transaction. Returns the events to publish after commit.
pub async fn install_into_agent(
    db: &Db,
    account_id: &str,
    agent_id: &str,
    request: &SkillRequest,
) -> AppResult<(agent_skill::Model, Vec<Event>)> {
    let txn = crate::db::begin_write(db).await?;
    let agent = agents::get(&txn, account_id, agent_id).await?;
    let installed = install(&txn, account_id, &agent.id, "", request).await?;
    let event = Event::new(
        EventKind::SkillInstalled,
        account_id,
        &agent.id,
        serde_json::json!({ "agentId": agent.id, "skillId": installed.skill_id, "version": installed.version }),
    );
    events::record(&txn, &event).await?;
    let updated = agents::touch(&txn, account_id, &agent.id).await?;
    txn.commit().await?;
    Ok((installed, vec![event, updated]))
}

/// [`update_installed`] and `agent.updated`, in one transaction.
pub async fn update_in_agent(
    db: &Db,
    account_id: &str,
    agent_id: &str,
    skill_id: &str,
    patch: InstalledSkillPatch,
) -> AppResult<(agent_skill::Model, Event)> {
    let txn = crate::db::begin_write(db).await?;
    let updated = update_installed(&txn, account_id, agent_id, skill_id, patch).await?;
    let event = agents::touch(&txn, account_id, agent_id).await?;
    txn.commit().await?;
    Ok((updated, event))
}

/// [`uninstall`] and `agent.updated`, in one transaction.
pub async fn uninstall_from_agent(db: &Db, account_id: &str, agent_id: &str, skill_id: &str) -> AppResult<Event> {
    let txn = crate::db::begin_write(db).await?;
    uninstall(&txn, account_id, agent_id, skill_id).await?;
    let event = agents::touch(&txn, account_id, agent_id).await?;
    txn.commit().await?;
    Ok(event)
}
