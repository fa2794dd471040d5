//! What a tune run measured, per (alert, env, engine) and setting, in a form that adds up: a sharded
//! run writes its [`Pool`] into its JSON, and `alertlab merge` adds the shards' pools and chooses
//! again ([`super::choose`]) — the recommendation and Pareto front one run over all series makes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::grid::Params;
use super::select::{Budget, Objective};
use super::{rate, Figures, Outcome};

/// Every (alert, env, engine) of a run with its settings' tallies, and how to choose among them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    pub budget: f64,
    /// The share of time in ALARM a recommendation may not exceed ([`Budget::time_in_alarm`]).
    /// Merge files written before 2026-11-28 had none.
    #[serde(default = "no_time_limit")]
    pub max_time_in_alarm: f64,
    pub objective: Objective,
    /// Report every setting (`--all`).
    pub keep_all: bool,
    /// The grid is one picked setting (`--pick`).
    #[serde(default)]
    pub pick: bool,
    pub groups: Vec<PoolGroup>,
    /// Anomalies `--inject` asked for, and those that found no place, over every series.
    #[serde(default)]
    pub injected: InjectedTally,
}

fn no_time_limit() -> f64 {
    1.0
}

impl Pool {
    /// What a recommendation of this run may not exceed.
    pub fn limits(&self) -> Budget {
        Budget {
            per_week: self.budget,
            time_in_alarm: self.max_time_in_alarm,
        }
    }
}

/// How many anomalies were asked for over the series of a run, and which found no place in theirs
/// (label → how many; `inject::shortfall`): what the recall per kind stands on.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectedTally {
    pub asked: usize,
    pub not_placed: BTreeMap<String, usize>,
    /// Series whose values do not vary (or hold none): no anomaly can be sized in their σ, so
    /// theirs are among `not_placed` (`inject::unsized_note`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsized_series: Vec<String>,
}

impl InjectedTally {
    /// What the table and the report say of the anomalies asked for: those that found no place,
    /// and the series that could not be given any.
    pub fn notes(&self) -> Vec<String> {
        [
            crate::inject::shortfall_note(&self.not_placed, self.asked),
            crate::inject::unsized_note(&self.unsized_series),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    pub fn add(&mut self, other: &InjectedTally) {
        self.asked += other.asked;
        self.unsized_series
            .extend(other.unsized_series.iter().cloned());
        for (label, n) in &other.not_placed {
            *self.not_placed.entry(label.clone()).or_default() += n;
        }
    }
}

/// One (alert, env, engine): its settings in grid order (the spec's own first) with their tallies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolGroup {
    /// Position among the run's (alert, env, engine) triples (the same in every shard: it comes
    /// from the specs), so merged output is in the order one run gives.
    pub order: usize,
    pub alert: String,
    pub env: String,
    pub engine: String,
    /// The alert's own values of the keys its settings vary (what `current` is, in their terms).
    #[serde(default)]
    pub current: Params,
    /// Combinations of the grid not tried (M > N, or a look-back CloudWatch refuses).
    #[serde(default)]
    pub skipped: usize,
    /// The series tallied, sorted: a merge refuses shards that share one (each would count it
    /// again). Merge files written before 2026-12-07 have none, and are merged unchecked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<String>,
    pub settings: Vec<(Params, Tally)>,
}

/// A sum of per-series rates that is the same in any order, and for one series is that series'
/// figure to the last bit (what `backtest` prints for it): each term is kept exactly, as an integer
/// count of 2^-80, so shards added up give exactly the figure of one run over all series —
/// floating-point addition would differ in the last bits with the order. The integer holds any
/// rate from 2^-28 (one alert in 5 million years, to the bit) to 10^14 alerts a week; the sum is
/// rounded to the nearest `f64` once, when read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExactSum(#[serde(with = "as_text")] i128);

/// Binary digits after the point of an [`ExactSum`].
const FRACTION_BITS: i32 = 80;
/// What the sums of merge files written before 2026-11-28 counted (units of 2^-40, a text without
/// the `p-80` suffix), so shards of either age add up.
const OLD_FRACTION_BITS: i32 = 40;

impl ExactSum {
    pub fn push(&mut self, term: f64) {
        // Scaling by a power of two is exact, and so is the cast of the integer it gives.
        let units = (term * 2f64.powi(FRACTION_BITS)).round() as i128;
        self.0 = self.0.saturating_add(units);
    }

    pub fn add(&mut self, other: &ExactSum) {
        self.0 = self.0.saturating_add(other.0);
    }

    pub fn value(&self) -> f64 {
        // `as` rounds to the nearest `f64`; the division by a power of two is exact.
        self.0 as f64 / 2f64.powi(FRACTION_BITS)
    }
}

/// 128-bit integers as JSON text (JSON readers in other languages lose digits of big numbers),
/// with their scale: `"<units>p-80"`.
mod as_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{FRACTION_BITS, OLD_FRACTION_BITS};

