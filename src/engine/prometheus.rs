//! The Prometheus alerting-rule state machine (as of Prometheus 2.42, the version `promtool` in
//! Debian ships), for one series of the rule's expression.
//!
//! - Rules are evaluated at `phase + k·interval` (phase 0 is what `promtool test rules` does; a real
//!   server offsets each group by a hash of its name).
//! - An instant query at `t` sees the newest sample in `[t − lookback, t]` (both ends inclusive in
//!   2.x; lookback 5m); an older one is absent.
//! - A present result creates a *pending* alert with `activeAt = t`; it turns *firing* at the first
//!   evaluation with `t − activeAt ≥ for` (at once when `for` is 0). An absent result deletes a
//!   pending alert. A firing alert whose result is absent keeps firing while
//!   `t − keepFiringSince < keep_firing_for` (`keepFiringSince` = the first absent evaluation), then
//!   resolves; a present result resets `keepFiringSince`.

use super::{EpisodeBuilder, Timeline, Transition};
use crate::series::time::MINUTE_MS;

/// Rule-group and rule settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrometheusConfig {
    pub interval_ms: i64,
    /// Offset of evaluation times from multiples of the interval.
    pub phase_ms: i64,
    pub for_ms: i64,
    pub keep_firing_for_ms: i64,
    pub lookback_ms: i64,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            interval_ms: MINUTE_MS,
            phase_ms: 0,
            for_ms: 0,
            keep_firing_for_ms: 0,
            lookback_ms: 5 * MINUTE_MS,
        }
    }
}

impl PrometheusConfig {
    /// Evaluation times covering `[first, last]`: the grid points inside that span.
    pub fn eval_times(&self, first: i64, last: i64) -> Vec<i64> {
        let i = self.interval_ms;
        let start = first - (first - self.phase_ms).rem_euclid(i)
            + if (first - self.phase_ms).rem_euclid(i) == 0 {
                0
            } else {
                i
            };
        (0..)
            .map(|k| start + k * i)
            .take_while(|t| *t <= last)
            .collect()
    }
}

/// The value an instant query sees at each of `eval_times` (NaN = absent): the newest real sample
/// within the lookback. `timestamps` are sorted; NaN values are no samples.
pub fn instant_values(
    timestamps: &[i64],
    values: &[f64],
    eval_times: &[i64],
    lookback_ms: i64,
) -> Vec<f64> {
    instant_indices(timestamps, values, eval_times, lookback_ms)
        .into_iter()
        .map(|i| i.map_or(f64::NAN, |i| values[i]))
        .collect()
}

