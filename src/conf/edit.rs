//! Pure edits: each takes a document and returns a new one that differs only where it must.

use crate::conf::document::{Document, ItemKind, unquote_span};
use crate::conf::makeflags::{JobCount, find_job_flags, remove_with_blank};
use crate::conf::view::{
    self, BUILDENV, BuildenvState, DISTCC_HOSTS, MAKEFLAGS, MakeflagsState, Resolution, Scalar,
};
use crate::distcc::hosts::HostList;
use std::fmt;

/// The file cannot be edited safely at `line`; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for Refusal {}

pub type EditResult = Result<Edited, Refusal>;

#[derive(Debug, Clone)]
pub struct Edited {
    pub doc: Document,
    pub notes: Vec<String>,
}

impl Edited {
    fn same(doc: &Document) -> Edited {
        Edited {
            doc: doc.clone(),
            notes: Vec::new(),
        }
    }
}

fn blocked(b: &view::Blocker) -> Refusal {
    Refusal {
        line: b.line,
        message: format!(
            "{} is set inside shell logic (`{}`), so its value depends on code the tool will \
             not rewrite; move that assignment to a plain top-level line, or use --drop-in to \
             put the distcc settings in a file of their own",
            b.name, b.text
        ),
    }
}

/// Appends a line at the end, keeping the file's choice about a final newline.
fn append_line(doc: &Document, line: &str) -> Document {
    let text = doc.as_bytes();
    let end = text.len();
    let insertion = match text.last() {
        None => format!("{line}\n"),
        Some(b'\n') => format!("{line}\n"),
        Some(_) => format!("\n{line}"),
    };
    doc.splice(end..end, insertion.as_bytes())
}

/// Inserts a line after item `i`, with the indentation of that item.
fn insert_after_item(doc: &Document, i: usize, line: &str) -> Document {
    let item = &doc.items()[i];
    let indent = String::from_utf8_lossy(doc.indent_at(item.span.start)).into_owned();
    let end = item.span.end;
    if doc.as_bytes()[..end].ends_with(b"\n") {
        doc.splice(end..end, format!("{indent}{line}\n").as_bytes())
    } else {
        doc.splice(end..end, format!("\n{indent}{line}").as_bytes())
    }
}

/// If `line` is a commented assignment `[blanks]#[blanks][export ]NAME=...`: its indentation
/// length and whether it says `export`.
fn commented_assignment(line: &[u8], name: &str) -> Option<(usize, bool)> {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let skip_blanks = |s: &[u8]| s.iter().take_while(|b| blank(b)).count();
    let indent = skip_blanks(line);
    let rest = line[indent..].strip_prefix(b"#")?;
    let rest = &rest[skip_blanks(rest)..];
    let (export, rest) = match rest.strip_prefix(b"export") {
        Some(r) if r.first().is_some_and(blank) => (true, &r[skip_blanks(r)..]),
        _ => (false, rest),
    };
    rest.strip_prefix(name.as_bytes())?
        .starts_with(b"=")
        .then_some((indent, export))
}

/// A commented stock template line for `name` (`#DISTCC_HOSTS=""`, `#MAKEFLAGS="-j2"`,
/// `#MAKEFLAGS=`): the last top-level one, if any. Returns the item index.
fn template_line(doc: &Document, name: &str, before_item: Option<usize>) -> Option<usize> {
    doc.items()
        .iter()
        .enumerate()
        .take(before_item.unwrap_or(usize::MAX))
        .filter(|(_, item)| matches!(item.kind, ItemKind::Comment))
        .filter(|(_, item)| commented_assignment(doc.slice(item.span.clone()), name).is_some())
        .map(|(i, _)| i)
        .next_back()
}

/// Creates `name="value"`: uncomments the stock template line in place, else inserts after
/// BUILDENV, else appends. A new `=` must come before any `+=` of the same variable.
fn create_assignment(doc: &Document, name: &str, value: &str) -> Document {
    let first_append = doc.assignments(name).map(|(i, _)| i).next();
    let line = format!("{name}=\"{value}\"");
    if let Some(t) = template_line(doc, name, first_append) {
        let span = doc.items()[t].span.clone();
        let text = doc.slice(span.clone());
        let (indent_len, export) =
            commented_assignment(text, name).expect("template_line() matched it");
        let newline = if text.ends_with(b"\n") { "\n" } else { "" };
        let replacement = format!(
            "{}{}{line}{newline}",
            String::from_utf8_lossy(&text[..indent_len]),
            if export { "export " } else { "" }
        );
        return doc.splice(span, replacement.as_bytes());
    }
    let buildenv = doc.assignments(BUILDENV).map(|(i, _)| i).last();
    match buildenv {
        Some(b) if first_append.is_none_or(|a| b < a) => insert_after_item(doc, b, &line),
        _ => match first_append {
            Some(a) if a > 0 => insert_after_item(doc, a - 1, &line),
            Some(_) => doc.splice(0..0, format!("{line}\n").as_bytes()),
            None => append_line(doc, &line),
        },
    }
}

