//! Filling the gaps (NaN entries) of rows with a fitted VAE, by pseudo-Gibbs sampling (Rezende
//! et al. 2014, section 5; Mattei & Frellsen 2018): starting from neutral values, each round
//! encodes the completed rows, draws a code from the encoder, decodes it and writes the
//! decoder's values into the gaps only, so that the gaps move towards values the model finds
//! likely next to what is observed.
//!
//! A random imputation is one such chain, its last round drawing the values from the decoder's
//! likelihood, so that draws spread as the model's uncertainty about the gaps does. The single
//! imputation is the model's expected row given the observed values (what minimises the
//! expected squared error), estimated as the mean of [`CHAINS`] chains' expected values at
//! their last round; a discrete gap takes its most likely category under that mean.

use crate::augment::{open, Sink};
use crate::data::Array;
use crate::error::Result;
use crate::model::Model;
use crate::rng::{self, with_seed};
use crate::seed::derive;
use crate::vae::Vae;
use tch::{Kind, Tensor};

/// Rounds of encoding and decoding per chain.
pub const ROUNDS: usize = 30;
/// Chains averaged for the single imputation.
pub const CHAINS: i64 = 20;
/// The seed of the single imputation's chains.
const EXPECTED_SEED: u64 = 0x1A7E;

/// How to fill the gaps.
#[derive(Debug, Clone, Copy)]
pub enum Fill {
    /// The expected value given the observed ones (deterministic).
    Expected,
    /// One random draw, seeded.
    Draw(u64),
}

/// Repeats each row of `t` `(B, W)` `times` times, `(B * times, W)`, copies of a row together.
fn repeat_rows(t: &Tensor, times: i64) -> Result<Tensor> {
    Ok(t.f_repeat_interleave_self_int(times, Some(0), None)?)
}

/// The rows of `x` with their gaps filled, to `sink` in the training data's form (every entry
/// from the model: the caller keeps the observed values as they were).
pub fn impute(
    model: &Model<Vae>,
    x: &Array,
    labels: Option<&[i64]>,
    fill: Fill,
    sink: &mut dyn Sink,
) -> Result<()> {
    let fitted = model.fitted()?;
    x.validate_like(&fitted.spec.sample_shape, "x")?;
    model.encode_labels_checked(labels, x.rows())?;
    open(sink, x.rows(), &fitted.spec, "the imputed rows")?;
    let net = &fitted.net;
    let _guard = tch::no_grad_guard();
    let (chains, seed, draw) = match fill {
        Fill::Expected => (CHAINS, EXPECTED_SEED, false),
        Fill::Draw(seed) => (1, seed, true),
    };
    let step = Vae::likelihood_chunk(fitted.layout.width(), chains) as usize;
    let width: usize = x.sample_shape().iter().product();
    let mut start = 0;
    while start < x.rows() {
        let size = step.min(x.rows() - start);
        let mut shape = x.shape.clone();
        shape[0] = size;
        let chunk = Array::new(
            x.values[start * width..(start + size) * width].to_vec(),
            shape,
        )?;
        let (observed, mask) = fitted.schema.encode_gaps(&chunk, "x", model.device)?;
        let classes = model.encode_labels(labels.map(|l| &l[start..start + size]), size)?;
        // Every chain of every row at once: `chains` copies of each row.
        let classes = classes.map(|c| repeat_rows(&c, chains)).transpose()?;
        let (observed, mask) = (repeat_rows(&observed, chains)?, repeat_rows(&mask, chains)?);
        let fixed = observed.f_mul(&mask)?;
        let gaps = mask.f_neg()?.f_add_scalar(1.0)?;
        let chain = || -> Result<Tensor> {
            let mut rows = observed.shallow_clone();
            for round in 1..=ROUNDS {
                let (mean, logvar) = net.encode(&rows, classes.as_ref(), false)?;
                let std = logvar.f_mul_scalar(0.5)?.f_exp()?;
                let z = mean.f_add(&std.f_mul(&rng::normal_like(&std)?)?)?;
                let out = if draw && round == ROUNDS {
                    net.decode_draw(&z, classes.as_ref())?
                } else {
                    net.decode_mean(&z, classes.as_ref())?
                };
                rows = fixed.f_add(&out.f_mul(&gaps)?)?;
            }
            Ok(rows)
        };
        // A draw's categories and gaps come from the same seeded stream as its chain.
        let filled = with_seed(derive(seed, start as u64), || -> Result<_> {
            let rows =
                chain()?
                    .f_view([size as i64, chains, -1])?
                    .f_mean_dim(1, false, Kind::Float)?;
            model.from_model(&rows, draw)
        })?;
        sink.write(start, filled)?;
        start += size;
    }
    Ok(())
}
