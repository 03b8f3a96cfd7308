//! A local DynamoDB-compatible server (moto's, installed by `cargo xtask` into the project's
//! Python environment, run by `tools/dynamodb_local.py`, which applies requests one at a time as
//! DynamoDB isolates transactions) on loopback, for the tests: started on a free port, stopped
//! when dropped.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;

/// A running local server.
pub struct LocalServer {
    child: Child,
    /// Its endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

/// The project's Python (with moto) and the server script, from the workspace root.
pub const PYTHON: &str = ".tools/python/bin/python";
pub const SCRIPT: &str = "tools/dynamodb_local.py";

impl LocalServer {
    /// The server of the workspace at `root`, started and answering.
    pub fn start(root: &Path) -> Result<Self, String> {
        let binary = root.join(PYTHON);
        if !binary.exists() {
            return Err(format!(
                "{} is missing: `cargo xtask test` installs it (tools/requirements.txt)",
                binary.display()
            ));
        }
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let child = Command::new(&binary)
            .arg(root.join(SCRIPT))
            .args(["127.0.0.1", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        let server = Self { child, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("{} did not answer on port {port}", binary.display()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    /// An SDK configuration for this server: its endpoint, a region, and the static credentials
    /// a local server accepts.
    pub async fn sdk_config(&self) -> SdkConfig {
        let credentials = aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "local-server");
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(credentials)
            .endpoint_url(&self.endpoint)
            .load()
            .await
    }

    /// Stops the server answering, keeping its data (SIGSTOP): a store that hangs, for the tests.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server answer again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let _ = Command::new("kill").args([signal, &self.child.id().to_string()]).status();
    }

    /// Stops the server (a fault for the tests); [`LocalServer::start`] gives a new one.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop();
    }
}
