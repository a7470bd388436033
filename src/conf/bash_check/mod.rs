//! What bash itself reads from the config layers, sourced the way makepkg sources them. Every
//! write is checked with it (the static model of the file is only a guess at what bash does),
//! and `show` and `doctor` compare their static reading with it.

pub mod compare;

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long bash may take to source every layer: a makepkg.conf loads in milliseconds.
pub const TIME_BOUND: Duration = Duration::from_secs(2);

/// Output kept from bash: a reading of a config the tool accepts is far smaller.
const MAX_REPORT: usize = 32 << 20;
const MAX_STDERR: usize = 8 << 10;

/// One file in makepkg's order, as bash is to read it.
pub struct LayerText<'a> {
    pub path: &'a Path,
    pub text: &'a [u8],
    /// A file another layer sources: bash reads it (this text) when that `source` line
    /// runs, not in turn.
    pub sourced: bool,
}

/// A variable as bash holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BashVar {
    /// `$NAME`: for an array, its first element, as distcc and make would get it if exported.
    pub value: String,
    /// Declared as an array (makepkg then exports nothing for it).
    pub array: bool,
}

/// Where bash last changed a value: a layer and a line in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub path: PathBuf,
    pub line: usize,
}

/// What makepkg ends with once bash has sourced every layer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reading {
    /// distcc as makepkg's `check_buildoption` decides: the last `distcc` or `!distcc`
    /// in BUILDENV; None when BUILDENV names neither (distcc off).
    pub distcc: Option<bool>,
    /// BUILDENV's entries other than distcc's, in order.
    pub buildenv_rest: Vec<String>,
    pub hosts: Option<BashVar>,
    pub makeflags: Option<BashVar>,
    /// CARCH, which the port rule of ALARM's distccd follows.
    pub carch: Option<String>,
    /// Every other variable, as `declare -p` prints it.
    pub others: BTreeMap<String, String>,
}

impl BashError {
    /// Whether the config itself is the cause (bad input), not this machine.
    pub fn is_config(&self) -> bool {
        !matches!(self, BashError::NotFound(_) | BashError::Setup(_))
    }
}

impl Reading {
    pub fn distcc_on(&self) -> bool {
        self.distcc == Some(true)
    }
}

/// Why there is no reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BashError {
    /// bash is not on PATH (or could not start).
    NotFound(String),
    TimedOut,
    /// `source` of a layer returned non-zero: makepkg stops with "Failed to source".
    SourceFailed {
        path: PathBuf,
        status: i32,
        stderr: String,
    },
    /// bash ended while reading a layer (an `exit`, a fatal error).
    Stopped {
        path: PathBuf,
        stderr: String,
        /// Where, when a traced run found it (`bash stops reading FILE at line N`).
        at: Option<String>,
    },
    /// The throwaway folder could not be made or handed to the unprivileged user.
    Setup(String),
}

impl std::fmt::Display for BashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let first_line = |s: &str| {
            s.lines()
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(": bash says `{}`", crate::ui::escape(l.trim())))
                .unwrap_or_default()
        };
        match self {
            BashError::NotFound(e) => write!(f, "bash could not be run ({e})"),
            BashError::TimedOut => write!(
                f,
                "bash did not finish sourcing the config within {} s",
                TIME_BOUND.as_secs()
            ),
            BashError::SourceFailed {
                path,
                status,
                stderr,
            } => write!(
                f,
                "sourcing {} ends with status {status}, so makepkg stops with \"Failed to \
                 source\"{}",
                path.display(),
                first_line(stderr)
            ),
            BashError::Stopped {
                path: _,
                stderr,
                at: Some(at),
            } => write!(
                f,
                "{at}, so makepkg would stop there too{}",
                first_line(stderr)
            ),
            BashError::Stopped { path, stderr, .. } => write!(
                f,
                "bash stopped while reading {} (an `exit` or a fatal error), so makepkg would \
                 stop there too{}",
                path.display(),
                first_line(stderr)
            ),
            BashError::Setup(e) => write!(f, "could not prepare the bash check: {e}"),
        }
    }
}

/// The user bash runs as: makepkg never runs as root, and the per-user file is the user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// None: as this process.
    pub ids: Option<(u32, u32)>,
    pub name: String,
    pub home: PathBuf,
}

impl RunAs {
    /// This process when not root; else `SUDO_USER`; else `nobody`.
    pub fn for_process() -> RunAs {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        let home_of = |h: Option<PathBuf>| h.unwrap_or_else(|| PathBuf::from("/nonexistent"));
        if euid != 0 {
            return RunAs {
                ids: None,
                name: std::env::var("USER").unwrap_or_default(),
                home: home_of(dirs::home_dir()),
            };
        }
        let sudo = std::env::var("SUDO_USER").ok().filter(|u| u != "root");
        for name in sudo.iter().map(String::as_str).chain(["nobody"]) {
            if let Some((uid, gid, home)) = passwd_entry(name) {
                return RunAs {
                    ids: Some((uid, gid)),
                    name: name.to_string(),
                    home,
                };
            }
        }
        // No nobody in passwd: the conventional overflow ids.
        RunAs {
            ids: Some((65534, 65534)),
            name: "nobody".into(),
            home: PathBuf::from("/nonexistent"),
        }
    }
}

