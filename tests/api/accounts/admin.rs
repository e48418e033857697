//! `/admin/*` and the admins' lists: profile, `PATCH /admin` as the dashboard's multipart form,
//! the dashboard overview, `GET /teacher?search=&page=`, `POST /teacher/create-teacher`,
//! `GET /student/all?page=&search=`.

use chrono::Datelike;
use reqwest::Method;
use serde_json::json;

use crate::on_both_stores;
use crate::support::accounts::{DEFAULT_AVATAR, PNG, SUPER_EMAIL, SUPER_PASSWORD};
use crate::support::shapes::{assert_document, assert_pagination, keys, names};
use crate::support::{Db, TestApp, session};

async fn admin_profile_has_the_dashboards_fields(db: Db) {
    let api = TestApp::start(db).await;
    let s = api.super_admin().await;
    let res = api.get("/admin/profile", Some(&s.token)).await;
    let me = res.ok();
    assert_document(me);
    assert_eq!(me["role"], "SUPER_ADMIN");
    assert_eq!(me["email"], SUPER_EMAIL);
    assert_eq!(me["name"], "Super Admin");
    assert_eq!(me["contact"], "");
    assert_eq!(me["location"], "");
    assert_eq!(me["profile"], DEFAULT_AVATAR, "never null");
    let mut fields = keys(me);
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "__v",
            "_id",
            "contact",
            "createdAt",
            "email",
            "location",
            "name",
            "profile",
            "role",
            "updatedAt"
        ]
    );
    let (status, content_type, _) = api.file(DEFAULT_AVATAR).await;
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
}

async fn patch_admin_as_multipart_with_and_without_an_image(db: Db) {
    let api = TestApp::start(db).await;
    let s = api.super_admin().await;
    let fields = [
        ("name", "Ada Admin"),
        ("email", "Ada.Admin@Quokki.test"),
        ("contact", "+44 20 7946 0000"),
        ("location", "London"),
    ];
    let res = api
        .send(Method::PATCH, "/admin")
        .bearer(&s.token)
        .multipart(&fields, None)
        .await;
    let updated = res.ok();
    assert_eq!(updated["name"], "Ada Admin");
    assert_eq!(updated["email"], "ada.admin@quokki.test");
    assert_eq!(updated["profile"], DEFAULT_AVATAR);
    let me = api.get("/admin/profile", Some(&s.token)).await;
    let me = me.ok();
    assert_eq!(me["contact"], "+44 20 7946 0000");
    assert_eq!(me["location"], "London");
    // The email is the login from now on.
    session(
        &api.admin_login("ada.admin@quokki.test", SUPER_PASSWORD)
            .await,
    );
    api.admin_login(SUPER_EMAIL, SUPER_PASSWORD)
        .await
        .status(401);

    // With an image only: the other fields stay.
    let res = api
        .send(Method::PATCH, "/admin")
        .bearer(&s.token)
        .multipart(&[], Some((PNG, "me.png", "image/png")))
        .await;
    let profile = res.ok()["profile"].as_str().unwrap().to_owned();
    assert!(
        profile.starts_with("/images/") && profile.ends_with(".png"),
        "{profile}"
    );
    assert_eq!(res.data()["name"], "Ada Admin");
    let (status, content_type, bytes) = api.file(&profile).await;
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
    assert_eq!(bytes, PNG);
    let me = api.get("/admin/profile", Some(&s.token)).await;
    assert_eq!(me.ok()["profile"], profile.as_str());

    // Not an image: refused, nothing changes.
    api.send(Method::PATCH, "/admin")
        .bearer(&s.token)
        .multipart(
            &[("name", "Changed")],
            Some((b"just text", "me.png", "image/png")),
        )
        .await
        .status(400);
    // A bad email is refused.
    api.send(Method::PATCH, "/admin")
        .bearer(&s.token)
        .multipart(&[("email", "not-an-email")], None)
        .await
        .status(400);
    let me = api.get("/admin/profile", Some(&s.token)).await;
    assert_eq!(me.ok()["name"], "Ada Admin");
}

