//! The Gaussian a VAE's `sample` draws latent codes from: fitted after training to the
//! training rows' aggregate posterior, one full-covariance Gaussian per class ("ex-post density
//! estimation", Ghosh et al. 2020). The N(0, I) prior of the ELBO is only what the encoder is
//! pulled towards; the codes the decoder learnt to decode are where the rows' posteriors lie.
//!
//! A class's Gaussian has its rows' mean code and the covariance of the mixture of their
//! posteriors (the covariance of the posterior means plus the mean posterior variance), shrunk
//! towards the covariance pooled over the classes with the weight of `latent_dim` rows, so
//! that a class of a few rows still gets a full-rank Gaussian of a sensible shape.

use crate::error::{Error, Result};
use tch::nn::Path;
use tch::{Kind, Tensor};

/// Added to each covariance's diagonal before its Cholesky factor: the posterior variances
/// already make it positive definite, this keeps the factor finite in float rounding.
const JITTER: f64 = 1e-6;

/// One Gaussian per class (one for an unconditional model), as variables of the model's store
/// (saved with its weights), N(0, I) until [`LatentPrior::fit`] sets them.
pub struct LatentPrior {
    /// `(classes, latent_dim)`.
    mean: Tensor,
    /// Lower Cholesky factors of the covariances, `(classes, latent_dim, latent_dim)`.
    scale: Tensor,
}

/// Sums over the training rows' posteriors, per class, in float64.
pub struct Moments {
    count: Tensor,
    /// Of the posterior means.
    sum: Tensor,
    /// Of the posterior means' outer products.
    outer: Tensor,
    /// Of the posterior variances.
    variance: Tensor,
}

impl LatentPrior {
    /// The variables `mean` and `scale` under `path`, for `classes` classes (0: unconditional).
    pub fn new(path: &Path, classes: i64, latent_dim: i64) -> Result<LatentPrior> {
        let groups = classes.max(1);
        let mean = path.f_zeros_no_train("mean", &[groups, latent_dim])?;
        let scale = path.f_zeros_no_train("scale", &[groups, latent_dim, latent_dim])?;
        let mut prior = LatentPrior { mean, scale };
        prior.reset()?;
        Ok(prior)
    }

    /// Back to N(0, I) for every class.
    pub fn reset(&mut self) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let latent = self.mean.size()[1];
        let _ = self.mean.f_zero_()?;
        let eye = Tensor::f_eye(latent, (Kind::Float, self.scale.device()))?;
        self.scale.f_copy_(&eye.f_expand_as(&self.scale)?)?;
        Ok(())
    }

    /// Each class's mean code, `(classes, latent_dim)`.
    pub fn mean(&self) -> &Tensor {
        &self.mean
    }

    pub fn groups(&self) -> i64 {
        self.mean.size()[0]
    }

    /// Sets each class's Gaussian from the moments of its rows' posteriors.
    pub fn fit(&mut self, moments: &Moments) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let Moments {
            count,
            sum,
            outer,
            variance,
        } = moments;
        let latent = self.mean.size()[1];
        let rows = f64::try_from(count.f_sum(Kind::Double)?)?;
        if rows < 1.0 {
            return Err(Error::Internal("a latent prior fitted on no rows".into()));
        }
        // A class without rows (all held out) takes the overall mean.
        let overall = sum.f_sum_dim_intlist([0i64].as_slice(), false, Kind::Double)? / rows;
        let present = count.f_gt(0.0)?.f_unsqueeze(1)?;
        let mean = (sum / count.f_clamp_min(1.0)?.f_unsqueeze(1)?)
            .f_where_self(&present, &overall.f_unsqueeze(0)?)?;
        // Each class's covariance times its rows: its outer products about its mean plus its
        // summed posterior variances.
        let spread = outer
            - count.f_view([-1, 1, 1])? * mean.f_unsqueeze(2)? * mean.f_unsqueeze(1)?
            + variance.f_diag_embed(0, -2, -1)?;
        let pooled = spread.f_sum_dim_intlist([0i64].as_slice(), false, Kind::Double)? / rows;
        let weight = latent as f64;
        let covariance =
            (spread + pooled.f_unsqueeze(0)? * weight) / (count.f_view([-1, 1, 1])? + weight);
        let jitter = Tensor::f_eye(latent, (Kind::Double, sum.device()))?.f_mul_scalar(JITTER)?;
        let covariance = covariance + jitter;
        let (factor, info) = covariance.f_linalg_cholesky_ex(false, false)?;
        let failed = i64::try_from(info.f_abs()?.f_sum(Kind::Int64)?)?;
        if failed != 0 || !bool::try_from(factor.f_isfinite()?.f_all()?)? {
            return Err(Error::Internal(
                "the latent codes' covariance is not positive definite".into(),
            ));
        }
        self.mean.f_copy_(&mean)?;
        self.scale.f_copy_(&factor)?;
        Ok(())
    }

    /// Latent codes from standard normal `noise`, `(N, latent_dim)`, for the one-hot `classes`
    /// (`None` for an unconditional model).
    pub fn draw(&self, noise: &Tensor, classes: Option<&Tensor>) -> Result<Tensor> {
        let codes = |group: i64, noise: &Tensor| -> Result<Tensor> {
            let scale = self.scale.f_get(group)?;
            Ok(noise
                .f_mm(&scale.f_tr()?)?
                .f_add(&self.mean.f_get(group)?)?)
        };
        let Some(classes) = classes.filter(|_| self.groups() > 1) else {
            return codes(0, noise);
        };
        let group_of_row = classes.f_argmax(1, false)?;
        let mut z = noise.f_empty_like()?;
        // One class at a time: gathering a factor per row would take latent_dim^2 per row.
        for group in 0..self.groups() {
            if let Some(rows) = members(&group_of_row, group)? {
                let part = codes(group, &noise.f_index_select(0, &rows)?)?;
                z = z.f_index_copy(0, &rows, &part)?;
            }
        }
        Ok(z)
    }
}

