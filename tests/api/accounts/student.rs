//! `/student/*` as the app calls it: creation and passcode login with numbers as strings, the
//! teacher's lists and one student, the student's profile and its echoed-object `PATCH`, and the
//! fixed segments that win over `/student/:id`.

use serde_json::{Value, json};

use crate::on_both_stores;
use crate::support::shapes::{assert_document, assert_iso, assert_pagination, keys, names};
use crate::support::{Db, TestApp, session};

async fn create_and_log_in_with_numbers_as_strings(db: Db) {
    let api = TestApp::start(db).await;
    let t = api.teacher("Vera Teacher").await;
    // The passcode as a number and as a string.
    let a = api
        .create_student(&t.token, "Ava Pupil", json!(123456), "Class 3 B")
        .await;
    assert_document(&a);
    assert_eq!(a["password"], "123456", "its teacher sees the passcode");
    assert_eq!(a["name"], "Ava Pupil");
    assert_eq!(a["class"], "Class 3 B");
    assert_eq!(a["teacher"], t.id.as_str());
    assert_eq!(a["role"], "STUDENT");
    assert_eq!(a["points"], 0);
    assert_eq!(a["pendingPoints"], 0);
    assert_eq!(a["rewards"], 0);
    assert!(a["level"].is_i64());
    assert_eq!(a["profile"], "/images/avatar-fox.png");
    assert_eq!(a["dateOfBirth"], "2015-04-01T00:00:00.000Z");
    let b = api
        .create_student(&t.token, "Ben Pupil", json!("654321"), "Class 3 B")
        .await;
    assert_eq!(b["password"], "654321");
    // dateOfBirth and profile are optional; an ISO date works too.
    api.ensure_class(&t.token, "Other").await;
    let c = api
        .post(
            "/student/create-student",
            Some(&t.token),
            json!({"name": "Cid Pupil", "password": "024680", "class": "Other"}),
        )
        .await;
    assert_eq!(c.ok()["password"], "024680", "leading zero kept");
    assert!(c.data()["dateOfBirth"].is_null());
    let d = api
        .post(
            "/student/create-student",
            Some(&t.token),
            json!({"name": "Dee Pupil", "password": 135790, "class": "Other",
                   "dateOfBirth": "2014-12-31T10:00:00.000Z", "profile": ""}),
        )
        .await;
    assert_eq!(d.ok()["dateOfBirth"], "2014-12-31T10:00:00.000Z");

    // A passcode that any student already has: 409, whoever's student it is, as number or string.
    let other = api.teacher("Walt Teacher").await;
    for (token, code) in [
        (&t.token, json!("123456")),
        (&other.token, json!(654321)),
        (&other.token, json!("024680")),
    ] {
        let res = api
            .try_create_student(token, "Copycat", code.clone(), "X")
            .await;
        res.status(409);
        assert!(res.message().contains("passcode"), "{}", res.text);
    }
    // Not six digits: 400 with a message about the field.
    for bad in [
        json!("12345"),
        json!("1234567"),
        json!("12ab56"),
        json!(12.5),
        json!(true),
        json!([1]),
    ] {
        let res = api
            .try_create_student(&t.token, "Bad", bad.clone(), "X")
            .await;
        res.status(400);
        assert_eq!(res.body["errorMessages"][0]["path"], "password", "{bad}");
    }
    for body in [
        json!({"password": "777777", "class": "X"}),
        json!({"name": "No Class", "password": "777777"}),
        json!({"name": "No Code", "class": "X"}),
        json!({"name": "Bad Date", "password": "777777", "class": "X", "dateOfBirth": "yesterday"}),
    ] {
        api.post("/student/create-student", Some(&t.token), body)
            .await
            .status(400);
    }

    // Login with `{password}` alone, a number or a string; a stale header is ignored.
    let s = session(&api.student_login(json!(123456)).await);
    let me = api.get("/student/profile", Some(&s.token)).await;
    assert_eq!(me.ok()["name"], "Ava Pupil");
    let s = session(&api.student_login(json!("654321")).await);
    let me = api.get("/student/profile", Some(&s.token)).await;
    assert_eq!(me.ok()["name"], "Ben Pupil");
    session(&api.student_login(json!(" 024680 ")).await);
    // The same passcode as a JSON number has lost its leading zero; it still logs in.
    session(&api.student_login(json!(24680)).await);
    for wrong in [json!("999999"), json!(999999), json!("abc")] {
        let res = api.student_login(wrong).await;
        res.status(401);
        assert_eq!(res.message(), "The passcode is incorrect.");
    }
    api.student_login(Value::Null).await.status(400);
    api.post("/student/login", None, json!({}))
        .await
        .status(400);
}

