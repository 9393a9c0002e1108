//! Playing on a renderer: SetAVTransportURI with the item's DIDL-Lite for
//! that renderer, Play, Pause, Stop, Seek, volume, and the state and
//! position read back (each renderer's at most every `STATUS_FRESH`).
//! What is sent and read is `upnp::control`'s; a fault reaches the person
//! in words.

use std::time::{Duration, Instant};

use super::*;
use crate::net::Failed;
use crate::sync::Locked;
use crate::torrent::InfoHash;
use crate::upnp::control::{self, ControlError, AV_TRANSPORT, RENDERING_CONTROL};

impl Cast {
    /// Play file `index` of torrent `ih` on renderer `udn`: its full
    /// DIDL-Lite for that renderer (subtitles included), then Play.
    /// Returns the title sent.
    pub async fn cast(&self, udn: &str, ih: InfoHash, index: usize) -> Result<String, CastError> {
        let t = self.target(udn)?;
        let library = self.library.clone();
        let id = ObjectId::Item(ih, index).to_string();
        let quirks = t.quirks;
        let found = tokio::task::spawn_blocking(move || library.object(&id, &quirks))
            .await
            .map_err(|e| CastError::Library(e.to_string()))?
            .map_err(|e| CastError::Library(e.0))?;
        let Some(Object::Item(item)) = found else {
            return Err(CastError::NotPlayable(format!(
                "torrent {ih} has no file {index} a TV plays (video, audio or picture)"
            )));
        };
        let uri = format!("{}{}", t.base_url, item.path);
        let title = item.title.clone();
        let metadata = didl::write(
            &[Object::Item(item)],
            &Filter::parse("*"),
            &Presentation {
                base_url: &t.base_url,
                quirks: &t.quirks,
            },
        );
        let set = [
            ("InstanceID", "0"),
            ("CurrentURI", uri.as_str()),
            ("CurrentURIMetaData", metadata.as_str()),
        ];
        match self.call(&t, AV_TRANSPORT, "SetAVTransportURI", &set).await {
            // Some TVs take a new URI only when stopped.
            Err(CastError::Refused {
                error:
                    ControlError::Fault {
                        code: 701 | 705, ..
                    },
                ..
            }) => {
                self.call(&t, AV_TRANSPORT, "Stop", &[("InstanceID", "0")])
                    .await?;
                self.call(&t, AV_TRANSPORT, "SetAVTransportURI", &set)
                    .await?;
            }
            other => {
                other?;
            }
        }
        self.call(
            &t,
            AV_TRANSPORT,
            "Play",
            &[("InstanceID", "0"), ("Speed", "1")],
        )
        .await?;
        tracing::info!(tv = %t.name, %title, "casting");
        if let Some(e) = self.known.locked().get_mut(udn) {
            e.casting = Some(Casting {
                title: title.clone(),
                uri,
            });
            e.status = None;
        }
        Ok(title)
    }

    /// Play, pause, stop, seek or set the volume.
    pub async fn command(&self, udn: &str, command: Command) -> Result<(), CastError> {
        let t = self.target(udn)?;
        let i = ("InstanceID", "0");
        match command {
            Command::Play => {
                self.call(&t, AV_TRANSPORT, "Play", &[i, ("Speed", "1")])
                    .await?
            }
            Command::Pause => self.call(&t, AV_TRANSPORT, "Pause", &[i]).await?,
            Command::Stop => self.call(&t, AV_TRANSPORT, "Stop", &[i]).await?,
            Command::Seek(secs) => {
                let target = control::format_time(secs);
                self.call(
                    &t,
                    AV_TRANSPORT,
                    "Seek",
                    &[i, ("Unit", "REL_TIME"), ("Target", &target)],
                )
                .await?
            }
            Command::Volume(v) => {
                if t.rendering_control.is_none() {
                    return Err(CastError::BadRequest(format!(
                        "{} has no volume that can be set from here",
                        t.name
                    )));
                }
                let v = v.to_string();
                self.call(
                    &t,
                    RENDERING_CONTROL,
                    "SetVolume",
                    &[i, ("Channel", "Master"), ("DesiredVolume", &v)],
                )
                .await?
            }
        };
        if let Some(e) = self.known.locked().get_mut(udn) {
            e.status = None;
        }
        Ok(())
    }

