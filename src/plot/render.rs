//! Drawing a [`Chart`] with plotters, to SVG or PNG by the output's extension, atomically.
//!
//! Text uses DejaVu Sans compiled into the binary (`assets/fonts`, its licence beside it) through
//! plotters' ab_glyph backend: no fontconfig, no system fonts. Long series are reduced to the
//! minimum and maximum per pixel column, so spikes stay visible and 20,160 points draw fast.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::chart::{decimate, Chart};
use crate::fsutil::write_bytes_atomic;
use crate::series::time::{DAY_MS, FIRST_MONDAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS};

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub(crate) const FAMILY: &str = "sans-serif";

/// The series line.
pub const SERIES: RGBColor = RGBColor(31, 119, 180);
/// The band or threshold.
pub const BAND: RGBColor = RGBColor(44, 160, 44);
/// Alarm episodes (drawn at 25 % opacity) and breaching datapoints.
pub const ALARM: RGBColor = RGBColor(214, 39, 40);
/// Labelled or injected incidents.
pub const INCIDENT: RGBColor = RGBColor(255, 127, 14);
/// Warm-up (no band yet).
pub const WARM_UP: RGBColor = RGBColor(190, 190, 190);

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("`{0}`: a chart is written as .png or .svg")]
    Extension(String),
    #[error("`{path}`: {message}")]
    Draw { path: String, message: String },
    #[error("writing `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The font is compiled in and known to parse.
            let _ = register_font(FAMILY, style, FONT);
        }
    });
}

/// Draw `chart` into `path` (`.svg` or `.png`) at `size` pixels.
pub fn render(chart: &Chart, path: &Path, size: (u32, u32)) -> Result<(), RenderError> {
    render_stack(std::slice::from_ref(chart), path, size)
}

