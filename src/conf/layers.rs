//! The files makepkg sources, in order (pacman `libmakepkg/util/config.sh`):
//! `$MAKEPKG_CONF` (default /etc/makepkg.conf), then `<that>.d/*.conf` in glob order, then,
//! only when the default path is in use, `${XDG_CONFIG_HOME:-~/.config}/pacman/makepkg.conf`
//! or else `~/.makepkg.conf`.

use crate::conf::document::Document;
use crate::conf::makeflags::JobCount;
use crate::conf::view::{self, BuildenvState, MakeflagsState, Scalar};
use crate::distcc::hosts::HostList;
use std::path::{Path, PathBuf};

pub const SYSTEM_CONF: &str = "/etc/makepkg.conf";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Main,
    DropIn,
    User,
}

#[derive(Debug, Clone)]
pub struct Layer {
    pub path: PathBuf,
    pub role: Role,
}

/// What decides which files are read: the process environment, captured once.
#[derive(Debug, Clone)]
pub struct Env {
    /// makepkg's compiled-in default (`@sysconfdir@/makepkg.conf`).
    pub default_conf: PathBuf,
    pub makepkg_conf: Option<PathBuf>,
    /// `${XDG_CONFIG_HOME:-$HOME/.config}` and `$HOME` of the user who runs makepkg.
    pub user_config_dir: Option<PathBuf>,
    pub user_home: Option<PathBuf>,
    /// The makepkg on PATH, found when first asked (`completions` and `man` never ask).
    makepkg: std::sync::OnceLock<Makepkg>,
}

/// The makepkg that will read the config, as far as this machine tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Makepkg {
    Version(String),
    NotFound,
}

impl Makepkg {
    /// Finds `makepkg` on PATH and reads its version: the script's `makepkg_version=` line
    /// (no process started), else `makepkg --version`.
    pub fn find() -> Makepkg {
        let Some(path) = std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("makepkg"))
                .find(|f| f.is_file())
        }) else {
            return Makepkg::NotFound;
        };
        let mut head = Vec::new();
        if let Ok(f) = std::fs::File::open(&path) {
            use std::io::Read;
            let _ = f.take(64 << 10).read_to_end(&mut head);
        }
        if let Some(v) = makepkg_version_in(&String::from_utf8_lossy(&head)) {
            return Makepkg::Version(v);
        }
        std::process::Command::new(&path)
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| {
                let text = String::from_utf8_lossy(&o.stdout).into_owned();
                // "makepkg (pacman) 6.0.2"
                text.split_whitespace()
                    .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
                    .map(str::to_string)
            })
            .map_or(Makepkg::NotFound, Makepkg::Version)
    }

    /// pacman 6.1 brought `makepkg.conf.d`; without a makepkg to ask, assume a current one.
    pub fn reads_drop_ins(&self) -> bool {
        match self {
            Makepkg::Version(v) => version_at_least(v, (6, 1)),
            Makepkg::NotFound => true,
        }
    }
}

/// The version in makepkg's `declare -r makepkg_version='6.0.2'` line.
pub fn makepkg_version_in(script: &str) -> Option<String> {
    script.lines().find_map(|l| {
        let rest = l.split_once("makepkg_version=")?.1;
        let v = rest.trim().trim_matches(['\'', '"']);
        (!v.is_empty() && v.starts_with(|c: char| c.is_ascii_digit())).then(|| v.to_string())
    })
}

fn version_at_least(version: &str, (major, minor): (u32, u32)) -> bool {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let got = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    got >= (major, minor)
}

impl Env {
    pub fn from_process() -> Env {
        let default_conf = std::env::var_os("ALARM_DISTCC_DEFAULT_CONF")
            .map_or_else(|| PathBuf::from(SYSTEM_CONF), PathBuf::from);
        let makepkg_conf = std::env::var_os("MAKEPKG_CONF")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let sudo_home = invoking_sudo_user_home();
        let (user_config_dir, user_home) = match sudo_home {
            Some(home) => (Some(home.join(".config")), Some(home)),
            None => (dirs::config_dir(), dirs::home_dir()),
        };
        Env {
            default_conf,
            makepkg_conf,
            user_config_dir,
            user_home,
            makepkg: std::sync::OnceLock::new(),
        }
    }

