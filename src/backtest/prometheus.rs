//! Replaying a Prometheus alerting rule over one series, with Alertmanager's notifications.

use std::rc::Rc;

use super::context::{band_condition, rule_of};
use super::{
    prepare, BacktestResult, BandCache, BandSource, PreparedCondition, ReplayBounds, Selection,
    SelectionKey, SeriesContext,
};
use crate::band::promql::PromqlModel;
use crate::band::{self, Rule};
use crate::engine::cloudwatch::Breach;
use crate::engine::prometheus::{self, PrometheusConfig};
use crate::engine::Detail;
use crate::notify;
use crate::score::{self, FlapRule};
use crate::series::time::format_duration;
use crate::series::Samples;
use crate::spec::{AnomalyModel, Condition, ResolvedAlert};

/// Whether the expression returned the series at each evaluation, and the band and rule that
/// decided it: computed once per series, selection and condition, and shared by every `for` and
/// `keep_firing_for` replayed over them.
pub struct Presence {
    pub present: Vec<bool>,
    pub prepared: PreparedPrometheus,
}

/// What the Prometheus engine needs besides the evaluation times, and what a chart draws.
pub struct PreparedPrometheus {
    pub warm_up_evaluations: usize,
    pub seasonality: Option<String>,
    /// The band the rule compared with and the rule (its `k`, side and strictness).
    pub prepared: Rc<PreparedCondition>,
    pub rule: Rule,
    /// Where the band's points lie: per evaluation (a `promql` band, over the recorded values) or
    /// per raw sample (every other condition).
    pub indexing: BandIndexing,
}

/// How a Prometheus rule's band lines up with its evaluations.
pub enum BandIndexing {
    /// Point `k` of the band belongs to evaluation `k`; `compared[k]` is the value the band
    /// compared there (NaN: the series was absent).
    Evaluations { compared: Rc<Vec<f64>> },
    /// Point `i` belongs to raw sample `i`; an evaluation compares the sample its instant query
    /// selected.
    Samples,
}

/// Whether the alert's expression returns the series at each evaluation.
///
/// The alert compares the recorded value (the instant value of the metric expression at the
/// evaluation; a NaN-valued sample records NaN, which compares false). For a `promql` band that
/// recorded series is also what the band's recording rules average, so the band is computed over
/// it; every other condition classifies the sample the instant query selected.
pub fn prometheus_present(
    alert: &ResolvedAlert,
    samples: &Samples,
    step_ms: i64,
    eval_times: &[i64],
    selected: &[Option<usize>],
    replay: Option<&ReplayBounds>,
) -> (Vec<bool>, PreparedPrometheus) {
    prometheus_present_cached(
        alert,
        samples,
        step_ms,
        eval_times,
        selected,
        replay,
        &BandCache::default(),
        None,
    )
}

/// [`prometheus_present`] with bands kept in `bands`, keyed by `scope` (the selection: the same
/// condition over other evaluations is another band), what the band is computed over and the
/// condition without `k`.
#[allow(clippy::too_many_arguments)]
fn prometheus_present_cached(
    alert: &ResolvedAlert,
    samples: &Samples,
    step_ms: i64,
    eval_times: &[i64],
    selected: &[Option<usize>],
    replay: Option<&ReplayBounds>,
    bands: &BandCache,
    scope: Option<SelectionKey>,
) -> (Vec<bool>, PreparedPrometheus) {
    if let Condition::Anomaly {
        model: AnomalyModel::Promql(m),
        k,
        direction,
    } = &alert.condition
    {
        let values: Vec<f64> = selected
            .iter()
            .map(|s| s.map_or(f64::NAN, |i| samples.values[i]))
            .collect();
        let present: Vec<bool> = selected.iter().map(Option::is_some).collect();
        let recorded = band::promql::Recorded {
            timestamps: eval_times,
            values: &values,
            present: &present,
        };
        let source = BandSource::Recorded {
            interval_ms: alert.prom.interval_ms,
        };
        let band_rule = Rule {
            k: 0.0,
            direction: *direction,
            inclusive: false,
            floor: None,
        };
        let unseasoned = || {
            let model = PromqlModel { season_ms: 0, ..*m };
            let condition = Condition::Anomaly {
                model: AnomalyModel::Promql(model),
                k: *k,
                direction: *direction,
            };
            bands
                .bands
                .get((scope, source, band_condition(&condition)), || {
                    PreparedCondition::new(
                        band::promql::band_recorded(&recorded, alert.prom.interval_ms, &model),
                        band_rule,
                        None,
                    )
                })
        };
        let prepared = if m.season_ms == 0 {
            unseasoned()
        } else {
            // The window one season earlier is the unseasoned band's, shifted: fitted once for
            // both.
            let key = (scope, source, band_condition(&alert.condition));
            bands.bands.get(key, || {
                PreparedCondition::new(
                    band::promql::seasonal_band_from(
                        &unseasoned().band,
                        &recorded,
                        alert.prom.interval_ms,
                        m,
                    ),
                    band_rule,
                    None,
                )
            })
        };
        let band = &prepared.band;
        let compared = bands.compared.get((scope, m.smooth_ms, m.version), || {
            band::promql::compared_recorded(&recorded, m)
        });
        let rule = Rule {
            k: *k,
            direction: *direction,
            inclusive: false,
            floor: None,
        };
        let breach = band::classified(&compared, band, &rule);
        let present = breach.iter().map(|b| b == Breach::Breaching).collect();
        return (
            present,
            PreparedPrometheus {
                warm_up_evaluations: prepared.warm_up_points,
                seasonality: None,
                prepared: prepared.clone(),
                rule,
                indexing: BandIndexing::Evaluations { compared },
            },
        );
    }
    let (timestamps, values) = (samples.timestamps, samples.values);
    let key = (
        scope,
        BandSource::Samples { step_ms },
        band_condition(&alert.condition),
    );
    if alert.condition == Condition::Present {
        // The expression returning the series is the whole condition: the instant query selected a
        // sample (a NaN sample included: the series is returned with the value NaN).
        let prepared = bands.bands.get(key, || {
            prepare(&alert.condition, timestamps, values, step_ms, replay)
        });
        return (
            selected.iter().map(Option::is_some).collect(),
            PreparedPrometheus {
                warm_up_evaluations: 0,
                seasonality: None,
                rule: prepared.rule,
                prepared,
                indexing: BandIndexing::Samples,
            },
        );
    }
    let prepared = bands.bands.get(key, || {
        prepare(&alert.condition, timestamps, values, step_ms, replay)
    });
    let rule = rule_of(&alert.condition, &prepared.rule);
    let breach = band::classified(values, &prepared.band, &rule);
    let present = selected
        .iter()
        .map(|s| s.is_some_and(|i| breach.get(i) == Breach::Breaching))
        .collect();
    let warm_until = timestamps.get(prepared.warm_up_points).copied();
    let warm_up_evaluations = match warm_until {
        Some(t) => eval_times.partition_point(|&e| e < t),
        None => eval_times.len(),
    };
    (
        present,
        PreparedPrometheus {
            warm_up_evaluations,
            seasonality: prepared.seasonality.clone(),
            prepared: prepared.clone(),
            rule,
            indexing: BandIndexing::Samples,
        },
    )
}