/// Writes `value` into an existing scalar assignment's value, in its own quoting style.
fn replace_scalar_value(doc: &Document, item: usize, value: &str) -> Document {
    let a = view::assignment(doc, item);
    let raw = doc.slice(a.value.clone());
    let (quote, _) = unquote_span(raw);
    let needs_quotes = value.is_empty() || value.contains(|c: char| c.is_whitespace());
    let new_raw = match quote {
        Some(q) => format!("{}{value}{}", q as char, q as char),
        None if needs_quotes => format!("\"{value}\""),
        None => value.to_string(),
    };
    doc.splice(a.value.clone(), new_raw.as_bytes())
}

/// Turns distcc on or off in BUILDENV, changing only the deciding entry.
pub fn set_distcc(doc: &Document, enabled: bool) -> EditResult {
    let word = if enabled { "distcc" } else { "!distcc" };
    match view::buildenv(doc) {
        BuildenvState::Blocked(b) => Err(blocked(&b)),
        BuildenvState::Flag { flag, .. } if flag.enabled == enabled => Ok(Edited::same(doc)),
        BuildenvState::Flag { flag, .. } => {
            // `'!distcc'` becomes `'distcc'`: the entry keeps its quoting.
            let raw = doc.slice(flag.range.clone());
            let new = match raw.first() {
                Some(q @ (b'\'' | b'"')) => format!("{0}{word}{0}", *q as char),
                _ => word.to_string(),
            };
            Ok(Edited {
                doc: doc.splice(flag.range, new.as_bytes()),
                notes: Vec::new(),
            })
        }
        // The entry goes after the inherited ones, so it wins whatever they say.
        BuildenvState::Inherits { after, .. } => Ok(Edited {
            doc: doc.splice(after..after, format!(" {word}").as_bytes()),
            notes: Vec::new(),
        }),
        // makepkg's default is !distcc: nothing to turn off.
        BuildenvState::NoEntry { .. } | BuildenvState::Unset if !enabled => Ok(Edited::same(doc)),
        BuildenvState::NoEntry { chain } => {
            let a = view::assignment(doc, chain[0]);
            if !a.is_array {
                return Err(Refusal {
                    line: doc.items()[chain[0]].line,
                    message: "BUILDENV is not an array; makepkg requires BUILDENV=(...)".into(),
                });
            }
            let open = a.value.start + 1;
            let empty = doc
                .slice(a.value.clone())
                .iter()
                .all(|b| b" \t\n()".contains(b));
            let insertion = if empty {
                word.to_string()
            } else {
                format!("{word} ")
            };
            Ok(Edited {
                doc: doc.splice(open..open, insertion.as_bytes()),
                notes: Vec::new(),
            })
        }
        // A file without BUILDENV (a per-user file or drop-in) must not replace the system's
        // options, only add to them.
        BuildenvState::Unset => Ok(Edited {
            doc: append_line(doc, &format!("{BUILDENV}+=({word})")),
            notes: Vec::new(),
        }),
    }
}

/// The host list this file sets, or why it cannot be edited.
pub fn current_hosts(doc: &Document) -> Result<(HostList, Option<usize>), Refusal> {
    match view::hosts(doc) {
        Scalar::Unset => Ok((HostList::default(), None)),
        Scalar::Blocked(b) => Err(blocked(&b)),
        Scalar::Computed { text, line } => Err(Refusal {
            line,
            message: format!(
                "DISTCC_HOSTS is computed by shell code ({text}); replace it with a plain \
                 list of hosts, or use --drop-in to set the list in a file of its own"
            ),
        }),
        Scalar::Static {
            appended: true,
            line,
            ..
        } => Err(Refusal {
            line,
            message: "DISTCC_HOSTS is built with `+=`; merge it into one DISTCC_HOSTS=\"...\" \
                      line first"
                .into(),
        }),
        Scalar::Static { value, line, .. } => {
            if value.contains('#') {
                return Err(Refusal {
                    line,
                    message: "DISTCC_HOSTS holds a `#` comment, which the tool would lose; \
                              move the comment out of the value first"
                        .into(),
                });
            }
            Ok((HostList::parse(&value), Some(line)))
        }
    }
}

