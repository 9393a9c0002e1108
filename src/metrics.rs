//! What `GET /metrics` reports, in the Prometheus text format. `Metrics`
//! holds what is counted where it happens (bytes served, time to first
//! byte, evictions, each search provider's answers and latency); gauges
//! (streams, torrents, peers, rates, disk, catalog, GENA subscribers) are
//! read by the HTTP driver at scrape time. `Exposition` writes a scrape:
//! pure, escaped label values, one HELP and TYPE per family.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::sync::Locked;

/// Upper bounds (seconds) of the time-to-first-byte histogram.
const TTFB_BOUNDS: [f64; 8] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Counters kept while the server runs (all start at zero).
#[derive(Default)]
pub struct Metrics {
    bytes_served: AtomicU64,
    streams: AtomicU64,
    stalls: AtomicU64,
    stalled_us: AtomicU64,
    evictions: AtomicU64,
    /// Streams whose first byte took at most each bound (cumulative is
    /// made when written), and the sum in microseconds.
    ttfb_buckets: [AtomicU64; TTFB_BOUNDS.len()],
    ttfb_sum_us: AtomicU64,
    providers: Mutex<BTreeMap<String, ProviderFigures>>,
}

/// How a search provider answered so far.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct ProviderFigures {
    ok: u64,
    errors: u64,
    seconds: f64,
}

