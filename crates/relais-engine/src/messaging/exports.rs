//! Files for outside partners: the day's batch of letters for the print shop
//! (CSV + print-ready PDF, `docs/channels/direct-mail.md`) and a segment as an
//! ads audience (hashed e-mails and phones for Meta or Google,
//! `docs/channels/audiences.md`).
//!
//! Both read the store only (no running engine needed), so the API and the
//! `relais export` command share them.

use super::compose::e164;
use super::config::GovernanceConfig;
use super::governance::{consent_refusal, in_control_group};
use super::providers::{print_batch, PRINTER};
use relais_channels::audiences::{self, AudienceRow, ExportCounts, Platform};
use relais_channels::direct_mail::{export_batch, ExportedBatch, PrintLetter};
use relais_channels::{Address, Channel, Content};
use relais_core::profile::ProfileState;
use relais_core::{Error, ErrorCode, ProfileId, SegmentId, WorkspaceId};
use relais_store::{DynStore, MessageFilter, MessageStatus, SegmentStatus};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const PAGE: usize = 500;

/// `YYYY-MM-DD`, the day of a print batch.
pub fn parse_date(s: &str) -> Result<jiff::civil::Date, Error> {
    s.parse::<jiff::civil::Date>().map_err(|_| {
        Error::new(
            ErrorCode::InvalidField,
            format!("date: {s:?} is not a date (YYYY-MM-DD)"),
        )
    })
}

/// The letters the printer provider accepted into the batch of `date`
/// (status sent or delivered), oldest first. `not_found` when there are none.
pub async fn batch_letters(
    store: &DynStore,
    ws: WorkspaceId,
    date: jiff::civil::Date,
) -> Result<Vec<PrintLetter>, Error> {
    let batch = print_batch(date);
    // A letter of day D was created before D ended in the printer's zone,
    // at the latest D+1 12:00 UTC (UTC-12): newer messages are not read.
    let bound = date
        .checked_add(jiff::Span::new().days(2))
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_millisecond());
    let mut filter = MessageFilter {
        profile_id: None,
        status: None,
        channel: Some(Channel::DirectMail.as_str().to_owned()),
        before: bound.map(|b| (b, String::new())),
        limit: PAGE,
    };
    let mut found = Vec::new();
    loop {
        let page = store.list_messages(ws, &filter).await?;
        let full = page.len() == PAGE;
        filter.before = page.last().map(|m| (m.created_at, m.id.clone()));
        found.extend(page.into_iter().filter(|m| {
            m.provider == PRINTER
                && m.provider_message_id.as_deref() == Some(batch.as_str())
                && matches!(m.status, MessageStatus::Sent | MessageStatus::Delivered)
        }));
        if !full {
            break;
        }
    }
    if found.is_empty() {
        return Err(Error::not_found(format!(
            "print batch {batch}: no letter was accepted by the printer provider on {date} in workspace {ws}"
        )));
    }
    found.sort_by(|a, b| (a.sent_at, &a.id).cmp(&(b.sent_at, &b.id)));
    found
        .into_iter()
        .map(|m| {
            let unreadable = |what: &str, e: serde_json::Error| {
                Error::internal(format!(
                    "print batch {batch}: message {} has an unreadable {what}: {e}",
                    m.id
                ))
            };
            let to = serde_json::from_str::<Address>(&m.address).map_err(|e| unreadable("address", e))?;
            let content =
                serde_json::from_str::<Content>(&m.content).map_err(|e| unreadable("content", e))?;
            let (Address::Postal(to), Content::Letter(letter)) = (to, content) else {
                return Err(Error::internal(format!(
                    "print batch {batch}: message {} is not a letter to a postal address",
                    m.id
                )));
            };
            Ok(PrintLetter {
                message_id: m.id,
                to,
                from: letter.from,
                text: relais_channels::email::html_to_text(&letter.html),
            })
        })
        .collect()
}

/// Writes `{dir}/print-YYYY-MM-DD.csv` and `.pdf` (atomically, each to a
/// temporary name first). Letters whose address no longer validates are
/// left out and listed in `rejected`.
pub async fn write_letters(
    store: &DynStore,
    ws: WorkspaceId,
    date: jiff::civil::Date,
    dir: &Path,
) -> Result<ExportedBatch, Error> {
    let letters = batch_letters(store, ws, date).await?;
    let (batch, dir) = (print_batch(date), dir.to_owned());
    tokio::task::spawn_blocking(move || {
        export_batch(&letters, &dir, &batch)
            .map_err(|e| Error::internal(format!("print batch {batch} into {}: {e}", dir.display())))
    })
    .await
    .map_err(|e| Error::internal(format!("print batch: {e}")))?
}

/// A print batch in memory (what the API serves).
pub struct LetterFiles {
    /// `print-YYYY-MM-DD`: also the file names.
    pub batch: String,
    pub csv: Vec<u8>,
    pub pdf: Vec<u8>,
    pub letters: usize,
    pub pages: usize,
    /// Message ids left out because their address no longer validates.
    pub rejected: Vec<String>,
}

