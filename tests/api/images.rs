//! Uploaded images over real HTTP (CLIENT-CONTRACT §6): validation by content in `store_image`,
//! then `GET /images/<file>` (and `//images/<file>`) on both stores. No API route takes an upload
//! yet, so the tests hand `store_image` an `Upload` parsed from a real multipart body.

use educoin::clock::Clock;
use educoin::http::ApiError;
use educoin::http::upload::{self, DEFAULT_AVATAR, MAX_IMAGE_BYTES, store_image};
use educoin::ops::metrics;
use poem::FromRequest;
use poem_openapi::types::ParseFromMultipartField;
use poem_openapi::types::multipart::Upload;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use reqwest::Method;

use crate::on_both_stores;
use crate::support::{Db, Kv, TestApp, spawn_app};

const PNG: &[u8] = include_bytes!("fixtures/quokki.png");
const JPG: &[u8] = include_bytes!("fixtures/quokki.jpg");
const GIF: &[u8] = include_bytes!("fixtures/quokki.gif");
const DEFAULT_AVATAR_PNG: &[u8] = include_bytes!("../../public/default-avatar.png");

/// The `image` part of a multipart body, as poem-openapi hands it to a handler.
async fn upload(bytes: &[u8], file_name: &str, content_type: &str) -> Upload {
    const BOUNDARY: &str = "quokki-test-boundary";
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"image\"; \
         filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let req = poem::Request::builder()
        .method(poem::http::Method::PATCH)
        .content_type(&format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body);
    let (req, mut body) = req.split();
    let mut multipart = poem::web::Multipart::from_request(&req, &mut body)
        .await
        .unwrap();
    let field = multipart
        .next_field()
        .await
        .unwrap()
        .expect("an image part");
    Upload::parse_from_multipart(Some(field)).await.unwrap()
}

async fn store(
    app: &TestApp,
    bytes: &[u8],
    file_name: &str,
    content_type: &str,
) -> Result<String, ApiError> {
    store_image(
        app.state.store.files.as_ref(),
        upload(bytes, file_name, content_type).await,
        app.clock().now(),
    )
    .await
}

