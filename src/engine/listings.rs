//! The scheduler's side of audiences: when to start listing each schedule's next occurrence
//! (`[targets] resolve_ahead` before it is due), which occurrences are held back while their
//! listing runs, and what a claim hears of an occurrence's audience. The listing itself is
//! `audiences.rs`'s; the rows written from it are `occurrence_rows.rs`'s.

use chrono::{DateTime, TimeDelta, Utc};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

use crate::domain::ScheduleId;
use crate::domain::audience::Desktop;
use crate::domain::schedule::ScheduleSpec;
use crate::engine::audiences::{Audiences, Ready};

/// While occurrences are held back for their audience, look at them at least this often.
const HELD_CHECK: Duration = Duration::from_secs(1);

/// What the claim heard of an occurrence's audience.
pub(super) enum Heard {
    /// Static targets only: nothing to list.
    Static,
    /// Listed (the answers) or not by the deadline (why): the rows can be written.
    Resolved(Result<Vec<Arc<Vec<Desktop>>>, String>),
    /// Not yet: hold the occurrence back.
    Hold,
}

/// A listing to start: at `at`, for the occurrence of `id` due at `due`.
type Planned = Reverse<(DateTime<Utc>, DateTime<Utc>, ScheduleId)>;

pub(super) struct Listings {
    audiences: Arc<Audiences>,
    ahead: BinaryHeap<Planned>,
    /// Occurrences held back while their audience is listed: id -> (first due, the clock
    /// reading they were planned with).
    held: HashMap<ScheduleId, (DateTime<Utc>, DateTime<Utc>)>,
    /// `retry.max_elapsed`: with the misfire grace, an occurrence's deadline.
    max_elapsed: Duration,
}

impl Listings {
    pub(super) fn new(audiences: Arc<Audiences>, max_elapsed: Duration) -> Self {
        Self {
            audiences,
            ahead: BinaryHeap::new(),
            held: HashMap::new(),
            max_elapsed,
        }
    }

    /// Told when a listing ends.
    pub(super) fn changed(&self) -> Arc<Notify> {
        self.audiences.changed()
    }

    pub(super) fn max_audience(&self) -> usize {
        self.audiences.settings().max_audience
    }

    /// Forgets every planned listing (a new schedule set follows) and the held occurrences
    /// `still_due` no longer confirms.
    pub(super) fn reset(&mut self, still_due: impl Fn(&ScheduleId, DateTime<Utc>) -> bool) {
        self.ahead.clear();
        self.held.retain(|id, (first, _)| still_due(id, *first));
    }

    /// Plans the listing of `spec`'s occurrence due at `next`, if its audience needs one.
    pub(super) fn plan(
        &mut self,
        id: &ScheduleId,
        spec: &ScheduleSpec,
        next: Option<DateTime<Utc>>,
    ) {
        if let Some(due) = next.filter(|_| spec.needs_listing()) {
            let ahead =
                TimeDelta::from_std(self.audiences.settings().resolve_ahead).unwrap_or_default();
            self.ahead.push(Reverse((due - ahead, due, id.clone())));
        }
    }

    /// Starts the listings due by `now` whose occurrence `current` still confirms (the spec,
    /// when its next occurrence is still that one).
    pub(super) fn start_due<'a>(
        &mut self,
        now: DateTime<Utc>,
        current: impl Fn(&ScheduleId, DateTime<Utc>) -> Option<&'a ScheduleSpec>,
    ) {
        while let Some(Reverse((at, due, id))) = self.ahead.peek() {
            if *at > now {
                break;
            }
            let (due, id) = (*due, id.clone());
            self.ahead.pop();
            if let Some(spec) = current(&id, due) {
                let deadline = spec.content.occurrence(due, self.max_elapsed).1;
                self.audiences
                    .request(&spec.workspace, &spec.desktop_queries(), due, deadline);
            }
        }
    }

    /// How long until the next listing starts or held occurrences are looked at again.
    pub(super) fn wait(&self, now: DateTime<Utc>) -> Option<Duration> {
        let ahead = self
            .ahead
            .peek()
            .map(|Reverse((at, _, _))| (*at - now).to_std().unwrap_or(Duration::ZERO));
        let held = (!self.held.is_empty()).then_some(HELD_CHECK);
        ahead.into_iter().chain(held).min()
    }

    pub(super) fn held(&self) -> impl Iterator<Item = &ScheduleId> {
        self.held.keys()
    }

    pub(super) fn is_held(&self, id: &ScheduleId) -> bool {
        self.held.contains_key(id)
    }

    /// The clock reading a held occurrence of `id` was first planned with.
    pub(super) fn planned_at(&self, id: &ScheduleId) -> Option<DateTime<Utc>> {
        self.held.get(id).map(|(_, then)| *then)
    }

    pub(super) fn hold(
        &mut self,
        id: &ScheduleId,
        first: DateTime<Utc>,
        planned_at: DateTime<Utc>,
    ) {
        self.held.insert(id.clone(), (first, planned_at));
    }

    pub(super) fn release(&mut self, id: &ScheduleId) {
        self.held.remove(id);
    }

    /// Where the audience of `spec`'s occurrences `fires` stands: the newest one sent
    /// (`sent` says which are) decides, the older ones of a catch-up go to the same desktops.
    /// A listing not yet done is (re)started here.
    pub(super) fn hear(
        &self,
        spec: &ScheduleSpec,
        fires: &[DateTime<Utc>],
        sent: &dyn Fn(DateTime<Utc>) -> bool,
    ) -> Heard {
        if !spec.needs_listing() {
            return Heard::Static;
        }
        let Some(last) = fires.iter().rev().find(|t| sent(**t)) else {
            return Heard::Static;
        };
        let deadline = spec.content.occurrence(*last, self.max_elapsed).1;
        let queries = spec.desktop_queries();
        match self
            .audiences
            .ready(&spec.workspace, &queries, *last, deadline)
        {
            Ready::Listed(listed) => Heard::Resolved(Ok(listed)),
            Ready::Failed(why) => Heard::Resolved(Err(why)),
            Ready::Waiting => {
                self.audiences
                    .request(&spec.workspace, &queries, *last, deadline);
                Heard::Hold
            }
        }
    }
}
