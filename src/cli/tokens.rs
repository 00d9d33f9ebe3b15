//! `token create / list / revoke`: the console's API tokens. A new token is printed once;
//! only its SHA-256 is stored.

use chrono::{DateTime, Utc};
use std::path::Path;

use super::times::{Natural, shown};
use super::{CliError, failure, invalid, load_config};
use crate::domain::access::{Role, token_hash, valid_token_name};
use crate::store::ApiToken;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once (store it now), only its hash is kept.
    #[command(
        after_help = "Examples:\n  workspace-notifier token create --name helpdesk --role viewer\n  workspace-notifier token create --name change-mgmt --role operator --expires 30d\n\nviewer: reads everything; operator: also changes schedules and windows and sends; admin: also manages tokens."
    )]
    Create {
        /// 1-64 letters, digits, `.`, `_`, `-`; it names the actor in the audit trail.
        #[arg(long)]
        name: String,
        /// viewer, operator or admin.
        #[arg(long)]
        role: String,
        /// How long it is valid (e.g. 90d), or `never`.
        #[arg(long, default_value = "90d")]
        expires: String,
    },
    /// List tokens: name, role, created, expires, last used, revoked (never the token).
    #[command(
        after_help = "Examples:\n  workspace-notifier token list\n  workspace-notifier token list --json"
    )]
    List {
        /// TOKEN objects (docs/json.md) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token at once (its name stays taken, so the audit trail stays unambiguous).
    #[command(
        after_help = "Example:\n  workspace-notifier token revoke helpdesk --note \"left the team\""
    )]
    Revoke {
        /// The token's name.
        name: String,
    },
}

pub(super) async fn run(config_path: &Path, command: TokenCommand) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    match command {
        TokenCommand::Create {
            name,
            role,
            expires,
        } => {
            let by = super::audit::Actor {
                name: super::actor(),
                note: super::audit::note(),
            };
            let (token, secret) = apply_create(&config, &by, (&name, &role, &expires)).await?;
            tell!(
                "created token {name} ({}, {}); it is shown once, here:",
                token.role,
                expiry(&token)
            );
            println!("{secret}");
            Ok(())
        }
        TokenCommand::List { json } => {
            let store = super::open_existing_store(&config).await?;
            let tokens = store.tokens().await?;
            store.close().await;
            list(&tokens, json);
            Ok(())
        }
        TokenCommand::Revoke { name } => {
            let by = super::audit::Actor {
                name: super::actor(),
                note: super::audit::note(),
            };
            apply_revoke(&config, &by, &name).await?;
            say!("revoked token {name}");
            Ok(())
        }
    }
}

/// Creates a token (`name`, `role`, `expires`), recorded as `by`'s: its record and the token,
/// which exists nowhere else from now on.
pub(crate) async fn apply_create(
    config: &crate::config::Config,
    by: &super::audit::Actor,
    (name, role, expires): (&str, &str, &str),
) -> Result<(ApiToken, String), CliError> {
    let now = Utc::now();
    let token = new_token_record(name, role, expires, now)?;
    let secret = crate::platform::token::new_token()
        .map_err(|err| failure(format!("cannot draw a random token: {err}")))?;
    let store = crate::engine::wiring::open_store(config).await?;
    let added = store.insert_token(&token, &token_hash(&secret)).await;
    store.close().await;
    if !added? {
        return Err(invalid(
            "--name",
            format!("a token named {name:?} exists (revoked names stay taken)"),
        ));
    }
    super::audit::record_as(
        config,
        by,
        "token.create",
        name,
        format!("role {}, {}", token.role, expiry(&token)),
    )
    .await?;
    Ok((token, secret))
}

/// Revokes `name` at once, recorded as `by`'s.
pub(crate) async fn apply_revoke(
    config: &crate::config::Config,
    by: &super::audit::Actor,
    name: &str,
) -> Result<(), CliError> {
    let store = crate::engine::wiring::open_store(config).await?;
    let revoked = store.revoke_token(name, Utc::now()).await;
    store.close().await;
    if !revoked? {
        return Err(super::not_found(format!(
            "no token {name:?} that is not revoked already (see `token list`)"
        )));
    }
    super::audit::record_as(config, by, "token.revoke", name, "revoked").await
}

/// The record of a new token, its arguments checked (exit 78 naming the bad one).
pub(crate) fn new_token_record(
    name: &str,
    role: &str,
    expires: &str,
    now: DateTime<Utc>,
) -> Result<ApiToken, CliError> {
    if !valid_token_name(name) {
        return Err(invalid(
            "--name",
            format!("{name:?} is not a token name (1-64 letters, digits, '.', '_', '-')"),
        ));
    }
    let role = Role::parse(role).ok_or_else(|| {
        invalid(
            "--role",
            format!("{role:?} is not a role; one of {}", Role::NAMES.join(", ")),
        )
    })?;
    let expires_at = match expires.trim() {
        "never" => None,
        text => Some(
            humantime::parse_duration(text)
                .ok()
                .filter(|d| d.as_secs() >= 60 && d.as_secs() <= 10 * 365 * 86_400)
                .map(|d| crate::domain::time_math::plus(now, d))
                .ok_or_else(|| {
                    invalid(
                        "--expires",
                        format!(
                            "{text:?} is not a duration from 1m to 10 years (e.g. 90d) or `never`"
                        ),
                    )
                })?,
        ),
    };
    Ok(ApiToken {
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    })
}

fn expiry(t: &ApiToken) -> String {
    t.expires_at.map_or("never expires".to_owned(), |e| {
        format!("expires {}", shown(e, Natural::Machine))
    })
}

/// TOKEN.
pub(crate) fn token_json(t: &ApiToken) -> serde_json::Value {
    let time = |t: Option<DateTime<Utc>>| t.map(crate::store::format_time);
    serde_json::json!({
        "name": t.name, "role": t.role, "created_at": crate::store::format_time(t.created_at),
        "expires_at": time(t.expires_at), "last_used_at": time(t.last_used_at),
        "revoked_at": time(t.revoked_at),
    })
}

fn list(tokens: &[ApiToken], json: bool) {
    if json {
        let list: Vec<serde_json::Value> = tokens.iter().map(token_json).collect();
        super::json::print(&serde_json::Value::Array(list));
        return;
    }
    if tokens.is_empty() {
        say!("no tokens (`token create --name NAME --role viewer|operator|admin`)");
        return;
    }
    let at = |t: Option<DateTime<Utc>>| t.map_or("-".to_owned(), |t| shown(t, Natural::Machine));
    let cells: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.role.clone(),
                at(Some(t.created_at)),
                at(t.expires_at),
                at(t.last_used_at),
                at(t.revoked_at),
            ]
        })
        .collect();
    super::render::print_columns(
        &["NAME", "ROLE", "CREATED", "EXPIRES", "LAST USED", "REVOKED"],
        &cells,
    );
}
