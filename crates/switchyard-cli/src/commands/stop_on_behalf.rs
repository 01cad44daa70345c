//! `sob register | inbox | judge | cancel | get`: stop-on-behalf requests.

use switchyard_proto::v1;

use super::{Context, check_write, print_list, print_write, read_pages};
use crate::args::{
    SobCancelArgs, SobCommand, SobGetArgs, SobInboxArgs, SobJudgeArgs, SobRegisterArgs,
};
use crate::error::CliError;
use crate::output::{human, json};

pub(crate) fn register_request(
    args: &SobRegisterArgs,
    request_id: &str,
) -> v1::RegisterStopOnBehalfRequest {
    v1::RegisterStopOnBehalfRequest {
        request_id: request_id.to_owned(),
        supply_point_number: args.supply_point.clone(),
        customer: Some(v1::CustomerIdentity {
            contract_number: args.customer_contract_number.clone(),
            holder_name: args.customer_name.clone(),
            supply_address: args.customer_address.clone(),
        }),
        wished_date: args.wished_date.clone(),
    }
}

pub(crate) fn inbox_request(args: &SobInboxArgs) -> v1::ListStopOnBehalfInboxRequest {
    v1::ListStopOnBehalfInboxRequest {
        page_size: 0,
        page_token: String::new(),
        include_decided: args.include_decided,
        consistency: args.read.consistency() as i32,
    }
}

/// OK with no reasons, or NG with the reasons sorted and without duplicates.
pub(crate) fn judge_request(args: &SobJudgeArgs, request_id: &str) -> v1::JudgeStopOnBehalfRequest {
    let (verdict, ng_reasons) = if args.ok {
        (v1::Verdict::Ok, Vec::new())
    } else {
        let mut reasons: Vec<i32> = args.ng.iter().map(|reason| reason.wire() as i32).collect();
        reasons.sort_unstable();
        reasons.dedup();
        (v1::Verdict::Ng, reasons)
    };
    v1::JudgeStopOnBehalfRequest {
        request_id: request_id.to_owned(),
        stop_on_behalf_number: args.number.clone(),
        verdict: verdict as i32,
        ng_reasons,
    }
}

pub(crate) fn cancel_request(
    args: &SobCancelArgs,
    request_id: &str,
) -> v1::CancelStopOnBehalfRequest {
    v1::CancelStopOnBehalfRequest {
        request_id: request_id.to_owned(),
        stop_on_behalf_number: args.number.clone(),
    }
}

pub(crate) fn get_request(args: &SobGetArgs) -> v1::GetStopOnBehalfRequest {
    v1::GetStopOnBehalfRequest {
        stop_on_behalf_number: args.number.clone(),
        consistency: args.read.consistency() as i32,
    }
}

pub(crate) async fn run(context: &mut Context<'_>, command: SobCommand) -> Result<(), CliError> {
    match command {
        SobCommand::Register(args) => {
            let request = register_request(&args, &context.request_id);
            check_write(&request)?;
            let response = context
                .call(|link| {
                    let request = request.clone();
                    async move { link.participant().register_stop_on_behalf(request).await }
                })
                .await?;
            print_result(
                context,
                response.result.unwrap_or_default(),
                response.revision,
            )
        }
        SobCommand::Judge(args) => {
            let request = judge_request(&args, &context.request_id);
            check_write(&request)?;
            let response = context
                .call(|link| {
                    let request = request.clone();
                    async move { link.participant().judge_stop_on_behalf(request).await }
                })
                .await?;
            print_result(
                context,
                response.result.unwrap_or_default(),
                response.revision,
            )
        }
        SobCommand::Cancel(args) => {
            let request = cancel_request(&args, &context.request_id);
            check_write(&request)?;
            let response = context
                .call(|link| {
                    let request = request.clone();
                    async move { link.participant().cancel_stop_on_behalf(request).await }
                })
                .await?;
            print_result(
                context,
                response.result.unwrap_or_default(),
                response.revision,
            )
        }
        SobCommand::Inbox(args) => {
            let page = read_pages(
                context,
                inbox_request(&args),
                &args.page,
                |link, request| async move {
                    link.participant().list_stop_on_behalf_inbox(request).await
                },
            )
            .await?;
            print_list(
                context,
                &page,
                "requests",
                human::stop_on_behalf_table,
                json::stop_on_behalf,
            )
        }
        SobCommand::Get(args) => {
            let request = get_request(&args);
            let response = context
                .call(|link| {
                    let request = request.clone();
                    async move { link.participant().get_stop_on_behalf(request).await }
                })
                .await?;
            let found = response.request.unwrap_or_default();
            context.printer.result(
                || human::stop_on_behalf(&found, response.served_at_revision),
                || {
                    serde_json::json!({
                        "request": json::stop_on_behalf(&found),
                        "served_at_revision": response.served_at_revision,
                    })
                },
            )?;
            Ok(())
        }
    }
}