impl Metrics {
    /// A stream opened and sent its first byte after `wait`.
    pub fn first_byte(&self, wait: Duration) {
        self.streams.fetch_add(1, Ordering::Relaxed);
        self.ttfb_sum_us
            .fetch_add(wait.as_micros() as u64, Ordering::Relaxed);
        let secs = wait.as_secs_f64();
        if let Some(i) = TTFB_BOUNDS.iter().position(|b| secs <= *b) {
            self.ttfb_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A player's read waited on the swarm this long (`playback::stalls`).
    pub fn stalled(&self, waited: Duration) {
        self.stalls.fetch_add(1, Ordering::Relaxed);
        self.stalled_us
            .fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
    }

    /// Bytes of media sent to a player.
    pub fn served(&self, bytes: u64) {
        self.bytes_served.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A torrent's data was evicted for the disk budget.
    pub fn evicted(&self) {
        self.evictions.fetch_add(1, Ordering::Relaxed);
    }

    /// A search provider answered (`ok`) or failed, after `took`.
    pub fn provider(&self, name: &str, ok: bool, took: Duration) {
        let mut all = self.providers.locked();
        let f = all.entry(name.to_owned()).or_default();
        if ok {
            f.ok += 1;
        } else {
            f.errors += 1;
        }
        f.seconds += took.as_secs_f64();
    }

    /// Write the counters into a scrape.
    pub fn write(&self, out: &mut Exposition) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.counter(
            "swarmcast_served_bytes_total",
            "Media bytes sent to players.",
            &[],
            get(&self.bytes_served) as f64,
        );
        out.counter(
            "swarmcast_stalls_total",
            "Player reads that waited on the swarm longer than 1 s.",
            &[],
            get(&self.stalls) as f64,
        );
        out.counter(
            "swarmcast_stalled_seconds_total",
            "Time player reads spent waiting on the swarm in those stalls.",
            &[],
            get(&self.stalled_us) as f64 / 1e6,
        );
        out.counter(
            "swarmcast_evictions_total",
            "Torrents whose data was evicted to keep storage.max-disk-usage.",
            &[],
            get(&self.evictions) as f64,
        );
        let mut cumulative = 0;
        let buckets: Vec<(f64, u64)> = TTFB_BOUNDS
            .iter()
            .zip(&self.ttfb_buckets)
            .map(|(b, n)| {
                cumulative += get(n);
                (*b, cumulative)
            })
            .collect();
        out.histogram(
            "swarmcast_first_byte_seconds",
            "From a stream's request to its first byte sent.",
            &buckets,
            get(&self.ttfb_sum_us) as f64 / 1e6,
            get(&self.streams),
        );
        let providers = self.providers.locked().clone();
        for (name, f) in &providers {
            for (outcome, n) in [("ok", f.ok), ("error", f.errors)] {
                out.counter(
                    "swarmcast_provider_answers_total",
                    "Search provider answers, by provider and outcome.",
                    &[("provider", name), ("outcome", outcome)],
                    n as f64,
                );
            }
            out.counter(
                "swarmcast_provider_seconds_total",
                "Time search providers took to answer or fail, by provider.",
                &[("provider", name)],
                f.seconds,
            );
        }
    }
}

/// A scrape being written: families in the order first written, each with
/// its HELP and TYPE once.
#[derive(Default)]
pub struct Exposition {
    text: String,
    seen: Vec<&'static str>,
}

impl Exposition {
    pub fn gauge(&mut self, name: &'static str, help: &str, labels: &[(&str, &str)], v: f64) {
        self.family(name, help, "gauge");
        self.sample(name, labels, v);
    }

    pub fn counter(&mut self, name: &'static str, help: &str, labels: &[(&str, &str)], v: f64) {
        self.family(name, help, "counter");
        self.sample(name, labels, v);
    }

    /// A histogram from its cumulative buckets (upper bound, count).
    pub fn histogram(
        &mut self,
        name: &'static str,
        help: &str,
        buckets: &[(f64, u64)],
        sum: f64,
        count: u64,
    ) {
        self.family(name, help, "histogram");
        for (bound, n) in buckets {
            let le = format!("{bound}");
            self.sample(&format!("{name}_bucket"), &[("le", &le)], *n as f64);
        }
        self.sample(&format!("{name}_bucket"), &[("le", "+Inf")], count as f64);
        self.sample(&format!("{name}_sum"), &[], sum);
        self.sample(&format!("{name}_count"), &[], count as f64);
    }

    fn family(&mut self, name: &'static str, help: &str, kind: &str) {
        if !self.seen.contains(&name) {
            self.seen.push(name);
            let help = help.replace('\\', "\\\\").replace('\n', "\\n");
            let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            let inner: Vec<String> = labels
                .iter()
                .map(|(k, val)| {
                    let val = val
                        .replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .replace('\n', "\\n");
                    format!("{k}=\"{val}\"")
                })
                .collect();
            let _ = write!(self.text, "{{{}}}", inner.join(","));
        }
        let _ = writeln!(self.text, " {v}");
    }

    pub fn into_text(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_has_one_help_per_family_and_escaped_labels() {
        let m = Metrics::default();
        m.served(1000);
        m.first_byte(Duration::from_millis(80));
        m.first_byte(Duration::from_secs(30));
        m.provider("say \"hi\"\\", true, Duration::from_millis(500));
        m.provider("say \"hi\"\\", false, Duration::from_millis(250));
        let mut out = Exposition::default();
        out.gauge("swarmcast_torrents", "Torrents.", &[], 2.0);
        m.write(&mut out);
        let text = out.into_text();
        assert!(
            text.contains("swarmcast_served_bytes_total 1000\n"),
            "{text}"
        );
        assert!(text.contains("swarmcast_first_byte_seconds_bucket{le=\"0.05\"} 0\n"));
        assert!(text.contains("swarmcast_first_byte_seconds_bucket{le=\"0.1\"} 1\n"));
        assert!(text.contains("swarmcast_first_byte_seconds_bucket{le=\"10\"} 1\n"));
        assert!(text.contains("swarmcast_first_byte_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("swarmcast_first_byte_seconds_count 2\n"));
        assert!(text.contains(
            "swarmcast_provider_answers_total{provider=\"say \\\"hi\\\"\\\\\",outcome=\"error\"} 1\n"
        ));
        assert_eq!(
            text.matches("# TYPE swarmcast_provider_answers_total")
                .count(),
            1
        );
        assert!(text
            .contains("swarmcast_provider_seconds_total{provider=\"say \\\"hi\\\"\\\\\"} 0.75\n"));
    }
}
