//! A refit's training data: the real points of `[boundary − training, boundary)` with their bin in
//! every seasonality, the buffers a series' refits reuse, and the per-bin medians a refit can keep.

use super::robust::Scratch;
use super::Seasonality;

/// The bin of every timestamp of `ts` (sorted), per seasonality (indexed like
/// [`Seasonality::ALL`]).
pub(super) fn bins_per_seasonality(ts: &[i64], period_ms: i64) -> Vec<Vec<u32>> {
    Seasonality::ALL
        .iter()
        .map(|s| {
            let n = s.bins(period_ms);
            s.sorted_bins(ts, n).map(|b| b as u32).collect()
        })
        .collect()
}

/// The training data of one refit: NaN-free points and their precomputed bins.
pub(super) struct Window<'a> {
    pub(super) ts: &'a [i64],
    pub(super) vs: &'a [f64],
    /// Bins of every real point of the series, per seasonality (indexed like `Seasonality::ALL`).
    pub(super) bins: &'a [Vec<u32>],
    pub(super) offset: usize,
    pub(super) len: usize,
    /// The refit boundary (end of the training window).
    pub(super) end_ms: i64,
}

impl<'a> Window<'a> {
    /// The real points `(ts, vs)` (with their `bins`, per seasonality) in `[from_ms, end_ms)`.
    pub(super) fn between(
        ts: &'a [i64],
        vs: &'a [f64],
        bins: &'a [Vec<u32>],
        from_ms: i64,
        end_ms: i64,
    ) -> Window<'a> {
        let start = ts.partition_point(|&t| t < from_ms);
        let stop = ts.partition_point(|&t| t < end_ms);
        Window {
            ts: &ts[start..stop],
            vs: &vs[start..stop],
            bins,
            offset: start,
            len: stop - start,
            end_ms,
        }
    }

    pub(super) fn bins_of(&self, season: Seasonality) -> &[u32] {
        &self.series_bins(season)[self.offset..self.offset + self.len]
    }

    /// The bins of every real point of the series (not only this window's).
    pub(super) fn series_bins(&self, season: Seasonality) -> &[u32] {
        &self.bins[season.index()]
    }
}

/// Reused buffers, so refits allocate once per series.
#[derive(Default)]
pub(super) struct Workspace {
    /// Last detection: seasonality chosen, when, among how many available ones.
    pub(super) detected: Option<(Seasonality, i64, usize)>,
    pub(super) counts: Vec<usize>,
    pub(super) grouped: Vec<f64>,
    pub(super) scratch: Scratch,
    /// Per seasonality ([`Seasonality::index`]), the last fit's per-bin medians.
    pub(super) medians: [Option<BinMedians>; 4],
}

/// The per-bin medians of one fit, over the real points `[start, stop)` of the series. A refit 12
/// hours later drops and adds the points of half a day: at 1-minute data the other half of the
/// daily bins, and most weekly ones, hold exactly the same points, so their medians are the same.
pub(super) struct BinMedians {
    pub(super) start: usize,
    pub(super) stop: usize,
    /// NaN for a bin that had no point.
    pub(super) medians: Vec<f64>,
}

impl BinMedians {
    /// Which bins hold the same points over `window` as over this fit's span: those no point
    /// dropped or added has. `None` when the window's start or end moved back.
    pub(super) fn unchanged(
        &self,
        window: &Window,
        bins: &[u32],
        count: usize,
    ) -> Option<Vec<bool>> {
        let (start, stop) = (window.offset, window.offset + window.len);
        if self.medians.len() != count || start < self.start || stop < self.stop {
            return None;
        }
        let mut same = vec![true; count];
        let dropped = self.start..start.min(self.stop);
        let added = self.stop.max(start)..stop;
        for &b in bins[dropped].iter().chain(&bins[added]) {
            same[b as usize] = false;
        }
        // (When the spans do not overlap, every point of either is dropped or added.)
        Some(same)
    }
}

/// Maximal runs of equal bins, as (bin, from, to) over positions `[from, to)`.
pub(super) fn bin_runs(bins: &[u32]) -> impl Iterator<Item = (usize, usize, usize)> + Clone + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let &bin = bins.get(from)?;
        let to = from + bins[from..].iter().take_while(|b| **b == bin).count();
        let run = (bin as usize, from, to);
        from = to;
        Some(run)
    })
}
