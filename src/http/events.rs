//! GENA driver: SUBSCRIBE / UNSUBSCRIBE on `/upnp/{service}/event`, the
//! initial event after each new subscription, and moderated change events
//! (at most one per `MODERATION`) for what the change hub
//! (`library::Changes`) reports. Decisions are `upnp::gena`'s (caps per
//! source, dropping subscribers that keep failing); this module only does
//! the HTTP, delivering to every subscriber at once.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

use super::upnp::Device;
use crate::library::Changes;
use crate::sync::Locked;
use crate::upnp::description::Service;
use crate::upnp::gena::{property_set, Request, Subscriptions};

/// Change events are sent at most this often.
pub const MODERATION: Duration = Duration::from_secs(2);
/// How long one NOTIFY may take.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Events {
    subs: Mutex<Subscriptions>,
    device: Arc<Device>,
    http: reqwest::Client,
}

impl Events {
    pub fn new(device: Arc<Device>) -> Arc<Self> {
        Arc::new(Events {
            subs: Mutex::new(Subscriptions::default()),
            device,
            http: reqwest::Client::builder()
                .timeout(NOTIFY_TIMEOUT)
                .no_proxy()
                .build()
                .expect("a plain HTTP client builds"),
        })
    }

    /// Subscriptions held now (every service).
    pub fn subscribers(&self) -> usize {
        self.subs().len()
    }

    fn subs(&self) -> std::sync::MutexGuard<'_, Subscriptions> {
        self.subs.locked()
    }

    /// Every evented variable of a service, now (reads SQLite: off the
    /// async workers).
    async fn variables(&self, service: Service, containers: String) -> Vec<(&'static str, String)> {
        match service {
            Service::ContentDirectory => {
                let library = self.device.library.clone();
                let id = tokio::task::spawn_blocking(move || library.system_update_id())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or(0);
                vec![
                    ("SystemUpdateID", id.to_string()),
                    ("ContainerUpdateIDs", containers),
                    ("TransferIDs", String::new()),
                ]
            }
            Service::ConnectionManager => vec![
                ("SourceProtocolInfo", self.device.protocol_info.clone()),
                ("SinkProtocolInfo", String::new()),
                ("CurrentConnectionIDs", "0".into()),
            ],
            Service::Registrar => vec![
                ("AuthorizationGrantedUpdateID", "0".into()),
                ("AuthorizationDeniedUpdateID", "0".into()),
                ("ValidationSucceededUpdateID", "0".into()),
                ("ValidationRevokedUpdateID", "0".into()),
            ],
        }
    }

    /// Send one event to one subscription (first callback that answers);
    /// a subscription that keeps failing is dropped.
    async fn send(&self, sid: &str, body: String) {
        let ok = self.try_send(sid, body).await;
        if self.subs().delivered(sid, ok) {
            tracing::info!(sid, "subscription dropped: its callbacks keep failing");
        }
    }

    async fn try_send(&self, sid: &str, body: String) -> bool {
        let Some((callbacks, seq)) = self.subs().next_seq(sid) else {
            return true;
        };
        let method = Method::from_bytes(b"NOTIFY").expect("valid method");
        for url in callbacks {
            let r = self
                .http
                .request(method.clone(), url.clone())
                .header("content-type", "text/xml; charset=\"utf-8\"")
                .header("nt", "upnp:event")
                .header("nts", "upnp:propchange")
                .header("sid", sid)
                .header("seq", seq.to_string())
                .body(body.clone())
                .send()
                .await;
            match r {
                Ok(resp) if resp.status().is_success() => return true,
                Ok(resp) => tracing::debug!(%url, "event answered {}", resp.status()),
                Err(e) => tracing::debug!(%url, "event not delivered: {e}"),
            }
        }
        false
    }

    /// Send moderated change events for what `changes` reports, until
    /// `shutdown`.
    pub async fn run(self: Arc<Self>, changes: Arc<Changes>, shutdown: CancellationToken) {
        loop {
            let containers = tokio::select! {
                _ = shutdown.cancelled() => return,
                c = changes.next() => c,
            };
            let mut vars = self
                .variables(Service::ContentDirectory, String::new())
                .await;
            let update_id = vars[0].1.clone();
            vars[1].1 = containers
                .iter()
                .map(|c| format!("{c},{update_id}"))
                .collect::<Vec<_>>()
                .join(",");
            let body = property_set(&vars);
            let sids = self.subs().of(Service::ContentDirectory, Instant::now());
            // All at once: a dead callback's timeout delays nobody else.
            futures::future::join_all(sids.iter().map(|sid| self.send(sid, body.clone()))).await;
            // Moderation: nothing more for a while; changes meanwhile are merged.
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(MODERATION) => {}
            }
        }
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// SUBSCRIBE / UNSUBSCRIBE.
pub async fn handle(
    State(events): State<Arc<Events>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(service): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let Some(service) = Service::from_name(&service) else {
        return (StatusCode::NOT_FOUND, "no such service\n").into_response();
    };
    let req = Request {
        sid: header(&headers, "sid"),
        nt: header(&headers, "nt"),
        callback: header(&headers, "callback"),
        timeout: header(&headers, "timeout"),
    };
    match method.as_str() {
        "SUBSCRIBE" => {
            let result = events
                .subs()
                .subscribe(service, &req, peer.ip(), Instant::now(), || {
                    format!("uuid:{}", uuid::Uuid::new_v4())
                });
            match result {
                Ok((sid, timeout, is_new)) => {
                    if is_new {
                        // The initial event: every evented variable, SEQ 0,
                        // after the client has our answer with its SID.
                        let events = events.clone();
                        let sid = sid.clone();
                        tokio::spawn(async move {
                            let body =
                                property_set(&events.variables(service, String::new()).await);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            events.send(&sid, body).await;
                        });
                    }
                    (
                        StatusCode::OK,
                        [
                            ("SID", sid),
                            ("TIMEOUT", format!("Second-{}", timeout.as_secs())),
                            ("Content-Length", "0".to_owned()),
                        ],
                    )
                        .into_response()
                }
                Err(e) => gena_error(e),
            }
        }
        "UNSUBSCRIBE" => match events.subs().unsubscribe(service, &req) {
            Ok(()) => StatusCode::OK.into_response(),
            Err(e) => gena_error(e),
        },
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            "use SUBSCRIBE or UNSUBSCRIBE\n",
        )
            .into_response(),
    }
}

fn gena_error(e: crate::upnp::gena::GenaError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, format!("{e}\n")).into_response()
}
