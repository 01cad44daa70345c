//! The admin API's cluster operations on a real five-node cluster: the cluster status as the
//! leader and a follower see it, and planned leadership transfer to a site or a node — refused
//! at a follower with the leader's address, refused for non-operators and non-voters.

mod common;

use std::time::Duration;

use common::{Services, assert_status};
use switchyard_proto::admin::v1 as admin;
use tonic::Code;

const OPERATOR: Option<&str> = Some("op:operator");

/// The name of the node that leads now.
async fn leader_name(services: &Services) -> &'static str {
    let leader = services
        .cluster
        .leader(Duration::from_secs(30))
        .await
        .expect("a leader");
    leader.name
}

/// Waits (bounded) until the node that leads satisfies `wanted`; returns its name.
async fn wait_for_leader(services: &Services, wanted: impl Fn(&str) -> bool) -> &'static str {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let name = leader_name(services).await;
        if wanted(name) {
            return name;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the leader is still {name} after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn transfer(
    target: admin::transfer_leadership_request::Target,
    id: &str,
) -> admin::TransferLeadershipRequest {
    admin::TransferLeadershipRequest {
        request_id: id.into(),
        target: Some(target),
        timeout_ms: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_status_and_planned_leadership_transfer() {
    let services = Services::start(300).await;
    let leader = leader_name(&services).await;
    let follower = if leader == "osaka-2" {
        "osaka-1"
    } else {
        "osaka-2"
    };

    // The leader's view: five voters, itself leading, every follower answering and caught up.
    let mut at_leader = services.admin(leader, OPERATOR).await;
    let mut status = at_leader
        .get_cluster_status(admin::GetClusterStatusRequest {})
        .await
        .expect("the status")
        .into_inner();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while status
        .nodes
        .iter()
        .any(|node| node.health != admin::NodeHealth::Healthy as i32)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "not every node became healthy in the leader's view: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = at_leader
            .get_cluster_status(admin::GetClusterStatusRequest {})
            .await
            .unwrap()
            .into_inner();
    }
    assert_eq!(status.nodes.len(), 5);
    assert!(status.nodes.iter().all(|node| node.voter));
    let leader_id = status.answering_node_id;
    assert_eq!(status.leader_node_id, Some(leader_id));
    let me = status
        .nodes
        .iter()
        .find(|node| node.node_id == leader_id)
        .unwrap();
    assert_eq!(me.role, admin::NodeRole::Leader as i32);
    assert!(me.last_applied_index > 0 && me.committed_index >= me.last_applied_index);
    for node in status.nodes.iter().filter(|node| node.node_id != leader_id) {
        assert_eq!(node.role, admin::NodeRole::Follower as i32);
        assert!(node.since_last_acknowledgement_ms.is_some());
        assert!(!node.public_address.is_empty() && !node.raft_address.is_empty());
    }
    let sites: Vec<i32> = status.nodes.iter().map(|node| node.site).collect();
    assert_eq!(
        sites
            .iter()
            .filter(|site| **site == admin::Site::Osaka as i32)
            .count(),
        2
    );

    // A follower's view: itself in full, the leader marked.
    let at_follower = services
        .admin(follower, OPERATOR)
        .await
        .get_cluster_status(admin::GetClusterStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(at_follower.leader_node_id, Some(leader_id));
    let itself = at_follower
        .nodes
        .iter()
        .find(|node| node.node_id == at_follower.answering_node_id)
        .unwrap();
    assert_eq!(itself.role, admin::NodeRole::Follower as i32);
    assert_eq!(itself.health, admin::NodeHealth::Healthy as i32);

    // Operators only.
    let refused = services
        .admin(leader, Some("A1001"))
        .await
        .get_cluster_status(admin::GetClusterStatusRequest {})
        .await;
    assert_status(refused, Code::PermissionDenied, "permission_denied");

    // A follower refuses a transfer and names the leader's public address.
    use admin::transfer_leadership_request::Target;
    let refused = services
        .admin(follower, OPERATOR)
        .await
        .transfer_leadership(transfer(Target::Site(admin::Site::Osaka as i32), "move-0"))
        .await;
    let refused = assert_status(refused, Code::FailedPrecondition, "not_leader");
    let leader_address = services.cluster.nodes[services.index(leader)]
        .api
        .local_address()
        .to_string();
    assert_eq!(
        refused
            .metadata()
            .get("x-switchyard-leader-address")
            .map(|value| value.to_str().unwrap().to_owned()),
        Some(leader_address)
    );
    let not_a_voter = at_leader
        .transfer_leadership(transfer(Target::NodeId(99), "move-x"))
        .await;
    assert_status(not_a_voter, Code::FailedPrecondition, "membership");

    // To Osaka, then back to tokyo-1 by node id; each time the new leader is confirmed and
    // writes go on.
    let moved = at_leader
        .transfer_leadership(transfer(Target::Site(admin::Site::Osaka as i32), "move-1"))
        .await
        .expect("leadership moves to Osaka")
        .into_inner();
    let osaka_leader = wait_for_leader(&services, |name| name.starts_with("osaka")).await;
    assert_eq!(
        services.cluster.nodes[services.index(osaka_leader)]
            .node
            .node_id(),
        moved.new_leader_node_id
    );
    let mut notices = services.admin("witness-1", OPERATOR).await;
    notices
        .publish_notice(admin::PublishNoticeRequest {
            request_id: "after-move-1".into(),
            severity: switchyard_proto::v1::Severity::Info as i32,
            title: "Leadership in Osaka".into(),
            body: "Planned failover drill.".into(),
        })
        .await
        .expect("writes go on after the transfer");
    let tokyo_1 = services.cluster.nodes[services.index("tokyo-1")]
        .node
        .node_id();
    let back = services
        .admin(osaka_leader, OPERATOR)
        .await
        .transfer_leadership(transfer(Target::NodeId(tokyo_1), "move-2"))
        .await
        .expect("leadership moves back")
        .into_inner();
    assert_eq!(back.new_leader_node_id, tokyo_1);
    wait_for_leader(&services, |name| name == "tokyo-1").await;
    notices
        .publish_notice(admin::PublishNoticeRequest {
            request_id: "after-move-2".into(),
            severity: switchyard_proto::v1::Severity::Info as i32,
            title: "Leadership back in Tokyo".into(),
            body: "Planned failover drill.".into(),
        })
        .await
        .expect("writes go on after the transfer back");
    services.shutdown().await;
}
