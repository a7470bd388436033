//! How busy the Pi's CPUs were, from the kernel's counters in /proc/stat (all its CPUs,
//! every process: make, libtool's shell and the like too, which distcc's rusage of each job
//! does not count). Sampled as the build runs; the receipt reads the share between two
//! moments it learns only at the end (the first compile unit, the end of build()).

/// At most this many samples are kept: past it every other one goes, so a build of any
/// length keeps a bounded trace at a coarser step.
const MOST_SAMPLES: usize = 4096;

/// (seconds since the build started, busy ticks, all ticks) of all the CPUs together.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuTrace {
    samples: Vec<(f64, u64, u64)>,
    /// The least time between two samples kept; doubles each time the trace is halved.
    step: f64,
    /// How many CPUs /proc/stat lists.
    pub cpus: u32,
    /// The last reading, kept or not: the end of a span may fall after the last sample.
    latest: Option<(f64, u64, u64)>,
}

impl Default for CpuTrace {
    fn default() -> CpuTrace {
        CpuTrace {
            samples: Vec::new(),
            step: 0.5,
            cpus: 0,
            latest: None,
        }
    }
}

/// One reading of /proc/stat: (busy ticks, all ticks, CPUs).
#[derive(Debug, Clone, Copy)]
pub struct Reading(u64, u64, u32);

impl Reading {
    /// /proc/stat now; none where it cannot be read.
    pub fn now() -> Option<Reading> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let (busy, all) = all_cpus(&stat)?;
        Some(Reading(busy, all, count_cpus(&stat)))
    }
}

impl CpuTrace {
    /// `reading` taken at `now` joins the trace unless its last sample is more recent than
    /// its step; it is kept as the latest either way.
    pub fn record(&mut self, now: f64, reading: Reading) {
        let Reading(busy, all, cpus) = reading;
        self.cpus = cpus;
        self.latest = Some((now, busy, all));
        if !self.samples.last().is_some_and(|s| now - s.0 < self.step) {
            self.push(now, busy, all);
        }
    }

    /// A trace of given samples, for the receipt's tests.
    #[cfg(test)]
    pub(crate) fn of(samples: Vec<(f64, u64, u64)>, cpus: u32) -> CpuTrace {
        CpuTrace {
            samples,
            cpus,
            ..CpuTrace::default()
        }
    }

    fn push(&mut self, now: f64, busy: u64, all: u64) {
        self.samples.push((now, busy, all));
        if self.samples.len() > MOST_SAMPLES {
            let halved = self.samples.iter().step_by(2).copied().collect();
            self.samples = halved;
            self.step *= 2.0;
        }
    }

    /// The share of the CPUs' time that was busy from `from` to `to` (seconds since the
    /// start), from the samples nearest outside that span; none if the trace does not
    /// cover it.
    pub fn busy_between(&self, from: f64, to: f64) -> Option<f64> {
        let start = self.samples.iter().rev().find(|s| s.0 <= from)?;
        let end = self
            .samples
            .iter()
            .chain(&self.latest)
            .find(|s| s.0 >= to)?;
        let all = end.2.checked_sub(start.2)?;
        let busy = end.1.checked_sub(start.1)?;
        (all > 0).then(|| busy as f64 / all as f64)
    }
}

/// (busy, all) ticks from /proc/stat's first line, `cpu  user nice system idle iowait irq
/// softirq steal guest guest_nice`: idle and iowait are not busy; steal is time a
/// hypervisor gave elsewhere (no Pi has it), and guest time is inside user and nice
/// already, so neither counts.
fn all_cpus(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .take(7)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    let all: u64 = ticks.iter().sum();
    let idle = ticks.get(3)? + ticks.get(4).unwrap_or(&0);
    Some((all - idle, all))
}

/// The `cpuN` lines: the CPUs online.
fn count_cpus(stat: &str) -> u32 {
    stat.lines()
        .filter(|l| {
            l.strip_prefix("cpu")
                .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_line_of_proc_stat() {
        let stat = "cpu  100 5 50 800 40 3 2 9 7 0\ncpu0 50 2 25 400 20 1 1 5 3 0\n\
                    cpu1 50 3 25 400 20 2 1 4 4 0\nintr 12345\n";
        // busy: user + nice + system + irq + softirq; not steal, and guest is inside user.
        assert_eq!(all_cpus(stat), Some((160, 1000)));
        assert_eq!(count_cpus(stat), 2);
        assert_eq!(all_cpus("cpu0 1 2 3 4\n"), None);
        assert_eq!(all_cpus("cpu  1 x 3 4\n"), None);
    }

    #[test]
    fn this_machines_counters_are_read_and_grow() {
        let mut t = CpuTrace::default();
        t.record(0.0, Reading::now().expect("/proc/stat"));
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(600) {
            std::hint::black_box(0u64.wrapping_add(1));
        }
        t.record(0.6, Reading::now().unwrap());
        assert_eq!(t.samples.len(), 2, "/proc/stat is read");
        let busy = t.busy_between(0.0, 0.6).expect("the trace covers the span");
        // A reading sooner than the step is not kept, but still ends a span.
        t.record(0.7, Reading::now().unwrap());
        assert_eq!(t.samples.len(), 2);
        assert!(t.busy_between(0.0, 0.7).is_some());
        // All the CPUs /proc/stat lists: at least those this process may run on.
        assert!(t.cpus as usize >= std::thread::available_parallelism().map_or(1, |n| n.get()));
        // This thread alone kept one CPU busy for the span.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        assert!(busy >= 0.5 / cpus && busy <= 1.0, "{busy}");
    }

    #[test]
    fn the_share_is_read_between_the_samples_around_the_span() {
        let mut t = CpuTrace::default();
        t.push(0.0, 0, 0);
        t.push(1.0, 100, 200);
        t.push(2.0, 300, 400);
        t.push(3.0, 300, 600);
        assert_eq!(t.busy_between(1.0, 2.0), Some(1.0));
        assert_eq!(t.busy_between(1.2, 2.5), Some(0.5));
        assert_eq!(t.busy_between(0.0, 3.0), Some(0.5));
        assert_eq!(t.busy_between(2.5, 3.5), None, "not covered");
    }

    #[test]
    fn a_long_build_keeps_a_bounded_trace() {
        let mut t = CpuTrace::default();
        for i in 0..(MOST_SAMPLES as u64 * 5) {
            t.push(i as f64 * 0.5, i * 3, i * 4);
        }
        assert!(t.samples.len() <= MOST_SAMPLES);
        assert!(t.step > 0.5);
        let end = (MOST_SAMPLES * 5 - 1) as f64 * 0.5;
        assert_eq!(t.busy_between(0.0, end - 10.0), Some(0.75));
    }
}
