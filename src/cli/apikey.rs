//! `herald apikey create|list|revoke`: the keys of the `/api/v1` API. A
//! new key is printed once (only its SHA-256 is stored); `list` shows ids,
//! names, visible prefixes and use; `revoke` makes a key answer 403.

use crate::api::auth::generate_key;
use crate::config::Settings;
use crate::domain::{millis_to_rfc3339, now_millis};
use crate::store::ApiKeyRow;
use clap::{Args, Subcommand};

/// Arguments of `herald apikey`.
#[derive(Debug, Args)]
pub struct ApikeyArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ApikeyAction,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The key actions.
#[derive(Debug, Subcommand)]
pub enum ApikeyAction {
    /// Make a key and print it once (store it safely: it cannot be shown again).
    Create {
        /// What the key is for, e.g. the calling service.
        name: String,
    },
    /// List keys: id, name, prefix, created, last used, revoked.
    List,
    /// Revoke a key: requests with it get 403 from now on.
    Revoke {
        /// The key id (from `herald apikey list`).
        id: i64,
    },
}

/// Runs `herald apikey`.
pub async fn run(settings: &Settings, args: ApikeyArgs) -> anyhow::Result<()> {
    let store = super::open_store(settings).await?;
    let result = match args.action {
        ApikeyAction::Create { name } => create(&store, &name, args.json).await,
        ApikeyAction::List => list(&store, args.json).await,
        ApikeyAction::Revoke { id } => revoke(&store, id, args.json).await,
    };
    store.close().await;
    result
}

async fn create(store: &crate::store::Store, name: &str, json: bool) -> anyhow::Result<()> {
    let name = name.trim();
    if name.is_empty() {
        return Err(
            super::UsageError("give the key a name: herald apikey create NAME".into()).into(),
        );
    }
    let key = generate_key();
    let id = store
        .insert_api_key(name, &key.prefix, &key.hash, now_millis())
        .await?;
    if json {
        let doc =
            serde_json::json!({"key_id": id, "name": name, "prefix": key.prefix, "key": key.key});
        println!("{doc}");
    } else {
        println!("{}", key.key);
        eprintln!("key {id} ({name}) created; it is shown only this once");
    }
    Ok(())
}

fn when(ms: Option<i64>) -> String {
    ms.map(millis_to_rfc3339).unwrap_or_else(|| "-".into())
}

fn row_json(row: &ApiKeyRow) -> serde_json::Value {
    serde_json::json!({
        "key_id": row.key_id, "name": row.name, "prefix": row.prefix,
        "created_at": millis_to_rfc3339(row.created_at),
        "last_used_at": row.last_used_at.map(millis_to_rfc3339),
        "revoked_at": row.revoked_at.map(millis_to_rfc3339),
    })
}

async fn list(store: &crate::store::Store, json: bool) -> anyhow::Result<()> {
    let rows = store.api_keys().await?;
    if json {
        let docs: Vec<_> = rows.iter().map(row_json).collect();
        println!("{}", serde_json::Value::Array(docs));
        return Ok(());
    }
    println!("id\tname\tprefix\tcreated\tlast_used\trevoked");
    for row in &rows {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            row.key_id,
            row.name,
            row.prefix,
            millis_to_rfc3339(row.created_at),
            when(row.last_used_at),
            when(row.revoked_at)
        );
    }
    Ok(())
}

async fn revoke(store: &crate::store::Store, id: i64, json: bool) -> anyhow::Result<()> {
    if !store.revoke_api_key(id, now_millis()).await? {
        anyhow::bail!("no API key {id}: `herald apikey list` shows the ids");
    }
    if json {
        println!("{}", serde_json::json!({"key_id": id, "revoked": true}));
    } else {
        println!("key {id} revoked");
    }
    Ok(())
}
