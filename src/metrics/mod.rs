//! Judging generated rows against real ones: fidelity (maximum mean discrepancy, precision and
//! density, the Fréchet distance, per-column distributions and correlations), diversity (recall
//! and coverage), distinguishability (a nearest-neighbour classifier two-sample test) and
//! memorisation (distances to the closest training record, exact copies).
//!
//! Every metric compares the rows of one [`Inputs`]; distance-based ones work in the feature
//! space of [`table::Encoder`].

mod columns;
mod frechet;
mod neighbours;
pub mod probe;
pub mod table;

pub use columns::{ks_statistic, total_variation};
pub use neighbours::Interrupt;
pub use probe::{mean_pairwise_distance, mmd};

use crate::error::{Error, Result};
use neighbours::{values, Balls, Cross, Set, Within};
use table::{ColumnKind, Columns, Encoder, Rows};
use tch::Tensor;

/// Real rows at most used to choose the kernel bandwidth.
pub const BANDWIDTH_ROWS: usize = 1000;

/// The rows one call compares, with what their columns are.
pub struct Inputs {
    pub columns: Columns,
    pub real: Rows,
    pub generated: Rows,
    /// The rows the generator was trained on, for [`report`]'s memorisation (default: `real`).
    pub train: Option<Rows>,
    /// Standardise continuous columns by the real rows' mean and spread.
    pub standardize: bool,
}

/// The features of each set: as they are for the Fréchet distance, as the sweeps take them for
/// the distance-based metrics.
struct Features {
    real: Tensor,
    generated: Tensor,
    real_swept: Set,
    generated_swept: Set,
}

impl Inputs {
    fn check(&self) -> Result<()> {
        let mut sets = vec![(&self.real, "real"), (&self.generated, "generated")];
        if let Some(train) = &self.train {
            sets.push((train, "train"));
        }
        self.columns.check(&sets)
    }

    fn features(&self) -> Result<Features> {
        self.check()?;
        let encoder = Encoder::fit(
            &self.columns,
            &self.real,
            &[&self.generated],
            self.standardize,
        );
        let real = encoder.encode(&self.real)?;
        let generated = encoder.encode(&self.generated)?;
        let [real_swept, generated_swept]: [Set; 2] = Set::centred(&[&real, &generated])?
            .try_into()
            .map_err(|_| Error::Internal("two sets in, not two out".into()))?;
        Ok(Features {
            real,
            generated,
            real_swept,
            generated_swept,
        })
    }
}

/// `k` nearest neighbours need `k + 1` rows in each set.
fn check_k(k: usize, sets: &[(&Rows, &str)]) -> Result<i64> {
    if k == 0 {
        return Err(Error::Parameter("k must be at least 1".into()));
    }
    for (rows, what) in sets {
        if rows.rows() <= k {
            return Err(Error::Parameter(format!(
                "k={k} nearest neighbours need at least {} rows in each set; {what} has {}",
                k + 1,
                rows.rows()
            )));
        }
    }
    Ok(k as i64)
}

/// numpy's median (the mean of the middle two of an even count).
fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// The median heuristic: the median of the positive distances between pairs of (at most
/// [`BANDWIDTH_ROWS`] evenly spaced) real rows `floor(i * N / m)`; 1 if none is positive.
fn median_bandwidth(real: &Tensor) -> Result<f64> {
    let n = real.size()[0] as usize;
    let m = n.min(BANDWIDTH_ROWS);
    let picks: Vec<i64> = (0..m).map(|i| (i * n / m) as i64).collect();
    let rows = real.f_index_select(0, &Tensor::f_from_slice(&picks)?)?;
    let d = Tensor::f_cdist(&rows, &rows, 2.0, None)?;
    let d = d.f_masked_select(&d.f_triu(1)?.f_gt(0.0)?)?;
    let bandwidth = median(values(&d)?);
    Ok(if bandwidth.is_nan() { 1.0 } else { bandwidth })
}