fn passwd_entry(name: &str) -> Option<(u32, u32, PathBuf)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[0] == name)
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?, PathBuf::from(f[5]))))?
    })
}

/// The driver: makepkg's load_makepkg_config -> source_makepkg_config -> source_safe, one
/// function call per layer (so `local` and plain `declare` in a file stay local, as in
/// makepkg), then a report. No reading sees another's variables. For an edit, one bash
/// starts before the layers are read and stands by (`standby`): the first text the tool sends
/// (the text before the edit) it reads in a subshell, the second (the text after it) itself,
/// so the two readings cost one process start and one fork instead of two process starts
/// (BENCHMARKS.md). Any other reading (the text before again, `show`) is a bash of its own
/// (`alone`). The tool hands bash its files open instead of opening names in a folder the
/// config's user controls: a report goes to fd 3 (moved from stdout; fd 4 for the second
/// text), bash's complaints to stderr (fd 5 for the second text), each a file bounded by
/// `ulimit -f`, the config's own output nowhere. Every reading holds fd 7, the pipe whose
/// end tells the tool that bash and its subshell are done; no code of the config's holds it
/// or fd 3, so a job the config leaves running holds up nothing.
const DRIVER: &str = r#"
exec 3>&1 >/dev/null 6<&0 </dev/null
# $1 the size bound of each file (KiB); $2 `standby` or `alone`, with the descriptors named
# below. A reading's fields (as arguments for `alone`, down fd 6 for `standby`): the number
# of layers, the layers in order, the number of pairs, then pairs: a path some layer
# sources, and the text to read for it.
{ ulimit -f "$1" || :; } 2>/dev/null
source() {
	if [[ -n ${1:-} && -n ${__alarm_distcc_served[$1]:-} ]]; then
		local __alarm_distcc_as=${__alarm_distcc_served[$1]}
		shift
		builtin source "$__alarm_distcc_as" "$@"
	else
		builtin source "$@"
	fi
}
.() { source "$@"; }
# makepkg's source_safe, without the fork of its `$(shopt -p extglob)`: the same state saved.
__alarm_distcc_source() {
	local shellopts='shopt -u extglob'
	shopt -q extglob && shellopts='shopt -s extglob'
	shopt -u extglob
	builtin source "$1" 3>&- 7>&-
	local __alarm_distcc_rc=$?
	eval "$shellopts"
	return $__alarm_distcc_rc
}
__alarm_distcc_load() {
	local __alarm_distcc_i=0 __alarm_distcc_f
	for __alarm_distcc_f in "$@"; do
		printf 'L\0%s\0' "$__alarm_distcc_i" >&3
		__alarm_distcc_source "$__alarm_distcc_f"
		__alarm_distcc_rc=$?
		if ((__alarm_distcc_rc)); then
			printf 'F\0%s\0' "$__alarm_distcc_rc" >&3
			exit 0
		fi
		((__alarm_distcc_i++))
	done
}
# The reading: its layers sourced in order, then the report.
__alarm_distcc_one() {
	declare -gA __alarm_distcc_served=()
	local __alarm_distcc_i __alarm_distcc_j __alarm_distcc_n=$1
	local __alarm_distcc_p=${@:__alarm_distcc_n+2:1}
	for ((__alarm_distcc_i = __alarm_distcc_n + 3; __alarm_distcc_i < __alarm_distcc_n + 3 + 2 * __alarm_distcc_p; __alarm_distcc_i += 2)); do
		__alarm_distcc_j=$((__alarm_distcc_i + 1))
		__alarm_distcc_served[${!__alarm_distcc_i}]=${!__alarm_distcc_j}
	done
	__alarm_distcc_load "${@:2:__alarm_distcc_n}"
	unset -f __alarm_distcc_source __alarm_distcc_load
	unset __alarm_distcc_rc
	local __alarm_distcc_v=none __alarm_distcc_o
	for __alarm_distcc_o in "${BUILDENV[@]}"; do
		case $__alarm_distcc_o in
			distcc) __alarm_distcc_v=on ;;
			'!distcc') __alarm_distcc_v=off ;;
			*) printf 'B\0%s\0' "$__alarm_distcc_o" >&3 ;;
		esac
	done
	printf 'D\0%s\0' "$__alarm_distcc_v" >&3
	[[ -v DISTCC_HOSTS ]] && printf 'H\0%s\0%s\0' "${DISTCC_HOSTS@a}" "$DISTCC_HOSTS" >&3
	[[ -v MAKEFLAGS ]] && printf 'M\0%s\0%s\0' "${MAKEFLAGS@a}" "$MAKEFLAGS" >&3
	[[ -v CARCH ]] && printf 'C\0%s\0' "$CARCH" >&3
	printf 'V\0' >&3
	declare -p >&3
	printf '\0E\0' >&3
}
# The next text from the tool: the number of fields, the throwaway folder (bash works in
# it), then the reading's fields; false once the tool is done.
__alarm_distcc_next() {
	local __alarm_distcc_n
	read -r -d '' -u 6 __alarm_distcc_n || return 1
	mapfile -d '' -n "$__alarm_distcc_n" -u 6 __alarm_distcc_fields
	cd -- "${__alarm_distcc_fields[0]}" || return 1
	unset '__alarm_distcc_fields[0]'
}
if [[ $2 == standby ]]; then
	# $3 the pipe that tells the tool both readings are done; $4 and $5 the second text's
	# report and complaints. The first text is read in a subshell (it must not leave its
	# variables here), the second here.
	eval "exec 7>&$3 4>&$4 5>&$5 $3>&- $4>&- $5>&-"
	if __alarm_distcc_next; then
		(
			exec 4>&- 5>&- 6<&-
			set -- "${__alarm_distcc_fields[@]}"
			unset __alarm_distcc_fields
			__alarm_distcc_one "$@"
		) &
		if __alarm_distcc_next; then
			exec 6<&- 3>&4 2>&5 4>&- 5>&-
			set -- "${__alarm_distcc_fields[@]}"
			unset __alarm_distcc_fields
			__alarm_distcc_one "$@"
		fi
	fi
