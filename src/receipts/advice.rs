//! A receipt's advice: what would make the next build faster, each with its measured share
//! of this one (compression, units on the Pi's own slots, fallbacks, units that failed only
//! on the helper, a Pi too busy to feed more helper slots, ...). Pure: read from the receipt.

use super::receipt::{Context, Receipt, cpus_busy, secs, share};

/// Why units failed only on the helper, and what helps. The helper compiles the Pi's
/// preprocessed text, where gcc no longer sees comments (`/* fall through */`, which `-C`
/// keeps) nor which code came from a macro (gcc leaves macro expansions out of warnings
/// such as -Waddress; only -fdirectives-only keeps macros, and it cannot go with
/// -Wunused-macros and changes what configure's `cc -E` checks read). distcc does not show
/// the helper's messages when its retry here succeeds; the build reads them before distcc
/// deletes them (helper_stderr.rs), and the advice quotes the first.
pub(super) fn helper_only_advice(r: &Receipt) -> String {
    let ce = &r.compile_errors;
    let quoted = |s: &super::receipt::HelperSaid| {
        format!(
            "The helper's compiler said about {}: \"{}\"",
            s.unit, s.line
        )
    };
    // What only a gcc older than the Pi's says of the Pi's text: a builtin it does not know
    // (the Pi's headers use it), or a flag it does not know. gcc quotes names with ' or ‘
    // by its locale, so neither is matched.
    if let Some(older) = ce.helper_only_said.iter().find(|s| {
        s.line.contains("__builtin_")
            || s.line.contains("unrecognized command-line option")
            || s.line.contains("unrecognized command line option")
    }) {
        return format!(
            "{} unit(s) failed only on the helper (e.g. {}) and the Pi compiled them again \
             itself. {}: its gcc is older than this Pi's, and does not know what the Pi's gcc \
             and headers use. Worse, units it did compile may call builtins that no library has, and then do not link (or load). \
             `{}` names both versions and the fix: install the Pi's gcc version on the helper, \
             then build again",
            ce.helper_only,
            ce.helper_only_examples.join(", "),
            quoted(older),
            crate::ui::command("probe")
        );
    }
    // A helper's gcc older than the Pi's fails units the same way (it does not know what the
    // Pi's headers use), and worse, may make objects that cannot link: the probe tells.
    let said = ce
        .helper_only_said
        .first()
        .map(|s| format!(" {}.", quoted(s)))
        .unwrap_or_default();
    let head = format!(
        "{} unit(s) failed only on the helper (e.g. {}) and the Pi compiled them again itself.\
         {said} First check that the helper's gcc is not older than this Pi's (`{}` says): an older \
         gcc fails on what the Pi's headers use, and can make objects that do not link. \
         Otherwise: the helper compiles the Pi's preprocessed text, where gcc no longer sees \
         comments nor which code came from a macro, so it can warn where the source does not, \
         and -Werror makes that an error",
        ce.helper_only,
        ce.helper_only_examples.join(", "),
        crate::ui::command("probe")
    );
    if r.comments_kept {
        format!(
            "{head}; the comments were kept (--keep-comments), so these most likely warn in code \
             from a macro (-Waddress, as in cJSON's), which the preprocessed text no longer \
             shows; nothing for the run fixes that without changing the build \
             (-fdirectives-only cannot go with -Wunused-macros and changes configure's `cc -E` \
             checks): they stay on the Pi"
        )
    } else {
        format!(
            "{head}; `{}` keeps comments for the run (gcc -C, the files untouched), which \
             ends the /* fall through */ kind (-Wimplicit-fallthrough); units that still fail \
             with it warn in code from a macro, and stay on the Pi",
            crate::ui::command("build --keep-comments")
        )
    }
}

