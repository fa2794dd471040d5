//! `alertlab bench tune`: the whole `tune` run (load included) over a grid of 20 k values × M 1–5 ×
//! N 1–6 (400 valid settings with M ≤ N) for one CloudWatch seasonal-band alert, with two baselines
//! measured in the same run: running `backtest` once per setting (timed on a sample of settings and
//! scaled to the grid), and a vectorised numpy replay of the same M-of-N over the same bands
//! (`scripts/bench_numpy.py`, when numpy can be imported).

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Context;
use rayon::prelude::*;

use super::bench::time;
use crate::backtest::{self, BacktestOptions, Engines};
use crate::band::seasonal::SeasonalModel;
use crate::engine::Detail;
use crate::series::{write_series, OutputLayout, Series};
use crate::tune::{self, grid, TuneOptions};

const KS: [f64; 20] = [
    1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 9.0, 10.0, 12.0,
    15.0, 20.0,
];

/// The bench's spec over `data` (a 1-minute CloudWatch seasonal-band alarm), written as Parquet
/// into `dir` under `name`.
fn bench_spec(
    dir: &Path,
    name: &str,
    data: &[Series],
) -> anyhow::Result<Vec<crate::spec::AlertSet>> {
    let parquet = dir.join(format!("{name}.parquet"));
    write_series(&parquet, data, OutputLayout::Long)?;
    let spec = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &spec,
        format!(
            "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {{name: bench}}\nalerts:\n  - name: band\n    metric: {{cloudwatch: {{namespace: Bench, name: m, stat: Average, period: 60}}}}\n    condition: {{anomaly: {{model: seasonal, k: 3, direction: above}}}}\n    backtest: {{data: {}}}\n",
            parquet.display()
        ),
    )?;
    Ok(crate::spec::load_path(&spec)?)
}

pub fn bench_tune(data: &[Series], repeat: usize, cores: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sets = bench_spec(dir.path(), "fleet", data)?;
    let ks: Vec<String> = KS.iter().map(|k| k.to_string()).collect();
    let grid_flags = vec![
        format!("k={}", ks.join(",")),
        "evaluation_periods=1,2,3,4,5,6".to_string(),
        "datapoints_to_alarm=1,2,3,4,5".to_string(),
    ];
    let opts = TuneOptions {
        backtest: BacktestOptions {
            engines: Engines {
                cloudwatch: true,
                prometheus: false,
            },
            ..BacktestOptions::default()
        },
        grid: Some(grid::parse_grid(&grid_flags).map_err(|e| anyhow::anyhow!("{e}"))?),
        ..TuneOptions::default()
    };
    let points: usize = data.iter().map(|s| s.len()).sum();
    let (secs, result) = time(repeat, || tune::run(&sets, &opts));
    let report_ = result?;
    let configs = report_
        .recommendations
        .first()
        .map_or(0, |r| r.configs_evaluated);
    let rate = (points * configs) as f64 / secs;
    // Baseline 1: backtest once per setting, on a sample of settings, scaled to the grid.
    let alert = sets[0].alerts[0]
        .per_env
        .values()
        .next()
        .context("the bench spec has an alert")?;
    let sample: Vec<grid::Params> = grid::settings(&opts.grid.clone().unwrap_or_default())
        .into_iter()
        .filter(|p| {
            let int = |k: &str| match p.get(k) {
                Some(grid::Value::Int(v)) => *v,
                _ => 0,
            };
            int("datapoints_to_alarm") <= int("evaluation_periods")
        })
        .step_by(50)
        .collect();
    let (per_backtest, _) = time(1, || {
        for params in &sample {
            let over = grid::override_of(alert, params).expect("bench settings are valid");
            let variant = crate::spec::resolve_with(&sets[0], &alert.name, &alert.env, &over)
                .expect("bench settings resolve");
            let groups = backtest::plan(&[&variant], &opts.backtest).expect("bench data loads");
            let n: usize = groups
                .par_iter()
                .map(|g| {
                    let ctx = backtest::SeriesContext::new(g.series());
                    g.jobs
                        .iter()
                        .map(|j| {
                            backtest::replay(
                                j.alert,
                                &ctx,
                                &j.inputs,
                                opts.backtest.engines,
                                Detail::Full,
                            )
                            .len()
                        })
                        .sum::<usize>()
                })
                .sum();
            std::hint::black_box(n);
        }
    });
    let backtest_each = per_backtest / sample.len().max(1) as f64 * configs as f64;
    println!(
        "{:<44} {secs:>9.3} s   {:.2} G points×configs/s ({:.2} G/s/core), {:.1}× faster than backtest once per setting ({backtest_each:.1} s, timed on {} settings)",
        format!("tune ({configs} settings, load included)"),
        rate / 1e9,
        rate / 1e9 / cores as f64,
        backtest_each / secs,
        sample.len()
    );
    numpy_baseline(data, dir.path(), rate, repeat)?;
    sparse_against_dense(data, dir.path(), &opts, repeat)?;
    Ok(())
}

