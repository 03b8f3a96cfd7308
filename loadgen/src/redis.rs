//! A `redis-server` (Debian's package) run as a child process on a free loopback port, with no
//! persistence, for the cluster tests, the cluster benchmark and `demo --nodes`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::process::free_port;

pub struct RedisProcess {
    child: Option<Child>,
    pub port: u16,
    /// With TLS: the directory of its certificate authority (`ca.crt`) and server certificate.
    tls: Option<std::path::PathBuf>,
}

impl RedisProcess {
    /// Starts a server and waits until it answers `PING`.
    pub async fn start() -> anyhow::Result<Self> {
        let mut this = Self { child: None, port: free_port()?, tls: None };
        this.restart().await?;
        Ok(this)
    }

    /// A server that speaks TLS only, with a certificate for 127.0.0.1 from a certificate
    /// authority made in `dir` (`dir/ca.crt`) by `openssl`.
    pub async fn start_tls(dir: &std::path::Path) -> anyhow::Result<Self> {
        let openssl = |args: &[&str]| -> anyhow::Result<()> {
            let status = Command::new("openssl").args(args).current_dir(dir).stderr(Stdio::null()).status()?;
            anyhow::ensure!(status.success(), "openssl {args:?} failed");
            Ok(())
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "1",
            "-subj",
            "/CN=ccp-sidecar test CA",
        ])?;
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ])?;
        std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n")?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "1",
            "-extfile",
            "san.ext",
        ])?;
        let mut this = Self { child: None, port: free_port()?, tls: Some(dir.to_owned()) };
        this.restart().await?;
        Ok(this)
    }

    /// `redis://127.0.0.1:PORT`, or `rediss://` with TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) the server: it keeps its data, and answers nothing
    /// meanwhile.
    pub fn pause(&self, paused: bool) {
        if let Some(pid) = self.pid() {
            let signal = if paused { "-STOP" } else { "-CONT" };
            let _ = Command::new("kill").args([signal, &pid.to_string()]).status();
        }
    }

    /// Kills the server (SIGKILL): everything it held is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty), after [`Self::kill`].
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        let port = self.port.to_string();
        let mut args = vec!["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        let files: Vec<String> = match &self.tls {
            None => Vec::new(),
            Some(dir) => {
                ["server.crt", "server.key", "ca.crt"].iter().map(|f| dir.join(f).display().to_string()).collect()
            }
        };
        match files.as_slice() {
            [cert, key, ca] => args.extend([
                "--port",
                "0",
                "--tls-port",
                &port,
                "--tls-cert-file",
                cert,
                "--tls-key-file",
                key,
                "--tls-ca-cert-file",
                ca,
                "--tls-auth-clients",
                "no",
            ]),
            _ => args.extend(["--port", &port]),
        }
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting redis-server (Debian's package redis-server; cargo xtask installs it)")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.ping().await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("redis-server did not answer on port {} within 10 s", self.port);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn ping(&self) -> anyhow::Result<()> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        if self.tls.is_some() {
            // Listening is enough: the relay's own handshake is what the tests check.
            return Ok(());
        }
        stream.write_all(b"PING\r\n").await?;
        let mut answer = [0u8; 7];
        stream.read_exact(&mut answer).await?;
        if &answer != b"+PONG\r\n" {
            bail!("unexpected answer to PING");
        }
        Ok(())
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
