//! Builds the schema (limits, introspection) and the per-request data every execution needs.
use async_graphql::Schema;

use super::{loaders::installed_skills_loader, mutation::Mutation, query::Query, subscription::Subscription};
use crate::{app::AppState, auth::Principal};

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema without state, for printing the SDL.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), Subscription::default()).finish().sdl()
}

pub fn build_schema(state: AppState) -> AppSchema {
    let (depth, complexity) = (state.config.graphql_max_depth, state.config.graphql_max_complexity);
    Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .data(state)
        .limit_depth(depth)
        .limit_complexity(complexity)
        .finish()
}

/// What one execution (an HTTP request, a REST call, a WebSocket subscription) carries: the caller, and fresh
/// dataloaders whose caches live exactly as long as the request.
pub fn request_data(state: &AppState, principal: Principal) -> async_graphql::Data {
    let mut data = async_graphql::Data::default();
    data.insert(principal);
    data.insert(installed_skills_loader(state.db.clone()));
    data
}
