//! Backtest and tune over fleets: files larger than memory are replayed a batch of whole series at
//! a time (`series::stream`), so peak memory follows `--memory`, not the number of series, and the
//! output is the same bytes as an in-memory run's.
//!
//! Per data file: when the file's points would take more than the budget in memory, it is streamed
//! in batches of about `budget / BYTES_PER_POINT` points; otherwise it is loaded whole (one batch).
//! Each batch is planned and replayed by the backtest's own code (`backtest::plan` with
//! `BacktestOptions::batch`, `backtest::replay_groups`); backtest results go to a [`spill`] file
//! and come back sorted, tune tallies of batches add up as shards' do (`tune::pool`).

pub mod shards;
pub mod spill;

use std::path::{Path, PathBuf};

use crate::backtest::{self, BacktestError, BacktestOptions, Batch};
use crate::progress::Progress;
use crate::series::{self, stream, LoadError, Series};
use crate::spec::{AlertSet, ResolvedAlert};
use crate::tune::{self, pool, TuneError, TuneOptions, TuneReport};

/// Memory one point costs while its series is loaded and replayed: the raw columns, the decoded
/// frame, resampled grids, band and classification, on every thread. Measured: a backtest of one
/// seasonal and one static alert over 1,000 × 20,160 points peaked at 1.28 GB RSS (about 64 B per
/// point).
pub const BYTES_PER_POINT: u64 = 64;

/// The default `--memory`: 1 GiB of series at a time.
pub const DEFAULT_MEMORY: u64 = 1 << 30;