/// Sets DISTCC_HOSTS to `list`.
pub fn set_hosts(doc: &Document, list: &HostList) -> EditResult {
    let value = list.render();
    let resolution = view::resolve(doc, DISTCC_HOSTS, |_| true);
    match resolution {
        Resolution::Blocked(b) => Err(blocked(&b)),
        Resolution::Unset => Ok(Edited {
            doc: create_assignment(doc, DISTCC_HOSTS, &value),
            notes: Vec::new(),
        }),
        Resolution::Chain { items, .. } => {
            current_hosts(doc)?;
            let value = with_layout_of(
                &doc.str_lossy(view::assignment(doc, items[0]).value.clone()),
                list,
            );
            let new = replace_scalar_value(doc, items[0], &value);
            Ok(Edited {
                doc: if new.as_bytes() == doc.as_bytes() {
                    doc.clone()
                } else {
                    new
                },
                notes: Vec::new(),
            })
        }
    }
}

/// The list's tokens laid out as the old value was: its blanks, newlines and tabs between
/// tokens (and around them) are kept in turn; a token added past the old ones gets the last
/// separator (a space when there was none).
fn with_layout_of(old_raw: &str, list: &HostList) -> String {
    let inner = old_raw
        .strip_prefix(['"', '\''])
        .and_then(|r| r.strip_suffix(['"', '\'']))
        .unwrap_or(old_raw);
    if !inner.contains(['\n', '\t']) {
        return list.render();
    }
    let lead: String = inner.chars().take_while(|c| c.is_whitespace()).collect();
    let trail: String = inner
        .chars()
        .rev()
        .take_while(|c| c.is_whitespace())
        .collect();
    let trail: String = trail.chars().rev().collect();
    let gaps: Vec<&str> = inner
        .trim()
        .split(|c: char| !c.is_whitespace())
        .filter(|g| !g.is_empty())
        .collect();
    let mut out = lead;
    for (i, t) in list.tokens.iter().enumerate() {
        if i > 0 {
            out.push_str(gaps.get(i - 1).or(gaps.last()).copied().unwrap_or(" "));
        }
        out.push_str(&t.raw);
    }
    out.push_str(&trail);
    out
}

