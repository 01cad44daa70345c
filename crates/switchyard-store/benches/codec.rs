//! How long the store's record codec (postcard over the domain's serde) takes per record: every
//! apply encodes the records it writes and decodes the ones it reads, on every node.
//!
//! `cargo bench -p switchyard-store --bench codec` loads generated sample data into a memory
//! state through the domain's rules and reports the best of several passes over its supply
//! points, participants, request records and events (nanoseconds per record and bytes). Compare builds in one
//! sitting, alternating them; the figures of a shared machine drift between sittings.
#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use switchyard_domain::generator::{GeneratorConfig, SampleData};
use switchyard_domain::{Date, MemoryState, OperatorId, Timestamp};

const SUPPLY_POINTS: usize = 20_000;
const PASSES: usize = 15;

fn main() {
    let as_of = Date::parse("2026-12-01").expect("a valid date");
    let data = SampleData::generate(&GeneratorConfig {
        seed: 1,
        supply_points: SUPPLY_POINTS,
        retailers: 20,
        as_of,
    });
    let operator = OperatorId::parse("bench").expect("a valid operator");
    let now = Timestamp(Timestamp::start_of_jst_date(as_of).0 + 10 * 3_600_000);
    let mut state = MemoryState::default();
    for envelope in data.commands(&operator) {
        if let Err(rejection) = state.execute(&envelope, now) {
            panic!("the sample data was refused: {rejection}");
        }
    }
    println!("| records | count | encode ns/record | decode ns/record | bytes/record |");
    println!("|---|---|---|---|---|");
    measure("supply points", state.supply_points.values());
    measure("participants", state.participants.values());
    measure("request records", state.requests.values());
    measure("events", state.events.iter());
}

fn measure<'a, T>(name: &str, records: impl Iterator<Item = &'a T>)
where
    T: Serialize + DeserializeOwned + 'a,
{
    let records: Vec<&T> = records.collect();
    let mut encode = Duration::MAX;
    let mut decode = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..PASSES {
        let started = Instant::now();
        let encoded: Vec<Vec<u8>> = records
            .iter()
            .map(|record| postcard::to_stdvec(record).expect("records encode"))
            .collect();
        encode = encode.min(started.elapsed());
        bytes = encoded.iter().map(Vec::len).sum::<usize>();
        let started = Instant::now();
        for record in &encoded {
            black_box(postcard::from_bytes::<T>(record).expect("records decode"));
        }
        decode = decode.min(started.elapsed());
    }
    let count = records.len().max(1);
    let per_record = |time: Duration| time.as_nanos() as f64 / count as f64;
    println!(
        "| {name} | {} | {:.0} | {:.0} | {:.0} |",
        records.len(),
        per_record(encode),
        per_record(decode),
        bytes as f64 / count as f64
    );
}
