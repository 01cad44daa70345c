//! Printing results: human-readable tables and key-value blocks, or JSON with `--json`.
//!
//! - `table`: the aligned plain-text table and key-value formatter;
//! - `words`: enums as lower-case words, instants in Japan time;
//! - `human`: wire messages as text;
//! - `json`: wire messages as JSON values;
//! - `cluster`: the operator commands' results (merged cluster status, failover report), in
//!   both forms.

pub(crate) mod cluster;
pub(crate) mod human;
pub(crate) mod json;
pub(crate) mod table;
pub(crate) mod words;

use std::io::{self, Write};

use serde_json::Value;

/// Where results go (stdout), and in which form.
pub(crate) struct Printer<'a> {
    out: &'a mut (dyn Write + Send),
    json: bool,
}

impl<'a> Printer<'a> {
    /// A printer writing to `out`, JSON when `json`.
    pub(crate) fn new(out: &'a mut (dyn Write + Send), json: bool) -> Printer<'a> {
        Printer { out, json }
    }

    /// Whether results are printed as JSON.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// Prints one result, built by `human` or by `json` as the output form asks.
    pub(crate) fn result(
        &mut self,
        human: impl FnOnce() -> String,
        json: impl FnOnce() -> Value,
    ) -> io::Result<()> {
        if self.json {
            self.document(&json())
        } else {
            self.text(&human())
        }
    }

    /// Writes text as it is, and flushes.
    pub(crate) fn text(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }

    /// Writes one pretty-printed JSON document.
    pub(crate) fn document(&mut self, value: &Value) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.text(&format!("{text}\n"))
    }

    /// Writes one JSON value on one line (`watch --json`), and flushes.
    pub(crate) fn json_line(&mut self, value: &Value) -> io::Result<()> {
        let text = serde_json::to_string(value).map_err(io::Error::other)?;
        self.text(&format!("{text}\n"))
    }
}
