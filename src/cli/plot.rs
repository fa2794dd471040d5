//! `alertlab plot`: band charts of one series (`plot FILE`) or of every alarm and rule of a spec
//! (`plot --spec`), drawn from the backtest's own replays (CloudWatch and Prometheus engines).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rayon::prelude::*;

use super::selection::parse_time;
use super::UsageError;
use crate::backtest::{self, BacktestOptions, Engines};
use crate::fsutil::write_bytes_atomic;
use crate::plot::chart::group_charts;
use crate::plot::{render, render_stack, Chart, RenderError};
use crate::report::html;
use crate::spec;
use crate::tune;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A metric file to chart (one series with its band); or use `--spec`.
    pub file: Option<PathBuf>,
    /// Chart every alarm of these specs instead (one chart per alert, env, engine and series, and
    /// an `index.html`, in the folder `--out`).
    #[arg(long, conflicts_with = "file")]
    pub spec: Option<PathBuf>,
    /// With `--spec`: only these alerts.
    #[arg(long, value_delimiter = ',')]
    pub alert: Vec<String>,
    /// With `--spec`: only these environments.
    #[arg(long, value_delimiter = ',')]
    pub env: Vec<String>,
    /// The engine whose alarm is drawn: `cloudwatch`, `prometheus` or (with `--spec`) `both`.
    /// Default: `prometheus` for `--model promql`, `cloudwatch` for FILE's other models, `both`
    /// with `--spec`.
    #[arg(long, value_parser = ["cloudwatch", "prometheus", "both"])]
    pub engine: Option<String>,
    /// Prometheus rule evaluation interval for FILE (`--engine prometheus`), e.g. `1m`.
    #[arg(long, default_value = "1m")]
    pub interval: String,
    /// Prometheus `for` for FILE (`--engine prometheus`): pending this long before firing.
    #[arg(long = "for", default_value = "0s")]
    pub for_: String,
    /// Trailing window of the `promql` band for FILE.
    #[arg(long, default_value = "1h")]
    pub window: String,
    /// The series of FILE to chart (default: the first).
    #[arg(long)]
    pub series: Option<String>,
    /// The band model for FILE.
    #[arg(long, default_value = "seasonal", value_parser = ["seasonal", "percentile", "replay", "promql"])]
    pub model: String,
    /// Band width in standard deviations (anomaly models).
    #[arg(long, default_value_t = 2.0)]
    pub k: f64,
    /// Percentile of the `percentile` model.
    #[arg(long, default_value_t = 99.0)]
    pub p: f64,
    /// The real band for `--model replay` (GetMetricData output with the band's bounds).
    #[arg(long)]
    pub band_data: Option<PathBuf>,
    /// The band's width when fetched (`--model replay`).
    #[arg(long, default_value_t = 2.0)]
    pub k0: f64,
    /// CloudWatch period in seconds for FILE.
    #[arg(long, default_value_t = 300)]
    pub period: i64,
    /// CloudWatch statistic for FILE.
    #[arg(long, default_value = "Average")]
    pub stat: String,
    /// Draw from this time (RFC 3339, or epoch seconds or milliseconds); the band still learns
    /// from all history.
    #[arg(long, value_parser = parse_time, allow_hyphen_values = true)]
    pub from: Option<i64>,
    /// Draw up to this time.
    #[arg(long, value_parser = parse_time, allow_hyphen_values = true)]
    pub to: Option<i64>,
    /// Incident windows to mark (NAB `combined_windows.json` or `combined_labels.json`, CSV
    /// `start,end[,series]`, or a metric CSV with a per-row anomaly flag).
    #[arg(long)]
    pub incidents: Option<PathBuf>,
    /// The data's time column holds row numbers this far apart (`1h`), as `backtest --row-step`
    /// reads them.
    #[arg(long, value_parser = super::selection::parse_row_step)]
    pub row_step: Option<i64>,
    /// The chart (`.png` or `.svg`) for FILE; a folder with `--spec`.
    #[arg(long)]
    pub out: PathBuf,
    /// Image size, `WIDTHxHEIGHT` pixels.
    #[arg(long, default_value = "1200x600", value_parser = parse_size)]
    pub size: (u32, u32),
    /// Before/after: chart the alarm once per setting, stacked on one time axis, e.g.
    /// `--compare k=2,k=4` (one `KEY=VALUE` per setting, spec key names; join keys of one setting
    /// with `+`: `k=4+datapoints_to_alarm=3`). Repeatable.
    #[arg(long)]
    pub compare: Vec<String>,
    /// With `--spec`: the image format of each chart.
    #[arg(long, default_value = "png", value_parser = ["png", "svg"])]
    pub format: String,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once('x')
        .ok_or_else(|| format!("`{text}`: expected WIDTHxHEIGHT, e.g. 1200x600"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|v| (200..=8000).contains(v))
    };
    match (parse(w), parse(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(format!("`{text}`: width and height are 200 to 8000 pixels")),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match (&args.file, &args.spec) {
        (Some(file), None) => plot_file(file, &args),
        (None, Some(spec)) => plot_spec(spec, &args),
        _ => Err(UsageError("give a metric FILE to chart, or `--spec F|DIR`".into()).into()),
    }
}

/// FILE: the alarm `--model`/`--k` would make, 1 of 1, as a one-alert spec through the same
/// resolution and replay as `backtest`.
fn plot_file(file: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let ext = args.out.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "png" | "svg") {
        return Err(UsageError(format!(
            "`--out {}`: a chart is written as .png or .svg",
            args.out.display()
        ))
        .into());
    }
    super::limits::cloudwatch_period("--period", args.period)?;
    let engine = match (args.engine.as_deref(), args.model.as_str()) {
        (Some("both"), _) => {
            return Err(UsageError(
                "`--engine both` draws a spec's alarms (`--spec`); a FILE chart is one engine's alarm: `cloudwatch` or `prometheus`".into(),
            )
            .into())
        }
        (Some(e), _) => e,
        (None, "promql") => "prometheus",
        (None, _) => "cloudwatch",
    };
    let condition = match args.model.as_str() {
        "seasonal" => format!(
            "{{anomaly: {{model: seasonal, k: {}, direction: both}}}}",
            args.k
        ),
        "percentile" => format!("{{percentile: {{p: {}, op: '>'}}}}", args.p),
        "replay" => {
            let band = args
                .band_data
                .as_ref()
                .ok_or_else(|| UsageError("`--model replay` needs `--band-data FILE`".into()))?;
            format!(
                "{{anomaly: {{model: replay, k: {}, k0: {}, band_data: {}, direction: both}}}}",
                args.k,
                args.k0,
                json_path(band)?
            )
        }
        _ => format!(
            "{{anomaly: {{model: promql, k: {}, window: {}, direction: both}}}}",
            args.k,
            serde_json::to_string(&args.window)?
        ),
    };
    // The metric and timing of the one alarm, as the spec states them (validated there).
    let (metric, evaluation) = if engine == "prometheus" {
        (
            "{prometheus: {expr: value}}".to_string(),
            format!(
                "{{interval: {}, for: {}}}",
                serde_json::to_string(&args.interval)?,
                serde_json::to_string(&args.for_)?
            ),
        )
    } else {
        (
            format!(
                "{{cloudwatch: {{namespace: Chart, name: value, stat: {}, period: {}}}}}",
                serde_json::to_string(&args.stat)?,
                args.period
            ),
            "{}".to_string(),
        )
    };
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let spec_path = dir.path().join("chart.yaml");
    let series_filter = args
        .series
        .as_ref()
        .map(|s| format!(", series: {}", serde_json::to_string(s).unwrap_or_default()))
        .unwrap_or_default();
    std::fs::write(
        &spec_path,
        format!(
            "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {{name: chart}}\nalerts:\n  - name: chart\n    metric: {metric}\n    condition: {condition}\n    evaluation: {evaluation}\n    backtest: {{data: {}{series_filter}}}\n",
            json_path(file)?,
        ),
    )?;
    let sets = spec::load_file(&spec_path).map_err(|e| UsageError(flag_error(&e.message)))?;
    let engines = Engines::from_name(engine);
    let opts = BacktestOptions {
        incidents: args.incidents.clone(),
        engines,
        row_step_ms: args.row_step,
        ..BacktestOptions::default()
    };
    let base = sets.alerts[0]
        .per_env
        .values()
        .next()
        .context("the chart spec has its alert")?
        .clone();
    // The alarms to draw: the one of the flags, or one per `--compare` setting.
    let mut alarms: Vec<(String, spec::ResolvedAlert)> = Vec::new();
    for flag in &args.compare {
        for setting in flag.split(',').filter(|s| !s.trim().is_empty()) {
            let parts: Vec<String> = setting.split('+').map(str::to_string).collect();
            let grid = tune::grid::parse_grid(&parts)
                .map_err(|e| UsageError(format!("`--compare`: {e}")))?;
            let params: tune::grid::Params = grid
                .into_iter()
                .filter_map(|(k, mut v)| v.pop().map(|v| (k, v)))
                .collect();
            let over = tune::grid::override_of(&base, &params)
                .map_err(|e| UsageError(format!("`--compare {setting}`: {e}")))?;
            let variant = spec::resolve_with(&sets, &base.name, &base.env, &over)
                .map_err(|e| UsageError(format!("`--compare {setting}`: {}", e.message)))?;
            alarms.push((setting.to_string(), variant));
        }
    }
    if alarms.is_empty() {
        alarms.push((String::new(), base));
    }
    let mut charts = Vec::new();
    let mut note = String::new();
    for (setting, alarm) in &alarms {
        let groups = backtest::plan(&[alarm], &opts)?;
        let group = groups.first().context("no series to chart")?;
        let series = group.series();
        let (_, mut chart) = group_charts(group, engines)
            .into_iter()
            .next()
            .context("the chart's alarm has no metric of this engine")?;
        // One series: it names the chart (and the setting, when comparing); the metric is made up.
        chart.title = if setting.is_empty() {
            series.name.clone()
        } else {
            format!("{} [{setting}]", series.name)
        };
        chart.unit = None;
        crop(&mut chart, args.from, args.to)?;
        note = if groups.len() > 1 && args.series.is_none() {
            format!(
                "the first of {} series; pick one with --series",
                groups.len()
            )
        } else {
            series.name.clone()
        };
        charts.push(chart);
    }
    if charts.len() == 1 {
        render(&charts[0], &args.out, args.size).map_err(render_failure)?;
    } else {
        let size = (args.size.0, args.size.1 * charts.len() as u32);
        render_stack(&charts, &args.out, size).map_err(render_failure)?;
    }
    // Each setting's replay repeats the series' warnings: said once.
    let mut warned = std::collections::BTreeSet::new();
    for w in charts.iter().flat_map(|c| &c.warnings) {
        if warned.insert(w) {
            eprintln!("warning: {}: {w}", args.out.display());
        }
    }
    let legends: Vec<String> = charts.iter().map(Chart::legend).collect();
    eprintln!("{}: {} ({note})", args.out.display(), legends.join(" | "));
    Ok(ExitCode::SUCCESS)
}

