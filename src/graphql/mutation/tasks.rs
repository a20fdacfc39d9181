//! Creating and cancelling async tasks.
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{context::ContextExt, errors::GqlResultExt, guards::ScopeGuard, inputs::CreateTaskInput, types::Task},
    services::tasks,
};

#[derive(Default)]
pub struct TaskMutation;

#[Object]
impl TaskMutation {
    /// Queues a task (REST answers 202); follow it with `task`, the `taskProgress` subscription, webhooks or its
    /// callback.
    #[graphql(guard = "ScopeGuard(\"tasks:write\")")]
    async fn create_task(&self, ctx: &Context<'_>, input: CreateTaskInput) -> async_graphql::Result<Task> {
        let (app, principal) = (ctx.app().gql()?, ctx.principal().gql()?);
        let config = &app.config;
        let new: tasks::NewTask = input.into();
        if new.calls_a_model() {
            app.limiter.check_quota(ctx.db().gql()?, principal).await.gql()?;
        }
        let (model, event) = tasks::create(
            ctx.db().gql()?,
            &app.outbound,
            &principal.account_id,
            new,
            config.task_max_attempts,
            config.task_timeout_secs,
        )
        .await
        .gql()?;
        ctx.publish(event).gql()?;
        Ok(Task { model, reveal_secret: true })
    }

    /// Cancels a queued or running task (`task_not_cancellable` once it has ended).
    #[graphql(guard = "ScopeGuard(\"tasks:write\")")]
    async fn cancel_task(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Task> {
        let (app, principal) = (ctx.app().gql()?, ctx.principal().gql()?);
        let (model, event) = tasks::cancel(ctx.db().gql()?, &principal.account_id, &id).await.gql()?;
        let cancelled = model.id.clone();
        ctx.work().gql()?.after_commit(app, move |app| app.tasks.cancelled(&cancelled));
        ctx.publish(event).gql()?;
        Ok(Task::new(model))
    }
}
