//! A tiny aligned plain-text table, and aligned `key  value` lists.
//!
//! Columns are as wide as their widest cell (East Asian wide characters count twice, so names in
//! Japanese line up in a terminal) and separated by two spaces; the last column is not padded, so
//! no line ends in spaces. Control characters in cells (a server's text could hold escape
//! sequences or line breaks) become spaces, so every row stays one line and nothing is sent to
//! the terminal as a command. An empty cell shows as `-`.

/// Rows under upper-case headers.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these headers.
    pub(crate) fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|header| (*header).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are empty, extra cells are dropped.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        let mut cells: Vec<String> = cells.into_iter().map(|cell| clean_cell(&cell)).collect();
        cells.resize(self.headers.len(), "-".to_owned());
        self.rows.push(cells);
    }

    /// Whether the table has no rows.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as lines of text, each ending in a newline.
    pub(crate) fn render(&self) -> String {
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .map(|header| display_width(header))
            .collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(display_width(cell));
            }
        }
        let mut text = String::new();
        for line in std::iter::once(&self.headers).chain(&self.rows) {
            render_line(&mut text, line, &widths);
        }
        text
    }
}

fn render_line(text: &mut String, cells: &[String], widths: &[usize]) {
    let mut line = String::new();
    for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if index > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        if index + 1 < cells.len() {
            line.extend(std::iter::repeat_n(
                ' ',
                width.saturating_sub(display_width(cell)),
            ));
        }
    }
    text.push_str(line.trim_end());
    text.push('\n');
}

/// `key  value` lines with the values aligned; empty values show as `-`.
pub(crate) fn key_values(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(key, _)| display_width(key))
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (key, value) in pairs {
        let value = clean_cell(value);
        text.push_str(key);
        text.extend(std::iter::repeat_n(' ', width - display_width(key) + 2));
        text.push_str(&value);
        text.push('\n');
    }
    text
}

/// A cell's text: control characters replaced by spaces, empty as `-`.
pub(crate) fn clean_cell(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|character| {
            if character.is_control() {
                ' '
            } else {
                character
            }
        })
        .collect();
    if cleaned.trim().is_empty() {
        "-".to_owned()
    } else {
        cleaned
    }
}

/// Text for a terminal where line breaks are wanted (notice bodies): other control characters
/// become spaces.
pub(crate) fn clean_multiline(text: &str) -> String {
    text.chars()
        .map(|character| {
            if character.is_control() && character != '\n' {
                ' '
            } else {
                character
            }
        })
        .collect()
}

/// Columns a terminal uses for `text`: two for East Asian wide and full-width characters, one
/// for the others. (Combining marks are rare in this data and count as one.)
pub(crate) fn display_width(text: &str) -> usize {
    text.chars().map(character_width).sum()
}

fn character_width(character: char) -> usize {
    let code = u32::from(character);
    let wide = matches!(code,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns are aligned to the widest cell, separated by two spaces, with no trailing spaces.
    #[test]
    fn aligned_columns() {
        let mut table = Table::new(&["APPLICATION", "STATE", "EFFECTIVE"]);
        table.row(vec![
            "AP0000000001".to_owned(),
            "awaiting-match".to_owned(),
            "2026-12-01".to_owned(),
        ]);
        table.row(vec![
            "AP0000000002".to_owned(),
            "matched".to_owned(),
            String::new(),
        ]);
        assert_eq!(
            table.render(),
            "APPLICATION   STATE           EFFECTIVE\n\
             AP0000000001  awaiting-match  2026-12-01\n\
             AP0000000002  matched         -\n"
        );
        assert!(!table.is_empty());
    }

    /// A table without rows renders its headers only.
    #[test]
    fn headers_only() {
        let table = Table::new(&["A", "B"]);
        assert!(table.is_empty());
        assert_eq!(table.render(), "A  B\n");
    }

    /// Wide characters count two columns, so a Japanese name lines up with ASCII ones.
    #[test]
    fn wide_characters_align() {
        let mut table = Table::new(&["NAME", "CODE"]);
        table.row(vec!["佐藤太郎".to_owned(), "A0001".to_owned()]);
        table.row(vec!["Sato".to_owned(), "A0002".to_owned()]);
        assert_eq!(
            table.render(),
            "NAME      CODE\n佐藤太郎  A0001\nSato      A0002\n"
        );
        assert_eq!(display_width("東京電力"), 8);
        assert_eq!(display_width("Tokyo"), 5);
    }

    /// Control characters cannot break a row or reach the terminal; short rows are padded.
    #[test]
    fn control_characters_and_short_rows() {
        let mut table = Table::new(&["A", "B", "C"]);
        table.row(vec!["x\ny".to_owned(), "\u{1b}[31mred".to_owned()]);
        assert_eq!(table.render(), "A    B         C\nx y   [31mred  -\n");
        assert_eq!(clean_multiline("a\nb\u{7}c"), "a\nb c");
    }

    /// Key-value lists align their values after the longest key.
    #[test]
    fn key_value_alignment() {
        assert_eq!(
            key_values(&[
                ("application", "AP0000000001".to_owned()),
                ("state", "matched".to_owned()),
                ("matched with", String::new()),
            ]),
            "application   AP0000000001\nstate         matched\nmatched with  -\n"
        );
    }
}
