//! SSDP messages, pure: parse an M-SEARCH datagram; format search responses
//! and NOTIFY (alive / byebye). For casting, the control point's side: an
//! M-SEARCH to send, and what other devices say (`Heard`: their NOTIFYs and
//! their answers to our search). HTTP-over-UDP, headers case-insensitive.

/// A parsed M-SEARCH request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MSearch {
    /// Search target (`ssdp:all`, `upnp:rootdevice`, `uuid:…`, a URN).
    pub st: String,
    /// MX seconds as sent (missing or invalid: `None`).
    pub mx: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsdpError {
    #[error("not an M-SEARCH request")]
    NotMSearch,
    #[error("M-SEARCH without MAN: \"ssdp:discover\"")]
    NoDiscover,
    #[error("M-SEARCH without ST")]
    NoSt,
    #[error("datagram is not text")]
    NotText,
}

/// Largest datagram considered (a real M-SEARCH is a few hundred bytes).
pub const MAX_DATAGRAM: usize = 2048;

/// A datagram's first line and its headers (names in upper case, values
/// trimmed), up to the blank line; `None` when it is too big or not text.
fn lines(datagram: &[u8]) -> Option<(&str, impl Iterator<Item = (String, &str)>)> {
    if datagram.len() > MAX_DATAGRAM {
        return None;
    }
    let text = std::str::from_utf8(datagram).ok()?;
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let first = lines.next().unwrap_or("").trim();
    let headers = lines
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_uppercase(), v.trim()));
    Some((first, headers))
}

pub fn parse_msearch(datagram: &[u8]) -> Result<MSearch, SsdpError> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(SsdpError::NotMSearch);
    }
    let (request_line, headers) = lines(datagram).ok_or(SsdpError::NotText)?;
    let mut parts = request_line.split_whitespace();
    if parts.next() != Some("M-SEARCH") || parts.next() != Some("*") {
        return Err(SsdpError::NotMSearch);
    }
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(SsdpError::NotMSearch);
    }
    let (mut st, mut mx, mut man) = (None, None, false);
    for (name, value) in headers {
        match name.as_str() {
            "ST" => st = Some(value.to_owned()),
            "MX" => mx = value.parse().ok(),
            "MAN" => man = value.trim_matches('"') == "ssdp:discover",
            _ => {}
        }
    }
    if !man {
        return Err(SsdpError::NoDiscover);
    }
    let st = st.filter(|s| !s.is_empty()).ok_or(SsdpError::NoSt)?;
    Ok(MSearch { st, mx })
}

/// Fields every message we send carries.
pub struct Advert<'a> {
    pub location: &'a str,
    pub server: &'a str,
    pub max_age: u32,
    pub boot_id: u32,
    pub config_id: u32,
}

pub fn search_response(a: &Advert<'_>, st: &str, usn: &str, date: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age={}\r\nDATE: {date}\r\nEXT:\r\nLOCATION: {}\r\n\
         SERVER: {}\r\nST: {st}\r\nUSN: {usn}\r\nBOOTID.UPNP.ORG: {}\r\nCONFIGID.UPNP.ORG: {}\r\n\
         Content-Length: 0\r\n\r\n",
        a.max_age, a.location, a.server, a.boot_id, a.config_id
    )
}

pub fn notify_alive(a: &Advert<'_>, nt: &str, usn: &str) -> String {
    format!(
        "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age={}\r\n\
         LOCATION: {}\r\nNT: {nt}\r\nNTS: ssdp:alive\r\nSERVER: {}\r\nUSN: {usn}\r\n\
         BOOTID.UPNP.ORG: {}\r\nCONFIGID.UPNP.ORG: {}\r\nContent-Length: 0\r\n\r\n",
        a.max_age, a.location, a.server, a.boot_id, a.config_id
    )
}

