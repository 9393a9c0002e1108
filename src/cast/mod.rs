//! Casting: the TVs (UPnP MediaRenderers) on the LAN and playing our files
//! on them. Owns the list of renderers — kept fresh from the alive and
//! byebye NOTIFYs the SSDP driver hears, and from an M-SEARCH on each SSDP
//! interface at start, every five minutes and when a person looks — and
//! the control point's I/O: fetching a description (its URL must be on
//! the address the announcement came from), SetAVTransportURI with the
//! item's full DIDL-Lite for that renderer (subtitles by every mechanism
//! its quirks row names), Play, Pause, Stop, Seek, volume, and the state
//! and position read back. What is sent and read is `upnp::control`'s;
//! a renderer's fault reaches the person in words (`CastError::Refused`).
//! Finding renderers is `discovery`; playing on one is `transport`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod discovery;
mod transport;

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::library::{Library, ObjectId};
use crate::net::{read_capped, BodyError};
use crate::sync::Locked;
use crate::upnp::content_directory::Directory;
use crate::upnp::control::{
    self, ControlError, Description, AV_TRANSPORT, MAX_BODY, RENDERER_PREFIX,
};
use crate::upnp::didl::{self, Filter, Presentation};
use crate::upnp::object::Object;
use crate::upnp::quirks::{self, Quirks};
use crate::upnp::ssdp::driver::{self, Listener};

/// The most renderers kept (a LAN has a handful; a flood of fake ones
/// must not grow memory).
const MAX_RENDERERS: usize = 64;
/// Descriptions fetched at once; more announcements wait for the next.
const MAX_FETCHES: usize = 4;
/// How often the LAN is searched without anyone asking.
const SEARCH_EVERY: Duration = Duration::from_secs(300);
/// A person opening the TVs page searches again after this long.
const SEARCH_AGAIN: Duration = Duration::from_secs(20);
/// How long a search listens for answers.
const SEARCH_WAIT: Duration = Duration::from_secs(3);
/// A description fetch, a command (SetAVTransportURI makes some TVs read
/// the stream's head first), and a status read.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);
/// A status read this recently is answered from memory (every open page
/// asks each second).
const STATUS_FRESH: Duration = Duration::from_millis(900);
/// The search target: every renderer version answers for `:1`.
const RENDERER_1: &str = "urn:schemas-upnp-org:device:MediaRenderer:1";

#[derive(Debug, thiserror::Error)]
pub enum CastError {
    #[error("no TV {0:?} is known here; it may be off, or on another network")]
    NoRenderer(String),
    #[error("{0}")]
    NotPlayable(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{name} did not answer; is it on? ({detail})")]
    Unreachable { name: String, detail: String },
    #[error("{name} refused {action}: {error}")]
    Refused {
        name: String,
        action: &'static str,
        error: ControlError,
    },
    #[error("the library could not be read: {0}")]
    Library(String),
}

/// A renderer as the pages and the API show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RendererView {
    /// Its UDN, as the API names a renderer (`id`), and as the pages do.
    pub id: String,
    pub udn: String,
    pub name: String,
    pub manufacturer: String,
    pub model: String,
    /// Its IP address.
    pub address: String,
    /// Whether it has a volume to set (RenderingControl).
    pub volume: bool,
    /// What it plays, as its quirks row knows it.
    pub plays: String,
}

/// What a renderer is doing, as it says.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Status {
    pub udn: String,
    pub name: String,
    /// Its TransportState (`PLAYING`, `PAUSED_PLAYBACK`, `STOPPED`,
    /// `TRANSITIONING`, `NO_MEDIA_PRESENT`); empty when it did not answer.
    pub state: String,
    pub position_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    pub volume: Option<u32>,
    /// What we cast to it, while that is what it has.
    pub title: Option<String>,
    /// Why there is no state: it did not answer, or refused.
    pub error: Option<String>,
}

/// What a person can tell a renderer to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Play,
    Pause,
    Stop,
    /// To this position, in seconds.
    Seek(u64),
    /// 0–100.
    Volume(u32),
}

impl Command {
    /// `play`, `pause`, `stop`, `seek` (with `seconds`), `volume` (with
    /// `volume`).
    pub fn parse(
        name: &str,
        seconds: Option<u64>,
        volume: Option<u32>,
    ) -> Result<Command, CastError> {
        match name {
            "play" => Ok(Command::Play),
            "pause" => Ok(Command::Pause),
            "stop" => Ok(Command::Stop),
            "seek" => seconds
                .filter(|s| *s < 100 * 3600)
                .map(Command::Seek)
                .ok_or_else(|| {
                    CastError::BadRequest("seek needs \"seconds\" (0 to 359999)".into())
                }),
            "volume" => volume
                .filter(|v| *v <= 100)
                .map(Command::Volume)
                .ok_or_else(|| CastError::BadRequest("volume needs \"volume\" (0 to 100)".into())),
            other => Err(CastError::BadRequest(format!(
                "{:?} is not a command; one of play, pause, stop, seek, volume",
                other.chars().take(32).collect::<String>()
            ))),
        }
    }
}

