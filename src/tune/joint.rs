//! One condition, two engines. An alert generated both as a CloudWatch alarm and as a Prometheus
//! rule has one `condition` (its `value`, `k`, `p`, ...) and each engine's own timing (the period
//! and M of N; `for` and `keep_firing_for`). Tuned engine by engine, the two may each want another
//! threshold, which one spec — and one overlay — cannot hold: whichever were written would change
//! the other engine's rule to a setting nobody measured. So the keys both engines read are chosen
//! once, for both, and each engine's own keys for itself.

use std::collections::BTreeMap;

use super::grid::Params;
use super::select::{self, noise, Objective};
use super::{Figures, Outcome};

/// The keys of `params` both engines read (`reads_both`), as one comparable text
/// (`value=810`); the current setting (`params` empty: the empty change) in the spec's own values.
fn shared_values(params: &Params, current: &Params, reads_both: &dyn Fn(&str) -> bool) -> String {
    let params = if params.is_empty() { current } else { params };
    params
        .iter()
        .filter(|(key, _)| reads_both(key))
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One engine's measured settings: its outcomes (`[0]` the current setting) and the spec's own
/// values of the keys they vary.
pub struct EngineOutcomes<'a> {
    pub outcomes: &'a [Outcome],
    pub current: &'a Params,
}

impl EngineOutcomes<'_> {
    /// The indices of the outcomes per value of the shared keys, and those values in the order
    /// they first appear (the current setting's first).
    fn by_shared_values(
        &self,
        reads_both: &dyn Fn(&str) -> bool,
    ) -> (Vec<String>, BTreeMap<String, Vec<usize>>) {
        let mut order = Vec::new();
        let mut parts: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, o) in self.outcomes.iter().enumerate() {
            let values = shared_values(&o.params, self.current, reads_both);
            let part = parts.entry(values.clone()).or_default();
            if part.is_empty() {
                order.push(values);
            }
            part.push(i);
        }
        (order, parts)
    }
}

/// The two engines' recommendations (each an index into its outcomes and whether it meets the
/// budget) when the keys both read must agree; `None` when they took one value only (nothing to
/// agree on: each engine's own recommendation stands).
///
/// For each value of the shared keys both engines tried, each engine's best setting of its own
/// keys (`select::recommend_among`). The pairs are then judged as one setting that is as noisy as
/// its noisier engine, catches what its weaker engine catches and is as slow as its slower one, by
/// the rule that judges one engine's settings (`select::recommend`: the budget, the objective, the
/// current values kept unless another pair is better by more than chance): a threshold both
/// engines can live with, never one that suits one engine and pages through the other.
pub fn recommend_shared(
    engines: [EngineOutcomes; 2],
    reads_both: &dyn Fn(&str) -> bool,
    budget: select::Budget,
    objective: Objective,
) -> Option<[(usize, bool); 2]> {
    let (order, first) = engines[0].by_shared_values(reads_both);
    let (_, second) = engines[1].by_shared_values(reads_both);
    // The current values first in both (the comparison keeps them unless beaten), and more than
    // one value to choose from.
    if order.len() < 2 || !second.contains_key(&order[0]) {
        return None;
    }
    let mut pairs = Vec::new();
    let mut judged = Vec::new();
    for values in &order {
        let Some(theirs) = second.get(values) else {
            continue;
        };
        let a = select::recommend_among(engines[0].outcomes, &first[values], budget, objective)?;
        let b = select::recommend_among(engines[1].outcomes, theirs, budget, objective)?;
        judged.push(worse_of(
            &engines[0].outcomes[a.0],
            &engines[1].outcomes[b.0],
        ));
        pairs.push([a, b]);
    }
    let (best, _) = select::recommend(&judged, budget, objective)?;
    Some(pairs[best])
}

