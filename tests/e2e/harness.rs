//! Starts the real `aotdb` binary on an ephemeral port and connects to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Server {
    child: Child,
    pub port: u16,
    _dir: TempDir,
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "aotdb-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Server {
    /// Starts a server on `schema` (none if empty).
    pub fn start(schema: &str) -> Server {
        Server::start_with(schema, &[]).expect("server starts")
    }

    /// Starts a server with extra flags; on failure returns its stderr.
    pub fn start_with(schema: &str, extra: &[&str]) -> Result<Server, String> {
        let dir = TempDir::new("srv");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_aotdb"));
        cmd.args(["--port", "0", "--log-level", "info"]).args(extra);
        if !extra.iter().any(|a| *a == "--data-dir" || *a == "--in-memory") {
            cmd.arg("--data-dir").arg(dir.0.join("data"));
        }
        if !schema.is_empty() {
            let path = dir.0.join("schema.sql");
            std::fs::write(&path, schema).expect("write schema");
            cmd.arg("--schema").arg(&path);
        }
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn aotdb");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = String::new();
            let mut sent = false;
            let mut all = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                all.push_str(&line);
                if !sent {
                    if let Some(addr) = line.trim().rsplit("ready to accept connections on ").next() {
                        if line.contains("ready to accept connections on ") {
                            let port = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                            let _ = tx.send(Ok(port.unwrap_or(0)));
                            sent = true;
                        }
                    }
                }
                line.clear();
            }
            if !sent {
                let _ = tx.send(Err(all));
            }
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Ok(port)) => Ok(Server { child, port, _dir: dir }),
            Ok(Err(stderr)) => {
                let _ = child.wait();
                Err(stderr)
            }
            Err(_) => {
                let _ = child.kill();
                Err("server did not start within 20 s".into())
            }
        }
    }

    pub fn url(&self, resp3: bool) -> String {
        let proto = if resp3 { "?protocol=resp3" } else { "" };
        format!("redis://127.0.0.1:{}/{proto}", self.port)
    }

    pub fn client(&self, resp3: bool) -> redis::Connection {
        redis::Client::open(self.url(resp3)).and_then(|c| c.get_connection()).expect("connect")
    }

    pub fn raw(&self) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect raw");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        Raw { stream }
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit on its own; its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw TCP connection for byte-level protocol tests.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads until `expected` bytes arrived (or the timeout) and returns
    /// what came.
    pub fn read_exact_len(&mut self, expected: usize) -> Vec<u8> {
        let mut out = vec![0u8; expected];
        let mut got = 0;
        while got < expected {
            match self.stream.read(&mut out[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        out.truncate(got);
        out
    }

    /// Reads one reply line (up to and including CRLF).
    pub fn read_line(&mut self) -> String {
        let mut out = Vec::new();
        let mut byte = [0u8; 1];
        while !out.ends_with(b"\r\n") {
            match self.stream.read(&mut byte) {
                Ok(1) => out.push(byte[0]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Sends `request` and expects exactly `reply` back.
    pub fn roundtrip(&mut self, request: &[u8], reply: &[u8]) {
        self.send(request);
        let got = self.read_exact_len(reply.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(reply),
            "reply to {:?}",
            String::from_utf8_lossy(request)
        );
    }

    /// Whether the server closed the connection (reads EOF soon).
    pub fn is_closed(&mut self) -> bool {
        self.stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let mut buf = [0u8; 256];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
            }
        }
    }
}

/// Runs a command and returns the raw reply value (errors as values).
pub fn query(con: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con)
}

/// The error code and message of a failed command.
pub fn error_of(result: redis::RedisResult<redis::Value>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => match (e.code(), e.detail()) {
            (Some(code), Some(detail)) => format!("{code} {detail}"),
            // Errors inside a pipeline's EXEC come wrapped: use the text.
            _ => e.to_string(),
        },
    }
}
