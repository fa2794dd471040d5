//! The trade-off `tune` measured for one alert in one env on one engine, as a picture: every
//! setting tried by its false alerts per week and the share of incidents it caught, the Pareto front
//! through them with each point's median delay, the budget, the current setting and the
//! recommendation. It answers "what would one more alert a week buy?" at a glance, where the table
//! needs reading. Drawn from the tune report (this module measures nothing).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::render::{draw_legend, svg_of, ALARM, BAND, FAMILY, WARM_UP};
use crate::series::time::format_duration;
use crate::tune::{Figures, Recommendation, TuneReport};

/// The size the report and `tune --chart` draw the chart at, in pixels.
pub const SIZE: (u32, u32) = (1100, 460);

/// One point: false alerts per week, recall, median delay (seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub false_per_week: f64,
    pub recall: f64,
    pub delay_s: Option<f64>,
}

impl Point {
    fn of(f: &Figures) -> Option<Point> {
        Some(Point {
            false_per_week: f.false_alerts_per_week?,
            recall: f.recall?,
            delay_s: f.median_delay_s,
        })
    }
}

/// What the chart shows for one (alert, env, engine).
#[derive(Debug, Clone, PartialEq)]
pub struct Tradeoff {
    pub title: String,
    pub budget: f64,
    /// Every setting tried (empty unless the report kept them: `tune --all`).
    pub tried: Vec<Point>,
    /// The Pareto front, quietest first.
    pub front: Vec<Point>,
    pub current: Point,
    pub recommended: Point,
}

impl Tradeoff {
    /// The trade-off of `rec` in `report`, or `None` where no incidents are known (no recall to
    /// trade against).
    pub fn of(report: &TuneReport, rec: &Recommendation) -> Option<Tradeoff> {
        let same = |alert: &str, env: &str, engine: &str| {
            (alert, env, engine) == (rec.alert.as_str(), rec.env.as_str(), rec.engine)
        };
        Some(Tradeoff {
            title: format!("{} · {} · {}", rec.alert, rec.env, rec.engine),
            budget: rec.budget,
            tried: report
                .settings
                .iter()
                .filter(|t| same(&t.alert, &t.env, t.engine))
                .filter_map(|t| Point::of(&t.outcome.figures))
                .collect(),
            front: report
                .pareto
                .iter()
                .filter(|p| same(&p.alert, &p.env, p.engine))
                .filter_map(|p| Point::of(&p.figures))
                .collect(),
            current: Point::of(&rec.current.figures)?,
            recommended: Point::of(&rec.figures)?,
        })
    }
}

/// False alerts per week on a square-root axis: the region around a budget of one or two a week
/// gets room while a setting at a hundred a week still fits.
fn x_of(false_per_week: f64) -> f64 {
    false_per_week.max(0.0).sqrt()
}

/// `t` as inline SVG text at `size` pixels.
pub fn render_tradeoff_svg(t: &Tradeoff, size: (u32, u32)) -> Result<String, String> {
    svg_of(size, |root| draw(t, root))
}