/// A chart not written: an output name that is no chart format is the user's to fix (exit 2); a
/// failed draw or write is a runtime failure (exit 1), as for every other output.
fn render_failure(e: RenderError) -> anyhow::Error {
    match e {
        RenderError::Extension(_) => UsageError(e.to_string()).into(),
        RenderError::Draw { .. } | RenderError::Io { .. } => e.into(),
    }
}

/// A spec error about the generated one-alert spec, said in terms of the flags that made it.
fn flag_error(message: &str) -> String {
    let message = message
        .replace("`interval`", "`--interval`")
        .replace("`for`", "`--for`")
        .replace("`window`", "`--window`");
    format!("the chart's alarm: {message}")
}

/// A path as a JSON (hence YAML) string.
fn json_path(p: &Path) -> anyhow::Result<String> {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    Ok(serde_json::to_string(&abs.to_string_lossy())?)
}

/// Keep what lies in `[from, to]`.
fn crop(chart: &mut Chart, from: Option<i64>, to: Option<i64>) -> Result<(), UsageError> {
    if from.is_none() && to.is_none() {
        return Ok(());
    }
    let (a, b) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
    let lo = chart.times.partition_point(|&t| t < a);
    let hi = chart.times.partition_point(|&t| t <= b);
    if lo >= hi {
        return Err(UsageError(
            "`--from`/`--to`: the range holds no datapoint of the series".into(),
        ));
    }
    chart.times = chart.times[lo..hi].to_vec();
    chart.values = chart.values[lo..hi].to_vec();
    chart.lower = chart.lower[lo..hi].to_vec();
    chart.upper = chart.upper[lo..hi].to_vec();
    let (first, last) = (chart.times[0], *chart.times.last().expect("not empty"));
    let inside = |(s, e): &(i64, i64)| *e >= first && *s <= last;
    let clamp = |(s, e): (i64, i64)| (s.max(first), e.min(last));
    chart.breaching.retain(|(t, _)| *t >= first && *t <= last);
    for spans in [
        &mut chart.episodes,
        &mut chart.pending,
        &mut chart.incidents,
    ] {
        *spans = spans
            .iter()
            .filter(|x| inside(x))
            .map(|x| clamp(*x))
            .collect();
    }
    chart.warm_up = chart.warm_up.filter(inside).map(clamp);
    Ok(())
}

