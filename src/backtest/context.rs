//! Work shared by every alert and setting replayed over one series: resampled grids, selections,
//! bands and classifications, each computed once.

use std::cell::RefCell;
use std::rc::Rc;

use super::{PreparedCondition, Presence};
use crate::band::promql::PromqlModel;
use crate::band::Rule;
use crate::engine::mofn::Classified;
use crate::engine::prometheus::{self, PrometheusConfig, PrometheusVersion};
use crate::series::{median_step_ms, resample_span, Series, Statistic};
use crate::spec::{AnomalyModel, Condition};

/// Work shared by every alert replayed over one series: the median step, resampled grids per
/// (period, statistic) and instant-query selections per rule timing. Ten alerts on one series
/// resample it once.
pub struct SeriesContext<'a> {
    pub raw: &'a Series,
    pub(super) step_ms: Option<i64>,
    grids: Memo<GridKey, Series>,
    selections: Memo<SelectionKey, Selection>,
    /// Prometheus bands (over raw samples or recorded values).
    pub(super) bands: BandCache,
    /// CloudWatch bands: per grid and condition with `k` left out ([`band_condition`]).
    pub(super) cloudwatch_bands: Memo<(GridKey, Condition), PreparedCondition>,
    /// Classifications per CloudWatch band (its address in `cloudwatch_bands`) and rule.
    pub(super) breaches: Memo<(usize, Rule), Classified>,
    /// Prometheus presence per selection (its key), condition and data step.
    pub(super) presences: Memo<(SelectionKey, Condition, i64), Presence>,
}

/// A CloudWatch period grid: period (ms), statistic, evaluation span.
type GridKey = (i64, Statistic, (i64, i64));

/// Values computed once per series and key, shared by every alert setting replayed over it.
///
/// A series holds a handful of keys (grids, bands, one classification per `k`), so they are kept
/// in a list and compared by value: a tuning run asks once per setting and series, and building,
/// formatting and hashing a string key each time cost more than the list's comparisons.
pub struct Memo<K, T>(RefCell<Vec<(K, Rc<T>)>>);

impl<K, T> Default for Memo<K, T> {
    fn default() -> Self {
        Memo(RefCell::new(Vec::new()))
    }
}

impl<K: PartialEq, T> Memo<K, T> {
    /// The value of `key`, computed by `f` the first time.
    pub fn get(&self, key: K, f: impl FnOnce() -> T) -> Rc<T> {
        if let Some((_, b)) = self.0.borrow().iter().find(|(k, _)| *k == key) {
            return b.clone();
        }
        let b = Rc::new(f());
        self.0.borrow_mut().push((key, b.clone()));
        b
    }
}

/// Prometheus work already done over one series. Tuning tries many settings on one series; each
/// band is fitted once and each smoothing computed once.
#[derive(Default)]
pub struct BandCache {
    /// Bands by what they were computed over (the selection, `None` for a call without one, and
    /// the samples or recorded values) and the condition without `k` or `smooth`
    /// ([`band_condition`]: a new `k` is one comparison pass over the same band).
    pub(super) bands: Memo<(Option<SelectionKey>, BandSource, Condition), PreparedCondition>,
    /// What a `promql` rule compares with its band (the recorded value, or its trailing mean with
    /// `smooth`), by selection, `smooth` and range boundary rule: the same for every `k` and window.
    pub(super) compared: Memo<(Option<SelectionKey>, i64, PrometheusVersion), Vec<f64>>,
}

/// What a Prometheus rule's band is computed over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BandSource {
    /// The recorded values at each evaluation (a `promql` band).
    Recorded { interval_ms: i64 },
    /// The raw samples, `step_ms` apart (every other condition).
    Samples { step_ms: i64 },
}

/// What makes a condition's band: the condition with `k` left out (set to 0), and for a `promql`
/// band `smooth` too (it changes what is compared with the band, not the band).
pub(super) fn band_condition(condition: &Condition) -> Condition {
    match condition {
        Condition::Anomaly {
            model, direction, ..
        } => Condition::Anomaly {
            model: match model {
                AnomalyModel::Promql(m) => AnomalyModel::Promql(PromqlModel { smooth_ms: 0, ..*m }),
                other => other.clone(),
            },
            k: 0.0,
            direction: *direction,
        },
        other => other.clone(),
    }
}

/// The comparison rule of `condition` over a cached band: the cached rule (side, strictness, floor)
/// with this condition's own `k`.
pub(super) fn rule_of(condition: &Condition, cached: &Rule) -> Rule {
    match condition {
        Condition::Anomaly { k, .. } => Rule { k: *k, ..*cached },
        _ => *cached,
    }
}

/// What a rule's evaluations and selected samples depend on: the span and the rule timing (not
/// `for`, not the condition).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectionKey {
    span: (i64, i64),
    interval_ms: i64,
    phase_ms: i64,
    lookback_ms: i64,
    version: prometheus::PrometheusVersion,
}

impl SelectionKey {
    pub(super) fn new(cfg: &PrometheusConfig, span: (i64, i64)) -> SelectionKey {
        SelectionKey {
            span,
            interval_ms: cfg.interval_ms,
            phase_ms: cfg.phase_ms,
            lookback_ms: cfg.lookback_ms,
            version: cfg.version,
        }
    }
}

/// Evaluation times and the sample each instant query selects.
pub type Selection = (Vec<i64>, Vec<Option<usize>>);

impl<'a> SeriesContext<'a> {
    pub fn new(raw: &'a Series) -> SeriesContext<'a> {
        SeriesContext {
            raw,
            step_ms: median_step_ms(raw),
            grids: Memo::default(),
            selections: Memo::default(),
            bands: BandCache::default(),
            cloudwatch_bands: Memo::default(),
            breaches: Memo::default(),
            presences: Memo::default(),
        }
    }

    /// The series on the alarm's period grid over `span` (checked by [`check_span`]).
    pub(super) fn grid(&self, period_ms: i64, stat: Statistic, span: (i64, i64)) -> Rc<Series> {
        self.grids.get((period_ms, stat, span), || {
            resample_span(self.raw, period_ms, stat, span.0, span.1)
        })
    }

    pub(super) fn selection(&self, cfg: &PrometheusConfig, span: (i64, i64)) -> Rc<Selection> {
        self.selections.get(SelectionKey::new(cfg, span), || {
            let eval_times = cfg.eval_times(span.0, span.1);
            let selected = prometheus::instant_indices(&self.raw.samples(), &eval_times, cfg);
            (eval_times, selected)
        })
    }
}
