//! `alertlab tune`

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::output::{emit, OutputFormat};
use super::selection::Selection;
use super::tune_render::render;
use super::UsageError;
use crate::backtest::BacktestOptions;
use crate::spec;
use crate::tune::{self, grid, Objective, TuneOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub select: Selection,
    #[command(flatten)]
    pub search: SearchArgs,
    /// Search space, `KEY=V1,V2,...` with spec key names (repeatable): k, datapoints_to_alarm,
    /// evaluation_periods, treat_missing_data, period, value, p, factor, for, keep_firing_for, window...
    /// `KEY=` flags alone replace the default grid; `KEY+=V1,...` adds values to the default's
    /// (or the alert's `tune:` block's), which then stays the base: `--grid window+=1d`.
    #[arg(long = "grid")]
    pub grid: Vec<String>,
    /// Measure and report one setting a person picked instead of searching, e.g. a point of the
    /// Pareto front pasted as the table prints it: `--pick "datapoints_to_alarm=4
    /// evaluation_periods=5 k=10 period=300"` (repeatable; one value per key). With `--write` it
    /// is what the overlay gets, whatever the budget says (the report says when it is over).
    #[arg(long, conflicts_with = "grid")]
    pub pick: Vec<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Write the output to this file (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the recommendations beside each spec as `<spec>.tuned.yaml` (read by backtest and
    /// generate); the spec itself is never touched. Merged into an overlay already there; with
    /// `--no-tuned`, the entries tuned replace theirs (and leave it when the spec's own setting
    /// is the answer).
    #[arg(long)]
    pub write: bool,
    /// Also report every setting tried (JSON `settings`, or a table after the front).
    #[arg(long)]
    pub all: bool,
    /// Points of the Pareto front the table shows per alert, env and engine, quietest first
    /// (0: all; the JSON always holds every point). Default: 6 when the table shows one or two
    /// fronts, 3 when more, so that a whole spec's answer fits a screen.
    #[arg(long)]
    pub front: Option<usize>,
    /// Draw the trade-off of each alert, env and engine with known incidents into this folder, as
    /// `<alert>-<env>-<engine>-tradeoff.svg`: every setting tried by false alerts per week and
    /// incidents caught, the Pareto front, the most each budget buys, current and recommended.
    #[arg(long)]
    pub chart: Option<PathBuf>,
}

/// What a recommendation must meet and what it is judged on: the flags `tune` and `report` share.
#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    /// Inject seeded anomalies as incidents, inside the evaluated span: `KIND:SIZE,...` with kinds
    /// spike, shift, drift, variance (size in robust σ) and drop (size a duration, e.g.
    /// `drop:30m`; with drops the default grid also tries `treat_missing_data: breaching`).
    #[arg(long)]
    pub inject: Option<String>,
    /// How many of each injected anomaly per series.
    #[arg(long, default_value_t = 2)]
    pub inject_count: usize,
    /// Seed of the injected anomalies.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Alerts per week a recommendation may not exceed (false alerts when incidents are known).
    #[arg(long, default_value_t = 1.0)]
    pub budget: f64,
    /// Share of the time a recommendation may keep the alarm in ALARM (firing), `0.25` or `25%`:
    /// M of N can hold one episode open for days, which an alert budget counts once. `100%` lifts
    /// the limit.
    #[arg(long, default_value = "25%", value_parser = parse_share)]
    pub max_time_in_alarm: f64,
    /// What to optimise within the budget: `recall` (the quietest setting that still catches the
    /// most: catch the most, then the fewest false alerts, then the soonest; `quiet` is the same),
    /// `recall-soonest` (catch the most, then the soonest, then the quietest: the budget spent on
    /// answering sooner) or `delay` (the soonest).
    #[arg(long, default_value = "recall", value_parser = ["recall", "quiet", "recall-soonest", "delay"])]
    pub objective: String,
}

/// A share of time: a fraction from 0 to 1 (`0.25`) or a percentage (`25%`).
fn parse_share(text: &str) -> Result<f64, String> {
    let expected =
        || format!("`{text}`: expected a share of time from 0 to 1 (`0.25`) or 0% to 100%");
    let share = match text.trim().strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => text.trim().parse::<f64>(),
    }
    .map_err(|_| expected())?;
    if (0.0..=1.0).contains(&share) {
        Ok(share)
    } else {
        Err(expected())
    }
}