/// Several charts stacked on one shared time axis (the before/after picture of `--compare`), to SVG
/// or PNG by `path`'s extension; `size` is the whole image.
pub fn render_stack(charts: &[Chart], path: &Path, size: (u32, u32)) -> Result<(), RenderError> {
    register();
    let shown = path.display().to_string();
    let draw_err = |e: String| RenderError::Draw {
        path: shown.clone(),
        message: e,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let bytes = match ext.as_str() {
        "svg" => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                draw_stack(charts, &root).map_err(draw_err)?;
                root.present().map_err(|e| draw_err(e.to_string()))?;
            }
            svg.into_bytes()
        }
        "png" => {
            let (w, h) = size;
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
                draw_stack(charts, &root).map_err(draw_err)?;
                root.present().map_err(|e| draw_err(e.to_string()))?;
            }
            encode_png(&rgb, size).map_err(draw_err)?
        }
        _ => return Err(RenderError::Extension(shown)),
    };
    write_bytes_atomic(path, &bytes).map_err(|source| RenderError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn draw_stack<DB: DrawingBackend>(
    charts: &[Chart],
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    for (area, chart) in root.split_evenly((charts.len(), 1)).iter().zip(charts) {
        draw(chart, area)?;
    }
    Ok(())
}

fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(rgb, w, h, image::ColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(png)
}

/// `chart` as SVG text (to inline in a page).
pub fn render_svg(chart: &Chart, size: (u32, u32)) -> Result<String, String> {
    svg_of(size, |root| draw(chart, root))
}

/// What `draw` draws on a `size`-pixel SVG canvas, as SVG text.
pub(crate) fn svg_of(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> Result<String, String> {
    register();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Tick steps a time axis may use: round units of the clock and the calendar, so a tick labelled
/// with a date sits at that day's midnight (UTC) and one labelled 09:00 at 09:00. (Plotters' own
/// ticks on an integer axis are round numbers of milliseconds, which fall at arbitrary times of
/// day: a tick labelled with a date could sit at 09:46 of it.)
const TICK_STEPS_MS: [i64; 16] = [
    MINUTE_MS,
    5 * MINUTE_MS,
    15 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    2 * HOUR_MS,
    3 * HOUR_MS,
    6 * HOUR_MS,
    12 * HOUR_MS,
    DAY_MS,
    2 * DAY_MS,
    WEEK_MS,
    2 * WEEK_MS,
    4 * WEEK_MS,
    13 * WEEK_MS,
    52 * WEEK_MS,
];

/// At most `max` ticks over `[x0, x1)` at the smallest round step that keeps to it, aligned to
/// that step (days at midnight UTC, weeks on Mondays), and the step.
fn time_ticks(x0: i64, x1: i64, max: usize) -> (Vec<i64>, i64) {
    let span = (x1 - x0).max(1);
    let max = max.max(2) as i64;
    let step = TICK_STEPS_MS
        .into_iter()
        .find(|s| span / s < max)
        .unwrap_or_else(|| (span / max + 1).max(1));
    // Weeks (and their multiples) start on Mondays.
    let shift = if step >= WEEK_MS { FIRST_MONDAY_MS } else { 0 };
    let first = x0
        .saturating_sub(shift)
        .div_euclid(step)
        .saturating_mul(step)
        .saturating_add(shift);
    let first = if first < x0 {
        first.saturating_add(step)
    } else {
        first
    };
    let ticks = std::iter::successors(Some(first), |t| t.checked_add(step))
        .take_while(|t| *t < x1)
        .collect();
    (ticks, step)
}

/// A tick's label: the date where ticks are days or more apart, else the date and time.
fn time_label(t: i64, step_ms: i64) -> String {
    let Some(dt) = chrono::DateTime::from_timestamp_millis(t) else {
        return String::new();
    };
    if step_ms >= DAY_MS {
        dt.format("%Y-%m-%d").to_string()
    } else {
        dt.format("%m-%d %H:%M").to_string()
    }
}

/// About how many ticks the value axis has (plotters picks round values near it): their spacing
/// is the resolution its labels must show.
const VALUE_TICKS: usize = 8;

/// A value axis label with an SI prefix from ten thousand up (`60M`, not `60000000.0`, on a
/// network metric), as monitoring dashboards print them, and as many decimals as ticks
/// `resolution` apart need to read apart (trailing zeros dropped).
fn value_label(v: f64, resolution: f64) -> String {
    let a = v.abs();
    // (from, unit, prefix): thousands keep their digits up to 9999.
    let (unit, prefix) = [
        (1e12, 1e12, "T"),
        (1e9, 1e9, "G"),
        (1e6, 1e6, "M"),
        (1e4, 1e3, "k"),
    ]
    .into_iter()
    .find(|(from, _, _)| a >= *from)
    .map_or((1.0, ""), |(_, unit, prefix)| (unit, prefix));
    let x = v / unit;
    let relative = resolution / unit;
    let decimals = if relative.is_finite() && relative > 0.0 {
        ((-relative.log10()).ceil() as i64 + 1).clamp(0, 9) as usize
    } else {
        3
    };
    let text = format!("{x:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    let text = if text == "-0" { "0" } else { text };
    format!("{text}{prefix}")
}

fn draw<DB: DrawingBackend>(chart: &Chart, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let (Some(&first), Some(&last)) = (chart.times.first(), chart.times.last()) else {
        // A span too short for one evaluation (a series of a point or two): the chart says so
        // rather than failing the report or the plot it is part of.
        let height = root.dim_in_pixel().1;
        let style = (FAMILY, 16).into_font().color(&BLACK.mix(0.7));
        for (i, line) in [
            format!("{} — {}", chart.title, chart.condition),
            "no evaluation in the span: nothing to draw".to_string(),
        ]
        .into_iter()
        .enumerate()
        {
            root.draw(&Text::new(
                line,
                (24, (height / 2) as i32 - 12 + 28 * i as i32),
                style.clone(),
            ))
            .map_err(e)?;
        }
        return Ok(());
    };
    let step = chart.times.get(1).map_or(60_000, |t| t - first).max(1);
    let (x0, x1) = (first, last + step);
    let finite = chart
        .values
        .iter()
        .chain(&chart.lower)
        .chain(&chart.upper)
        .copied()
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.05).max(1e-9);
    let (y0, y1) = (lo - pad, hi + pad);
    let width = root.dim_in_pixel().0 as usize;
    // About one tick per 150 pixels: a date label is about 80 wide.
    let (ticks, tick_step) = time_ticks(x0, x1, (width / 150).clamp(2, 8));
    let mut cc = ChartBuilder::on(root)
        .caption(
            format!("{} — {}", chart.title, chart.condition),
            (FAMILY, 20).into_font(),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(72)
        .build_cartesian_2d((x0..x1).with_key_points(ticks), y0..y1)
        .map_err(e)?;
    let span = x1 - x0;
    cc.configure_mesh()
        .y_labels(VALUE_TICKS)
        .x_label_formatter(&|t| time_label(*t, tick_step))
        .y_label_formatter(&|v| value_label(*v, (y1 - y0) / VALUE_TICKS as f64))
        .x_desc("time (UTC)")
        .y_desc(chart.unit.clone().unwrap_or_else(|| "value".into()))
        .label_style((FAMILY, 13))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    if let Some((a, b)) = chart.warm_up {
        cc.draw_series(std::iter::once(Rectangle::new(
            [(a, y0), (b, y1)],
            WARM_UP.mix(0.3).filled(),
        )))
        .map_err(e)?
        .label("warm-up (no band yet)")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], WARM_UP.mix(0.6).filled()));
    }
    // An episode or incident is at least one pixel wide, so a five-minute page on a two-week chart
    // shows, and so does a point label (a zero-length window).
    let pixel_ms = (span / width.max(1) as i64).max(1);
    if !chart.incidents.is_empty() {
        cc.draw_series(chart.incidents.iter().map(|&(a, b)| {
            Rectangle::new(
                [(a, y0), (b.max(a + pixel_ms), y1)],
                INCIDENT.mix(0.2).filled(),
            )
        }))
        .map_err(e)?
        .label(format!("incidents: {}", chart.incidents.len()))
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], INCIDENT.mix(0.6).filled()));
    }
    if !chart.pending.is_empty() {
        cc.draw_series(chart.pending.iter().map(|&(a, b)| {
            Rectangle::new(
                [(a, y0), (b.max(a + pixel_ms), y1)],
                ALARM.mix(0.08).filled(),
            )
        }))
        .map_err(e)?
        .label(format!("pending: {}", chart.pending.len()))
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], ALARM.mix(0.2).filled()));
    }
    cc.draw_series(chart.episodes.iter().map(|&(a, b)| {
        Rectangle::new(
            [(a, y0), (b.max(a + pixel_ms), y1)],
            ALARM.mix(0.25).filled(),
        )
    }))
    .map_err(e)?
    .label(format!(
        "{}: {}",
        if chart.engine == "prometheus" {
            "firing"
        } else {
            "ALARM"
        },
        chart.legend()
    ))
    .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], ALARM.mix(0.6).filled()));
    if chart.is_band {
        // One polygon per stretch with a band: the upper bound's per-column maximum, then the
        // lower bound's per-column minimum back.
        let uppers = decimate(&chart.times, &chart.upper, width);
        let lowers = decimate(&chart.times, &chart.lower, width);
        let mut first_band = true;
        for (up, down) in uppers.iter().zip(&lowers) {
            let mut outline: Vec<(i64, f64)> = up.clone();
            outline.extend(down.iter().rev());
            let series = cc
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    BAND.mix(0.25).filled(),
                )))
                .map_err(e)?;
            if first_band {
                series.label("band").legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], BAND.mix(0.5).filled())
                });
                first_band = false;
            }
        }
    } else {
        let line = decimate(&chart.times, &chart.upper, width);
        for (i, seg) in line.into_iter().enumerate() {
            let s = cc
                .draw_series(LineSeries::new(seg, BAND.stroke_width(2)))
                .map_err(e)?;
            if i == 0 {
                s.label("threshold").legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 12, y)], BAND.stroke_width(2))
                });
            }
        }
    }
    for (i, seg) in decimate(&chart.times, &chart.values, width)
        .into_iter()
        .enumerate()
    {
        let s = cc
            .draw_series(LineSeries::new(seg, SERIES.stroke_width(1)))
            .map_err(e)?;
        if i == 0 {
            s.label("series").legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 12, y)], SERIES.stroke_width(2))
            });
        }
    }
    // Breaching datapoints; at most one marker per pixel column.
    let stride = chart.breaching.len().div_ceil(width.max(1)).max(1);
    cc.draw_series(
        chart
            .breaching
            .iter()
            .step_by(stride)
            .map(|&(t, v)| Circle::new((t, v), 2, ALARM.filled())),
    )
    .map_err(e)?
    .label(format!("breaching: {}", chart.breaching.len()))
    .legend(|(x, y)| Circle::new((x + 6, y), 3, ALARM.filled()));
    draw_legend(&mut cc, SeriesLabelPosition::UpperLeft)
}

