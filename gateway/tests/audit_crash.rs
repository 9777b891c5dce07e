//! Crash safety: the real `preflight` binary writes records and is killed
//! with SIGKILL at random points, many times over the same data directory.
//! After every kill the chain must verify, and every record whose ack was
//! printed (acks are printed only after fsync) must be on disk, unchanged.

mod audit_support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use preflight_gateway::audit;

/// A small deterministic generator, seeded from the clock and printed, so a
/// failing run can be repeated with `AUDIT_CRASH_SEED`.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

#[test]
fn acknowledged_records_survive_sigkill_at_random_points_and_the_chain_verifies() {
    let seed = std::env::var("AUDIT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| audit::time::now_us() as u64);
    eprintln!("AUDIT_CRASH_SEED={seed}");
    let mut rng = Lcg(seed);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut acked: Vec<(u64, String)> = Vec::new();
    let mut torn_seen = 0;

    for round in 0..14 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args([
                "audit",
                "write-load",
                "--print-acks",
                "--records",
                "10000000",
                "--durable-every",
                "2",
            ])
            .args([
                "--concurrency",
                "8",
                "--segment-max-bytes",
                "65536",
                "--data-dir",
            ])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        let mut out = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("no stdout")));
        let mut stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        // Kill after a random number of acks, or (sometimes) blindly after a
        // short random delay, which can land before the first write, during
        // a rotation, or mid-batch.
        let mut text = String::new();
        if rng.next(4) == 0 {
            std::thread::sleep(Duration::from_millis(rng.next(60)));
        } else {
            let wanted = 1 + rng.next(400);
            let mut got = 0;
            while got < wanted {
                let mut line = String::new();
                if out.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                got += u64::from(line.starts_with("ack "));
                text.push_str(&line);
            }
        }
        child.kill().unwrap_or_else(|e| panic!("kill: {e}"));
        let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
        let mut rest = String::new();
        let _ = out.read_to_string(&mut rest);
        text.push_str(&rest);
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err);
        assert!(
            !status.success(),
            "round {round}: the writer finished before it was killed; stderr: {err}"
        );
        torn_seen += usize::from(err.contains("torn"));

        // Only complete lines count: a line cut by the kill was never an ack.
        for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            let mut parts = line.split_whitespace();
            if let (Some("ack"), Some(seq), Some(id)) = (parts.next(), parts.next(), parts.next()) {
                acked.push((
                    seq.parse().unwrap_or_else(|e| panic!("ack seq {seq}: {e}")),
                    id.to_owned(),
                ));
            }
        }

        let report = audit::verify(dir.path()).unwrap_or_else(|e| panic!("verify: {e}"));
        assert!(
            report.ok(),
            "round {round} (seed {seed}): {:?}",
            report.problem
        );
        let on_disk = audit_support::stored(dir.path());
        for (seq, id) in &acked {
            let rec = on_disk
                .get(seq)
                .unwrap_or_else(|| panic!("round {round}: acked seq {seq} ({id}) is missing"));
            assert_eq!(&rec.record.decision_id, id, "round {round}: seq {seq}");
        }
    }
    assert!(
        acked.len() > 14,
        "too few acks to mean anything: {}",
        acked.len()
    );

    // A final clean start cuts any torn tail and the chain then verifies
    // with nothing left over.
    let (handle, task) = audit::AuditLog::open(audit::AuditSettings::new(dir.path()))
        .unwrap_or_else(|e| panic!("open: {e}"));
    handle
        .shutdown_blocking()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    drop(handle);
    task.join().unwrap_or_else(|e| panic!("join: {e}"));
    let report = audit::verify(dir.path()).unwrap_or_else(|e| panic!("verify: {e}"));
    assert!(report.ok() && report.torn_tail.is_none(), "{report:?}");
    assert!(report.segments > 1, "rotation never happened: {report:?}");
    let status = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path())
        .status()
        .unwrap_or_else(|e| panic!("verify cli: {e}"));
    assert_eq!(status.code(), Some(0));
    eprintln!(
        "{} acks checked over 14 kills; {torn_seen} restarts cut a torn line",
        acked.len()
    );
}
