//! `alarm-distcc build [MAKEPKG ARGS...]`: runs the real makepkg (as the user, as makepkg
//! insists) with the config makepkg reads, with distcc's own log and state for this run
//! (DISTCC_LOG with DISTCC_VERBOSE=1 for its reasons, a private DISTCC_DIR), shows a live
//! status line on a terminal, and ends with a receipt, kept in the state folder. makepkg's
//! exit code is passed through.

pub mod live;
mod sampler;

use crate::conf::layers;
use crate::distcc::hosts::{HostList, HostSpec};
use crate::error::bad_input;
use crate::pool::{Plan, Pool, Tools};
use crate::receipts::receipt::{Context, Receipt, rfc3339};
use crate::receipts::{state, store};
use crate::session::Session;
use crate::supervise::{self, Guard};
use crate::ui::status;
use anyhow::{Context as _, Result, anyhow};
use live::{HostLine, Status};
use sampler::Sampling;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

/// `build`'s options, as the command line gives them.
#[derive(Debug, clap::Args)]
pub struct BuildOptions {
    /// Build once with distcc off first, then with it, and record both (each forced,
    /// from a clean src/: makepkg -f -C)
    #[arg(long)]
    pub baseline: bool,
    /// Keep comments when the Pi preprocesses (gcc -C added to CFLAGS and CXXFLAGS for this
    /// run): a -Werror package whose `/* fall through */` comments the helper would not see
    /// then compiles there as it does on the Pi
    #[arg(long)]
    pub keep_comments: bool,
    /// makepkg's own arguments
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "MAKEPKG_ARGS"
    )]
    pub makepkg_args: Vec<String>,
}

/// makepkg's exit code, for `main` to pass on (nothing more is printed for it).
#[derive(Debug)]
pub struct MakepkgExit(pub i32);

impl std::fmt::Display for MakepkgExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "makepkg exited with {}", self.0)
    }
}

impl std::error::Error for MakepkgExit {}

/// What the config says for the build, as bash reads it where bash can.
struct Setup {
    main: PathBuf,
    distcc: bool,
    hosts: String,
    listed: Vec<(String, u32)>,
    /// MAKEFLAGS as bash reads it from the layers.
    makeflags: Option<String>,
    /// CFLAGS and CXXFLAGS as bash reads them (for --keep-comments).
    cflags: Option<String>,
    cxxflags: Option<String>,
    pkgext: Option<String>,
    compressor: Option<(String, Vec<String>)>,
    /// makepkg's own layers, in its order (for the --baseline config).
    layer_files: Vec<PathBuf>,
    /// The build tools on PATH (looked up once: --baseline builds twice), and the folder of
    /// the pool's wrapper: a stable one, since cmake records the ninja it found.
    tools: Tools,
    wrapper_dir: Option<PathBuf>,
}

pub fn run(session: &Session, opts: &BuildOptions) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return Err(bad_input(
            "makepkg refuses to run as root, and so does build: run it as your build user \
             (makepkg asks for sudo itself when it installs dependencies)",
        ));
    }
    let makepkg = which("makepkg").ok_or_else(|| {
        anyhow!("makepkg is not on PATH: install pacman (it ships makepkg), then run build again")
    })?;
    let setup = read_setup(session)?;
    let store_path = store::path();
    let mut previous = match &store_path {
        Some(p) => store::read(p).map(|(r, _)| r).unwrap_or_default(),
        None => Vec::new(),
    };
    let mut args = opts.makepkg_args.clone();
    if opts.keep_comments {
        args = with_comments_kept(&args, [setup.cflags.as_deref(), setup.cxxflags.as_deref()]);
        status!(
            "build --keep-comments: gcc -C added to CFLAGS and CXXFLAGS for this run (the \
             config files stay as they are)"
        );
    }
    if opts.baseline {
        // Both builds must compile everything: forced, from a clean src/.
        for flag in ["-f", "-C"] {
            if !args.iter().any(|a| a == flag) {
                args.push(flag.into());
            }
        }
        status!("build --baseline: first without distcc, then with it");
        let receipt = build_once(session, opts, &makepkg, &setup, &args, true, &previous)?;
        let receipt = keep_and_show(&store_path, receipt)?;
        previous.push(receipt);
    }
    let receipt = build_once(session, opts, &makepkg, &setup, &args, false, &previous)?;
    keep_and_show(&store_path, receipt)?;
    Ok(())
}

