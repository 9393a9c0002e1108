//! GENA eventing, pure: SUBSCRIBE / renewal / UNSUBSCRIBE decisions over a
//! subscription table, and the `e:propertyset` body. Time comes in as an
//! argument; sending NOTIFYs is the driver's job (`http::events`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::description::Service;
use super::xml::escape;
use crate::net::is_lan;

/// Longest (and default) subscription we grant.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(1800);
const MIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Subscriptions kept at most (a flood must not grow memory without bound).
pub const MAX_SUBSCRIPTIONS: usize = 256;
/// Subscriptions kept per source address: a new one past this replaces the
/// source's oldest, so one noisy client cannot lock real TVs out.
pub const MAX_PER_SOURCE: usize = 16;
/// Consecutive failed deliveries after which a subscription is dropped.
pub const MAX_FAILURES: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenaError {
    /// 400: SID together with NT or CALLBACK.
    #[error("{0}")]
    BadRequest(String),
    /// 412: missing/invalid NT or CALLBACK, unknown SID.
    #[error("{0}")]
    PreconditionFailed(String),
}

impl GenaError {
    pub fn status(&self) -> u16 {
        match self {
            GenaError::BadRequest(_) => 400,
            GenaError::PreconditionFailed(_) => 412,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub service: Service,
    pub callbacks: Vec<url::Url>,
    pub expires: Instant,
    /// Next SEQ to send (0 = the initial event).
    pub seq: u32,
    /// Who subscribed (the connection's peer address).
    pub source: IpAddr,
    /// Order of creation, for evicting a source's oldest.
    pub serial: u64,
    /// Deliveries failed in a row.
    pub failures: u32,
}

/// The headers of a SUBSCRIBE / UNSUBSCRIBE that matter.
#[derive(Debug, Default, Clone)]
pub struct Request<'a> {
    pub sid: Option<&'a str>,
    pub nt: Option<&'a str>,
    pub callback: Option<&'a str>,
    pub timeout: Option<&'a str>,
}

#[derive(Default)]
pub struct Subscriptions {
    subs: HashMap<String, Subscription>,
    serial: u64,
}

/// `<http://a/b><http://c/d>` → URLs; only http URLs to LAN IP literals.
fn parse_callbacks(header: &str) -> Result<Vec<url::Url>, GenaError> {
    let bad = |why: &str| GenaError::PreconditionFailed(format!("CALLBACK {why}"));
    let mut out = Vec::new();
    let mut rest = header.trim();
    while let Some(start) = rest.find('<') {
        let end = rest[start..]
            .find('>')
            .ok_or_else(|| bad("has an unclosed <"))?
            + start;
        let u = url::Url::parse(&rest[start + 1..end]).map_err(|_| bad("is not a URL"))?;
        let lan = match u.host() {
            Some(url::Host::Ipv4(ip)) => is_lan(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => is_lan(IpAddr::V6(ip)),
            _ => false,
        };
        if u.scheme() != "http" || !lan {
            return Err(bad("must be http:// to a LAN address"));
        }
        out.push(u);
        rest = &rest[end + 1..];
        if out.len() > 4 {
            return Err(bad("lists too many URLs"));
        }
    }
    if out.is_empty() {
        return Err(bad("has no <URL>"));
    }
    Ok(out)
}

/// `Second-1800` / `infinite` → the duration we grant.
fn granted(timeout: Option<&str>) -> Duration {
    timeout
        .and_then(|t| t.trim().strip_prefix("Second-"))
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(MAX_TIMEOUT)
        .clamp(MIN_TIMEOUT, MAX_TIMEOUT)
}

impl Subscriptions {
    fn expire(&mut self, now: Instant) {
        self.subs.retain(|_, s| s.expires > now);
    }

    /// How many subscriptions there are now.
    pub fn len(&self) -> usize {
        self.subs.len()
    }

    /// A new subscription or a renewal. Returns (SID, granted timeout, is_new).
    pub fn subscribe(
        &mut self,
        service: Service,
        req: &Request<'_>,
        source: IpAddr,
        now: Instant,
        new_sid: impl FnOnce() -> String,
    ) -> Result<(String, Duration, bool), GenaError> {
        self.expire(now);
        let timeout = granted(req.timeout);
        if let Some(sid) = req.sid {
            if req.nt.is_some() || req.callback.is_some() {
                return Err(GenaError::BadRequest(
                    "a renewal carries SID without NT or CALLBACK".into(),
                ));
            }
            let sub = self
                .subs
                .get_mut(sid.trim())
                .filter(|s| s.service == service)
                .ok_or_else(|| GenaError::PreconditionFailed(format!("no subscription {sid}")))?;
            sub.expires = now + timeout;
            return Ok((sid.trim().to_owned(), timeout, false));
        }
        match req.nt.map(str::trim) {
            Some("upnp:event") => {}
            Some(other) => {
                return Err(GenaError::PreconditionFailed(format!(
                    "NT must be upnp:event, not {other:?}"
                )))
            }
            None => return Err(GenaError::PreconditionFailed("missing NT".into())),
        }
        let callbacks = parse_callbacks(
            req.callback
                .ok_or_else(|| GenaError::PreconditionFailed("missing CALLBACK".into()))?,
        )?;
        let source = source.to_canonical();
        if self.count_of(source) >= MAX_PER_SOURCE {
            self.evict_oldest_of(source);
        }
        if self.subs.len() >= MAX_SUBSCRIPTIONS {
            // The table is full: the source holding most gives one up.
            let mut counts: HashMap<IpAddr, usize> = HashMap::new();
            for s in self.subs.values() {
                *counts.entry(s.source).or_default() += 1;
            }
            if let Some((&busiest, _)) = counts.iter().max_by_key(|(ip, n)| (**n, **ip)) {
                self.evict_oldest_of(busiest);
            }
        }
        let sid = new_sid();
        self.serial += 1;
        self.subs.insert(
            sid.clone(),
            Subscription {
                service,
                callbacks,
                expires: now + timeout,
                seq: 0,
                source,
                serial: self.serial,
                failures: 0,
            },
        );
        Ok((sid, timeout, true))
    }

    pub fn unsubscribe(&mut self, service: Service, req: &Request<'_>) -> Result<(), GenaError> {
        if req.nt.is_some() || req.callback.is_some() {
            return Err(GenaError::BadRequest(
                "UNSUBSCRIBE carries SID without NT or CALLBACK".into(),
            ));
        }
        let sid = req
            .sid
            .ok_or_else(|| GenaError::PreconditionFailed("missing SID".into()))?
            .trim();
        match self.subs.get(sid) {
            Some(s) if s.service == service => {
                self.subs.remove(sid);
                Ok(())
            }
            _ => Err(GenaError::PreconditionFailed(format!(
                "no subscription {sid}"
            ))),
        }
    }

    fn count_of(&self, source: IpAddr) -> usize {
        self.subs.values().filter(|s| s.source == source).count()
    }

    fn evict_oldest_of(&mut self, source: IpAddr) {
        let oldest = self
            .subs
            .iter()
            .filter(|(_, s)| s.source == source)
            .min_by_key(|(_, s)| s.serial)
            .map(|(sid, _)| sid.clone());
        if let Some(sid) = oldest {
            self.subs.remove(&sid);
        }
    }

    /// A delivery to `sid` worked (`true`) or failed; after
    /// `MAX_FAILURES` failures in a row the subscription is dropped.
    /// Returns whether it was dropped.
    pub fn delivered(&mut self, sid: &str, ok: bool) -> bool {
        let Some(s) = self.subs.get_mut(sid) else {
            return false;
        };
        if ok {
            s.failures = 0;
            return false;
        }
        s.failures += 1;
        if s.failures >= MAX_FAILURES {
            self.subs.remove(sid);
            return true;
        }
        false
    }

    /// Take the next SEQ of a subscription (for sending one event).
    pub fn next_seq(&mut self, sid: &str) -> Option<(Vec<url::Url>, u32)> {
        let s = self.subs.get_mut(sid)?;
        let seq = s.seq;
        // SEQ wraps to 1, never back to 0 (which means "initial event").
        s.seq = if s.seq == u32::MAX { 1 } else { s.seq + 1 };
        Some((s.callbacks.clone(), seq))
    }

    /// Live subscriptions of a service.
    pub fn of(&mut self, service: Service, now: Instant) -> Vec<String> {
        self.expire(now);
        self.subs
            .iter()
            .filter(|(_, s)| s.service == service)
            .map(|(sid, _)| sid.clone())
            .collect()
    }
}

/// The NOTIFY body for these variables.
pub fn property_set(vars: &[(&str, String)]) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?><e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0">"#,
    );
    for (name, value) in vars {
        s.push_str(&format!(
            "<e:property><{name}>{}</{name}></e:property>",
            escape(value)
        ));
    }
    s.push_str("</e:propertyset>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tv() -> IpAddr {
        "192.168.1.9".parse().unwrap()
    }