/// Like [`instant_values`], but the index of the selected sample.
pub fn instant_indices(
    timestamps: &[i64],
    values: &[f64],
    eval_times: &[i64],
    lookback_ms: i64,
) -> Vec<Option<usize>> {
    let mut out = Vec::with_capacity(eval_times.len());
    let mut j = 0; // samples[..j] have timestamp <= t
    let mut latest: Option<usize> = None; // newest real sample at or before t
    for &t in eval_times {
        while j < timestamps.len() && timestamps[j] <= t {
            if !values[j].is_nan() {
                latest = Some(j);
            }
            j += 1;
        }
        out.push(latest.filter(|&k| timestamps[k] >= t - lookback_ms));
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Inactive,
    Pending { active_at: i64 },
    Firing { keep_firing_since: Option<i64> },
}

/// Run the rule over `present[k]` = "the expression returned this series at `eval_times[k]`".
pub fn evaluate(present: &[bool], eval_times: &[i64], cfg: &PrometheusConfig) -> Timeline {
    debug_assert_eq!(present.len(), eval_times.len());
    let mut timeline = Timeline {
        step_ms: cfg.interval_ms,
        first_eval: eval_times.first().copied(),
        last_eval: eval_times.last().copied(),
        ..Timeline::default()
    };
    let mut state = State::Inactive;
    let mut episodes = EpisodeBuilder::default();
    let mut firing = false;
    let push = |timeline: &mut Timeline, at: i64, to: &'static str| {
        timeline.transitions.push(Transition { at, to })
    };
    for (&t, &on) in eval_times.iter().zip(present) {
        state = match (state, on) {
            (State::Inactive, true) => {
                if cfg.for_ms == 0 {
                    push(&mut timeline, t, "firing");
                    State::Firing {
                        keep_firing_since: None,
                    }
                } else {
                    push(&mut timeline, t, "pending");
                    State::Pending { active_at: t }
                }
            }
            (State::Pending { active_at }, true) if t - active_at >= cfg.for_ms => {
                push(&mut timeline, t, "firing");
                State::Firing {
                    keep_firing_since: None,
                }
            }
            (State::Pending { .. }, false) => {
                push(&mut timeline, t, "inactive");
                State::Inactive
            }
            (State::Firing { .. }, true) => State::Firing {
                keep_firing_since: None,
            },
            (State::Firing { keep_firing_since }, false) => {
                let since = keep_firing_since.unwrap_or(t);
                if cfg.keep_firing_for_ms > 0 && t - since < cfg.keep_firing_for_ms {
                    State::Firing {
                        keep_firing_since: Some(since),
                    }
                } else {
                    push(&mut timeline, t, "inactive");
                    State::Inactive
                }
            }
            (s, _) => s,
        };
        if matches!(state, State::Firing { .. }) != firing {
            firing = !firing;
            episodes.observe(t, firing);
        }
    }
    timeline.episodes = episodes.finish();
    timeline
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Episode;

    const M: i64 = MINUTE_MS;

    fn run(present: &str, for_m: i64, keep_m: i64) -> Timeline {
        let bits: Vec<bool> = present
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c == '1')
            .collect();
        let times: Vec<i64> = (0..bits.len() as i64).map(|k| k * M).collect();
        evaluate(
            &bits,
            &times,
            &PrometheusConfig {
                for_ms: for_m * M,
                keep_firing_for_ms: keep_m * M,
                ..PrometheusConfig::default()
            },
        )
    }

    #[test]
    fn for_waits_and_an_absent_evaluation_restarts_the_timer() {
        let t = run("1101110", 2, 0);
        // pending at 0, deleted at 2, pending at 3, firing at 5 (5-3 >= 2), resolved at 6.
        assert_eq!(
            t.episodes,
            vec![Episode {
                start: 5 * M,
                end: Some(6 * M)
            }]
        );
        let to: Vec<&str> = t.transitions.iter().map(|x| x.to).collect();
        assert_eq!(
            to,
            vec!["pending", "inactive", "pending", "firing", "inactive"]
        );
    }

    #[test]
    fn for_zero_fires_at_once() {
        assert_eq!(
            run("0110", 0, 0).episodes,
            vec![Episode {
                start: M,
                end: Some(3 * M)
            }]
        );
    }

    #[test]
    fn keep_firing_for_holds_then_resolves() {
        // firing 0..=1, absent from 2: keeps while t-2 < 3, i.e. at 2,3,4; resolves at 5.
        assert_eq!(
            run("11000000", 0, 3).episodes,
            vec![Episode {
                start: 0,
                end: Some(5 * M)
            }]
        );
        // a present result during keep-firing resets the clock
        assert_eq!(
            run("1100100000", 0, 2).episodes,
            vec![Episode {
                start: 0,
                end: Some(7 * M)
            }]
        );
    }

    #[test]
    fn lookback_is_inclusive_five_minutes() {
        let ts = [0, 60_000];
        let vals = [1.0, f64::NAN];
        let evals = [0, 60_000, 300_000, 300_001];
        let v = instant_values(&ts, &vals, &evals, 5 * M);
        assert_eq!(v[0], 1.0);
        assert_eq!(v[1], 1.0);
        assert_eq!(v[2], 1.0);
        assert!(v[3].is_nan());
    }

    #[test]
    fn eval_grid_respects_phase() {
        let cfg = PrometheusConfig {
            phase_ms: 15_000,
            ..PrometheusConfig::default()
        };
        assert_eq!(cfg.eval_times(0, 130_000), vec![15_000, 75_000]);
        assert_eq!(
            PrometheusConfig::default().eval_times(0, 120_000),
            vec![0, 60_000, 120_000]
        );
    }
}
