//! How many samples of which class `augment` generates: the oversampling strategies of
//! imbalanced-learn's `sampling_strategy`, with exact counts.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Top every class present up to the majority class's count.
    Balance,
    /// Final count per class; classes left out keep their count.
    Counts(BTreeMap<i64, usize>),
    /// `n` new samples shared among the present classes in proportion to their counts.
    Proportional(usize),
}

fn class_counts(labels: &[i64]) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    for &label in labels {
        *counts.entry(label).or_insert(0) += 1;
    }
    counts
}

/// The labels of the samples to generate, grouped by class in ascending order.
/// `known` are the classes the model was fitted on.
pub fn labels_to_generate(labels: &[i64], known: &[i64], strategy: &Strategy) -> Result<Vec<i64>> {
    let unknown = |class: &i64| !known.contains(class);
    if let Some(class) = labels.iter().find(|c| unknown(c)) {
        return Err(Error::Label(format!(
            "unknown class {class} in labels: the model knows the classes {known:?}"
        )));
    }
    let counts = class_counts(labels);
    let wanted: Vec<(i64, usize)> = match strategy {
        Strategy::Balance => {
            let majority = counts.values().copied().max().unwrap_or(0);
            counts
                .iter()
                .map(|(&class, &count)| (class, majority - count))
                .collect()
        }
        Strategy::Counts(targets) => {
            let mut wanted = Vec::new();
            for (&class, &target) in targets {
                if unknown(&class) {
                    return Err(Error::Label(format!(
                        "unknown class {class} in strategy: the model knows the classes {known:?}"
                    )));
                }
                let have = counts.get(&class).copied().unwrap_or(0);
                if target < have {
                    return Err(Error::Parameter(format!(
                        "strategy asks for {target} samples of class {class}, but the batch already has {have}; augment only adds samples"
                    )));
                }
                wanted.push((class, target - have));
            }
            wanted
        }
        Strategy::Proportional(n) => apportion(*n, &counts),
    };
    Ok(wanted
        .into_iter()
        .flat_map(|(class, k)| std::iter::repeat_n(class, k))
        .collect())
}

/// Splits `n` in proportion to `counts` by largest remainder (ties to the smaller class label).
fn apportion(n: usize, counts: &BTreeMap<i64, usize>) -> Vec<(i64, usize)> {
    let total: usize = counts.values().sum();
    if total == 0 {
        return Vec::new();
    }
    let mut shares: Vec<(i64, usize, usize)> = counts
        .iter()
        .map(|(&class, &count)| (class, n * count / total, (n * count) % total))
        .collect();
    let mut left = n - shares.iter().map(|s| s.1).sum::<usize>();
    let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
    by_remainder.sort_by(|&a, &b| shares[b].2.cmp(&shares[a].2).then(a.cmp(&b)));
    for i in by_remainder {
        if left == 0 {
            break;
        }
        shares[i].1 += 1;
        left -= 1;
    }
    shares.into_iter().map(|(class, k, _)| (class, k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_tops_up_to_the_majority() {
        let out = labels_to_generate(&[0, 0, 0, 1, 2, 2], &[0, 1, 2], &Strategy::Balance).unwrap();
        assert_eq!(out, vec![1, 1, 2]);
    }

    #[test]
    fn counts_set_final_sizes() {
        let targets = BTreeMap::from([(1, 4), (0, 3)]);
        let out = labels_to_generate(&[0, 0, 0, 1], &[0, 1], &Strategy::Counts(targets)).unwrap();
        assert_eq!(out, vec![1, 1, 1]);
        let too_few = BTreeMap::from([(0, 1)]);
        assert!(matches!(
            labels_to_generate(&[0, 0], &[0], &Strategy::Counts(too_few)),
            Err(Error::Parameter(_))
        ));
        let unknown = BTreeMap::from([(9, 1)]);
        assert!(matches!(
            labels_to_generate(&[0], &[0], &Strategy::Counts(unknown)),
            Err(Error::Label(_))
        ));
    }

    #[test]
    fn proportional_is_exact() {
        let out = labels_to_generate(&[0, 0, 0, 1], &[0, 1], &Strategy::Proportional(5)).unwrap();
        assert_eq!(out.len(), 5);
        assert_eq!(out.iter().filter(|&&c| c == 0).count(), 4);
    }

    #[test]
    fn unknown_labels_are_rejected() {
        assert!(matches!(
            labels_to_generate(&[5], &[0, 1], &Strategy::Balance),
            Err(Error::Label(_))
        ));
    }
}
