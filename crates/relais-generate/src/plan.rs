//! The plan of one customer's period: when they browse, shop in store,
//! call, and when campaigns go out to them.

use crate::data;
use crate::params::*;
use crate::sim::{Activity, Campaign, Sim};
use crate::time::{local_instant, rfc3339_ms, HOUR, MINUTE};

impl Sim<'_> {
    /// Schedules everything the customer will do on their own initiative and
    /// the campaigns that may reach them.
    pub fn plan(&mut self) {
        let days = i64::from(self.opts.days);
        if days == 0 {
            return;
        }
        for _ in 0..self.p.sessions {
            let day = self.rng.below(days as u64) as i64;
            let t = self.local_time(day, (0, 24), Some(&ONLINE_HOUR_WEIGHTS));
            let device = self.pick_device();
            self.schedule(
                t,
                Activity::Session {
                    device,
                    campaign: None,
                },
            );
        }
        let visits = self.p.store.as_ref().map_or(0, |s| s.visits);
        for _ in 0..visits {
            let day = self.rng.below(days as u64) as i64;
            let t = self.local_time(day, STORE_HOURS, None);
            self.schedule(t, Activity::StoreVisit);
        }
        if self.rng.chance(OTHER_CALL_PER_30_DAYS * days as f64 / 30.0) {
            let day = self.rng.below(days as u64) as i64;
            let t = self.local_time(day, CALL_HOURS, None);
            let reason = self.rng.weighted(data::OTHER_CALL_REASONS);
            self.schedule(
                t,
                Activity::Call {
                    reason,
                    order_id: None,
                },
            );
        }
        let (mut emails, mut texts) = (0, 0);
        let (start, offset_min) = (self.start, self.p.zone.offset_min);
        let off = i64::from(offset_min) * MINUTE;
        for day in 0..=days {
            // Campaign ids carry the local date, the same in every zone.
            let date = || rfc3339_ms(local_instant(start, offset_min, day, 0) + off)[..10].replace('-', "");
            if EMAIL_CAMPAIGN_DAYS_MOD_7.contains(&(day % 7)) {
                let base = local_instant(start, offset_min, day, EMAIL_SEND_HOUR * HOUR);
                let t = base + self.rng.range(0, EMAIL_SEND_SPREAD_MINUTES * MINUTE);
                let name = data::EMAIL_CAMPAIGNS[emails % data::EMAIL_CAMPAIGNS.len()];
                let campaign = Campaign {
                    id: format!("em-{}", date()),
                    name,
                    medium: "email",
                };
                emails += 1;
                self.schedule(t, Activity::Email { campaign });
            }
            if SMS_CAMPAIGN_DAYS_MOD_7.contains(&(day % 7)) {
                let base = local_instant(
                    self.start,
                    self.p.zone.offset_min,
                    day,
                    SMS_SEND_MINUTE_OF_DAY * MINUTE,
                );
                let t = base + self.rng.range(0, SMS_SEND_SPREAD_MINUTES * MINUTE);
                let name = data::SMS_CAMPAIGNS[texts % data::SMS_CAMPAIGNS.len()];
                let campaign = Campaign {
                    id: format!("sms-{}", date()),
                    name,
                    medium: "sms",
                };
                texts += 1;
                self.schedule(t, Activity::Sms { campaign });
            }
        }
    }

    /// A device for a session: with two, the app with `APP_SESSION_SHARE`.
    pub fn pick_device(&mut self) -> usize {
        if self.p.devices.len() == 1 {
            0
        } else if self.rng.chance(APP_SESSION_SHARE) {
            self.p.devices.iter().position(|d| d.app).unwrap_or(0)
        } else {
            self.p.devices.iter().position(|d| !d.app).unwrap_or(0)
        }
    }

    /// The device a campaign link opens: the app for SMS when there is one,
    /// the browser for e-mail when there is one.
    pub fn link_device(&self, prefer_app: bool) -> usize {
        let d = &self.p.devices;
        d.iter().position(|x| x.app == prefer_app).unwrap_or(0)
    }
}
