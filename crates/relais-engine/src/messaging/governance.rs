//! Governance: whether a message may go, decided before it is stored (and
//! recorded either way, so "why didn't this customer get it" has an answer).
//! Suppression applies to every message; consent, the global control group,
//! frequency caps and quiet hours to marketing only (DESIGN.md).

use super::config::{FrequencyCap, GovernanceConfig, QuietHours};
use relais_channels::Channel;
use relais_core::profile::{ConsentStatus, ProfileState};
use relais_core::{Error, ProfileId, WorkspaceId};
use relais_store::{DynStore, Suppression};
use sha2::{Digest, Sha256};

/// What governance decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Send, not before this time (quiet hours defer) or now.
    Send { not_before: Option<i64> },
    /// Do not send; the reason starts with a stable word: `suppressed`,
    /// `control_group`, `no_consent`, `capped`, `quiet_hours`.
    Skip(String),
}

/// Everything a decision reads.
pub struct Ask<'a> {
    pub ws: WorkspaceId,
    pub profile: ProfileId,
    pub state: &'a ProfileState,
    pub channel: Channel,
    /// The normalised address, for the suppression list.
    pub address_key: Option<&'a str>,
    pub marketing: bool,
    pub now: i64,
    /// Overrides the configured quiet-hours behaviour (a journey's setting).
    pub drop_in_quiet_hours: Option<bool>,
}

/// The workspaces' control-group salts: set once in the store, then read
/// from here (every marketing send needs one; asking the store took the
/// writer each time).
#[derive(Default)]
pub struct Salts(std::sync::Mutex<std::collections::HashMap<WorkspaceId, String>>);

impl Salts {
    pub(crate) async fn get(&self, store: &DynStore, ws: WorkspaceId) -> Result<String, Error> {
        if let Some(s) = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&ws) {
            return Ok(s.clone());
        }
        let salt = store
            .init_setting(Some(ws), "control_group_salt", &random_hex())
            .await?;
        let mut known = self.0.lock().unwrap_or_else(|p| p.into_inner());
        known.insert(ws, salt.clone());
        Ok(salt)
    }
}

pub async fn decide(
    store: &DynStore,
    cfg: &GovernanceConfig,
    salts: &Salts,
    a: &Ask<'_>,
) -> Result<Decision, Error> {
    let suppression = match a.address_key {
        Some(key) => store.find_suppression(a.ws, a.channel.as_str(), key).await?,
        None => None,
    };
    let salt = match a.marketing && cfg.control_group_percent > 0.0 {
        true => Some(salts.get(store, a.ws).await?),
        false => None,
    };
    let mut sent = Vec::new();
    for (cap, since) in cfg.frequency_caps.iter().zip(cap_windows(cfg, a)) {
        sent.push(match since {
            Some(since) => Some(
                store
                    .count_recent_messages(a.ws, a.profile, cap.channel.as_deref(), "marketing", since)
                    .await?,
            ),
            None => None,
        });
    }
    let known = Known {
        suppression: suppression.as_ref(),
        salt: salt.as_deref(),
        sent: &sent,
    };
    decide_known(cfg, a, &known)
}

/// What a decision reads from the store, read beforehand (one profile at a
/// time by [`decide`], a page at a time by a broadcast).
pub struct Known<'a> {
    /// The suppression of the ask's address, if any.
    pub suppression: Option<&'a Suppression>,
    /// The workspace's control-group salt (marketing, a control group set).
    pub salt: Option<&'a str>,
    /// Per configured cap, in order: the marketing messages counted in its
    /// window (`None` for a cap that does not apply: [`cap_windows`]).
    pub sent: &'a [Option<i64>],
}

/// Per configured cap, in order, the start of its window for this ask, or
/// `None` when the cap does not apply (a transactional message, another
/// channel).
pub fn cap_windows(cfg: &GovernanceConfig, a: &Ask<'_>) -> Vec<Option<i64>> {
    let tz = timezone(cfg, a.state);
    cfg.frequency_caps
        .iter()
        .map(|cap| {
            let applies = a.marketing && cap.channel.as_deref().is_none_or(|c| c == a.channel.as_str());
            applies.then(|| cap_window_start(cap, &tz, a.now))
        })
        .collect()
}

