//! The port methods every row type shares, written once for both backends.
//!
//! Each aggregate has its own port (`Students`, `Classes`, ...), so each adapter implements
//! `insert`, `by_id` and `by_ids` again (teachers and students `count_created_between` too), and
//! every one of them is the same single call into the backend's
//! description of the rows (`Table` on SQLite, `Documents` on MongoDB: a method of the same name
//! taking the operation name first) under the operation name `<prefix>.<method>`. `shared_rows!`
//! writes those methods, inside the adapter's `#[async_trait]` impl of the port:
//!
//! ```ignore
//! #[async_trait::async_trait]
//! impl Students for SqliteStudents {
//!     shared_rows!(table STUDENTS, Student, "students": insert, by_id, by_ids);
//!     // ...the methods that are the port's own
//! }
//! ```
//!
//! `#[async_trait]` has already rewritten the impl when the macro expands (it leaves macro calls
//! alone), so the macro writes the methods in the attribute's expanded form: a boxed `Send`
//! future with the lifetimes `'life0`, `'life1` and `'async_trait` that the port's declaration
//! has. A mismatch there is a compile error, never a silent change.

macro_rules! shared_rows {
    // SQLite: a `table!` static, called with the adapter's `db`.
    (table $table:path, $row:ty, $prefix:literal: $($method:ident),+ $(,)?) => {
        $( $crate::store::rows::shared_rows!(@$method [table $table] $row, $prefix); )+
    };
    // MongoDB: the adapter's `Documents` (a field, or a path of fields), one method at a time.
    (docs $($field:ident).+, $row:ty, $prefix:literal: $method:ident $(, $rest:ident)* $(,)?) => {
        $crate::store::rows::shared_rows!(@$method [docs $($field).+] $row, $prefix);
        $crate::store::rows::shared_rows!(docs $($field).+, $row, $prefix: $($rest),*);
    };
    (docs $($field:ident).+, $row:ty, $prefix:literal:) => {};

    // The methods, by the port's signature: reference arguments (each with its own lifetime, as
    // `#[async_trait]` names them), then arguments by value.
    (@insert $via:tt $row:ty, $prefix:literal) => {
        $crate::store::rows::shared_rows!(@fn $via insert($prefix)
            (row: &'life1 $row) () -> ());
    };
    (@by_id $via:tt $row:ty, $prefix:literal) => {
        $crate::store::rows::shared_rows!(@fn $via by_id($prefix)
            (id: &'life1 $crate::domain::Id) () -> Option<$row>);
    };
    (@by_ids $via:tt $row:ty, $prefix:literal) => {
        $crate::store::rows::shared_rows!(@fn $via by_ids($prefix)
            (ids: &'life1 [$crate::domain::Id]) () -> Vec<$row>);
    };
    // Counted by creation time (teachers, students: the admins' statistics).
    (@count_created_between $via:tt $row:ty, $prefix:literal) => {
        $crate::store::rows::shared_rows!(@fn $via count_created_between($prefix)
            () (from: $crate::domain::Millis, to: $crate::domain::Millis) -> u64);
    };
    (@fn $via:tt $name:ident($prefix:literal)
        ($($arg:ident: &$life:lifetime $arg_ty:ty),*) ($($val:ident: $val_ty:ty),*) -> $out:ty
    ) => {
        #[allow(clippy::type_complexity)]
        fn $name<'life0, $($life,)* 'async_trait>(
            &'life0 self,
            $($arg: &$life $arg_ty,)*
            $($val: $val_ty,)*
        ) -> ::std::pin::Pin<
            Box<
                dyn ::std::future::Future<Output = $crate::store::StoreResult<$out>>
                    + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            $($life: 'async_trait,)*
            Self: 'async_trait,
        {
            Box::pin(async move {
                $crate::store::rows::shared_rows!(
                    @call $via self.$name(concat!($prefix, ".", stringify!($name)), $($arg,)* $($val,)*)
                )
                .await
            })
        }
    };
    (@call [table $table:path] $self:ident.$name:ident($($a:expr,)*)) => {
        $table.$name(&$self.db, $($a),*)
    };
    (@call [docs $($field:ident).+] $self:ident.$name:ident($($a:expr,)*)) => {
        $self.$($field).+.$name($($a),*)
    };
}

pub(crate) use shared_rows;