/// GETs `path` and checks the headers every served image carries; returns the body.
async fn fetch_image(app: &TestApp, path: &str, content_type: &str, cache: &str) -> Vec<u8> {
    let resp = app.request(Method::GET, path).await;
    assert_eq!(resp.status, 200, "{path}");
    let header = |name: &str| {
        resp.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), content_type, "{path}");
    assert_eq!(header("cache-control"), cache, "{path}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
    resp.bytes
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn assert_stored_path(path: &str, ext: &str) {
    let name = path.strip_prefix("/images/").expect("a public path");
    let (stem, got_ext) = name.split_once('.').unwrap();
    assert_eq!(got_ext, ext, "{path}");
    assert_eq!(stem.len(), 32, "{path}");
    assert!(
        stem.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{path}"
    );
}

async fn png_and_jpeg_round_trip_over_http(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let png = store(&app, PNG, "me.png", "image/png").await.unwrap();
    assert_stored_path(&png, "png");
    assert_eq!(fetch_image(&app, &png, "image/png", IMMUTABLE).await, PNG);

    let jpg = store(&app, JPG, "me.jpeg", "image/jpeg").await.unwrap();
    assert_stored_path(&jpg, "jpg");
    assert_eq!(fetch_image(&app, &jpg, "image/jpeg", IMMUTABLE).await, JPG);

    // Each upload gets its own name, even for the same bytes.
    let again = store(&app, PNG, "me.png", "image/png").await.unwrap();
    assert_ne!(again, png);
    app.stop().await;
}

/// The kind comes from the bytes: the file name and the client's content type are ignored.
async fn kind_is_read_from_the_content(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let path = store(&app, JPG, "avatar.png", "image/png").await.unwrap();
    assert_stored_path(&path, "jpg");
    assert_eq!(fetch_image(&app, &path, "image/jpeg", IMMUTABLE).await, JPG);
    let path = store(&app, PNG, "scan.pdf", "application/octet-stream")
        .await
        .unwrap();
    assert_eq!(fetch_image(&app, &path, "image/png", IMMUTABLE).await, PNG);
    app.stop().await;
}

async fn disguised_and_empty_files_are_refused(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let html = b"<html><script>alert(1)</script></html>".as_slice();
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".as_slice();
    for (bytes, what) in [
        (GIF, "a GIF"),
        (html, "HTML"),
        (svg, "SVG"),
        (&PNG[..4], "a cut PNG"),
    ] {
        let err = store(&app, bytes, "photo.png", "image/png")
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400, "{what}");
        match &err {
            ApiError::Validation { message, errors } => {
                assert_eq!(message, "The image must be a PNG or JPEG file.", "{what}");
                assert_eq!(errors[0].path, "image");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    let err = store(&app, b"", "empty.png", "image/png")
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(err.to_string(), "The image is empty.");
    app.stop().await;
}

async fn the_size_limit_is_exact(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    // Refused uploads never reach `MAX_BODY_BYTES` first: the global limit is above this one.
    assert!(app.state.config.max_body_bytes > MAX_IMAGE_BYTES + 64 * 1024);

    let mut at_limit = PNG.to_vec();
    at_limit.resize(MAX_IMAGE_BYTES, 0);
    let path = store(&app, &at_limit, "big.png", "image/png")
        .await
        .unwrap();
    assert!(fetch_image(&app, &path, "image/png", IMMUTABLE).await == at_limit);

    at_limit.push(0);
    let err = store(&app, &at_limit, "big.png", "image/png")
        .await
        .unwrap_err();
    assert_eq!(err.status(), 413);
    assert_eq!(
        err.to_string(),
        "The image is too large. Please choose one of at most 5 MB."
    );
    app.stop().await;
}

/// The old clients request `//images/<file>`.
async fn doubled_slash_resolves(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let path = store(&app, PNG, "me.png", "image/png").await.unwrap();
    assert_eq!(
        fetch_image(&app, &format!("/{path}"), "image/png", IMMUTABLE).await,
        PNG
    );
    assert_eq!(
        fetch_image(
            &app,
            &format!("/{DEFAULT_AVATAR}"),
            "image/png",
            "public, max-age=86400"
        )
        .await,
        DEFAULT_AVATAR_PNG
    );
    app.stop().await;
}

/// Sends `target` byte for byte (an HTTP client would resolve `..` itself); returns the status.
async fn raw_get_status(app: &TestApp, target: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{target}: no status in {response:?}"))
}

fn storage_reads(db: Db) -> u64 {
    let backend = match db {
        Db::Sqlite => "sqlite",
        Db::Mongo => "mongodb",
    };
    metrics::get()
        .store_duration
        .with_label_values(&[backend, "files.get"])
        .get_sample_count()
}

async fn names_that_are_not_ours_are_404_without_storage(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    let stored = store(&app, PNG, "me.png", "image/png").await.unwrap();
    let name = stored.strip_prefix("/images/").unwrap();
    // Each test runs in its own process (nextest), so this counter is this test's alone.
    let reads_before = storage_reads(db);
    let traversal = [
        "/images/../../etc/passwd".to_owned(),
        "/images/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/images/%2e%2e%2fuploads%2f".to_owned() + name,
        "/images/..".to_owned(),
        "/images/%2e%2e".to_owned(),
        "//images/../uploads/".to_owned() + name,
        "/images/uploads%2F".to_owned() + name,
        "/images/".to_owned() + &name.to_uppercase(),
        "/images/".to_owned() + &name.replace(".png", ".gif"),
        "/images/".to_owned() + &name.replace(".png", ".png.png"),
        "/images/".to_owned() + &name[1..],
        "/images/educoin.db".to_owned(),
        "/images/".to_owned(),
        "/images/a/".to_owned() + name,
    ];
    for target in &traversal {
        assert_eq!(raw_get_status(&app, target).await, 404, "{target}");
    }
    assert_eq!(
        storage_reads(db),
        reads_before,
        "a refused name reached storage"
    );

    // The 404 is the contract's envelope.
    let unknown = "/images/0123456789abcdef0123456789abcdef.png";
    let (status, body) = app.get_json(unknown).await;
    assert_eq!(status, 404);
    assert_eq!(body["success"], false);
    assert_eq!(body["message"], "Image not found");
    // ...and a well-formed name does reach storage, so the count above can tell.
    assert_eq!(storage_reads(db), reads_before + 1);
    let (status, body) = app.get_json("/images/..%2Feducoin.db").await;
    assert_eq!(status, 404);
    assert_eq!(body["success"], false);
    // The real file is still served.
    assert_eq!(
        fetch_image(&app, &stored, "image/png", IMMUTABLE).await,
        PNG
    );
    app.stop().await;
}

async fn the_default_avatar_is_served(db: Db) {
    let app = spawn_app(db, Kv::Memory).await;
    assert_eq!(DEFAULT_AVATAR, "/images/default-avatar.png");
    let bytes = fetch_image(&app, DEFAULT_AVATAR, "image/png", "public, max-age=86400").await;
    assert_eq!(bytes, DEFAULT_AVATAR_PNG);
    assert_eq!(upload::sniff(&bytes), Some(upload::ImageKind::Png));
    app.stop().await;
}

on_both_stores!(
    png_and_jpeg_round_trip_over_http,
    kind_is_read_from_the_content,
    disguised_and_empty_files_are_refused,
    the_size_limit_is_exact,
    doubled_slash_resolves,
    names_that_are_not_ours_are_404_without_storage,
    the_default_avatar_is_served,
);
