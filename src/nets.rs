//! Building blocks: linear/conv layers whose forward passes use the fallible tch calls, an MLP,
//! and the DCGAN-style conv encoder (image -> features) and decoder (vector -> image logits).

use crate::error::Result;
use crate::rng;
use tch::nn::{self, Path};
use tch::Tensor;

/// LeakyReLU with the DCGAN slope 0.2. tch's `leaky_relu` has no slope argument, and PReLU
/// with a fixed slope computes a slope gradient on every backward pass (12 times the cost on
/// DCGAN activations). `leaky_relu_backward(grad_output: x, self: x)` is `x * (x > 0 ? 1 :
/// 0.2)`, the same values bit for bit; with the mask's `self` detached, autograd
/// differentiates only through `grad_output`, to the same gradient again.
pub fn leaky_relu(x: &Tensor) -> Result<Tensor> {
    Ok(x.f_detach()?.f_leaky_relu_backward(x, 0.2, false)?)
}

/// Rows per block of [`for_row_blocks`] on the CPU.
const CPU_BLOCK_ROWS: i64 = 4096;

/// `f(x, classes)` over the rows of `x` in order, for a network that treats rows
/// independently: on the CPU in blocks of at most 4,096 rows, so that each layer's activations
/// stay in cache (sampling digits' MLPs runs about twice as fast as in blocks of 65,536), and
/// what the caller does with a block's result finds it there too. Other devices take all rows
/// at once.
pub fn for_row_blocks(
    x: &Tensor,
    classes: Option<&Tensor>,
    mut f: impl FnMut(&Tensor, Option<&Tensor>) -> Result<()>,
) -> Result<()> {
    let rows = x.size()[0];
    if rows <= CPU_BLOCK_ROWS || x.device() != tch::Device::Cpu {
        return f(x, classes);
    }
    let mut start = 0;
    while start < rows {
        let size = CPU_BLOCK_ROWS.min(rows - start);
        let block_classes = classes.map(|c| c.f_narrow(0, start, size)).transpose()?;
        f(&x.f_narrow(0, start, size)?, block_classes.as_ref())?;
        start += size;
    }
    Ok(())
}

/// [`for_row_blocks`]' results, concatenated.
pub fn in_row_blocks(
    x: &Tensor,
    classes: Option<&Tensor>,
    f: impl Fn(&Tensor, Option<&Tensor>) -> Result<Tensor>,
) -> Result<Tensor> {
    let mut parts = Vec::new();
    for_row_blocks(x, classes, |x, c| {
        parts.push(f(x, c)?);
        Ok(())
    })?;
    cat_rows(parts)
}

/// Blocks of rows as one tensor (the block itself when there is one).
pub fn cat_rows(mut parts: Vec<Tensor>) -> Result<Tensor> {
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// A fully connected layer with PyTorch's default initialisation: weights and bias uniform in
/// +-1/sqrt(in_dim), drawn from genaug's generator.
#[derive(Debug)]
pub struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    pub fn new(p: &Path, in_dim: i64, out_dim: i64) -> Result<Linear> {
        let bound = 1.0 / (in_dim.max(1) as f64).sqrt();
        let mut weight = p.zeros("weight", &[out_dim, in_dim]);
        let mut bias = p.zeros("bias", &[out_dim]);
        rng::fill_uniform(&mut weight, -bound, bound)?;
        rng::fill_uniform(&mut bias, -bound, bound)?;
        Ok(Linear { weight, bias })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_linear(&self.weight, Some(&self.bias))?)
    }

    /// `(out, in)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    pub fn bias(&self) -> &Tensor {
        &self.bias
    }
}

/// Checks that networks of these layers' widths (`[in, h1, ..., out]` each) fit in memory with
/// their gradients and optimiser moments, before any of it is allocated.
pub fn check_parameters(layers: &[Vec<i64>]) -> Result<()> {
    // Weights, gradients and two Adam moments, four bytes each.
    let bytes = linear_parameters(layers).and_then(|c| c.checked_mul(16));
    crate::limits::check_bytes(bytes, "the network's parameters")
}

