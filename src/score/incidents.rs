//! Incident windows (labelled or injected) and how well a timeline caught them.
//!
//! An incident is caught when an episode starts inside its window, up to `lead` before it or up
//! to `grace` after it, and no later than `max_delay` after it opens ([`Reach`]); delay = episode
//! start − window start. An episode overlapping no window so extended (whatever the maximum delay)
//! is a false alert: a late page about a real incident is late, not false.

use serde::Serialize;

use crate::engine::Episode;
use crate::series::time::{format_rfc3339, WEEK_MS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub start: i64,
    pub end: i64,
    /// Whether this is anomalous points rather than a drawn window: a run of flagged rows, or a
    /// point label. Points are caught by an episode whose evaluation saw one of them (see
    /// [`Reach`]); a window (`start,end`, NAB's windows, an injected anomaly) by one starting in it.
    #[serde(skip)]
    pub points: bool,
}

impl Incident {
    /// A window from `start` to `end`, as a labeller drew it.
    pub fn window(start: i64, end: i64) -> Incident {
        Incident {
            start,
            end,
            points: false,
        }
    }

    /// Anomalous points from `start` to `end` (a run of flagged rows; one point when equal).
    pub fn points(start: i64, end: i64) -> Incident {
        Incident {
            start,
            end,
            points: true,
        }
    }

