//! The build's sampler: a thread that reads distcc's client log as it grows and its state
//! files (the jobs running, the backoff marks) about ten times a second, woken at once by a
//! new backoff mark, and keeps what the receipt and the live view need.

use super::live::{HostLine, Status};
use crate::pool::Pool;
use crate::receipts::cpu::{CpuTrace, Reading};
use crate::receipts::helper_stderr::StderrCatch;
use crate::receipts::inotify::Wake;
use crate::receipts::log::LogReader;
use crate::receipts::phases::Phases;
use crate::receipts::receipt::PoolUse;
use crate::receipts::state;
use anyhow::{Result, anyhow};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The shared view the sampler keeps: the log read so far, makepkg's phases, most jobs.
#[derive(Default)]
pub struct Seen {
    pub log: LogReader,
    pub phases: Phases,
    pub most_at_once: u32,
    pub most_at_once_by_phase: std::collections::BTreeMap<String, u32>,
    pub backoff: Vec<String>,
    /// The job pool's use as sampled: most out at once, and in build() most and sum/count.
    pool_most: u32,
    pool_most_build: u32,
    pool_sum_build: u64,
    pool_samples_build: u64,
    /// Build tool -> most distcc jobs it had running at once.
    pub build_systems: std::collections::BTreeMap<String, u32>,
    /// Backoff marks lifted: a helper that answered with a compile error works.
    pub backoff_lifted: u32,
    /// The Pi's CPUs' counters, about twice a second.
    pub cpu: CpuTrace,
    /// What helpers' compilers said in the files distcc deletes (helper_stderr.rs): file
    /// name -> text.
    pub helper_stderr: std::collections::HashMap<String, String>,
    /// The tool that started each distcc process, looked up once per pid.
    runner_of: std::collections::HashMap<u64, Option<String>>,
}

impl Seen {
    /// The pool's use as sampled, for the receipt.
    pub fn pool_use(&self, pool: &Pool) -> PoolUse {
        PoolUse {
            summary: pool.plan.summary(),
            jobs: pool.plan.jobs,
            jobserver: pool.plan.jobserver,
            most_in_use: self.pool_most,
            most_in_use_build: self.pool_most_build,
            mean_in_use_build: (self.pool_samples_build > 0).then(|| {
                (self.pool_sum_build as f64 / self.pool_samples_build as f64 * 10.0).round() / 10.0
            }),
        }
    }
}

/// The sampler and the backoff watch, running until `stop`.
pub struct Sampling {
    pub seen: Arc<Mutex<Seen>>,
    finished: Arc<AtomicBool>,
    sampler: JoinHandle<()>,
    /// What the stderr catch caught, sent when the build is over.
    caught: std::sync::mpsc::Receiver<std::collections::HashMap<String, String>>,
    wake: Option<Arc<Wake>>,
}

impl Sampling {
    pub fn start(
        log_path: &Path,
        distcc_dir: &Path,
        build_tmp: &Path,
        listed: &[(String, u32)],
        status: &Arc<Mutex<Status>>,
        started: Instant,
        pool: Option<Arc<Pool>>,
    ) -> Sampling {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let finished = Arc::new(AtomicBool::new(false));
        let sampler = {
            let seen = Arc::clone(&seen);
            let status = Arc::clone(status);
            let finished = Arc::clone(&finished);
            let log_path: PathBuf = log_path.to_path_buf();
            let distcc_dir: PathBuf = distcc_dir.to_path_buf();
            let listed = listed.to_vec();
            std::thread::spawn(move || {
                let mut log = std::fs::File::open(&log_path).ok();
                let period = state::backoff_period();
                let at = Look {
                    distcc_dir: &distcc_dir,
                    listed: &listed,
                    seen: &seen,
                    status: &status,
                    started,
                    period,
                    pool: pool.as_deref(),
                };
                loop {
                    let stop = finished.load(Ordering::SeqCst);
                    sample(&mut log, &at);
                    if stop {
                        break;
                    }
                    // Woken early at the end, so the build is not kept waiting for a tick.
                    std::thread::park_timeout(Duration::from_millis(100));
                }
            })
        };
        // The two watches below are not joined: the kernel takes milliseconds to close an
        // inotify instance, which the build need not wait for. `wake` ends their waits when
        // the build is over.
        let wake = Wake::new().map(Arc::new);
        // distcc's backoff marks wake the sampler at once (see `sample`).
        if let Some(watch) = state::BackoffWatch::new(distcc_dir) {
            let finished = Arc::clone(&finished);
            let sampler = sampler.thread().clone();
            let wake = wake.clone();
            std::thread::spawn(move || {
                while !finished.load(Ordering::SeqCst) {
                    if watch.wait(Duration::from_millis(200), wake.as_deref()) {
                        sampler.unpark();
                    }
                }
            });
        }
        // The helper's stderr for a unit that failed there: distcc deletes it once its
        // retry here is done, so it is read as distcc writes it. The watch is set up while
        // makepkg starts (long before its first compile).
        let (send_caught, caught) = std::sync::mpsc::channel();
        {
            let finished = Arc::clone(&finished);
            let wake = wake.clone();
            let build_tmp = build_tmp.to_path_buf();
            std::thread::spawn(move || {
                let catch = if finished.load(Ordering::SeqCst) {
                    None
                } else {
                    StderrCatch::new(&build_tmp)
                };
                let Some(mut catch) = catch else {
                    let _ = send_caught.send(Default::default());
                    return;
                };
                loop {
                    let stop = finished.load(Ordering::SeqCst);
                    let timeout = if stop {
                        Duration::ZERO
                    } else {
                        Duration::from_millis(200)
                    };
                    catch.wait(timeout, wake.as_deref());
                    if stop {
                        break;
                    }
                }
                let _ = send_caught.send(catch.take_caught());
            });
        }
        Sampling {
            seen,
            finished,
            sampler,
            caught,
            wake,
        }
    }

