//! The wizard driven through a real pseudo-terminal, end to end.
//! Helper addresses are loopback ones; the probe, where on, only reaches 127.0.0.1.

mod common;

use common::distccd::*;
use common::*;
use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession as Session;
use expectrl::{Eof, Expect};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const DOWN: &str = "\x1b[B";

/// The wizard on `conf`, as every test here runs it: no user's files or exported values.
fn wizard_command(conf: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alarm-distcc"));
    // Always a loopback subnet: a search never leaves this machine, even by a stray Enter.
    cmd.arg("--config")
        .arg(conf)
        .arg("wizard")
        .args(["--subnet", "127.0.0.248/29"])
        .args(extra);
    cmd.env("HOME", "/nonexistent-alarm-distcc-home")
        .env_remove("MAKEPKG_CONF")
        .env_remove("SUDO_USER")
        .env_remove("MAKEFLAGS")
        .env_remove("DISTCC_HOSTS")
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    cmd
}

fn spawn(conf: &Path, extra: &[&str]) -> Session {
    spawn_in_columns(200, &wizard_command(conf, extra))
}

fn exit_code(mut s: Session) -> i32 {
    let _ = s.expect(Eof);
    match s.get_process().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("wizard did not exit normally: {other:?}"),
    }
}

fn answer(s: &mut Session, prompt: &str, keys: &str) {
    s.expect(prompt)
        .unwrap_or_else(|e| panic!("waiting for {prompt:?}: {e}"));
    s.send(keys).unwrap();
}

#[test]
fn happy_path_on_a_stock_config() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let mut s = spawn(&conf, &["--no-probe"]);
    s.expect("Building for: aarch64").unwrap();
    answer(&mut s, "Slots for this machine", "2\r");
    answer(&mut s, "Add a helper?", "y\r");
    // `y` and Enter answer one question: the Enter does not reach the next one.
    let asked = s.expect("Helper address").unwrap();
    assert!(
        !String::from_utf8_lossy(asked.before()).contains("needed"),
        "{}",
        String::from_utf8_lossy(asked.before())
    );
    s.send("127.0.0.2\r").unwrap();
    let next = s.expect("Port [3636]").unwrap();
    assert!(
        !String::from_utf8_lossy(next.before()).contains("an address is needed"),
        "the Enter after y leaked: {}",
        String::from_utf8_lossy(next.before())
    );
    s.send("\r").unwrap();
    answer(&mut s, "Slots (compile jobs", "6\r");
    answer(&mut s, "Add another helper?", "n\r");
    s.expect("DISTCC_HOSTS=\"127.0.0.2:3636/6 localhost/2\", MAKEFLAGS -j8")
        .unwrap();
    s.expect("+BUILDENV=(distcc color !ccache check !sign)")
        .unwrap();
    answer(&mut s, "Write ", "y\r");
    s.expect("Next, on 127.0.0.2:3636/6:").unwrap();
    // distccd-alarm's armv8 port: the script's own default, so no --port.
    let script = s.expect("> distccd-armv8.sh").unwrap();
    let script = String::from_utf8_lossy(script.before()).into_owned();
    assert!(
        script.contains("alarm-distcc helper --arch armv8") && !script.contains("--port"),
        "{script}"
    );
    // The seed's WSL laptop: the Windows side is named too.
    s.expect("WSL2").unwrap();
    s.expect("--format powershell > wsl-distcc.ps1").unwrap();
    assert_eq!(exit_code(s), 0);

    let vars = bash_vars(&[&conf]);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        "127.0.0.2:3636/6 localhost/2"
    );
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j8");
    assert_eq!(array_values(&vars["BUILDENV"])[0], "distcc");
}