/// The weights and biases of fully connected layers of these widths (`None` on overflow or a
/// negative width).
pub fn linear_parameters(layers: &[Vec<i64>]) -> Option<u128> {
    layers.iter().try_fold(0u128, |total, widths| {
        widths.windows(2).try_fold(total, |total, pair| {
            let (a, b) = (u128::try_from(pair[0]).ok()?, u128::try_from(pair[1]).ok()?);
            total.checked_add(a.checked_mul(b)?.checked_add(b)?)
        })
    })
}

/// Width of the features the conv encoder gives for `image` (also the decoder's projection).
pub fn conv_feature_width(image: ImageShape) -> i64 {
    image.feature_width()
}

/// Appends one-hot classes `(N, K)` to the features of each row (a conditional network's input).
pub fn with_classes(x: &Tensor, classes: Option<&Tensor>) -> Result<Tensor> {
    match classes {
        Some(c) => Ok(Tensor::f_cat(&[x, c], 1)?),
        None => Ok(x.shallow_clone()),
    }
}

/// An MLP's widths: `input`, then `hidden`, then `output`.
pub fn mlp_widths<'a>(
    input: i64,
    hidden: impl IntoIterator<Item = &'a i64>,
    output: i64,
) -> Vec<i64> {
    let mut widths = vec![input];
    widths.extend(hidden);
    widths.push(output);
    widths
}

/// The nonlinearity between an MLP's layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Relu,
    /// Slope 0.2, as in DCGAN discriminators.
    LeakyRelu,
}

impl Activation {
    /// The activation of `x`, a layer's fresh output: ReLU overwrites it (autograd keeps what
    /// it needs of an in-place ReLU, and sampling is spared one allocation per layer).
    fn apply(self, mut x: Tensor) -> Result<Tensor> {
        match self {
            Activation::Relu => {
                let _ = x.f_relu_()?;
                Ok(x)
            }
            Activation::LeakyRelu => leaky_relu(&x),
        }
    }
}

/// Linear layers with an activation between them and none after the last.
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    activation: Activation,
}

impl Mlp {
    /// `widths` runs from the input width to the output width: `[in, h1, ..., out]`; ReLU.
    pub fn new(p: &Path, widths: &[i64]) -> Result<Mlp> {
        Mlp::with_activation(p, widths, Activation::Relu)
    }

    pub fn with_activation(p: &Path, widths: &[i64], activation: Activation) -> Result<Mlp> {
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, pair)| Linear::new(&(p / i), pair[0], pair[1]))
            .collect::<Result<_>>()?;
        Ok(Mlp { layers, activation })
    }

    pub fn layers(&self) -> &[Linear] {
        &self.layers
    }

    pub fn activation(&self) -> Activation {
        self.activation
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.shallow_clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = self.activation.apply(h)?;
            }
        }
        Ok(h)
    }
}

/// The trainable variables whose names start with `prefix`, sorted by name.
pub fn trainable_under(vs: &nn::VarStore, prefix: &str) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(name, var)| name.starts_with(prefix) && var.requires_grad())
        .collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// DCGAN's initialisation: every weight matrix and kernel N(0, 0.02), batch-norm scales
/// N(1, 0.02), biases zero.
pub fn dcgan_init(vs: &nn::VarStore) -> Result<()> {
    let _guard = tch::no_grad_guard();
    for (name, mut var) in trainable_under(vs, "") {
        if name.ends_with("bias") {
            let _ = var.f_zero_()?;
        } else if var.dim() >= 2 {
            rng::fill_normal(&mut var, 0.0, 0.02)?;
        } else {
            rng::fill_normal(&mut var, 1.0, 0.02)?;
        }
    }
    Ok(())
}