else
	eval "exec 7>&$3 $3>&-"
	shift 3
	exec 6<&-
	__alarm_distcc_one "$@"
fi
"#;

/// Variables bash keeps itself (or that differ between two runs whatever the config says).
const BASH_OWN: &[&str] = &[
    "BASH",
    "BASHOPTS",
    "BASHPID",
    "BASH_ALIASES",
    "BASH_ARGC",
    "BASH_ARGV",
    "BASH_ARGV0",
    "BASH_CMDS",
    "BASH_COMMAND",
    "BASH_EXECUTION_STRING",
    "BASH_LINENO",
    "BASH_LOADABLES_PATH",
    "BASH_REMATCH",
    "BASH_SOURCE",
    "BASH_SUBSHELL",
    "BASH_VERSINFO",
    "BASH_VERSION",
    "COMP_WORDBREAKS",
    "DIRSTACK",
    "EPOCHREALTIME",
    "EPOCHSECONDS",
    "EUID",
    "FUNCNAME",
    "GROUPS",
    "HISTCMD",
    "HOSTNAME",
    "HOSTTYPE",
    "IFS",
    "LINENO",
    "MACHTYPE",
    "OLDPWD",
    "OPTERR",
    "OPTIND",
    "OSTYPE",
    "PIPESTATUS",
    "PPID",
    "PS4",
    "PWD",
    "RANDOM",
    "SECONDS",
    "SHELLOPTS",
    "SHLVL",
    "SRANDOM",
    "UID",
    "_",
];

/// The bash makepkg runs on (its `#!/usr/bin/bash`), else bash on PATH;
/// `ALARM_DISTCC_BASH` names another one (for systems that keep it elsewhere).
fn find_bash() -> Option<PathBuf> {
    let runnable =
        |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0);
    if let Some(p) = std::env::var_os("ALARM_DISTCC_BASH") {
        let p = PathBuf::from(p);
        return runnable(&p).then_some(p);
    }
    let usr = Path::new("/usr/bin/bash");
    if runnable(usr) {
        return Some(usr.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("bash"))
        .find(|p| runnable(p))
}

/// Sources `layers` in order with real bash, as `run_as`, and reports what makepkg ends with.
pub fn read(layers: &[LayerText], run_as: &RunAs) -> Result<Reading, BashError> {
    let mut pending = Pending::new(run_as)?;
    pending.spawn_alone(layers)?;
    pending.reading()
}

/// One reading's report, and bash's complaints while it read.
type Output = (Vec<u8>, Vec<u8>);

/// bash reading the config. A bash is started before the texts are known (`standby`), so
/// that its start-up runs while the tool reads the layers and plans the edit: it reads the
/// first text it is sent (the text before an edit) in a subshell and the second (the text
/// after it) itself. A reading past those starts a bash of its own. All are collected at
/// once. Dropped unfinished, each bash and whatever the config started are killed.
pub struct Pending {
    bash: PathBuf,
    environment: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    /// The throwaway folder: bash's working folder and the layers' private copies. Made with
    /// the first copy, so that a tool killed before it has nothing to leave behind; held
    /// locked (the open folder) while it is in use, so that one a killed tool left behind can
    /// be told from one in use.
    dir: Option<(
        tempfile::TempDir,
        std::fs::File,
        crate::leftovers::Registered,
    )>,
    /// One copy per distinct layer (its path and text): the readings share what is unchanged.
    copies: Vec<(PathBuf, Vec<u8>, PathBuf)>,
    /// Every bash started, each leading a process group of its own (killed by an interrupt).
    children: Vec<(std::process::Child, crate::leftovers::Registered)>,
    /// Read ends of the pipe each bash holds as fd 7 in everything but the config's own
    /// code: its end of file says that bash and its subshell are done.
    done: Vec<std::fs::File>,
    readings: Vec<Running>,
    ids: Option<(u32, u32)>,
    /// The bash standing by: the pipe its texts' fields go down, and the report and
    /// complaint files of the readings it has yet to make, in order.
    standby: Option<(
        std::process::ChildStdin,
        Vec<(std::fs::File, std::fs::File)>,
    )>,
}

/// One reading: its layers in makepkg's order (a report names them by index), and the
/// nameless files its report and complaints go to.
struct Running {
    in_order: Vec<PathBuf>,
    report: std::fs::File,
    complaints: std::fs::File,
}

