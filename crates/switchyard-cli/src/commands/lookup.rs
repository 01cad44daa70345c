//! `lookup`: the facility look-up.

use switchyard_proto::v1;

use super::Context;
use crate::args::LookupArgs;
use crate::error::CliError;
use crate::output::{human, json};

/// The look-up request: LOCAL unless `--linearizable`.
pub(crate) fn request(args: &LookupArgs) -> v1::LookUpSupplyPointRequest {
    let consistency = if args.linearizable {
        v1::ReadConsistency::Linearizable
    } else {
        v1::ReadConsistency::Local
    };
    v1::LookUpSupplyPointRequest {
        supply_point_number: args.supply_point.clone(),
        consistency: consistency as i32,
    }
}

pub(crate) async fn run(context: &mut Context<'_>, args: LookupArgs) -> Result<(), CliError> {
    let request = request(&args);
    let response = context
        .call(|link| {
            let request = request.clone();
            async move { link.participant().look_up_supply_point(request).await }
        })
        .await?;
    context
        .printer
        .result(|| human::look_up(&response), || json::look_up(&response))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A look-up is LOCAL by default and LINEARIZABLE with --linearizable.
    #[test]
    fn consistency() {
        let mut args = LookupArgs {
            supply_point: "0300111122223333444455".to_owned(),
            linearizable: false,
        };
        assert_eq!(
            request(&args),
            v1::LookUpSupplyPointRequest {
                supply_point_number: "0300111122223333444455".to_owned(),
                consistency: v1::ReadConsistency::Local as i32,
            }
        );
        args.linearizable = true;
        assert_eq!(
            request(&args).consistency,
            v1::ReadConsistency::Linearizable as i32
        );
    }
}
