//! The job pool of one `alarm-distcc build`: every build system the package uses gets up to
//! N jobs (N = the config's `-j`, the total slots), and nested ones share the N.
//!
//! How it reaches each tool (facts in the shared reference `jobs.md`):
//! - make 4.4+ and ninja 1.13+ (today's Arch Linux ARM) join a GNU make jobserver of the fifo
//!   form: this run serves one (`--jobserver-auth=fifo:PATH`, N-1 tokens, as make does) and
//!   hands it to makepkg in MAKEFLAGS. A make or ninja started by another make, by meson or
//!   by `cmake --build` takes its tokens from the same fifo, so nesting never multiplies N.
//! - make 4.3 stops at the fifo form ("invalid --jobserver-auth string"): it gets the plain
//!   `-jN` the config already gives, and its sub-makes share make's own pipe jobserver.
//! - ninja before 1.13 and samurai cannot join a jobserver and read no `-j` from MAKEFLAGS
//!   (they run cores + 2): a wrapper of the same name, first on PATH for the run, adds `-jN`
//!   when the caller gave no `-j` (`wrapper`). meson and cmake find ninja on PATH.
//!
//! Nothing here touches the user's files: the fifo lives in the run's private folder, the
//! wrapper in the tool's own state folder (a stable path, since cmake records the ninja it
//! found in its cache, and outside a pool the wrapper is the real program unchanged).

mod tools;
pub mod wrapper;

pub use tools::{Tool, Tools, Version};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The variable the wrapper reads the pool's job count from; set only for a pool run whose
/// ninja or samurai cannot join the jobserver.
pub const JOBS_VAR: &str = "ALARM_DISTCC_POOL_JOBS";

/// How each tool of this machine gets its share, decided before the build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub jobs: u32,
    /// A fifo jobserver goes into MAKEFLAGS (make 4.4+ is the make on PATH).
    pub jobserver: bool,
    /// Each tool found and how it takes part, for the receipt: (`make 4.4.1`, `joins the
    /// jobserver`).
    pub tools: Vec<(String, String)>,
    /// ninja or samurai run through the wrapper with `-jN`.
    pub wrapped: bool,
}

impl Plan {
    /// The mechanism, decided from the versions found (pure, so every combination is tested).
    pub fn new(jobs: u32, found: &Tools) -> Plan {
        let jobserver = found
            .make
            .as_ref()
            .is_some_and(|m| m.version.at_least(4, 4));
        let mut tools = Vec::new();
        let mut wrapped = false;
        if let Some(m) = &found.make {
            let how = if jobserver {
                "joins the jobserver".to_string()
            } else {
                format!(
                    "takes -j{jobs} from MAKEFLAGS (make before 4.4 stops at a fifo jobserver); \
                     its sub-makes share make's own"
                )
            };
            tools.push((m.label(), how));
        }
        if let Some(n) = &found.ninja {
            let how = if jobserver && n.version.at_least(1, 13) {
                "joins the jobserver (meson compile, cmake --build and ninja -C alike)".to_string()
            } else {
                wrapped = true;
                let why = if n.version.at_least(1, 13) {
                    "the make here cannot share a fifo jobserver with it"
                } else {
                    "ninja before 1.13 cannot join a jobserver"
                };
                format!("given -j{jobs} by alarm-distcc's ninja wrapper ({why})")
            };
            tools.push((n.label(), how));
        }
        if let Some(s) = &found.samu {
            wrapped = true;
            tools.push((
                s.label(),
                format!("given -j{jobs} by alarm-distcc's wrapper (samurai has no jobserver)"),
            ));
        }
        Plan {
            jobs,
            jobserver,
            tools,
            wrapped,
        }
    }

    /// One line for the receipt and the start of the run.
    pub fn summary(&self) -> String {
        let way = if self.jobserver {
            "a fifo jobserver for the whole run"
        } else {
            "-j for each tool"
        };
        let tools: Vec<String> = self
            .tools
            .iter()
            .map(|(t, how)| format!("{t} {how}"))
            .collect();
        if tools.is_empty() {
            format!("job pool: {} jobs ({way})", self.jobs)
        } else {
            format!("job pool: {} jobs ({way}); {}", self.jobs, tools.join("; "))
        }
    }
}

/// A served pool: the fifo with its tokens, held open for the run, and what the build's
/// environment needs to reach it. Dropping it removes the fifo.
pub struct Pool {
    pub plan: Plan,
    fifo: Option<PathBuf>,
    /// Held read-write: the fifo stays open (no client sees EOF or SIGPIPE between jobs) and
    /// its unread tokens can be counted.
    holder: Option<File>,
    wrapper_dir: Option<PathBuf>,
}

