//! Points never drift: racing `achieve`, `approve` and `claim` calls apply exactly once, and a
//! claim never takes the points below zero, on both stores.

use futures_util::future::join_all;
use serde_json::json;

use super::assignments::{assign, classroom};
use crate::on_both_stores;
use crate::support::shapes::id;
use crate::support::{Db, Kv, Res, spawn_app};

const RACERS: usize = 50;

/// How many of the answers were 200 and how many 409; anything else fails the test.
fn tally(results: &[Res]) -> (usize, usize) {
    for r in results {
        assert!(matches!(r.status, 200 | 409), "{}: {}", r.status, r.text);
    }
    let ok = results.iter().filter(|r| r.status == 200).count();
    (ok, results.len() - ok)
}

async fn racing_transitions_apply_once(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let c = classroom(&app, "Ms Race", "710001", 170).await;
    let aid = assign(&app, &c).await;

    let achieve = format!("/assign-task/achieve/{aid}");
    let results =
        join_all((0..RACERS).map(|_| app.patch(&achieve, Some(&c.student.token), json!({})))).await;
    assert_eq!(tally(&results), (1, RACERS - 1), "achieve");

    let approve = format!("/assign-task/approve/{aid}");
    let results =
        join_all((0..RACERS).map(|_| app.patch(&approve, Some(&c.teacher.token), json!({})))).await;
    assert_eq!(tally(&results), (1, RACERS - 1), "approve");

    let student = app.stored_student(&c.student.id).await;
    assert_eq!(
        (student.points, student.pending_points, student.level),
        (170, 0, 2)
    );

    // Two rewards of 100 each, offered three times over, claimed by 50 racing requests: only one
    // claim fits in 170 points.
    let mut offered = Vec::new();
    for price in [100, 100] {
        let reward = app
            .create(
                &c.teacher.token,
                "/reward/create-reward",
                json!({"name": "Prize", "image": "/images/gift.png", "requiredPoints": price}),
            )
            .await;
        for _ in 0..3 {
            let data = app
                .create(
                    &c.teacher.token,
                    "/assign-reward",
                    json!({"reward": id(&reward), "student": c.student.id.to_string()}),
                )
                .await;
            offered.push(id(&data));
        }
    }
    let paths: Vec<String> = (0..RACERS)
        .map(|i| format!("/assign-reward/claim/{}", offered[i % offered.len()]))
        .collect();
    let results = join_all(
        paths
            .iter()
            .map(|p| app.post(p, Some(&c.student.token), json!({}))),
    )
    .await;
    assert_eq!(tally(&results), (1, RACERS - 1), "claim");

    let student = app.stored_student(&c.student.id).await;
    // The level follows the points earned (170), which a claim does not lower.
    assert_eq!(
        (
            student.points,
            student.rewards,
            student.earned_points,
            student.level
        ),
        (70, 1, 170, 2)
    );
    let Res { body, .. } = app.get("/assign-reward/earn", Some(&c.student.token)).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["data"][0]["paid"], 100);
}

on_both_stores!(racing_transitions_apply_once);
