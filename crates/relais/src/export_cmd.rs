//! `relais export …`: files for partners, straight from the store (no server
//! needed): the print shop's batch of a day and a segment as an ads audience.

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use relais_core::SegmentId;
use relais_engine::messaging::exports;
use relais_engine::{admin, EngineConfig};
use relais_store::DynStore;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ExportCmd {
    /// The letters the printer provider accepted on a day: writes
    /// print-YYYY-MM-DD.csv and print-YYYY-MM-DD.pdf into --out-dir.
    Letters {
        #[arg(long, default_value = "default")]
        workspace: String,
        /// The batch day, YYYY-MM-DD (in [engine.channels.printer] timezone).
        #[arg(long)]
        date: String,
        /// Directory for the two files (created if missing).
        #[arg(long)]
        out_dir: PathBuf,
    },
    /// A segment's members as hashed e-mails and phones for an ads platform.
    Audience {
        #[arg(long, default_value = "default")]
        workspace: String,
        /// seg_<n>
        #[arg(long)]
        segment: String,
        /// meta (Custom Audiences) or google (Customer Match).
        #[arg(long)]
        platform: String,
        /// The CSV file to write.
        #[arg(long, short)]
        output: PathBuf,
    },
}

pub async fn run(cmd: ExportCmd, store: DynStore, config: &EngineConfig) -> anyhow::Result<()> {
    match cmd {
        ExportCmd::Letters {
            workspace,
            date,
            out_dir,
        } => {
            let ws = admin::workspace_by_name(&store, &workspace).await?;
            let date = exports::parse_date(&date)?;
            std::fs::create_dir_all(&out_dir)
                .with_context(|| format!("cannot create {}", out_dir.display()))?;
            let b = exports::write_letters(&store, ws.id, date, &out_dir).await?;
            println!(
                "{} letters, {} pages: {} {}",
                b.letters,
                b.pages,
                b.csv_path.display(),
                b.pdf_path.display()
            );
            for (id, problems) in &b.rejected {
                let why = relais_channels::direct_mail::address::describe(problems);
                println!("  left out {id}: invalid address ({why})");
            }
            Ok(())
        }
        ExportCmd::Audience {
            workspace,
            segment,
            platform,
            output,
        } => {
            let ws = admin::workspace_by_name(&store, &workspace).await?;
            let id = SegmentId::parse(&segment)
                .with_context(|| format!("{segment:?} is not a segment id (seg_<n>)"))?;
            let platform = exports::parse_platform(&platform)?;
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{bar:40}] {pos}/{len} members ({per_sec}, eta {eta})",
                )?
                .progress_chars("=> "),
            );
            let mut progress = |done: usize, total: u64| {
                bar.set_length(total.max(done as u64));
                bar.set_position(done as u64);
            };
            let out =
                exports::audience(&store, &config.governance, ws.id, id, platform, &mut progress).await?;
            bar.finish_and_clear();
            // A partial file never takes the place of a previous export.
            let tmp = output.with_extension("csv.tmp");
            std::fs::write(&tmp, &out.csv).with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, &output).with_context(|| format!("cannot write {}", output.display()))?;
            let c = out.counts;
            println!(
                "{id}: {} members, {} rows ({} e-mails, {} phones) written to {}",
                out.members,
                c.rows,
                c.with_email,
                c.with_phone,
                output.display()
            );
            println!(
                "left out: {} in the control group, {} without an e-mail or phone usable for marketing, \
                 {} whose e-mail and phone do not normalise",
                out.control_group, out.no_contact, c.skipped
            );
            Ok(())
        }
    }
}
