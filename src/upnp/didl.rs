//! DIDL-Lite: library objects → the XML TVs parse. One writer; every text and
//! attribute goes through `xml::escape`. An item's subtitles are announced
//! the ways its client's quirks row names (Samsung's `sec:CaptionInfoEx`,
//! an extra `res`, Panasonic's `pv:` attributes). Also owns the DLNA fourth field of
//! protocolInfo (the HTTP media headers reuse it) and the H:MM:SS.mmm format.

use std::fmt::Write;

use super::object::{Class, Object, CONTAINER_CLASS};
use super::quirks::Quirks;
use super::xml::escape;

const HEADER: &str = concat!(
    r#"<DIDL-Lite xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/""#,
    r#" xmlns:dc="http://purl.org/dc/elements/1.1/""#,
    r#" xmlns:upnp="urn:schemas-upnp-org:metadata-1-0/upnp/""#,
    r#" xmlns:dlna="urn:schemas-dlna-org:metadata-1-0/""#,
    r#" xmlns:sec="http://www.sec.co.kr/""#,
    r#" xmlns:pv="http://www.pv.com/pvns/">"#
);

/// DLNA flags: streaming (or interactive, for images) + background
/// transfer, connection stalling, DLNA 1.5. No DLNA.ORG_PN: a wrong profile
/// is worse than none. OP=11 (time and byte seeks) for a file whose index
/// gave keyframe positions (`time_seek`), else OP=01: byte seeks only.
pub fn dlna_features(interactive: bool, time_seek: bool) -> &'static str {
    match (interactive, time_seek) {
        (true, _) => "DLNA.ORG_OP=01;DLNA.ORG_CI=0;DLNA.ORG_FLAGS=00f00000000000000000000000000000",
        (false, false) => {
            "DLNA.ORG_OP=01;DLNA.ORG_CI=0;DLNA.ORG_FLAGS=01700000000000000000000000000000"
        }
        (false, true) => {
            "DLNA.ORG_OP=11;DLNA.ORG_CI=0;DLNA.ORG_FLAGS=01700000000000000000000000000000"
        }
    }
}

/// `H:MM:SS.mmm`, as DIDL `res@duration` wants it.
pub fn format_duration(ms: u64) -> String {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    format!(
        "{h}:{:02}:{:02}.{:03}",
        rest / 60_000,
        (rest % 60_000) / 1000,
        rest % 1000
    )
}

/// `YYYY-MM-DD` from seconds since the Unix epoch (UTC).
pub fn format_date(secs: i64) -> String {
    // Howard Hinnant's civil-from-days.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Which optional properties the client asked for (`Filter`).
#[derive(Debug, Clone)]
pub struct Filter(Option<Vec<String>>);

impl Filter {
    /// `*` (or empty, which many TVs send meaning "everything") → all.
    pub fn parse(s: &str) -> Filter {
        let s = s.trim();
        if s.is_empty() || s.split(',').any(|p| p.trim() == "*") {
            return Filter(None);
        }
        Filter(Some(s.split(',').map(|p| p.trim().to_owned()).collect()))
    }

    fn wants(&self, name: &str) -> bool {
        match &self.0 {
            None => true,
            Some(list) => list.iter().any(|p| p == name),
        }
    }
}

/// How one item is presented to this client.
pub struct Presentation<'a> {
    /// `http://host:port` the client reached us at.
    pub base_url: &'a str,
    /// This client's quirks (MIME types it wants, how it sorts).
    pub quirks: &'a Quirks,
}

