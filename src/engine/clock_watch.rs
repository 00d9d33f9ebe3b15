//! Wall-clock steps: NTP correcting a wrong clock, an operator's `date -s`, a suspended machine.
//! The scheduler's timer heap holds wall-clock instants and re-plans from the clock on every
//! wake, so a step needs no repair, only to be noticed and said.

use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;
use tokio::time::Instant;

use crate::domain::ScheduleId;
use crate::platform::clock::Clock;
use crate::store::format_time;

/// The loop wakes at least this often to compare the wall clock with the monotonic one.
pub(super) const CLOCK_CHECK: Duration = Duration::from_secs(1);

/// A difference between wall-clock and monotonic time passed larger than this is a clock
/// step (NTP correcting a wrong clock, an operator's `date -s`, a suspended machine).
const CLOCK_STEP: TimeDelta = TimeDelta::seconds(2);

/// Notices wall-clock steps: between two looks, the wall clock should advance as much as the
/// monotonic clock does.
pub(super) struct ClockWatch {
    wall: DateTime<Utc>,
    mono: Instant,
}

impl ClockWatch {
    pub(super) fn new(clock: &Clock) -> Self {
        Self {
            wall: clock.now(),
            mono: Instant::now(),
        }
    }

    /// The step since the last look (positive: forward), if larger than [`CLOCK_STEP`].
    pub(super) fn step(&mut self, clock: &Clock) -> Option<TimeDelta> {
        let (wall, mono) = (clock.now(), Instant::now());
        let mono_passed = crate::domain::time_math::delta(mono - self.mono);
        let step = (wall - self.wall) - mono_passed;
        (self.wall, self.mono) = (wall, mono);
        (step.abs() > CLOCK_STEP).then_some(step)
    }
}

/// Says what a wall-clock step does. The timer heap holds wall-clock instants and every
/// wake re-plans from the clock as it reads now, so nothing else is needed: after a
/// forward step the occurrences stepped over go through the misfire rules at once; after
/// a backward step the occurrences already handled are not repeated (their rows exist),
/// and the next one fires when the clock reaches it again.
pub(super) fn report_clock_step(step: TimeDelta, next: Option<(ScheduleId, DateTime<Utc>)>) {
    let seconds = (step.abs().num_milliseconds() + 500) / 1000;
    let size = humantime::format_duration(Duration::from_secs(seconds.unsigned_abs()));
    let next = match next {
        Some((id, t)) => format!("next: {id} at {}", format_time(t)),
        None => "nothing to fire".to_owned(),
    };
    if step > TimeDelta::zero() {
        tracing::warn!(
            step_seconds = step.num_seconds(),
            "wall clock stepped forward by {size} (or the machine was suspended); occurrences stepped over are handled now by the misfire rules; {next}"
        );
    } else {
        tracing::warn!(
            step_seconds = step.num_seconds(),
            "wall clock stepped back by {size}; occurrences already handled are not sent again, so the schedules wait for the clock to reach their next occurrence; {next}"
        );
    }
}
