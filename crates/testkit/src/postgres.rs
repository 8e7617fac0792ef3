//! A real PostgreSQL server for tests: [`PgServer`] runs `initdb` and `pg_ctl` from the
//! Debian package `postgresql` on 127.0.0.1, a free port and a data directory of its own, and
//! stops it when dropped (also when a test panics).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// A PostgreSQL server started for tests, stopped (and its data removed) on drop.
///
/// ```no_run
/// use mergetag_testkit::postgres::PgServer;
///
/// // `None`, with a loud message on stderr, only when the PostgreSQL binaries are absent.
/// let Some(server) = PgServer::shared() else { return };
/// let url = server.create_database("my_test");
/// assert!(url.contains("dbname=my_test"));
/// ```
#[derive(Debug)]
pub struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

static SHARED: Mutex<Weak<PgServer>> = Mutex::new(Weak::new());
static DATABASES: AtomicU64 = AtomicU64::new(0);

impl PgServer {
    /// The directory holding `initdb` and `pg_ctl`: `$MERGETAG_PG_BIN`, or the newest
    /// `/usr/lib/postgresql/<version>/bin`; `None` when PostgreSQL is not installed.
    pub fn binaries() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("MERGETAG_PG_BIN") {
            let dir = PathBuf::from(dir);
            return dir.join("initdb").exists().then_some(dir);
        }
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| {
                let e = e.ok()?;
                let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").exists().then_some((version, bin))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, bin)| bin)
    }

    /// A server shared by the tests of one process that hold it at the same time: started on
    /// first use, stopped when the last holder drops it. `None` (after a loud message on
    /// stderr) when the PostgreSQL binaries are absent.
    ///
    /// # Panics
    ///
    /// When the binaries are there but the server does not start: a broken install must fail
    /// the tests, not skip them.
    pub fn shared() -> Option<Arc<PgServer>> {
        let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slot.upgrade() {
            return Some(s);
        }
        let s = Arc::new(PgServer::start()?);
        *slot = Arc::downgrade(&s);
        Some(s)
    }

    /// Starts a server of its own. `None` (after a loud message on stderr) when the
    /// PostgreSQL binaries are absent.
    ///
    /// # Panics
    ///
    /// As [`PgServer::shared`].
    #[allow(clippy::print_stderr)] // a skipped test must say so, loudly
    pub fn start() -> Option<PgServer> {
        let Some(bin) = PgServer::binaries() else {
            eprintln!(
                "\n!!! SKIPPED: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; \
                 `apt-get install -y postgresql`, or set MERGETAG_PG_BIN). The tests that need a \
                 real server did not run. !!!\n"
            );
            return None;
        };
        let as_postgres = is_root();
        let n = DATABASES.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("mergetag-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the data directory");
        if as_postgres {
            run(Command::new("chown").arg("postgres:").arg(&dir), "chown");
        }
        let port = free_port();
        let server = PgServer {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = server.dir.join("data");
        let mut init = server.command("initdb");
        init.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        init.args(["--locale=C"]);
        run(&mut init, "initdb");
        let mut start = server.command("pg_ctl");
        start
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(server.dir.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -h 127.0.0.1 -k {} -F -c max_connections=64",
                server.dir.display()
            ))
            .args(["-w", "-t", "60", "start"]);
        run(&mut start, "pg_ctl start");
        Some(server)
    }

    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory's parent, which also holds the server's log (`log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A connection string (libpq key-value form) for database `dbname` as user `postgres`.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname={dbname} connect_timeout=10",
            self.port
        )
    }

    /// Creates the database `name` (dropping one of that name first) and returns its
    /// connection string. Give each test its own.
    ///
    /// # Panics
    ///
    /// When `psql` fails.
    pub fn create_database(&self, name: &str) -> String {
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{name}\""),
        ] {
            self.psql("postgres", &sql);
        }
        self.url(name)
    }

    /// Runs `sql` in database `dbname` with `psql`, returning what it prints (unaligned,
    /// tuples only).
    ///
    /// # Panics
    ///
    /// When `psql` fails.
    pub fn psql(&self, dbname: &str, sql: &str) -> String {
        let out = self
            .command("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-X", "-q", "-A", "-t"])
            .args(["-v", "ON_ERROR_STOP=1", "-p"])
            .arg(self.port.to_string())
            .args(["-d", dbname, "-c", sql])
            .stdin(Stdio::null())
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`), as a crash would; its data
    /// directory stays until drop. Further connections fail.
    pub fn stop(&self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = stop.status();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(c: &mut Command, what: &str) {
    let out = c.stdin(Stdio::null()).output().expect(what);
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}