/// The decision from what was read: suppression, then (marketing only)
/// the control group, consent, caps, quiet hours.
pub fn decide_known(cfg: &GovernanceConfig, a: &Ask<'_>, k: &Known<'_>) -> Result<Decision, Error> {
    if let (Some(key), Some(s)) = (a.address_key, k.suppression) {
        return Ok(Decision::Skip(format!("suppressed: {key} ({})", s.reason)));
    }
    if !a.marketing {
        return Ok(Decision::Send { not_before: None });
    }
    if let Some(salt) = k.salt.filter(|_| cfg.control_group_percent > 0.0) {
        if in_control_group(salt, a.profile, cfg.control_group_percent) {
            return Ok(Decision::Skip(
                "control_group: the profile is in the global control group".into(),
            ));
        }
    }
    if let Some(why) = consent_refusal(cfg, a.state, a.channel) {
        return Ok(Decision::Skip(why));
    }
    for (cap, sent) in cfg.frequency_caps.iter().zip(k.sent) {
        if sent.is_some_and(|n| n >= cap.max) {
            return Ok(Decision::Skip(format!("capped: {}", describe(cap))));
        }
    }
    let tz = timezone(cfg, a.state);
    if let Some(q) = &cfg.quiet_hours {
        if let Some(end) = quiet_until(q, &tz, a.now)? {
            if a.drop_in_quiet_hours.unwrap_or(q.behaviour == "drop") {
                return Ok(Decision::Skip(format!(
                    "quiet_hours: {}–{} in {}",
                    q.start,
                    q.end,
                    tz.iana_name().unwrap_or("UTC")
                )));
            }
            return Ok(Decision::Send {
                not_before: Some(end),
            });
        }
    }
    Ok(Decision::Send { not_before: None })
}

/// Striped per-profile locks held by a marketing send from its cap check to
/// its outbox insert, so two sends to one profile (two journeys, a journey
/// and the API) never both pass a cap that has one place left. In-process:
/// one Relais binary serves a store (DESIGN.md).
pub struct ProfileLocks(Vec<tokio::sync::Mutex<()>>);

impl Default for ProfileLocks {
    fn default() -> Self {
        ProfileLocks((0..1024).map(|_| tokio::sync::Mutex::new(())).collect())
    }
}

impl ProfileLocks {
    fn stripe(&self, ws: WorkspaceId, profile: ProfileId) -> usize {
        let h = Sha256::digest(format!("{}:{}", ws.0, profile.0));
        u64::from_be_bytes(h[..8].try_into().expect("8 bytes")) as usize % self.0.len()
    }

    pub async fn lock(&self, ws: WorkspaceId, profile: ProfileId) -> tokio::sync::MutexGuard<'_, ()> {
        self.0[self.stripe(ws, profile)].lock().await
    }

    /// The locks of many profiles (a broadcast's page), taken in stripe
    /// order so two holders of several never wait on each other in a cycle.
    pub async fn lock_many(
        &self,
        ws: WorkspaceId,
        profiles: impl IntoIterator<Item = ProfileId>,
    ) -> Vec<tokio::sync::MutexGuard<'_, ()>> {
        let mut stripes: Vec<usize> = profiles.into_iter().map(|p| self.stripe(ws, p)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let mut guards = Vec::with_capacity(stripes.len());
        for i in stripes {
            guards.push(self.0[i].lock().await);
        }
        guards
    }
}

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// A stable bucket from the profile id and the workspace's salt.
pub fn in_control_group(salt: &str, profile: ProfileId, percent: f64) -> bool {
    let h = Sha256::digest(format!("{salt}:{}", profile.0));
    let n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes")) % 10_000;
    (n as f64) < percent.clamp(0.0, 15.0) * 100.0
}

/// Marketing consent (DESIGN.md): opt-in channels need `subscribed`, the
/// others only not `unsubscribed`.
pub fn consent_refusal(cfg: &GovernanceConfig, state: &ProfileState, channel: Channel) -> Option<String> {
    let status = state.consent.get(channel.as_str()).map(|c| c.status);
    let opt_in = cfg.opt_in_channels.iter().any(|c| c == channel.as_str());
    match status {
        Some(ConsentStatus::Unsubscribed) => Some(format!("no_consent: unsubscribed from {channel}")),
        Some(ConsentStatus::Subscribed) => None,
        _ if opt_in => Some(format!("no_consent: {channel} needs an explicit subscription")),
        _ => None,
    }
}

fn timezone(cfg: &GovernanceConfig, state: &ProfileState) -> jiff::tz::TimeZone {
    state
        .timezone
        .as_ref()
        .and_then(|t| jiff::tz::TimeZone::get(&t.value).ok())
        .or_else(|| jiff::tz::TimeZone::get(&cfg.default_timezone).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC)
}

fn cap_window_start(cap: &FrequencyCap, tz: &jiff::tz::TimeZone, now: i64) -> i64 {
    if let Some(days) = cap.days {
        let Ok(ts) = jiff::Timestamp::from_millisecond(now) else {
            return now;
        };
        let local = ts.to_zoned(tz.clone());
        let first = local
            .date()
            .saturating_sub(jiff::Span::new().days(i64::from(days.max(1)) - 1));
        return first
            .to_zoned(tz.clone())
            .map_or(now, |z| z.timestamp().as_millisecond());
    }
    now - i64::from(cap.hours.unwrap_or(24)) * 3_600_000
}

fn describe(cap: &FrequencyCap) -> String {
    let on = cap
        .channel
        .as_deref()
        .map_or("all channels".to_owned(), str::to_owned);
    match (cap.days, cap.hours) {
        (Some(1), _) => format!("at most {} per day on {on}", cap.max),
        (Some(d), _) => format!("at most {} per {d} calendar days on {on}", cap.max),
        (None, h) => format!("at most {} per {} hours on {on}", cap.max, h.unwrap_or(24)),
    }
}