    /// What `udn` is doing (read at most about once a second).
    pub async fn status(&self, udn: &str) -> Result<Status, CastError> {
        let t = self.target(udn)?;
        if let Some((at, s)) = self.known.locked().get(udn).and_then(|e| e.status.clone()) {
            if at.elapsed() < STATUS_FRESH {
                return Ok(s);
            }
        }
        let i = [("InstanceID", "0")];
        let (transport, position, volume) = tokio::join!(
            self.call_within(&t, AV_TRANSPORT, "GetTransportInfo", &i, STATUS_TIMEOUT),
            self.call_within(&t, AV_TRANSPORT, "GetPositionInfo", &i, STATUS_TIMEOUT),
            async {
                match t.rendering_control {
                    Some(_) => Some(
                        self.call_within(
                            &t,
                            RENDERING_CONTROL,
                            "GetVolume",
                            &[("InstanceID", "0"), ("Channel", "Master")],
                            STATUS_TIMEOUT,
                        )
                        .await,
                    ),
                    None => None,
                }
            }
        );
        let arg = |args: &[(String, String)], name: &str| {
            args.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut status = Status {
            udn: udn.to_owned(),
            name: t.name.clone(),
            state: String::new(),
            position_ms: None,
            duration_ms: None,
            volume: None,
            title: None,
            error: None,
        };
        match transport {
            Ok(args) => status.state = arg(&args, "CurrentTransportState"),
            Err(e) => status.error = Some(e.to_string()),
        }
        if let Ok(args) = &position {
            status.position_ms = control::parse_time(&arg(args, "RelTime"));
            status.duration_ms = control::parse_time(&arg(args, "TrackDuration"));
        }
        if let Some(Ok(args)) = &volume {
            status.volume = arg(args, "CurrentVolume").trim().parse().ok();
        }
        let mut known = self.known.locked();
        if let Some(e) = known.get_mut(udn) {
            let uri = position
                .as_ref()
                .ok()
                .map(|a| arg(a, "TrackURI"))
                .unwrap_or_default();
            status.title = e
                .casting
                .as_ref()
                .filter(|c| uri.is_empty() || uri == c.uri)
                .filter(|_| status.state != "NO_MEDIA_PRESENT")
                .map(|c| c.title.clone());
            e.status = Some((Instant::now(), status.clone()));
        }
        Ok(status)
    }

    /// Every known renderer's status, asked at once.
    pub async fn statuses(&self) -> Vec<Status> {
        let udns: Vec<String> = self.renderers().into_iter().map(|r| r.udn).collect();
        futures::future::join_all(udns.iter().map(|u| self.status(u)))
            .await
            .into_iter()
            .filter_map(Result::ok)
            .collect()
    }

    async fn call(
        &self,
        t: &Target,
        service: &str,
        action: &'static str,
        args: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, CastError> {
        self.call_within(t, service, action, args, COMMAND_TIMEOUT)
            .await
    }

    async fn call_within(
        &self,
        t: &Target,
        service: &str,
        action: &'static str,
        args: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Vec<(String, String)>, CastError> {
        let url = if service == RENDERING_CONTROL {
            t.rendering_control
                .clone()
                .unwrap_or_else(|| t.av_transport.clone())
        } else {
            t.av_transport.clone()
        };
        let (soapaction, body) = control::request(service, action, args);
        let unreachable = |detail: String| CastError::Unreachable {
            name: t.name.clone(),
            detail,
        };
        let resp = self
            .client
            .post(url)
            .timeout(timeout)
            .header(
                reqwest::header::CONTENT_TYPE,
                r#"text/xml; charset="utf-8""#,
            )
            .header("SOAPACTION", soapaction)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                unreachable(match Failed::from(e) {
                    Failed::TimedOut => format!("no answer within {} s", timeout.as_secs()),
                    Failed::Other(e) => e,
                })
            })?;
        let status = resp.status();
        let body = read_bounded(resp).await.map_err(unreachable)?;
        let refused = |error| CastError::Refused {
            name: t.name.clone(),
            action,
            error,
        };
        match control::parse_answer(&body, action) {
            Ok(args) => Ok(args),
            Err(ControlError::Malformed(_)) if !status.is_success() => {
                Err(refused(ControlError::Malformed(format!("HTTP {status}"))))
            }
            Err(e) => Err(refused(e)),
        }
    }
}
