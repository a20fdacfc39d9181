//! Shared by the benchmarks that drive a whole server: one in this process on a loopback port, with an
//! enterprise account (no limits) and an all-scopes key.
#![allow(dead_code, reason = "each benchmark uses a part")]
use openclaw::{
    app::{self, AppState},
    auth::Plan,
    config::Config,
    services,
};

pub struct BenchServer {
    pub state: AppState,
    pub addr: std::net::SocketAddr,
    pub account_id: String,
    pub key: String,
}

pub async fn start(config: Config) -> BenchServer {
    let state = AppState::build(config).await.expect("the server starts");
    let account = services::accounts::find_or_create(&state.db, "bench", Plan::Enterprise).await.expect("an account");
    let (_, key) = services::accounts::create_key(&state.db, &account.id, None, vec!["*".into()]).await.expect("a key");
    let router = app::build_router(state.clone()).expect("the router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(app::run(listener, router, std::future::pending()));
    BenchServer { state, addr, account_id: account.id, key }
}
