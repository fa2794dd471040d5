//! Replaying a CloudWatch alarm over one series.

use std::rc::Rc;

use super::context::{band_condition, rule_of};
use super::{prepare, BacktestResult, PreparedCondition, ReplayBounds, SeriesContext};
use crate::band::{self, Rule};
use crate::engine::mofn::Classified;
use crate::engine::{cloudwatch, Detail};
use crate::notify;
use crate::score::{self, FlapRule};
use crate::series::time::format_duration;
use crate::series::Series;
use crate::spec::ResolvedAlert;

/// Replay the CloudWatch alarm of `alert` over one raw series.
pub fn run_cloudwatch(
    alert: &ResolvedAlert,
    ctx: &SeriesContext,
    span: (i64, i64),
    replay: Option<&ReplayBounds>,
    detail: Detail,
) -> Option<BacktestResult> {
    cloudwatch_replay(alert, ctx, span, replay, detail).map(|r| r.result)
}

/// A CloudWatch replay with what it was computed from: the period grid, the band and rule the
/// datapoints were compared with, and the classification (what a chart draws).
pub struct CloudWatchReplay {
    pub grid: Rc<Series>,
    pub prepared: Rc<PreparedCondition>,
    pub rule: Rule,
    pub breach: Rc<Classified>,
    /// `DatapointsToAlarm` and `EvaluationPeriods`.
    pub m_of_n: (usize, usize),
    pub result: BacktestResult,
}

/// [`run_cloudwatch`], keeping the grid, band and classification.
pub fn cloudwatch_replay(
    alert: &ResolvedAlert,
    ctx: &SeriesContext,
    span: (i64, i64),
    replay: Option<&ReplayBounds>,
    detail: Detail,
) -> Option<CloudWatchReplay> {
    let metric = alert.cloudwatch.as_ref()?;
    let period_ms = metric.period_s * 1000;
    let grid = ctx.grid(period_ms, metric.stat, span);
    let key = (
        (period_ms, metric.stat, span),
        band_condition(&alert.condition),
    );
    let prepared = ctx.cloudwatch_bands.get(key, || {
        prepare(
            &alert.condition,
            &grid.timestamps,
            &grid.values,
            period_ms,
            replay,
        )
    });
    let rule = rule_of(&alert.condition, &prepared.rule);
    // One classification per band and rule: M-of-N settings of one k share it.
    let band_address = Rc::as_ptr(&prepared) as usize;
    let breach = ctx.breaches.get((band_address, rule), || {
        band::classified(&grid.values, &prepared.band, &rule)
    });
    let timeline = cloudwatch::evaluate_classified(
        &breach,
        grid.timestamps.first().copied().unwrap_or(0),
        period_ms,
        &alert.cw,
        detail,
    );
    let noise = score::noise(&timeline, &FlapRule::default());
    let notifications = match detail {
        Detail::Full => notify::cloudwatch_notifications(&timeline.transitions, &alert.actions),
        Detail::Episodes => 0,
    };
    let mut result = BacktestResult::new(
        alert,
        "cloudwatch",
        &ctx.raw.name,
        timeline,
        noise,
        notifications,
    );
    result.evaluations = breach.len();
    result.warm_up_evaluations = prepared.warm_up_points;
    result.seasonality = prepared.seasonality.clone();
    if let Some(step) = ctx.step_ms.filter(|s| *s > period_ms) {
        result.warnings.push(format!(
            "data step {} is coarser than the alarm period {}: most periods have no datapoint",
            format_duration(step),
            format_duration(period_ms)
        ));
    }
    result.warnings.extend(super::implausible_start(ctx.raw));
    Some(CloudWatchReplay {
        grid,
        prepared,
        rule,
        breach,
        m_of_n: (alert.cw.datapoints_to_alarm, alert.cw.evaluation_periods),
        result,
    })
}
