//! The HTTPS listener (`web.https-listen`): the same app over TLS with a
//! self-signed certificate made once in the state directory and kept
//! across restarts, trusted here as a phone would after checking its
//! fingerprint; the fingerprint on the settings page; plain HTTP pages
//! pointing at it; a `Secure` session cookie over HTTPS only; and every
//! URL a TV is given still `http://`, even when asked over HTTPS.

use std::net::SocketAddr;
use std::path::Path;

use sha2::Digest;

use crate::common::{test_config, Server};

/// A client that trusts only this certificate (PEM).
fn trusting(cert_pem: &[u8]) -> reqwest::Client {
    let cert = reqwest::Certificate::from_pem(cert_pem).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([cert])
        .resolve("localhost", "127.0.0.1:0".parse().unwrap())
        .build()
        .unwrap()
}

/// The certificate's SHA-256 fingerprint as the settings page shows it.
fn fingerprint_of(cert_pem: &[u8]) -> String {
    use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer};
    let der = CertificateDer::from_pem_slice(cert_pem).unwrap();
    sha2::Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The body of a GET as text.
async fn text(client: &reqwest::Client, url: String) -> String {
    let r = client.get(&url).send().await.unwrap();
    r.text().await.unwrap()
}

async fn start(state: &Path, downloads: &Path) -> (Server, SocketAddr) {
    let mut config = test_config(state, downloads);
    config.web.https_listen = Some("127.0.0.1:0".parse().unwrap());
    config.web.token = swarmcast::config::Secret::new("sekrit");
    let server = Server::start(config).await;
    let https = server.app.https_addr().expect("an HTTPS listener");
    (server, https)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_over_https_with_a_certificate_made_once() {
    let dirs = tempfile::tempdir().unwrap();
    let (state, downloads) = (dirs.path().join("s"), dirs.path().join("d"));
    let (server, https) = start(&state, &downloads).await;
    let cert_pem = std::fs::read(state.join("tls/cert.pem")).unwrap();
    let fingerprint = fingerprint_of(&cert_pem);
    let client = trusting(&cert_pem);

    // By name and by address, as the certificate names both.
    for base in [
        format!("https://localhost:{}", https.port()),
        format!("https://127.0.0.1:{}", https.port()),
    ] {
        let r = client.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{base}");
    }
    let base = format!("https://127.0.0.1:{}", https.port());
    let manifest = text(&client, format!("{base}/manifest.webmanifest")).await;
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["share_target"]["action"], "/add");

    // The fingerprint is on the settings page, on both listeners; plain
    // HTTP points at the HTTPS address, HTTPS does not.
    let over_tls = text(&client, format!("{base}/settings")).await;
    assert!(over_tls.contains(&fingerprint), "{over_tls}");
    assert!(!over_tls.contains("id=\"https-link\""));
    let plain = server.get_text("/settings").await;
    assert!(plain.contains(&fingerprint));
    let link = format!(
        "id=\"https-link\" href=\"https://127.0.0.1:{}/\"",
        https.port()
    );
    assert!(plain.contains(&link), "{plain}");
    assert!(plain.contains(&format!("data-https-port=\"{}\"", https.port())));
    // The rate limits and the seeding policy, as configured.
    assert!(
        plain.contains("download no limit, upload no limit"),
        "{plain}"
    );
    assert!(
        plain.contains("uploads until it uploaded 1 times its size"),
        "{plain}"
    );

    // The session cookie is Secure over HTTPS, and only there.
    let login = |c: &reqwest::Client, url: String| {
        let req = c
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("token=sekrit");
        async move {
            let r = req.send().await.unwrap();
            r.headers()["set-cookie"].to_str().unwrap().to_owned()
        }
    };
    let no_redirects = |b: reqwest::ClientBuilder| {
        b.redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    let cert = reqwest::Certificate::from_pem(&cert_pem).unwrap();
    let tls_client = no_redirects(reqwest::Client::builder().tls_certs_only([cert]));
    let cookie = login(&tls_client, format!("{base}/login")).await;
    assert!(cookie.contains("; Secure"), "{cookie}");
    let cookie = login(
        &no_redirects(reqwest::Client::builder()),
        server.url("/login"),
    )
    .await;
    assert!(!cookie.contains("Secure"), "{cookie}");

    // A TV's URLs are http://, on the HTTP port, whichever listener asked.
    let description = text(&client, format!("{base}/upnp/description.xml")).await;
    let http_port = server.app.local_addr().port();
    let presentation = format!("<presentationURL>http://127.0.0.1:{http_port}/</presentationURL>");
    assert!(description.contains(&presentation), "{description}");

    // Plain HTTP on the TLS port is no answer; made once, kept.
    assert!(server
        .http
        .get(format!("http://127.0.0.1:{}/healthz", https.port()))
        .send()
        .await
        .is_err());
    server.app.stop().await;
    let (server, https) = start(&state, &downloads).await;
    assert_eq!(std::fs::read(state.join("tls/cert.pem")).unwrap(), cert_pem);
    let r = client
        .get(format!("https://127.0.0.1:{}/healthz", https.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.app.stop().await;
}
