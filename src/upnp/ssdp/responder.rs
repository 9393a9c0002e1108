//! SSDP decisions, sans-IO: given a datagram, who sent it, when and on which
//! interface, decide which replies to send and after what delay; produce the
//! NOTIFY sets for start-up, refresh and shutdown. No sockets, no clock reads
//! (time and randomness come in as arguments), so every rule is unit-tested.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::message::{self, parse_msearch, Advert};
use crate::net::is_lan;
use crate::upnp::description::{Service, DEVICE_TYPE};

/// Advertised lifetime; NOTIFY alive is re-sent well inside it.
pub const MAX_AGE: u32 = 1800;
/// Cap on MX as UDA 1.1 asks.
const MX_CAP: u32 = 5;
/// Searches answered per source per `RATE_WINDOW`.
const RATE_LIMIT: u32 = 20;
const RATE_WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub to: SocketAddr,
    pub delay: Duration,
    pub payload: String,
}

pub struct Responder {
    udn: String,
    server: String,
    http_port: u16,
    boot_id: u32,
    config_id: u32,
    recent: HashMap<IpAddr, (Instant, u32)>,
}

impl Responder {
    pub fn new(udn: &str, http_port: u16, boot_id: u32) -> Self {
        Responder {
            udn: udn.to_owned(),
            server: format!(
                "Linux/{} UPnP/1.0 swarmcast/{}",
                std::env::consts::ARCH,
                env!("CARGO_PKG_VERSION")
            ),
            http_port,
            boot_id,
            config_id: 1,
            recent: HashMap::new(),
        }
    }

    /// Every (NT, USN) we advertise.
    pub fn targets(&self) -> Vec<(String, String)> {
        let uuid = format!("uuid:{}", self.udn);
        let mut out = vec![
            (
                "upnp:rootdevice".to_owned(),
                format!("{uuid}::upnp:rootdevice"),
            ),
            (uuid.clone(), uuid.clone()),
            (DEVICE_TYPE.to_owned(), format!("{uuid}::{DEVICE_TYPE}")),
        ];
        for s in Service::ALL {
            out.push((
                s.service_type().to_owned(),
                format!("{uuid}::{}", s.service_type()),
            ));
        }
        out
    }

    fn location(&self, local_ip: Ipv4Addr) -> String {
        format!("http://{local_ip}:{}/upnp/description.xml", self.http_port)
    }

    fn advert<'a>(&'a self, location: &'a str) -> Advert<'a> {
        Advert {
            location,
            server: &self.server,
            max_age: MAX_AGE,
            boot_id: self.boot_id,
            config_id: self.config_id,
        }
    }

    /// A datagram arrived from `from` on the interface whose address is
    /// `local_ip`. `random` is any random u64 (for the MX delay).
    pub fn on_datagram(
        &mut self,
        datagram: &[u8],
        from: SocketAddr,
        local_ip: Ipv4Addr,
        now: Instant,
        date: &str,
        random: u64,
    ) -> Vec<Reply> {
        if !is_lan(from.ip()) || from.port() == 0 {
            return Vec::new();
        }
        let Ok(search) = parse_msearch(datagram) else {
            return Vec::new();
        };
        // Rate limit per source.
        self.recent
            .retain(|_, (t, _)| now.duration_since(*t) < RATE_WINDOW);
        let entry = self.recent.entry(from.ip()).or_insert((now, 0));
        entry.1 += 1;
        if entry.1 > RATE_LIMIT {
            return Vec::new();
        }
        let matching: Vec<(String, String)> = self
            .targets()
            .into_iter()
            .filter(|(nt, _)| search.st == "ssdp:all" || *nt == search.st)
            .collect();
        if matching.is_empty() {
            return Vec::new();
        }
        // Multicast searches carry MX: answer within it (missing/invalid → 1 s,
        // capped at 5). Without MX (unicast), answer at once.
        let window_ms = match search.mx {
            Some(mx) => u64::from(mx.clamp(1, MX_CAP)) * 1000,
            None => 0,
        };
        let location = self.location(local_ip);
        let advert = self.advert(&location);
        matching
            .iter()
            .enumerate()
            .map(|(i, (nt, usn))| {
                let jitter = if window_ms == 0 {
                    0
                } else {
                    // Spread replies over the window, each from its own slice of the random word.
                    random.rotate_left(i as u32 * 11) % window_ms
                };
                Reply {
                    to: from,
                    delay: Duration::from_millis(jitter),
                    payload: message::search_response(&advert, nt, usn, date),
                }
            })
            .collect()
    }

    /// NOTIFY ssdp:alive for every target, announcing `local_ip`.
    pub fn alive(&self, local_ip: Ipv4Addr) -> Vec<String> {
        let location = self.location(local_ip);
        let advert = self.advert(&location);
        self.targets()
            .iter()
            .map(|(nt, usn)| message::notify_alive(&advert, nt, usn))
            .collect()
    }

