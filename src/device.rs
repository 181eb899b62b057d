//! Device selection: `"auto" | "cpu" | "cuda" | "cuda:N"`.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use tch::{Cuda, Device};

/// Whether this process has put anything on a GPU (then a forked child cannot).
static CUDA_STARTED: AtomicBool = AtomicBool::new(false);
/// Whether this process was forked from one that had started CUDA, which a child cannot use.
static CUDA_LOST_IN_FORK: AtomicBool = AtomicBool::new(false);

/// In a child just forked: CUDA is lost to it if the parent had started it, through genaug or
/// through torch (`torch_started`).
pub fn after_fork_in_child(torch_started: bool) {
    if torch_started || CUDA_STARTED.load(Ordering::Relaxed) {
        CUDA_LOST_IN_FORK.store(true, Ordering::Relaxed);
    }
}

/// Refuses a GPU in a process forked after CUDA started, where libtorch would fail with a bare
/// "initialization error"; notes any other use of a GPU.
pub fn check_usable(device: Device) -> Result<()> {
    if device.is_cuda() {
        refuse_if_lost(device)?;
        CUDA_STARTED.store(true, Ordering::Relaxed);
    }
    Ok(())
}

fn refuse_if_lost(device: Device) -> Result<()> {
    if CUDA_LOST_IN_FORK.load(Ordering::Relaxed) {
        return Err(Error::Device(format!(
            "{} cannot be used in this process: it was forked from one that had started CUDA \
             (a DataLoader worker or process pool started with \"fork\"). Start workers with \
             multiprocessing_context=\"spawn\" (or mp_context for a pool), or move the model \
             with model.to(\"cpu\") before they start",
            device_name(device)
        )));
    }
    Ok(())
}

/// Parses a device string; `"auto"` picks the first CUDA device when libtorch sees one and
/// this process can use it.
pub fn parse_device(spec: &str) -> Result<Device> {
    let spec = spec.trim().to_ascii_lowercase();
    match spec.as_str() {
        "auto" if CUDA_LOST_IN_FORK.load(Ordering::Relaxed) => Ok(Device::Cpu),
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
    let device = Device::Cuda(index);
    // Before libtorch is asked anything: a forked child must not touch CUDA at all.
    refuse_if_lost(device)?;
    let count = if Cuda::is_available() {
        Cuda::device_count() as usize
    } else {
        0
    };
    if index < count {
        check_usable(device)?;
        Ok(device)
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
