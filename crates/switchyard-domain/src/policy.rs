//! The replicated business configuration: lead times per TSO, the holiday calendar, deadlines and
//! retention. It lives in the replicated state (changed only by an operator command) so that every
//! replica decides with the same numbers.

use serde::{Deserialize, Serialize};

use crate::ids::{Area, ValueError, out_of_range};
use crate::time::{Calendar, LeadTime};

/// One TSO's lead times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsoLeadTimes {
    /// Switching when the meters can stay.
    pub switching: LeadTime,
    /// Switching when a meter must be replaced (any meter is not smart).
    pub switching_with_meter_works: LeadTime,
    /// Every other procedure (stop, restart, ampere change, customer information change).
    pub other: LeadTime,
}

impl Default for TsoLeadTimes {
    /// The published Chugoku NW low-voltage figures: 1 business day + 2 calendar days, or 8 + 2
    /// with meter works; other procedures use the short lead time.
    fn default() -> TsoLeadTimes {
        let short = LeadTime {
            business_days: 1,
            calendar_days: 2,
        };
        TsoLeadTimes {
            switching: short,
            switching_with_meter_works: LeadTime {
                business_days: 8,
                calendar_days: 2,
            },
            other: short,
        }
    }
}

/// Every number the rules use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub calendar: Calendar,
    /// Lead times of the ten TSOs, in area order (index 0 is area 01).
    pub lead_times: [TsoLeadTimes; 10],
    /// Business days the current retailer has to judge a stop-on-behalf request.
    pub stop_on_behalf_answer_business_days: u8,
    /// How far ahead an effective date may lie, in calendar days.
    pub effective_date_horizon_days: u16,
    /// How long a request id is remembered for retries, in days.
    pub request_id_retention_days: u16,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            calendar: Calendar::default(),
            lead_times: [TsoLeadTimes::default(); 10],
            stop_on_behalf_answer_business_days: 5,
            effective_date_horizon_days: 365,
            request_id_retention_days: 7,
        }
    }
}

impl Policy {
    /// The lead times of `area`'s TSO.
    pub fn lead_times(&self, area: Area) -> &TsoLeadTimes {
        &self.lead_times[usize::from(area.number() - 1)]
    }

    /// Checks the bounds of every number.
    pub fn validate(&self) -> Result<(), ValueError> {
        if self.calendar.holidays.len() > Calendar::HOLIDAYS_MAX {
            return Err(out_of_range(
                "holidays",
                format!(
                    "{} holidays; at most {}",
                    self.calendar.holidays.len(),
                    Calendar::HOLIDAYS_MAX
                ),
            ));
        }
        for (index, lead_times) in self.lead_times.iter().enumerate() {
            for lead in [
                lead_times.switching,
                lead_times.switching_with_meter_works,
                lead_times.other,
            ] {
                if lead.business_days > LeadTime::COMPONENT_MAX
                    || lead.calendar_days > LeadTime::COMPONENT_MAX
                {
                    return Err(out_of_range(
                        "lead time",
                        format!(
                            "area {:02}: each part must be at most {} days",
                            index + 1,
                            LeadTime::COMPONENT_MAX
                        ),
                    ));
                }
            }
        }
        if !(1..=30).contains(&self.stop_on_behalf_answer_business_days) {
            return Err(out_of_range(
                "stop-on-behalf answer days",
                "must be in 1..=30",
            ));
        }
        if !(30..=730).contains(&self.effective_date_horizon_days) {
            return Err(out_of_range(
                "effective date horizon",
                "must be in 30..=730 days",
            ));
        }
        if !(1..=90).contains(&self.request_id_retention_days) {
            return Err(out_of_range(
                "request id retention",
                "must be in 1..=90 days",
            ));
        }
        Ok(())
    }
}
