//! TLS: the server with a certificate from a test CA, reached by the
//! `redis` crate over rustls and by `redis-cli --tls`; with `--tls-ca`,
//! only clients with a certificate from that CA get in.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use redis::{ClientTlsConfig, TlsCertificates, Value};

use crate::harness::{query, Server, TempDir};

const SCHEMA: &str = "
CREATE TABLE t (id BIGINT PRIMARY KEY, s TEXT);
PREPARE put AS INSERT INTO t (id, s) VALUES ($1, $2);
PREPARE get AS SELECT id, s FROM t WHERE id = $1;
";

/// A CA, a server certificate for 127.0.0.1 and localhost, and a client
/// certificate, as PEM files.
struct Pki {
    _dir: TempDir,
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    let dir = TempDir::new("tls");
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "aotdb test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let server_params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let server = server_params.signed_by(&server_key, &ca, &ca_key).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["client".to_string()]).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();

    let write = |name: &str, text: String| -> PathBuf {
        let path = dir.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    Pki {
        ca: write("ca.pem", ca.pem()),
        server_cert: write("server.pem", server.pem()),
        server_key: write("server.key", server_key.serialize_pem()),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
        _dir: dir,
    }
}

fn tls_client(server: &Server, ca: &Path, client: Option<&Pki>) -> redis::RedisResult<redis::Connection> {
    let certs = TlsCertificates {
        client_tls: client.map(|p| ClientTlsConfig {
            client_cert: p.client_cert.clone().into_bytes(),
            client_key: p.client_key.clone().into_bytes(),
        }),
        root_cert: Some(std::fs::read(ca).unwrap()),
    };
    redis::Client::build_with_tls(format!("rediss://127.0.0.1:{}/", server.port), certs)?.get_connection()
}

fn start_tls(pki: &Pki, extra: &[&str]) -> Server {
    let mut args = vec![
        "--in-memory",
        "--tls-cert",
        pki.server_cert.to_str().unwrap(),
        "--tls-key",
        pki.server_key.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Server::start_with(SCHEMA, &args).expect("TLS server starts")
}

#[test]
fn clients_talk_to_the_server_over_tls() {
    let pki = pki();
    let server = start_tls(&pki, &[]);
    let mut con = tls_client(&server, &pki.ca, None).expect("TLS connection");
    assert_eq!(query(&mut con, &["EXECUTE", "put", "1", "over tls"]).unwrap(), Value::Int(1));
    let rows = query(&mut con, &["EXECUTE", "get", "1"]).unwrap();
    assert_eq!(rows, Value::Array(vec![Value::Array(vec![Value::Int(1), Value::BulkString(b"over tls".to_vec())])]));

    // Plain text on the TLS port gets no RESP reply.
    let mut raw = server.raw();
    raw.send(b"PING\r\n");
    assert!(!raw.read_line().starts_with("+PONG"));

    // redis-cli, where it is installed with TLS support.
    let cli = std::process::Command::new("redis-cli")
        .args(["--tls", "--cacert", pki.ca.to_str().unwrap(), "-h", "127.0.0.1", "-p", &server.port.to_string()])
        .args(["EXECUTE", "get", "1"])
        .output();
    match cli {
        Ok(out) if out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("not supported") => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("over tls"), "redis-cli --tls printed {text:?}");
        }
        Ok(out) => eprintln!("skipped redis-cli --tls: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => eprintln!("skipped redis-cli --tls: {e}"),
    }
}

#[test]
fn tls_ca_requires_a_client_certificate() {
    let pki = pki();
    let server = start_tls(&pki, &["--tls-ca", pki.ca.to_str().unwrap()]);
    let refused = tls_client(&server, &pki.ca, None).and_then(|mut c| query(&mut c, &["PING"]));
    assert!(refused.is_err(), "a client without a certificate was served: {refused:?}");
    let mut con = tls_client(&server, &pki.ca, Some(&pki)).expect("client certificate accepted");
    assert_eq!(query(&mut con, &["PING"]).unwrap(), Value::SimpleString("PONG".into()));
}

#[test]
fn a_bad_certificate_file_stops_the_start_with_a_clear_error() {
    let pki = pki();
    let err = Server::start_with(
        SCHEMA,
        &["--in-memory", "--tls-cert", pki.ca.to_str().unwrap(), "--tls-key", pki.ca.to_str().unwrap()],
    )
    .err()
    .expect("a certificate given as the key must be refused");
    assert!(err.contains("ca.pem"), "{err}");
}
