//! Catalogue items as messages show them: title, price, currency, product
//! and image URLs and extra attributes, read for the few items one page of
//! recommendations names.

use super::{Store, StoreError, ctx};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};
use std::collections::HashMap;

/// One item with everything a template may show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemRow {
    /// The customer's id.
    pub item_id: String,
    /// Display title.
    pub title: String,
    /// Category.
    pub category: Option<String>,
    /// Brand.
    pub brand: Option<String>,
    /// Price in `currency` units.
    pub price: Option<f64>,
    /// ISO 4217 currency code.
    pub currency: Option<String>,
    /// Product page.
    pub url: Option<String>,
    /// Product image.
    pub image_url: Option<String>,
    /// Extra columns (a JSON object; empty when unreadable).
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// Items per `IN (...)` list.
const IN_CHUNK: usize = 1000;

const COLUMNS: [&str; 9] = [
    "item_id",
    "title",
    "category",
    "brand",
    "price",
    "currency",
    "url",
    "image_url",
    "attributes",
];

fn read_item(r: &QueryResult) -> Result<ItemRow, DbErr> {
    let attributes: String = r.try_get("", "attributes")?;
    let attributes = match serde_json::from_str(&attributes) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    Ok(ItemRow {
        item_id: r.try_get("", "item_id")?,
        title: r.try_get("", "title")?,
        category: r.try_get("", "category")?,
        brand: r.try_get("", "brand")?,
        price: r.try_get("", "price")?,
        currency: r.try_get("", "currency")?,
        url: r.try_get("", "url")?,
        image_url: r.try_get("", "image_url")?,
        attributes,
    })
}

impl Store {
    /// The items among `ids` that exist, by id.
    pub async fn items_by_id(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, ItemRow>, StoreError> {
        let mut items = HashMap::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let stmt = Query::select()
                .columns(COLUMNS.map(Alias::new))
                .from(Alias::new("items"))
                .and_where(Expr::col(Alias::new("item_id")).is_in(chunk.iter().map(String::as_str)))
                .to_owned();
            let rows = self
                .db()
                .query_all(&stmt)
                .await
                .map_err(ctx("read items"))?;
            for r in &rows {
                let item = read_item(r).map_err(ctx("read items"))?;
                items.insert(item.item_id.clone(), item);
            }
        }
        Ok(items)
    }
}
