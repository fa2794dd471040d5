//! What `backtest` and `tune` replay: specs, alerts, envs, data, incidents, engines and the
//! evaluation span — one set of flags, resolved into the library's options in one place.

use std::path::PathBuf;

use super::UsageError;
use crate::backtest::{BacktestOptions, Engines};
use crate::spec;

#[derive(clap::Args, Debug)]
pub struct Selection {
    /// A spec file or a folder of specs.
    #[arg(long, default_value = "alerts")]
    pub spec: PathBuf,
    /// Only these environments (repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    pub env: Vec<String>,
    /// Only these alerts (repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    pub alert: Vec<String>,
    /// Use this data file for every alert instead of the spec's `backtest.data`.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Only series whose name contains this text, for every alert (over the spec's
    /// `backtest.series`): one series of a file of many, e.g. `--series 'KPI ID="a1"'` to tune it
    /// on its own.
    #[arg(long)]
    pub series: Option<String>,
    /// Incident windows (NAB `combined_windows.json`, its point labels `combined_labels.json`, CSV
    /// `start,end[,series]`, or a metric CSV with a per-row anomaly flag): recall, precision, false
    /// alerts per week, delay.
    #[arg(long)]
    pub incidents: Option<PathBuf>,
    /// An episode starting this long after an incident's window still catches it (`1h`; over the
    /// spec's `backtest.grace`). Delay still counts from the window. Without one, point labels
    /// (single timestamps, runs of flagged rows) are caught by an episode whose evaluation saw one
    /// of their points, and a window gets none; `0s` is strict.
    #[arg(long, value_parser = parse_reach)]
    pub grace: Option<i64>,
    /// An episode starting this long before an incident's window still catches it (over the
    /// spec's `backtest.lead`): labels that open after the trouble began. With `--grace`, a
    /// window around each point label (NAB centres its windows on the anomaly).
    #[arg(long, value_parser = parse_reach)]
    pub lead: Option<i64>,
    /// An incident counts as caught only by an episode starting at most this long after it opens
    /// (`30m`; over the spec's `backtest.max_delay`): a later one is late, neither a catch nor a
    /// false alert, so `tune` looks for settings that page in time.
    #[arg(long, value_parser = parse_reach)]
    pub max_delay: Option<i64>,
    /// The data's time column holds row numbers (1, 2, 3, … as Yahoo's S5 A1 set writes it), this
    /// far apart (`1h`): row n is read as 2000-01-01T00:00:00Z + n × step, and so are incidents
    /// flagged on such rows (`--incidents` the same file). A file with real times is refused.
    #[arg(long, value_parser = parse_row_step)]
    pub row_step: Option<i64>,
    /// Which engines to replay.
    #[arg(long, default_value = "both", value_parser = ["cloudwatch", "prometheus", "both"])]
    pub engine: String,
    /// Ignore the tuned overlay (`<spec>.tuned.yaml`) and use the spec as written.
    #[arg(long)]
    pub no_tuned: bool,
    /// Start of the evaluation span (RFC 3339, or epoch seconds or milliseconds; default: the
    /// data's first row, or the spec's `backtest.start`).
    #[arg(long, value_parser = parse_time, allow_hyphen_values = true)]
    pub start: Option<i64>,
    /// End of the evaluation span (default: the data's last row, or the spec's `backtest.end`).
    /// Periods after the metric stops reporting are evaluated: that is where `treat_missing_data`
    /// decides the state.
    #[arg(long, value_parser = parse_time, allow_hyphen_values = true)]
    pub end: Option<i64>,
    /// Run only shard `i` of `n` (1-based; series chosen by a stable hash of their name), for
    /// running across machines and combining with `alertlab merge`. `auto/n` takes the index from
    /// the scheduler: `JOB_COMPLETION_INDEX` (Kubernetes Indexed Job) or
    /// `AWS_BATCH_JOB_ARRAY_INDEX` (AWS Batch array job), both 0-based.
    #[arg(long)]
    pub shard: Option<String>,
    /// Memory for series at a time (`512M`, `2G`): a Parquet file whose points would take more is
    /// read a batch of whole series at a time (rows grouped by series), so a fleet of any size
    /// runs in about this much memory. Results are the same either way.
    #[arg(long, default_value = "1G", value_parser = crate::fleet::parse_memory)]
    pub memory: u64,
}

