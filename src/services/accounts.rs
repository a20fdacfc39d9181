//! Accounts (tenants) and their API keys: creation, listing, revocation and the first-start bootstrap.
use crate::db::Db;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};

use crate::{
    auth::{Plan, api_key, principal::validate_scopes},
    error::{AppError, AppResult},
    ids::new_id,
};
use entity::{account, api_key as key_entity};

/// A key as shown in listings: never the secret.
#[derive(Debug, Clone)]
pub struct KeySummary {
    pub id: String,
    pub account_name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub revoked: bool,
}

/// Finds an account by name or creates it on `plan`.
pub async fn find_or_create(db: &Db, name: &str, plan: Plan) -> AppResult<account::Model> {
    if name.trim().is_empty() || name.len() > 100 {
        return Err(AppError::validation("account", "must be 1-100 characters"));
    }
    if let Some(found) = account::Entity::find().filter(account::Column::Name.eq(name)).one(db).await? {
        return Ok(found);
    }
    let model = account::ActiveModel {
        id: Set(new_id("acct")),
        name: Set(name.to_owned()),
        plan: Set(plan.as_str().to_owned()),
        created_at: Set(Utc::now()),
    };
    Ok(model.insert(db).await?)
}

/// Sets an account's plan.
/// An account by id (`acct-…`) or name, or 404.
pub async fn find(db: &Db, id_or_name: &str) -> AppResult<account::Model> {
    account::Entity::find()
        .filter(
            sea_orm::Condition::any().add(account::Column::Id.eq(id_or_name)).add(account::Column::Name.eq(id_or_name)),
        )
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "account" })
}

pub async fn set_plan(db: &Db, account: account::Model, plan: Plan) -> AppResult<account::Model> {
    if account.plan == plan.as_str() {
        return Ok(account);
    }
    let mut active: account::ActiveModel = account.into();
    active.plan = Set(plan.as_str().to_owned());
    Ok(active.update(db).await?)
}

/// Creates an API key and returns its secret, which is never stored and cannot be shown again.
#[tracing::instrument(skip_all, fields(account_id = %account_id), err(level = "debug"))]
pub async fn create_key(
    db: &Db,
    account_id: &str,
    name: Option<String>,
    scopes: Vec<String>,
) -> AppResult<(key_entity::Model, String)> {
    validate_scopes(&scopes).map_err(|m| AppError::validation("scopes", m))?;
    let generated = api_key::generate();
    let model = key_entity::ActiveModel {
        id: Set(new_id("key")),
        account_id: Set(account_id.to_owned()),
        name: Set(name),
        prefix: Set(generated.prefix),
        secret_hash: Set(generated.hash),
        scopes: Set(serde_json::json!(scopes)),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
    };
    Ok((model.insert(db).await?, generated.secret))
}

/// Every key of every account (or of one account), newest first.
pub async fn list_keys(db: &Db, account_name: Option<&str>) -> AppResult<Vec<KeySummary>> {
    let accounts = account::Entity::find().all(db).await?;
    let mut query = key_entity::Entity::find().order_by_desc(key_entity::Column::Id);
    if let Some(name) = account_name {
        let account = accounts.iter().find(|a| a.name == name).ok_or(AppError::NotFound { resource: "account" })?;
        query = query.filter(key_entity::Column::AccountId.eq(&account.id));
    }
    let keys = query.all(db).await?;
    Ok(keys
        .into_iter()
        .map(|k| KeySummary {
            account_name: accounts.iter().find(|a| a.id == k.account_id).map(|a| a.name.clone()).unwrap_or_default(),
            scopes: serde_json::from_value(k.scopes).unwrap_or_default(),
            revoked: k.revoked_at.is_some(),
            id: k.id,
            prefix: k.prefix,
            created_at: k.created_at,
        })
        .collect())
}

/// Revokes a key by id or by its visible prefix.
#[tracing::instrument(skip_all, fields(key = %id_or_prefix), err(level = "debug"))]
pub async fn revoke_key(db: &Db, id_or_prefix: &str) -> AppResult<key_entity::Model> {
    let key = key_entity::Entity::find()
        .filter(
            Condition::any()
                .add(key_entity::Column::Id.eq(id_or_prefix))
                .add(key_entity::Column::Prefix.eq(id_or_prefix)),
        )
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "API key" })?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let mut active: key_entity::ActiveModel = key.into();
    active.revoked_at = Set(Some(Utc::now()));
    Ok(active.update(db).await?)
}

/// On first start with no accounts, creates `default` with an all-scopes key and returns the key's secret.
pub async fn bootstrap(db: &Db) -> AppResult<Option<String>> {
    if account::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let account = match find_or_create(db, "default", Plan::Free).await {
        Ok(account) => account,
        // Another instance starting on the same database created it first; it printed the key.
        Err(AppError::Conflict { .. }) => return Ok(None),
        Err(err) => return Err(err),
    };
    let (_, secret) = create_key(db, &account.id, Some("bootstrap".into()), vec!["*".into()]).await?;
    Ok(Some(secret))
}
