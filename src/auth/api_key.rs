//! API key format: `oc_` + 48 hex characters (192 random bits). Only the SHA-256 is stored; the first
//! 12 characters are kept as a visible prefix so keys can be told apart in listings.
use rand::RngCore;
use sha2::{Digest, Sha256};

const SECRET_BYTES: usize = 24;
const PREFIX_LEN: usize = 12;

/// A freshly generated key. `secret` is shown once and never stored.
pub struct NewApiKey {
    pub secret: String,
    pub prefix: String,
    pub hash: String,
}

pub fn generate() -> NewApiKey {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("oc_{}", hex::encode(bytes));
    NewApiKey { prefix: secret[..PREFIX_LEN].to_owned(), hash: hash(&secret), secret }
}

/// The stored form of a key.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Cheap shape check before touching the database.
pub fn looks_valid(secret: &str) -> bool {
    secret.len() == 3 + SECRET_BYTES * 2
        && secret.starts_with("oc_")
        && secret[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_unique_and_well_formed() {
        let a = generate();
        let b = generate();
        assert_ne!(a.secret, b.secret);
        assert!(looks_valid(&a.secret));
        assert!(a.secret.starts_with(&a.prefix));
        assert_eq!(a.hash, hash(&a.secret));
        assert!(!looks_valid("oc_short"));
    }
}
