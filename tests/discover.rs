//! `discover` and the wizard's search against real daemons on loopback addresses: all of
//! 127.0.0.0/8 is this machine, so 127.0.0.5 is a second "machine". Never anything else.

mod common;

use common::distccd::*;
use common::*;
use expectrl::Expect;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn stock_aarch64() -> PathBuf {
    corpus_files()
        .into_iter()
        .find(|p| p.ends_with("stock/alarm-7.1.0-aarch64.makepkg.conf"))
        .unwrap_or_else(|| fixture("alarm-aarch64-stock.conf"))
}

/// A right aarch64 helper, a native x86_64 distccd, and a listener that never answers. The
/// addresses are fixed, so the tests that use them take turns.
struct Lan {
    _right: Distccd,
    _native: Distccd,
    _silent: TcpListener,
    // Last: fields drop in order, so the turn passes on once the daemons are gone.
    _turn: std::sync::MutexGuard<'static, ()>,
}

fn lan() -> Option<Lan> {
    if let Some(why) = missing(&["distccd", AARCH64_GCC.1]) {
        skip("discover", &why);
        return None;
    }
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    Some(Lan {
        _turn: turn,
        _right: Helper::default()
            .listen("127.0.0.5")
            .port(3636)
            .serve(AARCH64_GCC.0, AARCH64_GCC.1)
            .start(),
        _native: Helper::default().listen("127.0.0.9").port(3632).start(),
        // The kernel completes the handshake; nobody ever reads or answers.
        _silent: TcpListener::bind("127.0.0.12:3636").unwrap(),
    })
}

/// `discover --add` over the test network.
const ADD: &[&str] = &[
    "discover",
    "--subnet",
    "127.0.0.0/27",
    "--timeout",
    "1",
    "--add",
];

fn discover_json(conf: &std::path::Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut args = vec![
        "discover",
        "--subnet",
        "127.0.0.0/27",
        "--timeout",
        "1",
        "--json",
    ];
    args.extend_from_slice(extra);
    let r = run(conf, &args);
    let v = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", r.stdout, r.stderr));
    (r.code, v, r.stderr)
}

#[test]
fn finds_each_daemon_with_its_verdict_and_adds_only_the_usable_one() {
    let Some(_lan) = lan() else { return };
    let (_d, conf) = scratch_copy(&stock_aarch64());
    let start = Instant::now();
    let (code, v, err) = discover_json(&conf, &[]);
    let took = start.elapsed();
    assert_eq!(code, 0, "{err}");
    let helpers = v["helpers"].as_array().unwrap();
    let seen: Vec<(String, u64, String, bool)> = helpers
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_string(),
                h["port"].as_u64().unwrap(),
                h["verdict"].as_str().unwrap().to_string(),
                h["usable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("127.0.0.5".to_string(), 3636, "usable".to_string(), true),
            (
                "127.0.0.9".to_string(),
                3632,
                "wrong_arch".to_string(),
                false
            ),
            ("127.0.0.12".to_string(), 3636, "silent".to_string(), false),
        ],
        "{v}"
    );
    assert!(helpers.iter().all(|h| h["listed"] == false), "{v}");
    // The silent one costs a probe timeout, not more.
    assert!(took < Duration::from_secs(15), "took {took:?}");
    // Networks given as arguments (as a person types them) are scanned as --subnet ones.
    let r = run(
        &conf,
        &[
            "discover",
            "127.0.0.0/29",
            "127.0.0.8/29",
            "--timeout",
            "1",
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let by_argument: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(by_argument["helpers"], v["helpers"], "{}", r.stdout);

    let r = run(&conf, &[ADD, &["--yes"]].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("usable"), "{}", r.stdout);
    assert!(
        r.stderr.contains(
            "adding 127.0.0.5:3636/4 (4 slots: give a helper its own count with add-host"
        ),
        "{}",
        r.stderr
    );
    // Loopback answers are this machine's own daemons, and the table says so.
    assert!(
        r.stderr.contains("note: 127.0.0.0/8 is this machine"),
        "{}",
        r.stderr
    );
    let vars = bash_vars(&[&conf]);
    assert_eq!(scalar_value(&vars["DISTCC_HOSTS"]), "127.0.0.5:3636/4");
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j4");
    assert_eq!(array_values(&vars["BUILDENV"])[0], "distcc");

    // Now it is listed, and --add has nothing more to add.
    let (_, v, _) = discover_json(&conf, &[]);
    assert_eq!(v["helpers"][0]["listed"], true, "{v}");
    let before = std::fs::read(&conf).unwrap();
    let r = run(&conf, &[ADD, &["--yes"]].concat());
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("nothing to add"), "{}", r.stderr);
    assert_eq!(std::fs::read(&conf).unwrap(), before);
}

