//! `GetMetricData` over a long span, for many metrics at once, within CloudWatch's limits:
//! at most [`MAX_QUERIES`] queries and [`MAX_DATAPOINTS`] datapoints per call (the range is split
//! into windows aligned to the period, so no period is fetched twice or skipped at a seam), every
//! page followed (`NextToken`; a page may carry `PartialData`), `ScanBy=TimestampAscending`, and
//! each query's points merged into one series in time order, each timestamp once.
//!
//! With a band width `k0`, each metric also gets `ANOMALY_DETECTION_BAND(m, k0)`: CloudWatch
//! answers it with two results under the band's id, labelled `… Upper` and `… Lower`; they are
//! saved as [`band_series_name`]s beside the metric, the shape the `replay` band model reads.
//!
//! CloudWatch keeps 1-minute data 15 days, 5-minute data 63 days and 1-hour data 455 days (data
//! under a minute 3 hours): [`retention_notes`] says when a range reaches past what its period
//! keeps, and which period to use instead.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, StatusCode,
};
use aws_sdk_cloudwatch::Client;

use crate::aws::{self, AwsError, CloudWatch};
use crate::series::{selector_name, Series, Statistic};

/// Queries per `GetMetricData` call (CloudWatch's limit).
pub const MAX_QUERIES: usize = 500;
/// Datapoints per `GetMetricData` call, over all its queries (CloudWatch's limit).
pub const MAX_DATAPOINTS: i64 = 100_800;
/// Pages followed for one call before giving up (a server repeating its token).
const MAX_PAGES: usize = 10_000;

/// One metric to fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRequest {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: BTreeMap<String, String>,
    pub stat: Statistic,
    pub period_s: i64,
    /// Also fetch `ANOMALY_DETECTION_BAND(m, k0)`.
    pub band_k0: Option<f64>,
}

impl MetricRequest {
    /// The name of the fetched series: the metric name and its dimensions as a selector, e.g.
    /// `ConcurrentExecutions{FunctionName="api"}`.
    pub fn series_name(&self) -> String {
        selector_name(&self.metric_name, &self.dimensions)
    }

    /// For messages: namespace, metric, dimensions, statistic and period.
    pub fn describe(&self) -> String {
        let dims: Vec<String> = self
            .dimensions
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "{} {}{} ({}, {} s)",
            self.namespace,
            self.metric_name,
            if dims.is_empty() {
                String::new()
            } else {
                format!(" [{}]", dims.join(", "))
            },
            self.stat,
            self.period_s
        )
    }

    fn queries(&self) -> usize {
        1 + usize::from(self.band_k0.is_some())
    }

    /// Result series per call: the metric, and the band's upper and lower.
    fn result_series(&self) -> i64 {
        1 + 2 * i64::from(self.band_k0.is_some())
    }
}

/// The name under which one side of a fetched band is saved.
pub fn band_series_name(metric: &MetricRequest, upper: bool) -> String {
    format!(
        "ANOMALY_DETECTION_BAND({}, {}) {}",
        metric.series_name(),
        metric.band_k0.unwrap_or(0.0),
        if upper { "upper" } else { "lower" }
    )
}

/// One `GetMetricData` call (before pagination): some metrics over one window `[start, end)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Indices into the request's metrics.
    pub metrics: Vec<usize>,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// The range actually requested, `[start, end)` on period boundaries (CloudWatch's datapoints sit
/// on them): from the period holding `start` through the period holding `end`, which is inclusive
/// as in `fetch prometheus`.
pub fn aligned(start_ms: i64, end_ms: i64, period_s: i64) -> (i64, i64) {
    let p = period_s * 1000;
    (start_ms.div_euclid(p) * p, end_ms.div_euclid(p) * p + p)
}

