//! The HTTPS listener's certificate (`web.https-listen`): the one given
//! (`web.tls-cert`, `web.tls-key`), or a self-signed one made once and
//! kept in the state directory (`tls/cert.pem`, `tls/key.pem`) for the
//! host's names and LAN addresses, made again when those change or it nears
//! its end (`Tls::refresh`); its SHA-256 fingerprint, shown so a person can
//! check what their phone warns about; the rustls acceptor, whose
//! certificate is swapped in place. What a certificate must name and when
//! it is made again are pure (`wanted_names`, `needs_new`).

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::config::WebConfig;
use crate::mdns::{dns_label, mdns_host};
use crate::sync::ReadWrite;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read, parsed or written.
    #[error("{}: {why}", path.display())]
    File { path: PathBuf, why: String },
    #[error("a certificate could not be made: {0}")]
    Make(String),
}

fn file_err(path: &Path, why: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        why: why.to_string(),
    }
}

/// The names a certificate is for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Names {
    pub dns: BTreeSet<String>,
    pub ips: BTreeSet<IpAddr>,
}

/// What a made certificate names: the host (`HOST`, `HOST.local`, our
/// mDNS host), `localhost`, 127.0.0.1 and the host's LAN addresses.
pub fn wanted_names(host: &str, addrs: &[Ipv4Addr]) -> Names {
    let label = dns_label(host);
    let dns = [
        label.clone(),
        format!("{label}.local"),
        mdns_host(host),
        "localhost".to_owned(),
    ];
    let ips = addrs
        .iter()
        .copied()
        .chain([Ipv4Addr::LOCALHOST])
        .map(IpAddr::V4);
    Names {
        dns: dns.into_iter().collect(),
        ips: ips.collect(),
    }
}

/// Days a made certificate is valid: within the 825 days Apple's devices
/// accept for any TLS server certificate.
const VALID_DAYS: i64 = 800;
/// A made certificate that ends within this many days is made again.
const RENEW_DAYS: i64 = 30;

/// Make a new certificate? `kept`: the names and end (Unix seconds) of the
/// one kept, if any.
pub fn needs_new(kept: Option<(&Names, i64)>, wanted: &Names, now: i64) -> bool {
    match kept {
        None => true,
        Some((names, end)) => names != wanted || end - now < RENEW_DAYS * 86_400,
    }
}

/// The SHA-256 fingerprint of a certificate (DER) as browsers show it:
/// upper-case hex pairs joined by `:`.
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The names and end (Unix seconds) a certificate (DER) says.
fn names_and_end(der: &[u8]) -> Option<(Names, i64)> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut names = Names::default();
    if let Some(san) = cert.subject_alternative_name().ok()? {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => {
                    names.dns.insert((*d).to_owned());
                }
                GeneralName::IPAddress(b) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*b) {
                        names.ips.insert(IpAddr::from(v4));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*b) {
                        names.ips.insert(IpAddr::from(v6));
                    }
                }
                _ => {}
            }
        }
    }
    Some((names, cert.validity().not_after.timestamp()))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A certificate and its key, read from PEM files.
fn read_pair(cert: &Path, key: &Path) -> Result<(CertifiedKey, Vec<u8>), TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| file_err(cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(cert, e))?;
    let first = chain
        .first()
        .map(|c| c.to_vec())
        .ok_or_else(|| file_err(cert, "no certificate in it (PEM)"))?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| file_err(key, e))?;
    let certified = CertifiedKey::from_der(chain, key_der, &provider())
        .map_err(|e| file_err(key, format!("not the certificate's key: {e}")))?;
    Ok((certified, first))
}

/// Make a self-signed certificate for `names`: (certificate, key), PEM.
/// With `key` (PEM), that key is kept: a phone that trusts its public key
/// trusts the new certificate as well.
fn make(names: &Names, key: Option<&str>) -> Result<(String, String), TlsError> {
    let err = |e: rcgen::Error| TlsError::Make(e.to_string());
    let sans: Vec<String> = names
        .dns
        .iter()
        .cloned()
        .chain(names.ips.iter().map(IpAddr::to_string))
        .collect();
    let mut params = rcgen::CertificateParams::new(sans).map_err(err)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let first = names.dns.iter().next().cloned().unwrap_or_default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("swarmcast on {first}"));
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(VALID_DAYS);
    let key = match key.map(rcgen::KeyPair::from_pem) {
        Some(Ok(key)) => key,
        _ => rcgen::KeyPair::generate().map_err(err)?,
    };
    let cert = params.self_signed(&key).map_err(err)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Write `text` to `path` (through a file beside it, so a crash leaves the
/// old or the new); `secret`: readable by the owner only.
fn write_file(path: &Path, text: &str, secret: bool) -> Result<(), TlsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if secret { 0o600 } else { 0o644 })
        .open(&tmp)
        .map_err(|e| file_err(&tmp, e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| file_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| file_err(path, e))
}

