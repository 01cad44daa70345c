//! Switchyard's business: electricity supplier switching in Japan, as pure functions.
//!
//! This crate holds the whole domain of `DOMAIN.md` and nothing else: no async, no I/O, no clock,
//! no randomness. Everything that changes state goes through one entry point, [`decide`], which
//! reads the current state through the [`StateView`] trait and returns the [`Changes`] to write, or
//! a typed [`Rejection`]. Applying the same commands with the same log timestamps gives the same
//! state, byte for byte, on every replica.
//!
//! How the files divide the work:
//!
//! - `ids`, `time`: value types that cannot hold invalid data (supply point numbers, party codes,
//!   dates, business-day arithmetic);
//! - `facility`, `party`, `stop_on_behalf`, `application`, `notice`, `policy`: the records;
//! - `command`, `event`, `rejection`: what comes in, what goes out, and why something was refused;
//! - `state`: the read trait, the change list and an in-memory state for tests;
//! - `decide/`: the rules, one file per family of commands;
//! - `timeline`, `invariants`: the order rules on one supply point, and the invariants of
//!   `DOMAIN.md` checked after every accepted command;
//! - `generator`: seeded synthetic sample data; `scenario`: a replayable log of realistic work;
//!   `fixtures`: a small hand-made world for tests.

mod application;
mod command;
mod event;
mod facility;
mod ids;
mod notice;
mod party;
mod policy;
mod rejection;
mod state;
mod stop_on_behalf;
mod time;
mod timeline;

mod decide;
pub mod fixtures;
pub mod generator;
pub mod invariants;
pub mod scenario;

pub use application::{
    Application, ApplicationState, CustomerDetails, Procedure, ProcedureRequest, Transition,
    UpdateFlag,
};
pub use command::{Accepted, Command, Envelope, Outcome, SupplyPointImport, VersionedEnvelope};
pub use decide::{Decision, decide};
pub use event::{Audience, Event, EventKind};
pub use facility::{
    Capacity, CapacityUnit, ContractKind, DecisionMethod, Facility, Meter, PeriodEnd, SupplyPeriod,
    SupplyPoint, SupplyState, VoltageClass,
};
pub use ids::{
    Actor, ApplicationNumber, Area, ContractNumber, EmailAddress, LongText, MeterNumber,
    NoticeNumber, OperatorId, PartyId, PersonName, PhoneNumber, PostalAddress, RequestId,
    RetailerCode, ShortText, StopOnBehalfNumber, SupplyPointNumber, ValueError,
};
pub use notice::{Notice, Severity};
pub use party::{Contact, Participant};
pub use policy::{Policy, TsoLeadTimes};
pub use rejection::{Rejection, RejectionKind};
pub use state::{
    Changes, Counters, DueEntry, DueItem, MemoryState, RequestKey, RequestRecord, StateHasher,
    StateView, StoredEvent, Write, keys,
};
pub use stop_on_behalf::{
    CustomerIdentity, NgReason, NgReasons, StopOnBehalfRequest, StopOnBehalfState, Verdict,
};
pub use time::{Calendar, Date, LeadTime, Timestamp, Weekday};
