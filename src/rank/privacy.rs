//! Privacy requests that reach into the ranking models: a trained model
//! keeps every user's folded history (its [`Snapshot`], and the user-kNN
//! item lists), and the precomputed lists are per user. Erasing a user
//! erases the rows ([`Store::erase_user`]) and then rewrites every stored
//! model whose snapshot holds the user: the history is dropped, the user
//! leaves the user-kNN neighbour lists, and the snapshot's id becomes the
//! pseudonym (indices stay, so the model's other users are unchanged).
//! Exporting adds the user's lists and stored histories to the store's
//! export. Both are what the API and `herald user` call.
//!
//! A model of an older format cannot be read, so it cannot be rewritten
//! either; it is reported in the log (retrain, then the old row no longer
//! matters once a newer model is active; delete it to drop the history).

use serde_json::{Value, json};

use super::RankError;
use super::lists::UserList;
use super::models::userknn::UserKnn;
use super::recommend::Snapshot;
use super::state::{decode_model, encode_model};
use crate::store::{Erasure, Store, UserExport};

/// Erases `user_id` (see the module doc); idempotent.
pub async fn erase_user(store: &Store, user_id: &str) -> Result<Erasure, RankError> {
    let mut erasure = store.erase_user(user_id).await?;
    for model_id in store.rank_model_ids().await? {
        if forget_in_model(store, model_id, user_id, &erasure.pseudonym).await? {
            erasure.models += 1;
        }
    }
    Ok(erasure)
}

/// Everything held about `user_id`, the ranking models' part included.
pub async fn export_user(store: &Store, user_id: &str) -> Result<UserExport, RankError> {
    let mut export = store.export_user(user_id).await?;
    for (model_id, bytes) in store.user_rank_lists(user_id).await? {
        let list = UserList::decode(&bytes).map_err(|e| RankError::Decode(e.to_string()))?;
        let items: Vec<Value> = list
            .items
            .iter()
            .map(|i| json!({ "item_id": i.item_id, "score": i.score, "reason": i.reason }))
            .collect();
        export
            .rank_lists
            .push(json!({ "model_id": model_id, "items": items }));
    }
    for model_id in store.rank_model_ids().await? {
        if let Some(history) = model_history(store, model_id, user_id).await? {
            export.model_history.push(history);
        }
    }
    Ok(export)
}

/// The user's stored history in one model, if it holds the user.
async fn model_history(
    store: &Store,
    model_id: i64,
    user_id: &str,
) -> Result<Option<Value>, RankError> {
    let Some(row) = store.rank_model(model_id).await? else {
        return Ok(None);
    };
    let Ok((_, _, catalog, snapshot)) = decode_model(&row.state) else {
        tracing::warn!(
            model_id,
            "an unreadable ranking model is left out of the export"
        );
        return Ok(None);
    };
    let Some(u) = snapshot.user_ids.iter().position(|id| id == user_id) else {
        return Ok(None);
    };
    let history: Vec<Value> = snapshot
        .history(u)
        .iter()
        .map(|e| {
            let item = catalog
                .ids
                .get(e.item as usize)
                .cloned()
                .unwrap_or_default();
            json!({ "item_id": item, "t": e.t, "signal": e.signal })
        })
        .collect();
    Ok(Some(json!({ "model_id": model_id, "history": history })))
}

/// Rewrites one model without `user_id`; true when it held the user.
async fn forget_in_model(
    store: &Store,
    model_id: i64,
    user_id: &str,
    alias: &str,
) -> Result<bool, RankError> {
    let Some(row) = store.rank_model(model_id).await? else {
        return Ok(false);
    };
    let (mut base, blend, catalog, mut snapshot) = match decode_model(&row.state) {
        Ok(parts) => parts,
        Err(error) => {
            tracing::warn!(model_id, %error, "cannot erase a user from an unreadable ranking model; retrain and delete it");
            return Ok(false);
        }
    };
    let Some(u) = snapshot.user_ids.iter().position(|id| id == user_id) else {
        return Ok(false);
    };
    forget_in_snapshot(&mut snapshot, u, alias);
    forget_in_user_knn(&mut base.user_knn, u as u32);
    let state = encode_model(&base, &blend, &catalog, &snapshot);
    store.replace_rank_model_state(model_id, state).await?;
    Ok(true)
}

/// Drops snapshot user `u`'s history and renames it `alias`.
pub fn forget_in_snapshot(snapshot: &mut Snapshot, u: usize, alias: &str) {
    let (Some(&a), Some(&b)) = (snapshot.offsets.get(u), snapshot.offsets.get(u + 1)) else {
        return;
    };
    snapshot.entries.drain(a as usize..b as usize);
    for offset in &mut snapshot.offsets[u + 1..] {
        *offset -= b - a;
    }
    snapshot.user_ids[u] = alias.to_owned();
}

/// Drops user `u`'s items and removes `u` from every item's users.
pub fn forget_in_user_knn(model: &mut UserKnn, u: u32) {
    let i = u as usize;
    if let (Some(&a), Some(&b)) = (model.user_offsets.get(i), model.user_offsets.get(i + 1)) {
        model.items.drain(a as usize..b as usize);
        for offset in &mut model.user_offsets[i + 1..] {
            *offset -= b - a;
        }
    }
    let mut users = Vec::with_capacity(model.users.len());
    let mut offsets = Vec::with_capacity(model.offsets.len());
    offsets.extend(model.offsets.first().copied());
    for window in model.offsets.windows(2) {
        let list = &model.users[window[0] as usize..window[1] as usize];
        users.extend(list.iter().copied().filter(|&v| v != u));
        offsets.push(users.len() as u32);
    }
    model.users = users;
    model.offsets = offsets;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::dataset::{Interaction, Signal};

    fn seen(item: u32) -> Interaction {
        Interaction {
            item,
            t: 7,
            signal: Signal::Purchase,
        }
    }

    #[test]
    fn forgetting_a_snapshot_user_drops_only_their_history_and_id() {
        let mut snapshot = Snapshot {
            user_ids: vec!["a".into(), "b".into(), "c".into()],
            offsets: vec![0, 1, 3, 4],
            entries: vec![seen(0), seen(1), seen(2), seen(3)],
            until_ms: 9,
        };
        forget_in_snapshot(&mut snapshot, 1, "erased-x");
        assert_eq!(snapshot.user_ids, ["a", "erased-x", "c"]);
        assert_eq!(snapshot.offsets, [0, 1, 1, 2]);
        assert!(snapshot.history(1).is_empty());
        assert_eq!(snapshot.history(2), [seen(3)]);
    }

    #[test]
    fn forgetting_a_user_knn_user_drops_their_items_and_neighbour_entries() {
        let mut model = UserKnn {
            neighbours: 5,
            offsets: vec![0, 2, 3],
            users: vec![0, 1, 1],
            user_offsets: vec![0, 1, 3],
            items: vec![0, 0, 1],
        };
        forget_in_user_knn(&mut model, 1);
        assert_eq!(model.users, [0]);
        assert_eq!(model.offsets, [0, 1, 1]);
        assert_eq!(model.items, [0]);
        assert_eq!(model.user_offsets, [0, 1, 1]);
    }
}
