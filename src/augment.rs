//! `augment`: how many samples of which class to generate (the oversampling strategies of
//! imbalanced-learn's `sampling_strategy`, with exact counts), and the augmented batch: the
//! caller's rows followed by the generated ones, written in bounded chunks.

use crate::data::{Array, DataSpec};
use crate::error::{Error, Result};
use crate::limits::check_array;
use crate::model::{Model, Network, SampleLabels};
use std::collections::BTreeMap;

/// Where generated rows are written: `begin` is told the total rows (with the data spec of
/// the training data) once every argument has passed its checks, then each chunk of generated
/// rows arrives with the index of its first generated row.
pub trait Sink {
    /// Bytes per value of the output for training data of `spec`.
    fn item_bytes(&mut self, spec: &DataSpec) -> Result<usize>;
    fn begin(&mut self, rows: usize, spec: &DataSpec) -> Result<()>;
    fn write(&mut self, first: usize, chunk: Array) -> Result<()>;
}

/// Checks that `rows` rows of data like `spec`, in the sink's dtype, fit in memory, then
/// tells the sink to begin.
pub fn open(sink: &mut dyn Sink, rows: usize, spec: &DataSpec, what: &str) -> Result<()> {
    let item_bytes = sink.item_bytes(spec)?;
    check_array(rows as u128, spec.width() as u128, item_bytes as u128, what)?;
    sink.begin(rows, spec)
}

/// What to add to a batch.
pub enum Request<'a> {
    /// `n` rows from an unconditional model.
    Rows(usize),
    /// Rows of the classes the strategy asks for, given the batch's labels.
    Labelled {
        labels: &'a [i64],
        strategy: Strategy,
    },
}

/// Extends `batch` as `request` asks: `sink` gets the total row count (the batch's rows, which
/// the caller writes itself, then the generated ones), then the generated rows in chunks.
/// Returns the augmented labels (the batch's, then the generated rows') for a labelled
/// request. Every size is checked before anything of that size is allocated.
pub fn augment<N: Network>(
    model: &mut Model<N>,
    batch: &Array,
    request: Request<'_>,
    seed: Option<u64>,
    sink: &mut dyn Sink,
) -> Result<Option<Vec<i64>>> {
    model.check_rows(batch, "batch")?;
    let (new, labels) = match &request {
        Request::Rows(n) => (*n, None),
        Request::Labelled { labels, strategy } => {
            if labels.len() != batch.rows() {
                return Err(Error::Label(format!(
                    "labels has {} entries for {} rows of batch",
                    labels.len(),
                    batch.rows()
                )));
            }
            let counts = counts_to_generate(labels, &model.fitted()?.classes, strategy)?;
            let new = counts
                .iter()
                .try_fold(0usize, |total, (_, k)| total.checked_add(*k))
                .ok_or_else(|| {
                    Error::Size("augment asks for more rows than can be counted".into())
                })?;
            (new, Some(counts))
        }
    };
    let total = batch
        .rows()
        .checked_add(new)
        .ok_or_else(|| Error::Size("augment asks for more rows than can be counted".into()))?;
    // Checked (and the output begun) before the new labels are expanded.
    open(sink, total, &model.fitted()?.spec, "the augmented batch")?;
    let new_labels: Option<Vec<i64>> = labels.map(|counts| {
        counts
            .into_iter()
            .flat_map(|(class, k)| std::iter::repeat_n(class, k))
            .collect()
    });
    let classes = SampleLabels::each(new_labels.as_deref());
    model.sample_chunks(new, classes, seed, &mut |first, chunk| {
        sink.write(first, chunk)
    })?;
    Ok(match (request, new_labels) {
        (Request::Labelled { labels, .. }, Some(new_labels)) => {
            Some([labels, new_labels.as_slice()].concat())
        }
        _ => None,
    })
}

/// `n` samples for `labels`, written to `sink` in chunks once the size has been checked; with
/// [`SampleLabels::InTrainingShares`], also the labels drawn for them.
pub fn sample<N: Network>(
    model: &mut Model<N>,
    n: usize,
    labels: SampleLabels<'_>,
    seed: Option<u64>,
    sink: &mut dyn Sink,
) -> Result<Option<Vec<i64>>> {
    model.check_sample_labels(labels, n)?;
    let spec = model.fitted()?.spec.clone();
    open(sink, n, &spec, "the samples")?;
    let mut write = |first, chunk| sink.write(first, chunk);
    if let SampleLabels::InTrainingShares = labels {
        let seed = seed.unwrap_or_else(|| model.seeds.next_seed());
        let drawn = model.labels_in_training_shares(n, seed)?;
        model.sample_chunks(n, SampleLabels::Each(&drawn), Some(seed), &mut write)?;
        return Ok(Some(drawn));
    }
    model.sample_chunks(n, labels, seed, &mut write)?;
    Ok(None)
}

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

/// How many samples of each class to generate, by class in ascending order. `known` are the
/// classes the model was fitted on.
pub fn counts_to_generate(
    labels: &[i64],
    known: &[i64],
    strategy: &Strategy,
) -> Result<Vec<(i64, usize)>> {
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
        Strategy::Proportional(n) if *n > 0 && counts.is_empty() => {
            return Err(Error::Parameter(format!(
                "augment(batch, n={n}, labels=...) shares n among the batch's classes, but the \
                 batch has no rows"
            )))
        }
        Strategy::Proportional(n) => {
            let counts: Vec<(i64, u64)> = counts.iter().map(|(&c, &k)| (c, k as u64)).collect();
            apportion(*n, &counts)
        }
    };
    Ok(wanted)
}

/// Splits `n` in proportion to the `(class, count)` pairs, sorted by class, by largest remainder
/// (ties to the smaller class label).
pub fn apportion(n: usize, counts: &[(i64, u64)]) -> Vec<(i64, usize)> {
    let total: u128 = counts.iter().map(|&(_, count)| count as u128).sum();
    if total == 0 {
        return Vec::new();
    }
    // In u128, so that n * count cannot overflow; each share is at most n.
    let (wide_n, wide_total) = (n as u128, total);
    let mut shares: Vec<(i64, usize, u128)> = counts
        .iter()
        .map(|&(class, count)| {
            let product = wide_n * count as u128;
            (class, (product / wide_total) as usize, product % wide_total)
        })
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

    fn labels_to_generate(labels: &[i64], known: &[i64], strategy: &Strategy) -> Result<Vec<i64>> {
        Ok(counts_to_generate(labels, known, strategy)?
            .into_iter()
            .flat_map(|(class, k)| std::iter::repeat_n(class, k))
            .collect())
    }

    #[test]
    fn huge_requests_are_counted_without_overflow() {
        let counts =
            counts_to_generate(&[0, 0, 1], &[0, 1], &Strategy::Proportional(usize::MAX)).unwrap();
        assert_eq!(
            counts.iter().map(|c| c.1 as u128).sum::<u128>(),
            usize::MAX as u128
        );
    }

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