async fn teacher_lists_its_students_with_passcodes(db: Db) {
    let api = TestApp::start(db).await;
    let t = api.teacher("Xena Teacher").await;
    let other = api.teacher("Yuri Teacher").await;
    for i in 0..8 {
        api.create_student(
            &t.token,
            &format!("Spaced {i}"),
            json!(format!("5000{i:02}")),
            "Grade 4 / Room 12 & Co",
        )
        .await;
    }
    for i in 0..4 {
        api.create_student(
            &t.token,
            &format!("Plain {i}"),
            json!(format!("5100{i:02}")),
            "Plain",
        )
        .await;
    }
    api.create_student(&other.token, "Not Mine", json!("520000"), "Plain")
        .await;

    let res = api.get("/student?page=undefined", Some(&t.token)).await;
    let first = res.ok().as_array().unwrap().clone();
    assert_pagination(&res, 1, 12);
    assert_eq!(first.len(), 10);
    for s in &first {
        assert_document(s);
        let code = s["password"].as_str().expect("the teacher sees passcodes");
        assert!(code.len() == 6 && code.starts_with('5'), "{s}");
        assert_eq!(s["teacher"], t.id.as_str());
    }
    let page2 = api.get("/student?page=2", Some(&t.token)).await;
    assert_eq!(page2.ok().as_array().unwrap().len(), 2);
    assert_pagination(&page2, 2, 12);
    let past = api.get("/student?page=7", Some(&t.token)).await;
    assert_eq!(past.ok(), &json!([]));
    assert_pagination(&past, 7, 12);
    let all: Vec<String> = [&first[..], page2.data().as_array().unwrap()]
        .concat()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(!all.contains(&"Not Mine".to_owned()));
    assert_eq!(all.len(), 12);

    // The class name: free text, percent-encoded in the path.
    let res = api
        .get(
            "/student/class/Grade%204%20%2F%20Room%2012%20%26%20Co?page=undefined",
            Some(&t.token),
        )
        .await;
    let class = res.ok().as_array().unwrap().clone();
    assert_pagination(&res, 1, 8);
    assert_eq!(class.len(), 8);
    for s in &class {
        assert_eq!(s["class"], "Grade 4 / Room 12 & Co");
        assert!(s["password"].is_string());
    }
    let res = api.get("/student/class/Plain", Some(&t.token)).await;
    let mut got = names(res.ok());
    got.sort();
    assert_eq!(got, ["Plain 0", "Plain 1", "Plain 2", "Plain 3"]);
    let res = api.get("/student/class/Plain", Some(&other.token)).await;
    assert_eq!(names(res.ok()), ["Not Mine"]);
    let res = api
        .get("/student/class/No%20Such%20Class", Some(&t.token))
        .await;
    assert_eq!(res.ok(), &json!([]));
    assert_pagination(&res, 1, 0);

    // One student: the owner's.
    let id = class[0]["_id"].as_str().unwrap();
    let one = api.get(&format!("/student/{id}"), Some(&t.token)).await;
    assert_eq!(one.ok(), &class[0]);
    assert!(one.body.get("pagination").is_none());
    let res = api.get(&format!("/student/{id}"), Some(&other.token)).await;
    res.status(404);
    assert!(!res.text.contains(class[0]["password"].as_str().unwrap()));
    api.get("/student/000000000000000000000000", Some(&t.token))
        .await
        .status(404);
    api.get("/student/not-an-id", Some(&t.token))
        .await
        .status(400);
}

