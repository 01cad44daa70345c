//! Planned leadership transfer and linearizable read barriers.

mod common;

use common::{Cluster, sample_commands};
use switchyard_raft::{NodeError, Site};

/// In the five-node layout, leadership moves to a named caught-up voter at the other site; the
/// new leader serves writes and linearizable reads, and the old one follows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_moves_to_a_named_node() {
    let cluster = Cluster::start(5).await;
    let leader = cluster.leader().await;
    let commands = sample_commands(1_000, 41);
    let (first, rest) = commands.split_at(commands.len() / 2);
    let answers = cluster.write_all(leader, first.to_vec()).await;
    cluster
        .converged(&cluster.running(), answers.last().unwrap().revision)
        .await;

    let leader_site = cluster.node(leader).site();
    let target = cluster
        .running()
        .into_iter()
        .find(|id| {
            let site = cluster.node(*id).site();
            *id != leader && site != leader_site && site != Site::Witness
        })
        .expect("a voter at another site");
    let term_before = cluster.node(leader).metrics().current_term;
    cluster
        .node(leader)
        .transfer_leadership(target)
        .await
        .expect("the transfer succeeds");
    assert_eq!(cluster.leader().await, target);
    assert!(cluster.node(target).metrics().current_term > term_before);

    // Writes through the old leader now reach the new one.
    let answers = cluster.write_all(leader, rest.to_vec()).await;
    assert!(answers.iter().all(|answer| answer.leader == target));
    let index = cluster
        .node(target)
        .ensure_linearizable()
        .await
        .expect("the new leader confirms its leadership");
    assert!(index >= answers.last().unwrap().revision);
    cluster
        .converged(&cluster.running(), answers.last().unwrap().revision)
        .await;
    cluster.shutdown().await;
}

/// A transfer is refused, without disturbing the leader, when asked of a follower, for a node
/// outside the cluster, or for a learner; a follower's read barrier names the leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_and_read_barriers_are_refused_where_they_cannot_work() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let follower = cluster
        .running()
        .into_iter()
        .find(|id| *id != leader)
        .unwrap();

    match cluster.node(follower).transfer_leadership(follower).await {
        Err(NodeError::NotLeader { leader: Some(info) }) => assert_eq!(info.node_id, leader),
        other => panic!("a follower cannot transfer: {other:?}"),
    }
    match cluster.node(follower).ensure_linearizable().await {
        Err(NodeError::NotLeader { leader: Some(info) }) => {
            assert_eq!(info.node_id, leader);
            assert_eq!(info.raft_address, cluster.node(leader).advertised_address());
        }
        other => panic!("a follower cannot confirm leadership: {other:?}"),
    }
    assert!(matches!(
        cluster.node(leader).transfer_leadership(42).await,
        Err(NodeError::UnknownNode { node_id: 42 })
    ));

    cluster
        .start_node(4, switchyard_raft::Bootstrap::Join)
        .await;
    let entry = cluster.node(4).cluster_node("");
    cluster
        .node(leader)
        .add_learner(4, entry)
        .await
        .expect("the learner joins");
    assert!(matches!(
        cluster.node(leader).transfer_leadership(4).await,
        Err(NodeError::NotVoter { node_id: 4 })
    ));
    assert_eq!(cluster.leader().await, leader, "the leader is undisturbed");
    cluster.shutdown().await;
}

/// Writes in flight while leadership moves back and forth between the sites are answered by the
/// node they were sent to, whichever it is (the old leader and the transfer's target included):
/// a node refused by a leader that is handing over follows the refusal's hint and waits for the
/// leadership to settle, instead of spending its attempts at once and answering "no leader".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_in_flight_across_transfers_are_answered() {
    use std::sync::atomic::{AtomicBool, Ordering};

    use common::{WAIT, eventually};
    use switchyard_domain::fixtures::{contact, operator};
    use switchyard_domain::{Command, Envelope, Participant, PartyId, PersonName, RequestId};

    const TRANSFERS: usize = 6;
    /// Entries applied between two transfers, so that every transfer meets writes in flight.
    const WRITES_BETWEEN: u64 = 30;

    let cluster = Cluster::start(5).await;
    let first = cluster.leader().await;
    let first_site = cluster.node(first).site();
    let across = cluster
        .running()
        .into_iter()
        .find(|id| {
            let site = cluster.node(*id).site();
            site != first_site && site != Site::Witness
        })
        .expect("a voter at the other site");
    let stop = AtomicBool::new(false);

    let writer = |via| {
        let (cluster, stop) = (&cluster, &stop);
        async move {
            let mut answered = 0_u32;
            let mut failures = Vec::new();
            let mut sequence = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                sequence += 1;
                let envelope = Envelope {
                    actor: operator(),
                    request_id: RequestId::parse(&format!("across-{via}-{sequence}"))
                        .expect("a valid request id"),
                    command: Command::SaveParticipant {
                        participant: Participant {
                            party: PartyId::parse(&format!("A{:04}", via * 100 + sequence % 100))
                                .expect("a valid party"),
                            name: PersonName::parse("Kawasemi Denki").expect("a valid name"),
                            contacts: vec![contact("Sato Hana")],
                        },
                    },
                };
                match cluster.node(via).client_write(envelope).await {
                    Ok(_) => answered += 1,
                    Err(error) => failures.push(format!("write {sequence}: {error}")),
                }
            }
            (via, answered, failures)
        }
    };
    let writers = futures::future::join_all(cluster.running().into_iter().map(writer));

    let applied = |id| {
        cluster
            .node(id)
            .metrics()
            .last_applied
            .map_or(0, |log_id| log_id.index)
    };
    let writes_flow = |what: &'static str, leader| {
        let before = applied(leader);
        eventually(what, WAIT, move || {
            let flowing = applied(leader) >= before + WRITES_BETWEEN;
            async move { flowing }
        })
    };
    let driver = async {
        let mut leader = first;
        for round in 0..TRANSFERS {
            let target = if leader == first { across } else { first };
            writes_flow("writes to flow before the transfer", leader).await;
            cluster
                .node(leader)
                .transfer_leadership(target)
                .await
                .unwrap_or_else(|error| panic!("transfer {round} to node {target}: {error}"));
            leader = cluster.leader().await;
            assert_eq!(leader, target, "transfer {round} went elsewhere");
        }
        writes_flow("writes to flow after the last transfer", leader).await;
        stop.store(true, Ordering::Relaxed);
    };
    let (results, ()) = futures::join!(writers, driver);

    for (via, answered, failures) in results {
        assert!(answered > 0, "node {via} answered no write at all");
        assert!(
            failures.is_empty(),
            "node {via} answered {answered} writes but failed {}: {:?}",
            failures.len(),
            &failures[..failures.len().min(5)]
        );
    }
    cluster.shutdown().await;
}
