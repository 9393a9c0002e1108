//! SOAP control messages, pure: a request body → an `ActionCall`; out
//! arguments → a response envelope; a `UpnpError` → a fault envelope. The
//! envelope is parsed leniently (namespace prefixes vary by vendor; only
//! local names count), and typed UPnP errors become faults here, nowhere else.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::xml::escape;

/// Largest control request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// A UPnP error, sent as a SOAP fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("UPnP error {code}: {description}")]
pub struct UpnpError {
    pub code: u16,
    pub description: String,
}

impl UpnpError {
    pub fn new(code: u16, description: impl Into<String>) -> Self {
        UpnpError {
            code,
            description: description.into(),
        }
    }
    pub fn invalid_action(what: impl Into<String>) -> Self {
        Self::new(401, what)
    }
    pub fn invalid_args(what: impl Into<String>) -> Self {
        Self::new(402, what)
    }
    pub fn action_failed(what: impl Into<String>) -> Self {
        Self::new(501, what)
    }
    pub fn no_such_object(id: &str) -> Self {
        Self::new(701, format!("No such object: {id}"))
    }
    pub fn bad_search(what: impl Into<String>) -> Self {
        Self::new(708, what)
    }
    pub fn bad_sort(what: impl Into<String>) -> Self {
        Self::new(709, what)
    }
    pub fn no_such_container(id: &str) -> Self {
        Self::new(710, format!("No such container: {id}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionCall {
    pub action: String,
    pub args: Vec<(String, String)>,
}

impl ActionCall {
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A required argument, or fault 402 naming it.
    pub fn required(&self, name: &str) -> Result<&str, UpnpError> {
        self.arg(name)
            .ok_or_else(|| UpnpError::invalid_args(format!("missing argument {name}")))
    }

    /// A required unsigned number, or fault 402.
    pub fn number(&self, name: &str) -> Result<u32, UpnpError> {
        let v = self.required(name)?.trim();
        v.parse()
            .map_err(|_| UpnpError::invalid_args(format!("{name} {v:?} is not a number")))
    }
}

fn local(name: &[u8]) -> &[u8] {
    name.rsplit(|b| *b == b':').next().unwrap_or(name)
}

/// The action named in a SOAPACTION header (`"urn:…:service:X:1#Browse"`).
pub fn header_action(header: &str) -> Option<&str> {
    let h = header.trim().trim_matches('"');
    h.rsplit_once('#').map(|(_, a)| a).filter(|a| !a.is_empty())
}

/// Parse a control request body.
/// Does this action change state (the permission layer asks)? Only
/// Samsung's X_SetBookmark does; RegisterDevice is answered and forgotten.
pub fn changes_state(action: &str) -> bool {
    action == "X_SetBookmark"
}

pub fn parse(body: &[u8]) -> Result<ActionCall, UpnpError> {
    if body.len() > MAX_BODY {
        return Err(UpnpError::invalid_action("request body larger than 64 KiB"));
    }
    let malformed = |e: &dyn std::fmt::Display| {
        UpnpError::invalid_action(format!("malformed SOAP envelope: {e}"))
    };
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    // 0: outside Body; 1: in Body; 2: in the action; 3: in an argument; deeper: ignored.
    let mut depth_in_body: Option<usize> = None;
    let mut action: Option<String> = None;
    let mut args: Vec<(String, String)> = Vec::new();
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(&e))?;
        match ev {
            Event::Start(e) => {
                let name = local(e.name().as_ref()).to_vec();
                match depth_in_body {
                    None if name == b"Body" => depth_in_body = Some(0),
                    None => {}
                    Some(d) => {
                        let name = String::from_utf8_lossy(&name).into_owned();
                        match d {
                            0 if action.is_none() => action = Some(name),
                            1 => args.push((name, String::new())),
                            _ => {}
                        }
                        depth_in_body = Some(d + 1);
                    }
                }
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(local(e.name().as_ref())).into_owned();
                match depth_in_body {
                    Some(0) if action.is_none() => action = Some(name),
                    Some(1) => args.push((name, String::new())),
                    _ => {}
                }
            }
            // Text, entity references and CDATA inside an argument.
            Event::Text(t) if depth_in_body == Some(2) => {
                let raw = t.decode().map_err(|e| malformed(&e))?;
                let text = quick_xml::escape::unescape(&raw).map_err(|e| malformed(&e))?;
                if let Some(last) = args.last_mut() {
                    last.1.push_str(&text);
                }
            }
            Event::GeneralRef(r) if depth_in_body == Some(2) => {
                let name = r.decode().map_err(|e| malformed(&e))?;
                let reference = format!("&{name};");
                let text = quick_xml::escape::unescape(&reference).map_err(|e| malformed(&e))?;
                if let Some(last) = args.last_mut() {
                    last.1.push_str(&text);
                }
            }
            Event::CData(t) if depth_in_body == Some(2) => {
                if let Some(last) = args.last_mut() {
                    last.1.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(e) => match depth_in_body {
                Some(0) if local(e.name().as_ref()) == b"Body" => depth_in_body = None,
                Some(d) if d > 0 => depth_in_body = Some(d - 1),
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let action = action.ok_or_else(|| UpnpError::invalid_action("no action in the SOAP body"))?;
    Ok(ActionCall { action, args })
}

const ENVELOPE_START: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?>"#,
    r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/""#,
    r#" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>"#
);
const ENVELOPE_END: &str = "</s:Body></s:Envelope>";

/// A response envelope; argument values are escaped here.
pub fn response(service_type: &str, action: &str, out: &[(&str, String)]) -> String {
    let mut s = String::with_capacity(512 + out.iter().map(|(_, v)| v.len() * 2).sum::<usize>());
    s.push_str(ENVELOPE_START);
    s.push_str(&format!(
        r#"<u:{action}Response xmlns:u="{}">"#,
        escape(service_type)
    ));
    for (name, value) in out {
        s.push_str(&format!("<{name}>{}</{name}>", escape(value)));
    }
    s.push_str(&format!("</u:{action}Response>"));
    s.push_str(ENVELOPE_END);
    s
}

/// A fault envelope (sent with HTTP 500).
pub fn fault(err: &UpnpError) -> String {
    format!(
        "{ENVELOPE_START}<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring>\
         <detail><UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>{}</errorCode>\
         <errorDescription>{}</errorDescription></UPnPError></detail></s:Fault>{ENVELOPE_END}",
        err.code,
        escape(&err.description)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BROWSE: &str = r#"<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
 <s:Body><u:Browse xmlns:u="urn:schemas-upnp-org:service:ContentDirectory:1">
  <ObjectID>t/abc&amp;</ObjectID><BrowseFlag>BrowseDirectChildren</BrowseFlag>
  <Filter>*</Filter><StartingIndex>0</StartingIndex><RequestedCount>50</RequestedCount>
  <SortCriteria/></u:Browse></s:Body></s:Envelope>"#;

    #[test]
    fn parses_browse() {
        let c = parse(BROWSE.as_bytes()).unwrap();
        assert_eq!(c.action, "Browse");
        assert_eq!(c.arg("ObjectID"), Some("t/abc&"));
        assert_eq!(c.arg("SortCriteria"), Some(""));
        assert_eq!(c.number("RequestedCount"), Ok(50));
        assert_eq!(c.required("Nope").unwrap_err().code, 402);
    }

    #[test]
    fn odd_namespaces_and_prefixes() {
        let body = r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><m:GetSystemUpdateID xmlns:m="urn:schemas-upnp-org:service:ContentDirectory:1"/></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;
        assert_eq!(parse(body.as_bytes()).unwrap().action, "GetSystemUpdateID");
        let body = r#"<Envelope><Body><Browse><ObjectID>0</ObjectID></Browse></Body></Envelope>"#;
        assert_eq!(parse(body.as_bytes()).unwrap().arg("ObjectID"), Some("0"));
    }

    #[test]
    fn malformed_is_a_fault() {
        for bad in [
            "",
            "not xml",
            "<a><b></a>",
            "<Envelope><Body></Body></Envelope>",
            "<x>&bogus;</x>",
        ] {
            assert_eq!(parse(bad.as_bytes()).unwrap_err().code, 401, "{bad}");
        }
        assert_eq!(parse(&vec![b' '; MAX_BODY + 1]).unwrap_err().code, 401);
    }

    #[test]
    fn header_action_forms() {
        assert_eq!(
            header_action(r#""urn:schemas-upnp-org:service:ContentDirectory:1#Browse""#),
            Some("Browse")
        );
        assert_eq!(header_action("urn:x#Search"), Some("Search"));
        assert_eq!(header_action("nothing"), None);
    }

    #[test]
    fn response_and_fault_escape() {
        let r = response(
            "urn:schemas-upnp-org:service:ContentDirectory:1",
            "Browse",
            &[("Result", "<DIDL-Lite>&".into())],
        );
        assert!(r.contains("<Result>&lt;DIDL-Lite&gt;&amp;</Result>"));
        let f = fault(&UpnpError::no_such_object("<x>"));
        assert!(f.contains("<errorCode>701</errorCode>"));
        assert!(f.contains("No such object: &lt;x&gt;"));
    }

    proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn never_panics_one_mistake_from_a_browse(body in crate::mutate::near(
            b"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><u:Browse xmlns:u=\"urn:schemas-upnp-org:service:ContentDirectory:1\"><ObjectID>0</ObjectID><BrowseFlag>BrowseDirectChildren</BrowseFlag><Filter>*</Filter><StartingIndex>0</StartingIndex><RequestedCount>10</RequestedCount><SortCriteria>+dc:title</SortCriteria></u:Browse></s:Body></s:Envelope>"
        )) {
            let _ = parse(&body);
        }

        #[test]
        fn arguments_round_trip(value in "\\PC{0,40}") {
            let body = format!(
                "<s:Envelope xmlns:s=\"x\"><s:Body><u:A xmlns:u=\"y\"><V>{}</V></u:A></s:Body></s:Envelope>",
                escape(&value)
            );
            let c = parse(body.as_bytes()).unwrap();
            // Characters XML cannot carry come back as U+FFFD.
            prop_assert_eq!(c.arg("V").unwrap(), escape(&value).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'"));
        }
    }
}