fn check_bandwidth(bandwidth: Option<f64>, real: &Tensor) -> Result<f64> {
    match bandwidth {
        Some(b) if b.is_finite() && b > 0.0 => Ok(b),
        Some(b) => Err(Error::Parameter(format!(
            "bandwidth must be a positive number, got {b}"
        ))),
        None => median_bandwidth(real),
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Precision, recall, density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity
/// Metrics for Generative Models"), from each set's `k`-nearest-neighbour balls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prdc {
    pub precision: f64,
    pub recall: f64,
    pub density: f64,
    pub coverage: f64,
}

/// Memorisation of the training rows by a generator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Memorisation {
    /// Median distance from a generated row to its closest training row, over the median
    /// distance from a training row to its closest other one (NaN if that is 0): about 1 for
    /// fresh rows from the training distribution, 0 for copies.
    pub dcr_ratio: f64,
    /// The fraction of generated rows equal, value for value, to some training row.
    pub duplicate_rate: f64,
}

/// Every metric at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub mmd: f64,
    pub prdc: Prdc,
    pub frechet_distance: f64,
    pub classifier_auc: f64,
    pub memorisation: Memorisation,
    /// Each column's KS statistic or total variation distance.
    pub columns: Vec<(String, ColumnKind, f64)>,
    pub correlation_difference: f64,
}

impl Report {
    /// The mean per-column figure over the columns of `kind` (NaN if none).
    pub fn column_mean(&self, kind: ColumnKind) -> f64 {
        let v: Vec<f64> = self
            .columns
            .iter()
            .filter(|c| c.1 == kind)
            .map(|c| c.2)
            .collect();
        if v.is_empty() {
            f64::NAN
        } else {
            mean(&v)
        }
    }
}

/// The biased squared MMD from kernel sums over `n` real and `m` generated rows.
fn mmd_from(within_x: f64, within_y: f64, across: f64, n: usize, m: usize) -> f64 {
    let (n, m) = (n as f64, m as f64);
    (within_x / (n * n) + within_y / (m * m) - 2.0 * across / (n * m)).max(0.0)
}

/// The biased estimate of the squared maximum mean discrepancy under the Gaussian kernel
/// `exp(-|a - b|^2 / (2 s^2))` (Gretton et al. 2012): mean kernel within each set, all pairs
/// with each row and itself, less twice the mean across. `s` defaults to the median heuristic.
pub fn maximum_mean_discrepancy(
    inputs: &Inputs,
    bandwidth: Option<f64>,
    interrupt: Interrupt,
) -> Result<f64> {
    let f = inputs.features()?;
    let s = check_bandwidth(bandwidth, &f.real)?;
    let within =
        |a: &Set| -> Result<f64> { Ok(neighbours::within(a, 0, Some(s), interrupt)?.kernel_sum) };
    let across = neighbours::cross(
        &f.real_swept,
        &f.generated_swept,
        0,
        Some(s),
        None,
        interrupt,
    )?;
    Ok(mmd_from(
        within(&f.real_swept)?,
        within(&f.generated_swept)?,
        across.kernel_sum,
        inputs.real.rows(),
        inputs.generated.rows(),
    ))
}

/// The three sweeps every neighbour metric is read from.
struct Sweeps {
    real: Within,
    generated: Within,
    cross: Cross,
}

fn sweeps(f: &Features, k: i64, bandwidth: Option<f64>, interrupt: Interrupt) -> Result<Sweeps> {
    let real = neighbours::within(&f.real_swept, k, bandwidth, interrupt)?;
    let generated = neighbours::within(&f.generated_swept, k, bandwidth, interrupt)?;
    let (rx, ry) = (
        real.nearest.f_select(1, k - 1)?,
        generated.nearest.f_select(1, k - 1)?,
    );
    let cross = neighbours::cross(
        &f.real_swept,
        &f.generated_swept,
        k,
        bandwidth,
        Some(Balls { x: &rx, y: &ry }),
        interrupt,
    )?;
    Ok(Sweeps {
        real,
        generated,
        cross,
    })
}