impl Pending {
    /// A bash standing by for the texts to read (`add`).
    pub fn standby(run_as: &RunAs) -> Result<Pending, BashError> {
        let mut pending = Pending::new(run_as)?;
        pending.spawn(None)?;
        Ok(pending)
    }

    /// The first reading, started at once.
    pub fn start(first: &[LayerText], run_as: &RunAs) -> Result<Pending, BashError> {
        let mut pending = Pending::standby(run_as)?;
        pending.add(first)?;
        Ok(pending)
    }

    fn new(run_as: &RunAs) -> Result<Pending, BashError> {
        let bash = find_bash().ok_or_else(|| BashError::NotFound("not found on PATH".into()))?;
        Ok(Pending {
            bash,
            environment: environment(run_as),
            dir: None,
            copies: Vec::new(),
            children: Vec::new(),
            done: Vec::new(),
            readings: Vec::new(),
            ids: run_as.ids,
            standby: None,
        })
    }

    /// A further reading: the bash standing by reads it at once, else one of its own starts.
    pub fn add(&mut self, set: &[LayerText]) -> Result<(), BashError> {
        use std::io::Write;
        let Some((mut pipe, mut files)) = self.standby.take() else {
            return self.spawn_alone(set);
        };
        let (fields, in_order) = self.fields(set)?;
        let folder = self.folder()?.into_os_string();
        let mut sent = format!("{}\0", fields.len() + 1).into_bytes();
        for f in std::iter::once(&folder).chain(&fields) {
            sent.extend_from_slice(f.as_encoded_bytes());
            sent.push(0);
        }
        // A bash that is gone already (killed, or the config ended it) has its reading made
        // by a bash of its own instead.
        if pipe.write_all(&sent).is_err() {
            return self.spawn_alone(set);
        }
        let (report, complaints) = files.remove(0);
        self.readings.push(Running {
            in_order,
            report,
            complaints,
        });
        // The pipe closes after the last text this bash reads.
        if !files.is_empty() {
            self.standby = Some((pipe, files));
        }
        Ok(())
    }

    /// The throwaway folder, made the first time it is needed: one the check's user can read
    /// the private copies from, whatever the permissions of the real folders.
    fn folder(&mut self) -> Result<PathBuf, BashError> {
        if let Some((dir, ..)) = &self.dir {
            return Ok(dir.path().to_path_buf());
        }
        let root = self.temp_root();
        let (dir, registered) = crate::leftovers::new_folder(
            || {
                tempfile::Builder::new()
                    .prefix(FOLDER_PREFIX)
                    .tempdir_in(root)
            },
            |dir| dir.path().to_path_buf(),
        )
        .map_err(setup)?;
        let lock = std::fs::File::open(dir.path()).map_err(setup)?;
        lock.lock().map_err(setup)?;
        if let Some((uid, gid)) = self.ids {
            let path = dir.path();
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(setup)?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
                .map_err(setup)?;
        }
        let path = dir.path().to_path_buf();
        self.dir = Some((dir, lock, registered));
        Ok(path)
    }

