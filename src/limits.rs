//! What fits in memory: every size a caller controls is checked here, with overflow-checked
//! arithmetic, before anything of that size is allocated, so that an absurd request is an error
//! rather than an allocation failure that aborts the interpreter.

use crate::error::{Error, Result};
use std::sync::OnceLock;

/// The machine's physical memory in bytes (Linux: `MemTotal`); where it cannot be read, a
/// generous 1 TiB, which still stops sizes that overflow or could never be allocated.
pub fn physical_memory() -> u128 {
    static MEMORY: OnceLock<u128> = OnceLock::new();
    *MEMORY.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| {
                let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
                let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
                Some(kib * 1024)
            })
            .unwrap_or(1 << 40)
    })
}

/// Human-readable bytes.
fn describe(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `bytes` (`None`: the size computation overflowed) must fit in physical memory.
pub fn check_bytes(bytes: Option<u128>, what: &str) -> Result<()> {
    let limit = physical_memory();
    match bytes {
        Some(bytes) if bytes <= limit => Ok(()),
        Some(bytes) => Err(Error::Size(format!(
            "{what} would take {} ({bytes} bytes), more than this machine's {} of memory",
            describe(bytes),
            describe(limit)
        ))),
        None => Err(Error::Size(format!(
            "{what} would take more bytes than can be counted: the requested size overflows"
        ))),
    }
}

/// An array of `rows` rows of `width` values of `item` bytes each must fit in memory; returns
/// its element count.
pub fn check_array(rows: u128, width: u128, item: u128, what: &str) -> Result<usize> {
    let count = rows.checked_mul(width);
    check_bytes(count.and_then(|c| c.checked_mul(item.max(1))), what)?;
    usize::try_from(count.unwrap_or(u128::MAX)).map_err(|_| {
        Error::Size(format!(
            "{what} has more elements than this machine can index"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_sizes_are_errors_naming_the_size() {
        assert!(check_array(10, 64, 8, "x").is_ok());
        let err = check_array(10u128.pow(10), 64, 8, "sample(n)").unwrap_err();
        assert!(
            matches!(err, Error::Size(ref m) if m.contains("5120000000000 bytes")),
            "{err}"
        );
        let err = check_array(u128::MAX, 2, 8, "x").unwrap_err();
        assert!(err.to_string().contains("overflows"), "{err}");
    }
}
