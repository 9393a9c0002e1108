//! SSDP sockets: one per IPv4 interface, each bound to 0.0.0.0:1900 with
//! SO_REUSEADDR (so minidlna beside us keeps working), joined to
//! 239.255.255.250 on its interface only (IP_MULTICAST_ALL off, so a datagram
//! tells us the interface it came in on), sending with IP_MULTICAST_IF set.
//! Interfaces are re-read every minute. All decisions are the responder's.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::message::MAX_DATAGRAM;
use super::responder::Responder;
use crate::net::{interfaces, Interface};

pub const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
pub const PORT: u16 = 1900;
/// How often interfaces are re-read.
const RESCAN: Duration = Duration::from_secs(60);
/// How often NOTIFY alive is repeated (well inside max-age 1800 s).
const REFRESH: Duration = Duration::from_secs(900);

fn open_socket(iface: &Interface) -> std::io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.bind(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT)).into())?;
    s.join_multicast_v4(&GROUP, &iface.addr)?;
    s.set_multicast_if_v4(&iface.addr)?;
    s.set_multicast_ttl_v4(2)?;
    s.set_multicast_loop_v4(true)?;
    // Only datagrams for memberships of this socket (this interface).
    s.set_multicast_all_v4(false)?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s.into())
}

async fn send_all(sock: &UdpSocket, messages: &[String], to: SocketAddr) {
    for m in messages {
        if let Err(e) = sock.send_to(m.as_bytes(), to).await {
            tracing::debug!("SSDP send to {to}: {e}");
        }
    }
}

/// Serve one interface until `stop` fires, then say byebye.
async fn serve_interface(
    iface: Interface,
    responder: Arc<Mutex<Responder>>,
    stop: CancellationToken,
) {
    let sock = match open_socket(&iface) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tracing::warn!(interface = %iface.name, "SSDP unavailable on {}: {e}", iface.addr);
            return;
        }
    };
    let group = SocketAddr::V4(SocketAddrV4::new(GROUP, PORT));
    let (byebye, alive) = {
        let r = responder.lock().unwrap_or_else(|p| p.into_inner());
        (r.byebye(), r.alive(iface.addr))
    };
    tracing::info!(interface = %iface.name, addr = %iface.addr, "SSDP announcing");
    // A stale entry from our last run is dropped first, then alive twice.
    send_all(&sock, &byebye, group).await;
    send_all(&sock, &alive, group).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    send_all(&sock, &alive, group).await;
    let mut refresh = tokio::time::interval_at(tokio::time::Instant::now() + REFRESH, REFRESH);
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = refresh.tick() => send_all(&sock, &alive, group).await,
            r = sock.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { continue };
                let date = httpdate::fmt_http_date(SystemTime::now());
                let replies = responder
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .on_datagram(&buf[..n], from, iface.addr, Instant::now(), &date, rand::random());
                for reply in replies {
                    let sock = sock.clone();
                    let stop = stop.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = stop.cancelled() => {}
                            _ = tokio::time::sleep(reply.delay) => {
                                let _ = sock.send_to(reply.payload.as_bytes(), reply.to).await;
                            }
                        }
                    });
                }
            }
        }
    }
    send_all(&sock, &byebye, group).await;
    tracing::debug!(interface = %iface.name, "SSDP stopped");
}

/// Run SSDP on the selected interfaces until `shutdown`, re-reading them
/// every minute. Returns after byebye was sent on every interface.
pub async fn run(selectors: Vec<String>, responder: Responder, shutdown: CancellationToken) {
    let responder = Arc::new(Mutex::new(responder));
    let mut running: HashMap<Ipv4Addr, (CancellationToken, tokio::task::JoinHandle<()>)> =
        HashMap::new();
    loop {
        let now = interfaces(&selectors);
        if now.is_empty() && running.is_empty() {
            tracing::warn!(
                ?selectors,
                "no network interface for SSDP; TVs cannot discover us"
            );
        }
        running.retain(|addr, (stop, _)| {
            let keep = now.iter().any(|i| i.addr == *addr);
            if !keep {
                stop.cancel();
            }
            keep
        });
        for iface in now {
            if running.contains_key(&iface.addr) {
                continue;
            }
            let stop = shutdown.child_token();
            let task = tokio::spawn(serve_interface(
                iface.clone(),
                responder.clone(),
                stop.clone(),
            ));
            running.insert(iface.addr, (stop, task));
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(RESCAN) => {}
        }
    }
    for (_, (_, task)) in running {
        let _ = task.await;
    }
}
