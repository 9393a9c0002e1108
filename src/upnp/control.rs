//! The control point's side of UPnP, pure: what casting to a renderer
//! sends and reads. A renderer's device description (its name, model,
//! maker and the control URLs of AVTransport and RenderingControl, taken
//! only on the description's own host), SOAP requests (arguments escaped
//! by `xml`), their answers or faults (a fault's code put in words a person
//! understands), and the `H:MM:SS` times AVTransport speaks. No I/O: the
//! `cast` module sends and receives.

use quick_xml::events::Event;
use quick_xml::Reader;
use url::Url;

use super::xml::escape;

pub const AV_TRANSPORT: &str = "urn:schemas-upnp-org:service:AVTransport:1";
pub const RENDERING_CONTROL: &str = "urn:schemas-upnp-org:service:RenderingControl:1";
/// A device type of this prefix is a renderer (`:1`, `:2`, `:3`).
pub const RENDERER_PREFIX: &str = "urn:schemas-upnp-org:device:MediaRenderer:";
/// The largest description or answer read (a real one is a few KiB).
pub const MAX_BODY: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The renderer answered with a UPnP fault.
    #[error("{}", fault_words(*code, description))]
    Fault { code: u16, description: String },
    /// What it sent is not a description or an answer.
    #[error("{0}")]
    Malformed(String),
}

/// A renderer as its description tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// With `uuid:`.
    pub udn: String,
    pub friendly_name: String,
    pub manufacturer: String,
    pub model_name: String,
    pub model_number: String,
    pub av_transport: Url,
    /// Volume, when it has RenderingControl.
    pub rendering_control: Option<Url>,
}

#[derive(Default)]
struct DeviceRead {
    device_type: String,
    udn: String,
    friendly_name: String,
    manufacturer: String,
    model_name: String,
    model_number: String,
    /// (serviceType, controlURL)
    services: Vec<(String, String)>,
}

fn local(name: &[u8]) -> &[u8] {
    name.rsplit(|b| *b == b':').next().unwrap_or(name)
}

/// A description's devices and URLBase, read element by element.
#[derive(Default)]
struct Walk {
    /// The elements open now (local names).
    path: Vec<Vec<u8>>,
    /// Devices open now, innermost last, and those closed.
    open: Vec<DeviceRead>,
    done: Vec<DeviceRead>,
    /// The service being read: (serviceType, controlURL).
    service: Option<(String, String)>,
    url_base: String,
}

impl Walk {
    fn read(body: &[u8]) -> Result<Walk, String> {
        let mut reader = Reader::from_reader(body);
        let mut walk = Walk::default();
        let mut text = String::new();
        let unescape = |raw: &str| -> Result<String, String> {
            quick_xml::escape::unescape(raw)
                .map(|t| t.into_owned())
                .map_err(|e| e.to_string())
        };
        loop {
            match reader.read_event().map_err(|e| e.to_string())? {
                Event::Eof => return Ok(walk),
                Event::Start(e) => {
                    walk.start(local(e.name().as_ref()).to_vec())?;
                    text.clear();
                }
                Event::Text(t) => {
                    text.push_str(&unescape(&t.decode().map_err(|e| e.to_string())?)?);
                }
                Event::GeneralRef(r) => {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    text.push_str(&unescape(&format!("&{name};"))?);
                }
                Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
                Event::End(_) => walk.end(std::mem::take(&mut text).trim().to_owned()),
                _ => {}
            }
        }
    }

    fn start(&mut self, name: Vec<u8>) -> Result<(), String> {
        if self.path.len() > 32 {
            return Err("nested too deep".into());
        }
        match name.as_slice() {
            b"device" => self.open.push(DeviceRead::default()),
            b"service" => self.service = Some(Default::default()),
            _ => {}
        }
        self.path.push(name);
        Ok(())
    }