impl SearchArgs {
    /// The budget checked first (a usage error before anything is loaded).
    pub fn check_budget(&self) -> Result<(), UsageError> {
        if self.budget.is_finite() && self.budget >= 0.0 {
            return Ok(());
        }
        Err(UsageError(format!(
            "`--budget {}`: expected a non-negative number of alerts per week",
            self.budget
        )))
    }

    /// These flags as tune options over `backtest` (each alert's own grid, the recommendation and
    /// front only: the caller sets the rest).
    pub fn options(&self, backtest: BacktestOptions) -> anyhow::Result<TuneOptions> {
        self.check_budget()?;
        Ok(TuneOptions {
            backtest,
            budget: self.budget,
            max_time_in_alarm: self.max_time_in_alarm,
            inject: match &self.inject {
                Some(text) => crate::inject::parse_list(text)
                    .map_err(|e| UsageError(format!("`--inject`: {e}")))?,
                None => Vec::new(),
            },
            inject_count: super::limits::count_in(
                "--inject-count",
                self.inject_count as i64,
                1,
                100,
            )? as usize,
            seed: self.seed,
            objective: match self.objective.as_str() {
                "delay" => Objective::Delay,
                "recall-soonest" => Objective::RecallSoonest,
                _ => Objective::Recall,
            },
            ..TuneOptions::default()
        })
    }
}

/// A tuning error with its kind kept, so its exit code is right: a spec, data or grid error is the
/// user's input (2), as in `tune` so in `report`.
pub fn tune_error(e: tune::TuneError) -> anyhow::Error {
    match e {
        tune::TuneError::Backtest(b) => anyhow::Error::new(b),
        tune::TuneError::Spec(s) => anyhow::Error::new(s),
        other => UsageError(other.to_string()).into(),
    }
}

