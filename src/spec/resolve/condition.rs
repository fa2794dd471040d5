//! `condition`: what is compared with what (a threshold, a percentile band, an anomaly band or the
//! series being present), each value checked and each default filled.

use super::{relative_to_spec, Site};
use crate::band::percentile::PercentileModel;
use crate::band::promql::PromqlModel;
use crate::band::seasonal::{SeasonalModel, Seasonality};
use crate::band::{Comparison, Direction};
use crate::engine::prometheus::PrometheusVersion;
use crate::series::time::{DAY_MS, HOUR_MS, SECOND_MS};
use crate::spec::model::*;
use crate::spec::v1;
use crate::spec::SpecError;

fn comparison(site: &Site, op: &Option<String>) -> Result<Comparison, SpecError> {
    let op = op.as_deref().unwrap_or(">");
    Comparison::parse(op).ok_or_else(|| {
        site.err(
            "op",
            format!(
                "`op` `{op}`: expected one of {}",
                Comparison::NAMES.join(", ")
            ),
            None,
        )
    })
}

/// `training_days` (default 14) as milliseconds; it must be positive.
fn training_ms(site: &Site, days: Option<f64>) -> Result<i64, SpecError> {
    let days = days.unwrap_or(14.0);
    if !(days > 0.0 && days.is_finite()) {
        return Err(site.err(
            "training_days",
            "`training_days` must be positive".into(),
            None,
        ));
    }
    Ok((days * DAY_MS as f64) as i64)
}

/// Exactly one of `threshold`, `percentile`, `anomaly`, `present`, with its model's defaults
/// (a band refits hourly, or every period when the period is longer).
pub(super) fn resolve_condition(
    site: &Site,
    c: &v1::ConditionV1,
    period_s: Option<i64>,
) -> Result<Condition, SpecError> {
    if c.kinds().count() != 1 {
        return Err(site.err(
            "condition",
            "`condition` needs exactly one of `threshold`, `percentile`, `anomaly`, `present`"
                .into(),
            None,
        ));
    }
    if c.present.is_some() {
        return Ok(Condition::Present);
    }
    let refit_default = HOUR_MS.max(period_s.unwrap_or(60) * SECOND_MS);
    if let Some(t) = &c.threshold {
        let value = t
            .value
            .ok_or_else(|| site.err("threshold", "`threshold.value` is required".into(), None))?;
        if !value.is_finite() {
            return Err(site.err(
                "value",
                format!("`threshold.value` must be a finite number, got `{value}`"),
                None,
            ));
        }
        return Ok(Condition::Threshold {
            op: comparison(site, &t.op)?,
            value,
        });
    }
    if let Some(p) = &c.percentile {
        let percentile = p.p.unwrap_or(99.0);
        if !(0.0..=100.0).contains(&percentile) {
            return Err(site.err(
                "p",
                format!("`p` {percentile} is not a percentile between 0 and 100"),
                None,
            ));
        }
        let training_ms = training_ms(site, p.training_days)?;
        let model = PercentileModel {
            percentile,
            training_ms,
            refit_ms: refit_default,
            factor: p.factor.unwrap_or(1.0),
        };
        return Ok(Condition::Percentile {
            op: comparison(site, &p.op)?,
            model,
        });
    }
    let an = c.anomaly.as_ref().expect("checked above");
    let k = an.k.unwrap_or(2.0);
    if !(k > 0.0 && k.is_finite()) {
        return Err(site.err(
            "k",
            format!("`k` must be a positive number of standard deviations, got {k}"),
            None,
        ));
    }
    let direction = match an.direction.as_deref() {
        None => Direction::Both,
        Some(d) => Direction::parse(d).ok_or_else(|| {
            site.err(
                "direction",
                format!(
                    "`direction` `{d}`: expected one of {}",
                    Direction::NAMES.join(", ")
                ),
                None,
            )
        })?,
    };
    let model_name = an.model.as_deref().unwrap_or("seasonal");
    let model = match model_name {
        "seasonal" => {
            let training_ms = training_ms(site, an.training_days)?;
            let seasonality = match an.seasonality.as_deref() {
                None | Some("auto") => None,
                Some(s) => Some(Seasonality::parse(s).ok_or_else(|| {
                    site.err(
                        "seasonality",
                        format!(
                            "`seasonality` `{s}`: expected auto, none, hourly, daily or weekly"
                        ),
                        None,
                    )
                })?),
            };
            let defaults = SeasonalModel::default();
            let d = |key: &str, v: &Option<v1::Duration>, default| site.duration(key, v, default);
            AnomalyModel::Seasonal(SeasonalModel {
                training_ms,
                refit_ms: d("refit", &an.refit, defaults.refit_ms)?.max(1),
                min_history_ms: d("min_history", &an.min_history, defaults.min_history_ms)?,
                seasonality,
            })
        }
        "promql" => {
            let window_ms = site.duration("window", &an.window, HOUR_MS)?;
            if window_ms <= 0 {
                return Err(site.err("window", "`window` must be positive".into(), None));
            }
            let season_ms = site.duration("season", &an.season, 0)?;
            let smooth_ms = site.duration("smooth", &an.smooth, 0)?;
            AnomalyModel::Promql(PromqlModel {
                window_ms,
                season_ms,
                smooth_ms,
                version: PrometheusVersion::V2,
            })
        }
        "replay" => {
            let k0 = an.k0.unwrap_or(2.0);
            if !(k0 > 0.0 && k0.is_finite()) {
                return Err(site.err("k0", format!("`k0` must be positive, got {k0}"), None));
            }
            let data = an.band_data.clone().ok_or_else(|| {
                site.err("model", "a `replay` band needs `band_data`: the fetched `ANOMALY_DETECTION_BAND` series".into(), None)
            })?;
            let data = relative_to_spec(site.ctx.path, &site.template("band_data", &data)?);
            AnomalyModel::Replay(ReplayModel { k0, data })
        }
        other => {
            return Err(site.err(
                "model",
                format!("anomaly `model` `{other}` is not available in this build"),
                Some("available: seasonal, promql, replay".into()),
            ));
        }
    };
    Ok(Condition::Anomaly {
        model,
        k,
        direction,
    })
}