pub fn notify_byebye(nt: &str, usn: &str, boot_id: u32, config_id: u32) -> String {
    format!(
        "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: {nt}\r\nNTS: ssdp:byebye\r\n\
         USN: {usn}\r\nBOOTID.UPNP.ORG: {boot_id}\r\nCONFIGID.UPNP.ORG: {config_id}\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// An M-SEARCH for `st`, answers spread over `mx` seconds.
pub fn msearch(st: &str, mx: u32) -> String {
    format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\
         MX: {mx}\r\nST: {st}\r\nUSER-AGENT: Linux UPnP/1.0 swarmcast/{}\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// What another device says of itself: a NOTIFY, or an answer to our
/// M-SEARCH (which is an `Alive` with the ST as its type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    Alive {
        /// The device's UDN with `uuid:` (the USN before any `::`).
        udn: String,
        /// NT or ST: what this message announces (a device or service type,
        /// `upnp:rootdevice`, or the UDN itself).
        kind: String,
        location: String,
        /// CACHE-CONTROL max-age in seconds (1800 when absent or odd).
        max_age: u32,
    },
    ByeBye {
        udn: String,
        kind: String,
    },
}

impl Heard {
    pub fn udn(&self) -> &str {
        match self {
            Heard::Alive { udn, .. } | Heard::ByeBye { udn, .. } => udn,
        }
    }
}

/// Read a NOTIFY (alive, update, byebye) or a search answer; anything else,
/// or one without USN (or without LOCATION where it needs one), is `None`.
pub fn parse_heard(datagram: &[u8]) -> Option<Heard> {
    let (first, headers) = lines(datagram)?;
    let notify = first.starts_with("NOTIFY ");
    let answer = first.starts_with("HTTP/1.") && first.split_whitespace().nth(1) == Some("200");
    if !(notify || answer) {
        return None;
    }
    let (mut usn, mut kind, mut nts, mut location, mut max_age) = (None, None, None, None, None);
    for (name, value) in headers {
        match name.as_str() {
            "USN" => usn = Some(value),
            "NT" if notify => kind = Some(value),
            "ST" if !notify => kind = Some(value),
            "NTS" => nts = Some(value),
            "LOCATION" => location = Some(value),
            "CACHE-CONTROL" => {
                max_age = value
                    .split(',')
                    .filter_map(|d| d.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("max-age"))
                    .and_then(|(_, v)| v.trim().parse::<u32>().ok())
            }
            _ => {}
        }
    }
    let udn = usn?.split("::").next()?.trim();
    if !udn.to_ascii_lowercase().starts_with("uuid:") || udn.len() <= 5 {
        return None;
    }
    let udn = udn.to_owned();
    let kind = kind.unwrap_or("").to_owned();
    if notify && nts == Some("ssdp:byebye") {
        return Some(Heard::ByeBye { udn, kind });
    }
    if notify && !matches!(nts, Some("ssdp:alive") | Some("ssdp:update")) {
        return None;
    }
    let location = location.filter(|l| !l.is_empty())?.to_owned();
    Some(Heard::Alive {
        udn,
        kind,
        location,
        max_age: max_age.filter(|a| *a > 0).unwrap_or(1800),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What gmediarender (libupnp) sends, and what a Samsung TV answers.
    #[test]
    fn reads_what_renderers_say() {
        let alive = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=100\r\n\
LOCATION: http://10.199.5.2:49494/description.xml\r\nNT: urn:schemas-upnp-org:device:MediaRenderer:1\r\n\
NTS: ssdp:alive\r\nSERVER: Linux/6.1, UPnP/1.0, Portable SDK for UPnP devices/1.14.13\r\n\
USN: uuid:e2e-tv-1::urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n";
        assert_eq!(
            parse_heard(alive),
            Some(Heard::Alive {
                udn: "uuid:e2e-tv-1".into(),
                kind: "urn:schemas-upnp-org:device:MediaRenderer:1".into(),
                location: "http://10.199.5.2:49494/description.xml".into(),
                max_age: 100,
            })
        );
        let bye = b"NOTIFY * HTTP/1.1\nHOST: 239.255.255.250:1900\nnt: upnp:rootdevice\nnts: ssdp:byebye\nusn: uuid:e2e-tv-1::upnp:rootdevice\n\n";
        assert_eq!(
            parse_heard(bye),
            Some(Heard::ByeBye {
                udn: "uuid:e2e-tv-1".into(),
                kind: "upnp:rootdevice".into()
            })
        );
        let answer = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: no-cache=\"Ext\", max-age = 1800\r\nEXT:\r\n\
LOCATION: http://192.168.1.30:7676/smp_15_\r\nST: urn:schemas-upnp-org:device:MediaRenderer:1\r\n\
USN: uuid:08f0d180-0096-1000-ad5f-c0979a2b4a1f::urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n";
        let Some(Heard::Alive {
            udn,
            max_age,
            location,
            ..
        }) = parse_heard(answer)
        else {
            panic!("a search answer is heard");
        };
        assert_eq!(udn, "uuid:08f0d180-0096-1000-ad5f-c0979a2b4a1f");
        assert_eq!(
            (max_age, location.as_str()),
            (1800, "http://192.168.1.30:7676/smp_15_")
        );
        // Our own kind of traffic and broken ones are not.
        assert_eq!(parse_heard(msearch("ssdp:all", 2).as_bytes()), None);
        assert_eq!(
            parse_heard(b"NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\nUSN: uuid:x\r\n\r\n"),
            None
        );
        assert_eq!(
            parse_heard(
                b"NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\nLOCATION: http://a/\r\nUSN: x::y\r\n\r\n"
            ),
            None
        );
        assert_eq!(
            parse_heard(b"HTTP/1.1 404 Not Found\r\nUSN: uuid:x\r\nLOCATION: http://a/\r\n\r\n"),
            None
        );
        assert_eq!(parse_heard(b"NOTIFY * HTTP/1.1\r\nNTS: ssdp:propchange\r\nLOCATION: http://a/\r\nUSN: uuid:x\r\n\r\n"), None);
        let m = parse_msearch(msearch("urn:schemas-upnp-org:device:MediaRenderer:1", 2).as_bytes())
            .unwrap();
        assert_eq!(
            (m.st.as_str(), m.mx),
            ("urn:schemas-upnp-org:device:MediaRenderer:1", Some(2))
        );
    }

    #[test]
    fn parses_real_searches() {
        let m = parse_msearch(
            b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 3\r\nST: ssdp:all\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            m,
            MSearch {
                st: "ssdp:all".into(),
                mx: Some(3)
            }
        );
        // Lower-case headers, bare LF, no MX, unquoted MAN.
        let m = parse_msearch(b"M-SEARCH * HTTP/1.1\nst: upnp:rootdevice\nman: ssdp:discover\n\n")
            .unwrap();
        assert_eq!(
            m,
            MSearch {
                st: "upnp:rootdevice".into(),
                mx: None
            }
        );
        let m = parse_msearch(
            b"M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nMX: soon\r\nST: x\r\n\r\n",
        )
        .unwrap();
        assert_eq!(m.mx, None);
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(parse_msearch(b""), Err(SsdpError::NotMSearch));
        assert_eq!(
            parse_msearch(b"NOTIFY * HTTP/1.1\r\n\r\n"),
            Err(SsdpError::NotMSearch)
        );
        assert_eq!(
            parse_msearch(b"M-SEARCH * HTTP/1.1\r\nST: x\r\n\r\n"),
            Err(SsdpError::NoDiscover)
        );
        assert_eq!(
            parse_msearch(b"M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\n\r\n"),
            Err(SsdpError::NoSt)
        );
        assert_eq!(parse_msearch(&[0xff, 0xfe]), Err(SsdpError::NotText));
        assert_eq!(parse_msearch(&vec![b'M'; 5000]), Err(SsdpError::NotMSearch));
    }

    #[test]
    fn formats_carry_required_headers() {
        let a = Advert {
            location: "http://10.0.0.2:8740/upnp/description.xml",
            server: "Linux/6 UPnP/1.0 swarmcast/0.1",
            max_age: 1800,
            boot_id: 7,
            config_id: 1,
        };
        let r = search_response(
            &a,
            "ssdp:all",
            "uuid:u::upnp:rootdevice",
            "Tue, 24 Nov 2026 00:00:00 GMT",
        );
        for h in [
            "HTTP/1.1 200 OK\r\n",
            "CACHE-CONTROL: max-age=1800",
            "EXT:\r\n",
            "LOCATION: http://10.0.0.2",
            "USN: uuid:u::upnp:rootdevice",
            "BOOTID.UPNP.ORG: 7",
            "DATE: Tue",
        ] {
            assert!(r.contains(h), "{h}");
        }
        assert!(
            notify_alive(&a, "upnp:rootdevice", "uuid:u::upnp:rootdevice")
                .contains("NTS: ssdp:alive")
        );
        assert!(
            notify_byebye("upnp:rootdevice", "uuid:u::upnp:rootdevice", 7, 1)
                .contains("NTS: ssdp:byebye")
        );
    }

    proptest! {
        #[test]
        fn never_panics(d in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_msearch(&d);
            let _ = parse_heard(&d);
        }

        #[test]
        fn never_panics_on_near_misses(st in "\\PC{0,60}", mx in "\\PC{0,8}") {
            let d = format!("M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nMX: {mx}\r\nST: {st}\r\n\r\n");
            let _ = parse_msearch(d.as_bytes());
        }

        #[test]
        fn never_panics_one_mistake_from_a_search_or_a_notify(
            search in crate::mutate::near(b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 2\r\nST: urn:schemas-upnp-org:device:MediaServer:1\r\n\r\n"),
            notify in crate::mutate::near(b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: http://192.168.1.30:49152/desc.xml\r\nNT: urn:schemas-upnp-org:device:MediaRenderer:1\r\nNTS: ssdp:alive\r\nUSN: uuid:tv::urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n"),
        ) {
            let _ = parse_msearch(&search);
            let _ = parse_heard(&search);
            let _ = parse_msearch(&notify);
            let _ = parse_heard(&notify);
        }
    }
}
