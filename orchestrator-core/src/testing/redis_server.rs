//! A real `redis-server` for tests of the Redis store and of the service over it.

/// A real `redis-server` (Debian package `redis-server`) on a free port with its own directory
/// and an append-only file fsynced on every write; killed on drop.
pub struct RedisServer {
    child: std::process::Child,
    /// Its port.
    pub port: u16,
    /// `redis://127.0.0.1:{port}`.
    pub url: String,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Start one (panics with the install command when the binary is missing).
    pub fn start() -> RedisServer {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Self::spawn(port, dir.path());
        RedisServer { child, port, url: format!("redis://127.0.0.1:{port}"), dir }
    }

    fn spawn(port: u16, dir: &std::path::Path) -> std::process::Child {
        let bin = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("redis-server is not installed (apt-get install redis-server; scripts/test-all.sh does)");
        let child = std::process::Command::new(bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
            .args(["--appendfsync", "always", "--daemonize", "no", "--dir"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child
    }

    /// kill -9, then start again on the same port and directory (it replays its append-only file).
    pub fn crash_and_restart(&mut self) {
        self.stop();
        self.child = Self::spawn(self.port, self.dir.path());
    }

    /// kill -9 and wait.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start again after [`RedisServer::stop`].
    pub fn restart(&mut self) {
        self.child = Self::spawn(self.port, self.dir.path());
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
