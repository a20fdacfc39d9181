//! `/playground` is served from the binary: correct types, caching and compression, nothing fetched from the
//! internet; and an end-to-end run in headless Chromium (tests/playground/e2e.mjs).
use reqwest::StatusCode;

use crate::helpers::{Backend, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_assets_are_served_with_types_caching_and_compression() {
    let app = spawn_app(Backend::Sqlite).await;
    let plain =
        reqwest::Client::builder().no_gzip().no_brotli().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let redirect = plain.get(app.url("/playground")).send().await.unwrap();
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.headers()["location"], "/playground/");

    let index = plain.get(app.url("/playground/")).send().await.unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    assert_eq!(index.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(index.headers()["cache-control"], "no-cache");
    let etag = index.headers()["etag"].to_str().unwrap().to_owned();
    let html = index.text().await.unwrap();
    assert!(html.contains("<div id=\"graphiql\"") || html.contains("graphiql"), "{html}");

    let not_modified = plain.get(app.url("/playground/")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);

    let console = plain.get(app.url("/playground/console.html")).send().await.unwrap();
    assert_eq!(console.status(), StatusCode::OK);
    let console_html = console.text().await.unwrap();

    // Every script and stylesheet the pages reference is served locally, hashed and immutable.
    let mut assets: Vec<String> = [html.as_str(), console_html.as_str()]
        .iter()
        .flat_map(|page| {
            page.split(['"', '\'']).filter(|s| s.contains("assets/")).map(str::to_owned).collect::<Vec<_>>()
        })
        .collect();
    assets.sort();
    assets.dedup();
    assert!(!assets.is_empty(), "pages reference their bundles");
    for asset in &assets {
        let path = format!("/playground/{}", asset.trim_start_matches("./").trim_start_matches("/playground/"));
        let response = plain.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable", "{path}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("text/javascript")
                || content_type.starts_with("application/javascript")
                || content_type.starts_with("text/css"),
            "{path}: {content_type}"
        );
        let text = response.text().await.unwrap();
        for forbidden in
            ["https://unpkg.com", "https://cdn.jsdelivr.net", "https://fonts.googleapis.com", "https://esm.sh"]
        {
            assert!(!text.contains(forbidden), "{path} fetches from {forbidden}");
        }
        // Compressed variants, chosen by Accept-Encoding.
        for (accept, expected) in [("br", "br"), ("gzip", "gzip"), ("gzip, br;q=0", "gzip")] {
            let compressed = plain.get(app.url(&path)).header("accept-encoding", accept).send().await.unwrap();
            assert_eq!(
                compressed.headers().get("content-encoding").map(|v| v.to_str().unwrap()),
                Some(expected),
                "{path} {accept}"
            );
            assert_eq!(compressed.headers()["vary"], "accept-encoding");
        }
    }
    let missing = plain.get(app.url("/playground/assets/nope.js")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // The playground needs no credentials to load (the key is entered in the page).
    assert!(html.len() > 100);
}

const PLAYGROUND: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/playground");

/// The committed `dist/` is exactly what the sources build to (so the embedded bundle is never stale), and every
/// example operation the pages ship validates against the committed schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_bundle_matches_its_sources_and_the_schema() {
    crate::helpers::install_once(PLAYGROUND, "[ -d node_modules/vite ] || npm ci --no-audit --no-fund");
    let out = tempfile::tempdir().unwrap();
    let mut build = std::process::Command::new("npm");
    build.current_dir(PLAYGROUND).args(["run", "build", "--", "--outDir"]).arg(out.path());
    let (ok, report) = crate::helpers::run_tool(build).await;
    assert!(ok, "npm run build failed:\n{report}");
    let committed = files(std::path::Path::new(PLAYGROUND).join("dist"));
    let rebuilt = files(out.path().to_path_buf());
    let names = |files: &std::collections::BTreeMap<String, Vec<u8>>| files.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&committed), names(&rebuilt), "dist/ is stale: rebuild with `cd playground && npm run build`");
    for (name, bytes) in &committed {
        assert!(rebuilt[name] == *bytes, "dist/{name} differs from a fresh build: rebuild with `npm run build`");
    }
    let mut check = std::process::Command::new("npm");
    check.current_dir(PLAYGROUND).args(["run", "check:operations"]);
    let (ok, report) = crate::helpers::run_tool(check).await;
    assert!(ok, "the playground's example operations no longer match schema.graphql:\n{report}");
}

/// Every file under `root`, by relative path.
fn files(root: std::path::PathBuf) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut found = std::collections::BTreeMap::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
                found.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    found
}
