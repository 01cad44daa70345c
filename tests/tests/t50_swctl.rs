//! `swctl` against a real five-node cluster, exactly as the README shows it: the whole switching
//! flow through the command line with writes at different nodes, JSON output for scripts, the
//! exit codes, a retry with the same request id, endpoint failover past a stopped node, and a
//! watch that ends after a number of events.

mod common;

use common::{Services, days_ahead};
use serde_json::Value;

/// Runs swctl with `args` against `endpoints`; returns exit code, stdout, stderr.
async fn swctl(endpoints: &str, args: &[&str]) -> (u8, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut all = vec!["swctl", "--endpoint", endpoints];
    all.extend_from_slice(args);
    let exit = switchyard_cli::run(all, &mut out, &mut err).await;
    (
        exit.code(),
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// Runs a command that must succeed with `--json`, and parses its output.
async fn json(endpoints: &str, token: &str, args: &[&str]) -> Value {
    let mut all = vec!["--token", token, "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = swctl(endpoints, &all).await;
    assert_eq!(code, 0, "swctl {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|error| panic!("not JSON ({error}): {out}"))
}

fn endpoint(services: &Services, name: &str) -> String {
    format!(
        "http://{}",
        services.cluster.nodes[services.index(name)]
            .api
            .local_address()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swctl_drives_the_switching_flow_on_a_real_cluster() {
    let mut services = Services::start(1_000).await;
    let (point, old) = services.supplied_point(0);
    let new = services.other_retailer(&old);
    let number = point.number.to_string();
    let tso = format!("T{}", point.number.area());
    let date = days_ahead(30);
    let (new_token, old_token, tso_token) = (
        format!("dev-{new}"),
        format!("dev-{old}"),
        format!("dev-{tso}"),
    );
    let tokyo = endpoint(&services, "tokyo-1");
    let osaka = endpoint(&services, "osaka-2");

    // A look-up by a retailer that does not supply the point: human output, supplier hidden.
    let (code, out, err) = swctl(&tokyo, &["--token", &new_token, "lookup", &number]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&number) && !out.contains(&old), "{out}");

    let registered = json(
        &tokyo,
        &new_token,
        &[
            "--request-id",
            "cli-sob-1",
            "sob",
            "register",
            "--supply-point",
            &number,
            "--customer-contract-number",
            "C-1",
            "--customer-name",
            "Yamada Taro",
            "--customer-address",
            "1-1 Chiyoda",
            "--wished-date",
            &date,
        ],
    )
    .await;
    let sob = registered["result"]["stop_on_behalf_number"]
        .as_str()
        .expect("a stop-on-behalf number")
        .to_owned();
    assert_eq!(registered["request_id"], "cli-sob-1");

    // The same command again (a retry after a timeout) answers the same request, at Osaka.
    let again = json(
        &osaka,
        &new_token,
        &[
            "--request-id",
            "cli-sob-1",
            "sob",
            "register",
            "--supply-point",
            &number,
            "--customer-contract-number",
            "C-1",
            "--customer-name",
            "Yamada Taro",
            "--customer-address",
            "1-1 Chiyoda",
            "--wished-date",
            &date,
        ],
    )
    .await;
    assert_eq!(again["result"], registered["result"]);

    let inbox = json(&osaka, &old_token, &["sob", "inbox"]).await;
    assert!(inbox.to_string().contains(&sob), "{inbox}");
    json(&osaka, &old_token, &["sob", "judge", &sob, "--ok"]).await;
    let out_app = json(
        &endpoint(&services, "tokyo-2"),
        &old_token,
        &[
            "app",
            "submit",
            "--supply-point",
            &number,
            "--effective-date",
            &date,
            "--procedure",
            "switch-out",
        ],
    )
    .await;
    assert_eq!(out_app["result"]["state"], "awaiting-match");
    let in_app = json(
        &endpoint(&services, "witness-1"),
        &new_token,
        &[
            "app",
            "submit",
            "--supply-point",
            &number,
            "--effective-date",
            &date,
            "--procedure",
            "switch-in",
            "--stop-on-behalf",
            &sob,
        ],
    )
    .await;
    assert_eq!(in_app["result"]["state"], "matched");
    let work = json(&osaka, &tso_token, &["tso", "needing-action"]).await;
    let in_number = in_app["result"]["application_number"].as_str().unwrap();
    assert!(work.to_string().contains(in_number), "{work}");
    let listed = json(&tokyo, &new_token, &["app", "list", "--all-pages"]).await;
    assert!(listed.to_string().contains(in_number), "{listed}");

    // Exit codes: a rule refusal is 3 (a second switch-out on the point), an unknown record 3,
    // a bad argument 2, a bad token 4.
    let (code, _, err) = swctl(
        &tokyo,
        &[
            "--token",
            &old_token,
            "app",
            "submit",
            "--supply-point",
            &number,
            "--effective-date",
            &date,
            "--procedure",
            "switch-out",
        ],
    )
    .await;
    assert_eq!(code, 3, "a refused write exits 3: {err}");
    let (code, _, err) = swctl(
        &tokyo,
        &["--token", &new_token, "app", "get", "AP9999999999"],
    )
    .await;
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("NOT_FOUND") || err.contains("not_found"),
        "{err}"
    );
    let (code, _, _) = swctl(&tokyo, &["--token", &new_token, "lookup", "not-a-number"]).await;
    assert_eq!(code, 2);
    let (code, _, _) = swctl(&tokyo, &["--token", "dev-nobody", "lookup", &number]).await;
    assert_eq!(code, 4);

    // A watch of everything, from the first revision, ends after the events asked for.
    let (code, out, err) = swctl(
        &osaka,
        &[
            "--token",
            "dev-op:operator",
            "--json",
            "watch",
            "--from-revision",
            "1",
            "--max-events",
            "5",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 5, "{out}");

    // Failover: tokyo-1 stops; the endpoint list starting with it still works.
    let index = services.index("tokyo-1");
    let stopped = services.cluster.nodes.remove(index);
    stopped.api.shutdown().await;
    stopped.node.shutdown().await.unwrap();
    let both = format!("{tokyo},{osaka}");
    let (code, out, err) = swctl(&both, &["--token", &new_token, "lookup", &number]).await;
    assert_eq!(code, 0, "the next endpoint answers: {err}");
    assert!(out.contains(&number));
    services.shutdown().await;
}
