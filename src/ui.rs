//! Terminal helpers shared by the commands: a spinner while the network works, and the
//! checked `--timeout` value.

use crate::error::bad_input;
use anyhow::Result;
use std::io::IsTerminal;
use std::time::Duration;

/// Runs `work` under a spinner on a terminal; silent when stderr is piped.
pub fn with_spinner<T>(message: String, work: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(100));
    let out = work();
    bar.finish_and_clear();
    out
}

/// A `--timeout` in seconds, within reason.
pub fn timeout_of(secs: f64) -> Result<Duration> {
    if !(secs.is_finite() && secs > 0.0 && secs <= 600.0) {
        return Err(bad_input(format!(
            "--timeout {secs}: give seconds above 0 and at most 600"
        )));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Milliseconds as the tables show them.
pub fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    })
}

/// How a word reads at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Warn,
    Bad,
    Dim,
}

/// `text` in `tone`'s colour when `color` is on (`--color`, `NO_COLOR`), else as it is.
/// Pad before painting: escape codes would count in a `{:<N}` width.
pub fn paint(color: bool, tone: Tone, text: &str) -> String {
    if !color {
        return text.to_string();
    }
    let styled = console::style(text).force_styling(true);
    match tone {
        Tone::Good => styled.green(),
        Tone::Warn => styled.yellow(),
        Tone::Bad => styled.red().bold(),
        Tone::Dim => styled.dim(),
    }
    .to_string()
}

/// Text from outside (helpers, compilers, files) made safe for a terminal: every control
/// character but newline and tab is shown as an escape (`\x1b`), so no sequence reaches the
/// terminal (window title, screen clear, clipboard).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            // A space that is not one to distcc, or a character that shows as nothing,
            // would read as nothing or as a plain space: name it.
            c if is_unseen(c) => out.push_str(&format!("<U+{:04X}>", c as u32)),
            c if c.is_control() => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else {
                    out.push_str(&format!("\\u{{{code:x}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A character that reads as a plain space or as nothing: a Unicode space (a no-break space
/// among them), a zero-width space or joiner, the byte-order mark.
pub fn is_unseen(c: char) -> bool {
    !c.is_ascii()
        && (c.is_whitespace()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}'))
}

/// A character by its code point and, for the usual suspects, its name: `U+00A0 (a no-break
/// space)`.
pub fn char_name(c: char) -> String {
    let name = match c {
        '\u{a0}' => Some("a no-break space"),
        '\u{2007}' => Some("a figure space"),
        '\u{202f}' => Some("a narrow no-break space"),
        '\u{2002}'..='\u{200a}' => Some("a typographic space"),
        '\u{3000}' => Some("an ideographic space"),
        '\u{200b}' => Some("a zero-width space"),
        '\u{feff}' => Some("a byte-order mark"),
        _ => None,
    };
    match name {
        Some(n) => format!("U+{:04X} ({n})", c as u32),
        None => format!("U+{:04X}", c as u32),
    }
}

/// `escape` for text this tool coloured itself (`paint`): the codes of its own palette pass
/// (bold, dim, red, green, yellow, reset), every other control character is escaped. Outside
/// text is escaped where it enters the text too; what this pass lets through could at most
/// recolour, never hide (conceal, reverse video) or move anything.
pub fn escape_except_colors(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\x1b') {
        out.push_str(&escape(&rest[..at]));
        let tail = &rest[at + 1..];
        // Only digits and `;` are read before the `m`: a long text without one costs no
        // more than its length.
        let own = tail
            .strip_prefix('[')
            .map(|t| {
                let n = t
                    .bytes()
                    .take_while(|b| b.is_ascii_digit() || *b == b';')
                    .count();
                (&t[..n], t.as_bytes().get(n))
            })
            .filter(|(_, end)| *end == Some(&b'm'))
            .map(|(params, _)| params)
            .filter(|params| {
                params
                    .split(';')
                    .all(|p| matches!(p, "0" | "1" | "2" | "31" | "32" | "33"))
            });
        match own {
            Some(params) => {
                let len = 1 + 1 + params.len() + 1;
                out.push_str(&rest[at..at + len]);
                rest = &rest[at + len..];
            }
            None => {
                out.push_str("\\x1b");
                rest = tail;
            }
        }
    }
    out.push_str(&escape(rest));
    out
}

/// A table's lines, the header first: each column as wide as its widest cell (as the
/// terminal shows it: colour codes take no room, wide characters two), left-aligned or,
/// where `right` says, right-aligned; the last column is not padded.
pub fn table_lines<const N: usize>(
    header: [&str; N],
    right: [bool; N],
    rows: &[[String; N]],
) -> Vec<String> {
    let widths = column_widths(header, rows);
    let line = |cells: [&str; N]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[i].saturating_sub(console::measure_text_width(cell)));
            if i > 0 {
                out.push(' ');
            }
            if right[i] {
                out.push_str(&pad);
                out.push_str(cell);
            } else {
                out.push_str(cell);
                if i + 1 < N {
                    out.push_str(&pad);
                }
            }
        }
        out
    };
    std::iter::once(line(header))
        .chain(
            rows.iter()
                .map(|r| line(std::array::from_fn(|i| r[i].as_str()))),
        )
        .collect()
}