/// A pair of settings as one: the noisier one's alerts per week (and interval), the lower recall,
/// the longer delay (none when either catches nothing), the longer time in alarm.
fn worse_of(a: &Outcome, b: &Outcome) -> Outcome {
    let noisier = if noise(a) >= noise(b) { a } else { b };
    let (fa, fb) = (&a.figures, &b.figures);
    Outcome {
        params: Params::new(),
        figures: Figures {
            recall: match (fa.recall, fb.recall) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            },
            median_delay_s: match (fa.median_delay_s, fb.median_delay_s) {
                (Some(x), Some(y)) => Some(x.max(y)),
                _ => None,
            },
            time_in_alarm_ratio: fa.time_in_alarm_ratio.max(fb.time_in_alarm_ratio),
            ..noisier.figures.clone()
        },
        ..noisier.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::grid::Value;

    /// An outcome of `value` (and `own` for the engine's own key) with these figures over two
    /// weeks: `episodes` alerts, `false_pw` of them false a week, `recall`.
    fn at(value: f64, own: i64, episodes: usize, false_pw: f64, recall: f64) -> Outcome {
        let two_weeks = 14.0 * 86_400_000.0;
        Outcome {
            params: Params::from([
                ("value".to_string(), Value::Num(value)),
                ("own".to_string(), Value::Int(own)),
            ]),
            figures: Figures {
                alerts_per_week: episodes as f64 / 2.0,
                alerts_per_week_ci: crate::score::rate::per_week_interval(episodes, two_weeks),
                false_alerts_per_week: Some(false_pw),
                time_in_alarm_ratio: 0.0,
                recall: Some(recall),
                median_delay_s: Some(600.0),
            },
            episodes,
            incidents: 2,
            caught: (recall * 2.0) as usize,
            incidents_in_warm_up: 0,
            incidents_point_labels: 0,
            incidents_late: 0,
            recall_by_kind: Default::default(),
            warnings: Vec::new(),
        }
    }

    fn current(mut o: Outcome) -> Outcome {
        o.params.clear();
        o
    }

    /// Alone, one engine wants 810 and the other 720; together they get the one value that keeps
    /// both within budget and catching, each with its own best timing.
    #[test]
    fn the_shared_value_is_one_both_engines_can_live_with() {
        let spec = Params::from([
            ("value".to_string(), Value::Num(900.0)),
            ("own".to_string(), Value::Int(1)),
        ]);
        let cloudwatch = [
            current(at(900.0, 1, 40, 20.0, 1.0)),
            at(810.0, 2, 2, 0.5, 1.0),
            at(720.0, 1, 30, 14.0, 1.0),
            at(720.0, 3, 2, 1.0, 1.0),
        ];
        let prometheus = [
            current(at(900.0, 1, 40, 20.0, 1.0)),
            at(810.0, 1, 30, 14.0, 1.0),
            at(720.0, 2, 1, 0.0, 1.0),
            at(720.0, 5, 0, 0.0, 0.5),
        ];
        let alone: Vec<usize> = [&cloudwatch[..], &prometheus[..]]
            .iter()
            .map(|o| {
                select::recommend(o, select::Budget::per_week(1.0), Objective::Recall)
                    .unwrap()
                    .0
            })
            .collect();
        assert_eq!(alone, [1, 2], "810 for one, 720 for the other");
        let both = recommend_shared(
            [
                EngineOutcomes {
                    outcomes: &cloudwatch,
                    current: &spec,
                },
                EngineOutcomes {
                    outcomes: &prometheus,
                    current: &spec,
                },
            ],
            &|key| key == "value",
            select::Budget::per_week(1.0),
            Objective::Recall,
        );
        assert_eq!(both, Some([(3, true), (2, true)]), "720 for both");
    }

    /// On random measurements of two engines: the two recommendations always share their
    /// values of the shared keys, and whenever some value lets both engines meet the budget, both
    /// recommendations meet it.
    #[test]
    fn the_engines_always_agree_and_meet_the_budget_when_some_value_lets_both() {
        let mut rng = crate::rng::Rng::new(7);
        let values = [700.0, 800.0, 900.0, 1000.0];
        for case in 0..2_000 {
            let spec = Params::from([
                ("value".to_string(), Value::Num(900.0)),
                ("own".to_string(), Value::Int(1)),
            ]);
            let labelled = rng.chance(0.5);
            let mut engine = || {
                let mut outs = Vec::new();
                for (i, value) in values.iter().enumerate() {
                    for own in 1..=3 {
                        let episodes = rng.int(0, 30) as usize;
                        let false_pw = (episodes as f64 / 2.0) * rng.uniform();
                        let recall = rng.int(0, 2) as f64 / 2.0;
                        let mut o = at(*value, own, episodes, false_pw, recall);
                        if !labelled {
                            o.figures.false_alerts_per_week = None;
                            o.figures.recall = None;
                            o.figures.median_delay_s = None;
                        }
                        if i == 2 && own == 1 {
                            outs.insert(0, current(o));
                        } else {
                            outs.push(o);
                        }
                    }
                }
                outs
            };
            let (a, b) = (engine(), engine());
            let budget = select::Budget::per_week(rng.range(0.0, 8.0));
            let pair = recommend_shared(
                [
                    EngineOutcomes {
                        outcomes: &a,
                        current: &spec,
                    },
                    EngineOutcomes {
                        outcomes: &b,
                        current: &spec,
                    },
                ],
                &|key| key == "value",
                budget,
                Objective::Recall,
            )
            .expect("four values to choose from");
            let value_of = |outs: &[Outcome], i: usize| {
                shared_values(&outs[i].params, &spec, &|key| key == "value")
            };
            assert_eq!(
                value_of(&a, pair[0].0),
                value_of(&b, pair[1].0),
                "case {case}"
            );
            let fits = |o: &Outcome| budget.allows(o);
            let both_can = values.iter().any(|v| {
                let at_v = |outs: &[Outcome]| {
                    (0..outs.len())
                        .any(|i| value_of(outs, i) == format!("value={v}") && fits(&outs[i]))
                };
                at_v(&a) && at_v(&b)
            });
            if both_can {
                assert!(pair[0].1 && pair[1].1, "case {case}: {pair:?}");
                assert!(fits(&a[pair[0].0]) && fits(&b[pair[1].0]), "case {case}");
            }
        }
    }

    /// One value of the shared keys: nothing to agree on.
    #[test]
    fn a_single_shared_value_leaves_each_engine_its_own_choice() {
        let spec = Params::from([("value".to_string(), Value::Num(900.0))]);
        let one = [
            current(at(900.0, 1, 4, 2.0, 1.0)),
            at(900.0, 2, 1, 0.0, 1.0),
        ];
        let engines = || {
            [
                EngineOutcomes {
                    outcomes: &one,
                    current: &spec,
                },
                EngineOutcomes {
                    outcomes: &one,
                    current: &spec,
                },
            ]
        };
        assert_eq!(
            recommend_shared(
                engines(),
                &|key| key == "value",
                select::Budget::per_week(1.0),
                Objective::Recall
            ),
            None
        );
    }
}
