//! Builds the schema (limits, introspection) and the per-request data every execution needs.
use async_graphql::Schema;

use super::{loaders::installed_skills_loader, mutation::Mutation, query::Query, subscription::Subscription};
use crate::{app::AppState, auth::Principal, unit_of_work::UnitOfWork};

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema without state, for printing the SDL.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), Subscription::default()).finish().sdl()
}

pub fn build_schema(state: AppState) -> AppSchema {
    let (depth, complexity) = (state.config.graphql_max_depth, state.config.graphql_max_complexity);
    Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .data(state)
        .extension(crate::limits::graphql::CostLimit)
        .limit_depth(depth)
        .limit_complexity(complexity)
        .finish()
}

/// What one execution (an HTTP request, a REST call, a WebSocket subscription) carries: the caller, its unit of
/// work (`None`: a request on its own), and fresh dataloaders whose caches live exactly as long as the request and
/// read through the same handle as its writes (inside an atomic batch they see what earlier operations wrote).
pub fn request_data(state: &AppState, principal: Principal, work: Option<UnitOfWork>) -> async_graphql::Data {
    let work = work.unwrap_or_else(|| UnitOfWork::immediate(state.db.clone()));
    let mut data = async_graphql::Data::default();
    data.insert(principal);
    data.insert(installed_skills_loader(work.db().clone()));
    data.insert(work);
    data
}
