//! EventBridge cron expressions (`minutes hours day-of-month month day-of-week year`, UTC):
//! numbers, names, `*`, `?`, ranges, lists and `/` steps. `L`, `W` and `#` are refused.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use std::collections::BTreeSet;

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
/// Upper bound on the search for the next firing (a few years of day steps).
const MAX_STEPS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    /// `?`: this day field defers to the other one.
    unspecified: bool,
    allowed: BTreeSet<u32>,
}

impl Field {
    fn matches(&self, value: u32) -> bool {
        self.allowed.contains(&value)
    }
}

fn value(text: &str, min: u32, names: &[&str]) -> Result<u32, String> {
    let upper = text.to_ascii_uppercase();
    match names.iter().position(|n| *n == upper) {
        Some(i) => Ok(min + u32::try_from(i).unwrap_or_default()),
        None => text.parse().map_err(|_| format!("{text:?} is not a value (L, W and # are not supported locally)")),
    }
}

fn field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<Field, String> {
    if text == "?" {
        return Ok(Field { unspecified: true, allowed: (min..=max).collect() });
    }
    let mut allowed = BTreeSet::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, step.parse::<u32>().ok().filter(|s| *s > 0)),
            None => (part, Some(1)),
        };
        let step = step.ok_or_else(|| format!("{part:?}: bad step"))?;
        let (first, last) = match range {
            "*" => (min, max),
            _ => match range.split_once('-') {
                Some((a, b)) => (value(a, min, names)?, value(b, min, names)?),
                None if part.contains('/') => (value(range, min, names)?, max),
                None => {
                    let v = value(range, min, names)?;
                    (v, v)
                }
            },
        };
        if first < min || last > max || first > last {
            return Err(format!("{part:?} is outside {min}-{max}"));
        }
        allowed.extend((first..=last).step_by(step as usize));
    }
    Ok(Field { unspecified: false, allowed })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    minutes: Field,
    hours: Field,
    days_of_month: Field,
    months: Field,
    days_of_week: Field,
    years: Field,
}

fn midnight(date: NaiveDate) -> Option<DateTime<Utc>> {
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

impl CronSchedule {
    /// The six fields inside `cron(...)`.
    pub fn parse(text: &str) -> Result<CronSchedule, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = parts.as_slice() else {
            return Err(format!("cron({text}): expected six fields"));
        };
        let cron = CronSchedule {
            minutes: field(minutes, 0, 59, &[])?,
            hours: field(hours, 0, 23, &[])?,
            days_of_month: field(dom, 1, 31, &[])?,
            months: field(month, 1, 12, &MONTHS)?,
            days_of_week: field(dow, 1, 7, &WEEKDAYS)?,
            years: field(year, 1970, 2199, &[])?,
        };
        if cron.days_of_month.unspecified == cron.days_of_week.unspecified {
            return Err(format!("cron({text}): exactly one of day-of-month and day-of-week must be ?"));
        }
        Ok(cron)
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        if self.days_of_month.unspecified {
            self.days_of_week.matches(date.weekday().number_from_sunday())
        } else {
            self.days_of_month.matches(date.day())
        }
    }

    /// The first firing strictly after `time`.
    pub fn next_after(&self, time: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = time.with_second(0)?.with_nanosecond(0)? + chrono::Duration::minutes(1);
        for _ in 0..MAX_STEPS {
            let date = t.date_naive();
            t = if !self.years.matches(u32::try_from(t.year()).ok()?) {
                midnight(NaiveDate::from_ymd_opt(t.year() + 1, 1, 1)?)?
            } else if !self.months.matches(t.month()) {
                let (y, m) = if t.month() == 12 { (t.year() + 1, 1) } else { (t.year(), t.month() + 1) };
                midnight(NaiveDate::from_ymd_opt(y, m, 1)?)?
            } else if !self.day_matches(date) {
                midnight(date.succ_opt()?)?
            } else if !self.hours.matches(t.hour()) {
                t.with_minute(0)? + chrono::Duration::hours(1)
            } else if !self.minutes.matches(t.minute()) {
                t + chrono::Duration::minutes(1)
            } else {
                return Some(t);
            };
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn next(cron: &str, after: &str) -> Option<DateTime<Utc>> {
        CronSchedule::parse(cron).unwrap().next_after(at(after))
    }

    #[test]
    fn next_firings() {
        assert_eq!(next("0/15 * * * ? *", "2025-01-01T10:07:30Z"), Some(at("2025-01-01T10:15:00Z")));
        assert_eq!(next("0 12 * * ? *", "2025-01-01T12:00:00Z"), Some(at("2025-01-02T12:00:00Z")));
        // 2025-01-01 is a Wednesday; MON-FRI at 08:30.
        assert_eq!(next("30 8 ? * MON-FRI *", "2025-01-03T09:00:00Z"), Some(at("2025-01-06T08:30:00Z")));
        assert_eq!(next("0 6 1 JUL ? *", "2025-01-01T00:00:00Z"), Some(at("2025-07-01T06:00:00Z")));
        assert_eq!(next("0 0 29 FEB ? *", "2025-03-01T00:00:00Z"), Some(at("2028-02-29T00:00:00Z")));
        assert_eq!(next("0 0 1 1 ? 2020", "2025-01-01T00:00:00Z"), None);
    }

    #[test]
    fn unsupported_or_invalid_expressions_are_refused() {
        for bad in [
            "0 12 * * * *",
            "0 12 ? * ? *",
            "0 12 L * ? *",
            "0 12 ? * 2#1 *",
            "0 12 15W * ? *",
            "61 * * * ? *",
            "0 12 * *",
        ] {
            assert!(CronSchedule::parse(bad).is_err(), "{bad}");
        }
    }
}
