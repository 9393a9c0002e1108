//! mDNS (DNS-SD) announcement of the web app, so a phone finds it by name:
//! `_http._tcp` "swarmcast on HOST" (TXT `path=/`), and `_https._tcp` when
//! the HTTPS listener is on, with mdns-sd's daemon. It answers and announces
//! only on the SSDP interfaces (those configured, else every up
//! non-loopback IPv4 one; the daemon re-reads them every few seconds), its
//! host is `swarmcast-HOST.local` (not the host's own name, which avahi may
//! hold), and the services are withdrawn (goodbye packets) on shutdown.
//! What is announced is pure (`services`).

use std::net::IpAddr;
use std::time::Duration;

use mdns_sd::{IfKind, IfPredicate, ServiceDaemon, ServiceInfo};

#[derive(Debug, thiserror::Error)]
#[error("mDNS: {0}")]
pub struct MdnsError(String);

/// One service to announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// `_http._tcp.local.`
    pub kind: &'static str,
    /// The instance name people see: "swarmcast on HOST".
    pub instance: String,
    pub port: u16,
    /// The web app's path (TXT `path`).
    pub path: &'static str,
}

/// DNS-SD instance names are at most 63 bytes.
const INSTANCE_MAX: usize = 63;

/// What is announced for `host` with the web app on `http_port` (and
/// `https_port`).
pub fn services(host: &str, http_port: u16, https_port: Option<u16>) -> Vec<Service> {
    let mut instance = format!("swarmcast on {}", host.trim());
    while instance.len() > INSTANCE_MAX {
        instance.pop();
    }
    let one = |kind, port| Service {
        kind,
        instance: instance.clone(),
        port,
        path: "/",
    };
    let mut all = vec![one("_http._tcp.local.", http_port)];
    if let Some(port) = https_port {
        all.push(one("_https._tcp.local.", port));
    }
    all
}

/// The mDNS host we announce (`swarmcast-HOST.local`: not the host's own
/// name, which avahi may announce with other addresses).
pub fn mdns_host(host: &str) -> String {
    format!("swarmcast-{}.local", dns_label(host))
}

/// A host name as one DNS label: lower case, letters, digits and `-`.
pub fn dns_label(host: &str) -> String {
    let label: String = host
        .trim()
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            _ => '-',
        })
        .take(50)
        .collect();
    let label = label.trim_matches('-');
    if label.is_empty() {
        "host".to_owned()
    } else {
        label.to_owned()
    }
}

/// Is an interface one of the SSDP ones: IPv4, and named (by name or
/// address) in `selectors`, or with none, not loopback.
fn announced_on(selectors: &[String], name: &str, ip: IpAddr, loopback: bool) -> bool {
    let IpAddr::V4(v4) = ip else {
        return false;
    };
    if selectors.is_empty() {
        return !loopback;
    }
    selectors.iter().any(|s| s == name || s.parse() == Ok(v4))
}

/// The running announcement.
pub struct Announcer {
    daemon: ServiceDaemon,
    names: Vec<String>,
}

impl Announcer {
    /// Announce `services` as `host` (an mDNS host, `….local`) on the
    /// interfaces `selectors` name (as `server.ssdp-interfaces`).
    pub fn start(
        selectors: &[String],
        host: &str,
        services: &[Service],
    ) -> Result<Announcer, MdnsError> {
        let err = |e: mdns_sd::Error| MdnsError(e.to_string());
        let daemon = ServiceDaemon::new().map_err(err)?;
        // Before anything is registered: only the SSDP interfaces.
        let selectors = selectors.to_vec();
        daemon.disable_interface(IfKind::All).map_err(err)?;
        daemon
            .enable_interface(IfKind::Predicate(IfPredicate::new(move |i| {
                announced_on(&selectors, &i.name, i.ip(), i.is_loopback())
            })))
            .map_err(err)?;
        let host = format!("{}.", host.trim_end_matches('.'));
        let mut names = Vec::new();
        for s in services {
            let info = ServiceInfo::new(
                s.kind,
                &s.instance,
                &host,
                "",
                s.port,
                &[("path", s.path)][..],
            )
            .map_err(err)?
            .enable_addr_auto();
            names.push(info.get_fullname().to_owned());
            daemon.register(info).map_err(err)?;
        }
        tracing::info!(services = ?names, %host, "announced over mDNS");
        Ok(Announcer { daemon, names })
    }

    /// Withdraw every service (goodbye packets, sent twice) and stop the
    /// daemon; bounded.
    pub async fn stop(self) {
        let mut waits = Vec::new();
        for name in &self.names {
            match self.daemon.unregister(name) {
                Ok(r) => waits.push(r),
                Err(e) => tracing::debug!(%name, "mDNS withdrawal: {e}"),
            }
        }
        for r in waits {
            let _ = tokio::time::timeout(Duration::from_secs(1), r.recv_async()).await;
        }
        // The daemon sends each goodbye again 120 ms later.
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Ok(r) = self.daemon.shutdown() {
            let _ = tokio::time::timeout(Duration::from_secs(1), r.recv_async()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_app_and_its_https_address_are_announced() {
        let s = services("nas", 8740, None);
        assert_eq!(
            s,
            [Service {
                kind: "_http._tcp.local.",
                instance: "swarmcast on nas".into(),
                port: 8740,
                path: "/",
            }]
        );
        let s = services(&"x".repeat(100), 8740, Some(8743));
        assert_eq!(s.len(), 2);
        assert_eq!((s[1].kind, s[1].port), ("_https._tcp.local.", 8743));
        assert!(s.iter().all(|s| s.instance.len() == INSTANCE_MAX));
        assert_eq!(mdns_host("My_NAS"), "swarmcast-my-nas.local");
        assert_eq!(dns_label(" ..."), "host");
    }

    #[test]
    fn only_on_the_ssdp_interfaces() {
        let v4 = |s: &str| IpAddr::V4(s.parse().unwrap());
        let v6: IpAddr = "fe80::1".parse().unwrap();
        assert!(announced_on(&[], "eth0", v4("192.168.1.2"), false));
        assert!(!announced_on(&[], "lo", v4("127.0.0.1"), true));
        assert!(!announced_on(&[], "eth0", v6, false), "IPv4 only, as SSDP");
        let eth1 = ["eth1".to_owned()];
        assert!(!announced_on(&eth1, "eth0", v4("192.168.1.2"), false));
        assert!(announced_on(&eth1, "eth1", v4("10.0.0.2"), false));
        let by_addr = ["10.0.0.2".to_owned()];
        assert!(announced_on(&by_addr, "eth1", v4("10.0.0.2"), false));
        assert!(!announced_on(&by_addr, "eth1", v4("10.0.0.3"), false));
    }
}