#[test]
fn invalid_host_is_explained_and_asked_again() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let mut s = spawn(&conf, &["--no-probe"]);
    answer(&mut s, "Slots for this machine", "0\r");
    answer(&mut s, "Add a helper?", "y\r");
    answer(&mut s, "Helper address", "192.168.1.300\r");
    s.expect("not a valid IPv4 address").unwrap();
    answer(&mut s, "Helper address", "127.0.0.3\r");
    answer(&mut s, "Port [3636]", "99999\r");
    s.expect("not a whole number from 1 to 65535").unwrap();
    answer(&mut s, "Port [3636]", "\r");
    answer(&mut s, "Slots (compile jobs", "\r");
    answer(&mut s, "Add another helper?", "n\r");
    answer(&mut s, "Write ", "y\r");
    assert_eq!(exit_code(s), 0);
    let vars = bash_vars(&[&conf]);
    assert_eq!(scalar_value(&vars["DISTCC_HOSTS"]), "127.0.0.3:3636/4");
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j4");
}

#[test]
fn existing_helper_removed() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(
        &conf,
        "CARCH=\"aarch64\"\nMAKEFLAGS=\"-j6\"\nBUILDENV=(distcc color check)\n\
         DISTCC_HOSTS=\"127.0.0.4:3636/4 localhost/2\"\n",
    )
    .unwrap();
    let mut s = spawn(&conf, &["--no-probe"]);
    answer(&mut s, "Slots for this machine (0 leaves it out) [2]", "\r");
    answer(
        &mut s,
        "Helper 127.0.0.4:3636/4",
        &format!("{DOWN}{DOWN}\r"),
    );
    s.expect("removed 127.0.0.4:3636/4").unwrap();
    answer(&mut s, "Add a helper?", "n\r");
    answer(&mut s, "Write ", "y\r");
    assert_eq!(exit_code(s), 0);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("DISTCC_HOSTS=\"localhost/2\"\n"), "{text}");
    assert!(text.contains("MAKEFLAGS=\"-j2\"\n"), "{text}");
}

#[test]
fn cancel_anywhere_leaves_the_file_byte_identical() {
    for (keys, code) in [("\x03", 130), ("\x1b", 1)] {
        let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
        let original = std::fs::read(&conf).unwrap();
        let mut s = spawn(&conf, &["--no-probe"]);
        answer(&mut s, "Slots for this machine", "2\r");
        answer(&mut s, "Add a helper?", "y\r");
        answer(&mut s, "Helper address", "127.0.0.2\r");
        answer(&mut s, "Port", keys);
        s.expect("cancelled").unwrap();
        assert_eq!(exit_code(s), code, "keys {keys:?}");
        assert_eq!(std::fs::read(&conf).unwrap(), original);
        assert_eq!(
            std::fs::read_dir(conf.parent().unwrap()).unwrap().count(),
            1
        );
    }
    // At a yes/no question too: Esc and Ctrl-C end the wizard at once, no Enter after them
    // (dialoguer's question only changed its prompt on an Esc). An answer that is neither yes
    // nor no is asked again.
    for (keys, code) in [("\x03", 130), ("\x1b", 1)] {
        let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
        let original = std::fs::read(&conf).unwrap();
        let mut s = spawn(&conf, &["--no-probe"]);
        answer(&mut s, "Slots for this machine", "2\r");
        answer(&mut s, "Add a helper? [Y/n] ", "x\r");
        answer(&mut s, "Add a helper? [Y/n] ", keys);
        s.expect("cancelled").unwrap();
        assert_eq!(exit_code(s), code, "keys {keys:?}");
        assert_eq!(std::fs::read(&conf).unwrap(), original);
    }
    // Esc at the final confirm, too.
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let original = std::fs::read(&conf).unwrap();
    let mut s = spawn(&conf, &["--no-probe"]);
    answer(&mut s, "Slots for this machine", "2\r");
    answer(&mut s, "Add a helper?", "n\r");
    // Ctrl-D (end of input) at the final confirm is a no, too.
    answer(&mut s, "Write ", "\x04");
    assert_ne!(exit_code(s), 0);
    assert_eq!(std::fs::read(&conf).unwrap(), original);
}

