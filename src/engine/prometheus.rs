//! The Prometheus alerting-rule state machine (as of Prometheus 2.42, the version `promtool` in
//! Debian ships, and 3.x), for one series of the rule's expression.
//!
//! - Rules are evaluated at `phase + k·interval` (phase 0 is what `promtool test rules` does; a real
//!   server offsets each group by a hash of its name).
//! - An instant query at `t` sees the newest sample in `[t − lookback, t]` (lookback 5m). Prometheus
//!   2.x includes a sample exactly `lookback` old; 3.0 made the window left-open,
//!   `(t − lookback, t]` ([`PrometheusVersion`]). An older sample is absent. A NaN-valued sample is a
//!   sample: the series is present and compares false.
//! - A present result creates a *pending* alert with `activeAt = t`; it turns *firing* at the first
//!   evaluation with `t − activeAt ≥ for` (at once when `for` is 0). An absent result deletes a
//!   pending alert. A firing alert whose result is absent keeps firing while
//!   `t − keepFiringSince < keep_firing_for` (`keepFiringSince` = the first absent evaluation), then
//!   resolves; a present result resets `keepFiringSince`.

use super::{Detail, EpisodeBuilder, Timeline, Transition};
use crate::series::time::MINUTE_MS;
use crate::series::Samples;

/// Which Prometheus's boundary rule applies to the lookback and to range selectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrometheusVersion {
    /// 2.x: a sample exactly `lookback` (or `range`) old is included.
    #[default]
    V2,
    /// 3.x: it is excluded (left-open windows).
    V3,
}

impl PrometheusVersion {
    /// Whether a sample at `ts` lies in the window of length `len` ending at `end`.
    pub fn in_window(self, ts: i64, end: i64, len: i64) -> bool {
        ts <= end
            && match self {
                PrometheusVersion::V2 => ts >= end - len,
                PrometheusVersion::V3 => ts > end - len,
            }
    }

    /// The first timestamp inside a window of length `len` ending at `end`.
    pub fn window_start(self, end: i64, len: i64) -> i64 {
        match self {
            PrometheusVersion::V2 => end - len,
            PrometheusVersion::V3 => end - len + 1,
        }
    }
}

/// Rule-group and rule settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrometheusConfig {
    pub interval_ms: i64,
    /// Offset of evaluation times from multiples of the interval.
    pub phase_ms: i64,
    pub for_ms: i64,
    pub keep_firing_for_ms: i64,
    pub lookback_ms: i64,
    pub version: PrometheusVersion,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            interval_ms: MINUTE_MS,
            phase_ms: 0,
            for_ms: 0,
            keep_firing_for_ms: 0,
            lookback_ms: 5 * MINUTE_MS,
            version: PrometheusVersion::V2,
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

    /// How many evaluations [`PrometheusConfig::eval_times`] would return (to bound allocations).
    pub fn eval_count(&self, first: i64, last: i64) -> i64 {
        if last < first {
            return 0;
        }
        (last - first) / self.interval_ms + 1
    }
}

/// The value an instant query sees at each of `eval_times` (NaN = absent or a NaN sample).
pub fn instant_values(samples: &Samples, eval_times: &[i64], cfg: &PrometheusConfig) -> Vec<f64> {
    instant_indices(samples, eval_times, cfg)
        .into_iter()
        .map(|i| i.map_or(f64::NAN, |i| samples.values[i]))
        .collect()
}