async fn dashboard_overview_counts_the_last_twelve_months(db: Db) {
    let api = TestApp::start(db).await;
    let s = api.super_admin().await;
    let empty = api.get("/admin/dashboard-overview", Some(&s.token)).await;
    assert_eq!(empty.ok()["totalTeacher"], 0);
    assert_eq!(empty.data()["totalStudent"], 0);

    let a = api.teacher("Ann Teacher").await;
    let b = api.teacher("Ben Teacher").await;
    api.post(
        "/teacher/create-teacher",
        Some(&s.token),
        json!({"name": "Cy Teacher", "email": "cy@school.test", "contact": "1", "location": "X", "password": "482913"}),
    )
    .await
    .ok();
    api.create_student(&a.token, "S1", json!("100001"), "One")
        .await;
    api.create_student(&b.token, "S2", json!("100002"), "Two")
        .await;

    let res = api.get("/admin/dashboard-overview", Some(&s.token)).await;
    let o = res.ok();
    assert_eq!(o["totalTeacher"], 3);
    assert_eq!(o["totalStudent"], 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let current = chrono::Utc::now().month0() as usize;
    let expected: Vec<&str> = (0..12).map(|i| MONTHS[(current + 1 + i) % 12]).collect();
    for (list, count) in [("teacherGrowth", "teacher"), ("studentGrowth", "student")] {
        let months = o[list].as_array().unwrap();
        assert_eq!(months.len(), 12, "{list}");
        let got: Vec<&str> = months.iter().map(|m| m["name"].as_str().unwrap()).collect();
        assert_eq!(
            got, expected,
            "{list}: oldest first, ending with this month"
        );
        for m in &months[..11] {
            assert_eq!(m[count], 0, "{list}: {m}");
        }
        let mut fields = keys(&months[11]);
        fields.sort_unstable();
        assert_eq!(fields, ["name", count]);
    }
    assert_eq!(o["teacherGrowth"][11]["teacher"], 3);
    assert_eq!(o["studentGrowth"][11]["student"], 2);
}

async fn teacher_list_for_admins(db: Db) {
    let api = TestApp::start(db).await;
    let s = api.super_admin().await;
    for i in 0..11 {
        let password = format!("7{i:05}");
        api.watch(&password);
        api.post(
            "/teacher/create-teacher",
            Some(&s.token),
            json!({
                "name": format!("Listed {i:02}"),
                "email": format!("listed{i}@school.test"),
                "contact": "555",
                "location": "Town",
                "password": password,
            }),
        )
        .await
        .ok();
    }
    let with_students = api.teacher("Zed Unique").await;
    for (i, code) in ["200001", "200002", "200003"].into_iter().enumerate() {
        api.create_student(&with_students.token, &format!("Kid {i}"), json!(code), "K")
            .await;
    }

    // The dashboard's first page: `page=undefined` and an empty search.
    let res = api
        .get("/teacher?search=&page=undefined", Some(&s.token))
        .await;
    res.ok();
    assert_pagination(&res, 1, 12);
    let first = res.data().as_array().unwrap();
    assert_eq!(first.len(), 10);
    // Newest first.
    assert_eq!(first[0]["name"], "Zed Unique");
    assert_eq!(first[0]["totalStudent"], 3);
    for t in first {
        assert_document(t);
        for field in ["name", "email", "contact", "profile", "totalStudent"] {
            assert!(!t[field].is_null(), "{field}: {t}");
        }
        assert_eq!(t["profile"], DEFAULT_AVATAR);
        assert!(t.get("password").is_none(), "{t}");
        assert!(t.get("passcode").is_none(), "{t}");
    }
    let page2 = api.get("/teacher?search=&page=2", Some(&s.token)).await;
    page2.ok();
    assert_pagination(&page2, 2, 12);
    assert_eq!(page2.data().as_array().unwrap().len(), 2);
    let past = api.get("/teacher?page=9", Some(&s.token)).await;
    assert_eq!(past.ok(), &json!([]));
    assert_pagination(&past, 9, 12);
    let none = api.get("/teacher", Some(&s.token)).await;
    assert_pagination(&none, 1, 12);

    // Search by name (any case) or email.
    let found = api
        .get("/teacher?search=zed%20UNI&page=1", Some(&s.token))
        .await;
    assert_eq!(names(found.ok()), ["Zed Unique"]);
    assert_pagination(&found, 1, 1);
    let found = api.get("/teacher?search=listed1", Some(&s.token)).await;
    let mut got = names(found.ok());
    got.sort();
    assert_eq!(got, ["Listed 01", "Listed 10"]);
    let nothing = api.get("/teacher?search=nobody-here", Some(&s.token)).await;
    assert_eq!(nothing.ok(), &json!([]));
    assert_pagination(&nothing, 1, 0);
}

async fn create_teacher_by_admin_then_that_teacher_logs_in(db: Db) {
    let api = TestApp::start(db).await;
    let s = api.super_admin().await;
    api.watch("482913");
    let body = json!({
        "name": "Made By Admin",
        "email": "Made@School.test",
        "contact": "+1 555 0199",
        "location": "Shelbyville",
        "password": "482913",
    });
    let res = api
        .post("/teacher/create-teacher", Some(&s.token), body.clone())
        .await;
    let created = res.ok();
    assert_document(created);
    assert_eq!(created["email"], "made@school.test");
    assert_eq!(created["role"], "TEACHER");
    assert!(created.get("password").is_none());
    // The 6-digit code is its first password.
    let t = session(&api.teacher_login("made@school.test", "482913").await);
    let me = api.get("/teacher/profile/", Some(&t.token)).await;
    assert_eq!(me.ok()["_id"], created["_id"]);
    assert_eq!(me.data()["contact"], "+1 555 0199");
    assert_eq!(me.data()["location"], "Shelbyville");

    api.post("/teacher/create-teacher", Some(&s.token), body)
        .await
        .status(409);
    api.post(
        "/teacher/create-teacher",
        Some(&s.token),
        json!({"name": "No Email", "password": "482913"}),
    )
    .await
    .status(400);
    api.post(
        "/teacher/create-teacher",
        Some(&s.token),
        json!({"name": "Short", "email": "short@school.test", "password": "123"}),
    )
    .await
    .status(400);
}

async fn student_list_for_admins_has_no_passcodes(db: Db) {
    let api = TestApp::start(db).await;
    let s = api.super_admin().await;
    let a = api.teacher("Amy Teacher").await;
    let b = api.teacher("Bob Teacher").await;
    let mut codes = Vec::new();
    for i in 0..7 {
        let code = format!("30{i:04}");
        api.create_student(&a.token, &format!("Alpha {i}"), json!(code), "A1")
            .await;
        codes.push(code);
    }
    for i in 0..5 {
        let code = format!("31{i:04}");
        api.create_student(&b.token, &format!("Beta {i}"), json!(code), "B1")
            .await;
        codes.push(code);
    }
    let res = api
        .get("/student/all?page=undefined&search=", Some(&s.token))
        .await;
    res.ok();
    assert_pagination(&res, 1, 12);
    let list = res.data().as_array().unwrap();
    assert_eq!(list.len(), 10);
    for st in list {
        assert_document(st);
        assert!(st.get("password").is_none(), "{st}");
        for field in ["profile", "name", "class", "level", "dateOfBirth"] {
            assert!(st.get(field).is_some(), "{field}: {st}");
        }
        assert_eq!(st["dateOfBirth"], "2015-04-01T00:00:00.000Z");
    }
    let page2 = api.get("/student/all?page=2&search=", Some(&s.token)).await;
    assert_eq!(page2.ok().as_array().unwrap().len(), 2);
    assert_pagination(&page2, 2, 12);
    let past = api.get("/student/all?page=3", Some(&s.token)).await;
    assert_eq!(past.ok(), &json!([]));
    let beta = api
        .get("/student/all?search=beta&page=1", Some(&s.token))
        .await;
    assert_eq!(beta.ok().as_array().unwrap().len(), 5);
    assert_pagination(&beta, 1, 5);
    for r in [&res, &page2, &beta] {
        for code in &codes {
            assert!(
                !r.text.contains(code.as_str()),
                "passcode {code} shown to an admin"
            );
        }
    }
}

on_both_stores!(
    admin_profile_has_the_dashboards_fields,
    patch_admin_as_multipart_with_and_without_an_image,
    dashboard_overview_counts_the_last_twelve_months,
    teacher_list_for_admins,
    create_teacher_by_admin_then_that_teacher_logs_in,
    student_list_for_admins_has_no_passcodes,
);
