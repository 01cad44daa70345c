//! Dates, log timestamps and business-day arithmetic.
//!
//! The domain never reads a clock. Time comes in as the [`Timestamp`] stamped on each log entry by
//! the leader; the business date is that instant's calendar date in Japan (JST, UTC+9, no daylight
//! saving).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{ValueError, malformed, out_of_range};

/// Milliseconds since 1970-01-01T00:00:00Z, as stamped on a log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

const MILLISECONDS_PER_DAY: i64 = 86_400_000;
const JST_OFFSET_MILLISECONDS: i64 = 9 * 3_600_000;

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub fn milliseconds(self) -> i64 {
        self.0
    }

    /// The calendar date in Japan at this instant.
    pub fn jst_date(self) -> Date {
        let days = (self.0 + JST_OFFSET_MILLISECONDS).div_euclid(MILLISECONDS_PER_DAY);
        Date::from_days_since_epoch(i32::try_from(days).unwrap_or(i32::MAX)).unwrap_or(Date::MAX)
    }

    /// The instant at which `date` begins in Japan.
    pub fn start_of_jst_date(date: Date) -> Timestamp {
        Timestamp(i64::from(date.0) * MILLISECONDS_PER_DAY - JST_OFFSET_MILLISECONDS)
    }
}

/// Day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// A calendar date (proleptic Gregorian), years 2000..=2199.
///
/// Stored as days since 1970-01-01 so that arithmetic is plain integer arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// Earliest representable date.
    pub const MIN: Date = Date(10_957); // 2000-01-01
    /// Latest representable date.
    pub const MAX: Date = Date(84_005); // 2199-12-31

    /// The date `year-month-day`, if it exists and lies in 2000..=2199.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Result<Date, ValueError> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(out_of_range(
                "date",
                format!("{year:04}-{month:02}-{day:02} does not exist"),
            ));
        }
        Date::from_days_since_epoch(days_from_civil(year, month, day))
    }

    fn from_days_since_epoch(days: i32) -> Result<Date, ValueError> {
        if !(Date::MIN.0..=Date::MAX.0).contains(&days) {
            return Err(out_of_range("date", "must lie in 2000-01-01..=2199-12-31"));
        }
        Ok(Date(days))
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Date, ValueError> {
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(index, byte)| index == 4 || index == 7 || byte.is_ascii_digit());
        if !shape_ok {
            return Err(malformed("date", "YYYY-MM-DD", text));
        }
        let year = text[0..4].parse().expect("digits");
        let month = text[5..7].parse().expect("digits");
        let day = text[8..10].parse().expect("digits");
        Date::from_ymd(year, month, day)
    }

    /// Year, month (1..=12) and day (1..=31).
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// Day of the week.
    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday.
        const WEEK: [Weekday; 7] = [
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
        ];
        WEEK[self.0.rem_euclid(7) as usize]
    }

    /// The date `days` later (earlier when negative), saturating at the representable range.
    pub fn add_days(self, days: i32) -> Date {
        Date(self.0.saturating_add(days).clamp(Date::MIN.0, Date::MAX.0))
    }

    /// Days from `earlier` to `self` (negative if `self` is earlier).
    pub fn days_since(self, earlier: Date) -> i32 {
        self.0 - earlier.0
    }

    /// The first date on or after `self` whose day of month is `day` (1..=28).
    pub fn next_day_of_month(self, day: u8) -> Date {
        let (year, month, today) = self.ymd();
        let day = u32::from(day.clamp(1, 28));
        let (year, month) = if today <= day {
            (year, month)
        } else if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        Date::from_ymd(year, month, day).unwrap_or(Date::MAX)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.ymd();
        // 2000..=2199 by construction, so every part is a fixed number of digits.
        crate::ids::write_padded(formatter, "", u64::from(year.unsigned_abs()), 4)?;
        crate::ids::write_padded(formatter, "-", u64::from(month), 2)?;
        crate::ids::write_padded(formatter, "-", u64::from(day), 2)
    }
}

impl FromStr for Date {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Date, ValueError> {
        Date::parse(text)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::ids::serialize_display(self, serializer)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Date::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

// Days-from-civil and its inverse, after Howard Hinnant's public-domain date algorithms: eras of
// 400 years, with March as the first month so that the leap day falls last.
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = month as i32;
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day as i32 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i32::from(month <= 2);
    (year, month, day)
}

/// Which days TSOs work: Monday to Friday, less a configurable list of holidays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    /// Public holidays and other non-business days.
    pub holidays: BTreeSet<Date>,
}

impl Calendar {
    /// Most holidays a calendar may list (about 20 a year for ten years, with room to spare).
    pub const HOLIDAYS_MAX: usize = 400;

    /// Whether TSOs work on `date`.
    pub fn is_business_day(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !self.holidays.contains(&date)
    }

    /// Steps back from `date` over `count` business days: the `count`-th business day before it.
    pub fn business_days_before(&self, date: Date, count: u8) -> Date {
        let mut cursor = date;
        for _ in 0..count {
            cursor = cursor.add_days(-1);
            // Bounded: a calendar holds at most HOLIDAYS_MAX holidays, so a business day is
            // always found within HOLIDAYS_MAX + a few weekends of steps.
            while !self.is_business_day(cursor) && cursor > Date::MIN {
                cursor = cursor.add_days(-1);
            }
        }
        cursor
    }

