//! Invariants that must hold for any input (proptest).

use alertlab::band::percentile::{self, PercentileModel};
use alertlab::band::promql::{self, PromqlModel};
use alertlab::band::seasonal::{self, SeasonalModel};
use alertlab::band::{breaches, Band, Direction, Rule};
use alertlab::engine::cloudwatch::{self, Breach, CloudWatchConfig, TreatMissingData};
use alertlab::engine::prometheus::{self, PrometheusConfig};
use alertlab::engine::{Detail, Timeline};
use alertlab::series::time::{HOUR_MS, MINUTE_MS};
use alertlab::series::Samples;
use proptest::prelude::*;

fn in_alarm_ms(t: &Timeline) -> i64 {
    t.episodes.iter().map(|e| e.duration_ms(t.horizon())).sum()
}

fn values_strategy() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![8 => (0u32..20).prop_map(f64::from), 1 => Just(f64::NAN)],
        1..200,
    )
}

fn treat_strategy() -> impl Strategy<Value = TreatMissingData> {
    prop_oneof![
        Just(TreatMissingData::Missing),
        Just(TreatMissingData::Ignore),
        Just(TreatMissingData::Breaching),
        Just(TreatMissingData::NotBreaching)
    ]
}

fn above(k: f64) -> Rule {
    Rule {
        k,
        direction: Direction::Above,
        inclusive: false,
        floor: None,
    }
}

fn cloudwatch_alarm_time(values: &[f64], threshold: f64, cfg: &CloudWatchConfig) -> i64 {
    let breach = breaches(
        values,
        &Band::constant(values.len(), threshold),
        &above(0.0),
    );
    in_alarm_ms(&cloudwatch::evaluate(&breach, 0, MINUTE_MS, cfg))
}

fn prometheus_firing_time(values: &[f64], threshold: f64, cfg: &PrometheusConfig) -> i64 {
    let ts: Vec<i64> = (0..values.len() as i64).map(|i| i * MINUTE_MS).collect();
    let breach = breaches(
        values,
        &Band::constant(values.len(), threshold),
        &above(0.0),
    );
    let evals = cfg.eval_times(0, *ts.last().unwrap());
    let present: Vec<bool> = prometheus::instant_indices(&Samples::plain(&ts, values), &evals, cfg)
        .iter()
        .map(|s| s.is_some_and(|i| breach[i] == Breach::Breaching))
        .collect();
    in_alarm_ms(&prometheus::evaluate(&present, &evals, cfg, Detail::Full))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn raising_a_greater_than_threshold_never_adds_cloudwatch_alarm_time(
        values in values_strategy(), low in 0u32..20, raise in 0u32..10, n in 1usize..6, m_off in 0usize..6, extra in 0usize..4, treat in treat_strategy(),
    ) {
        let m = n - m_off.min(n - 1);
        let cfg = CloudWatchConfig { evaluation_range: n + extra, ..CloudWatchConfig::new(n, m, treat) };
        let low = low as f64;
        prop_assert!(cloudwatch_alarm_time(&values, low + raise as f64, &cfg) <= cloudwatch_alarm_time(&values, low, &cfg));
    }

    #[test]
    fn a_larger_m_never_fires_more(values in values_strategy(), threshold in 0u32..20, n in 2usize..7, m in 1usize..6, treat in treat_strategy()) {
        let m = m.min(n - 1);
        let cfg = |m| CloudWatchConfig::new(n, m, treat);
        prop_assert!(cloudwatch_alarm_time(&values, threshold as f64, &cfg(m + 1)) <= cloudwatch_alarm_time(&values, threshold as f64, &cfg(m)));
    }

    #[test]
    fn raising_a_greater_than_threshold_never_adds_prometheus_firing_time(
        values in values_strategy(), low in 0u32..20, raise in 0u32..10, for_m in 0i64..6, keep_m in 0i64..6, interval_m in 1i64..3,
    ) {
        let cfg = PrometheusConfig { interval_ms: interval_m * MINUTE_MS, for_ms: for_m * MINUTE_MS, keep_firing_for_ms: keep_m * MINUTE_MS, ..PrometheusConfig::default() };
        let low = low as f64;
        prop_assert!(prometheus_firing_time(&values, low + raise as f64, &cfg) <= prometheus_firing_time(&values, low, &cfg));
    }

    #[test]
    fn a_wider_band_never_adds_alarm_time(
        values in prop::collection::vec(0.0f64..100.0, 300..600), k in 0.5f64..4.0, widen in 0.0f64..3.0,
        n in 1usize..5, treat in treat_strategy(), direction in prop_oneof![Just(Direction::Above), Just(Direction::Below), Just(Direction::Both)],
    ) {
        let ts: Vec<i64> = (0..values.len() as i64).map(|i| i * 10 * MINUTE_MS).collect();
        let seasonal = seasonal::band(&ts, &values, 10 * MINUTE_MS, &SeasonalModel { refit_ms: 6 * HOUR_MS, min_history_ms: 12 * HOUR_MS, ..SeasonalModel::default() }).band;
        let pct = percentile::band(&ts, &values, &PercentileModel { percentile: 90.0, training_ms: 24 * HOUR_MS, refit_ms: HOUR_MS, factor: 1.0 });
        let promql = promql::band(&ts, &values, 10 * MINUTE_MS, &PromqlModel::new(6 * HOUR_MS));
        let cfg = CloudWatchConfig::new(n, n, treat);
        for band in [&seasonal, &pct, &promql] {
            let time = |k| {
                let rule = Rule { k, direction, inclusive: false, floor: Some(0.0) };
                in_alarm_ms(&cloudwatch::evaluate(&breaches(&values, band, &rule), 0, 10 * MINUTE_MS, &cfg))
            };
            prop_assert!(time(k + widen) <= time(k));
        }
    }

    #[test]
    fn the_seasonal_band_at_t_never_depends_on_values_at_or_after_t(
        values in prop::collection::vec(0.0f64..100.0, 400..600), cut in 0usize..400, scale in 0.0f64..10.0,
    ) {
        let ts: Vec<i64> = (0..values.len() as i64).map(|i| i * 10 * MINUTE_MS).collect();
        let model = SeasonalModel { refit_ms: 3 * HOUR_MS, min_history_ms: 12 * HOUR_MS, ..SeasonalModel::default() };
        let before = seasonal::band(&ts, &values, 10 * MINUTE_MS, &model).band;
        let mut changed = values.clone();
        for v in changed[cut..].iter_mut() {
            *v = *v * scale + 7.0;
        }
        let after = seasonal::band(&ts, &changed, 10 * MINUTE_MS, &model).band;
        for i in 0..=cut {
            prop_assert!(before.center[i].total_cmp(&after.center[i]).is_eq() && before.spread[i].total_cmp(&after.spread[i]).is_eq(), "band changed at {}", i);
        }
    }
}

