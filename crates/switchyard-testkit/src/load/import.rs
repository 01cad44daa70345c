//! The bulk import through the public API: `TsoService.ImportSupplyPoints`, client streaming,
//! batches of 1,000 records. Each TSO streams its own area's points (by default one stream per
//! TSO, ten at once, spread over the nodes), as the TSOs would on the day the system is seeded.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use switchyard_domain::{Area, Command, PartyId, SupplyPointImport};
use switchyard_proto::limits::IMPORT_BATCHES_PER_STREAM_MAX;
use switchyard_proto::v1;

use crate::cpu::{CpuSample, CpuUsage};
use crate::load::target::{Bearer, Target, tso};
use crate::memory::resident_memory;

/// One import stream (a TSO's area, or a part of it).
#[derive(Debug, Clone, Serialize)]
pub struct ImportStream {
    pub tso: String,
    pub node: String,
    pub points: usize,
    pub batches: u64,
    pub seconds: f64,
    /// The status that ended the stream early, if one did.
    pub error: Option<String>,
}

/// The whole import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub points: usize,
    pub created: u64,
    pub updated: u64,
    pub batches: u64,
    pub seconds: f64,
    pub points_per_second: f64,
    pub streams: Vec<ImportStream>,
    /// Resident memory of this whole process (five nodes and the generator), before and after.
    pub resident_mib_before: Option<f64>,
    pub resident_mib_after: Option<f64>,
    pub cpu: CpuUsage,
}

impl ImportReport {
    pub fn errors(&self) -> usize {
        self.streams
            .iter()
            .filter(|stream| stream.error.is_some())
            .count()
    }
}

fn mebibytes(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Imports `points` (new to the cluster) through the TSOs' import streams: each TSO sends its
/// area's batches over `streams_per_tso` concurrent streams (a stream's batches are applied one
/// after the other), the streams spread over the nodes.
pub async fn run_import(
    target: &Target,
    points: Vec<SupplyPointImport>,
    streams_per_tso: usize,
    run_id: &str,
) -> ImportReport {
    let total = points.len();
    let mut by_area: BTreeMap<Area, Vec<SupplyPointImport>> = BTreeMap::new();
    for point in points {
        by_area.entry(point.number.area()).or_default().push(point);
    }
    let resident_before = resident_memory();
    let cpu_before = CpuSample::now();
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut stream_index = 0usize;
    for (area, points) in by_area {
        let party = PartyId::Tso(area);
        let bearer = Bearer::development(&party);
        // Batches numbered across the area, so that every request id differs.
        let mut batches: Vec<(usize, Vec<SupplyPointImport>)> = Vec::new();
        let mut points = points.into_iter().peekable();
        while points.peek().is_some() {
            batches.push((
                batches.len(),
                points.by_ref().take(Command::IMPORT_BATCH_MAX).collect(),
            ));
        }
        // Contiguous parts, one stream each, none longer than a stream may be.
        let parts = streams_per_tso.max(1).min(batches.len().max(1));
        let per_part = batches
            .len()
            .div_ceil(parts)
            .clamp(1, IMPORT_BATCHES_PER_STREAM_MAX);
        while !batches.is_empty() {
            let rest = batches.split_off(batches.len().min(per_part));
            let part = std::mem::replace(&mut batches, rest);
            let node = target.nodes[stream_index % target.nodes.len()].clone();
            stream_index += 1;
            let (party, bearer, run_id) = (party.clone(), bearer.clone(), run_id.to_owned());
            tasks.push(tokio::spawn(async move {
                let count = part.iter().map(|(_, batch)| batch.len()).sum();
                let began = Instant::now();
                let messages =
                    futures::stream::iter(part.into_iter().map(move |(number, batch)| {
                        v1::ImportSupplyPointsRequest {
                            request_id: format!("{run_id}-import-{area}-{number:06}"),
                            points: batch.into_iter().map(v1::SupplyPointRecord::from).collect(),
                        }
                    }));
                let (summary, error) =
                    match tso(&node, &bearer).import_supply_points(messages).await {
                        Ok(answer) => (answer.into_inner(), None),
                        Err(status) => (
                            v1::ImportSupplyPointsResponse::default(),
                            Some(format!("{:?}: {}", status.code(), status.message())),
                        ),
                    };
                (
                    ImportStream {
                        tso: party.to_string(),
                        node: node.name.clone(),
                        points: count,
                        batches: u64::from(summary.batches_applied),
                        seconds: began.elapsed().as_secs_f64(),
                        error,
                    },
                    summary,
                )
            }));
        }
    }
    let mut streams = Vec::new();
    let (mut created, mut updated, mut batches) = (0, 0, 0);
    for task in tasks {
        match task.await {
            Ok((stream, summary)) => {
                created += summary.created;
                updated += summary.updated;
                batches += u64::from(summary.batches_applied);
                streams.push(stream);
            }
            Err(error) => tracing::error!(error = %error, "an import stream task failed"),
        }
    }
    let elapsed = started.elapsed();
    let cpu = CpuUsage::between(&cpu_before, &CpuSample::now(), elapsed);
    ImportReport {
        points: total,
        created,
        updated,
        batches,
        seconds: elapsed.as_secs_f64(),
        points_per_second: (created + updated) as f64 / elapsed.as_secs_f64().max(1e-9),
        streams,
        resident_mib_before: resident_before.map(|memory| mebibytes(memory.current_bytes)),
        resident_mib_after: resident_memory().map(|memory| mebibytes(memory.current_bytes)),
        cpu,
    }
}
