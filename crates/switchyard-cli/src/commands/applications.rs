//! `app submit | amend | cancel | get | list`: applications.

use switchyard_proto::v1;
use switchyard_proto::v1::procedure_request::Procedure;

use super::{Context, check_write, print_list, print_write, read_pages};
use crate::args::{
    AppAmendArgs, AppCancelArgs, AppCommand, AppGetArgs, AppListArgs, AppSubmitArgs, ProcedureArg,
    ProcedureArgs,
};
use crate::error::CliError;
use crate::output::{human, json};

/// The procedure-specific options, by flag name, for messages.
const PROCEDURE_OPTIONS: [&str; 4] = [
    "--stop-on-behalf",
    "--amperes",
    "--customer-name",
    "--customer-address",
];

/// The options each procedure takes.
fn options_of(procedure: ProcedureArg) -> &'static [&'static str] {
    match procedure {
        ProcedureArg::StopSupply
        | ProcedureArg::StopSupplyWithRemoval
        | ProcedureArg::SwitchOut => &[],
        ProcedureArg::SwitchIn => &["--stop-on-behalf"],
        ProcedureArg::AmpereChange => &["--amperes"],
        ProcedureArg::Restart | ProcedureArg::CustomerInformationChange => {
            &["--customer-name", "--customer-address"]
        }
    }
}

/// The procedure request of `--procedure` and its options. Every option the procedure needs
/// must be given, and none it does not take, so that nothing given is silently ignored.
pub(crate) fn procedure_request(args: &ProcedureArgs) -> Result<v1::ProcedureRequest, CliError> {
    let procedure_name = crate::output::words::procedure(args.procedure.wire() as i32);
    let given = [
        args.stop_on_behalf.is_some(),
        args.amperes.is_some(),
        args.customer_name.is_some(),
        args.customer_address.is_some(),
    ];
    let allowed = options_of(args.procedure);
    for (option, given) in PROCEDURE_OPTIONS.iter().zip(given) {
        if given && !allowed.contains(option) {
            return Err(CliError::Usage(format!(
                "{option} does not apply to --procedure {procedure_name}"
            )));
        }
    }
    let required = |value: &Option<String>, option: &str| {
        value
            .clone()
            .ok_or_else(|| CliError::Usage(format!("--procedure {procedure_name} needs {option}")))
    };
    let customer = || -> Result<v1::CustomerDetails, CliError> {
        Ok(v1::CustomerDetails {
            holder_name: required(&args.customer_name, "--customer-name")?,
            supply_address: required(&args.customer_address, "--customer-address")?,
        })
    };
    let procedure = match args.procedure {
        ProcedureArg::StopSupply => Procedure::StopSupply(v1::StopSupplyProcedure {
            meter_removal: false,
        }),
        ProcedureArg::StopSupplyWithRemoval => Procedure::StopSupply(v1::StopSupplyProcedure {
            meter_removal: true,
        }),
        ProcedureArg::SwitchOut => Procedure::SwitchOut(v1::SwitchOutProcedure {}),
        ProcedureArg::Restart => Procedure::Restart(v1::RestartProcedure {
            customer: Some(customer()?),
        }),
        ProcedureArg::SwitchIn => Procedure::SwitchIn(v1::SwitchInProcedure {
            stop_on_behalf_number: required(&args.stop_on_behalf, "--stop-on-behalf")?,
        }),
        ProcedureArg::AmpereChange => {
            let amperes = args.amperes.ok_or_else(|| {
                CliError::Usage(format!("--procedure {procedure_name} needs --amperes"))
            })?;
            Procedure::AmpereChange(v1::AmpereChangeProcedure {
                capacity: Some(v1::Capacity {
                    value: amperes,
                    unit: v1::CapacityUnit::Ampere as i32,
                }),
            })
        }
        ProcedureArg::CustomerInformationChange => {
            Procedure::CustomerInformationChange(v1::CustomerInformationChangeProcedure {
                customer: Some(customer()?),
            })
        }
    };
    Ok(v1::ProcedureRequest {
        procedure: Some(procedure),
    })
}

pub(crate) fn submit_request(
    args: &AppSubmitArgs,
    request_id: &str,
) -> Result<v1::SubmitApplicationRequest, CliError> {
    Ok(v1::SubmitApplicationRequest {
        request_id: request_id.to_owned(),
        supply_point_number: args.supply_point.clone(),
        effective_date: args.effective_date.clone(),
        request: Some(procedure_request(&args.procedure)?),
    })
}

