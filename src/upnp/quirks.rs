//! TV quirks: the one table of per-client differences, keyed by User-Agent.
//! Everything else in the server is the same for every client; a quirk that
//! is not in this table does not exist.

use crate::media::MediaKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quirks {
    /// Which row matched ("default" when none).
    pub client: &'static str,
    /// Present ourselves as Windows Media Connect (Xbox 360 lists nothing else).
    pub windows_media_connect: bool,
    /// (plain MIME type, what this client wants instead).
    pub mime_overrides: &'static [(&'static str, &'static str)],
}

impl Quirks {
    /// The MIME type to announce to this client.
    pub fn mime(&self, _kind: MediaKind, plain: &'static str) -> &'static str {
        self.mime_overrides
            .iter()
            .find(|(from, _)| *from == plain)
            .map_or(plain, |(_, to)| to)
    }
}

const DEFAULT: Quirks = Quirks {
    client: "default",
    windows_media_connect: false,
    mime_overrides: &[],
};

struct Rule {
    /// Any of these substrings of the User-Agent selects the row.
    ua_contains: &'static [&'static str],
    quirks: Quirks,
}

const TABLE: &[Rule] = &[
    // Samsung TVs (AllShare/DLNADOC SEC_HHP): older models only play
    // Matroska and AVI announced with these non-standard types.
    Rule {
        ua_contains: &["SEC_HHP", "SamsungWiselinkPro", "Samsung"],
        quirks: Quirks {
            client: "samsung",
            windows_media_connect: false,
            mime_overrides: &[
                ("video/x-matroska", "video/x-mkv"),
                ("video/x-msvideo", "video/avi"),
            ],
        },
    },
    // Xbox 360 lists only Windows Media Connect servers and wants AVI as video/avi.
    Rule {
        ua_contains: &["Xbox", "Xenon"],
        quirks: Quirks {
            client: "xbox",
            windows_media_connect: true,
            mime_overrides: &[("video/x-msvideo", "video/avi")],
        },
    },
];

/// The quirks for a request, from its User-Agent.
pub fn for_request(user_agent: &str) -> Quirks {
    TABLE
        .iter()
        .find(|r| r.ua_contains.iter().any(|s| user_agent.contains(s)))
        .map_or(DEFAULT, |r| r.quirks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// User-Agents as real devices send them.
    #[test]
    fn samsung() {
        let q = for_request("SEC_HHP_[TV] Samsung Q70 Series (55)/1.0 UPnP/1.0");
        assert_eq!(q.client, "samsung");
        assert_eq!(q.mime(MediaKind::Video, "video/x-matroska"), "video/x-mkv");
        assert_eq!(q.mime(MediaKind::Video, "video/mp4"), "video/mp4");
        assert!(!q.windows_media_connect);
    }

    #[test]
    fn xbox() {
        let q = for_request("Xbox/2.0.4552.0 UPnP/1.0 Xbox/2.0.4552.0");
        assert_eq!(q.client, "xbox");
        assert!(q.windows_media_connect);
        assert_eq!(q.mime(MediaKind::Video, "video/x-msvideo"), "video/avi");
    }

    #[test]
    fn others_get_the_standard() {
        for ua in ["Linux/3.10 UPnP/1.0 LGE_DLNA_SDK/1.6.0", "mpv 0.35", ""] {
            let q = for_request(ua);
            assert_eq!(q, DEFAULT, "{ua}");
            assert_eq!(
                q.mime(MediaKind::Video, "video/x-matroska"),
                "video/x-matroska"
            );
        }
    }
}