    /// The probe's flood: 1 000 SUBSCRIBEs from one source used to fill
    /// the table and lock real TVs out with 412 for 30 minutes.
    #[test]
    fn regression_a_flood_from_one_source_leaves_room_for_tvs() {
        let mut s = Subscriptions::default();
        let now = Instant::now();
        let flooder: IpAddr = "192.168.1.66".parse().unwrap();
        for n in 1..=1000 {
            s.subscribe(
                Service::ContentDirectory,
                &sub("<http://192.168.1.66:1/>"),
                flooder,
                now,
                || format!("uuid:f{n}"),
            )
            .unwrap();
        }
        assert_eq!(
            s.subs.len(),
            MAX_PER_SOURCE,
            "the flood keeps only its newest"
        );
        assert!(s.subs.contains_key("uuid:f1000") && !s.subs.contains_key("uuid:f1"));
        let (sid, _, _) = s
            .subscribe(
                Service::ContentDirectory,
                &sub("<http://192.168.1.9:4004/ev>"),
                tv(),
                now,
                || "uuid:tv".into(),
            )
            .unwrap();
        assert_eq!(sid, "uuid:tv");
        // Many sources fill the table: the busiest gives one up, a new TV gets in.
        for i in 0..(MAX_SUBSCRIPTIONS as u32 * 2) {
            let src = IpAddr::from([10, 0, (i / 200) as u8, (i % 200) as u8]);
            s.subscribe(
                Service::ContentDirectory,
                &sub("<http://10.0.0.1/>"),
                src,
                now,
                || format!("uuid:m{i}"),
            )
            .unwrap();
        }
        assert!(s.subs.len() <= MAX_SUBSCRIPTIONS);
        s.subscribe(
            Service::ContentDirectory,
            &sub("<http://192.168.1.10/>"),
            "192.168.1.10".parse().unwrap(),
            now,
            || "uuid:tv2".into(),
        )
        .unwrap();
        assert!(s.subs.contains_key("uuid:tv2"));
    }

