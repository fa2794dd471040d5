//! `alertlab fetch cloudwatch`: one metric (`--namespace --metric --dimension --stat --period`) or
//! every CloudWatch metric of a spec (per env, dimensions with `{{env}}` substituted), fetched with
//! GetMetricData (`fetch::cloudwatch`), optionally with the real anomaly band at `--band K0`.
//!
//! A metric that returns no datapoint at all is almost always a misspelt name or dimension: exit 1,
//! nothing written, and the message names metric, dimensions, range and region, lists what
//! `ListMetrics` knows under that name, and gives the `aws cloudwatch list-metrics` command.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::fetch::{check_extension, write_with_meta};
use super::UsageError;
use crate::aws::{self, AwsError};
use crate::fetch::cloudwatch::{self as cw, MetricRequest};
use crate::series::time::{format_rfc3339, parse_duration};
use crate::series::{Series, Statistic};
use crate::spec::model::{AnomalyModel, Condition};

#[derive(clap::Args, Debug)]
pub struct CloudWatchArgs {
    /// The metric's namespace, e.g. `AWS/Lambda`; or `--spec` for every CloudWatch metric of a spec.
    #[arg(long, conflicts_with = "spec", requires_all = ["metric"])]
    pub namespace: Option<String>,
    /// The metric's name, e.g. `ConcurrentExecutions`.
    #[arg(long, conflicts_with = "spec")]
    pub metric: Option<String>,
    /// A dimension `NAME=VALUE` (repeat for several).
    #[arg(long = "dimension", conflicts_with = "spec")]
    pub dimensions: Vec<String>,
    /// Statistic: Average, Sum, Minimum, Maximum, SampleCount or pNN.
    #[arg(long, default_value = "Average", conflicts_with = "spec")]
    pub stat: String,
    /// Period, in seconds or as a duration (`300`, `5m`).
    #[arg(long, default_value = "300", conflicts_with = "spec")]
    pub period: String,
    /// Also fetch `ANOMALY_DETECTION_BAND(m, K0)`, the band AWS drew at width K0, into the same
    /// file (what the `replay` band model reads). With `--spec`: for its anomaly alerts (an alert
    /// with a `replay` model uses its own `k0` without this).
    #[arg(long, value_name = "K0")]
    pub band: Option<f64>,
    #[command(flatten)]
    pub target: super::fetch::Target,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// How to reach AWS, beside the standard configuration (`fetch cloudwatch`, `import cloudwatch
/// --live`).
#[derive(clap::Args, Debug, Clone)]
pub struct AwsArgs {
    /// The AWS profile (else AWS_PROFILE, else `default`).
    #[arg(long)]
    pub profile: Option<String>,
    /// The AWS region (else AWS_REGION or the profile's).
    #[arg(long)]
    pub region: Option<String>,
    /// PEM CA certificates to trust besides the system's (a TLS-inspecting proxy).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

impl AwsArgs {
    pub fn connection(&self, timeout: Duration) -> aws::Connection {
        aws::Connection {
            profile: self.profile.clone(),
            region: self.region.clone(),
            ca_file: self.ca_file.clone(),
            timeout,
        }
    }
}

/// One output file: the metric to fetch and where it goes.
struct Job {
    metric: MetricRequest,
    out: PathBuf,
}

/// An AWS failure as the CLI reports it: bad input exits 2, the rest 1.
pub(super) fn aws_error(e: AwsError) -> anyhow::Error {
    match e {
        AwsError::Usage(m) => UsageError(m).into(),
        AwsError::Runtime(m) => anyhow::anyhow!(m),
    }
}

fn single(a: &CloudWatchArgs, namespace: &str) -> Result<Job, UsageError> {
    let metric_name = a
        .metric
        .clone()
        .ok_or_else(|| UsageError("`--namespace` needs `--metric`".into()))?;
    let stat: Statistic = a
        .stat
        .parse()
        .map_err(|e| UsageError(format!("`--stat`: {e}")))?;
    let period_s = a
        .period
        .parse::<i64>()
        .ok()
        .or_else(|| parse_duration(&a.period).map(|ms| ms / 1000))
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            UsageError(format!(
                "`--period {}`: expected seconds (`300`) or a duration (`5m`)",
                a.period
            ))
        })?;
    if period_s >= 60 && period_s % 60 != 0
        || period_s < 60 && ![1, 5, 10, 20, 30].contains(&period_s)
    {
        return Err(UsageError(format!(
            "`--period {period_s}`: CloudWatch periods are 1, 5, 10, 20, 30 s or a multiple of 60 s"
        )));
    }
    if period_s > i64::from(i32::MAX) {
        return Err(UsageError(format!(
            "`--period {period_s}`: longer than CloudWatch accepts"
        )));
    }
    let mut dimensions = BTreeMap::new();
    for d in &a.dimensions {
        let (k, v) = d
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| UsageError(format!("`--dimension {d}`: expected NAME=VALUE")))?;
        dimensions.insert(k.to_string(), v.to_string());
    }
    check_extension(&a.target.out)?;
    Ok(Job {
        metric: MetricRequest {
            namespace: namespace.to_string(),
            metric_name,
            dimensions,
            stat,
            period_s,
            band_k0: a.band,
        },
        out: a.target.out.clone(),
    })
}

