//! A fake Workspace API on 127.0.0.1: raw HTTP/1.1 over TCP so it sees exactly the bytes that
//! were sent. It rebuilds the canonical request from what it received and checks the
//! AK/SK signature, and answers from a script (409, 500, 429 + Retry-After, delays, dropped
//! connections, malformed 200s).

use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use workspace_notifier::workspace::signer;

#[path = "fake_tasks.rs"]
mod tasks;
#[allow(unused_imports)]
pub(crate) use tasks::FakeTask;

pub(crate) const AK: &str = "HPUAEXAMPLEAK0123456";
pub(crate) const SK: &str = "ExampleSecretKey0123456789abcdefghijklmn";
pub(crate) const PROJECT: &str = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";

/// Whose workspace a fake is: the AK it accepts, the SK it checks signatures with, and the
/// project id every path and `X-Project-Id` must carry.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub ak: String,
    pub sk: String,
    pub project: String,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            ak: AK.to_owned(),
            sk: SK.to_owned(),
            project: PROJECT.to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// 200 with a fresh job id.
    Accept,
    /// Any status with a JSON error body `{error_code, error_msg}` and extra headers.
    Error {
        status: u16,
        code: &'static str,
        msg: &'static str,
        headers: Vec<(&'static str, String)>,
    },
    /// 200 with this exact body.
    Raw200(&'static str),
    /// This status with this exact body.
    RawError(u16, String),
    /// 200 with this body.
    RawOk(String),
    /// Wait, then answer.
    Delay(Duration, Box<Reply>),
    /// Close the connection without answering.
    Drop,
}

impl Reply {
    pub(crate) fn error(status: u16, code: &'static str) -> Reply {
        Reply::Error {
            status,
            code,
            msg: "scripted failure",
            headers: vec![],
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub at: DateTime<Utc>,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// None if the signature (or token) checked out; the problem otherwise.
    pub auth_problem: Option<String>,
    pub job_id: Option<String>,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn notification_text(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body).expect("body is JSON");
        v["notifications"]
            .as_str()
            .expect("notifications is a string")
            .to_owned()
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    /// What to answer once the script is used up (default: accept).
    fallback: Option<Reply>,
    received: Vec<Received>,
    /// Requests taken in `check_later` mode: (received at, head, body, job number).
    unchecked: Vec<(DateTime<Utc>, String, Vec<u8>, u64)>,
    accepted_tokens: Vec<String>,
    next_job: u64,
    /// What jobs accepted from now on do (ShowJob / ListItaSubJobs).
    job_plan: JobPlan,
    jobs: std::collections::HashMap<String, FakeJob>,
    /// Replies to job reads, used before the modelled answer (429, 500, 403, ...).
    job_script: VecDeque<Reply>,
    job_requests: Vec<Received>,
    /// Requests being answered now, and the most at once.
    concurrent: usize,
    max_concurrent: usize,
    /// Like the API gateway: sends beyond this many in one wall-clock second get 429.
    throttle_above: Option<usize>,
    per_second: (i64, usize),
    throttled: usize,
    /// The desktops ListDesktops lists, and the ListDesktops requests received.
    estate: Vec<FakeDesktop>,
    desktop_requests: Vec<Received>,
    /// Replies to ListDesktops used before the estate's answer (500, 429, ...).
    desktop_script: VecDeque<Reply>,
    /// Workspace's scheduled tasks (`fake_tasks.rs`).
    tasks: tasks::TaskState,
}

/// One desktop of the fake's estate.
#[derive(Debug, Clone, Default)]
pub(crate) struct FakeDesktop {
    pub id: String,
    pub users: Vec<String>,
    pub pool: Option<String>,
    pub connect_status: &'static str,
    pub enterprise_project: Option<String>,
    pub tags: Vec<(String, String)>,
    /// Workspace's maintenance mode (SetMaintenanceMode changes it).
    pub in_maintenance_mode: bool,
}

/// How the fake's notification jobs behave: a pool of `desktops`, the last `failed` of which
/// do not get the message; RUNNING for `running_polls` ShowJobs, then `top_status`; ShowJob
/// lists at most `show_limit` sub-jobs (page the rest with ListItaSubJobs).
#[derive(Debug, Clone)]
pub(crate) struct JobPlan {
    pub desktops: usize,
    pub failed: usize,
    pub running_polls: u32,
    pub top_status: &'static str,
    pub ok_word: &'static str,
    pub fail_word: &'static str,
    pub show_limit: usize,
    /// When set, a job ends at a time spread evenly over this span after it was accepted
    /// (instead of after `running_polls` polls).
    pub finish_within: Option<Duration>,
    /// How long a job read takes to answer.
    pub read_delay: Duration,
}

impl Default for JobPlan {
    fn default() -> Self {
        JobPlan {
            desktops: 2,
            failed: 0,
            running_polls: 0,
            top_status: "SUCCESS",
            ok_word: "SUCCESS",
            fail_word: "FAILED",
            show_limit: usize::MAX,
            finish_within: None,
            read_delay: Duration::ZERO,
        }
    }
}

#[derive(Debug, Clone)]
struct FakeJob {
    plan: JobPlan,
    polls: u32,
    /// With `finish_within`: when the job ends.
    ends_at: Option<DateTime<Utc>>,
    /// For a SendNotifications job: the desktops it was sent to.
    desktop_ids: Option<Vec<String>>,
    /// For a pool job: the pool, and when the job was created.
    pool: Option<String>,
    created_at: DateTime<Utc>,
}

impl FakeJob {
    fn total(&self) -> usize {
        self.desktop_ids
            .as_ref()
            .map_or(self.plan.desktops, Vec::len)
    }

    fn sub_job(&self, job_id: &str, i: usize) -> serde_json::Value {
        let total = self.total();
        let ok = i < total - self.plan.failed.min(total);
        let mut v = serde_json::json!({
            "id": format!("{job_id}-sub-{i:04}"),
            "status": if ok { self.plan.ok_word } else { self.plan.fail_word },
            "entities": {
                "desktop_id": self.desktop_ids.as_ref().map_or_else(|| format!("desk-{i:04}"), |ids| ids[i].clone()),
                "user_name": format!("user{i}"),
                "desktop_name": format!("pc-{i:04}"),
            },
        });
        if !ok {
            v["error_code"] = "WKS.0102".into();
            v["fail_reason"] = "the desktop agent is not connected".into();
        }
        v
    }
}

#[derive(Clone)]
pub(crate) struct FakeWorkspace {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    identity: Arc<Identity>,
    /// Answer with the fallback (an accept) at once and check signatures when `received()`
    /// is read: the benchmarks measure the client, not this fake's parsing and HMAC.
    check_later: bool,
}

impl FakeWorkspace {
    /// For benchmarks: serves on a runtime of its own (one thread), like a separate server
    /// process, so its scheduling does not mix with the client's; answers every request with
    /// a job id at once and checks the signatures afterwards, in `received()`.
    #[allow(dead_code)]
    pub(crate) fn start_for_bench() -> FakeWorkspace {
        FakeWorkspace::start_on_own_thread(true)
    }

    /// Like [`Self::start_for_bench`], but checking and modelling every request as in the
    /// tests (job reads included).
    #[allow(dead_code)]
    pub(crate) fn start_modelled_on_own_thread() -> FakeWorkspace {
        FakeWorkspace::start_on_own_thread(false)
    }

    fn start_on_own_thread(check_later: bool) -> FakeWorkspace {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                tx.send(FakeWorkspace::listen(check_later).await).unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv().unwrap()
    }

    pub(crate) async fn start() -> FakeWorkspace {
        FakeWorkspace::listen(false).await
    }

    /// A fake of another account's (or project's) workspace.
    #[allow(dead_code)]
    pub(crate) async fn start_as(identity: Identity) -> FakeWorkspace {
        FakeWorkspace::listen_as(false, identity).await
    }

    async fn listen(check_later: bool) -> FakeWorkspace {
        FakeWorkspace::listen_as(check_later, Identity::default()).await
    }

    async fn listen_as(check_later: bool, identity: Identity) -> FakeWorkspace {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeWorkspace {
            addr: listener.local_addr().unwrap(),
            state: Arc::default(),
            identity: Arc::new(identity),
            check_later,
        };
        let served = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let fake = served.clone();
                tokio::spawn(async move { fake.serve(stream).await });
            }
        });
        fake
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replies used in order; once empty, every request is accepted.
    pub(crate) fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    /// The answer once the script is used up.
    #[allow(dead_code)]
    pub(crate) fn answer_otherwise(&self, reply: Reply) {
        self.state.lock().unwrap().fallback = Some(reply);
    }

    /// IAM tokens this fake accepts in `X-Auth-Token` (others get 401).
    pub(crate) fn accept_tokens(&self, tokens: &[&str]) {
        self.state.lock().unwrap().accepted_tokens = tokens.iter().map(|t| t.to_string()).collect();
    }

    /// How jobs accepted from now on behave.
    #[allow(dead_code)]
    pub(crate) fn plan_jobs(&self, plan: JobPlan) {
        self.state.lock().unwrap().job_plan = plan;
    }

    /// Replies to the next job reads, before the modelled answers.
    #[allow(dead_code)]
    pub(crate) fn script_job_reads(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().job_script.extend(replies);
    }

    /// When each job ended (`finish_within` plans), by job id.
    #[allow(dead_code)]
    pub(crate) fn job_end_times(&self) -> std::collections::HashMap<String, DateTime<Utc>> {
        let state = self.state.lock().unwrap();
        state
            .jobs
            .iter()
            .filter_map(|(id, job)| job.ends_at.map(|t| (id.clone(), t)))
            .collect()
    }

    /// Sends beyond `per_second` in one wall-clock second are answered 429 `APIG.0308`.
    #[allow(dead_code)]
    pub(crate) fn throttle_above(&self, per_second: usize) {
        self.state.lock().unwrap().throttle_above = Some(per_second);
    }

    /// How many sends were answered 429 by [`Self::throttle_above`].
    #[allow(dead_code)]
    pub(crate) fn throttled(&self) -> usize {
        self.state.lock().unwrap().throttled
    }

    /// The most requests this fake was answering at the same time.
    #[allow(dead_code)]
    pub(crate) fn max_concurrent(&self) -> usize {
        self.state.lock().unwrap().max_concurrent
    }

    /// ShowJob and ListItaSubJobs requests received (signatures checked like sends).
    #[allow(dead_code)]
    pub(crate) fn job_requests(&self) -> Vec<Received> {
        self.state.lock().unwrap().job_requests.clone()
    }

    /// Notification sends received (job reads are in [`Self::job_requests`]).
    pub(crate) fn received(&self) -> Vec<Received> {
        let state = self.state.lock().unwrap();
        let later = state
            .unchecked
            .iter()
            .map(|(at, head, body, job)| Received {
                job_id: Some(format!("job-{job:04}")),
                ..inspect(
                    head.clone(),
                    body.clone(),
                    *at,
                    &state.accepted_tokens,
                    &self.identity,
                )
            });
        state.received.iter().cloned().chain(later).collect()
    }

    /// Serves requests on one connection until the client closes it (HTTP/1.1 keep-alive).
    async fn serve(&self, mut stream: TcpStream) {
        let mut buffered = Vec::new();
        while let Some((head, body)) = read_request(&mut stream, &mut buffered).await {
            // Received now: the fake's own checks below are not the client's lateness.
            let at = Utc::now();
            {
                let mut state = self.state.lock().unwrap();
                state.concurrent += 1;
                state.max_concurrent = state.max_concurrent.max(state.concurrent);
            }
            let kept = self.answer_one(&mut stream, head, body, at).await;
            self.state.lock().unwrap().concurrent -= 1;
            if !kept {
                return;
            }
        }
    }

    /// Answers one request; false if the connection was dropped on purpose.
    async fn answer_one(
        &self,
        stream: &mut TcpStream,
        head: String,
        body: Vec<u8>,
        at: DateTime<Utc>,
    ) -> bool {
        if self.check_later {
            let (reply, index) = {
                let mut state = self.state.lock().unwrap();
                state.next_job += 1;
                let index = state.next_job;
                state.unchecked.push((at, head, body, index));
                (state.fallback.clone().unwrap_or(Reply::Accept), index)
            };
            return answer(stream, reply, index).await;
        }
        let tokens = self.state.lock().unwrap().accepted_tokens.clone();
        let is_read = head.starts_with("GET ");
        let mut received = inspect(head, body, at, &tokens, &self.identity);
        if is_read && let Some(reply) = self.answer_task_read(&received) {
            return answer(stream, reply, 0).await;
        }
        if let Some(reply) = self.answer_maintenance_mode(&received) {
            return answer(stream, reply, 0).await;
        }
        if is_read && received.path == format!("/v2/{}/desktops", self.identity.project) {
            let reply = self.answer_list_desktops(&received);
            self.state.lock().unwrap().desktop_requests.push(received);
            return answer(stream, reply, 0).await;
        }
        if is_read {
            let delay = self.state.lock().unwrap().job_plan.read_delay;
            let reply = Reply::Delay(delay, Box::new(self.answer_job_read(&received)));
            self.state.lock().unwrap().job_requests.push(received);
            return answer(stream, reply, 0).await;
        }
        let problem = received.auth_problem.clone();
        let reply = {
            let mut state = self.state.lock().unwrap();
            let second = at.timestamp();
            if state.per_second.0 != second {
                state.per_second = (second, 0);
            }
            state.per_second.1 += 1;
            let over = state.throttle_above.is_some_and(|n| state.per_second.1 > n);
            if over {
                state.throttled += 1;
                Reply::RawError(
                    429,
                    r#"{"error_code":"APIG.0308","error_msg":"The throttling threshold has been reached: policy user over ratelimit, limit:100, time:1 second"}"#.to_owned(),
                )
            } else {
                let fallback = state.fallback.clone().unwrap_or(Reply::Accept);
                state.script.pop_front().unwrap_or(fallback)
            }
        };

        let reply = match (&problem, reply) {
            (None, reply) => reply,
            // An auth failure still honours a scripted delay, so a test can act in between.
            (Some(_), reply) => {
                let unauthorized = Reply::Error {
                    status: 401,
                    code: "APIGW.0301",
                    msg: "Incorrect IAM authentication information: verify aksk signature fail",
                    headers: vec![],
                };
                match reply {
                    Reply::Delay(wait, _) => Reply::Delay(wait, Box::new(unauthorized)),
                    _ => unauthorized,
                }
            }
        };
        let index = {
            let mut state = self.state.lock().unwrap();
            state.next_job += 1;
            if matches!(reply, Reply::Accept)
                || matches!(&reply, Reply::Delay(_, inner) if matches!(**inner, Reply::Accept))
            {
                let job_id = format!("job-{:04}", state.next_job);
                let plan = state.job_plan.clone();
                // Spread evenly by job number: deterministic, no random source needed.
                let ends_at = plan.finish_within.map(|span| {
                    let fraction = (state.next_job * 7919 % 1000) as f64 / 1000.0;
                    at + chrono::TimeDelta::from_std(span.mul_f64(fraction)).unwrap()
                });
                let desktop_ids = serde_json::from_slice::<serde_json::Value>(&received.body)
                    .ok()
                    .and_then(|v| v["desktop_ids"].as_array().cloned())
                    .map(|ids| {
                        ids.iter()
                            .filter_map(|id| id.as_str().map(str::to_owned))
                            .collect()
                    });
                let pool = received
                    .path
                    .strip_prefix(&format!("/v2/{}/desktop-pools/", self.identity.project))
                    .and_then(|rest| rest.strip_suffix("/notifications"))
                    .map(str::to_owned);
                let job = FakeJob {
                    plan,
                    polls: 0,
                    ends_at,
                    desktop_ids,
                    pool,
                    created_at: at,
                };
                state.jobs.insert(job_id.clone(), job);
                received.job_id = Some(job_id);
            }
            state.received.push(received.clone());
            state.next_job
        };
        answer(stream, reply, index).await
    }
}

impl FakeWorkspace {
    /// Sets the desktops ListDesktops lists.
    #[allow(dead_code)]
    pub(crate) fn set_estate(&self, desktops: Vec<FakeDesktop>) {
        self.state.lock().unwrap().estate = desktops;
    }

    /// Replies to the next ListDesktops requests, before the estate answers again.
    #[allow(dead_code)]
    pub(crate) fn script_desktop_lists(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().desktop_script.extend(replies);
    }

    /// ListDesktops requests received (signatures checked like sends).
    #[allow(dead_code)]
    pub(crate) fn desktop_requests(&self) -> Vec<Received> {
        self.state.lock().unwrap().desktop_requests.clone()
    }

    /// ListDesktops over the estate with the documented filters, combined with AND:
    /// `pool_id` (comma-separated), `tag` (`k=v,k=v`; Huawei's own example writes a
    /// full-width comma, accepted too), `enterprise_project_id`, `user_name` (a fuzzy,
    /// substring match, comma-separated), `desktop_id` (at most 100), `offset`, `limit`
    /// (0-1000, default 1000).
    fn answer_list_desktops(&self, received: &Received) -> Reply {
        if received.auth_problem.is_some() {
            return Reply::error(401, "APIGW.0301");
        }
        let mut state = self.state.lock().unwrap();
        if let Some(reply) = state.desktop_script.pop_front() {
            return reply;
        }
        let params: Vec<(String, String)> = received
            .query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), percent_decode(v)))
            .collect();
        let get = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let list = |key: &str| -> Vec<String> {
            get(key)
                .map(|v| {
                    v.replace('\u{ff0c}', ",")
                        .split(',')
                        .map(str::to_owned)
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        let limit: usize = get("limit").and_then(|l| l.parse().ok()).unwrap_or(1000);
        let offset: usize = get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
        let ids = list("desktop_id");
        if limit > 1000 || ids.len() > 100 {
            return Reply::error(400, "WKS.0400");
        }
        let (pools, tags, users) = (list("pool_id"), list("tag"), list("user_name"));
        let project = get("enterprise_project_id");
        let matching: Vec<&FakeDesktop> = state
            .estate
            .iter()
            .filter(|d| pools.is_empty() || d.pool.as_ref().is_some_and(|p| pools.contains(p)))
            .filter(|d| ids.is_empty() || ids.contains(&d.id))
            .filter(|d| project.is_none() || d.enterprise_project == project)
            .filter(|d| {
                tags.iter()
                    .all(|t| d.tags.iter().any(|(k, v)| format!("{k}={v}") == *t))
            })
            .filter(|d| {
                users.is_empty()
                    || d.users
                        .iter()
                        .any(|u| users.iter().any(|w| u.contains(w.as_str())))
            })
            .collect();
        let page: Vec<serde_json::Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|d| {
                serde_json::json!({
                    "desktop_id": d.id,
                    "computer_name": format!("pc-{}", d.id),
                    "user_name": d.users.first(),
                    "attach_user_infos": d.users.iter().map(|u| serde_json::json!({"user_name": u, "type": "USER"})).collect::<Vec<_>>(),
                    "pool_id": d.pool.clone().unwrap_or_default(),
                    "connect_status": d.connect_status,
                    "in_maintenance_mode": d.in_maintenance_mode,
                    "enterprise_project_id": d.enterprise_project.clone().unwrap_or_else(|| "0".to_owned()),
                    "tags": d.tags.iter().map(|(k, v)| serde_json::json!({"key": k, "value": v})).collect::<Vec<_>>(),
                })
            })
            .collect();
        Reply::RawOk(
            serde_json::json!({"total_count": matching.len(), "desktops": page}).to_string(),
        )
    }

    /// ShowJob or ListItaSubJobs, from the job model (or the job-read script first).
    fn answer_job_read(&self, received: &Received) -> Reply {
        if received.auth_problem.is_some() {
            return Reply::error(401, "APIGW.0301");
        }
        let mut state = self.state.lock().unwrap();
        if let Some(reply) = state.job_script.pop_front() {
            return reply;
        }
        let not_found = || {
            Reply::RawError(
                404,
                r#"{"error_code":"WKS.0404","error_msg":"job not found"}"#.to_owned(),
            )
        };
        if let Some(job_id) = received
            .path
            .strip_prefix(&format!("/v2/{}/workspace-jobs/", self.identity.project))
        {
            let Some(job) = state.jobs.get_mut(job_id) else {
                return not_found();
            };
            job.polls += 1;
            let job = job.clone();
            let total = job.total();
            let running = match job.ends_at {
                Some(ends_at) => Utc::now() < ends_at,
                None => job.polls <= job.plan.running_polls,
            };
            if running {
                let body = serde_json::json!({"id": job_id, "status": "RUNNING", "sub_jobs_total": total, "sub_jobs": []});
                return Reply::RawOk(body.to_string());
            }
            let listed: Vec<serde_json::Value> = (0..total.min(job.plan.show_limit))
                .map(|i| job.sub_job(job_id, i))
                .collect();
            let body = serde_json::json!({"id": job_id, "status": job.plan.top_status, "sub_jobs_total": total, "sub_jobs": listed});
            return Reply::RawOk(body.to_string());
        }
        let query = received.query.clone().unwrap_or_default();
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_owned())
        };
        if let Some(pool) = param("desktop_pool_id") {
            // Newest first: one sub-job per job of that pool, with its job id and start.
            let mut jobs: Vec<(&String, &FakeJob)> = state
                .jobs
                .iter()
                .filter(|(_, job)| job.pool.as_deref() == Some(pool.as_str()))
                .collect();
            jobs.sort_by_key(|(_, job)| std::cmp::Reverse(job.created_at));
            let list: Vec<serde_json::Value> = jobs
                .iter()
                .map(|(id, job)| {
                    serde_json::json!({"id": format!("{id}-sub-0000"), "job_id": id, "status": "RUNNING",
                        "begin_time": job.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)})
                })
                .collect();
            return Reply::RawOk(
                serde_json::json!({"total_count": list.len(), "jobs": list}).to_string(),
            );
        }
        let Some(job) = param("job_id").and_then(|id| state.jobs.get(&id).cloned()) else {
            return not_found();
        };
        let job_id = param("job_id").unwrap_or_default();
        let limit: usize = param("limit").and_then(|v| v.parse().ok()).unwrap_or(1000);
        let offset: usize = param("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
        let total = job.total();
        let jobs: Vec<serde_json::Value> = (offset..total.min(offset + limit))
            .map(|i| job.sub_job(&job_id, i))
            .collect();
        Reply::RawOk(serde_json::json!({"total_count": total, "jobs": jobs}).to_string())
    }
}

