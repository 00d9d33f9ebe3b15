//! Reading ShowJob and ListItaSubJobs answers. Pure: bytes in, values out. Fields the API may
//! leave out are optional; a body that is not the expected JSON is an error naming what was
//! received.

use serde::Deserialize;

use crate::domain::job::Recipient;

/// ShowJob: the job's status word and the desktops it lists (maybe not all of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    /// Verbatim; empty when the answer had none.
    pub status: String,
    /// How many desktops the job has in all, when the answer says.
    pub sub_jobs_total: Option<u64>,
    pub recipients: Vec<Recipient>,
}

/// One page of ListItaSubJobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubJobPage {
    pub total_count: Option<u64>,
    pub recipients: Vec<Recipient>,
}

/// A sub-job's job and start, for finding a job a timed-out request may have created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRef {
    pub job_id: String,
    /// `begin_time` as the API gave it (RFC 3339 when parseable).
    pub begin_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// ListItaSubJobs filtered by pool: the distinct jobs of its sub-jobs.
pub(super) fn parse_job_refs(body: &[u8]) -> Result<Vec<JobRef>, String> {
    #[derive(Deserialize)]
    struct Ref {
        #[serde(default)]
        job_id: Option<String>,
        #[serde(default)]
        begin_time: Option<String>,
    }
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        jobs: Option<Vec<Ref>>,
    }
    let page: Page =
        serde_json::from_slice(body).map_err(|e| unexpected("ListItaSubJobs", body, &e))?;
    let mut out: Vec<JobRef> = Vec::new();
    for r in page.jobs.unwrap_or_default() {
        let Some(job_id) = r.job_id.filter(|j| !j.is_empty()) else {
            continue;
        };
        if out.iter().any(|o| o.job_id == job_id) {
            continue;
        }
        let begin_time = r
            .begin_time
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.to_utc());
        out.push(JobRef { job_id, begin_time });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct SubJob {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    fail_reason: Option<String>,
    #[serde(default)]
    entities: Option<Entities>,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
struct Entities {
    #[serde(default)]
    desktop_id: Option<String>,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    desktop_name: Option<String>,
}

impl SubJob {
    fn into_recipient(self) -> Recipient {
        let entities = self.entities.unwrap_or(Entities {
            desktop_id: None,
            user_name: None,
            desktop_name: None,
        });
        Recipient {
            // A sub-job without a desktop id is still counted, under its own id.
            desktop_id: entities
                .desktop_id
                .or(self.id)
                .unwrap_or_else(|| "(unknown desktop)".to_owned()),
            user_name: entities.user_name,
            desktop_name: entities.desktop_name,
            status: self.status.unwrap_or_default(),
            error_code: self.error_code.filter(|c| !c.is_empty()),
            fail_reason: self.fail_reason.filter(|r| !r.is_empty()),
        }
    }
}

pub(super) fn parse_job(body: &[u8]) -> Result<JobReport, String> {
    #[derive(Deserialize)]
    struct Job {
        #[serde(default)]
        status: Option<String>,
        #[serde(default)]
        sub_jobs_total: Option<u64>,
        #[serde(default)]
        sub_jobs: Option<Vec<SubJob>>,
    }
    let job: Job = serde_json::from_slice(body).map_err(|e| unexpected("ShowJob", body, &e))?;
    Ok(JobReport {
        status: job.status.unwrap_or_default(),
        sub_jobs_total: job.sub_jobs_total,
        recipients: job
            .sub_jobs
            .unwrap_or_default()
            .into_iter()
            .map(SubJob::into_recipient)
            .collect(),
    })
}

pub(super) fn parse_sub_jobs(body: &[u8]) -> Result<SubJobPage, String> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        total_count: Option<u64>,
        #[serde(default)]
        jobs: Option<Vec<SubJob>>,
    }
    let page: Page =
        serde_json::from_slice(body).map_err(|e| unexpected("ListItaSubJobs", body, &e))?;
    Ok(SubJobPage {
        total_count: page.total_count,
        recipients: page
            .jobs
            .unwrap_or_default()
            .into_iter()
            .map(SubJob::into_recipient)
            .collect(),
    })
}

fn unexpected(operation: &str, body: &[u8], err: &serde_json::Error) -> String {
    let text = String::from_utf8_lossy(body);
    let cut: String = text.chars().take(200).collect();
    format!("{operation} answer is not the expected JSON ({err}): {cut}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_with_desktops_is_read_and_missing_fields_are_tolerated() {
        let body = br#"{"id":"j","status":"SUCCESS","sub_jobs_total":2,"sub_jobs":[
            {"id":"s1","status":"SUCCESS","entities":{"desktop_id":"d1","user_name":"ann","desktop_name":"pc1"}},
            {"id":"s2","status":"FAILED","error_code":"WKS.1","fail_reason":"agent offline","entities":{"desktop_id":"d2"}}]}"#;
        let job = parse_job(body).unwrap();
        assert_eq!(job.status, "SUCCESS");
        assert_eq!(job.sub_jobs_total, Some(2));
        assert_eq!(job.recipients[0].user_name.as_deref(), Some("ann"));
        assert_eq!(
            job.recipients[1].fail_reason.as_deref(),
            Some("agent offline")
        );
        assert_eq!(
            parse_job(br#"{"status":"RUNNING"}"#)
                .unwrap()
                .recipients
                .len(),
            0
        );
        assert!(parse_job(b"<html>").unwrap_err().contains("ShowJob"));
    }

    #[test]
    fn a_page_of_sub_jobs_is_read() {
        let page = parse_sub_jobs(
            br#"{"total_count":3,"jobs":[{"status":"SUCCESS","entities":{"desktop_id":"d3"}}]}"#,
        )
        .unwrap();
        assert_eq!(page.total_count, Some(3));
        assert_eq!(page.recipients[0].desktop_id, "d3");
    }
}
