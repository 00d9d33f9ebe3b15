//! The console's API tokens: name, role, the SHA-256 of the token (never the token), when
//! created, when it expires, when last used, when revoked.

use chrono::{DateTime, Utc};

use super::cells::Cells;
use super::time::stored_time;
use super::{Store, StoreError};
use crate::domain::access::same_hash;

#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The hash is left out on purpose: nothing prints it.
impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiToken")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish()
    }
}

impl ApiToken {
    /// Neither revoked nor expired at `now`.
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// At most this many tokens are compared per request (a console has a handful).
const MAX_TOKENS: i64 = 10_000;

const COLUMNS: &str = "name, hash, role, created_at, expires_at, last_used_at, revoked_at";

fn token_from(c: &Cells<'_>) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        name: c.get("name")?,
        role: c.get("role")?,
        created_at: c.time("created_at")?,
        expires_at: c.optional_time("expires_at")?,
        last_used_at: c.optional_time("last_used_at")?,
        revoked_at: c.optional_time("revoked_at")?,
    })
}

/// How stale `last_used_at` may get before a use writes it again (seconds).
const LAST_USED_STEP: i64 = 60;

impl Store {
    /// Adds a token by its hash; false when the name is taken (revoked names stay taken, so
    /// the audit trail's actor names one token).
    pub async fn insert_token(&self, token: &ApiToken, hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO api_tokens (name, hash, role, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&token.name)
        .bind(hash)
        .bind(&token.role)
        .bind(stored_time(token.created_at))
        .bind(token.expires_at.map(stored_time))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens ORDER BY name");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        self.readable(
            rows.iter()
                .map(|row| token_from(&Cells::new("api_tokens", row))),
        )
    }

    /// Revokes `name`; false when there is no such token not yet revoked.
    pub async fn revoke_token(&self, name: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
        )
        .bind(stored_time(now))
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The token whose hash is `hash`, compared with every stored hash in constant time (no
    /// early exit, no lookup by the secret's value); its last use is recorded.
    pub async fn token_by_hash(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiToken>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens LIMIT $1");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(MAX_TOKENS)
            .fetch_all(&self.pool)
            .await?;
        let mut found = None;
        for row in &rows {
            let c = Cells::new("api_tokens", row);
            let stored: String = c.get("hash")?;
            if same_hash(&stored, hash) && found.is_none() {
                found = Some(token_from(&c)?);
            }
        }
        // "Last used" to the minute: a busy console must not write a row (SQLite's one writer
        // lock, shared with the scheduler) for every request.
        let stale = |t: &ApiToken| {
            t.last_used_at
                .is_none_or(|at| now - at >= chrono::TimeDelta::seconds(LAST_USED_STEP))
        };
        if let Some(token) = found.as_ref().filter(|t| stale(t)) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE name = $2")
                .bind(stored_time(now))
                .bind(&token.name)
                .execute(&self.pool)
                .await?;
        }
        Ok(found)
    }
}
