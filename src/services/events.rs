//! The event log: domain events are inserted in the transaction of the change that caused them, and published
//! on the bus only after that transaction commits (so nobody hears of a change that was rolled back).
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::{error::AppResult, events::Event};
use entity::event;

pub async fn record(db: &impl ConnectionTrait, event: &Event) -> AppResult<()> {
    event::ActiveModel {
        id: Set(event.id.clone()),
        account_id: Set(event.account_id.clone()),
        kind: Set(event.kind.as_str().to_owned()),
        subject_id: Set(event.subject_id.clone()),
        data: Set(event.data.clone()),
        created_at: Set(event.created_at),
    }
    .insert(db)
    .await?;
    Ok(())
}
