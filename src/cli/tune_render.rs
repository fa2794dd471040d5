//! `alertlab tune`'s report as text: the table (current vs recommended per (alert, env, engine),
//! the notes that explain them, the Pareto front) and the CSV; JSON is the report serialised.

use std::collections::BTreeMap;

use super::output::{csv, data_cell, interval, num, table, OutputFormat};
use crate::score::time_share_text;
use crate::series::time::format_duration;
use crate::tune::{self, grid, Outcome, Recommendation};

/// The front's points a table shows per (alert, env, engine) unless told, when it shows the fronts
/// of one or two: enough to pick a neighbour of the recommendation; the noisier rest are far over
/// any budget.
pub const FRONT_ROWS: usize = 6;
/// … and when it shows more (a whole spec tuned at once): the recommendation's next neighbours
/// only, so that the answer for every alert and env still fits a screen.
pub const FRONT_ROWS_MANY: usize = 3;

/// How many points of each front a table shows: `asked` (`--front`; 0: all), else by how many
/// fronts it shows.
pub fn front_rows(asked: Option<usize>, fronts: usize) -> usize {
    asked.unwrap_or(if fronts <= 2 {
        FRONT_ROWS
    } else {
        FRONT_ROWS_MANY
    })
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|v| num(v, digits)).unwrap_or_else(|| "-".into())
}

fn delay(v: Option<f64>) -> String {
    v.map(|s| format_duration((s * 1000.0) as i64))
        .unwrap_or_else(|| "-".into())
}

const HEADER: &[&str] = &[
    "alert",
    "env",
    "engine",
    "setting",
    "params",
    "alerts/wk",
    "95% CI",
    "false/wk",
    "in_alarm_%",
    "recall",
    "median_delay",
];

const FRONT_HEADER: [&str; 8] = [
    "alert",
    "env",
    "engine",
    "params",
    "alerts/wk",
    "false/wk",
    "recall",
    "median_delay",
];

/// A row of the settings and Pareto tables.
fn setting_row(
    alert: &str,
    env: &str,
    engine: &str,
    params: &grid::Params,
    f: &tune::Figures,
) -> Vec<String> {
    vec![
        alert.to_string(),
        env.to_string(),
        engine.to_string(),
        grid::describe(params),
        num(f.alerts_per_week, 2),
        opt(f.false_alerts_per_week, 2),
        opt(f.recall, 2),
        delay(f.median_delay_s),
    ]
}

fn row(r: &Recommendation, which: &str, o: &Outcome) -> Vec<String> {
    // A current setting with no keys tuned is the spec's as written, not a change to anything.
    let params = if which == "current" && o.params.is_empty() {
        "(as written)".to_string()
    } else {
        grid::describe(&o.params)
    };
    vec![
        r.alert.clone(),
        r.env.clone(),
        r.engine.to_string(),
        which.to_string(),
        params,
        num(o.figures.alerts_per_week, 2),
        interval(o.figures.alerts_per_week_ci),
        opt(o.figures.false_alerts_per_week, 2),
        num(100.0 * o.figures.time_in_alarm_ratio, 2),
        opt(o.figures.recall, 2),
        delay(o.figures.median_delay_s),
    ]
}

fn recommended(r: &Recommendation) -> Outcome {
    Outcome {
        params: r.params.clone(),
        figures: r.figures.clone(),
        episodes: 0,
        incidents: r.current.incidents,
        caught: 0,
        incidents_in_warm_up: r.incidents_in_warm_up,
        incidents_point_labels: r.incidents_point_labels,
        incidents_late: r.incidents_late,
        recall_by_kind: r.recall_by_kind.clone(),
        warnings: r.warnings.clone(),
    }
}

/// The columns of `--format csv`: the JSON's figures in its units (seconds, alerts per week), one
/// cell each, for a spreadsheet or a script; an empty cell is an unknown (no incidents, nothing
/// caught).
const CSV_HEADER: [&str; 13] = [
    "alert",
    "env",
    "engine",
    "setting",
    "params",
    "alerts_per_week",
    "alerts_per_week_ci_low",
    "alerts_per_week_ci_high",
    "false_alerts_per_week",
    "recall",
    "median_delay_s",
    "within_budget",
    "time_in_alarm_ratio",
];