/// A random gappy 5-minute series of `days` (level, daily cycle, noise, bursts, a shift) as CSV,
/// and two labelled windows over it (the shift, and a quiet stretch) and a point label as an
/// incidents CSV.
fn tune_case_files(dir: &std::path::Path, seed: u64, days: i64, gap_rate: f64) {
    use alertlab::rng::Rng;
    use std::fmt::Write;
    let mut rng = Rng::new(seed);
    let start = 1_767_225_600i64; // 2026-01-01T00:00:00Z
    let n = days * 288;
    let shift_at = rng.int(n / 2, n - 30);
    let mut csv = String::from("timestamp,value\n");
    for i in 0..n {
        if rng.uniform() < gap_rate {
            continue;
        }
        let hour = (i % 288) as f64 / 12.0;
        let mut v = 100.0 + 30.0 * (hour / 24.0 * std::f64::consts::TAU).sin() + 5.0 * rng.normal();
        if rng.uniform() < 0.01 {
            v += 60.0;
        }
        if (shift_at..shift_at + 24).contains(&i) {
            v += 40.0;
        }
        let _ = writeln!(csv, "{},{v:.3}", start + i * 300);
    }
    std::fs::write(dir.join("d.csv"), csv).unwrap();
    let at = |i: i64| start + i * 300;
    // A point label too (start = end), whose reach depends on the setting tried.
    let point = at(rng.int(n / 2, n - 1));
    let incidents = format!(
        "start,end\n{},{}\n{},{}\n{point},{point}\n",
        at(shift_at),
        at(shift_at + 30),
        at(n / 3),
        at(n / 3 + 12)
    );
    std::fs::write(dir.join("i.csv"), incidents).unwrap();
}

