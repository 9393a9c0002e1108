//! The disk budget (`storage.max-disk-usage`) as far as one torrent goes:
//! a torrent larger than the whole budget can never be kept, so it is
//! refused before anything is written, with both sizes named. Pure.
//! (Which torrents are evicted to stay within it is `torrents::eviction`.)

/// A size as a person reads it: "3.0 MiB", "50 GiB", "512 B".
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Why a torrent of `total` bytes cannot be added under a budget of
/// `budget` bytes; `None` when it fits.
pub fn refusal(total: u64, budget: u64) -> Option<String> {
    (total > budget).then(|| {
        format!(
            "this torrent is {} — more than the whole disk budget of {} (storage.max-disk-usage)",
            human(total),
            human(budget)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(3 * 1024 * 1024 + 11), "3.0 MiB");
        assert_eq!(human(50 << 30), "50 GiB");
        assert_eq!(human(1536), "1.5 KiB");
    }

    #[test]
    fn a_torrent_larger_than_the_budget_is_refused_naming_both() {
        assert_eq!(refusal(1 << 20, 1 << 20), None);
        let why = refusal((3 << 20) + 5, 1 << 20).unwrap();
        assert!(why.contains("3.0 MiB") && why.contains("1 MiB"), "{why}");
        assert!(why.contains("storage.max-disk-usage"), "{why}");
    }
}
