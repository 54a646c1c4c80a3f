//! TLS to the server: libpq's `sslmode` and `sslrootcert` read from the URL, the rustls
//! client configuration that carries them out, and the wording of a handshake that failed.
//!
//! The driver (`tokio-postgres`) knows only `disable`, `prefer` and `require` and no
//! `sslrootcert`, so both are taken out of the URL here and the driver is told only
//! whether to ask for TLS; what to check of the server's certificate is ours:
//!
//! | sslmode | encrypted | certificate checked |
//! | --- | --- | --- |
//! | `disable` | never | — |
//! | `prefer` (default) | when the server agrees; else plain | no (the chain, when `sslrootcert` is given) |
//! | `require` | always | no (the chain, when `sslrootcert` is given) |
//! | `verify-ca` | always | the chain up to a trusted root |
//! | `verify-full` | always | the chain, and that it names the host |
//!
//! As libpq does, `prefer` connects without TLS when the server declines it or the
//! handshake fails, and TLS is never asked for over a Unix socket. The trusted roots are
//! the PEM file `sslrootcert` names, or else Mozilla's list built into the binary
//! (`webpki-roots`); `sslrootcert=system` means that list and asks for `verify-full`.
//! The crypto provider is `ring`: small and quick to build, and the one `rcgen` (the
//! tests' certificates) uses too; see docs/POSTGRES.md for what `aws-lc-rs` would add.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode` values that orch carries out (`allow` is not one of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(v: &str) -> Result<Mode, String> {
        Ok(match v {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            "allow" => return Err("sslmode=allow is not supported; use disable, prefer or require".into()),
            _ => {
                return Err(format!("sslmode={v} is not one of disable, prefer, require, verify-ca, verify-full"));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }
}

/// Where the trusted roots come from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Roots {
    /// `sslrootcert=PATH`: the certificates in that PEM file.
    File(String),
    /// Mozilla's list, built in (no `sslrootcert`, or `sslrootcert=system`).
    BuiltIn,
}

/// The TLS settings of one URL, ready to connect with.
#[derive(Clone)]
pub struct Tls {
    mode: Mode,
    roots: Roots,
    connector: MakeRustlsConnect,
}

