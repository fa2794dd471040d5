//! What one replay produced, as `backtest` reports it.

use serde::Serialize;

use crate::engine::{Episode, Timeline, Transition};
use crate::score::{self, IncidentScore, NoiseScore};
use crate::series::time::format_rfc3339;
use crate::spec::{AnomalyModel, Condition, ResolvedAlert};

/// One (alert, env, engine, series) result. Field names are a contract (see the README).
#[derive(Debug, Clone, Serialize)]
pub struct BacktestResult {
    pub alert: String,
    pub env: String,
    pub engine: &'static str,
    pub series: String,
    pub episodes: Rfc3339<Vec<Episode>>,
    pub transitions: Rfc3339<Vec<Transition>>,
    pub notifications: usize,
    pub alerts_per_week: f64,
    /// Exact Poisson 95 % interval of `alerts_per_week` (a few weeks of history are a small sample).
    pub alerts_per_week_ci: [f64; 2],
    pub time_in_alarm_s: f64,
    pub time_in_alarm_ratio: f64,
    pub flaps: usize,
    pub longest_episode_s: f64,
    pub covered_s: f64,
    pub evaluations: usize,
    /// Evaluations before the band model had enough history (never breaching).
    pub warm_up_evaluations: usize,
    pub condition: String,
    /// What the seasonal model detected at its last fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seasonality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incidents: Option<IncidentScore>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The evaluation span and step (its episodes and transitions are the fields above).
    #[serde(skip)]
    pub timeline: Timeline,
}

/// Engine output serialised with RFC 3339 UTC times (formatted only when written, so backtests
/// and benchmarks that never print pay nothing for it).
#[derive(Debug, Clone)]
pub struct Rfc3339<T>(pub T);

impl<T> std::ops::Deref for Rfc3339<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl Serialize for Rfc3339<Vec<Episode>> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        #[derive(Serialize)]
        struct Out {
            start: String,
            end: Option<String>,
        }
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for e in &self.0 {
            seq.serialize_element(&Out {
                start: format_rfc3339(e.start),
                end: e.end.map(format_rfc3339),
            })?;
        }
        seq.end()
    }
}

impl Serialize for Rfc3339<Vec<Transition>> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        #[derive(Serialize)]
        struct Out {
            at: String,
            to: &'static str,
        }
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for t in &self.0 {
            seq.serialize_element(&Out {
                at: format_rfc3339(t.at),
                to: t.to,
            })?;
        }
        seq.end()
    }
}

impl BacktestResult {
    /// The result of `timeline` (whose episodes and transitions move into the result).
    pub(super) fn new(
        alert: &ResolvedAlert,
        engine: &'static str,
        series: &str,
        mut timeline: Timeline,
        noise: NoiseScore,
        notifications: usize,
    ) -> BacktestResult {
        BacktestResult {
            alert: alert.name.clone(),
            env: alert.env.clone(),
            engine,
            series: series.to_string(),
            episodes: Rfc3339(std::mem::take(&mut timeline.episodes)),
            transitions: Rfc3339(std::mem::take(&mut timeline.transitions)),
            notifications,
            alerts_per_week: noise.alerts_per_week,
            alerts_per_week_ci: score::rate::per_week_interval(
                noise.episodes,
                noise.covered_s * 1000.0,
            ),
            time_in_alarm_s: noise.time_in_alarm_s,
            time_in_alarm_ratio: noise.time_in_alarm_ratio,
            flaps: noise.flaps,
            longest_episode_s: noise.longest_episode_s,
            covered_s: noise.covered_s,
            evaluations: 0,
            warm_up_evaluations: 0,
            condition: describe_condition(&alert.condition),
            seasonality: None,
            incidents: None,
            warnings: Vec::new(),
            timeline,
        }
    }
}

/// A short human description of a condition: `> 900`, `p99 × 1.2`, `seasonal k=3 above`, and a
/// `promql` band's window, with its season and smoothing when set (`promql k=2 above window=3h
/// season=1d`): they change what the band is, as much as `k` does.
pub fn describe_condition(c: &Condition) -> String {
    match c {
        Condition::Threshold { op, value } => format!("{} {value}", op.symbol()),
        Condition::Present => "present".into(),
        Condition::Percentile { op, model } => {
            format!("{} p{} × {}", op.symbol(), model.percentile, model.factor)
        }
        Condition::Anomaly {
            model: AnomalyModel::Promql(m),
            k,
            direction,
        } => {
            let span = crate::series::time::format_prometheus_duration;
            let mut text = format!("promql k={k} {direction} window={}", span(m.window_ms));
            for (key, ms) in [("season", m.season_ms), ("smooth", m.smooth_ms)] {
                if ms > 0 {
                    text.push_str(&format!(" {key}={}", span(ms)));
                }
            }
            text
        }
        Condition::Anomaly {
            model,
            k,
            direction,
        } => format!("{} k={k} {direction}", model.name()),
    }
}
