//! `relais segment …`: segments from the command line, on the store
//! directly. A running server picks changes up within a few seconds and
//! computes new segments in the background; `watch` shows that progress.

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use relais_core::SegmentId;
use relais_engine::{admin, segments};
use relais_store::{DynStore, SegmentStatus};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand)]
pub enum SegmentCmd {
    /// List the workspace's segments with their size.
    List {
        #[arg(long, default_value = "default")]
        workspace: String,
    },
    /// Create a segment from a JSON condition file (see docs/conditions.md).
    Create {
        #[arg(long, default_value = "default")]
        workspace: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// File holding the condition (JSON).
        #[arg(long)]
        condition: PathBuf,
        /// Then follow the backfill until it is done.
        #[arg(long)]
        watch: bool,
    },
    /// Follow a segment's backfill with a progress bar until it is active.
    Watch {
        #[arg(long, default_value = "default")]
        workspace: String,
        /// seg_<n>
        id: String,
    },
}

pub async fn run(cmd: SegmentCmd, store: DynStore) -> anyhow::Result<()> {
    match cmd {
        SegmentCmd::List { workspace } => {
            let ws = admin::workspace_by_name(&store, &workspace).await?;
            for s in store.list_segments(Some(ws.id)).await? {
                let size = store.segment_size(ws.id, s.id).await?;
                println!("{}\t{}\t{}\t{size}", s.id, s.status.as_str(), s.name);
            }
            Ok(())
        }
        SegmentCmd::Create {
            workspace,
            name,
            description,
            condition,
            watch: follow,
        } => {
            let ws = admin::workspace_by_name(&store, &workspace).await?;
            let text = std::fs::read_to_string(&condition)
                .with_context(|| format!("cannot read {}", condition.display()))?;
            let condition: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", condition.display()))?;
            let input = segments::SegmentInput {
                name,
                description,
                condition,
            };
            let s = segments::save_new(&store, ws.id, &input).await?;
            println!(
                "segment {} created; a running server computes it over existing profiles",
                s.id
            );
            if follow {
                watch(&store, ws.id, s.id).await?;
            }
            Ok(())
        }
        SegmentCmd::Watch { workspace, id } => {
            let ws = admin::workspace_by_name(&store, &workspace).await?;
            let id =
                SegmentId::parse(&id).with_context(|| format!("{id:?} is not a segment id (seg_<n>)"))?;
            watch(&store, ws.id, id).await
        }
    }
}

async fn watch(store: &DynStore, ws: relais_core::WorkspaceId, id: SegmentId) -> anyhow::Result<()> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:40}] {pos}/{len} profiles ({per_sec}, eta {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    loop {
        let s = store
            .get_segment(ws, id)
            .await?
            .with_context(|| format!("no segment {id}"))?;
        bar.set_message(format!("{} {}", s.id, s.name));
        bar.set_length(s.backfill_total.max(s.backfill_done) as u64);
        bar.set_position(s.backfill_done as u64);
        if s.status == SegmentStatus::Active {
            let size = store.segment_size(ws, id).await?;
            bar.finish_and_clear();
            println!("{} is active: {size} profiles", s.id);
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
