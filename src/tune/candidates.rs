//! The settings `tune` replays for one (alert, env, engine): its grid (the command line's, the
//! spec's `tune:` block or the default) cut to the keys the engine reads, each valid combination
//! resolved through the spec's own resolution; M > N, an evaluation range shorter than N and
//! look-backs CloudWatch refuses skipped.

use super::grid::{self, Grid, Params, Value};
use super::{TuneError, CLOUDWATCH_ONLY, PROMETHEUS_ONLY};
use crate::backtest::Engines;
use crate::spec::{AlertSet, ResolvedAlert};

/// Whether `engine`'s replay of `alert` reads the grid key `key`: a key of the other engine only
/// (`for` for a CloudWatch alarm) or of another kind of condition (`k` for a threshold) is dropped
/// from the alert's grid.
fn reads_key(engine: &str, alert: &ResolvedAlert, key: &str) -> bool {
    let other_engine_only = if engine == "cloudwatch" {
        PROMETHEUS_ONLY
    } else {
        CLOUDWATCH_ONLY
    };
    !other_engine_only.contains(&key) && grid::applies(alert, key)
}

/// The keys of `grid` that tune none of `alerts` on `engines`: `p` where no alert has a percentile
/// condition, `for` when only CloudWatch alarms are tuned. Such a key is dropped from every
/// alert's grid (one `--grid` serves every alert), so it is worth saying when it served none.
pub fn unused_grid_keys(alerts: &[&ResolvedAlert], grid: &Grid, engines: Engines) -> Vec<String> {
    let tunes = |alert: &ResolvedAlert, key: &str| {
        (alert.cloudwatch.is_some() && engines.cloudwatch && reads_key("cloudwatch", alert, key))
            || (alert.prometheus.is_some()
                && engines.prometheus
                && reads_key("prometheus", alert, key))
    };
    let mut unused: Vec<String> = Vec::new();
    for (key, _) in grid {
        if !unused.contains(key) && !alerts.iter().any(|a| tunes(a, key)) {
            unused.push(key.clone());
        }
    }
    unused
}

/// The settings tried for one (alert, env, engine): the current one first.
pub(super) struct Candidates {
    pub alert: ResolvedAlert,
    pub engine: &'static str,
    pub settings: Vec<(Params, ResolvedAlert)>,
    /// Combinations of the grid not tried: M > N, R < N, or a look-back CloudWatch refuses.
    pub skipped: usize,
}

/// What the default grid depends on besides the spec as written.
#[derive(Clone, Copy)]
pub(super) struct DefaultGridInputs {
    /// The step of the alert's data (the largest median step of its series).
    pub data_step_ms: Option<i64>,
    /// Whether dropouts are among the incidents to catch (`--inject drop:...`).
    pub dropouts: bool,
}

/// The grid of `alert`: the command line's, else the spec's `tune:` block, else the default (which
/// depends on the spec as written and on `inputs`). With values added on the command line
/// (`added`), the block or default with the command line's keys set and added.
pub(super) fn grid_for(
    set: &AlertSet,
    alert: &ResolvedAlert,
    cli: Option<&Grid>,
    added: &Grid,
    inputs: DefaultGridInputs,
) -> Result<Grid, TuneError> {
    if added.is_empty() {
        return match cli {
            Some(g) => Ok(g.clone()),
            None => base_grid(set, alert, inputs),
        };
    }
    let none = Grid::new();
    let base = base_grid(set, alert, inputs)?;
    Ok(grid::combined(base, cli.unwrap_or(&none), added))
}

/// The spec's `tune:` block for `alert`, else the default grid.
fn base_grid(
    set: &AlertSet,
    alert: &ResolvedAlert,
    inputs: DefaultGridInputs,
) -> Result<Grid, TuneError> {
    let block = set.alerts.iter().find(|a| a.name == alert.name);
    if let Some(grid) = block.and_then(|a| a.tune.as_ref()) {
        return Ok(grid.clone());
    }
    // Anchored on the spec as written, not on its tuned overlay (the threshold around its value,
    // the periods from its period): tuning again over an overlay searches the same settings.
    let written = crate::spec::resolve_as_written(set, &alert.name, &alert.env)?;
    let mut grid = grid::default_grid(&written, inputs.data_step_ms);
    if inputs.dropouts {
        grid::add_missing_data_rule(&mut grid, &written);
    }
    Ok(grid)
}

impl Candidates {
    /// The alert's own values of every key its settings vary.
    pub fn current_params(&self) -> Params {
        self.settings
            .iter()
            .flat_map(|(params, _)| params.keys())
            .filter_map(|key| Some((key.clone(), grid::current_value(&self.alert, key)?)))
            .collect()
    }
}

/// Every valid setting of `grid` for `alert` on `engine`, resolved. M > N and R < N are skipped.
pub(super) fn candidates(
    set: &AlertSet,
    alert: &ResolvedAlert,
    engine: &'static str,
    grid: &Grid,
) -> Result<Candidates, TuneError> {
    let grid: Grid = grid
        .iter()
        .filter(|(k, _)| reads_key(engine, alert, k))
        .cloned()
        .collect();
    let mut settings = vec![(Params::new(), alert.clone())];
    let mut skipped = 0;
    for params in grid::settings(&grid) {
        let int = |k: &str| match params.get(k) {
            Some(Value::Int(v)) => Some(*v as usize),
            _ => None,
        };
        let n = int("evaluation_periods").unwrap_or(alert.cw.evaluation_periods);
        let m = int("datapoints_to_alarm").unwrap_or(alert.cw.datapoints_to_alarm.min(n));
        // The evaluation range the setting would have: the grid's, the spec's own, or N + 2.
        let r = int("evaluation_range")
            .or(alert.evaluation_range_given)
            .unwrap_or(n + 2);
        if m > n || r < n {
            skipped += 1;
            continue;
        }
        // Like M > N, a look-back CloudWatch refuses (a day of periods under an hour, a week
        // otherwise) is a combination to skip, not an error: daily data tried as the period with
        // 12 evaluation periods would be twelve days.
        if let Some(cloudwatch) = &alert.cloudwatch {
            let period_s = int("period").map_or(cloudwatch.period_s, |p| p as i64);
            if period_s * n as i64 > crate::spec::evaluation_limit_s(period_s) {
                skipped += 1;
                continue;
            }
        }
        let mut params = params;
        if engine == "cloudwatch"
            && !params.contains_key("datapoints_to_alarm")
            && params.contains_key("evaluation_periods")
        {
            // N alone would leave M at the spec's value; keep M ≤ N explicit in the setting.
            params.insert("datapoints_to_alarm".into(), Value::Int(m as i64));
        }
        let over = grid::override_of(alert, &params).map_err(|e| TuneError::Grid {
            alert: alert.name.clone(),
            message: e.to_string(),
        })?;
        // The spec resolves the setting as it would the human's file, so its error would point at
        // the spec's line for the key, which holds the value as written, not the grid's.
        let variant =
            crate::spec::resolve_with(set, &alert.name, &alert.env, &over).map_err(|e| {
                TuneError::Setting {
                    setting: grid::describe(&params),
                    message: e.message,
                    hint: e.hint,
                }
            })?;
        settings.push((params, variant));
    }
    Ok(Candidates {
        alert: alert.clone(),
        engine,
        settings,
        skipped,
    })
}
