//! The HTTP/2 transport to APNs: one reqwest client, HTTP/2 only, whose
//! connection pool multiplexes every concurrent send as a stream.
//!
//! a2's own client cannot be pointed at any host but Apple's, so herald
//! posts the bytes a2's types produced itself: `POST
//! {endpoint}/3/device/{token}` with the bearer token and `apns-*` headers.

use std::time::Duration;

use url::Url;

use super::ApnsError;
use super::payload::ApnsRequest;
use crate::channels::http::{http2_client, retry_after};
use crate::channels::tls::load_ca_file;

/// The parts of an APNs response the classifier reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApnsReply {
    /// HTTP status.
    pub status: u16,
    /// The `apns-id` response header.
    pub apns_id: Option<String>,
    /// The `Retry-After` delay, if given.
    pub retry_after: Option<Duration>,
    /// The body (`{"reason": ...}` on errors).
    pub body: String,
}

/// The APNs HTTP/2 client.
pub(crate) struct ApnsClient {
    /// Shared by every send; its pool holds the HTTP/2 connections.
    http: reqwest::Client,
    /// `{endpoint}/3/device/`, ready for a token.
    device_base: String,
}

impl ApnsClient {
    /// A client for `endpoint`, trusting `ca_file` in addition to the
    /// platform roots.
    pub(crate) fn new(
        endpoint: &Url,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Self, ApnsError> {
        let roots = match ca_file {
            Some(path) => load_ca_file(path)?,
            None => Vec::new(),
        };
        let http = http2_client(roots).map_err(ApnsError::Client)?;
        let device_base = format!("{}/3/device/", endpoint.as_str().trim_end_matches('/'));
        Ok(Self { http, device_base })
    }

    /// Posts one notification; `now` (Unix seconds) anchors a Retry-After
    /// date. Errors are transport errors, without the URL (it holds the
    /// device token).
    pub(crate) async fn post(
        &self,
        device_token: &str,
        request: ApnsRequest,
        bearer: &str,
        now: i64,
    ) -> Result<ApnsReply, reqwest::Error> {
        let mut builder = self
            .http
            .post(format!("{}{device_token}", self.device_base))
            .header(reqwest::header::AUTHORIZATION, format!("bearer {bearer}"));
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let response = builder
            .body(request.body.clone())
            .send()
            .await
            .map_err(|e| e.without_url())?;
        let status = response.status().as_u16();
        let apns_id = header(&response, "apns-id");
        let retry_after = retry_after(response.headers(), now);
        let body = response.text().await.map_err(|e| e.without_url())?;
        Ok(ApnsReply {
            status,
            apns_id,
            retry_after,
            body,
        })
    }
}

/// A response header as text.
fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    let value = response.headers().get(name)?.to_str().ok()?;
    Some(value.to_owned())
}
