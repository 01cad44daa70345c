//! The state the rules read and the changes they produce.
//!
//! The rules read through [`StateView`], a small trait the store backs with sled trees and tests
//! back with [`MemoryState`]. They never write: a decision returns [`Changes`], a list of
//! [`Write`]s and [`Event`]s that the caller applies atomically together with the log position.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::application::Application;
use crate::command::{Envelope, Outcome};
use crate::event::Event;
use crate::facility::SupplyPoint;
use crate::ids::{
    ApplicationNumber, NoticeNumber, PartyId, RequestId, StopOnBehalfNumber, SupplyPointNumber,
    ValueError,
};
use crate::notice::Notice;
use crate::party::Participant;
use crate::policy::Policy;
use crate::stop_on_behalf::StopOnBehalfRequest;
use crate::time::{Date, Timestamp};

/// The idempotency key of a write: request ids are scoped by the party that sent them.
///
/// Serialized as the text `party/request-id` (neither part may contain `/`), so that it can key
/// a map in any format.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestKey {
    pub party: PartyId,
    pub request_id: RequestId,
}

impl RequestKey {
    /// Parses `party/request-id`.
    pub fn parse(text: &str) -> Result<RequestKey, ValueError> {
        let (party, request_id) = text.split_once('/').ok_or_else(|| ValueError::Malformed {
            kind: "request key".to_owned(),
            expected: "party/request-id".to_owned(),
            got: text.chars().take(48).collect(),
        })?;
        Ok(RequestKey {
            party: PartyId::parse(party)?,
            request_id: RequestId::parse(request_id)?,
        })
    }
}

impl Serialize for RequestKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::ids::serialize_display(self, serializer)
    }
}

impl<'de> Deserialize<'de> for RequestKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<RequestKey, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        RequestKey::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for RequestKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.party, self.request_id)
    }
}

/// The first answer given to a request id, returned again to every retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub key: RequestKey,
    /// [`crate::Command::fingerprint`] of the command first sent with this id.
    pub fingerprint: String,
    pub outcome: Outcome,
    pub recorded_at: Timestamp,
}

/// Something that falls due on a date: a deadline to enforce, or a record to forget.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DueItem {
    /// An application's matching (switching) or acceptance (others) deadline.
    Application(ApplicationNumber),
    /// A stop-on-behalf request's answer deadline.
    StopOnBehalf(StopOnBehalfNumber),
    /// A request id's retention ends.
    Request(RequestKey),
}

/// A due item and its date. It takes effect on the first tick whose date is after `date`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DueEntry {
    pub date: Date,
    pub item: DueItem,
}

/// The last numbers handed out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub last_application: u64,
    pub last_stop_on_behalf: u64,
    pub last_notice: u64,
}

/// Read access to the replicated state.
pub trait StateView {
    fn supply_point(&self, number: &SupplyPointNumber) -> Option<SupplyPoint>;
    fn application(&self, number: ApplicationNumber) -> Option<Application>;
    fn stop_on_behalf(&self, number: StopOnBehalfNumber) -> Option<StopOnBehalfRequest>;
    fn participant(&self, party: &PartyId) -> Option<Participant>;
    fn request(&self, key: &RequestKey) -> Option<RequestRecord>;
    /// The business configuration ([`Policy::default`] until an operator sets one).
    fn policy(&self) -> Policy;
    fn counters(&self) -> Counters;
    /// The latest timestamp any applied command carried; time never goes back behind it.
    fn clock(&self) -> Option<Timestamp>;
    /// Up to `limit` due entries dated before `date`, earliest first.
    fn due_before(&self, date: Date, limit: usize) -> Vec<DueEntry>;
}

/// One change to the state. A key written twice in one [`Changes`] takes the last value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Write {
    SupplyPoint(SupplyPoint),
    Application(Application),
    StopOnBehalf(StopOnBehalfRequest),
    Participant(Participant),
    Notice(Notice),
    Request(RequestRecord),
    DeleteRequest(RequestKey),
    Due(DueEntry),
    DeleteDue(DueEntry),
    Policy(Policy),
    Counters(Counters),
    Clock(Timestamp),
}

/// What a decision asks the caller to write, atomically.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    pub writes: Vec<Write>,
    pub events: Vec<Event>,
}

