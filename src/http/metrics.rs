//! `GET /metrics`: the server's figures in the Prometheus text format, for
//! `web.allow` sources only (the permission layer). Counters come from
//! `metrics::Metrics`; gauges are read now from the services: streams,
//! torrents, peers, rates, disk used against the budget, the catalog's
//! size, GENA subscribers.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::{ApiError, HttpState};
use crate::metrics::Exposition;

pub async fn serve(State(s): State<HttpState>) -> Result<impl IntoResponse, ApiError> {
    let torrents = s.torrents.headers().await?;
    let mut out = Exposition::default();
    out.gauge(
        "swarmcast_streams_open",
        "Media streams open now.",
        &[],
        s.playback.streams_open() as f64,
    );
    let loaded: Vec<_> = torrents.iter().filter_map(|(_, p)| p.as_ref()).collect();
    out.gauge(
        "swarmcast_torrents",
        "Torrents added (evicted ones included).",
        &[],
        torrents.len() as f64,
    );
    let sum =
        |f: fn(&crate::torrent::Progress) -> u64| loaded.iter().map(|p| f(p)).sum::<u64>() as f64;
    out.gauge(
        "swarmcast_peers",
        "Peers connected, over every torrent.",
        &[],
        sum(|p| u64::from(p.peers)),
    );
    out.gauge(
        "swarmcast_download_bytes_per_second",
        "Download rate, over every torrent.",
        &[],
        sum(|p| p.download_bytes_per_sec),
    );
    out.gauge(
        "swarmcast_upload_bytes_per_second",
        "Upload rate, over every torrent.",
        &[],
        sum(|p| p.upload_bytes_per_sec),
    );
    out.gauge(
        "swarmcast_disk_used_bytes",
        "Verified torrent data on disk.",
        &[],
        sum(|p| p.bytes_done),
    );
    out.gauge(
        "swarmcast_disk_budget_bytes",
        "storage.max-disk-usage.",
        &[],
        s.disk_budget as f64,
    );
    let catalog = s.torrents.catalog_bytes().await?;
    out.gauge(
        "swarmcast_catalog_bytes",
        "Size of the catalog database.",
        &[],
        catalog as f64,
    );
    out.gauge(
        "swarmcast_gena_subscribers",
        "TVs subscribed to change events.",
        &[],
        s.events.subscribers() as f64,
    );
    s.metrics.write(&mut out);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out.into_text(),
    ))
}
