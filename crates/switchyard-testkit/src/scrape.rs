//! Scraping a metrics endpoint the way Prometheus does: a plain HTTP/1.1 `GET /metrics` over a
//! TCP connection, and the text exposition parsed into samples that tests can ask about.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest a scrape (connect, request, whole answer) may take.
pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read.
const ANSWER_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Why a scrape failed.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("scraping {address}: {source}")]
    Io {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("scraping {address}: no answer within {SCRAPE_TIMEOUT:?}")]
    Timeout { address: SocketAddr },
    #[error("scraping {address}: {message}")]
    Answer {
        address: SocketAddr,
        message: String,
    },
}

/// One sample: a series (name and labels) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed scrape.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    /// The `Content-Type` the endpoint answered with.
    pub content_type: String,
    pub samples: Vec<Sample>,
    /// Metric families by name, with their `# TYPE`.
    pub types: BTreeMap<String, String>,
}

impl Scrape {
    /// Samples named `name` whose labels include every pair of `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(*value))
        })
    }

    /// The one sample named `name` with (at least) `labels`, if there is exactly one.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut found = self.matching(name, labels);
        let first = found.next()?;
        if found.next().is_some() {
            return None;
        }
        Some(first.value)
    }

    /// The sum of every sample named `name` with (at least) `labels`; 0 when there is none.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|sample| sample.value).sum()
    }

    /// Every sample name in the scrape (histograms' `_bucket`, `_sum`, `_count` included).
    pub fn names(&self) -> BTreeSet<String> {
        self.samples
            .iter()
            .map(|sample| sample.name.clone())
            .collect()
    }
}

/// Parses the Prometheus text exposition format (0.0.4): `# TYPE` lines and samples
/// `name{label="value",...} value`; other comments are skipped.
pub fn parse(text: &str) -> Result<Scrape, String> {
    let mut scrape = Scrape::default();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            if words.next() == Some("TYPE")
                && let (Some(name), Some(kind)) = (words.next(), words.next())
            {
                scrape.types.insert(name.to_owned(), kind.to_owned());
            }
            continue;
        }
        let bad = |why: &str| format!("line {}: {why}: {line}", number + 1);
        let (series, value) = line.rsplit_once(' ').ok_or_else(|| bad("no value"))?;
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse().map_err(|_| bad("not a number"))?,
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let rest = rest
                    .strip_suffix('}')
                    .ok_or_else(|| bad("unclosed labels"))?;
                (name, parse_labels(rest).map_err(|why| bad(&why))?)
            }
        };
        scrape.samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    Ok(scrape)
}

/// `key="value",key="value"` with `\"`, `\\` and `\n` escapes.
fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").ok_or("a label without =\"")?;
        let mut value = String::new();
        let mut characters = after.char_indices();
        let end = loop {
            match characters.next() {
                Some((_, '\\')) => match characters.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, escaped)) => value.push(escaped),
                    None => return Err("a dangling escape".to_owned()),
                },
                Some((index, '"')) => break index,
                Some((_, other)) => value.push(other),
                None => return Err("an unclosed label value".to_owned()),
            }
        };
        labels.insert(key.trim_start_matches(',').to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    Ok(labels)
}

/// `GET /metrics` at `address` over plain HTTP/1.1, parsed. Fails unless the answer is
/// `200 OK` with a body in the text format.
pub async fn scrape(address: SocketAddr) -> Result<Scrape, ScrapeError> {
    let (content_type, body) = get(address, "/metrics").await?;
    let mut scrape = parse(&body).map_err(|message| ScrapeError::Answer { address, message })?;
    scrape.content_type = content_type;
    Ok(scrape)
}

/// `GET path` at `address`; the `Content-Type` and body of a `200 OK` answer.
pub async fn get(address: SocketAddr, path: &str) -> Result<(String, String), ScrapeError> {
    let (status, content_type, body) = request(address, "GET", path).await?;
    if status != 200 {
        return Err(ScrapeError::Answer {
            address,
            message: format!("status {status}: {body}"),
        });
    }
    Ok((content_type, body))
}

/// One HTTP/1.1 request with `Connection: close`; the status, `Content-Type` and body.
pub async fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
) -> Result<(u16, String, String), ScrapeError> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await?;
        let mut answer = Vec::new();
        (&mut stream)
            .take(ANSWER_BYTES_MAX as u64)
            .read_to_end(&mut answer)
            .await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(SCRAPE_TIMEOUT, exchange)
        .await
        .map_err(|_| ScrapeError::Timeout { address })?
        .map_err(|source| ScrapeError::Io { address, source })?;
    let answer = String::from_utf8(answer).map_err(|_| ScrapeError::Answer {
        address,
        message: "not UTF-8".to_owned(),
    })?;
    let malformed = |message: &str| ScrapeError::Answer {
        address,
        message: message.to_owned(),
    };
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| malformed("no end of headers"))?;
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| malformed("no status line"))?;
    let mut content_type = String::new();
    let mut chunked = false;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-type" => content_type = value.trim().to_owned(),
                "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
                _ => {}
            }
        }
    }
    let body = if chunked {
        dechunk(body).ok_or_else(|| malformed("bad chunked body"))?
    } else {
        body.to_owned()
    };
    Ok((status, content_type, body))
}

/// The body of a chunked transfer.
fn dechunk(mut text: &str) -> Option<String> {
    let mut body = String::new();
    loop {
        let (size, rest) = text.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.push_str(rest.get(..size)?);
        text = rest.get(size..)?.strip_prefix("\r\n")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Types, plain samples, labelled samples with escapes, and +Inf parse; a line without a
    /// value is refused with its number.
    #[test]
    fn parses_the_text_format() {
        let text = "# HELP a_total A.\n# TYPE a_total counter\na_total 3\n\
                    b_bucket{node=\"1\",le=\"+Inf\"} 2\nc{x=\"q\\\"uote\\\\d\",y=\"\"} +Inf\n";
        let scrape = parse(text).unwrap();
        assert_eq!(scrape.types["a_total"], "counter");
        assert_eq!(scrape.value("a_total", &[]), Some(3.0));
        assert_eq!(scrape.value("b_bucket", &[("le", "+Inf")]), Some(2.0));
        let c = scrape.matching("c", &[]).next().unwrap();
        assert_eq!(c.labels["x"], "q\"uote\\d");
        assert_eq!(c.labels["y"], "");
        assert_eq!(c.value, f64::INFINITY);
        assert!(parse("lonely\n").unwrap_err().contains("line 1"));
    }

    /// A chunked body is put back together.
    #[test]
    fn dechunks() {
        assert_eq!(
            dechunk("4\r\nab\r\n\r\n3;x=1\r\nxyz\r\n0\r\n\r\n").as_deref(),
            Some("ab\r\nxyz")
        );
    }
}