/// Split the work into calls: metrics grouped by period; per group, windows of as many periods
/// as the call's datapoint budget allows, and as many metrics per call as fit both limits.
pub fn plan(metrics: &[MetricRequest], start_ms: i64, end_ms: i64) -> Vec<Call> {
    let mut by_period: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, m) in metrics.iter().enumerate() {
        by_period.entry(m.period_s.max(1)).or_default().push(i);
    }
    let mut calls = Vec::new();
    for (period_s, group) in by_period {
        let (start, end) = aligned(start_ms, end_ms, period_s);
        let period_ms = period_s * 1000;
        let points = ((end - start) / period_ms).max(1);
        let widest = group
            .iter()
            .map(|&i| metrics[i].result_series())
            .max()
            .unwrap_or(1);
        let window_points = points.min(MAX_DATAPOINTS / widest).max(1);
        // Metrics per call under both limits.
        let mut batches: Vec<Vec<usize>> = Vec::new();
        let (mut queries, mut series) = (0usize, 0i64);
        for &i in &group {
            let m = &metrics[i];
            let fits = queries + m.queries() <= MAX_QUERIES
                && (series + m.result_series()) * window_points <= MAX_DATAPOINTS;
            if batches.is_empty() || !fits {
                batches.push(Vec::new());
                (queries, series) = (0, 0);
            }
            batches.last_mut().expect("pushed above").push(i);
            queries += m.queries();
            series += m.result_series();
        }
        for batch in batches {
            let mut window_start = start;
            while window_start < end {
                let window_end = (window_start + window_points * period_ms).min(end);
                calls.push(Call {
                    metrics: batch.clone(),
                    start_ms: window_start,
                    end_ms: window_end,
                });
                window_start = window_end;
            }
        }
    }
    calls
}

/// Notes on the parts of `[start, end)` that CloudWatch no longer keeps at `period_s`, each
/// naming the period to use instead.
pub fn retention_notes(period_s: i64, start_ms: i64, now_ms: i64) -> Vec<String> {
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    // (kept for, period granularity needed beyond the previous tier)
    let tiers = [
        (3 * HOUR, 1),
        (15 * DAY, 60),
        (63 * DAY, 300),
        (455 * DAY, 3600),
    ];
    let age = now_ms - start_ms;
    let mut notes = Vec::new();
    if age > 455 * DAY {
        notes.push(format!(
            "the range starts {} days ago; CloudWatch keeps no data older than 455 days (nothing before {})",
            age / DAY,
            crate::series::time::format_rfc3339(now_ms - 455 * DAY)
        ));
    }
    let needed = tiers
        .iter()
        .find(|(kept, _)| age <= *kept)
        .map(|t| t.1)
        .unwrap_or(3600);
    if period_s % needed != 0 {
        let kept = |p: i64| match p {
            p if p % 3600 == 0 => "455 days",
            p if p % 300 == 0 => "63 days",
            p if p % 60 == 0 => "15 days",
            _ => "3 hours",
        };
        let suggestion = period_s.div_euclid(needed) * needed + needed;
        notes.push(format!(
            "{period_s} s data is kept {}, and the range starts {:.1} days ago: CloudWatch returns nothing at this period for the older part\nhint: use `--period {suggestion}` (a multiple of {needed} s, kept {}), or start later",
            kept(period_s),
            age as f64 / DAY as f64,
            kept(needed)
        ));
    }
    notes
}

/// What one fetch returned.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Per requested metric: the metric's series, then the band's lower and upper when asked.
    pub series: Vec<Vec<Series>>,
    /// Calls made (each maybe several pages).
    pub calls: usize,
    pub pages: usize,
    /// CloudWatch's messages and partial-data notes, for stderr.
    pub notes: Vec<String>,
}

/// Which result a `MetricDataResult` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Metric,
    Lower,
    Upper,
}

fn query_id(index: usize, band: bool) -> String {
    format!("{}{index}", if band { "b" } else { "m" })
}