    /// The innermost element ends, holding `value`.
    fn end(&mut self, value: String) {
        let Some(name) = self.path.pop() else { return };
        let parent = self.path.last().map(Vec::as_slice);
        match (parent, name.as_slice()) {
            (_, b"device") => self.done.extend(self.open.pop()),
            (_, b"service") => {
                if let (Some(s), Some(d)) = (self.service.take(), self.open.last_mut()) {
                    d.services.push(s);
                }
            }
            (Some(b"service"), b"serviceType") => {
                if let Some(s) = self.service.as_mut() {
                    s.0 = value;
                }
            }
            (Some(b"service"), b"controlURL") => {
                if let Some(s) = self.service.as_mut() {
                    s.1 = value;
                }
            }
            (Some(b"root"), b"URLBase") => self.url_base = value,
            (Some(b"device"), field) => {
                let Some(d) = self.open.last_mut() else {
                    return;
                };
                let slot = match field {
                    b"deviceType" => &mut d.device_type,
                    b"UDN" => &mut d.udn,
                    b"friendlyName" => &mut d.friendly_name,
                    b"manufacturer" => &mut d.manufacturer,
                    b"modelName" => &mut d.model_name,
                    b"modelNumber" => &mut d.model_number,
                    _ => return,
                };
                *slot = value.chars().take(256).collect();
            }
            _ => {}
        }
    }
}

/// Read a device description fetched from `at`. The renderer is the
/// device (root or embedded) whose type is a MediaRenderer; it must have
/// AVTransport. Control URLs are resolved against URLBase or `at`, and
/// must stay on `at`'s host and port: a description cannot send our
/// requests elsewhere.
pub fn parse_description(body: &[u8], at: &Url) -> Result<Description, ControlError> {
    let bad = |m: String| ControlError::Malformed(format!("the TV's description: {m}"));
    if body.len() > MAX_BODY {
        return Err(bad("larger than 256 KiB".into()));
    }
    let Walk { done, url_base, .. } = Walk::read(body).map_err(bad)?;
    let device = done
        .into_iter()
        .find(|d| d.device_type.starts_with(RENDERER_PREFIX))
        .ok_or_else(|| bad("no MediaRenderer device in it".into()))?;
    if !device.udn.to_ascii_lowercase().starts_with("uuid:") {
        return Err(bad(format!("UDN {:?} is not a uuid: name", device.udn)));
    }
    let base = if url_base.is_empty() {
        at.clone()
    } else {
        Url::parse(&url_base).map_err(|e| bad(format!("URLBase: {e}")))?
    };
    let control = |service: &str| -> Result<Option<Url>, ControlError> {
        let family = service.rsplit_once(':').map_or(service, |(f, _)| f);
        let Some((_, control)) = device
            .services
            .iter()
            .find(|(t, _)| t.rsplit_once(':').is_some_and(|(f, _)| f == family))
        else {
            return Ok(None);
        };
        let url = base
            .join(control)
            .map_err(|e| bad(format!("controlURL {control:?}: {e}")))?;
        if url.scheme() != "http"
            || url.host_str() != at.host_str()
            || url.port_or_known_default() != at.port_or_known_default()
        {
            return Err(bad(format!(
                "controlURL {url} is not on the host it was read from"
            )));
        }
        Ok(Some(url))
    };
    let av_transport =
        control(AV_TRANSPORT)?.ok_or_else(|| bad("it has no AVTransport service".into()))?;
    let rendering_control = control(RENDERING_CONTROL)?;
    let friendly_name = if device.friendly_name.is_empty() {
        device.model_name.clone()
    } else {
        device.friendly_name
    };
    Ok(Description {
        udn: device.udn,
        friendly_name,
        manufacturer: device.manufacturer,
        model_name: device.model_name,
        model_number: device.model_number,
        av_transport,
        rendering_control,
    })
}

