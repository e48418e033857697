//! The port methods every row type shares, written once for both backends.
//!
//! Each aggregate has its own port (`Tasks`, `Rewards`, ...), so each adapter implements
//! `insert`, `by_id` and `by_ids` again, and every one of them is the same single call into the
//! backend's description of the rows (`Table` on SQLite, `Documents` on MongoDB) under the
//! operation name `<prefix>.<method>`. `shared_rows!` writes those methods, inside the adapter's
//! `#[async_trait]` impl of the port:
//!
//! ```ignore
//! #[async_trait::async_trait]
//! impl Tasks for SqliteTasks {
//!     shared_rows!(table TASKS, Task, "tasks": insert, by_id, by_ids);
//!     // ...the methods that are the port's own
//! }
//! ```
//!
//! `#[async_trait]` has already rewritten the impl when the macro expands (it leaves macro calls
//! alone), so the macro writes the methods in the attribute's expanded form: a boxed `Send`
//! future with the lifetimes `'life0`, `'life1` and `'async_trait` that the port's declaration
//! has. A mismatch there is a compile error, never a silent change.

macro_rules! shared_rows {
    // SQLite: a `table!` static, used with the adapter's `db`.
    (table $table:path, $row:ty, $prefix:literal: $($method:ident),+ $(,)?) => {
        $( $crate::store::rows::shared_rows!(
            @$method $row, self, arg,
            $table.$method(&self.db, concat!($prefix, ".", stringify!($method)), arg)
        ); )+
    };
    // MongoDB: the adapter's `Documents` (a field, or a path of fields), one method at a time.
    (docs $($field:ident).+, $row:ty, $prefix:literal: $method:ident $(, $rest:ident)* $(,)?) => {
        $crate::store::rows::shared_rows!(
            @$method $row, self, arg,
            self.$($field).+.$method(concat!($prefix, ".", stringify!($method)), arg)
        );
        $crate::store::rows::shared_rows!(docs $($field).+, $row, $prefix: $($rest),*);
    };
    (docs $($field:ident).+, $row:ty, $prefix:literal:) => {};
    (@insert $row:ty, $self:ident, $arg:ident, $call:expr) => {
        $crate::store::rows::shared_rows!(@method insert($self, $arg: &$row) -> (), $call);
    };
    (@by_id $row:ty, $self:ident, $arg:ident, $call:expr) => {
        $crate::store::rows::shared_rows!(
            @method by_id($self, $arg: &$crate::domain::Id) -> Option<$row>, $call
        );
    };
    (@by_ids $row:ty, $self:ident, $arg:ident, $call:expr) => {
        $crate::store::rows::shared_rows!(
            @method by_ids($self, $arg: &[$crate::domain::Id]) -> Vec<$row>, $call
        );
    };
    (@method $name:ident($self:ident, $arg:ident: &$arg_ty:ty) -> $out:ty, $call:expr) => {
        #[allow(clippy::type_complexity)]
        fn $name<'life0, 'life1, 'async_trait>(
            &'life0 $self,
            $arg: &'life1 $arg_ty,
        ) -> ::std::pin::Pin<
            Box<
                dyn ::std::future::Future<Output = $crate::store::StoreResult<$out>>
                    + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move { $call.await })
        }
    };
}

pub(crate) use shared_rows;