    /// Steps forward from `date` over `count` business days: the `count`-th business day after it.
    pub fn business_days_after(&self, date: Date, count: u8) -> Date {
        let mut cursor = date;
        for _ in 0..count {
            cursor = cursor.add_days(1);
            while !self.is_business_day(cursor) && cursor < Date::MAX {
                cursor = cursor.add_days(1);
            }
        }
        cursor
    }
}

/// A lead time: business days plus calendar days between locking an application (matching, or
/// acceptance for other procedures) and its effective date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadTime {
    pub business_days: u8,
    pub calendar_days: u8,
}

impl LeadTime {
    /// Longest lead time a TSO may configure, in each component.
    pub const COMPONENT_MAX: u8 = 30;

    /// The last date on which an application for `effective_date` may still be locked in: step
    /// back the calendar days, then the business days.
    pub fn deadline(self, calendar: &Calendar, effective_date: Date) -> Date {
        let after_calendar_days = effective_date.add_days(-i32::from(self.calendar_days));
        calendar.business_days_before(after_calendar_days, self.business_days)
    }

    /// The earliest effective date whose deadline is not before `today`.
    pub fn earliest_effective_date(self, calendar: &Calendar, today: Date) -> Date {
        // The deadline is monotone in the effective date, and the answer lies within the lead
        // time plus the longest possible run of non-business days; a bounded forward scan finds it.
        let mut candidate = today;
        let scan_days_max = 366 + Calendar::HOLIDAYS_MAX as i32;
        for _ in 0..scan_days_max {
            if self.deadline(calendar, candidate) >= today {
                return candidate;
            }
            candidate = candidate.add_days(1);
        }
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    /// Civil-date conversion round-trips every day of the range and knows leap years.
    #[test]
    fn civil_round_trip() {
        for days in Date::MIN.0..=Date::MAX.0 {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
        }
        assert!(Date::from_ymd(2024, 2, 29).is_ok());
        assert!(Date::from_ymd(2100, 2, 29).is_err());
        assert!(Date::from_ymd(2000, 2, 29).is_ok());
        assert!(Date::parse("2026-13-01").is_err());
        assert!(Date::parse("2026-1-01").is_err());
        assert!(Date::parse("1999-12-31").is_err());
        assert_eq!(Date::parse("2199-12-31").unwrap(), Date::MAX);
        assert_eq!(Date::parse("2000-01-01").unwrap(), Date::MIN);
        assert!(Date::parse("2200-01-01").is_err());
        assert_eq!(date("2026-11-26").to_string(), "2026-11-26");
    }

    /// Weekdays are right for known dates.
    #[test]
    fn weekdays() {
        assert_eq!(date("2026-11-26").weekday(), Weekday::Thursday);
        assert_eq!(date("2022-08-11").weekday(), Weekday::Thursday);
        assert_eq!(date("2000-01-01").weekday(), Weekday::Saturday);
    }

    /// JST dates roll over at 15:00 UTC.
    #[test]
    fn jst_date_boundary() {
        let start = Timestamp::start_of_jst_date(date("2026-11-26"));
        assert_eq!(start.jst_date(), date("2026-11-26"));
        assert_eq!(Timestamp(start.0 - 1).jst_date(), date("2026-11-25"));
        // 2026-11-25T15:00:00Z is midnight in Japan.
        assert_eq!(start.0, 1_795_618_800_000);
    }

    /// The published Chugoku lead time (1 business day + 2 calendar days) skips weekends and
    /// holidays when stepping back from the effective date.
    #[test]
    fn lead_time_deadline() {
        let mut calendar = Calendar::default();
        let lead = LeadTime {
            business_days: 1,
            calendar_days: 2,
        };
        // Effective Monday 2026-11-30: minus 2 days is Saturday; one business day before is Fri.
        assert_eq!(
            lead.deadline(&calendar, date("2026-11-30")),
            date("2026-11-27")
        );
        // Effective Friday 2026-12-04: minus 2 days is Wednesday; one business day before is Tue.
        assert_eq!(
            lead.deadline(&calendar, date("2026-12-04")),
            date("2026-12-01")
        );
        calendar.holidays.insert(date("2026-12-01"));
        assert_eq!(
            lead.deadline(&calendar, date("2026-12-04")),
            date("2026-11-30")
        );
        // On Thursday 2026-11-26 the earliest effective date has a deadline not before today.
        let earliest = lead.earliest_effective_date(&calendar, date("2026-11-26"));
        assert_eq!(earliest, date("2026-11-29"));
        assert!(lead.deadline(&calendar, earliest) >= date("2026-11-26"));
        assert!(lead.deadline(&calendar, earliest.add_days(-1)) < date("2026-11-26"));
    }

    /// The next reading day is this month's when not yet passed, else next month's.
    #[test]
    fn next_reading_day() {
        assert_eq!(date("2026-11-26").next_day_of_month(28), date("2026-11-28"));
        assert_eq!(date("2026-11-26").next_day_of_month(26), date("2026-11-26"));
        assert_eq!(date("2026-12-26").next_day_of_month(3), date("2027-01-03"));
    }
}
