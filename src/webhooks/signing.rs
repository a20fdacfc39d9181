//! Delivery bodies and their two signatures (SPEC §6).
//!
//! The announcement's receiver verifies `HMAC(secret, JSON.stringify(JSON.parse(body)))`, so the bytes we send must
//! be exactly what `JSON.stringify` would print for them: compact, object keys in the order JavaScript enumerates
//! them (array-index keys first, ascending; then the rest in insertion order) and numbers formatted the ECMAScript
//! way (`1e+21`, `100` not `100.0`). [`body`] writes that form; both signatures cover those exact bytes.
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of generated secrets (Standard Webhooks' convention: the rest is the base64 key).
pub const SECRET_PREFIX: &str = "whsec_";

/// A new random secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The body of a delivery: `value` as `JSON.stringify` prints it.
pub fn body(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_js(value, &mut out);
    out
}

fn write_js(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) if f.is_finite() => out.push_str(ryu_js::Buffer::new().format_finite(f)),
            _ => out.push_str("null"),
        },
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_js(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // JavaScript enumerates integer-like keys first, in numeric order, then the others as inserted.
            let mut indexed: Vec<(u32, &String, &Value)> =
                map.iter().filter_map(|(k, v)| array_index(k).map(|i| (i, k, v))).collect();
            indexed.sort_by_key(|(i, _, _)| *i);
            let named = map.iter().filter(|(k, _)| array_index(k).is_none());
            out.push('{');
            let mut first = true;
            for (key, item) in indexed.into_iter().map(|(_, k, v)| (k, v)).chain(named) {
                if !first {
                    out.push(',');
                }
                first = false;
                write_string(key, out);
                out.push(':');
                write_js(item, out);
            }
            out.push('}');
        }
    }
}

/// JSON string escaping as `JSON.stringify` does it (serde_json escapes identically: `\b \f \n \r \t`, other
/// control characters as lowercase `\u00xx`, nothing else).
fn write_string(s: &str, out: &mut String) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// A canonical array index (`0`, `17`, not `017`, below 2³²−1), which JavaScript orders before other keys.
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|i| *i < u32::MAX)
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `X-OpenClaw-Signature`: `sha256=<hex HMAC-SHA256(secret, body)>`, the secret's UTF-8 bytes as the key (what the
/// announcement's `crypto.createHmac('sha256', secret)` does).
pub fn openclaw_signature(secret: &str, body: &str) -> String {
    format!("sha256={}", hex::encode(hmac(secret.as_bytes(), &[body.as_bytes()])))
}

/// The Standard Webhooks key: the base64 part of a `whsec_` secret, else the secret's bytes (receivers then use
/// their library's raw-key option).
fn standard_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b64| STANDARD.decode(b64).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// One Standard Webhooks signature: `v1,<base64 HMAC(key, "{id}.{timestamp}.{body}")>`.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let ts = timestamp.to_string();
    let mac = hmac(&standard_key(secret), &[id.as_bytes(), b".", ts.as_bytes(), b".", body.as_bytes()]);
    format!("v1,{}", STANDARD.encode(mac))
}

/// The headers of one delivery, signed by every secret that currently signs (the new one first).
pub fn headers(
    secrets: &[&str],
    delivery_id: &str,
    event_type: &str,
    timestamp: i64,
    body: &str,
) -> Vec<(String, String)> {
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("x-openclaw-event".to_owned(), event_type.to_owned()),
        ("x-openclaw-delivery".to_owned(), delivery_id.to_owned()),
        ("x-openclaw-timestamp".to_owned(), timestamp.to_string()),
        ("webhook-id".to_owned(), delivery_id.to_owned()),
        ("webhook-timestamp".to_owned(), timestamp.to_string()),
    ];
    if let Some(current) = secrets.first() {
        headers.push(("x-openclaw-signature".to_owned(), openclaw_signature(current, body)));
    }
    if let Some(previous) = secrets.get(1) {
        // During a rotation receivers still holding the old secret check this one.
        headers.push(("x-openclaw-signature-previous".to_owned(), openclaw_signature(previous, body)));
    }
    let standard: Vec<String> =
        secrets.iter().map(|secret| standard_signature(secret, delivery_id, timestamp, body)).collect();
    headers.push(("webhook-signature".to_owned(), standard.join(" ")));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_are_what_json_stringify_prints() {
        let value: Value =
            serde_json::from_str(r#"{"b":1,"10":true,"a":[1.5,100.0,1e21,1e-7],"2":"x\ny\u0001","0":null}"#)
                .expect("valid");
        // Key order depends on serde_json's map; the index keys must come first either way.
        let out = body(&value);
        assert!(out.starts_with(r#"{"0":null,"2":"x\ny\u0001","10":true,"#), "{out}");
        assert!(out.contains(r#""a":[1.5,100,1e+21,1e-7]"#), "{out}");
        assert!(!out.contains(' '));
    }

    #[test]
    fn leading_zero_keys_are_not_indexes() {
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("01"), None);
        assert_eq!(array_index("4294967295"), None);
        assert_eq!(array_index("-1"), None);
    }

    #[test]
    fn signatures_match_known_values() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), the classic test vector.
        assert_eq!(
            openclaw_signature("key", "The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        // Standard Webhooks' documented example.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let signature =
            standard_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn rotation_signs_with_both_secrets() {
        let headers = headers(&["new", "old"], "dlv-1", "task.completed", 1, &body(&json!({"a":1})));
        let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        assert_eq!(get("x-openclaw-signature"), openclaw_signature("new", r#"{"a":1}"#));
        assert_eq!(get("x-openclaw-signature-previous"), openclaw_signature("old", r#"{"a":1}"#));
        assert_eq!(get("webhook-signature").split(' ').count(), 2);
    }
}