pub(crate) fn amend_request(
    args: &AppAmendArgs,
    request_id: &str,
) -> Result<v1::AmendApplicationRequest, CliError> {
    Ok(v1::AmendApplicationRequest {
        request_id: request_id.to_owned(),
        application_number: args.number.clone(),
        application_revision: args.revision,
        effective_date: args.effective_date.clone(),
        request: Some(procedure_request(&args.procedure)?),
    })
}

pub(crate) fn cancel_request(
    args: &AppCancelArgs,
    request_id: &str,
) -> v1::CancelApplicationRequest {
    v1::CancelApplicationRequest {
        request_id: request_id.to_owned(),
        application_number: args.number.clone(),
        application_revision: args.revision,
    }
}

pub(crate) fn get_request(args: &AppGetArgs) -> v1::GetApplicationRequest {
    v1::GetApplicationRequest {
        application_number: args.number.clone(),
        consistency: args.read.consistency() as i32,
    }
}

/// The list request with its filters; `--until` before `--from` is refused here.
pub(crate) fn list_request(args: &AppListArgs) -> Result<v1::ListApplicationsRequest, CliError> {
    if let (Some(from), Some(until)) = (&args.from, &args.until) {
        // Both are canonical YYYY-MM-DD, so text order is date order.
        if until < from {
            return Err(CliError::Usage(format!(
                "--until {until} is before --from {from}"
            )));
        }
    }
    Ok(v1::ListApplicationsRequest {
        page_size: 0,
        page_token: String::new(),
        supply_point_number: args.supply_point.clone().unwrap_or_default(),
        procedure: args
            .procedure
            .map_or(v1::Procedure::Unspecified, ProcedureArg::wire) as i32,
        state: args
            .state
            .map_or(v1::ApplicationState::Unspecified, |state| state.wire()) as i32,
        effective_from_date: args.from.clone().unwrap_or_default(),
        effective_until_date: args.until.clone().unwrap_or_default(),
        consistency: args.read.consistency() as i32,
    })
}

pub(crate) async fn run(context: &mut Context<'_>, command: AppCommand) -> Result<(), CliError> {
    match command {
        AppCommand::Submit(args) => {
            let request = submit_request(&args, &context.request_id)?;
            check_write(&request)?;
            let response = context
                .call(|link| {
                    let request = request.clone();
                    async move { link.participant().submit_application(request).await }
                })
                .await?;
            print_result(
                context,
                response.result.unwrap_or_default(),
                response.revision,
            )
        }
        AppCommand::Amend(args) => {
            let request = amend_request(&args, &context.request_id)?;
            check_write(&request)?;
            let response = context
                .call(|link| {
                    let request = request.clone();
                    async move { link.participant().amend_application(request).await }
                })
                .await?;
            print_result(
                context,
                response.result.unwrap_or_default(),
                response.revision,
            )
        }
        AppCommand::Cancel(args) => {
            let request = cancel_request(&args, &context.request_id);
            check_write(&request)?;
            let response = context
                .call(|link| {
                    let request = request.clone();
                    async move { link.participant().cancel_application(request).await }
                })
                .await?;
            print_result(
                context,
                response.result.unwrap_or_default(),
                response.revision,
            )
        }
        AppCommand::Get(args) => {
            let request = get_request(&args);
            let response = context
                .call(|link| {
                    let request = request.clone();
                    async move { link.participant().get_application(request).await }
                })
                .await?;
            let application = response.application.unwrap_or_default();
            context.printer.result(
                || human::application(&application, response.served_at_revision),
                || {
                    serde_json::json!({
                        "application": json::application(&application),
                        "served_at_revision": response.served_at_revision,
                    })
                },
            )?;
            Ok(())
        }
        AppCommand::List(args) => {
            let request = list_request(&args)?;
            let page = read_pages(context, request, &args.page, |link, request| async move {
                link.participant().list_applications(request).await
            })
            .await?;
            print_list(
                context,
                &page,
                "applications",
                human::application_table,
                json::application,
            )
        }
    }
}

/// Prints the answer of an application write (also used by the TSO commands).
pub(crate) fn print_result(
    context: &mut Context<'_>,
    result: v1::ApplicationWriteResult,
    revision: u64,
) -> Result<(), CliError> {
    print_write(
        context,
        |request_id| human::application_result(&result, revision, request_id),
        || json::application_result(&result),
        revision,
    )
}

#[cfg(test)]
mod tests {
    use switchyard_domain::{Capacity, CapacityUnit, Command, ProcedureRequest};
    use switchyard_proto::convert::IncomingWrite;

    use super::*;
    use crate::args::{ApplicationStateArg, PageArgs, ReadArgs};

