//! genaug: generative data augmentation (VAEs and GANs over libtorch) for NumPy pipelines.
//!
//! The pure-Rust core lives in the top-level modules; `py` holds the thin PyO3 bindings.

pub mod augment;
pub mod budget;
pub mod checkpoint;
pub mod data;
pub mod denormals;
pub mod device;
pub mod error;
pub mod fused_adam;
pub mod gan;
pub mod gan_step;
pub mod handle;
pub mod impute;
pub mod inference;
pub mod latent_prior;
pub mod limits;
pub mod metrics;
pub mod mlp_by_hand;
pub mod model;
pub mod nets;
pub mod optim;
pub mod rng;
pub mod schema;
pub mod seed;
pub mod tensor_slices;
pub mod train;
pub mod vae;
pub mod vae_step;

#[cfg(feature = "python")]
mod py;

pub use error::{Error, Result};

#[cfg(feature = "python")]
#[pyo3::pymodule]
mod _core {
    #[pymodule_export]
    use crate::py::gan::PyGan;
    #[pymodule_export]
    use crate::py::metrics::_metric;
    #[pymodule_export]
    use crate::py::vae::PyVae;
    #[pymodule_export]
    use crate::py::{
        _after_fork, _after_fork_in_child, _before_fork, cuda_is_available, from_bytes, load,
    };
}