/// The index of the sample an instant query selects at each of `eval_times`: the newest sample
/// (NaN-valued ones included) within the lookback, `None` when the series is absent.
pub fn instant_indices(
    samples: &Samples,
    eval_times: &[i64],
    cfg: &PrometheusConfig,
) -> Vec<Option<usize>> {
    let timestamps = samples.timestamps;
    let mut out = Vec::with_capacity(eval_times.len());
    let mut j = 0; // samples[..j] have timestamp <= t
    let mut latest: Option<usize> = None; // newest sample at or before t
    let mut nan_at = 0; // next entry of `nan_samples` to pass
    for &t in eval_times {
        while j < timestamps.len() && timestamps[j] <= t {
            let is_sample = if samples.values[j].is_nan() {
                while nan_at < samples.nan_samples.len() && samples.nan_samples[nan_at] < j {
                    nan_at += 1;
                }
                samples.nan_samples.get(nan_at) == Some(&j)
            } else {
                true
            };
            if is_sample {
                latest = Some(j);
            }
            j += 1;
        }
        out.push(latest.filter(|&k| cfg.version.in_window(timestamps[k], t, cfg.lookback_ms)));
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Inactive,
    Pending { active_at: i64 },
    Firing { keep_firing_since: Option<i64> },
}

/// Run the rule over `present[k]` = "the expression returned this series at `eval_times[k]`";
/// `detail` says whether the transitions are kept (the episodes always are).
pub fn evaluate(
    present: &[bool],
    eval_times: &[i64],
    cfg: &PrometheusConfig,
    detail: Detail,
) -> Timeline {
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
    let keep = detail == Detail::Full;
    let push = |timeline: &mut Timeline, at: i64, to: &'static str| {
        if keep {
            timeline.transitions.push(Transition { at, to })
        }
    };
    let mut i = 0;
    while i < present.len() {
        if matches!(state, State::Inactive) && !present[i] {
            // Inactive and absent: nothing happens until the expression returns the series again
            // (most evaluations of a quiet rule).
            i += present[i..]
                .iter()
                .position(|&on| on)
                .unwrap_or(present.len() - i);
            continue;
        }
        let (t, on) = (eval_times[i], present[i]);
        i += 1;
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
    use crate::series::Samples;

    const M: i64 = MINUTE_MS;

    fn run(present: &str, for_m: i64, keep_m: i64) -> Timeline {
        let bits: Vec<bool> = present
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c == '1')
            .collect();
        let times: Vec<i64> = (0..bits.len() as i64).map(|k| k * M).collect();
        let cfg = PrometheusConfig {
            for_ms: for_m * M,
            keep_firing_for_ms: keep_m * M,
            ..PrometheusConfig::default()
        };
        let full = evaluate(&bits, &times, &cfg, Detail::Full);
        // What tune asks for is the same run without the transitions.
        let episodes = evaluate(&bits, &times, &cfg, Detail::Episodes);
        assert_eq!(
            episodes,
            Timeline {
                transitions: Vec::new(),
                ..full.clone()
            }
        );
        full
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
    fn lookback_is_inclusive_five_minutes_in_prometheus_2() {
        let ts = [0, 60_000];
        let vals = [1.0, f64::NAN];
        let evals = [0, 60_000, 300_000, 300_001];
        let v = instant_values(
            &Samples::plain(&ts, &vals),
            &evals,
            &PrometheusConfig::default(),
        );
        assert_eq!(v[0], 1.0);
        assert_eq!(v[1], 1.0);
        assert_eq!(v[2], 1.0);
        assert!(v[3].is_nan());
    }

    #[test]
    fn lookback_excludes_a_sample_exactly_five_minutes_old_in_prometheus_3() {
        let ts = [0];
        let vals = [1.0];
        let cfg = PrometheusConfig {
            version: PrometheusVersion::V3,
            ..PrometheusConfig::default()
        };
        let sel = instant_indices(
            &Samples::plain(&ts, &vals),
            &[299_999, 300_000, 300_001],
            &cfg,
        );
        assert_eq!(sel, vec![Some(0), None, None]);
        let sel2 = instant_indices(
            &Samples::plain(&ts, &vals),
            &[299_999, 300_000, 300_001],
            &PrometheusConfig::default(),
        );
        assert_eq!(sel2, vec![Some(0), Some(0), None]);
    }

    /// A NaN-valued sample hides the older real sample from the lookback: the series is present
    /// with value NaN (the minimal case: 10 at 00:00, NaN at 00:01, 1 at 00:03).
    #[test]
    fn a_nan_sample_is_a_sample() {
        let ts = [0, M, 3 * M];
        let vals = [10.0, f64::NAN, 1.0];
        let evals = [0, M, 2 * M, 3 * M];
        let with_nan = Samples {
            timestamps: &ts,
            values: &vals,
            nan_samples: &[1],
        };
        let cfg = PrometheusConfig::default();
        assert_eq!(
            instant_indices(&with_nan, &evals, &cfg),
            vec![Some(0), Some(1), Some(1), Some(2)]
        );
        // Without the NaN sample (an empty cell), the lookback reaches 10 at 00:00.
        assert_eq!(
            instant_indices(&Samples::plain(&ts, &vals), &evals, &cfg),
            vec![Some(0), Some(0), Some(0), Some(2)]
        );
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