/// Parses a request and checks its signature (or token) and path.
fn inspect(
    head: String,
    body: Vec<u8>,
    at: DateTime<Utc>,
    tokens: &[String],
    identity: &Identity,
) -> Received {
    let project = identity.project.as_str();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
        .collect();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.clone(), None),
    };
    let mut problem = check_auth(
        (&method, &path, query.as_deref()),
        &headers,
        &body,
        tokens,
        identity,
    )
    .err();
    let expected = match method.as_str() {
        "POST" => {
            path.starts_with(&format!("/v2/{project}/desktop-pools/"))
                || path == format!("/v2/{project}/desktops/notifications")
        }
        "PUT" => path == format!("/v2/{project}/desktops/maintenance-mode"),
        "GET" => {
            path.starts_with(&format!("/v2/{project}/workspace-jobs/"))
                || path == format!("/v2/{project}/workspace-sub-jobs")
                || path == format!("/v2/{project}/desktops")
                || path == format!("/v2/{project}/scheduled-tasks")
                || path.starts_with(&format!("/v2/{project}/scheduled-tasks/"))
        }
        _ => false,
    };
    if problem.is_none() && !expected {
        problem = Some(format!("unexpected {method} {path}"));
    }
    Received {
        at,
        path,
        query,
        headers,
        body,
        auth_problem: problem,
        job_id: None,
    }
}

