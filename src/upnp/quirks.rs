//! TV quirks: the one table of per-client differences (MIME types, sorting,
//! fixed containers, what a family plays, how it learns of subtitles), keyed by the
//! request's User-Agent and other headers, or (for a renderer we cast to)
//! by the maker and model its description names. Everything else in the server is
//! the same for every client; a quirk that is not in this table does not
//! exist. Each row says where its facts come from (the open servers that met
//! these devices: minidlna's `clients.c`, Universal Media Server's renderer
//! profiles, Jellyfin's DLNA profiles, gerbera).

use axum::http::HeaderMap;

/// How a client's SortCriteria is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortRule {
    /// As the client asks (file order when it asks nothing).
    AsAsked,
    /// By title when the client asks nothing (LG lists files in the order it
    /// gets them and shows them as if they were sorted).
    TitleWhenUnasked,
    /// Always by title, whatever it sends (old Panasonic sets send a fixed
    /// SortCriteria naming properties they never look at).
    AlwaysTitle,
}

impl SortRule {
    /// The SortCriteria to apply for what the client sent.
    pub fn criteria(self, asked: &str) -> &str {
        match self {
            SortRule::AsAsked => asked,
            SortRule::TitleWhenUnasked if asked.trim().is_empty() => "+dc:title",
            SortRule::TitleWhenUnasked => asked,
            SortRule::AlwaysTitle => "+dc:title",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quirks {
    /// Which row matched ("default" when none).
    pub client: &'static str,
    /// Present ourselves as Windows Media Connect (Xbox 360 lists nothing else).
    pub windows_media_connect: bool,
    /// A thumbnailer, not a player: served from bytes on disk only while
    /// something plays, so it never moves the piece priority.
    pub thumbnailer: bool,
    pub sort: SortRule,
    /// (plain MIME type, what this client wants instead), in DIDL and HTTP.
    pub mime_overrides: &'static [(&'static str, &'static str)],
    /// Fixed container ids this client opens without browsing to them
    /// (Windows Media Connect's), each with the class of what it lists:
    /// the server answers them with every item of that class.
    pub fixed_containers: &'static [(&'static str, &'static str)],
    /// What this device family plays (`None`: anything, as far as we
    /// know — VLC, Kodi, BubbleUPnP, a standard renderer).
    pub plays: Option<&'static Plays>,
    /// How this client is told about an item's subtitles.
    pub captions: Captions,
    /// It has a search box of its own and sends UPnP Search: it gets no
    /// keyboard folders (a library scan would walk them all).
    pub own_search: bool,
}

/// The ways a device learns of a video's subtitle file, and the type it
/// wants the file served as. A client without a row gets every way at
/// once: a device ignores what it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Captions {
    /// Samsung: `sec:CaptionInfoEx` and `sec:CaptionInfo` in the DIDL, and
    /// the `CaptionInfo.sec` header on a media request that asks with
    /// `getcaptionInfo.sec` (a phone casting: the DIDL is not read then).
    pub samsung: bool,
    /// One more `<res protocolInfo="http-get:*:text/srt:*">` per subtitle
    /// (LG, Sony, VLC, Kodi, BubbleUPnP, Windows).
    pub extra_res: bool,
    /// Panasonic: `pv:subtitleFileUri` / `pv:subtitleFileType` on the
    /// video's `res`.
    pub panasonic: bool,
    /// `Content-Type` of the SRT file.
    pub content_type: &'static str,
}

impl Captions {
    pub const ALL: Captions = Captions {
        samsung: true,
        extra_res: true,
        panasonic: true,
        content_type: "text/srt; charset=utf-8",
    };
    /// For devices that play no external subtitles, where servers that
    /// met them announce none (minidlna leaves PS3, Xbox and Sony's
    /// Blu-ray players out; Jellyfin's profiles embed only).
    pub const NONE: Captions = Captions {
        samsung: false,
        extra_res: false,
        panasonic: false,
        content_type: "text/srt; charset=utf-8",
    };
}

/// What a device family's own player plays, named as hunch names a
/// release's parts (containers by extension). A release that names
/// something outside these lists will not play there; one that names
/// nothing is assumed to.
#[derive(Debug, PartialEq, Eq)]
pub struct Plays {
    pub containers: &'static [&'static str],
    pub video: &'static [&'static str],
    pub audio: &'static [&'static str],
}

