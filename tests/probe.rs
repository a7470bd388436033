//! The probe, sort --measure and doctor against real distccd daemons on 127.0.0.1.
//! Only loopback addresses are ever contacted (a LAN address is only tried from an empty
//! network namespace, where nothing can leave); every daemon is stopped by its own pid.

mod common;

use common::distccd::*;
use common::*;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The arch of this machine's gcc and distccd, as `--expect-arch` takes it.
fn native_arch() -> String {
    toolchain_carch()
}

fn config_with(dir: &Path, carch: &str, chost: &str, hosts: &str) -> PathBuf {
    let conf = dir.join("makepkg.conf");
    std::fs::write(
        &conf,
        format!(
            "CARCH=\"{carch}\"\nCHOST=\"{chost}\"\nCFLAGS=\"-O2\"\nMAKEFLAGS=\"-j2\"\n\
             BUILDENV=(distcc color !ccache check !sign)\nDISTCC_HOSTS=\"{hosts}\"\n"
        ),
    )
    .unwrap();
    conf
}

fn probe_json(conf: &Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut all = vec!["probe", "--json"];
    all.extend_from_slice(args);
    let r = run(conf, &all);
    let v = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", r.stdout, r.stderr));
    (r.code, v, r.stderr)
}

#[test]
fn working_helper_right_arch_and_wrong_arch() {
    let d = Distccd::start("127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let conf = config_with(
        dir.path(),
        &native_arch(),
        "x86_64-pc-linux-gnu",
        &d.spec(2),
    );
    let (code, v, err) = probe_json(
        &conf,
        &["--expect-arch", &native_arch(), "--compiler", "gcc"],
    );
    assert_eq!(code, 0, "{v} {err}");
    let host = &v["hosts"][0];
    assert_eq!(host["verdict"], "ok");
    assert_eq!(host["attempts"][0]["result"], "object");
    assert!(host["attempts"][0]["round_trip_ms"].as_f64().unwrap() > 0.0);

    // The same helper seen from an aarch64 Pi: the classic x86-64 mistake, with the fix. On
    // an aarch64 machine this helper is the right one, so there is no mistake to show.
    if toolchain_carch() == "aarch64" {
        return not_on_this_arch(
            "working_helper_right_arch_and_wrong_arch (wrong-arch part)",
            "this machine is aarch64: its own helper is right for an aarch64 Pi",
        );
    }
    let pi = fixture("alarm-aarch64-stock.conf");
    let (code, v, _) = probe_json(&pi, &[&format!("127.0.0.1:{}", d.port)]);
    assert_eq!(code, 1);
    let host = &v["hosts"][0];
    assert_eq!(host["verdict"], "failed");
    let gcc = host["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["compiler"] == "gcc")
        .unwrap();
    assert_eq!(gcc["result"], "object");
    assert!(
        gcc["detail"].as_str().unwrap().contains("WRONG ARCH"),
        "{gcc}"
    );
    assert!(host["advice"].to_string().contains("PATH"), "{host}");
    let text = run(&pi, &["probe", &format!("127.0.0.1:{}", d.port)]);
    assert!(text.stdout.contains("WRONG ARCH"), "{}", text.stdout);
}

#[test]
fn refused_denied_and_not_whitelisted() {
    let open = Distccd::start("127.0.0.1");
    let denying = Distccd::start("10.9.9.9");
    let dead = free_port();
    let dir = tempfile::tempdir().unwrap();
    let conf = config_with(
        dir.path(),
        &native_arch(),
        "x86_64-pc-linux-gnu",
        "localhost/2",
    );
    let (code, v, _) = probe_json(
        &conf,
        &[
            &format!("127.0.0.1:{dead}"),
            &format!("127.0.0.1:{}", denying.port),
            "--compiler",
            "gcc",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(v["hosts"][0]["attempts"][0]["result"], "refused");
    assert_eq!(v["hosts"][1]["attempts"][0]["result"], "rejected");
    assert!(
        std::fs::read_to_string(&denying.log)
            .unwrap_or_default()
            .contains("denied")
    );

    let (code, v, _) = probe_json(
        &conf,
        &[
            &format!("127.0.0.1:{}", open.port),
            "--compiler",
            "notwhitelisted-gcc",
            "--expect-arch",
            &native_arch(),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(v["hosts"][0]["attempts"][0]["result"], "rejected");
    assert!(v["hosts"][0]["advice"].to_string().contains("whitelisted"));

    // localhost is reported as local, not probed.
    let (code, v, _) = probe_json(
        &conf,
        &[
            "localhost/2",
            &format!("127.0.0.1:{}", open.port),
            "--compiler",
            "gcc",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["hosts"][0]["verdict"], "local");
}

/// `args` run by the tool in an empty network namespace of its own (`unshare -n`: no
/// interface up, no route, so nothing can leave), bounded in time.
fn in_empty_netns(conf: &Path, args: &[&str]) -> Option<(i32, String)> {
    if !is_root() || !distccd::have("unshare") {
        return None;
    }
    let out = std::process::Command::new("timeout")
        .args(["30", "unshare", "-n"])
        .arg(env!("CARGO_BIN_EXE_alarm-distcc"))
        .arg("--config")
        .arg(conf)
        .args(args)
        .output()
        .unwrap();
    Some((
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

#[test]
fn an_unreachable_helper_is_named_so_and_has_not_drifted() {
    let dir = tempfile::tempdir().unwrap();
    // A laptop on the LAN, as the seed lists it; in an empty namespace no route leads there.
    let conf = config_with(
        dir.path(),
        "aarch64",
        "aarch64-unknown-linux-gnu",
        "10.0.0.7:3636/6 localhost/2",
    );
    let Some((code, out)) = in_empty_netns(&conf, &["probe", "--timeout", "2"]) else {
        return skip(
            "an unreachable helper",
            "needs root and unshare (util-linux)",
        );
    };
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unreachable: network unreachable"), "{out}");
    assert!(
        !out.contains("refused") && !out.contains("start distccd"),
        "{out}"
    );
    assert!(
        out.contains("cannot be reached (network unreachable)"),
        "{out}"
    );
    assert!(
        out.contains("1 of 1 helper(s) could not be reached"),
        "{out}"
    );
    assert!(!out.contains("cannot compile"), "{out}");
    // The pacman hook: not a toolchain drift, and it never fails the transaction.
    let (code, out) = in_empty_netns(&conf, &["toolchain-check"]).unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("could not be reached (network unreachable)"),
        "{out}"
    );
    assert!(!out.contains("no longer matches"), "{out}");
    // The probe it names runs on the config given, as printed.
    assert!(
        out.contains(&format!(
            "run `alarm-distcc --config {} probe`",
            conf.display()
        )),
        "{out}"
    );
    // Refused is refused: a loopback port nothing listens on, and the WSL2 forward named.
    let dead = free_port();
    let (code, v, _) = probe_json(&conf, &[&format!("127.0.0.1:{dead}"), "--compiler", "gcc"]);
    assert_eq!(code, 1);
    assert_eq!(v["hosts"][0]["attempts"][0]["result"], "refused");
    assert!(
        v["hosts"][0]["advice"]
            .to_string()
            .contains("--format powershell"),
        "{v}"
    );
}

#[test]
fn hung_and_garbage_servers_are_bounded_and_classified() {
    let hung = TcpListener::bind("127.0.0.1:0").unwrap(); // accepted by the kernel, never answered
    let garbage = TcpListener::bind("127.0.0.1:0").unwrap();
    let garbage_port = garbage.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in garbage.incoming().flatten() {
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n");
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let conf = config_with(
        dir.path(),
        &native_arch(),
        "x86_64-pc-linux-gnu",
        "localhost/2",
    );
    let start = Instant::now();
    let (code, v, _) = probe_json(
        &conf,
        &[
            &format!("127.0.0.1:{}", hung.local_addr().unwrap().port()),
            &format!("127.0.0.1:{garbage_port}"),
            "--timeout",
            "1",
            "--compiler",
            "gcc",
        ],
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(code, 1);
    assert_eq!(v["hosts"][0]["attempts"][0]["result"], "timed_out");
    assert_eq!(v["hosts"][1]["attempts"][0]["result"], "protocol_error");
}

#[test]
fn twenty_hosts_fifteen_silent_finish_in_about_one_timeout() {
    let d = Distccd::start("127.0.0.1");
    let silent: Vec<TcpListener> = (0..15)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let mut hosts: Vec<String> = silent
        .iter()
        .map(|l| format!("127.0.0.1:{}", l.local_addr().unwrap().port()))
        .collect();
    hosts.push(format!("127.0.0.1:{}", d.port));
    hosts.extend((0..4).map(|_| format!("127.0.0.1:{}", free_port())));
    let dir = tempfile::tempdir().unwrap();
    let conf = config_with(
        dir.path(),
        &native_arch(),
        "x86_64-pc-linux-gnu",
        "localhost/2",
    );
    let mut args: Vec<&str> = hosts.iter().map(String::as_str).collect();
    args.extend(["--timeout", "2", "--compiler", "gcc"]);
    let start = Instant::now();
    let (code, v, _) = probe_json(&conf, &args);
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "20 hosts took {took:?}: not concurrent"
    );
    assert_eq!(code, 1);
    let results: Vec<String> = v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["attempts"][0]["result"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        results.iter().filter(|r| *r == "timed_out").count(),
        15,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|r| *r == "object").count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|r| *r == "refused").count(),
        4,
        "{results:?}"
    );
}

/// A helper that takes longer than 4 s a compile, within the user's --timeout, is measured
/// (the probe before the measurement once stopped at 4 s and dropped it as "not measured").
#[test]
fn sort_measure_waits_for_a_slow_helper_as_long_as_timeout_says() {
    if let Some(why) = missing(&[AARCH64_GCC.1]) {
        return skip("sort_measure_slow_helper", &why);
    }
    let slow = Helper::default()
        .serve(AARCH64_GCC.0, AARCH64_GCC.1)
        .delay(4.5)
        .start();
    let (_dir, conf) = scratch_copy(&stock_aarch64());
    let add = run(&conf, &["add-host", &slow.spec(4), "--yes"]);
    assert_eq!(add.code, 0, "{}", add.stderr);
    let r = run(
        &conf,
        &[
            "sort",
            "--measure",
            "--runs",
            "1",
            "--timeout",
            "20",
            "--dry-run",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let row = r
        .stdout
        .lines()
        .find(|l| l.starts_with(&slow.spec(4)))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(!row.contains("not measured"), "{}{}", r.stdout, r.stderr);
    let ms: f64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(ms >= 4500.0, "{row}");
}

/// Three real aarch64 helpers whose compiler sleeps a known time per job: the slot order
/// (8, 6, 4) and the throughput order (4, 6, 8) differ, and the measurement must find the
/// latter; a dead helper is named, with the command that removes it, and never goes before
/// a measured one; this machine goes last, where plain `sort` puts it too.
#[test]
fn sort_measure_finds_the_throughput_order_of_real_helpers() {
    if let Some(why) = missing(&[AARCH64_GCC.1]) {
        return skip("sort_measure_throughput", &why);
    }
    // With a base compile time b, the order holds while b < 2*1.5 - 3*0.02 (quick before
    // middle) and b < 3*3.5 - 4*1.5 (middle before slow): nearly 3 s of margin, which an
    // emulated armv7 run on a loaded machine needs (at 0.8 and 2.5 it failed there). The
    // slow one takes over 4 s a compile when loaded: it is still measured, not dropped.
    let slow_big = Helper::default()
        .serve(AARCH64_GCC.0, AARCH64_GCC.1)
        .delay(3.5)
        .start();
    let quick_small = Helper::default()
        .serve(AARCH64_GCC.0, AARCH64_GCC.1)
        .delay(0.02)
        .start();
    let middle = Helper::default()
        .serve(AARCH64_GCC.0, AARCH64_GCC.1)
        .delay(1.5)
        .start();
    let dead = free_port();
    let (_dir, conf) = scratch_copy(&stock_aarch64());
    let add = run(
        &conf,
        &[
            "add-host",
            &format!("127.0.0.1:{dead}/8"),
            &slow_big.spec(8),
            &middle.spec(6),
            &quick_small.spec(4),
            "localhost/2",
            "--yes",
        ],
    );
    assert_eq!(add.code, 0, "{}", add.stderr);
    let r = run(&conf, &["sort", "--measure", "--runs", "3", "--yes"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let hosts = scalar_value(&bash_vars(&[&conf])["DISTCC_HOSTS"]);
    assert_eq!(
        hosts,
        format!(
            "{} {} {} 127.0.0.1:{dead}/8 localhost/2",
            quick_small.spec(4),
            middle.spec(6),
            slow_big.spec(8)
        ),
        "{}",
        r.stdout
    );
    let remove = format!(
        "alarm-distcc --config {} remove-host 127.0.0.1:{dead}",
        conf.display()
    );
    assert!(r.stderr.contains(&remove), "{}", r.stderr);
    // Plain sort orders by slots but leaves this machine where it is: last.
    let plain = run(&conf, &["sort", "--yes"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let hosts = scalar_value(&bash_vars(&[&conf])["DISTCC_HOSTS"]);
    assert!(hosts.ends_with(" localhost/2"), "{hosts}");
    // The printed command runs as printed.
    let argv: Vec<&str> = remove.split_whitespace().skip(1).collect();
    let removed = bin().args(&argv).arg("--yes").output().unwrap();
    assert!(removed.status.success(), "{removed:?}");
    let hosts = scalar_value(&bash_vars(&[&conf])["DISTCC_HOSTS"]);
    assert!(!hosts.contains(&dead.to_string()), "{hosts}");
}

#[test]
fn doctor_reports_config_problems_offline() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(
        &conf,
        "CARCH=\"armv7h\"\nCFLAGS=\"-march=native -O2\"\nMAKEFLAGS=\"-j3\"\n\
         BUILDENV=(distcc color check sccache)\n\
         DISTCC_HOSTS=\"10.0.0.2:3636/8 127.0.0.1/2 10.0.0.3/4,lzo,cpp\"\n",
    )
    .unwrap();
    let r = run(&conf, &["doctor", "--offline"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    for needle in [
        "3635",
        "-march=native",
        "needs a distccd",
        "pump",
        "sccache",
        "-j is 3",
    ] {
        assert!(r.stdout.contains(needle), "missing {needle}: {}", r.stdout);
    }
    let r = run(
        &fixture("alarm-aarch64-stock.conf"),
        &["doctor", "--offline"],
    );
    assert_eq!(
        r.code, 0,
        "distcc off is a warning, not an error: {}",
        r.stdout
    );
    // A stock config lists no helper: that comes first, and `enable` is no fix for it.
    assert!(r.stdout.contains("no helper is listed yet"), "{}", r.stdout);
    assert!(r.stdout.contains("discover --add"), "{}", r.stdout);
    assert!(!r.stdout.contains(" enable"), "{}", r.stdout);
    let on_no_hosts = dir.path().join("on.conf");
    std::fs::write(&on_no_hosts, "BUILDENV=(distcc)\n").unwrap();
    let r = run(&on_no_hosts, &["doctor", "--offline"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("names no helper"), "{}", r.stdout);
}

#[test]
fn doctor_probes_helpers_unless_offline() {
    let d = Distccd::start("127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let conf = config_with(
        dir.path(),
        "aarch64",
        "aarch64-unknown-linux-gnu",
        &d.spec(2),
    );
    let r = run(&conf, &["doctor"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("fails the probe"), "{}", r.stdout);
    let r = run(&conf, &["doctor", "--offline"]);
    assert!(!r.stdout.contains("fails the probe"), "{}", r.stdout);
}

#[test]
fn doctor_on_every_corpus_file_and_fixture() {
    for f in corpus_files().into_iter().chain(fixture_files()) {
        let r = run(&f, &["doctor", "--offline"]);
        assert!(
            r.code == 0 || r.code == 1,
            "{}: {} {}",
            f.display(),
            r.stdout,
            r.stderr
        );
        assert!(
            r.stdout.contains("distcc is") || r.stdout.contains("no helper is listed yet"),
            "{}: {}",
            f.display(),
            r.stdout
        );
        if f.ends_with("user/boss14420-archlinuxarm-backup-armv6h-makepkg.conf") {
            // The real-world port mix-up: an armv6h Pi pointed at armv5's port.
            assert!(
                r.stdout.contains("3633 is distccd-alarm's armv5 port"),
                "{}",
                r.stdout
            );
            assert_eq!(r.code, 1);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = config_with(
        dir.path(),
        "armv7h",
        "armv7l-unknown-linux-gnueabihf",
        "10.9.8.234:3636/32",
    );
    let r = run(&conf, &["doctor", "--offline"]);
    assert!(
        r.stdout.contains("3636 is distccd-alarm's armv8 port"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("listen on 3635"), "{}", r.stdout);
}

#[test]
fn sort_measure_on_a_stock_config() {
    let fast = Distccd::start("127.0.0.1");
    let other = Distccd::start("127.0.0.1");
    let stock = corpus_files()
        .into_iter()
        .find(|p| p.ends_with("stock/alarm-7.1.0-aarch64.makepkg.conf"))
        .unwrap_or_else(|| fixture("alarm-aarch64-stock.conf"));
    let (_dir, conf) = scratch_copy(&stock);
    let add = run(
        &conf,
        &[
            "add-host",
            &fast.spec(2),
            &other.spec(5),
            "localhost/1",
            "--yes",
        ],
    );
    assert_eq!(add.code, 0, "{}", add.stderr);
    // The helpers here compile for this machine, not for the aarch64 config: say so.
    let r = sort_measure_once(&conf);
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    let vars = bash_vars(&[&conf]);
    let hosts = scalar_value(&vars["DISTCC_HOSTS"]);
    let mut tokens: Vec<&str> = hosts.split_whitespace().collect();
    tokens.sort();
    let mut expected = vec![fast.spec(2), other.spec(5), "localhost/1".to_string()];
    expected.sort();
    assert_eq!(tokens, expected, "every host kept");
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j8");
    // Without --expect-arch the x86-64 objects are wrong for aarch64: every helper fails and
    // is named, nothing is dropped.
    let r = run(&conf, &["sort", "--measure", "--runs", "1", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("failed the probe"), "{}", r.stderr);
    assert!(
        r.stdout
            .contains("target: CARCH=aarch64, objects for aarch64; 1 run(s) each"),
        "{}",
        r.stdout
    );
    let vars = bash_vars(&[&conf]);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"])
            .split_whitespace()
            .count(),
        3
    );
}

/// The stock aarch64 config from the corpus (the fixture when the corpus is absent).
fn stock_aarch64() -> PathBuf {
    corpus_files()
        .into_iter()
        .find(|p| p.ends_with("stock/alarm-7.1.0-aarch64.makepkg.conf"))
        .unwrap_or_else(|| fixture("alarm-aarch64-stock.conf"))
}

fn attempt<'a>(v: &'a serde_json::Value, compiler: &str) -> &'a serde_json::Value {
    v["hosts"][0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["compiler"] == compiler)
        .unwrap_or_else(|| panic!("no attempt with {compiler}: {v}"))
}

#[test]
fn real_cross_helpers_pass_for_aarch64_and_armv7h_and_soft_float_is_refused() {
    if let Some(why) = missing(&[AARCH64_GCC.1, ARMV7H_GCC.1]) {
        return skip("real_cross_helpers", &why);
    }
    let aarch64 = Helper::default()
        .serve(AARCH64_GCC.0, AARCH64_GCC.1)
        .start();
    let armhf = Helper::default().serve(ARMV7H_GCC.0, ARMV7H_GCC.1).start();
    let soft = Helper::default()
        .serve_with(ARMV7H_GCC.0, ARMV7H_GCC.1, "-mfloat-abi=soft")
        .start();

    let (_d, pi) = scratch_copy(&stock_aarch64());
    let (code, v, err) = probe_json(&pi, &[&aarch64.host_port()]);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(v["hosts"][0]["verdict"], "ok");
    let a = attempt(&v, AARCH64_GCC.0);
    assert_eq!(a["result"], "object", "{v}");
    assert_eq!(a["arch"], "aarch64", "{v}");
    // Only the cross name is whitelisted: the plain `gcc` is refused, which is reported but
    // does not fail a helper that compiles right with the name the Pi sends.
    assert_eq!(attempt(&v, "gcc")["result"], "rejected", "{v}");
    assert!(
        v["hosts"][0]["notes"].to_string().contains("that is fine"),
        "the --allow list is proven by the name that worked: {v}"
    );
    // The bare compile and the one with the stock CFLAGS ran there; C++ is not served by
    // this helper, which is a warning, not a failure.
    assert_eq!(
        aarch64.compiled_at_least(2).len(),
        2,
        "{}",
        aarch64.log_text()
    );
    assert_eq!(
        attempt(&v, "aarch64-unknown-linux-gnu-g++")["result"],
        "rejected",
        "{v}"
    );
    let problems = v["hosts"][0]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{v}");
    assert_eq!(problems[0]["severity"], "warning", "{v}");
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("C++ jobs fall back"),
        "{v}"
    );

    let dir = tempfile::tempdir().unwrap();
    let pi7 = config_with(
        dir.path(),
        "armv7h",
        "armv7l-unknown-linux-gnueabihf",
        "localhost/2",
    );
    let (code, v, err) = probe_json(&pi7, &[&armhf.host_port()]);
    assert_eq!(code, 0, "a right armv7h helper passes: {v} {err}");
    assert_eq!(attempt(&v, ARMV7H_GCC.0)["arch"], "arm (hard-float)", "{v}");

    let (code, v, _) = probe_json(&pi7, &[&soft.host_port()]);
    assert_eq!(code, 1, "soft-float objects cannot link on armv7h: {v}");
    let a = attempt(&v, ARMV7H_GCC.0);
    assert_eq!(a["arch"], "arm (soft-float)", "{v}");
    assert!(a["detail"].as_str().unwrap().contains("WRONG ARCH"), "{v}");

    // The aarch64 helper is wrong for the armv7h Pi: its name is not whitelisted there.
    let (code, _, _) = probe_json(&pi7, &[&aarch64.host_port()]);
    assert_eq!(code, 1);
}

/// sort --measure writes through the bash check too: a function called after the list
/// keeps bash's -j where it was, so what the measurement would write is refused.
#[test]
fn sort_measure_is_refused_when_bash_reads_something_else() {
    let a = Distccd::start("127.0.0.1");
    let b = Distccd::start("127.0.0.1");
    let (_dir, conf) = scratch_copy(&stock_aarch64());
    let add = run(&conf, &["add-host", &a.spec(2), &b.spec(5), "--yes"]);
    assert_eq!(add.code, 0, "{}", add.stderr);
    // -j off the slots in the file, and pinned there by a function called last.
    let text = std::fs::read_to_string(&conf)
        .unwrap()
        .replace("MAKEFLAGS=\"-j7\"", "MAKEFLAGS=\"-j3\"")
        + "pin() { MAKEFLAGS=\"-j3\"; }\npin\n";
    std::fs::write(&conf, &text).unwrap();
    let r = sort_measure_once(&conf);
    assert_eq!(r.code, 2, "{} {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("bash would read something else"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("bash reads -j3"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
}

/// One measured run per helper, written with --yes; the helpers here compile for this machine.
fn sort_measure_once(conf: &Path) -> Run {
    run(
        conf,
        &[
            "sort",
            "--measure",
            "--runs",
            "1",
            "--expect-arch",
            &native_arch(),
            "--yes",
        ],
    )
}

/// A copy of the stock aarch64 config listing one helper on 127.0.0.1 that compiles as the
/// Pi would (Debian's cross gcc and g++ behind ALARM's names); None (said) without them.
fn stock_pi_with_a_matching_helper(test: &str) -> Option<(Distccd, tempfile::TempDir, PathBuf)> {
    if let Some(why) = missing(&[AARCH64_GCC.1, AARCH64_GXX.1]) {
        skip(test, &why);
        return None;
    }
    let helper = Helper::default()
        .serve(AARCH64_GCC.0, AARCH64_GCC.1)
        .serve(AARCH64_GXX.0, AARCH64_GXX.1)
        .start();
    let (dir, pi) = scratch_copy(&stock_aarch64());
    let r = run(&pi, &["--yes", "add-host", &helper.spec(4)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    Some((helper, dir, pi))
}

/// toolchain-check in a terminal: what `run` (no terminal) gives, the pacman hook's case.
fn toolchain_check_in_a_terminal(conf: &Path) -> String {
    use expectrl::{Eof, Expect};
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_alarm-distcc"));
    cmd.arg("--config")
        .arg(conf)
        .arg("toolchain-check")
        .env("TERM", "linux")
        .env("NO_COLOR", "1");
    let mut s = expectrl::session::OsSession::spawn(cmd).unwrap();
    s.set_expect_timeout(Some(Duration::from_secs(30)));
    let mut told = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match std::io::Read::read(&mut s, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => told.extend_from_slice(&buf[..n]),
        }
    }
    let _ = s.expect(Eof);
    String::from_utf8_lossy(&told).into_owned()
}

#[test]
fn toolchain_check_says_what_it_checked_only_to_a_person_at_a_terminal() {
    let Some((helper, _d, pi)) = stock_pi_with_a_matching_helper("toolchain_check_in_a_terminal")
    else {
        return;
    };

    let probe = run(&pi, &["probe"]);
    assert_eq!(probe.code, 0, "{}", probe.stderr);
    assert!(
        probe
            .stdout
            .starts_with("target: CARCH=aarch64, objects for aarch64\n"),
        "{}",
        probe.stdout
    );
    // The table: its results in one column, last, after columns as wide as their cells.
    let header = probe
        .stdout
        .lines()
        .find(|l| l.starts_with("HOST "))
        .unwrap();
    assert!(header.ends_with(" RESULT"), "{}", probe.stdout);
    let at = header.len() - "RESULT".len();
    let rows: Vec<&str> = probe
        .stdout
        .lines()
        .filter(|l| l.starts_with(&helper.spec(4)))
        .collect();
    assert!(rows.len() >= 3, "{}", probe.stdout);
    for row in &rows {
        assert!(
            row.get(at - 1..at) == Some(" ") && row.get(at..at + 1) != Some(" "),
            "{row:?} has no result at column {at}:\n{}",
            probe.stdout
        );
    }
    assert!(
        rows.iter().any(|r| r[at..].starts_with("ok: aarch64")),
        "{}",
        probe.stdout
    );
    assert!(header.len() < 80, "{header:?}");

    // A helper that matches: silent for the hook, one line for a person.
    let quiet = run(&pi, &["toolchain-check"]);
    assert_eq!(
        (quiet.code, quiet.stdout.as_str()),
        (0, ""),
        "{}",
        quiet.stderr
    );
    let told = toolchain_check_in_a_terminal(&pi);
    assert!(
        told.contains("1 helper(s) checked: each still matches this machine's compiler"),
        "{told}"
    );
    assert!(
        helper.compiled_at_least(2).len() >= 2,
        "{}",
        helper.log_text()
    );

    // distcc off: nothing was checked, and the person is told why.
    let r = run(&pi, &["--yes", "disable"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(run(&pi, &["toolchain-check"]).stdout, "");
    let told = toolchain_check_in_a_terminal(&pi);
    assert!(
        told.contains("distcc is off in BUILDENV: no helper to check"),
        "{told}"
    );
    assert!(!told.contains("checked:"), "{told}");
}

/// doctor, like add-host and the wizard, says a helper on a loopback address is this machine.
#[test]
fn doctor_says_a_passing_loopback_helper_is_this_machine() {
    let Some((helper, _d, pi)) =
        stock_pi_with_a_matching_helper("doctor_says_a_passing_loopback_helper_is_this_machine")
    else {
        return;
    };
    let r = run(&pi, &["doctor"]);
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains(&helper.spec(4)))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(line.starts_with("ok "), "{}", r.stdout);
    assert!(
        line.contains("it is this machine itself (a loopback address)"),
        "{}",
        r.stdout
    );
}

/// A host list a layer computes (`$(cat FILE)`, as users keep one list for several
/// machines): probe, doctor, show and toolchain-check judge what bash reads from it, as
/// makepkg would get it, and name no command that would have to edit it.
#[test]
fn a_computed_host_list_is_judged_as_bash_reads_it() {
    let Some((helper, dir, pi)) = stock_pi_with_a_matching_helper("computed_host_list") else {
        return;
    };
    let list_file = dir.path().join("distcc-hosts");
    let list = format!("{} localhost/2", helper.spec(4));
    // A hosts file as users keep one: distcc skips its comments, and so does what is shown.
    std::fs::write(
        &list_file,
        format!("# helpers for this Pi\n#\n{list} # the desktop, then here\n"),
    )
    .unwrap();
    let text = std::fs::read_to_string(&pi).unwrap();
    let hosts_line = text
        .lines()
        .find(|l| l.starts_with("DISTCC_HOSTS="))
        .unwrap()
        .to_string();
    // -j off the 6 slots, so the -j check has something to say.
    let text = text
        .replace(
            &hosts_line,
            &format!(
                "DISTCC_HOSTS=\"$(cat {} 2>/dev/null)\"",
                list_file.display()
            ),
        )
        .replace("MAKEFLAGS=\"-j4\"", "MAKEFLAGS=\"-j3\"");
    std::fs::write(&pi, &text).unwrap();
    assert!(scalar_value(&bash_vars(&[&pi])["DISTCC_HOSTS"]).contains(&list));
    assert_eq!(scalar_value(&bash_vars(&[&pi])["MAKEFLAGS"]), "-j3");

    let show = run(&pi, &["show"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stdout
            .contains(&format!("bash reads it here as \"{list}\"")),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("total slots: 6"), "{}", show.stdout);
    assert!(
        show.stdout
            .contains("MISMATCH: -j3 but the hosts have 6 slots; sort cannot (the list is computed): write MAKEFLAGS=\"-j6\""),
        "{}",
        show.stdout
    );

    let (code, v, err) = probe_json(&pi, &[]);
    assert_eq!(code, 0, "{v} {err}");
    assert!(
        err.contains("bash reads it here as") && err.contains("probing those hosts"),
        "{err}"
    );
    assert_eq!(v["hosts"][0]["verdict"], "ok", "{v}");
    assert_eq!(v["hosts"].as_array().unwrap().len(), 2, "{v}");

    let doctor = run(&pi, &["doctor"]);
    assert!(
        doctor
            .stdout
            .contains("ok       DISTCC_HOSTS is computed at"),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor
            .stdout
            .contains(&format!("{} compiles for aarch64", helper.spec(4))),
        "the doctor probed the helper bash reads: {}",
        doctor.stdout
    );
    assert!(
        doctor.stdout.contains("fix: write MAKEFLAGS=\"-j6\""),
        "{}",
        doctor.stdout
    );
    assert!(!suggests(&doctor.stdout, "sort"), "{}", doctor.stdout);

    let told = toolchain_check_in_a_terminal(&pi);
    assert!(told.contains("1 helper(s) checked"), "{told}");

    // An edit of it is refused, with the plain line that keeps what bash reads.
    let line = text
        .lines()
        .position(|l| l.starts_with("DISTCC_HOSTS="))
        .unwrap()
        + 1;
    let add = run(&pi, &["add-host", "127.0.0.1:3999/2", "--yes"]);
    assert_eq!(add.code, 2, "{}", add.stderr);
    assert!(
        add.stderr.contains(&format!(
            "bash reads it here as \"{list}\": to keep that list, write DISTCC_HOSTS=\"{list}\" \
             in place of line {line}"
        )),
        "{}",
        add.stderr
    );
    assert_eq!(std::fs::read_to_string(&pi).unwrap(), text);

    // What show advises for such a list names no command that would refuse it.
    std::fs::write(&list_file, "127.0.0.1/4\n").unwrap();
    let show = run(&pi, &["show"]);
    assert!(
        show.stdout
            .contains("localhost/4 (write localhost/4 where the list is computed)"),
        "{}",
        show.stdout
    );
    std::fs::write(&list_file, "127.0.0.1:3632/4,zstd\n").unwrap();
    let show = run(&pi, &["show"]);
    assert!(
        show.stdout.contains(&format!(
            "makes distcc ignore the whole list; remove it from what the list is computed from \
             (line {line})"
        )),
        "{}",
        show.stdout
    );
    assert!(!show.stdout.contains("alarm-distcc"), "{}", show.stdout);

    // A list bash reads no host from: said so, nothing probed.
    std::fs::write(&list_file, "").unwrap();
    let probe = run(&pi, &["probe"]);
    assert_eq!(probe.code, 2, "{}", probe.stderr);
    assert!(
        probe.stderr.contains("bash reads no host from it here"),
        "{}",
        probe.stderr
    );
    let doctor = run(&pi, &["doctor", "--offline"]);
    assert!(
        doctor
            .stdout
            .contains("warning  DISTCC_HOSTS is computed at")
            && doctor.stdout.contains("bash reads no host from it here"),
        "{}",
        doctor.stdout
    );
    // A config bash cannot read: its reason, not a guess at the hosts.
    let (_broken_dir, broken) = scratch_copy(&pi);
    let broken_text = std::fs::read_to_string(&broken).unwrap() + "if then\n";
    std::fs::write(&broken, &broken_text).unwrap();
    let probe = run(&broken, &["probe"]);
    assert_eq!(probe.code, 2, "{}", probe.stderr);
    assert!(
        probe.stderr.contains("and bash cannot read the config")
            && probe.stderr.contains("syntax error near unexpected token"),
        "{}",
        probe.stderr
    );
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), broken_text);

    // No bash to run (a system that keeps it elsewhere, named wrongly): said, never guessed.
    std::fs::write(&list_file, format!("{list}\n")).unwrap();
    let without_bash = |args: &[&str]| -> Run {
        bin()
            .env("ALARM_DISTCC_BASH", dir.path().join("no-such-bash"))
            .arg("--config")
            .arg(&pi)
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    let connections = || helper.log_text().matches("connection from").count();
    let before = connections();
    let probe = without_bash(&["probe"]);
    assert_eq!(probe.code, 2, "{}", probe.stderr);
    assert!(
        probe
            .stderr
            .contains("and bash could not be run here; name the hosts to probe"),
        "{}",
        probe.stderr
    );
    assert_eq!(connections(), before, "nothing is probed on a guess");
    let show = without_bash(&["show"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stderr
            .contains("note: bash could not be run here, so this is the static reading only"),
        "{}",
        show.stderr
    );
    assert!(
        !show.stdout.contains("bash reads it here"),
        "{}",
        show.stdout
    );
    let doctor = without_bash(&["doctor", "--offline"]);
    assert!(
        doctor
            .stdout
            .contains("bash could not be run here: the config was read statically only"),
        "{}",
        doctor.stdout
    );

    // The edits still refuse a computed list, the file untouched.
    let add = run(&pi, &["add-host", "127.0.0.1:3999/2", "--yes"]);
    assert_eq!(add.code, 2, "{}", add.stderr);
    assert_eq!(std::fs::read_to_string(&pi).unwrap(), text);
}

/// probe in a terminal: one row an attempt with its host where that fits; on a Pi's
/// 80-column console, each host a heading with its attempts under it, each result on its
/// row. Piped, the one-row layout always.
#[test]
fn probe_groups_its_rows_by_host_on_an_80_column_console() {
    let Some((helper, _d, pi)) =
        stock_pi_with_a_matching_helper("probe_groups_its_rows_by_host_on_an_80_column_console")
    else {
        return;
    };
    let spec = helper.spec(4);
    let in_columns =
        |columns: u16| on_console("linux", columns, &pi, &["probe"], Duration::from_secs(60));
    let one_row_layout = |text: &str| {
        assert!(text.lines().any(|l| l.starts_with("HOST ")), "{text}");
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{spec} bare"))
                && l.contains("aarch64-unknown-linux-gnu-gcc")
                && l.contains("ok: aarch64")),
            "{text}"
        );
    };
    let piped = run(&pi, &["probe"]);
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    one_row_layout(&piped.stdout);
    assert!(
        piped.stdout.lines().any(|l| l.chars().count() > 80),
        "the one-row layout fits 80 columns; nothing to test: {}",
        piped.stdout
    );
    one_row_layout(&in_columns(200));

    let narrow = in_columns(80);
    for line in narrow.lines() {
        assert!(line.chars().count() <= 80, "{line:?} in:\n{narrow}");
    }
    assert!(!narrow.lines().any(|l| l.starts_with("HOST ")), "{narrow}");
    assert!(
        narrow
            .lines()
            .any(|l| l.starts_with(&format!("{spec}  connect ")) && l.ends_with(" ms")),
        "{narrow}"
    );
    for job in ["bare  ", "CFLAGS", "C++   "] {
        assert!(
            narrow.lines().any(
                |l| l.starts_with(&format!("  {job} aarch64-unknown-linux-gnu-g"))
                    && l.contains("ok: aarch64")
            ),
            "{job}: {narrow}"
        );
    }
}

/// sort --measure's compile on this machine has the same time bound as the helpers': a `cc`
/// that hangs is ended with what it started, and the note says why this machine has no time.
#[test]
fn sort_measure_bounds_this_machines_compile_too() {
    use std::os::unix::fs::PermissionsExt;
    let helper = Distccd::start("127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let conf = config_with(
        dir.path(),
        &native_arch(),
        "x86_64-pc-linux-gnu",
        &format!("{} localhost/2", helper.spec(4)),
    );
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    let pids = dir.path().join("pids");
    let cc = bin_dir.join("cc");
    std::fs::write(
        &cc,
        format!(
            "#!/bin/sh\nsleep 60 & echo $! >> '{}'; wait\n",
            pids.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = Instant::now();
    let out = bin()
        .env("PATH", path_with(&bin_dir))
        .arg("--config")
        .arg(&conf)
        .args(["sort", "--measure", "--runs", "1", "--timeout", "5"])
        .args(["--expect-arch", &native_arch(), "--dry-run"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "the hanging cc was waited for: {:?}",
        started.elapsed()
    );
    assert!(
        err.contains(
            "this machine could not be timed: `cc` is missing, failed, or ran past --timeout"
        ),
        "{err}"
    );
    let pids = std::fs::read_to_string(&pids).unwrap_or_default();
    assert!(!pids.trim().is_empty(), "the hanging cc never ran: {err}");
    std::thread::sleep(Duration::from_millis(200));
    for pid in pids.lines() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        assert!(
            state.is_empty() || state.starts_with('Z'),
            "the hanging cc's child {pid} outlived sort --measure"
        );
    }
}

/// A compiler name with a control character in it (given with --compiler) is shown escaped,
/// and the table's columns are measured on what is shown: each row's RESULT starts under
/// the header's.
#[test]
fn an_escaped_compiler_name_keeps_the_probe_table_in_columns() {
    let Some((_helper, _d, pi)) = stock_pi_with_a_matching_helper(
        "an_escaped_compiler_name_keeps_the_probe_table_in_columns",
    ) else {
        return;
    };
    let r = run(&pi, &["probe", "--compiler", "\x1b[1mx-gcc"]);
    assert!(!r.stdout.contains('\x1b'), "{}", r.stdout);
    assert!(r.stdout.contains("\\x1b[1mx-gcc"), "{}", r.stdout);
    let header = r
        .stdout
        .lines()
        .find(|l| l.starts_with("HOST "))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    let result_at = header.find("RESULT").unwrap();
    let rows: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("127.0.0.1:"))
        .collect();
    assert!(!rows.is_empty(), "{}", r.stdout);
    for row in rows {
        assert!(
            row.len() > result_at
                && row.as_bytes()[result_at - 1] == b' '
                && row.as_bytes()[result_at] != b' ',
            "{row:?} is not in columns under:\n{header}\n{}",
            r.stdout
        );
    }
}