/// A host list only the environment gives is said to come from there, and what it holds
/// reaches the terminal escaped (an escape sequence in it was written raw).
#[test]
fn an_exported_host_list_is_named_and_escaped() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let original = std::fs::read(&conf).unwrap();
    let mut cmd = wizard_command(&conf, &["--no-probe"]);
    cmd.env("DISTCC_HOSTS", "127.0.0.3:3632/4 x\x1b[7mINV");
    let mut s = spawn_in_columns(200, &cmd);
    let said = s.expect("(from the environment: no file sets it)").unwrap();
    let said = String::from_utf8_lossy(said.before()).into_owned();
    assert!(said.contains("x\\x1b[7mINV"), "{said:?}");
    assert!(!said.contains("\x1b[7m"), "{said:?}");
    answer(&mut s, "Slots for this machine", "\x1b");
    assert_ne!(exit_code(s), 0);
    assert_eq!(std::fs::read(&conf).unwrap(), original);
}

#[test]
fn dry_run_walks_everything_and_writes_nothing() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let original = std::fs::read(&conf).unwrap();
    let mut s = spawn(&conf, &["--no-probe", "--dry-run"]);
    answer(&mut s, "Slots for this machine", "2\r");
    answer(&mut s, "Add a helper?", "y\r");
    answer(&mut s, "Helper address", "127.0.0.2\r");
    answer(&mut s, "Port", "\r");
    answer(&mut s, "Slots (compile jobs", "6\r");
    answer(&mut s, "Add another helper?", "n\r");
    s.expect("+DISTCC_HOSTS=\"127.0.0.2:3636/6 localhost/2\"")
        .unwrap();
    s.expect("dry run").unwrap();
    assert_eq!(exit_code(s), 0);
    assert_eq!(std::fs::read(&conf).unwrap(), original);
}

#[test]
fn each_helper_is_probed_as_entered() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let original = std::fs::read(&conf).unwrap();
    let mut s = spawn(&conf, &["--timeout", "1"]);
    answer(&mut s, "Slots for this machine", "2\r");
    answer(&mut s, "Search the network for helpers (", "n\r");
    answer(&mut s, "Add a helper?", "y\r");
    answer(&mut s, "Helper address", "127.0.0.1\r");
    answer(&mut s, "Port", &format!("{dead}\r"));
    answer(&mut s, "Slots (compile jobs", "\r");
    s.expect("not usable yet").unwrap();
    s.expect("nothing listens").unwrap();
    answer(&mut s, "Keep this helper anyway?", "n\r");
    answer(&mut s, "Add a helper?", "n\r");
    answer(&mut s, "Write ", "n\r");
    assert_eq!(exit_code(s), 1);
    assert_eq!(std::fs::read(&conf).unwrap(), original);
}

#[test]
fn without_a_terminal_it_points_to_the_commands() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let original = std::fs::read(&conf).unwrap();
    let r = run(&conf, &["wizard"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("add-host") && r.stderr.contains("set-local"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&conf).unwrap(), original);
}

/// The wizard as user nobody (uid and gid 65534, no other group), against a file root made.
fn spawn_as_nobody(conf: &Path) -> Session {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(tool_for_any_user())
        .arg("--config")
        .arg(conf)
        .args(["wizard", "--no-probe", "--subnet", "127.0.0.248/29"])
        .env("HOME", "/nonexistent")
        .env("TERM", "xterm");
    let mut s = Session::spawn(cmd).unwrap();
    s.set_expect_timeout(Some(Duration::from_secs(15)));
    s
}

