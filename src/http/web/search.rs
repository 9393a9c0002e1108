//! The search page (`/search?q=…&tv=…`): every provider asked at once,
//! each one's state, and the ranked results with seeders, size, resolution
//! and — for the TV chosen — whether it plays them (the quirks table).
//! Adding a result and saving the search are forms that work without
//! JavaScript; "Play here" and "Cast" are the page's script over
//! `POST /api/search/{saved}/{infohash}/add` and `/api/cast`. A driver:
//! the search itself is `search::phone`'s.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::library::size_text;
use super::{logged_in, message, render, Site, Web};
use crate::cast::RendererView;
use crate::http::api::parse_info_hash;
use crate::http::ApiError;
use crate::search::rank::Release;

#[derive(Template)]
#[template(path = "web/search.html")]
struct SearchPage<'a> {
    site: &'a Site,
    query: String,
    /// The TV chosen (its UDN), or empty.
    tv: String,
    tvs: Vec<RendererView>,
    searched: bool,
    saved_id: i64,
    providers: Vec<ProviderRow>,
    results: Vec<ResultRow>,
    login_needed: bool,
}

struct ProviderRow {
    name: String,
    state: &'static str,
    detail: String,
}

struct ResultRow {
    info_hash: String,
    title: String,
    seeders: String,
    size: String,
    resolution: String,
    /// For the chosen TV: `Some(None)` plays, `Some(Some(why))` does not.
    badge: Option<Option<String>>,
}

#[derive(Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    tv: Option<String>,
}

/// `GET /search`: the form, and with `q` what every provider found.
pub async fn page(
    State(web): State<Web>,
    Query(p): Query<SearchParams>,
    headers: HeaderMap,
) -> Response {
    let query = p.q.unwrap_or_default().trim().to_owned();
    let tvs = web.cast.renderers();
    let tv =
        p.tv.filter(|udn| tvs.iter().any(|t| t.udn == *udn))
            .unwrap_or_default();
    let quirks = web.cast.quirks_of(&tv);
    let mut page = SearchPage {
        site: &web.site,
        query: query.clone(),
        tv,
        tvs,
        searched: false,
        saved_id: 0,
        providers: Vec::new(),
        results: Vec::new(),
        login_needed: web.permission.has_token() && !logged_in(&headers, &web.permission),
    };
    if !query.is_empty() {
        let found = match web.phone.search(&query).await {
            Ok(f) => f,
            Err(e) => {
                let e = ApiError::from(e);
                return message(
                    &web.site,
                    e.status(),
                    "Not searched",
                    e.public_message(),
                    "/search",
                );
            }
        };
        page.searched = true;
        page.saved_id = found.saved_id;
        page.providers = found
            .providers
            .into_iter()
            .map(|p| ProviderRow {
                detail: match (&p.error, p.state) {
                    (Some(e), _) => e.clone(),
                    (None, "ok") if p.results == 1 => format!("1 result in {} ms", p.elapsed_ms),
                    (None, "ok") => format!("{} results in {} ms", p.results, p.elapsed_ms),
                    (None, _) => String::new(),
                },
                name: p.name,
                state: p.state,
            })
            .collect();
        page.results = found
            .results
            .into_iter()
            .map(|r| ResultRow {
                info_hash: r.info_hash.to_string(),
                seeders: r.seeders.map_or("?".into(), |s| s.to_string()),
                size: r.size.map_or("?".into(), size_text),
                resolution: Release::parse(&r.title)
                    .resolution
                    .map_or(String::new(), |p| format!("{p}p")),
                badge: quirks.as_ref().map(|q| {
                    q.cannot_play(
                        r.container.as_deref(),
                        r.video.as_deref(),
                        r.audio.as_deref(),
                    )
                }),
                title: r.title,
            })
            .collect();
    }
    match render(&page) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct AddResultForm {
    saved: i64,
    info_hash: String,
}

/// `POST /search/add` (without JavaScript): add the result, then its page.
pub async fn add(State(web): State<Web>, Form(form): Form<AddResultForm>) -> Response {
    let added = async {
        let ih = parse_info_hash(&form.info_hash)?;
        Ok::<_, ApiError>(web.phone.add(form.saved, ih).await?)
    }
    .await;
    match added {
        Ok(a) => Redirect::to(&format!("/torrent/{}", a.torrent.info_hash)).into_response(),
        Err(e) => message(
            &web.site,
            e.status(),
            "Not added",
            e.public_message(),
            "/search",
        ),
    }
}

#[derive(Deserialize)]
pub struct SaveForm {
    query: String,
}

/// `POST /searches/save` (without JavaScript): save the search, then the
/// saved searches.
pub async fn save(State(web): State<Web>, Form(form): Form<SaveForm>) -> Response {
    match web.saved.save(&form.query, &Default::default()).await {
        Ok(_) => Redirect::to("/searches").into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            message(
                &web.site,
                e.status(),
                "Not saved",
                e.public_message(),
                "/search",
            )
        }
    }
}
