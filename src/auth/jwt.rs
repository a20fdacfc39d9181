//! HS256 access tokens. Only HS256 is accepted: `alg: none` and algorithm confusion are rejected by construction.
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::principal::Plan;

const ISSUER: &str = "openclaw";
const AUDIENCE: &str = "openclaw-api";

/// The claims an access token carries (SPEC §2: account, plan, scopes, exp).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The account id.
    pub sub: String,
    pub plan: Plan,
    pub scopes: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    /// The API key the token was minted from: the token is checked against that key's state on every use. Optional
    /// here only so a token without one is refused with a clear message rather than as unparsable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Not before (seconds since the epoch). This server never sets it, but a token that carries one is honoured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// Signing and verification keys derived from the configured secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        // `nbf` is checked only when present (jsonwebtoken's rule); it is not a required claim.
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    /// Mints a token valid for `ttl_secs`.
    pub fn issue(
        &self,
        account_id: &str,
        plan: Plan,
        scopes: Vec<String>,
        key_id: &str,
        ttl_secs: i64,
    ) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: account_id.to_owned(),
            plan,
            scopes,
            iat: now,
            exp: now + ttl_secs,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            kid: Some(key_id.to_owned()),
            nbf: None,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// Verifies signature, algorithm, issuer, audience, expiry and `nbf` (when present).
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let keys = JwtKeys::new(b"test-secret-test-secret-test-secret");
        let (token, _) = keys.issue("acct-1", Plan::Pro, vec!["*".into()], "key-1", 60).expect("issue");
        let claims = keys.verify(&token).expect("valid token");
        assert_eq!(claims.sub, "acct-1");
        assert_eq!(claims.plan, Plan::Pro);

        let other = JwtKeys::new(b"another-secret-another-secret-xx");
        assert!(other.verify(&token).is_err(), "forged signature accepted");

        let (expired, _) = keys.issue("acct-1", Plan::Pro, vec![], "key-1", -60).expect("issue");
        assert!(keys.verify(&expired).is_err(), "expired token accepted");
    }

    #[test]
    fn a_future_nbf_is_refused_and_a_past_one_accepted() {
        let keys = JwtKeys::new(b"test-secret-test-secret-test-secret");
        let (_, mut claims) = keys.issue("acct-1", Plan::Pro, vec![], "key-1", 600).expect("issue");
        let sign = |claims: &Claims| {
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &keys.encoding).expect("sign")
        };
        claims.nbf = Some(claims.iat + 300);
        let early = keys.verify(&sign(&claims)).expect_err("a token before its nbf accepted");
        assert_eq!(early.kind(), &jsonwebtoken::errors::ErrorKind::ImmatureSignature);
        claims.nbf = Some(claims.iat - 300);
        assert!(keys.verify(&sign(&claims)).is_ok());
    }
}