#[test]
fn permission_denied_at_the_end_gives_the_sudo_command() {
    if !is_root() {
        return skip(
            "permission_denied_at_the_end_gives_the_sudo_command",
            "needs root to run the wizard as another user against root's file",
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::copy(fixture("alarm-aarch64-stock.conf"), &conf).unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let original = std::fs::read(&conf).unwrap();
    let mut s = spawn_as_nobody(&conf);
    // Said before the first question, not after the last.
    let seen = s.expect("permission denied").unwrap();
    assert!(
        !String::from_utf8_lossy(seen.before()).contains("Slots for this machine"),
        "asked first"
    );
    s.expect(
        format!(
            "sudo alarm-distcc --config {} wizard --no-probe",
            conf.display()
        )
        .as_str(),
    )
    .unwrap();
    assert_eq!(exit_code(s), 1);
    assert_eq!(std::fs::read(&conf).unwrap(), original);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// A file the user may write but whose group they cannot give its replacement (theirs, group
/// root, as a copy made with sudo is): the wizard says so before the first question, with the
/// chgrp that fixes it, instead of failing after the last answer.
#[test]
fn an_owner_it_cannot_keep_is_said_before_the_first_question() {
    if !is_root() {
        return skip(
            "an_owner_it_cannot_keep_is_said_before_the_first_question",
            "needs root to give the file a group its user is not in",
        );
    }
    use std::os::unix::fs::{PermissionsExt, chown};
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::copy(fixture("alarm-aarch64-stock.conf"), &conf).unwrap();
    // Folder and file belong to nobody; the file's group stays root.
    chown(dir.path(), Some(65534), Some(65534)).unwrap();
    chown(&conf, Some(65534), Some(0)).unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let original = std::fs::read(&conf).unwrap();
    let mut s = spawn_as_nobody(&conf);
    let group = Command::new("getent")
        .args(["group", "65534"])
        .output()
        .unwrap();
    let group = String::from_utf8_lossy(&group.stdout)
        .split(':')
        .next()
        .filter(|name| !name.is_empty())
        .unwrap_or("65534")
        .to_string();
    let said = s.expect(Eof).unwrap();
    // The words as one line, whatever the terminal's width broke them into.
    let said = words(&String::from_utf8_lossy(said.as_bytes()));
    assert!(
        !said.contains("Slots for this machine"),
        "asked first: {said}"
    );
    assert!(
        said.contains("only root can give its replacement that owner and group")
            && said.contains(&format!("(chgrp {group} {})", conf.display())),
        "{said}"
    );
    assert_eq!(exit_code(s), 1);
    assert_eq!(std::fs::read(&conf).unwrap(), original);
}

/// Finding 13: a pasted HOST:PORT/SLOTS answers the port and slots; this machine as a
/// helper is pointed out; a helper kept although its check failed is recalled at the end,
/// with how to set it up on the port it was entered with, and `alarm-distcc probe` (once)
/// as the step after; each cause of a failed check on its own line.
#[test]
fn pasted_spec_kept_failure_and_next_steps() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let mut s = spawn(&conf, &["--timeout", "1"]);
    answer(&mut s, "Slots for this machine", "2\r");
    answer(&mut s, "Search the network for helpers (", "n\r");
    answer(&mut s, "Add a helper?", "y\r");
    answer(&mut s, "Helper address", &format!("127.0.0.1:{dead}/6\r"));
    s.expect("is this machine, not a helper").unwrap();
    // No port or slots question: straight to the check.
    s.expect("not usable yet:").unwrap();
    s.expect(format!("\r\n  - nothing listens on 127.0.0.1:{dead}").as_str())
        .unwrap();
    answer(&mut s, "Keep this helper anyway?", "y\r");
    answer(&mut s, "Add another helper?", "n\r");
    s.expect(format!("DISTCC_HOSTS=\"127.0.0.1:{dead}/6 localhost/2\"").as_str())
        .unwrap();
    answer(&mut s, "Write ", "y\r");
    let after_write = s
        .expect(format!("Kept although its check failed: 127.0.0.1:{dead}/6").as_str())
        .unwrap();
    // probe is named once, after the helpers' set-up: not also by the edit's own `next:`.
    let after_write = String::from_utf8_lossy(after_write.before()).to_string();
    assert!(
        after_write.contains("wrote ") && !after_write.contains("next: "),
        "{after_write}"
    );
    // Then how to set it up, ending with the probe that checks it, named once.
    s.expect(format!("Next, on 127.0.0.1:{dead}/6:").as_str())
        .unwrap();
    s.expect(format!("--port {dead} > distccd-armv8.sh").as_str())
        .unwrap();
    let rest = s.expect(Eof).unwrap();
    let rest = String::from_utf8_lossy(rest.as_bytes()).into_owned();
    let probe = format!("alarm-distcc --config {} probe", conf.display());
    assert_eq!(rest.matches(&probe).count(), 1, "{rest}");
    assert!(
        rest.find("Then check from here") < rest.find(&probe),
        "{rest}"
    );
    assert_eq!(exit_code(s), 0);
    let vars = bash_vars(&[&conf]);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        format!("127.0.0.1:{dead}/6 localhost/2")
    );
}

/// The wizard's write goes through the bash check: a function called last that turns distcc
/// off again is found, the write refused, the file untouched.
#[test]
fn the_wizard_write_is_checked_with_bash() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let text =
        std::fs::read_to_string(&conf).unwrap() + "pin() { BUILDENV=(!distcc color); }\npin\n";
    std::fs::write(&conf, &text).unwrap();
    let mut s = spawn(&conf, &["--no-probe"]);
    answer(&mut s, "Slots for this machine", "2\r");
    answer(&mut s, "Add a helper?", "y\r");
    answer(&mut s, "Helper address", "127.0.0.2:3636/6\r");
    answer(&mut s, "Add another helper?", "n\r");
    s.expect("bash would read something else").unwrap();
    assert_eq!(exit_code(s), 2);
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
}