/// A SOAP request: its SOAPACTION header value and its body. Every
/// argument value is escaped here.
pub fn request(service: &str, action: &str, args: &[(&str, &str)]) -> (String, String) {
    let mut body =
        String::with_capacity(512 + args.iter().map(|(_, v)| v.len() * 2).sum::<usize>());
    body.push_str(concat!(
        r#"<?xml version="1.0" encoding="utf-8"?>"#,
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/""#,
        r#" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>"#
    ));
    body.push_str(&format!(r#"<u:{action} xmlns:u="{}">"#, escape(service)));
    for (name, value) in args {
        super::xml::element(&mut body, name, value);
    }
    body.push_str(&format!("</u:{action}></s:Body></s:Envelope>"));
    (format!("\"{service}#{action}\""), body)
}

/// A renderer's answer to `action`: its out-arguments, or its fault.
pub fn parse_answer(body: &[u8], action: &str) -> Result<Vec<(String, String)>, ControlError> {
    let call = super::soap::parse(body)
        .map_err(|e| ControlError::Malformed(format!("the TV's answer: {}", e.description)))?;
    if call.action == "Fault" {
        return Err(read_fault(body));
    }
    if call.action != format!("{action}Response") {
        return Err(ControlError::Malformed(format!(
            "the TV answered {} to {action}",
            call.action
        )));
    }
    Ok(call.args)
}

/// errorCode and errorDescription of a fault (501 when it names none).
fn read_fault(body: &[u8]) -> ControlError {
    let mut reader = Reader::from_reader(body);
    let (mut code, mut description) = (None, String::new());
    let mut current: Option<Vec<u8>> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => current = Some(local(e.name().as_ref()).to_vec()),
            Ok(Event::Text(t)) => {
                let text = t
                    .decode()
                    .ok()
                    .and_then(|raw| {
                        quick_xml::escape::unescape(&raw)
                            .ok()
                            .map(|s| s.into_owned())
                    })
                    .unwrap_or_default();
                match current.as_deref() {
                    Some(b"errorCode") => code = text.trim().parse::<u16>().ok(),
                    Some(b"errorDescription") => {
                        description = text.trim().chars().take(200).collect()
                    }
                    _ => {}
                }
            }
            Ok(Event::End(_)) => current = None,
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    ControlError::Fault {
        code: code.unwrap_or(501),
        description,
    }
}

/// A fault in words: what the UPnP and AVTransport codes mean for a
/// person pressing a button, then the TV's own words and the code.
pub fn fault_words(code: u16, description: &str) -> String {
    let words = match code {
        401 => "the TV does not have this action",
        402 | 600 => "the TV did not accept what it was sent",
        501 => "the TV could not do it",
        601 => "the TV says the value is out of range",
        602 => "the TV does not offer this",
        701 => "the TV cannot do that in the state it is in",
        702 => "the TV has nothing to play",
        703 => "the TV could not read the video",
        704 | 714 => "the TV does not play this kind of file",
        705 => "the TV is locked by another app",
        710 | 711 => "the TV cannot seek there",
        712 | 717 => "the TV does not play at this speed",
        715 => "the TV is busy with something else",
        716 => "the TV could not reach the video's address",
        718 => "the TV has no such player instance",
        _ => "the TV refused",
    };
    if description.is_empty() {
        format!("{words} (UPnP error {code})")
    } else {
        format!("{words} (UPnP error {code}: {description})")
    }
}

/// An AVTransport time (`H:MM:SS`, `H:MM:SS.fff`, `H:MM:SS.F0/F1`) in
/// milliseconds; `None` for `NOT_IMPLEMENTED`, empty or odd ones.
pub fn parse_time(s: &str) -> Option<u64> {
    let s = s.trim();
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut parts = hms.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let n = |p: &str| -> Option<u64> {
        (!p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let (h, m, sec) = (n(h.trim_start_matches('+'))?, n(m)?, n(sec)?);
    if m >= 60 || sec >= 60 {
        return None;
    }
    let ms = match frac.split_once('/') {
        Some((f0, f1)) => {
            let (f0, f1) = (n(f0)?, n(f1)?);
            if f1 == 0 || f0 >= f1 {
                return None;
            }
            f0 * 1000 / f1
        }
        None if frac.is_empty() => 0,
        None => {
            let digits: String = frac.chars().take(3).collect();
            n(&digits)? * 10u64.pow(3 - digits.len() as u32)
        }
    };
    Some((h * 3600 + m * 60 + sec) * 1000 + ms)
}

/// Seconds as AVTransport's `H:MM:SS` (Seek's REL_TIME target).
pub fn format_time(secs: u64) -> String {
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// As gmediarender (libupnp) describes itself, services relative.
    pub(crate) const GMEDIARENDER: &str = r#"<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>
<friendlyName>Living room &amp; kitchen</friendlyName><manufacturer>Ivo Clarysse, Henner Zeller</manufacturer>
<modelName>GMediaRender</modelName><modelNumber>0.0.9</modelNumber><UDN>uuid:e2e-tv-1</UDN>
<serviceList>
<service><serviceType>urn:schemas-upnp-org:service:ConnectionManager:1</serviceType><serviceId>urn:upnp-org:serviceId:ConnectionManager</serviceId><SCPDURL>/upnp/renderconnmgrSCPD.xml</SCPDURL><controlURL>/upnp/control/renderconnmgr1</controlURL><eventSubURL>/upnp/event/renderconnmgr1</eventSubURL></service>
<service><serviceType>urn:schemas-upnp-org:service:AVTransport:1</serviceType><serviceId>urn:upnp-org:serviceId:AVTransport</serviceId><SCPDURL>/upnp/rendertransportSCPD.xml</SCPDURL><controlURL>/upnp/control/rendertransport1</controlURL><eventSubURL>/upnp/event/rendertransport1</eventSubURL></service>
<service><serviceType>urn:schemas-upnp-org:service:RenderingControl:1</serviceType><serviceId>urn:upnp-org:serviceId:RenderingControl</serviceId><SCPDURL>/upnp/rendercontrolSCPD.xml</SCPDURL><controlURL>/upnp/control/rendercontrol1</controlURL><eventSubURL>/upnp/event/rendercontrol1</eventSubURL></service>
</serviceList></device></root>"#;

    #[test]
    fn reads_a_renderers_description() {
        let at = Url::parse("http://10.199.5.2:49494/description.xml").unwrap();
        let d = parse_description(GMEDIARENDER.as_bytes(), &at).unwrap();
        assert_eq!(d.udn, "uuid:e2e-tv-1");
        assert_eq!(d.friendly_name, "Living room & kitchen");
        assert_eq!(
            (d.model_name.as_str(), d.model_number.as_str()),
            ("GMediaRender", "0.0.9")
        );
        assert_eq!(
            d.av_transport.as_str(),
            "http://10.199.5.2:49494/upnp/control/rendertransport1"
        );
        assert_eq!(
            d.rendering_control.unwrap().as_str(),
            "http://10.199.5.2:49494/upnp/control/rendercontrol1"
        );
        // An embedded renderer (a root of another type) with URLBase and a
        // path relative to it, AVTransport:2.
        let nested = r#"<root xmlns="urn:schemas-upnp-org:device-1-0"><URLBase>http://10.0.0.9:52235/dmr/</URLBase>
<device><deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType><UDN>uuid:root</UDN><deviceList>
<device><deviceType>urn:schemas-upnp-org:device:MediaRenderer:2</deviceType><friendlyName></friendlyName><modelName>UE55</modelName><manufacturer>Samsung Electronics</manufacturer><UDN>uuid:tv</UDN>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:AVTransport:2</serviceType><controlURL>upnp/control/AVTransport1</controlURL></service></serviceList></device>
</deviceList></device></root>"#;
        let at = Url::parse("http://10.0.0.9:52235/dmr/SamsungMRDesc.xml").unwrap();
        let d = parse_description(nested.as_bytes(), &at).unwrap();
        assert_eq!(
            (d.udn.as_str(), d.friendly_name.as_str()),
            ("uuid:tv", "UE55")
        );
        assert_eq!(
            d.av_transport.as_str(),
            "http://10.0.0.9:52235/dmr/upnp/control/AVTransport1"
        );
        assert_eq!(d.rendering_control, None);
    }

    #[test]
    fn refuses_descriptions_that_are_not_a_renderer_or_point_elsewhere() {
        let at = Url::parse("http://10.199.5.2:49494/description.xml").unwrap();
        let elsewhere = GMEDIARENDER.replace(
            "<controlURL>/upnp/control/rendertransport1",
            "<controlURL>http://192.168.1.1/cgi-bin/reboot",
        );
        let e = parse_description(elsewhere.as_bytes(), &at).unwrap_err();
        assert!(e.to_string().contains("not on the host"), "{e}");
        let server = GMEDIARENDER.replace("device:MediaRenderer:1", "device:MediaServer:1");
        let e = parse_description(server.as_bytes(), &at).unwrap_err();
        assert!(e.to_string().contains("no MediaRenderer"), "{e}");
        let no_avt = GMEDIARENDER.replace("service:AVTransport:1", "service:Other:1");
        let e = parse_description(no_avt.as_bytes(), &at).unwrap_err();
        assert!(e.to_string().contains("no AVTransport"), "{e}");
        assert!(parse_description(b"<root><device>", &at).is_err());
        assert!(parse_description(b"not xml at all <<<", &at).is_err());
    }

    #[test]
    fn requests_escape_their_arguments() {
        let (action, body) = request(
            AV_TRANSPORT,
            "SetAVTransportURI",
            &[
                ("InstanceID", "0"),
                ("CurrentURIMetaData", "<DIDL-Lite>A & B</DIDL-Lite>"),
            ],
        );
        assert_eq!(
            action,
            "\"urn:schemas-upnp-org:service:AVTransport:1#SetAVTransportURI\""
        );
        assert!(body.contains(
            "<CurrentURIMetaData>&lt;DIDL-Lite&gt;A &amp; B&lt;/DIDL-Lite&gt;</CurrentURIMetaData>"
        ));
        // What we send is what a server reads back.
        let call = super::super::soap::parse(body.as_bytes()).unwrap();
        assert_eq!(call.action, "SetAVTransportURI");
        assert_eq!(
            call.arg("CurrentURIMetaData"),
            Some("<DIDL-Lite>A & B</DIDL-Lite>")
        );
    }

    #[test]
    fn reads_answers_and_faults() {
        let ok = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<u:GetPositionInfoResponse xmlns:u="urn:schemas-upnp-org:service:AVTransport:1"><Track>1</Track>
<TrackDuration>0:00:30</TrackDuration><RelTime>0:00:07.250</RelTime></u:GetPositionInfoResponse></s:Body></s:Envelope>"#;
        let out = parse_answer(ok.as_bytes(), "GetPositionInfo").unwrap();
        assert!(out.contains(&("RelTime".into(), "0:00:07.250".into())));
        assert!(parse_answer(ok.as_bytes(), "Play").is_err());
        let fault = r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0">
<errorCode>701</errorCode><errorDescription>Transition not available</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>"#;
        let e = parse_answer(fault.as_bytes(), "Pause").unwrap_err();
        assert_eq!(
            e,
            ControlError::Fault {
                code: 701,
                description: "Transition not available".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "the TV cannot do that in the state it is in (UPnP error 701: Transition not available)"
        );
        assert!(matches!(
            parse_answer(b"<html>500</html>", "Play"),
            Err(ControlError::Malformed(_))
        ));
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("0:00:07"), Some(7000));
        assert_eq!(parse_time("01:02:03.5"), Some(3_723_500));
        assert_eq!(parse_time("0:00:01.25"), Some(1250));
        assert_eq!(parse_time("0:00:10.1/4"), Some(10_250));
        assert_eq!(parse_time("100:00:00"), Some(360_000_000));
        for odd in [
            "NOT_IMPLEMENTED",
            "",
            "0:61:00",
            "1:2",
            "a:b:c",
            "0:00:01.x",
            "0:00:01.1/0",
        ] {
            assert_eq!(parse_time(odd), None, "{odd}");
        }
        assert_eq!(format_time(3723), "1:02:03");
        assert_eq!(parse_time(&format_time(59)), Some(59_000));
    }

    proptest! {
        #[test]
        fn never_panics(d in proptest::collection::vec(any::<u8>(), 0..800), t in "\\PC{0,20}") {
            let at = Url::parse("http://10.0.0.2:1/d.xml").unwrap();
            let _ = parse_description(&d, &at);
            let _ = parse_answer(&d, "Play");
            let _ = parse_time(&t);
        }

        #[test]
        fn never_panics_one_mistake_from_a_description(d in crate::mutate::near(GMEDIARENDER.as_bytes())) {
            let at = Url::parse("http://10.0.0.2:1/d.xml").unwrap();
            let _ = parse_description(&d, &at);
        }
    }
}
