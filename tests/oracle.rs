//! Bash is the oracle: after the standard edit, sourcing the file must give exactly the
//! intended values, and nothing else may change.

mod common;

use common::*;
use std::path::Path;

const EDITED: [&str; 3] = ["BUILDENV", "DISTCC_HOSTS", "MAKEFLAGS"];

/// Slots as distcc counts them, worked out independently of the crate.
fn slots_of(token: &str) -> u32 {
    if token.starts_with("--") || token.starts_with('+') {
        return 0;
    }
    let re = regex::Regex::new(r"[/=](\d+)").unwrap();
    match re.captures(token) {
        Some(c) => c[1].parse().unwrap(),
        None if token == "localhost" => 2,
        None => 4,
    }
}

/// MAKEFLAGS words without any job flag (`-jN`, `-j N`, `--jobs=N`, `--jobs N`).
fn other_flags(value: &str) -> Vec<String> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if w == "-j" || w == "--jobs" {
            if words.get(i + 1).is_some_and(|n| n.parse::<u32>().is_ok()) {
                i += 1;
            }
        } else if !(w.starts_with("-j") || w.starts_with("--jobs=")) {
            out.push(w.to_string());
        }
        i += 1;
    }
    out
}

fn job_flags(value: &str) -> Vec<String> {
    value
        .split_whitespace()
        .filter(|w| w.starts_with("-j") || w.starts_with("--jobs"))
        .map(String::from)
        .collect()
}

fn is_local_meant(token: &str) -> bool {
    token == "localhost"
        || token.starts_with("localhost/")
        || (token.starts_with("127.") && !token.contains(':'))
}

fn check_standard_edit(src: &Path) {
    let name = src.display().to_string();
    let (_dir, conf) = scratch_copy(src);
    let original = std::fs::read_to_string(&conf).unwrap();
    let before = bash_vars(&[&conf]);
    for args in [
        ["set-local", "2"],
        ["add-host", "192.168.1.100:3636/6"],
        ["add-host", "10.0.0.5:3632/8"],
    ] {
        let r = run(&conf, &[args[0], args[1], "--yes"]);
        assert_eq!(r.code, 0, "{name}: {args:?} failed: {}", r.stderr);
    }
    let after = bash_vars(&[&conf]);

    for (k, v) in &before {
        if !EDITED.contains(&k.as_str()) {
            assert_eq!(after.get(k), Some(v), "{name}: {k} changed");
        }
    }
    for k in after.keys() {
        assert!(
            before.contains_key(k) || EDITED.contains(&k.as_str()),
            "{name}: new variable {k}"
        );
    }

    // distcc decides on, every other BUILDENV entry unchanged.
    let buildenv_before = before.get("BUILDENV").map_or(vec![], |d| array_values(d));
    let buildenv_after = array_values(&after["BUILDENV"]);
    let deciding = buildenv_after
        .iter()
        .rev()
        .find(|e| *e == "distcc" || *e == "!distcc");
    assert_eq!(
        deciding.map(String::as_str),
        Some("distcc"),
        "{name}: {buildenv_after:?}"
    );
    let others = |v: &[String]| -> Vec<String> {
        v.iter()
            .filter(|e| *e != "distcc" && *e != "!distcc")
            .cloned()
            .collect()
    };
    assert_eq!(others(&buildenv_before), others(&buildenv_after), "{name}");

    // Old hosts plus the new, fastest first, localhost/2 last.
    let old_hosts: Vec<String> = before
        .get("DISTCC_HOSTS")
        .map(|d| scalar_value(d))
        .unwrap_or_default()
        .split_whitespace()
        .filter(|t| !is_local_meant(t))
        .map(String::from)
        .collect();
    let hosts_value = scalar_value(&after["DISTCC_HOSTS"]);
    let hosts: Vec<&str> = hosts_value.split_whitespace().collect();
    assert_eq!(hosts.last(), Some(&"localhost/2"), "{name}: {hosts:?}");
    let added = ["192.168.1.100:3636/6", "10.0.0.5:3632/8"]
        .iter()
        .filter(|h| !old_hosts.iter().any(|o| o == *h))
        .count();
    assert_eq!(
        hosts.len(),
        old_hosts.len() + added + 1,
        "{name}: {hosts:?}"
    );
    for h in &old_hosts {
        assert!(hosts.contains(&h.as_str()), "{name}: lost {h}");
    }
    let pos = |h: &str| hosts.iter().position(|t| *t == h).unwrap();
    assert!(
        pos("10.0.0.5:3632/8") < pos("192.168.1.100:3636/6"),
        "{name}: {hosts:?}"
    );
    let remote_slots: Vec<u32> = hosts
        .iter()
        .filter(|t| !t.starts_with("--") && !is_local_meant(t))
        .map(|t| slots_of(t))
        .collect();
    assert!(
        remote_slots.windows(2).all(|w| w[0] >= w[1]),
        "{name}: not fastest first: {hosts:?}"
    );

    // One -j equal to the total; the other flags unchanged.
    let total: u32 = hosts.iter().map(|t| slots_of(t)).sum();
    let mf_before = before
        .get("MAKEFLAGS")
        .map(|d| scalar_value(d))
        .unwrap_or_default();
    let mf_after = scalar_value(&after["MAKEFLAGS"]);
    assert_eq!(
        job_flags(&mf_after),
        [format!("-j{total}")],
        "{name}: {mf_after}"
    );
    assert_eq!(other_flags(&mf_before), other_flags(&mf_after), "{name}");

    // Only lines about those settings changed.
    let edited = std::fs::read_to_string(&conf).unwrap();
    let diff = similar::TextDiff::from_lines(&original, &edited);
    for change in diff.iter_all_changes() {
        if change.tag() != similar::ChangeTag::Equal {
            let line = change.value();
            assert!(
                ["BUILDENV", "DISTCC_HOSTS", "MAKEFLAGS", "distcc"]
                    .iter()
                    .any(|k| line.contains(k)),
                "{name}: unrelated line changed: {line:?}"
            );
        }
    }

    // Doing it again changes nothing.
    let again = run(&conf, &["add-host", "10.0.0.5:3632/8", "--yes"]);
    assert_eq!(again.code, 0);
    assert!(
        again.stderr.contains("nothing to change"),
        "{name}: {}",
        again.stderr
    );
}

