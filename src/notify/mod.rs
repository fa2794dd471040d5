//! Notifications: what a human would actually have received.
//!
//! CloudWatch runs an alarm's actions on state **transitions** into a state that has actions.
//! Alertmanager batches alerts into groups and flushes them on its own schedule; see
//! [`alertmanager_notifications`].

use serde::Serialize;

use crate::engine::{Episode, Transition};
use crate::series::time::{HOUR_MS, MINUTE_MS, SECOND_MS};

/// Which CloudWatch states have actions (`alarm_actions`, `ok_actions`, `insufficient_data_actions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CloudWatchActions {
    pub alarm: bool,
    pub ok: bool,
    pub insufficient_data: bool,
}

impl Default for CloudWatchActions {
    fn default() -> Self {
        CloudWatchActions {
            alarm: true,
            ok: true,
            insufficient_data: false,
        }
    }
}

/// Transitions that run actions.
pub fn cloudwatch_notifications(transitions: &[Transition], actions: &CloudWatchActions) -> usize {
    transitions
        .iter()
        .filter(|t| match t.to {
            "ALARM" => actions.alarm,
            "OK" => actions.ok,
            "INSUFFICIENT_DATA" => actions.insufficient_data,
            _ => false,
        })
        .count()
}

/// Alertmanager route timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AlertmanagerConfig {
    pub group_wait_ms: i64,
    pub group_interval_ms: i64,
    pub repeat_interval_ms: i64,
    pub send_resolved: bool,
}

impl Default for AlertmanagerConfig {
    fn default() -> Self {
        AlertmanagerConfig {
            group_wait_ms: 30 * SECOND_MS,
            group_interval_ms: 5 * MINUTE_MS,
            repeat_interval_ms: 4 * HOUR_MS,
            send_resolved: true,
        }
    }
}

/// Notifications for one alert (one label set, its own group) firing in `episodes`, over history
/// that ends at `horizon` (flushes after it are not counted).
///
/// The model follows Alertmanager's dispatcher and dedup stage: a group is created when the alert
/// first fires and flushed `group_wait` later, then every `group_interval`. A flush notifies when
/// the alert is firing and the last notification did not have it firing (first notification), when
/// it is firing and `repeat_interval` has passed since the last notification, and when it has
/// resolved after a firing notification (counted only with `send_resolved`; without it the receiver
/// gets nothing). A flush that finds the alert resolved removes it, which deletes the group; an alert
/// that resolves before its first flush is never notified, and one that resolves and fires again
/// between two flushes is not notified again.
pub fn alertmanager_notifications(
    episodes: &[Episode],
    horizon: i64,
    cfg: &AlertmanagerConfig,
) -> usize {
    let mut count = 0;
    let mut next_episode = 0;
    while next_episode < episodes.len() {
        let mut flush = episodes[next_episode].start + cfg.group_wait_ms;
        let mut last_notified: Option<(i64, bool)> = None; // (time, alert was firing)
        while flush <= horizon {
            // Episodes are sorted: skip those over by now, then see whether one covers `flush`.
            while next_episode < episodes.len()
                && episodes[next_episode].end.is_some_and(|end| end <= flush)
            {
                next_episode += 1;
            }
            let firing = episodes.get(next_episode).is_some_and(|e| e.start <= flush);
            let notify = match (last_notified, firing) {
                (None, true) | (Some((_, false)), true) => true,
                (Some((at, true)), true) => flush - at >= cfg.repeat_interval_ms,
                (Some((_, true)), false) => {
                    last_notified = Some((flush, false));
                    count += cfg.send_resolved as usize;
                    false
                }
                (_, false) => false,
            };
            if notify {
                count += 1;
                last_notified = Some((flush, true));
            }
            if !firing {
                break; // the resolved alert leaves the group and the empty group is deleted
            }
            flush += cfg.group_interval_ms;
        }
        if flush > horizon {
            break;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = MINUTE_MS;
    const H: i64 = 100 * 24 * HOUR_MS;

    fn ep(start_m: i64, end_m: Option<i64>) -> Episode {
        Episode {
            start: start_m * M,
            end: end_m.map(|e| e * M),
        }
    }

    #[test]
    fn first_notification_then_resolved() {
        let cfg = AlertmanagerConfig::default();
        // fires 0..20m: notified at 30s, resolved flush at 30s+5m*4 = 20m30s.
        assert_eq!(alertmanager_notifications(&[ep(0, Some(20))], H, &cfg), 2);
        assert_eq!(
            alertmanager_notifications(
                &[ep(0, Some(20))],
                H,
                &AlertmanagerConfig {
                    send_resolved: false,
                    ..cfg
                }
            ),
            1
        );
    }

    #[test]
    fn an_alert_resolved_before_group_wait_is_never_sent() {
        let cfg = AlertmanagerConfig {
            group_wait_ms: 2 * M,
            ..AlertmanagerConfig::default()
        };
        assert_eq!(alertmanager_notifications(&[ep(0, Some(1))], H, &cfg), 0);
    }

    #[test]
    fn repeats_every_repeat_interval_while_firing() {
        let cfg = AlertmanagerConfig::default();
        // 0..10h firing: first at 0:00:30, repeats at 4:00:30 and 8:00:30, resolved at 10:00:30.
        assert_eq!(alertmanager_notifications(&[ep(0, Some(600))], H, &cfg), 4);
    }

    #[test]
    fn refiring_within_a_group_interval_is_not_a_new_notification() {
        let cfg = AlertmanagerConfig::default();
        // fires 0..2m and 3m..9m: flushes at 0:30 (notify), 5:30 (still firing, nothing), 10:30 (resolved).
        assert_eq!(
            alertmanager_notifications(&[ep(0, Some(2)), ep(3, Some(9))], H, &cfg),
            2
        );
    }

    #[test]
    fn an_open_episode_repeats_until_the_horizon_and_a_new_group_waits_again() {
        let cfg = AlertmanagerConfig::default();
        assert_eq!(
            alertmanager_notifications(&[ep(0, None)], 5 * 60 * M, &cfg),
            2
        );
        // two episodes far apart: two groups, each notified and resolved.
        assert_eq!(
            alertmanager_notifications(&[ep(0, Some(10)), ep(120, Some(130))], H, &cfg),
            4
        );
    }

    #[test]
    fn cloudwatch_counts_transitions_with_actions() {
        let t = |to| Transition { at: 0, to };
        let transitions = [
            t("OK"),
            t("ALARM"),
            t("OK"),
            t("INSUFFICIENT_DATA"),
            t("ALARM"),
        ];
        assert_eq!(
            cloudwatch_notifications(&transitions, &CloudWatchActions::default()),
            4
        );
        assert_eq!(
            cloudwatch_notifications(
                &transitions,
                &CloudWatchActions {
                    ok: false,
                    ..CloudWatchActions::default()
                }
            ),
            2
        );
    }
}