/// discover --add writes through the bash check: a function called last that empties the
/// list makes the addition meaningless, so it is refused and the file left as it was.
#[test]
fn discover_add_is_refused_when_bash_reads_something_else() {
    let Some(_lan) = lan() else { return };
    let (_d, conf) = scratch_copy(&stock_aarch64());
    let text = std::fs::read_to_string(&conf).unwrap() + "pin() { DISTCC_HOSTS=\"\"; }\npin\n";
    std::fs::write(&conf, &text).unwrap();
    let r = run(&conf, &[ADD, &["--yes"]].concat());
    assert_eq!(r.code, 2, "{} {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("bash would read something else"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
}

#[test]
fn only_private_networks_unless_said_public() {
    let (_d, conf) = scratch_copy(&stock_aarch64());
    // Refused before any traffic: nothing listens there for the test, nothing is sent.
    let r = run(&conf, &["discover", "--subnet", "8.8.8.0/24"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--public"), "{}", r.stderr);
    let r = run(&conf, &["discover", "8.8.8.0/24"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--public"), "{}", r.stderr);
    let r = run(
        &conf,
        &["discover", "--subnet", "127.0.0.0/27", "--port", "0"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(&conf, &["wizard", "--subnet", "8.8.8.0/24"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(&conf, &["discover", "--subnet", "10.0.0.0/8"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("/16 or smaller"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("searching"),
        "refused before any traffic"
    );
    // --add on a file the tool will not edit: refused, before the search, file untouched.
    let (_d, computed) = scratch_copy(&fixture("refuse/hosts-computed.conf"));
    let before = std::fs::read(&computed).unwrap();
    let r = run(
        &computed,
        &[
            "discover",
            "--subnet",
            "127.0.0.0/30",
            "--timeout",
            "1",
            "--add",
            "--yes",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("computed"), "{}", r.stderr);
    assert!(!r.stderr.contains("searching"), "{}", r.stderr);
    assert_eq!(std::fs::read(&computed).unwrap(), before);
}

/// Counts the connections a loopback listener gets, until dropped.
struct Counter {
    count: Arc<AtomicUsize>,
    port: u16,
}

fn counter(addr: &str) -> Counter {
    let listener = TcpListener::bind(addr).unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for c in listener.incoming() {
            if c.is_ok() {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    Counter { count, port }
}

/// The wizard in a pseudo-terminal, searching only where `search` says.
fn wizard(conf: &std::path::Path, search: &[&str]) -> expectrl::session::OsSession {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_alarm-distcc"));
    cmd.arg("--config")
        .arg(conf)
        .args(["wizard", "--timeout", "1"])
        .args(search)
        .env("HOME", "/nonexistent-alarm-distcc-home")
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let mut s = expectrl::session::OsSession::spawn(cmd).unwrap();
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s
}

#[test]
fn the_wizard_offers_what_it_finds_and_scans_nothing_else() {
    let Some(_lan) = lan() else { return };
    let (_d, conf) = scratch_copy(&stock_aarch64());
    let mut s = wizard(&conf, &["--subnet", "127.0.0.0/27"]);
    s.expect("Slots for this machine").unwrap();
    s.send("2\r").unwrap();
    s.expect("Search the network for helpers (").unwrap();
    s.send("y\r").unwrap();
    s.expect("Helpers to use").unwrap();
    // The usable one starts picked: Enter takes it.
    s.expect("[x] 127.0.0.5:3636").unwrap();
    s.expect("usable").unwrap();
    s.send("\r").unwrap();
    s.expect("Slots for 127.0.0.5:3636").unwrap();
    s.send("6\r").unwrap();
    s.expect("Add another helper?").unwrap();
    s.send("n\r").unwrap();
    s.expect("Write ").unwrap();
    s.send("y\r").unwrap();
    s.expect(expectrl::Eof).unwrap();
    let vars = bash_vars(&[&conf]);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        "127.0.0.5:3636/6 localhost/2"
    );

    // Bounds: a listener inside the given subnet is reached, one just outside never is.
    let inside = counter("127.0.0.33:0");
    let outside = counter(&format!("127.0.0.40:{}", inside.port));
    let port = inside.port.to_string();
    let (_d2, conf2) = scratch_copy(&stock_aarch64());
    let mut s = wizard(&conf2, &["--subnet", "127.0.0.32/29", "--port", &port]);
    s.expect("Slots for this machine").unwrap();
    s.send("0\r").unwrap();
    s.expect("Search the network for helpers (").unwrap();
    s.send("y\r").unwrap();
    s.expect("Helpers to use").unwrap();
    s.expect("127.0.0.33").unwrap();
    s.send("\x1b").unwrap();
    s.expect(expectrl::Eof).unwrap();
    assert!(inside.count.load(Ordering::SeqCst) >= 1, "the scan ran");
    assert_eq!(
        outside.count.load(Ordering::SeqCst),
        0,
        "scanned beyond its subnet"
    );
}

/// Addresses that never answer the handshake (a listener with a full backlog on each) cost
/// one --timeout for the whole sweep, not one per address: the connects run at once.
#[test]
fn silent_addresses_cost_one_timeout_in_all() {
    use std::net::TcpStream;
    let first = TcpListener::bind("127.0.1.1:0").unwrap();
    let port = first.local_addr().unwrap().port();
    let mut held = vec![];
    let mut listeners = vec![first];
    for i in 2..=62 {
        listeners.push(TcpListener::bind(format!("127.0.1.{i}:{port}")).unwrap());
    }
    for l in &listeners {
        // Backlog 0 (std listens with 128): one connection fills it, the next ones hang.
        // SAFETY: listen(2) on a valid, bound socket.
        unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(l), 0) };
        held.push(TcpStream::connect(l.local_addr().unwrap()).unwrap());
    }
    let (_d, conf) = scratch_copy(&stock_aarch64());
    let start = Instant::now();
    let r = run(
        &conf,
        &[
            "discover",
            "--subnet",
            "127.0.1.0/26",
            "--port",
            &port.to_string(),
            "--timeout",
            "1",
            "--json",
        ],
    );
    let took = start.elapsed();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["helpers"].as_array().unwrap().len(), 0, "{v}");
    assert!(
        took < Duration::from_secs(10),
        "62 silent addresses took {took:?}"
    );
}

/// On a Pi's 80-column console (here 60) the table's columns are as wide as what they hold,
/// and a verdict longer than the line continues under its own column, not at the edge.
#[test]
fn the_table_fits_a_narrow_console() {
    let Some(_lan) = lan() else { return };
    let (_dir, conf) = scratch_copy(&stock_aarch64());
    let all = on_console(
        "linux",
        60,
        &conf,
        &["discover", "--subnet", "127.0.0.0/27", "--timeout", "1"],
        Duration::from_secs(60),
    );
    let shown: Vec<String> = all.lines().map(str::to_string).collect();
    let header = shown
        .iter()
        .position(|l| l.starts_with("HELPER"))
        .unwrap_or_else(|| panic!("no table:\n{all}"));
    let verdict_at = shown[header].find("VERDICT").unwrap();
    let table: Vec<&String> = shown[header..]
        .iter()
        .take_while(|l| !l.starts_with("why ") && !l.starts_with("note:"))
        .collect();
    for line in &table {
        assert!(line.chars().count() <= 60, "{line:?} in:\n{all}");
    }
    // The silent listener's verdict is longer than its room: continued under VERDICT.
    let silent = table
        .iter()
        .position(|l| l.starts_with("127.0.0.12:3636"))
        .unwrap_or_else(|| panic!("{all}"));
    let next = table.get(silent + 1).unwrap_or_else(|| panic!("{all}"));
    assert!(
        next[..verdict_at].trim().is_empty() && !next[verdict_at..].starts_with(' '),
        "{next:?} in:\n{all}"
    );
    assert!(
        format!("{} {}", table[silent], next.trim())
            .contains("accepts connections, no answer within --timeout"),
        "{all}"
    );
}
