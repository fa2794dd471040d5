//! `alertlab band FILE --model seasonal --k 3`: the band a model draws over a series, for inspection.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use polars::prelude as pl;
use polars::prelude::{DataType, IntoColumn, NamedFrom, TimeUnit};

use super::inspect::parse_input_format;
use super::output::emit;
use super::{limits, UsageError};
use crate::backtest::prepare;
use crate::band::percentile::PercentileModel;
use crate::band::seasonal::{SeasonalModel, Seasonality};
use crate::band::{replay, Band, Comparison, Direction};
use crate::fsutil::write_atomic;
use crate::series::time::{format_rfc3339, DAY_MS, HOUR_MS};
use crate::series::{self, format_value, median_step_ms, resample, Series, Statistic};
use crate::spec::{AnomalyModel, Condition, ReplayModel};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Metric file.
    pub file: PathBuf,
    /// `seasonal`, `percentile` or `replay`.
    #[arg(long, default_value = "seasonal", value_parser = ["seasonal", "percentile", "replay"])]
    pub model: String,
    /// Width in standard deviations (seasonal, replay).
    #[arg(long, default_value_t = 2.0)]
    pub k: f64,
    /// Resample to this period (seconds) first, as a CloudWatch alarm would.
    #[arg(long)]
    pub period: Option<i64>,
    /// Statistic for `--period`.
    #[arg(long, default_value = "Average")]
    pub stat: String,
    /// Training window in days (seasonal, percentile).
    #[arg(long, default_value_t = 14.0)]
    pub training_days: f64,
    /// Force a seasonality (seasonal): none, hourly, daily, weekly.
    #[arg(long)]
    pub seasonality: Option<String>,
    /// Percentile (percentile model).
    #[arg(long, default_value_t = 99.0)]
    pub p: f64,
    /// The fetched `ANOMALY_DETECTION_BAND` series (replay model).
    #[arg(long)]
    pub band_data: Option<PathBuf>,
    /// Width the replayed band was fetched at.
    #[arg(long, default_value_t = 2.0)]
    pub k0: f64,
    /// Only series whose name contains this text.
    #[arg(long)]
    pub series: Option<String>,
    #[arg(long, default_value = "csv", value_parser = ["csv", "parquet", "json"])]
    pub format: String,
    /// Output file (required for parquet); stdout otherwise.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub input_format: Option<String>,
    /// The time column holds row numbers this far apart (`1h`), read as `backtest --row-step`
    /// reads them: row n at 2000-01-01T00:00:00Z + n × step.
    #[arg(long, value_parser = super::selection::parse_row_step)]
    pub row_step: Option<i64>,
}

