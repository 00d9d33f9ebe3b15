//! The console's requests run on a runtime of their own: one worker thread at a lower CPU
//! priority (nice 10), so however much the API and the pages are asked, the scheduler's
//! threads come first, and a request never waits behind a delivery or the other way round.
//! At most [`MAX_ACTIVE`] requests are handled at once; one that cannot start within
//! [`QUEUE_WAIT`] is answered 503 with `Retry-After`, so a flood degrades the console, never
//! the notifications.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Requests handled at once (the rest wait their turn).
const MAX_ACTIVE: usize = 4;

/// How long a request may wait for its turn.
const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// The console's niceness: below the scheduler's (0).
const NICE: i32 = 10;

/// The console's runtime, started at its first request and kept for the process's life.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(2)
            .thread_name("console")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()
            .expect("the console's runtime starts")
    })
}

/// This thread at [`NICE`] (Linux: a thread's own niceness). Lowering one's priority is
/// always allowed; a failure (a seccomp filter) leaves it as it was, logged.
fn lower_priority() {
    // SAFETY: gettid and setpriority take plain integers and touch no memory of ours.
    let failed = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICE) != 0
    };
    if failed {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "the console's thread keeps the process's priority"
        );
    }
}

fn turns() -> &'static Semaphore {
    static TURNS: Semaphore = Semaphore::const_new(MAX_ACTIVE);
    &TURNS
}

/// Runs the rest of the request on the console's runtime, in its turn.
pub(super) async fn isolated(request: Request, next: Next) -> Response {
    let Ok(Ok(turn)) = tokio::time::timeout(QUEUE_WAIT, turns().acquire()).await else {
        let mut busy = (
            StatusCode::SERVICE_UNAVAILABLE,
            "the console is busy; try again shortly\n",
        )
            .into_response();
        busy.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return busy;
    };
    // The turn goes with the work: a client that hangs up does not free it before the
    // request's change is done.
    let answer = runtime()
        .spawn(async move {
            let _turn = turn;
            next.run(request).await
        })
        .await;
    answer.unwrap_or_else(|err| {
        tracing::error!(error = %err, "a console request failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error (logged)\n",
        )
            .into_response()
    })
}
