//! `herald import --format movielens`: both layouts on a small fixture.

use crate::helpers::{test_dbs, write};
use herald::ingest::movielens::import_dir;

#[tokio::test]
async fn recbole_atomic_files_import_users_movies_and_ratings() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ml-100k.user",
        "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n1\t24\tM\ttechnician\t85711\n2\t53\tF\tother\t94043\n",
    );
    write(
        dir.path(),
        "ml-100k.item",
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n10\tToy Story\t1995\tAnimation Children's Comedy\n11\tGoldenEye\t1995\tAction Adventure Thriller\n",
    );
    write(
        dir.path(),
        "ml-100k.inter",
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t10\t5\t881250949\n2\t11\t3\t891717742\n2\t10\t4\t891717743\n",
    );
    for db in test_dbs().await {
        let report = import_dir(&db.store, dir.path(), 0).await.unwrap();
        assert_eq!(
            (report.users, report.items, report.ratings),
            (2, 2, 3),
            "{}",
            db.name()
        );
        let user = db.store.user("1").await.unwrap().unwrap();
        assert_eq!(user.attributes["occupation"], "technician");
        let again = import_dir(&db.store, dir.path(), 0).await.unwrap();
        assert_eq!(
            again.ratings,
            0,
            "{}: a re-import adds no ratings",
            db.name()
        );
    }
}

#[tokio::test]
async fn grouplens_files_import_with_genre_flags() {
    let dir = tempfile::tempdir().unwrap();
    let flags = "0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0";
    write(dir.path(), "u.user", "1|24|M|technician|85711\n");
    write(
        dir.path(),
        "u.item",
        &format!("1|Toy Story (1995)|01-Jan-1995||http://x|{flags}\n"),
    );
    write(dir.path(), "u.data", "1\t1\t5\t874965758\n");
    let db = crate::helpers::sqlite().await;
    let report = import_dir(&db.store, dir.path(), 0).await.unwrap();
    assert_eq!((report.users, report.items, report.ratings), (1, 1, 1));
}

#[tokio::test]
async fn a_folder_without_movielens_files_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::sqlite().await;
    let err = import_dir(&db.store, dir.path(), 0)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no MovieLens files"), "{err}");
}