fn prdc_from(s: &Sweeps, k: i64) -> Result<Prdc> {
    let k_last = |t: &Tensor| -> Result<Vec<f64>> { values(&t.f_select(1, k - 1)?) };
    let real_radius = k_last(&s.real.nearest)?;
    let nearest_generated = values(&s.cross.x_nearest.f_select(1, 0)?)?;
    let inside = |t: &Option<Tensor>| -> Result<Vec<f64>> {
        values(
            t.as_ref()
                .ok_or_else(|| Error::Internal("a sweep without balls".into()))?,
        )
    };
    let counts = inside(&s.cross.y_inside_x)?;
    let recalled = inside(&s.cross.x_inside_y)?;
    let covered: Vec<f64> = nearest_generated
        .iter()
        .zip(&real_radius)
        .map(|(d, r)| (d < r) as u8 as f64)
        .collect();
    Ok(Prdc {
        precision: mean(
            &counts
                .iter()
                .map(|&c| (c > 0.0) as u8 as f64)
                .collect::<Vec<_>>(),
        ),
        recall: mean(&recalled),
        density: mean(&counts) / k as f64,
        coverage: mean(&covered),
    })
}

/// Precision, recall, density and coverage with `k`-nearest-neighbour balls.
pub fn precision_recall_density_coverage(
    inputs: &Inputs,
    k: usize,
    interrupt: Interrupt,
) -> Result<Prdc> {
    let k = check_k(
        k,
        &[(&inputs.real, "real"), (&inputs.generated, "generated")],
    )?;
    let f = inputs.features()?;
    prdc_from(&sweeps(&f, k, None, interrupt)?, k)
}

/// The ROC AUC of each pooled row's generated share among its `k` nearest neighbours.
fn classifier_auc_from(s: &Sweeps, k: i64) -> Result<f64> {
    let k = k as usize;
    // How many of a row's k nearest are generated: merge its two sorted lists, taking the
    // real row first on a tie (the lower pooled index).
    let generated_share = |real_side: &Tensor, generated_side: &Tensor| -> Result<Vec<usize>> {
        let (a, b) = (values(real_side)?, values(generated_side)?);
        Ok(a.chunks_exact(k)
            .zip(b.chunks_exact(k))
            .map(|(a, b)| {
                let (mut i, mut j) = (0, 0);
                while i + j < k {
                    if a[i] <= b[j] {
                        i += 1;
                    } else {
                        j += 1;
                    }
                }
                j
            })
            .collect())
    };
    let real_scores = generated_share(&s.real.nearest, &s.cross.x_nearest)?;
    let generated_scores = generated_share(&s.cross.y_nearest, &s.generated.nearest)?;
    // Mann-Whitney over the k + 1 possible scores, ties counted half.
    let mut real_counts = vec![0.0f64; k + 1];
    for &c in &real_scores {
        real_counts[c] += 1.0;
    }
    let (mut wins, mut below) = (0.0, vec![0.0f64; k + 2]);
    for c in 0..=k {
        below[c + 1] = below[c] + real_counts[c];
    }
    for &c in &generated_scores {
        wins += below[c] + 0.5 * real_counts[c];
    }
    Ok(wins / (real_scores.len() as f64 * generated_scores.len() as f64))
}

/// A classifier two-sample test (Lopez-Paz & Oquab 2017) with a `k`-nearest-neighbour
/// classifier (Friedman & Rafsky 1983): each row of the pooled sets is scored by the share of
/// its `k` nearest other rows that are generated; the ROC AUC of those scores, 0.5 when the
/// sets are indistinguishable, 1 when fully separable.
pub fn classifier_auc(inputs: &Inputs, k: usize, interrupt: Interrupt) -> Result<f64> {
    let k = check_k(
        k,
        &[(&inputs.real, "real"), (&inputs.generated, "generated")],
    )?;
    let f = inputs.features()?;
    classifier_auc_from(&sweeps(&f, k, None, interrupt)?, k)
}

