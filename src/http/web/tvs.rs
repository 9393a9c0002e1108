//! The TVs page: the renderers found on the LAN, what each is doing (kept
//! live by the `/web/tvs` event stream) and their controls.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::Response;
use futures::Stream;

use super::{render, Site, Web};
use crate::cast::RendererView;
use crate::http::ApiError;

#[derive(Template)]
#[template(path = "web/tvs.html")]
struct TvsPage<'a> {
    site: &'a Site,
    tvs: Vec<RendererView>,
}

/// `/tvs`: the TVs found on the LAN, what each is doing (kept live by
/// `/web/tvs`), and their controls.
pub async fn tvs(State(web): State<Web>) -> Result<Response, ApiError> {
    web.cast.refresh();
    render(&TvsPage {
        site: &web.site,
        tvs: web.cast.renderers(),
    })
}

/// `GET /web/tvs`: the TVs and what each is doing, as server-sent events:
/// now, then whenever it changes (each TV is asked about once a second
/// while a page listens; nothing is asked when none does).
pub async fn tv_states(
    State(web): State<Web>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    web.cast.refresh();
    let cast = web.cast.clone();
    let states = futures::stream::unfold((cast, String::new()), |(cast, last)| async move {
        let mut first = last.is_empty();
        loop {
            if !first {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            first = false;
            let json = serde_json::json!({
                "renderers": cast.renderers(),
                "states": cast.statuses().await,
            })
            .to_string();
            if json != last {
                return Some((Ok(Event::default().data(json.clone())), (cast, json)));
            }
        }
    });
    Sse::new(states).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