    /// Where the throwaway folder and the nameless report files go: /tmp for a check run as
    /// another user (who may not reach root's TMPDIR), else TMPDIR.
    fn temp_root(&self) -> PathBuf {
        if self.ids.is_some() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        }
    }

    fn spawn_alone(&mut self, set: &[LayerText]) -> Result<(), BashError> {
        self.spawn(Some(set))
    }

    /// A bash process: for `set` alone, or (None) standing by for two texts.
    fn spawn(&mut self, set: Option<&[LayerText]>) -> Result<(), BashError> {
        // The report and complaint files have no name (O_TMPFILE where the file system has
        // it): the tool hands them over open and reads them back through the same
        // descriptions, so nothing bash (as another user) does reaches them, and there is
        // nothing to remove.
        let root = self.temp_root();
        let file = || tempfile::tempfile_in(&root).map_err(setup);
        let given = |f: &std::fs::File| f.try_clone().map_err(setup);
        // Handed over inherited (no close-on-exec) by this spawn alone and named to bash by
        // number (it moves each where the driver wants it), so that the spawn runs no code of
        // the tool's between fork and exec.
        // (A process another thread started in that moment would inherit them too: the check
        // would then wait for its time bound and refuse, never write. No command does that.)
        let inherited = |f: &dyn AsRawFd| -> Result<OwnedFd, BashError> {
            // SAFETY: F_DUPFD on an open descriptor; the result is owned here.
            let fd = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_DUPFD, 10) };
            if fd < 0 {
                return Err(setup(std::io::Error::last_os_error()));
            }
            // SAFETY: fd was just returned by fcntl and nothing else owns it.
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        };
        let (report, complaints) = (file()?, file()?);
        let (done, done_given) = pipe().map_err(setup)?;
        let mut handed = vec![inherited(&done_given)?];
        let mut cmd = Command::new(&self.bash);
        cmd.args(["--noprofile", "--norc", "-c", DRIVER, "alarm-distcc-check"])
            .arg(((MAX_REPORT >> 10) + 1).to_string());
        let mut second = None;
        let mut in_order = None;
        match set {
            Some(set) => {
                let (fields, order) = self.fields(set)?;
                in_order = Some(order);
                cmd.current_dir(self.folder()?)
                    .arg("alone")
                    .arg(handed[0].as_raw_fd().to_string())
                    .args(fields)
                    .stdin(Stdio::null());
            }
            None => {
                let (next_report, next_complaints) = (file()?, file()?);
                handed.push(inherited(&next_report)?);
                handed.push(inherited(&next_complaints)?);
                // It moves to the throwaway folder once it gets the first text.
                cmd.current_dir("/")
                    .arg("standby")
                    .args(handed.iter().map(|f| f.as_raw_fd().to_string()))
                    .stdin(Stdio::piped());
                second = Some((next_report, next_complaints));
            }
        }
        cmd.env_clear()
            .envs(self.environment.iter().map(|(k, v)| (k, v)))
            .stdout(given(&report)?)
            .stderr(given(&complaints)?)
            .process_group(0);
        if let Some((uid, gid)) = self.ids {
            cmd.uid(uid).gid(gid);
        }
        let spawned = crate::leftovers::new_group(|| cmd.spawn());
        // The tool's copies of what it handed over close now, whether or not bash started,
        // so that the pipe ends when bash's readings do.
        drop((handed, done_given));
        let (mut child, group) =
            spawned.map_err(|e| BashError::NotFound(format!("{}: {e}", self.bash.display())))?;
        self.done.push(done);
        match (in_order, second, child.stdin.take()) {
            (Some(in_order), _, _) => self.readings.push(Running {
                in_order,
                report,
                complaints,
            }),
            (None, Some(next), Some(pipe)) => {
                self.standby = Some((pipe, vec![(report, complaints), next]));
            }
            // A standing-by bash always has its pipe: the stdin asked for above.
            (None, _, _) => {}
        }
        self.children.push((child, group));
        Ok(())
    }

    /// Every reading, once bash has ended (within the time bound). The outer error is the
    /// process's (no bash, a time-out); each reading has its own result.
    pub fn readings(self) -> Result<Vec<Result<Reading, BashError>>, BashError> {
        let in_order: Vec<_> = self.readings.iter().map(|r| r.in_order.clone()).collect();
        let reports = self.finish(MAX_STDERR)?;
        Ok(reports
            .into_iter()
            .zip(in_order)
            .map(|((report, stderr), layers)| {
                parse_report(
                    &report,
                    &layers,
                    String::from_utf8_lossy(&stderr).into_owned(),
                )
            })
            .collect())
    }

    /// The last reading alone (the only one, for a process that read one text).
    pub fn reading(self) -> Result<Reading, BashError> {
        self.readings()?
            .pop()
            .unwrap_or(Err(BashError::Setup("no reading".into())))
    }

    /// Each reading's report and bash's complaints (private copies named by their real
    /// paths), once every bash has ended.
    fn finish(mut self, stderr_cap: usize) -> Result<Vec<Output>, BashError> {
        // A bash still standing by has nothing more to read: it ends.
        self.standby = None;
        // While bash reads: the folders of checks that were killed part-way (SIGKILL leaves
        // no chance to clean up) go.
        if self.dir.is_some() {
            remove_stale_folders(&self.temp_root(), FOLDER_STALE_AFTER);
        }
        let finished = wait_for_end(&self.done, std::time::Instant::now() + TIME_BOUND);
        // Whatever the config left running in the background goes too (and bash itself, on
        // a time-out).
        self.stop();
        if !finished {
            return Err(BashError::TimedOut);
        }
        let read = |mut f: &std::fs::File, cap: usize| {
            let mut kept = Vec::new();
            if f.seek(std::io::SeekFrom::Start(0)).is_ok() {
                let _ = f.take(cap as u64).read_to_end(&mut kept);
            }
            kept
        };
        Ok(self
            .readings
            .iter()
            .map(|r| {
                let report = read(&r.report, MAX_REPORT);
                // bash names the private copies; the user knows the real files.
                let mut stderr =
                    String::from_utf8_lossy(&read(&r.complaints, stderr_cap)).into_owned();
                for (path, _, name) in self.copies.iter().rev() {
                    stderr = stderr.replace(
                        name.to_string_lossy().as_ref(),
                        path.to_string_lossy().as_ref(),
                    );
                }
                (report, stderr.into_bytes())
            })
            .collect())
    }

    /// Kills each bash's process group (bash, its subshell and whatever the config started)
    /// and reaps each bash.
    fn stop(&mut self) {
        for (mut child, group) in self.children.drain(..) {
            // SAFETY: kill has no memory preconditions; the group is the child's own.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            // Off the interrupt's list before it is reaped: its id may then be reused.
            drop(group);
            let _ = child.wait();
        }
    }

    /// A reading's fields for the driver, its layers copied into the throwaway folder, and
    /// its layers in order.
    fn fields(
        &mut self,
        set: &[LayerText],
    ) -> Result<(Vec<std::ffi::OsString>, Vec<PathBuf>), BashError> {
        let mut in_order = Vec::new();
        let mut in_order_paths = Vec::new();
        let mut served = Vec::new();
        for layer in set {
            let name = self.copy_of(layer)?;
            if layer.sourced {
                served.push(layer.path.as_os_str().to_owned());
                served.push(name.into_os_string());
            } else {
                in_order.push(name.into_os_string());
                in_order_paths.push(layer.path.to_path_buf());
            }
        }
        let mut fields: Vec<std::ffi::OsString> = vec![in_order.len().to_string().into()];
        fields.extend(in_order);
        fields.push((served.len() / 2).to_string().into());
        fields.extend(served);
        Ok((fields, in_order_paths))
    }

    fn copy_of(&mut self, layer: &LayerText<'_>) -> Result<PathBuf, BashError> {
        if let Some((_, _, name)) = self
            .copies
            .iter()
            .find(|(p, t, _)| p == layer.path && t == layer.text)
        {
            return Ok(name.clone());
        }
        let name = self
            .folder()?
            .join(format!("layer-{}.conf", self.copies.len()));
        create_new(&name, layer.text, self.ids)?;
        self.copies
            .push((layer.path.to_path_buf(), layer.text.to_vec(), name.clone()));
        Ok(name)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The start of each throwaway folder's name.
const FOLDER_PREFIX: &str = "alarm-distcc-bash-";

/// How old an unlocked throwaway folder must be to count as left behind: a new folder is
/// locked a moment after it is made, so age covers that moment.
const FOLDER_STALE_AFTER: Duration = Duration::from_secs(60);

/// Removes the throwaway folders in `root` that no check holds (the tool that made each was
/// killed) and that are older than `age`. Folders this process may not remove (another
/// user's, in a sticky /tmp) stay; nothing here fails a check.
fn remove_stale_folders(root: &Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .as_encoded_bytes()
            .starts_with(FOLDER_PREFIX.as_bytes())
        {
            continue;
        }
        let path = entry.path();
        // A real folder (not a link to one), unchanged for `age`.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|e| e >= age);
        if !meta.is_dir() || !old {
            continue;
        }
        let Ok(folder) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(&path)
        else {
            continue;
        };
        // Held by a check still running: not ours to remove. (remove_dir_all follows no link.)
        if folder.try_lock().is_ok() {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Whether every pipe reached its end (each bash, and the subshell it started, is done)
/// before `deadline`.
fn wait_for_end(pipes: &[std::fs::File], deadline: std::time::Instant) -> bool {
    let mut open: Vec<libc::pollfd> = pipes
        .iter()
        .map(|p| libc::pollfd {
            fd: p.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let mut buf = [0u8; 64];
    while !open.is_empty() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: the array holds open.len() initialised pollfd entries.
        let n = unsafe { libc::poll(open.as_mut_ptr(), open.len() as libc::nfds_t, ms) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return false;
        }
        open.retain(|p| {
            if p.revents == 0 {
                return true;
            }
            // Nothing is written to the pipe; a read of 0 is its end.
            // SAFETY: reads into a buffer of the length given.
            let got = unsafe { libc::read(p.fd, buf.as_mut_ptr().cast(), buf.len()) };
            got > 0
                || (got < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted)
        });
    }
    true
}

/// A new file in the throwaway folder, never one found there: once a bash runs in it as
/// another user, a name there may be that user's link to anywhere. Handed to `owner` through
/// the open file, not its name, for the same reason.
fn create_new(path: &Path, bytes: &[u8], owner: Option<(u32, u32)>) -> Result<(), BashError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(setup)?;
    file.write_all(bytes).map_err(setup)?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::fchown(&file, Some(uid), Some(gid)).map_err(setup)?;
    }
    Ok(())
}

/// A pipe (read end, write end), neither inherited by a process started later.
fn pipe() -> std::io::Result<(std::fs::File, std::fs::File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both were just opened by pipe2 and nothing else owns them.
    Ok(unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    })
}

fn setup(e: std::io::Error) -> BashError {
    BashError::Setup(e.to_string())
}

/// The environment makepkg would read the config in: the user's own (an MSYS2 config reads
/// `MSYSTEM`, others `HOSTNAME` or `XDG_*`), less what would make bash itself run or read
/// other code (`BASH_ENV`, exported functions, shell options) or, when the check runs as
/// another user, what the dynamic loader follows. HOME, USER and LOGNAME are the user's.
pub fn environment(run_as: &RunAs) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let as_other_user = run_as.ids.is_some();
    let mut env: Vec<_> = std::env::vars_os()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            !(NEVER_PASSED.contains(&k.as_ref())
                || k.starts_with("BASH_FUNC_")
                || (as_other_user && k.starts_with("LD_"))
                || matches!(k.as_ref(), "HOME" | "USER" | "LOGNAME"))
        })
        .collect();
    env.push(("HOME".into(), run_as.home.clone().into_os_string()));
    env.push(("USER".into(), run_as.name.clone().into()));
    env.push(("LOGNAME".into(), run_as.name.clone().into()));
    env
}