/// A sparse metric (one published only when there is activity: 90 % of the minutes without a
/// datapoint) against the same series whole, tuned with the same grid: most of its evaluation
/// ranges have gaps, which the engine decides period by period instead of by word, so this is the
/// ratio to watch for fleets of sparse metrics. On a tenth of the series (at least one).
fn sparse_against_dense(
    data: &[Series],
    dir: &Path,
    opts: &TuneOptions,
    repeat: usize,
) -> anyhow::Result<()> {
    let dense: Vec<Series> = data[..data.len().div_ceil(10)].to_vec();
    let mut rng = crate::rng::Rng::new(90);
    let sparse: Vec<Series> = dense
        .iter()
        .map(|s| {
            let kept: (Vec<i64>, Vec<f64>) = s
                .timestamps
                .iter()
                .zip(&s.values)
                .filter(|_| rng.chance(0.1))
                .map(|(t, v)| (*t, *v))
                .unzip();
            Series::from_sorted(&s.name, kept.0, kept.1)
        })
        .collect();
    let dense_sets = bench_spec(dir, "dense", &dense)?;
    let sparse_sets = bench_spec(dir, "sparse", &sparse)?;
    let (dense_secs, r) = time(repeat, || tune::run(&dense_sets, opts));
    r?;
    let (sparse_secs, r) = time(repeat, || tune::run(&sparse_sets, opts));
    r?;
    println!(
        "{:<44} {sparse_secs:>9.3} s   {} series, 90 % of minutes without a datapoint: {:.1}× the time of the same series whole ({dense_secs:.3} s)",
        "tune, sparse metric",
        dense.len(),
        sparse_secs / dense_secs
    );
    Ok(())
}

