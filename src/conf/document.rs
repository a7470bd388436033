//! Lossless model of a makepkg.conf, which is a bash script sourced by makepkg.
//!
//! The file is split into items that partition it exactly: blank lines, comment lines, simple
//! top-level assignments (`[export ]NAME=value` / `NAME+=value`, possibly spanning lines) and
//! opaque shell logic (if/case/functions/commands). Printing concatenates the items, so an
//! unedited document prints back byte for byte. Edits splice new bytes into the text and parse
//! again, which keeps every byte outside the edited range.

use std::ops::Range;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Set,
    Append,
}

/// A simple top-level assignment: the only statements the tool will edit.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub name: String,
    pub op: Op,
    pub export: bool,
    /// Absolute byte range of the raw value as written (quotes or parentheses included).
    pub value: Range<usize>,
    pub is_array: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TouchKind {
    Set,
    Append,
    /// `unset NAME`.
    Other,
}

/// Where `logic` stands while it follows a command list to its end.
#[derive(Default)]
struct LogicState {
    keyword_depth: i32,
    paren_depth: i32,
    command_position: bool,
    /// After `&&`, `||`, `|`: the list goes on past the newline.
    continues: bool,
    /// Some(true) after `unset`, Some(false) after `export`/`declare`/...
    declaring: Option<bool>,
    heredocs: Vec<(Vec<u8>, bool)>,
    touches: Vec<Touch>,
}

/// A variable assigned (or unset) somewhere inside opaque shell logic.
#[derive(Debug, Clone)]
pub struct Touch {
    pub name: String,
    pub line: usize,
    pub kind: TouchKind,
    /// The word as written, e.g. `BUILDENV+=(ccache)`.
    pub text: String,
}

#[derive(Debug, Clone)]
pub enum ItemKind {
    Blank,
    Comment,
    Assignment(Assignment),
    Logic(Vec<Touch>),
}

#[derive(Debug, Clone)]
pub struct Item {
    pub span: Range<usize>,
    /// 1-based line of the item's first byte.
    pub line: usize,
    pub kind: ItemKind,
}

#[derive(Debug, Clone)]
pub struct Document {
    text: Vec<u8>,
    items: Vec<Item>,
    line_starts: Vec<usize>,
    too_deep_at: Option<usize>,
}

/// Deeper `$(`/`${` nesting than this is not followed (no real config comes close); the rest
/// of the file is kept as opaque text and the document is marked, so it is never edited.
pub const MAX_NESTING: usize = 256;