/// The certificate served now (the resolver rustls asks each handshake).
struct Current(RwLock<Arc<CertifiedKey>>);

impl std::fmt::Debug for Current {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the HTTPS listener's certificate")
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read_locked().clone())
    }
}

/// Where a made certificate is kept, and the host it is for.
struct Made {
    dir: PathBuf,
    host: String,
}

/// The HTTPS listener's certificate.
pub struct Tls {
    current: Arc<Current>,
    fingerprint: RwLock<String>,
    /// `None`: the configured certificate, never remade.
    made: Option<Made>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tls({})", self.fingerprint())
    }
}

impl Tls {
    /// The configured certificate, or the one kept in `state_dir` (made
    /// now when there is none, or it names other addresses or nears its
    /// end) for `host` and `addrs`.
    pub fn start(
        web: &WebConfig,
        state_dir: &Path,
        host: &str,
        addrs: &[Ipv4Addr],
    ) -> Result<Tls, TlsError> {
        if let (Some(cert), Some(key)) = (&web.tls_cert, &web.tls_key) {
            let (certified, der) = read_pair(cert, key)?;
            return Ok(Tls {
                current: Arc::new(Current(RwLock::new(Arc::new(certified)))),
                fingerprint: RwLock::new(fingerprint(&der)),
                made: None,
            });
        }
        let made = Made {
            dir: state_dir.join("tls"),
            host: host.to_owned(),
        };
        std::fs::create_dir_all(&made.dir).map_err(|e| file_err(&made.dir, e))?;
        let (certified, der) = made.kept_or_new(addrs)?;
        Ok(Tls {
            current: Arc::new(Current(RwLock::new(Arc::new(certified)))),
            fingerprint: RwLock::new(fingerprint(&der)),
            made: Some(made),
        })
    }

    /// The acceptor of TLS connections (HTTP/1.1), with the certificate
    /// served at each handshake.
    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Make(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    /// The SHA-256 fingerprint of the certificate served now.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.read_locked().clone()
    }

    /// A made certificate is made again when the host's addresses are not
    /// the ones it names, or it nears its end: `Ok(true)` when it was.
    pub fn refresh(&self, addrs: &[Ipv4Addr]) -> Result<bool, TlsError> {
        let Some(made) = &self.made else {
            return Ok(false);
        };
        let before = self.fingerprint();
        let (certified, der) = made.kept_or_new(addrs)?;
        let now = fingerprint(&der);
        if now == before {
            return Ok(false);
        }
        *self.current.0.write_locked() = Arc::new(certified);
        *self.fingerprint.write_locked() = now;
        Ok(true)
    }
}

impl Made {
    fn paths(&self) -> (PathBuf, PathBuf) {
        (self.dir.join("cert.pem"), self.dir.join("key.pem"))
    }

