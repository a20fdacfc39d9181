//! Histogram binning.
//!
//! The bin count is the larger of Sturges' rule (good for small, roughly normal samples) and the
//! Freedman–Diaconis rule (robust to outliers, better for large samples), as NumPy's `bins="auto"` does, capped
//! so bars stay wider than a few pixels. Whole-number columns with a small span get one bin per value instead,
//! since bins straddling integers would misrepresent discrete data.

use super::numeric::quantile;

/// Most bins a histogram gets.
pub(crate) const MAX_BINS: usize = 50;
/// Integer columns spanning at most this many values get one bin per value.
const MAX_UNIT_BINS: f64 = 30.0;

/// One bar of a histogram: values in `[start, end)` (the last bin also includes its end).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bin {
    pub(crate) start: f64,
    pub(crate) end: f64,
    pub(crate) count: usize,
}

/// Bins the sorted, finite values; empty for no values.
pub(crate) fn histogram(sorted: &[f64], integer: bool) -> Vec<Bin> {
    let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
        return Vec::new();
    };
    if integer && max - min < MAX_UNIT_BINS {
        return unit_bins(sorted, min, max);
    }
    if min == max {
        let half = if min == 0.0 { 0.5 } else { min.abs() * 0.05 };
        return vec![Bin { start: min - half, end: max + half, count: sorted.len() }];
    }
    let bins = bin_count(sorted, min, max);
    let mut counts = vec![0usize; bins];
    for &value in sorted {
        counts[bin_index(value, min, max, bins)] += 1;
    }
    let edge = |i: usize| lerp(min, max, i as f64 / bins as f64);
    counts.into_iter().enumerate().map(|(i, count)| Bin { start: edge(i), end: edge(i + 1), count }).collect()
}

/// One bin per whole number from `min` to `max`, centred on it.
fn unit_bins(sorted: &[f64], min: f64, max: f64) -> Vec<Bin> {
    let bins = (max - min) as usize + 1;
    let mut counts = vec![0usize; bins];
    for &value in sorted {
        counts[((value - min) as usize).min(bins - 1)] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| {
            let center = min + i as f64;
            Bin { start: center - 0.5, end: center + 0.5, count }
        })
        .collect()
}

fn bin_count(sorted: &[f64], min: f64, max: f64) -> usize {
    let n = sorted.len() as f64;
    let sturges = n.log2().ceil() as usize + 1;
    let iqr = match (quantile(sorted, 0.75), quantile(sorted, 0.25)) {
        (Some(upper), Some(lower)) => upper - lower,
        _ => 0.0,
    };
    let freedman_diaconis = if iqr > 0.0 {
        let width = 2.0 * iqr / n.cbrt();
        // Halves keep `max - min` finite for values near ±f64::MAX.
        ((max / 2.0 - min / 2.0) / (width / 2.0)).ceil().min(MAX_BINS as f64) as usize
    } else {
        0
    };
    sturges.max(freedman_diaconis).clamp(1, MAX_BINS)
}

/// The bin holding `value`, computed on halves so the span cannot overflow.
fn bin_index(value: f64, min: f64, max: f64, bins: usize) -> usize {
    let position = (value / 2.0 - min / 2.0) / (max / 2.0 - min / 2.0);
    ((position * bins as f64) as usize).min(bins - 1)
}

/// `a + (b − a)·t` without overflow.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    if t >= 1.0 { b } else { a * (1.0 - t) + b * t }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(bins: &[Bin]) -> Vec<usize> {
        bins.iter().map(|bin| bin.count).collect()
    }

    #[test]
    fn small_integer_spans_get_one_bin_per_value() {
        let bins = histogram(&[1.0, 2.0, 2.0, 4.0], true);
        assert_eq!(counts(&bins), [1, 2, 0, 1]);
        assert_eq!((bins[0].start, bins[3].end), (0.5, 4.5));
    }

    #[test]
    fn a_single_value_gets_one_bin_around_it() {
        assert_eq!(histogram(&[], false), []);
        let bins = histogram(&[10.0, 10.0], false);
        assert_eq!(bins, [Bin { start: 9.5, end: 10.5, count: 2 }]);
    }

    #[test]
    fn sturges_for_small_samples() {
        // n = 8: Sturges gives ⌈log2 8⌉ + 1 = 4 bins; Freedman–Diaconis (IQR 4, width 2·4/∛8 = 4) only 2.
        let values: Vec<f64> = (0..8).map(|i| f64::from(i) * 8.0 / 7.0).collect();
        let bins = histogram(&values, false);
        assert_eq!(bins.len(), 4);
        assert_eq!(counts(&bins), [2, 2, 2, 2]);
        assert_eq!(bins.iter().map(|bin| bin.count).sum::<usize>(), 8);
        assert_eq!(bins[3].end, 8.0);
    }

    #[test]
    fn bin_counts_are_bounded_and_cover_every_value() {
        let values: Vec<f64> = (0..100_000).map(|i| f64::from(i).sqrt()).collect();
        let bins = histogram(&values, false);
        assert!(bins.len() <= MAX_BINS && bins.len() > 17, "{}", bins.len());
        assert_eq!(bins.iter().map(|bin| bin.count).sum::<usize>(), values.len());
        let extreme = histogram(&[-f64::MAX, 0.0, f64::MAX], false);
        assert_eq!(counts(&extreme).iter().sum::<usize>(), 3);
        assert!(extreme.iter().all(|bin| bin.start.is_finite() && bin.end.is_finite()));
    }
}
