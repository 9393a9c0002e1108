//! The local network, shared by everything that talks to it (SSDP, GENA
//! callbacks, the permission layer, the casting control point, and mDNS
//! to come): which addresses count as the LAN, the `web.allow` rules, and
//! the list of up IPv4 interfaces, and the HTTP client every provider
//! (search, subtitles) uses, with its one capped body read
//! (`read_capped`) and one way to say how a request failed (`Failed`).
//! Address logic is pure; `interfaces` is the one function here that asks
//! the OS.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use ipnet::IpNet;

/// The HTTP client providers share: bounded, our User-Agent, no proxy
/// surprises.
pub fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("swarmcast/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a plain HTTP client builds")
}

/// How an HTTP request failed, in words that leave its URL out (a URL
/// may carry an API key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failed {
    TimedOut,
    Other(String),
}

impl From<reqwest::Error> for Failed {
    fn from(e: reqwest::Error) -> Failed {
        if e.is_timeout() {
            Failed::TimedOut
        } else {
            Failed::Other(e.without_url().to_string())
        }
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failed::TimedOut => f.write_str("timed out"),
            Failed::Other(e) => f.write_str(e),
        }
    }
}

/// Why an answer's body was not read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Longer than the cap (at least this many bytes).
    TooLarge(u64),
    Failed(Failed),
}

/// An answer's body, read up to `cap` bytes: a longer one is refused as
/// soon as it passes the cap, so a server is never trusted with our
/// memory.
pub async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| BodyError::Failed(e.into()))?
    {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge((body.len() + chunk.len()) as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The client for devices on the LAN (a TV we cast to): bounded, never
/// through a proxy the environment names, which could not reach them, and a
/// new connection each time: TVs' small HTTP servers close idle ones, and a
/// request sent on one they just closed failed ("error sending request",
/// seen with gmediarender while its state was being polled).
pub fn lan_client(timeout: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(3)))
        .no_proxy()
        .user_agent(concat!("swarmcast/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a plain HTTP client builds")
}

/// A private-network address: RFC 1918, RFC 4193 (fc00::/7) or link-local
/// (169.254/16, fe80::/10). IPv4-mapped IPv6 counts as its IPv4 address.
pub fn is_private(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80 || (v6.segments()[0] & 0xfe00) == 0xfc00
        }
    }
}

/// The LAN as SSDP and GENA see it: private addresses and loopback.
pub fn is_lan(ip: IpAddr) -> bool {
    is_private(ip) || ip.to_canonical().is_loopback()
}

/// One `web.allow` rule: who may change things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowRule {
    /// RFC 1918, RFC 4193 and link-local sources (`lan`).
    Lan,
    /// 127.0.0.0/8 and ::1 (`loopback`).
    Loopback,
    /// A network such as `192.168.1.0/24` or `fd00::/8`.
    Net(IpNet),
}

impl AllowRule {
    pub fn matches(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match self {
            AllowRule::Lan => is_private(ip),
            AllowRule::Loopback => ip.is_loopback(),
            AllowRule::Net(net) => net.contains(&ip),
        }
    }
}

/// Does any rule let `ip` in?
pub fn allowed(rules: &[AllowRule], ip: IpAddr) -> bool {
    rules.iter().any(|r| r.matches(ip))
}

impl FromStr for AllowRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not `lan`, `loopback` or a CIDR like 192.168.1.0/24");
        match s.trim() {
            "lan" => Ok(AllowRule::Lan),
            "loopback" => Ok(AllowRule::Loopback),
            cidr => {
                let (addr, prefix) = cidr.split_once('/').ok_or_else(bad)?;
                let addr: IpAddr = addr.parse().map_err(|_| bad())?;
                let mut prefix: u8 = prefix.parse().map_err(|_| bad())?;
                // Peers are matched as IPv4 when they are IPv4-mapped, so
                // a rule written as ::ffff:a.b.c.d/n is its IPv4 network.
                let addr = match addr {
                    IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() && prefix >= 96 => {
                        prefix -= 96;
                        IpAddr::V4(v6.to_ipv4_mapped().expect("checked"))
                    }
                    other => other,
                };
                // `trunc`: 192.168.1.7/24 means the network it is in.
                IpNet::new(addr, prefix)
                    .map(|n| AllowRule::Net(n.trunc()))
                    .map_err(|_| bad())
            }
        }
    }
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowRule::Lan => f.write_str("lan"),
            AllowRule::Loopback => f.write_str("loopback"),
            AllowRule::Net(n) => write!(f, "{n}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub addr: Ipv4Addr,
}