/// --no-probe means no traffic at all: no search question, no probe.
#[test]
fn no_probe_never_searches() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let mut s = spawn(&conf, &["--no-probe"]);
    answer(&mut s, "Slots for this machine", "2\r");
    let seen = s.expect("Add a helper?").unwrap();
    assert!(
        !String::from_utf8_lossy(seen.before()).contains("Search"),
        "{}",
        String::from_utf8_lossy(seen.before())
    );
    s.send("n\r").unwrap();
    answer(&mut s, "Write ", "n\r");
    assert_eq!(exit_code(s), 1);
}

/// No helper and no slots here: nothing to write (uncommenting `#DISTCC_HOSTS=""` would only
/// stop distcc reading its hosts file), and no "-j0" said.
#[test]
fn no_hosts_at_all_leave_the_file_alone() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let before = std::fs::read(&conf).unwrap();
    let mut s = spawn(&conf, &["--no-probe"]);
    answer(&mut s, "Slots for this machine", "0\r");
    answer(&mut s, "Add a helper?", "n\r");
    let said = s.expect("nothing to change").unwrap();
    let said = String::from_utf8_lossy(said.before()).into_owned();
    assert!(said.contains("No hosts"), "{said}");
    assert!(!said.contains("-j0"), "{said}");
    assert!(!said.contains("Write "), "asked to write nothing: {said}");
    assert!(suggests(&said, "add-host"), "the way on: {said}");
    assert_eq!(exit_code(s), 0);
    assert_eq!(std::fs::read(&conf).unwrap(), before);
}

/// The search question names what it would scan before anything is sent.
#[test]
fn the_search_question_names_subnets_and_ports() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let mut s = spawn(&conf, &["--timeout", "1", "--port", "3636"]);
    answer(&mut s, "Slots for this machine", "2\r");
    s.expect("Search the network for helpers (127.0.0.248/29 on port(s) 3636)?")
        .unwrap();
    s.send("n\r").unwrap();
    answer(&mut s, "Add a helper?", "n\r");
    answer(&mut s, "Write ", "n\r");
    assert_eq!(exit_code(s), 1);
}

/// The seed's `127.0.0.1/2` means this machine, in the wizard as in add-host and set-local:
/// its slots are the default for this machine's, and typed as a helper it is refused.
#[test]
fn the_seeds_loopback_entry_is_this_machines_slots() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let text = std::fs::read_to_string(&conf).unwrap().replace(
        "#DISTCC_HOSTS=\"\"",
        "DISTCC_HOSTS=\"127.0.0.9:3636/6 127.0.0.1/2\"",
    );
    assert!(text.contains("DISTCC_HOSTS=\"127.0.0.9:3636/6 127.0.0.1/2\""));
    std::fs::write(&conf, &text).unwrap();
    let mut s = spawn(&conf, &["--no-probe"]);
    // Enter keeps the Pi's 2 slots.
    answer(&mut s, "Slots for this machine (0 leaves it out) [2]", "\r");
    answer(&mut s, "Helper 127.0.0.9:3636/6", "\r");
    s.expect("`127.0.0.1/2` meant this machine").unwrap();
    answer(&mut s, "Add another helper?", "y\r");
    answer(&mut s, "Helper address", "127.0.0.1/2\r");
    s.expect("has no port, so it means this machine").unwrap();
    answer(&mut s, "Helper address", "127.0.0.8:3636/4\r");
    answer(&mut s, "Add another helper?", "n\r");
    s.expect("DISTCC_HOSTS=\"127.0.0.9:3636/6 127.0.0.8:3636/4 localhost/2\"")
        .unwrap();
    answer(&mut s, "Write ", "y\r");
    assert_eq!(exit_code(s), 0);
    let vars = bash_vars(&[&conf]);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        "127.0.0.9:3636/6 127.0.0.8:3636/4 localhost/2"
    );
}

