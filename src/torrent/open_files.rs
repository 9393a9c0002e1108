//! The open-file budget: the engine keeps every file of a torrent open
//! while it has the torrent, so a torrent of more files than the process
//! may still open fails half-way (empty files left behind). At start the
//! soft limit is raised to the hard one (as servers do); before an add,
//! the files are counted against what is left. `refusal` is pure;
//! `raise_limit` and `room` read the process's limit and open files.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Files left for sockets (peers, TVs, the web app) and the catalog.
pub const RESERVE: u64 = 1024;

/// Raise the soft open-file limit to the hard one; the limit then.
pub fn raise_limit() -> Option<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        tracing::debug!(from = soft, to = hard, "open-file limit raised");
        return Some(hard);
    }
    Some(soft)
}

/// The open-file limit and how many files are open now.
pub fn usage() -> Option<(u64, u64)> {
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some((soft, open))
}

/// Why a torrent of `files` files cannot be added, given the limit and
/// the files open now; `None` when it fits.
pub fn refusal(files: usize, limit: u64, open: u64) -> Option<String> {
    let room = limit.saturating_sub(open.saturating_add(RESERVE));
    (files as u64 > room).then(|| {
        format!(
            "this torrent has {files} files and this server can open {room} more \
             (its limit is {limit} open files; raise it, e.g. LimitNOFILE in the systemd unit)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torrent_fits_what_is_left_after_the_reserve() {
        assert_eq!(refusal(10_000, 65_536, 100), None);
        let no = refusal(100_000, 20_000, 50).unwrap();
        assert!(
            no.contains("100000 files") && no.contains("18926 more"),
            "{no}"
        );
        assert!(no.contains("limit is 20000"), "{no}");
        assert!(refusal(1, 1000, 10).is_some(), "the reserve is kept");
    }

    #[test]
    fn the_process_limit_is_read() {
        let (limit, open) = usage().unwrap();
        assert!(limit > 0 && open > 0 && open < limit);
    }
}
