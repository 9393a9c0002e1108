//! What the Rust benchmarks share: their settings from the environment,
//! medians and spreads, and the time to a stream's first bytes. Included
//! by each (`#[path]`), beside `tests/it/common.rs`.

use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::common::Server;

/// A number from the environment, else `default`.
pub fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The median (sorts `v`).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// `min–max`, one decimal.
pub fn spread(v: &[f64]) -> String {
    let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = v.iter().cloned().fold(0.0, f64::max);
    format!("{min:.1}–{max:.1}")
}

/// Time to the first chunk of `url` from byte `from` (a 206).
pub async fn first_chunk(server: &Server, url: &str, from: u64) -> Duration {
    let t0 = Instant::now();
    let r = server
        .http
        .get(url)
        .header("range", format!("bytes={from}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    r.bytes_stream().next().await.unwrap().unwrap();
    t0.elapsed()
}
