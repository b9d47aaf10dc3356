//! Why this exists: a Plesk panel answers on https://…:8443, often with a certificate no public CA
//! signed. This puts TLS (rustls, with certificates `openssl` makes for 127.0.0.1) in front of a
//! plain HTTP double, so the `plesk-api` backend's trust settings are tested on a real handshake.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConnection;

/// Certificates for 127.0.0.1 made by `openssl` in a temporary folder.
pub struct Certificates {
    dir: tempfile::TempDir,
}

impl Certificates {
    /// Makes a CA and a server certificate it signs, a second unrelated CA, and self-signed server
    /// certificates (what a panel may carry); `None` when openssl is missing outside CI.
    pub fn make() -> Option<Certificates> {
        if !crate::dns_server::available("/usr/bin/openssl", "openssl") {
            return None;
        }
        let certificates = Certificates {
            dir: tempfile::tempdir().expect("temporary folder"),
        };
        std::fs::write(certificates.path("openssl.cnf"), OPENSSL_CNF).expect("openssl.cnf");
        for ca in ["ca", "other-ca"] {
            certificates.openssl(&[
                "req",
                "-x509",
                "-new",
                "-key",
                &certificates.key(ca),
                "-subj",
                &format!("/CN={ca}"),
                "-extensions",
                "ca",
                "-days",
                "2",
                "-out",
                &certificates.pem(ca),
            ]);
        }
        certificates.openssl(&[
            "req",
            "-new",
            "-key",
            &certificates.key("server"),
            "-subj",
            "/CN=127.0.0.1",
            "-out",
            &certificates.pem("server.csr"),
        ]);
        certificates.openssl(&[
            "x509",
            "-req",
            "-in",
            &certificates.pem("server.csr"),
            "-CA",
            &certificates.pem("ca"),
            "-CAkey",
            &certificates.key("ca"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &certificates.path("openssl.cnf").display().to_string(),
            "-extensions",
            "server",
            "-out",
            &certificates.pem("server"),
        ]);
        // Self-signed as a panel's may be: as it should be, marked a CA, and naming no host.
        for (name, extensions) in [
            ("self-signed", "server"),
            ("self-signed-ca", "self_signed_ca"),
            ("self-signed-unnamed", "unnamed"),
        ] {
            certificates.openssl(&[
                "req",
                "-x509",
                "-new",
                "-key",
                &certificates.key(name),
                "-subj",
                "/CN=127.0.0.1",
                "-extensions",
                extensions,
                "-days",
                "2",
                "-out",
                &certificates.pem(name),
            ]);
        }
        Some(certificates)
    }

    /// `<name>.pem`.
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.path(&format!("{name}.pem"))
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn pem(&self, name: &str) -> String {
        self.path_of(name).display().to_string()
    }

    /// A new P-256 key in `<name>.key` (PKCS#8), made on first use.
    fn key(&self, name: &str) -> String {
        let path = self.path(&format!("{name}.key"));
        if !path.exists() {
            let out = path.display().to_string();
            self.openssl(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &out,
            ]);
        }
        path.display().to_string()
    }

    fn openssl(&self, args: &[&str]) {
        let output = Command::new("/usr/bin/openssl")
            .args(args)
            .env("OPENSSL_CONF", self.path("openssl.cnf"))
            .output()
            .expect("openssl runs");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// `ca`: a CA certificate; `server`: a server certificate for 127.0.0.1 that is not a CA;
/// `self_signed_ca`: one for 127.0.0.1 marked a CA; `unnamed`: one naming no host (CN only).
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
[self_signed_ca]
basicConstraints = critical, CA:TRUE
subjectAltName = IP:127.0.0.1
[unnamed]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = serverAuth
";

/// TLS on a free 127.0.0.1 port, each connection piped in plain text to `backend`; serves from
/// its own threads for as long as the test process runs (the listener is leaked with them).
pub fn serve(certificate: &Path, key: &Path, backend: &str) -> String {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certificate)
        .expect("certificate file")
        .collect::<Result<_, _>>()
        .expect("certificate PEM");
    let key = PrivateKeyDer::from_pem_file(key).expect("key PEM");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate and key");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    let backend = backend.trim_start_matches("http://").to_owned();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            let backend = backend.clone();
            std::thread::spawn(move || pipe(client, config, &backend));
        }
    });
    format!("https://127.0.0.1:{port}")
}

/// One connection: client → TLS → plain `backend`, and back, each way on its own thread. A
/// failed handshake (the client refused the certificate) just ends it.
fn pipe(client: TcpStream, config: Arc<rustls::ServerConfig>, backend: &str) {
    let Ok(backend) = TcpStream::connect(backend) else {
        return;
    };
    let Ok(tls) = ServerConnection::new(config) else {
        return;
    };
    let tls = Arc::new(Mutex::new(tls));
    let (Ok(mut client_out), Ok(mut backend_in)) = (client.try_clone(), backend.try_clone()) else {
        return;
    };
    let outward = {
        let tls = Arc::clone(&tls);
        let mut client_out = client_out.try_clone().expect("client socket");
        std::thread::spawn(move || {
            let mut backend = backend;
            let mut buffer = [0u8; 16 * 1024];
            while let Ok(read @ 1..) = backend.read(&mut buffer) {
                let mut tls = tls.lock().expect("tls state");
                if tls.writer().write_all(&buffer[..read]).is_err()
                    || flush(&mut tls, &mut client_out).is_err()
                {
                    break;
                }
            }
            let _ = client_out.shutdown(Shutdown::Both);
        })
    };
    let mut client = client;
    let mut buffer = [0u8; 16 * 1024];
    'connection: while let Ok(read @ 1..) = client.read(&mut buffer) {
        let mut plain = Vec::new();
        {
            let mut tls = tls.lock().expect("tls state");
            let mut incoming = &buffer[..read];
            while !incoming.is_empty() {
                if tls.read_tls(&mut incoming).is_err() || tls.process_new_packets().is_err() {
                    let _ = flush(&mut tls, &mut client_out);
                    break 'connection;
                }
            }
            let _ = tls.reader().read_to_end(&mut plain);
            if flush(&mut tls, &mut client_out).is_err() {
                break;
            }
        }
        if backend_in.write_all(&plain).is_err() {
            break;
        }
    }
    let _ = backend_in.shutdown(Shutdown::Both);
    let _ = outward.join();
}

/// Sends what TLS has queued (handshake messages, encrypted replies) to the client.
fn flush(tls: &mut ServerConnection, client: &mut TcpStream) -> std::io::Result<()> {
    while tls.wants_write() {
        tls.write_tls(client)?;
    }
    Ok(())
}