impl Tls {
    /// Takes `sslmode` and `sslrootcert` out of `url`: the URL left for the driver, and
    /// the settings (the root file read and checked now, so a bad one is a usage error).
    pub fn from_url(url: &str) -> Result<(String, Tls), String> {
        let (rest, mode, rootcert) = split_params(url);
        let rootcert = rootcert.filter(|r| !r.is_empty());
        let mode = mode.map(|m| Mode::parse(&m)).transpose()?;
        let (mode, roots) = match rootcert.as_deref() {
            // libpq 16: the system's roots are only worth anything with the host name checked.
            Some("system") => match mode {
                None | Some(Mode::VerifyFull) => (Mode::VerifyFull, Roots::BuiltIn),
                Some(m) => {
                    return Err(format!(
                        "sslmode={} may not be used with sslrootcert=system (use verify-full)",
                        m.name()
                    ));
                }
            },
            Some(path) => (mode.unwrap_or(Mode::Prefer), Roots::File(path.to_string())),
            None => (mode.unwrap_or(Mode::Prefer), Roots::BuiltIn),
        };
        let check = match (mode, &roots) {
            (Mode::Disable, _) => Check::Nothing,
            (Mode::VerifyFull, _) => Check::Full,
            (Mode::VerifyCa, _) | (Mode::Prefer | Mode::Require, Roots::File(_)) => Check::Chain,
            (Mode::Prefer | Mode::Require, Roots::BuiltIn) => Check::Nothing,
        };
        let store = match (&roots, check) {
            (_, Check::Nothing) => RootCertStore::empty(),
            (Roots::File(path), _) => read_roots(path)?,
            (Roots::BuiltIn, _) => RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() },
        };
        let connector = MakeRustlsConnect::new(client_config(store, check)?);
        Ok((rest, Tls { mode, roots, connector }))
    }

    /// Tells the driver whether to ask for TLS. Over Unix sockets alone it never does:
    /// the server offers no TLS there, and libpq does not ask either.
    pub fn apply(&self, config: &mut tokio_postgres::Config) {
        let unix_only = config.get_hostaddrs().is_empty()
            && !config.get_hosts().is_empty()
            && config.get_hosts().iter().all(|h| !matches!(h, Host::Tcp(_)));
        let driver = match self.mode {
            _ if unix_only => SslMode::Disable,
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        };
        config.ssl_mode(driver);
    }

    pub fn connector(&self) -> MakeRustlsConnect {
        self.connector.clone()
    }

    /// Whether a connection that failed with `e` is worth one more try without TLS:
    /// under `prefer`, when the TLS handshake itself failed (libpq does the same).
    pub fn falls_back(&self, e: &postgres::Error) -> bool {
        self.mode == Mode::Prefer && rustls_error(e).is_some()
    }

    /// Whether `e` says the settings cannot work with this server (a certificate that
    /// does not verify, a server without TLS) rather than that it is away for a moment.
    pub fn refused(&self, e: &postgres::Error) -> bool {
        matches!(rustls_error(e), Some(rustls::Error::InvalidCertificate(_)))
            || driver_says(e) == Some("server does not support TLS")
    }

    /// What went wrong with TLS, worded for the user, when `e` is a TLS failure: a
    /// certificate that does not verify, a failed handshake, a server without TLS.
    pub fn failure(&self, e: &postgres::Error) -> Option<String> {
        if let Some(err) = rustls_error(e) {
            return Some(match err {
                rustls::Error::InvalidCertificate(cert) => {
                    let trusted = match &self.roots {
                        Roots::File(path) => format!("sslrootcert {path}"),
                        Roots::BuiltIn => "the built-in web roots; name the server's CA with sslrootcert=PATH".into(),
                    };
                    let why = match cert {
                        CertificateError::UnknownIssuer => format!("it is not signed by a CA in {trusted}"),
                        CertificateError::BadSignature => format!(
                            "it is not signed by a CA in {trusted} (one there has its issuer's name, not its key)"
                        ),
                        other => format!("{}", rustls::Error::InvalidCertificate(other.clone())),
                    };
                    format!("the server's certificate does not verify (sslmode={}): {why}", self.mode.name())
                }
                other => format!("the TLS handshake failed (sslmode={}): {other}", self.mode.name()),
            });
        }
        match driver_says(e)? {
            "server does not support TLS" => {
                Some(format!("the server does not offer TLS, which sslmode={} requires", self.mode.name()))
            }
            "no hostname provided for TLS handshake" => {
                Some(format!("sslmode={} needs a host name in the URL for TLS, not only hostaddr", self.mode.name()))
            }
            _ => None,
        }
    }

    /// A hint for a refusal by the server that TLS would have avoided: with TLS off, a
    /// server whose `pg_hba.conf` takes only TLS connections finds no entry for us.
    pub fn hint(&self, e: &postgres::Error) -> Option<&'static str> {
        let db = e.as_db_error()?;
        let refused = db.code() == &postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            && db.message().contains("pg_hba.conf");
        (refused && self.mode == Mode::Disable)
            .then_some("the server may accept TLS connections only: try sslmode=require")
    }
}

/// `url` without its `sslmode` and `sslrootcert` parameters, and their (decoded) values.
fn split_params(url: &str) -> (String, Option<String>, Option<String>) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_string(), None, None) };
    let (mut mode, mut rootcert, mut kept) = (None, None, Vec::new());
    for p in query.split('&') {
        match p.split_once('=') {
            Some(("sslmode", v)) => mode = Some(percent_decode(v)),
            Some(("sslrootcert", v)) => rootcert = Some(percent_decode(v)),
            _ => kept.push(p),
        }
    }
    let rest = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    (rest, mode, rootcert)
}

/// `%XX` escapes decoded (a malformed one is kept as it is).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The certificates of a PEM file, as trusted roots.
fn read_roots(path: &str) -> Result<RootCertStore, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("sslrootcert {path}: cannot read it: {e}"))?;
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.map_err(|e| format!("sslrootcert {path}: not a PEM certificate file: {e}"))?;
        store.add(cert).map_err(|e| format!("sslrootcert {path}: a certificate in it is not usable: {e}"))?;
    }
    if store.is_empty() {
        return Err(format!("sslrootcert {path}: holds no certificate (PEM, `-----BEGIN CERTIFICATE-----`)"));
    }
    Ok(store)
}

/// What is checked of the server's certificate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    Nothing,
    Chain,
    Full,
}