    const POINT: &str = "0300111122223333444455";

    fn procedure(procedure: ProcedureArg) -> ProcedureArgs {
        ProcedureArgs {
            procedure,
            stop_on_behalf: None,
            amperes: None,
            customer_name: None,
            customer_address: None,
        }
    }

    fn with_customer(procedure_arg: ProcedureArg) -> ProcedureArgs {
        ProcedureArgs {
            customer_name: Some("Suzuki Hanako".to_owned()),
            customer_address: Some("2-2 Kita-ku, Osaka".to_owned()),
            ..procedure(procedure_arg)
        }
    }

    fn submitted(
        procedure_args: ProcedureArgs,
    ) -> (v1::SubmitApplicationRequest, ProcedureRequest) {
        let args = AppSubmitArgs {
            supply_point: POINT.to_owned(),
            effective_date: "2026-12-01".to_owned(),
            procedure: procedure_args,
        };
        let request = submit_request(&args, "id-1").unwrap();
        let write = IncomingWrite::try_from(request.clone()).unwrap();
        let Command::SubmitApplication {
            request: domain, ..
        } = write.command
        else {
            panic!("{:?}", write.command)
        };
        (request, domain)
    }

    /// Every procedure becomes the right oneof with its data, which the contract's conversion
    /// turns into the right domain request.
    #[test]
    fn every_procedure_builds_its_request() {
        let (wire, domain) = submitted(procedure(ProcedureArg::StopSupply));
        assert_eq!(
            wire.request.unwrap().procedure,
            Some(Procedure::StopSupply(v1::StopSupplyProcedure {
                meter_removal: false
            }))
        );
        assert_eq!(
            domain,
            ProcedureRequest::StopSupply {
                meter_removal: false
            }
        );

        let (_, domain) = submitted(procedure(ProcedureArg::StopSupplyWithRemoval));
        assert_eq!(
            domain,
            ProcedureRequest::StopSupply {
                meter_removal: true
            }
        );

        let (wire, domain) = submitted(procedure(ProcedureArg::SwitchOut));
        assert_eq!(
            wire.request.unwrap().procedure,
            Some(Procedure::SwitchOut(v1::SwitchOutProcedure {}))
        );
        assert_eq!(domain, ProcedureRequest::SwitchOut);

        let (wire, domain) = submitted(with_customer(ProcedureArg::Restart));
        assert_eq!(
            wire.request.unwrap().procedure,
            Some(Procedure::Restart(v1::RestartProcedure {
                customer: Some(v1::CustomerDetails {
                    holder_name: "Suzuki Hanako".to_owned(),
                    supply_address: "2-2 Kita-ku, Osaka".to_owned(),
                })
            }))
        );
        let ProcedureRequest::Restart { customer } = domain else {
            panic!("{domain:?}")
        };
        assert_eq!(customer.holder_name.as_str(), "Suzuki Hanako");

        let (wire, domain) = submitted(ProcedureArgs {
            stop_on_behalf: Some("SB0000000007".to_owned()),
            ..procedure(ProcedureArg::SwitchIn)
        });
        assert_eq!(
            wire.request.unwrap().procedure,
            Some(Procedure::SwitchIn(v1::SwitchInProcedure {
                stop_on_behalf_number: "SB0000000007".to_owned()
            }))
        );
        let ProcedureRequest::SwitchIn { stop_on_behalf } = domain else {
            panic!("{domain:?}")
        };
        assert_eq!(stop_on_behalf.to_string(), "SB0000000007");

        let (wire, domain) = submitted(ProcedureArgs {
            amperes: Some(40),
            ..procedure(ProcedureArg::AmpereChange)
        });
        assert_eq!(
            wire.request.unwrap().procedure,
            Some(Procedure::AmpereChange(v1::AmpereChangeProcedure {
                capacity: Some(v1::Capacity {
                    value: 40,
                    unit: v1::CapacityUnit::Ampere as i32
                })
            }))
        );
        assert_eq!(
            domain,
            ProcedureRequest::AmpereChange {
                capacity: Capacity::new(40, CapacityUnit::Ampere).unwrap()
            }
        );

        let (wire, domain) = submitted(with_customer(ProcedureArg::CustomerInformationChange));
        assert!(matches!(
            wire.request.unwrap().procedure,
            Some(Procedure::CustomerInformationChange(_))
        ));
        assert!(matches!(
            domain,
            ProcedureRequest::CustomerInfoChange { .. }
        ));
        assert_eq!(wire.request_id, "id-1");
        assert_eq!(wire.supply_point_number, POINT);
        assert_eq!(wire.effective_date, "2026-12-01");
    }