/// The width `table_lines` gives each column: its widest cell, the header's included.
pub fn column_widths<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> [usize; N] {
    std::array::from_fn(|i| {
        rows.iter()
            .map(|r| console::measure_text_width(&r[i]))
            .chain([console::measure_text_width(header[i])])
            .max()
            .unwrap_or(0)
    })
}

/// A status line on stderr (a note, what was written, the next step), fitted to a terminal's
/// width with continuations 4 columns in, as show's lines are; as it is into a file or a pipe.
macro_rules! status {
    ($($arg:tt)*) => {
        eprintln!(
            "{}",
            $crate::ui::fit_report(&format!($($arg)*), &console::Term::stderr(), 4)
        )
    };
}
pub(crate) use status;

/// How the user runs the tool for this config: `alarm-distcc --config PATH` when one was
/// given, so that the commands a note or a fix suggests work on that file as printed (and do
/// not edit /etc/makepkg.conf instead of the copy being tried).
static TOOL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Set once, at start, from the command line.
pub fn set_tool(tool: String) {
    let _ = TOOL.set(tool);
}

/// `alarm-distcc ARGS` as the user types it for this config (with the `--config` given).
pub fn command(args: &str) -> String {
    format!(
        "{} {args}",
        TOOL.get().map_or("alarm-distcc", String::as_str)
    )
}

/// `text` with each quoted command to type (`` `alarm-distcc ...` ``, also after `sudo`)
/// given the `--config` the user gave, where it does not name one already.
pub fn runnable(text: &str) -> std::borrow::Cow<'_, str> {
    match TOOL.get() {
        Some(tool) => with_tool(text, tool),
        None => std::borrow::Cow::Borrowed(text),
    }
}

fn with_tool<'a>(text: &'a str, tool: &str) -> std::borrow::Cow<'a, str> {
    const NAME: &str = "alarm-distcc ";
    if tool == "alarm-distcc" || !text.contains(NAME) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + tool.len());
    let mut rest = text;
    while let Some(at) = rest.find(NAME) {
        let (before, after) = (&rest[..at], &rest[at + NAME.len()..]);
        out.push_str(before);
        let quoted = before.ends_with('`') || before.ends_with("`sudo ");
        let names_one = after.starts_with("--config ") || after.starts_with("-c ");
        out.push_str(if quoted && !names_one {
            tool
        } else {
            "alarm-distcc"
        });
        out.push(' ');
        rest = after;
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// A report for `term`, its suggested commands `runnable`: broken to its width,
/// continuations `hang` columns further in, when it is a terminal that tells its width; as it
/// is for a file or a pipe.
pub fn fit_report(text: &str, term: &console::Term, hang: usize) -> String {
    let text = runnable(text);
    match terminal_width(term) {
        Some(width) => wrap_hanging(&text, width, hang),
        None => text.into_owned(),
    }
}

/// The columns of `term` when it is a terminal that tells them (a pty may say 0: unknown).
pub fn terminal_width(term: &console::Term) -> Option<usize> {
    term.is_term()
        .then(|| term.size_checked())
        .flatten()
        .map(|(_, columns)| usize::from(columns))
        .filter(|&columns| columns > 0)
}

/// `text` broken at spaces into lines of at most `width` columns, for a terminal that would
/// otherwise break words where its edge falls (a Pi's 80-column console). A continued line
/// keeps its line's indentation (a `- ` item's, its text's); a word longer than the width
/// stays whole.
pub fn wrap(text: &str, width: usize) -> String {
    wrap_hanging(text, width, 0)
}

/// Like `wrap`, a continued line indented `hang` more than its first: a report's items
/// (a receipt's) stay apart from their continuations.
pub fn wrap_hanging(text: &str, width: usize, hang: usize) -> String {
    // A hang that leaves no room for a word is not kept.
    wrap_lines(text, width, |indent| {
        indent + if indent + hang < width / 2 { hang } else { 0 }
    })
}

/// A table's rows for a terminal `width` columns wide (as they are without one): a row wider
/// than that continues its last column under that column, which starts at `column`; 4 in
/// when that would leave under 16 columns for it.
pub fn fit_table_rows(text: &str, width: Option<usize>, column: usize) -> String {
    match width {
        Some(width) => wrap_lines(
            text,
            width,
            |_| {
                if column + 16 <= width { column } else { 4 }
            },
        ),
        None => text.to_string(),
    }
}

/// `text` broken at spaces into lines of at most `width` columns; a continued line starts
/// at the column `continued` gives for its line's indentation.
fn wrap_lines(text: &str, width: usize, continued: impl Fn(usize) -> usize) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if console::measure_text_width(line) <= width {
            out.push_str(line);
            continue;
        }
        let indent = &line[..line.len() - line.trim_start_matches(' ').len()];
        let units = unbroken_units(&line[indent.len()..]);
        let mut words = units.iter().map(String::as_str);
        // The first word follows the indentation whatever its width.
        let first = words.next().unwrap_or_default();
        out.push_str(indent);
        out.push_str(first);
        let mut used = indent.len() + console::measure_text_width(first);
        // A list item's continuation goes under its text, not under its dash.
        let bullet = if line[indent.len()..].starts_with("- ") {
            2
        } else {
            0
        };
        let continued = continued(indent.len()) + bullet;
        for word in words {
            let w = console::measure_text_width(word);
            if used + 1 + w > width {
                out.push('\n');
                out.push_str(&" ".repeat(continued));
                used = continued;
            } else {
                out.push(' ');
                used += 1;
            }
            out.push_str(word);
            used += w;
        }
    }
    out
}

