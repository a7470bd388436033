//! makepkg's phases from its own `==>` lines (`scripts/makepkg.sh.in`: `msg "Starting
//! build()..."` and the like, on stderr, coloured on a terminal), each stamped with the time
//! it was read; and the package and version from `==> Making package: NAME VERSION (DATE)`.

/// The phases a receipt reports, in makepkg's order.
pub const PHASES: [&str; 8] = [
    "start-up",
    "sources",
    "prepare",
    "build",
    "check",
    "package",
    "compression",
    "finish",
];

#[derive(Debug, Default, Clone)]
pub struct Phases {
    /// (phase, seconds since the start when it began)
    pub marks: Vec<(&'static str, f64)>,
    pub package: Option<String>,
    pub version: Option<String>,
    /// makepkg said it finished.
    pub finished: bool,
}

/// A line without its colour codes and other terminal controls, as makepkg prints it on a
/// terminal: CSI sequences (`ESC [ ... m`), charset switches (`ESC ( B`) and the C0 controls
/// some terminals' `tput sgr0` adds (screen, tmux and the Linux console end it with SI,
/// `\x0f`), so the `==>` lines read the same on every TERM.
pub fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            match chars.peek() {
                Some('[') => {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // ESC ( B and the like: a charset designation, one more character.
                Some('(' | ')' | '*' | '+') => {
                    chars.next();
                    chars.next();
                }
                // Any other two-character escape (ESC 7, ESC =, ...).
                Some(_) => {
                    chars.next();
                }
                None => {}
            }
            continue;
        }
        if c == '\t' || !c.is_control() {
            out.push(c);
        }
    }
    out
}

impl Phases {
    /// Reads one line of makepkg's output, read `at` seconds after the start.
    pub fn line(&mut self, line: &str, at: f64) {
        let text = plain(line);
        let Some(msg) = text.trim_start().strip_prefix("==> ") else {
            return;
        };
        let phase = if let Some(rest) = msg.strip_prefix("Making package: ") {
            let mut words = rest.split_whitespace();
            self.package = words.next().map(str::to_string);
            self.version = words.next().map(str::to_string);
            "sources"
        } else if msg.starts_with("Starting prepare()") {
            "prepare"
        } else if msg.starts_with("Starting build()") || msg.starts_with("Starting pkgver()") {
            "build"
        } else if msg.starts_with("Starting check()") {
            "check"
        } else if msg.starts_with("Entering fakeroot environment") {
            "package"
        } else if msg.starts_with("Creating package") || msg.starts_with("Creating source package")
        {
            "compression"
        } else if msg.starts_with("Leaving fakeroot environment")
            || msg.starts_with("Finished making")
        {
            if msg.starts_with("Finished making") {
                self.finished = true;
            }
            "finish"
        } else {
            return;
        };
        // A phase that comes back (split packages: one package() and one archive each) keeps
        // counting in the same phase.
        if self.marks.last().map(|(p, _)| *p) != Some(phase) {
            self.marks.push((phase, at));
        }
    }

    /// Seconds spent in each phase, in makepkg's order, the start-up from 0 to the first
    /// mark and the last phase up to `end`.
    /// When `phase` first began and when it last ended (seconds since the start).
    pub fn span(&self, phase: &str, end: f64) -> Option<(f64, f64)> {
        let i = self.marks.iter().position(|m| m.0 == phase)?;
        let j = self.marks.iter().rposition(|m| m.0 == phase)?;
        Some((self.marks[i].1, self.marks.get(j + 1).map_or(end, |m| m.1)))
    }

    pub fn durations(&self, end: f64) -> Vec<(&'static str, f64)> {
        let mut spans: Vec<(&'static str, f64)> = Vec::new();
        let first = self.marks.first().map_or(end, |m| m.1);
        spans.push(("start-up", first));
        for (i, (phase, at)) in self.marks.iter().enumerate() {
            let next = self.marks.get(i + 1).map_or(end, |m| m.1);
            spans.push((phase, (next - at).max(0.0)));
        }
        PHASES
            .iter()
            .filter_map(|p| {
                let total: f64 = spans.iter().filter(|(q, _)| q == p).map(|(_, s)| s).sum();
                spans.iter().any(|(q, _)| q == p).then_some((*p, total))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_makepkgs_lines_coloured_or_not() {
        let mut p = Phases::default();
        let lines = [
            (
                0.5,
                "\u{1b}[1m\u{1b}[32m==>\u{1b}(B\u{1b}[m\u{1b}[1m Making package: distcc-hello 1.0-1 (Tue Dec  1 12:00:00 2026)\u{1b}(B\u{1b}[m",
            ),
            (0.6, "==> Retrieving sources..."),
            (1.0, "==> Starting build()..."),
            (1.2, "cc -c main.c"),
            (9.0, "==> Entering fakeroot environment..."),
            (9.5, "==> Starting package()..."),
            (10.0, "==> Creating package \"distcc-hello\"..."),
            (14.0, "==> Leaving fakeroot environment."),
            (
                14.5,
                "==> Finished making: distcc-hello 1.0-1 (Tue Dec  1 12:00:14 2026)",
            ),
        ];
        for (at, l) in lines {
            p.line(l, at);
        }
        assert_eq!(p.package.as_deref(), Some("distcc-hello"));
        assert_eq!(p.version.as_deref(), Some("1.0-1"));
        assert!(p.finished);
        let d = p.durations(15.0);
        let names: Vec<&str> = d.iter().map(|x| x.0).collect();
        assert_eq!(
            names,
            [
                "start-up",
                "sources",
                "build",
                "package",
                "compression",
                "finish"
            ]
        );
        let get = |n: &str| d.iter().find(|x| x.0 == n).unwrap().1;
        assert!((get("build") - 8.0).abs() < 1e-9);
        assert!((get("compression") - 4.0).abs() < 1e-9);
        assert!((get("finish") - 1.0).abs() < 1e-9);
        assert!((d.iter().map(|x| x.1).sum::<f64>() - 15.0).abs() < 1e-9);
    }
}
