//! Where an injected anomaly can still go once random tries found no room: every start, on the
//! series' samples, whose anomaly keeps a gap from each labelled window and each anomaly already
//! placed. Computed exactly, so a history with room left never reports an anomaly as unplaced
//! because the tries happened to miss the room.

use crate::rng::Rng;

/// Whether an anomaly over `[start, start + len]` comes within `gap` of `[a, b]`: the one rule
/// both the random tries and [`free_starts`] place by.
pub fn too_close(start: i64, len: i64, gap: i64, (a, b): (i64, i64)) -> bool {
    start <= b + gap && start + len + gap >= a
}

/// The starts in `[lo, hi]` on the grid `origin + k·step` that are not [`too_close`] to any of
/// `busy`, as inclusive ranges in time order.
pub fn free_starts(
    (lo, hi): (i64, i64),
    len: i64,
    gap: i64,
    busy: impl Iterator<Item = (i64, i64)>,
    (origin, step): (i64, i64),
) -> Vec<(i64, i64)> {
    // [`too_close`] holds exactly for starts in `[a − len − gap, b + gap]`.
    let mut blocked: Vec<(i64, i64)> = busy
        .map(|(a, b)| (a.saturating_sub(len + gap), b.saturating_add(gap)))
        .collect();
    blocked.sort_unstable();
    let down = |t: i64| origin + (t - origin).div_euclid(step) * step;
    let up = |t: i64| down(t.saturating_add(step - 1));
    let mut free = Vec::new();
    let mut keep = |from: i64, to: i64| {
        let (from, to) = (up(from), down(to));
        if from <= to {
            free.push((from, to));
        }
    };
    let mut cursor = lo;
    for (from, to) in blocked {
        if cursor > hi {
            break;
        }
        if from > cursor {
            keep(cursor, (from - 1).min(hi));
        }
        cursor = cursor.max(to.saturating_add(1));
    }
    if cursor <= hi {
        keep(cursor, hi);
    }
    free
}

/// One start drawn uniformly from `free` (ranges of starts `step` apart), or `None` when there is
/// none.
pub fn pick(free: &[(i64, i64)], step: i64, rng: &mut Rng) -> Option<i64> {
    let count = |(from, to): &(i64, i64)| (to - from) / step + 1;
    let total: i64 = free.iter().map(count).sum();
    if total == 0 {
        return None;
    }
    let mut k = rng.int(0, total - 1);
    for range in free {
        let n = count(range);
        if k < n {
            return Some(range.0 + k * step);
        }
        k -= n;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_starts_are_the_grid_points_that_keep_the_gap() {
        let busy = [(100, 110), (300, 320)];
        let (len, gap) = (20, 15);
        let free = free_starts((0, 500), len, gap, busy.into_iter(), (0, 10));
        // Blocked: [65, 125] and [265, 335]; on a grid of 10 from 0.
        assert_eq!(free, [(0, 60), (130, 260), (340, 500)]);
        // Every grid point is in `free` exactly when it is not too close to any busy span.
        for s in (0..=500).step_by(10) {
            let inside = free.iter().any(|(a, b)| (*a..=*b).contains(&s));
            let close = busy.iter().any(|b| too_close(s, len, gap, *b));
            assert_eq!(inside, !close, "{s}");
        }
    }

    #[test]
    fn nothing_free_when_busy_covers_the_range_or_the_grid_misses_it() {
        let none = free_starts((0, 100), 5, 5, [(0, 100)].into_iter(), (0, 1));
        assert!(none.is_empty());
        // Free times 41..=49 hold no point of a grid 50 apart starting at 0.
        let off_grid = free_starts((41, 49), 1, 0, std::iter::empty(), (0, 50));
        assert!(off_grid.is_empty());
        assert_eq!(pick(&off_grid, 50, &mut Rng::new(1)), None);
    }

    #[test]
    fn picks_are_free_and_reach_every_range() {
        let free = [(0, 20), (100, 100), (200, 240)];
        let mut rng = Rng::new(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let s = pick(&free, 10, &mut rng).unwrap();
            assert!(free.iter().any(|(a, b)| (*a..=*b).contains(&s)), "{s}");
            seen.insert(s);
        }
        assert_eq!(seen.len(), 3 + 1 + 5);
    }
}