/// The numpy replay over the same bands, when numpy is importable; like alertlab's replay, the
/// fastest of `repeat` runs.
fn numpy_baseline(data: &[Series], dir: &Path, rate: f64, repeat: usize) -> anyhow::Result<()> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = repo.join("scripts/bench_numpy.py");
    // ALERTLAB_PYTHON, else the venv scripts/test.sh makes (which has numpy), else python3.
    let venv = repo.join(".venv/bin/python");
    let python = std::env::var("ALERTLAB_PYTHON").unwrap_or_else(|_| {
        if venv.exists() {
            venv.display().to_string()
        } else {
            "python3".into()
        }
    });
    let has_numpy = Command::new(&python)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_numpy || !script.exists() {
        println!("numpy baseline skipped: `{python}` cannot import numpy (scripts/test.sh installs it in .venv; set ALERTLAB_PYTHON)");
        return Ok(());
    }
    // The bands tune used (one fit per series), as float64 matrices.
    let model = SeasonalModel::default();
    let bands: Vec<_> = data
        .par_iter()
        .map(|s| crate::band::seasonal::band(&s.timestamps, &s.values, 60_000, &model).band)
        .collect();
    let (replay_secs, replay_configs) = replay_only(data, &bands, repeat);
    let points = data.first().map_or(0, |s| s.len());
    if data.iter().any(|s| s.len() != points) {
        println!("numpy baseline skipped: series of different lengths");
        return Ok(());
    }
    let write = |name: &str, rows: Vec<&[f64]>| -> anyhow::Result<()> {
        let file = std::fs::File::create(dir.join(format!("{name}.f64")))?;
        let mut out = std::io::BufWriter::new(file);
        for row in rows {
            for v in row {
                out.write_all(&v.to_le_bytes())?;
            }
        }
        Ok(())
    };
    write("values", data.iter().map(|s| s.values.as_slice()).collect())?;
    write(
        "center",
        bands.iter().map(|b| b.center.as_slice()).collect(),
    )?;
    write(
        "spread",
        bands.iter().map(|b| b.spread.as_slice()).collect(),
    )?;
    let ks: Vec<String> = KS.iter().map(|k| k.to_string()).collect();
    let out = Command::new(&python)
        .arg(&script)
        .arg(dir)
        .arg(data.len().to_string())
        .arg(points.to_string())
        .arg(ks.join(","))
        .arg("1,2,3,4,5,6")
        .arg("1,2,3,4,5")
        .arg(repeat.max(1).to_string())
        .output()
        .context("running the numpy baseline")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let (Some(secs), Some(configs)) = (
        parts.next().and_then(|s| s.parse::<f64>().ok()),
        parts.next().and_then(|s| s.parse::<usize>().ok()),
    ) else {
        println!(
            "numpy baseline failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return Ok(());
    };
    let numpy_rate = (data.len() * points * configs) as f64 / secs;
    println!(
        "{:<44} {secs:>9.3} s   numpy replay of the same M-of-N over the same bands: {:.2} G points×configs/s; tune's whole run is {:.2}× its rate",
        "numpy baseline (replay only)",
        numpy_rate / 1e9,
        rate / numpy_rate
    );
    let replay_rate = (data.len() * points * replay_configs) as f64 / replay_secs;
    println!(
        "{:<44} {replay_secs:>9.3} s   {:.2} G points×configs/s over the same bands: {:.1}× numpy's rate",
        "alertlab replay only (classify + engine)",
        replay_rate / 1e9,
        replay_rate / numpy_rate
    );
    Ok(())
}

/// What the numpy baseline times, done by alertlab: per k one classification of every series
/// against its band, then per M-of-N the exact CloudWatch engine (missing-data rules, episodes;
/// the transitions left out, as tune leaves them) — on both cores, as tune runs. Returns (seconds
/// of the fastest of `repeat` runs, settings).
fn replay_only(data: &[Series], bands: &[crate::band::Band], repeat: usize) -> (f64, usize) {
    use crate::band::{self, Direction, Rule};
    use crate::engine::cloudwatch::{evaluate_classified, CloudWatchConfig, TreatMissingData};
    let settings: Vec<(usize, usize)> = (1..=6)
        .flat_map(|n| (1..=5).filter(move |m| *m <= n).map(move |m| (m, n)))
        .collect();
    let (secs, episodes) = time(repeat, || {
        data.par_iter()
            .zip(bands)
            .map(|(s, b)| {
                let mut episodes = 0;
                for k in KS {
                    let rule = Rule {
                        k,
                        direction: Direction::Above,
                        inclusive: false,
                        floor: Some(0.0),
                    };
                    let classified = band::classified(&s.values, b, &rule);
                    for &(m, n) in &settings {
                        let cfg = CloudWatchConfig::new(n, m, TreatMissingData::Missing);
                        let start = s.timestamps.first().copied().unwrap_or(0);
                        episodes +=
                            evaluate_classified(&classified, start, 60_000, &cfg, Detail::Episodes)
                                .episodes
                                .len();
                    }
                }
                episodes
            })
            .sum::<usize>()
    });
    std::hint::black_box(episodes);
    (secs, KS.len() * settings.len())
}