    /// The kept certificate when it still fits, else a new one (kept).
    fn kept_or_new(&self, addrs: &[Ipv4Addr]) -> Result<(CertifiedKey, Vec<u8>), TlsError> {
        let (cert, key) = self.paths();
        let wanted = wanted_names(&self.host, addrs);
        let kept = read_pair(&cert, &key).ok();
        let said = kept.as_ref().and_then(|(_, der)| names_and_end(der));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if let (Some(kept), false) = (
            kept,
            needs_new(said.as_ref().map(|(n, e)| (n, *e)), &wanted, now),
        ) {
            return Ok(kept);
        }
        let old_key = std::fs::read_to_string(&key).ok();
        let (cert_pem, key_pem) = make(&wanted, old_key.as_deref())?;
        write_file(&key, &key_pem, true)?;
        write_file(&cert, &cert_pem, false)?;
        let made = read_pair(&cert, &key)?;
        tracing::info!(
            file = %cert.display(),
            fingerprint = %fingerprint(&made.1),
            "a self-signed certificate was made for the HTTPS listener"
        );
        Ok(made)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_certificate_names_the_host_and_its_addresses() {
        let n = wanted_names("My_NAS", &[Ipv4Addr::new(192, 168, 1, 5)]);
        let dns: Vec<&str> = n.dns.iter().map(String::as_str).collect();
        assert_eq!(
            dns,
            [
                "localhost",
                "my-nas",
                "my-nas.local",
                "swarmcast-my-nas.local"
            ]
        );
        assert_eq!(
            n.ips.iter().copied().collect::<Vec<_>>(),
            [ip("127.0.0.1"), ip("192.168.1.5")]
        );
    }

    #[test]
    fn made_again_when_the_names_change_or_the_end_nears() {
        let a = wanted_names("nas", &[Ipv4Addr::new(10, 0, 0, 2)]);
        let b = wanted_names("nas", &[Ipv4Addr::new(10, 0, 0, 3)]);
        let day = 86_400;
        assert!(needs_new(None, &a, 0));
        assert!(!needs_new(Some((&a, 100 * day)), &a, 0));
        assert!(needs_new(Some((&a, 100 * day)), &b, 0));
        assert!(needs_new(Some((&a, 20 * day)), &a, 0), "ends in 20 days");
    }

    #[test]
    fn a_made_certificate_says_its_names_and_a_fingerprint_is_its_hash() {
        let names = wanted_names("nas", &[Ipv4Addr::new(10, 0, 0, 2)]);
        let (cert, _) = make(&names, None).unwrap();
        let der = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        let (said, end) = names_and_end(&der).unwrap();
        assert_eq!(said, names);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((end - now - VALID_DAYS * 86_400).abs() < 86_400);
        let f = fingerprint(&der);
        assert_eq!(f.len(), 32 * 3 - 1);
        assert!(f.bytes().all(|b| b == b':' || b.is_ascii_hexdigit()));
        assert_eq!(
            fingerprint(b"abc"),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }

    #[test]
    fn made_once_kept_and_made_again_for_new_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let web = WebConfig::default();
        let at = [Ipv4Addr::new(10, 0, 0, 2)];
        let first = Tls::start(&web, dir.path(), "nas", &at)
            .unwrap()
            .fingerprint();
        let again = Tls::start(&web, dir.path(), "nas", &at).unwrap();
        assert_eq!(again.fingerprint(), first, "kept across restarts");
        assert!(!again.refresh(&at).unwrap());
        let key = dir.path().join("tls/key.pem");
        let key_before = std::fs::read(&key).unwrap();
        assert!(again.refresh(&[Ipv4Addr::new(10, 0, 0, 3)]).unwrap());
        assert_ne!(again.fingerprint(), first);
        assert_eq!(std::fs::read(&key).unwrap(), key_before, "the same key");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is the owner's only");
    }

    #[test]
    fn a_given_pair_is_used_and_a_wrong_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = make(&wanted_names("a", &[]), None).unwrap();
        let (_, other_key) = make(&wanted_names("b", &[]), None).unwrap();
        let path = |n: &str, text: &str| {
            let p = dir.path().join(n);
            std::fs::write(&p, text).unwrap();
            p
        };
        let mut web = WebConfig {
            tls_cert: Some(path("c.pem", &cert)),
            tls_key: Some(path("k.pem", &key)),
            ..WebConfig::default()
        };
        let tls = Tls::start(&web, dir.path(), "ignored", &[]).unwrap();
        let der = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        assert_eq!(tls.fingerprint(), fingerprint(&der));
        assert!(
            !tls.refresh(&[Ipv4Addr::new(10, 0, 0, 9)]).unwrap(),
            "never remade"
        );
        assert!(!dir.path().join("tls").exists());
        web.tls_key = Some(path("other.pem", &other_key));
        let e = Tls::start(&web, dir.path(), "x", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("other.pem") && e.contains("not the certificate's key"),
            "{e}"
        );
        web.tls_cert = Some(dir.path().join("missing.pem"));
        let e = Tls::start(&web, dir.path(), "x", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.pem"), "{e}");
    }
}
