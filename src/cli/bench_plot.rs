//! `alertlab bench plot`: one 20,160-point chart to PNG and to SVG, and charts of up to 100 series
//! drawn on one core and on all, each against the baseline of encoding a blank PNG of the same size
//! in the same run.

use rayon::prelude::*;

use super::bench::{report, time};
use crate::backtest::{self, BacktestOptions, Engines};
use crate::plot::chart::group_charts;
use crate::plot::{render, Chart};
use crate::series::{write_series, OutputLayout, Series};

const SIZE: (u32, u32) = (1200, 600);

pub fn bench_plot(data: &[Series], repeat: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let some = &data[..data.len().min(100)];
    let file = dir.path().join("plot.parquet");
    write_series(&file, some, OutputLayout::Long)?;
    let spec = dir.path().join("plot.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {{name: plot}}\nalerts:\n  - name: band\n    metric: {{cloudwatch: {{namespace: Bench, name: m, stat: Average, period: 60}}}}\n    condition: {{anomaly: {{model: seasonal, k: 3, direction: above}}}}\n    evaluation: {{datapoints_to_alarm: 3, evaluation_periods: 5}}\n    backtest: {{data: {}}}\n",
            serde_json::to_string(&file.to_string_lossy())?
        ),
    )?;
    let sets = crate::spec::load_path(&spec)?;
    let opts = BacktestOptions {
        engines: Engines::from_name("cloudwatch"),
        ..BacktestOptions::default()
    };
    let alerts = backtest::selected_alerts(&sets, &opts);
    let groups = backtest::plan(&alerts, &opts)?;
    let charts: Vec<Chart> = groups
        .par_iter()
        .flat_map_iter(|g| {
            group_charts(g, opts.engines)
                .into_iter()
                .map(|(_, chart)| chart)
        })
        .collect();
    let first = charts.first().ok_or_else(|| anyhow::anyhow!("no chart"))?;
    let blank = dir.path().join("blank.png");
    let (baseline, _) = time(repeat, || {
        let rgb = vec![255u8; SIZE.0 as usize * SIZE.1 as usize * 3];
        image::save_buffer(&blank, &rgb, SIZE.0, SIZE.1, image::ColorType::Rgb8).is_ok()
    });
    for ext in ["png", "svg"] {
        let out = dir.path().join(format!("one.{ext}"));
        let (secs, ok) = time(repeat, || render(first, &out, SIZE).is_ok());
        report(
            &format!("plot one {}-point chart ({ext})", first.times.len()),
            secs,
            baseline,
            if ok { "" } else { "failed" },
        );
    }
    let (one_core, _) = time(repeat, || {
        charts
            .iter()
            .enumerate()
            .filter(|(i, c)| render(c, &dir.path().join(format!("s{i}.png")), SIZE).is_ok())
            .count()
    });
    let (all_cores, drawn) = time(repeat, || {
        charts
            .par_iter()
            .enumerate()
            .filter(|(i, c)| render(c, &dir.path().join(format!("p{i}.png")), SIZE).is_ok())
            .count()
    });
    report(
        &format!("plot {drawn} charts (png), all cores"),
        all_cores,
        baseline,
        &format!(
            "{:.2}× faster than one core ({one_core:.2} s)",
            one_core / all_cores
        ),
    );
    Ok(())
}