/// Sets make's job count to `jobs`, keeping every other MAKEFLAGS flag. `inherited` is the
/// MAKEFLAGS text makepkg has from earlier files: a file that sets none starts from it, so a
/// drop-in does not drop the main file's other flags.
pub fn set_jobs(doc: &Document, jobs: u32, inherited: Option<&str>) -> EditResult {
    let new_flag = format!("-j{jobs}");
    let items = match view::makeflags(doc) {
        MakeflagsState::Blocked(b) => return Err(blocked(&b)),
        MakeflagsState::Unset => {
            let value = inherited
                .map(|text| crate::conf::makeflags::with_jobs(text, jobs))
                .filter(|v| !v.contains(['$', '`', '"', '\\']))
                .unwrap_or(new_flag);
            return Ok(Edited {
                doc: create_assignment(doc, MAKEFLAGS, &value),
                notes: Vec::new(),
            });
        }
        MakeflagsState::Value(_) => match view::resolve(doc, MAKEFLAGS, |_| true) {
            Resolution::Chain { items, .. } => items,
            _ => unreachable!("makeflags() resolved it"),
        },
    };
    // (absolute range, count) of every job flag in the chain.
    let mut flags = Vec::new();
    for &i in &items {
        let a = view::assignment(doc, i);
        let raw = doc.slice(a.value.clone());
        let (_, inner) = unquote_span(raw);
        let base = a.value.start + inner.start;
        for f in find_job_flags(&raw[inner.clone()]) {
            let removal = remove_with_blank(&raw[inner.clone()], f.range.clone());
            flags.push((
                base + f.range.start..base + f.range.end,
                base + removal.start..base + removal.end,
                f,
            ));
        }
    }
    let mut notes = Vec::new();
    let Some((last_range, _, last)) = flags.last().cloned() else {
        let a = view::assignment(doc, items[0]);
        let raw = doc.slice(a.value.clone());
        if raw.contains(&b'$') || raw.contains(&b'`') {
            return Err(Refusal {
                line: doc.items()[items[0]].line,
                message: format!(
                    "MAKEFLAGS is computed by shell code ({}) and has no -j to replace; \
                     write it as plain flags, or use --drop-in",
                    String::from_utf8_lossy(raw)
                ),
            });
        }
        let (_, inner) = unquote_span(raw);
        let inner_text = String::from_utf8_lossy(&raw[inner]).into_owned();
        let value = if inner_text.trim().is_empty() {
            new_flag
        } else {
            format!("{new_flag} {inner_text}")
        };
        return Ok(Edited {
            doc: replace_scalar_value(doc, items[0], &value),
            notes,
        });
    };
    if flags.len() == 1 && last.count == JobCount::Fixed(jobs) && last.text == new_flag {
        return Ok(Edited::same(doc));
    }
    match &last.count {
        JobCount::Computed(expr) => notes.push(format!(
            "MAKEFLAGS: replaced the computed job count `{}` ({expr} is worked out when makepkg \
             runs) with {new_flag}, the total of the host slots",
            last.text
        )),
        JobCount::Unlimited => notes.push(format!(
            "MAKEFLAGS: replaced the unlimited `-j` with {new_flag}"
        )),
        JobCount::Fixed(_) => {}
    }
    if flags.len() > 1 {
        notes.push(format!(
            "MAKEFLAGS: removed {} other job flag(s) so that only one -j remains",
            flags.len() - 1
        ));
    }
    // One pass over the text, whatever the number of flags (32,000 `+=` lines stay linear).
    let mut edits = vec![(last_range, new_flag.into_bytes())];
    edits.extend(
        flags[..flags.len() - 1]
            .iter()
            .map(|(_, removal, _)| (removal.clone(), Vec::new())),
    );
    Ok(Edited {
        doc: doc.splice_all(edits),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: EditResult) -> String {
        String::from_utf8(e.unwrap().doc.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn layout_and_quoting_are_kept() {
        let doc = Document::parse("DISTCC_HOSTS=\"\n  a/4\n  b/2\n\"\n");
        let mut list = HostList::parse("a/4\nb/2");
        list.add("c:3632/6".parse().unwrap());
        let e = set_hosts(&doc, &list).unwrap();
        assert_eq!(
            String::from_utf8_lossy(e.doc.as_bytes()),
            "DISTCC_HOSTS=\"\n  c:3632/6\n  a/4\n  b/2\n\"\n"
        );
        let doc = Document::parse("BUILDENV=('!distcc' 'color')\n");
        assert_eq!(
            text(set_distcc(&doc, true)),
            "BUILDENV=('distcc' 'color')\n"
        );
    }

    #[test]
    fn flips_only_the_deciding_entry() {
        let src = "# Makepkg defaults: BUILDENV=(!distcc !color)\nBUILDENV=(!distcc color) # x\n";
        let doc = Document::parse(src);
        assert_eq!(
            text(set_distcc(&doc, true)),
            "# Makepkg defaults: BUILDENV=(!distcc !color)\nBUILDENV=(distcc color) # x\n"
        );
        let doc = Document::parse("BUILDENV=(fakeroot color)");
        assert_eq!(
            text(set_distcc(&doc, true)),
            "BUILDENV=(distcc fakeroot color)"
        );
        let doc = Document::parse("MAKEFLAGS=-j2\n");
        assert_eq!(
            text(set_distcc(&doc, true)),
            "MAKEFLAGS=-j2\nBUILDENV+=(distcc)\n"
        );
    }

    #[test]
    fn uncomments_template_in_place() {
        let doc = Document::parse("A=1\n#MAKEFLAGS=\"-j2\"\nB=2\n");
        assert_eq!(
            text(set_jobs(&doc, 8, None)),
            "A=1\nMAKEFLAGS=\"-j8\"\nB=2\n"
        );
        let doc = Document::parse("  BUILDENV=(distcc)\n  X=1\n");
        let list = HostList::parse("h/3");
        assert_eq!(
            text(set_hosts(&doc, &list)),
            "  BUILDENV=(distcc)\n  DISTCC_HOSTS=\"h/3\"\n  X=1\n"
        );
    }

    #[test]
    fn replaces_only_the_job_count() {
        let doc = Document::parse("MAKEFLAGS=\"-e -j $(nproc) -O line\" ## c\n");
        let e = set_jobs(&doc, 8, None).unwrap();
        assert_eq!(e.doc.as_bytes(), b"MAKEFLAGS=\"-e -j8 -O line\" ## c\n");
        assert_eq!(e.notes.len(), 1);
        let doc = Document::parse("MAKEFLAGS='-j2 -j3'\n");
        assert_eq!(text(set_jobs(&doc, 8, None)), "MAKEFLAGS='-j8'\n");
        let doc = Document::parse("MAKEFLAGS=\"$EXTRA\"\n");
        assert_eq!(set_jobs(&doc, 8, None).unwrap_err().line, 1);
    }

    #[test]
    fn refuses_computed_hosts() {
        let doc = Document::parse("DISTCC_HOSTS=\"$(cat /etc/hosts.distcc)\"\n");
        let err = set_hosts(&doc, &HostList::parse("h")).unwrap_err();
        assert!(err.message.contains("computed"), "{err}");
    }
}