fn draw<DB: DrawingBackend>(t: &Tradeoff, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let widest = t
        .tried
        .iter()
        .chain(&t.front)
        .chain([&t.current, &t.recommended])
        .map(|p| p.false_per_week)
        .fold(t.budget, f64::max);
    let x1 = x_of(widest).max(1.0) * 1.05;
    let mut cc = ChartBuilder::on(root)
        .caption(
            format!("{} — trade-off of the settings tried", t.title),
            (FAMILY, 20).into_font(),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.02 * x1..x1, -0.05f64..1.08)
        .map_err(e)?;
    cc.configure_mesh()
        .x_labels(10)
        .y_labels(6)
        .x_label_formatter(&|x| {
            let v = x * x;
            if v < 10.0 {
                format!("{:.1}", v)
            } else {
                format!("{v:.0}")
            }
        })
        .y_label_formatter(&|y| format!("{:.0} %", y * 100.0))
        .x_desc("false alerts per week (square-root scale)")
        .y_desc("incidents caught")
        .label_style((FAMILY, 13))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    let budget = x_of(t.budget);
    cc.draw_series(std::iter::once(PathElement::new(
        vec![(budget, -0.05), (budget, 1.08)],
        BLACK.mix(0.5).stroke_width(1),
    )))
    .map_err(e)?
    .label(format!("budget: {} a week", t.budget))
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], BLACK.mix(0.5)));
    if !t.tried.is_empty() {
        cc.draw_series(
            t.tried
                .iter()
                .map(|p| Circle::new((x_of(p.false_per_week), p.recall), 2, WARM_UP.filled())),
        )
        .map_err(e)?
        .label(format!("settings tried: {}", t.tried.len()))
        .legend(|(x, y)| Circle::new((x + 6, y), 3, WARM_UP.filled()));
    }
    // The most a budget of x false alerts a week buys: a staircase through the quietest setting
    // at each new level of recall, labelled with its median delay.
    let corners = staircase(if t.tried.is_empty() {
        &t.front
    } else {
        &t.tried
    });
    let mut steps: Vec<(f64, f64)> = Vec::new();
    for (i, p) in corners.iter().enumerate() {
        let at = (x_of(p.false_per_week), p.recall);
        if i > 0 {
            steps.push((at.0, steps[steps.len() - 1].1));
        }
        steps.push(at);
    }
    if let Some(&(_, last)) = steps.last() {
        steps.push((x1, last));
    }
    cc.draw_series(LineSeries::new(steps, BAND.stroke_width(2)))
        .map_err(e)?
        .label("most caught within x false alerts a week (median delay at each step)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], BAND.stroke_width(2)));
    cc.draw_series(corners.iter().filter_map(|p| {
        let delay = format_duration((p.delay_s? * 1000.0) as i64);
        let at = (x_of(p.false_per_week), p.recall);
        // Above and to the right of its corner, clear of the markers.
        Some(EmptyElement::at(at) + Text::new(delay, (6, -18), (FAMILY, 12).into_font()))
    }))
    .map_err(e)?;
    // The Pareto front also holds settings that are noisier for the same recall but answer
    // sooner: the points to pick from when delay matters more.
    cc.draw_series(
        t.front
            .iter()
            .map(|p| Circle::new((x_of(p.false_per_week), p.recall), 4, BAND.filled())),
    )
    .map_err(e)?
    .label(format!(
        "Pareto front (noise, recall, delay): {}",
        t.front.len()
    ))
    .legend(|(x, y)| Circle::new((x + 6, y), 4, BAND.filled()));
    let marker = |p: &Point| (x_of(p.false_per_week), p.recall);
    cc.draw_series(std::iter::once(TriangleMarker::new(
        marker(&t.current),
        8,
        BLACK.filled(),
    )))
    .map_err(e)?
    .label("current setting")
    .legend(|(x, y)| TriangleMarker::new((x + 6, y), 5, BLACK.filled()));
    cc.draw_series(std::iter::once(Circle::new(
        marker(&t.recommended),
        7,
        ALARM.stroke_width(3),
    )))
    .map_err(e)?
    .label("recommended")
    .legend(|(x, y)| Circle::new((x + 6, y), 5, ALARM.stroke_width(2)));
    draw_legend(&mut cc, SeriesLabelPosition::LowerRight)
}

/// The quietest setting at each new level of recall, quietest first (ties: the soonest): the
/// corners of "the most a budget buys".
fn staircase(points: &[Point]) -> Vec<Point> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| {
        (
            a.false_per_week,
            -a.recall,
            a.delay_s.unwrap_or(f64::INFINITY),
        )
            .partial_cmp(&(
                b.false_per_week,
                -b.recall,
                b.delay_s.unwrap_or(f64::INFINITY),
            ))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut corners: Vec<Point> = Vec::new();
    for p in sorted {
        if corners.last().is_none_or(|c| p.recall > c.recall) {
            corners.push(p);
        }
    }
    corners
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(false_per_week: f64, recall: f64) -> Point {
        Point {
            false_per_week,
            recall,
            delay_s: Some(600.0),
        }
    }

    #[test]
    fn draws_every_setting_the_front_the_budget_and_both_settings() {
        let t = Tradeoff {
            title: "a · prod · cloudwatch".into(),
            budget: 1.0,
            tried: vec![point(0.0, 0.0), point(4.0, 0.5), point(120.0, 1.0)],
            front: vec![point(0.0, 0.0), point(0.5, 1.0)],
            current: point(120.0, 1.0),
            recommended: point(0.5, 1.0),
        };
        let svg = render_tradeoff_svg(&t, (900, 420)).unwrap();
        for text in [
            "settings tried: 3",
            "budget: 1 a week",
            "current setting",
            "recommended",
            "false alerts per week",
            "Pareto front (noise, recall, delay): 2",
            "10m",
        ] {
            assert!(svg.contains(text), "missing `{text}`");
        }
    }

    #[test]
    fn the_staircase_is_the_quietest_setting_at_each_new_recall() {
        let p = |f: f64, r: f64, d: f64| Point {
            false_per_week: f,
            recall: r,
            delay_s: Some(d),
        };
        let corners = staircase(&[
            p(3.0, 0.5, 60.0),
            p(0.0, 0.0, 0.0),
            p(1.0, 0.5, 900.0),
            p(1.0, 0.5, 300.0),
            p(2.0, 0.4, 10.0),
            p(5.0, 1.0, 60.0),
        ]);
        assert_eq!(
            corners,
            [p(0.0, 0.0, 0.0), p(1.0, 0.5, 300.0), p(5.0, 1.0, 60.0)]
        );
    }
}