    #[test]
    fn a_subscriber_that_keeps_failing_is_dropped() {
        let mut s = Subscriptions::default();
        let now = Instant::now();
        s.subscribe(
            Service::ContentDirectory,
            &sub("<http://192.168.1.9/>"),
            tv(),
            now,
            || "uuid:d".into(),
        )
        .unwrap();
        assert!(!s.delivered("uuid:d", false));
        assert!(!s.delivered("uuid:d", true), "a success resets the count");
        for _ in 1..MAX_FAILURES {
            assert!(!s.delivered("uuid:d", false));
        }
        assert!(s.delivered("uuid:d", false));
        assert!(s.subs.is_empty());
        assert!(!s.delivered("uuid:d", false));
    }

    fn sub<'a>(cb: &'a str) -> Request<'a> {
        Request {
            nt: Some("upnp:event"),
            callback: Some(cb),
            timeout: Some("Second-300"),
            ..Default::default()
        }
    }

    #[test]
    fn subscribe_renew_unsubscribe() {
        let mut s = Subscriptions::default();
        let now = Instant::now();
        let (sid, t, new) = s
            .subscribe(
                Service::ContentDirectory,
                &sub("<http://192.168.1.9:4004/ev>"),
                tv(),
                now,
                || "uuid:a".into(),
            )
            .unwrap();
        assert_eq!(
            (sid.as_str(), t, new),
            ("uuid:a", Duration::from_secs(300), true)
        );
        assert_eq!(s.next_seq("uuid:a").unwrap().1, 0);
        assert_eq!(s.next_seq("uuid:a").unwrap().1, 1);
        let renew = Request {
            sid: Some("uuid:a"),
            timeout: Some("infinite"),
            ..Default::default()
        };
        let (_, t, new) = s
            .subscribe(
                Service::ContentDirectory,
                &renew,
                tv(),
                now,
                || unreachable!(),
            )
            .unwrap();
        assert_eq!((t, new), (MAX_TIMEOUT, false));
        assert_eq!(
            s.of(Service::ContentDirectory, now),
            vec!["uuid:a".to_owned()]
        );
        assert!(s.of(Service::ConnectionManager, now).is_empty());
        s.unsubscribe(
            Service::ContentDirectory,
            &Request {
                sid: Some("uuid:a"),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(s.of(Service::ContentDirectory, now).is_empty());
        // Expiry.
        s.subscribe(
            Service::ContentDirectory,
            &sub("<http://10.0.0.1/>"),
            tv(),
            now,
            || "uuid:b".into(),
        )
        .unwrap();
        assert!(s
            .of(Service::ContentDirectory, now + Duration::from_secs(301))
            .is_empty());
    }

    #[test]
    fn errors_are_412_or_400() {
        let mut s = Subscriptions::default();
        let now = Instant::now();
        let cd = Service::ContentDirectory;
        let cases = [
            (
                Request {
                    callback: Some("<http://10.0.0.1/>"),
                    ..Default::default()
                },
                412,
            ),
            (
                Request {
                    nt: Some("upnp:propchange"),
                    callback: Some("<http://10.0.0.1/>"),
                    ..Default::default()
                },
                412,
            ),
            (
                Request {
                    nt: Some("upnp:event"),
                    ..Default::default()
                },
                412,
            ),
            (sub("http://10.0.0.1/"), 412),
            (sub("<ftp://10.0.0.1/>"), 412),
            (sub("<http://8.8.8.8/>"), 412),
            (sub("<http://example.com/>"), 412),
            (sub("<http://10.0.0.1/"), 412),
            (
                Request {
                    sid: Some("uuid:nope"),
                    ..Default::default()
                },
                412,
            ),
            (
                Request {
                    sid: Some("uuid:x"),
                    nt: Some("upnp:event"),
                    ..Default::default()
                },
                400,
            ),
        ];
        for (req, code) in cases {
            let e = s
                .subscribe(cd, &req, tv(), now, || "uuid:z".into())
                .unwrap_err();
            assert_eq!(e.status(), code, "{req:?}");
        }
        assert_eq!(
            s.unsubscribe(
                cd,
                &Request {
                    sid: Some("uuid:nope"),
                    ..Default::default()
                }
            )
            .unwrap_err()
            .status(),
            412
        );
        assert_eq!(
            s.unsubscribe(cd, &Request::default()).unwrap_err().status(),
            412
        );
        assert_eq!(
            s.unsubscribe(
                cd,
                &Request {
                    sid: Some("uuid:x"),
                    callback: Some("<http://10.0.0.1/>"),
                    ..Default::default()
                }
            )
            .unwrap_err()
            .status(),
            400
        );
    }

    #[test]
    fn property_set_escapes() {
        let b = property_set(&[
            ("ContainerUpdateIDs", "added,3".into()),
            ("X", "<&>".into()),
        ]);
        assert!(
            b.contains("<e:property><ContainerUpdateIDs>added,3</ContainerUpdateIDs></e:property>")
        );
        assert!(b.contains("&lt;&amp;&gt;"));
    }
}
