//! Replication of real domain commands: every node ends with the same state, writes sent to a
//! follower are forwarded to the leader, retries are answered once, and a restarted node
//! catches up from its own directory.

mod common;

use common::{Cluster, sample_commands};
use switchyard_domain::fixtures::{contact, operator};
use switchyard_domain::{Accepted, Command, Envelope, Participant, PartyId, PersonName, RequestId};

fn save_participant(request_id: &str, party: &str) -> Envelope {
    Envelope {
        actor: operator(),
        request_id: RequestId::parse(request_id).expect("a valid request id"),
        command: Command::SaveParticipant {
            participant: Participant {
                party: PartyId::parse(party).expect("a valid party"),
                name: PersonName::parse("Kawasemi Denki").expect("a valid name"),
                contacts: vec![contact("Sato Hana")],
            },
        },
    }
}

/// Five voters: participants and 5,000 supply points loaded through the leader reach every
/// node, whose state hashes are then identical, and every import was accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_replicate_domain_commands_to_identical_states() {
    let cluster = Cluster::start(5).await;
    let leader = cluster.leader().await;
    let answers = cluster.write_all(leader, sample_commands(5_000, 21)).await;
    let mut imported = 0;
    for answer in &answers {
        match &answer.outcome {
            Ok(Accepted::SupplyPointsImported { created, .. }) => imported += created,
            Ok(_) => {}
            Err(rejection) => panic!("a sample command was refused: {rejection}"),
        }
        assert!(!answer.replayed);
        assert_eq!(answer.leader, leader);
    }
    assert_eq!(imported, 5_000);
    let last = answers.last().unwrap().revision;
    cluster.converged(&cluster.running(), last).await;
    cluster.shutdown().await;
}

/// Three voters: commands sent to each follower are forwarded to the leader, applied there, and
/// answered with the leader's answer (its revision; the same state everywhere afterwards).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_sent_to_followers_are_forwarded_to_the_leader() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let followers: Vec<_> = cluster
        .running()
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    let commands = sample_commands(1_500, 22);
    let mut last = 0;
    for (number, envelope) in commands.into_iter().enumerate() {
        let via = followers[number % followers.len()];
        let answer = cluster
            .node(via)
            .client_write(envelope)
            .await
            .unwrap_or_else(|error| panic!("a write through follower {via} failed: {error}"));
        assert!(answer.outcome.is_ok(), "{:?}", answer.outcome);
        assert_eq!(answer.leader, leader, "the leader answered");
        assert!(!answer.replayed, "a first write is not a replay");
        assert!(
            answer.revision > last,
            "revisions grow: {} after {last}",
            answer.revision
        );
        last = answer.revision;
    }
    cluster.converged(&cluster.running(), last).await;
    cluster.shutdown().await;
}

/// A write retried with the same request id (through a follower, then the leader, then the
/// other follower) gets the first answer each time and changes the state only once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_write_is_answered_once_and_applied_once() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let followers: Vec<_> = cluster
        .running()
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    let envelope = save_participant("retry-me-1", "A0042");

    let first = cluster
        .node(followers[0])
        .client_write(envelope.clone())
        .await
        .expect("the first write");
    assert!(
        matches!(first.outcome, Ok(Accepted::ParticipantSaved { .. })),
        "{:?}",
        first.outcome
    );
    let hash_after_first = cluster.converged(&cluster.running(), first.revision).await;

    let from_leader = cluster
        .node(leader)
        .client_write(envelope.clone())
        .await
        .expect("the retry on the leader");
    assert_eq!(from_leader.outcome, first.outcome);
    assert!(from_leader.replayed, "the leader replayed the first answer");
    assert!(
        from_leader.revision > first.revision,
        "the retry is a new entry"
    );

    let from_other = cluster
        .node(followers[1])
        .client_write(envelope)
        .await
        .expect("the retry through the other follower");
    assert_eq!(from_other.outcome, first.outcome);
    assert!(
        from_other.replayed,
        "the forwarded retry reports the replay"
    );

    let hash_after_retries = cluster
        .converged(&cluster.running(), from_other.revision)
        .await;
    assert_eq!(
        hash_after_first, hash_after_retries,
        "the retries changed nothing"
    );
    cluster.shutdown().await;
}

/// A follower stopped while writes go on restarts from its directory with what it had applied,
/// catches up from the leader's log, and ends with the leader's state. It missed about 5 MiB of
/// import entries, more than one message may carry, so the leader's batches are cut on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_catches_up_from_its_directory() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let follower = cluster
        .running()
        .into_iter()
        .find(|id| *id != leader)
        .unwrap();
    let commands = sample_commands(30_000, 23);
    let (before, after) = commands.split_at(commands.len() / 2);
    let answers = cluster.write_all(leader, before.to_vec()).await;
    let applied_before = answers.last().unwrap().revision;
    cluster.converged(&cluster.running(), applied_before).await;

    cluster.stop(follower).await;
    let answers = cluster.write_all(leader, after.to_vec()).await;
    let last = answers.last().unwrap().revision;

    cluster.restart(follower).await;
    let reopened = cluster
        .node(follower)
        .store()
        .state_machine
        .last_applied()
        .unwrap()
        .expect("state kept on disk")
        .index;
    assert!(
        reopened >= applied_before,
        "the restarted node kept what it had applied ({reopened} < {applied_before})"
    );
    cluster.converged(&cluster.running(), last).await;
    cluster.shutdown().await;
}

/// Three voters: a linearizable read barrier on a follower asks the leader for its read index
/// and returns only once the follower has applied it, so a write acknowledged by the leader is
/// visible in the follower's state straight after the barrier, without waiting for replication
/// by other means. With the leader stopped and no quorum-confirmed leader, the barrier fails
/// (bounded) instead of serving stale state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linearizable_reads_on_followers_see_every_acknowledged_write() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let followers: Vec<_> = cluster
        .running()
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    for round in 0..20 {
        let party = format!("A{:04}", 2000 + round);
        let answers = cluster
            .write_all(
                leader,
                vec![save_participant(&format!("read-{round}"), &party)],
            )
            .await;
        let revision = answers[0].revision;
        let follower = cluster.node(followers[round % followers.len()]);
        let index = follower
            .read_barrier()
            .await
            .expect("a read barrier on a follower");
        assert!(
            index >= revision,
            "the read index {index} is behind the acknowledged write at {revision}"
        );
        assert!(follower.applied_index() >= revision);
        let party = PartyId::parse(&party).unwrap();
        let seen = follower
            .store()
            .state_machine
            .read(|view| view.participant(&party))
            .unwrap();
        assert!(
            seen.is_some(),
            "round {round}: the follower misses the write it barrier-read"
        );
    }
    // The leader barrier works too.
    cluster
        .node(leader)
        .read_barrier()
        .await
        .expect("a read barrier on the leader");
    cluster.stop(leader).await;
    let survivor = followers[0];
    // Either a new leader is elected among the two survivors (and the barrier succeeds at an
    // index at least as new as the last write), or the barrier fails; it never hangs.
    match cluster.node(survivor).read_barrier().await {
        Ok(index) => assert!(index >= 20),
        Err(error) => eprintln!("barrier without the old leader failed as allowed: {error}"),
    }
    cluster.shutdown().await;
}