/// `--pick` values (`KEY=VALUE` pairs, space-separated as the table prints a setting) as `--grid`
/// flags of one value each; a key given twice, a list or `+=` is a usage error.
fn pick_flags(picks: &[String]) -> Result<Vec<String>, UsageError> {
    let mut flags: Vec<String> = Vec::new();
    for pair in picks.iter().flat_map(|p| p.split_whitespace()) {
        let bad = |why: &str| UsageError(format!("`--pick {pair}`: {why}"));
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| bad("expected KEY=VALUE, e.g. `k=3` (the table's `params`)"))?;
        if key.ends_with('+') || value.contains(',') || value.is_empty() {
            return Err(bad(
                "a pick is one value per key (`--grid` searches several)",
            ));
        }
        if flags
            .iter()
            .any(|f| f.split_once('=').map(|(k, _)| k) == Some(key))
        {
            return Err(bad("the key is given twice"));
        }
        flags.push(pair.to_string());
    }
    if flags.is_empty() && !picks.is_empty() {
        return Err(UsageError(
            "`--pick`: expected KEY=VALUE pairs, e.g. `k=3 datapoints_to_alarm=2`".into(),
        ));
    }
    Ok(flags)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    args.search.check_budget()?;
    let pick = pick_flags(&args.pick)?;
    let flags = if args.pick.is_empty() {
        &args.grid
    } else {
        &pick
    };
    let (grid_set, grid_added) =
        grid::parse_grid_flags(flags).map_err(|e| UsageError(e.to_string()))?;
    let grid = (!grid_set.is_empty()).then_some(grid_set);
    // A shard sees part of the series: what it would write or draw is not the answer.
    for (flag, verb, asked) in [
        ("--write", "write", args.write),
        ("--chart", "chart", args.chart.is_some()),
    ] {
        if asked && args.select.shard.is_some() {
            return Err(UsageError(format!(
                "`{flag}` with `--shard`: a shard sees part of the series; merge the shards (`alertlab merge`) and tune without `--shard` to {verb}"
            ))
            .into());
        }
    }
    let sets = args.select.load()?;
    let opts = TuneOptions {
        grid,
        grid_added,
        // The charts show every setting tried.
        keep_all: args.all || args.chart.is_some(),
        pick: !args.pick.is_empty(),
        ..args.search.options(args.select.options()?)?
    };
    let selected = crate::backtest::selected_alerts(&sets, &opts.backtest);
    let asked: grid::Grid = opts
        .grid
        .iter()
        .flatten()
        .chain(&opts.grid_added)
        .cloned()
        .collect();
    for key in tune::unused_grid_keys(&selected, &asked, opts.backtest.engines) {
        eprintln!(
            "warning: `{} {key}` ({}) means nothing for the selected alerts on the engines asked for: ignored",
            if opts.pick { "--pick" } else { "--grid" },
            grid::key_meaning(&key)
        );
    }
    let mut report = crate::fleet::tune(&sets, &opts, args.select.memory).map_err(tune_error)?;
    if let Some(dir) = &args.chart {
        write_charts(&report, dir)?;
        if !args.all {
            report.settings.clear();
        }
    }
    let mut text = render(&report, args.format, args.front)?;
    if args.format == OutputFormat::Table {
        text.push_str(&unmeasured_engine_notes(&sets, &report));
        text.push_str(&overlay_notes(&sets));
    }
    emit(&text, args.out.as_deref())?;
    if args.write {
        write_overlays(&sets, &report, &args)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The trade-off chart of every recommendation with known incidents, into `dir`.
fn write_charts(report: &tune::TuneReport, dir: &std::path::Path) -> anyhow::Result<()> {
    use crate::plot::tradeoff::{render_tradeoff_svg, Tradeoff, SIZE};
    std::fs::create_dir_all(dir)
        .map_err(|e| UsageError(format!("`--chart {}`: {e}", dir.display())))?;
    let mut written = 0;
    for rec in &report.recommendations {
        let Some(tradeoff) = Tradeoff::of(report, rec) else {
            continue;
        };
        let svg = render_tradeoff_svg(&tradeoff, SIZE).map_err(anyhow::Error::msg)?;
        let name = format!(
            "{}-{}-{}-tradeoff.svg",
            super::plot::safe_name(&rec.alert),
            super::plot::safe_name(&rec.env),
            rec.engine
        );
        let file = dir.join(name);
        crate::fsutil::write_bytes_atomic(&file, svg.as_bytes())
            .with_context(|| format!("writing `{}`", file.display()))?;
        written += 1;
    }
    eprintln!(
        "{written} trade-off chart(s) in {} (one per alert, env and engine with known incidents)",
        dir.display()
    );
    Ok(())
}

/// What is wrong with `r` when it changes a key of the condition that the alert's other engine
/// reads too while this run did not tune that engine (`--engine`): pasted or written, it changes
/// that engine's alarm or rule to a setting no replay measured.
fn unmeasured_engine(
    alert: &spec::ResolvedAlert,
    r: &tune::Recommendation,
    report: &tune::TuneReport,
) -> Option<String> {
    let (other, what) = match r.engine {
        "cloudwatch" if alert.prometheus.is_some() => ("prometheus", "Prometheus rule"),
        "prometheus" if alert.cloudwatch.is_some() => ("cloudwatch", "CloudWatch alarm"),
        _ => return None,
    };
    let other_tuned = report
        .recommendations
        .iter()
        .any(|o| o.alert == r.alert && o.env == r.env && o.engine == other);
    let changed: Vec<String> = r
        .params
        .iter()
        .filter(|(key, value)| {
            tune::read_by_both_engines(key)
                && r.current.params.get(*key).map(|v| v.to_string()) != Some(value.to_string())
        })
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    (!other_tuned && !changed.is_empty()).then(|| {
        format!(
            "alert `{}` in `{}`: `{}` changes its {what} too, which this run did not replay (tune without `--engine` to choose it for both)",
            r.alert,
            r.env,
            changed.join(" ")
        )
    })
}

/// [`unmeasured_engine`] of every recommendation, as the table's notes.
fn unmeasured_engine_notes(sets: &[spec::AlertSet], report: &tune::TuneReport) -> String {
    report
        .recommendations
        .iter()
        .filter_map(|r| {
            let alert = sets
                .iter()
                .flat_map(|set| &set.alerts)
                .find(|a| a.name == r.alert)?
                .per_env
                .get(&r.env)?;
            unmeasured_engine(alert, r, report).map(|note| format!("note: {note}\n"))
        })
        .collect()
}

/// Which tuned overlays were read: their values are the "current" setting (a second run over its
/// own overlay recommends it again, shown as `(no change)`).
fn overlay_notes(sets: &[spec::AlertSet]) -> String {
    sets.iter()
        .filter_map(|set| set.tuned.as_ref())
        .map(|overlay| {
            format!(
                "note: current includes the tuned overlay `{}` (`--no-tuned` compares with the spec as written)\n",
                overlay.display()
            )
        })
        .collect()
}

/// One overlay per spec holding a tuned setting: new overrides merged in, and every (alert, env)
/// this run judged gets a fresh record of how and on which files.
fn write_overlays(
    sets: &[spec::AlertSet],
    report: &tune::TuneReport,
    args: &Args,
) -> anyhow::Result<()> {
    for set in sets {
        let mut entries: BTreeMap<String, BTreeMap<String, spec::overlay::Tuned>> = BTreeMap::new();
        for r in &report.recommendations {
            let Some(alert) = set
                .alerts
                .iter()
                .find(|a| a.name == r.alert)
                .and_then(|a| a.per_env.get(&r.env))
            else {
                continue;
            };
            let entry = entries
                .entry(r.alert.clone())
                .or_default()
                .entry(r.env.clone())
                .or_insert(spec::overlay::Tuned {
                    over: None,
                    data: Vec::new(),
                });
            if let Some(b) = &alert.backtest {
                entry
                    .data
                    .push(args.select.data.clone().unwrap_or_else(|| b.data.clone()));
                // The labelled windows judged the settings as much as the history did: new labels
                // make the overlay stale too.
                let incidents = args
                    .select
                    .incidents
                    .clone()
                    .or_else(|| b.incidents.clone());
                entry.data.extend(incidents.filter(|p| p.is_file()));
            }
            if r.params.is_empty() {
                continue;
            }
            if let Some(warning) = unmeasured_engine(alert, r, report) {
                eprintln!("warning: {warning}; written as `--write` asks");
            }
            let over = grid::override_json(alert, &r.params);
            // Both engines' recommendations of one alert agree on the keys both read (`joint`):
            // each adds its own (M of N and the period; `for`), however deep they sit.
            match &mut entry.over {
                None => entry.over = Some(over),
                Some(into) => spec::overlay::deep_merge(into, &over),
            }
        }
        if entries.is_empty() {
            continue;
        }
        // (Which incident windows judged it is in each record's fingerprinted `data`.)
        let mut tuning = serde_json::json!({
            "budget_per_week": args.search.budget,
            "objective": args.search.objective,
        });
        if args.search.max_time_in_alarm != crate::tune::select::DEFAULT_MAX_TIME_IN_ALARM {
            tuning["max_time_in_alarm"] = args.search.max_time_in_alarm.into();
        }
        // So are the durations given on the command line (the spec's own are in the spec): a
        // lead or grace (a backtest without them counts early or late catches as false alerts)
        // and a row step (the history was read at it).
        for (key, given) in [
            ("lead", args.select.lead),
            ("grace", args.select.grace),
            ("max_delay", args.select.max_delay),
            ("row_step", args.select.row_step),
        ] {
            if let Some(ms) = given {
                tuning[key] = crate::series::time::format_prometheus_duration(ms).into();
            }
        }
        // As is a series chosen on the command line: the values were judged on it alone.
        if let Some(series) = &args.select.series {
            tuning["series"] = series.clone().into();
        }
        // Injected anomalies are part of what the values were judged on: enough to inject them
        // again (`alertlab inject` with the same kinds, count and seed).
        if let Some(inject) = &args.search.inject {
            tuning["inject"] = serde_json::json!({
                "anomalies": inject,
                "count": args.search.inject_count,
                "seed": args.search.seed,
            });
        }
        let in_spec = |alert: &str, env: &str| {
            set.alerts.iter().any(|a| a.name == alert)
                && (set.environments.is_empty() || set.environments.contains_key(env))
        };
        match spec::overlay::write(
            &set.source,
            &entries,
            tuning,
            args.select.no_tuned,
            &in_spec,
        )
        .with_context(|| {
            format!(
                "writing the tuned overlay beside `{}`",
                set.source.display()
            )
        })? {
            spec::overlay::Written::Wrote(path) => eprintln!("wrote {}", path.display()),
            spec::overlay::Written::Removed(path) => eprintln!(
                "removed {}: every setting it held is now as the spec writes it",
                path.display()
            ),
            spec::overlay::Written::Nothing => {}
        }
    }
    Ok(())
}