fn queries(metrics: &[MetricRequest], call: &Call) -> Vec<MetricDataQuery> {
    let mut out = Vec::new();
    for &i in &call.metrics {
        let m = &metrics[i];
        let mut metric = Metric::builder()
            .namespace(&m.namespace)
            .metric_name(&m.metric_name);
        for (name, value) in &m.dimensions {
            metric = metric.dimensions(Dimension::builder().name(name).value(value).build());
        }
        out.push(
            MetricDataQuery::builder()
                .id(query_id(i, false))
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric.build())
                        .period(m.period_s as i32)
                        .stat(m.stat.to_string())
                        .build(),
                )
                .return_data(true)
                .build(),
        );
        if let Some(k0) = m.band_k0 {
            out.push(
                MetricDataQuery::builder()
                    .id(query_id(i, true))
                    .expression(format!(
                        "ANOMALY_DETECTION_BAND({}, {k0})",
                        query_id(i, false)
                    ))
                    .return_data(true)
                    .build(),
            );
        }
    }
    out
}

/// Make the `calls` [`plan`] made for `metrics`, calling `progress` after each.
pub async fn fetch(
    cloudwatch: &CloudWatch,
    metrics: &[MetricRequest],
    calls: &[Call],
    mut progress: impl FnMut(),
) -> Result<Fetched, AwsError> {
    let (client, target) = (&cloudwatch.client, cloudwatch.target.as_str());
    let mut points: BTreeMap<(usize, Part), BTreeMap<i64, f64>> = BTreeMap::new();
    let mut fetched = Fetched {
        calls: calls.len(),
        ..Fetched::default()
    };
    let by_id: BTreeMap<String, usize> = (0..metrics.len())
        .flat_map(|i| [(query_id(i, false), i), (query_id(i, true), i)])
        .collect();
    for call in calls {
        // Every page of a call repeats its queries.
        let call_queries = queries(metrics, call);
        let mut token: Option<String> = None;
        let mut seen_tokens = std::collections::HashSet::new();
        loop {
            let answer = client
                .get_metric_data()
                .set_metric_data_queries(Some(call_queries.clone()))
                .start_time(DateTime::from_millis(call.start_ms))
                .end_time(DateTime::from_millis(call.end_ms))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| aws::explain(&e, "cloudwatch:GetMetricData", target))?;
            fetched.pages += 1;
            for message in answer.messages() {
                fetched.notes.push(format!(
                    "CloudWatch: {}: {}",
                    message.code().unwrap_or("message"),
                    message.value().unwrap_or("")
                ));
            }
            for result in answer.metric_data_results() {
                let id = result.id().unwrap_or("");
                let Some(&index) = by_id.get(id) else {
                    return Err(AwsError::Runtime(format!(
                        "cloudwatch:GetMetricData ({target}): a result for query `{id}`, which was not asked"
                    )));
                };
                let part = if id.starts_with('b') {
                    let label = result.label().unwrap_or("").to_ascii_lowercase();
                    if label.contains("upper") {
                        Part::Upper
                    } else if label.contains("lower") {
                        Part::Lower
                    } else {
                        return Err(AwsError::Runtime(format!(
                            "cloudwatch:GetMetricData ({target}): band result labelled `{}`: expected its label to say Upper or Lower",
                            result.label().unwrap_or("")
                        )));
                    }
                } else {
                    Part::Metric
                };
                let what = metrics[index].describe();
                match result.status_code() {
                    Some(StatusCode::InternalError) => {
                        return Err(AwsError::Runtime(format!(
                            "cloudwatch:GetMetricData ({target}): CloudWatch could not compute {what}{}",
                            messages(result.messages())
                        )))
                    }
                    Some(StatusCode::Forbidden) => {
                        return Err(AwsError::Runtime(format!(
                            "cloudwatch:GetMetricData ({target}): access to {what} is forbidden{}\nhint: the identity needs `cloudwatch:GetMetricData` on it",
                            messages(result.messages())
                        )))
                    }
                    Some(StatusCode::PartialData) if answer.next_token().is_none() => {
                        fetched.notes.push(format!(
                            "CloudWatch marked {what} partial on its last page{}",
                            messages(result.messages())
                        ));
                    }
                    _ => {}
                }
                let series = points.entry((index, part)).or_default();
                let (timestamps, values) = (result.timestamps(), result.values());
                if timestamps.len() != values.len() {
                    return Err(AwsError::Runtime(format!(
                        "cloudwatch:GetMetricData ({target}): {what}: {} timestamps but {} values in one result",
                        timestamps.len(),
                        values.len()
                    )));
                }
                for (t, v) in timestamps.iter().zip(values) {
                    let ms = t.to_millis().map_err(|e| {
                        AwsError::Runtime(format!(
                            "cloudwatch:GetMetricData ({target}): {what}: timestamp out of range: {e}"
                        ))
                    })?;
                    if (call.start_ms..call.end_ms).contains(&ms) {
                        series.insert(ms, *v);
                    }
                }
            }
            match answer.next_token() {
                Some(next) if !next.is_empty() => {
                    if !seen_tokens.insert(next.to_string()) || seen_tokens.len() > MAX_PAGES {
                        return Err(AwsError::Runtime(format!(
                            "cloudwatch:GetMetricData ({target}): the server repeated a NextToken; stopping"
                        )));
                    }
                    token = Some(next.to_string());
                }
                _ => break,
            }
        }
        progress();
    }
    fetched.series = metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let parts: &[Part] = if m.band_k0.is_some() {
                &[Part::Metric, Part::Lower, Part::Upper]
            } else {
                &[Part::Metric]
            };
            parts
                .iter()
                .map(|part| {
                    let rows = points.remove(&(i, *part)).unwrap_or_default();
                    let name = match part {
                        Part::Metric => m.series_name(),
                        Part::Lower => band_series_name(m, false),
                        Part::Upper => band_series_name(m, true),
                    };
                    let (timestamps, values): (Vec<i64>, Vec<f64>) = rows.into_iter().unzip();
                    let mut s = Series::from_sorted(name, timestamps, values);
                    s.labels = m.dimensions.clone();
                    s
                })
                .collect()
        })
        .collect();
    Ok(fetched)
}

