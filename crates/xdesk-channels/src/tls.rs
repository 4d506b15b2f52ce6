//! TLS for the connections the mail adapters open themselves: rustls with the webpki roots,
//! the same for IMAP and SMTP, so both trust exactly the same authorities.

use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

/// Wraps a connected socket in TLS, checking the certificate against `host` and the webpki
/// roots, plus `extra_roots` (PEM: an internal server's own authority).
pub(crate) async fn connect(
    tcp: TcpStream,
    host: &str,
    extra_roots: Option<&[u8]>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in parse_pem(extra_roots.unwrap_or_default())? {
        roots.add(cert).map_err(std::io::Error::other)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(std::io::Error::other)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

/// The certificates of a PEM file; none is an error, so a wrong file is noticed at start.
pub(crate) fn parse_pem(
    pem: &[u8],
) -> std::io::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}