    /// Whether an episode that saw one of its points catches it, rather than one starting inside
    /// it: flagged rows, point labels, and any zero-length window (a window of one instant is a
    /// point, however it was written).
    pub fn is_points(&self) -> bool {
        self.points || self.start == self.end
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentScore {
    pub incidents: usize,
    pub caught: usize,
    pub recall: Option<f64>,
    pub precision: Option<f64>,
    pub false_alerts: usize,
    pub false_alerts_per_week: f64,
    pub median_delay_s: Option<f64>,
    /// Incidents whose window closes before the band exists (the model's warm-up at the start of
    /// the history): missed by every setting of that band, so a user sees that the history, not
    /// the alarm, is too short for them.
    pub in_warm_up: usize,
    /// Incidents of the list whose window lies wholly outside the evaluated span (before
    /// `--start`, after `--end`, beyond the data): not scored, since no setting can be judged on
    /// them (they are neither caught nor missed).
    #[serde(skip_serializing_if = "is_zero")]
    pub outside_span: usize,
    /// Of the incidents, point labels ([`Incident::is_points`]) judged by the alarm's view of
    /// them, as no grace was given ([`Reach`]): the reports say how they were judged.
    #[serde(skip_serializing_if = "is_zero")]
    pub point_labels: usize,
    /// The incidents no episode caught, as their windows (points: a window of one instant), in
    /// the list's order: what to look at when `recall` is short of 1.
    #[serde(skip_serializing_if = "Windows::is_empty")]
    pub missed: Windows,
    /// Of the missed incidents, those an episode did page about, but later than the maximum delay
    /// ([`Reach::max_delay_ms`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub late: usize,
    /// Every caught incident's delay, seconds (for pooling over series).
    #[serde(skip)]
    pub delays_s: Vec<f64>,
}

/// Incident windows `(start, end)` in epoch milliseconds, written as `{"start", "end"}` in RFC 3339
/// UTC, as episodes are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Windows(pub Vec<(i64, i64)>);

impl Windows {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Windows {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        #[derive(Serialize)]
        struct Out {
            start: String,
            end: String,
        }
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for &(start, end) in &self.0 {
            seq.serialize_element(&Out {
                start: format_rfc3339(start),
                end: format_rfc3339(end),
            })?;
        }
        seq.end()
    }
}

/// Missed incidents a table or report names per result; the JSON has them all.
const MISSED_SHOWN: usize = 3;

/// What the reports say of the incidents a result missed, given as (start, end) texts: the first
/// few windows (a point as one time), how many more, and how many of them were paged about later
/// than the maximum delay ([`IncidentScore::late`]).
pub fn missed_phrase<S: AsRef<str>>(missed: &[(S, S)], late: usize) -> String {
    let shown: Vec<String> = missed
        .iter()
        .take(MISSED_SHOWN)
        .map(|(start, end)| {
            let (start, end) = (start.as_ref(), end.as_ref());
            if start == end {
                start.to_string()
            } else {
                format!("{start} to {end}")
            }
        })
        .collect();
    let more = missed.len().saturating_sub(MISSED_SHOWN);
    let tail = if more > 0 {
        format!("; and {more} more (the JSON lists them)")
    } else {
        String::new()
    };
    let late = match (late, missed.len()) {
        (0, _) => String::new(),
        (1, 1) => " (paged about later than the maximum delay)".into(),
        (n, _) => format!(" ({n} of them paged about later than the maximum delay)"),
    };
    match missed.len() {
        1 => format!("missed the incident {}{late}", shown[0]),
        n => format!("missed {n} incidents: {}{tail}{late}", shown.join("; ")),
    }
}

pub(crate) fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What the reports say of `in_warm_up` of `incidents` closing before the band existed (the
/// backtest and tune tables word it alike).
pub fn warm_up_phrase(in_warm_up: usize, incidents: usize) -> String {
    format!(
        "{in_warm_up} of {incidents} incidents closed before the band existed (its warm-up at the start of the history): no width or M of N catches them"
    )
}

/// What the tune table and the report say of `late` of `incidents` that the recommended setting
/// paged about only after the maximum delay.
pub fn late_phrase(late: usize, incidents: usize) -> String {
    format!(
        "{late} of {incidents} incidents were paged about later than the maximum delay (`--max-delay`, `backtest.max_delay`): counted as missed, not as false alerts"
    )
}

/// What the reports say of `points` of `incidents` that are point labels (single timestamps, or
/// runs of flagged rows) judged by each alarm's view of them (the backtest and tune tables word it
/// alike).
pub fn point_labels_phrase(points: usize, incidents: usize) -> String {
    format!(
        "{points} of {incidents} incidents are point labels (single timestamps, or runs of flagged rows): each is caught by an episode starting while the alarm's evaluations saw one of its points (CloudWatch: from the first point's period to N − 1 periods after the last; Prometheus: up to `for` + one evaluation interval after the last), as no grace is given (`--grace` or `backtest.grace` sets one reach for every incident)"
    )
}

/// How far around an incident's window an episode may start and still catch it (`backtest.lead`
/// and `backtest.grace`). Labels rarely match an alarm's reach: a window may open a little after
/// the trouble began (lead), and a point label (a flagged row or a short run of them,
/// [`Incident::is_points`]) would otherwise be caught only by an episode starting at that very
/// instant, which an alarm that waits for M of N datapoints never does. Unless a grace is given,
/// points are therefore caught by an episode whose evaluation saw one of them: one starting within
/// the alarm's view of them (`view_ms`, set per alarm by [`Reach::viewing`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    pub lead_ms: i64,
    /// `None` when neither the spec nor the command line gives one: windows then get none, and
    /// point labels the alarm's view.
    pub grace_ms: Option<i64>,
    /// How long before and after a point an episode of this alarm that saw the point may start
    /// (see [`Reach::viewing`]); `(0, 0)` until set.
    pub view_ms: (i64, i64),
    /// `backtest.max_delay` or `--max-delay`: an incident counts as caught only by an episode
    /// starting at most this long after it opens (what "we must know within 30 minutes" means);
    /// `None`, any episode within the reach catches it however late.
    pub max_delay_ms: Option<i64>,
}

impl Reach {
    /// This reach for an alarm that sees a point `before` ms before it and up to `after` ms after
    /// it: a CloudWatch evaluation is stamped with the start of its newest datapoint's period, so
    /// the one whose newest period holds the point starts up to a period before it, and the point
    /// stays in view for the N − 1 evaluations after; a Prometheus rule fires from `for` after the
    /// first evaluation that sees it.
    pub fn viewing(self, before: i64, after: i64) -> Reach {
        Reach {
            view_ms: (before.max(0), after.max(0)),
            ..self
        }
    }

    /// The earliest and latest start of an episode that catches `incident`.
    pub fn starts(&self, incident: &Incident) -> (i64, i64) {
        let (from, to) = self.extent(incident);
        match self.max_delay_ms {
            Some(delay) => (from, to.min(incident.start.saturating_add(delay))),
            None => (from, to),
        }
    }

    /// The earliest and latest start of an episode about `incident`, caught in time or not: one
    /// starting later than the maximum delay is late, not a false alert.
    fn extent(&self, incident: &Incident) -> (i64, i64) {
        let (lead, grace) = match self.grace_ms {
            Some(grace) => (self.lead_ms, grace),
            None if incident.is_points() => (self.lead_ms.max(self.view_ms.0), self.view_ms.1),
            None => (self.lead_ms, 0),
        };
        (
            incident.start.saturating_sub(lead),
            incident.end.saturating_add(grace),
        )
    }
}

/// How many of `incidents` are out of reach before `band_from`, the first evaluation with a band
/// (`None`: the condition has no warm-up): the latest start that would catch them comes first.
pub fn count_in_warm_up(incidents: &[Incident], reach: Reach, band_from: Option<i64>) -> usize {
    band_from.map_or(0, |from| {
        incidents
            .iter()
            .filter(|i| reach.starts(i).1 < from)
            .count()
    })
}

/// The episode that catches `incident`: the first to start within its [`Reach`].
pub fn first_catch<'a>(
    episodes: &'a [Episode],
    incident: &Incident,
    reach: Reach,
) -> Option<&'a Episode> {
    let (from, to) = reach.starts(incident);
    episodes.iter().find(|e| e.start >= from && e.start <= to)
}

