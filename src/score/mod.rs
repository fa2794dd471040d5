//! Alert metrics for one timeline, and matching of episodes against incident windows.

mod incidents;
mod labels;
pub mod rate;

pub(crate) use incidents::is_zero;
pub use incidents::{
    count_in_warm_up, first_catch, judged_in, late_phrase, match_incidents, missed_phrase,
    point_labels_phrase, warm_up_phrase, Incident, IncidentScore, Reach,
};
pub use labels::{incidents_for, load_incidents};

use serde::Serialize;

use crate::engine::Timeline;
use crate::series::time::WEEK_MS;

/// What counts as a flap: an episode shorter than `min_episode_evals` evaluations, or one that
/// re-opens within `reopen_evals` evaluations of the previous one closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlapRule {
    pub min_episode_evals: i64,
    pub reopen_evals: i64,
}

impl Default for FlapRule {
    fn default() -> Self {
        FlapRule {
            min_episode_evals: 3,
            reopen_evals: 3,
        }
    }
}

/// Noise metrics of one (alert, env, engine, series).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoiseScore {
    pub episodes: usize,
    pub alerts_per_week: f64,
    pub time_in_alarm_s: f64,
    /// Share of covered time spent in ALARM / firing.
    pub time_in_alarm_ratio: f64,
    pub flaps: usize,
    pub longest_episode_s: f64,
    pub covered_s: f64,
}

/// A share of time in ALARM as people read it: a percentage, to a tenth under 10 % (`0.4%`,
/// `64%`).
pub fn time_share_text(ratio: f64) -> String {
    let percent = ratio * 100.0;
    let text = format!("{percent:.*}", if percent < 10.0 { 1 } else { 0 });
    let text = match text.strip_suffix(".0") {
        Some(whole) => whole.to_string(),
        None => text,
    };
    format!("{text}%")
}

pub fn noise(timeline: &Timeline, flap: &FlapRule) -> NoiseScore {
    let horizon = timeline.horizon();
    let covered = timeline.covered_ms();
    let durations: Vec<i64> = timeline
        .episodes
        .iter()
        .map(|e| e.duration_ms(horizon))
        .collect();
    let in_alarm: i64 = durations.iter().sum();
    let step = timeline.step_ms.max(1);
    let mut flaps = 0;
    for (i, e) in timeline.episodes.iter().enumerate() {
        let short = e.end.is_some() && durations[i] < flap.min_episode_evals * step;
        let reopened = i > 0
            && timeline.episodes[i - 1]
                .end
                .is_some_and(|end| e.start - end <= flap.reopen_evals * step);
        flaps += (short || reopened) as usize;
    }
    NoiseScore {
        episodes: timeline.episodes.len(),
        alerts_per_week: if covered > 0 {
            timeline.episodes.len() as f64 * WEEK_MS as f64 / covered as f64
        } else {
            0.0
        },
        time_in_alarm_s: in_alarm as f64 / 1000.0,
        time_in_alarm_ratio: if covered > 0 {
            in_alarm as f64 / covered as f64
        } else {
            0.0
        },
        flaps,
        longest_episode_s: durations.iter().copied().max().unwrap_or(0) as f64 / 1000.0,
        covered_s: covered as f64 / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Episode;

    #[test]
    fn a_share_of_time_reads_as_a_percentage() {
        let texts: Vec<String> = [0.0, 0.004, 0.0186, 0.25, 0.644, 1.0]
            .map(time_share_text)
            .to_vec();
        assert_eq!(texts, ["0%", "0.4%", "1.9%", "25%", "64%", "100%"]);
    }

    #[test]
    fn counts_per_week_time_and_flaps() {
        let m = 60_000;
        let t = Timeline {
            episodes: vec![
                Episode {
                    start: 0,
                    end: Some(m),
                },
                Episode {
                    start: 2 * m,
                    end: Some(10 * m),
                },
                Episode {
                    start: 100 * m,
                    end: None,
                },
            ],
            first_eval: Some(0),
            last_eval: Some(WEEK_MS - m),
            step_ms: m,
            ..Timeline::default()
        };
        let s = noise(&t, &FlapRule::default());
        assert_eq!(s.episodes, 3);
        assert!((s.alerts_per_week - 3.0).abs() < 1e-9);
        assert_eq!(s.flaps, 2); // the 1-minute one, and the one re-opening 1 minute later
        assert_eq!(s.longest_episode_s, (WEEK_MS - 100 * m) as f64 / 1000.0);
    }
}