/// `ring`, whose key exchanges are classical only (X25519, P-256, P-384).
// rustls 0.23.48 deprecates this for its lack of post-quantum key exchange (aws-lc-rs has
// X25519MLKEM768); few PostgreSQL servers offer that yet (OpenSSL 3.5 and later).
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(roots: RootCertStore, check: Check) -> Result<rustls::ClientConfig, String> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        Check::Nothing => Arc::new(AnyCertificate(provider)),
        Check::Chain | Check::Full => {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("TLS set-up: {e}"))?;
            if check == Check::Full { webpki } else { Arc::new(ChainOnly(webpki)) }
        }
    };
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

/// `require` and `prefer` without roots: any certificate is taken (the connection is
/// encrypted, the server not authenticated), but the handshake's signatures are still
/// checked against it.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name in the certificate is
/// not compared with the host. (rustls checks the chain before the name, so a name
/// mismatch means the chain was good.)
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The driver's own words under its TLS error (`error performing TLS handshake: …`).
fn driver_says(e: &postgres::Error) -> Option<&'static str> {
    let text = std::error::Error::source(e)?.to_string();
    ["server does not support TLS", "no hostname provided for TLS handshake"].into_iter().find(|t| text == *t)
}

/// The rustls error under a driver error, if the TLS handshake is what failed. (An
/// `io::Error`'s `source()` skips the error it wraps, hence `get_ref`.)
fn rustls_error(e: &postgres::Error) -> Option<&rustls::Error> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && let Some(r) = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(r);
        }
        src = s.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> Result<(String, Mode), String> {
        Tls::from_url(url).map(|(rest, tls)| (rest, tls.mode))
    }

    #[test]
    fn sslmode_and_sslrootcert_leave_the_url_and_others_stay() {
        assert_eq!(
            settings("postgres://u:p@h/db?sslmode=require&application_name=x").unwrap(),
            ("postgres://u:p@h/db?application_name=x".into(), Mode::Require)
        );
        assert_eq!(settings("postgres://h/db?sslmode=verify-ca").unwrap(), ("postgres://h/db".into(), Mode::VerifyCa));
        assert_eq!(settings("postgres://h/db").unwrap(), ("postgres://h/db".into(), Mode::Prefer));
        assert_eq!(settings("postgres://h/db?sslrootcert=system").unwrap().1, Mode::VerifyFull);
    }

    #[test]
    fn bad_settings_are_one_clear_line() {
        let err = |url: &str| settings(url).unwrap_err();
        assert!(err("postgres://h/db?sslmode=strict").contains("sslmode=strict is not one of"));
        assert!(err("postgres://h/db?sslmode=allow").contains("not supported"));
        assert!(err("postgres://h/db?sslmode=require&sslrootcert=system").contains("use verify-full"));
        let missing = err("postgres://h/db?sslmode=verify-full&sslrootcert=%2Fnowhere%2Fca.pem");
        assert!(missing.starts_with("sslrootcert /nowhere/ca.pem: cannot read it"), "{missing}");
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let url = format!("postgres://h/db?sslmode=verify-ca&sslrootcert={}", junk.display());
        assert!(err(&url).contains("holds no certificate"), "{}", err(&url));
    }

    #[test]
    fn the_driver_asks_for_tls_as_the_mode_says_and_never_over_a_unix_socket() {
        let driver = |url: &str| {
            let (rest, tls) = Tls::from_url(url).unwrap();
            let mut config: tokio_postgres::Config = rest.parse().unwrap();
            tls.apply(&mut config);
            config.get_ssl_mode()
        };
        assert_eq!(driver("postgres://h/db?sslmode=disable"), SslMode::Disable);
        assert_eq!(driver("postgres://h/db"), SslMode::Prefer);
        assert_eq!(driver("postgres://h/db?sslmode=require"), SslMode::Require);
        assert_eq!(driver("postgres://h/db?sslmode=verify-full"), SslMode::Require);
        assert_eq!(driver("postgres://u@%2Fvar%2Frun%2Fpostgresql/db?sslmode=require"), SslMode::Disable);
    }

    #[test]
    fn percent_escapes_are_decoded() {
        assert_eq!(percent_decode("%2Ftmp%2Fca%20x.pem"), "/tmp/ca x.pem");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