/// Keeps the receipt and prints it; makepkg's failure becomes its exit code. A makepkg
/// that stopped before naming a package (no PKGBUILD, a bad option) built nothing: no
/// receipt is kept for it, so doctor and `builds` never count it as a build.
fn keep_and_show(store_path: &Option<PathBuf>, receipt: Receipt) -> Result<Receipt> {
    if receipt.package.is_none() && receipt.exit_code != 0 && !receipt.interrupted {
        status!(
            "makepkg exited {} before it started a package: no receipt kept",
            receipt.exit_code
        );
        return Err(MakepkgExit(receipt.exit_code).into());
    }
    record(store_path, &receipt);
    // The receipt has no colours of its own: every control character in it came from outside.
    let text = crate::ui::escape(&receipt.render());
    eprint!(
        "{}",
        crate::ui::fit_report(&text, &console::Term::stderr(), 2)
    );
    if receipt.exit_code != 0 {
        return Err(MakepkgExit(receipt.exit_code).into());
    }
    Ok(receipt)
}

fn record(path: &Option<PathBuf>, receipt: &Receipt) {
    match path {
        Some(p) => {
            if let Err(e) = store::append(p, receipt) {
                status!(
                    "warning: the receipt could not be kept in {}: {e}",
                    p.display()
                );
            }
        }
        None => status!("warning: no state folder (HOME unset): the receipt is not kept"),
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn read_setup(session: &Session) -> Result<Setup> {
    let docs = session.layers()?;
    let eff = layers::effective(&docs);
    let reading = session
        .bash_differences(&docs)
        .ok()
        .flatten()
        .map(|(r, _)| r);
    let distcc = match &reading {
        Some(r) => r.distcc_on(),
        None => matches!(&eff.distcc, layers::Value::Known(s) if s.value),
    };
    let hosts = match &reading {
        Some(r) => r
            .hosts
            .as_ref()
            .map(|h| h.value.clone())
            .unwrap_or_default(),
        None => layers::hosts_of(&eff.hosts)
            .map(|l| l.render())
            .unwrap_or_default(),
    };
    let list = HostList::parse(&hosts);
    let listed = list
        .specs()
        .filter_map(|s| match s {
            HostSpec::Local { .. } => Some(("localhost".to_string(), s.slots())),
            _ => s.host_port().map(|hp| (hp, s.slots())),
        })
        .collect();
    let makeflags = match &reading {
        Some(r) => r.makeflags.as_ref().map(|m| m.value.clone()),
        None => layers::layered_scalar(&docs, "MAKEFLAGS"),
    };
    let other = |name: &str| reading.as_ref().and_then(|r| r.others.get(name).cloned());
    let flags = |name: &str| {
        other(name)
            .map(|d| declared_scalar(&d))
            .or_else(|| layers::layered_scalar(&docs, name))
    };
    let pkgext = other("PKGEXT")
        .map(|d| declared_scalar(&d))
        .or_else(|| layers::layered_scalar(&docs, "PKGEXT"));
    let compressor = pkgext.as_deref().and_then(|ext| {
        let var = match ext.rsplit('.').next()? {
            "xz" => "COMPRESSXZ",
            "zst" => "COMPRESSZST",
            "gz" => "COMPRESSGZ",
            "bz2" => "COMPRESSBZ2",
            "lz4" => "COMPRESSLZ4",
            "lrz" => "COMPRESSLRZ",
            "lzo" => "COMPRESSLZO",
            "lz" => "COMPRESSLZ",
            _ => return None,
        };
        Some((var.to_string(), declared_array(&other(var)?)))
    });
    let layer_files = layers::layers(&session.main, &session.env)
        .into_iter()
        .map(|l| l.path)
        .filter(|p| p.is_file())
        .collect();
    let wrapper_dir = store::dir().map(|d| d.join("bin"));
    Ok(Setup {
        main: session.main.clone(),
        distcc,
        hosts,
        listed,
        makeflags,
        cflags: flags("CFLAGS"),
        cxxflags: flags("CXXFLAGS"),
        pkgext,
        compressor,
        layer_files,
        tools: Tools::find(
            &std::env::var_os("PATH").unwrap_or_default(),
            wrapper_dir.as_deref(),
        ),
        wrapper_dir,
    })
}

/// makepkg's arguments with `-C` added to CFLAGS and CXXFLAGS (the config's, or the ones
/// given as makepkg arguments): distcc's preprocessing on the Pi then keeps comments, so the
/// helper sees `/* fall through */` as the Pi's own compile does. makepkg exports a trailing
/// VAR=value after reading the config layers, as it does MAKEFLAGS; the files stay as they are.
fn with_comments_kept(args: &[String], configured: [Option<&str>; 2]) -> Vec<String> {
    let mut out: Vec<String> = args.to_vec();
    for (name, configured) in ["CFLAGS", "CXXFLAGS"].into_iter().zip(configured) {
        let prefix = format!("{name}=");
        let given = out
            .iter()
            .rev()
            .find_map(|a| a.strip_prefix(&prefix).map(str::to_string));
        let value = given
            .or_else(|| configured.map(str::to_string))
            .unwrap_or_default();
        if value.split_whitespace().any(|w| w == "-C") {
            continue;
        }
        out.retain(|a| !a.starts_with(&prefix));
        let sep = if value.trim().is_empty() { "" } else { " " };
        out.push(format!("{prefix}{}{sep}-C", value.trim_end()));
    }
    out
}

/// The last `-jN` (or `--jobs=N`) in MAKEFLAGS, as make takes it.
fn last_jobs(makeflags: &str) -> Option<u32> {
    let words: Vec<&str> = makeflags.split_whitespace().collect();
    let mut jobs = None;
    for (i, w) in words.iter().enumerate() {
        let n = if let Some(n) = w.strip_prefix("--jobs=") {
            n.parse().ok()
        } else if *w == "-j" || *w == "--jobs" {
            words.get(i + 1).and_then(|n| n.parse().ok())
        } else if let Some(n) = w.strip_prefix("-j") {
            n.parse().ok()
        } else {
            None
        };
        if n.is_some() {
            jobs = n;
        }
    }
    jobs
}

/// MAKEFLAGS with its `-j` words replaced by `-jN` (the baseline's own count).
fn with_jobs(makeflags: &str, jobs: u32) -> String {
    let mut kept = Vec::new();
    let mut skip_number = false;
    for w in makeflags.split_whitespace() {
        if skip_number {
            skip_number = false;
            if w.parse::<u32>().is_ok() {
                continue;
            }
        }
        if w == "-j" || w == "--jobs" {
            skip_number = true;
        } else if !(w.starts_with("--jobs=")
            || w.strip_prefix("-j")
                .is_some_and(|n| n.parse::<u32>().is_ok()))
        {
            kept.push(w);
        }
    }
    let jobs = format!("-j{jobs}");
    kept.push(&jobs);
    kept.join(" ")
}

/// The value in `declare -- NAME="value"` (bash's `declare -p`).
fn declared_scalar(decl: &str) -> String {
    let Some((_, v)) = decl.split_once('=') else {
        return String::new();
    };
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
        .replace("\\\"", "\"")
}

/// The elements of `declare -a NAME=([0]="a" [1]="b")`.
fn declared_array(decl: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = decl;
    while let Some(at) = rest.find("]=\"") {
        let tail = &rest[at + 3..];
        let mut value = String::new();
        let mut chars = tail.char_indices();
        let mut end = tail.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.push(value);
        rest = &tail[end..];
    }
    out
}

/// The baseline's job count: this machine's `localhost/N`, else its CPU count.
fn baseline_jobs(setup: &Setup) -> u32 {
    let local = HostList::parse(&setup.hosts).local_slots();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    if local > 0 { local } else { cores }
}

/// A config for the --baseline run: makepkg's own layers sourced in its order, then distcc
/// off (makepkg's check_buildoption takes the last entry) and -j for this machine alone.
fn baseline_config(dir: &Path, setup: &Setup) -> Result<PathBuf> {
    use crate::session::shell_quote;
    let local = HostList::parse(&setup.hosts).local_slots();
    let jobs = baseline_jobs(setup);
    let mut text = String::from(
        "# alarm-distcc build --baseline: the layers makepkg reads, in its order, then distcc off\n",
    );
    for f in &setup.layer_files {
        text.push_str(&format!(
            "source {}\n",
            shell_quote(&f.display().to_string())
        ));
    }
    text.push_str("BUILDENV+=(!distcc)\n");
    // A distcc reached some other way (a masquerade folder already on PATH) gets only this
    // machine: DISTCC_HOSTS from the environment would be the config's value again.
    text.push_str(&format!("DISTCC_HOSTS=\"localhost/{}\"\n", local.max(1)));
    // MAKEFLAGS' other words stay; only its -j is this machine's.
    text.push_str(&format!(
        "read -ra _alarm_w <<<\"${{MAKEFLAGS-}}\"; _alarm_k=(); _alarm_s=0\n\
         for _alarm_x in \"${{_alarm_w[@]}}\"; do\n\
         \x20 if ((_alarm_s)); then _alarm_s=0; [[ $_alarm_x == +([0-9]) ]] && continue; fi\n\
         \x20 case $_alarm_x in -j|--jobs) _alarm_s=1 ;; -j[0-9]*|--jobs=*) ;; *) _alarm_k+=(\"$_alarm_x\") ;; esac\n\
         done\n\
         MAKEFLAGS=\"${{_alarm_k[*]}}${{_alarm_k[*]:+ }}-j{jobs}\"\n\
         unset _alarm_w _alarm_k _alarm_s _alarm_x\n"
    ));
    let path = dir.join("baseline-makepkg.conf");
    std::fs::write(&path, text)?;
    Ok(path)
}

fn build_once(
    session: &Session,
    opts: &BuildOptions,
    makepkg: &Path,
    setup: &Setup,
    args: &[String],
    baseline: bool,
    previous: &[Receipt],
) -> Result<Receipt> {
    let run_dir = tempfile::Builder::new()
        .prefix("alarm-distcc-build-")
        .tempdir()
        .context("a private folder for distcc's state")?;
    let distcc_dir = run_dir.path().join("distcc");
    // distcc makes lock/ and state/ inside DISTCC_DIR, never DISTCC_DIR itself.
    std::fs::create_dir_all(distcc_dir.join("lock"))?;
    std::fs::create_dir_all(distcc_dir.join("state"))?;
    let log_path = run_dir.path().join("distcc.log");
    std::fs::write(&log_path, "")?;
    // The build's own TMPDIR, inside the run's folder: distcc makes its temporary files
    // there (the preprocessed text, the helper's stderr), and one it could not remove (a
    // Ctrl-C between making a file and registering it for removal) goes with the folder.
    // Created inside the user's own TMPDIR, so on the same disk.
    let build_tmp = run_dir.path().join("tmp");
    std::fs::create_dir(&build_tmp)?;
    let distcc = setup.distcc && !baseline;

    let Pooled {
        args,
        pool,
        jobs: run_jobs,
    } = with_pool(args, setup, baseline, run_dir.path())?;
    let mut cmd = Command::new(makepkg);
    if baseline {
        cmd.arg("--config")
            .arg(baseline_config(run_dir.path(), setup)?);
        // A distcc reached some other way (a masquerade folder already on PATH) compiles
        // here too: the baseline is this machine alone.
        let local = HostList::parse(&setup.hosts).local_slots().max(1);
        cmd.env("DISTCC_HOSTS", format!("localhost/{local}"));
    } else if let Some(c) = &session.opts.config {
        cmd.arg("--config").arg(c);
    }
    cmd.args(&args)
        .env("TMPDIR", &build_tmp)
        .env("DISTCC_DIR", &distcc_dir)
        .env("DISTCC_LOG", &log_path)
        .env("DISTCC_VERBOSE", "1");
    if let Some(p) = &pool {
        cmd.envs(p.env());
    }

    let started_wall = SystemTime::now();
    let started = Instant::now();
    let status = Arc::new(Mutex::new(Status {
        hosts: setup
            .listed
            .iter()
            .map(|(h, s)| HostLine {
                host: h.clone(),
                slots: *s,
                ..HostLine::default()
            })
            .collect(),
        started: Some(started),
        ..Status::default()
    }));
    let sampling = Sampling::start(
        &log_path,
        &distcc_dir,
        &build_tmp,
        &setup.listed,
        &status,
        started,
        pool.clone(),
    );
    let on_line = {
        let seen = Arc::clone(&sampling.seen);
        move |line: &str| {
            if let Ok(mut s) = seen.lock() {
                s.phases.line(line, started.elapsed().as_secs_f64());
            }
        }
    };
    // If this process dies without finishing (SIGKILL), the guard ends makepkg's group and
    // removes the run's folder with the pool's fifo.
    let mut guard = Guard::start(run_dir.path())?;
    let code = run_makepkg(cmd, makepkg, &mut guard, &status, on_line)?;
    guard.done();
    let wall = started.elapsed().as_secs_f64();
    let mut seen = sampling.stop()?;
    seen.log.finish(wall);
    seen.log.attach_helper_stderr(&seen.helper_stderr);
    let mut backoff_seen = seen.backoff.clone();
    backoff_seen.extend(
        state::backoffs(&distcc_dir, state::backoff_period())
            .into_iter()
            .map(|(h, _)| h),
    );
    let started_unix = started_wall
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let ctx = Context {
        started: rfc3339(started_unix),
        started_unix,
        wall_seconds: wall,
        exit_code: code,
        config: setup.main.display().to_string(),
        distcc,
        baseline,
        distcc_hosts: if distcc {
            setup.hosts.clone()
        } else {
            String::new()
        },
        listed: if distcc {
            setup.listed.clone()
        } else {
            Vec::new()
        },
        // The count this run had (the baseline's own, not the distcc run's).
        jobs: run_jobs,
        most_at_once: seen.most_at_once,
        most_at_once_by_phase: seen.most_at_once_by_phase.clone(),
        backoff_seen,
        pkgext: setup.pkgext.clone(),
        compressor: setup.compressor.clone(),
        pool: pool.as_ref().map(|p| seen.pool_use(p)),
        build_systems: seen.build_systems.clone(),
        backoff_lifted: seen.backoff_lifted,
        comments_kept: opts.keep_comments,
        cpu: std::mem::take(&mut seen.cpu),
        // Only asked when no unit went through distcc: it reads every folder on PATH.
        distcc_reachable: seen.log.done.iter().any(|j| j.is_unit())
            || crate::distcc::compat::distcc_masquerade_on(std::env::var_os("PATH")),
        cc_env: ["CC", "CXX"]
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect(),
    };
    Ok(Receipt::new(&ctx, &seen.log.done, &seen.phases, previous))
}

/// makepkg's arguments with the run's job pool in them, the pool (served in the run's
/// folder) and the run's job count: the config's `-j`, or the baseline's own.
struct Pooled {
    args: Vec<String>,
    pool: Option<Arc<Pool>>,
    jobs: Option<u32>,
}

fn with_pool(args: &[String], setup: &Setup, baseline: bool, run_dir: &Path) -> Result<Pooled> {
    // makepkg's own `MAKEFLAGS=...` argument, if the user gave one, beats every file.
    let given_makeflags = args
        .iter()
        .rev()
        .find_map(|a| a.strip_prefix("MAKEFLAGS=").map(str::to_string));
    let configured = given_makeflags
        .clone()
        .or_else(|| setup.makeflags.clone())
        .unwrap_or_default();
    let (run_jobs, configured) = if baseline {
        let n = baseline_jobs(setup);
        (Some(n), with_jobs(&configured, n))
    } else {
        (last_jobs(&configured), configured)
    };
    // The way back to a plain `-jN` (and how the benchmark measures the pool's gain).
    let pool_off = std::env::var_os("ALARM_DISTCC_NO_POOL").is_some_and(|v| !v.is_empty());
    if pool_off {
        status!("job pool: off (ALARM_DISTCC_NO_POOL is set): make alone gets MAKEFLAGS' -j");
    }
    let pool = match run_jobs {
        Some(n) if n >= 2 && !pool_off => {
            let plan = Plan::new(n, &setup.tools);
            Some(Arc::new(Pool::serve(
                plan,
                run_dir,
                setup.wrapper_dir.clone(),
            )?))
        }
        _ => None,
    };
    let mut args: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("MAKEFLAGS="))
        .cloned()
        .collect();
    if let Some(p) = &pool {
        // makepkg exports a trailing VAR=value after reading every config layer, so this
        // MAKEFLAGS (the config's, with the pool) is the one its build functions see.
        args.push(format!("MAKEFLAGS={}", p.makeflags(&configured)));
        status!("{}", p.plan.summary());
    } else if let Some(m) = given_makeflags {
        args.push(format!("MAKEFLAGS={m}"));
    }
    Ok(Pooled {
        args,
        pool,
        jobs: run_jobs,
    })
}

/// Runs makepkg to its end, its output passed through (on a terminal through a pty of its
/// own, with the live view), each line handed to `on_line`; its exit code.
fn run_makepkg(
    mut cmd: Command,
    makepkg: &Path,
    guard: &mut Guard,
    status: &Arc<Mutex<Status>>,
    on_line: impl FnMut(&str) + Send + 'static,
) -> Result<i32> {
    let terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    if terminal {
        let (master, slave) = live::open_pty(live::terminal_size())?;
        let out = slave.try_clone()?;
        cmd.stdout(Stdio::from(out)).stderr(Stdio::from(slave));
        let mut child =
            supervise::start(cmd).with_context(|| format!("running {}", makepkg.display()))?;
        guard.watch(child.group());
        let exited: Arc<Mutex<Option<std::process::ExitStatus>>> = Arc::new(Mutex::new(None));
        let waiter = {
            let exited = Arc::clone(&exited);
            std::thread::spawn(move || {
                let s = child.wait();
                if let (Ok(s), Ok(mut e)) = (s, exited.lock()) {
                    *e = Some(s);
                }
            })
        };
        live::pass_through(master, status, on_line, || {
            exited.lock().map(|e| e.is_some()).unwrap_or(true)
        });
        let _ = waiter.join();
        let status = exited.lock().ok().and_then(|e| *e);
        return Ok(status.map_or(1, exit_code_of));
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child =
        supervise::start(cmd).with_context(|| format!("running {}", makepkg.display()))?;
    guard.watch(child.group());
    let out = child.child.stdout.take().expect("piped");
    let err = child.child.stderr.take().expect("piped");
    let shared = Arc::new(Mutex::new(on_line));
    let copy = |mut from: Box<dyn Read + Send>, to_stdout: bool| {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || copy_lines(&mut *from, to_stdout, &shared))
    };
    let t1 = copy(Box::new(out), true);
    let t2 = copy(Box::new(err), false);
    let status = child.wait()?;
    let _ = t1.join();
    let _ = t2.join();
    Ok(exit_code_of(status))
}

fn exit_code_of(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(1))
}

