//! What a fitted VAE computes on given rows (latent codes, reconstructions, anomaly scores),
//! in chunks of rows so that memory beyond the input and the result stays bounded.
//!
//! Rows enter the networks held to the training range (see [`crate::schema::Schema::encode`]),
//! so that any finite row gives finite codes. The score then adds, for each continuous value
//! beyond the training range, [`EXCESS_NATS`] per training range of excess: a value the model
//! could never generate costs more the further off it is, so far-off rows score as more unusual
//! than any row like the training data.

use crate::augment::{open, Sink};
use crate::data::Array;
use crate::error::{Error, Result};
use crate::model::{chunk_rows, Model};
use crate::vae::Vae;
use tch::{Kind, Tensor};

/// The cost, in nats, of one training range of excess beyond it: -ln(1e-6), what a decoder
/// output of probability 1e-6 costs.
pub const EXCESS_NATS: f64 = 13.815_510_557_964_274;

/// The rows of `x` from `start`, `size` of them, as an `Array`.
fn rows(x: &Array, start: usize, size: usize) -> Result<Array> {
    let width: usize = x.sample_shape().iter().product();
    let mut shape = x.shape.clone();
    shape[0] = size;
    Array::new(
        x.values[start * width..(start + size) * width].to_vec(),
        shape,
    )
}

/// Runs `f` on each chunk of `x` (with its labels) as model-space rows `(B, width)` with each
/// row's excess beyond the training range, and their one-hot classes.
fn each_chunk(
    model: &Model<Vae>,
    x: &Array,
    labels: Option<&[i64]>,
    what: &str,
    step: Option<usize>,
    mut f: impl FnMut(usize, Tensor, Vec<f64>, Option<Tensor>) -> Result<()>,
) -> Result<()> {
    model.check_rows(x, what)?;
    // Labels are checked whole, before any work.
    model.encode_labels_checked(labels, x.rows())?;
    let step = match step {
        Some(step) => step,
        None => chunk_rows(model.fitted()?.layout.width()),
    };
    let _guard = tch::no_grad_guard();
    let mut start = 0;
    while start < x.rows() {
        let size = step.min(x.rows() - start);
        let (encoded, excess) = model.to_model(&rows(x, start, size)?, what)?;
        let classes = model.encode_labels(labels.map(|l| &l[start..start + size]), size)?;
        f(start, encoded, excess, classes)?;
        start += size;
    }
    Ok(())
}

fn floats(t: &Tensor) -> Result<Vec<f32>> {
    crate::data::tensor_values(t)
}

/// Posterior means and log-variances, `latent_dim` values per row each.
pub fn encode(
    model: &Model<Vae>,
    x: &Array,
    labels: Option<&[i64]>,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let (mut means, mut logvars) = (Vec::new(), Vec::new());
    each_chunk(model, x, labels, "x", None, |_, encoded, _, classes| {
        let net = &model.fitted()?.net;
        let (mean, logvar) = net.encode(&encoded, classes.as_ref(), false)?;
        means.extend(floats(&mean)?);
        logvars.extend(floats(&logvar)?);
        Ok(())
    })?;
    Ok((means, logvars))
}

/// Each row through the encoder's mean and the decoder, to `sink` in the training data's form.
pub fn reconstruct(
    model: &Model<Vae>,
    x: &Array,
    labels: Option<&[i64]>,
    sink: &mut dyn Sink,
) -> Result<()> {
    open(sink, x.rows(), &model.fitted()?.spec, "the reconstruction")?;
    each_chunk(model, x, labels, "x", None, |first, encoded, _, classes| {
        let net = &model.fitted()?.net;
        let (mean, _) = net.encode(&encoded, classes.as_ref(), false)?;
        let out = net.decode_mean(&mean, classes.as_ref())?;
        sink.write(first, model.from_model(&out, false)?)
    })
}

/// Latent codes `z` `(N, latent_dim)` decoded, to `sink` in the training data's form.
pub fn decode(
    model: &Model<Vae>,
    z: &Array,
    labels: Option<&[i64]>,
    sink: &mut dyn Sink,
) -> Result<()> {
    let net = &model.fitted()?.net;
    z.validate_like(&[net.latent_dim() as usize], "z")?;
    z.validate_finite("z")?;
    model.encode_labels_checked(labels, z.rows())?;
    open(sink, z.rows(), &model.fitted()?.spec, "the decoded rows")?;
    let _guard = tch::no_grad_guard();
    let step = chunk_rows(model.fitted()?.layout.width());
    let mut start = 0;
    while start < z.rows() {
        let size = step.min(z.rows() - start);
        let codes = rows(z, start, size)?.to_tensor(model.device)?;
        let classes = model.encode_labels(labels.map(|l| &l[start..start + size]), size)?;
        let out = net.decode_mean(&codes, classes.as_ref())?;
        sink.write(start, model.from_model(&out, false)?)?;
        start += size;
    }
    Ok(())
}