/// On a narrow console (a Pi's, TERM=linux) the wizard's sentences break between words,
/// never past the edge.
#[test]
fn sentences_break_between_words_on_a_narrow_console() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let mut cmd = wizard_command(&conf, &["--no-probe"]);
    cmd.env("TERM", "linux");
    let mut s = spawn_in_columns(60, &cmd);
    let said = s.expect("Slots for this machine").unwrap();
    let said = String::from_utf8_lossy(said.before()).into_owned();
    let lines: Vec<&str> = said.split("\r\n").collect();
    assert!(
        lines.iter().all(|l| l.chars().count() <= 60),
        "a line past 60 columns:\n{said}"
    );
    // The sentence is whole once its line breaks are read as spaces.
    assert!(
        said.replace("\r\n", " ")
            .contains("A Pi is often slower than a fifth of its helpers together"),
        "{said}"
    );
    s.send("\x1b").unwrap();
    assert_eq!(exit_code(s), 1);
}

/// After the write, the next steps' sentences break between words too, while the commands
/// to copy stay whole on their lines however long (a break inside one would cut it).
#[test]
fn next_steps_wrap_their_sentences_and_keep_commands_whole_on_a_narrow_console() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let mut cmd = wizard_command(&conf, &["--no-probe"]);
    cmd.env("TERM", "linux");
    let mut s = spawn_in_columns(60, &cmd);
    answer(&mut s, "Slots for this machine", "2\r");
    answer(&mut s, "Add a helper?", "y\r");
    answer(&mut s, "Helper address", "127.0.0.1:3700/4\r");
    answer(&mut s, "Add another helper?", "n\r");
    answer(&mut s, "Write ", "y\r");
    // Not checked (--no-probe): named as a helper to set up, its script on the port typed.
    s.expect("Next, on 127.0.0.1:3700/4").unwrap();
    let rest = s.expect(Eof).unwrap();
    let rest = String::from_utf8_lossy(rest.as_bytes()).into_owned();
    let (commands, prose): (Vec<&str>, Vec<&str>) = rest
        .split("\r\n")
        .partition(|l| l.starts_with("  alarm-distcc "));
    assert!(
        prose.iter().all(|l| l.chars().count() <= 60),
        "a sentence's line past 60 columns:\n{rest}"
    );
    assert!(
        prose
            .join(" ")
            .contains("also needs the port forwarded on Windows: run what this prints there"),
        "{rest}"
    );
    assert_eq!(commands.len(), 3, "{rest}");
    assert!(
        commands[0].starts_with("  alarm-distcc helper --arch armv8")
            && commands[0].ends_with(" --port 3700 > distccd-armv8.sh"),
        "{rest}"
    );
    assert!(
        commands[1].ends_with(" --port 3700 --format powershell > wsl-distcc.ps1"),
        "{rest}"
    );
    assert_eq!(
        commands[2],
        format!("  alarm-distcc --config {} probe", conf.display())
    );
    assert_eq!(exit_code(s), 0);
}