/// An event with its position: the revision (log index of the entry that produced it) and its
/// place within that entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub revision: u64,
    pub index: u32,
    pub event: Event,
}

/// The whole state in ordered maps: the reference implementation of [`StateView`], used by tests
/// and by anything that needs a state without a store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryState {
    pub supply_points: BTreeMap<SupplyPointNumber, SupplyPoint>,
    pub applications: BTreeMap<ApplicationNumber, Application>,
    pub stop_on_behalf: BTreeMap<StopOnBehalfNumber, StopOnBehalfRequest>,
    pub participants: BTreeMap<PartyId, Participant>,
    pub notices: BTreeMap<NoticeNumber, Notice>,
    pub requests: BTreeMap<RequestKey, RequestRecord>,
    pub due: BTreeSet<DueEntry>,
    pub policy: Option<Policy>,
    pub counters: Counters,
    pub clock: Option<Timestamp>,
    pub events: Vec<StoredEvent>,
    /// The revision of the last applied command.
    pub revision: u64,
}

impl StateView for MemoryState {
    fn supply_point(&self, number: &SupplyPointNumber) -> Option<SupplyPoint> {
        self.supply_points.get(number).cloned()
    }
    fn application(&self, number: ApplicationNumber) -> Option<Application> {
        self.applications.get(&number).cloned()
    }
    fn stop_on_behalf(&self, number: StopOnBehalfNumber) -> Option<StopOnBehalfRequest> {
        self.stop_on_behalf.get(&number).cloned()
    }
    fn participant(&self, party: &PartyId) -> Option<Participant> {
        self.participants.get(party).cloned()
    }
    fn request(&self, key: &RequestKey) -> Option<RequestRecord> {
        self.requests.get(key).cloned()
    }
    fn policy(&self) -> Policy {
        self.policy.clone().unwrap_or_default()
    }
    fn counters(&self) -> Counters {
        self.counters
    }
    fn clock(&self) -> Option<Timestamp> {
        self.clock
    }
    fn due_before(&self, date: Date, limit: usize) -> Vec<DueEntry> {
        self.due
            .iter()
            .take_while(|entry| entry.date < date)
            .take(limit)
            .cloned()
            .collect()
    }
}

impl MemoryState {
    /// Applies `changes` as the entry at `revision`.
    pub fn apply(&mut self, changes: &Changes, revision: u64) {
        for write in &changes.writes {
            match write {
                Write::SupplyPoint(record) => {
                    self.supply_points.insert(record.number, record.clone());
                }
                Write::Application(record) => {
                    self.applications.insert(record.number, record.clone());
                }
                Write::StopOnBehalf(record) => {
                    self.stop_on_behalf.insert(record.number, record.clone());
                }
                Write::Participant(record) => {
                    self.participants
                        .insert(record.party.clone(), record.clone());
                }
                Write::Notice(record) => {
                    self.notices.insert(record.number, record.clone());
                }
                Write::Request(record) => {
                    self.requests.insert(record.key.clone(), record.clone());
                }
                Write::DeleteRequest(key) => {
                    self.requests.remove(key);
                }
                Write::Due(entry) => {
                    self.due.insert(entry.clone());
                }
                Write::DeleteDue(entry) => {
                    self.due.remove(entry);
                }
                Write::Policy(policy) => self.policy = Some(policy.clone()),
                Write::Counters(counters) => self.counters = *counters,
                Write::Clock(clock) => self.clock = Some(*clock),
            }
        }
        for (index, event) in changes.events.iter().enumerate() {
            self.events.push(StoredEvent {
                revision,
                index: u32::try_from(index).expect("an entry emits few events"),
                event: event.clone(),
            });
        }
        self.revision = revision;
    }

    /// Decides `envelope` at `at` and applies the result as the next revision.
    pub fn execute(&mut self, envelope: &Envelope, at: Timestamp) -> Outcome {
        let decision = crate::decide(self, envelope, at);
        let revision = self.revision + 1;
        self.apply(&decision.changes, revision);
        decision.outcome
    }

