//! `/searches`: the saved searches (the TV's search folders) with how many
//! results each has; saving and forgetting go through the JSON API.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::{logged_in, render, Site, Web};
use crate::http::ApiError;

#[derive(Template)]
#[template(path = "web/searches.html")]
struct SearchesPage<'a> {
    site: &'a Site,
    searches: Vec<SearchRow>,
    login_needed: bool,
}

struct SearchRow {
    id: i64,
    query: String,
    results: String,
    status: String,
}

/// `/searches`: the saved searches (the TV's search folders); saving and
/// forgetting go through the JSON API.
pub async fn searches(State(web): State<Web>, headers: HeaderMap) -> Result<Response, ApiError> {
    let saved = web.saved.list().await?;
    let ids: Vec<i64> = saved.iter().map(|s| s.id).collect();
    let counts = web.saved.result_counts(ids).await?;
    render(&SearchesPage {
        site: &web.site,
        searches: saved
            .into_iter()
            .zip(counts)
            .map(|(s, n)| SearchRow {
                id: s.id,
                query: s.query,
                results: match (n, s.refreshed_at) {
                    (_, None) => "not searched yet (a TV opening it searches)".into(),
                    (1, _) => "1 result".into(),
                    (n, _) => format!("{n} results"),
                },
                status: s.status,
            })
            .collect(),
        login_needed: web.permission.has_token() && !logged_in(&headers, &web.permission),
    })
}
