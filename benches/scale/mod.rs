//! `scale`: 10,000 / 100,000 / 1,000,000 schedules with distinct cron expressions, dry run.
//! For each size: `check --next 1` (wall time and peak RSS), then `run` until systemd's
//! READY=1 (time to ready, RSS then), then CPU over BENCH_SCALE_IDLE seconds. Bytes per
//! schedule: the RSS difference between sizes over the schedule difference.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_workspace-notifier");

pub(crate) fn run() {
    let sizes: Vec<usize> = std::env::var("BENCH_SCALE_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".to_owned())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let idle = super::seconds("BENCH_SCALE_IDLE", 20);
    let mut rows: Vec<(usize, u64)> = Vec::new();
    for n in sizes {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), n);
        let (check_s, check_kib) = measured(&["check", "--next", "1", "--config", &config]);
        let (ready_s, rss_kib, cpu_per_min) = daemon(dir.path(), &config, idle);
        println!(
            "scale: {n} schedules, distinct cron expressions, dry run: ready in {ready_s:.2} s, RSS {:.1} MiB; CPU {cpu_per_min:.2} s per minute after ready (measured over {idle} s); check --next 1: {check_s:.2} s, peak RSS {:.1} MiB",
            rss_kib as f64 / 1024.0,
            check_kib as f64 / 1024.0,
        );
        if let Some((m, rss_m)) = rows.last() {
            println!(
                "scale: {:.0} bytes per schedule between {m} and {n} schedules",
                (rss_kib as f64 - *rss_m as f64) * 1024.0 / (n - m) as f64
            );
        }
        rows.push((n, rss_kib));
    }
}

/// A dry-run config with `n` schedules, each with its own cron expression: a distinct second
/// of the day, every day or every k-th day of the month.
fn write_config(dir: &std::path::Path, n: usize) -> String {
    let path = dir.join("scale.toml");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(
        out,
        "[daemon]\ndatabase = \"{}\"\ndry_run = true\n",
        dir.join("scale.db").display()
    )
    .unwrap();
    // A stride coprime with 86,400 spreads consecutive schedules over the whole day.
    for i in 0..n {
        let second_of_day = (i * 7_919) % 86_400;
        let every_k_days = 1 + i / 86_400;
        let (h, m, s) = (
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60,
        );
        let dom = if every_k_days == 1 {
            "*".to_owned()
        } else {
            format!("*/{every_k_days}")
        };
        writeln!(
            out,
            "[[schedules]]\nid = \"s{i:07}\"\ncron = \"{s} {m} {h} {dom} * *\"\npools = [\"pool-{i:07}\"]\nmessage = \"Scale test {i}\"\n"
        )
        .unwrap();
    }
    out.flush().unwrap();
    path.display().to_string()
}

/// Runs the binary to completion: wall seconds and peak RSS (KiB), from wait4.
// The child is reaped by wait4 (which also reports its peak RSS), not by Child::wait.
#[allow(clippy::zombie_processes)]
pub(crate) fn measured(args: &[&str]) -> (f64, u64) {
    let start = Instant::now();
    let child = std::process::Command::new(BIN)
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: pid is our child, status and usage are valid pointers.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{args:?} failed"
    );
    (start.elapsed().as_secs_f64(), usage.ru_maxrss as u64)
}

/// Starts `run` with a notify socket: seconds to READY=1, RSS then, CPU s/min afterwards.
fn daemon(dir: &std::path::Path, config: &str, idle: u64) -> (f64, u64, f64) {
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let start = Instant::now();
    let mut child = std::process::Command::new(BIN)
        .args(["run", "--config", config])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WORKSPACE_NOTIFIER_LOG", "warn")
        .spawn()
        .unwrap();
    let mut buf = [0u8; 4096];
    let ready = loop {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "no READY=1 in 10 minutes"
        );
        if let Ok(n) = socket.recv(&mut buf)
            && String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
        {
            break start.elapsed().as_secs_f64();
        }
        assert!(child.try_wait().unwrap().is_none(), "the daemon exited");
    };
    // Keep reading, as systemd does: a full socket would block the daemon's notifications.
    let drain = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        while socket.recv(&mut buf).is_ok() {}
    });
    let pid = child.id();
    let rss = super::rss_kib(pid);
    let ticks = super::cpu_ticks(pid);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(idle));
    let cpu_s = (super::cpu_ticks(pid) - ticks) as f64 / 100.0;
    let per_min = cpu_s * 60.0 / t0.elapsed().as_secs_f64();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    let _ = drain.join();
    (ready, rss, per_min)
}