fn parse_hm(s: &str) -> Result<jiff::civil::Time, Error> {
    let bad = || {
        Error::new(
            relais_core::ErrorCode::InvalidField,
            format!("quiet hours: {s:?} is not HH:MM"),
        )
    };
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    jiff::civil::Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// The end of the quiet window `now` falls in (unix ms), if it does.
pub fn quiet_until(q: &QuietHours, tz: &jiff::tz::TimeZone, now: i64) -> Result<Option<i64>, Error> {
    let (start, end) = (parse_hm(&q.start)?, parse_hm(&q.end)?);
    let local = jiff::Timestamp::from_millisecond(now)
        .map_err(|e| Error::internal(e.to_string()))?
        .to_zoned(tz.clone());
    let t = local.time();
    let inside = if start <= end {
        t >= start && t < end
    } else {
        t >= start || t < end
    };
    if !inside {
        return Ok(None);
    }
    let mut day = local.date();
    if t >= end {
        day = day.tomorrow().map_err(|e| Error::internal(e.to_string()))?;
    }
    let until = day
        .to_datetime(end)
        .to_zoned(tz.clone())
        .map_err(|e| Error::internal(e.to_string()))?;
    Ok(Some(until.timestamp().as_millisecond()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn quiet_hours_wrap_midnight_in_the_profile_zone() {
        let q = QuietHours {
            start: "21:00".into(),
            end: "08:00".into(),
            behaviour: "defer".into(),
        };
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        // 22:30 in Paris (winter, UTC+1) → 08:00 next morning Paris.
        let until = quiet_until(&q, &paris, ms("2026-01-10T21:30:00Z")).unwrap();
        assert_eq!(until, Some(ms("2026-01-11T07:00:00Z")));
        // 06:00 Paris → 08:00 the same morning.
        assert_eq!(
            quiet_until(&q, &paris, ms("2026-01-10T05:00:00Z")).unwrap(),
            Some(ms("2026-01-10T07:00:00Z"))
        );
        // Noon: not quiet.
        assert_eq!(quiet_until(&q, &paris, ms("2026-01-10T11:00:00Z")).unwrap(), None);
        let day = QuietHours {
            start: "12:00".into(),
            end: "14:00".into(),
            behaviour: "defer".into(),
        };
        assert_eq!(
            quiet_until(&day, &jiff::tz::TimeZone::UTC, ms("2026-01-10T13:00:00Z")).unwrap(),
            Some(ms("2026-01-10T14:00:00Z"))
        );
        let bad = QuietHours {
            start: "25:00".into(),
            ..day
        };
        assert!(quiet_until(&bad, &jiff::tz::TimeZone::UTC, 0).is_err());
    }

    #[test]
    fn calendar_day_caps_start_at_local_midnight() {
        let cap = FrequencyCap {
            channel: None,
            max: 1,
            days: Some(1),
            hours: None,
        };
        let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
        // 02:00 UTC on the 11th is 21:00 on the 10th in New York.
        let since = cap_window_start(&cap, &ny, ms("2026-01-11T02:00:00Z"));
        assert_eq!(since, ms("2026-01-10T05:00:00Z"));
        let week = FrequencyCap {
            days: Some(7),
            ..cap.clone()
        };
        assert_eq!(
            cap_window_start(&week, &ny, ms("2026-01-11T02:00:00Z")),
            ms("2026-01-04T05:00:00Z")
        );
        let rolling = FrequencyCap {
            days: None,
            hours: Some(6),
            ..cap
        };
        assert_eq!(cap_window_start(&rolling, &ny, 10 * 3_600_000), 4 * 3_600_000);
    }

    #[test]
    fn control_group_is_stable_and_about_the_right_size() {
        let n = (0..10_000)
            .filter(|i| in_control_group("salt", ProfileId(*i), 10.0))
            .count();
        assert!((900..1100).contains(&n), "{n}");
        assert_eq!(
            in_control_group("salt", ProfileId(7), 10.0),
            in_control_group("salt", ProfileId(7), 10.0)
        );
        assert_eq!(
            (0..1000)
                .filter(|i| in_control_group("salt", ProfileId(*i), 0.0))
                .count(),
            0
        );
    }

    #[test]
    fn consent_rules_per_channel() {
        let cfg = GovernanceConfig::default();
        let mut st = ProfileState::default();
        assert_eq!(
            consent_refusal(&cfg, &st, Channel::Email),
            None,
            "e-mail: not unsubscribed is enough"
        );
        assert!(consent_refusal(&cfg, &st, Channel::Sms)
            .unwrap()
            .starts_with("no_consent"));
        st.set_consent("sms", ConsentStatus::Subscribed, "web", 1);
        st.set_consent("email", ConsentStatus::Unsubscribed, "web", 1);
        assert_eq!(consent_refusal(&cfg, &st, Channel::Sms), None);
        assert!(consent_refusal(&cfg, &st, Channel::Email)
            .unwrap()
            .contains("unsubscribed from email"));
    }
}