#[test]
fn standard_edit_on_fixtures_matches_bash() {
    let files = fixture_files();
    assert!(files.len() >= 10);
    for f in files {
        check_standard_edit(&f);
    }
}

#[test]
fn standard_edit_on_corpus_matches_bash() {
    for f in corpus_files() {
        check_standard_edit(&f);
    }
}

#[test]
fn unsafe_files_are_refused_untouched() {
    for (file, line, word) in [
        ("refuse/makeflags-in-if.conf", 5, "MAKEFLAGS"),
        ("refuse/hosts-computed.conf", 3, "computed"),
        ("refuse/hosts-in-case.conf", 4, "DISTCC_HOSTS"),
        ("refuse/bad-token.conf", 2, "10.0.0.3,zstd"),
    ] {
        let (_dir, conf) = scratch_copy(&fixture(file));
        let original = std::fs::read(&conf).unwrap();
        let r = run(&conf, &["add-host", "10.0.0.9/4", "--yes"]);
        assert_eq!(r.code, 2, "{file}: {}", r.stderr);
        let at = format!("{}:{line}:", conf.display());
        assert!(r.stderr.contains(&at), "{file}: no {at} in {}", r.stderr);
        assert!(r.stderr.contains(word), "{file}: {}", r.stderr);
        assert_eq!(std::fs::read(&conf).unwrap(), original, "{file} changed");
    }
}

/// CFLAGS and CXXFLAGS after bash sources `file` and runs makepkg's own buildenv steps for
/// flags (buildflags, debugflags, lto) from the installed libmakepkg.
fn makepkg_flags(file: &Path) -> Option<(String, String)> {
    let lib = Path::new("/usr/share/makepkg");
    if !lib.join("buildenv/lto.sh").is_file() {
        return None;
    }
    let script = r#"source "$1" >/dev/null 2>&1
options=(); srcdir=/build/src; pkgbase=probe; unset DBGSRCDIR
LIBRARY=/usr/share/makepkg
source "$LIBRARY/util/option.sh"
for f in buildflags debugflags lto; do source "$LIBRARY/buildenv/$f.sh"; buildenv_$f; done
printf '%s\0%s' "$CFLAGS" "$CXXFLAGS""#;
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script, "oracle"])
        .arg(file)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (c, cxx) = text.split_once('\0')?;
    Some((c.to_string(), cxx.to_string()))
}

fn split_words(value: &str) -> Vec<String> {
    value.split_whitespace().map(String::from).collect()
}

/// The flags the probe sends are the ones makepkg would pass, on every file whose flags
/// can be known; the others are computed (and then refused, never guessed).
#[test]
fn probe_flags_match_makepkg_on_every_file() {
    use alarm_distcc::conf::buildflags::build_flags;
    use alarm_distcc::document::Document;
    let mut files = fixture_files();
    files.extend(corpus_files());
    // OPTIONS that switch on what makepkg adds.
    let dir = tempfile::tempdir().unwrap();
    for (i, extra) in [
        "OPTIONS+=(debug lto)\n",
        "OPTIONS+=(!buildflags)\n",
        "LTOFLAGS='-flto=auto'\nOPTIONS+=(lto)\nDEBUG_CFLAGS='-g -fvar-tracking-assignments'\nOPTIONS+=(debug)\n",
    ]
    .iter()
    .enumerate()
    {
        let stock = std::fs::read_to_string(fixture("alarm-aarch64-stock.conf")).unwrap();
        let p = dir.path().join(format!("options{i}.conf"));
        std::fs::write(&p, format!("{stock}\n{extra}")).unwrap();
        files.push(p);
    }
    let (mut compared, mut refused) = (0, 0);
    for file in &files {
        let Some((c, cxx)) = makepkg_flags(file) else {
            return skip(
                "probe_flags_match_makepkg_on_every_file",
                "makepkg's libmakepkg is not installed",
            );
        };
        let doc = Document::parse(std::fs::read(file).unwrap());
        let flags = build_flags(&[(file.clone(), doc)]);
        for (ours, bash) in [(&flags.cflags, &c), (&flags.cxxflags, &cxx)] {
            match ours {
                Ok(words) => {
                    compared += 1;
                    assert_eq!(*words, split_words(bash), "{}", file.display());
                }
                Err(why) => {
                    refused += 1;
                    assert!(why.contains(&file.display().to_string()), "{why}");
                }
            }
        }
    }
    assert!(compared > 20, "only {compared} values compared");
    eprintln!("flags: {compared} values match makepkg's, {refused} refused as computed");
}
