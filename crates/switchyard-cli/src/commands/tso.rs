//! `tso needing-action | complete | reject`: the TSO's work.

use switchyard_proto::v1;

use super::applications::print_result;
use super::{Context, check_write, print_list, read_pages};
use crate::args::{TsoCommand, TsoCompleteArgs, TsoNeedingActionArgs, TsoRejectArgs};
use crate::error::CliError;
use crate::output::{human, json};

pub(crate) fn needing_action_request(
    args: &TsoNeedingActionArgs,
) -> v1::ListApplicationsNeedingActionRequest {
    v1::ListApplicationsNeedingActionRequest {
        page_size: 0,
        page_token: String::new(),
        effective_until_date: args.until.clone().unwrap_or_default(),
        consistency: args.read.consistency() as i32,
    }
}

pub(crate) fn complete_request(
    args: &TsoCompleteArgs,
    request_id: &str,
) -> v1::CompleteApplicationRequest {
    v1::CompleteApplicationRequest {
        request_id: request_id.to_owned(),
        application_number: args.number.clone(),
        actual_date: args.actual_date.clone(),
    }
}

pub(crate) fn reject_request(
    args: &TsoRejectArgs,
    request_id: &str,
) -> v1::RejectApplicationRequest {
    v1::RejectApplicationRequest {
        request_id: request_id.to_owned(),
        application_number: args.number.clone(),
        reason: args.reason.clone(),
    }
}

pub(crate) async fn run(context: &mut Context<'_>, command: TsoCommand) -> Result<(), CliError> {
    match command {
        TsoCommand::NeedingAction(args) => {
            let page = read_pages(
                context,
                needing_action_request(&args),
                &args.page,
                |link, request| async move {
                    link.tso().list_applications_needing_action(request).await
                },
            )
            .await?;
            print_list(
                context,
                &page,
                "applications",
                human::application_table,
                json::application,
            )
        }
        TsoCommand::Complete(args) => {
            let request = complete_request(&args, &context.request_id);
            check_write(&request)?;
            let response = context
                .call(|link| {
                    let request = request.clone();
                    async move { link.tso().complete_application(request).await }
                })
                .await?;
            print_result(
                context,
                response.result.unwrap_or_default(),
                response.revision,
            )
        }
        TsoCommand::Reject(args) => {
            let request = reject_request(&args, &context.request_id);
            check_write(&request)?;
            let response = context
                .call(|link| {
                    let request = request.clone();
                    async move { link.tso().reject_application(request).await }
                })
                .await?;
            print_result(
                context,
                response.result.unwrap_or_default(),
                response.revision,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use switchyard_domain::Command;
    use switchyard_proto::convert::IncomingWrite;

    use super::*;
    use crate::args::{PageArgs, ReadArgs};

    /// Complete and reject requests carry their arguments and pass the contract's conversion.
    #[test]
    fn complete_and_reject() {
        let complete = complete_request(
            &TsoCompleteArgs {
                number: "AP0000000001".to_owned(),
                actual_date: "2026-12-02".to_owned(),
            },
            "id-1",
        );
        assert_eq!(
            complete,
            v1::CompleteApplicationRequest {
                request_id: "id-1".to_owned(),
                application_number: "AP0000000001".to_owned(),
                actual_date: "2026-12-02".to_owned(),
            }
        );
        let write = IncomingWrite::try_from(complete).unwrap();
        assert!(matches!(write.command, Command::CompleteApplication { .. }));

        let reject = reject_request(
            &TsoRejectArgs {
                number: "AP0000000001".to_owned(),
                reason: "meter works not possible".to_owned(),
            },
            "id-2",
        );
        assert_eq!(reject.reason, "meter works not possible");
        let write = IncomingWrite::try_from(reject).unwrap();
        assert!(matches!(write.command, Command::RejectApplication { .. }));
    }

    /// The needing-action list takes an optional upper bound on the effective date.
    #[test]
    fn needing_action() {
        let mut args = TsoNeedingActionArgs {
            until: Some("2026-12-31".to_owned()),
            page: PageArgs {
                page_size: 0,
                page_token: None,
                all_pages: true,
            },
            read: ReadArgs { local: false },
        };
        let request = needing_action_request(&args);
        assert_eq!(request.effective_until_date, "2026-12-31");
        assert_eq!(
            request.consistency,
            v1::ReadConsistency::Linearizable as i32
        );
        args.until = None;
        assert!(
            needing_action_request(&args)
                .effective_until_date
                .is_empty()
        );
    }
}