/// A DIDL-Lite document holding `objects`.
pub fn write(objects: &[Object], filter: &Filter, p: &Presentation<'_>) -> String {
    let mut out = String::with_capacity(256 + objects.len() * 700);
    out.push_str(HEADER);
    for o in objects {
        match o {
            Object::Container(c) => {
                let _ = write!(
                    out,
                    r#"<container id="{}" parentID="{}" restricted="1" searchable="1""#,
                    escape(&c.id),
                    escape(&c.parent_id)
                );
                if filter.wants("@childCount") || filter.wants("childCount") {
                    let _ = write!(out, r#" childCount="{}""#, c.child_count);
                }
                let _ = write!(
                    out,
                    "><dc:title>{}</dc:title><upnp:class>{CONTAINER_CLASS}</upnp:class>",
                    escape(&c.title)
                );
                if let Some(d) = c.date.filter(|_| filter.wants("dc:date")) {
                    let _ = write!(out, "<dc:date>{}</dc:date>", format_date(d));
                }
                out.push_str("</container>");
            }
            Object::Item(i) => {
                let _ = write!(
                    out,
                    r#"<item id="{}" parentID="{}" restricted="1"><dc:title>{}</dc:title><upnp:class>{}</upnp:class>"#,
                    escape(&i.id),
                    escape(&i.parent_id),
                    escape(&i.title),
                    i.class.upnp_class()
                );
                if let Some(d) = i.date.filter(|_| filter.wants("dc:date")) {
                    let _ = write!(out, "<dc:date>{}</dc:date>", format_date(d));
                }
                let mime = p.quirks.mime(i.mime);
                let _ = write!(
                    out,
                    r#"<res protocolInfo="{}""#,
                    escape(&format!(
                        "http-get:*:{mime}:{}",
                        dlna_features(i.class == Class::Image, i.time_seek)
                    ))
                );
                if filter.wants("res@size") {
                    let _ = write!(out, r#" size="{}""#, i.size);
                }
                if let Some(ms) = i.duration_ms.filter(|_| filter.wants("res@duration")) {
                    let _ = write!(out, r#" duration="{}""#, format_duration(ms));
                }
                if let Some((w, h)) = i.resolution.filter(|_| filter.wants("res@resolution")) {
                    let _ = write!(out, r#" resolution="{w}x{h}""#);
                }
                let captions = &p.quirks.captions;
                let primary = i.captions.iter().find(|c| c.primary);
                let url = |path: &str| format!("{}{path}", p.base_url);
                if let Some(c) =
                    primary.filter(|_| captions.panasonic && filter.wants("res@pv:subtitleFileUri"))
                {
                    let _ = write!(
                        out,
                        r#" pv:subtitleFileType="SRT" pv:subtitleFileUri="{}""#,
                        escape(&url(&c.path))
                    );
                }
                let _ = write!(out, ">{}{}</res>", escape(p.base_url), escape(&i.path));
                if captions.extra_res {
                    for c in &i.captions {
                        let _ = write!(
                            out,
                            r#"<res protocolInfo="http-get:*:text/srt:*">{}</res>"#,
                            escape(&url(&c.path))
                        );
                    }
                }
                if let Some(c) = primary.filter(|_| captions.samsung) {
                    for element in ["sec:CaptionInfoEx", "sec:CaptionInfo"] {
                        if filter.wants(element) {
                            let _ = write!(
                                out,
                                r#"<{element} sec:type="srt">{}</{element}>"#,
                                escape(&url(&c.path))
                            );
                        }
                    }
                }
                if let Some(bm) = i.bookmark_ms.filter(|_| filter.wants("sec:dcmInfo")) {
                    let _ = write!(
                        out,
                        "<sec:dcmInfo>{}</sec:dcmInfo>",
                        escape(&format!("CREATIONDATE=0,BM={}", bm / 1000))
                    );
                }
                out.push_str("</item>");
            }
        }
    }
    out.push_str("</DIDL-Lite>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upnp::object::{Container, Item};

    #[test]
    fn formats() {
        assert_eq!(format_duration(0), "0:00:00.000");
        assert_eq!(format_duration(3_723_004), "1:02:03.004");
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(1_795_478_400), "2026-11-24");
        assert_eq!(format_date(951_782_400), "2000-02-29");
    }

    #[test]
    fn titles_are_escaped_and_parse_back() {
        let title = r#"Tom & Jerry <"Best"> — Déjà vu"#;
        let objects = vec![
            Object::Container(Container {
                id: "t/1".into(),
                parent_id: "added".into(),
                title: title.into(),
                child_count: 1,
                date: Some(0),
            }),
            Object::Item(Item {
                id: "t/1/0".into(),
                parent_id: "t/1".into(),
                title: title.into(),
                class: Class::Video,
                mime: "video/mp4",
                size: 42,
                path: "/media/x/0/a%26b.mp4".into(),
                duration_ms: Some(61_500),
                resolution: Some((1920, 1080)),
                date: None,
                bookmark_ms: Some(30_000),
                time_seek: false,
                captions: Vec::new(),
            }),
        ];
        let p = Presentation {
            base_url: "http://10.0.0.1:8740",
            quirks: &Quirks::STANDARD,
        };
        let xml = write(&objects, &Filter::parse("*"), &p);
        let mut reader = quick_xml::Reader::from_str(&xml);
        let mut titles = Vec::new();
        let mut res = Vec::new();
        let mut in_title = false;
        let mut in_res = false;
        // Raw text of the current element, references included, unescaped at its end.
        let mut raw = String::new();
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Start(e) => {
                    in_title = e.name().as_ref() == b"dc:title";
                    in_res = e.name().as_ref() == b"res";
                    if in_res {
                        let attr = e.try_get_attribute("duration").unwrap().unwrap();
                        let d = String::from_utf8(attr.value.to_vec()).unwrap();
                        assert_eq!(d, "0:01:01.500");
                        let attr = e.try_get_attribute("resolution").unwrap().unwrap();
                        assert_eq!(&*attr.value, b"1920x1080");
                    }
                }
                quick_xml::events::Event::Text(t) => raw.push_str(&t.decode().unwrap()),
                quick_xml::events::Event::GeneralRef(r) => {
                    raw.push_str(&format!("&{};", r.decode().unwrap()))
                }
                quick_xml::events::Event::End(_) => {
                    let text = quick_xml::escape::unescape(&raw).unwrap().into_owned();
                    if in_title {
                        titles.push(text);
                    } else if in_res {
                        res.push(text);
                    }
                    raw.clear();
                    in_title = false;
                    in_res = false;
                }
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(titles, vec![title, title]);
        assert_eq!(res, vec!["http://10.0.0.1:8740/media/x/0/a%26b.mp4"]);
        assert!(xml.contains(r#"parentID="added""#));
        assert!(xml.contains("BM=30"));
        assert!(xml.contains("DLNA.ORG_OP=01;DLNA.ORG_CI=0;DLNA.ORG_FLAGS=0170"));
        assert!(!xml.contains("DLNA.ORG_PN"));
    }

    #[test]
    fn filter_drops_optional_properties() {
        let item = Object::Item(Item {
            id: "t/2/0".into(),
            parent_id: "t/2".into(),
            title: "x".into(),
            class: Class::Audio,
            mime: "audio/mpeg",
            size: 7,
            path: "/m".into(),
            duration_ms: Some(1000),
            resolution: None,
            date: Some(0),
            bookmark_ms: None,
            time_seek: false,
            captions: Vec::new(),
        });
        let p = Presentation {
            base_url: "http://h",
            quirks: &Quirks::STANDARD,
        };
        let xml = write(
            std::slice::from_ref(&item),
            &Filter::parse("dc:title,res"),
            &p,
        );
        assert!(!xml.contains("size="));
        assert!(!xml.contains("duration="));
        assert!(!xml.contains("resolution="));
        assert!(!xml.contains("dc:date"));
        assert!(xml.contains("object.item.audioItem.musicTrack"));
        let xml = write(&[item], &Filter::parse("res@size, dc:date"), &p);
        assert!(xml.contains(r#"size="7""#));
        assert!(xml.contains("<dc:date>1970-01-01</dc:date>"));
    }

    /// (element or `res@attribute`, value) of every caption mechanism in a
    /// DIDL document, read back by an XML parser.
    fn mechanisms(xml: &str) -> Vec<(String, String)> {
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut out = Vec::new();
        let mut open: Option<String> = None;
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Start(e) => {
                    let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                    for a in e.attributes() {
                        let a = a.unwrap();
                        let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
                        if key.starts_with("pv:") {
                            let v = a
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned();
                            out.push((format!("res@{key}"), v));
                        }
                        if name == "res" && key == "protocolInfo" {
                            let v = a
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap();
                            if v.contains("text/srt") {
                                open = Some("res[text/srt]".into());
                            }
                        }
                    }
                    if name.starts_with("sec:Caption") {
                        let t = e.try_get_attribute("sec:type").unwrap().unwrap();
                        assert_eq!(&*t.value, b"srt");
                        open = Some(name);
                    }
                }
                quick_xml::events::Event::Text(t) => {
                    if let Some(name) = open.take() {
                        out.push((name, t.decode().unwrap().into_owned()));
                    }
                }
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        out
    }

    #[test]
    fn subtitles_are_announced_as_each_device_expects() {
        use crate::upnp::object::Caption;
        let item = Object::Item(Item {
            id: "t/3/0".into(),
            parent_id: "t/3".into(),
            title: "Film".into(),
            class: Class::Video,
            mime: "video/x-matroska",
            size: 9,
            path: "/media/x/0/Film.mkv".into(),
            duration_ms: None,
            resolution: None,
            date: None,
            bookmark_ms: None,
            time_seek: false,
            captions: vec![
                Caption {
                    path: "/subtitles/7.srt".into(),
                    language: Some("en".into()),
                    primary: true,
                },
                Caption {
                    path: "/subtitles/8.srt".into(),
                    language: Some("fr".into()),
                    primary: false,
                },
            ],
        });
        let en = "http://h:1/subtitles/7.srt".to_owned();
        let fr = "http://h:1/subtitles/8.srt".to_owned();
        let m = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let every = vec![
            m("res@pv:subtitleFileType", "SRT"),
            m("res@pv:subtitleFileUri", &en),
            m("res[text/srt]", &en),
            m("res[text/srt]", &fr),
            m("sec:CaptionInfoEx", &en),
            m("sec:CaptionInfo", &en),
        ];
        let pick = |keys: &[&str]| -> Vec<(String, String)> {
            every
                .iter()
                .filter(|(k, _)| keys.iter().any(|x| k.starts_with(x)))
                .cloned()
                .collect()
        };
        type Row<'a> = (&'a [(&'a str, &'a str)], Vec<(String, String)>);
        let rows: Vec<Row<'_>> = vec![
            (&[("user-agent", "VLC/3.0.20 LibVLC/3.0.20")], every.clone()),
            (
                &[(
                    "user-agent",
                    "SEC_HHP_[TV] Samsung Q70 Series (55)/1.0 UPnP/1.0",
                )],
                pick(&["res[", "sec:"]),
            ),
            (
                &[(
                    "user-agent",
                    "Linux/3.10.19 UPnP/1.0 LGE WebOS TV LGE_DLNA_SDK/1.6.0",
                )],
                pick(&["res["]),
            ),
            (
                &[("user-agent", "Panasonic MIL DLNA CP UPnP/1.0 DLNADOC/1.50")],
                pick(&["res"]),
            ),
            (
                &[(
                    "x-av-client-info",
                    r#"av=5.0; cn="Sony Corporation"; mn="BRAVIA KDL-40EX720""#,
                )],
                pick(&["res"]),
            ),
            (
                &[("user-agent", "Xbox/2.0.4548.0 UPnP/1.0 Xbox/2.0.4548.0")],
                Vec::new(),
            ),
            (
                &[(
                    "x-av-client-info",
                    r#"av=5.0; cn="Sony Computer Entertainment Inc."; mn="PLAYSTATION 3""#,
                )],
                Vec::new(),
            ),
            (
                &[("user-agent", "Windows-Media-Player/12.0.7601.17514")],
                pick(&["res["]),
            ),
        ];
        for (headers, want) in rows {
            let mut map = axum::http::HeaderMap::new();
            for (k, v) in headers {
                map.insert(*k, v.parse().unwrap());
            }
            let quirks = crate::upnp::quirks::for_request(&map);
            let p = Presentation {
                base_url: "http://h:1",
                quirks: &quirks,
            };
            let xml = write(std::slice::from_ref(&item), &Filter::parse("*"), &p);
            assert_eq!(mechanisms(&xml), want, "{}", quirks.client);
        }
        // A Filter that does not name them leaves the optional ones out.
        let p = Presentation {
            base_url: "http://h:1",
            quirks: &Quirks::STANDARD,
        };
        let xml = write(&[item], &Filter::parse("dc:title,res"), &p);
        assert_eq!(mechanisms(&xml), pick(&["res["]));
    }
}