/// A chart drawn by `plot --spec`: its file name, title, legend and the replay's warnings.
type DrawnChart = (String, String, String, Vec<String>);

/// `--spec`: one chart per alarm, env, engine and series, and an index.
fn plot_spec(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let sets = spec::load_path(path)?;
    super::selection::warn_of_overlays_on_other_specs(&sets);
    let engines = Engines::from_name(args.engine.as_deref().unwrap_or("both"));
    let opts = BacktestOptions {
        envs: args.env.clone(),
        alerts: args.alert.clone(),
        incidents: args.incidents.clone(),
        engines,
        row_step_ms: args.row_step,
        ..BacktestOptions::default()
    };
    let alerts: Vec<_> = backtest::selected_alerts(&sets, &opts)
        .into_iter()
        .filter(|a| {
            (engines.cloudwatch && a.cloudwatch.is_some())
                || (engines.prometheus && a.prometheus.is_some())
        })
        .collect();
    if alerts.is_empty() {
        return Err(UsageError(format!(
            "no alarm of the {} engine to chart among the selected alerts",
            args.engine.as_deref().unwrap_or("cloudwatch or prometheus")
        ))
        .into());
    }
    let groups = backtest::plan(&alerts, &opts)?;
    let mut index = String::from("<!doctype html><meta charset=\"utf-8\"><title>alertlab charts</title>\n<style>body{font-family:sans-serif;margin:2em}img{max-width:100%;border:1px solid #ddd}figure{margin:0 0 2em}</style>\n<h1>alertlab charts</h1>\n");
    // Charts of different series draw on both cores.
    let drawn: Vec<Vec<DrawnChart>> = groups
        .par_iter()
        .map(|group| -> anyhow::Result<Vec<DrawnChart>> {
            let mut out = Vec::new();
            for (alert, chart) in group_charts(group, engines) {
                let name = format!(
                    "{}-{}-{}-{}.{}",
                    alert.name,
                    alert.env,
                    chart.engine,
                    safe_name(&group.series().name),
                    args.format
                );
                render(&chart, &args.out.join(&name), args.size).map_err(render_failure)?;
                out.push((name, chart.title.clone(), chart.legend(), chart.warnings));
            }
            Ok(out)
        })
        .collect::<anyhow::Result<_>>()?;
    let mut written = 0;
    for (name, title, legend, warnings) in drawn.into_iter().flatten() {
        for w in warnings {
            eprintln!("warning: {name}: {w}");
        }
        let _ = writeln!(
            index,
            "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{} — {}</figcaption></figure>",
            html(&name),
            html(&title),
            html(&title),
            html(&legend)
        );
        written += 1;
    }
    write_bytes_atomic(&args.out.join("index.html"), index.as_bytes())?;
    eprintln!("{written} charts and index.html in {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// A series name as part of a file name.
pub(super) fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if s.is_empty() {
        "series".into()
    } else {
        s
    }
}