    /// The makepkg on PATH: whether it reads `makepkg.conf.d` depends on its version.
    pub fn makepkg(&self) -> &Makepkg {
        self.makepkg.get_or_init(Makepkg::find)
    }

    /// `--config`, else `$MAKEPKG_CONF`, else the default.
    pub fn main_path(&self, config: Option<&Path>) -> PathBuf {
        config
            .map(Path::to_path_buf)
            .or_else(|| self.makepkg_conf.clone())
            .unwrap_or_else(|| self.default_conf.clone())
    }

    pub fn user_file(&self) -> Option<PathBuf> {
        let xdg = self
            .user_config_dir
            .as_ref()
            .map(|d| d.join("pacman/makepkg.conf"));
        if let Some(x) = xdg.filter(|p| p.is_file()) {
            return Some(x);
        }
        self.user_home
            .as_ref()
            .map(|h| h.join(".makepkg.conf"))
            .filter(|p| p.is_file())
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Under sudo (root with SUDO_USER), the invoking user's home from the passwd database
/// (ALARM_DISTCC_PASSWD in tests); None otherwise.
pub fn invoking_sudo_user_home() -> Option<PathBuf> {
    // Only under sudo are the uid and the passwd database worth reading.
    let user = std::env::var("SUDO_USER").ok()?;
    sudo_user_home(
        Some(&user),
        is_root(),
        &std::fs::read_to_string(
            std::env::var_os("ALARM_DISTCC_PASSWD").unwrap_or_else(|| "/etc/passwd".into()),
        )
        .unwrap_or_default(),
    )
}

/// makepkg refuses to run as root, so under `sudo` the user whose files count is SUDO_USER:
/// their home from the passwd database.
pub fn sudo_user_home(sudo_user: Option<&str>, is_root: bool, passwd: &str) -> Option<PathBuf> {
    let user = sudo_user.filter(|u| !u.is_empty() && *u != "root" && is_root)?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && f[0] == user)
        .map(|f| PathBuf::from(f[5]))
}

pub fn drop_in_dir(main: &Path) -> PathBuf {
    let mut s = main.as_os_str().to_owned();
    s.push(".d");
    PathBuf::from(s)
}

/// The drop-in `--drop-in` writes.
pub fn distcc_drop_in(main: &Path) -> PathBuf {
    drop_in_dir(main).join("distcc.conf")
}

/// The files makepkg reads, in order; drop-ins and the user file only when they exist.
pub fn layers(main: &Path, env: &Env) -> Vec<Layer> {
    let mut out = vec![Layer {
        path: main.to_path_buf(),
        role: Role::Main,
    }];
    let drop_ins = env
        .makepkg()
        .reads_drop_ins()
        .then(|| std::fs::read_dir(drop_in_dir(main)).ok())
        .flatten();
    if let Some(entries) = drop_ins {
        let mut confs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "conf") && p.is_file())
            .collect();
        // bash's glob order in the C locale is byte order.
        confs.sort_by(|a, b| {
            a.as_os_str()
                .as_encoded_bytes()
                .cmp(b.as_os_str().as_encoded_bytes())
        });
        out.extend(confs.into_iter().map(|path| Layer {
            path,
            role: Role::DropIn,
        }));
    }
    if main == env.default_conf
        && let Some(path) = env.user_file()
    {
        out.push(Layer {
            path,
            role: Role::User,
        });
    }
    out
}

/// A value and the place it comes from.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    pub value: T,
    pub path: PathBuf,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub enum Value<T> {
    Known(Sourced<T>),
    /// Set by shell logic or computed: only bash knows.
    Unknown {
        path: PathBuf,
        line: usize,
        text: String,
    },
    Unset,
}

/// What makepkg ends with after sourcing every layer.
#[derive(Debug, Clone)]
pub struct Effective {
    pub distcc: Value<bool>,
    /// The DISTCC_HOSTS string.
    pub hosts: Value<String>,
    pub makeflags: Value<view::Makeflags>,
}