struct Casting {
    title: String,
    uri: String,
}

struct Entry {
    desc: Description,
    /// The UDN it announced itself by (an embedded renderer's root may
    /// differ from the renderer's own).
    announced: String,
    location: Url,
    /// Our address on the interface it was heard on.
    our_ip: Ipv4Addr,
    expires: Instant,
    quirks: Quirks,
    casting: Option<Casting>,
    status: Option<(Instant, Status)>,
}

impl Entry {
    fn view(&self) -> RendererView {
        RendererView {
            id: self.desc.udn.clone(),
            udn: self.desc.udn.clone(),
            name: self.desc.friendly_name.clone(),
            manufacturer: self.desc.manufacturer.clone(),
            model: [self.desc.model_name.as_str(), &self.desc.model_number]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
            address: self.location.host_str().unwrap_or_default().to_owned(),
            volume: self.desc.rendering_control.is_some(),
            plays: self.quirks.plays.map_or_else(
                || "what a DLNA player opens (no limits known for this model)".to_owned(),
                |p| p.summary(),
            ),
        }
    }
}

pub struct Cast {
    library: Arc<Library>,
    /// Our HTTP listener (its IP, unless it listens on every address).
    listen: SocketAddr,
    selectors: Vec<String>,
    client: reqwest::Client,
    known: Mutex<HashMap<String, Entry>>,
    fetching: Arc<tokio::sync::Semaphore>,
    searched: Mutex<Option<Instant>>,
}

impl Cast {
    pub fn new(library: Arc<Library>, listen: SocketAddr, selectors: Vec<String>) -> Arc<Cast> {
        Arc::new(Cast {
            library,
            listen,
            selectors,
            client: crate::net::lan_client(COMMAND_TIMEOUT),
            known: Mutex::new(HashMap::new()),
            fetching: Arc::new(tokio::sync::Semaphore::new(MAX_FETCHES)),
            searched: Mutex::new(None),
        })
    }

    /// Listen to what the SSDP driver hears, and search the LAN now and
    /// every five minutes, until `shutdown`. The driver is given the
    /// returned listener.
    pub fn start(self: &Arc<Self>, shutdown: CancellationToken) -> Listener {
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let me = self.clone();
        tokio::spawn(async move {
            let mut search = tokio::time::interval(SEARCH_EVERY);
            search.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = search.tick() => me.search_now(),
                    heard = rx.recv() => match heard {
                        Some((heard, our_ip, from)) => me.heard(heard, our_ip, from),
                        None => return,
                    },
                }
            }
        });
        tx
    }

    /// What a known renderer plays and how it is told of subtitles (its
    /// quirks row).
    pub fn quirks_of(&self, udn: &str) -> Option<Quirks> {
        self.known
            .locked()
            .get(udn)
            .filter(|e| e.expires > Instant::now())
            .map(|e| e.quirks)
    }

    /// The renderers known now, by name.
    pub fn renderers(&self) -> Vec<RendererView> {
        let now = Instant::now();
        let mut list: Vec<RendererView> = self
            .known
            .locked()
            .values()
            .filter(|e| e.expires > now)
            .map(Entry::view)
            .collect();
        list.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.udn.cmp(&b.udn))
        });
        list
    }

    /// What one call to a renderer needs, copied out of the lock.
    fn target(&self, udn: &str) -> Result<Target, CastError> {
        let known = self.known.locked();
        let e = known
            .get(udn)
            .filter(|e| e.expires > Instant::now())
            .ok_or_else(|| CastError::NoRenderer(udn.chars().take(80).collect()))?;
        let ip = match self.listen.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(e.our_ip),
            ip => ip,
        };
        Ok(Target {
            name: e.desc.friendly_name.clone(),
            av_transport: e.desc.av_transport.clone(),
            rendering_control: e.desc.rendering_control.clone(),
            base_url: format!("http://{}", SocketAddr::new(ip, self.listen.port())),
            quirks: e.quirks,
        })
    }
}

struct Target {
    name: String,
    av_transport: Url,
    rendering_control: Option<Url>,
    /// `http://ip:port` of us as this renderer reaches us.
    base_url: String,
    quirks: Quirks,
}

/// A body of at most `MAX_BODY` bytes.
async fn read_bounded(resp: reqwest::Response) -> Result<Vec<u8>, String> {
    read_capped(resp, MAX_BODY).await.map_err(|e| match e {
        BodyError::TooLarge(_) => "its answer is larger than 256 KiB".into(),
        BodyError::Failed(f) => f.to_string(),
    })
}

/// How long a renderer is kept after it announced itself: its max-age,
/// at least a minute (a TV that says less is not dropped between its
/// announcements) and at most a day.
fn lifetime(max_age: u32) -> Duration {
    Duration::from_secs(u64::from(max_age.clamp(60, 86_400)))
}

#[cfg(test)]
mod tests {
    use super::discovery::checked_location;
    use super::*;
    use crate::upnp::ssdp::message::Heard;