/// A helper that compiles for this Pi when it is entered needs nothing more: the wizard ends
/// with how to build through it, not with a script to set it up again. Real distccd serving
/// Debian's aarch64 cross compiler under ALARM's names, on 127.0.0.1.
#[test]
fn a_helper_that_passed_its_check_is_not_set_up_again() {
    if let Some(why) = missing(&[AARCH64_GCC.1, AARCH64_GXX.1]) {
        skip("a_helper_that_passed_its_check_is_not_set_up_again", &why);
        return;
    }
    let helper = Helper::default()
        .serve(AARCH64_GCC.0, AARCH64_GCC.1)
        .serve(AARCH64_GXX.0, AARCH64_GXX.1)
        .start();
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let mut s = spawn(&conf, &["--timeout", "20"]);
    s.set_expect_timeout(Some(Duration::from_secs(60)));
    answer(&mut s, "Slots for this machine", "2\r");
    answer(&mut s, "Search the network for helpers (", "n\r");
    answer(&mut s, "Add a helper?", "y\r");
    answer(&mut s, "Helper address", &format!("{}\r", helper.spec(4)));
    s.expect("reachable, compiles for aarch64").unwrap();
    answer(&mut s, "Add another helper?", "n\r");
    answer(&mut s, "Write ", "y\r");
    let rest = s.expect(Eof).unwrap();
    let rest = String::from_utf8_lossy(rest.as_bytes()).into_owned();
    assert!(
        rest.contains("Each helper compiled for this Pi just now"),
        "{rest}"
    );
    assert!(
        rest.contains(&format!("  alarm-distcc --config {} build", conf.display())),
        "{rest}"
    );
    assert!(!rest.contains("helper --arch"), "{rest}");
    let vars = bash_vars(&[&conf]);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        format!("{} localhost/2", helper.spec(4))
    );
}

/// Listed helpers are checked as new ones are when they are kept: one that compiles for this
/// Pi needs nothing more; one that fails is kept on Enter (it is the person's already) and
/// recalled at the end with its set-up, or removed on a no.
#[test]
fn listed_helpers_are_checked_when_kept() {
    if let Some(why) = missing(&[AARCH64_GCC.1, AARCH64_GXX.1]) {
        skip("listed_helpers_are_checked_when_kept", &why);
        return;
    }
    let helper = Helper::default()
        .serve(AARCH64_GCC.0, AARCH64_GCC.1)
        .serve(AARCH64_GXX.0, AARCH64_GXX.1)
        .start();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let good = helper.spec(4);
    let failing = format!("127.0.0.1:{dead}/3");
    for keep_failing in [true, false] {
        let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
        let text = std::fs::read_to_string(&conf).unwrap().replace(
            "#DISTCC_HOSTS=\"\"",
            &format!("DISTCC_HOSTS=\"{good} {failing} localhost/2\""),
        );
        std::fs::write(&conf, &text).unwrap();
        let mut s = spawn(&conf, &["--timeout", "20"]);
        s.set_expect_timeout(Some(Duration::from_secs(60)));
        answer(&mut s, "Slots for this machine", "\r");
        answer(&mut s, &format!("Helper {good}"), "\r");
        s.expect("reachable, compiles for aarch64").unwrap();
        answer(&mut s, &format!("Helper {failing}"), "\r");
        s.expect(format!("nothing listens on 127.0.0.1:{dead}").as_str())
            .unwrap();
        answer(
            &mut s,
            "Keep this helper anyway?",
            if keep_failing { "\r" } else { "n\r" },
        );
        if !keep_failing {
            s.expect(format!("removed {failing}").as_str()).unwrap();
        }
        answer(&mut s, "Search the network for helpers (", "n\r");
        answer(&mut s, "Add another helper?", "n\r");
        answer(&mut s, "Write ", "y\r");
        let rest = s.expect(Eof).unwrap();
        let rest = String::from_utf8_lossy(rest.as_bytes()).into_owned();
        // The helper that passed is never named for set-up again.
        assert!(!rest.contains(&format!("Next, on {good}")), "{rest}");
        let listed = if keep_failing {
            assert!(
                rest.contains(&format!("Kept although its check failed: {failing}")),
                "{rest}"
            );
            assert!(rest.contains(&format!("Next, on {failing}:")), "{rest}");
            format!("{good} {failing} localhost/2")
        } else {
            assert!(
                rest.contains("Each helper compiled for this Pi just now"),
                "{rest}"
            );
            format!("{good} localhost/2")
        };
        let vars = bash_vars(&[&conf]);
        assert_eq!(scalar_value(&vars["DISTCC_HOSTS"]), listed);
    }
}
