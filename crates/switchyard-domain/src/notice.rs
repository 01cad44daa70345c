//! Notices operators publish to every participant (outages, maintenance).

use serde::{Deserialize, Serialize};

use crate::ids::{LongText, NoticeNumber, OperatorId, ShortText};
use crate::time::Timestamp;

/// How urgent a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// A notice pushed to every participant's event stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub number: NoticeNumber,
    pub severity: Severity,
    pub title: ShortText,
    pub body: LongText,
    pub published_by: OperatorId,
    pub published_at: Timestamp,
}