pub fn effective(docs: &[(PathBuf, Document)]) -> Effective {
    let mut distcc = Value::Unset;
    let mut hosts: Value<String> = Value::Unset;
    let mut makeflags = Value::Unset;
    for (path, doc) in docs {
        match view::buildenv(doc) {
            BuildenvState::Flag { flag, .. } => {
                distcc = Value::Known(Sourced {
                    value: flag.enabled,
                    path: path.clone(),
                    line: flag.line,
                })
            }
            BuildenvState::NoEntry { chain } => {
                if matches!(&doc.items()[chain[0]].kind, crate::conf::document::ItemKind::Assignment(a) if a.op == crate::conf::document::Op::Set)
                {
                    distcc = Value::Known(Sourced {
                        value: false,
                        path: path.clone(),
                        line: doc.items()[chain[0]].line,
                    });
                }
            }
            BuildenvState::Inherits { before, .. } => {
                // The earlier layers' entry stands; without one, the entry ahead of theirs.
                if !matches!(distcc, Value::Known(_))
                    && let Some(f) = before
                {
                    distcc = Value::Known(Sourced {
                        value: f.enabled,
                        path: path.clone(),
                        line: f.line,
                    });
                }
            }
            BuildenvState::Blocked(b) => {
                distcc = Value::Unknown {
                    path: path.clone(),
                    line: b.line,
                    text: b.text,
                }
            }
            BuildenvState::Unset => {}
        }
        match view::hosts(doc) {
            Scalar::Unset => {}
            Scalar::Static {
                value,
                line,
                appends_only,
                ..
            } => {
                let value = match (&hosts, appends_only) {
                    (Value::Known(prev), true) => format!("{}{value}", prev.value),
                    _ => value,
                };
                hosts = Value::Known(Sourced {
                    value,
                    path: path.clone(),
                    line,
                });
            }
            Scalar::Computed { text, line } => {
                hosts = Value::Unknown {
                    path: path.clone(),
                    line,
                    text,
                }
            }
            Scalar::Blocked(b) => {
                hosts = Value::Unknown {
                    path: path.clone(),
                    line: b.line,
                    text: b.text,
                }
            }
        }
        match view::makeflags(doc) {
            MakeflagsState::Unset => {}
            MakeflagsState::Value(m) => {
                makeflags = Value::Known(Sourced {
                    line: m.line,
                    value: m,
                    path: path.clone(),
                })
            }
            MakeflagsState::Blocked(b) => {
                makeflags = Value::Unknown {
                    path: path.clone(),
                    line: b.line,
                    text: b.text,
                }
            }
        }
    }
    Effective {
        distcc,
        hosts,
        makeflags,
    }
}

/// The last static value of a scalar across the layers (CARCH, CHOST, CFLAGS...).
pub fn layered_scalar(docs: &[(PathBuf, Document)], name: &str) -> Option<String> {
    docs.iter()
        .rev()
        .find_map(|(_, d)| match view::scalar(d, name) {
            Scalar::Static { value, .. } => Some(value),
            _ => None,
        })
}

/// CARCH as the layers set it, unless it is a template's placeholder (`@CARCH@` in
/// pacman's source tree, `%CARCH%` in some packagers'): that is no machine's architecture.
pub fn carch(docs: &[(PathBuf, Document)]) -> Option<String> {
    layered_scalar(docs, "CARCH").filter(|c| !c.contains(['@', '%']) && !c.is_empty())
}

/// The file a value comes from, when it is set.
pub fn source_of<T>(value: &Value<T>) -> Option<PathBuf> {
    match value {
        Value::Known(s) => Some(s.path.clone()),
        Value::Unknown { path, .. } => Some(path.clone()),
        Value::Unset => None,
    }
}

/// What makepkg has for a distcc value no layer sets: bash keeps an exported DISTCC_HOSTS or
/// MAKEFLAGS from the environment makepkg runs in (makechrootpkg's `MAKEFLAGS=-jN` prefix, an
/// export in ~/.bashrc), and makepkg exports it to the build. BUILDENV is an array, which no
/// environment carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FromEnvironment {
    pub hosts: Option<String>,
    pub makeflags: Option<String>,
}

impl FromEnvironment {
    /// The values `get` gives for what `eff` leaves unset.
    pub fn for_unset(eff: &Effective, get: impl Fn(&str) -> Option<String>) -> FromEnvironment {
        FromEnvironment {
            hosts: matches!(eff.hosts, Value::Unset)
                .then(|| get("DISTCC_HOSTS"))
                .flatten(),
            makeflags: matches!(eff.makeflags, Value::Unset)
                .then(|| get("MAKEFLAGS"))
                .flatten(),
        }
    }