/// The alert set tuned in [`tune_figures_are_backtest_figures`], as JSON (the spec loader reads
/// JSON too), with `dev`'s override set to `over`.
fn tune_case_spec(over: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "alertlab/v1",
        "kind": "AlertSet",
        "metadata": {"name": "p"},
        "environments": {"dev": {"account": "111111111111", "region": "eu-west-1"}},
        "alerts": [
            {
                "name": "band",
                "metric": {"cloudwatch": {"namespace": "X", "name": "Y", "stat": "Average", "period": 300}},
                "condition": {"anomaly": {"model": "seasonal", "k": 3, "direction": "both"}},
                "evaluation": {"datapoints_to_alarm": 1, "evaluation_periods": 1},
                "overrides": {"dev": over},
                "backtest": {"data": "d.csv", "incidents": "i.csv"}
            },
            {
                "name": "ceiling",
                "metric": {"cloudwatch": {"namespace": "X", "name": "Y", "stat": "Maximum", "period": 300}, "prometheus": {"expr": "m"}},
                "condition": {"threshold": {"op": ">", "value": 150}},
                "evaluation": {"datapoints_to_alarm": 1, "evaluation_periods": 1, "for": "0m"},
                "overrides": {"dev": over},
                "backtest": {"data": "d.csv", "incidents": "i.csv"}
            }
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// "Tuning is a faster way of running many backtests": on random gappy data (sparse too), for random
    /// settings tune tried, the spec with the setting pasted into `overrides.dev` and run through
    /// `backtest` gives exactly tune's figures (the setting resolved from the spec's own keys, each
    /// engine on its own), with or without a maximum delay.
    #[test]
    fn tune_figures_are_backtest_figures(
        seed in 0u64..1_000_000, days in 3i64..6, gap_rate in prop_oneof![Just(0.0), 0.0f64..0.2, 0.5f64..0.95],
        picks in prop::collection::vec(any::<prop::sample::Index>(), 4),
        max_delay_ms in prop_oneof![Just(None), (1i64..180).prop_map(|m| Some(m * 60_000))],
    ) {
        use alertlab::backtest::{self, BacktestOptions, Engines};
        use alertlab::tune::{self, grid, TuneOptions};
        let dir = tempfile::tempdir().unwrap();
        tune_case_files(dir.path(), seed, days, gap_rate);
        let base = dir.path().join("s.json");
        std::fs::write(&base, tune_case_spec(&serde_json::json!({})).to_string()).unwrap();
        let sets = alertlab::spec::load_path(&base).unwrap();
        let flags = ["k=2,3.5", "evaluation_periods=1,3", "datapoints_to_alarm=1,2,3", "treat_missing_data=missing,breaching", "value=140,170", "for=0m,10m", "period=300,900"]
            .map(String::from);
        let opts = TuneOptions {
            backtest: BacktestOptions { engines: Engines { cloudwatch: true, prometheus: true }, max_delay_ms, ..BacktestOptions::default() },
            grid: Some(grid::parse_grid(&flags).unwrap()),
            keep_all: true,
            ..TuneOptions::default()
        };
        let report = tune::run(&sets, &opts).unwrap();
        prop_assert!(report.settings.len() > 20);
        for pick in &picks {
            let tried = pick.get(&report.settings);
            let resolved = sets[0].alerts.iter().find(|a| a.name == tried.alert).unwrap().per_env.get("dev").unwrap();
            let over = grid::override_json(resolved, &tried.outcome.params);
            let pasted = dir.path().join("pasted.json");
            std::fs::write(&pasted, tune_case_spec(&over).to_string()).unwrap();
            let bt = backtest::run(
                &alertlab::spec::load_path(&pasted).unwrap(),
                &BacktestOptions { engines: Engines::from_name(tried.engine), alerts: vec![tried.alert.clone()], max_delay_ms, ..BacktestOptions::default() },
            ).unwrap();
            prop_assert_eq!(bt.results.len(), 1);
            let r = &bt.results[0];
            let f = &tried.outcome.figures;
            let inc = r.incidents.as_ref().unwrap();
            prop_assert_eq!(f.alerts_per_week, r.alerts_per_week, "{:?}", tried.outcome.params);
            prop_assert_eq!(f.false_alerts_per_week, Some(inc.false_alerts_per_week));
            prop_assert_eq!(f.recall, inc.recall);
            prop_assert_eq!(f.median_delay_s, inc.median_delay_s);
        }
    }
}
