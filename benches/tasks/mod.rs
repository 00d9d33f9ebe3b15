//! `tasks`: 500 Workspace scheduled tasks (10 pages of 50) followed by a `[[task_warnings]]`
//! rule, in this process, on the tests' fake (ListScheduledTasks pages, ShowScheduledTasks).
//! Four polls 5 s apart; before the third, 7 tasks move. Reports ListScheduledTasks and
//! ShowScheduledTasks calls per poll (target: at most 10 lists and one show per new or changed
//! task: 500 shows, then 0, then 7, then 0) and each poll's wall time, the unchanged polls
//! against the first (which reads every task's targets) in the same run.

use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

use super::support::fake::{FakeTask, FakeWorkspace};
use super::{Setup, pct, start_daemon};

const TASKS: usize = 500;
const MOVED: usize = 7;

fn tasks(run: DateTime<Utc>, moved: usize) -> Vec<FakeTask> {
    (0..TASKS)
        .map(|i| {
            let at = match i < moved {
                true => run + TimeDelta::minutes(30),
                false => run,
            };
            FakeTask::new(
                &format!("task-{i:03}"),
                "REBOOT",
                &at.format("%Y-%m-%d %H:%M:%S").to_string(),
                "UTC",
            )
            .on("DESKTOP", &format!("desk-{i:03}"), "")
        })
        .collect()
}

pub(super) async fn run() {
    let setup = Setup::with_fake(FakeWorkspace::start_modelled_on_own_thread());
    let run = Utc::now() + TimeDelta::hours(2);
    setup.fake.set_tasks(tasks(run, 0));
    let rule = "[workspace_tasks]\npoll_interval = \"5s\"\n\n[[task_warnings]]\nid = \"w\"\nnotify_before = [\"1h\", \"15m\"]\nmessage = \"{action} at {start}\"\n";
    let config = setup.config(16, rule);
    let (stop, task) = start_daemon(&config);
    tokio::time::sleep(Duration::from_millis(7_500)).await;
    setup.fake.set_tasks(tasks(run, MOVED));
    tokio::time::sleep(Duration::from_millis(10_000)).await;
    stop.cancel();
    task.await.unwrap().unwrap();
    // Polls begin with the list's first page (offset 0).
    let mut polls: Vec<(usize, usize, DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for r in setup.fake.task_requests() {
        let first_page = r.path.ends_with("/scheduled-tasks")
            && r.query.as_deref().unwrap_or_default().contains("offset=0&");
        if first_page {
            polls.push((0, 0, r.at, r.at));
        }
        let Some(poll) = polls.last_mut() else {
            continue;
        };
        match r.path.ends_with("/scheduled-tasks") {
            true => poll.0 += 1,
            false => poll.1 += 1,
        }
        poll.3 = r.at;
    }
    println!("tasks: {TASKS} tasks, {MOVED} moved before the third poll");
    let mut unchanged_ms = Vec::new();
    for (i, (lists, shows, from, to)) in polls.iter().enumerate() {
        let ms = (*to - *from).num_microseconds().unwrap_or(0) as f64 / 1000.0;
        println!(
            "  poll {}: {lists} list calls, {shows} show calls, {ms:.1} ms",
            i + 1
        );
        if i > 0 && *shows == 0 {
            unchanged_ms.push(ms);
        }
    }
    let first_ms = polls
        .first()
        .map(|p| (p.3 - p.2).num_microseconds().unwrap_or(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    unchanged_ms.sort_by(f64::total_cmp);
    if !unchanged_ms.is_empty() {
        let median = pct(&unchanged_ms, 0.5);
        println!(
            "  unchanged poll: median {median:.1} ms (spread {:.1}-{:.1} ms), {:.2}x the first poll's {first_ms:.1} ms",
            unchanged_ms[0],
            unchanged_ms[unchanged_ms.len() - 1],
            median / first_ms.max(0.001)
        );
    }
    let within = polls
        .iter()
        .enumerate()
        .all(|(i, p)| p.0 <= 10 && p.1 == [TASKS, 0, MOVED, 0].get(i).copied().unwrap_or(0));
    println!(
        "  target (<= 10 lists, one show per new or changed task): {}",
        if within { "met" } else { "NOT met" }
    );
}