/// A line's words, except that a command to type (from `alarm-distcc`, or `sudo` before it,
/// to the line's end, a closing backtick, a `;`, or a `(` that explains it) is one unit: a line
/// break inside it would break the command when it is copied. A unit wider than the line gets
/// a line of its own, whole, and the terminal continues it.
fn unbroken_units(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split(' ').collect();
    // A quoted command may open a parenthesis: "(`alarm-distcc helper` prints it)".
    let opened = |word: &'_ str| word.trim_start_matches('(').starts_with('`');
    let starts_command = |at: usize| {
        let word = words[at].trim_start_matches('(').trim_start_matches('`');
        word == "alarm-distcc"
            || (word == "sudo" && words.get(at + 1).is_some_and(|w| *w == "alarm-distcc"))
    };
    let mut units: Vec<String> = Vec::with_capacity(words.len());
    let mut at = 0;
    while at < words.len() {
        let mut unit = words[at].to_string();
        if starts_command(at) {
            let quoted = opened(words[at]);
            let closed = |unit: &str| {
                unit.ends_with(';') || (quoted && unit.len() > 1 && unit.ends_with('`'))
            };
            while !closed(&unit) && words.get(at + 1).is_some_and(|next| !next.starts_with('(')) {
                at += 1;
                unit.push(' ');
                unit.push_str(words[at]);
            }
        }
        units.push(unit);
        at += 1;
    }
    units
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_except_colors};

    #[test]
    fn wrap_breaks_at_spaces_within_the_width() {
        let text = "This machine's slots are the compile jobs it runs itself.";
        let wrapped = super::wrap(text, 20);
        assert!(
            wrapped.lines().all(|l| l.chars().count() <= 20),
            "{wrapped}"
        );
        assert_eq!(wrapped.replace('\n', " "), text);
        // Short lines, indentation kept on a continued line, a word wider than the width.
        assert_eq!(super::wrap("a b\nc", 10), "a b\nc");
        assert_eq!(super::wrap("  one two three", 10), "  one two\n  three");
        assert_eq!(super::wrap("abcdefghijkl x", 5), "abcdefghijkl\nx");
        // A list item continues under its text.
        assert_eq!(
            super::wrap("  - nothing listens there", 16),
            "  - nothing\n    listens\n    there"
        );
    }

    #[test]
    fn a_command_to_type_is_never_broken() {
        let line = "fix: or find one: alarm-distcc --config m.conf discover --add";
        assert_eq!(
            super::wrap_hanging(line, 50, 4),
            "fix: or find one:\n    alarm-distcc --config m.conf discover --add"
        );
        // It ends at a `(` that explains it, a closing backtick or a `;`.
        assert_eq!(
            super::wrap("next: alarm-distcc probe x (checks each helper)", 30),
            "next: alarm-distcc probe x\n(checks each helper)"
        );
        assert_eq!(
            super::wrap("run `alarm-distcc build --baseline` to see it", 34),
            "run\n`alarm-distcc build --baseline` to\nsee it"
        );
        assert_eq!(
            super::wrap(
                "sudo alarm-distcc set-local 2; sudo alarm-distcc add-host h/6",
                32
            ),
            "sudo alarm-distcc set-local 2;\nsudo alarm-distcc add-host h/6"
        );
        // Wider than any line: on a line of its own, whole, for the terminal to continue.
        assert_eq!(
            super::wrap_hanging("next: alarm-distcc --config /a/long/path probe", 20, 4),
            "next:\n    alarm-distcc --config /a/long/path probe"
        );
        // Quoted inside a parenthesis.
        assert_eq!(
            super::wrap(
                "also (`alarm-distcc helper --format powershell` prints it)",
                46
            ),
            "also\n(`alarm-distcc helper --format powershell`\nprints it)"
        );
        // Words that only mention the tool are words.
        assert_eq!(
            super::wrap("given -j4 by alarm-distcc's wrapper here", 20),
            "given -j4 by\nalarm-distcc's\nwrapper here"
        );
    }

    #[test]
    fn suggested_commands_name_the_config_given() {
        let tool = "alarm-distcc --config 'my conf'";
        assert_eq!(
            super::with_tool("no hosts left; `alarm-distcc disable` turns it off", tool),
            "no hosts left; `alarm-distcc --config 'my conf' disable` turns it off"
        );
        // Twice in a line, after sudo too; one that names a config already, one not quoted
        // as a command, and a mere mention stay as they are.
        assert_eq!(
            super::with_tool("`sudo alarm-distcc sort` or `alarm-distcc probe`", tool),
            "`sudo alarm-distcc --config 'my conf' sort` or \
             `alarm-distcc --config 'my conf' probe`"
        );
        let as_is = "`alarm-distcc --config x build`, alarm-distcc's wrapper, `alarm-distcc`, \
                     alarm-distcc wrote it";
        assert_eq!(super::with_tool(as_is, tool), as_is);
        // No --config given: nothing to add.
        let text = "`alarm-distcc enable` turns it on";
        assert_eq!(super::with_tool(text, "alarm-distcc"), text);
    }

    #[test]
    fn a_tables_last_column_continues_under_itself() {
        let table = "HOST  VERDICT\nh1    usable: compiles for aarch64\nh2    no";
        assert_eq!(
            super::fit_table_rows(table, Some(24), 6),
            "HOST  VERDICT\nh1    usable: compiles\n      for aarch64\nh2    no"
        );
        // Too little room under the column: 4 in.
        assert_eq!(
            super::fit_table_rows("a                 b c d", Some(20), 18),
            "a                 b\n    c d"
        );
        assert_eq!(super::fit_table_rows(table, None, 6), table);
    }

    #[test]
    fn a_hanging_wrap_indents_continuations_further() {
        assert_eq!(
            super::wrap_hanging("  one two three\n  four", 10, 2),
            "  one two\n    three\n  four"
        );
        // No room for the hang: the line's own indentation is kept.
        assert_eq!(super::wrap_hanging("   a b c", 8, 4), "   a b c");
        assert_eq!(super::wrap_hanging("   aa bb cc", 8, 4), "   aa bb\n   cc");
    }

    #[test]
    fn colour_codes_pass_other_sequences_do_not() {
        assert_eq!(
            escape_except_colors("\x1b[1;31mred\x1b[0m \x1b]0;t\x07 \x1b[2J"),
            "\x1b[1;31mred\x1b[0m \\x1b]0;t\\x07 \\x1b[2J"
        );
        // Sequences that hide or move text are not this tool's palette, even in SGR form.
        assert_eq!(
            escape_except_colors("\x1b[8mhidden\x1b[7m\x1b[31;5m\x1b[38;5;1m\x1b[m"),
            "\\x1b[8mhidden\\x1b[7m\\x1b[31;5m\\x1b[38;5;1m\\x1b[m"
        );
    }

    #[test]
    fn escapes_terminal_sequences_keeps_lines() {
        assert_eq!(
            escape("a\x1b]0;t\x07\x1b[2J\tb\nc\r\u{9b}"),
            "a\\x1b]0;t\\x07\\x1b[2J\tb\nc\\x0d\\x9b"
        );
    }
}