    /// A procedure's missing data and options it does not take are usage errors naming the
    /// option.
    #[test]
    fn procedure_options_must_fit() {
        let message = |args: ProcedureArgs| match procedure_request(&args) {
            Err(CliError::Usage(message)) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            message(procedure(ProcedureArg::SwitchIn)),
            "--procedure switch-in needs --stop-on-behalf"
        );
        assert_eq!(
            message(procedure(ProcedureArg::AmpereChange)),
            "--procedure ampere-change needs --amperes"
        );
        assert_eq!(
            message(ProcedureArgs {
                customer_name: Some("Sato".to_owned()),
                ..procedure(ProcedureArg::Restart)
            }),
            "--procedure restart needs --customer-address"
        );
        assert_eq!(
            message(ProcedureArgs {
                amperes: Some(30),
                ..procedure(ProcedureArg::SwitchOut)
            }),
            "--amperes does not apply to --procedure switch-out"
        );
        assert_eq!(
            message(ProcedureArgs {
                stop_on_behalf: Some("SB0000000001".to_owned()),
                ..with_customer(ProcedureArg::CustomerInformationChange)
            }),
            "--stop-on-behalf does not apply to --procedure customer-information-change"
        );
    }

    /// Amend and cancel quote the application revision; both pass the contract's conversion.
    #[test]
    fn amend_and_cancel() {
        let amend = amend_request(
            &AppAmendArgs {
                number: "AP0000000042".to_owned(),
                revision: 3,
                effective_date: "2026-12-05".to_owned(),
                procedure: ProcedureArgs {
                    stop_on_behalf: Some("SB0000000007".to_owned()),
                    ..procedure(ProcedureArg::SwitchIn)
                },
            },
            "id-2",
        )
        .unwrap();
        assert_eq!(amend.application_number, "AP0000000042");
        assert_eq!(amend.application_revision, 3);
        let write = IncomingWrite::try_from(amend).unwrap();
        assert!(matches!(
            write.command,
            Command::AmendApplication { revision: 3, .. }
        ));

        let cancel = cancel_request(
            &AppCancelArgs {
                number: "AP0000000042".to_owned(),
                revision: 4,
            },
            "id-3",
        );
        let write = IncomingWrite::try_from(cancel).unwrap();
        assert!(matches!(
            write.command,
            Command::CancelApplication { revision: 4, .. }
        ));
    }

    /// The list filters map to the request; absent filters are empty or unspecified; --until
    /// before --from is refused.
    #[test]
    fn list_filters() {
        let mut args = AppListArgs {
            supply_point: Some(POINT.to_owned()),
            procedure: Some(ProcedureArg::SwitchOut),
            state: Some(ApplicationStateArg::Matched),
            from: Some("2026-12-01".to_owned()),
            until: Some("2026-12-31".to_owned()),
            page: PageArgs {
                page_size: 0,
                page_token: None,
                all_pages: false,
            },
            read: ReadArgs { local: false },
        };
        let request = list_request(&args).unwrap();
        assert_eq!(
            request,
            v1::ListApplicationsRequest {
                page_size: 0,
                page_token: String::new(),
                supply_point_number: POINT.to_owned(),
                procedure: v1::Procedure::SwitchOut as i32,
                state: v1::ApplicationState::Matched as i32,
                effective_from_date: "2026-12-01".to_owned(),
                effective_until_date: "2026-12-31".to_owned(),
                consistency: v1::ReadConsistency::Linearizable as i32,
            }
        );

        args.until = Some("2026-11-30".to_owned());
        assert!(matches!(list_request(&args), Err(CliError::Usage(_))));

        let unfiltered = list_request(&AppListArgs {
            supply_point: None,
            procedure: None,
            state: None,
            from: None,
            until: None,
            read: ReadArgs { local: true },
            ..args
        })
        .unwrap();
        assert_eq!(unfiltered.procedure, 0);
        assert_eq!(unfiltered.state, 0);
        assert!(unfiltered.supply_point_number.is_empty());
        assert_eq!(unfiltered.consistency, v1::ReadConsistency::Local as i32);
    }

    /// A get request carries the number and the consistency.
    #[test]
    fn get() {
        let request = get_request(&AppGetArgs {
            number: "AP0000000001".to_owned(),
            read: ReadArgs { local: false },
        });
        assert_eq!(request.application_number, "AP0000000001");
        assert_eq!(
            request.consistency,
            v1::ReadConsistency::Linearizable as i32
        );
    }
}