pub fn match_incidents(
    episodes: &[Episode],
    incidents: &[Incident],
    reach: Reach,
    horizon: i64,
    covered_ms: i64,
) -> IncidentScore {
    let mut delays = Vec::new();
    let mut missed = Vec::new();
    let mut late = 0;
    for inc in incidents {
        match first_catch(episodes, inc, reach) {
            Some(first) => delays.push(first.start - inc.start),
            None => {
                missed.push((inc.start, inc.end));
                let (deadline, to) = (reach.starts(inc).1, reach.extent(inc).1);
                late += episodes.iter().any(|e| e.start > deadline && e.start <= to) as usize;
            }
        }
    }
    let touching = |e: &Episode| {
        incidents.iter().any(|inc| {
            let (from, to) = reach.extent(inc);
            e.start <= to && e.end.unwrap_or(horizon) > from
        })
    };
    let true_alerts = episodes.iter().filter(|e| touching(e)).count();
    let false_alerts = episodes.len() - true_alerts;
    delays.sort_unstable();
    let median_delay_s = if delays.is_empty() {
        None
    } else if delays.len() % 2 == 1 {
        Some(delays[delays.len() / 2] as f64 / 1000.0)
    } else {
        Some((delays[delays.len() / 2 - 1] + delays[delays.len() / 2]) as f64 / 2000.0)
    };
    IncidentScore {
        incidents: incidents.len(),
        caught: delays.len(),
        recall: (!incidents.is_empty()).then(|| delays.len() as f64 / incidents.len() as f64),
        precision: (!episodes.is_empty()).then(|| true_alerts as f64 / episodes.len() as f64),
        false_alerts,
        false_alerts_per_week: if covered_ms > 0 {
            false_alerts as f64 * WEEK_MS as f64 / covered_ms as f64
        } else {
            0.0
        },
        median_delay_s,
        in_warm_up: 0,
        outside_span: 0,
        point_labels: 0,
        missed: Windows(missed),
        late,
        delays_s: delays.iter().map(|d| *d as f64 / 1000.0).collect(),
    }
}