fn print_result(
    context: &mut Context<'_>,
    result: v1::StopOnBehalfWriteResult,
    revision: u64,
) -> Result<(), CliError> {
    print_write(
        context,
        |request_id| human::stop_on_behalf_result(&result, revision, request_id),
        || json::stop_on_behalf_result(&result),
        revision,
    )
}

#[cfg(test)]
mod tests {
    use switchyard_domain::{Command, NgReason, Verdict};
    use switchyard_proto::convert::IncomingWrite;

    use super::*;
    use crate::args::{NgReasonArg, ReadArgs};

    const POINT: &str = "0300111122223333444455";

    /// A registration carries the request id, the supply point, the customer identity and the
    /// wished date, and the contract's conversion accepts it.
    #[test]
    fn register() {
        let args = SobRegisterArgs {
            supply_point: POINT.to_owned(),
            customer_contract_number: "C-001".to_owned(),
            customer_name: "佐藤太郎".to_owned(),
            customer_address: "東京都千代田区1-1".to_owned(),
            wished_date: "2026-12-01".to_owned(),
        };
        let request = register_request(&args, "id-1");
        assert_eq!(
            request,
            v1::RegisterStopOnBehalfRequest {
                request_id: "id-1".to_owned(),
                supply_point_number: POINT.to_owned(),
                customer: Some(v1::CustomerIdentity {
                    contract_number: "C-001".to_owned(),
                    holder_name: "佐藤太郎".to_owned(),
                    supply_address: "東京都千代田区1-1".to_owned(),
                }),
                wished_date: "2026-12-01".to_owned(),
            }
        );
        let write = IncomingWrite::try_from(request).unwrap();
        assert_eq!(write.request_id.as_str(), "id-1");
        assert!(matches!(
            write.command,
            Command::RegisterStopOnBehalf { .. }
        ));
    }

    /// --ok sends verdict OK with no reasons; --ng sends NG with the reasons sorted and
    /// deduplicated; both pass the contract's conversion.
    #[test]
    fn judge() {
        let ok = judge_request(
            &SobJudgeArgs {
                number: "SB0000000001".to_owned(),
                ok: true,
                ng: Vec::new(),
            },
            "id-2",
        );
        assert_eq!(ok.verdict, v1::Verdict::Ok as i32);
        assert!(ok.ng_reasons.is_empty());
        let write = IncomingWrite::try_from(ok).unwrap();
        assert!(matches!(
            write.command,
            Command::JudgeStopOnBehalf {
                verdict: Verdict::Ok,
                ..
            }
        ));

        let ng = judge_request(
            &SobJudgeArgs {
                number: "SB0000000001".to_owned(),
                ok: false,
                ng: vec![
                    NgReasonArg::Other,
                    NgReasonArg::NameMismatch,
                    NgReasonArg::Other,
                ],
            },
            "id-3",
        );
        assert_eq!(ng.verdict, v1::Verdict::Ng as i32);
        assert_eq!(
            ng.ng_reasons,
            [
                v1::NgReason::NameMismatch as i32,
                v1::NgReason::Other as i32
            ]
        );
        let write = IncomingWrite::try_from(ng).unwrap();
        let Command::JudgeStopOnBehalf {
            verdict: Verdict::Ng(reasons),
            ..
        } = write.command
        else {
            panic!("{:?}", write.command)
        };
        assert_eq!(reasons.reasons(), [NgReason::NameMismatch, NgReason::Other]);
    }

    /// Cancel, get and inbox requests carry their arguments; reads are LINEARIZABLE unless
    /// --local.
    #[test]
    fn cancel_get_inbox() {
        let cancel = cancel_request(
            &SobCancelArgs {
                number: "SB0000000009".to_owned(),
            },
            "id-4",
        );
        assert_eq!(cancel.stop_on_behalf_number, "SB0000000009");
        IncomingWrite::try_from(cancel).unwrap();

        let get = get_request(&SobGetArgs {
            number: "SB0000000009".to_owned(),
            read: ReadArgs { local: true },
        });
        assert_eq!(get.consistency, v1::ReadConsistency::Local as i32);

        let inbox = inbox_request(&SobInboxArgs {
            include_decided: true,
            page: crate::args::PageArgs {
                page_size: 10,
                page_token: None,
                all_pages: false,
            },
            read: ReadArgs { local: false },
        });
        assert!(inbox.include_decided);
        assert_eq!(inbox.consistency, v1::ReadConsistency::Linearizable as i32);
    }
}
