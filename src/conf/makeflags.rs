//! The job count inside a MAKEFLAGS value, in any of the forms people write:
//! `-jN`, `-j N`, `--jobs=N`, `--jobs N`, `-j$(nproc)`, `-j$(($(nproc)+1))`, backticks.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobCount {
    Fixed(u32),
    /// Computed by the shell when makepkg sources the file, e.g. `$(nproc)`.
    Computed(String),
    /// A bare `-j`: make runs without a limit.
    Unlimited,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFlag {
    /// The flag and its count, relative to the text searched.
    pub range: Range<usize>,
    pub count: JobCount,
    pub text: String,
}

/// Words of a MAKEFLAGS text with their ranges; `$(..)`, `${..}` and backticks stay whole.
fn words(text: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    // An escaped blank (`-j2\ -l3`, unquoted) separates words in the value bash makes.
    let escaped_blank =
        |i: usize| text[i] == b'\\' && text.get(i + 1).is_some_and(|c| c.is_ascii_whitespace());
    while i < text.len() {
        if text[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if escaped_blank(i) {
            i += 2;
            continue;
        }
        let start = i;
        let mut depth = 0usize;
        let mut in_backticks = false;
        while i < text.len() {
            match text[i] {
                b'\\' if depth == 0 && !in_backticks && escaped_blank(i) => break,
                b'\\' => i += 1,
                b'`' => in_backticks = !in_backticks,
                b'(' | b'{' => depth += 1,
                b')' | b'}' => depth = depth.saturating_sub(1),
                c if c.is_ascii_whitespace() && depth == 0 && !in_backticks => break,
                _ => {}
            }
            i += 1;
        }
        out.push(start..i.min(text.len()));
    }
    out
}

fn count_of(word: &str) -> JobCount {
    match word.parse::<u32>() {
        Ok(n) if word.bytes().all(|b| b.is_ascii_digit()) => JobCount::Fixed(n),
        _ => JobCount::Computed(word.to_string()),
    }
}

fn looks_like_count(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_digit() || c == '$' || c == '`')
}

/// Every job flag in `text`, in order.
pub fn find_job_flags(text: &[u8]) -> Vec<JobFlag> {
    let ws = words(text);
    let s = |r: &Range<usize>| String::from_utf8_lossy(&text[r.clone()]).into_owned();
    let mut flags = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let word = s(&ws[i]);
        let separate = word == "-j" || word == "--jobs";
        let attached = word
            .strip_prefix("--jobs=")
            .or_else(|| word.strip_prefix("-j").filter(|r| !r.is_empty()));
        if separate {
            let next = ws.get(i + 1).map(&s).filter(|w| looks_like_count(w));
            let (end, count) = match next {
                Some(n) => {
                    i += 1;
                    (ws[i].end, count_of(&n))
                }
                None => (ws[i].end, JobCount::Unlimited),
            };
            let range = ws[if matches!(count, JobCount::Unlimited) {
                i
            } else {
                i - 1
            }]
            .start..end;
            flags.push(JobFlag {
                text: String::from_utf8_lossy(&text[range.clone()]).into_owned(),
                range,
                count,
            });
        } else if let Some(rest) = attached {
            flags.push(JobFlag {
                range: ws[i].clone(),
                count: count_of(rest),
                text: word.clone(),
            });
        }
        i += 1;
    }
    flags
}

/// `text` with the range and one neighbouring blank removed.
pub fn remove_with_blank(text: &[u8], range: Range<usize>) -> Range<usize> {
    if range.start > 0 && text[range.start - 1].is_ascii_whitespace() {
        range.start - 1..range.end
    } else if range.end < text.len() && text[range.end].is_ascii_whitespace() {
        range.start..range.end + 1
    } else {
        range
    }
}

/// `text` with its job count set to `jobs`: the last job flag replaced, any others removed,
/// `-jN` put in front when there is none.
pub fn with_jobs(text: &str, jobs: u32) -> String {
    let bytes = text.as_bytes();
    let flags = find_job_flags(bytes);
    let Some(last) = flags.last() else {
        return if text.trim().is_empty() {
            format!("-j{jobs}")
        } else {
            format!("-j{jobs} {text}")
        };
    };
    let mut out = String::from_utf8_lossy(&bytes[..last.range.start]).into_owned();
    out.push_str(&format!("-j{jobs}"));
    out.push_str(&text[last.range.end..]);
    for f in flags[..flags.len() - 1].iter().rev() {
        let r = remove_with_blank(bytes, f.range.clone());
        out.replace_range(r, "");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_blank_separates_words() {
        let flags = find_job_flags(br"-j2\ -l3");
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].count, JobCount::Fixed(2));
        assert_eq!(with_jobs(r"-j2\ -l3", 4), r"-j4\ -l3");
    }

    fn counts(s: &str) -> Vec<(String, JobCount)> {
        find_job_flags(s.as_bytes())
            .into_iter()
            .map(|f| (f.text, f.count))
            .collect()
    }

    #[test]
    fn finds_every_form() {
        assert_eq!(counts("-j2"), [("-j2".into(), JobCount::Fixed(2))]);
        assert_eq!(
            counts("-e -j $(nproc) -O line"),
            [("-j $(nproc)".into(), JobCount::Computed("$(nproc)".into()))]
        );
        assert_eq!(
            counts("--jobs=$(nproc)"),
            [(
                "--jobs=$(nproc)".into(),
                JobCount::Computed("$(nproc)".into())
            )]
        );
        assert_eq!(
            counts("--jobs 6"),
            [("--jobs 6".into(), JobCount::Fixed(6))]
        );
        assert_eq!(
            counts("-j$(($(nproc)+1))"),
            [(
                "-j$(($(nproc)+1))".into(),
                JobCount::Computed("$(($(nproc)+1))".into())
            )]
        );
        assert_eq!(
            counts("-j$((`nproc` + 1))"),
            [(
                "-j$((`nproc` + 1))".into(),
                JobCount::Computed("$((`nproc` + 1))".into())
            )]
        );
        assert_eq!(counts("-j -O"), [("-j".into(), JobCount::Unlimited)]);
        assert!(counts("-O line -k").is_empty());
    }

    #[test]
    fn sets_the_job_count_in_text() {
        assert_eq!(with_jobs("-j2 -O line", 8), "-j8 -O line");
        assert_eq!(with_jobs("-e -j $(nproc) -O line", 8), "-e -j8 -O line");
        assert_eq!(with_jobs("-j2 -k -j3", 8), "-k -j8");
        assert_eq!(with_jobs("-O line", 8), "-j8 -O line");
        assert_eq!(with_jobs("", 8), "-j8");
    }
}