/// Never handed to the check's bash: each makes bash run or read code the config does not
/// hold, or changes how bash reads it.
const NEVER_PASSED: &[&str] = &[
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "POSIXLY_CORRECT",
    "PS4",
    "CDPATH",
    "GLOBIGNORE",
    "IFS",
    "PROMPT_COMMAND",
    "BASH_XTRACEFD",
    "BASH_COMPAT",
    "EXECIGNORE",
    "TMOUT",
];

fn parse_report(report: &[u8], in_order: &[PathBuf], stderr: String) -> Result<Reading, BashError> {
    let mut fields = report.split(|&b| b == 0);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut reading = Reading::default();
    let mut layer: Option<usize> = None;
    let mut complete = false;
    let layer_path =
        |i: Option<usize>| i.and_then(|i| in_order.get(i)).cloned().unwrap_or_default();
    while let Some(tag) = fields.next() {
        match tag {
            b"L" => layer = fields.next().and_then(|i| text(i).parse().ok()),
            b"F" => {
                let status = fields.next().map_or(1, |s| text(s).parse().unwrap_or(1));
                return Err(BashError::SourceFailed {
                    path: layer_path(layer),
                    status,
                    stderr,
                });
            }
            b"B" => reading
                .buildenv_rest
                .push(text(fields.next().unwrap_or_default())),
            b"D" => {
                reading.distcc = match fields.next() {
                    Some(b"on") => Some(true),
                    Some(b"off") => Some(false),
                    _ => None,
                }
            }
            b"C" => reading.carch = Some(text(fields.next().unwrap_or_default())),
            b"H" | b"M" => {
                let attrs = text(fields.next().unwrap_or_default());
                let var = BashVar {
                    array: attrs.contains('a') || attrs.contains('A'),
                    value: text(fields.next().unwrap_or_default()),
                };
                if tag == b"H" {
                    reading.hosts = Some(var);
                } else {
                    reading.makeflags = Some(var);
                }
            }
            b"V" => {
                let decls = fields.next().unwrap_or_default();
                reading.others = split_declarations(&text(decls));
            }
            b"E" => {
                complete = true;
                break;
            }
            _ => {}
        }
    }
    if !complete {
        return Err(BashError::Stopped {
            path: layer_path(layer),
            stderr,
            at: None,
        });
    }
    Ok(reading)
}

