//! A real `redis-server` (Debian's package; `scripts/test-all.sh` installs it) on a loopback
//! port, owned by the test: it stops when dropped, and when the test binary exits (a shell in
//! front of it waits on its stdin). `REDIS_SERVER` names another binary (a Valkey server).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, Process};

pub struct RedisServer {
    pub port: u16,
    pid: u32,
    _guard: Process,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// On `port` (a restart takes the port of the one that went away).
    pub fn start_on(port: u16) -> Self {
        Self::spawn(port, "")
    }

    /// With more of redis-server's options (`--requirepass …`).
    pub fn start_with(options: &str) -> Self {
        Self::spawn(free_port(), options)
    }

    /// One node in cluster mode holding every slot, as ElastiCache Serverless presents
    /// itself: a script whose keys are in different slots is refused (`CROSSSLOT`).
    pub fn start_cluster() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("redis-cluster-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("cluster dir");
        let options = format!(
            "--cluster-enabled yes --cluster-config-file '{}'",
            dir.join("nodes.conf").display()
        );
        let server = Self::spawn(port, &options);
        assert_eq!(
            server.command("CLUSTER ADDSLOTSRANGE 0 16383").as_deref(),
            Some("+OK")
        );
        let started = Instant::now();
        while !server
            .command("CLUSTER INFO")
            .is_some_and(|info| info.contains("cluster_state:ok"))
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "cluster not ok"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn spawn(port: u16, options: &str) -> Self {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let script = format!(
            "'{binary}' --port {port} --bind 127.0.0.1 --save '' --appendonly no \
             --enable-debug-command yes --loglevel warning {options} >/dev/null 2>&1 & \
             pid=$!; echo $pid; cat >/dev/null; kill -9 $pid"
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh for redis-server");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("redis-server pid");
        let pid = first.trim().parse().expect("a pid");
        let server = Self {
            port,
            pid,
            _guard: Process::adopt(child),
        };
        let started = Instant::now();
        // `-NOAUTH`: alive, and asking for its password.
        while !server
            .command("PING")
            .is_some_and(|a| a == "+PONG" || a.starts_with("-NOAUTH"))
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not answer on port {port} within 10 s (is it installed? \
                 apt-get install redis-server)"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// One inline command's first answer line; `None` when the server does not answer
    /// within two seconds.
    pub fn command(&self, line: &str) -> Option<String> {
        command_on(self.port, line, Duration::from_secs(2))
    }

    /// Makes the server answer nothing for `seconds` (`DEBUG SLEEP`), from another thread.
    pub fn sleep_for(&self, seconds: f64) -> std::thread::JoinHandle<()> {
        let port = self.port;
        std::thread::spawn(move || {
            let wait = Duration::from_secs_f64(seconds + 2.0);
            let _ = command_on(port, &format!("DEBUG SLEEP {seconds}"), wait);
        })
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .status();
        // Gone for good before the port is taken again.
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            && started.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn command_on(port: u16, line: &str, wait: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(wait)).ok()?;
    write!(stream, "{line}\r\n").ok()?;
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while stream.read(&mut byte).ok()? == 1 {
        if byte[0] == b'\n' {
            break;
        }
        answer.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&answer).trim_end().to_string();
    // A bulk string: its length, then that many bytes and a line end.
    if let Some(len) = line.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
        let mut bulk = vec![0u8; len + 2];
        stream.read_exact(&mut bulk).ok()?;
        return Some(String::from_utf8_lossy(&bulk[..len]).into_owned());
    }
    Some(line)
}
