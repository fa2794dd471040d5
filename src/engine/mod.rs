//! Exact alarm state machines. Both engines take per-evaluation inputs on plain slices and return a
//! [`Timeline`]: the state transitions and the alarm/firing episodes they imply.
//!
//! Conventions (so results from both engines compare): times are UTC epoch ms; an episode is the
//! half-open interval `[start, end)` where `end` is the first evaluation that no longer alarms or
//! fires, or `None` when the alarm is still on at the last evaluation.

pub mod cloudwatch;
pub mod mofn;
pub mod prometheus;

use serde::Serialize;

/// What a replay keeps of an engine's run.
///
/// Every figure `backtest` and `tune` report (alerts per week, time in alarm, incidents caught,
/// delays) comes from the episodes; the transitions (one per state change) are what reports,
/// notifications and charts need. Tune replays hundreds of settings per series and reads only the
/// figures, so it asks for [`Detail::Episodes`] and skips writing the transitions — the bulk of an
/// engine's output — with the same state machine deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// Transitions and episodes.
    #[default]
    Full,
    /// Episodes only; the timeline's `transitions` stay empty.
    Episodes,
}

/// One stay in ALARM (CloudWatch) or firing (Prometheus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Episode {
    pub start: i64,
    pub end: Option<i64>,
}

impl Episode {
    /// Duration in ms, counting an open episode up to `horizon`.
    pub fn duration_ms(&self, horizon: i64) -> i64 {
        self.end.unwrap_or(horizon) - self.start
    }
}

/// A change of state at one evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub at: i64,
    /// State name exactly as the system spells it (`ALARM`, `OK`, `INSUFFICIENT_DATA`; `pending`,
    /// `firing`, `inactive`).
    pub to: &'static str,
}

/// What an engine produced for one series.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timeline {
    pub transitions: Vec<Transition>,
    pub episodes: Vec<Episode>,
    /// First and last evaluation times (the covered span), `None` when nothing was evaluated.
    pub first_eval: Option<i64>,
    pub last_eval: Option<i64>,
    /// Evaluation spacing in ms (period or rule-group interval).
    pub step_ms: i64,
}

impl Timeline {
    /// Covered time: from the first evaluation to one step past the last.
    pub fn covered_ms(&self) -> i64 {
        match (self.first_eval, self.last_eval) {
            (Some(a), Some(b)) => b - a + self.step_ms,
            _ => 0,
        }
    }

    /// Whether the alarm is on (ALARM / firing) at each of `times` (sorted), from the episodes.
    pub fn on_at(&self, times: &[i64]) -> Vec<bool> {
        times
            .iter()
            .map(|&t| {
                self.episodes
                    .iter()
                    .any(|e| e.start <= t && e.end.is_none_or(|end| t < end))
            })
            .collect()
    }

    /// The end of covered time, used to close open episodes for durations.
    pub fn horizon(&self) -> i64 {
        self.last_eval.map_or(0, |t| t + self.step_ms)
    }
}

/// Collects episodes from a stream of "on"/"off" observations at evaluation times.
#[derive(Default)]
pub(crate) struct EpisodeBuilder {
    episodes: Vec<Episode>,
    open: Option<i64>,
}

impl EpisodeBuilder {
    /// A change of state at each of `times` (in order): every second one closes an episode.
    /// Pairs of changes become episodes without a test per change, which matters when a tuning
    /// run's low thresholds change state millions of times.
    pub fn toggle_at(&mut self, mut times: impl ExactSizeIterator<Item = i64>) {
        if let Some(start) = self.open {
            let Some(end) = times.next() else { return };
            self.episodes.push(Episode {
                start,
                end: Some(end),
            });
            self.open = None;
        }
        self.episodes.reserve(times.len() / 2);
        while let Some(start) = times.next() {
            match times.next() {
                Some(end) => self.episodes.push(Episode {
                    start,
                    end: Some(end),
                }),
                None => self.open = Some(start),
            }
        }
    }

    pub fn observe(&mut self, at: i64, on: bool) {
        match (self.open, on) {
            (None, true) => self.open = Some(at),
            (Some(start), false) => {
                self.episodes.push(Episode {
                    start,
                    end: Some(at),
                });
                self.open = None;
            }
            _ => {}
        }
    }

    pub fn finish(mut self) -> Vec<Episode> {
        if let Some(start) = self.open {
            self.episodes.push(Episode { start, end: None });
        }
        self.episodes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Toggling at a list of times builds what observing the alternating states one by one does,
    /// from either state and with an odd or even number of changes.
    #[test]
    fn toggling_equals_observing_each_change() {
        let mut rng = crate::rng::Rng::new(11);
        for case in 0..500 {
            let mut times = Vec::new();
            let mut t = rng.int(0, 10);
            for _ in 0..rng.int(0, 9) {
                t += rng.int(1, 5);
                times.push(t);
            }
            let start_on = rng.chance(0.5);
            let (mut toggled, mut observed) =
                (EpisodeBuilder::default(), EpisodeBuilder::default());
            if start_on {
                toggled.observe(0, true);
                observed.observe(0, true);
            }
            toggled.toggle_at(times.iter().copied());
            let mut on = start_on;
            for &at in &times {
                on = !on;
                observed.observe(at, on);
            }
            assert_eq!(
                toggled.finish(),
                observed.finish(),
                "case {case}: {times:?} from {start_on}"
            );
        }
    }
}