/// `declare -p` output split by variable. A value holding a line that starts with
/// `declare ` only moves text between two entries: any change still shows as a difference.
fn split_declarations(text: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("declare ") {
            if let Some((k, v)) = current.take() {
                vars.insert(k, v);
            }
            let decl = rest.split_once(' ').map_or("", |x| x.1);
            let name: String = decl
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            current = Some((name, line.to_string()));
        } else if let Some((_, v)) = current.as_mut() {
            v.push_str(line);
        }
    }
    if let Some((k, v)) = current.take() {
        vars.insert(k, v);
    }
    vars.retain(|k, _| {
        !BASH_OWN.contains(&k.as_str())
            && !k.starts_with("__alarm_distcc")
            && !matches!(k.as_str(), "BUILDENV" | "DISTCC_HOSTS" | "MAKEFLAGS")
    });
    vars
}

/// The traced run, for a message: where bash last changed each watched value. Only run once
/// a difference is found, since the trap costs a check per command.
pub fn origins(layers: &[LayerText], run_as: &RunAs) -> BTreeMap<String, Origin> {
    trace(layers, run_as).origins
}

/// What the traced run found: where each watched value was last set, and the furthest line
/// bash ran in each file (an `exit` or `return` there ends its reading; the furthest, since
/// bash's own exit handling reports line 1 of the file once more).
#[derive(Debug, Default)]
pub struct Trace {
    pub origins: BTreeMap<String, Origin>,
    pub last_lines: BTreeMap<PathBuf, usize>,
    /// bash's own complaints with their file and line (`FILE: line N: BUILDENV: readonly
    /// variable`), the first few.
    pub errors: Vec<String>,
}

