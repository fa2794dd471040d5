//! The self-contained HTML report: the backtest table sorted by noise, each alarm's and rule's charts
//! inline as SVG, and — from `tune`, per engine — current against recommended setting with the
//! recommended setting's chart and the Pareto front. One file, CSS inline, no external URL: it opens
//! offline and attaches to a ticket.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::backtest::{self, BacktestOptions, BacktestResult};
use crate::plot::chart::group_charts;
use crate::plot::render_svg;
use crate::plot::tradeoff;
use crate::series::time::format_rfc3339;
use crate::spec::{self, AlertSet, ResolvedAlert};
use crate::tune::{self, TuneReport};

/// Chart size inside the report.
const CHART: (u32, u32) = (1100, 420);

/// Text for HTML.
pub fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_else(|| "–".into())
}

/// The charts of `alert` over the series it reads (each engine the options select; only those of
/// `charted` when given), as inline SVG.
fn charts(
    alert: &ResolvedAlert,
    opts: &BacktestOptions,
    charted: Option<&BTreeSet<&str>>,
) -> Result<Vec<String>, String> {
    let groups = backtest::plan(&[alert], opts).map_err(|e| e.to_string())?;
    groups
        .iter()
        .filter(|group| charted.is_none_or(|names| names.contains(group.series().name.as_str())))
        .flat_map(|group| group_charts(group, opts.engines))
        .map(|(_, chart)| render_svg(&chart, CHART))
        .collect()
}