/// A 2-d (transposed) convolution with kernel 4, stride 2, padding 1: halves (doubles) H and W.
#[derive(Debug)]
struct Conv {
    weight: Tensor,
    bias: Tensor,
    transposed: bool,
}

impl Conv {
    fn new(p: &Path, in_channels: i64, out_channels: i64, transposed: bool) -> Result<Conv> {
        let dims = if transposed {
            [in_channels, out_channels, 4, 4]
        } else {
            [out_channels, in_channels, 4, 4]
        };
        let mut weight = p.zeros("weight", &dims);
        rng::fill_normal(&mut weight, 0.0, 0.02)?;
        Ok(Conv {
            weight,
            bias: p.zeros("bias", &[out_channels]),
            transposed,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = if self.transposed {
            x.f_conv_transpose2d(
                &self.weight,
                Some(&self.bias),
                [2, 2],
                [1, 1],
                [0, 0],
                1,
                [1, 1],
            )?
        } else {
            x.f_conv2d(&self.weight, Some(&self.bias), [2, 2], [1, 1], [1, 1], 1)?
        };
        Ok(y)
    }
}

/// 2-d batch norm with running statistics (saved with the weights).
#[derive(Debug)]
struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
}

impl BatchNorm {
    fn new(p: &Path, channels: i64) -> Result<BatchNorm> {
        let mut weight = p.zeros("weight", &[channels]);
        rng::fill_normal(&mut weight, 1.0, 0.02)?;
        Ok(BatchNorm {
            weight,
            bias: p.zeros("bias", &[channels]),
            running_mean: p.zeros_no_train("running_mean", &[channels]),
            running_var: p.ones_no_train("running_var", &[channels]),
        })
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(x.f_batch_norm(
            Some(&self.weight),
            Some(&self.bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            0.1,
            1e-5,
            false,
        )?)
    }
}

/// Image geometry for the conv nets: both sides must be multiples of 4 and at least 16.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImageShape {
    pub channels: i64,
    pub height: i64,
    pub width: i64,
}

impl ImageShape {
    /// The image geometry of a sample shape `(H, W)` or `(C, H, W)`, if the conv nets can take it.
    pub fn of(sample_shape: &[usize]) -> Option<ImageShape> {
        let (channels, height, width) = match *sample_shape {
            [h, w] => (1, h, w),
            [c, h, w] => (c, h, w),
            _ => return None,
        };
        let fits = |side: usize| side >= 16 && side.is_multiple_of(4);
        (fits(height) && fits(width)).then_some(ImageShape {
            channels: channels as i64,
            height: height as i64,
            width: width as i64,
        })
    }

    /// Width of the flattened feature map after two stride-2 convolutions with 64 channels.
    fn feature_width(&self) -> i64 {
        64 * (self.height / 4) * (self.width / 4)
    }
}

/// Which network family a model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Conv nets for images both of whose sides are multiples of 4 and at least 16, else an MLP.
    Auto,
    Mlp,
    Conv,
}