pub fn trace(layers: &[LayerText], run_as: &RunAs) -> Trace {
    // The trap is installed by a first layer of its own, so every real layer and the
    // functions they call are watched (functrace), each command with its file and line.
    let trap = "set -T\n\
        declare -gA __alarm_distcc_seen=()\n\
        __alarm_distcc_w() { local n v; for n in BUILDENV DISTCC_HOSTS MAKEFLAGS; do \
        if [[ $n == BUILDENV ]]; then v=\"${BUILDENV[*]-}\"; else v=\"${!n-$'\\1'}\"; fi; \
        if [[ ${__alarm_distcc_seen[$n]-$'\\2'} != \"$v\" ]]; then __alarm_distcc_seen[$n]=$v; \
        printf '\\0O\\0%s\\0%s\\0' \"$n\" \"$__alarm_distcc_at\" >&2; fi; done; \
        __alarm_distcc_at=\"${BASH_SOURCE[1]}:${BASH_LINENO[0]}\"; \
        local f=${BASH_SOURCE[1]:-?}; \
        (( ${__alarm_distcc_last[$f]:-0} < BASH_LINENO[0] )) && \
        __alarm_distcc_last[$f]=${BASH_LINENO[0]}; return 0; }\n\
        declare -gA __alarm_distcc_last=()\n\
        __alarm_distcc_end() { local k; for k in \"${!__alarm_distcc_last[@]}\"; do \
        printf '\\0L\\0%s\\0%s\\0' \"$k\" \"${__alarm_distcc_last[$k]}\" >&2; done; }\n\
        trap __alarm_distcc_end EXIT\n\
        trap __alarm_distcc_w DEBUG\n";
    let mut all: Vec<LayerText> = vec![LayerText {
        path: Path::new("(trace)"),
        text: trap.as_bytes(),
        sourced: false,
    }];
    all.extend(layers.iter().map(|l| LayerText {
        path: l.path,
        text: l.text,
        sourced: l.sourced,
    }));
    let mut out = Trace::default();
    let Some((_, stderr)) = Pending::start(&all, run_as)
        .and_then(|p| p.finish(MAX_REPORT))
        .ok()
        .and_then(|mut r| r.pop())
    else {
        return out;
    };
    let mut fields = stderr.split(|&b| b == 0);
    while let Some(tag) = fields.next() {
        if tag != b"O" && tag != b"L" {
            for l in String::from_utf8_lossy(tag).lines() {
                if l.contains(": line ")
                    && out.errors.len() < 3
                    && !out.errors.iter().any(|e| e == l)
                {
                    out.errors.push(l.trim().to_string());
                }
            }
            continue;
        }
        let (Some(name), Some(at)) = (fields.next(), fields.next()) else {
            break;
        };
        let (source, line) = if tag == b"L" {
            (
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(at).into_owned(),
            )
        } else {
            let at = String::from_utf8_lossy(at);
            let Some((source, line)) = at.rsplit_once(':') else {
                continue;
            };
            (source.to_string(), line.to_string())
        };
        let source = source.as_str();
        let Ok(line) = line.parse::<usize>() else {
            continue;
        };
        // bash's messages name the real files (run() puts them back, a relative path
        // included); a private copy left in them (layer 0 is the trap's own) names its file;
        // any other file is one bash read from disk itself (a `source` the tool does not edit).
        let copy = source
            .rsplit_once("/layer-")
            .and_then(|(_, n)| n.trim_end_matches(".conf").parse::<usize>().ok());
        let path = if let Some(l) = layers.iter().find(|l| l.path.as_os_str() == source) {
            l.path.to_path_buf()
        } else if let Some(i) = copy {
            match i.checked_sub(1).and_then(|i| layers.get(i)) {
                Some(l) => l.path.to_path_buf(),
                None => continue,
            }
        } else if source.starts_with('/') {
            PathBuf::from(source)
        } else {
            continue;
        };
        if tag == b"L" {
            out.last_lines.insert(path, line);
        } else {
            out.origins.insert(
                String::from_utf8_lossy(name).into_owned(),
                Origin { path, line },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder a killed check left (unlocked, older than the bound) goes; one a running
    /// check holds, a new one (made a moment before its lock), a link to a folder and a
    /// folder of another name stay.
    #[test]
    fn only_folders_no_check_holds_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let make = |name: &str| {
            let path = root.path().join(name);
            std::fs::create_dir(&path).unwrap();
            std::fs::write(path.join("layer-0.conf"), "A=1\n").unwrap();
            path
        };
        let backdate = |path: &Path| {
            let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
            std::fs::File::open(path)
                .unwrap()
                .set_modified(hour_ago)
                .unwrap();
        };
        let left = make("alarm-distcc-bash-left");
        let held = make("alarm-distcc-bash-held");
        let new = make("alarm-distcc-bash-new");
        let other = make("someone-else");
        let target = make("linked-to");
        let link = root.path().join("alarm-distcc-bash-link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for p in [&left, &held, &other, &target] {
            backdate(p);
        }
        let lock = std::fs::File::open(&held).unwrap();
        lock.lock().unwrap();
        remove_stale_folders(root.path(), FOLDER_STALE_AFTER);
        assert!(
            !left.exists(),
            "the folder a killed check left is still there"
        );
        for kept in [&held, &new, &other, &target] {
            assert!(
                kept.join("layer-0.conf").exists(),
                "{} was removed",
                kept.display()
            );
        }
        assert!(std::fs::symlink_metadata(&link).is_ok());
        // Once its check is done, the held one goes too. (A process another test forks
        // meanwhile holds the lock until it execs: a moment, so it is tried again briefly.)
        drop(lock);
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        remove_stale_folders(root.path(), FOLDER_STALE_AFTER);
        while held.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            remove_stale_folders(root.path(), FOLDER_STALE_AFTER);
        }
        assert!(!held.exists());
    }

    /// A config runs as the check's user in the throwaway folder while the tool still copies
    /// texts into it: a link it plants under a name the tool is about to use must make the
    /// copy fail, never be written through (as root, that would write anywhere).
    #[test]
    fn a_name_planted_by_the_config_is_never_written_through() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "untouched\n").unwrap();
        let planting = format!(
            "ln -s '{}' layer-1.conf\nBUILDENV=(!distcc)\n",
            victim.display()
        );
        let path = Path::new("/etc/makepkg.conf");
        let first = [LayerText {
            path,
            text: planting.as_bytes(),
            sourced: false,
        }];
        let mut pending = Pending::start(&first, &RunAs::for_process()).unwrap();
        // The link is in place before the text after the edit is copied in.
        let planted = pending.folder().unwrap().join("layer-1.conf");
        let deadline = std::time::Instant::now() + TIME_BOUND;
        while std::fs::symlink_metadata(&planted).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the config did not plant its link"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let second = [LayerText {
            path,
            text: b"BUILDENV=(distcc)\n",
            sourced: false,
        }];
        assert!(
            pending.add(&second).is_err(),
            "the copy was made through the planted link"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
    }
}
