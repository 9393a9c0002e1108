//! Finding the renderers: what the SSDP driver hears (alive, byebye),
//! our own M-SEARCH on each SSDP interface, and a renderer's description,
//! fetched only from the address that announced it, at most `MAX_FETCHES`
//! at once.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use url::Url;

use super::*;
use crate::net::{interfaces, is_lan, Failed};
use crate::sync::Locked;
use crate::upnp::control::Description;
use crate::upnp::ssdp::message::Heard;

impl Cast {
    /// Search again unless that was done a moment ago (a person opened the
    /// TVs page or a torrent's); answers arrive within seconds.
    pub fn refresh(self: &Arc<Self>) {
        let due = self
            .searched
            .locked()
            .is_none_or(|t| t.elapsed() >= SEARCH_AGAIN);
        if due {
            self.search_now();
        }
    }

    pub(super) fn search_now(self: &Arc<Self>) {
        *self.searched.locked() = Some(Instant::now());
        self.known
            .locked()
            .retain(|_, e| e.expires > Instant::now());
        for iface in interfaces(&self.selectors) {
            let me = self.clone();
            tokio::spawn(async move {
                for (heard, from) in driver::search(&iface, RENDERER_1, SEARCH_WAIT).await {
                    me.heard(heard, iface.addr, from);
                }
            });
        }
    }

    pub(super) fn heard(self: &Arc<Self>, heard: Heard, our_ip: Ipv4Addr, from: SocketAddr) {
        match heard {
            Heard::ByeBye { udn, .. } => {
                let mut known = self.known.locked();
                known.retain(|k, e| {
                    let gone =
                        k.eq_ignore_ascii_case(&udn) || e.announced.eq_ignore_ascii_case(&udn);
                    if gone {
                        tracing::info!(tv = %e.desc.friendly_name, "a TV said goodbye");
                    }
                    !gone
                });
            }
            Heard::Alive {
                udn,
                kind,
                location,
                max_age,
            } => {
                let expires = Instant::now() + lifetime(max_age);
                let is_renderer = kind.starts_with(RENDERER_PREFIX)
                    || kind.starts_with(AV_TRANSPORT.trim_end_matches('1'));
                {
                    let mut known = self.known.locked();
                    let same = known.values_mut().find(|e| {
                        e.announced.eq_ignore_ascii_case(&udn) && e.location.as_str() == location
                    });
                    if let Some(e) = same {
                        e.expires = e.expires.max(expires);
                        return;
                    }
                    if !is_renderer || known.len() >= MAX_RENDERERS {
                        return;
                    }
                }
                let Ok(permit) = self.fetching.clone().try_acquire_owned() else {
                    return;
                };
                let me = self.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    me.learn(udn, location, our_ip, from.ip(), expires).await;
                });
            }
        }
    }

    /// Fetch and keep a renderer's description.
    async fn learn(
        &self,
        udn: String,
        location: String,
        our_ip: Ipv4Addr,
        from: IpAddr,
        expires: Instant,
    ) {
        let url = match checked_location(&location, from) {
            Ok(u) => u,
            Err(why) => {
                tracing::debug!(%from, "a renderer's LOCATION ignored: {why}");
                return;
            }
        };
        let body = match self.get(&url).await {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(%url, "a renderer's description: {e}");
                return;
            }
        };
        let desc = match control::parse_description(&body, &url) {
            Ok(d) => d,
            Err(e) => {
                tracing::info!(%url, "not a renderer we can cast to: {e}");
                return;
            }
        };
        self.remember(desc, udn, url, our_ip, expires);
    }

    /// Keep a renderer (its description) until `expires`; one already
    /// known keeps what it is casting.
    pub(super) fn remember(
        &self,
        desc: Description,
        udn: String,
        url: Url,
        our_ip: Ipv4Addr,
        expires: Instant,
    ) {
        let quirks = quirks::for_renderer(&desc.manufacturer, &desc.model_name);
        let mut known = self.known.locked();
        if known.len() >= MAX_RENDERERS && !known.contains_key(&desc.udn) {
            return;
        }
        let casting = known.remove(&desc.udn).and_then(|e| e.casting);
        if casting.is_none() {
            tracing::info!(tv = %desc.friendly_name, model = %desc.model_name, %url, "found a TV to cast to");
        }
        known.insert(
            desc.udn.clone(),
            Entry {
                desc,
                announced: udn,
                location: url,
                our_ip,
                expires,
                quirks,
                casting,
                status: None,
            },
        );
    }

    async fn get(&self, url: &Url) -> Result<Vec<u8>, String> {
        let resp = self
            .client
            .get(url.clone())
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| Failed::from(e).to_string())?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status()));
        }
        read_bounded(resp).await
    }
}

/// A LOCATION we fetch: plain HTTP to the very address the announcement
/// came from, on the LAN — an announcement cannot send us elsewhere.
pub(super) fn checked_location(location: &str, from: IpAddr) -> Result<Url, String> {
    let url = Url::parse(location).map_err(|e| format!("{location:?}: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!("{location:?} is not http"));
    }
    let host: IpAddr = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.into(),
        Some(url::Host::Ipv6(ip)) => ip.into(),
        _ => return Err(format!("{location:?} does not name an IP address")),
    };
    if host != from || !is_lan(host) {
        return Err(format!("{location:?} is not the sender's address {from}"));
    }
    Ok(url)
}