/// Up IPv4 interfaces matching `selectors` (names or addresses); with no
/// selectors, every up, multicast-capable, non-loopback one.
pub fn interfaces(selectors: &[String]) -> Vec<Interface> {
    use nix::net::if_::InterfaceFlags as F;
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut out: Vec<Interface> = Vec::new();
    for a in addrs {
        let Some(addr) = a
            .address
            .as_ref()
            .and_then(|s| s.as_sockaddr_in())
            .map(|s| s.ip())
        else {
            continue;
        };
        if !a.flags.contains(F::IFF_UP) {
            continue;
        }
        let wanted = if selectors.is_empty() {
            a.flags.contains(F::IFF_MULTICAST) && !a.flags.contains(F::IFF_LOOPBACK)
        } else {
            selectors
                .iter()
                .any(|s| s == &a.interface_name || s.parse::<Ipv4Addr>() == Ok(addr))
        };
        if wanted && !out.iter().any(|i| i.addr == addr) {
            out.push(Interface {
                name: a.interface_name.clone(),
                addr,
            });
        }
    }
    out
}

/// This host's name (`gethostname`), or `swarmcast` when it has none.
pub fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "swarmcast".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn lan_and_private_addresses() {
        for ok in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.20",
            "169.254.3.4",
            "fd12::1",
            "fe80::1",
            "::ffff:192.168.1.20",
        ] {
            assert!(is_private(ip(ok)), "{ok}");
            assert!(is_lan(ip(ok)), "{ok}");
        }
        for loopback in ["127.0.0.1", "127.3.4.5", "::1", "::ffff:127.0.0.1"] {
            assert!(!is_private(ip(loopback)), "{loopback}");
            assert!(is_lan(ip(loopback)), "{loopback}");
        }
        for wan in ["8.8.8.8", "172.32.0.1", "2001:db8::1", "::ffff:8.8.8.8"] {
            assert!(!is_lan(ip(wan)), "{wan}");
        }
    }

    #[test]
    fn allow_rules_parse_and_match() {
        let rules: Vec<AllowRule> = ["lan", "loopback", "203.0.113.7/24", "2001:db8::/32"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(rules[2].to_string(), "203.0.113.0/24");
        assert!(allowed(&rules, ip("203.0.113.200")));
        assert!(allowed(&rules, ip("2001:db8:1::5")));
        assert!(allowed(&rules, ip("::ffff:192.168.0.2")));
        assert!(!allowed(&rules, ip("198.51.100.1")));
        let only: Vec<AllowRule> = vec!["127.0.0.1/32".parse().unwrap()];
        assert!(allowed(&only, ip("127.0.0.1")));
        assert!(allowed(&only, ip("::ffff:127.0.0.1")));
        assert!(!allowed(&only, ip("127.0.0.2")));
        assert!(!allowed(&[], ip("127.0.0.1")), "no rule lets nobody in");
        let mapped: Vec<AllowRule> = vec!["::ffff:10.1.0.0/112".parse().unwrap()];
        assert_eq!(mapped[0].to_string(), "10.1.0.0/16");
        assert!(allowed(&mapped, ip("::ffff:10.1.2.3")));
        assert!(allowed(&mapped, ip("10.1.2.3")));
        for bad in [
            "",
            "wan",
            "10.0.0.0/33",
            "10.0.0.0",
            "x/8",
            "::/129",
            "10.0.0.0/-1",
        ] {
            assert!(bad.parse::<AllowRule>().is_err(), "{bad}");
        }
    }
}