fn sqrt_values(t: &Tensor) -> Result<Vec<f64>> {
    Ok(values(t)?.into_iter().map(f64::sqrt).collect())
}

fn memorisation_from(
    inputs: &Inputs,
    train_nearest_other: &Tensor,
    generated_nearest_train: &Tensor,
) -> Result<Memorisation> {
    let reference = median(sqrt_values(train_nearest_other)?);
    let distance = median(sqrt_values(generated_nearest_train)?);
    let set = table::row_set(&inputs.real);
    Ok(Memorisation {
        dcr_ratio: if reference > 0.0 {
            distance / reference
        } else {
            f64::NAN
        },
        duplicate_rate: table::contained(&inputs.generated, &set) as f64
            / inputs.generated.rows() as f64,
    })
}

/// Memorisation of `inputs.real`, the training rows here (the distance to the closest record,
/// and exact copies).
pub fn memorisation(inputs: &Inputs, interrupt: Interrupt) -> Result<Memorisation> {
    check_k(1, &[(&inputs.real, "train")])?;
    let f = inputs.features()?;
    let own = neighbours::within(&f.real_swept, 1, None, interrupt)?;
    let across = neighbours::cross(&f.generated_swept, &f.real_swept, 1, None, None, interrupt)?;
    memorisation_from(inputs, &own.nearest, &across.x_nearest)
}

/// The Fréchet distance between Gaussian fits of the two sets' features.
pub fn frechet_distance(inputs: &Inputs) -> Result<f64> {
    let f = inputs.features()?;
    frechet::frechet_distance(&f.real, &f.generated)
}

/// Each column's KS statistic (continuous) or total variation distance (discrete).
pub fn column_fidelity(inputs: &Inputs) -> Result<Vec<(String, ColumnKind, f64)>> {
    inputs.check()?;
    Ok(columns::fidelity(
        &inputs.columns,
        &inputs.real,
        &inputs.generated,
    ))
}

/// The mean absolute difference of the continuous columns' correlations.
pub fn correlation_difference(inputs: &Inputs) -> Result<f64> {
    inputs.check()?;
    columns::correlation_difference(&inputs.columns, &inputs.real, &inputs.generated)
}

/// Every metric, sharing the distance sweeps between them.
pub fn report(inputs: &Inputs, k: usize, interrupt: Interrupt) -> Result<Report> {
    let mut sets = vec![(&inputs.real, "real"), (&inputs.generated, "generated")];
    sets.extend(inputs.train.as_ref().map(|t| (t, "train")));
    let k = check_k(k, &sets)?;
    let f = inputs.features()?;
    let bandwidth = median_bandwidth(&f.real)?;
    let s = sweeps(&f, k, Some(bandwidth), interrupt)?;
    let memorisation = match &inputs.train {
        None => memorisation_from(
            inputs,
            &s.real.nearest.f_select(1, 0)?,
            &s.cross.y_nearest.f_select(1, 0)?,
        )?,
        // As `memorisation(train, generated)` measures it: in the training rows' own features.
        Some(train) => memorisation(
            &Inputs {
                columns: inputs.columns.clone(),
                real: train.clone(),
                generated: inputs.generated.clone(),
                train: None,
                standardize: inputs.standardize,
            },
            interrupt,
        )?,
    };
    Ok(Report {
        mmd: mmd_from(
            s.real.kernel_sum,
            s.generated.kernel_sum,
            s.cross.kernel_sum,
            inputs.real.rows(),
            inputs.generated.rows(),
        ),
        prdc: prdc_from(&s, k)?,
        frechet_distance: frechet::frechet_distance(&f.real, &f.generated)?,
        classifier_auc: classifier_auc_from(&s, k)?,
        memorisation,
        columns: columns::fidelity(&inputs.columns, &inputs.real, &inputs.generated),
        correlation_difference: columns::correlation_difference(
            &inputs.columns,
            &inputs.real,
            &inputs.generated,
        )?,
    })
}
