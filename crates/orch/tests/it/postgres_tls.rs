//! TLS to PostgreSQL: the real binary against a private server that takes TLS
//! connections only (`.ci/postgres start --tls DIR --tls-only`), with a CA and a server
//! certificate made here; each `sslmode` connects or fails as libpq's would, a
//! certificate that does not verify is one line and exit 2, and `prefer` also works on a
//! server without TLS. Skipped like the rest of the PostgreSQL tests without
//! `ORCH_TEST_PG`.

use crate::common::{Project, wait_until};
use crate::postgres::{PrivateServer, TestDb, base_url, open_orch};
use orch::ops::NewTask;
use orch_store::{ListFilter, StoreError};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The name (and address) the server's certificate is made out to.
const SERVER_NAME: &str = "db.orch.test";

/// A CA (`ca.pem`), a server certificate it signed for [`SERVER_NAME`] and 127.0.0.1
/// (`server.crt`, `server.key`), and a CA that signed nothing (`other-ca.pem`).
fn make_certificates(dir: &Path) {
    let ca = |name: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert, Issuer::new(params, key))
    };
    let (ca_cert, issuer) = ca("orch test CA");
    let (other_cert, _) = ca("some other CA");
    let mut params = CertificateParams::new(vec![SERVER_NAME.to_string(), "127.0.0.1".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, SERVER_NAME);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("other-ca.pem"), other_cert.pem()).unwrap();
    std::fs::write(dir.join("server.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

/// A private server with TLS on, whose `pg_hba.conf` turns away plain TCP connections.
struct TlsServer {
    server: PrivateServer,
    certs: tempfile::TempDir,
    /// `postgres://postgres:PW@`
    user: String,
    port: String,
}

impl TlsServer {
    fn start(test: &str) -> Option<TlsServer> {
        // The test binary may run as root: the script reads the files as the caller.
        let certs = tempfile::tempdir().unwrap();
        make_certificates(certs.path());
        let dir = certs.path().to_str().unwrap().to_string();
        let server = PrivateServer::start_with(test, &["--tls", &dir, "--tls-only"])?;
        let base = server.var("ORCH_TEST_PG").to_string();
        let (user, hostport) = base.rsplit_once('@').expect("user@host:port");
        let port = hostport.rsplit_once(':').expect("host:port").1.to_string();
        Some(TlsServer { user: format!("{user}@"), port, server, certs })
    }

    fn cert(&self, name: &str) -> PathBuf {
        self.certs.path().join(name)
    }

    /// The URL of database `postgres` on `host` with `params` (`host` may be a name
    /// that only the certificate knows: the connection goes to 127.0.0.1 through
    /// `hostaddr`).
    fn url(&self, host: &str, params: &str) -> String {
        let sep = if params.is_empty() { "" } else { "&" };
        format!("{}{host}:{}/postgres?hostaddr=127.0.0.1{sep}{params}", self.user, self.port)
    }

    /// A query over the server's Unix socket (no TLS, trusted), as the test's own eyes.
    fn admin_query(&self, sql: &str) -> Vec<postgres::Row> {
        let dir = self.server.var("ORCH_TEST_PG_DIR");
        let conn = format!("host={dir} port={} user=postgres dbname=postgres", self.port);
        let mut c = postgres::Client::connect(&conn, postgres::NoTls).expect("connect over the Unix socket");
        c.query(sql, &[]).expect("admin query")
    }

    fn password(&self) -> &str {
        self.user.trim_end_matches('@').rsplit_once(':').expect("a password").1
    }
}

/// `orch --db URL ARGS…` must fail with exit 2 and one line holding every `want`, and
/// neither the password nor a panic.
fn fails(p: &Project, url: &str, args: &[&str], password: &str, want: &[&str]) -> String {
    let mut all = vec!["--db", url];
    all.extend_from_slice(args);
    let (code, out, err) = p.run(&all);
    assert_eq!(code, 2, "exit 2 for {url}: {err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for w in want {
        assert!(err.contains(w), "{w:?} in: {err}");
    }
    assert!(!err.contains(password) && !err.contains("panicked") && !err.contains("backtrace"), "{err}");
    err
}

#[test]
fn every_sslmode_connects_or_fails_as_libpq_would_against_a_tls_only_server() {
    let Some(s) = TlsServer::start("tls_modes") else { return };
    let ca = s.cert("ca.pem");
    let other = s.cert("other-ca.pem");
    let (ca, other) = (ca.to_str().unwrap(), other.to_str().unwrap());
    let pw = s.password().to_string();
    let p = Project::empty();

    // require: encrypted, the certificate taken as it is; the queue works over it.
    let require = s.url("127.0.0.1", "sslmode=require");
    p.ok(&["--db", &require, "init"]);
    p.ok(&["--db", &require, "add", "over TLS"]);
    assert!(p.ok(&["--db", &require, "list"]).contains("over TLS"));

    // Plain TCP is turned away by this server, with a hint; so every success here was
    // TLS. `prefer` (the default) gets TLS.
    fails(&p, &s.url("127.0.0.1", "sslmode=disable"), &["list"], &pw, &["no pg_hba.conf entry", "try sslmode=require"]);
    assert!(p.ok(&["--db", &s.url("127.0.0.1", "sslmode=prefer"), "list"]).contains("over TLS"));
    assert!(p.ok(&["--db", &s.url("127.0.0.1", ""), "list"]).contains("over TLS"));

    // verify-full: the CA and the name (a DNS name, or the address) must both match.
    let full = |host: &str, root: &str| s.url(host, &format!("sslmode=verify-full&sslrootcert={root}"));
    assert!(p.ok(&["--db", &full(SERVER_NAME, ca), "list"]).contains("over TLS"));
    assert!(p.ok(&["--db", &full("127.0.0.1", ca), "list"]).contains("over TLS"));
    let err = fails(
        &p,
        &full(SERVER_NAME, other),
        &["list"],
        &pw,
        &[
            "the server's certificate does not verify (sslmode=verify-full)",
            &format!("not signed by a CA in sslrootcert {other}"),
        ],
    );
    assert!(err.starts_with("orch: postgres://postgres:***@db.orch.test:"), "{err}");
    fails(
        &p,
        &full("other.orch.test", ca),
        &["list"],
        &pw,
        &["the server's certificate does not verify (sslmode=verify-full)", "other.orch.test"],
    );
    // Without sslrootcert the built-in web roots are the trusted ones: not this CA.
    fails(
        &p,
        &s.url(SERVER_NAME, "sslmode=verify-full"),
        &["list"],
        &pw,
        &["does not verify", "the built-in web roots"],
    );

    // verify-ca: the chain only, whatever the name.
    let ca_only = |host: &str, root: &str| s.url(host, &format!("sslmode=verify-ca&sslrootcert={root}"));
    assert!(p.ok(&["--db", &ca_only("other.orch.test", ca), "list"]).contains("over TLS"));
    fails(&p, &ca_only(SERVER_NAME, other), &["list"], &pw, &["does not verify (sslmode=verify-ca)"]);

    // require with sslrootcert checks the chain, as libpq does.
    let require_root = |root: &str| s.url("other.orch.test", &format!("sslmode=require&sslrootcert={root}"));
    assert!(p.ok(&["--db", &require_root(ca), "list"]).contains("over TLS"));
    fails(&p, &require_root(other), &["list"], &pw, &["does not verify (sslmode=require)"]);

    // prefer whose handshake fails tries once more without TLS, which this server refuses.
    fails(
        &p,
        &s.url(SERVER_NAME, &format!("sslmode=prefer&sslrootcert={other}")),
        &["list"],
        &pw,
        &["no pg_hba.conf entry"],
    );

    // A missing root file is a usage error before any connection.
    fails(&p, &full(SERVER_NAME, "/nowhere/ca.pem"), &["list"], &pw, &["sslrootcert /nowhere/ca.pem: cannot read it"]);
}

#[test]
fn the_connections_of_a_running_dispatcher_are_encrypted() {
    let Some(s) = TlsServer::start("tls_dispatcher") else { return };
    let p = Project::init(None);
    p.set_config("file", r#""""#);
    // A worker program that is there: `run` checks it before it starts.
    p.set_config("command", r#"["true"]"#);
    let url = s.url(
        SERVER_NAME,
        &format!("sslmode=verify-full&sslrootcert={}&application_name=orch_tls_probe", s.cert("ca.pem").display()),
    );
    // An idle dispatcher (no tasks) keeps its connections open: its pool's, its
    // watcher's and the watcher's listening one (the blocking client's). It is killed
    // when `run` is dropped: how it stops is not what this test is about.
    let run = p.spawn("run", &["--db", &url, "run", "--quiet"]);
    let probe = "SELECT count(*), coalesce(bool_and(s.ssl), false), min(s.version) FROM pg_stat_activity a \
                 JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = 'orch_tls_probe'";
    let mut seen = (0i64, false, None::<String>);
    let up = wait_until(Duration::from_secs(30), || {
        let row = &s.admin_query(probe)[0];
        seen = (row.get(0), row.get(1), row.get(2));
        seen.0 >= 3
    });
    assert!(up, "the dispatcher's connections never showed: {seen:?}\n{}", run.stderr());
    assert!(seen.1, "every connection of orch is encrypted: {seen:?}");
    assert!(seen.2.as_deref().is_some_and(|v| v.starts_with("TLSv1.")), "{seen:?}");
    drop(run);
    // The server's log says the same of every connection orch made.
    let log = std::fs::read_to_string(Path::new(s.server.var("ORCH_TEST_PG_DIR")).join("server.log")).unwrap();
    let orch_lines: Vec<&str> =
        log.lines().filter(|l| l.contains("connection authorized") && l.contains("orch_tls_probe")).collect();
    assert!(!orch_lines.is_empty(), "{log}");
    assert!(orch_lines.iter().all(|l| l.contains("SSL enabled")), "{orch_lines:?}");
}

#[test]
fn a_certificate_that_stops_verifying_while_orch_runs_is_reported_not_waited_out() {
    let Some(s) = TlsServer::start("tls_replaced") else { return };
    let url = s.url(SERVER_NAME, &format!("sslmode=verify-full&sslrootcert={}", s.cert("ca.pem").display()));
    let home = tempfile::tempdir().unwrap();
    let orch = open_orch(home.path(), &url);
    orch.add(&NewTask { task: "before".into(), ..NewTask::default() }).unwrap();
    // The server restarts with a certificate from a CA orch does not trust: its open
    // connections break, and a new one does not verify.
    let other = tempfile::tempdir().unwrap();
    make_certificates(other.path());
    s.server.ctl_with(&["restart", "--tls", other.path().to_str().unwrap()]);
    let err = orch.list(&ListFilter::default()).expect_err("the new certificate does not verify");
    let text = err.to_string();
    assert!(
        matches!(err, orch::error::Error::Store(StoreError::Open(_))),
        "a setting to fix (exit {}), not an outage to wait out: {text}",
        err.exit_code()
    );
    assert_eq!(err.exit_code(), 2);
    assert!(text.contains("the server's certificate does not verify (sslmode=verify-full)"), "{text}");
    // The new CA has the old one's name: the key is what differs.
    assert!(text.contains("not signed by a CA in sslrootcert") && text.contains("not its key"), "{text}");
    assert!(!text.contains(s.password()), "{text}");
}

#[test]
fn prefer_works_on_a_server_without_tls_and_require_says_why_it_cannot() {
    let Some(db) = TestDb::create("tls_plain_server") else { return };
    let base = base_url("tls_plain_server").unwrap();
    let mut admin = postgres::Client::connect(&crate::postgres::with_db(&base, "postgres"), postgres::NoTls).unwrap();
    let ssl: String = admin.query_one("SHOW ssl", &[]).unwrap().get(0);
    if ssl == "on" {
        eprintln!("ORCH_TEST_PG has TLS on; the plain-server checks are skipped");
        return;
    }
    let p = Project::empty();
    let with = |params: &str| format!("{}?{params}", db.url);
    p.ok(&["--db", &with("sslmode=prefer"), "init"]);
    p.ok(&["--db", &with("sslmode=prefer"), "add", "plain"]);
    assert!(p.ok(&["--db", &with("sslmode=disable"), "list"]).contains("plain"));
    let pw = base.rsplit_once('@').and_then(|(u, _)| u.rsplit_once(':')).map_or("", |(_, pw)| pw).to_string();
    fails(
        &p,
        &with("sslmode=require"),
        &["list"],
        &pw,
        &["the server does not offer TLS, which sslmode=require requires"],
    );
}