impl Plays {
    /// What it plays, in a line a person reads: "MKV, MP4 … files; H.264,
    /// H.265 … video; AAC, MP3 … audio".
    pub fn summary(&self) -> String {
        let containers: Vec<String> = self
            .containers
            .iter()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        format!(
            "{} files; {} video; {} audio",
            containers.join(", "),
            self.video.join(", "),
            self.audio.join(", ")
        )
    }

    /// What of this release it cannot play ("DTS audio", "MKV files").
    pub fn cannot(
        &self,
        container: Option<&str>,
        video: Option<&str>,
        audio: Option<&str>,
    ) -> Option<String> {
        fn outside<'h>(have: Option<&'h str>, list: &[&str]) -> Option<&'h str> {
            have.filter(|h| !list.iter().any(|x| x.eq_ignore_ascii_case(h)))
        }
        if let Some(c) = outside(container, self.containers) {
            return Some(format!("{} files", c.to_ascii_uppercase()));
        }
        if let Some(v) = outside(video, self.video) {
            return Some(format!("{v} video"));
        }
        outside(audio, self.audio).map(|a| format!("{a} audio"))
    }
}

// What the families play, from the makers' published format lists and the
// open servers' renderer profiles (Universal Media Server's
// `renderers/*.conf` Supported lines, Jellyfin's DLNA profiles).
/// What most TVs sold since 2018 open.
#[rustfmt::skip]
const TV_CONTAINERS: &[&str] = &["mkv", "mp4", "m4v", "avi", "ts", "m2ts", "mov", "webm"];
#[rustfmt::skip]
const TV_VIDEO: &[&str] = &["H.264", "H.265", "Xvid", "DivX", "MPEG-2", "MPEG-4 Visual", "VP9"];
#[rustfmt::skip]
const TV_AUDIO: &[&str] = &["AAC", "Dolby Digital", "Dolby Digital Plus", "MP3", "PCM", "FLAC", "Vorbis"];
/// Samsung TVs since 2018 (Tizen): AV1 from 2020, no DTS (dropped from the
/// 2018 models).
#[rustfmt::skip]
const SAMSUNG_PLAYS: Plays = Plays {
    containers: &["mkv", "mp4", "m4v", "avi", "ts", "m2ts", "mov", "webm", "wmv"],
    video: &["H.264", "H.265", "Xvid", "DivX", "MPEG-2", "MPEG-4 Visual", "VP9", "AV1", "VC-1"],
    audio: &["AAC", "Dolby Digital", "Dolby Digital Plus", "MP3", "MP2", "PCM", "Opus", "FLAC", "Vorbis"],
};
/// LG webOS TVs: AV1 from 2020; DTS absent from the 2020–2022 models, so
/// not counted on.
#[rustfmt::skip]
const LG_PLAYS: Plays = Plays {
    containers: TV_CONTAINERS,
    video: &["H.264", "H.265", "Xvid", "DivX", "MPEG-2", "MPEG-4 Visual", "VP9", "AV1"],
    audio: TV_AUDIO,
};
/// Sony Bravia (Android / Google TV): DTS passes through.
#[rustfmt::skip]
const SONY_TV_PLAYS: Plays = Plays {
    containers: TV_CONTAINERS,
    video: TV_VIDEO,
    audio: &["AAC", "Dolby Digital", "Dolby Digital Plus", "DTS", "MP3", "PCM", "FLAC", "Vorbis"],
};
/// PlayStation 3: no Matroska, no HEVC.
#[rustfmt::skip]
const PS3_PLAYS: Plays = Plays {
    containers: &["mp4", "m4v", "avi", "ts", "m2ts", "mpg", "wmv"],
    video: &["H.264", "Xvid", "DivX", "MPEG-2", "MPEG-4 Visual", "VC-1"],
    audio: &["AAC", "Dolby Digital", "MP3", "PCM"],
};
/// Sony Blu-ray players: Matroska (announced as DivX), H.264, DTS.
#[rustfmt::skip]
const SONY_BD_PLAYS: Plays = Plays {
    containers: &["mkv", "mp4", "m4v", "avi", "ts", "m2ts"],
    video: &["H.264", "Xvid", "DivX", "MPEG-2", "MPEG-4 Visual", "VC-1"],
    audio: &["AAC", "Dolby Digital", "DTS", "MP3", "PCM"],
};
/// Panasonic Viera (the DLNA client of the older sets): no HEVC.
#[rustfmt::skip]
const PANASONIC_PLAYS: Plays = Plays {
    containers: &["mkv", "mp4", "m4v", "avi", "ts", "m2ts", "mov"],
    video: &["H.264", "Xvid", "DivX", "MPEG-2", "MPEG-4 Visual"],
    audio: &["AAC", "Dolby Digital", "MP3", "PCM"],
};
/// Xbox 360: no Matroska, no HEVC, no DTS.
#[rustfmt::skip]
const XBOX_PLAYS: Plays = Plays {
    containers: &["mp4", "m4v", "avi", "wmv", "mov"],
    video: &["H.264", "Xvid", "DivX", "MPEG-4 Visual", "VC-1"],
    audio: &["AAC", "Dolby Digital", "MP3", "PCM"],
};