/// Copies one of makepkg's streams to ours as it comes, handing each line on.
fn copy_lines<F: FnMut(&str)>(from: &mut dyn Read, to_stdout: bool, on_line: &Mutex<F>) {
    use std::io::Write;
    let mut buf = [0u8; 16 * 1024];
    let mut line = Vec::new();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        if to_stdout {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(chunk);
            let _ = o.flush();
        } else {
            let mut e = std::io::stderr().lock();
            let _ = e.write_all(chunk);
            let _ = e.flush();
        }
        for &b in chunk {
            if b == b'\n' {
                if let Ok(mut f) = on_line.lock() {
                    (f)(&String::from_utf8_lossy(&line));
                }
                line.clear();
            } else if line.len() < 64 * 1024 {
                line.push(b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_bash_declares() {
        assert_eq!(
            declared_scalar("declare -- PKGEXT=\".pkg.tar.xz\""),
            ".pkg.tar.xz"
        );
        assert_eq!(
            declared_array("declare -a COMPRESSXZ=([0]=\"xz\" [1]=\"-c\" [2]=\"-z\" [3]=\"-\")"),
            ["xz", "-c", "-z", "-"]
        );
        assert_eq!(
            declared_array("declare -a X=([0]=\"a \\\"b\\\"\")"),
            ["a \"b\""]
        );
    }

    #[test]
    fn the_last_job_flag_counts() {
        assert_eq!(last_jobs("-j2 -l4 -j8"), Some(8));
        assert_eq!(last_jobs("--jobs=3"), Some(3));
        assert_eq!(last_jobs("-j 5"), Some(5));
        assert_eq!(last_jobs("-l4"), None);
    }

    #[test]
    fn kept_comments_add_one_dash_c_to_the_flags_makepkg_would_export() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            with_comments_kept(&args(&["-f"]), [Some("-O2 -pipe"), None]),
            args(&["-f", "CFLAGS=-O2 -pipe -C", "CXXFLAGS=-C"])
        );
        // A value given to makepkg beats the config's and is not repeated; a -C already
        // there is left alone.
        assert_eq!(
            with_comments_kept(&args(&["CFLAGS=-O1", "-f"]), [Some("-O2"), Some("-O2 -C")]),
            args(&["-f", "CFLAGS=-O1 -C"])
        );
    }
}