    /// From this process's environment, which makepkg started here would have.
    pub fn of_process(eff: &Effective) -> FromEnvironment {
        FromEnvironment::for_unset(eff, |name| std::env::var(name).ok())
    }

    pub fn host_list(&self) -> Option<HostList> {
        self.hosts.as_deref().map(HostList::parse)
    }

    /// The host list makepkg ends with: the layers' (`from_layers`), else this one's.
    pub fn hosts_after(&self, from_layers: &Value<String>) -> Option<HostList> {
        hosts_of(from_layers).or_else(|| self.host_list())
    }

    /// make's job count from the environment's MAKEFLAGS (its last -j).
    pub fn jobs(&self) -> Option<JobCount> {
        let flags = self.makeflags.as_deref()?;
        crate::conf::makeflags::find_job_flags(flags.as_bytes())
            .pop()
            .map(|f| f.count)
    }
}

pub fn hosts_of(value: &Value<String>) -> Option<HostList> {
    match value {
        Value::Known(s) => Some(HostList::parse(&s.value)),
        _ => None,
    }
}

/// The distcc variables an edit can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    Buildenv,
    Hosts,
    Makeflags,
}

/// What one file says of each variable, to compare a file before and after an edit.
fn var_value(doc: &Document, var: Var) -> Option<String> {
    match var {
        Var::Buildenv => match view::buildenv(doc) {
            BuildenvState::Flag { flag, .. } => Some(flag.enabled.to_string()),
            BuildenvState::Unset => None,
            other => Some(format!("{other:?}")),
        },
        Var::Hosts => match view::hosts(doc) {
            Scalar::Static { value, .. } => Some(value),
            Scalar::Unset => None,
            other => Some(format!("{other:?}")),
        },
        Var::Makeflags => match view::makeflags(doc) {
            MakeflagsState::Value(m) => Some(m.text),
            MakeflagsState::Unset => None,
            MakeflagsState::Blocked(b) => Some(b.text),
        },
    }
}

/// The variables an edit of one file changed.
pub fn changed_vars(before: &Document, after: &Document) -> Vec<Var> {
    [Var::Buildenv, Var::Hosts, Var::Makeflags]
        .into_iter()
        .filter(|v| var_value(before, *v) != var_value(after, *v))
        .collect()
}

/// Later layers that set one of `vars`, and so override an edit of `edited`.
pub fn overrides(docs: &[(PathBuf, Document)], edited: &Path, vars: &[Var]) -> Vec<String> {
    let Some(pos) = docs.iter().position(|(p, _)| p == edited) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (path, doc) in &docs[pos + 1..] {
        let at = |line: usize| format!("{}:{line}", path.display());
        if let (true, BuildenvState::Flag { flag, .. }) =
            (vars.contains(&Var::Buildenv), view::buildenv(doc))
        {
            out.push(format!(
                "{} sets {} in BUILDENV",
                at(flag.line),
                if flag.enabled { "distcc" } else { "!distcc" }
            ));
        }
        if vars.contains(&Var::Hosts) {
            match view::hosts(doc) {
                Scalar::Static { value, line, .. } => {
                    out.push(format!("{} sets DISTCC_HOSTS=\"{value}\"", at(line)))
                }
                Scalar::Computed { text, line } => {
                    out.push(format!("{} sets DISTCC_HOSTS={text}", at(line)))
                }
                Scalar::Blocked(b) => {
                    out.push(format!("{} sets DISTCC_HOSTS ({})", at(b.line), b.text))
                }
                Scalar::Unset => {}
            }
        }
        if vars.contains(&Var::Makeflags) {
            match view::makeflags(doc) {
                MakeflagsState::Value(m) => {
                    out.push(format!("{} sets MAKEFLAGS=\"{}\"", at(m.line), m.text))
                }
                MakeflagsState::Blocked(b) => {
                    out.push(format!("{} sets MAKEFLAGS ({})", at(b.line), b.text))
                }
                MakeflagsState::Unset => {}
            }
        }
    }
    out
}