/// Replay the Prometheus rule of `alert` over one raw series (the series the rule's expression
/// returns), with Alertmanager notifications.
pub fn run_prometheus(
    alert: &ResolvedAlert,
    ctx: &SeriesContext,
    span: (i64, i64),
    replay: Option<&ReplayBounds>,
    detail: Detail,
) -> Option<BacktestResult> {
    prometheus_replay(alert, ctx, span, replay, detail).map(|r| r.result)
}

/// A Prometheus replay with what it was computed from: the evaluation times, the sample each
/// selected, the band and rule, and whether the expression returned the series (what a chart
/// draws).
pub struct PrometheusReplay {
    pub selection: Rc<Selection>,
    pub presence: Rc<Presence>,
    /// The rule's timing (interval, `for`, `keep_firing_for`).
    pub config: PrometheusConfig,
    pub result: BacktestResult,
}

/// [`run_prometheus`], keeping the evaluations, band and classification.
pub fn prometheus_replay(
    alert: &ResolvedAlert,
    ctx: &SeriesContext,
    span: (i64, i64),
    replay: Option<&ReplayBounds>,
    detail: Detail,
) -> Option<PrometheusReplay> {
    alert.prometheus.as_ref()?;
    let raw = ctx.raw;
    let step = ctx.step_ms.unwrap_or(alert.prom.interval_ms);
    let selection = ctx.selection(&alert.prom, span);
    let (eval_times, selected) = (&selection.0, &selection.1);
    // The recorded values are those of the selection.
    let scope = SelectionKey::new(&alert.prom, span);
    let key = (scope, alert.condition.clone(), step);
    let presence = ctx.presences.get(key, || {
        let (present, prepared) = prometheus_present_cached(
            alert,
            &raw.samples(),
            step,
            eval_times,
            selected,
            replay,
            &ctx.bands,
            Some(scope),
        );
        Presence { present, prepared }
    });
    let (present, prepared) = (&presence.present, &presence.prepared);
    let timeline = prometheus::evaluate(present, eval_times, &alert.prom, detail);
    let noise = score::noise(&timeline, &FlapRule::default());
    let notifications = match detail {
        Detail::Full => notify::alertmanager_notifications(
            &timeline.episodes,
            timeline.horizon(),
            &alert.alertmanager,
        ),
        Detail::Episodes => 0,
    };
    let mut result = BacktestResult::new(
        alert,
        "prometheus",
        &raw.name,
        timeline,
        noise,
        notifications,
    );
    result.evaluations = eval_times.len();
    result.warm_up_evaluations = prepared.warm_up_evaluations;
    result.seasonality = prepared.seasonality.clone();
    if step > alert.prom.lookback_ms {
        result.warnings.push(format!(
            "data step {} is longer than the lookback delta {}: the series is absent between samples",
            format_duration(step),
            format_duration(alert.prom.lookback_ms)
        ));
    }
    result.warnings.extend(super::implausible_start(raw));
    Some(PrometheusReplay {
        selection,
        presence,
        config: alert.prom,
        result,
    })
}
