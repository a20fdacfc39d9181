//! GraphQL operations pay their cost: the complexity async-graphql computes while validating (every field 1
//! unless it says otherwise, lists multiplied by their `limit`), and never less than the number of fields the
//! operations select with their fragments expanded (so 2,000 aliases of a free field are not free). One huge query
//! therefore cannot slip under a per-request limit. The cost is reported in the response's `extensions.cost`.
//!
//! Before any of that, the document is held to the [`DocumentLimits`] — on every path, including documents that
//! arrive over WebSocket and so are parsed by async-graphql itself.
use std::sync::{Arc, Mutex};

use async_graphql::{
    Response, ServerError, ServerResult, ValidationResult, Value, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation},
    parser::types::{ExecutableDocument, OperationType},
};

use super::{RateSlot, RateState, headers};
use crate::{
    app::AppState,
    auth::Principal,
    error::AppError,
    graphql::document_limits::{DocumentLimits, check_document, check_numbers, check_text},
};

/// Put in a request's data by the REST layer: a REST call costs 1 whatever document runs behind it.
#[derive(Clone, Copy, Debug)]
pub struct FlatRate;

pub struct CostLimit;

impl ExtensionFactory for CostLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostExtension::default())
    }
}

#[derive(Default)]
struct CostExtension {
    /// (complexity, units the operation cost in all, units left afterwards)
    cost: Mutex<Option<(usize, u32, Option<u32>)>>,
    /// Subscriptions pay when they start; their events do not repeat the cost.
    subscription: std::sync::atomic::AtomicBool,
    /// Fields the document's operations select, fragments expanded: the least the operation costs.
    fields: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl Extension for CostExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let limits = ctx.data_opt::<AppState>().map(|app| DocumentLimits::from_config(&app.config));
        if let Some(limits) = &limits {
            check_text(query, limits).map_err(|limit| limit.to_server_error())?;
            if let Err(message) = variables.iter().try_for_each(|(_, value)| check_numbers(value)) {
                return Err(server_error(AppError::validation("variables", message)));
            }
        }
        let document = next.run(ctx, query, variables).await?;
        if let Some(limits) = &limits {
            let fields = check_document(&document, limits).map_err(|limit| limit.to_server_error())?;
            self.fields.store(fields, std::sync::atomic::Ordering::Relaxed);
        }
        let subscription = document.operations.iter().all(|(_, op)| op.node.ty == OperationType::Subscription);
        self.subscription.store(subscription, std::sync::atomic::Ordering::Relaxed);
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if ctx.data_opt::<FlatRate>().is_some() {
            return Ok(result);
        }
        let (Some(app), Some(principal)) = (ctx.data_opt::<AppState>(), ctx.data_opt::<Principal>()) else {
            return Ok(result);
        };
        let complexity = result.complexity.max(self.fields.load(std::sync::atomic::Ordering::Relaxed)).max(1);
        let cost = u32::try_from(complexity).unwrap_or(u32::MAX);
        // An operation that costs more than the whole minute's allowance can never run: no retry would help.
        if let Some(limit) = app.limiter.per_minute(principal)
            && cost > limit
        {
            let message =
                format!("this operation costs {complexity}, more than the plan's {limit} per minute; ask for less");
            return Err(vec![server_error(AppError::BadRequest { code: "query_too_costly", message })]);
        }
        // Over HTTP the limits layer has charged the request's first unit already (once per request).
        let slot = ctx.data_opt::<RateSlot>();
        let due = if slot.is_some_and(RateSlot::take_prepaid) { cost - 1 } else { cost };
        let state = app.limiter.charge(principal, due).await.map_err(|err| vec![server_error(err)])?;
        if let Some(slot) = slot {
            slot.set(state);
        }
        let remaining = match state {
            RateState::Limited { decision, .. } => Some(decision.remaining),
            _ => None,
        };
        *self.cost.lock().unwrap_or_else(|p| p.into_inner()) = Some((complexity, cost, remaining));
        if let Some(denied) = state.denied() {
            let retry_after_secs = headers::retry_after_secs(denied);
            let mut error = server_error(AppError::RateLimited { retry_after_secs });
            error.message = format!(
                "rate limit exceeded: this operation costs {complexity} and {} of the plan's {} per minute are left; retry in {retry_after_secs} s",
                denied.remaining, denied.limit
            );
            return Err(vec![error]);
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        if self.subscription.load(std::sync::atomic::Ordering::Relaxed) {
            return response;
        }
        if let Some((complexity, charged, remaining)) = *self.cost.lock().unwrap_or_else(|p| p.into_inner()) {
            let mut cost = async_graphql::indexmap::IndexMap::new();
            cost.insert(async_graphql::Name::new("complexity"), Value::from(complexity as u64));
            cost.insert(async_graphql::Name::new("charged"), Value::from(charged));
            if let Some(remaining) = remaining {
                cost.insert(async_graphql::Name::new("remaining"), Value::from(remaining));
            }
            response.extensions.insert("cost".to_owned(), Value::Object(cost));
        }
        response
    }
}

fn server_error(err: AppError) -> ServerError {
    let mut error = err.into_graphql().into_server_error(async_graphql::Pos::default());
    // Not tied to a place in the document.
    error.locations.clear();
    error
}