fn from_spec(a: &CloudWatchArgs, spec: &std::path::Path) -> anyhow::Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for (alert, out) in a.target.spec_alerts(spec)? {
        let Some(metric) = &alert.cloudwatch else {
            continue;
        };
        let band_k0 = match &alert.condition {
            Condition::Anomaly {
                model: AnomalyModel::Replay(m),
                ..
            } => Some(a.band.unwrap_or(m.k0)),
            Condition::Anomaly { .. } => a.band,
            _ => None,
        };
        jobs.push(Job {
            metric: MetricRequest {
                namespace: metric.namespace.clone(),
                metric_name: metric.metric_name.clone(),
                dimensions: metric.dimensions.clone(),
                stat: metric.stat,
                period_s: metric.period_s,
                band_k0,
            },
            out,
        });
    }
    if jobs.is_empty() {
        return Err(UsageError(format!(
            "`{}`: no CloudWatch alert{}",
            spec.display(),
            if a.target.env.is_empty() {
                String::new()
            } else {
                format!(" in env {}", a.target.env.join(", "))
            }
        ))
        .into());
    }
    Ok(jobs)
}

pub fn run(a: CloudWatchArgs) -> anyhow::Result<ExitCode> {
    if let Some(k0) = a.band.filter(|k| !(k.is_finite() && *k > 0.0)) {
        return Err(UsageError(format!(
            "`--band {k0}`: expected a band width in standard deviations above 0 (e.g. 2)"
        ))
        .into());
    }
    if a.target.end < a.target.start {
        return Err(UsageError("`--end` is before `--start`".into()).into());
    }
    let timeout = a.target.timeout()?;
    let jobs = match (&a.namespace, &a.target.spec) {
        (Some(ns), None) => vec![single(&a, ns)?],
        (None, Some(spec)) => from_spec(&a, spec)?,
        _ => {
            return Err(UsageError(
                "give `--namespace NS --metric NAME ...` or `--spec F|DIR`".into(),
            )
            .into())
        }
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let mut retention = BTreeMap::new();
    for job in &jobs {
        let notes = cw::retention_notes(job.metric.period_s, a.target.start, now_ms);
        retention.entry(job.metric.period_s).or_insert(notes);
    }
    for note in retention.values().flatten() {
        eprintln!("warning: {note}");
    }
    let connection = a.aws.connection(timeout);
    let metrics: Vec<MetricRequest> = jobs.iter().map(|j| j.metric.clone()).collect();
    let calls = cw::plan(&metrics, a.target.start, a.target.end);
    let progress = crate::progress::Progress::new(calls.len() as u64, "GetMetricData calls");
    let (fetched, near, target) = aws::block_on(async {
        let cloudwatch = aws::client(&connection).await?;
        let fetched = cw::fetch(&cloudwatch, &metrics, &calls, || progress.advance(1)).await?;
        // The first metric that came back empty, with what CloudWatch has near it.
        let empty = fetched.series.iter().position(|s| s[0].is_empty());
        let near = match empty {
            Some(i) => Some((i, cw::near_matches(&cloudwatch.client, &metrics[i]).await)),
            None => None,
        };
        Ok::<_, AwsError>((fetched, near, cloudwatch.target))
    })
    .and_then(|r| r)
    .map_err(aws_error)?;
    progress.finish();
    for note in &fetched.notes {
        eprintln!("warning: {note}");
    }
    for (m, series) in metrics.iter().zip(&fetched.series) {
        if m.band_k0.is_some() && !series[0].is_empty() && series[1..].iter().all(|s| s.is_empty())
        {
            eprintln!(
                "warning: no ANOMALY_DETECTION_BAND came back for {}: CloudWatch had no anomaly detection model for it over the range (one is created with the first anomaly alarm or graph on it)",
                m.describe()
            );
        }
    }
    if let Some((i, near)) = near {
        let notes = retention
            .get(&metrics[i].period_s)
            .cloned()
            .unwrap_or_default();
        anyhow::bail!(no_data(&metrics[i], &near, &notes, &a, &target));
    }
    if a.target.spec.is_some() {
        std::fs::create_dir_all(&a.target.out)?;
    }
    for (job, series) in jobs.iter().zip(&fetched.series) {
        write(job, series, &a, &fetched, &target)?;
    }
    if a.target.spec.is_some() {
        a.target.say_written(jobs.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// Why a metric may have come back empty, what CloudWatch has near it, and how to look.
fn no_data(
    m: &MetricRequest,
    near: &[String],
    retention: &[String],
    a: &CloudWatchArgs,
    target: &str,
) -> String {
    let mut message = format!(
        "no datapoints for {} from {} to {} ({target}): a misspelt metric or dimension, another region or account, or no data then",
        m.describe(),
        format_rfc3339(a.target.start),
        format_rfc3339(a.target.end)
    );
    if !retention.is_empty() {
        message += &format!("\n{}", retention.join("\n"));
    }
    if !near.is_empty() {
        message += &format!("\nCloudWatch has: {}", near.join("; "));
    }
    let mut cmd = format!(
        "aws cloudwatch list-metrics --namespace {} --metric-name {}",
        m.namespace, m.metric_name
    );
    if let Some(r) = &a.aws.region {
        cmd += &format!(" --region {r}");
    }
    if let Some(p) = &a.aws.profile {
        cmd += &format!(" --profile {p}");
    }
    message + &format!("\nhint: `{cmd}` lists the dimension sets that exist")
}

fn write(
    job: &Job,
    series: &[Series],
    a: &CloudWatchArgs,
    fetched: &cw::Fetched,
    target: &str,
) -> anyhow::Result<()> {
    let m = &job.metric;
    let (start, end) = cw::aligned(a.target.start, a.target.end, m.period_s);
    let mut meta = serde_json::json!({
        "source": "cloudwatch",
        "namespace": m.namespace,
        "metric_name": m.metric_name,
        "dimensions": m.dimensions,
        "stat": m.stat.to_string(),
        "period_s": m.period_s,
        "start": format_rfc3339(start),
        // The last period fetched (inclusive, as `--end`).
        "end": format_rfc3339(end - m.period_s * 1000),
        "series_name": m.series_name(),
    });
    if let (Some(k0), Some(fields)) = (m.band_k0, meta.as_object_mut()) {
        fields.insert(
            "band".into(),
            format!("ANOMALY_DETECTION_BAND(m, {k0})").into(),
        );
        fields.insert("band_k0".into(), k0.into());
    }
    if let Some(fields) = meta.as_object_mut() {
        fields.insert("aws".into(), target.into());
        // For the whole run (a spec's metrics share calls).
        fields.insert("calls".into(), fetched.calls.into());
        fields.insert("pages".into(), fetched.pages.into());
    }
    write_with_meta(&job.out, series, meta)
}