impl Moments {
    pub fn new(groups: i64, latent_dim: i64, device: tch::Device) -> Result<Moments> {
        let options = (Kind::Double, device);
        Ok(Moments {
            count: Tensor::f_zeros([groups], options)?,
            sum: Tensor::f_zeros([groups, latent_dim], options)?,
            outer: Tensor::f_zeros([groups, latent_dim, latent_dim], options)?,
            variance: Tensor::f_zeros([groups, latent_dim], options)?,
        })
    }

    /// Adds rows' posteriors (means and log-variances, `(N, latent_dim)`) of the one-hot
    /// `classes` (`None`: one group).
    pub fn add(&mut self, mean: &Tensor, logvar: &Tensor, classes: Option<&Tensor>) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let rows = mean.size()[0];
        let group = match classes {
            Some(classes) if self.count.size()[0] > 1 => classes.f_argmax(1, false)?,
            _ => Tensor::f_zeros([rows], (Kind::Int64, mean.device()))?,
        };
        let mean = mean.f_to_kind(Kind::Double)?;
        let ones = Tensor::f_ones([rows], (Kind::Double, mean.device()))?;
        let _ = self.count.f_index_add_(0, &group, &ones)?;
        let _ = self.sum.f_index_add_(0, &group, &mean)?;
        // Each class's rows' outer products as one product of its rows, so that no chunk holds
        // latent_dim^2 values per row.
        for class in 0..self.count.size()[0] {
            if let Some(index) = members(&group, class)? {
                let rows = mean.f_index_select(0, &index)?;
                let _ = self.outer.get(class).f_add_(&rows.f_tr()?.f_mm(&rows)?)?;
            }
        }
        let variance = logvar.f_to_kind(Kind::Double)?.f_exp()?;
        let _ = self.variance.f_index_add_(0, &group, &variance)?;
        Ok(())
    }
}

