//! `/admin/*`: the dashboard's own profile and the platform overview.

use chrono::{Datelike, TimeZone, Utc};
use poem_openapi::types::multipart::Upload;
use poem_openapi::{Multipart, Object, OpenApi};

use super::ApiTags;
use super::sessions::account_gone;
use super::views::AdminView;
use crate::domain::account::AdminPatch;
use crate::domain::{Admin, Detail, Email, Millis};
use crate::http::auth::Auth;
use crate::http::input::parse_optional;
use crate::http::{ApiError, Reply, ok};
use crate::store::StoreError;

pub struct AdminApi;

/// `PATCH /admin`: the dashboard sends a form; a missing field stays as it is.
#[derive(Multipart)]
struct UpdateAdminForm {
    name: Option<String>,
    email: Option<String>,
    contact: Option<String>,
    location: Option<String>,
    /// A PNG or JPEG of at most 5 MB.
    image: Option<Upload>,
}

#[derive(Object, serde::Serialize)]
struct TeacherGrowth {
    /// `Jan` .. `Dec`.
    name: String,
    teacher: u64,
}

#[derive(Object, serde::Serialize)]
struct StudentGrowth {
    name: String,
    student: u64,
}

#[derive(Object, serde::Serialize)]
struct Overview {
    #[oai(rename = "totalTeacher")]
    #[serde(rename = "totalTeacher")]
    total_teacher: u64,
    #[oai(rename = "totalStudent")]
    #[serde(rename = "totalStudent")]
    total_student: u64,
    /// Teachers who joined in each of the last 12 months, oldest first.
    #[oai(rename = "teacherGrowth")]
    #[serde(rename = "teacherGrowth")]
    teacher_growth: Vec<TeacherGrowth>,
    #[oai(rename = "studentGrowth")]
    #[serde(rename = "studentGrowth")]
    student_growth: Vec<StudentGrowth>,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The last 12 calendar months (UTC) ending with the current one: (label, start, end).
pub(crate) fn last_twelve_months(
    now: chrono::DateTime<Utc>,
) -> Vec<(&'static str, Millis, Millis)> {
    let month_start = |year: i32, month0: i32| {
        let (y, m) = (year + month0.div_euclid(12), month0.rem_euclid(12));
        Utc.with_ymd_and_hms(y, m as u32 + 1, 1, 0, 0, 0)
            .single()
            .expect("the first of a month at midnight exists")
    };
    let current = now.month0() as i32;
    (0..12)
        .map(|i| {
            let m = current - 11 + i;
            let start = month_start(now.year(), m);
            let end = month_start(now.year(), m + 1);
            (
                MONTHS[m.rem_euclid(12) as usize],
                Millis(start.timestamp_millis()),
                Millis(end.timestamp_millis()),
            )
        })
        .collect()
}

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminApi {
    /// The signed-in admin.
    #[oai(path = "/admin/profile", method = "get")]
    async fn profile(&self, auth: Auth<'_, Admin>) -> Reply<AdminView> {
        ok("Profile retrieved", AdminView::from(&auth.who))
    }

    /// The admin changes its own details or picture.
    #[oai(path = "/admin", method = "patch")]
    async fn update(&self, auth: Auth<'_, Admin>, form: UpdateAdminForm) -> Reply<AdminView> {
        let state = auth.state;
        let field = |name: &str, value: Option<&str>| {
            parse_optional::<Detail>(name, value).map(|v| v.map(String::from))
        };
        let mut patch = AdminPatch {
            name: field("name", form.name.as_deref())?,
            email: parse_optional::<Email>("email", form.email.as_deref())?.map(String::from),
            contact: field("contact", form.contact.as_deref())?,
            location: field("location", form.location.as_deref())?,
            profile: None,
        };
        if let Some(image) = form.image {
            patch.profile =
                Some(super::profile::store_own_image(state, &auth.who.id, image).await?);
        }
        let updated = match state
            .store
            .admins
            .update(&auth.who.id, &patch, state.clock.now())
            .await
        {
            Ok(Some(a)) => a,
            Ok(None) => return Err(account_gone()),
            Err(StoreError::Conflict { .. }) => {
                return Err(ApiError::Conflict(
                    "Another account already uses this email.".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if patch.profile.is_some() {
            super::profile::forget_old_image(state, &auth.who.id, auth.who.profile.as_deref())
                .await;
        }
        ok("Profile updated", &updated)
    }

    /// Totals and the last 12 months of sign-ups.
    #[oai(path = "/admin/dashboard-overview", method = "get")]
    async fn overview(&self, auth: Auth<'_, Admin>) -> Reply<Overview> {
        let state = auth.state;
        let store = &state.store;
        let mut teacher_growth = Vec::with_capacity(12);
        let mut student_growth = Vec::with_capacity(12);
        for (name, from, to) in last_twelve_months(state.clock.now().to_utc()) {
            let (teachers, students) = tokio::try_join!(
                store.teachers.count_created_between(from, to),
                store.students.count_created_between(from, to),
            )?;
            teacher_growth.push(TeacherGrowth {
                name: name.into(),
                teacher: teachers,
            });
            student_growth.push(StudentGrowth {
                name: name.into(),
                student: students,
            });
        }
        let (total_teacher, total_student) =
            tokio::try_join!(store.teachers.count(), store.students.count())?;
        ok(
            "Dashboard overview retrieved",
            Overview {
                total_teacher,
                total_student,
                teacher_growth,
                student_growth,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_months_end_with_the_current_one_across_a_year_boundary() {
        let now = Utc.with_ymd_and_hms(2026, 2, 15, 12, 0, 0).unwrap();
        let months = last_twelve_months(now);
        let names: Vec<_> = months.iter().map(|m| m.0).collect();
        assert_eq!(
            names,
            [
                "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb"
            ]
        );
        assert_eq!(months[0].1.to_iso(), "2025-03-01T00:00:00.000Z");
        assert_eq!(months[11].2.to_iso(), "2026-03-01T00:00:00.000Z");
        for pair in months.windows(2) {
            assert_eq!(pair[0].2, pair[1].1, "contiguous");
        }
    }
}