impl Document {
    pub fn parse(text: impl Into<Vec<u8>>) -> Document {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(
            text.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let mut parser = Parser {
            s: &text,
            pos: 0,
            line_starts: &line_starts,
            depth: 0,
            too_deep_at: None,
            in_export: false,
        };
        let items = parser.items();
        let too_deep_at = parser.too_deep_at;
        Document {
            text,
            items,
            line_starts,
            too_deep_at,
        }
    }

    /// The line where nesting passed `MAX_NESTING`, if it did.
    pub fn too_deep_at(&self) -> Option<usize> {
        self.too_deep_at
    }

    /// The document printed back from its items (identical to the input when unedited).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len());
        for item in &self.items {
            out.extend_from_slice(&self.text[item.span.clone()]);
        }
        out
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    pub fn items(&self) -> &[Item] {
        &self.items
    }

    pub fn slice(&self, range: Range<usize>) -> &[u8] {
        &self.text[range]
    }

    pub fn str_lossy(&self, range: Range<usize>) -> String {
        String::from_utf8_lossy(&self.text[range]).into_owned()
    }

    /// 1-based line number of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// Leading blanks of the line holding `offset`.
    pub fn indent_at(&self, offset: usize) -> &[u8] {
        let start = self.line_starts[self.line_of(offset) - 1];
        let end = self.text[start..]
            .iter()
            .position(|b| *b != b' ' && *b != b'\t')
            .map_or(self.text.len(), |n| start + n);
        &self.text[start..end]
    }

    /// A new document with `range` replaced by `replacement`.
    pub fn splice(&self, range: Range<usize>, replacement: &[u8]) -> Document {
        let mut text = Vec::with_capacity(self.text.len() + replacement.len());
        text.extend_from_slice(&self.text[..range.start]);
        text.extend_from_slice(replacement);
        text.extend_from_slice(&self.text[range.end..]);
        Document::parse(text)
    }

    /// Files this document sources at top level (`source /path` or `. /path`, an absolute
    /// path written as a plain word), with their line: makepkg reads them as part of it.
    pub fn sourced_files(&self) -> Vec<(usize, PathBuf)> {
        self.items
            .iter()
            .filter(|i| matches!(i.kind, ItemKind::Logic(_)))
            .filter_map(|i| {
                let text = self.slice(i.span.clone());
                let text = match text.iter().position(|b| *b == b'#') {
                    Some(n) => &text[..n],
                    None => text,
                };
                let words: Vec<&[u8]> = text
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|w| !w.is_empty())
                    .collect();
                match words.as_slice() {
                    [cmd, file] if *cmd == b"source" || *cmd == b".".as_slice() => {
                        match decode_word(file) {
                            Decoded::Static(f) if f.starts_with('/') => {
                                Some((i.line, PathBuf::from(f)))
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// A new document with each range replaced, parsed once: `edits` do not overlap.
    pub fn splice_all(&self, mut edits: Vec<(Range<usize>, Vec<u8>)>) -> Document {
        edits.sort_by_key(|(r, _)| r.start);
        let mut text = Vec::with_capacity(self.text.len());
        let mut at = 0;
        for (range, replacement) in edits {
            text.extend_from_slice(&self.text[at..range.start]);
            text.extend_from_slice(&replacement);
            at = range.end;
        }
        text.extend_from_slice(&self.text[at..]);
        Document::parse(text)
    }

    /// Top-level assignments to `name`, in file order, with their item index.
    pub fn assignments<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (usize, &'a Assignment)> + 'a {
        self.items
            .iter()
            .enumerate()
            .filter_map(move |(i, item)| match &item.kind {
                ItemKind::Assignment(a) if a.name == name => Some((i, a)),
                _ => None,
            })
    }

    /// Places inside shell logic that touch `name`, with the index of their item. A function
    /// definition touches nothing until it is called, and a call is not a touch the static
    /// reading can see: the bash check before every write catches what a call changes.
    pub fn touches<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (usize, &'a Touch)> + 'a {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match &item.kind {
                ItemKind::Logic(t) if !is_function_definition(self.slice(item.span.clone())) => {
                    Some(t.iter().map(move |t| (i, t)))
                }
                _ => None,
            })
            .flatten()
            .filter(move |(_, t)| t.name == name)
    }
}

const META: &[u8] = b" \t\n;&|<>()";

/// `NAME() {...}`, `function NAME {...}` or `function NAME() (...)`, and nothing after its
/// closing brace but blanks and a comment.
fn is_function_definition(text: &[u8]) -> bool {
    let blank = |b: &u8| b.is_ascii_whitespace();
    let mut i = text.iter().take_while(|b| blank(b)).count();
    let keyword = text[i..].starts_with(b"function") && text.get(i + 8).is_some_and(blank);
    if keyword {
        i += 8;
        i += text[i..].iter().take_while(|b| blank(b)).count();
    }
    let name = text[i..]
        .iter()
        .take_while(|b| is_name_char(**b) || matches!(b, b'-' | b'.' | b':'))
        .count();
    if name == 0 {
        return false;
    }
    i += name;
    i += text[i..]
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    let parens = text[i..].starts_with(b"()");
    if parens {
        i += 2;
    } else if !keyword {
        return false;
    }
    i += text[i..].iter().take_while(|b| blank(b)).count();
    let close = match text.get(i) {
        Some(b'{') => b'}',
        Some(b'(') => b')',
        _ => return false,
    };
    // The item ends at the body's close: only blanks or a comment may follow it.
    let end = text.iter().rposition(|b| *b == close).unwrap_or(0);
    let tail = &text[end + 1..];
    let tail = &tail[tail
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count()..];
    end > i && (tail.is_empty() || tail[0] == b'\n' || tail[0] == b'#')
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// If `word` starts with `NAME=` or `NAME+=`, the name and whether it appends.
pub fn assignment_prefix(word: &[u8]) -> Option<(&str, Op, usize)> {
    if !word.first().is_some_and(|b| is_name_start(*b)) {
        return None;
    }
    let n = word.iter().take_while(|b| is_name_char(**b)).count();
    let name = std::str::from_utf8(&word[..n]).ok()?;
    match &word[n..] {
        [b'=', ..] => Some((name, Op::Set, n + 1)),
        [b'+', b'=', ..] => Some((name, Op::Append, n + 2)),
        _ => None,
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    line_starts: &'a [usize],
    depth: usize,
    too_deep_at: Option<usize>,
    /// The next item continues an `export A=1 B=2` line: its assignment is exported too.
    in_export: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at(&self, lit: &[u8]) -> bool {
        self.s[self.pos..].starts_with(lit)
    }

    fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Past the end of the current line (its newline included).
    fn skip_line(&mut self) {
        match self.s[self.pos..].iter().position(|b| *b == b'\n') {
            Some(n) => self.pos += n + 1,
            None => self.pos = self.s.len(),
        }
    }

    fn items(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        while self.pos < self.s.len() {
            let start = self.pos;
            self.skip_blanks();
            let kind = match self.peek() {
                None => ItemKind::Blank,
                Some(b'\n') => {
                    self.pos += 1;
                    ItemKind::Blank
                }
                Some(b'#') => {
                    self.skip_line();
                    ItemKind::Comment
                }
                Some(_) => match self.simple_assignment() {
                    Some(a) => ItemKind::Assignment(a),
                    None => {
                        self.pos = start;
                        ItemKind::Logic(self.logic())
                    }
                },
            };
            items.push(Item {
                span: start..self.pos,
                line: self.line_of(start),
                kind,
            });
        }
        items
    }

    /// `[export ]NAME(=|+=)VALUE[ blanks][# comment](\n|EOF)`, else None (position undefined).
    fn simple_assignment(&mut self) -> Option<Assignment> {
        let mut export = std::mem::take(&mut self.in_export);
        if !export && self.at(b"export") && matches!(self.s.get(self.pos + 6), Some(b' ' | b'\t')) {
            export = true;
            self.pos += 6;
            self.skip_blanks();
        }
        if export {
            self.skip_bare_names();
        }
        let (name, op, prefix_len) = assignment_prefix(&self.s[self.pos..])?;
        let name = name.to_string();
        self.pos += prefix_len;
        let value_start = self.pos;
        let is_array = self.peek() == Some(b'(');
        if is_array {
            self.pos += 1;
            if !self.array_body() {
                return None;
            }
        } else {
            self.word();
        }
        let value = value_start..self.pos;
        self.skip_blanks();
        if export {
            // `export A=1 NPROC`: a name without a value only marks it exported.
            self.skip_bare_names();
        }
        match self.peek() {
            None => {}
            Some(b'\n') => self.pos += 1,
            Some(b'#') => self.skip_line(),
            // `export A=1 MAKEFLAGS="-j4"`: each name is a plain assignment, made in turn; the
            // next one is an item of its own on the same line.
            Some(_) if export && assignment_prefix(&self.s[self.pos..]).is_some() => {
                self.in_export = true;
            }
            Some(_) => return None,
        }
        Some(Assignment {
            name,
            op,
            export,
            value,
            is_array,
        })
    }

    /// Past the names without a value in an `export` line (`export NPROC MAKEFLAGS=-j4`):
    /// each one only marks a variable exported, which changes no value makepkg reads.
    fn skip_bare_names(&mut self) {
        loop {
            let rest = &self.s[self.pos..];
            if !rest.first().is_some_and(|b| is_name_start(*b)) {
                return;
            }
            let n = rest.iter().take_while(|b| is_name_char(**b)).count();
            if !matches!(rest.get(n), None | Some(b' ' | b'\t' | b'\n' | b'#')) {
                return;
            }
            // A `#` glued to the name is part of the word, not a comment.
            if rest.get(n) == Some(&b'#') {
                return;
            }
            self.pos += n;
            self.skip_blanks();
        }
    }

    /// After `(` of an array value: elements and comments up to the closing `)`.
    fn array_body(&mut self) -> bool {
        loop {
            match self.peek() {
                None => return false,
                Some(b' ' | b'\t' | b'\n') => self.pos += 1,
                Some(b'#') => self.skip_line(),
                Some(b')') => {
                    self.pos += 1;
                    return true;
                }
                Some(b'\\') if self.s.get(self.pos + 1) == Some(&b'\n') => self.pos += 2,
                Some(_) => {
                    let before = self.pos;
                    self.word();
                    if self.pos == before {
                        return false; // a metacharacter that cannot stand in an array
                    }
                }
            }
        }
    }

    /// One shell word: stops at an unquoted metacharacter or EOF.
    fn word(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b'\\' => self.pos = (self.pos + 2).min(self.s.len()),
                b'\'' => self.single_quoted(),
                b'"' => self.double_quoted(),
                b'`' => self.backticks(),
                b'$' => self.dollar(),
                _ if META.contains(&b) => return,
                _ => self.pos += 1,
            }
        }
    }

    fn single_quoted(&mut self) {
        self.pos += 1;
        match self.s[self.pos..].iter().position(|b| *b == b'\'') {
            Some(n) => self.pos += n + 1,
            None => self.pos = self.s.len(),
        }
    }

    fn double_quoted(&mut self) {
        self.escaped_span(b'"', true);
    }

    fn backticks(&mut self) {
        self.escaped_span(b'`', false);
    }

    /// From an opening quote to its `close`, backslash escapes honoured; `$` and backticks
    /// inside are followed when the quote `expands` (double quotes).
    fn escaped_span(&mut self, close: u8, expands: bool) {
        self.pos += 1;
        while let Some(b) = self.peek() {
            match b {
                _ if b == close => {
                    self.pos += 1;
                    return;
                }
                b'\\' => self.pos = (self.pos + 2).min(self.s.len()),
                b'`' if expands => self.backticks(),
                b'$' if expands => self.dollar(),
                _ => self.pos += 1,
            }
        }
    }

    /// At `$`: `$(...)`, `$((...))`, `${...}`, or a plain `$`/`$name` (consumed as text).
    fn dollar(&mut self) {
        self.pos += 1;
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                self.balanced(b'(', b')');
            }
            Some(b'{') => {
                self.pos += 1;
                self.balanced(b'{', b'}');
            }
            // `$'...'` allows `\'` inside.
            Some(b'\'') => self.escaped_span(b'\'', false),
            _ => {}
        }
    }

    /// Inside a `$(`/`${` construct: up to the matching close, quotes respected.
    fn balanced(&mut self, open: u8, close: u8) {
        if self.depth >= MAX_NESTING {
            self.too_deep_at.get_or_insert(self.line_of(self.pos));
            self.pos = self.s.len();
            return;
        }
        self.depth += 1;
        self.balanced_inner(open, close);
        self.depth -= 1;
    }

    fn balanced_inner(&mut self, open: u8, close: u8) {
        let mut depth = 1;
        while let Some(b) = self.peek() {
            match b {
                b'\\' => self.pos = (self.pos + 2).min(self.s.len()),
                b'\'' => self.single_quoted(),
                b'"' => self.double_quoted(),
                b'`' => self.backticks(),
                b'$' => self.dollar(),
                _ if b == open => {
                    depth += 1;
                    self.pos += 1;
                }
                _ if b == close => {
                    self.pos += 1;
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => self.pos += 1,
            }
        }
    }

    /// A word in statement context; `NAME=(...)` array assignments are taken whole.
    fn statement_word(&mut self) {
        let start = self.pos;
        if let Some((_, _, n)) = assignment_prefix(&self.s[start..])
            && self.s.get(start + n) == Some(&b'(')
        {
            self.pos = start + n + 1;
            if !self.array_body() {
                self.pos = start + n + 1;
            }
            return;
        }
        self.word();
    }

    /// Opaque shell logic: one complete command list, compound commands (if/case/loops/braces,
    /// functions, subshells) followed to their end. Records the variables it touches.
    fn logic(&mut self) -> Vec<Touch> {
        let mut st = LogicState {
            command_position: true,
            ..LogicState::default()
        };
        loop {
            self.skip_blanks();
            let Some(b) = self.peek() else { break };
            match b {
                b'\n' => {
                    self.pos += 1;
                    for (delim, strip_tabs) in std::mem::take(&mut st.heredocs) {
                        self.heredoc_body(&delim, strip_tabs);
                    }
                    st.declaring = None;
                    if st.keyword_depth <= 0 && st.paren_depth <= 0 && !st.continues {
                        break;
                    }
                    st.command_position = true;
                }
                b'#' => {
                    // Up to, not past, the newline: the newline may end the statement.
                    let n = self.s[self.pos..].iter().position(|b| *b == b'\n');
                    self.pos = n.map_or(self.s.len(), |n| self.pos + n);
                }
                b'\\' if self.s.get(self.pos + 1) == Some(&b'\n') => self.pos += 2,
                b';' | b'&' | b'|' => {
                    let op_len = self.s[self.pos..]
                        .iter()
                        .take(3)
                        .take_while(|c| matches!(c, b';' | b'&' | b'|'))
                        .count();
                    let op = &self.s[self.pos..self.pos + op_len];
                    st.continues = matches!(op, b"&&" | b"||" | b"|" | b"|&");
                    self.pos += op_len;
                    st.command_position = true;
                    st.declaring = None;
                }
                b'(' => {
                    if st.command_position && self.at(b"((") {
                        self.pos += 2;
                        self.balanced(b'(', b')');
                        self.balanced(b'(', b')');
                    } else {
                        self.pos += 1;
                        st.paren_depth += 1;
                    }
                    st.command_position = true;
                    st.continues = false;
                }
                b')' => {
                    self.pos += 1;
                    // An unmatched `)` ends a case pattern.
                    st.paren_depth = (st.paren_depth - 1).max(0);
                    st.command_position = true;
                }
                b'<' | b'>' => {
                    st.continues = false;
                    self.redirection(&mut st.heredocs);
                }
                _ => {
                    st.continues = false;
                    self.logic_word(&mut st);
                }
            }
        }
        st.touches
    }

    /// A redirection; a here-document's delimiter is queued for the end of the line.
    fn redirection(&mut self, heredocs: &mut Vec<(Vec<u8>, bool)>) {
        if self.at(b"<<") && !self.at(b"<<<") {
            self.pos += 2;
            let strip_tabs = self.peek() == Some(b'-');
            if strip_tabs {
                self.pos += 1;
            }
            self.skip_blanks();
            let start = self.pos;
            self.word();
            let delim: Vec<u8> = self.s[start..self.pos]
                .iter()
                .copied()
                .filter(|c| !matches!(c, b'\'' | b'"' | b'\\'))
                .collect();
            heredocs.push((delim, strip_tabs));
        } else {
            while matches!(self.peek(), Some(b'<' | b'>' | b'&' | b'|')) {
                self.pos += 1;
            }
            if self.peek() == Some(b'(') {
                return; // process substitution: the paren is counted by the caller
            }
            self.skip_blanks();
            self.word(); // the redirection target
        }
    }

    /// One word of shell logic: keywords change the nesting, assignments are recorded.
    fn logic_word(&mut self, st: &mut LogicState) {
        let start = self.pos;
        self.statement_word();
        if self.pos == start {
            self.pos += 1; // never stall on a byte the word scanner refuses
            return;
        }
        let word = &self.s[start..self.pos];
        let line = self.line_of(start);
        let touch = |kind| Touch {
            name: String::new(),
            line,
            kind,
            text: String::from_utf8_lossy(word).into_owned(),
        };
        if let Some(is_unset) = st.declaring {
            let kind = if is_unset {
                Some(TouchKind::Other)
            } else {
                assignment_prefix(word).map(|(_, op, _)| match op {
                    Op::Set => TouchKind::Set,
                    Op::Append => TouchKind::Append,
                })
            };
            if let (Some(kind), Some(name)) = (kind, declared_name(word)) {
                st.touches.push(Touch {
                    name: name.to_string(),
                    ..touch(kind)
                });
            }
            return;
        }
        if !st.command_position {
            return;
        }
        match word {
            b"if" | b"while" | b"until" | b"{" => st.keyword_depth += 1,
            b"case" | b"for" | b"select" => {
                st.keyword_depth += 1;
                st.command_position = false;
            }
            b"fi" | b"done" | b"esac" | b"}" => {
                st.keyword_depth -= 1;
                st.command_position = false;
            }
            b"then" | b"do" | b"else" | b"elif" | b"!" | b"time" | b"function" => {}
            b"unset" => st.declaring = Some(true),
            b"export" | b"declare" | b"local" | b"readonly" | b"typeset" => {
                st.declaring = Some(false)
            }
            _ => match assignment_prefix(word) {
                Some((name, op, _)) => st.touches.push(Touch {
                    name: name.to_string(),
                    ..touch(if op == Op::Set {
                        TouchKind::Set
                    } else {
                        TouchKind::Append
                    })
                }),
                None => st.command_position = false,
            },
        }
    }

    fn heredoc_body(&mut self, delim: &[u8], strip_tabs: bool) {
        while self.pos < self.s.len() {
            let start = self.pos;
            self.skip_line();
            let mut line = &self.s[start..self.pos];
            line = line.strip_suffix(b"\n").unwrap_or(line);
            if strip_tabs {
                while let [b'\t', rest @ ..] = line {
                    line = rest;
                }
            }
            if line == delim {
                return;
            }
        }
    }
}

/// The variable named by an argument of `export`/`unset`/`declare`..., if any.
fn declared_name(word: &[u8]) -> Option<&str> {
    if word.first() == Some(&b'-') {
        return None;
    }
    let n = word.iter().take_while(|b| is_name_char(**b)).count();
    if n == 0 || !is_name_start(word[0]) {
        return None;
    }
    std::str::from_utf8(&word[..n]).ok()
}

/// The value of a shell word when it can be known without running code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    Static(String),
    /// Contains an expansion (`$x`, `$(...)`, backticks, `~`, globs, braces) whose value only
    /// bash can compute.
    Dynamic,
}

impl Decoded {
    pub fn as_static(&self) -> Option<&str> {
        match self {
            Decoded::Static(s) => Some(s),
            Decoded::Dynamic => None,
        }
    }
}

/// Decodes one scalar shell word as bash would, or reports that it is computed.
pub fn decode_word(raw: &[u8]) -> Decoded {
    decode_word_with(raw, &|_| None)
}

/// A plain `$NAME` or `${NAME}` at the start of `rest` (just after the `$`): the name and the
/// bytes it spans. Anything fancier (`${X:-y}`, `$1`, `$@`) is not a plain reference.
fn plain_reference(rest: &[u8]) -> Option<(&str, usize)> {
    let (body, braced) = match rest.first() {
        Some(b'{') => (&rest[1..], true),
        _ => (rest, false),
    };
    let n = body.iter().take_while(|b| is_name_char(**b)).count();
    if n == 0 || !is_name_start(body[0]) {
        return None;
    }
    let name = std::str::from_utf8(&body[..n]).ok()?;
    if braced {
        (body.get(n) == Some(&b'}')).then_some((name, n + 2))
    } else {
        Some((name, n))
    }
}

/// Like `decode_word`, with plain `$NAME`/`${NAME}` references read through `lookup`
/// (assignments are not word-split, so the value goes in as it is). A reference `lookup`
/// cannot answer, and every other expansion, makes the word computed.
pub fn decode_word_with(raw: &[u8], lookup: &dyn Fn(&str) -> Option<String>) -> Decoded {
    let mut out = Vec::new();
    let expand = |i: usize, out: &mut Vec<u8>| -> Option<usize> {
        let (name, len) = plain_reference(&raw[i + 1..])?;
        out.extend_from_slice(lookup(name)?.as_bytes());
        Some(i + 1 + len)
    };
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\\' => {
                match raw.get(i + 1) {
                    Some(b'\n') => {}
                    Some(c) => out.push(*c),
                    None => out.push(b'\\'),
                }
                i += 2;
            }
            b'\'' => {
                let end = raw[i + 1..]
                    .iter()
                    .position(|b| *b == b'\'')
                    .map_or(raw.len(), |n| i + 1 + n);
                out.extend_from_slice(&raw[i + 1..end]);
                i = end + 1;
            }
            b'"' => {
                i += 1;
                while i < raw.len() && raw[i] != b'"' {
                    match raw[i] {
                        b'\\' if matches!(raw.get(i + 1), Some(b'$' | b'`' | b'"' | b'\\')) => {
                            out.push(raw[i + 1]);
                            i += 2;
                        }
                        b'\\' if raw.get(i + 1) == Some(&b'\n') => i += 2,
                        b'`' => return Decoded::Dynamic,
                        b'$' if dollar_expands(raw.get(i + 1)) => match expand(i, &mut out) {
                            Some(next) => i = next,
                            None => return Decoded::Dynamic,
                        },
                        c => {
                            out.push(c);
                            i += 1;
                        }
                    }
                }
                i += 1;
            }
            b'`' => return Decoded::Dynamic,
            b'$' if dollar_expands(raw.get(i + 1)) => match expand(i, &mut out) {
                Some(next) => i = next,
                None => return Decoded::Dynamic,
            },
            // `$'...'` and `$"..."` (translated by the locale) are bash's to decode.
            b'$' if matches!(raw.get(i + 1), Some(b'\'' | b'"')) => return Decoded::Dynamic,
            b'*' | b'?' | b'[' | b'{' | b'}' => return Decoded::Dynamic,
            b'~' if i == 0 => return Decoded::Dynamic,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => Decoded::Static(s),
        Err(_) => Decoded::Dynamic,
    }
}

fn dollar_expands(next: Option<&u8>) -> bool {
    matches!(next, Some(c) if is_name_char(*c) || b"{(@*#?$!-".contains(c))
}

/// One element of an array value, its range relative to the raw value.
#[derive(Debug, Clone)]
pub struct Element {
    pub range: Range<usize>,
    pub value: Decoded,
}

/// The elements of a raw array value `( ... )`, comments skipped.
pub fn array_elements(raw: &[u8]) -> Vec<Element> {
    let mut parser = Parser {
        s: raw,
        pos: 1,
        line_starts: &[0],
        depth: 0,
        too_deep_at: None,
        in_export: false,
    };
    let mut elements = Vec::new();
    loop {
        match parser.peek() {
            None | Some(b')') => break,
            Some(b' ' | b'\t' | b'\n') => parser.pos += 1,
            Some(b'#') => parser.skip_line(),
            Some(b'\\') if raw.get(parser.pos + 1) == Some(&b'\n') => parser.pos += 2,
            Some(_) => {
                let start = parser.pos;
                parser.word();
                if parser.pos == start {
                    break;
                }
                elements.push(Element {
                    range: start..parser.pos,
                    value: decode_word(&raw[start..parser.pos]),
                });
            }
        }
    }
    elements
}

/// The text inside a quoted scalar value and its quote character (`"`, `'`, or none).
pub fn unquote_span(raw: &[u8]) -> (Option<u8>, Range<usize>) {
    match raw {
        [q @ (b'"' | b'\''), .., last] if raw.len() >= 2 && last == q => {
            let inner = &raw[1..raw.len() - 1];
            let closes_early = match q {
                b'\'' => inner.contains(&b'\''),
                _ => {
                    // A `"` inside must be escaped for the word to be one quoted span.
                    let mut i = 0;
                    let mut early = false;
                    while i < inner.len() {
                        match inner[i] {
                            b'\\' => i += 2,
                            b'"' => {
                                early = true;
                                break;
                            }
                            _ => i += 1,
                        }
                    }
                    early
                }
            };
            if closes_early {
                (None, 0..raw.len())
            } else {
                (Some(*q), 1..raw.len() - 1)
            }
        }
        _ => (None, 0..raw.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<String> {
        let doc = Document::parse(src);
        doc.items()
            .iter()
            .map(|i| match &i.kind {
                ItemKind::Blank => "blank".into(),
                ItemKind::Comment => "comment".into(),
                ItemKind::Assignment(a) => format!("{}={}", a.name, doc.str_lossy(a.value.clone())),
                ItemKind::Logic(t) => format!(
                    "logic[{}]",
                    t.iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            })
            .collect()
    }

    #[test]
    fn splits_stock_constructs() {
        let src = "#!/hint/bash\n\nCFLAGS=\"-O2 \\\n  -pipe\"\nDLAGENTS=('a b'\n  # c\n  'd')\n  MAKEFLAGS=\"-j2\" # trailing\nexport X=1\n";
        assert_eq!(
            kinds(src),
            [
                "comment",
                "blank",
                "CFLAGS=\"-O2 \\\n  -pipe\"",
                "DLAGENTS=('a b'\n  # c\n  'd')",
                "MAKEFLAGS=\"-j2\"",
                "X=1"
            ]
        );
    }

    #[test]
    fn logic_is_opaque_and_records_touches() {
        let src = "if true; then\n  MAKEFLAGS=-j3\nfi\n[[ -d x ]] && { BUILDENV+=(ccache); PATH=/x:$PATH; }\ncase $H in\n  a) DISTCC_HOSTS=\"h\" ;;\nesac\nA=1 cmd\nunset B\nZ=2\n";
        assert_eq!(
            kinds(src),
            [
                "logic[MAKEFLAGS]",
                "logic[BUILDENV,PATH]",
                "logic[DISTCC_HOSTS]",
                "logic[A]",
                "logic[B]",
                "Z=2"
            ]
        );
    }

    /// Each assignment's name and whether it is exported.
    fn assignments(doc: &Document) -> Vec<(&str, bool)> {
        doc.items()
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::Assignment(a) => Some((a.name.as_str(), a.export)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn names_without_a_value_in_an_export_only_mark_it() {
        let text = "export NPROC OMP_NUM_THREADS=\"$NPROC\" MAKEFLAGS=\"-j$NPROC\" LC # x\nB=2\n";
        let doc = Document::parse(text);
        assert_eq!(doc.to_bytes(), text.as_bytes());
        let names = assignments(&doc);
        assert_eq!(
            names,
            [("OMP_NUM_THREADS", true), ("MAKEFLAGS", true), ("B", false)]
        );
        // A name glued to a `#` is one word: not a plain export.
        let doc = Document::parse("export NPROC#x MAKEFLAGS=-j2\n");
        assert!(
            doc.items()
                .iter()
                .all(|i| !matches!(i.kind, ItemKind::Assignment(_)))
        );
    }

    #[test]
    fn each_name_of_an_export_is_an_assignment() {
        let text = "export A=1 MAKEFLAGS=\"-j4\"  # x\nB=2\n";
        let doc = Document::parse(text);
        assert_eq!(doc.to_bytes(), text.as_bytes());
        let names = assignments(&doc);
        assert_eq!(names, [("A", true), ("MAKEFLAGS", true), ("B", false)]);
        assert_eq!(doc.touches("MAKEFLAGS").count(), 0);
        // A command after the names is logic, as before.
        let doc = Document::parse("export A=1 B=2 ; echo\n");
        assert!(
            doc.items()
                .iter()
                .any(|i| matches!(i.kind, ItemKind::Logic(_)))
        );
    }

    #[test]
    fn a_function_definition_touches_nothing_until_called() {
        for def in [
            "f() { MAKEFLAGS=-j1; }\n",
            "function f { MAKEFLAGS=-j1; }\n",
            "function f() (\n  MAKEFLAGS=-j1\n)\n",
            "f () {\n  MAKEFLAGS=-j1\n} # pin\n",
        ] {
            let doc = Document::parse(format!("{def}MAKEFLAGS=-j2\n"));
            assert_eq!(doc.touches("MAKEFLAGS").count(), 0, "{def:?}");
        }
        for logic in [
            "f() { MAKEFLAGS=-j1; }; f\n",
            "if x; then MAKEFLAGS=-j1; fi\n",
        ] {
            let doc = Document::parse(logic);
            assert_eq!(doc.touches("MAKEFLAGS").count(), 1, "{logic:?}");
        }
    }

    #[test]
    fn functions_and_heredocs_stay_whole() {
        let src = "f() {\n  X=1\n}\ncat <<EOF\nMAKEFLAGS=-j9\nEOF\nY=2";
        assert_eq!(kinds(src), ["logic[X]", "logic[]", "Y=2"]);
    }

    #[test]
    fn decodes_words() {
        assert_eq!(decode_word(b"\"a b\""), Decoded::Static("a b".into()));
        assert_eq!(decode_word(b"'a\"b'"), Decoded::Static("a\"b".into()));
        assert_eq!(decode_word(b"a\\ b"), Decoded::Static("a b".into()));
        assert_eq!(decode_word(b"\"-j$(nproc)\""), Decoded::Dynamic);
        assert_eq!(decode_word(b"\"cost $\""), Decoded::Static("cost $".into()));
        assert_eq!(decode_word(b"~/src"), Decoded::Dynamic);
    }

    #[test]
    fn array_elements_skip_comments() {
        let els = array_elements(b"(!distcc # x\n 'color' check)");
        let vals: Vec<_> = els.iter().map(|e| e.value.clone()).collect();
        assert_eq!(
            vals,
            [
                Decoded::Static("!distcc".into()),
                Decoded::Static("color".into()),
                Decoded::Static("check".into())
            ]
        );
    }

    #[test]
    fn deep_nesting_is_bounded_and_lossless() {
        let src = format!("A=1\nMAKEFLAGS=\"{}\"\nB=2\n", "$(".repeat(100_000));
        let doc = Document::parse(src.clone());
        assert_eq!(doc.to_bytes(), src.as_bytes());
        assert_eq!(doc.too_deep_at(), Some(2));
        let shallow = Document::parse("A=\"$(echo $(echo x))\"\n");
        assert_eq!(shallow.too_deep_at(), None);
    }

    #[test]
    fn round_trips_odd_bytes() {
        let src: &[u8] = b"# \xff\xfe comment\n\tA=1\r\nB=\"unterminated\n";
        assert_eq!(Document::parse(src).to_bytes(), src);
    }
}
