//! One error type for the whole crate, and its mapping onto the Python exception hierarchy
//! defined in `python/genaug/exceptions.py`.

/// Everything that can go wrong in genaug. Each variant names the Python exception it becomes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Wrong rank, wrong feature shape, empty data: `genaug.ShapeError` (a `ValueError`).
    #[error("{0}")]
    Shape(String),
    /// NaN/Inf or an unsupported dtype: `genaug.DataError` (a `ValueError`).
    #[error("{0}")]
    Data(String),
    /// Labels of the wrong length or type, unknown classes: `genaug.LabelError` (a `ValueError`).
    #[error("{0}")]
    Label(String),
    /// An argument out of its domain (`n < 0`, unknown `arch`): `genaug.ParameterError` (a `ValueError`).
    #[error("{0}")]
    Parameter(String),
    /// Sampling, encoding or saving before `fit`: `genaug.NotFittedError`.
    #[error("{0}")]
    NotFitted(String),
    /// A missing, truncated, corrupt or foreign checkpoint: `genaug.CheckpointError`.
    #[error("{0}")]
    Checkpoint(String),
    /// A loss became NaN or Inf: `genaug.TrainingDivergedError` (a `RuntimeError`).
    #[error("training diverged at epoch {epoch}: {what} is not finite; the model keeps the weights of its last finite epoch, if any")]
    Diverged { epoch: usize, what: String },
    /// A request whose result cannot fit in memory (or whose size overflows), refused before
    /// anything is allocated: `genaug.SizeError` (a `MemoryError`).
    #[error("{0}")]
    Size(String),
    /// The requested device does not exist here: `genaug.DeviceError` (a `RuntimeError`).
    #[error("{0}")]
    Device(String),
    /// The model is in use in a way that would never end (its own fit callback waiting on it):
    /// `genaug.ModelBusyError` (a `RuntimeError`).
    #[error("{0}")]
    Busy(String),
    /// Training was stopped from outside (Ctrl-C); the caller knows why and re-raises its own error.
    #[error("interrupted")]
    Interrupted,
    /// libtorch refused an operation that validation should have caught: `genaug.GenaugError`.
    #[error("libtorch error: {0}")]
    Torch(#[from] tch::TchError),
    /// A bug: an operation panicked. Reported rather than crashing the interpreter.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The name of the Python exception class in `genaug.exceptions` this error becomes.
    pub fn python_class(&self) -> &'static str {
        match self {
            Error::Shape(_) => "ShapeError",
            Error::Data(_) => "DataError",
            Error::Label(_) => "LabelError",
            Error::Parameter(_) => "ParameterError",
            Error::NotFitted(_) => "NotFittedError",
            Error::Checkpoint(_) => "CheckpointError",
            Error::Diverged { .. } => "TrainingDivergedError",
            Error::Size(_) => "SizeError",
            Error::Device(_) => "DeviceError",
            Error::Busy(_) => "ModelBusyError",
            Error::Interrupted | Error::Torch(_) | Error::Internal(_) => "GenaugError",
        }
    }
}

#[cfg(feature = "python")]
impl From<Error> for pyo3::PyErr {
    fn from(err: Error) -> pyo3::PyErr {
        use pyo3::prelude::*;
        let message = err.to_string();
        Python::attach(|py| {
            let class = py
                .import("genaug.exceptions")
                .and_then(|module| module.getattr(err.python_class()));
            match class.and_then(|class| class.call1((message.clone(),))) {
                Ok(instance) => PyErr::from_value(instance),
                Err(import_failure) => import_failure,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverged_message_names_the_epoch() {
        let err = Error::Diverged {
            epoch: 7,
            what: "loss".into(),
        };
        assert!(err.to_string().contains("epoch 7"));
        assert_eq!(err.python_class(), "TrainingDivergedError");
    }
}
