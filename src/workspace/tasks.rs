//! Workspace's scheduled tasks: ListScheduledTasks (`GET /v2/{project_id}/scheduled-tasks`,
//! pages of at most 50, read until one comes back short, bounded) and ShowScheduledTasks
//! (`GET .../scheduled-tasks/{task_id}`) for what a task is applied to.

use serde::Deserialize;

use super::client::WorkspaceClient;
use super::error::ApiError;
use crate::domain::workspace_task::{ApplyObject, WorkspaceTask};

/// Tasks per ListScheduledTasks page: the API's maximum.
const PAGE: u64 = 50;

/// The most pages one listing reads (10,000 tasks): a server that never answers short must not
/// keep the poller for ever.
const MAX_PAGES: u64 = 200;

impl WorkspaceClient {
    /// Every scheduled task, page by page, as Workspace wrote it (missing fields empty; what
    /// each is applied to is [`Self::scheduled_task_objects`]'s).
    pub async fn list_scheduled_tasks(&self) -> Result<Vec<WorkspaceTask>, ApiError> {
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let params = [
                ("offset", (page * PAGE).to_string()),
                ("limit", PAGE.to_string()),
            ];
            let bytes = self.get("scheduled-tasks", &params).await?;
            let (total, tasks) = parse_tasks(&bytes).map_err(ApiError::Malformed)?;
            let short = (tasks.len() as u64) < PAGE;
            all.extend(tasks);
            if short || total.is_some_and(|t| all.len() as u64 >= t) {
                return Ok(all);
            }
        }
        Err(ApiError::Malformed(format!(
            "ListScheduledTasks still had more after {MAX_PAGES} pages of {PAGE}: stopped listing"
        )))
    }

    /// What the task is applied to. An object that cannot be aimed at is an `Err` entry.
    pub async fn scheduled_task_objects(
        &self,
        task_id: &str,
    ) -> Result<Vec<Result<ApplyObject, String>>, ApiError> {
        let path = format!(
            "scheduled-tasks/{}",
            super::signer::encode_component(task_id)
        );
        let bytes = self.get(&path, &[]).await?;
        parse_objects(&bytes).map_err(ApiError::Malformed)
    }
}

fn malformed(what: &str, body: &[u8], e: serde_json::Error) -> String {
    let shown = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    format!(
        "{what} answered with something that is not its JSON ({e}): {}",
        crate::domain::shown(&shown, 200)
    )
}

/// One ListScheduledTasks page: `total_count` and its tasks; a row without an id is skipped.
pub(super) fn parse_tasks(body: &[u8]) -> Result<(Option<u64>, Vec<WorkspaceTask>), String> {
    #[derive(Deserialize)]
    struct Row {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        task_name: Option<String>,
        #[serde(default)]
        task_type: Option<String>,
        #[serde(default)]
        scheduled_type: Option<String>,
        #[serde(default)]
        enable: Option<bool>,
        #[serde(default)]
        next_execution_time: Option<String>,
        #[serde(default)]
        time_zone: Option<String>,
    }
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        total_count: Option<u64>,
        #[serde(default)]
        scheduled_tasks: Option<Vec<Row>>,
    }
    let page: Page =
        serde_json::from_slice(body).map_err(|e| malformed("ListScheduledTasks", body, e))?;
    let tasks = page
        .scheduled_tasks
        .unwrap_or_default()
        .into_iter()
        .filter_map(|row| {
            Some(WorkspaceTask {
                id: row.id.filter(|id| !id.is_empty())?,
                name: row.task_name.unwrap_or_default(),
                task_type: row.task_type.unwrap_or_default(),
                scheduled_type: row.scheduled_type.unwrap_or_default(),
                // A task that does not say it is enabled is followed: warning of a run that
                // does not come is better than not warning of one that does.
                enabled: row.enable.unwrap_or(true),
                next_execution_time: row.next_execution_time.unwrap_or_default(),
                time_zone: row.time_zone.unwrap_or_default(),
                objects: Vec::new(),
            })
        })
        .collect();
    Ok((page.total_count, tasks))
}

/// ShowScheduledTasks' `apply_objects`.
pub(super) fn parse_objects(body: &[u8]) -> Result<Vec<Result<ApplyObject, String>>, String> {
    #[derive(Deserialize)]
    struct Object {
        #[serde(default)]
        object_type: Option<String>,
        #[serde(default)]
        object_id: Option<String>,
        #[serde(default)]
        object_name: Option<String>,
    }
    #[derive(Deserialize)]
    struct Task {
        #[serde(default)]
        apply_objects: Option<Vec<Object>>,
    }
    let task: Task =
        serde_json::from_slice(body).map_err(|e| malformed("ShowScheduledTasks", body, e))?;
    Ok(task
        .apply_objects
        .unwrap_or_default()
        .into_iter()
        .map(|o| {
            ApplyObject::parse(
                o.object_type.as_deref().unwrap_or(""),
                o.object_id.as_deref().unwrap_or(""),
                o.object_name.as_deref().unwrap_or(""),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_tasks_is_read_and_rows_without_ids_skipped() {
        let body = br#"{"total_count": 3, "scheduled_tasks": [
            {"id": "t1", "task_name": "nightly", "task_type": "REBOOT", "scheduled_type": "DAY",
             "enable": true, "next_execution_time": "2026-12-05 02:00:00", "time_zone": "Asia/Shanghai"},
            {"task_name": "no id"},
            {"id": "t3", "enable": false}
        ]}"#;
        let (total, tasks) = parse_tasks(body).unwrap();
        assert_eq!(total, Some(3));
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].name, "nightly");
        assert_eq!(tasks[0].time_zone, "Asia/Shanghai");
        assert!(!tasks[1].enabled);
        assert!(
            parse_tasks(b"<html>")
                .unwrap_err()
                .contains("ListScheduledTasks")
        );
    }

    #[test]
    fn apply_objects_are_read_one_by_one() {
        let body = br#"{"task_name": "x", "apply_objects": [
            {"object_type": "DESKTOP", "object_id": "d1", "object_name": "pc1"},
            {"object_type": "DESKTOP_TAG", "object_id": "k=v"},
            {"object_type": "SOMETHING", "object_id": "z"}
        ]}"#;
        let objects = parse_objects(body).unwrap();
        assert_eq!(objects[0], Ok(ApplyObject::Desktop("d1".into())));
        assert_eq!(objects[1], Ok(ApplyObject::Tag("k".into(), "v".into())));
        assert!(objects[2].is_err());
        assert!(parse_objects(b"[").is_err());
    }
}