impl Arch {
    pub fn parse(name: &str) -> crate::error::Result<Arch> {
        match name {
            "auto" => Ok(Arch::Auto),
            "mlp" => Ok(Arch::Mlp),
            "conv" => Ok(Arch::Conv),
            other => Err(crate::error::Error::Parameter(format!(
                "unknown arch {other:?}: expected \"auto\", \"mlp\" or \"conv\""
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::Auto => "auto",
            Arch::Mlp => "mlp",
            Arch::Conv => "conv",
        }
    }

    /// The image geometry the conv nets will use for samples of `sample_shape`, or `None` for an MLP.
    pub fn resolve(self, sample_shape: &[usize]) -> crate::error::Result<Option<ImageShape>> {
        let image = ImageShape::of(sample_shape);
        match self {
            Arch::Mlp => Ok(None),
            Arch::Auto => Ok(image),
            Arch::Conv => image.map(Some).ok_or_else(|| {
                crate::error::Error::Shape(format!(
                    "arch=\"conv\" needs images of shape (N, H, W) or (N, C, H, W) with H and W multiples of 4 and at least 16; got samples of shape {sample_shape:?}"
                ))
            }),
        }
    }
}

/// DCGAN-style encoder: conv(C->32) LeakyReLU, conv(32->64) [BN] LeakyReLU, flattened. A
/// WGAN-GP critic goes without the batch norm, whose cross-row coupling breaks the per-row
/// gradient penalty.
#[derive(Debug)]
pub struct ConvEncoder {
    image: ImageShape,
    conv1: Conv,
    conv2: Conv,
    norm2: Option<BatchNorm>,
}

impl ConvEncoder {
    pub fn new(p: &Path, image: ImageShape, batch_norm: bool) -> Result<ConvEncoder> {
        Ok(ConvEncoder {
            image,
            conv1: Conv::new(&(p / "conv1"), image.channels, 32, false)?,
            conv2: Conv::new(&(p / "conv2"), 32, 64, false)?,
            norm2: batch_norm
                .then(|| BatchNorm::new(&(p / "norm2"), 64))
                .transpose()?,
        })
    }

    pub fn output_width(&self) -> i64 {
        self.image.feature_width()
    }

    /// `(N, C*H*W)` -> `(N, output_width)`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let ImageShape {
            channels,
            height,
            width,
        } = self.image;
        let x = x.f_view([-1, channels, height, width])?;
        let h = leaky_relu(&self.conv1.forward(&x)?)?;
        let mut h = self.conv2.forward(&h)?;
        if let Some(norm) = &self.norm2 {
            h = norm.forward(&h, train)?;
        }
        let h = leaky_relu(&h)?;
        Ok(h.f_flatten(1, -1)?)
    }
}

/// DCGAN-style decoder: linear -> (64, H/4, W/4), convT(64->32) BN ReLU, convT(32->C), flattened
/// logits.
#[derive(Debug)]
pub struct ConvDecoder {
    image: ImageShape,
    project: Linear,
    norm0: BatchNorm,
    deconv1: Conv,
    norm1: BatchNorm,
    deconv2: Conv,
}

impl ConvDecoder {
    pub fn new(p: &Path, input_width: i64, image: ImageShape) -> Result<ConvDecoder> {
        Ok(ConvDecoder {
            image,
            project: Linear::new(&(p / "project"), input_width, image.feature_width())?,
            norm0: BatchNorm::new(&(p / "norm0"), 64)?,
            deconv1: Conv::new(&(p / "deconv1"), 64, 32, true)?,
            norm1: BatchNorm::new(&(p / "norm1"), 32)?,
            deconv2: Conv::new(&(p / "deconv2"), 32, image.channels, true)?,
        })
    }