fn messages(list: &[aws_sdk_cloudwatch::types::MessageData]) -> String {
    let text: Vec<String> = list
        .iter()
        .map(|m| format!("{}: {}", m.code().unwrap_or(""), m.value().unwrap_or("")))
        .collect();
    if text.is_empty() {
        String::new()
    } else {
        format!(" ({})", text.join("; "))
    }
}

/// When a metric returned nothing: the metrics CloudWatch does have under that name (other
/// dimension sets) or near names in the namespace, from `ListMetrics`. Empty when it cannot say
/// (no permission, nothing close); never an error — this only improves a message.
pub async fn near_matches(client: &Client, metric: &MetricRequest) -> Vec<String> {
    let same_name = client
        .list_metrics()
        .namespace(&metric.namespace)
        .metric_name(&metric.metric_name)
        .send()
        .await;
    if let Ok(answer) = &same_name {
        let found: Vec<String> = answer
            .metrics()
            .iter()
            .take(5)
            .map(|m| {
                let dims: Vec<String> = m
                    .dimensions()
                    .iter()
                    .map(|d| format!("{}={}", d.name().unwrap_or(""), d.value().unwrap_or("")))
                    .collect();
                format!(
                    "{} [{}]",
                    m.metric_name().unwrap_or(&metric.metric_name),
                    dims.join(", ")
                )
            })
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    let Ok(answer) = client
        .list_metrics()
        .namespace(&metric.namespace)
        .send()
        .await
    else {
        return Vec::new();
    };
    let mut names: Vec<(f64, String)> = answer
        .metrics()
        .iter()
        .filter_map(|m| m.metric_name())
        .map(|n| (strsim::jaro_winkler(n, &metric.metric_name), n.to_string()))
        .filter(|(score, _)| *score > 0.8)
        .collect();
    names.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    names.dedup_by(|a, b| a.1 == b.1);
    names.into_iter().take(5).map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests;