/// One CSV row per setting: each (alert, env, engine)'s `current` and `recommended` (`picked` with
/// `--pick`), then its
/// Pareto front (`pareto`), then with `--all` every setting tried (`tried`). `within_budget` is
/// filled on the recommended rows (false: no setting met the budget, this is the quietest).
fn as_csv(report: &tune::TuneReport) -> String {
    let number = data_cell;
    let optional = |v: Option<f64>| v.map(data_cell).unwrap_or_default();
    let line = |(alert, env, engine): (&str, &str, &str),
                setting: &str,
                params: &grid::Params,
                f: &tune::Figures,
                within_budget: Option<bool>| {
        vec![
            alert.to_string(),
            env.to_string(),
            engine.to_string(),
            setting.to_string(),
            // For tools, the keys that differ from the spec; none is an empty cell.
            if params.is_empty() {
                String::new()
            } else {
                grid::describe(params)
            },
            number(f.alerts_per_week),
            number(f.alerts_per_week_ci[0]),
            number(f.alerts_per_week_ci[1]),
            optional(f.false_alerts_per_week),
            optional(f.recall),
            optional(f.median_delay_s),
            within_budget.map(|b| b.to_string()).unwrap_or_default(),
            number(f.time_in_alarm_ratio),
        ]
    };
    let mut rows = Vec::new();
    for r in &report.recommendations {
        let who = (r.alert.as_str(), r.env.as_str(), r.engine);
        rows.push(line(
            who,
            "current",
            &r.current.params,
            &r.current.figures,
            None,
        ));
        rows.push(line(
            who,
            if r.picked { "picked" } else { "recommended" },
            &r.params,
            &r.figures,
            Some(r.within_budget),
        ));
    }
    for p in &report.pareto {
        let who = (p.alert.as_str(), p.env.as_str(), p.engine);
        rows.push(line(who, "pareto", &p.params, &p.figures, None));
    }
    for t in &report.settings {
        let who = (t.alert.as_str(), t.env.as_str(), t.engine);
        rows.push(line(
            who,
            "tried",
            &t.outcome.params,
            &t.outcome.figures,
            None,
        ));
    }
    csv(&CSV_HEADER, &rows)
}