    /// NOTIFY ssdp:byebye for every target.
    pub fn byebye(&self) -> Vec<String> {
        self.targets()
            .iter()
            .map(|(nt, usn)| message::notify_byebye(nt, usn, self.boot_id, self.config_id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAN: &str = "192.168.1.20:50000";
    const DATE: &str = "Tue, 24 Nov 2026 00:00:00 GMT";

    fn search(st: &str, mx: Option<u32>) -> Vec<u8> {
        let mx = mx.map_or(String::new(), |m| format!("MX: {m}\r\n"));
        format!("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n{mx}ST: {st}\r\n\r\n").into_bytes()
    }

    fn responder() -> Responder {
        Responder::new("5f0c3e1a-0000-4000-8000-000000000001", 8740, 3)
    }

    #[test]
    fn ssdp_all_gets_one_reply_per_target_within_mx() {
        let mut r = responder();
        let now = Instant::now();
        let replies = r.on_datagram(
            &search("ssdp:all", Some(3)),
            LAN.parse().unwrap(),
            Ipv4Addr::new(192, 168, 1, 5),
            now,
            DATE,
            0xdead_beef_1234_5678,
        );
        assert_eq!(replies.len(), 6);
        for rep in &replies {
            assert!(rep.delay < Duration::from_secs(3));
            assert!(rep
                .payload
                .contains("LOCATION: http://192.168.1.5:8740/upnp/description.xml"));
        }
        let sts: Vec<_> = replies
            .iter()
            .map(|r| {
                r.payload
                    .lines()
                    .find(|l| l.starts_with("ST:"))
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert!(sts.contains(&"ST: upnp:rootdevice".to_owned()));
        assert!(
            sts.contains(&"ST: urn:microsoft.com:service:X_MS_MediaReceiverRegistrar:1".to_owned())
        );
    }

    #[test]
    fn each_target_answers_its_own_st() {
        let mut r = responder();
        let now = Instant::now();
        for (nt, usn) in r.targets() {
            let replies = r.on_datagram(
                &search(&nt, Some(1)),
                LAN.parse().unwrap(),
                Ipv4Addr::new(10, 0, 0, 1),
                now,
                DATE,
                7,
            );
            assert_eq!(replies.len(), 1, "{nt}");
            assert!(replies[0].payload.contains(&format!("USN: {usn}\r\n")));
        }
        assert!(r
            .on_datagram(
                &search("urn:schemas-upnp-org:device:MediaRenderer:1", Some(1)),
                LAN.parse().unwrap(),
                Ipv4Addr::LOCALHOST,
                now,
                DATE,
                7
            )
            .is_empty());
    }

    #[test]
    fn mx_rules() {
        let mut r = responder();
        let now = Instant::now();
        let from: SocketAddr = LAN.parse().unwrap();
        // No MX (unicast): at once.
        let replies = r.on_datagram(
            &search("upnp:rootdevice", None),
            from,
            Ipv4Addr::LOCALHOST,
            now,
            DATE,
            u64::MAX,
        );
        assert_eq!(replies[0].delay, Duration::ZERO);
        // MX 120 is capped at 5 s; MX 0 still spreads within 1 s.
        for seed in 0..50 {
            let rep = r.on_datagram(
                &search("ssdp:all", Some(120)),
                from,
                Ipv4Addr::LOCALHOST,
                now + Duration::from_secs(2),
                DATE,
                rand_like(seed),
            );
            assert!(rep.iter().all(|x| x.delay < Duration::from_secs(5)));
        }
        let rep = r.on_datagram(
            &search("upnp:rootdevice", Some(0)),
            from,
            Ipv4Addr::LOCALHOST,
            now + Duration::from_secs(4),
            DATE,
            999_999,
        );
        assert!(rep[0].delay < Duration::from_secs(1));
    }

    fn rand_like(seed: u64) -> u64 {
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[test]
    fn ignores_wan_sources_garbage_and_floods() {
        let mut r = responder();
        let now = Instant::now();
        assert!(r
            .on_datagram(
                &search("ssdp:all", Some(1)),
                "8.8.8.8:1900".parse().unwrap(),
                Ipv4Addr::LOCALHOST,
                now,
                DATE,
                1
            )
            .is_empty());
        assert!(r
            .on_datagram(
                b"\x00\x01garbage",
                LAN.parse().unwrap(),
                Ipv4Addr::LOCALHOST,
                now,
                DATE,
                1
            )
            .is_empty());
        let from: SocketAddr = "10.1.1.1:1234".parse().unwrap();
        let answered = (0..100)
            .filter(|_| {
                !r.on_datagram(
                    &search("upnp:rootdevice", Some(1)),
                    from,
                    Ipv4Addr::LOCALHOST,
                    now,
                    DATE,
                    1,
                )
                .is_empty()
            })
            .count();
        assert_eq!(answered, RATE_LIMIT as usize);
        // A second later the source is answered again.
        assert!(!r
            .on_datagram(
                &search("upnp:rootdevice", Some(1)),
                from,
                Ipv4Addr::LOCALHOST,
                now + RATE_WINDOW,
                DATE,
                1
            )
            .is_empty());
    }

    #[test]
    fn notify_sets_cover_every_target() {
        let r = responder();
        assert_eq!(r.alive(Ipv4Addr::LOCALHOST).len(), 6);
        assert_eq!(r.byebye().len(), 6);
        assert!(r.alive(Ipv4Addr::new(192, 168, 1, 5))[0].contains("http://192.168.1.5:8740/"));
    }

    #[test]
    fn lan_sources() {
        for ok in [
            "10.0.0.1",
            "172.16.5.5",
            "192.168.0.9",
            "169.254.1.1",
            "127.0.0.1",
            "::1",
            "fe80::1",
        ] {
            assert!(is_lan(ok.parse().unwrap()), "{ok}");
        }
        for wan in ["8.8.8.8", "172.32.0.1", "2001:db8::1"] {
            assert!(!is_lan(wan.parse().unwrap()), "{wan}");
        }
    }
}