/// Whether the evaluated `span` can judge `incident`: an episode inside it can start within the
/// incident's [`Reach`]. The others (before `--start`, after `--end`, beyond the data) are neither
/// caught nor missed.
pub fn judged_in(incident: &Incident, span: (i64, i64), reach: Reach) -> bool {
    let (from, to) = reach.starts(incident);
    to >= span.0 && from <= span.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_a_few_missed_incidents_and_counts_the_rest() {
        let point = "2026-01-09T12:00:00Z";
        assert_eq!(
            missed_phrase(&[(point, point)], 0),
            "missed the incident 2026-01-09T12:00:00Z"
        );
        let days: Vec<(String, String)> = (1..=5)
            .map(|d| {
                (
                    format!("2026-01-0{d}T00:00:00Z"),
                    format!("2026-01-0{d}T06:00:00Z"),
                )
            })
            .collect();
        assert_eq!(
            missed_phrase(&days, 0),
            "missed 5 incidents: 2026-01-01T00:00:00Z to 2026-01-01T06:00:00Z; 2026-01-02T00:00:00Z to 2026-01-02T06:00:00Z; 2026-01-03T00:00:00Z to 2026-01-03T06:00:00Z; and 2 more (the JSON lists them)"
        );
        assert_eq!(
            missed_phrase(&[(point, point)], 1),
            "missed the incident 2026-01-09T12:00:00Z (paged about later than the maximum delay)"
        );
        assert!(missed_phrase(&days, 2).ends_with(
            "(the JSON lists them) (2 of them paged about later than the maximum delay)"
        ));
    }

    #[test]
    fn recall_precision_delay() {
        let m = 60_000;
        let incidents = [
            Incident::window(10 * m, 20 * m),
            Incident::window(100 * m, 110 * m),
        ];
        let episodes = [
            Episode {
                start: 12 * m,
                end: Some(15 * m),
            },
            Episode {
                start: 50 * m,
                end: Some(51 * m),
            },
        ];
        let s = match_incidents(&episodes, &incidents, Reach::default(), 200 * m, WEEK_MS);
        assert_eq!(s.caught, 1);
        assert_eq!(s.recall, Some(0.5));
        assert_eq!(s.precision, Some(0.5));
        assert_eq!(s.false_alerts, 1);
        assert_eq!(s.median_delay_s, Some(120.0));
        assert_eq!(s.missed, Windows(vec![(100 * m, 110 * m)]));
        assert_eq!(
            serde_json::to_value(&s).unwrap()["missed"],
            serde_json::json!([{"start": "1970-01-01T01:40:00Z", "end": "1970-01-01T01:50:00Z"}])
        );
        // Only a window that closes before the band exists is out of every setting's reach.
        assert_eq!(count_in_warm_up(&incidents, Reach::default(), None), 0);
        assert_eq!(
            count_in_warm_up(&incidents, Reach::default(), Some(20 * m)),
            0
        );
        assert_eq!(
            count_in_warm_up(&incidents, Reach::default(), Some(20 * m + 1)),
            1
        );
        assert_eq!(
            count_in_warm_up(&incidents, Reach::default(), Some(500 * m)),
            2
        );
    }

    /// Lead and grace widen where a catching episode may start, on either side of the window; an
    /// episode starting within them is neither a miss nor a false alert, and delay still counts
    /// from the window's start.
    #[test]
    fn reach_extends_the_window_both_ways() {
        let m = 60_000;
        let point = [Incident::points(100 * m, 100 * m)];
        let episode = |start: i64| Episode {
            start: start * m,
            end: Some((start + 5) * m),
        };
        let reach = Reach {
            lead_ms: 10 * m,
            grace_ms: Some(30 * m),
            // A grace given wins over the alarm's view.
            view_ms: (50 * m, 50 * m),
            max_delay_ms: None,
        };
        for (start, caught) in [
            (84, false),
            (90, true),
            (100, true),
            (130, true),
            (131, false),
        ] {
            let s = match_incidents(&[episode(start)], &point, reach, 500 * m, WEEK_MS);
            assert_eq!(s.caught, caught as usize, "episode at {start}");
            // Not caught and wholly outside the reach: a false alert (84–89 ends before it opens).
            assert_eq!(s.false_alerts, !caught as usize, "episode at {start}");
            if caught {
                assert_eq!(s.median_delay_s, Some((start - 100) as f64 * 60.0));
            }
        }
        // A grace of 0 given: only an episode starting at the point itself catches it.
        let strict = Reach {
            grace_ms: Some(0),
            ..reach
        };
        let exact = match_incidents(&[episode(101)], &point, strict, 500 * m, WEEK_MS);
        assert_eq!(exact.caught, 0);
        // None given: the alarm's view of the point, which a window does not get.
        let viewed = Reach::default().viewing(5 * m, 20 * m);
        for (start, caught) in [(94, false), (95, true), (120, true), (121, false)] {
            let s = match_incidents(&[episode(start)], &point, viewed, 500 * m, WEEK_MS);
            assert_eq!(s.caught, caught as usize, "episode at {start}");
        }
        let window = Incident::window(100 * m, 110 * m);
        assert_eq!(viewed.starts(&window), (100 * m, 110 * m));
        assert_eq!(viewed.starts(&point[0]), (95 * m, 120 * m));
        // A run of flagged rows is points too: the view reaches from its first to past its last.
        let run = Incident::points(100 * m, 110 * m);
        assert_eq!(viewed.starts(&run), (95 * m, 130 * m));
        // A window of one instant is a point, however it was written.
        assert!(Incident::window(100 * m, 100 * m).is_points());
        // A span ending before the point still judges it while an episode can start in reach.
        assert!(judged_in(&point[0], (0, 95 * m), reach));
        assert!(!judged_in(&point[0], (0, 89 * m), reach));
        assert!(judged_in(&point[0], (125 * m, 200 * m), reach));
        assert!(!judged_in(&point[0], (131 * m, 200 * m), reach));
        // Out of reach in the warm-up only once the grace has passed too.
        assert_eq!(count_in_warm_up(&point, reach, Some(130 * m)), 0);
        assert_eq!(count_in_warm_up(&point, reach, Some(131 * m)), 1);
    }

    /// A maximum delay ends the reach that long after the window opens (before its end and grace);
    /// an episode starting later is late: the incident is missed, but the episode is no false
    /// alert, and an incident whose deadline passes in the warm-up or outside the span cannot be
    /// caught by any setting.
    #[test]
    fn a_maximum_delay_misses_late_episodes_without_calling_them_false() {
        let m = 60_000;
        let window = [Incident::window(100 * m, 160 * m)];
        let episode = |start: i64| Episode {
            start: start * m,
            end: Some((start + 5) * m),
        };
        let reach = Reach {
            grace_ms: Some(30 * m),
            max_delay_ms: Some(20 * m),
            ..Reach::default()
        };
        assert_eq!(reach.starts(&window[0]), (100 * m, 120 * m));
        for (start, caught) in [(100, true), (120, true), (121, false), (190, false)] {
            let s = match_incidents(&[episode(start)], &window, reach, 500 * m, WEEK_MS);
            assert_eq!(s.caught, caught as usize, "episode at {start}");
            assert_eq!(s.late, !caught as usize, "episode at {start}");
            assert_eq!(s.false_alerts, 0, "episode at {start}");
        }
        let after_grace = match_incidents(&[episode(191)], &window, reach, 500 * m, WEEK_MS);
        assert_eq!(
            (
                after_grace.caught,
                after_grace.late,
                after_grace.false_alerts
            ),
            (0, 0, 1)
        );
        // A maximum delay past the window's reach changes nothing.
        let long = Reach {
            max_delay_ms: Some(1000 * m),
            ..reach
        };
        assert_eq!(long.starts(&window[0]), (100 * m, 190 * m));
        // Points too: the alarm's view is cut at the deadline.
        let viewed = Reach {
            max_delay_ms: Some(10 * m),
            ..Reach::default()
        }
        .viewing(5 * m, 20 * m);
        assert_eq!(
            viewed.starts(&Incident::points(100 * m, 100 * m)),
            (95 * m, 110 * m)
        );
        assert_eq!(count_in_warm_up(&window, reach, Some(120 * m)), 0);
        assert_eq!(count_in_warm_up(&window, reach, Some(121 * m)), 1);
        assert!(!judged_in(&window[0], (121 * m, 500 * m), reach));
    }
}
