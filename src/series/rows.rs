//! Row numbers as times (`--row-step`). Some labelled datasets number their rows instead of
//! stamping them — Yahoo's S5 A1 set heads a column `timestamp` and fills it with 1, 2, 3, … an
//! hour apart. Read as epoch seconds those put a series in the first minutes of 1970, in its
//! warm-up, with a step of a second; given the step the user knows, row `n` is read as
//! 2000-01-01T00:00:00Z + `n` × step, a real span at the real step.

use std::path::Path;

use super::time::{format_rfc3339, in_range};
use super::{LoadError, Series};
use crate::score::Incident;

/// Where row 0 falls: 2000-01-01T00:00:00Z. Times read before it (what row numbers give, as
/// seconds since 1970) are the ones `--row-step` converts.
pub const ROW_ZERO_MS: i64 = 946_684_800_000;

/// The time of row `n`, given as what the loader read for it (`n` epoch seconds, `n` × 1000 ms),
/// `step_ms` apart; `None` when `read_ms` is no row number (a real time, a fraction of a second).
pub fn row_time(read_ms: i64, step_ms: i64) -> Option<i64> {
    if !(0..ROW_ZERO_MS).contains(&read_ms) || read_ms % 1000 != 0 {
        return None;
    }
    let ms = (read_ms / 1000)
        .checked_mul(step_ms)?
        .checked_add(ROW_ZERO_MS)?;
    in_range(ms).then_some(ms)
}

/// The series of the file at `path`, whose time column holds row numbers `step_ms` apart, at the
/// times of their rows; a time that is no row number is an error naming file, series and time.
pub fn rows_as_times(
    path: &Path,
    series: &[Series],
    step_ms: i64,
) -> Result<Vec<Series>, LoadError> {
    series
        .iter()
        .map(|s| {
            let timestamps = s
                .timestamps
                .iter()
                .map(|&t| {
                    row_time(t, step_ms).ok_or_else(|| LoadError::NotRowNumbers {
                        path: path.to_path_buf(),
                        series: s.name.clone(),
                        time: format_rfc3339(t),
                    })
                })
                .collect::<Result<Vec<i64>, _>>()?;
            // Row numbers map in order, so the series stays sorted and duplicate-free.
            Ok(Series {
                timestamps,
                ..s.clone()
            })
        })
        .collect()
}

/// [`super::load`], then, with a `step_ms`, [`rows_as_times`]: what the commands that read one
/// metric file (`inspect`, `band`, `inject`) do with `--row-step`.
pub fn load_at_row_step(
    path: &Path,
    format: Option<super::Format>,
    step_ms: Option<i64>,
) -> Result<Vec<Series>, LoadError> {
    let loaded = super::load(path, format)?;
    match step_ms {
        Some(step) => rows_as_times(path, &loaded, step),
        None => Ok(loaded),
    }
}

/// An incident labelled by row numbers (a run of flagged rows of such a file) at the times of its
/// rows; one with real times (a windows file beside the data) is left as it is.
pub fn incident_at_row_times(incident: &Incident, step_ms: i64) -> Incident {
    match (
        row_time(incident.start, step_ms),
        row_time(incident.end, step_ms),
    ) {
        (Some(start), Some(end)) => Incident {
            start,
            end,
            ..*incident
        },
        _ => *incident,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn row_numbers_become_times_a_step_apart_from_2000() {
        assert_eq!(row_time(0, HOUR), Some(ROW_ZERO_MS));
        assert_eq!(row_time(1420 * 1000, HOUR), Some(ROW_ZERO_MS + 1420 * HOUR));
        // A real time, a fraction of a second, a negative number: no row numbers.
        assert_eq!(row_time(1_397_114_100_000, HOUR), None);
        assert_eq!(row_time(1500, HOUR), None);
        assert_eq!(row_time(-1000, HOUR), None);
        // Too many steps to be a time.
        assert_eq!(row_time(900_000_000_000, 86_400_000 * 365), None);
    }

    #[test]
    fn a_series_keeps_its_values_and_a_real_time_is_refused() {
        let path = Path::new("a1.csv");
        let rows = Series::from_sorted("a", vec![1000, 2000, 3000], vec![1.0, 2.0, 3.0]);
        let converted = rows_as_times(path, std::slice::from_ref(&rows), HOUR).unwrap();
        assert_eq!(
            converted[0].timestamps,
            [1, 2, 3].map(|n| ROW_ZERO_MS + n * HOUR)
        );
        assert_eq!(converted[0].values, rows.values);
        let real = Series::from_sorted("b", vec![1_397_114_100_000], vec![1.0]);
        let err = rows_as_times(path, &[rows, real], HOUR)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("`a1.csv`: series `b` has a time, 2014-04-10T07:15:00Z, where"),
            "{err}"
        );
    }

    #[test]
    fn flagged_rows_move_with_their_rows_and_real_windows_stay() {
        let flagged = Incident {
            points: true,
            ..Incident::window(5000, 7000)
        };
        let moved = incident_at_row_times(&flagged, HOUR);
        assert_eq!(
            (moved.start, moved.end, moved.points),
            (ROW_ZERO_MS + 5 * HOUR, ROW_ZERO_MS + 7 * HOUR, true)
        );
        let real = Incident::window(1_397_114_100_000, 1_397_117_700_000);
        assert_eq!(incident_at_row_times(&real, HOUR), real);
    }
}
