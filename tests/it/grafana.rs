//! The Grafana dashboard shipped in `contrib/grafana/`: valid JSON of the shape Grafana
//! imports, every expression parsed by promtool (as a recording rule, Grafana's macros
//! replaced), and every metric it names present in a real scrape of the daemon.

use std::collections::BTreeSet;

use chrono::{TimeDelta, Utc};

use crate::fake::{FakeTask, JobPlan};
use crate::helpers::*;

const DASHBOARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/contrib/grafana/workspace-notifier.json"
);

/// Every panel's expressions, Grafana's macros and variables replaced by values promtool
/// accepts.
fn expressions() -> Vec<String> {
    let text = std::fs::read_to_string(DASHBOARD).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert_eq!(dash["uid"], "workspace-notifier");
    let panels = dash["panels"].as_array().expect("panels");
    let ids: BTreeSet<i64> = panels.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    let mut out = Vec::new();
    for panel in panels {
        assert!(panel["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(panel["gridPos"]["w"].as_i64().is_some());
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            out.push(
                expr.replace("$__rate_interval", "5m")
                    .replace("$workspace", ".*"),
            );
        }
    }
    assert!(out.len() >= 10);
    out
}

#[tokio::test]
async fn every_dashboard_expression_parses_and_names_a_metric_the_daemon_exports() {
    let exprs = expressions();
    // promtool parses each expression as a recording rule.
    let env = TestEnv::new().await;
    let rules: String = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| {
            format!(
                "      - record: dashboard_expression_{i}\n        expr: {}\n",
                serde_json::to_string(e).unwrap()
            )
        })
        .collect();
    let file = env.path("dashboard-rules.yml");
    std::fs::write(
        &file,
        format!("groups:\n  - name: dashboard\n    rules:\n{rules}"),
    )
    .unwrap();
    let checked = std::process::Command::new("promtool")
        .args(["check", "rules", file.to_str().unwrap()])
        .output()
        .expect("promtool is installed (.ci/run installs prometheus)");
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    // A daemon that has done a bit of everything: a delivery whose job has a failed desktop,
    // a schedule with selectors, a Workspace task followed.
    env.fake.plan_jobs(JobPlan {
        desktops: 3,
        failed: 1,
        ..JobPlan::default()
    });
    let run = Utc::now() + TimeDelta::hours(3);
    env.fake.set_tasks(vec![
        FakeTask::new(
            "t1",
            "REBOOT",
            &run.format("%Y-%m-%d %H:%M:%S").to_string(),
            "UTC",
        )
        .on("DESKTOP", "d1", ""),
    ]);
    let at = (Utc::now() + TimeDelta::seconds(2)).to_rfc3339();
    let port = free_port();
    let config = env.write_config(&format!(
        "[jobs]\nfirst_poll = \"1s\"\npoll_interval = \"1s\"\n\n[[task_warnings]]\nid = \"w\"\nnotify_before = [\"1h\"]\nmessage = \"{{action}}\"\n\n{}{}",
        schedule_toml("once", &format!("at = \"{at}\""), &[POOL], ""),
        schedule_toml("team", "cron = \"0 0 9 * * *\"", &[], "tags = [\"dept=x\"]\n"),
    ));
    let daemon = env.spawn_daemon(&listening(&config, port)).await;
    let names: BTreeSet<String> = exprs
        .iter()
        .flat_map(|e| {
            e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("workspace_notifier_"))
                .map(|w| w.trim_end_matches("_bucket").to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let exported = |text: &str| -> BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    };
    let all_there = wait_for(30, || async {
        let text = http_get(port, "/metrics").await.1;
        names.is_subset(&exported(&text))
    })
    .await;
    let text = http_get(port, "/metrics").await.1;
    assert_eq!(daemon.stop(5).await, Some(0));
    let now_exported = exported(&text);
    let missing: Vec<&String> = names.difference(&now_exported).collect();
    assert!(
        all_there,
        "named by the dashboard, not exported: {missing:?}\n{text}"
    );
}
