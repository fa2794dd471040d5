//! `alertlab fetch prometheus|cloudwatch`: metric history from a Prometheus server or from
//! CloudWatch (`fetch_cloudwatch`), for one query or for every alert of a spec (per env), in the
//! format the loaders read, with a sidecar saying what was fetched.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use std::time::Duration;

use super::selection::parse_time;
use super::UsageError;
use crate::fetch::{self, prometheus as prom};
use crate::fsutil::write_bytes_atomic;
use crate::series::time::parse_duration;
use crate::series::{write_series, OutputLayout, Series};
use crate::spec::ResolvedAlert;

#[derive(clap::Subcommand, Debug)]
pub enum Source {
    /// From a Prometheus server's HTTP API (`query_range`, chunked).
    Prometheus(PrometheusArgs),
    /// From CloudWatch (GetMetricData through the AWS SDK; credentials, region and endpoint from
    /// the standard AWS configuration).
    Cloudwatch(super::fetch_cloudwatch::CloudWatchArgs),
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub source: Source,
}

#[derive(clap::Args, Debug)]
pub struct PrometheusArgs {
    /// The server, e.g. `http://prometheus:9090`.
    #[arg(long)]
    pub url: String,
    /// A PromQL expression; or `--spec` for every Prometheus alert of a spec.
    #[arg(long, conflicts_with = "spec")]
    pub query: Option<String>,
    #[command(flatten)]
    pub target: Target,
    /// Resolution, a Prometheus duration (`30s`, `1m`).
    #[arg(long, default_value = "1m")]
    pub step: String,
    /// A file holding a bearer token (or set ALERTLAB_PROMETHEUS_TOKEN).
    #[arg(long)]
    pub bearer_token_file: Option<PathBuf>,
    /// Basic-auth user; the password comes from ALERTLAB_PROMETHEUS_PASSWORD.
    #[arg(long)]
    pub basic_auth_user: Option<String>,
    /// PEM file of CA certificates to trust for `https://` (instead of the public roots).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

/// What to fetch over which range, and where to write it: shared by every source.
#[derive(clap::Args, Debug)]
pub struct Target {
    /// Fetch the metric of every alert of these specs (that reads from this source), per env, into
    /// `--out DIR`.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// With `--spec`: only these environments.
    #[arg(long, value_delimiter = ',')]
    pub env: Vec<String>,
    /// Start (RFC 3339, or epoch seconds or milliseconds).
    #[arg(long, value_parser = parse_time, allow_hyphen_values = true)]
    pub start: i64,
    /// End (RFC 3339, or epoch seconds or milliseconds), inclusive.
    #[arg(long, value_parser = parse_time, allow_hyphen_values = true)]
    pub end: i64,
    /// `F.parquet` or `F.csv` (a folder with `--spec`).
    #[arg(long)]
    pub out: PathBuf,
    /// With `--spec`: the format of each file.
    #[arg(long, default_value = "parquet", value_parser = ["parquet", "csv"])]
    pub format: String,
    /// Per-request timeout.
    #[arg(long, default_value = "30s")]
    pub timeout: String,
}

fn server(a: &PrometheusArgs) -> Result<prom::Server, UsageError> {
    if !(a.url.starts_with("http://") || a.url.starts_with("https://")) {
        return Err(UsageError(format!(
            "`--url {}`: expected http:// or https://",
            prom::display_url(&a.url)
        )));
    }
    let bearer_token = match &a.bearer_token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("`--bearer-token-file {}`: {e}", path.display())))?
                .trim()
                .to_string(),
        ),
        None => std::env::var("ALERTLAB_PROMETHEUS_TOKEN").ok(),
    };
    let basic_auth = match &a.basic_auth_user {
        Some(user) => Some((
            user.clone(),
            std::env::var("ALERTLAB_PROMETHEUS_PASSWORD").map_err(|_| {
                UsageError(
                    "`--basic-auth-user` needs the password in ALERTLAB_PROMETHEUS_PASSWORD".into(),
                )
            })?,
        )),
        None => None,
    };
    let timeout = a.target.timeout()?;
    Ok(prom::Server {
        url: a.url.clone(),
        bearer_token,
        basic_auth,
        ca_file: a.ca_file.clone(),
        timeout,
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.source {
        Source::Prometheus(a) => run_prometheus(a),
        Source::Cloudwatch(a) => super::fetch_cloudwatch::run(a),
    }
}

fn run_prometheus(a: PrometheusArgs) -> anyhow::Result<ExitCode> {
    let step_ms = parse_duration(&a.step)
        .filter(|ms| *ms > 0)
        .ok_or_else(|| {
            UsageError(format!(
                "`--step {}`: expected a duration such as `30s` or `1m`",
                a.step
            ))
        })?;
    let (start_ms, end_ms) = (a.target.start, a.target.end);
    if end_ms < start_ms {
        return Err(UsageError("`--end` is before `--start`".into()).into());
    }
    let server = server(&a)?;
    let range = |query: String| prom::RangeQuery {
        query,
        start_ms,
        end_ms,
        step_ms,
    };
    match (&a.query, &a.target.spec) {
        (Some(q), None) => {
            check_extension(&a.target.out)?;
            let series = get(&server, &range(q.clone()))?;
            write(&a.target.out, &series, &server, &range(q.clone()))?;
        }
        (None, Some(spec)) => {
            let alerts = a.target.spec_alerts(spec)?;
            std::fs::create_dir_all(&a.target.out)?;
            let mut written = 0;
            for (alert, out) in &alerts {
                let Some(metric) = &alert.prometheus else {
                    continue;
                };
                let q = range(metric.expr.clone());
                let series = get(&server, &q)?;
                write(out, &series, &server, &q)?;
                written += 1;
            }
            a.target.say_written(written);
        }
        _ => {
            return Err(UsageError("give `--query Q` or `--spec F|DIR`".into()).into());
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl Target {
    /// `--timeout`, checked.
    pub fn timeout(&self) -> Result<Duration, UsageError> {
        parse_duration(&self.timeout)
            .filter(|ms| *ms > 0)
            .map(|ms| Duration::from_millis(ms as u64))
            .ok_or_else(|| {
                UsageError(format!(
                    "`--timeout {}`: expected a duration such as `30s`",
                    self.timeout
                ))
            })
    }

    /// Every (alert, env) of the specs at `spec` in the selected envs, with the file it is fetched
    /// into: `--out DIR/<alert>-<env>.<format>`.
    pub fn spec_alerts(&self, spec: &Path) -> anyhow::Result<Vec<(ResolvedAlert, PathBuf)>> {
        let mut out = Vec::new();
        for set in crate::spec::load_path(spec)? {
            for alert in set.alerts {
                for (env, resolved) in alert.per_env {
                    if self.env.is_empty() || self.env.contains(&env) {
                        let file = self
                            .out
                            .join(format!("{}-{env}.{}", alert.name, self.format));
                        out.push((resolved, file));
                    }
                }
            }
        }
        Ok(out)
    }

    /// After a `--spec` fetch: how many files, and how a spec reads them.
    pub fn say_written(&self, files: usize) {
        eprintln!(
            "{files} files in {}; read them with `backtest: {{data: \"{}/<alert>-{{{{env}}}}.{}\"}}` (relative to the spec)",
            self.out.display(),
            self.out.display(),
            self.format
        );
    }
}

pub(super) fn check_extension(out: &Path) -> Result<(), UsageError> {
    match out.extension().and_then(|e| e.to_str()) {
        Some("parquet" | "csv") => Ok(()),
        _ => Err(UsageError(format!(
            "`--out {}`: expected a .parquet or .csv file",
            out.display()
        ))),
    }
}

/// The series of `q`, or a runtime error; an empty answer is an error too (a misspelt metric).
fn get(server: &prom::Server, q: &prom::RangeQuery) -> anyhow::Result<Vec<Series>> {
    let series = prom::fetch(server, q).map_err(|e| match e {
        prom::FetchError::Usage(m) => anyhow::Error::new(UsageError(m)),
        prom::FetchError::Runtime(m) => anyhow::anyhow!(m),
    })?;
    if series.is_empty() {
        anyhow::bail!(
            "{} returned no series for `{}` over the range: a misspelt metric or label, or no data then\nhint: try the query in the Prometheus UI, or `curl '{}/api/v1/series?match[]=...'`",
            prom::display_url(&server.url),
            q.query,
            prom::display_url(&server.url)
        );
    }
    Ok(series)
}

/// The data file and its sidecar, atomically.
fn write(
    out: &Path,
    series: &[Series],
    server: &prom::Server,
    q: &prom::RangeQuery,
) -> anyhow::Result<()> {
    let meta = serde_json::json!({
        "source": "prometheus",
        "url": prom::display_url(&server.url),
        "query": q.query,
        "start": crate::series::time::format_rfc3339(q.start_ms),
        "end": crate::series::time::format_rfc3339(q.end_ms),
        "step_s": q.step_ms as f64 / 1000.0,
        "requests": q.chunks().len(),
    });
    write_with_meta(out, series, meta)
}

/// Write `series` to `out` and the sidecar `out.meta.json` (`meta` plus the series and point
/// counts and when it was fetched), each atomically; say what was written on stderr.
pub(super) fn write_with_meta(
    out: &Path,
    series: &[Series],
    mut meta: serde_json::Value,
) -> anyhow::Result<()> {
    write_series(out, series, OutputLayout::Long)?;
    let points: usize = series.iter().map(|s| s.len()).sum();
    if let Some(fields) = meta.as_object_mut() {
        fields.insert("series".into(), series.len().into());
        fields.insert("points".into(), points.into());
        fields.insert(
            "fetched_at".into(),
            crate::series::time::format_rfc3339(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0),
            )
            .into(),
        );
    }
    let meta_path = fetch::meta_path(out);
    write_bytes_atomic(
        &meta_path,
        (serde_json::to_string_pretty(&meta)? + "\n").as_bytes(),
    )
    .with_context(|| format!("writing `{}`", meta_path.display()))?;
    eprintln!(
        "{}: {} series, {points} points",
        out.display(),
        series.len()
    );
    Ok(())
}
