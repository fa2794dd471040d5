//! What `tune` reports: the figures of a setting, each (alert, env, engine)'s recommendation
//! beside its current setting, the Pareto front and every setting tried. Field names are the JSON
//! contract.

use std::collections::BTreeMap;

use serde::Serialize;

use super::grid::Params;
use super::pool::{InjectedTally, Pool};
use crate::inject;

/// The figures of one setting, pooled over the series of one (alert, env, engine). Field names are
/// a contract (they appear flat in every object of the JSON report).
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub alerts_per_week: f64,
    /// Exact Poisson 95 % interval of `alerts_per_week`.
    pub alerts_per_week_ci: [f64; 2],
    pub false_alerts_per_week: Option<f64>,
    /// Share of the evaluated time the alarm spent in ALARM (the rule firing), over all series:
    /// what a budget of alerts does not see when M of N holds one episode open for days.
    pub time_in_alarm_ratio: f64,
    pub recall: Option<f64>,
    pub median_delay_s: Option<f64>,
}

/// What one setting gave.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub params: Params,
    #[serde(flatten)]
    pub figures: Figures,
    pub episodes: usize,
    pub incidents: usize,
    pub caught: usize,
    /// Incidents that closed before the band existed (the start of the history): no setting of
    /// this band could catch them.
    pub incidents_in_warm_up: usize,
    /// Incidents that are point labels judged by the alarm's view of them (no grace given).
    #[serde(skip_serializing_if = "crate::score::is_zero")]
    pub incidents_point_labels: usize,
    /// Missed incidents this setting paged about later than the maximum delay.
    #[serde(skip_serializing_if = "crate::score::is_zero")]
    pub incidents_late: usize,
    /// Recall per injected anomaly (`shift:3` → 0.5).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub recall_by_kind: BTreeMap<String, f64>,
    /// What replaying this setting warned of, as `backtest` does (a data step coarser than the
    /// alarm's period: most periods have no datapoint), with how many series when more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The recommendation for one (alert, env, engine). Field names are a contract.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    pub alert: String,
    pub env: String,
    pub engine: &'static str,
    pub params: Params,
    #[serde(flatten)]
    pub figures: Figures,
    pub configs_evaluated: usize,
    /// The incidents the settings were judged on (labelled and injected, inside the evaluated
    /// span), and how many of them the recommended setting caught: `recall` as counts, which add
    /// up over series and files.
    pub incidents: usize,
    pub caught: usize,
    /// Combinations of the grid not tried: M > N, or a look-back (period × N) CloudWatch refuses.
    pub configs_skipped: usize,
    /// Of the incidents, those that closed before the recommended setting's band existed (its
    /// warm-up at the start of the history): missed by it whatever its width; more history before
    /// them is what would let a backtest judge them.
    pub incidents_in_warm_up: usize,
    /// Of the incidents, point labels (single timestamps, runs of flagged rows) judged by each
    /// setting's view of them, as no grace was given.
    #[serde(skip_serializing_if = "crate::score::is_zero")]
    pub incidents_point_labels: usize,
    /// Of the incidents the recommended setting missed, those it paged about later than the
    /// maximum delay (`--max-delay`, `backtest.max_delay`).
    #[serde(skip_serializing_if = "crate::score::is_zero")]
    pub incidents_late: usize,
    /// Recall per injected anomaly (`shift:3` → 0.5), when anomalies were injected.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub recall_by_kind: BTreeMap<String, f64>,
    /// What replaying the recommended setting warned of (`Outcome::warnings`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Whether the recommendation meets the budget (else it is the quietest setting tried).
    pub within_budget: bool,
    /// The setting a person picked (`--pick`), not one the search chose.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub picked: bool,
    /// Keys of the alert's condition that its other engine reads too (`value`, `k`, ...), chosen
    /// once for both engines (`joint`): absent when only this engine was tuned or they took one
    /// value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_keys: Vec<String>,
    pub budget: f64,
    /// The share of time in ALARM the recommendation may not exceed (`--max-time-in-alarm`).
    pub max_time_in_alarm: f64,
    /// The setting as the spec has it now; its `params` are the spec's own values of the keys
    /// tuned (pasted back, they change nothing).
    pub current: Outcome,
    /// Whether current and recommended alerts per week cannot be told apart (their 95 % intervals
    /// hold each other's estimate).
    pub noise_difference_uncertain: bool,
}

impl Recommendation {
    /// The replay warnings of the current and the recommended setting, each said once
    /// (`("current and recommended", "data step 1h is coarser …")`): the table and the report
    /// say the same.
    pub fn warnings_by_setting(&self) -> Vec<(&'static str, &str)> {
        let mut out: Vec<(&'static str, &str)> = Vec::new();
        for w in &self.current.warnings {
            let both = self.warnings.contains(w);
            out.push((
                if both {
                    "current and recommended"
                } else {
                    "current"
                },
                w,
            ));
        }
        for w in &self.warnings {
            if !self.current.warnings.contains(w) {
                out.push(("recommended", w));
            }
        }
        out
    }

    /// Why this engine's recommendation may not be the one it would get alone, when the keys of
    /// the condition were chosen for both engines (`joint`): the table and the report say the same.
    pub fn shared_keys_note(&self) -> Option<String> {
        (!self.shared_keys.is_empty()).then(|| {
            format!(
                "{} is both a CloudWatch alarm and a Prometheus rule with one condition: `{}` is chosen for both (each value judged by the noisier, weaker and slower engine), each engine's timing for itself",
                self.alert,
                self.shared_keys.join("`, `")
            )
        })
    }

    /// What the recommended and the current setting each miss of the injected anomalies
    /// (`("current", "misses every shift:2")`), for the ones that miss any: the table and the
    /// report say the same.
    pub fn injected_misses(&self) -> Vec<(&'static str, String)> {
        [
            ("recommended", &self.recall_by_kind),
            ("current", &self.current.recall_by_kind),
        ]
        .into_iter()
        .filter_map(|(which, recall)| Some((which, inject::misses_note(recall)?)))
        .collect()
    }
}

/// One point of a Pareto front. Field names are a contract.
#[derive(Debug, Clone, Serialize)]
pub struct ParetoPoint {
    pub alert: String,
    pub env: String,
    pub engine: &'static str,
    pub params: Params,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct TuneReport {
    pub recommendations: Vec<Recommendation>,
    pub pareto: Vec<ParetoPoint>,
    /// With `--inject`: the anomalies asked for over every series, and those that found no place
    /// (a short history holds only some); the recall per kind stands on the rest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub injected: Option<InjectedTally>,
    /// Every setting tried (`--all`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<Tried>,
    /// What a sharded run measured per setting (`--shard`), for `alertlab merge` to pool across
    /// shards and choose again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<Pool>,
}

/// A setting tried, with what it gave (`--all`).
#[derive(Debug, Clone, Serialize)]
pub struct Tried {
    pub alert: String,
    pub env: String,
    pub engine: &'static str,
    #[serde(flatten)]
    pub outcome: Outcome,
}