impl Pool {
    /// Serves the pool in `run_dir` (the run's private folder) for `plan`.
    pub fn serve(plan: Plan, run_dir: &Path, wrapper_dir: Option<PathBuf>) -> Result<Pool> {
        let (fifo, holder) = if plan.jobserver {
            let fifo = run_dir.join("jobserver");
            make_fifo(&fifo)
                .with_context(|| format!("making the job pool's fifo {}", fifo.display()))?;
            let holder = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&fifo)
                .with_context(|| format!("opening {}", fifo.display()))?;
            // make's convention: each client holds one implicit token, so N-1 in the fifo.
            let tokens = vec![b'+'; plan.jobs.saturating_sub(1) as usize];
            std::io::Write::write_all(&mut &holder, &tokens)?;
            (Some(fifo), Some(holder))
        } else {
            (None, None)
        };
        let wrapper_dir = match (plan.wrapped, wrapper_dir) {
            (true, Some(dir)) => {
                wrapper::install(&dir)?;
                Some(dir)
            }
            _ => None,
        };
        Ok(Pool {
            plan,
            fifo,
            holder,
            wrapper_dir,
        })
    }

    /// MAKEFLAGS for makepkg (which exports it to every build function): the config's value
    /// with the jobserver added, when there is one.
    pub fn makeflags(&self, configured: &str) -> String {
        let kept: Vec<&str> = configured
            .split_whitespace()
            .filter(|w| !w.starts_with("--jobserver-auth=") && !w.starts_with("--jobserver-fds="))
            .collect();
        let mut words: Vec<String> = kept.iter().map(|w| w.to_string()).collect();
        if let Some(f) = &self.fifo {
            words.push(format!("--jobserver-auth=fifo:{}", f.display()));
        }
        words.join(" ")
    }

    /// Variables for makepkg's environment: PATH with the wrapper first, the job count for it.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = Vec::new();
        if let Some(dir) = &self.wrapper_dir {
            let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
            env.push(("PATH".into(), format!("{}:{path}", dir.display())));
            env.push((JOBS_VAR.into(), self.plan.jobs.to_string()));
        }
        env
    }

    /// Jobs running on pool tokens now: the N-1 tokens less those still in the fifo, plus
    /// the client's implicit one when any is out (None without a jobserver).
    pub fn in_use(&self) -> Option<u32> {
        let holder = self.holder.as_ref()?;
        let mut waiting: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int, the bytes readable from our own open fifo.
        let rc = unsafe { libc::ioctl(holder.as_raw_fd(), libc::FIONREAD, &mut waiting) };
        if rc != 0 {
            return None;
        }
        let out = self
            .plan
            .jobs
            .saturating_sub(1)
            .saturating_sub(waiting.max(0) as u32);
        Some(if out > 0 { out + 1 } else { 0 })
    }

    pub fn fifo(&self) -> Option<&Path> {
        self.fifo.as_deref()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.holder = None;
        if let Some(f) = &self.fifo {
            let _ = std::fs::remove_file(f);
        }
    }
}

fn make_fifo(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: a NUL-terminated path; 0600: only the build user takes tokens.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools(make: Option<&str>, ninja: Option<&str>, samu: bool) -> Tools {
        let t = |name: &str, v: &str| Tool {
            name: name.into(),
            path: PathBuf::from(format!("/usr/bin/{name}")),
            version: Version::parse(v).unwrap(),
        };
        Tools {
            make: make.map(|v| t("make", v)),
            ninja: ninja.map(|v| t("ninja", v)),
            samu: samu.then(|| t("samu", "1.2")),
        }
    }

    #[test]
    fn todays_generation_joins_one_jobserver() {
        let p = Plan::new(8, &tools(Some("4.4.1"), Some("1.13.2"), false));
        assert!(p.jobserver);
        assert!(!p.wrapped);
        assert!(
            p.summary().contains("ninja 1.13.2 joins the jobserver"),
            "{}",
            p.summary()
        );
    }

    #[test]
    fn make_4_3_never_sees_the_fifo_and_old_ninja_is_wrapped() {
        let p = Plan::new(8, &tools(Some("4.3"), Some("1.11.1"), false));
        assert!(!p.jobserver);
        assert!(p.wrapped);
        assert!(
            p.summary().contains("ninja 1.11.1 given -j8"),
            "{}",
            p.summary()
        );
        // A new ninja beside an old make cannot share make's pipe jobserver either.
        let p = Plan::new(8, &tools(Some("4.3"), Some("1.13.2"), false));
        assert!(!p.jobserver && p.wrapped);
    }

    #[test]
    fn samurai_is_always_wrapped() {
        let p = Plan::new(6, &tools(Some("4.4.1"), Some("1.13.2"), true));
        assert!(p.jobserver && p.wrapped);
        assert!(p.summary().contains("samu"), "{}", p.summary());
    }

    #[test]
    fn the_fifo_holds_n_minus_one_tokens_and_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        let plan = Plan::new(8, &tools(Some("4.4.1"), None, false));
        let pool = Pool::serve(plan, dir.path(), None).unwrap();
        let fifo = pool.fifo().unwrap().to_path_buf();
        assert_eq!(pool.in_use(), Some(0));
        let mf = pool.makeflags("-j8 --jobserver-auth=3,4 -l4");
        assert_eq!(
            mf,
            format!("-j8 -l4 --jobserver-auth=fifo:{}", fifo.display())
        );
        // A client takes two tokens: three jobs run (its implicit one too).
        let mut f = std::fs::OpenOptions::new().read(true).open(&fifo).unwrap();
        let mut two = [0u8; 2];
        std::io::Read::read_exact(&mut f, &mut two).unwrap();
        assert_eq!(pool.in_use(), Some(3));
        drop(pool);
        assert!(!fifo.exists());
    }
}
