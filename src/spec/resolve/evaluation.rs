//! `evaluation` and `notify`: how often and over how much each engine decides, and what it sends.

use super::{evaluation_limit_s, Site, MAX_EVALUATION_PERIODS};
use crate::engine::cloudwatch::{CloudWatchConfig, TreatMissingData};
use crate::engine::prometheus::{PrometheusConfig, PrometheusVersion};
use crate::notify::{AlertmanagerConfig, CloudWatchActions};
use crate::series::time::SECOND_MS;
use crate::spec::model::CloudWatchMetric;
use crate::spec::v1;
use crate::spec::SpecError;

/// M of N, the evaluation range, missing data and the window kind, within CloudWatch's limits for
/// the metric's period.
pub(super) fn cloudwatch_config(
    site: &Site,
    evaluation: &v1::EvaluationV1,
    cloudwatch: Option<&CloudWatchMetric>,
) -> Result<CloudWatchConfig, SpecError> {
    let n = evaluation.evaluation_periods.unwrap_or(1);
    let m = evaluation.datapoints_to_alarm.unwrap_or(n);
    if n == 0 {
        return Err(site.err(
            "evaluation_periods",
            "`evaluation_periods` must be at least 1".into(),
            None,
        ));
    }
    if m == 0 || m > n {
        return Err(site.err(
            "datapoints_to_alarm",
            format!("`datapoints_to_alarm` ({m}) must be between 1 and `evaluation_periods` ({n})"),
            Some("M of N: alarm when M of the last N datapoints breach".into()),
        ));
    }
    if let Some(cw) = cloudwatch {
        let limit = evaluation_limit_s(cw.period_s);
        if cw.period_s * n as i64 > limit {
            return Err(site.err(
                "evaluation_periods",
                format!(
                    "`period` × `evaluation_periods` = {} s exceeds CloudWatch's limit of {limit} s",
                    cw.period_s * n as i64
                ),
                None,
            ));
        }
    }
    if n > MAX_EVALUATION_PERIODS
        || evaluation.evaluation_range.unwrap_or(0) > MAX_EVALUATION_PERIODS
    {
        return Err(site.err(
            "evaluation_periods",
            format!("`evaluation_periods` and `evaluation_range` may be at most {MAX_EVALUATION_PERIODS}"),
            None,
        ));
    }
    let r = evaluation.evaluation_range.unwrap_or(n + 2);
    if r < n {
        return Err(site.err(
            "evaluation_range",
            format!("`evaluation_range` ({r}) must be at least `evaluation_periods` ({n})"),
            None,
        ));
    }
    let mut treat: TreatMissingData = match &evaluation.treat_missing_data {
        None => TreatMissingData::Missing,
        Some(t) => t.parse().map_err(|e: String| {
            site.err(
                "treat_missing_data",
                format!("`treat_missing_data`: {e}"),
                None,
            )
        })?,
    };
    if cloudwatch.is_some_and(|c| c.forces_ignore()) {
        treat = TreatMissingData::Ignore;
    }
    let wall_clock = match evaluation.evaluation_window.as_deref() {
        None | Some("sliding") | Some("SlidingWindow") => false,
        Some("wallClock") | Some("WallClockWindow") => true,
        Some(other) => {
            return Err(site.err(
                "evaluation_window",
                format!("`evaluation_window` `{other}`: expected `sliding` or `wallClock`"),
                None,
            ))
        }
    };
    Ok(CloudWatchConfig {
        evaluation_periods: n,
        datapoints_to_alarm: m,
        evaluation_range: r,
        treat_missing_data: treat,
        wall_clock,
    })
}

/// The rule's interval, phase, `for`, `keep_firing_for`, lookback delta and Prometheus version.
pub(super) fn prometheus_config(
    site: &Site,
    evaluation: &v1::EvaluationV1,
) -> Result<PrometheusConfig, SpecError> {
    let prom = PrometheusConfig {
        interval_ms: site.duration("interval", &evaluation.interval, 60 * SECOND_MS)?,
        phase_ms: site.duration("phase", &evaluation.phase, 0)?,
        for_ms: site.duration("for", &evaluation.for_, 0)?,
        keep_firing_for_ms: site.duration("keep_firing_for", &evaluation.keep_firing_for, 0)?,
        lookback_ms: site.duration(
            "lookback_delta",
            &evaluation.lookback_delta,
            5 * 60 * SECOND_MS,
        )?,
        version: match evaluation.prometheus_version {
            None | Some(2) => PrometheusVersion::V2,
            Some(3) => PrometheusVersion::V3,
            Some(other) => {
                return Err(site.err(
                    "prometheus_version",
                    format!("`prometheus_version` {other}: expected 2 or 3"),
                    Some("Prometheus 3 excludes a sample exactly `lookback_delta` (or a range) old; 2.x includes it".into()),
                ))
            }
        },
    };
    if prom.interval_ms < SECOND_MS {
        return Err(site.err("interval", "`interval` must be at least 1s".into(), None));
    }
    Ok(prom)
}

/// Which CloudWatch state changes notify.
pub(super) fn cloudwatch_actions(notify: &v1::NotifyV1) -> CloudWatchActions {
    CloudWatchActions {
        alarm: notify.alarm_actions.unwrap_or(true),
        ok: notify.ok_actions.unwrap_or(true),
        insufficient_data: notify.insufficient_data_actions.unwrap_or(false),
    }
}

/// Alertmanager's route timings, `repeat_interval` rounded up to a flush.
pub(super) fn alertmanager(
    site: &Site,
    notify: &v1::NotifyV1,
) -> Result<AlertmanagerConfig, SpecError> {
    let defaults = AlertmanagerConfig::default();
    let mut alertmanager = AlertmanagerConfig {
        group_wait_ms: site.duration("group_wait", &notify.group_wait, defaults.group_wait_ms)?,
        group_interval_ms: site.duration(
            "group_interval",
            &notify.group_interval,
            defaults.group_interval_ms,
        )?,
        repeat_interval_ms: site.duration(
            "repeat_interval",
            &notify.repeat_interval,
            defaults.repeat_interval_ms,
        )?,
        send_resolved: notify.send_resolved.unwrap_or(true),
    };
    // Alertmanager refuses either at zero ("cannot be zero" in its route checks).
    for (key, ms) in [
        ("group_interval", alertmanager.group_interval_ms),
        ("repeat_interval", alertmanager.repeat_interval_ms),
    ] {
        if ms <= 0 {
            return Err(site.err(key, format!("`{key}` must be positive"), None));
        }
    }
    // Alertmanager can only repeat at a flush: round up to a multiple of group_interval.
    let gi = alertmanager.group_interval_ms;
    alertmanager.repeat_interval_ms = (alertmanager.repeat_interval_ms + gi - 1) / gi * gi;
    Ok(alertmanager)
}
