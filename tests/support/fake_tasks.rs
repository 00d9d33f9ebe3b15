//! What Workspace itself does, in the fake: its scheduled tasks (ListScheduledTasks, pages of
//! at most 50, and ShowScheduledTasks over an estate of tasks a test can change while the
//! daemon runs) and its maintenance mode (SetMaintenanceMode over the desktop estate).

use std::collections::VecDeque;

use super::{FakeWorkspace, Received, Reply};

/// One scheduled task of the fake's estate.
#[derive(Debug, Clone)]
pub(crate) struct FakeTask {
    pub id: String,
    pub name: String,
    pub task_type: String,
    pub scheduled_type: String,
    pub enabled: bool,
    /// As Workspace writes it (`yyyy-MM-dd HH:mm:ss`, maybe with an offset appended).
    pub next_execution_time: String,
    pub time_zone: String,
    /// `(object_type, object_id, object_name)`.
    pub objects: Vec<(String, String, String)>,
}

impl FakeTask {
    /// An enabled daily task of `task_type` applied to `objects`.
    #[allow(dead_code)]
    pub(crate) fn new(id: &str, task_type: &str, next: &str, zone: &str) -> FakeTask {
        FakeTask {
            id: id.to_owned(),
            name: format!("task {id}"),
            task_type: task_type.to_owned(),
            scheduled_type: "DAY".to_owned(),
            enabled: true,
            next_execution_time: next.to_owned(),
            time_zone: zone.to_owned(),
            objects: Vec::new(),
        }
    }

    #[allow(dead_code)]
    pub(crate) fn on(mut self, object_type: &str, id: &str, name: &str) -> FakeTask {
        self.objects
            .push((object_type.to_owned(), id.to_owned(), name.to_owned()));
        self
    }
}

#[derive(Default)]
pub(super) struct TaskState {
    tasks: Vec<FakeTask>,
    requests: Vec<Received>,
    /// Replies to the next task reads, used before the estate answers (500, 429, ...).
    script: VecDeque<Reply>,
    /// SetMaintenanceMode requests received, and replies to use before answering 200.
    mode_requests: Vec<Received>,
    mode_script: VecDeque<Reply>,
}

impl FakeWorkspace {
    /// Sets the scheduled tasks the fake lists.
    #[allow(dead_code)]
    pub(crate) fn set_tasks(&self, tasks: Vec<FakeTask>) {
        self.state.lock().unwrap().tasks.tasks = tasks;
    }

    /// Replies to the next task reads (list or show), before the estate answers again.
    #[allow(dead_code)]
    pub(crate) fn script_task_reads(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().tasks.script.extend(replies);
    }

    /// Task reads received (signatures checked like sends).
    #[allow(dead_code)]
    pub(crate) fn task_requests(&self) -> Vec<Received> {
        self.state.lock().unwrap().tasks.requests.clone()
    }

    /// SetMaintenanceMode requests received: (in_maintenance_mode, desktop ids), in order.
    #[allow(dead_code)]
    pub(crate) fn mode_switches(&self) -> Vec<(bool, Vec<String>)> {
        let state = self.state.lock().unwrap();
        state
            .tasks
            .mode_requests
            .iter()
            .map(|r| {
                let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                let ids = body["desktop_ids"].as_array().unwrap().iter();
                (
                    body["in_maintenance_mode"].as_bool().unwrap(),
                    ids.map(|v| v.as_str().unwrap().to_owned()).collect(),
                )
            })
            .collect()
    }

    /// Replies to the next SetMaintenanceMode requests (500, ...), before 200 again.
    #[allow(dead_code)]
    pub(crate) fn script_mode_switches(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().tasks.mode_script.extend(replies);
    }

    /// Which desktops of the estate are in maintenance mode now.
    #[allow(dead_code)]
    pub(crate) fn in_maintenance_mode(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .estate
            .iter()
            .filter(|d| d.in_maintenance_mode)
            .map(|d| d.id.clone())
            .collect()
    }