impl Quirks {
    /// The MIME type to announce to this client.
    pub fn mime(&self, plain: &'static str) -> &'static str {
        self.mime_overrides
            .iter()
            .find(|(from, _)| *from == plain)
            .map_or(plain, |(_, to)| to)
    }

    /// What of this release this client cannot play (`None`: it plays,
    /// or we do not know that it does not).
    pub fn cannot_play(
        &self,
        container: Option<&str>,
        video: Option<&str>,
        audio: Option<&str>,
    ) -> Option<String> {
        self.plays?.cannot(container, video, audio)
    }

    /// The class a fixed container id of this client lists, if it is one.
    pub fn fixed_container(&self, id: &str) -> Option<&'static str> {
        self.fixed_containers
            .iter()
            .find(|(fixed, _)| *fixed == id)
            .map(|(_, class)| *class)
    }
}

impl Quirks {
    /// What a client without a row gets: the standard.
    pub const STANDARD: Quirks = Quirks {
        client: "default",
        windows_media_connect: false,
        thumbnailer: false,
        sort: SortRule::AsAsked,
        mime_overrides: &[],
        fixed_containers: &[],
        plays: None,
        captions: Captions::ALL,
        own_search: false,
    };
}

/// What selects a row.
enum Match {
    /// The User-Agent contains this.
    Agent(&'static str),
    /// The User-Agent starts with this.
    AgentPrefix(&'static str),
    /// This header (lower case) contains this (`""`: is present).
    Header(&'static str, &'static str),
    /// A renderer's description: its manufacturer or model name contains
    /// this (casting, where we make the request and the TV has no say).
    Maker(&'static str),
}

/// Who is asking, as far as the table can tell.
enum Who<'a> {
    Request {
        headers: &'a HeaderMap,
        agent: &'a str,
    },
    Renderer {
        maker: &'a str,
    },
}

impl Match {
    fn hits(&self, who: &Who<'_>) -> bool {
        match (self, who) {
            (Match::Agent(s), Who::Request { agent, .. }) => agent.contains(s),
            (Match::AgentPrefix(s), Who::Request { agent, .. }) => agent.starts_with(s),
            (Match::Header(name, s), Who::Request { headers, .. }) => headers
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains(s)),
            (Match::Maker(s), Who::Renderer { maker }) => maker.contains(s),
            _ => false,
        }
    }
}

struct Rule {
    /// Any of these selects the row; the first row that matches wins.
    any: &'static [Match],
    quirks: Quirks,
}

const TABLE: &[Rule] = &[
    // Sony sends a generic UA and names itself in X-AV-Client-Info, which
    // therefore goes before every UA row (minidlna matches it the same way).
    // PlayStation 3: AVI as video/divx (minidlna EPS3, UMS PS3, Jellyfin PS3).
    Rule {
        any: &[
            Match::Header("x-av-client-info", "PLAYSTATION"),
            Match::Agent("PLAYSTATION"),
            Match::Maker("PLAYSTATION"),
        ],
        quirks: Quirks {
            client: "sony-playstation",
            mime_overrides: &[("video/x-msvideo", "video/divx")],
            plays: Some(&PS3_PLAYS),
            captions: Captions::NONE,
            ..Quirks::STANDARD
        },
    },
    // Sony Blu-ray players play Matroska only when it is called DivX
    // (minidlna ESonyBDP: "BDP-S370 won't play MKV unless we pretend it's a
    // DiVX file"). Matched by model name only: minidlna's `mv="2.0"` would
    // also take any other Sony device of that version.
    Rule {
        any: &[
            Match::Header("x-av-client-info", "Blu-ray Disc Player"),
            Match::Maker("Blu-ray Disc Player"),
        ],
        quirks: Quirks {
            client: "sony-bluray",
            mime_overrides: &[("video/x-matroska", "video/divx")],
            plays: Some(&SONY_BD_PLAYS),
            captions: Captions::NONE,
            ..Quirks::STANDARD
        },
    },
    // Sony Bravia TVs take the standard (minidlna ESonyBravia: FLAG_DLNA
    // only); the row keeps a Bravia from being taken for anything else.
    // Subtitles as UMS's Bravia profiles give them: an extra `res` and
    // Panasonic's attributes, no Samsung elements.
    Rule {
        any: &[
            Match::Header("x-av-client-info", "Sony"),
            Match::Maker("Sony"),
        ],
        quirks: Quirks {
            client: "sony",
            plays: Some(&SONY_TV_PLAYS),
            captions: Captions {
                samsung: false,
                ..Captions::ALL
            },
            ..Quirks::STANDARD
        },
    },
    // Samsung TVs (AllShare, DLNADOC SEC_HHP): Matroska and AVI only with
    // these non-standard types (minidlna FLAG_SAMSUNG, FLAG_MIME_AVI_AVI).
    // Subtitles: `sec:CaptionInfoEx` (minidlna, UMS, Jellyfin), the extra
    // `res` too (minidlna, for the J and Q series, which dropped the old
    // way), served as text/plain (gerbera #1613: text/srt showed nothing
    // where text/plain had worked).
    Rule {
        any: &[
            Match::Agent("SEC_HHP"),
            Match::Agent("SamsungWiselinkPro"),
            Match::Agent("Samsung"),
            Match::Maker("Samsung"),
        ],
        quirks: Quirks {
            client: "samsung",
            mime_overrides: &[
                ("video/x-matroska", "video/x-mkv"),
                ("video/x-msvideo", "video/avi"),
            ],
            plays: Some(&SAMSUNG_PLAYS),
            captions: Captions {
                panasonic: false,
                content_type: "text/plain; charset=utf-8",
                ..Captions::ALL
            },
            ..Quirks::STANDARD
        },
    },
    // LG NetCast and webOS: AVI as video/avi (UMS LG-WebOS), and lists
    // shown in the order sent, so unsorted requests get title order
    // (minidlna ELGDevice: "LG TV ordering bug"). Subtitles: the extra
    // `text/srt` res (minidlna, Jellyfin, UMS, Rygel's LG hacks).
    Rule {
        any: &[
            Match::Agent("LGE_DLNA_SDK"),
            Match::Agent("LG NetCast"),
            Match::Agent("WebOS TV"),
            Match::Maker("LG Electronics"),
        ],
        quirks: Quirks {
            client: "lg",
            plays: Some(&LG_PLAYS),
            sort: SortRule::TitleWhenUnasked,
            mime_overrides: &[("video/x-msvideo", "video/avi")],
            captions: Captions {
                samsung: false,
                panasonic: false,
                ..Captions::ALL
            },
            ..Quirks::STANDARD
        },
    },
    // Panasonic Viera: a hard-coded SortCriteria (minidlna FLAG_FORCE_SORT,
    // gerbera ForceSortCriteriaTitle), AVI as video/divx (UMS Viera).
    // Subtitles: `pv:subtitleFileUri` on the video's res and the extra res
    // (minidlna, UMS), the file as text/plain (UMS).
    Rule {
        any: &[
            Match::Agent("Panasonic MIL DLNA"),
            Match::Header("x-panasonic-dmp-profile", ""),
            Match::Maker("Panasonic"),
        ],
        quirks: Quirks {
            client: "panasonic",
            plays: Some(&PANASONIC_PLAYS),
            sort: SortRule::AlwaysTitle,
            mime_overrides: &[("video/x-msvideo", "video/divx")],
            captions: Captions {
                samsung: false,
                content_type: "text/plain; charset=utf-8",
                ..Captions::ALL
            },
            ..Quirks::STANDARD
        },
    },
    // Xbox 360 lists only Windows Media Connect servers and wants AVI as
    // video/avi (minidlna EXbox, FLAG_MIME_AVI_AVI). It opens Windows Media
    // Connect's fixed containers straight away — 15 all video, 16 all
    // pictures, 4 all music, 8 (in Search) all video — and gets fault 701
    // from a server without them (minidlna maps the same ids in
    // upnpsoap.c for EXbox).
    Rule {
        any: &[
            Match::Agent("Xbox"),
            Match::Agent("Xenon"),
            Match::Maker("Xbox"),
        ],
        quirks: Quirks {
            client: "xbox",
            plays: Some(&XBOX_PLAYS),
            captions: Captions::NONE,
            windows_media_connect: true,
            mime_overrides: &[("video/x-msvideo", "video/avi")],
            fixed_containers: &[
                ("15", "object.item.videoItem"),
                ("8", "object.item.videoItem"),
                ("16", "object.item.imageItem"),
                ("4", "object.item.audioItem"),
            ],
            ..Quirks::STANDARD
        },
    },
    // Windows Media Player 11/12 and Windows' own DLNA client: AVI as
    // video/avi (minidlna's Windows row, FLAG_MIME_AVI_AVI; UMS matches the
    // same UAs).
    Rule {
        any: &[
            Match::Agent("Windows-Media-Player"),
            Match::AgentPrefix("NSPlayer/"),
            Match::Agent("Microsoft-Windows/"),
            Match::Agent("FDSSDP"),
            Match::Maker("Windows Media Player"),
        ],
        quirks: Quirks {
            client: "windows-media-player",
            mime_overrides: &[("video/x-msvideo", "video/avi")],
            captions: Captions {
                samsung: false,
                panasonic: false,
                ..Captions::ALL
            },
            // Its library's search box sends UPnP Search (SearchCaps are
            // asked at connect; UMS's WMP profile answers them).
            own_search: true,
            ..Quirks::STANDARD
        },
    },
    // Players with a search box of their own that send UPnP Search, and
    // whose library scan walks every container: Kodi (Platinum's UPnP
    // client; its UA names Kodi, or XBMC on old builds), VLC (its
    // UPnP services discovery) and BubbleUPnP. Otherwise standard.
    Rule {
        any: &[
            Match::Agent("Kodi"),
            Match::Agent("XBMC"),
            Match::Agent("LibVLC"),
            Match::Agent("BubbleUPnP"),
        ],
        quirks: Quirks {
            client: "own-search",
            own_search: true,
            ..Quirks::STANDARD
        },
    },
];

/// Thumbnailers, whatever device they run on: LG's media app probes files
/// with FFmpeg (UA `Lavf/…`), many at a time, while it browses (UMS
/// MediaServerServlet). Not `icy-metadata: 1`, which dlna.md lists: FFmpeg
/// and GStreamer players send it on every request by default.
const THUMBNAILERS: &[Match] = &[Match::AgentPrefix("Lavf/")];

/// The quirks for a request, from its headers: the first device row that
/// matches, and whether the agent is a thumbnailer.
pub fn for_request(headers: &HeaderMap) -> Quirks {
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let who = Who::Request { headers, agent };
    let hits = |any: &[Match]| any.iter().any(|m| m.hits(&who));
    let mut quirks = TABLE
        .iter()
        .find(|r| hits(r.any))
        .map_or(Quirks::STANDARD, |r| r.quirks);
    quirks.thumbnailer = hits(THUMBNAILERS);
    quirks
}

/// The quirks for a renderer we cast to, from its description's
/// manufacturer and model name: the first device row that names it.
pub fn for_renderer(manufacturer: &str, model_name: &str) -> Quirks {
    let maker = format!("{manufacturer} {model_name}");
    let who = Who::Renderer { maker: &maker };
    TABLE
        .iter()
        .find(|r| r.any.iter().any(|m| m.hits(&who)))
        .map_or(Quirks::STANDARD, |r| r.quirks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headers as a real device sends them (quoted in the sources above).
    fn request(headers: &[(&'static str, &str)]) -> Quirks {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        for_request(&map)
    }

    fn agent(ua: &str) -> Quirks {
        request(&[("user-agent", ua)])
    }

    const MKV: &str = "video/x-matroska";
    const AVI: &str = "video/x-msvideo";

    #[test]
    fn samsung() {
        let q = agent("SEC_HHP_[TV] Samsung Q70 Series (55)/1.0 UPnP/1.0");
        assert_eq!(q.client, "samsung");
        assert_eq!(q.mime(MKV), "video/x-mkv");
        assert_eq!(q.mime(AVI), "video/avi");
        assert_eq!(q.mime("video/mp4"), "video/mp4");
        assert!(!q.windows_media_connect);
        assert_eq!(
            agent("DLNADOC/1.50 SEC_HHP_[TV]UE40D7000/1.0").client,
            "samsung"
        );
    }

    #[test]
    fn lg() {
        for ua in [
            "Linux/2.6.35 UPnP/1.0 DLNADOC/1.50 INTEL_NMPR/2.0 LGE_DLNA_SDK/1.6.0",
            "Linux/3.10.19-32.afro.4 UPnP/1.0 LGE WebOS TV LGE_DLNA_SDK/1.6.0/04.30.13 DLNADOC/1.50",
            "GStreamer souphttpsrc (compatible; LG NetCast.TV-2012) libsoup/2.34.2",
        ] {
            let q = agent(ua);
            assert_eq!(q.client, "lg", "{ua}");
            assert_eq!(q.sort.criteria(""), "+dc:title");
            assert_eq!(q.sort.criteria("-dc:date"), "-dc:date");
            assert_eq!(q.mime(AVI), "video/avi");
            assert_eq!(q.mime(MKV), MKV);
        }
    }

    #[test]
    fn lg_thumbnailer_is_not_a_player() {
        let q = agent("Lavf/58.76.100");
        assert!(q.thumbnailer);
        assert_eq!(q.client, "default");
        // Players that send icy-metadata on every request (FFmpeg's and
        // GStreamer's HTTP clients do by default) are players.
        for headers in [
            [("user-agent", "libmpv"), ("icy-metadata", "1")],
            [
                (
                    "user-agent",
                    "GStreamer souphttpsrc (compatible; LG NetCast.TV-2012) libsoup/2.34.2",
                ),
                ("icy-metadata", "1"),
            ],
        ] {
            let q = request(&headers);
            assert!(!q.thumbnailer, "{headers:?}");
        }
        let lg = request(&[
            (
                "user-agent",
                "GStreamer souphttpsrc (compatible; LG NetCast.TV-2012) libsoup/2.34.2",
            ),
            ("icy-metadata", "1"),
        ]);
        assert_eq!(lg.client, "lg", "keeps its device row");
        assert!(!agent("mpv 0.35 (Lavf/60)").thumbnailer, "only a Lavf UA");
    }

    #[test]
    fn sony() {
        // Bravia: generic UA, named in X-AV-Client-Info.
        let q = request(&[
            ("user-agent", "UPnP/1.0 DLNADOC/1.50"),
            (
                "x-av-client-info",
                r#"av=5.0; cn="Sony Corporation"; mn="BRAVIA KDL-40EX503"; mv="1.7";"#,
            ),
        ]);
        assert_eq!(q.client, "sony");
        assert_eq!(q.mime(MKV), MKV);
        let q = request(&[(
            "x-av-client-info",
            r#"av=5.0; cn="Sony Corporation"; mn="Blu-ray Disc Player"; mv="2.0""#,
        )]);
        assert_eq!(q.client, "sony-bluray");
        let other = request(&[(
            "x-av-client-info",
            r#"av=5.0; cn="Sony Corporation"; mn="STR-DN1080"; mv="2.0""#,
        )]);
        assert_eq!(other.client, "sony", "a version number alone is no model");
        assert_eq!(q.mime(MKV), "video/divx");
        for q in [
            agent("PLAYSTATION 3"),
            request(&[(
                "x-av-client-info",
                r#"av=5.0; cn="Sony Computer Entertainment Inc."; mn="PLAYSTATION 3"; mv="1.0";"#,
            )]),
        ] {
            assert_eq!(q.client, "sony-playstation");
            assert_eq!(q.mime(AVI), "video/divx");
        }
    }

    #[test]
    fn panasonic() {
        for q in [
            agent("Panasonic MIL DLNA CP UPnP/1.0 DLNADOC/1.50"),
            request(&[
                ("user-agent", "UPnP/1.0"),
                (
                    "x-panasonic-dmp-profile",
                    "MPEG_PS_PAL JPEG_SM PV_DIVX_DIV3",
                ),
            ]),
        ] {
            assert_eq!(q.client, "panasonic");
            assert_eq!(q.sort.criteria("+upnp:originalTrackNumber"), "+dc:title");
            assert_eq!(q.sort.criteria(""), "+dc:title");
            assert_eq!(q.mime(AVI), "video/divx");
        }
    }

    #[test]
    fn what_each_family_plays() {
        let samsung = agent("SEC_HHP_[TV] UE55RU7100/1.0 DLNADOC/1.50");
        assert_eq!(
            samsung.cannot_play(Some("mkv"), Some("H.265"), Some("DTS")),
            Some("DTS audio".into())
        );
        assert_eq!(
            samsung.cannot_play(Some("mkv"), Some("H.265"), Some("AAC")),
            None
        );
        assert_eq!(samsung.cannot_play(None, None, None), None, "unknown plays");
        let xbox = agent("Xbox/2.0.4552.0 UPnP/1.0 Xbox/2.0.4552.0");
        assert_eq!(
            xbox.cannot_play(Some("mkv"), Some("H.264"), None),
            Some("MKV files".into())
        );
        assert_eq!(
            xbox.cannot_play(Some("mp4"), Some("H.265"), None),
            Some("H.265 video".into())
        );
        // A client without a row: we do not know it cannot.
        assert_eq!(
            agent("VLC/3.0").cannot_play(Some("mkv"), Some("AV1"), Some("DTS-HD")),
            None
        );
    }

    #[test]
    fn xbox() {
        let q = agent("Xbox/2.0.4552.0 UPnP/1.0 Xbox/2.0.4552.0");
        assert_eq!(q.client, "xbox");
        assert!(q.windows_media_connect);
        assert_eq!(q.fixed_container("15"), Some("object.item.videoItem"));
        assert_eq!(q.fixed_container("0"), None);
        assert_eq!(Quirks::STANDARD.fixed_container("15"), None);
        assert_eq!(q.mime(AVI), "video/avi");
    }

    #[test]
    fn windows_media_player() {
        for ua in [
            "Microsoft-Windows/6.1 UPnP/1.0 Windows-Media-Player-DMS/12.0.7601.17514 DLNADOC/1.50",
            "Microsoft-Windows/6.1 UPnP/1.0 Windows-Media-Player/12.0.7601.18150 DLNADOC/1.50 (MS-DeviceCaps/1024)",
            "NSPlayer/12.00.7601.17514 WMFSDK/12.00.7601.17514",
            "Microsoft-Windows/10.0 UPnP/1.0 Microsoft-DLNA DLNADOC/1.50",
        ] {
            let q = agent(ua);
            assert_eq!(q.client, "windows-media-player", "{ua}");
            assert!(!q.windows_media_connect, "only the Xbox needs that");
            assert_eq!(q.mime(AVI), "video/avi");
            assert_eq!(q.sort, SortRule::AsAsked);
        }
    }

    #[test]
    fn others_get_the_standard() {
        for ua in ["mpv 0.35", "GStreamer souphttpsrc", ""] {
            let q = agent(ua);
            assert_eq!(q, Quirks::STANDARD, "{ua}");
            assert_eq!(q.mime(MKV), MKV);
            assert_eq!(q.sort.criteria("-dc:date"), "-dc:date");
        }
    }

    /// Players with a search box of their own get the standard, and no
    /// keyboard folders; a TV's media app does not have one.
    #[test]
    fn who_has_a_search_box_of_its_own() {
        for ua in [
            "VLC/3.0.18 LibVLC/3.0.18",
            "BubbleUPnP UPnP/1.1",
            "Kodi/21.0 (Linux; Android 12) Android/12.0.0 Sys_CPU/aarch64 App_Bitness/64 Version/21.0-(21.0.0)-Git:20240406-bfa8fa4e0a",
            "Platinum/1.0.4.11 XBMC/12.0",
            "Microsoft-Windows/10.0 UPnP/1.0 Windows-Media-Player-DMS/12.0.19041.1",
        ] {
            let q = agent(ua);
            assert!(q.own_search, "{ua}");
        }
        for ua in ["SEC_HHP_[TV] UE55RU7100/1.0 DLNADOC/1.50", "mpv 0.35", ""] {
            assert!(!agent(ua).own_search, "{ua}");
        }
        let q = agent("BubbleUPnP UPnP/1.1");
        assert_eq!(
            q,
            Quirks {
                client: "own-search",
                own_search: true,
                ..Quirks::STANDARD
            }
        );
    }

    #[test]
    fn what_a_family_plays_in_a_line() {
        let line = SAMSUNG_PLAYS.summary();
        assert!(line.starts_with("MKV, MP4"), "{line}");
        assert!(line.contains("H.265 ") || line.contains("H.265,"), "{line}");
        assert!(line.contains("AAC") && line.ends_with(" audio"), "{line}");
        assert!(!line.contains("DTS"), "{line}");
    }

    /// A renderer we cast to is known by its description, as its makers
    /// name themselves there (Samsung's `Samsung Electronics`, LG's
    /// `LG Electronics`, Sony's `Sony Corporation`).
    #[test]
    fn renderers_by_maker() {
        assert_eq!(
            for_renderer("Samsung Electronics", "UE55NU7400").client,
            "samsung"
        );
        assert_eq!(for_renderer("LG Electronics", "LG TV").client, "lg");
        assert_eq!(
            for_renderer("Sony Corporation", "KD-55XF9005").client,
            "sony"
        );
        assert_eq!(
            for_renderer("Sony Corporation", "Blu-ray Disc Player").client,
            "sony-bluray"
        );
        assert_eq!(for_renderer("Panasonic", "VIErA").client, "panasonic");
        let gmr = for_renderer("Ivo Clarysse, Henner Zeller", "GMediaRender");
        assert_eq!(gmr, Quirks::STANDARD);
        assert_eq!(gmr.captions, Captions::ALL);
    }
}