    /// A SHA-256 over every record (events excluded), in the canonical order of
    /// [`StateHasher`]: equal on every replica that applied the same log, whatever stores it.
    pub fn state_hash(&self) -> String {
        let mut hasher = StateHasher::new();
        fn tree<'a, T: Serialize + 'a>(
            hasher: &mut StateHasher,
            name: &str,
            records: impl Iterator<Item = (String, &'a T)>,
        ) {
            let mut sorted: Vec<(String, Vec<u8>)> = records
                .map(|(key, value)| (key, serde_json::to_vec(value).expect("records serialize")))
                .collect();
            sorted.sort();
            for (key, value) in sorted {
                hasher.add(name, key.as_bytes(), &value);
            }
        }
        let hasher_ref = &mut hasher;
        tree(
            hasher_ref,
            "supply_points",
            self.supply_points
                .iter()
                .map(|(key, value)| (keys::supply_point(key), value)),
        );
        tree(
            hasher_ref,
            "applications",
            self.applications
                .iter()
                .map(|(key, value)| (keys::application(*key), value)),
        );
        tree(
            hasher_ref,
            "stop_on_behalf",
            self.stop_on_behalf
                .iter()
                .map(|(key, value)| (keys::stop_on_behalf(*key), value)),
        );
        tree(
            hasher_ref,
            "participants",
            self.participants
                .iter()
                .map(|(key, value)| (keys::participant(key), value)),
        );
        tree(
            hasher_ref,
            "notices",
            self.notices
                .iter()
                .map(|(key, value)| (keys::notice(*key), value)),
        );
        tree(
            hasher_ref,
            "requests",
            self.requests
                .iter()
                .map(|(key, value)| (keys::request(key), value)),
        );
        tree(
            hasher_ref,
            "due",
            self.due.iter().map(|entry| (keys::due(entry), entry)),
        );
        hasher.add_json("policy", &self.policy);
        hasher.add_json("counters", &self.counters);
        hasher.add_json("clock", &self.clock);
        hasher.finish()
    }
}

/// The canonical key of every record: its text form. A store that keys its trees with these
/// strings iterates them in the same order as every other store, so state hashes agree.
pub mod keys {
    use super::{DueEntry, DueItem, RequestKey};
    use crate::ids::{
        ApplicationNumber, NoticeNumber, PartyId, StopOnBehalfNumber, SupplyPointNumber,
    };
    use crate::time::Date;

    pub fn supply_point(number: &SupplyPointNumber) -> String {
        number.to_string()
    }
    pub fn application(number: ApplicationNumber) -> String {
        number.to_string()
    }
    pub fn stop_on_behalf(number: StopOnBehalfNumber) -> String {
        number.to_string()
    }
    pub fn participant(party: &PartyId) -> String {
        party.to_string()
    }
    pub fn notice(number: NoticeNumber) -> String {
        number.to_string()
    }
    pub fn request(key: &RequestKey) -> String {
        key.to_string()
    }
    /// `YYYY-MM-DD/` followed by the item: byte order is date order, then item order.
    pub fn due(entry: &DueEntry) -> String {
        let item = match &entry.item {
            DueItem::Application(number) => number.to_string(),
            DueItem::StopOnBehalf(number) => number.to_string(),
            DueItem::Request(key) => format!("RQ:{key}"),
        };
        format!("{}/{item}", entry.date)
    }
    /// Every due key dated before `date` sorts before this bound.
    pub fn due_bound(date: Date) -> String {
        date.to_string()
    }
}

/// Hashes a state given tree by tree, each in byte order of its canonical keys ([`keys`]).
#[derive(Debug, Default)]
pub struct StateHasher {
    hasher: Sha256,
}

impl StateHasher {
    pub fn new() -> StateHasher {
        StateHasher::default()
    }

    /// Adds one record. Records must come tree by tree in the order of
    /// [`MemoryState::state_hash`], each tree in byte order of its keys.
    pub fn add(&mut self, tree: &str, key: &[u8], value_json: &[u8]) {
        for part in [tree.as_bytes(), key, value_json] {
            self.hasher.update((part.len() as u64).to_be_bytes());
            self.hasher.update(part);
        }
    }

    /// Adds a single value (policy, counters, clock) under an empty key.
    pub fn add_json<T: Serialize>(&mut self, tree: &str, value: &T) {
        let json = serde_json::to_vec(value).expect("records serialize");
        self.add(tree, b"", &json);
    }

    /// The hex digest.
    pub fn finish(self) -> String {
        self.hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}
