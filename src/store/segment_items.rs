//! The items each segment engages with most, for the segment explorer:
//! events of the active segmentation's users over the last `days` before
//! the newest event, weighted purchase 3, cart 2, anything else 1, the
//! top `n` per segment by a window function (SQLite and PostgreSQL alike).

use super::report::raw;
use super::{Store, StoreError, ctx};
use sea_orm::ConnectionTrait;

/// One of a segment's top items.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentItemRow {
    /// The segment.
    pub segment_id: i32,
    /// The item.
    pub item_id: String,
    /// Its title (the id when the item is unknown).
    pub title: String,
    /// The weighted event count.
    pub score: f64,
}

const TOP_ITEMS: &str = "\
WITH recent AS (
  SELECT a.segment_id, e.item_id,
         SUM(CASE e.event WHEN 'purchase' THEN 3 WHEN 'cart' THEN 2 ELSE 1 END) AS score
  FROM events e
  JOIN segment_assignments a ON a.user_id = e.user_id AND a.model_id = ?
  WHERE e.item_id IS NOT NULL
    AND e.ts >= (SELECT COALESCE(MAX(ts), 0) FROM events) - ?
  GROUP BY a.segment_id, e.item_id
), ranked AS (
  SELECT segment_id, item_id, score,
         ROW_NUMBER() OVER (PARTITION BY segment_id ORDER BY score DESC, item_id) AS place
  FROM recent
)
SELECT r.segment_id, r.item_id, COALESCE(i.title, r.item_id) AS title,
       CAST(r.score AS DOUBLE PRECISION) AS score
FROM ranked r LEFT JOIN items i ON i.item_id = r.item_id
WHERE r.place <= ?
ORDER BY r.segment_id, r.place";

impl Store {
    /// The top `n` items of every segment of segment model `model_id`
    /// over the `days` before the newest event, by segment then rank.
    pub async fn segment_top_items(
        &self,
        model_id: i64,
        days: i64,
        n: i64,
    ) -> Result<Vec<SegmentItemRow>, StoreError> {
        let window = days * 86_400_000;
        let stmt = raw(
            self.backend(),
            TOP_ITEMS,
            vec![model_id.into(), window.into(), n.into()],
        );
        let rows = self
            .db()
            .query_all_raw(stmt)
            .await
            .map_err(ctx("read segment top items"))?;
        rows.iter()
            .map(|r| {
                Ok(SegmentItemRow {
                    segment_id: r.try_get("", "segment_id")?,
                    item_id: r.try_get("", "item_id")?,
                    title: r.try_get("", "title")?,
                    score: r.try_get("", "score")?,
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ctx("read segment top items"))
    }
}
