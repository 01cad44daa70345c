//! A retailer gateway in miniature, against the development cluster of the README
//! (`cargo run --release -p switchyard-server -- dev`, public API ports 7400–7404):
//!
//! ```sh
//! cargo run -p switchyard-client --example dev_cluster -- <supply point> [party]
//! ```
//!
//! It looks the supply point up, lists the party's open stop-on-behalf requests and the
//! notices, and then follows the party's events live until Ctrl-C. Stop a node of the cluster
//! meanwhile, or move its leader (`swctl --token dev-op:operator failover --to-site osaka`):
//! the program carries on. `SWITCHYARD_ENDPOINT` (comma-separated, `SITE=URL` or `URL`)
//! replaces the default endpoints.

#![allow(clippy::print_stdout, reason = "an example program reports on stdout")]

use std::process::ExitCode;

use switchyard_client::{Client, ClientConfig, ErrorKind, v1};

/// The endpoints `switchyard dev` serves with its default base port.
const DEV_ENDPOINTS: [&str; 5] = [
    "tokyo=http://127.0.0.1:7400",
    "tokyo=http://127.0.0.1:7401",
    "osaka=http://127.0.0.1:7402",
    "osaka=http://127.0.0.1:7403",
    "witness=http://127.0.0.1:7404",
];

#[tokio::main]
async fn main() -> ExitCode {
    let mut arguments = std::env::args().skip(1);
    let Some(supply_point) = arguments.next() else {
        eprintln!("usage: dev_cluster <supply point from the banner> [party, default A1001]");
        return ExitCode::from(2);
    };
    let party = arguments.next().unwrap_or_else(|| "A1001".to_owned());
    let endpoints: Vec<String> = match std::env::var("SWITCHYARD_ENDPOINT") {
        Ok(list) => list.split(',').map(str::to_owned).collect(),
        Err(_) => DEV_ENDPOINTS
            .iter()
            .map(|&endpoint| endpoint.to_owned())
            .collect(),
    };
    match run(endpoints, &party, supply_point).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dev_cluster: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    endpoints: Vec<String>,
    party: &str,
    supply_point: String,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::connect(ClientConfig::new(endpoints).with_dev_token(party)).await?;

    let looked_up = client
        .look_up_supply_point(v1::LookUpSupplyPointRequest {
            supply_point_number: supply_point.clone(),
            ..Default::default()
        })
        .await?;
    let point = looked_up.supply_point.unwrap_or_default();
    println!(
        "{} (served at revision {}): supplied: {}, next reading {}, {} application(s) in progress",
        point.supply_point_number,
        looked_up.served_at_revision,
        point.has_current_retailer,
        looked_up.next_reading_date,
        looked_up.applications_in_progress.len()
    );

    if party.starts_with('A') {
        let inbox = client
            .list_stop_on_behalf_inbox(v1::ListStopOnBehalfInboxRequest::default())
            .await?;
        println!(
            "{} stop-on-behalf request(s) await {party}",
            inbox.requests.len()
        );
        for request in &inbox.requests {
            println!(
                "  {} on {} from {}",
                request.stop_on_behalf_number,
                request.supply_point_number,
                request.requester_retailer_code
            );
        }
    }
    let notices = client
        .list_notices(v1::ListNoticesRequest::default())
        .await?;
    println!("{} notice(s)", notices.notices.len());

    println!("following {party}'s events live; Ctrl-C stops");
    let mut watch = client.watch(v1::WatchEventsRequest::default());
    loop {
        let event = tokio::select! {
            event = watch.next() => event,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        match event {
            Some(Ok(event)) => println!(
                "revision {} #{} (from {}): {:?}",
                event.revision,
                event.index_in_revision,
                watch.endpoint().unwrap_or("-"),
                event.kind
            ),
            Some(Err(error)) => {
                if let ErrorKind::HistoryCompacted { oldest_revision } = error.kind() {
                    println!(
                        "history compacted; a real gateway re-reads and watches from {oldest_revision}"
                    );
                }
                return Err(error.into());
            }
            None => return Ok(()),
        }
    }
}
