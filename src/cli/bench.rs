//! `alertlab bench`: whole-workload timings on generated data, each printed with a ratio against a
//! baseline measured in the same run on the same machine (so the figures mean something anywhere).
//!
//! - `load`: 1,000 series × 20,160 points (14 days at 1 minute) read from Parquet and CSV; baseline:
//!   reading the same file's bytes.
//! - `backtest`: the same data, 10 static-threshold alerts per series, both engines (resampling,
//!   breach classification, state machines, notifications, scoring); baseline: one pass counting
//!   values above each threshold.
//! - `band`: the seasonal band for every series, then re-classifying at a new `k`; baseline: the same
//!   counting pass.
//! - `tune`: see [`super::bench_tune`]; `plot`: see [`super::bench_plot`]; `scale`: see
//!   [`super::bench_scale`].

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;

use crate::backtest::{run_cloudwatch, run_prometheus, SeriesContext};
use crate::band::seasonal::SeasonalModel;
use crate::band::{self, Direction, Rule};
use crate::engine::Detail;
use crate::series::{self, write_series, OutputLayout, Series};
use crate::synth::{generate, SynthOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to time.
    #[arg(default_value = "all", value_parser = ["load", "backtest", "band", "tune", "plot", "scale", "all"])]
    pub what: String,
    #[arg(long, default_value_t = 1000)]
    pub series: usize,
    /// Points per series (20,160 = 14 days at 1 minute).
    #[arg(long, default_value_t = 20_160)]
    pub points: usize,
    /// Repetitions; the minimum is reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// `scale`: 100,000 series streamed, and streamed/whole/shards compared on 10,000 (minutes,
    /// and about 4 GB of disk).
    #[arg(long)]
    pub full: bool,
    /// `scale`: the `--memory` of the streamed runs.
    #[arg(long, default_value = "1G")]
    pub memory: String,
}

pub(super) fn time<T>(repeat: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        let out = f();
        best = best.min(start.elapsed().as_secs_f64());
        last = Some(out);
    }
    (best, last.expect("ran at least once"))
}

pub(super) fn report(label: &str, secs: f64, baseline: f64, extra: &str) {
    println!(
        "{label:<44} {secs:>9.3} s   {:>8.1}× baseline   {extra}",
        secs / baseline.max(1e-9)
    );
}

