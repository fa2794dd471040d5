//! Band and threshold models. Every model turns a period-grid series into a [`Band`] — a center and
//! a spread per point, NaN where the model has no band yet — using only data strictly before each
//! point. An alarm's bounds are `center ± k·spread`, so trying another `k` is one comparison pass
//! ([`breaches`]) over the same band, never a refit.

pub mod percentile;
pub mod promql;
pub mod replay;
pub mod seasonal;

use std::fmt;

use crate::engine::cloudwatch::Breach;

/// Which side of the band breaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Above the upper bound (`GreaterThanUpperThreshold`, `>`).
    #[default]
    Above,
    /// Below the lower bound (`LessThanLowerThreshold`, `<`).
    Below,
    /// Outside either bound (`LessThanLowerOrGreaterThanUpperThreshold`).
    Both,
}

impl Direction {
    pub const NAMES: &'static [&'static str] = &["above", "below", "both"];

    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "above" => Some(Direction::Above),
            "below" => Some(Direction::Below),
            "both" | "outside" => Some(Direction::Both),
            _ => None,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Above => "above",
            Direction::Below => "below",
            Direction::Both => "both",
        })
    }
}

/// A static threshold comparison (`op` in the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl Comparison {
    pub const NAMES: &'static [&'static str] = &[">", ">=", "<", "<="];

    pub fn parse(s: &str) -> Option<Comparison> {
        match s {
            ">" => Some(Comparison::Greater),
            ">=" => Some(Comparison::GreaterOrEqual),
            "<" => Some(Comparison::Less),
            "<=" => Some(Comparison::LessOrEqual),
            _ => None,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
        }
    }

    /// CloudWatch's `ComparisonOperator` name.
    pub fn cloudwatch_operator(self) -> &'static str {
        match self {
            Comparison::Greater => "GreaterThanThreshold",
            Comparison::GreaterOrEqual => "GreaterThanOrEqualToThreshold",
            Comparison::Less => "LessThanThreshold",
            Comparison::LessOrEqual => "LessThanOrEqualToThreshold",
        }
    }

    pub fn direction(self) -> Direction {
        match self {
            Comparison::Greater | Comparison::GreaterOrEqual => Direction::Above,
            Comparison::Less | Comparison::LessOrEqual => Direction::Below,
        }
    }

    pub fn inclusive(self) -> bool {
        matches!(self, Comparison::GreaterOrEqual | Comparison::LessOrEqual)
    }
}

/// Per-point center and spread; NaN where there is no band (warm-up).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Band {
    pub center: Vec<f64>,
    pub spread: Vec<f64>,
}

impl Band {
    /// A constant band (static thresholds).
    pub fn constant(len: usize, value: f64) -> Band {
        Band {
            center: vec![value; len],
            spread: vec![0.0; len],
        }
    }

    /// Lower and upper bounds at width `k`.
    pub fn bounds(&self, i: usize, k: f64) -> (f64, f64) {
        let (c, s) = (self.center[i], self.spread[i]);
        (c - k * s, c + k * s)
    }

    /// Points with no band yet.
    pub fn warm_up_points(&self) -> usize {
        self.center.iter().take_while(|c| c.is_nan()).count()
    }
}

/// How a condition compares values to the band: side and strictness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub k: f64,
    pub direction: Direction,
    /// `>=`/`<=` instead of strictly outside (anomaly bands are always strict).
    pub inclusive: bool,
    /// Clamp the lower bound at this value (CloudWatch clamps bands to the metric's logical range).
    pub floor: Option<f64>,
}

/// Classify each point: missing value → `Missing`; no band yet → `Good` (the alarm cannot breach
/// before its model exists); otherwise breaching when outside the bounds on the rule's side.
///
/// This is the per-`k` pass of every backtest and tuning run, so it is written to vectorise: NaN
/// bounds compare false (no band → not breaching) and the side and strictness are fixed per loop.
pub fn breaches(values: &[f64], band: &Band, rule: &Rule) -> Vec<Breach> {
    match (rule.direction, rule.inclusive) {
        (Direction::Above, false) => classify::<true, false, false>(values, band, rule),
        (Direction::Above, true) => classify::<true, false, true>(values, band, rule),
        (Direction::Below, false) => classify::<false, true, false>(values, band, rule),
        (Direction::Below, true) => classify::<false, true, true>(values, band, rule),
        (Direction::Both, false) => classify::<true, true, false>(values, band, rule),
        (Direction::Both, true) => classify::<true, true, true>(values, band, rule),
    }
}

fn classify<const ABOVE: bool, const BELOW: bool, const INCLUSIVE: bool>(
    values: &[f64],
    band: &Band,
    rule: &Rule,
) -> Vec<Breach> {
    let k = rule.k;
    let floor = rule.floor;
    values
        .iter()
        .zip(band.center.iter().zip(&band.spread))
        .map(|(&v, (&c, &s))| {
            let upper = c + k * s;
            let mut lower = c - k * s;
            if let Some(f) = floor {
                // NaN (no band) stays NaN: `NaN < f` is false.
                if lower < f {
                    lower = f;
                }
            }
            let above = ABOVE && if INCLUSIVE { v >= upper } else { v > upper };
            let below = BELOW && if INCLUSIVE { v <= lower } else { v < lower };
            if v.is_nan() {
                Breach::Missing
            } else if above || below {
                Breach::Breaching
            } else {
                Breach::Good
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_threshold_strict_and_inclusive() {
        let band = Band::constant(3, 10.0);
        let values = [9.0, 10.0, f64::NAN];
        let strict = breaches(
            &values,
            &band,
            &Rule {
                k: 0.0,
                direction: Direction::Above,
                inclusive: false,
                floor: None,
            },
        );
        assert_eq!(strict, vec![Breach::Good, Breach::Good, Breach::Missing]);
        let incl = breaches(
            &values,
            &band,
            &Rule {
                k: 0.0,
                direction: Direction::Above,
                inclusive: true,
                floor: None,
            },
        );
        assert_eq!(incl[1], Breach::Breaching);
    }

    #[test]
    fn band_sides() {
        let band = Band {
            center: vec![10.0, 10.0, f64::NAN],
            spread: vec![1.0, 1.0, 1.0],
        };
        let values = [13.0, 7.0, 100.0];
        let rule = |direction| Rule {
            k: 2.0,
            direction,
            inclusive: false,
            floor: None,
        };
        assert_eq!(
            breaches(&values, &band, &rule(Direction::Above)),
            vec![Breach::Breaching, Breach::Good, Breach::Good]
        );
        assert_eq!(
            breaches(&values, &band, &rule(Direction::Below)),
            vec![Breach::Good, Breach::Breaching, Breach::Good]
        );
        assert_eq!(
            breaches(&values, &band, &rule(Direction::Both)),
            vec![Breach::Breaching, Breach::Breaching, Breach::Good]
        );
    }
}