/// The legend box every chart draws, at `position`.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    cc: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    cc.configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FAMILY, 13))
        .draw()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONDAY: i64 = 1_767_571_200_000; // 2026-01-05T00:00:00Z

    #[test]
    fn time_ticks_fall_on_round_times_of_day_and_weeks_on_mondays() {
        // 4.3 days starting 16:25: daily ticks at midnight.
        let x0 = MONDAY + 16 * HOUR_MS + 25 * MINUTE_MS;
        let (ticks, step) = time_ticks(x0, x0 + 4 * DAY_MS + 7 * HOUR_MS, 8);
        assert_eq!(step, DAY_MS);
        assert_eq!(ticks.len(), 4);
        assert!(ticks.iter().all(|t| t.rem_euclid(DAY_MS) == 0), "{ticks:?}");
        assert_eq!(time_label(ticks[0], step), "2026-01-06");
        // Six hours: hourly ticks on the hour, labelled with the time.
        let (ticks, step) = time_ticks(x0, x0 + 6 * HOUR_MS, 8);
        assert_eq!(step, HOUR_MS);
        assert_eq!(ticks[0], MONDAY + 17 * HOUR_MS);
        assert_eq!(time_label(ticks[0], step), "01-05 17:00");
        // Ten weeks: ticks two weeks apart, on Mondays.
        let (ticks, step) = time_ticks(x0, x0 + 10 * WEEK_MS, 8);
        assert_eq!(step, 2 * WEEK_MS);
        assert!(ticks.iter().all(|t| (t - MONDAY).rem_euclid(WEEK_MS) == 0));
        // Never more than asked, whatever the span; a few seconds or centuries still work.
        for span in [1, 999, 90_000, 40 * DAY_MS, 300 * 52 * WEEK_MS] {
            for max in [2, 5, 8] {
                let (ticks, _) = time_ticks(x0, x0 + span, max);
                assert!(ticks.len() <= max, "span {span} max {max}: {ticks:?}");
                assert!(ticks.iter().all(|t| (x0..x0 + span).contains(t)));
            }
        }
    }

    #[test]
    fn value_labels_are_short_and_ticks_read_apart() {
        for (v, resolution, text) in [
            (0.0, 1.0, "0"),
            (60_000_000.0, 7.5e6, "60M"),
            (2_500_000.0, 7.5e6, "2.5M"),
            (12_500.0, 2_500.0, "12.5k"),
            (2_500.0, 500.0, "2500"),
            (0.125, 0.025, "0.125"),
            (33.45, 0.05, "33.45"),
            (-1.5e9, 5e8, "-1.5G"),
            (0.0001, 0.00005, "0.0001"),
            // Ticks 0.1 apart on a level of 100,000 stay apart.
            (100_000.1, 0.1, "100.0001k"),
            (100_000.2, 0.1, "100.0002k"),
        ] {
            assert_eq!(value_label(v, resolution), text, "{v}");
        }
    }
}