    /// SetMaintenanceMode (`PUT .../desktops/maintenance-mode`, `{desktop_ids,
    /// in_maintenance_mode}`): 200 with an empty body. None: not this call.
    pub(super) fn answer_maintenance_mode(&self, received: &Received) -> Option<Reply> {
        if received.path != format!("/v2/{}/desktops/maintenance-mode", self.identity.project) {
            return None;
        }
        let mut state = self.state.lock().unwrap();
        state.tasks.mode_requests.push(received.clone());
        if received.auth_problem.is_some() {
            return Some(Reply::error(401, "APIGW.0301"));
        }
        if let Some(reply) = state.tasks.mode_script.pop_front() {
            return Some(reply);
        }
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&received.body) else {
            return Some(Reply::error(400, "WKS.0400"));
        };
        let (Some(ids), Some(on)) = (
            body["desktop_ids"].as_array(),
            body["in_maintenance_mode"].as_bool(),
        ) else {
            return Some(Reply::error(400, "WKS.0400"));
        };
        let ids: Vec<&str> = ids.iter().filter_map(|v| v.as_str()).collect();
        for desktop in state
            .estate
            .iter_mut()
            .filter(|d| ids.contains(&d.id.as_str()))
        {
            desktop.in_maintenance_mode = on;
        }
        Some(Reply::RawOk(String::new()))
    }

    /// ListScheduledTasks (`offset`, `limit` 0-50) or ShowScheduledTasks; None: not a task read.
    pub(super) fn answer_task_read(&self, received: &Received) -> Option<Reply> {
        let list_path = format!("/v2/{}/scheduled-tasks", self.identity.project);
        let shown = received
            .path
            .strip_prefix(&format!("{list_path}/"))
            .map(str::to_owned);
        if received.path != list_path && shown.is_none() {
            return None;
        }
        let mut state = self.state.lock().unwrap();
        state.tasks.requests.push(received.clone());
        if received.auth_problem.is_some() {
            return Some(Reply::error(401, "APIGW.0301"));
        }
        if let Some(reply) = state.tasks.script.pop_front() {
            return Some(reply);
        }
        let tasks = &state.tasks.tasks;
        if let Some(id) = shown {
            let Some(task) = tasks.iter().find(|t| t.id == id) else {
                return Some(Reply::error(404, "WKS.0404"));
            };
            let objects: Vec<serde_json::Value> = task
                .objects
                .iter()
                .map(|(t, i, n)| serde_json::json!({"object_type": t, "object_id": i, "object_name": n}))
                .collect();
            return Some(Reply::RawOk(
                serde_json::json!({
                    "task_type": task.task_type, "task_name": task.name,
                    "scheduled_type": task.scheduled_type, "time_zone": task.time_zone,
                    "apply_objects": objects,
                })
                .to_string(),
            ));
        }
        let param = |key: &str| -> Option<usize> {
            received
                .query
                .as_deref()
                .unwrap_or_default()
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| v.parse().ok())
        };
        let (offset, limit) = (param("offset").unwrap_or(0), param("limit").unwrap_or(10));
        if limit > 50 {
            return Some(Reply::error(400, "WKS.0400"));
        }
        let page: Vec<serde_json::Value> = tasks
            .iter()
            .skip(offset)
            .take(limit)
            .map(|t| {
                serde_json::json!({
                    "id": t.id, "task_name": t.name, "task_type": t.task_type,
                    "scheduled_type": t.scheduled_type, "enable": t.enabled,
                    "next_execution_time": t.next_execution_time, "time_zone": t.time_zone,
                    "last_status": "SUCCESS", "priority": 1,
                })
            })
            .collect();
        Some(Reply::RawOk(
            serde_json::json!({"total_count": tasks.len(), "scheduled_tasks": page}).to_string(),
        ))
    }
}
