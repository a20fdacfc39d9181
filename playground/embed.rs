//! The playground front end (`dist/`, built from `src/` by `npm run build`), embedded into the server binary so
//! `/playground` works offline with nothing but the binary.
use rust_embed_for_web::{EmbedableFile, RustEmbed};

#[derive(RustEmbed)]
#[folder = "dist"]
#[gzip = true]
#[br = true]
struct Dist;

/// One embedded file, with what an HTTP response needs.
pub struct Asset {
    pub body: &'static [u8],
    pub gzip: Option<&'static [u8]>,
    pub br: Option<&'static [u8]>,
    pub mime_type: Option<&'static str>,
    /// A strong ETag (quoted content hash).
    pub etag: &'static str,
}

/// The file at `path` (relative to `dist/`, e.g. `index.html`, `assets/index-1a2b3c.js`).
pub fn get(path: &str) -> Option<Asset> {
    let file = Dist::get(path)?;
    Some(Asset {
        body: file.data(),
        gzip: file.data_gzip(),
        br: file.data_br(),
        mime_type: file.mime_type(),
        etag: file.etag(),
    })
}