/// When the Pi's CPUs were (nearly) all busy while helpers compiled its units, with free
/// helper slots, and not with compiles of its own: it prepared units as fast as it could,
/// so more helper slots would only wait. What kept it busy is what no helper takes:
/// preprocessing, links, and the build system's steps between the compiles, which
/// distcc's figures do not count (or another program: /proc/stat does not tell them
/// apart).
pub(super) fn saturated_pi_advice(r: &Receipt) -> Option<String> {
    let step = r.build_step.as_ref()?;
    let busy = step.cpu_busy?;
    let stretch = step.units + step.after_units;
    let cpu_time = busy * f64::from(step.cpus) * stretch;
    let w = &step.pi_work;
    // The helpers' jobs at once on average over the units: near their slots, the helpers
    // were the limit (and the Pi busy with something else).
    let helpers = r.hosts.iter().filter(|h| !h.is_pi());
    let helper_slots: u32 = helpers.clone().map(|h| h.slots).sum();
    let helper_seconds: f64 = helpers.map(|h| h.compile_seconds).sum();
    let mean_out = helper_seconds / step.units.max(0.1);
    let applies = r.distcc
        && r.exit_code == 0
        && r.units_on_helpers > 0
        && busy >= 0.85
        && stretch >= 5.0
        && mean_out < 0.75 * f64::from(helper_slots)
        && w.compiling <= 0.25 * cpu_time;
    applies.then(|| {
        format!(
            "{} while the helpers ran {:.1} job(s) at once on average in {} slot(s): {} \
             preprocessing the units it sent and {} linking by distcc's count, the \
             other {} the build system's own steps between the compiles (make, ninja, \
             libtool's shell) or other programs on the Pi; a Pi this busy prepares units no \
             faster, so more helper slots would not shorten this build",
            cpus_busy(step.cpus, busy),
            mean_out,
            helper_slots,
            secs(w.preprocessing),
            secs(w.linking),
            secs((cpu_time - w.preprocessing - w.linking - w.compiling).max(0.0))
        )
    })
}