    /// `(N, input_width)` -> `(N, C*H*W)` logits.
    pub fn forward(&self, z: &Tensor, train: bool) -> Result<Tensor> {
        let ImageShape { height, width, .. } = self.image;
        let h = self
            .project
            .forward(z)?
            .f_view([-1, 64, height / 4, width / 4])?;
        let h = self.norm0.forward(&h, train)?.f_relu()?;
        let h = self
            .norm1
            .forward(&self.deconv1.forward(&h)?, train)?
            .f_relu()?;
        Ok(self.deconv2.forward(&h)?.f_flatten(1, -1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn leaky_relu_is_prelu_with_slope_0_2_to_the_bit() {
        let values = [-3.0f32, -0.5, -0.0, 0.0, 1e-30, 0.7, 2.5, -1e-3];
        let grad_out = Tensor::from_slice(&[0.3f32, -1.2, 2.0, 0.5, -0.7, 1.1, 0.9, -2.2]);
        let run = |f: &dyn Fn(&Tensor) -> Tensor| {
            let x = Tensor::from_slice(&values).set_requires_grad(true);
            let y = f(&x);
            (&y * &grad_out).sum(Kind::Float).backward();
            (
                Vec::<f32>::try_from(y.detach()).unwrap(),
                Vec::<f32>::try_from(x.grad()).unwrap(),
            )
        };
        let ours = run(&|x| leaky_relu(x).unwrap());
        let prelu = run(&|x| x.prelu(&Tensor::from_slice(&[0.2f32])));
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&ours.0), bits(&prelu.0));
        assert_eq!(bits(&ours.1), bits(&prelu.1));
    }

    #[test]
    fn row_blocks_give_the_rows_of_one_call() {
        let x = Tensor::randn([10_000, 3], (Kind::Float, Device::Cpu));
        let classes = Tensor::randn([10_000, 2], (Kind::Float, Device::Cpu));
        let f = |x: &Tensor, c: Option<&Tensor>| -> Result<Tensor> {
            Ok(x.sum_dim_intlist(1, true, Kind::Float)
                * c.unwrap().sum_dim_intlist(1, true, Kind::Float))
        };
        let whole = f(&x, Some(&classes)).unwrap();
        assert!(in_row_blocks(&x, Some(&classes), f).unwrap().equal(&whole));
    }

    #[test]
    fn mlp_maps_widths() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mlp = rng::with_seed(0, || {
            Mlp::with_activation(&vs.root(), &[5, 8, 3], Activation::LeakyRelu)
        })
        .unwrap();
        let y = mlp
            .forward(&Tensor::zeros([4, 5], (Kind::Float, Device::Cpu)))
            .unwrap();
        assert_eq!(y.size(), vec![4, 3]);
        assert!(mlp
            .forward(&Tensor::zeros([4, 6], (Kind::Float, Device::Cpu)))
            .is_err());
    }

    #[test]
    fn image_shape_needs_multiples_of_four() {
        assert_eq!(
            ImageShape::of(&[28, 28]),
            Some(ImageShape {
                channels: 1,
                height: 28,
                width: 28
            })
        );
        assert_eq!(ImageShape::of(&[3, 32, 16]).map(|s| s.channels), Some(3));
        assert_eq!(ImageShape::of(&[8, 8]), None);
        assert_eq!(ImageShape::of(&[30, 30]), None);
        assert_eq!(ImageShape::of(&[64]), None);
    }

    #[test]
    fn arch_resolves_by_image_size() {
        assert_eq!(Arch::parse("conv").unwrap(), Arch::Conv);
        assert!(Arch::parse("resnet").is_err());
        assert!(Arch::Auto.resolve(&[8, 8]).unwrap().is_none());
        assert!(Arch::Auto.resolve(&[1, 28, 28]).unwrap().is_some());
        assert!(Arch::Mlp.resolve(&[1, 28, 28]).unwrap().is_none());
        assert!(Arch::Conv.resolve(&[64]).is_err());
    }

    #[test]
    fn conv_encoder_and_decoder_round_shapes() {
        let vs = nn::VarStore::new(Device::Cpu);
        let image = ImageShape {
            channels: 3,
            height: 16,
            width: 20,
        };
        let (encoder, decoder) = rng::with_seed(0, || {
            Ok::<_, crate::error::Error>((
                ConvEncoder::new(&(vs.root() / "enc"), image, true)?,
                ConvDecoder::new(&(vs.root() / "dec"), 7, image)?,
            ))
        })
        .unwrap();
        let x = Tensor::zeros([2, 3 * 16 * 20], (Kind::Float, Device::Cpu));
        let h = encoder.forward(&x, true).unwrap();
        assert_eq!(h.size(), vec![2, encoder.output_width()]);
        let y = decoder
            .forward(&Tensor::zeros([2, 7], (Kind::Float, Device::Cpu)), false)
            .unwrap();
        assert_eq!(y.size(), vec![2, 3 * 16 * 20]);
    }
}