/// One series with its band.
struct Banded {
    series: Series,
    band: Band,
    seasonality: Option<String>,
    /// The lowest a lower bound goes (the model's clamp to the metric's logical range).
    floor: Option<f64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.k >= 0.0 && args.k.is_finite()) {
        return Err(UsageError(format!("`--k {}` must be a non-negative number", args.k)).into());
    }
    limits::number_in("--k0", args.k0, f64::MIN_POSITIVE, 1e6)?;
    limits::number_in("--training-days", args.training_days, 1.0 / 24.0, 366.0)?;
    limits::number_in("--p", args.p, 0.0, 100.0)?;
    if let Some(p) = args.period {
        limits::cloudwatch_period("--period", p)?;
    }
    if args.format == "parquet" && args.out.is_none() {
        return Err(UsageError("`--format parquet` needs `--out FILE`".into()).into());
    }
    let stat: Statistic = args.stat.parse().map_err(UsageError)?;
    let seasonality = match args.seasonality.as_deref() {
        None | Some("auto") => None,
        Some(s) => Some(Seasonality::parse(s).ok_or_else(|| {
            UsageError(format!(
                "`--seasonality {s}`: expected auto, none, hourly, daily or weekly"
            ))
        })?),
    };
    let replay_bounds = match (&args.model[..], &args.band_data) {
        ("replay", None) => {
            return Err(UsageError("`--model replay` needs `--band-data FILE`".into()).into())
        }
        ("replay", Some(p)) => {
            let loaded = series::load(p, None)?;
            let (l, u) = replay::find_bounds(&loaded).ok_or_else(|| {
                UsageError(format!(
                    "`{}` holds no lower and upper band series",
                    p.display()
                ))
            })?;
            Some((l.clone(), u.clone()))
        }
        _ => None,
    };
    let mut all = series::rows::load_at_row_step(
        &args.file,
        parse_input_format(args.input_format.as_deref())?,
        args.row_step,
    )?;
    if let Some(filter) = &args.series {
        all.retain(|s| s.name.contains(filter.as_str()));
        if all.is_empty() {
            return Err(UsageError(format!(
                "no series in `{}` matches `{filter}`",
                args.file.display()
            ))
            .into());
        }
    }
    if let Some(p) = args.period {
        for raw in &all {
            let (first, last) = raw.row_span().unwrap_or((0, 0));
            let n = series::period_count(p * 1000, first, last);
            if n > series::MAX_PERIODS {
                return Err(UsageError(format!(
                    "series `{}` spans {n} periods of {p} s; the limit is {}\nhint: check the timestamps, or use a longer `--period`",
                    raw.name,
                    series::MAX_PERIODS
                ))
                .into());
            }
        }
    }
    let training_ms = (args.training_days * DAY_MS as f64) as i64;
    let banded: Vec<Banded> = all
        .into_iter()
        .map(|raw| {
            let s = match args.period {
                Some(p) => resample(&raw, p * 1000, stat),
                None => raw,
            };
            let step = median_step_ms(&s).unwrap_or(60_000);
            // The same model → band path as the backtest (`backtest::prepare`), so what this
            // prints is exactly what alarms are compared with.
            let condition = match args.model.as_str() {
                "seasonal" => Condition::Anomaly {
                    model: AnomalyModel::Seasonal(SeasonalModel {
                        training_ms,
                        seasonality,
                        ..SeasonalModel::default()
                    }),
                    k: args.k,
                    direction: Direction::Both,
                },
                "percentile" => Condition::Percentile {
                    op: Comparison::Greater,
                    model: PercentileModel {
                        percentile: args.p,
                        training_ms,
                        refit_ms: HOUR_MS.max(step),
                        factor: 1.0,
                    },
                },
                _ => Condition::Anomaly {
                    model: AnomalyModel::Replay(ReplayModel {
                        k0: args.k0,
                        data: args.band_data.clone().unwrap_or_default(),
                    }),
                    k: args.k,
                    direction: Direction::Both,
                },
            };
            let prepared = prepare(
                &condition,
                &s.timestamps,
                &s.values,
                step,
                replay_bounds.as_ref(),
            );
            Banded {
                series: s,
                band: prepared.band,
                seasonality: prepared.seasonality,
                floor: prepared.rule.floor,
            }
        })
        .collect();
    for b in &banded {
        eprintln!(
            "{}: {} points, warm-up {} points{}",
            b.series.name,
            b.series.len(),
            b.band.warm_up_points(),
            b.seasonality
                .as_ref()
                .map(|s| format!(", seasonality {s}"))
                .unwrap_or_default()
        );
    }
    if args.model == "seasonal" {
        eprintln!("note: `seasonal` approximates CloudWatch anomaly detection (AWS's model is not public)");
    }
    let k = if args.model == "percentile" {
        0.0
    } else {
        args.k
    };
    match args.format.as_str() {
        "csv" => emit(&to_csv(&banded, k), args.out.as_deref())?,
        "json" => emit(
            &(serde_json::to_string_pretty(&to_json(&banded, k))? + "\n"),
            args.out.as_deref(),
        )?,
        _ => {
            let out = args.out.as_ref().expect("checked above");
            write_atomic(out, |w| write_parquet(w, &banded, k))
                .with_context(|| format!("writing `{}`", out.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Bounds at `k`, the lower one clamped as the backtest compares it.
fn bounds(b: &Banded, i: usize, k: f64) -> (f64, f64) {
    let (l, u) = b.band.bounds(i, k);
    if l.is_nan() || u.is_nan() {
        (f64::NAN, f64::NAN)
    } else {
        (b.floor.map_or(l, |f| l.max(f)), u)
    }
}

fn to_csv(banded: &[Banded], k: f64) -> String {
    let several = banded.len() > 1;
    let mut out = String::from(if several {
        "timestamp,series,value,lower,upper\n"
    } else {
        "timestamp,value,lower,upper\n"
    });
    for b in banded {
        let name = series::csv_field(&b.series.name);
        for (i, (t, v)) in b.series.timestamps.iter().zip(&b.series.values).enumerate() {
            let (l, u) = bounds(b, i, k);
            let _ = if several {
                writeln!(
                    out,
                    "{},{},{},{},{}",
                    format_rfc3339(*t),
                    name,
                    format_value(*v),
                    format_value(l),
                    format_value(u)
                )
            } else {
                writeln!(
                    out,
                    "{},{},{},{}",
                    format_rfc3339(*t),
                    format_value(*v),
                    format_value(l),
                    format_value(u)
                )
            };
        }
    }
    out
}

fn to_json(banded: &[Banded], k: f64) -> serde_json::Value {
    let num = |v: f64| {
        if v.is_nan() {
            serde_json::Value::Null
        } else {
            serde_json::json!(v)
        }
    };
    serde_json::json!({
        "series": banded.iter().map(|b| serde_json::json!({
            "series": b.series.name,
            "k": k,
            "seasonality": b.seasonality,
            "warm_up_points": b.band.warm_up_points(),
            "points": b.series.timestamps.iter().zip(&b.series.values).enumerate().map(|(i, (t, v))| {
                let (l, u) = bounds(b, i, k);
                serde_json::json!({"timestamp": format_rfc3339(*t), "value": num(*v), "lower": num(l), "upper": num(u)})
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()
    })
}

fn write_parquet(w: &mut dyn std::io::Write, banded: &[Banded], k: f64) -> std::io::Result<()> {
    let to_io = |e: pl::PolarsError| std::io::Error::other(e.to_string());
    let opt = |v: f64| if v.is_nan() { None } else { Some(v) };
    let (mut ts, mut names, mut vals, mut lows, mut ups) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for b in banded {
        for (i, (t, v)) in b.series.timestamps.iter().zip(&b.series.values).enumerate() {
            let (l, u) = bounds(b, i, k);
            ts.push(*t);
            names.push(b.series.name.as_str());
            vals.push(opt(*v));
            lows.push(opt(l));
            ups.push(opt(u));
        }
    }
    let ts = pl::Series::new("timestamp".into(), ts)
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        .map_err(to_io)?;
    let mut cols = vec![ts.into_column()];
    if banded.len() > 1 {
        cols.push(pl::Series::new("series".into(), names).into_column());
    }
    cols.push(pl::Series::new("value".into(), vals).into_column());
    cols.push(pl::Series::new("lower".into(), lows).into_column());
    cols.push(pl::Series::new("upper".into(), ups).into_column());
    let mut df = pl::DataFrame::new_infer_height(cols).map_err(to_io)?;
    pl::ParquetWriter::new(w).finish(&mut df).map_err(to_io)?;
    Ok(())
}
