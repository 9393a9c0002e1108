//! SSDP decisions, sans-IO: given a datagram, who sent it, when and on which
//! interface, decide which replies to send and after what delay; produce the
//! NOTIFY sets for start-up, refresh and shutdown. No sockets, no clock reads
//! (time and randomness come in as arguments), so every rule is unit-tested.
//!
//! Searches are answered within budgets, so that a flood (many sources,
//! each within its own limit) draws few replies: each source at most
//! `RATE_LIMIT` a second; all sources together at most `GLOBAL_RATE` a
//! second; and, apart from that, a newcomer — a source not answered for
//! `QUIET` that searches at a control point's pace (a TV that turns on, a
//! phone that opens its app, resending a few hundred ms apart) — from
//! `NEWCOMER_RATE` a second of its own, so it is answered while a flood
//! goes on. A flooding source is a newcomer once, for its first search.

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
/// Searches answered a second from every source together (a LAN searches
/// a few times a minute); a token bucket of this size, refilled at this
/// rate.
const GLOBAL_RATE: u32 = 20;
/// Newcomers' searches answered a second, beyond `GLOBAL_RATE` (a bucket
/// like it).
const NEWCOMER_RATE: u32 = 20;
/// A source answered this recently is no newcomer.
const QUIET: Duration = Duration::from_secs(10);
/// A search this soon after the same source's last one is a flood's pace,
/// not a control point's: no newcomer's.
const MIN_GAP: Duration = Duration::from_millis(100);
/// Sources remembered (a flood from spoofed addresses must not grow
/// memory); past it, an unknown source counts as no newcomer.
const MAX_SOURCES: usize = 4096;

/// A fixed-window counter: at most `limit` takes per `RATE_WINDOW`.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Option<Instant>,
    taken: u32,
}

impl Window {
    const NEW: Window = Window {
        start: None,
        taken: 0,
    };

    fn take(&mut self, now: Instant, limit: u32) -> bool {
        if self
            .start
            .is_none_or(|s| now.saturating_duration_since(s) >= RATE_WINDOW)
        {
            *self = Window {
                start: Some(now),
                taken: 0,
            };
        }
        if self.taken >= limit {
            return false;
        }
        self.taken += 1;
        true
    }
}

/// A token bucket: `per_second` takes a second, in bursts of as many.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Option<Instant>,
}

impl Bucket {
    const NEW: Bucket = Bucket {
        tokens: 0.0,
        at: None,
    };

    fn take(&mut self, now: Instant, per_second: u32) -> bool {
        let full = f64::from(per_second);
        let tokens = match self.at {
            None => full,
            Some(at) => {
                (self.tokens + now.saturating_duration_since(at).as_secs_f64() * full).min(full)
            }
        };
        self.at = Some(now);
        let ok = tokens >= 1.0;
        self.tokens = if ok { tokens - 1.0 } else { tokens };
        ok
    }
}

/// What is remembered of a source that searched.
struct Source {
    window: Window,
    /// Its last search, and when it was last answered.
    last: Instant,
    answered: Option<Instant>,
}

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
    sources: HashMap<IpAddr, Source>,
    global: Bucket,
    newcomers: Bucket,
    /// When sources quiet for `QUIET` were last forgotten.
    swept: Option<Instant>,
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
            sources: HashMap::new(),
            global: Bucket::NEW,
            newcomers: Bucket::NEW,
            swept: None,
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
        if !self.within_budget(from.ip(), now) {
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

    /// Whether a search from `ip` at `now` is answered (see the module's
    /// budgets); counts it either way.
    fn within_budget(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self
            .swept
            .is_none_or(|s| now.saturating_duration_since(s) >= QUIET)
        {
            self.sources
                .retain(|_, s| now.saturating_duration_since(s.last) < QUIET);
            self.swept = Some(now);
        }
        let known = self.sources.len() < MAX_SOURCES || self.sources.contains_key(&ip);
        if !known {
            return self.global.take(now, GLOBAL_RATE);
        }
        let mut first = false;
        let source = self.sources.entry(ip).or_insert_with(|| {
            first = true;
            Source {
                window: Window::NEW,
                last: now,
                answered: None,
            }
        });
        let paced = first || now.saturating_duration_since(source.last) >= MIN_GAP;
        source.last = now;
        if !source.window.take(now, RATE_LIMIT) {
            return false;
        }
        let newcomer = paced
            && source
                .answered
                .is_none_or(|t| now.saturating_duration_since(t) >= QUIET);
        let ok = (newcomer && self.newcomers.take(now, NEWCOMER_RATE))
            || self.global.take(now, GLOBAL_RATE);
        if ok {
            source.answered = Some(now);
        }
        ok
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

    /// 20 000 searches for ssdp:all from 100 sources in 2 s, each source
    /// within its own limit for a while: few are answered in all, and a TV
    /// that searches once in the middle of it is answered within its MX.
    #[test]
    fn a_flood_from_many_sources_draws_few_replies_and_a_tv_is_answered() {
        let mut r = responder();
        let start = Instant::now();
        let (mut answered, mut tv) = (0usize, None);
        for i in 0..20_000u32 {
            let now = start + Duration::from_micros(u64::from(i) * 100);
            let from = SocketAddr::from(([10, 0, 0, (i % 100) as u8 + 1], 1900));
            answered += usize::from(!ask(&mut r, "ssdp:all", 1, from, now).is_empty());
            if i == 10_000 {
                let at = "192.168.1.77:50123".parse().unwrap();
                tv = Some(ask(&mut r, "ssdp:all", 2, at, now));
            }
        }
        assert!(
            answered * 20 <= 20_000,
            "{answered} of 20 000 searches answered (more than 5 %)"
        );
        let tv = tv.unwrap();
        assert_eq!(tv.len(), 6, "the TV gets every target");
        assert!(tv.iter().all(|r| r.delay < Duration::from_secs(2)));
        // Once the flood is over, a source that flooded is answered again.
        let later = start + Duration::from_secs(5);
        let from = "10.0.0.1:1900".parse().unwrap();
        assert!(!ask(&mut r, "upnp:rootdevice", 1, from, later).is_empty());
    }

    /// A search for `st` with this MX from `from` at `now`.
    fn ask(r: &mut Responder, st: &str, mx: u32, from: SocketAddr, now: Instant) -> Vec<Reply> {
        let random = rand_like(u64::from(from.port()) ^ now.elapsed().as_nanos() as u64);
        r.on_datagram(
            &search(st, Some(mx)),
            from,
            Ipv4Addr::LOCALHOST,
            now,
            DATE,
            random,
        )
    }

    /// Spoofed sources past what is remembered share the global budget.
    #[test]
    fn sources_remembered_are_bounded() {
        let mut r = responder();
        let now = Instant::now();
        let mut answered = 0;
        for i in 0..(MAX_SOURCES as u32 + 1000) {
            let from = SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 1900));
            answered += usize::from(!ask(&mut r, "upnp:rootdevice", 1, from, now).is_empty());
        }
        assert!(r.sources.len() <= MAX_SOURCES);
        assert_eq!(answered, (GLOBAL_RATE + NEWCOMER_RATE) as usize);
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
