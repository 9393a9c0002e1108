//! `GET /web/progress`: every torrent's row as server-sent events, from
//! `playback::progress::ProgressFeed` (which polls; this only writes).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};

use super::library::{row_with, TorrentRow};
use crate::playback::progress::{ProgressFeed, TorrentNow};

/// `GET /web/progress`: every torrent's progress as server-sent events —
/// the list as it is now, then a message whenever the feed sees it change,
/// and a comment now and then to keep the connection open.
pub async fn progress(
    State(feed): State<Arc<ProgressFeed>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rows_json = |all: &[TorrentNow]| {
        let rows: Vec<TorrentRow> = all
            .iter()
            .map(|t| row_with(&t.torrent, t.progress.as_ref(), &t.streaming))
            .collect();
        serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into())
    };
    let rx = feed.watch();
    let now = match feed.now().await {
        Ok(all) => Some(rows_json(&all)),
        Err(e) => {
            tracing::warn!("progress for the web app: {e}");
            None
        }
    };
    let first = futures::stream::iter(
        now.clone()
            .map(|json| Ok::<_, Infallible>(Event::default().data(json))),
    );
    // A message only when what the page shows changed.
    let changes = futures::stream::unfold(
        (rx, now.unwrap_or_default()),
        move |(mut rx, mut last)| async move {
            loop {
                rx.changed().await.ok()?;
                let json = rows_json(&rx.borrow_and_update());
                if json != last {
                    last = json.clone();
                    return Some((Ok(Event::default().data(json)), (rx, last)));
                }
            }
        },
    );
    Sse::new(first.chain(changes)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
