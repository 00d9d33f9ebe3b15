//! What Workspace's notification job says about the desktops, reduced to what an operator
//! needs: did every user get it? Pure: status words and sub-jobs in, a verdict out.
//!
//! Status words are not a documented closed list (docs/huawei-api.md): `SUCCESS` and `COMPLETE`
//! are done and fine, `FAIL` and `FAILED` are done and failed, anything else (`WAITING`,
//! `RUNNING`, `INIT`, a word never seen) is still running. The top-level status alone is not
//! trusted: a job can report success while some of its sub-jobs (desktops) failed.

use chrono::{DateTime, Utc};
use std::time::Duration;

use crate::domain::time_math::plus;

/// What a status word means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Word {
    Succeeded,
    Failed,
    Running,
}

impl Word {
    pub(crate) fn of(word: &str) -> Word {
        match word.trim().to_ascii_uppercase().as_str() {
            "SUCCESS" | "COMPLETE" => Word::Succeeded,
            "FAIL" | "FAILED" => Word::Failed,
            _ => Word::Running,
        }
    }
}

/// `deliveries.job_result`: how the job ended for the desktops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobResult {
    /// Every desktop got it.
    Ok,
    /// Some did, some did not.
    Partial,
    /// None did (or the job failed without listing desktops).
    Failed,
    /// Tracking ended without a final answer (gave up, job not found, no permission).
    Unknown,
}

impl JobResult {
    pub fn as_str(self) -> &'static str {
        match self {
            JobResult::Ok => "ok",
            JobResult::Partial => "partial",
            JobResult::Failed => "failed",
            JobResult::Unknown => "unknown",
        }
    }
}

/// One desktop's part of a job.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recipient {
    pub desktop_id: String,
    pub user_name: Option<String>,
    pub desktop_name: Option<String>,
    /// The sub-job's status word, verbatim.
    pub status: String,
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
}

impl Recipient {
    pub fn succeeded(&self) -> bool {
        Word::of(&self.status) == Word::Succeeded
    }

    /// Its sub-job ended failed. A sub-job still running when the job ended (or when following
    /// gave up) is neither: its outcome is unknown, and it is not re-sent to (it may yet
    /// succeed).
    pub fn failed(&self) -> bool {
        Word::of(&self.status) == Word::Failed
    }
}

/// The verdict on a finished job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub result: JobResult,
    pub total: u64,
    pub ok: u64,
    pub failed: u64,
}

/// Counts the desktops of a job whose top-level status is final. Desktops decide; the
/// top-level word only decides when the job lists none.
pub(crate) fn tally(top: Word, recipients: &[Recipient]) -> Tally {
    let total = recipients.len() as u64;
    let ok = recipients.iter().filter(|r| r.succeeded()).count() as u64;
    let failed = recipients.iter().filter(|r| r.failed()).count() as u64;
    let undecided = total - ok - failed;
    let result = match (total, ok, failed, undecided) {
        (0, ..) if top == Word::Succeeded => JobResult::Ok,
        (0, ..) => JobResult::Failed,
        (t, o, ..) if o == t => JobResult::Ok,
        // Some desktops still running, none failed: nobody knows yet.
        (_, _, 0, _) => JobResult::Unknown,
        (_, 0, _, 0) => JobResult::Failed,
        _ => JobResult::Partial,
    };
    Tally {
        result,
        total,
        ok,
        failed,
    }
}

/// When to poll a running job again: `interval` for the first polls, then doubling (a job
/// that runs long is asked less often), at most 8 times `interval`.
pub(crate) fn next_poll(now: DateTime<Utc>, interval: Duration, polls_done: u32) -> DateTime<Utc> {
    let factor = 1u32 << polls_done.saturating_sub(3).min(3);
    plus(now, interval.saturating_mul(factor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desktop(id: &str, status: &str) -> Recipient {
        Recipient {
            desktop_id: id.to_owned(),
            status: status.to_owned(),
            ..Recipient::default()
        }
    }

    #[test]
    fn status_words_in_either_spelling_and_unknown_words_keep_running() {
        assert_eq!(Word::of("SUCCESS"), Word::Succeeded);
        assert_eq!(Word::of("COMPLETE"), Word::Succeeded);
        assert_eq!(Word::of("FAIL"), Word::Failed);
        assert_eq!(Word::of("failed"), Word::Failed);
        for word in ["WAITING", "RUNNING", "INIT", "PAUSED_FOR_LUNCH", ""] {
            assert_eq!(Word::of(word), Word::Running, "{word}");
        }
    }

    #[test]
    fn desktops_decide_not_the_top_level_status() {
        let all_ok = [desktop("a", "SUCCESS"), desktop("b", "COMPLETE")];
        assert_eq!(tally(Word::Succeeded, &all_ok).result, JobResult::Ok);
        let some = [desktop("a", "SUCCESS"), desktop("b", "FAILED")];
        let t = tally(Word::Succeeded, &some);
        assert_eq!(
            (t.result, t.total, t.ok, t.failed),
            (JobResult::Partial, 2, 1, 1)
        );
        // A sub-job still running under a final top-level status is unknown, not failed.
        let running = [desktop("a", "SUCCESS"), desktop("b", "RUNNING")];
        let t = tally(Word::Succeeded, &running);
        assert_eq!(
            (t.result, t.total, t.ok, t.failed),
            (JobResult::Unknown, 2, 1, 0)
        );
        assert!(!running[1].failed() && !running[1].succeeded());
        let mixed = [desktop("a", "FAILED"), desktop("b", "WAITING")];
        assert_eq!(tally(Word::Succeeded, &mixed).result, JobResult::Partial);
        let none = [desktop("a", "FAIL"), desktop("b", "FAILED")];
        assert_eq!(tally(Word::Succeeded, &none).result, JobResult::Failed);
        assert_eq!(tally(Word::Failed, &[]).result, JobResult::Failed);
        assert_eq!(tally(Word::Succeeded, &[]).result, JobResult::Ok);
    }

    #[test]
    fn polls_slow_down_for_long_jobs_up_to_eight_times_the_interval() {
        let now = Utc::now();
        let s = |polls| (next_poll(now, Duration::from_secs(15), polls) - now).num_seconds();
        assert_eq!(
            [s(0), s(2), s(3), s(4), s(5), s(6), s(20)],
            [15, 15, 15, 30, 60, 120, 120]
        );
    }
}
