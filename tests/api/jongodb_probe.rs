//! What the jongodb test server does not guarantee, shown with the raw driver (docs/decisions.md,
//! "A points move applied twice on jongodb"). Ignored: it shows a property of the test server, not
//! of our code, and a race shows only sometimes. Run with `scripts/test.sh jongodb_probe
//! --run-ignored only`.

use futures_util::future::join_all;
use mongodb::bson::{Document, doc};

use crate::support::services;
use crate::support::store::database;

const CALLERS: usize = 50;

/// `findAndModify` on jongodb finds the matching document, then updates it by `_id` in a second
/// step without matching the filter again, so racing callers with the same conditional filter
/// can all "win". MongoDB applies the filter and the update to a document atomically: one wins.
/// `update` (`updateOne`) matches and writes under one lock on jongodb too.
#[tokio::test]
#[ignore = "a probe of the test server"]
async fn find_and_modify_on_jongodb_is_not_atomic() {
    let db = database(&services::fresh_mongodb_url()).await;
    let coll = db.collection::<Document>("probe");
    let mut fam_wins = 0;
    let mut update_wins = 0;
    for round in 0..200 {
        coll.insert_one(doc! { "_id": round, "taken": false, "n": 0 })
            .await
            .unwrap();
        let won = join_all((0..CALLERS).map(|_| async {
            coll.find_one_and_update(
                doc! { "_id": round, "taken": false },
                doc! { "$set": { "taken": true }, "$inc": { "n": 1 } },
            )
            .await
        }))
        .await;
        fam_wins = fam_wins.max(won.iter().filter(|r| matches!(r, Ok(Some(_)))).count());

        let id = 1_000 + round;
        coll.insert_one(doc! { "_id": id, "taken": false, "n": 0 })
            .await
            .unwrap();
        let won = join_all((0..CALLERS).map(|_| async {
            coll.update_one(
                doc! { "_id": id, "taken": false },
                doc! { "$set": { "taken": true }, "$inc": { "n": 1 } },
            )
            .await
        }))
        .await;
        let wins = won
            .iter()
            .filter(|r| matches!(r, Ok(u) if u.modified_count == 1))
            .count();
        update_wins = update_wins.max(wins);
    }
    println!("most winners of one round: findAndModify {fam_wins}, updateOne {update_wins}");
    assert_eq!(update_wins, 1, "updateOne must stay atomic");
    assert!(
        fam_wins > 1,
        "findAndModify let one caller through in every round (jongodb may have fixed it)"
    );
}