/// What an edit changed in what makepkg ends up with, in a few words each.
pub fn change_summary(before: &Effective, after: &Effective) -> Vec<String> {
    let mut out = Vec::new();
    let list = |v: &Value<String>| hosts_of(v).unwrap_or_default();
    let (old, new) = (list(&before.hosts), list(&after.hosts));
    let keyed = |l: &HostList| -> Vec<(String, String)> {
        l.tokens
            .iter()
            .map(|t| {
                let key = t.spec.as_ref().map_or(t.raw.clone(), |s| s.key());
                (key, t.raw.clone())
            })
            .collect()
    };
    let (old_k, new_k) = (keyed(&old), keyed(&new));
    let find = |list: &[(String, String)], key: &str| {
        list.iter().find(|(k, _)| k == key).map(|(_, r)| r.clone())
    };
    let added: Vec<String> = new_k
        .iter()
        .filter(|(k, _)| find(&old_k, k).is_none())
        .map(|(_, r)| r.clone())
        .collect();
    let removed: Vec<String> = old_k
        .iter()
        .filter(|(k, _)| find(&new_k, k).is_none())
        .map(|(_, r)| r.clone())
        .collect();
    let changed: Vec<String> = new_k
        .iter()
        .filter_map(|(k, r)| {
            find(&old_k, k)
                .filter(|o| o != r)
                .map(|o| format!("{o} -> {r}"))
        })
        .collect();
    if !added.is_empty() {
        out.push(format!("added {}", added.join(" ")));
    }
    if !removed.is_empty() {
        out.push(format!("removed {}", removed.join(" ")));
    }
    if !changed.is_empty() {
        out.push(changed.join(", "));
    }
    let order = |l: &[(String, String)]| l.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    if added.is_empty() && removed.is_empty() && order(&old_k) != order(&new_k) {
        out.push(format!("order now {}", new.render()));
    }
    let jobs = |v: &Value<view::Makeflags>| match v {
        Value::Known(m) => m.value.jobs.as_ref().map(|j| match j {
            JobCount::Fixed(n) => format!("-j{n}"),
            JobCount::Computed(e) => format!("-j{e}"),
            JobCount::Unlimited => "-j".into(),
        }),
        _ => None,
    };
    let (old_j, new_j) = (jobs(&before.makeflags), jobs(&after.makeflags));
    if old_j != new_j {
        out.push(format!(
            "{} -> {}",
            old_j.unwrap_or_else(|| "no -j".into()),
            new_j.unwrap_or_else(|| "no -j".into())
        ));
    }
    let on = |v: &Value<bool>| matches!(v, Value::Known(s) if s.value);
    if on(&before.distcc) != on(&after.distcc) {
        out.push(format!(
            "distcc {}",
            if on(&after.distcc) { "on" } else { "off" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makepkg_versions_decide_the_drop_ins() {
        assert_eq!(
            makepkg_version_in("x\ndeclare -r makepkg_version='6.0.2'\n"),
            Some("6.0.2".into())
        );
        assert_eq!(
            makepkg_version_in("makepkg_version=\"7.1.0\""),
            Some("7.1.0".into())
        );
        assert_eq!(makepkg_version_in("nothing here"), None);
        assert!(!Makepkg::Version("6.0.2".into()).reads_drop_ins());
        assert!(!Makepkg::Version("5.2.2".into()).reads_drop_ins());
        assert!(Makepkg::Version("6.1.0".into()).reads_drop_ins());
        assert!(Makepkg::Version("7.1.0".into()).reads_drop_ins());
        assert!(Makepkg::NotFound.reads_drop_ins());
    }

    #[test]
    fn sudo_user_files_are_the_invoking_users() {
        let passwd = "root:x:0:0::/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n";
        assert_eq!(
            sudo_user_home(Some("alice"), true, passwd),
            Some(PathBuf::from("/home/alice"))
        );
        assert_eq!(sudo_user_home(Some("alice"), false, passwd), None);
        assert_eq!(sudo_user_home(Some("root"), true, passwd), None);
        assert_eq!(sudo_user_home(Some("bob"), true, passwd), None);
        assert_eq!(sudo_user_home(None, true, passwd), None);
    }
}
