//! Message attachments in the prompt: each file (`fileId`, or a `url` fetched through the SSRF guard) of the
//! message being answered is read and its text extracted, then appended to that message within a token budget
//! shared between the attachments. Images go to models that accept image parts; other models get a note. A file
//! that cannot be read becomes a note to the model, not a failed reply.
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use crate::{
    app::AppState,
    extract,
    llm::{Image, tokens},
    services::files,
};
use entity::message;

/// Largest attachment read into a prompt.
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;
/// How long fetching one `url` attachment may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);
/// Image types models accept as image parts.
const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// What the attachments add to the message they belong to.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Appended to the message's text: each attachment's text, or a note on why it is missing.
    pub text: String,
    pub images: Vec<Image>,
}

/// One attachment, read.
enum Read {
    Text { name: String, content_type: String, text: String },
    Image { name: String, image: Image },
    Failed { name: String, reason: String },
}

/// Reads the attachments of `message` for a model; `budget` is the tokens their text may take in all.
pub async fn prepare(state: &AppState, message: &message::Model, accepts_images: bool, budget: u64) -> Prepared {
    let list = message.attachments.as_ref().and_then(Value::as_array).cloned().unwrap_or_default();
    let mut read = Vec::with_capacity(list.len());
    for attachment in &list {
        read.push(read_one(state, &message.account_id, attachment).await);
    }
    let texts = read.iter().filter(|r| matches!(r, Read::Text { .. })).count().max(1) as u64;
    let share = budget / texts;
    let mut prepared = Prepared::default();
    for item in read {
        match item {
            Read::Text { name, content_type, text } => {
                let (text, cut) = truncate_tokens(&text, share);
                let note = if cut { "\n[… cut: the rest does not fit in the prompt]" } else { "" };
                prepared.text.push_str(&format!(
                    "\n\n<attachment name=\"{}\" type=\"{content_type}\">\n{text}{note}\n</attachment>",
                    name.replace('"', "'")
                ));
            }
            Read::Image { name, image } if accepts_images => {
                prepared.text.push_str(&format!("\n\n[image attached: {name}]"));
                prepared.images.push(image);
            }
            Read::Image { name, .. } => {
                prepared.text.push_str(&format!("\n\n[image attached: {name} — this model cannot see images]"));
            }
            Read::Failed { name, reason } => {
                tracing::info!(attachment = %name, %reason, "an attachment could not be read");
                prepared.text.push_str(&format!("\n\n[attachment {name} could not be read: {reason}]"));
            }
        }
    }
    prepared
}

async fn read_one(state: &AppState, account_id: &str, attachment: &Value) -> Read {
    let (name, fetched) = if let Some(id) = attachment.get("fileId").and_then(Value::as_str) {
        (id.to_owned(), stored(state, account_id, id).await)
    } else if let Some(url) = attachment.get("url").and_then(Value::as_str) {
        (url.to_owned(), fetched(state, url).await)
    } else {
        return Read::Failed { name: "?".into(), reason: "the attachment names no file".into() };
    };
    let (file_name, content_type, bytes) = match fetched {
        Ok(found) => found,
        Err(reason) => return Read::Failed { name, reason },
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_owned();
    if IMAGE_TYPES.contains(&essence.as_str()) {
        return Read::Image { name: file_name, image: Image { media_type: essence, data: bytes } };
    }
    match state.extractor.extract(&content_type, bytes).await {
        Ok(extract::Extracted { mut text, cut }) => {
            if cut {
                text.push_str("\n[… cut: the file's text is longer than the extraction limit]");
            }
            Read::Text { name: file_name, content_type: essence, text }
        }
        // Limits included: the model is told the file could not be read, and the reply goes on.
        Err(err) => Read::Failed { name: file_name, reason: err.to_string() },
    }
}

/// A stored file of the account: `(name, content type, bytes)`.
async fn stored(state: &AppState, account_id: &str, id: &str) -> Result<(String, String, Bytes), String> {
    let file = files::get(&state.db, account_id, id).await.map_err(|_| "the file no longer exists".to_owned())?;
    if file.size > MAX_ATTACHMENT_BYTES as i64 {
        return Err(format!("it is larger than {MAX_ATTACHMENT_BYTES} bytes"));
    }
    let bytes = files::content(state.storage.as_ref(), &file).await.map_err(|err| err.public_message())?;
    Ok((file.name, file.content_type, bytes))
}

/// A URL fetched through the SSRF guard, its type sniffed from the bytes like an upload's.
async fn fetched(state: &AppState, url: &str) -> Result<(String, String, Bytes), String> {
    let response =
        state.outbound.fetch(url, MAX_ATTACHMENT_BYTES, FETCH_TIMEOUT).await.map_err(|err| err.to_string())?;
    let name = url::Url::parse(&response.final_url)
        .ok()
        .and_then(|u| u.path_segments().and_then(|mut s| s.next_back().map(str::to_owned)))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| url.to_owned());
    let head = &response.bytes[..response.bytes.len().min(8192)];
    let content_type = files::sniff(head, &name);
    Ok((name, content_type, response.bytes))
}

/// The first `max` tokens of `text`, and whether anything was cut.
fn truncate_tokens(text: &str, max: u64) -> (String, bool) {
    let pieces = tokens::split(text);
    if pieces.len() as u64 <= max {
        return (text.to_owned(), false);
    }
    (pieces.into_iter().take(usize::try_from(max).unwrap_or(usize::MAX)).collect(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_to_the_budget() {
        let (whole, cut) = truncate_tokens("a b c", 100);
        assert_eq!((whole.as_str(), cut), ("a b c", false));
        let (part, cut) = truncate_tokens(&"word ".repeat(100), 10);
        assert!(cut);
        assert!(tokens::count(&part) <= 10, "{part}");
    }
}
