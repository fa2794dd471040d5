//! `alertlab backtest`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::output::{csv, data_cell, emit, emit_with, interval, num, table, OutputFormat};
use super::selection::Selection;
use crate::fleet;
use crate::fleet::spill::SortedResults;
use crate::series::time::format_duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub select: Selection,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Write the output to this file (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

const HEADER: &[&str] = &[
    "alert",
    "env",
    "engine",
    "series",
    "condition",
    "episodes",
    "alerts/wk",
    "95% CI",
    "notifications",
    "in_alarm",
    "in_alarm_%",
    "flaps",
    "longest",
    "recall",
    "precision",
    "false/wk",
    "median_delay",
];

/// The columns of `--format csv`: the JSON's figures in its units (seconds, alerts per week, a
/// ratio), one cell each, for a spreadsheet or a script, as `tune --format csv` writes them; an
/// empty cell is an unknown (no incidents, nothing caught).
const CSV_HEADER: &[&str] = &[
    "alert",
    "env",
    "engine",
    "series",
    "condition",
    "episodes",
    "alerts_per_week",
    "alerts_per_week_ci_low",
    "alerts_per_week_ci_high",
    "notifications",
    "time_in_alarm_s",
    "time_in_alarm_ratio",
    "flaps",
    "longest_episode_s",
    "incidents",
    "caught",
    "recall",
    "precision",
    "false_alerts_per_week",
    "median_delay_s",
];

/// What a result says on stderr whatever the format: who it is, its warnings, and whether an
/// incidents file scored it. Read from its JSON form, the rest skipped without being built.
#[derive(serde::Deserialize)]
struct Notice {
    alert: String,
    env: String,
    engine: String,
    series: String,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    incidents: Option<serde::de::IgnoredAny>,
}

/// The columns of one result, read from its JSON form: the same rows for a fresh run and for
/// `alertlab merge` of shard outputs.
#[derive(serde::Deserialize)]
struct RowView {
    alert: String,
    env: String,
    engine: String,
    series: String,
    condition: String,
    episodes: Vec<serde::de::IgnoredAny>,
    alerts_per_week: f64,
    /// Absent in shard reports written before the field existed (`alertlab merge` reads them).
    #[serde(default, deserialize_with = "interval_or_unbounded")]
    alerts_per_week_ci: Option<[f64; 2]>,
    notifications: usize,
    time_in_alarm_s: f64,
    time_in_alarm_ratio: f64,
    flaps: usize,
    longest_episode_s: f64,
    incidents: Option<IncidentView>,
}

/// A rate's interval as JSON holds it: with no time covered its upper end is infinite, which JSON
/// writes as `null`.
fn interval_or_unbounded<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<[f64; 2]>, D::Error> {
    let ci: Option<[Option<f64>; 2]> = serde::Deserialize::deserialize(d)?;
    Ok(ci.map(|[low, high]| [low.unwrap_or(0.0), high.unwrap_or(f64::INFINITY)]))
}

#[derive(serde::Deserialize)]
struct IncidentView {
    recall: Option<f64>,
    precision: Option<f64>,
    false_alerts_per_week: f64,
    median_delay_s: Option<f64>,
    /// Absent in shard reports written before the field existed (`alertlab merge` reads them).
    #[serde(default)]
    incidents: usize,
    #[serde(default)]
    caught: usize,
    #[serde(default)]
    in_warm_up: usize,
    #[serde(default)]
    outside_span: usize,
    #[serde(default)]
    point_labels: usize,
    #[serde(default)]
    missed: Vec<MissedView>,
    #[serde(default)]
    late: usize,
}

#[derive(serde::Deserialize)]
struct MissedView {
    start: String,
    end: String,
}

/// The cells both layouts start with: which result this is, and its episode count.
fn identity(r: &RowView) -> Vec<String> {
    vec![
        r.alert.clone(),
        r.env.clone(),
        r.engine.clone(),
        r.series.clone(),
        r.condition.clone(),
        r.episodes.len().to_string(),
    ]
}

fn row(r: &RowView) -> Vec<String> {
    let inc = r.incidents.as_ref();
    let mut cells = identity(r);
    cells.extend([
        num(r.alerts_per_week, 2),
        r.alerts_per_week_ci.map(interval).unwrap_or_default(),
        r.notifications.to_string(),
        format_duration((r.time_in_alarm_s * 1000.0) as i64),
        num(100.0 * r.time_in_alarm_ratio, 2),
        r.flaps.to_string(),
        format_duration((r.longest_episode_s * 1000.0) as i64),
        inc.and_then(|i| i.recall)
            .map(|v| num(v, 2))
            .unwrap_or_default(),
        inc.and_then(|i| i.precision)
            .map(|v| num(v, 2))
            .unwrap_or_default(),
        inc.map(|i| num(i.false_alerts_per_week, 2))
            .unwrap_or_default(),
        inc.and_then(|i| i.median_delay_s)
            .map(|d| format_duration((d * 1000.0) as i64))
            .unwrap_or_default(),
    ]);
    cells
}

/// One `--format csv` row: [`CSV_HEADER`]'s cells of a result.
fn csv_row(r: &RowView) -> Vec<String> {
    let inc = r.incidents.as_ref();
    let optional = |v: Option<f64>| v.map(data_cell).unwrap_or_default();
    let ci = |i: usize| optional(r.alerts_per_week_ci.map(|ci| ci[i]));
    let mut cells = identity(r);
    cells.extend([
        data_cell(r.alerts_per_week),
        ci(0),
        ci(1),
        r.notifications.to_string(),
        data_cell(r.time_in_alarm_s),
        data_cell(r.time_in_alarm_ratio),
        r.flaps.to_string(),
        data_cell(r.longest_episode_s),
        inc.map(|i| i.incidents.to_string()).unwrap_or_default(),
        inc.map(|i| i.caught.to_string()).unwrap_or_default(),
        optional(inc.and_then(|i| i.recall)),
        optional(inc.and_then(|i| i.precision)),
        optional(inc.map(|i| i.false_alerts_per_week)),
        optional(inc.and_then(|i| i.median_delay_s)),
    ]);
    cells
}

/// Table (noisiest first) or CSV (report order) of result rows.
fn render_rows(results: &[RowView], format: OutputFormat) -> String {
    match format {
        OutputFormat::Csv => csv(CSV_HEADER, &results.iter().map(csv_row).collect::<Vec<_>>()),
        _ => {
            // Noisiest first: that is what a person reading this wants to fix.
            let mut sorted: Vec<&RowView> = results.iter().collect();
            sorted.sort_by(|a, b| {
                b.alerts_per_week
                    .total_cmp(&a.alerts_per_week)
                    .then(b.time_in_alarm_s.total_cmp(&a.time_in_alarm_s))
            });
            let rows: Vec<Vec<String>> = sorted.into_iter().map(row).collect();
            let mut text = table(HEADER, &rows);
            let limit = crate::tune::select::DEFAULT_MAX_TIME_IN_ALARM;
            for r in results {
                // An alarm mostly in ALARM: what its alerts per week do not say.
                let stuck = (r.time_in_alarm_ratio > limit).then(|| {
                    format!(
                        "in ALARM {} of the evaluated time: it cannot page for anything new while it stays there (`tune` recommends settings in ALARM at most {} of the time)",
                        crate::score::time_share_text(r.time_in_alarm_ratio),
                        crate::score::time_share_text(limit)
                    )
                });
                // How the incidents were judged, where it is not the plain rule.
                let inc = r.incidents.as_ref();
                let notes = [
                    stuck,
                    inc.filter(|i| !i.missed.is_empty()).map(|i| {
                        let windows: Vec<(&str, &str)> = i
                            .missed
                            .iter()
                            .map(|m| (m.start.as_str(), m.end.as_str()))
                            .collect();
                        crate::score::missed_phrase(&windows, i.late)
                    }),
                    inc.filter(|i| i.in_warm_up > 0)
                        .map(|i| crate::score::warm_up_phrase(i.in_warm_up, i.incidents)),
                    inc.filter(|i| i.point_labels > 0)
                        .map(|i| crate::score::point_labels_phrase(i.point_labels, i.incidents)),
                    inc.filter(|i| i.outside_span > 0).map(|i| {
                        format!(
                            "{} incident(s) lie outside the evaluated span and are not scored",
                            i.outside_span
                        )
                    }),
                ];
                for note in notes.into_iter().flatten() {
                    text.push_str(&format!(
                        "note: {} in {} ({}), `{}`: {note}\n",
                        r.alert, r.env, r.engine, r.series
                    ));
                }
            }
            if results.iter().any(|r| r.condition.starts_with("seasonal")) {
                text.push_str("note: `seasonal` bands approximate CloudWatch anomaly detection (AWS's model is not public)\n");
            }
            text
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let sets = args.select.load()?;
    let opts = args.select.options()?;
    // Series a batch at a time within `--memory`; results come back sorted from a spill file.
    let results = fleet::backtest(&sets, &opts, args.select.memory)?;
    print(
        &results,
        args.format,
        args.out.as_deref(),
        opts.incidents.as_deref(),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `results` as `format` (into `out`, or on stdout), each result's warnings on stderr: what
/// `backtest` prints, and `merge` of its shards. `incidents`: the file named on the command line,
/// whose silence on a series is worth a warning.
pub(super) fn print(
    results: &SortedResults,
    format: OutputFormat,
    out: Option<&Path>,
    incidents: Option<&Path>,
) -> anyhow::Result<()> {
    let mut rows: Vec<RowView> = Vec::new();
    for record in results.records() {
        let record = record?;
        let notice: Notice = serde_json::from_slice(&record)?;
        let about = format!(
            "alert `{}`, env `{}`, {} `{}`",
            notice.alert, notice.env, notice.engine, notice.series
        );
        for w in &notice.warnings {
            eprintln!("warning: {about}: {w}");
        }
        // An incidents file named on the command line that says nothing of this series: its
        // recall is not scored, which a user who passed the file would otherwise not notice.
        if let (Some(file), None) = (incidents, &notice.incidents) {
            eprintln!(
                "warning: {about}: `{}` has no windows for this series: recall is not scored",
                file.display()
            );
        }
        if format != OutputFormat::Json {
            rows.push(serde_json::from_slice(&record)?);
        }
    }
    if format == OutputFormat::Json {
        emit_with(out, |w| results.write_pretty(w))?;
    } else {
        emit(&render_rows(&rows, format), out)?;
    }
    Ok(())
}
