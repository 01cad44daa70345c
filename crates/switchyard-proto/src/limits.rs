//! The named bounds the contracts in `proto/` document, in one place for the code that enforces
//! them. Bounds of domain records (meters, contacts, holidays, import batch) live with the domain
//! types and are referenced from here.

use switchyard_domain::{Calendar, Command, Facility, NgReason, Participant};

/// Page size used when a list request leaves `page_size` at 0.
pub const PAGE_SIZE_DEFAULT: usize = 100;

/// Largest `page_size` a list request may ask for; larger values are refused.
pub const PAGE_SIZE_MAX: usize = 500;

/// Longest `page_token` accepted, in bytes.
pub const PAGE_TOKEN_BYTES_MAX: usize = 512;

/// Most meters per supply point.
pub const METERS_MAX: usize = Facility::METERS_MAX;

/// Most contacts per participant.
pub const CONTACTS_MAX: usize = Participant::CONTACTS_MAX;

/// Most NG reasons in one judgement.
pub const NG_REASONS_MAX: usize = NgReason::ALL.len();

/// Most holidays in a policy.
pub const HOLIDAYS_MAX: usize = Calendar::HOLIDAYS_MAX;

/// Most supply point records in one import message (one log entry).
pub const IMPORT_BATCH_MAX: usize = Command::IMPORT_BATCH_MAX;

/// Most import messages (batches) in one `ImportSupplyPoints` stream.
pub const IMPORT_BATCHES_PER_STREAM_MAX: usize = 10_000;

/// Most open application numbers a supply point message may list.
pub const OPEN_APPLICATIONS_MAX: usize = 64;

/// Most parties named in one event's audience.
pub const EVENT_AUDIENCE_PARTIES_MAX: usize = 64;

/// Most events in one `WatchEventsResponse`.
pub const WATCH_EVENTS_PER_RESPONSE_MAX: usize = 256;

/// Longest quiet period of an event stream before the server sends a progress message, in
/// milliseconds.
pub const WATCH_EVENTS_PROGRESS_INTERVAL_MS: u64 = 10_000;

/// Largest `data` of one snapshot chunk (Raft `InstallSnapshot`), in bytes.
pub const SNAPSHOT_CHUNK_BYTES_MAX: usize = 1024 * 1024;

/// Largest `data` of one backup chunk (`DownloadBackup`), in bytes.
pub const BACKUP_CHUNK_BYTES_MAX: usize = 1024 * 1024;

/// Largest `data` of one contacts export chunk (`ExportContacts`), in bytes.
pub const EXPORT_CHUNK_BYTES_MAX: usize = 1024 * 1024;

/// Largest serialized payload of one `AppendEntries` request, in bytes.
pub const APPEND_ENTRIES_PAYLOAD_BYTES_MAX: usize = 2 * 1024 * 1024;

/// Largest serialized envelope of one `ForwardWrite` request, in bytes.
pub const FORWARD_WRITE_ENVELOPE_BYTES_MAX: usize = 2 * 1024 * 1024;

/// tonic's default decode limit, which every message stays well under, in bytes.
pub const MESSAGE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Default wait for a leadership transfer when `timeout_ms` is 0, in milliseconds.
pub const TRANSFER_LEADERSHIP_TIMEOUT_DEFAULT_MS: u32 = 10_000;

/// Longest wait for a leadership transfer, in milliseconds.
pub const TRANSFER_LEADERSHIP_TIMEOUT_MAX_MS: u32 = 60_000;

// Every chunk and batch bound leaves at least half of tonic's decode limit free, and the default
// page fits the maximum; checked when the crate compiles.
const _: () = {
    assert!(SNAPSHOT_CHUNK_BYTES_MAX * 2 <= MESSAGE_BYTES_MAX);
    assert!(BACKUP_CHUNK_BYTES_MAX * 2 <= MESSAGE_BYTES_MAX);
    assert!(EXPORT_CHUNK_BYTES_MAX * 2 <= MESSAGE_BYTES_MAX);
    assert!(APPEND_ENTRIES_PAYLOAD_BYTES_MAX * 2 <= MESSAGE_BYTES_MAX);
    assert!(FORWARD_WRITE_ENVELOPE_BYTES_MAX * 2 <= MESSAGE_BYTES_MAX);
    assert!(PAGE_SIZE_DEFAULT <= PAGE_SIZE_MAX);
    assert!(TRANSFER_LEADERSHIP_TIMEOUT_DEFAULT_MS <= TRANSFER_LEADERSHIP_TIMEOUT_MAX_MS);
};
