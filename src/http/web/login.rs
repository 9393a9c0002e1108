//! The settings page (read-only, no secret shown; the HTTPS certificate's
//! fingerprint, and over plain HTTP the HTTPS address) and the login that
//! gives a browser its session cookie (`Secure` over HTTPS) when a token
//! is set.

use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::{logged_in, message, render, Site, Web};
use crate::http::guard::SESSION_COOKIE;
use crate::http::server::OverTls;
use crate::http::ApiError;
use crate::subtitles::ProviderState;

#[derive(Template)]
#[template(path = "web/settings.html")]
struct SettingsPage<'a> {
    site: &'a Site,
    providers: Vec<ProviderState>,
    token_set: bool,
    logged_in: bool,
    /// The HTTPS certificate's fingerprint, when HTTPS is on.
    fingerprint: Option<String>,
    /// Over plain HTTP with HTTPS on: the secure address.
    https_link: Option<String>,
}

/// `/settings`: read-only, no secret; the login when a token is set; over
/// plain HTTP, the HTTPS address (and what it adds).
pub async fn settings(
    State(web): State<Web>,
    over_tls: Option<Extension<OverTls>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let https_link = match (over_tls, web.site.https_port(), host) {
        (None, Some(port), Some(host)) => crate::urls::https_address(host, port),
        _ => None,
    };
    render(&SettingsPage {
        site: &web.site,
        providers: web.subtitles.provider_states(),
        token_set: web.permission.has_token(),
        logged_in: logged_in(&headers, &web.permission),
        fingerprint: web.site.tls_fingerprint(),
        https_link,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /login`: the token, from an allowed source (the guard checked
/// that), gives this browser its session cookie.
pub async fn login(
    State(web): State<Web>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    over_tls: Option<Extension<OverTls>>,
    Form(form): Form<LoginForm>,
) -> Response {
    if !web.permission.is_token(form.token.trim().as_bytes()) {
        // One wrong guess a second, whoever asks: a token is not found
        // by trying.
        static WRONG: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one_at_a_time = WRONG.lock().await;
        tracing::warn!(%peer, "a login with a wrong token");
        tokio::time::sleep(Duration::from_secs(1)).await;
        return message(
            &web.site,
            StatusCode::FORBIDDEN,
            "Not logged in",
            "That is not the server's token (web.token).".into(),
            "/settings#login",
        );
    }
    // Over HTTPS the cookie is never sent back over plain HTTP.
    let secure = if over_tls.is_some() { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000{secure}",
        web.permission.session()
    );
    let mut resp = Redirect::to("/settings").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}