    /// One last look, then what was seen.
    pub fn stop(self) -> Result<Seen> {
        self.finished.store(true, Ordering::SeqCst);
        self.sampler.thread().unpark();
        if let Some(wake) = &self.wake {
            wake.wake();
        }
        let _ = self.sampler.join();
        let caught = self.caught.recv().unwrap_or_default();
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| anyhow!("the build's sampler failed"))?;
        seen.helper_stderr = caught;
        Ok(std::mem::take(&mut *seen))
    }
}

/// What one look needs.
struct Look<'a> {
    distcc_dir: &'a Path,
    listed: &'a [(String, u32)],
    seen: &'a Mutex<Seen>,
    status: &'a Mutex<Status>,
    started: Instant,
    period: Duration,
    pool: Option<&'a Pool>,
}

/// One look at distcc's log and state: new log lines read, the jobs running counted, the
/// status line's numbers updated.
fn sample(log: &mut Option<std::fs::File>, at: &Look) {
    let Look {
        distcc_dir,
        listed,
        seen,
        status,
        started,
        period,
        pool,
    } = *at;
    let now = started.elapsed().as_secs_f64();
    let mut fresh = Vec::new();
    if let Some(f) = log.as_mut() {
        let _ = f.read_to_end(&mut fresh);
        // A log cut short by someone else starts over from where it is now.
        if let (Ok(pos), Ok(meta)) = (f.stream_position(), f.metadata())
            && meta.len() < pos
        {
            let _ = f.seek(std::io::SeekFrom::End(0));
        }
    }
    let tasks = state::tasks(distcc_dir);
    let mut backoffs = state::backoffs(distcc_dir, period);
    let cpu = Reading::now();
    let Ok(mut s) = seen.lock() else {
        return;
    };
    if !fresh.is_empty() {
        s.log.feed(&fresh, now);
    }
    if let Some(reading) = cpu {
        s.cpu.record(now, reading);
    }
    // distcc backs a helper off after any remote failure, a compile error too (a configure
    // check meant to fail, a warning only the preprocessed text raises), and un-punishes it
    // only when the retry here fails the same way. A helper that answered works: its mark
    // is lifted at once, so the build's next units still go to it.
    if !backoffs.is_empty() {
        let answered = crate::receipts::log::only_compile_errors(s.log.jobs());
        let before = backoffs.len();
        backoffs.retain(|(host, _)| {
            !(answered.contains(host) && state::clear_backoff(distcc_dir, host))
        });
        s.backoff_lifted += (before - backoffs.len()) as u32;
    }
    let running = tasks.len() as u32;
    s.most_at_once = s.most_at_once.max(running);
    let phase = s
        .phases
        .marks
        .last()
        .map_or("start-up", |m| m.0)
        .to_string();
    if running > 0 {
        let e = s.most_at_once_by_phase.entry(phase.clone()).or_default();
        *e = (*e).max(running);
    }
    let mut by_tool: std::collections::BTreeMap<String, u32> = Default::default();
    for t in &tasks {
        let runner = s
            .runner_of
            .entry(t.pid)
            .or_insert_with(|| state::started_by(t.pid))
            .clone();
        if let Some(tool) = runner {
            *by_tool.entry(tool).or_default() += 1;
        }
    }
    for (tool, n) in by_tool {
        let e = s.build_systems.entry(tool).or_default();
        *e = (*e).max(n);
    }
    if let Some(in_use) = pool.and_then(Pool::in_use) {
        s.pool_most = s.pool_most.max(in_use);
        if phase == "build" {
            s.pool_most_build = s.pool_most_build.max(in_use);
            s.pool_sum_build += u64::from(in_use);
            s.pool_samples_build += 1;
        }
    }
    for (h, _) in &backoffs {
        if !s.backoff.contains(h) {
            s.backoff.push(h.clone());
        }
    }
    let mut done: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut fell_back: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    // distcc keeps the helper's name in a process's state file after it fell back, while
    // the job runs here: those processes are the Pi's, not the (stopped) helper's.
    let mut on_pi_after_failure: std::collections::HashSet<u64> = Default::default();
    for j in s.log.jobs() {
        if !j.failures.is_empty() {
            on_pi_after_failure.insert(u64::from(j.pid));
        }
        for (host, _) in &j.failures {
            *fell_back.entry(host.clone()).or_default() += 1;
        }
        if j.ok && j.is_unit() {
            *done
                .entry(j.ran_on.clone().unwrap_or_else(|| "localhost".into()))
                .or_default() += 1;
        }
    }
    drop(s);
    if let Ok(mut st) = status.lock() {
        st.hosts = listed
            .iter()
            .map(|(host, slots)| {
                let ip = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
                let busy = tasks
                    .iter()
                    .filter(|t| {
                        let fell_back = on_pi_after_failure.contains(&t.pid);
                        if host == "localhost" {
                            (t.host == "localhost" && t.phase == "compile") || fell_back
                        } else {
                            t.host == ip && !fell_back
                        }
                    })
                    .count() as u32;
                HostLine {
                    host: host.clone(),
                    busy,
                    slots: *slots,
                    done: done.get(host).copied().unwrap_or(0),
                    fell_back: fell_back.get(host).copied().unwrap_or(0),
                }
            })
            .collect();
        st.backoff = backoffs.into_iter().map(|(h, _)| h).collect();
    }
}