/// Which series of `alert` get charts when it reads more than `max_charts` (0: no limit): the
/// noisiest (most alerts per week on any engine, then by name) — a fleet's report would otherwise
/// carry a chart per series and grow past what a browser opens. `None`: all of them. Also how
/// many series it reads.
fn charted_series<'a>(
    results: &'a [BacktestResult],
    alert: &ResolvedAlert,
    max_charts: usize,
) -> (Option<BTreeSet<&'a str>>, usize) {
    let mut noise: BTreeMap<&str, f64> = BTreeMap::new();
    for r in results
        .iter()
        .filter(|r| r.alert == alert.name && r.env == alert.env)
    {
        let n = noise.entry(r.series.as_str()).or_insert(0.0);
        *n = n.max(r.alerts_per_week);
    }
    let total = noise.len();
    if max_charts == 0 || total <= max_charts {
        return (None, total);
    }
    let mut ranked: Vec<(&str, f64)> = noise.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let kept = ranked.into_iter().take(max_charts).map(|(name, _)| name);
    (Some(kept.collect()), total)
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1160px;color:#222}\
table{border-collapse:collapse;margin:12px 0 24px;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}\
th{background:#f2f2f2}td:nth-child(-n+4),th:nth-child(-n+4){text-align:left}figure{margin:8px 0 24px}svg{max-width:100%;height:auto}\
.note{color:#555;font-size:13px}h2{margin-top:36px;border-bottom:1px solid #ddd}";

/// The report of `sets`: backtest and charts (the engines `opts` selects), and tuning when `tuned`
/// is given.
pub fn build(
    sets: &[AlertSet],
    opts: &BacktestOptions,
    results: &[BacktestResult],
    tuned: Option<&TuneReport>,
    max_charts: usize,
) -> Result<String, String> {
    let mut page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>alertlab report</title><style>{STYLE}</style></head><body>\n<h1>alertlab report</h1>\n<p class=\"note\">Specs: {}. Rows sorted by alerts per week, noisiest first. `seasonal` bands approximate CloudWatch anomaly detection.</p>\n",
        html(
            &sets
                .iter()
                .map(|s| s.source.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    );
    let mut rows: Vec<&BacktestResult> = results.iter().collect();
    rows.sort_by(|a, b| b.alerts_per_week.total_cmp(&a.alerts_per_week));
    page.push_str("<h2>Backtest</h2>\n<table><tr><th>alert</th><th>env</th><th>engine</th><th>series</th><th>condition</th><th>episodes</th><th>alerts/week</th><th>95% interval</th><th>recall</th><th>false/week</th><th>in ALARM</th></tr>\n");
    for r in &rows {
        let inc = r.incidents.as_ref();
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}–{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&r.alert),
            html(&r.env),
            r.engine,
            html(&r.series),
            html(&r.condition),
            r.episodes.len(),
            num(r.alerts_per_week),
            num(r.alerts_per_week_ci[0]),
            num(r.alerts_per_week_ci[1]),
            opt(inc.and_then(|i| i.recall)),
            opt(inc.map(|i| i.false_alerts_per_week)),
            crate::score::time_share_text(r.time_in_alarm_ratio),
        );
    }
    page.push_str("</table>\n");
    // Which incidents each result missed, as the backtest table names them.
    for r in &rows {
        let Some(inc) = r.incidents.as_ref().filter(|i| !i.missed.is_empty()) else {
            continue;
        };
        let windows: Vec<(String, String)> = inc
            .missed
            .0
            .iter()
            .map(|&(start, end)| (format_rfc3339(start), format_rfc3339(end)))
            .collect();
        let _ = writeln!(
            page,
            "<p class=\"note\">{} in {} ({}), <code>{}</code>: {}.</p>",
            html(&r.alert),
            html(&r.env),
            r.engine,
            html(&r.series),
            html(&crate::score::missed_phrase(&windows, inc.late))
        );
    }
    // What the replays warned of, once per (alert, env, engine) with how many series.
    let mut warned: BTreeMap<(&str, &str, &str, &str), usize> = BTreeMap::new();
    for r in &rows {
        for w in &r.warnings {
            *warned
                .entry((r.alert.as_str(), r.env.as_str(), r.engine, w.as_str()))
                .or_default() += 1;
        }
    }
    for ((alert, env, engine, warning), n) in warned {
        let _ = writeln!(
            page,
            "<p class=\"note\">Warning: {} in {} ({engine}){}: {}.</p>",
            html(alert),
            html(env),
            if n > 1 {
                format!(", {n} series")
            } else {
                String::new()
            },
            html(warning)
        );
    }
    if let Some(injected) = tuned.and_then(|t| t.injected.as_ref()) {
        let _ = writeln!(
            page,
            "<p class=\"note\">Tuning judged every setting on {} anomalies injected into the histories as well (kind:size, in robust σ of each series; a dropout's size is its length); the table above and the charts show the histories as they are.{}</p>",
            injected.asked - injected.not_placed.values().sum::<usize>(),
            injected
                .notes()
                .iter()
                .map(|n| format!(" {}.", html(n)))
                .collect::<String>()
        );
    }
    for set in sets {
        // The alerts and envs the options select (`--alert`, `--env`), as backtest and tune do.
        for resolved in backtest::selected_alerts(std::slice::from_ref(set), opts) {
            let _ = writeln!(
                page,
                "<h2>{} in {}</h2>",
                html(&resolved.name),
                html(&resolved.env)
            );
            let (charted, total) = charted_series(results, resolved, max_charts);
            if let Some(names) = &charted {
                let _ = writeln!(
                    page,
                    "<p class=\"note\">Charts of the {} noisiest of its {total} series (`--max-charts`); the table above has every one.</p>",
                    names.len()
                );
            }
            for svg in charts(resolved, opts, charted.as_ref())? {
                let _ = writeln!(page, "<figure>{svg}</figure>");
            }
            let Some(tuned) = tuned else { continue };
            for rec in tuned
                .recommendations
                .iter()
                .filter(|r| r.alert == resolved.name && r.env == resolved.env)
            {
                tuning_section(&mut page, set, resolved, rec, tuned, opts, charted.as_ref())?;
            }
        }
    }
    page.push_str("</body></html>\n");
    Ok(page)
}

/// Recall per injected anomaly (kind and size), current against recommended, and what each misses:
/// where a setting's reach ends ("misses every shift:2").
fn injected_recall(page: &mut String, rec: &tune::Recommendation) {
    if rec.recall_by_kind.is_empty() {
        return;
    }
    page.push_str("<table><tr><th>injected anomaly</th><th>recall, current</th><th>recall, recommended</th></tr>\n");
    for (kind, recall) in &rec.recall_by_kind {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(kind),
            opt(rec.current.recall_by_kind.get(kind).copied()),
            num(*recall)
        );
    }
    page.push_str("</table>\n");
    for (which, misses) in rec.injected_misses() {
        let _ = writeln!(
            page,
            "<p class=\"note\">The {which} setting {}.</p>",
            html(&misses)
        );
    }
    if let Some(hint) = crate::inject::dropout_hint(rec.engine, &rec.recall_by_kind) {
        let _ = writeln!(page, "<p class=\"note\">{}.</p>", html(hint));
    }
}

/// What `tune` says of one alert in one env on one engine: current against recommended setting, the
/// recommended setting's chart on that engine, and the Pareto front.
fn tuning_section(
    page: &mut String,
    set: &AlertSet,
    resolved: &ResolvedAlert,
    rec: &tune::Recommendation,
    tuned: &TuneReport,
    opts: &BacktestOptions,
    charted: Option<&BTreeSet<&str>>,
) -> Result<(), String> {
    let what = match rec.engine {
        "cloudwatch" => "CloudWatch alarm",
        _ => "Prometheus rule",
    };
    let _ = writeln!(page, "<h3>Tuning, {what} (budget {} per week)</h3>\n<table><tr><th>setting</th><th>params</th><th>alerts/week</th><th>false/week</th><th>in ALARM</th><th>recall</th><th>median delay (s)</th></tr>", num(rec.budget));
    let label = if rec.within_budget {
        "recommended"
    } else {
        "quietest (over budget)"
    };
    for (label, params, f) in [
        ("current", &rec.current.params, &rec.current.figures),
        (label, &rec.params, &rec.figures),
    ] {
        let _ = writeln!(
            page,
            "<tr><td>{label}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&tune::grid::describe(params)),
            num(f.alerts_per_week),
            opt(f.false_alerts_per_week),
            crate::score::time_share_text(f.time_in_alarm_ratio),
            opt(f.recall),
            opt(f.median_delay_s)
        );
    }
    page.push_str("</table>\n");
    for (which, warning) in rec.warnings_by_setting() {
        let _ = writeln!(
            page,
            "<p class=\"note\">Warning, {which} setting: {}.</p>",
            html(warning)
        );
    }
    if let Some(note) = rec.shared_keys_note() {
        let _ = writeln!(page, "<p class=\"note\">{}.</p>", html(&note));
    }
    // How the incidents were judged, as the tune table says it.
    if rec.incidents_in_warm_up > 0 {
        let phrase = crate::score::warm_up_phrase(rec.incidents_in_warm_up, rec.current.incidents);
        let _ = writeln!(page, "<p class=\"note\">{}.</p>", html(&phrase));
    }
    if rec.incidents_point_labels > 0 {
        let phrase =
            crate::score::point_labels_phrase(rec.incidents_point_labels, rec.current.incidents);
        let _ = writeln!(page, "<p class=\"note\">{}.</p>", html(&phrase));
    }
    if rec.incidents_late > 0 {
        let phrase = crate::score::late_phrase(rec.incidents_late, rec.current.incidents);
        let _ = writeln!(page, "<p class=\"note\">{}.</p>", html(&phrase));
    }
    injected_recall(page, rec);
    if let Some(chart) = tradeoff::Tradeoff::of(tuned, rec) {
        let svg = tradeoff::render_tradeoff_svg(&chart, tradeoff::SIZE)?;
        let _ = writeln!(page, "<figure>{svg}</figure>");
    }
    if !rec.params.is_empty() {
        let variant = tune::grid::override_of(resolved, &rec.params)
            .ok()
            .and_then(|over| spec::resolve_with(set, &resolved.name, &resolved.env, &over).ok());
        if let Some(variant) = variant {
            page.push_str("<p class=\"note\">Recommended setting:</p>\n");
            let on_engine = BacktestOptions {
                engines: backtest::Engines::from_name(rec.engine),
                ..opts.clone()
            };
            for svg in charts(&variant, &on_engine, charted)? {
                let _ = writeln!(page, "<figure>{svg}</figure>");
            }
        }
    }
    page.push_str("<p class=\"note\">Pareto front: no other setting tried is quieter, catches more and sooner.</p>\n<table><tr><th>params</th><th>alerts/week</th><th>false/week</th><th>recall</th><th>median delay (s)</th></tr>\n");
    for p in tuned
        .pareto
        .iter()
        .filter(|p| p.alert == rec.alert && p.env == rec.env && p.engine == rec.engine)
    {
        let f = &p.figures;
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&tune::grid::describe(&p.params)),
            num(f.alerts_per_week),
            opt(f.false_alerts_per_week),
            opt(f.recall),
            opt(f.median_delay_s)
        );
    }
    page.push_str("</table>\n");
    Ok(())
}