    pub fn serialize<S: Serializer>(v: &i128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v}p-{FRACTION_BITS}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        let text = String::deserialize(d)?;
        let suffix = format!("p-{FRACTION_BITS}");
        let (digits, shift) = match text.strip_suffix(&suffix) {
            Some(digits) => (digits, 0),
            None => (text.as_str(), FRACTION_BITS - OLD_FRACTION_BITS),
        };
        let units: i128 = digits.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is not a sum as alertlab writes it (an integer, then `{suffix}`)"
            ))
        })?;
        units
            .checked_mul(1i128 << shift)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is out of range")))
    }
}

/// The engine names reports carry.
pub fn engine_name(name: &str) -> &'static str {
    if name == "prometheus" {
        "prometheus"
    } else {
        "cloudwatch"
    }
}

/// A name both sorted lists hold, if any.
fn shared_series<'a>(a: &'a [String], b: &[String]) -> Option<&'a str> {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return Some(&a[i]),
        }
    }
    None
}

/// Two sorted lists as one.
fn merged_sorted(mut a: Vec<String>, b: Vec<String>) -> Vec<String> {
    a.extend(b);
    a.sort_unstable();
    a
}

/// The pools of several shards added up. Shards must come from the same command (budget,
/// objective, settings); a group missing from a shard had no series there.
pub fn merge(pools: Vec<Pool>) -> Result<Pool, String> {
    let mut pools = pools.into_iter();
    let mut merged = pools.next().ok_or("no tune output to merge")?;
    for pool in pools {
        if pool.limits() != merged.limits() || pool.objective != merged.objective {
            return Err(format!(
                "the shards were tuned with different budgets or objectives ({} a week, {} of the time in ALARM, {:?}; and {}, {}, {:?}): run every shard with the same command",
                merged.budget,
                merged.max_time_in_alarm,
                merged.objective,
                pool.budget,
                pool.max_time_in_alarm,
                pool.objective
            ));
        }
        merged.keep_all |= pool.keep_all;
        merged.injected.add(&pool.injected);
        for group in pool.groups {
            let same = |g: &&mut PoolGroup| {
                (g.order, &g.alert, &g.env, &g.engine)
                    == (group.order, &group.alert, &group.env, &group.engine)
            };
            match merged.groups.iter_mut().find(same) {
                None => merged.groups.push(group),
                Some(into) => {
                    let params = |g: &PoolGroup| {
                        g.settings
                            .iter()
                            .map(|(p, _)| p.clone())
                            .collect::<Vec<_>>()
                    };
                    if params(into) != params(&group) {
                        return Err(format!(
                            "alert `{}`, env `{}`, {}: the shards tried different settings (another grid or spec, or data at another step, which the default grid tries as a CloudWatch period): run every shard with the same command and specs, or give the grid with `--grid`",
                            group.alert, group.env, group.engine
                        ));
                    }
                    if let Some(twice) = shared_series(&into.series, &group.series) {
                        return Err(format!(
                            "alert `{}`, env `{}`, {}, series `{twice}` is in two of the shards: the inputs overlap (merge the outputs of `--shard 1/n` … `n/n` of one command, each once)",
                            group.alert, group.env, group.engine
                        ));
                    }
                    for ((_, acc), (_, t)) in into.settings.iter_mut().zip(&group.settings) {
                        acc.add(t);
                    }
                    into.series = merged_sorted(std::mem::take(&mut into.series), group.series);
                }
            }
        }
    }
    merged.groups.sort_by_key(|g| g.order);
    Ok(merged)
}