/// clap parser for `--row-step`: a positive duration of at most a year.
pub(crate) fn parse_row_step(text: &str) -> Result<i64, String> {
    match parse_reach(text)? {
        0 => Err(format!(
            "`{text}`: rows must be some time apart (`1h`, `5m`)"
        )),
        ms => Ok(ms),
    }
}

/// clap parser for `--grace` and `--lead`: a duration of at most a year, as the spec's durations.
fn parse_reach(text: &str) -> Result<i64, String> {
    match crate::series::time::parse_duration(text) {
        Some(ms) if ms <= crate::series::time::MAX_DURATION_MS => Ok(ms),
        Some(_) => Err(format!(
            "`{text}` is longer than a year, the longest duration alertlab accepts"
        )),
        None => Err(format!(
            "`{text}` is not a duration such as `30m`, `1h` or `1d`"
        )),
    }
}

/// clap parser for `--start`/`--end`.
pub fn parse_time(text: &str) -> Result<i64, String> {
    crate::series::time::parse_time_arg(text)
}

/// A tuned overlay written for an earlier version of its spec still applies over the human's
/// later edits (a `k` changed by hand is overridden by the tuned one): say so on stderr, once per
/// spec, with the ways out. (`generate --check` fails on it instead.)
pub fn warn_of_overlays_on_other_specs(sets: &[spec::AlertSet]) {
    for set in sets.iter().filter(|s| s.tuned_on_other_spec) {
        if let Some(path) = &set.tuned {
            eprintln!(
                "warning: `{}` was tuned on an earlier version of `{}`: its values still override the spec's (`--no-tuned` ignores them; `alertlab tune --write` tunes again)",
                path.display(),
                set.source.display()
            );
        }
    }
}

impl Selection {
    /// The specs (with their tuned overlays unless `--no-tuned`), checked against `--env` and
    /// `--alert`: a name no spec defines is a usage error, not an empty report.
    pub fn load(&self) -> anyhow::Result<Vec<spec::AlertSet>> {
        let sets = spec::load_path_with(
            &self.spec,
            spec::LoadOptions {
                tuned: !self.no_tuned,
            },
        )?;
        warn_of_overlays_on_other_specs(&sets);
        for e in &self.env {
            if !sets.iter().any(|s| {
                s.environments.contains_key(e) || s.alerts.iter().any(|a| a.per_env.contains_key(e))
            }) {
                return Err(
                    UsageError(format!("`--env {e}`: no spec defines this environment")).into(),
                );
            }
        }
        let names: Vec<&str> = sets
            .iter()
            .flat_map(|s| &s.alerts)
            .map(|a| a.name.as_str())
            .collect();
        if let Some(a) = self.alert.iter().find(|a| !names.contains(&a.as_str())) {
            return Err(UsageError(format!(
                "`--alert {a}`: no spec defines this alert; the specs define {}",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
        Ok(sets)
    }

    /// The library's options for these flags.
    pub fn options(&self) -> Result<BacktestOptions, UsageError> {
        if let (Some(s), Some(e)) = (self.start, self.end) {
            if e < s {
                return Err(UsageError("`--end` is before `--start`".into()));
            }
        }
        let shard = match &self.shard {
            Some(text) => Some(
                crate::shard::Shard::parse_with(text, |v| std::env::var(v).ok())
                    .map_err(|e| UsageError(format!("`--shard`: {e}")))?,
            ),
            None => None,
        };
        Ok(BacktestOptions {
            envs: self.env.clone(),
            alerts: self.alert.clone(),
            data: self.data.clone(),
            incidents: self.incidents.clone(),
            series: self.series.clone(),
            grace_ms: self.grace,
            lead_ms: self.lead,
            max_delay_ms: self.max_delay,
            engines: Engines::from_name(&self.engine),
            start_ms: self.start,
            end_ms: self.end,
            shard,
            row_step_ms: self.row_step,
            ..BacktestOptions::default()
        })
    }
}
