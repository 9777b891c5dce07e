//! TLS on the listener, with certificates made in the test (rcgen): HTTPS
//! with HTTP/2 by ALPN, and client-certificate authentication both ways.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use http::{Request, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

struct Pki {
    dir: PathBuf,
    ca_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

fn pki(name: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("preflight-tls-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let server_key = KeyPair::generate().expect("key");
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&server_key, &ca, &ca_key)
        .expect("server cert");
    let client_key = KeyPair::generate().expect("key");
    let mut client_params = CertificateParams::new(vec!["agent-7".to_owned()]).expect("params");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params
        .signed_by(&client_key, &ca, &ca_key)
        .expect("client cert");
    std::fs::write(dir.join("server.pem"), server.pem()).expect("write");
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).expect("write");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write");
    Pki {
        dir,
        ca_pem: ca.pem(),
        client_cert_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

fn tls_config(p: &Pki, client_ca: bool) -> String {
    let d = p.dir.display();
    let ca = if client_ca {
        format!("client_ca = \"{d}/ca.pem\"\n")
    } else {
        String::new()
    };
    format!("[server.tls]\ncert = \"{d}/server.pem\"\nkey = \"{d}/server.key\"\n{ca}")
}

async fn get_health(p: &Pki, port: u16, with_client_cert: bool) -> Result<Version, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(p.ca_pem.as_bytes()).expect("ca"))
        .expect("root");
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = if with_client_cert {
        let chain =
            vec![CertificateDer::from_pem_slice(p.client_cert_pem.as_bytes()).expect("cert")];
        let key = PrivateKeyDer::from_pem_slice(p.client_key_pem.as_bytes()).expect("key");
        builder
            .with_client_auth_cert(chain, key)
            .expect("client auth")
    } else {
        builder.with_no_client_auth()
    };
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .enable_http2()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let req = Request::get(format!("https://localhost:{port}/healthz"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = client.request(req).await.map_err(|e| format!("{e:?}"))?;
    let version = resp.version();
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    Ok(version)
}

#[tokio::test]
async fn serves_https_and_negotiates_http2_by_alpn() {
    let p = pki("h2");
    let gw = gateway(&format!("{CHAT_UPSTREAM}\n{}", tls_config(&p, false)), None).await;
    let version = get_health(&p, gw.addr.port(), false)
        .await
        .expect("https works");
    assert_eq!(version, Version::HTTP_2);
    let req = Request::get(gw.url("/healthz"))
        .body(Full::new(Bytes::new()))
        .expect("req");
    let plain_ok = client().request(req).await.is_ok();
    assert!(!plain_ok, "plain HTTP is not served on a TLS listener");
    gw.shutdown().await;
}

#[tokio::test]
async fn client_certificates_are_required_when_a_client_ca_is_configured() {
    let p = pki("mtls");
    let gw = gateway(&format!("{CHAT_UPSTREAM}\n{}", tls_config(&p, true)), None).await;
    assert!(
        get_health(&p, gw.addr.port(), false).await.is_err(),
        "no client cert: refused"
    );
    assert!(
        get_health(&p, gw.addr.port(), true).await.is_ok(),
        "a cert signed by the CA: served"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn an_unreadable_certificate_stops_startup_with_the_key_named() {
    let dir = std::env::temp_dir().join(format!("preflight-tls-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("bad.pem"), "not a certificate").expect("write");
    let toml = format!(
        "[server.tls]\ncert = \"{0}/bad.pem\"\nkey = \"{0}/bad.pem\"\n",
        dir.display()
    );
    let settings = preflight_gateway::config::from_toml(&toml).expect("config shape is valid");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let err = preflight_gateway::server::serve(listener, settings, std::future::pending())
        .await
        .expect_err("startup fails");
    assert!(err.to_string().contains("server.tls.cert"), "{err}");
}
