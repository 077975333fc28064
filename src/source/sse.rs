//! One SSE connection to `/session/{id}/events`: reqwest's byte stream through our decoder.

use tokio::sync::mpsc;

use super::link::{
    describe, not_an_event_stream, read_events, retry_after, Attempt, Ended, Resume,
};
use super::{LinkStatus, Timed, Transport};

pub(super) async fn run(
    client: &reqwest::Client,
    attempt: &Attempt<'_>,
    resume: &mut Resume,
    tx: &mpsc::Sender<Timed>,
) -> Ended {
    let url = match crate::endpoint::join(
        attempt.base_url,
        &["session", &attempt.session_id, "events"],
        &[],
    ) {
        Ok(url) => url,
        Err(e) => return Ended::Unreachable(e),
    };
    let mut request = client
        .get(url)
        .bearer_auth(attempt.token)
        .header("accept", "text/event-stream");
    if !resume.last_id.is_empty() {
        request = request.header("last-event-id", &resume.last_id);
    }
    let response = match tokio::time::timeout(attempt.idle_timeout, request.send()).await {
        Err(_) => return Ended::Unreachable("no answer to the request".into()),
        Ok(Err(e)) => return Ended::Unreachable(describe(&e)),
        Ok(Ok(r)) => r,
    };
    let status = response.status().as_u16();
    if status != 200 {
        resume.retry_after = retry_after(&response);
        return Ended::refused(response).await;
    }
    let content_type = super::link::content_type(&response);
    if !content_type.starts_with("text/event-stream") {
        return not_an_event_stream(response, content_type).await;
    }
    let resumed = !resume.last_id.is_empty();
    let connected = LinkStatus::Connected {
        transport: Transport::Sse,
        session_id: attempt.session_id.clone(),
        resumed,
    };
    read_events(response, connected, attempt, resume, tx).await
}