async fn answer(stream: &mut TcpStream, reply: Reply, index: u64) -> bool {
    let mut reply = reply;
    while let Reply::Delay(wait, inner) = reply {
        tokio::time::sleep(wait).await;
        reply = *inner;
    }
    let request_id = format!("req-{index:04}");
    let (status, body, extra) = match reply {
        Reply::Accept => (200, format!(r#"{{"job_id":"job-{index:04}"}}"#), vec![]),
        Reply::Raw200(body) => (200, body.to_owned(), vec![]),
        Reply::RawError(status, body) => (status, body, vec![]),
        Reply::RawOk(body) => (200, body, vec![]),
        Reply::Error {
            status,
            code,
            msg,
            headers,
        } => (
            status,
            serde_json::json!({"error_code": code, "error_msg": msg, "request_id": request_id})
                .to_string(),
            headers,
        ),
        Reply::Drop => return false,
        Reply::Delay(..) => unreachable!(),
    };
    let mut text = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Request-Id: {request_id}\r\n",
        body.len()
    );
    for (name, value) in extra {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(&body);
    stream.write_all(text.as_bytes()).await.is_ok()
}

/// Reads one request; bytes past it stay in `buf` for the next one on the connection.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, Vec<u8>)> {
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    buf.drain(..head_end + 4);
    while buf.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf.drain(..length).collect();
    Some((head, body))
}

/// Checks `X-Auth-Token` against the accepted list, or rebuilds the canonical request from the
/// received parts and checks the `SDK-HMAC-SHA256` signature with the known SK.
fn check_auth(
    (method, path, query): (&str, &str, Option<&str>),
    headers: &[(String, String)],
    body: &[u8],
    tokens: &[String],
    identity: &Identity,
) -> Result<(), String> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    if get("x-project-id").as_deref() != Some(identity.project.as_str()) {
        return Err("missing or wrong X-Project-Id".into());
    }
    if let Some(token) = get("x-auth-token") {
        return if tokens.contains(&token) {
            Ok(())
        } else {
            Err("IAM token not accepted".into())
        };
    }
    let auth = get("authorization").ok_or("no Authorization header")?;
    let rest = auth
        .strip_prefix("SDK-HMAC-SHA256 ")
        .ok_or("wrong algorithm")?;
    let field = |name: &str| {
        rest.split(", ")
            .find_map(|kv| kv.strip_prefix(name).map(str::to_owned))
            .ok_or(format!("no {name} in Authorization"))
    };
    let (access, signed, sig) = (
        field("Access=")?,
        field("SignedHeaders=")?,
        field("Signature=")?,
    );
    if access != identity.ak {
        return Err(format!("unknown access key {access}"));
    }
    for required in ["host", "x-sdk-date", "content-type", "x-project-id"] {
        if !signed.split(';').any(|h| h == required) {
            return Err(format!("{required} is not signed"));
        }
    }
    let date = get("x-sdk-date").ok_or("no X-Sdk-Date")?;
    let signed_pairs: Vec<(String, String)> = signed
        .split(';')
        .map(|name| {
            get(name)
                .map(|v| (name.to_owned(), v))
                .ok_or(format!("signed header {name} was not sent"))
        })
        .collect::<Result<_, _>>()?;
    let borrowed: Vec<(&str, &str)> = signed_pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let parts = signer::RequestParts {
        method,
        path,
        query,
        headers: &borrowed,
        body,
    };
    let canonical = signer::canonical_request(&parts);
    let expected = signer::signature(
        identity.sk.as_bytes(),
        &signer::string_to_sign(&date, &canonical.request),
    );
    if expected != sig {
        return Err(format!(
            "signature mismatch; canonical request was:\n{}",
            canonical.request
        ));
    }
    if get("x-security-token").is_some() && !signed.contains("x-security-token") {
        return Err("X-Security-Token sent but not signed".into());
    }
    Ok(())
}

/// `%XX` sequences decoded (query values as the client encodes them).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if bytes[i] == b'%'
            && let Some(b) = hex
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
