//! Device selection: `"auto" | "cpu" | "cuda" | "cuda:N"`.

use crate::error::{Error, Result};
use tch::{Cuda, Device};

/// Parses a device string; `"auto"` picks the first CUDA device when libtorch sees one.
pub fn parse_device(spec: &str) -> Result<Device> {
    let spec = spec.trim().to_ascii_lowercase();
    match spec.as_str() {
        "auto" => Ok(Device::cuda_if_available()),
        "cpu" => Ok(Device::Cpu),
        "cuda" => cuda(0),
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(index)) => cuda(index),
            _ => Err(Error::Parameter(format!(
                "unknown device {spec:?}: expected \"auto\", \"cpu\", \"cuda\" or \"cuda:N\""
            ))),
        },
    }
}

fn cuda(index: usize) -> Result<Device> {
    let count = if Cuda::is_available() {
        Cuda::device_count() as usize
    } else {
        0
    };
    if index < count {
        Ok(Device::Cuda(index))
    } else {
        Err(Error::Device(format!(
            "device cuda:{index} requested, but libtorch sees {count} CUDA device(s)"
        )))
    }
}

/// The canonical name of a device, as accepted by [`parse_device`].
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(index) => format!("cuda:{index}"),
        _ => "cpu".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_auto() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert_eq!(parse_device(" CPU ").unwrap(), Device::Cpu);
        let auto = parse_device("auto").unwrap();
        assert_eq!(auto.is_cuda(), Cuda::is_available());
    }

    #[test]
    fn rejects_unknown_and_missing_devices() {
        assert!(matches!(parse_device("tpu"), Err(Error::Parameter(_))));
        assert!(matches!(parse_device("cuda:x"), Err(Error::Parameter(_))));
        assert!(matches!(parse_device("cuda:999"), Err(Error::Device(_))));
    }
}