    #[test]
    fn a_renderer_is_kept_for_its_max_age() {
        assert_eq!(lifetime(1800), Duration::from_secs(1800));
        assert_eq!(lifetime(5), Duration::from_secs(60));
        assert_eq!(lifetime(u32::MAX), Duration::from_secs(86_400));
    }

    /// A Cast listening on `listen` (its catalog in the returned folder).
    fn cast_at(listen: &str) -> (Arc<Cast>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let catalog =
            Arc::new(crate::catalog::Catalog::open(&dir.path().join("c.sqlite")).unwrap());
        let cast = Cast::new(
            Arc::new(Library::new(catalog, "Test")),
            listen.parse().unwrap(),
            Vec::new(),
        );
        (cast, dir)
    }

    /// gmediarender's description, under this UDN, fetched from `at`.
    fn gmediarender(udn: &str, at: &Url) -> Description {
        let text = control::tests::GMEDIARENDER.replace("uuid:e2e-tv-1", udn);
        control::parse_description(text.as_bytes(), at).unwrap()
    }

    /// What a renderer is told to fetch is on our address on the interface
    /// it was heard on, when we listen on every address; on the address we
    /// listen on otherwise.
    #[tokio::test]
    async fn a_renderer_is_sent_our_address_on_its_interface() {
        let at = Url::parse("http://192.168.1.30:49494/description.xml").unwrap();
        let later = Instant::now() + Duration::from_secs(600);
        let heard_on = Ipv4Addr::new(192, 168, 1, 2);
        for (listen, want) in [
            ("0.0.0.0:8740", "http://192.168.1.2:8740"),
            ("10.0.0.5:9000", "http://10.0.0.5:9000"),
        ] {
            let (cast, _dir) = cast_at(listen);
            let desc = gmediarender("uuid:tv", &at);
            cast.remember(desc, "uuid:tv".into(), at.clone(), heard_on, later);
            let target = cast.target("uuid:tv").unwrap();
            assert_eq!(target.base_url, want, "{listen}");
        }
    }

    /// A renderer whose max-age runs out is dropped (from the list, the
    /// quirks, and what a cast can target), as is one that says byebye.
    #[tokio::test]
    async fn renderers_expire_and_say_goodbye() {
        let (cast, _dir) = cast_at("127.0.0.1:8740");
        let at = Url::parse("http://192.168.1.30:49494/description.xml").unwrap();
        let desc = |udn: &str| gmediarender(udn, &at);
        let ip = Ipv4Addr::new(192, 168, 1, 2);
        let soon = Instant::now() + Duration::from_millis(100);
        let later = Instant::now() + Duration::from_secs(600);
        cast.remember(
            desc("uuid:short"),
            "uuid:short".into(),
            at.clone(),
            ip,
            soon,
        );
        cast.remember(desc("uuid:long"), "uuid:long".into(), at.clone(), ip, later);
        let udns = |c: &Cast| c.renderers().into_iter().map(|r| r.udn).collect::<Vec<_>>();
        assert_eq!(udns(&cast), vec!["uuid:long", "uuid:short"]);
        assert!(cast.quirks_of("uuid:short").is_some());
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(udns(&cast), vec!["uuid:long"], "its max-age ran out");
        assert!(cast.quirks_of("uuid:short").is_none());
        assert!(matches!(
            cast.target("uuid:short"),
            Err(CastError::NoRenderer(_))
        ));
        let from: SocketAddr = "192.168.1.30:1900".parse().unwrap();
        cast.heard(
            Heard::ByeBye {
                udn: "uuid:long".into(),
                kind: RENDERER_1.into(),
            },
            ip,
            from,
        );
        assert!(udns(&cast).is_empty(), "it said goodbye");
    }

    #[test]
    fn a_location_must_be_the_senders_own_address() {
        let lan: IpAddr = "192.168.1.30".parse().unwrap();
        assert!(checked_location("http://192.168.1.30:49152/desc.xml", lan).is_ok());
        // Elsewhere, not HTTP, a name, or off the LAN: ignored.
        for bad in [
            "http://192.168.1.31:49152/desc.xml",
            "https://192.168.1.30/desc.xml",
            "http://tv.local/desc.xml",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(checked_location(bad, lan).is_err(), "{bad}");
        }
        let wan: IpAddr = "8.8.8.8".parse().unwrap();
        assert!(checked_location("http://8.8.8.8/desc.xml", wan).is_err());
    }

    #[test]
    fn commands() {
        assert_eq!(Command::parse("pause", None, None).unwrap(), Command::Pause);
        assert_eq!(
            Command::parse("seek", Some(90), None).unwrap(),
            Command::Seek(90)
        );
        assert_eq!(
            Command::parse("volume", None, Some(30)).unwrap(),
            Command::Volume(30)
        );
        for (name, s, v) in [
            ("seek", None, None),
            ("volume", None, Some(101)),
            ("eject", None, None),
        ] {
            let e = Command::parse(name, s, v).unwrap_err().to_string();
            assert!(!e.is_empty(), "{name}");
        }
    }
}
