//! The sandbox's OAuth2 token endpoint: the JWT bearer grant (RFC 7523) a
//! Google service account makes, answered with Google's JSON. The assertion
//! is read leniently (some clients pad their base64url) and its RS256 signature
//! verified against the configured public key.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::Algorithm;
use serde_json::json;

use super::super::jwt::Jwt;
use super::super::record::{Received, header_pairs};
use super::{FcmState, OAUTH_PROVIDER, TOKEN_PATH};

/// The grant type of a service-account assertion.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The scope FCM needs.
const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// An OAuth error: `error` code and description.
type OAuthError = (&'static str, &'static str);

/// `POST /token`.
pub(super) async fn token(
    State(state): State<Arc<FcmState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = match grant(&state, &body) {
        Ok(access_token) => {
            let expires_in = state.config.token_lifetime.as_secs();
            let body = json!({"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer"});
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err((error, description)) => {
            let body = json!({"error": error, "error_description": description});
            (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
        }
    };
    state.shared.record.push(Received {
        provider: OAUTH_PROVIDER,
        method: "POST".to_owned(),
        path: TOKEN_PATH.to_owned(),
        headers: header_pairs(&headers),
        body: body.to_vec(),
        address: None,
        status: response.status().as_u16(),
        at: SystemTime::now(),
    });
    response
}

/// Checks the grant and issues an access token; refuses every grant while
/// the faults refuse credentials (a revoked or deleted key).
fn grant(state: &FcmState, body: &[u8]) -> Result<String, OAuthError> {
    if state.shared.faults.refuses_credentials() {
        return Err(("invalid_grant", "Invalid JWT Signature."));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("grant_type") != Some(JWT_BEARER) {
        return Err(("unsupported_grant_type", "Invalid grant_type."));
    }
    let assertion =
        field("assertion").ok_or(("invalid_request", "Missing required parameter: assertion"))?;
    let jwt = Jwt::parse(assertion).ok_or(("invalid_grant", "Invalid JWT."))?;
    check_assertion(state, &jwt)?;
    let access_token = format!("ya29.sandbox-{:08x}", state.next());
    let expires = Instant::now() + state.config.token_lifetime;
    state.issued().insert(access_token.clone(), expires);
    Ok(access_token)
}

/// Signature, issuer, audience, lifetime and scope of the assertion.
fn check_assertion(state: &FcmState, jwt: &Jwt) -> Result<(), OAuthError> {
    let signed = match &state.key {
        Some(key) => jwt.verify(key, Algorithm::RS256),
        None => jwt.header_str("alg") == Some("RS256"),
    };
    if !signed {
        return Err(("invalid_grant", "Invalid JWT Signature."));
    }
    let issuer_ok = state
        .config
        .client_email
        .as_deref()
        .is_none_or(|e| jwt.claim_str("iss") == Some(e));
    if !issuer_ok {
        return Err(("invalid_grant", "Invalid JWT issuer."));
    }
    if jwt.claim_str("aud") != Some(state.token_uri.as_str()) {
        return Err(("invalid_grant", "Invalid JWT audience."));
    }
    check_lifetime(jwt)?;
    let scoped = jwt
        .claim_str("scope")
        .is_some_and(|s| s.split(' ').any(|s| s == FCM_SCOPE));
    if !scoped {
        return Err(("invalid_scope", "The firebase.messaging scope is required."));
    }
    Ok(())
}

/// `iat` not in the future, `exp` not past and at most an hour after `iat`.
fn check_lifetime(jwt: &Jwt) -> Result<(), OAuthError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let (Some(iat), Some(exp)) = (jwt.claim_i64("iat"), jwt.claim_i64("exp")) else {
        return Err(("invalid_grant", "Invalid JWT: iat and exp are required."));
    };
    if iat > now + 60 || exp <= now || exp - iat > 3600 {
        return Err((
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        ));
    }
    Ok(())
}
