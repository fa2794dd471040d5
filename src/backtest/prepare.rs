//! A condition's band over one series, and the rule its values are compared with.

use crate::band::{self, Band, Rule};
use crate::series::Series;
use crate::spec::{AnomalyModel, Condition};

/// A condition's band over one series plus the rule to compare with it.
pub struct PreparedCondition {
    pub band: Band,
    pub rule: Rule,
    pub seasonality: Option<String>,
    /// Points before the band's first value (counted once here: every setting replayed over the
    /// band reports it, and a seasonal band's warm-up is a day of points).
    pub warm_up_points: usize,
}

impl PreparedCondition {
    pub fn new(band: Band, rule: Rule, seasonality: Option<String>) -> PreparedCondition {
        PreparedCondition {
            warm_up_points: band.warm_up_points(),
            band,
            rule,
            seasonality,
        }
    }
}

/// A real CloudWatch band (lower, upper) for `replay` conditions.
pub type ReplayBounds = (Series, Series);

/// Compute the band of `condition` over `(timestamps, values)` sampled every `step_ms`.
/// `replay` holds the fetched band when the condition is a `replay` anomaly.
pub fn prepare(
    condition: &Condition,
    timestamps: &[i64],
    values: &[f64],
    step_ms: i64,
    replay: Option<&ReplayBounds>,
) -> PreparedCondition {
    let static_rule = |op: &crate::band::Comparison| Rule {
        k: 0.0,
        direction: op.direction(),
        inclusive: op.inclusive(),
        floor: None,
    };
    match condition {
        // Never compared: the series being returned is the condition (`prometheus_present`).
        Condition::Present => PreparedCondition::new(
            Band::constant(values.len(), f64::NAN),
            Rule {
                k: 0.0,
                direction: crate::band::Direction::Above,
                inclusive: false,
                floor: None,
            },
            None,
        ),
        Condition::Threshold { op, value } => {
            PreparedCondition::new(Band::constant(values.len(), *value), static_rule(op), None)
        }
        Condition::Percentile { op, model } => PreparedCondition::new(
            band::percentile::band(timestamps, values, model),
            static_rule(op),
            None,
        ),
        Condition::Anomaly {
            model,
            k,
            direction,
        } => {
            let rule = Rule {
                k: *k,
                direction: *direction,
                inclusive: false,
                floor: None,
            };
            match model {
                AnomalyModel::Seasonal(m) => {
                    let out = band::seasonal::band(timestamps, values, step_ms, m);
                    // CloudWatch clamps its band to the metric's logical range: a never-negative
                    // metric cannot breach below zero. (Replayed bands are already clamped by
                    // CloudWatch; PromQL has no clamp.)
                    let non_negative = values.iter().all(|v| v.is_nan() || *v >= 0.0);
                    PreparedCondition::new(
                        out.band,
                        Rule {
                            floor: non_negative.then_some(0.0),
                            ..rule
                        },
                        out.seasonality.map(|s| s.to_string()),
                    )
                }
                AnomalyModel::Replay(m) => {
                    let band = match replay {
                        Some((lower, upper)) => {
                            band::replay::band(timestamps, lower, upper, m.k0, step_ms)
                        }
                        None => Band {
                            center: vec![f64::NAN; values.len()],
                            spread: vec![f64::NAN; values.len()],
                        },
                    };
                    PreparedCondition::new(band, rule, None)
                }
                AnomalyModel::Promql(m) => PreparedCondition::new(
                    band::promql::band(timestamps, values, step_ms, m),
                    rule,
                    None,
                ),
            }
        }
    }
}