/// Per setting, what the series of one (alert, env, engine) gave: the sufficient statistics of
/// every figure `tune` reports, so shards' tallies add up to the tally of one run.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub alerts_per_week: ExactSum,
    pub false_alerts_per_week: ExactSum,
    pub episodes: usize,
    pub covered_ms: f64,
    /// Time in ALARM (firing) and time evaluated, summed over the series (milliseconds, so the
    /// ratio of one series is `backtest`'s `time_in_alarm_ratio` to the last bit). Merge files
    /// written before 2026-11-28 have neither: their settings read as never in alarm.
    #[serde(default)]
    pub in_alarm_ms: i64,
    #[serde(default)]
    pub evaluated_ms: i64,
    pub incidents: usize,
    pub caught: usize,
    /// Incidents closed before the band existed (`IncidentScore::in_warm_up`).
    #[serde(default)]
    pub in_warm_up: usize,
    /// Point labels judged by the alarm's view (`IncidentScore::point_labels`).
    #[serde(default)]
    pub point_labels: usize,
    /// Missed incidents paged about later than the maximum delay (`IncidentScore::late`).
    #[serde(default)]
    pub late: usize,
    pub delays_s: Vec<f64>,
    pub labelled: bool,
    /// Injected anomaly label → (caught, injected).
    pub by_kind: BTreeMap<String, (usize, usize)>,
    /// What the replays warned of (a data step coarser than the period, …) → over how many
    /// series.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub warnings: BTreeMap<String, usize>,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.alerts_per_week.add(&other.alerts_per_week);
        self.false_alerts_per_week.add(&other.false_alerts_per_week);
        self.episodes += other.episodes;
        self.covered_ms = self.covered_ms.max(other.covered_ms);
        self.in_alarm_ms += other.in_alarm_ms;
        self.evaluated_ms += other.evaluated_ms;
        self.incidents += other.incidents;
        self.caught += other.caught;
        self.in_warm_up += other.in_warm_up;
        self.point_labels += other.point_labels;
        self.late += other.late;
        self.delays_s.extend_from_slice(&other.delays_s);
        self.labelled |= other.labelled;
        for (k, (c, n)) in &other.by_kind {
            let e = self.by_kind.entry(k.clone()).or_default();
            e.0 += c;
            e.1 += n;
        }
        for (warning, n) in &other.warnings {
            *self.warnings.entry(warning.clone()).or_default() += n;
        }
    }

    pub fn outcome(&self, params: &Params) -> Outcome {
        let mut delays = self.delays_s.clone();
        delays.sort_by(f64::total_cmp);
        let median = match delays.len() {
            0 => None,
            n if n % 2 == 1 => Some(delays[n / 2]),
            n => Some((delays[n / 2 - 1] + delays[n / 2]) / 2.0),
        };
        Outcome {
            params: params.clone(),
            figures: Figures {
                alerts_per_week: self.alerts_per_week.value(),
                alerts_per_week_ci: rate::per_week_interval(self.episodes, self.covered_ms),
                false_alerts_per_week: self.labelled.then(|| self.false_alerts_per_week.value()),
                time_in_alarm_ratio: if self.evaluated_ms > 0 {
                    self.in_alarm_ms as f64 / self.evaluated_ms as f64
                } else {
                    0.0
                },
                recall: (self.labelled && self.incidents > 0)
                    .then(|| self.caught as f64 / self.incidents as f64),
                median_delay_s: median,
            },
            episodes: self.episodes,
            incidents: self.incidents,
            caught: self.caught,
            incidents_in_warm_up: self.in_warm_up,
            incidents_point_labels: self.point_labels,
            incidents_late: self.late,
            recall_by_kind: self
                .by_kind
                .iter()
                .map(|(k, (c, n))| (k.clone(), *c as f64 / (*n).max(1) as f64))
                .collect(),
            warnings: self
                .warnings
                .iter()
                .map(|(w, n)| match n {
                    1 => w.clone(),
                    n => format!("{w} ({n} series)"),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_term_reads_back_to_the_last_bit_and_any_order_gives_one_sum() {
        for term in [
            1.0142120487989814,
            0.5086734372043793,
            1.0 / 3.0,
            2.998512642538117,
            0.0,
        ] {
            let mut sum = ExactSum::default();
            sum.push(term);
            assert_eq!(sum.value().to_bits(), term.to_bits());
        }
        let terms = [0.1, 1e-3, 2.0 / 3.0, 1234.5678, 1e-7];
        let (mut forward, mut backward) = (ExactSum::default(), ExactSum::default());
        terms.iter().for_each(|t| forward.push(*t));
        terms.iter().rev().for_each(|t| backward.push(*t));
        assert_eq!(forward, backward);
    }

    #[test]
    fn sums_of_older_merge_files_are_read_at_their_scale() {
        let read =
            |text: &str| -> ExactSum { serde_json::from_str(&format!("\"{text}\"")).unwrap() };
        // 1.5 a week as written before (units of 2^-40) and now (2^-80).
        let old = read(&((3i128 << 40) / 2).to_string());
        let mut now = ExactSum::default();
        now.push(1.5);
        assert_eq!(old, now);
        assert_eq!(
            read(&serde_json::to_string(&now).unwrap().replace('"', "")),
            now
        );
        assert!(serde_json::from_str::<ExactSum>("\"1.5 a week\"").is_err());
    }

    #[test]
    fn shards_tuned_under_other_limits_do_not_merge() {
        let pool = |max_time_in_alarm: f64| Pool {
            budget: 1.0,
            max_time_in_alarm,
            objective: Objective::Recall,
            keep_all: false,
            pick: false,
            groups: Vec::new(),
            injected: InjectedTally::default(),
        };
        assert!(merge(vec![pool(0.25), pool(0.25)]).is_ok());
        let err = merge(vec![pool(0.25), pool(1.0)]).unwrap_err();
        assert!(
            err.contains("0.25") && err.contains("same command"),
            "{err}"
        );
    }
}