fn count_above(series: &[Series], thresholds: &[f64]) -> usize {
    series
        .par_iter()
        .map(|s| {
            thresholds
                .iter()
                .map(|&t| s.values.iter().filter(|v| **v > t).count())
                .sum::<usize>()
        })
        .sum()
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.series == 0 || args.points < 2 || args.repeat == 0 {
        return Err(super::UsageError(
            "`--series`, `--points` (at least 2) and `--repeat` must be positive".into(),
        )
        .into());
    }
    if args.what == "scale" {
        // Generated and replayed by child processes, a slice at a time: no data in this one.
        crate::fleet::parse_memory(&args.memory)
            .map_err(|e| super::UsageError(format!("`--memory`: {e}")))?;
        super::bench_scale::bench_scale(args.series, args.points, args.full, &args.memory)?;
        return Ok(ExitCode::SUCCESS);
    }
    super::limits::generated_points(args.series as u64, args.points as u64)?;
    let cores = rayon::current_num_threads();
    let days = args.points as f64 / 1440.0;
    eprintln!(
        "generating {} series × {} points ...",
        args.series, args.points
    );
    let data = generate(&SynthOptions {
        series: args.series,
        days,
        step_s: 60,
        seed: 42,
        ..SynthOptions::default()
    });
    let total_points: usize = data.iter().map(|s| s.len()).sum();
    println!(
        "alertlab bench: {} series × {} points = {} points, {} threads",
        args.series, args.points, total_points, cores
    );
    let all = args.what == "all";
    if all || args.what == "load" {
        bench_load(&data, args.repeat)?;
    }
    if all || args.what == "backtest" {
        bench_backtest(&data, args.repeat, cores)?;
    }
    if all || args.what == "band" {
        bench_band(&data, args.repeat);
    }
    if all || args.what == "tune" {
        super::bench_tune::bench_tune(&data, args.repeat, cores)?;
    }
    if all || args.what == "plot" {
        super::bench_plot::bench_plot(&data, args.repeat)?;
    }
    if all {
        crate::fleet::parse_memory(&args.memory)
            .map_err(|e| super::UsageError(format!("`--memory`: {e}")))?;
        super::bench_scale::bench_scale(args.series, args.points, args.full, &args.memory)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_load(data: &[Series], repeat: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    for (name, layout) in [
        ("long.parquet", OutputLayout::Long),
        ("wide.parquet", OutputLayout::Wide),
        ("long.csv", OutputLayout::Long),
    ] {
        let path = dir.path().join(name);
        write_series(&path, data, layout).with_context(|| format!("writing {}", path.display()))?;
        let size = std::fs::metadata(&path)?.len();
        let (baseline, _) = time(repeat, || {
            std::fs::read(&path).map(|b| b.len()).unwrap_or(0)
        });
        let (secs, loaded) = time(repeat, || series::load(Path::new(&path), None));
        let loaded = loaded?;
        let points: usize = loaded.iter().map(|s| s.len()).sum();
        report(
            &format!("load {name} ({} MB)", size / 1_000_000),
            secs,
            baseline,
            &format!(
                "{} series, {:.1} M points/s",
                loaded.len(),
                points as f64 / secs / 1e6
            ),
        );
    }
    Ok(())
}

fn bench_spec(dir: &Path) -> anyhow::Result<crate::spec::AlertSet> {
    let mut text =
        String::from("apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: bench}\nalerts:\n");
    for i in 0..10 {
        let threshold = 100 * (i + 1);
        text.push_str(&format!(
            "  - name: t{i}\n    metric:\n      cloudwatch: {{namespace: Bench, name: m, stat: Maximum, period: 60}}\n      prometheus: {{expr: m}}\n    condition: {{threshold: {{op: '>', value: {threshold}}}}}\n    evaluation: {{datapoints_to_alarm: 3, evaluation_periods: 5, treat_missing_data: missing, for: 5m, keep_firing_for: 2m}}\n"
        ));
    }
    let path = dir.join("bench.yaml");
    std::fs::write(&path, text)?;
    Ok(crate::spec::load_file(&path)?)
}

fn bench_backtest(data: &[Series], repeat: usize, cores: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let set = bench_spec(dir.path())?;
    let alerts: Vec<_> = set.alerts.iter().flat_map(|a| a.per_env.values()).collect();
    let thresholds: Vec<f64> = (1..=10).map(|i| 100.0 * i as f64).collect();
    let (baseline, _) = time(repeat, || count_above(data, &thresholds));
    let points: usize = data.iter().map(|s| s.len()).sum();
    for (label, cw, prom) in [
        ("backtest cloudwatch (10 alerts/series)", true, false),
        ("backtest prometheus (10 alerts/series)", false, true),
        ("backtest both engines", true, true),
    ] {
        let (secs, episodes) = time(repeat, || {
            data.par_iter()
                .map(|s| {
                    let ctx = SeriesContext::new(s);
                    let span = s.row_span().unwrap_or((0, 0));
                    alerts
                        .iter()
                        .map(|a| {
                            let c = if cw {
                                run_cloudwatch(a, &ctx, span, None, Detail::Full)
                                    .map_or(0, |r| r.episodes.len())
                            } else {
                                0
                            };
                            let p = if prom {
                                run_prometheus(a, &ctx, span, None, Detail::Full)
                                    .map_or(0, |r| r.episodes.len())
                            } else {
                                0
                            };
                            c + p
                        })
                        .sum::<usize>()
                })
                .sum::<usize>()
        });
        let engines = cw as usize + prom as usize;
        let rate = (points * alerts.len() * engines) as f64 / secs / cores as f64;
        report(
            label,
            secs,
            baseline,
            &format!(
                "{:.1} M points×configs/s/core, {episodes} episodes",
                rate / 1e6
            ),
        );
    }
    Ok(())
}

fn bench_band(data: &[Series], repeat: usize) {
    let (baseline, _) = time(repeat, || count_above(data, &[100.0]));
    let model = SeasonalModel::default();
    let (secs, bands) = time(repeat, || {
        data.par_iter()
            .map(|s| band::seasonal::band(&s.timestamps, &s.values, 60_000, &model).band)
            .collect::<Vec<_>>()
    });
    report(
        "seasonal band (fit, 14-day training, 12-hour refit)",
        secs,
        baseline,
        "",
    );
    let rule = Rule {
        k: 3.5,
        direction: Direction::Both,
        inclusive: false,
        floor: Some(0.0),
    };
    let (secs, breaching) = time(repeat, || {
        data.par_iter()
            .zip(&bands)
            .map(|(s, b)| {
                // What backtest and tune do per k: classify into bits, count by popcount.
                let bits = band::classified(&s.values, b, &rule);
                bits.breaching_between(0, bits.len()) as usize
            })
            .sum::<usize>()
    });
    report(
        "re-classify at a new k (no refit)",
        secs,
        baseline,
        &format!("{breaching} breaching points"),
    );
    // The band Prometheus computes with its recording rules, bit for bit: an hour's range per
    // evaluation, reduced in PromQL's order.
    let promql = band::promql::PromqlModel::new(3_600_000);
    let (secs, bands) = time(repeat, || {
        data.par_iter()
            .map(|s| band::promql::band(&s.timestamps, &s.values, 60_000, &promql))
            .collect::<Vec<_>>()
    });
    let ranges: usize = bands.iter().map(|b| b.center.len()).sum();
    report(
        "promql band (avg and stddev_over_time over 1h)",
        secs,
        baseline,
        &format!("{} M ranges of 60 samples, twice", ranges / 1_000_000),
    );
}