async fn student_profile_and_echoed_patch(db: Db) {
    let api = TestApp::start(db).await;
    let t = api.teacher("Zoe Teacher").await;
    let other = api.teacher("Abe Teacher").await;
    api.create_student(&t.token, "Eve Pupil", json!("860000"), "Blue Group")
        .await;
    let s = session(&api.student_login(json!("860000")).await);
    let res = api.get("/student/profile", Some(&s.token)).await;
    let me = res.ok().clone();
    assert_document(&me);
    for field in [
        "_id",
        "name",
        "password",
        "role",
        "dateOfBirth",
        "profile",
        "class",
        "teacher",
        "points",
        "level",
        "rewards",
        "pendingPoints",
    ] {
        assert!(me.get(field).is_some(), "{field}: {me}");
    }
    assert_eq!(
        me["password"], "860000",
        "the student sees its own passcode"
    );
    assert_eq!(me["teacher"], t.id.as_str());
    assert_eq!(me["role"], "STUDENT");
    assert_eq!(me["points"], 0);
    let level = me["level"].clone();

    // The app echoes the whole object back, with whatever it holds.
    let mut echoed = me.clone();
    echoed["name"] = json!("Eve Renamed");
    echoed["dateOfBirth"] = json!("2016-02-29");
    echoed["profile"] = json!("/images/avatar-owl.png");
    echoed["points"] = json!(999);
    echoed["pendingPoints"] = json!("50");
    echoed["rewards"] = json!(7);
    echoed["level"] = json!(9);
    echoed["role"] = json!("TEACHER");
    echoed["teacher"] = json!(other.id);
    echoed["class"] = json!("Gold Group");
    echoed["password"] = json!("111111");
    echoed["_id"] = json!("aaaaaaaaaaaaaaaaaaaaaaaa");
    echoed["__v"] = json!(42);
    echoed["createdAt"] = json!("2000-01-01T00:00:00.000Z");
    echoed["extra"] = json!({"nested": [1, 2, 3]});
    let res = api.patch("/student", Some(&s.token), echoed).await;
    let updated = res.ok();
    assert_eq!(updated["name"], "Eve Renamed");
    assert_eq!(updated["points"], 0);

    let res = api.get("/student/profile", Some(&s.token)).await;
    let after = res.ok();
    assert_eq!(after["name"], "Eve Renamed");
    assert_eq!(after["dateOfBirth"], "2016-02-29T00:00:00.000Z");
    assert_eq!(after["profile"], "/images/avatar-owl.png");
    assert_eq!(after["points"], 0, "a student never sets its points");
    assert_eq!(after["pendingPoints"], 0);
    assert_eq!(after["rewards"], 0);
    assert_eq!(after["level"], level);
    assert_eq!(after["role"], "STUDENT");
    assert_eq!(after["teacher"], t.id.as_str());
    assert_eq!(after["class"], "Blue Group");
    assert_eq!(after["password"], "860000");
    assert_eq!(after["_id"], me["_id"]);
    assert_eq!(after["createdAt"], me["createdAt"]);
    assert_iso(after["updatedAt"].as_str().unwrap());
    // The old passcode still logs in, the echoed one does not.
    session(&api.student_login(json!("860000")).await);
    api.student_login(json!("111111")).await.status(401);

    // Only the whitelisted fields, and those checked.
    let res = api
        .patch(
            "/student",
            Some(&s.token),
            json!({"dateOfBirth": "not a date"}),
        )
        .await;
    res.status(400);
    api.patch("/student", Some(&s.token), json!({"points": "25"}))
        .await
        .ok();
    let res = api.get("/student/profile", Some(&s.token)).await;
    assert_eq!(res.ok()["points"], 0);
    assert_eq!(res.data()["name"], "Eve Renamed");
    // The teacher sees the change.
    let res = api.get("/student/class/Blue%20Group", Some(&t.token)).await;
    assert_eq!(names(res.ok()), ["Eve Renamed"]);
}

async fn fixed_segments_win_over_the_id(db: Db) {
    let api = TestApp::start(db).await;
    let admin = api.super_admin().await;
    let t = api.teacher("Fay Teacher").await;
    api.create_student(&t.token, "Gus Pupil", json!("909090"), "G")
        .await;
    let s = session(&api.student_login(json!("909090")).await);

    // Each fixed path reaches its own route: the role check answers, not an id parse (400).
    let res = api.get("/student/all", Some(&t.token)).await;
    res.status(403);
    let res = api
        .get("/student/all?page=undefined&search=", Some(&admin.token))
        .await;
    assert_eq!(names(res.ok()), ["Gus Pupil"]);
    api.get("/student/profile", Some(&t.token))
        .await
        .status(403);
    let res = api.get("/student/profile", Some(&s.token)).await;
    assert_eq!(res.ok()["name"], "Gus Pupil");
    api.get("/student/class/G", Some(&s.token))
        .await
        .status(403);
    let res = api.get("/student/class/G", Some(&t.token)).await;
    assert_eq!(names(res.ok()), ["Gus Pupil"]);
    // `/student/login` is POST only: a GET is not taken for an id.
    let res = api.get("/student/login", Some(&t.token)).await;
    assert_eq!(res.status, 405, "{}", res.text);
    assert_eq!(res.body["success"], false);
    session(&api.student_login(json!(909090)).await);
    // And `/student/create-student` is POST only too.
    let res = api.get("/student/create-student", Some(&t.token)).await;
    assert_eq!(res.status, 405, "{}", res.text);

    // The student list as the app calls it, and the whole profile shape once more.
    let res = api.get("/student?page=undefined", Some(&t.token)).await;
    let list = res.ok();
    let mut fields = keys(&list[0]);
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "__v",
            "_id",
            "class",
            "createdAt",
            "dateOfBirth",
            "earnedPoints",
            "level",
            "name",
            "password",
            "pendingPoints",
            "points",
            "profile",
            "rewards",
            "role",
            "teacher",
            "updatedAt"
        ]
    );
}

on_both_stores!(
    create_and_log_in_with_numbers_as_strings,
    teacher_lists_its_students_with_passcodes,
    student_profile_and_echoed_patch,
    fixed_segments_win_over_the_id,
);
