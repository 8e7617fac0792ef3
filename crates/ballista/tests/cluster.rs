//! A Ballista scheduler and two executors (this crate's binaries) started on 127.0.0.1 give
//! the same pairs, weights, clusters and blocking report as the local plan and the
//! in-process run, and both executors take part.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mergetag_ballista::ClusterPlan;
use mergetag_dedup::DedupConfig;
use mergetag_model::Record;
use mergetag_scale::{DedupPlan, PlanResult};
use mergetag_testkit::{Generator, Noise};

/// Processes killed and reaped when the test ends, however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `n` distinct ports free on 127.0.0.1 when asked: the OS's choices, all held until all
/// are chosen, then released.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Starts `binary` with `args`, its output in `log`.
fn start(binary: &str, args: &[String], log: &Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    Command::new(binary)
        .args(args)
        .env("MERGETAG_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap()
}

/// Waits until `port` accepts connections, or fails after `limit` naming the logs.
fn wait_for(port: u16, limit: Duration, processes: &mut Processes, logs: &Path) {
    let started = Instant::now();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        for child in &mut processes.0 {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("a server exited ({status}); logs:\n{}", read_logs(logs));
            }
        }
        assert!(
            started.elapsed() < limit,
            "port {port} not open after {limit:?}; logs:\n{}",
            read_logs(logs)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read_logs(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "log") {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            out.push_str(&format!("== {}\n", entry.path().display()));
            for line in tail.into_iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Matches as (id, id, weight bits, probability bits), sorted.
fn pairs(
    records: &[Record],
    matches: impl Iterator<Item = (usize, usize, f64, f64)>,
) -> Vec<(String, String, u64, u64)> {
    let mut v: Vec<_> = matches
        .map(|(a, b, w, p)| {
            (
                records[a].id.to_string(),
                records[b].id.to_string(),
                w.to_bits(),
                p.to_bits(),
            )
        })
        .collect();
    v.sort();
    v
}

fn plan_pairs(records: &[Record], r: &PlanResult) -> Vec<(String, String, u64, u64)> {
    pairs(
        records,
        r.matches
            .iter()
            .map(|p| (p.a, p.b, p.weight, p.probability)),
    )
}

/// Files under `dir`, recursively.
fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path: PathBuf = e.path();
            if path.is_dir() { files_under(&path) } else { 1 }
        })
        .sum()
}

#[test]
fn a_scheduler_and_two_executors_give_the_local_answers() {
    let temp = tempfile::tempdir().unwrap();
    let logs = temp.path();
    let ports = free_ports(5);
    let scheduler_port = ports[0];
    let mut processes = Processes(Vec::new());
    processes.0.push(start(
        env!("CARGO_BIN_EXE_mergetag-ballista-scheduler"),
        &["--port".into(), scheduler_port.to_string()],
        &logs.join("scheduler.log"),
    ));
    wait_for(
        scheduler_port,
        Duration::from_secs(60),
        &mut processes,
        logs,
    );
    let mut work_dirs = Vec::new();
    for e in 0..2 {
        let (flight, grpc) = (ports[1 + 2 * e], ports[2 + 2 * e]);
        let work = temp.path().join(format!("executor-{e}"));
        std::fs::create_dir_all(&work).unwrap();
        processes.0.push(start(
            env!("CARGO_BIN_EXE_mergetag-ballista-executor"),
            &[
                "--scheduler-port".into(),
                scheduler_port.to_string(),
                "--flight-port".into(),
                flight.to_string(),
                "--grpc-port".into(),
                grpc.to_string(),
                "--concurrent-tasks".into(),
                "2".into(),
                "--work-dir".into(),
                work.display().to_string(),
            ],
            &logs.join(format!("executor-{e}.log")),
        ));
        wait_for(flight, Duration::from_secs(60), &mut processes, logs);
        wait_for(grpc, Duration::from_secs(60), &mut processes, logs);
        work_dirs.push(work);
    }

    let records = Generator::new(18)
        .noise(Noise::default())
        .generate(2_000)
        .records;
    let deduper = DedupConfig::contacts().build().unwrap();
    let in_process = deduper.run(&records);
    assert!(!in_process.matches.is_empty());
    let mut plan = DedupPlan::new(deduper).unwrap();
    plan.target_partitions(4);
    let local = plan
        .run(&records, &in_process.model, &temp.path().join("local"))
        .unwrap();

    // The cluster's run, bounded in time: a hung cluster fails the test.
    let cluster = ClusterPlan::new(plan, &format!("df://127.0.0.1:{scheduler_port}")).unwrap();
    let (send, receive) = mpsc::channel();
    let dir = temp.path().join("cluster");
    let (run_records, model) = (records.clone(), in_process.model.clone());
    std::thread::spawn(move || {
        let _ = send.send(cluster.run(&run_records, &model, &dir));
    });
    let remote = match receive.recv_timeout(Duration::from_secs(600)) {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            panic!("{message}\nlogs:\n{}", read_logs(logs))
        }
        Err(_) => panic!("no answer in 10 minutes; logs:\n{}", read_logs(logs)),
    };

    let expected = pairs(
        &records,
        in_process
            .matches
            .iter()
            .map(|p| (p.a, p.b, p.weight, p.probability)),
    );
    assert_eq!(plan_pairs(&records, &remote), plan_pairs(&records, &local));
    assert_eq!(plan_pairs(&records, &remote), expected);
    assert_eq!(remote.clusters, local.clusters);
    assert_eq!(remote.clusters, in_process.clusters);
    assert_eq!(remote.cluster_count, in_process.cluster_count);
    assert_eq!(remote.refused_bridges, in_process.refused_bridges);
    assert_eq!(remote.blocking, in_process.blocking);
    assert_eq!(remote.model, local.model);
    assert!(remote.pairs_file.exists());
    // Both executors ran tasks: each wrote shuffle files in its work directory.
    for work in &work_dirs {
        assert!(
            files_under(work) > 0,
            "{} holds no files; logs:\n{}",
            work.display(),
            read_logs(logs)
        );
    }
}

/// A scheduler that is not there: an error naming the plan's step, not a hang or a panic.
#[test]
fn an_unreachable_scheduler_is_an_error() {
    let port = free_ports(1)[0];
    let records = Generator::new(3).generate(40).records;
    let deduper = DedupConfig::contacts().build().unwrap();
    let model = deduper.run(&records).model;
    let plan = ClusterPlan::new(
        DedupPlan::new(deduper).unwrap(),
        &format!("df://127.0.0.1:{port}"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (send, receive) = mpsc::channel();
    let path = dir.path().to_path_buf();
    std::thread::spawn(move || {
        let _ = send.send(plan.run(&records, &model, &path).map(|r| r.cluster_count));
    });
    let e = receive
        .recv_timeout(Duration::from_secs(120))
        .expect("an answer within two minutes")
        .unwrap_err();
    assert!(e.to_string().contains("plan"), "{e}");
    assert!(std::error::Error::source(&e).is_some());
}
