//! `alertlab synth`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::{limits, UsageError};
use crate::series::time::{parse_time_arg, DAY_MS, MAX_TIME_MS};
use crate::series::{write_long_batches, write_series_with, OutputLayout};
use crate::synth::{generate, generate_range, SynthOptions};

/// Points generated and written at a time in the long layout.
const SLICE_POINTS: usize = 5_000_000;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of series.
    #[arg(long, default_value_t = 1)]
    pub series: usize,
    /// Days of history.
    #[arg(long, default_value_t = 14.0)]
    pub days: f64,
    /// Seconds between points.
    #[arg(long, default_value_t = 60)]
    pub step: i64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file: `.csv` or `.parquet`.
    #[arg(long)]
    pub out: PathBuf,
    /// First timestamp (RFC 3339); default Monday 2026-01-05T00:00:00Z.
    #[arg(long)]
    pub start: Option<String>,
    /// Mean sporadic bursts per day and series.
    #[arg(long, default_value_t = 3.0)]
    pub bursts_per_day: f64,
    /// Share of points left without a datapoint.
    #[arg(long, default_value_t = 0.0)]
    pub missing_rate: f64,
    /// Series name prefix.
    #[arg(long, default_value = "synth")]
    pub prefix: String,
    /// `long` (timestamp,series,value) or `wide` (one column per series).
    #[arg(long, default_value = "long", value_parser = ["long", "wide"])]
    pub layout: String,
    /// Parquet row-group size in rows (default: polars', 262,144): smaller groups let a streamed
    /// read (`--memory`) take smaller bites.
    #[arg(long)]
    pub row_group_rows: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.days.is_finite() && (1.0 / 1440.0..=3660.0).contains(&args.days)) {
        return Err(UsageError(format!(
            "`--days {}`: expected a span from a minute (`--days 0.0007`) to 3660 days",
            args.days
        ))
        .into());
    }
    limits::count_in("--step", args.step, 1, 86_400)?;
    limits::number_in("--bursts-per-day", args.bursts_per_day, 0.0, 1e4)?;
    if args.series == 0 {
        return Err(UsageError("`--series 0`: expected at least one series".into()).into());
    }
    let points = (args.days * 86_400.0 / args.step as f64).ceil() as u64;
    if args.layout == "wide" {
        limits::generated_points(args.series as u64, points)?;
    } else {
        limits::streamed_points(args.series as u64, points)?;
    }
    if args.row_group_rows == Some(0) {
        return Err(UsageError("`--row-group-rows 0`: expected at least one row".into()).into());
    }
    if !(0.0..1.0).contains(&args.missing_rate) {
        return Err(UsageError("`--missing-rate` must be in [0, 1)".into()).into());
    }
    let ext = args.out.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "csv" | "parquet") {
        return Err(UsageError(format!(
            "`--out {}`: the file must end in .csv or .parquet",
            args.out.display()
        ))
        .into());
    }
    let mut opts = SynthOptions {
        series: args.series,
        days: args.days,
        step_s: args.step,
        seed: args.seed,
        bursts_per_day: args.bursts_per_day,
        missing_rate: args.missing_rate,
        prefix: args.prefix,
        ..SynthOptions::default()
    };
    if let Some(start) = &args.start {
        opts.start_ms = parse_time_arg(start).map_err(|e| UsageError(format!("`--start`: {e}")))?;
        let end = opts.start_ms + (args.days * DAY_MS as f64) as i64;
        if end > MAX_TIME_MS {
            return Err(UsageError(format!(
                "`--start {start}` with `--days {}` ends after 9999-12-31, beyond the timestamps alertlab reads",
                args.days
            ))
            .into());
        }
    }
    let (count, total_points) = if args.layout == "wide" {
        let series = generate(&opts);
        write_series_with(&args.out, &series, OutputLayout::Wide, args.row_group_rows)
            .with_context(|| format!("writing `{}`", args.out.display()))?;
        (series.len(), series.iter().map(|s| s.len()).sum::<usize>())
    } else {
        // A slice of series at a time (about 5 M points): a fleet never sits in memory whole.
        let per_slice = (SLICE_POINTS / points.max(1) as usize).max(1);
        let slices = (0..opts.series).step_by(per_slice).map(|start| {
            Ok(generate_range(
                &opts,
                start..(start + per_slice).min(opts.series),
            ))
        });
        write_long_batches(&args.out, args.row_group_rows, slices)
            .with_context(|| format!("writing `{}`", args.out.display()))?;
        let per_series = ((args.days * DAY_MS as f64) / (args.step * 1000) as f64).round() as usize;
        (opts.series, opts.series * per_series)
    };
    eprintln!(
        "wrote {count} series, {total_points} points to {}",
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
