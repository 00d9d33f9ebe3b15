//! One schema, checked: the live tables and columns of the test's engine are exactly what
//! `store copy` copies (a column a migration adds and the copy list forgets would be dropped
//! silently by a copy), and on PostgreSQL they are the same as SQLite's.

use std::collections::BTreeSet;

use workspace_notifier::store::{Store, copied_columns};

use crate::helpers::*;

/// Tables that are not data to move: the migration record, the PostgreSQL instance leases and
/// change counter (rebuilt by each instance), SQLite's change counter.
const NOT_COPIED: [&str; 3] = ["_sqlx_migrations", "instances", "change_counters"];

async fn schema(store: &Store) -> Vec<(String, BTreeSet<String>)> {
    let mut out = Vec::new();
    for table in store.tables().await.unwrap() {
        let columns = store.columns(&table).await.unwrap().into_iter().collect();
        out.push((table, columns));
    }
    out
}

#[tokio::test]
async fn the_copy_list_and_both_engines_have_one_schema() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    env.create_database(&config).await;
    let database = workspace_notifier::store::Database::parse(
        &env.database(),
        None,
        workspace_notifier::store::PoolSettings {
            max_connections: 2,
            timeout: std::time::Duration::from_secs(10),
        },
    )
    .unwrap();
    let store = Store::connect(&database).await.unwrap();
    let live = schema(&store).await;
    store.close().await;
    let copied = copied_columns();
    let mut problems = Vec::new();
    for (table, columns) in &live {
        if NOT_COPIED.contains(&table.as_str()) {
            continue;
        }
        match copied.iter().find(|(t, _)| t == table) {
            None => problems.push(format!("table {table} is not copied by store copy")),
            Some((_, list)) => {
                let list: BTreeSet<String> = list.iter().map(|c| c.to_string()).collect();
                if &list != columns {
                    problems.push(format!(
                        "{table}: live but not copied {:?}; copied but not live {:?}",
                        columns.difference(&list).collect::<Vec<_>>(),
                        list.difference(columns).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    for (table, _) in &copied {
        if !live.iter().any(|(t, _)| t == table) {
            problems.push(format!("store copy copies {table}, which does not exist"));
        }
    }
    // On PostgreSQL: the same tables and columns as a SQLite store of this version.
    if env.postgres.is_some() {
        let sqlite = Store::open(&env.path("compare.db")).await.unwrap();
        let other = schema(&sqlite).await;
        sqlite.close().await;
        let data = |s: &[(String, BTreeSet<String>)]| -> Vec<(String, BTreeSet<String>)> {
            s.iter()
                .filter(|(t, _)| !NOT_COPIED.contains(&t.as_str()))
                .cloned()
                .collect()
        };
        if data(&live) != data(&other) {
            problems.push(format!(
                "PostgreSQL and SQLite differ:\n{:?}\n{:?}",
                data(&live),
                data(&other)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
