//! Who is calling: an account (tenant), its plan and the scopes the credential carries.
use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A pricing plan (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Pro,
    Enterprise,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Pro => "pro",
            Self::Enterprise => "enterprise",
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Plan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "free" => Ok(Self::Free),
            "pro" => Ok(Self::Pro),
            "enterprise" => Ok(Self::Enterprise),
            other => Err(format!("unknown plan `{other}` (free, pro or enterprise)")),
        }
    }
}

/// Every scope a credential may carry. `*` grants all; `agents:*` grants both agent scopes.
pub const SCOPES: &[&str] = &[
    "agents:read",
    "agents:write",
    "conversations:read",
    "conversations:write",
    "skills:read",
    "skills:write",
    "events:read",
    "webhooks:read",
    "webhooks:write",
    "tasks:read",
    "tasks:write",
    "files:read",
    "files:write",
    "memories:read",
    "memories:write",
    "tickets:read",
    "tickets:write",
];

/// Operator power over every account (changing plans). Never implied by `*`: it must be granted by name, and only
/// the CLI can grant it (`openclaw keys create --scopes admin`).
pub const ADMIN_SCOPE: &str = "admin";

/// Every scope string a credential may carry: `*`, each resource wildcard, and each scope.
pub fn all_scope_names() -> Vec<String> {
    let mut names = vec!["*".to_owned()];
    for scope in SCOPES {
        let wildcard = format!("{}:*", scope.split(':').next().unwrap_or(scope));
        if !names.contains(&wildcard) {
            names.push(wildcard);
        }
    }
    names.extend(SCOPES.iter().map(|s| (*s).to_owned()));
    names.push(ADMIN_SCOPE.to_owned());
    names
}

/// How the caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    ApiKey { key_id: String },
    Jwt,
}

/// The authenticated caller, attached to every request (HTTP `req.data`, WebSocket `on_connection_init`).
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: String,
    pub plan: Plan,
    pub scopes: Vec<String>,
    pub method: AuthMethod,
}

impl Principal {
    /// Whether this credential may use `scope` (`agents:write`).
    pub fn allows(&self, scope: &str) -> bool {
        // Operator power is granted by name only: no wildcard (`*`, `admin:*`) reaches it.
        if scope == ADMIN_SCOPE || scope.starts_with("admin:") {
            return self.scopes.iter().any(|granted| granted == scope);
        }
        let resource = scope.split(':').next().unwrap_or(scope);
        self.scopes.iter().any(|granted| {
            granted == "*" || granted == scope || granted.strip_suffix(":*").is_some_and(|r| r == resource)
        })
    }
}

/// Checks that every requested scope is a known one (or a wildcard over a known resource).
pub fn validate_scopes(scopes: &[String]) -> Result<(), String> {
    for scope in scopes {
        let known = scope == "*"
            || scope == ADMIN_SCOPE
            || SCOPES.contains(&scope.as_str())
            || scope.strip_suffix(":*").is_some_and(|r| SCOPES.iter().any(|s| s.starts_with(&format!("{r}:"))));
        if !known {
            return Err(format!("unknown scope `{scope}`; known scopes: *, {}", SCOPES.join(", ")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(scopes: &[&str]) -> Principal {
        Principal {
            account_id: "acct-1".into(),
            plan: Plan::Free,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            method: AuthMethod::Jwt,
        }
    }

    #[test]
    fn scopes_match_exactly_or_by_wildcard() {
        assert!(with(&["*"]).allows("agents:write"));
        assert!(with(&["agents:*"]).allows("agents:write"));
        assert!(with(&["agents:read"]).allows("agents:read"));
        assert!(!with(&["agents:read"]).allows("agents:write"));
        assert!(!with(&["skills:*"]).allows("agents:read"));
    }

    #[test]
    fn every_listed_scope_name_is_valid() {
        let names = all_scope_names();
        assert!(names.contains(&"agents:*".to_owned()) && names.contains(&"skills:read".to_owned()));
        assert!(validate_scopes(&names).is_ok());
    }

    #[test]
    fn unknown_scopes_are_rejected() {
        assert!(validate_scopes(&["agents:*".into(), "skills:read".into()]).is_ok());
        assert!(validate_scopes(&["agents:delete".into()]).is_err());
        assert!(validate_scopes(&["nothing:*".into()]).is_err());
    }
}
