//! Checks of numeric flags before anything is computed or allocated from them: every size that
//! comes from the command line is validated against the systems' own limits or a named bound, so a
//! typo or a hostile value is a clear error (exit 2) naming the flag, never an allocator abort.

use super::UsageError;

/// Most points (series × points per series) a command generates in memory.
pub const MAX_GENERATED_POINTS: u64 = 200_000_000;

/// Most points `synth` writes in the long layout, a slice of series at a time (memory stays at one
/// slice; the bound is the disk: about 20 bytes a point in Parquet, 45 in CSV).
pub const MAX_STREAMED_POINTS: u64 = 10_000_000_000;

/// A CloudWatch period in seconds: 10, 20, 30 or a multiple of 60, at most one day (alarms over
/// longer periods do not exist).
pub fn cloudwatch_period(flag: &str, seconds: i64) -> Result<i64, UsageError> {
    if crate::spec::is_cloudwatch_period(seconds) && seconds <= 86_400 {
        Ok(seconds)
    } else {
        Err(UsageError(format!(
            "`{flag} {seconds}`: a CloudWatch period is 10, 20, 30 or a multiple of 60 seconds, at most 86400"
        )))
    }
}

/// A finite number in `[min, max]`.
pub fn number_in(flag: &str, value: f64, min: f64, max: f64) -> Result<f64, UsageError> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(UsageError(format!(
            "`{flag} {value}`: expected a number from {min} to {max}"
        )))
    }
}

/// A whole number in `[min, max]`.
pub fn count_in(flag: &str, value: i64, min: i64, max: i64) -> Result<i64, UsageError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(UsageError(format!(
            "`{flag} {value}`: expected a whole number from {min} to {max}"
        )))
    }
}

/// `series × points` generated in memory, bounded by [`MAX_GENERATED_POINTS`].
pub fn generated_points(series: u64, points: u64) -> Result<u64, UsageError> {
    points_within(series, points, MAX_GENERATED_POINTS, "generates in memory")
}

/// `series × points` written a slice at a time, bounded by [`MAX_STREAMED_POINTS`].
pub fn streamed_points(series: u64, points: u64) -> Result<u64, UsageError> {
    points_within(series, points, MAX_STREAMED_POINTS, "writes")
}

fn points_within(series: u64, points: u64, max: u64, what: &str) -> Result<u64, UsageError> {
    match series.checked_mul(points) {
        Some(n) if n <= max => Ok(n),
        _ => Err(UsageError(format!(
            "{series} series × {points} points is more than the {max} points alertlab {what}\nhint: use fewer series or a shorter span"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(cloudwatch_period("--period", 0).is_err());
        assert!(cloudwatch_period("--period", -60).is_err());
        assert!(cloudwatch_period("--period", 45).is_err());
        assert!(cloudwatch_period("--period", i64::MAX).is_err());
        assert_eq!(cloudwatch_period("--period", 300).unwrap(), 300);
        assert!(number_in("--p", f64::NAN, 0.0, 100.0).is_err());
        assert!(number_in("--p", 150.0, 0.0, 100.0).is_err());
        assert!(generated_points(1_000_000_000, 20_160).is_err());
        assert!(generated_points(u64::MAX, 2).is_err());
    }
}
