//! `store copy`: moving the history, schedules, windows and states to another store.

use std::path::PathBuf;

use crate::store::{CopyError, Database, PoolSettings, Store};

use super::{CliError, failure, invalid};

#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Copy every delivery, attempt, schedule, window, cancellation and state to another store.
    #[command(
        after_help = "Examples:\n  workspace-notifier store copy --from /var/lib/workspace-notifier/state.db \\\n      --to 'postgres://notifier@db.internal:5432/notifier?sslmode=verify-full' \\\n      --password-file /etc/workspace-notifier/database_password\n\nStop the service first. A target that holds any row is refused unless --force, which replaces its contents. The password comes from --password-file, else $PGPASSWORD or ~/.pgpass; never put it in the URL."
    )]
    Copy(CopyArgs),
}

#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// The store to copy from: a SQLite file (it must exist), or a postgres:// URL.
    #[arg(long)]
    pub from: String,
    /// The store to copy into: a postgres:// URL (without a password), or a SQLite file.
    #[arg(long)]
    pub to: String,
    /// A file holding the PostgreSQL password (for --from or --to).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Replace whatever the target already holds.
    #[arg(long)]
    pub force: bool,
}

pub(super) async fn run(command: StoreCommand) -> Result<(), CliError> {
    let StoreCommand::Copy(args) = command;
    let open = |key: &'static str, text: &str| {
        let database = Database::parse(
            text,
            args.password_file.clone(),
            PoolSettings {
                max_connections: 2,
                timeout: std::time::Duration::from_secs(10),
            },
        )
        .map_err(|message| invalid(key, message))?;
        Ok::<_, CliError>(database)
    };
    let from = open("--from", &args.from)?;
    let to = open("--to", &args.to)?;
    if from == to || from.is_same_file(&to) {
        return Err(invalid("--to", format!("{to} is also --from")));
    }
    if let Some(path) = from.missing_file() {
        return Err(invalid(
            "--from",
            format!("{}: no such database file", path.display()),
        ));
    }
    let source = Store::connect(&from).await?;
    let target = Store::connect(&to).await?;
    let copied = match target.copy_from(&source, args.force).await {
        Ok(copied) => copied,
        Err(CopyError::NotEmpty(what)) => {
            return Err(failure(format!("{to}: {}", CopyError::NotEmpty(what))));
        }
        Err(CopyError::Store(err)) => return Err(err.into()),
    };
    source.close().await;
    target.close().await;
    let summary: Vec<String> = copied
        .iter()
        .map(|(table, n)| format!("{n} {table}"))
        .collect();
    say!("copied {from} to {to}: {}", summary.join(", "));
    Ok(())
}