/// Per-row anomaly scores: the negative ELBO at the posterior mean of the row held to the
/// training range, plus [`EXCESS_NATS`] per training range that each continuous value lies
/// beyond it. Higher is more unusual.
pub fn score(model: &Model<Vae>, x: &Array, labels: Option<&[i64]>) -> Result<Vec<f64>> {
    let mut scores = Vec::with_capacity(x.rows());
    each_chunk(
        model,
        x,
        labels,
        "x",
        None,
        |_, encoded, excess, classes| {
            let elbo = model
                .fitted()?
                .net
                .negative_elbo(&encoded, classes.as_ref())?
                .f_to_kind(Kind::Double)?
                .f_to_device(tch::Device::Cpu)?
                .f_contiguous()?;
            let values = Vec::<f64>::try_from(elbo)?;
            scores.extend(
                values
                    .into_iter()
                    .zip(excess)
                    .map(|(elbo, excess)| elbo + excess * EXCESS_NATS),
            );
            Ok(())
        },
    )?;
    Ok(scores)
}

/// Draws at most per row in [`score_samples`] (a bound on memory, far above any useful count).
pub const MAX_LIKELIHOOD_SAMPLES: i64 = 100_000;

/// Per-row anomaly scores in scikit-learn's convention (higher is more normal): the
/// importance-weighted log-likelihood of [`Vae::log_likelihood`] with `k` draws of the row held
/// to the training range, less [`EXCESS_NATS`] per training range that each continuous value
/// lies beyond it. Deterministic: every row uses the same fixed draws.
pub fn score_samples(
    model: &Model<Vae>,
    x: &Array,
    labels: Option<&[i64]>,
    k: i64,
) -> Result<Vec<f64>> {
    if !(1..=MAX_LIKELIHOOD_SAMPLES).contains(&k) {
        return Err(Error::Parameter(format!(
            "k must be from 1 to {MAX_LIKELIHOOD_SAMPLES}, got {k}"
        )));
    }
    let fitted = model.fitted()?;
    let draws = fitted.net.likelihood_draws(k)?;
    let step = Vae::likelihood_chunk(fitted.layout.width(), k) as usize;
    let mut scores = Vec::with_capacity(x.rows());
    each_chunk(
        model,
        x,
        labels,
        "x",
        Some(step),
        |_, encoded, excess, classes| {
            let values = crate::data::tensor_values(&fitted.net.log_likelihood(
                &encoded,
                classes.as_ref(),
                &draws,
            )?)?;
            scores.extend(
                values
                    .into_iter()
                    .zip(excess)
                    .map(|(ll, excess)| f64::from(ll) - excess * EXCESS_NATS),
            );
            Ok(())
        },
    )?;
    Ok(scores)
}

/// The outlier threshold on [`score_samples`] that fit set from the model's contamination.
pub fn offset(model: &Model<Vae>) -> Result<f64> {
    let offset = model.fitted()?.net.offset()?;
    if offset.is_nan() {
        return Err(Error::NotFitted(
            "this model has no outlier threshold (it was not fitted to the end); fit it again"
                .into(),
        ));
    }
    Ok(offset)
}

/// `score_samples - offset`: negative for outliers.
pub fn decision_function(
    model: &Model<Vae>,
    x: &Array,
    labels: Option<&[i64]>,
    k: i64,
) -> Result<Vec<f64>> {
    let offset = offset(model)?;
    Ok(score_samples(model, x, labels, k)?
        .into_iter()
        .map(|s| s - offset)
        .collect())
}

/// +1 for inliers, -1 for outliers (a negative [`decision_function`]).
pub fn predict(model: &Model<Vae>, x: &Array, labels: Option<&[i64]>, k: i64) -> Result<Vec<i64>> {
    Ok(decision_function(model, x, labels, k)?
        .into_iter()
        .map(|d| if d < 0.0 { -1 } else { 1 })
        .collect())
}
