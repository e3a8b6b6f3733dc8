//! The rule language's parser: text to an [`Expr`] tree, with the position of each error.

use super::*;

// ---------------------------------------------------------------------------------------------
// Parsing

/// Nesting deeper than this (parentheses, `!`) is refused, so no input can exhaust the stack.
pub(super) const MAX_DEPTH: usize = 64;

pub(super) struct Parser<'a> {
    pub(super) text: &'a str,
    pub(super) pos: usize,
    pub(super) depth: usize,
    pub(super) spans: Spans,
}

/// Where each matcher call and each argument starts, in the order the parser met them (for the
/// compiler's errors: a bad regex is reported where its argument starts, a matcher of the other
/// syntax where its name does).
#[derive(Debug, Default)]
pub(super) struct Spans {
    pub(super) calls: Vec<usize>,
    pub(super) args: Vec<usize>,
}

pub(super) fn err<T>(position: usize, message: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError {
        position,
        message: message.into(),
    })
}

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Parser {
            text,
            pos: 0,
            depth: 0,
            spans: Spans::default(),
        }
    }

    /// The tree, and where its calls and arguments start.
    pub(super) fn parse(mut self) -> Result<(Expr, Spans), RuleError> {
        self.skip_ws();
        if self.pos == self.text.len() {
            return err(0, "the rule is empty; write e.g. Host(`example.com`)");
        }
        let e = self.or_expr()?;
        self.skip_ws();
        if self.pos < self.text.len() {
            let found = self.found();
            if self.rest().starts_with(')') {
                return err(self.pos, "unexpected `)`: no `(` to close here");
            }
            return err(
                self.pos,
                format!("expected `&&`, `||` or the end of the rule, found {found}"),
            );
        }
        Ok((e, self.spans))
    }

    pub(super) fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    pub(super) fn skip_ws(&mut self) {
        let rest = self.rest();
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
    }

    /// A short description of what is at the current position, for errors.
    pub(super) fn found(&self) -> String {
        match self.rest().chars().next() {
            None => "the end of the rule".to_string(),
            Some(_) => {
                let s: String = self.rest().chars().take(12).collect();
                format!("`{s}`")
            }
        }
    }

    pub(super) fn eat(&mut self, s: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    pub(super) fn or_expr(&mut self) -> Result<Expr, RuleError> {
        let mut items = vec![self.and_expr()?];
        while self.eat("||") {
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::Or(items)
        })
    }

    pub(super) fn and_expr(&mut self) -> Result<Expr, RuleError> {
        let mut items = vec![self.unary()?];
        while self.eat("&&") {
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::And(items)
        })
    }

    pub(super) fn unary(&mut self) -> Result<Expr, RuleError> {
        self.skip_ws();
        let start = self.pos;
        if self.depth >= MAX_DEPTH {
            return err(
                start,
                format!("the rule is nested more than {MAX_DEPTH} levels deep"),
            );
        }
        if self.eat("!") {
            self.depth += 1;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        if self.eat("(") {
            self.depth += 1;
            let e = self.or_expr()?;
            self.depth -= 1;
            if !self.eat(")") {
                return err(
                    self.pos,
                    format!(
                        "expected `)` to close the `(` at position {start}, found {}",
                        self.found()
                    ),
                );
            }
            return Ok(e);
        }
        self.call()
    }

    pub(super) fn call(&mut self) -> Result<Expr, RuleError> {
        self.skip_ws();
        let start = self.pos;
        let ident_len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        if ident_len == 0 {
            return err(
                start,
                format!(
                    "expected a matcher such as Host(`example.com`), `!` or `(`, found {}",
                    self.found()
                ),
            );
        }
        let name = &self.rest()[..ident_len];
        let Some(matcher) = Matcher::from_name(name) else {
            let hint = Matcher::ALL
                .iter()
                .find(|m| m.name().eq_ignore_ascii_case(name))
                .map(|m| format!("did you mean `{}`? ", m.name()))
                .unwrap_or_default();
            let all: Vec<&str> = Matcher::ALL.iter().map(|m| m.name()).collect();
            return err(
                start,
                format!(
                    "unknown matcher `{name}`; {hint}matchers are {}",
                    all.join(", ")
                ),
            );
        };
        self.spans.calls.push(start);
        self.pos += ident_len;
        if !self.eat("(") {
            return err(
                self.pos,
                format!("expected `(` after `{name}`, found {}", self.found()),
            );
        }
        let mut args = Vec::new();
        loop {
            self.skip_ws();
            if self.rest().starts_with(')') && !args.is_empty() {
                self.pos += 1;
                break;
            }
            if self.rest().starts_with(')') {
                return err(
                    self.pos,
                    format!("`{name}` needs at least one argument, e.g. {name}(`...`)"),
                );
            }
            self.spans.args.push(self.pos);
            args.push(self.string()?);
            self.skip_ws();
            if self.eat(",") {
                continue;
            }
            if self.eat(")") {
                break;
            }
            return err(
                self.pos,
                format!(
                    "expected `,` or `)` after an argument of `{name}`, found {}",
                    self.found()
                ),
            );
        }
        Ok(Expr::Call(matcher, args))
    }

    pub(super) fn string(&mut self) -> Result<String, RuleError> {
        let start = self.pos;
        let rest = self.rest();
        if let Some(body) = rest.strip_prefix('`') {
            let Some(end) = body.find('`') else {
                return err(start, "unterminated string: no closing backtick");
            };
            self.pos += end + 2;
            return Ok(body[..end].to_string());
        }
        if let Some(body) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = body.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        self.pos += 1 + i + 1;
                        return Ok(out);
                    }
                    '\n' => {
                        return err(
                            start,
                            "unterminated string: a newline before the closing `\"`",
                        )
                    }
                    '\\' => {
                        let esc_pos = start + 1 + i;
                        let Some((_, e)) = chars.next() else { break };
                        let hex = |n: usize, chars: &mut std::str::CharIndices<'_>| {
                            let mut v: u32 = 0;
                            for _ in 0..n {
                                let d = chars.next().and_then(|(_, c)| c.to_digit(16));
                                v = v * 16 + d?;
                            }
                            Some(v)
                        };
                        let decoded = match e {
                            '"' => Some('"'),
                            '\\' => Some('\\'),
                            '\'' => Some('\''),
                            'n' => Some('\n'),
                            't' => Some('\t'),
                            'r' => Some('\r'),
                            'a' => Some('\u{7}'),
                            'b' => Some('\u{8}'),
                            'f' => Some('\u{c}'),
                            'v' => Some('\u{b}'),
                            'x' => hex(2, &mut chars)
                                .and_then(char::from_u32)
                                .filter(|c| c.is_ascii()),
                            'u' => hex(4, &mut chars).and_then(char::from_u32),
                            'U' => hex(8, &mut chars).and_then(char::from_u32),
                            _ => None,
                        };
                        match decoded {
                            Some(c) => out.push(c),
                            None => {
                                return err(
                                    esc_pos,
                                    "invalid escape in a double-quoted string; use backticks for text with backslashes",
                                )
                            }
                        }
                    }
                    c => out.push(c),
                }
            }
            return err(start, "unterminated string: no closing `\"`");
        }
        if rest.starts_with('\'') {
            return err(
                start,
                "strings go in backticks or double quotes, not single quotes",
            );
        }
        err(
            start,
            format!(
                "expected a string in backticks or double quotes, found {}",
                self.found()
            ),
        )
    }
}