/// Advice, each with its measured share of the build.
pub(super) fn advice(r: &Receipt, ctx: &Context) -> Vec<String> {
    let mut out = Vec::new();
    let wall = r.wall_seconds;
    if let Some(comp) = r.phase("compression")
        && wall > 0.0
        && comp / wall >= 0.2
        && comp >= 2.0
    {
        out.push(compression_advice(comp, wall, ctx));
    }
    if r.distcc && r.exit_code == 0 && r.units == 0 && r.phase("build").is_some() {
        let absolute: Vec<String> = ctx
            .cc_env
            .iter()
            .filter(|(_, v)| v.starts_with('/'))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        // distcc saw the compiler called (a version query, a link): it is on PATH, so the
        // build compiled nothing, or not through that PATH.
        let calls: u32 = r.on_pi.iter().map(|g| g.jobs).sum();
        let why = if calls > 0 {
            format!(
                "distcc saw {calls} call(s) of the compiler but no compile, so it is on PATH: \
                 the build had nothing to compile (up to date: `makepkg -C` cleans src/ \
                 first), or the package called its compiler by a full path"
            )
        } else if !ctx.distcc_reachable {
            "makepkg sends compilers through distcc only by putting /usr/lib/distcc/bin first \
             on PATH, and that folder is missing here (ALARM's distcc package makes it)"
                .to_string()
        } else if !absolute.is_empty() {
            format!(
                "{} names the compiler by its path, which bypasses distcc's folder on PATH: \
                 use the bare name (CC=gcc) or unset it",
                absolute.join(" ")
            )
        } else {
            "the build had nothing to compile (up to date: `makepkg -C` cleans src/ first), \
             the package called its compiler by a full path, or nothing in it compiles C or \
             C++ (a prebuilt or script-only package)"
                .to_string()
        };
        out.push(format!(
            "no compile went through distcc in this build: {why}"
        ));
    }
    if r.distcc && r.units > 0 && r.units_on_helpers == 0 {
        let why = r
            .on_pi
            .iter()
            .find(|g| g.units > 0)
            .map_or("the log does not say".to_string(), |g| g.reason.clone());
        let fix = match r
            .on_pi
            .iter()
            .find(|g| g.units > 0)
            .map(|g| g.kind.as_str())
        {
            Some("local_flag") => ": take the flag out of CFLAGS/CXXFLAGS (or the PKGBUILD), e.g. \
                 -march=native for the Pi's own -march"
                .to_string(),
            Some("fallback") | Some("backoff") => {
                format!(": check the helper with `{}`", crate::ui::command("probe"))
            }
            _ => String::new(),
        };
        out.push(format!(
            "0 of {} units went to helpers: {why}{fix}",
            r.units
        ));
    }
    if r.compile_errors.helper_only > 0 {
        out.push(helper_only_advice(r));
    }
    for f in &r.helper_failures {
        out.push(format!(
            "helper {} fell back {} time(s): {} ({}); `{}` says why{}",
            f.host,
            f.jobs,
            f.kind,
            f.first_error,
            crate::ui::command(&format!("probe {}", f.host)),
            if f.kind == "timeout" {
                ", and a longer DISTCC_IO_TIMEOUT helps a slow link"
            } else {
                ""
            }
        ));
    }
    if let Some(g) = r
        .on_pi
        .iter()
        .find(|g| g.kind == "local_slot" && g.units > 0)
        && r.units_on_helpers > 0
        && r.units > 0
        && g.units * 5 >= r.units
    {
        out.push(format!(
            "{} of {} units ({}) ran on the Pi's own slots: distcc takes slot 0 of every \
             listed host before slot 1 of any, so localhost/N gets jobs while helpers still \
             have free slots; `{}` sends them all out",
            g.units,
            r.units,
            share(f64::from(g.units), f64::from(r.units)),
            crate::ui::command("set-local 0")
        ));
    }
    if let Some(a) = saturated_pi_advice(r) {
        out.push(a);
    }
    let at_once = r
        .most_at_once_by_phase
        .get("build")
        .copied()
        .unwrap_or(r.most_at_once);
    if r.distcc
        && let Some(jobs) = r.jobs
        && r.units >= 2 * jobs.max(1)
        && at_once * 2 < jobs.min(r.slots.max(1))
        && at_once > 0
    {
        let why = match &r.pool {
            None => format!(
                "the build system did not use MAKEFLAGS (ninja and meson ignore it; pass \
                 -j{jobs} to them in the PKGBUILD, e.g. `ninja -j{jobs}` or `meson compile -j \
                 {jobs}`)"
            ),
            Some(_) => format!(
                "the job pool reached make, ninja and samurai; a tool it does not reach (scons: \
                 SCONSFLAGS=-j{jobs}; a PKGBUILD's own -j; options=(!makeflags)) or too few \
                 units ready at once kept it lower"
            ),
        };
        out.push(format!(
            "at most {at_once} job(s) ran at once in build() of -j{jobs}: {why}"
        ));
    }
    if let Some(build) = r.phase("build")
        && r.distcc
        && r.units > 0
        && wall > 0.0
        && build / wall < 0.5
        && wall >= 5.0
    {
        out.push(format!(
            "the build() step took {} of {} ({}); the rest (makepkg's start-up, packaging, \
             compression) stays on the Pi whatever the helpers",
            secs(build),
            secs(wall),
            share(build, wall)
        ));
    }
    out
}

fn compression_advice(comp: f64, wall: f64, ctx: &Context) -> String {
    let head = format!(
        "compression took {} of {} ({})",
        secs(comp),
        secs(wall),
        share(comp, wall)
    );
    let threaded = |args: &[String]| {
        args.iter()
            .any(|a| a == "-T0" || a == "--threads=0" || a.starts_with("-T") && a != "-T1")
    };
    match (&ctx.pkgext, &ctx.compressor) {
        (Some(ext), Some((var, args))) if ext.ends_with(".xz") && !threaded(args) => {
            format!("{head}: {var}=(xz -c -z -T0 -) uses every core")
        }
        (Some(ext), Some((var, args))) if ext.ends_with(".zst") && !threaded(args) => {
            format!("{head}: {var}=(zstd -c -T0 -) uses every core")
        }
        (Some(ext), _) if ext.ends_with(".xz") => format!(
            "{head}: PKGEXT='.pkg.tar.zst' (zstd, Arch's default) compresses much faster than xz"
        ),
        (Some(ext), _) if ext.ends_with(".zst") => {
            format!("{head}: a lower level is faster, e.g. COMPRESSZST=(zstd -c -T0 -3 -)")
        }
        (Some(ext), _) if ext == ".pkg.tar" => format!("{head}: PKGEXT is uncompressed already"),
        _ => format!("{head}: PKGEXT='.pkg.tar.zst' with COMPRESSZST=(zstd -c -T0 -) is fast"),
    }
}
