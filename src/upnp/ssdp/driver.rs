//! SSDP sockets: one per IPv4 interface, each bound to 0.0.0.0:1900 with
//! SO_REUSEADDR (so minidlna beside us keeps working), joined to
//! 239.255.255.250 on its interface only (IP_MULTICAST_ALL off, so a datagram
//! tells us the interface it came in on), sending with IP_MULTICAST_IF set.
//! Interfaces are re-read every minute. All decisions are the responder's.
//! For casting, what other devices announce on these sockets (NOTIFY alive
//! and byebye from LAN sources) is handed on as `Heard`, and `search` sends
//! one M-SEARCH from an interface and collects the answers.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::message::{msearch, parse_heard, Heard, MAX_DATAGRAM};
use super::responder::Responder;
use crate::net::{interfaces, is_lan, Interface};
use crate::sync::Locked;

/// Where what other devices announce goes: the message, the address of
/// our interface it came in on, and its sender. Full: dropped (a flood of
/// NOTIFYs must not grow memory).
pub type Listener = tokio::sync::mpsc::Sender<(Heard, Ipv4Addr, SocketAddr)>;

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
    listener: Option<Listener>,
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
        let r = responder.locked();
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
                if let Some(listener) = &listener {
                    if buf[..n].starts_with(b"NOTIFY ") && is_lan(from.ip()) {
                        if let Some(heard) = parse_heard(&buf[..n]) {
                            let _ = listener.try_send((heard, iface.addr, from));
                        }
                        continue;
                    }
                }
                let date = httpdate::fmt_http_date(SystemTime::now());
                let replies = responder
                    .locked()
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
pub async fn run(
    selectors: Vec<String>,
    responder: Responder,
    listener: Option<Listener>,
    shutdown: CancellationToken,
) {
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
                listener.clone(),
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

/// The most answers one search collects.
const MAX_ANSWERS: usize = 256;

/// Send an M-SEARCH for `st` from `iface` (a socket of its own on that
/// address, IP_MULTICAST_IF set to it) and collect the answers that come
/// from LAN sources within `wait` (the MX asked is a second less).
pub async fn search(iface: &Interface, st: &str, wait: Duration) -> Vec<(Heard, SocketAddr)> {
    let open = || -> std::io::Result<UdpSocket> {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        s.bind(&SocketAddr::V4(SocketAddrV4::new(iface.addr, 0)).into())?;
        s.set_multicast_if_v4(&iface.addr)?;
        s.set_multicast_ttl_v4(2)?;
        s.set_multicast_loop_v4(true)?;
        s.set_nonblocking(true)?;
        UdpSocket::from_std(s.into())
    };
    let sock = match open() {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(interface = %iface.name, "M-SEARCH not sent: {e}");
            return Vec::new();
        }
    };
    let mx = wait.as_secs().saturating_sub(1).clamp(1, 5) as u32;
    let request = msearch(st, mx);
    let group = SocketAddr::V4(SocketAddrV4::new(GROUP, PORT));
    // Twice: UDP may lose one.
    for _ in 0..2 {
        if let Err(e) = sock.send_to(request.as_bytes(), group).await {
            tracing::debug!(interface = %iface.name, "M-SEARCH: {e}");
        }
    }
    let mut answers = Vec::new();
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    let deadline = tokio::time::Instant::now() + wait;
    while answers.len() < MAX_ANSWERS {
        let Ok(Ok((n, from))) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await
        else {
            break;
        };
        if !is_lan(from.ip()) {
            continue;
        }
        if let Some(heard @ Heard::Alive { .. }) = parse_heard(&buf[..n]) {
            answers.push((heard, from));
        }
    }
    answers
}
