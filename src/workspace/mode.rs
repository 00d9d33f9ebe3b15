//! SetMaintenanceMode (`PUT /v2/{project_id}/desktops/maintenance-mode`): desktops into
//! Workspace's maintenance mode or out of it, for windows with `maintenance_mode = true`.

use chrono::{DateTime, Utc};

use super::client::{Prepared, WorkspaceClient};
use super::error::ApiError;
use crate::domain::DesktopId;

impl WorkspaceClient {
    /// SetMaintenanceMode, signed at `now`: `desktops` into Workspace's maintenance mode (`on`)
    /// or out of it. Answered with an empty 200 (no job).
    pub fn prepare_maintenance_mode(
        &self,
        desktops: &[DesktopId],
        on: bool,
        now: DateTime<Utc>,
    ) -> Result<Prepared, ApiError> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            desktop_ids: Vec<&'a str>,
            in_maintenance_mode: bool,
        }
        let body = serde_json::to_vec(&Body {
            desktop_ids: desktops.iter().map(DesktopId::as_str).collect(),
            in_maintenance_mode: on,
        })
        .expect("strings always serialize");
        let mut prepared =
            self.prepare_request(reqwest::Method::PUT, "desktops/maintenance-mode", body, now)?;
        prepared.expects_job = false;
        Ok(prepared)
    }
}