/// Removes a scratch directory however the export ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The CSV and PDF of the batch of `date`, built in a scratch directory.
pub async fn letters_batch(
    store: &DynStore,
    ws: WorkspaceId,
    date: jiff::civil::Date,
) -> Result<LetterFiles, Error> {
    let batch = print_batch(date);
    let scratch = Scratch(std::env::temp_dir().join(format!(
        "relais-{batch}-{}",
        hex::encode(rand::random::<[u8; 8]>())
    )));
    std::fs::create_dir(&scratch.0)
        .map_err(|e| Error::internal(format!("print batch {batch}: scratch directory: {e}")))?;
    let out = write_letters(store, ws, date, &scratch.0).await?;
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| Error::internal(format!("print batch {batch}: {}: {e}", p.display())))
    };
    let files = LetterFiles {
        csv: read(&out.csv_path)?,
        pdf: read(&out.pdf_path)?,
        letters: out.letters,
        pages: out.pages,
        rejected: out.rejected.into_iter().map(|(id, _)| id).collect(),
        batch,
    };
    if !files.rejected.is_empty() {
        tracing::warn!(batch = %files.batch, rejected = ?files.rejected, "letters left out: invalid address");
    }
    Ok(files)
}

/// `meta` or `google`.
pub fn parse_platform(s: &str) -> Result<Platform, Error> {
    match s {
        "meta" => Ok(Platform::Meta),
        "google" => Ok(Platform::Google),
        _ => Err(Error::new(
            ErrorCode::InvalidField,
            format!("platform: {s:?} is not one of meta, google"),
        )),
    }
}

/// An audience file and what went into it.
#[derive(Debug, Clone, Default)]
pub struct AudienceExport {
    pub csv: Vec<u8>,
    /// Current members of the segment (merged profiles counted once).
    pub members: usize,
    /// Left out: in the global control group.
    pub control_group: usize,
    /// Left out: no e-mail or phone usable for marketing (none, no consent, suppressed).
    pub no_contact: usize,
    /// Rows written; `counts.skipped`: contact details that do not normalise.
    pub counts: ExportCounts,
}

/// The segment's current members as a Meta or Google customer file of hashed
/// e-mails and phones. Ads are marketing: a profile in the global control
/// group is left out, an e-mail is used only where an e-mail campaign could
/// go (not unsubscribed, or subscribed when e-mail is an opt-in channel; not
/// suppressed), a phone likewise for SMS (opt-in by default: an explicit
/// subscription). `progress(done, total)` follows the members.
pub async fn audience(
    store: &DynStore,
    gov: &GovernanceConfig,
    ws: WorkspaceId,
    segment: SegmentId,
    platform: Platform,
    progress: &mut (dyn FnMut(usize, u64) + Send),
) -> Result<AudienceExport, Error> {
    let s = store
        .get_segment(ws, segment)
        .await?
        .ok_or_else(|| Error::not_found(format!("no segment {segment} in workspace {ws}")))?;
    if s.status == SegmentStatus::Backfilling {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!("segment {segment} is still being computed (backfilling): export it once it is active"),
        ));
    }
    let total = store.segment_size(ws, segment).await?.max(0) as u64;
    let salt = if gov.control_group_percent > 0.0 {
        let fresh = hex::encode(rand::random::<[u8; 16]>());
        Some(store.init_setting(Some(ws), "control_group_salt", &fresh).await?)
    } else {
        None
    };
    let mut out = AudienceExport::default();
    let (mut rows, mut seen, mut done) = (Vec::new(), HashSet::new(), 0);
    let mut after: Option<ProfileId> = None;
    loop {
        let page = store.segment_members(ws, segment, after, PAGE).await?;
        let keys: Vec<_> = page.iter().map(|m| (ws, m.profile_id)).collect();
        for stored in store.get_profiles(&keys).await?.into_iter().flatten() {
            if !seen.insert(stored.id) {
                continue;
            }
            out.members += 1;
            if salt
                .as_deref()
                .is_some_and(|salt| in_control_group(salt, stored.id, gov.control_group_percent))
            {
                out.control_group += 1;
                continue;
            }
            let state: ProfileState = serde_json::from_str(&stored.state).map_err(|e| {
                Error::internal(format!("profile {} has an unreadable state: {e}", stored.id))
            })?;
            let email = contact(store, gov, ws, &state, Channel::Email).await?;
            let phone = contact(store, gov, ws, &state, Channel::Sms).await?;
            if email.is_none() && phone.is_none() {
                out.no_contact += 1;
                continue;
            }
            rows.push(AudienceRow {
                email,
                phone,
                ..AudienceRow::default()
            });
        }
        done += page.len();
        progress(done, total);
        after = page.last().map(|m| m.profile_id);
        if page.len() < PAGE {
            break;
        }
    }
    let written = match platform {
        Platform::Meta => audiences::write_meta_csv(&mut out.csv, rows, None),
        Platform::Google => audiences::write_google_csv(&mut out.csv, rows, None),
    };
    out.counts = written.map_err(|e| Error::internal(format!("audience of {segment}: {e}")))?;
    Ok(out)
}

/// The profile's e-mail (`traits.email`) or phone (`traits.phone`) when a
/// marketing message could use it on `channel`.
async fn contact(
    store: &DynStore,
    gov: &GovernanceConfig,
    ws: WorkspaceId,
    state: &ProfileState,
    channel: Channel,
) -> Result<Option<String>, Error> {
    let field = if channel == Channel::Email {
        "email"
    } else {
        "phone"
    };
    let Some(raw) = state.traits.get(field).and_then(|v| v.as_str()).map(str::trim) else {
        return Ok(None);
    };
    if raw.is_empty() || consent_refusal(gov, state, channel).is_some() {
        return Ok(None);
    }
    let key = match channel {
        Channel::Email => Some(raw.to_lowercase()),
        _ => e164(raw),
    };
    if let Some(key) = key {
        if store
            .find_suppression(ws, channel.as_str(), &key)
            .await?
            .is_some()
        {
            return Ok(None);
        }
    }
    Ok(Some(raw.to_owned()))
}
