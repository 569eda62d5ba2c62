//! Demo credentials for the sandbox providers: TEST-ONLY keys committed in
//! `keys/` (see its README), publicly known and useless anywhere else. They
//! let `herald demo`, `herald sandbox` and the tests sign APNs provider
//! tokens and FCM OAuth assertions with no setup; the sandbox's default
//! configuration verifies against their public halves.

/// The demo APNs signing key (EC P-256, PKCS#8 PEM, like Apple's `.p8`).
pub const DEMO_APNS_KEY_PEM: &str = include_str!("keys/demo-apns-key.p8");

/// Its public key, which the APNs sandbox verifies tokens with.
pub const DEMO_APNS_PUBLIC_KEY_PEM: &str = include_str!("keys/demo-apns-key.pub.pem");

/// The demo key id (`kid`), 10 characters like Apple's.
pub const DEMO_APNS_KEY_ID: &str = "HERALDDEMO";

/// The demo team id (`iss`).
pub const DEMO_APNS_TEAM_ID: &str = "HERALDTEAM";

/// The demo app's bundle id (`apns-topic`).
pub const DEMO_APNS_TOPIC: &str = "com.example.herald";

/// The demo Firebase project.
pub const DEMO_FCM_PROJECT_ID: &str = "herald-demo";

/// The demo service account's email (the assertion's `iss`).
pub const DEMO_FCM_CLIENT_EMAIL: &str = "herald-demo@herald-demo.iam.gserviceaccount.com";

/// The demo service account's RSA key (PKCS#8 PEM).
pub const DEMO_FCM_KEY_PEM: &str = include_str!("keys/demo-fcm-key.pem");

/// Its public key, which the FCM sandbox's token endpoint verifies with.
pub const DEMO_FCM_PUBLIC_KEY_PEM: &str = include_str!("keys/demo-fcm-key.pub.pem");

/// A service-account JSON for the demo account whose tokens come from
/// `token_uri` (the sandbox's `fcm_token_uri`).
pub fn demo_service_account_json(token_uri: &str) -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": DEMO_FCM_PROJECT_ID,
        "private_key_id": "herald-demo-key",
        "private_key": DEMO_FCM_KEY_PEM,
        "client_email": DEMO_FCM_CLIENT_EMAIL,
        "client_id": "0",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    })
    .to_string()
}
