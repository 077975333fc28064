//! `mcptop replay FILE`: a recording or a raw capture through the same pipeline as `tail`.

use anyhow::Result;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::updates::{consume, Ended};
use super::Exit;
use crate::cli::ReplayArgs;
use mcptop::source::replay::{load, play, Pacing};

pub fn run(args: &ReplayArgs) -> Result<()> {
    let recording = load(&args.file)?;
    if recording.items.is_empty() {
        return Err(Exit::new(
            1,
            format!("{} holds nothing to replay", args.file.display()),
        )
        .into());
    }
    let pacing = Pacing {
        speed: args.speed,
        idle_limit: args.idle_limit,
        start_at: args.start_at.unwrap_or_default(),
    };
    super::runtime()?.block_on(async {
        let (tx, rx) = mpsc::channel(1024);
        let stop = CancellationToken::new();
        let player = tokio::spawn(play(recording, pacing, tx, stop.clone()));
        let ended = consume(rx, &args.output, None, None).await;
        stop.cancel();
        let _ = player.await;
        match ended? {
            Ended::Done => Ok(()),
            Ended::Source(why) => match Exit::from_stop(&why) {
                Some(exit) => Err(exit.into()),
                None => Ok(()),
            },
        }
    })
}
