//! The HTTP transport to FCM HTTP v1: `POST
//! {endpoint}/v1/projects/{project_id}/messages:send` with the OAuth2
//! bearer, over one HTTP/2 client shared by every send.

use std::time::Duration;

use url::Url;

use super::FcmError;
use crate::channels::http::{http2_client, retry_after};

/// The parts of an FCM response the classifier reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FcmReply {
    /// HTTP status.
    pub status: u16,
    /// The `Retry-After` delay, if given.
    pub retry_after: Option<Duration>,
    /// The JSON body: `{"name"}` or `{"error": ...}`.
    pub body: String,
}

/// The FCM HTTP/2 client.
pub(crate) struct FcmClient {
    /// Shared by every send.
    http: reqwest::Client,
    /// The `messages:send` URL of the project.
    send_url: String,
}

impl FcmClient {
    /// A client for `project_id` at `endpoint`.
    pub(crate) fn new(endpoint: &Url, project_id: &str) -> Result<Self, FcmError> {
        let http = http2_client(Vec::new()).map_err(FcmError::Client)?;
        let send_url = format!(
            "{}/v1/projects/{}/messages:send",
            endpoint.as_str().trim_end_matches('/'),
            url::form_urlencoded::byte_serialize(project_id.as_bytes()).collect::<String>()
        );
        Ok(Self { http, send_url })
    }

    /// Posts one message body; `now` anchors a Retry-After date.
    pub(crate) async fn post(
        &self,
        body: String,
        bearer: &str,
        now: i64,
    ) -> Result<FcmReply, reqwest::Error> {
        let response = self
            .http
            .post(&self.send_url)
            .bearer_auth(bearer)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers(), now);
        let body = response.text().await?;
        Ok(FcmReply {
            status,
            retry_after,
            body,
        })
    }
}
