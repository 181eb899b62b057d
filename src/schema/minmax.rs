//! Min-max bounds of continuous values. A "feature" is the last axis for `(N, D)` and
//! `(N, T, F)` data (and so each column of an `(N, H, W)` image) and the channel for
//! `(N, C, H, W)` images; the bounds come back expanded to one pair per flattened value.

use crate::data::Array;

/// `(low, high)` per flattened value of a sample; NaN values are skipped, and a feature with no
/// other values gets `(0, 0)`.
pub fn bounds(data: &Array) -> Vec<(f32, f32)> {
    let sample_shape = data.sample_shape();
    let width: usize = sample_shape.iter().product();
    let group_of = |j: usize| {
        if sample_shape.len() == 3 {
            j / (sample_shape[1] * sample_shape[2])
        } else {
            j % sample_shape.last().copied().unwrap_or(1)
        }
    };
    let groups = (0..width).map(group_of).max().map_or(0, |g| g + 1);
    let mut low = vec![f32::INFINITY; groups];
    let mut high = vec![f32::NEG_INFINITY; groups];
    for row in data.values.chunks(width.max(1)) {
        for (j, &v) in row.iter().enumerate() {
            let g = group_of(j);
            // min/max skip NaN.
            low[g] = low[g].min(v);
            high[g] = high[g].max(v);
        }
    }
    (0..width)
        .map(|j| {
            let g = group_of(j);
            if low[g] <= high[g] {
                (low[g], high[g])
            } else {
                (0.0, 0.0)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_column_and_per_channel() {
        let table = Array::new(vec![0.0, 10.0, f32::NAN, 2.0, 30.0, f32::NAN], vec![2, 3]).unwrap();
        assert_eq!(bounds(&table), vec![(0.0, 2.0), (10.0, 30.0), (0.0, 0.0)]);
        // (N=1, C=2, H=1, W=2): channel 0 spans 0..3, channel 1 spans 10..20.
        let image = Array::new(vec![0.0, 3.0, 10.0, 20.0], vec![1, 2, 1, 2]).unwrap();
        assert_eq!(
            bounds(&image),
            vec![(0.0, 3.0), (0.0, 3.0), (10.0, 20.0), (10.0, 20.0)]
        );
    }
}
