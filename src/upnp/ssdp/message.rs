//! SSDP messages, pure: parse an M-SEARCH datagram; format search responses
//! and NOTIFY (alive / byebye). HTTP-over-UDP, headers case-insensitive.

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

pub fn parse_msearch(datagram: &[u8]) -> Result<MSearch, SsdpError> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(SsdpError::NotMSearch);
    }
    let text = std::str::from_utf8(datagram).map_err(|_| SsdpError::NotText)?;
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let request_line = lines.next().unwrap_or("").trim();
    let mut parts = request_line.split_whitespace();
    if parts.next() != Some("M-SEARCH") || parts.next() != Some("*") {
        return Err(SsdpError::NotMSearch);
    }
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(SsdpError::NotMSearch);
    }
    let (mut st, mut mx, mut man) = (None, None, false);
    for line in lines {
        if line.trim().is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_uppercase().as_str() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        }

        #[test]
        fn never_panics_on_near_misses(st in "\\PC{0,60}", mx in "\\PC{0,8}") {
            let d = format!("M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nMX: {mx}\r\nST: {st}\r\n\r\n");
            let _ = parse_msearch(d.as_bytes());
        }
    }
}