/// `512M`, `2G`, `1.5GiB`, `800000000`: a size in bytes (K, M, G, T; binary multiples).
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{text}`: expected a size such as `512M` or `2G`"))?;
    let scale: f64 = match unit
        .trim()
        .to_ascii_lowercase()
        .trim_end_matches("ib")
        .trim_end_matches('b')
    {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("`{text}`: unknown unit `{unit}` (K, M, G or T)")),
    };
    let bytes = n * scale;
    if !(bytes >= 1024.0 * 1024.0 && bytes.is_finite()) {
        return Err(format!("`{text}`: at least 1M"));
    }
    Ok(bytes as u64)
}

/// The data file an alert reads (`--data` wins), as `backtest::plan` resolves it.
fn data_path(alert: &ResolvedAlert, opts: &BacktestOptions) -> Option<PathBuf> {
    opts.data
        .clone()
        .or_else(|| alert.backtest.as_ref().map(|b| b.data.clone()))
}

/// The data files of `alerts`, in first-use order, each with the alerts reading it.
fn by_path<'a>(
    alerts: &[&'a ResolvedAlert],
    opts: &BacktestOptions,
) -> Result<Vec<(PathBuf, Vec<&'a ResolvedAlert>)>, BacktestError> {
    let mut out: Vec<(PathBuf, Vec<&ResolvedAlert>)> = Vec::new();
    for a in alerts {
        let path = data_path(a, opts).ok_or_else(|| BacktestError::NoData {
            alert: a.name.clone(),
            env: a.env.clone(),
        })?;
        match out.iter_mut().find(|(p, _)| *p == path) {
            Some((_, list)) => list.push(a),
            None => out.push((path, vec![a])),
        }
    }
    Ok(out)
}

/// Batches of whole series of one file.
type Batches = Box<dyn Iterator<Item = Result<Vec<Series>, LoadError>>>;

/// Whether `path` is read whole or streamed: its batches, and its row count when streamed.
fn batches(
    path: &Path,
    format: Option<series::Format>,
    memory: u64,
) -> Result<(Batches, Option<usize>), LoadError> {
    if let Some(stream) = stream_if_larger(path, format, memory)? {
        let total = stream.total_rows;
        return Ok((Box::new(stream), Some(total)));
    }
    let whole = series::load(path, format)?;
    Ok((Box::new(std::iter::once(Ok(whole))), None))
}

/// The batches of `path` when it is a Parquet file whose points would take more than `memory`
/// (reading only its metadata to know); `None` when it is read whole.
fn stream_if_larger(
    path: &Path,
    format: Option<series::Format>,
    memory: u64,
) -> Result<Option<stream::SeriesBatches>, LoadError> {
    let parquet = match format {
        Some(f) => f == series::Format::Parquet,
        None => path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "parquet" | "pq")),
    };
    if !(parquet && std::fs::metadata(path).is_ok_and(|m| m.is_file())) {
        return Ok(None);
    }
    let points = (memory / BYTES_PER_POINT).max(1) as usize;
    let stream = stream::parquet_batches(path, points)?;
    Ok((stream.total_rows as u64)
        .saturating_mul(BYTES_PER_POINT)
        .gt(&memory)
        .then_some(stream))
}

/// The format `backtest::plan` reads `path` in for the alerts reading it (`--data` is sniffed).
fn format_of(first: &ResolvedAlert, opts: &BacktestOptions) -> Option<series::Format> {
    if opts.data.is_some() {
        None
    } else {
        first.backtest.as_ref().and_then(|b| b.format)
    }
}

/// A load error in terms of the first alert reading the file.
fn data_error(alert: &ResolvedAlert, path: &Path, source: LoadError) -> BacktestError {
    BacktestError::Data {
        alert: alert.name.clone(),
        env: alert.env.clone(),
        path: path.to_path_buf(),
        source: Box::new(source),
    }
}

/// An alert whose `backtest.series` filter matched no series of the whole file, or whose evaluation
/// span is empty on every series it matched (checked across batches: one batch may hold none).
struct Matched<'a> {
    alerts: Vec<Seen<'a>>,
}

/// What the batches so far held for one alert.
struct Seen<'a> {
    alert: &'a ResolvedAlert,
    /// Its series filter (`--series`, else `backtest.series`).
    filter: Option<&'a str>,
    /// A series its filter selects.
    matched: bool,
    /// A selected series with something to evaluate.
    spanned: bool,
    /// The error of the first selected series with an empty span.
    empty: Option<BacktestError>,
}

impl<'a> Matched<'a> {
    fn new(alerts: &[&'a ResolvedAlert], opts: &'a BacktestOptions) -> Matched<'a> {
        Matched {
            alerts: alerts
                .iter()
                .map(|a| Seen {
                    alert: a,
                    filter: crate::backtest::series_filter(a, opts),
                    matched: false,
                    spanned: false,
                    empty: None,
                })
                .collect(),
        }
    }

    fn see(&mut self, batch: &[Series], opts: &BacktestOptions) {
        for seen in self.alerts.iter_mut().filter(|s| !s.spanned) {
            for s in batch
                .iter()
                .filter(|s| crate::backtest::selects(seen.filter, &s.name))
            {
                seen.matched = true;
                if crate::backtest::evaluation_span(seen.alert, s, opts).is_some() {
                    seen.spanned = true;
                    break;
                }
                if seen.empty.is_none() {
                    seen.empty = Some(crate::backtest::empty_span(seen.alert, s, opts));
                }
            }
        }
    }

    fn check(self, path: &Path) -> Result<(), BacktestError> {
        for seen in self.alerts {
            if !seen.matched {
                return Err(BacktestError::NoMatchingSeries {
                    alert: seen.alert.name.clone(),
                    env: seen.alert.env.clone(),
                    path: path.to_path_buf(),
                    filter: seen.filter.unwrap_or_default().to_string(),
                });
            }
            if let (false, Some(empty)) = (seen.spanned, seen.empty) {
                return Err(empty);
            }
        }
        Ok(())
    }
}

/// Call `each` with every batch of every data file the selected alerts read, as options for
/// `backtest::plan` (the batch set).
fn for_each_batch<E: From<BacktestError>>(
    alerts: &[&ResolvedAlert],
    opts: &BacktestOptions,
    memory: u64,
    what: &str,
    mut each: impl FnMut(&BacktestOptions) -> Result<(), E>,
) -> Result<(), E> {
    for (path, readers) in by_path(alerts, opts)? {
        let first = readers[0];
        let (batches, streamed_rows) = batches(&path, format_of(first, opts), memory)
            .map_err(|e| data_error(first, &path, e))?;
        let progress = streamed_rows.map(|rows| Progress::new(rows as u64, what));
        let mut matched = Matched::new(&readers, opts);
        for batch in batches {
            let batch = batch.map_err(|e| data_error(first, &path, e))?;
            let rows: usize = batch.iter().map(|s| s.stats.rows).sum();
            matched.see(&batch, opts);
            let mut batch_opts = opts.clone();
            batch_opts.batch = Some(Batch {
                path: path.clone(),
                series: std::sync::Arc::new(batch),
            });
            each(&batch_opts)?;
            if let Some(p) = &progress {
                p.advance(rows as u64);
            }
        }
        if let Some(p) = progress {
            p.finish();
        }
        matched.check(&path)?;
    }
    Ok(())
}

/// Backtest every selected (alert, env) of `sets` within `memory`; the results, sorted as
/// `backtest::run` sorts them.
pub fn backtest(
    sets: &[AlertSet],
    opts: &BacktestOptions,
    memory: u64,
) -> Result<spill::SortedResults, BacktestError> {
    let alerts = backtest::selected_alerts(sets, opts);
    if alerts.is_empty() {
        return Err(BacktestError::Nothing);
    }
    let io = |e: std::io::Error| BacktestError::Spill(e.to_string());
    let mut spill = spill::Spill::new().map_err(io)?;
    for_each_batch(&alerts, opts, memory, "backtest: rows", |batch_opts| {
        let groups = backtest::plan(&alerts, batch_opts)?;
        for r in backtest::replay_groups(&groups, batch_opts) {
            spill.push(&r).map_err(io)?;
        }
        Ok::<(), BacktestError>(())
    })?;
    spill.sorted().map_err(io)
}

/// Whether a tuning run sees only some of an alert's series at a time: a shard, or a file streamed
/// in batches.
fn sees_part(
    alerts: &[&ResolvedAlert],
    opts: &TuneOptions,
    memory: u64,
) -> Result<bool, BacktestError> {
    if opts.backtest.shard.is_some() {
        return Ok(true);
    }
    for (path, readers) in by_path(alerts, &opts.backtest)? {
        let first = readers[0];
        let streamed = stream_if_larger(&path, format_of(first, &opts.backtest), memory)
            .map_err(|e| data_error(first, &path, e))?;
        if streamed.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The data step of every selected (alert, env) over all the series it reads (every shard's,
/// every batch's), a pass over the files before tuning: the default grid tries periods from the
/// step, and a batch or a shard that measured it on its own series alone could try other
/// settings than the rest, whose tallies then cannot be pooled.
fn whole_data_steps(
    alerts: &[&ResolvedAlert],
    opts: &BacktestOptions,
    memory: u64,
) -> Result<tune::DataSteps, BacktestError> {
    let every_series = BacktestOptions {
        shard: None,
        ..opts.clone()
    };
    let mut steps = tune::DataSteps::new();
    for_each_batch(
        alerts,
        &every_series,
        memory,
        "tune: data steps",
        |batch_opts| {
            let groups = backtest::plan(alerts, batch_opts)?;
            tune::merge_data_steps(&mut steps, tune::data_steps(&groups));
            Ok::<(), BacktestError>(())
        },
    )?;
    Ok(steps)
}

/// Tune every selected (alert, env) of `sets` within `memory`: each batch's tallies pooled, then
/// the recommendation and Pareto front chosen once over all series.
pub fn tune(sets: &[AlertSet], opts: &TuneOptions, memory: u64) -> Result<TuneReport, TuneError> {
    let alerts = backtest::selected_alerts(sets, &opts.backtest);
    let mut opts = opts.clone();
    if opts.uses_default_grid() && opts.data_steps.is_none() && sees_part(&alerts, &opts, memory)? {
        opts.data_steps = Some(whole_data_steps(&alerts, &opts.backtest, memory)?);
    }
    let opts = &opts;
    let mut pools = Vec::new();
    for_each_batch(
        &alerts,
        &opts.backtest,
        memory,
        "tune: rows",
        |batch_opts| {
            let batch = TuneOptions {
                backtest: batch_opts.clone(),
                ..opts.clone()
            };
            pools.extend(tune::run(sets, &batch)?.pool);
            Ok::<(), TuneError>(())
        },
    )?;
    if pools.is_empty() {
        return Ok(TuneReport::default());
    }
    let merged = pool::merge(pools).map_err(TuneError::Pool)?;
    let mut report = tune::choose(&merged);
    if opts.backtest.shard.is_some() {
        report.pool = Some(merged);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_parse_with_binary_units() {
        assert_eq!(parse_memory("1G").unwrap(), 1 << 30);
        assert_eq!(parse_memory("512M").unwrap(), 512 << 20);
        assert_eq!(parse_memory("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_memory("2gb").unwrap(), 2 << 30);
        for bad in ["", "lots", "1X", "0", "10K", "-1G", "NaNG"] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
    }
}