fn as_table(report: &tune::TuneReport, front: Option<usize>) -> String {
    let mut rows = Vec::new();
    for r in &report.recommendations {
        rows.push(row(r, "current", &r.current));
        let label = match (r.picked, r.within_budget) {
            (true, true) => "picked",
            (true, false) => "picked (over budget)",
            (false, true) => "recommended",
            (false, false) => "quietest (over budget)",
        };
        rows.push(row(r, label, &recommended(r)));
    }
    let mut text = table(HEADER, &rows);
    for r in &report.recommendations {
        if !r.within_budget && r.picked {
            text.push_str(&format!(
                "note: {} in {} ({}): the picked setting exceeds the budget of {} alerts/week or {} of the time in ALARM\n",
                r.alert, r.env, r.engine, r.budget, time_share_text(r.max_time_in_alarm)
            ));
        } else if !r.within_budget {
            text.push_str(&format!(
                "note: {} in {} ({}): no setting tried stays within {} alerts/week and in ALARM at most {} of the time; showing the quietest\n",
                r.alert, r.env, r.engine, r.budget, time_share_text(r.max_time_in_alarm)
            ));
        }
        if r.configs_evaluated == 1 && r.configs_skipped > 0 {
            text.push_str(&format!(
                "note: {} in {} ({}): {} skipped (M > N, or a look-back of period × N that CloudWatch refuses: a day for periods under an hour, a week otherwise); only the current one was evaluated\n",
                r.alert,
                r.env,
                r.engine,
                match r.configs_skipped {
                    1 => "the grid's one setting was".to_string(),
                    n => format!("all {n} settings of the grid were"),
                }
            ));
        }
        // How the incidents were judged, where it is not the plain rule.
        let notes = [
            (r.incidents_point_labels > 0).then(|| {
                crate::score::point_labels_phrase(r.incidents_point_labels, r.current.incidents)
            }),
            (r.incidents_in_warm_up > 0).then(|| {
                let phrase =
                    crate::score::warm_up_phrase(r.incidents_in_warm_up, r.current.incidents);
                format!("{phrase}; give history from before them")
            }),
            (r.incidents_late > 0)
                .then(|| crate::score::late_phrase(r.incidents_late, r.current.incidents)),
        ];
        for note in notes.into_iter().flatten() {
            text.push_str(&format!(
                "note: {} in {} ({}): {note}\n",
                r.alert, r.env, r.engine
            ));
        }
        for (which, warning) in r.warnings_by_setting() {
            text.push_str(&format!(
                "warning: {} in {} ({}), {which}: {warning}\n",
                r.alert, r.env, r.engine
            ));
        }
        if r.noise_difference_uncertain && !r.params.is_empty() {
            text.push_str(&format!(
                "note: {} in {} ({}): current and recommended alerts/week are within each other's 95% interval; more history would tell them apart\n",
                r.alert, r.env, r.engine
            ));
        }
    }
    // Once per alert: the note holds for each of its envs.
    let mut noted: Vec<&str> = Vec::new();
    for r in &report.recommendations {
        if let Some(note) = r
            .shared_keys_note()
            .filter(|_| !noted.contains(&r.alert.as_str()))
        {
            noted.push(&r.alert);
            text.push_str(&format!("note: {note}\n"));
        }
    }
    let by_kind = |recall: &BTreeMap<String, f64>| {
        recall
            .iter()
            .map(|(k, v)| format!("{k} {}", num(*v, 2)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for r in &report.recommendations {
        if !r.recall_by_kind.is_empty() {
            text.push_str(&format!(
                "recall by injected anomaly, {} in {} ({}), recommended: {}; current: {}\n",
                r.alert,
                r.env,
                r.engine,
                by_kind(&r.recall_by_kind),
                by_kind(&r.current.recall_by_kind)
            ));
            for (which, misses) in r.injected_misses() {
                text.push_str(&format!("  the {which} setting {misses}\n"));
            }
            if let Some(hint) = crate::inject::dropout_hint(r.engine, &r.recall_by_kind) {
                text.push_str(&format!("  {hint}\n"));
            }
        }
    }
    for note in report.injected.iter().flat_map(|i| i.notes()) {
        text.push_str(&format!("note: {note}\n"));
    }
    if report
        .recommendations
        .iter()
        .any(|r| r.figures.recall.is_none() && !r.picked)
    {
        text.push_str("note: where no incidents are known recall is unknown, and the recommendation is the most sensitive setting within budget (pass --incidents or --inject)\n");
    }
    // A front says something the settings table does not when its points trade noise against
    // recall and delay: left out are the fronts of (alert, env, engine) without incidents (recall
    // and delay unknown, the front is only the quietest setting) and those whose one point is the
    // recommendation the table already shows.
    let recommended = |p: &tune::ParetoPoint| {
        report
            .recommendations
            .iter()
            .find(|r| (&r.alert, &r.env, r.engine) == (&p.alert, &p.env, p.engine))
    };
    let mut without_incidents = 0;
    let mut telling: Vec<&[tune::ParetoPoint]> = Vec::new();
    for points in report
        .pareto
        .chunk_by(|a, b| (&a.alert, &a.env, a.engine) == (&b.alert, &b.env, b.engine))
    {
        let r = recommended(&points[0]);
        if r.is_some_and(|r| r.figures.recall.is_none()) {
            without_incidents += 1;
        } else if !(points.len() == 1 && r.is_some_and(|r| r.params == points[0].params)) {
            telling.push(points);
        }
    }
    let front_rows = front_rows(front, telling.len());
    let mut front: Vec<Vec<String>> = Vec::new();
    let mut hidden = 0;
    for points in &telling {
        let shown = if front_rows == 0 {
            points.len()
        } else {
            front_rows.min(points.len())
        };
        hidden += points.len() - shown;
        front.extend(
            points[..shown]
                .iter()
                .map(|p| setting_row(&p.alert, &p.env, p.engine, &p.params, &p.figures)),
        );
    }
    if !report.settings.is_empty() {
        let all: Vec<Vec<String>> = report
            .settings
            .iter()
            .map(|t| {
                setting_row(
                    &t.alert,
                    &t.env,
                    t.engine,
                    &t.outcome.params,
                    &t.outcome.figures,
                )
            })
            .collect();
        text.push_str("\nEvery setting tried:\n");
        text.push_str(&table(&FRONT_HEADER, &all));
    }
    if !front.is_empty() {
        text.push_str("\nPareto front (no other setting is quieter, catches more and sooner):\n");
        text.push_str(&table(&FRONT_HEADER, &front));
    }
    if hidden > 0 {
        text.push_str(&format!(
            "note: {hidden} noisier points of the front not shown (`--front 0` shows them; JSON always holds them)\n"
        ));
    }
    if without_incidents > 0 {
        text.push_str(&format!(
            "note: {without_incidents} {} without incidents not shown: with recall and delay unknown a front is only the quietest setting (JSON holds {})\n",
            if without_incidents == 1 { "front" } else { "fronts" },
            if without_incidents == 1 { "it" } else { "them" },
        ));
    }
    text
}

/// A tune report as `--format` asks (also the output of `alertlab merge` of tune shards); a table
/// shows `front_rows` points of each Pareto front (0: all; `None`: [`front_rows`]).
pub fn render(
    report: &tune::TuneReport,
    format: OutputFormat,
    front_rows: Option<usize>,
) -> anyhow::Result<String> {
    Ok(match format {
        OutputFormat::Json => serde_json::to_string_pretty(report)? + "\n",
        OutputFormat::Csv => as_csv(report),
        OutputFormat::Table => as_table(report, front_rows),
    })
}