/// The indices of the rows in `group` (`None` when there are none).
fn members(group_of_row: &Tensor, group: i64) -> Result<Option<Tensor>> {
    let rows = group_of_row.f_eq(group)?.f_nonzero()?.f_squeeze_dim(1)?;
    Ok((rows.numel() > 0).then_some(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::VarStore;
    use tch::Device;

    fn gaussian_rows(n: i64, mean: [f32; 2], factor: [[f32; 2]; 2], seed: i64) -> Tensor {
        tch::manual_seed(seed);
        let noise = Tensor::randn([n, 2], (Kind::Float, Device::Cpu));
        let factor = Tensor::from_slice2(&factor);
        noise.mm(&factor.tr()) + Tensor::from_slice(&mean)
    }

    #[test]
    fn a_fitted_prior_draws_each_class_s_codes() {
        let vs = VarStore::new(Device::Cpu);
        let mut prior = LatentPrior::new(&vs.root(), 2, 2).unwrap();
        let a = gaussian_rows(20_000, [3.0, -1.0], [[1.0, 0.0], [0.8, 0.6]], 1);
        let b = gaussian_rows(20_000, [-2.0, 0.5], [[0.5, 0.0], [0.0, 2.0]], 2);
        let means = Tensor::cat(&[&a, &b], 0);
        // Posterior variances of 0.25 add to each class's spread of means.
        let logvar = means.zeros_like() + 0.25f64.ln();
        let classes = Tensor::cat(
            &[
                Tensor::from_slice(&[1.0f32, 0.0]).expand([20_000, 2], false),
                Tensor::from_slice(&[0.0f32, 1.0]).expand([20_000, 2], false),
            ],
            0,
        );
        let mut moments = Moments::new(2, 2, Device::Cpu).unwrap();
        moments.add(&means, &logvar, Some(&classes)).unwrap();
        prior.fit(&moments).unwrap();

        tch::manual_seed(3);
        let noise = Tensor::randn([40_000, 2], (Kind::Float, Device::Cpu));
        let z = prior.draw(&noise, Some(&classes)).unwrap();
        for (part, mean, covariance) in [
            (
                z.narrow(0, 0, 20_000),
                [3.0, -1.0],
                [[1.25, 0.8], [0.8, 1.25]],
            ),
            (
                z.narrow(0, 20_000, 20_000),
                [-2.0, 0.5],
                [[0.5, 0.0], [0.0, 4.25]],
            ),
        ] {
            let got_mean = Vec::<f32>::try_from(part.mean_dim(0, false, Kind::Float)).unwrap();
            let got_cov =
                Vec::<f32>::try_from(part.tr().cov::<Tensor>(1, None, None).flatten(0, 1)).unwrap();
            for (got, want) in got_mean.iter().zip(mean) {
                assert!(
                    (f64::from(*got) - want).abs() < 0.05,
                    "{got_mean:?} {mean:?}"
                );
            }
            for (got, want) in got_cov.iter().zip(covariance.concat()) {
                assert!(
                    (f64::from(*got) - want).abs() < 0.1,
                    "{got_cov:?} {covariance:?}"
                );
            }
        }
    }

    #[test]
    fn a_class_of_few_rows_is_shrunk_towards_the_pooled_covariance() {
        let vs = VarStore::new(Device::Cpu);
        let latent = 4;
        let mut prior = LatentPrior::new(&vs.root(), 3, latent).unwrap();
        let mut moments = Moments::new(3, latent, Device::Cpu).unwrap();
        tch::manual_seed(0);
        let many = Tensor::randn([5_000, latent], (Kind::Float, Device::Cpu)) * 2.0;
        let onehot = |class: i64, rows: i64| {
            Tensor::eye(3, (Kind::Float, Device::Cpu))
                .get(class)
                .expand([rows, 3], false)
        };
        let logvar = |rows: i64| Tensor::full([rows, latent], -10.0, (Kind::Float, Device::Cpu));
        moments
            .add(&many, &logvar(5_000), Some(&onehot(0, 5_000)))
            .unwrap();
        // One row of class 1 (no spread of its own) and none of class 2.
        let one = Tensor::ones([1, latent], (Kind::Float, Device::Cpu));
        moments.add(&one, &logvar(1), Some(&onehot(1, 1))).unwrap();
        prior.fit(&moments).unwrap();

        let covariance = |group: i64| {
            let factor = prior.scale.get(group);
            factor.mm(&factor.tr())
        };
        // Class 1: 4 pseudo-rows of the pooled covariance (about 4 I) and one of nothing.
        let diagonal = Vec::<f32>::try_from(covariance(1).diagonal(0, 0, 1)).unwrap();
        for value in diagonal {
            assert!((3.0..3.5).contains(&value), "{value}");
        }
        let class_1 = Vec::<f32>::try_from(prior.mean.get(1)).unwrap();
        assert_eq!(class_1, vec![1.0; latent as usize]);
        // Class 2 had no rows: the overall mean and the pooled covariance.
        let overall =
            many.sum_dim_intlist([0i64].as_slice(), false, Kind::Float) / 5_001.0 + 1.0 / 5_001.0;
        assert!(prior.mean.get(2).allclose(&overall, 1e-4, 1e-5, false));
        let pooled = Vec::<f32>::try_from(covariance(2).diagonal(0, 0, 1)).unwrap();
        for value in pooled {
            assert!((3.6..4.4).contains(&value), "{value}");
        }
    }

    #[test]
    fn an_unfitted_prior_is_the_standard_normal() {
        let vs = VarStore::new(Device::Cpu);
        let prior = LatentPrior::new(&vs.root(), 0, 3).unwrap();
        let noise = Tensor::randn([5, 3], (Kind::Float, Device::Cpu));
        assert!(prior.draw(&noise, None).unwrap().equal(&noise));
    }
}
