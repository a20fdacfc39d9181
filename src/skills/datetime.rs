//! `datetime`: the current time in a time zone, conversion between zones, date arithmetic and differences,
//! with the IANA database from `chrono-tz`. The install config's `timezone` is the default zone.
use async_trait::async_trait;
use chrono::{DateTime as ChronoDateTime, Duration, FixedOffset, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Skill, ToolContext, ToolError, arguments, config_str};
use crate::llm::ToolSpec;

pub struct DateTime;

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Action {
    Now,
    Convert,
    Add,
    Difference,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    action: Action,
    timezone: Option<String>,
    datetime: Option<String>,
    to: Option<String>,
    #[serde(default)]
    days: i64,
    #[serde(default)]
    hours: i64,
    #[serde(default)]
    minutes: i64,
}

#[async_trait]
impl Skill for DateTime {
    fn id(&self) -> &str {
        "datetime"
    }

    fn tools(&self, _config: &Value) -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "datetime".into(),
            description: "Dates and times. action `now`: the current time in `timezone`; `convert`: `datetime` \
                          shown in `timezone`; `add`: `datetime` plus `days`/`hours`/`minutes` (negative to \
                          subtract); `difference`: from `datetime` to `to`. Datetimes are RFC 3339, time zones \
                          IANA names such as `Europe/Paris`."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "action": { "type": "string", "enum": ["now", "convert", "add", "difference"] },
                    "timezone": { "type": "string" },
                    "datetime": { "type": "string", "format": "date-time" },
                    "to": { "type": "string", "format": "date-time" },
                    "days": { "type": "integer" },
                    "hours": { "type": "integer" },
                    "minutes": { "type": "integer" }
                },
                "required": ["action"],
                "additionalProperties": false
            }),
        }]
    }

    async fn call(&self, _ctx: &ToolContext<'_>, _tool: &str, config: &Value, raw: &str) -> Result<Value, ToolError> {
        let args: Args = arguments(raw)?;
        let zone_name = args.timezone.as_deref().unwrap_or_else(|| config_str(config, "timezone", "UTC"));
        let zone: Tz = zone_name
            .parse()
            .map_err(|_| ToolError::InvalidArguments(format!("`{zone_name}` is not an IANA time zone")))?;
        let parse = |field: &str, value: Option<&str>| -> Result<ChronoDateTime<FixedOffset>, ToolError> {
            let value = value.ok_or_else(|| ToolError::InvalidArguments(format!("`{field}` is required")))?;
            ChronoDateTime::parse_from_rfc3339(value)
                .map_err(|err| ToolError::InvalidArguments(format!("`{field}` is not RFC 3339 ({err})")))
        };
        let shown = |at: ChronoDateTime<Utc>| {
            let local = at.with_timezone(&zone);
            json!({ "datetime": local.to_rfc3339(), "timezone": zone.name(), "weekday": local.format("%A").to_string(),
                    "utc": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) })
        };
        match args.action {
            Action::Now => Ok(shown(Utc::now())),
            Action::Convert => Ok(shown(parse("datetime", args.datetime.as_deref())?.with_timezone(&Utc))),
            Action::Add => {
                let start = parse("datetime", args.datetime.as_deref())?.with_timezone(&Utc);
                let delta = Duration::try_days(args.days)
                    .zip(Duration::try_hours(args.hours))
                    .zip(Duration::try_minutes(args.minutes))
                    .and_then(|((d, h), m)| d.checked_add(&h)?.checked_add(&m))
                    .ok_or_else(|| ToolError::InvalidArguments("the amount to add is out of range".into()))?;
                let end = start
                    .checked_add_signed(delta)
                    .ok_or_else(|| ToolError::InvalidArguments("the result is out of range".into()))?;
                Ok(shown(end))
            }
            Action::Difference => {
                let from = parse("datetime", args.datetime.as_deref())?;
                let to = parse("to", args.to.as_deref())?;
                let seconds = (to - from).num_seconds();
                Ok(
                    json!({ "seconds": seconds, "minutes": seconds / 60, "hours": seconds / 3600, "days": seconds / 86_400 }),
                )
            }
        }
    }
}
