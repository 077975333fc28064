//! `mcptop replay FILE`: a recording or a raw capture through the same pipeline as `tail`.

use std::io::IsTerminal;

use anyhow::Result;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::updates::{consume, Ended};
use super::Exit;
use crate::cli::ReplayArgs;
use mcptop::source::replay::{load, play_tape, Pacing};

pub fn run(args: &ReplayArgs) -> Result<()> {
    // A recording is indexed, not held: a large one plays from its file.
    let recording = mcptop::recording::open(&args.file)?;
    // What was wrong with the file is said before it plays (and before a screen opens).
    for note in &recording.notes {
        eprintln!(
            "mcptop: {}: {}",
            args.file.display(),
            mcptop::sanitize::terminal(note)
        );
    }
    let last = recording
        .tape
        .len()
        .checked_sub(1)
        .map(|i| recording.tape.at(i));
    if let (Some(start), Some(last)) = (args.start_at, last) {
        if start > last {
            eprintln!(
                "mcptop: --start-at {} is past the end of {} ({} long): showing its end",
                mcptop::model::compact(i64::try_from(start.as_millis()).unwrap_or(i64::MAX)),
                args.file.display(),
                mcptop::model::compact(i64::try_from(last.as_millis()).unwrap_or(i64::MAX)),
            );
        }
    }
    if recording.tape.is_empty() {
        return Err(Exit::new(
            1,
            format!("{} holds nothing to replay", args.file.display()),
        )
        .into());
    }
    let wants_screen = !args.output.json && !args.output.plain && !args.output.summary;
    if wants_screen && args.output.count.is_none() && std::io::stdout().is_terminal() {
        return on_screen(args, recording);
    }
    let pacing = Pacing {
        speed: args.speed.unwrap_or(mcptop::source::replay::Speed::Max),
        idle_limit: args.idle_limit,
        start_at: args.start_at.unwrap_or_default(),
    };
    let skipped = recording.skipped;
    super::runtime()?.block_on(async {
        let (tx, rx) = mpsc::channel(1024);
        let stop = CancellationToken::new();
        let player = tokio::spawn(play_tape(
            recording.started_at,
            recording.tape,
            pacing,
            tx,
            stop.clone(),
        ));
        let ended = consume(rx, &args.output, None, None, None).await;
        stop.cancel();
        let _ = player.await;
        if args.output.summary && skipped > 0 {
            println!(
                "{skipped} unreadable line{} of the recording skipped",
                if skipped == 1 { "" } else { "s" }
            );
        }
        match ended? {
            Ended::Done => Ok(()),
            Ended::Source(why) => match Exit::from_stop(&why) {
                Some(exit) => Err(exit.into()),
                None => Ok(()),
            },
        }
    })
}

/// Shortens every quiet spell longer than `limit` to `limit`.
fn compress_idle(
    items: &mut [(std::time::Duration, mcptop::source::SourceEvent)],
    limit: std::time::Duration,
) {
    let mut removed = std::time::Duration::ZERO;
    let mut previous = std::time::Duration::ZERO;
    for (at, _) in items.iter_mut() {
        let gap = at.saturating_sub(previous);
        previous = *at;
        if gap > limit {
            removed += gap - limit;
        }
        *at = at.saturating_sub(removed);
    }
}

/// The recording in the monitor, with replay controls.
fn on_screen(args: &ReplayArgs, recording: mcptop::recording::Opened) -> Result<()> {
    use mcptop::ui::app::{App, SourceLabel};
    use mcptop::ui::player::Player;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let label = SourceLabel {
        daemon: recording
            .source
            .daemon
            .clone()
            .unwrap_or_default()
            .trim_start_matches("http://")
            .to_owned(),
        transport: recording
            .source
            .transport
            .clone()
            .unwrap_or_default()
            .to_uppercase(),
        session: recording.source.label.clone().unwrap_or_default(),
    };
    // Cutting quiet spells moves every later item: that one is held in memory.
    let mut player = match args.idle_limit {
        Some(limit) => {
            let mut whole = load(&args.file)?;
            compress_idle(&mut whole.items, limit);
            Player::new(name, whole)
        }
        None => Player::opened(name, recording),
    };
    player.speed = match args.speed {
        None => 1.0,
        Some(mcptop::source::replay::Speed::Factor(f)) => f,
        Some(mcptop::source::replay::Speed::Max) => 64.0,
    };
    let settings = args.screen.settings()?;
    let mut app = App::new(label, player.clock());
    if let Some(settings) = &settings {
        settings.apply(&mut app);
    }
    if let Some(start) = args.start_at {
        player.seek(start, &mut app.feed);
    }
    app.connection = mcptop::ui::app::LinkState::Replay(player.header());
    app.player = Some(player);
    super::runtime()?.block_on(async {
        let (_tx, rx) = mpsc::channel(1);
        let app = mcptop::ui::run(app, rx, args.screen.options_with(settings.as_ref())).await?;
        super::watch::after_screen(&app, args.output.summary)
    })
}
