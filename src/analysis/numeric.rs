//! Descriptive statistics over finite `f64`s, exact where `f64` allows and defined for every input.
//!
//! Naive formulas fail quietly on real data: a running sum overflows to infinity for values near `f64::MAX`, and
//! large sums lose small terms. The mean uses a compensated (Neumaier) sum with an overflow fallback; the standard
//! deviation uses the two-pass formula and rescales by an exact power of two when squares would overflow.

/// Arithmetic mean; `None` for no values.
pub(crate) fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let total = compensated_sum(values.iter().copied());
    if total.is_finite() {
        return Some(total / n);
    }
    // The sum overflowed although every value is finite: divide first.
    Some(compensated_sum(values.iter().map(|value| value / n)))
}

/// Median of sorted values: the middle one, or the average of the two middle ones for an even count.
pub(crate) fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(midpoint(sorted[n / 2 - 1], sorted[n / 2])),
    }
}

/// Sample standard deviation (divisor n − 1); `None` for fewer than two values or when it exceeds `f64::MAX`.
pub(crate) fn sample_stddev(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let divisor = (values.len() - 1) as f64;
    let plain = sum_of_squared_deviations(values, 1.0)?;
    if plain.is_finite() {
        return Some((plain / divisor).sqrt());
    }
    // Deviations or their squares overflowed. Scaling by 2^-600 is exact for large values (small ones may lose
    // precision but are negligible next to values this large) and keeps n·(2·max)² finite.
    let scale = 2f64.powi(-600);
    let scaled = sum_of_squared_deviations(values, scale)?;
    let stddev = (scaled / divisor).sqrt() / scale;
    stddev.is_finite().then_some(stddev)
}

/// Quantile of sorted values by linear interpolation between closest ranks (R's type 7, NumPy's default).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q.clamp(0.0, 1.0) * last as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(last);
    let fraction = position - below as f64;
    Some(sorted[below] + fraction * (sorted[above] - sorted[below]))
}

/// Σ (x·scale − mean)², the two-pass way.
fn sum_of_squared_deviations(values: &[f64], scale: f64) -> Option<f64> {
    let values: Vec<f64> = values.iter().map(|value| value * scale).collect();
    let center = mean(&values)?;
    Some(compensated_sum(values.iter().map(|value| (value - center).powi(2))))
}

/// (a + b) / 2 without overflow, exact whenever a + b is representable.
fn midpoint(a: f64, b: f64) -> f64 {
    let sum = a + b;
    if sum.is_finite() { sum / 2.0 } else { a / 2.0 + b / 2.0 }
}

/// Neumaier's improved Kahan summation.
fn compensated_sum(values: impl Iterator<Item = f64>) -> f64 {
    let mut sum = 0.0_f64;
    let mut compensation = 0.0_f64;
    for value in values {
        let next = sum + value;
        compensation += if sum.abs() >= value.abs() { (sum - next) + value } else { (value - next) + sum };
        sum = next;
    }
    sum + compensation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_median() {
        assert_eq!(mean(&[]), None);
        assert_eq!(mean(&[1.0, 2.0, 3.0, 4.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, 3.0, 10.0]), Some(3.0));
        assert_eq!(median(&[1.0, 3.0, 10.0, 20.0]), Some(6.5));
        assert_eq!(median(&[7.0]), Some(7.0));
    }

    #[test]
    fn sample_stddev_uses_n_minus_one() {
        assert_eq!(sample_stddev(&[5.0]), None);
        assert_eq!(sample_stddev(&[3.0, 3.0, 3.0]), Some(0.0));
        // Deviations from 5: -3, -1, -1, -1, 0, 0, 2, 4 → squares sum to 32, and 32 / 7.
        let stddev = sample_stddev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).expect("eight values");
        assert!((stddev - (32.0_f64 / 7.0).sqrt()).abs() < 1e-12, "{stddev}");
    }

    #[test]
    fn extreme_values_stay_finite() {
        let big = f64::MAX;
        assert_eq!(mean(&[big, big]), Some(big));
        assert_eq!(median(&[big, big]), Some(big));
        let stddev = sample_stddev(&[big / 2.0, -big / 2.0]).expect("finite");
        assert!((stddev / (big / 2.0f64.sqrt()) - 1.0).abs() < 1e-12, "{stddev}");
        assert_eq!(sample_stddev(&[big, -big]), None, "exceeds f64::MAX");
    }

    #[test]
    fn compensated_sum_keeps_small_terms() {
        assert_eq!(compensated_sum([1e16, 1.0, -1e16].into_iter()), 1.0);
    }

    #[test]
    fn quantiles_interpolate() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&sorted, 0.25), Some(1.75));
        assert_eq!(quantile(&sorted, 0.75), Some(3.25));
        assert_eq!(quantile(&sorted, 1.0), Some(4.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
