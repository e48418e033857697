//! A table described once (name, columns, row mapping, parameters), with the statements every
//! table shares: insert, lookup by a column, by many ids, a list and a page.

use std::marker::PhantomData;
use std::sync::OnceLock;

use rusqlite::{Connection, OptionalExtension, Row, ToSql};

use super::{Cached, Db, id_list};
use crate::domain::{Id, Millis};
use crate::store::{Change, Changes, ListQuery, Page, Record, Records, StoreResult};

/// Newest first, ties broken by id (ObjectIds grow with time too).
pub(crate) const NEWEST_FIRST: &str = "ORDER BY created_at DESC, id DESC";

/// Declares a `static` [`Table`] from its columns and the record's fields in the same order:
/// each field reads with `FromSql` and binds with `ToSql`.
macro_rules! table {
    ($vis:vis $name:ident: $record:ident = $table:literal ($columns:literal, $($field:ident),+ $(,)?)) => {
        $vis static $name: $crate::store::sqlite::Table<$record> = $crate::store::sqlite::Table {
            name: $table,
            columns: $columns,
            from_row: |row| {
                let mut column = 0..;
                Ok($record {
                    $($field: row.get(column.next().unwrap_or_default())?),+
                })
            },
            bind: |record| vec![$(&record.$field as &dyn rusqlite::ToSql),+],
            sql: std::sync::OnceLock::new(),
        };

        impl $crate::store::sqlite::Tabled for $record {
            fn table() -> &'static $crate::store::sqlite::Table<Self> {
                &$name
            }
        }
    };
}

pub(crate) use table;

/// Values bound to a statement that runs on another thread.
pub(crate) type Args = Vec<Box<dyn ToSql + Send>>;

pub(crate) fn boxed(value: impl ToSql + Send + 'static) -> Box<dyn ToSql + Send> {
    Box::new(value)
}

/// An edit's [`Changes`] as the `(column, value)` pairs of [`Table::patch`].
pub(crate) fn set_of(changes: Changes) -> Vec<(&'static str, Box<dyn ToSql + Send>)> {
    let value = |change| match change {
        Change::Text(v) => boxed(v),
        Change::Number(v) => boxed(v),
        Change::Id(v) => boxed(v),
    };
    changes
        .into_iter()
        .map(|(c, change)| (c, value(change)))
        .collect()
}

fn bind(args: &Args) -> Vec<&dyn ToSql> {
    args.iter().map(|a| a.as_ref() as &dyn ToSql).collect()
}

/// A row type and its table, for the adapters written once over several tables.
pub(crate) trait Tabled: Send + Sync + Sized + 'static {
    fn table() -> &'static Table<Self>;
}

/// The rows of `T`'s table: what a generic adapter implements its port on.
pub(crate) struct Rows<T> {
    pub db: Db,
    kind: PhantomData<fn() -> T>,
}

impl<T> Rows<T> {
    pub fn new(db: &Db) -> Self {
        Rows {
            db: db.clone(),
            kind: PhantomData,
        }
    }
}

#[async_trait::async_trait]
impl<T: Record + Tabled> Records<T> for Rows<T> {
    async fn insert(&self, record: &T) -> StoreResult<()> {
        T::table().insert(&self.db, T::OPS.insert, record).await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<T>> {
        T::table().by_id(&self.db, T::OPS.by_id, id).await
    }
}

pub(crate) struct Table<T: 'static> {
    pub name: &'static str,
    /// The columns every read selects and every insert writes, in `from_row`/`bind` order.
    pub columns: &'static str,
    pub from_row: fn(&Row<'_>) -> rusqlite::Result<T>,
    /// The values of `columns` for a record.
    pub bind: for<'a> fn(&'a T) -> Vec<&'a dyn ToSql>,
    /// The statements every request may run, written once (formatting them per call was a tenth
    /// of an authenticated read's instructions, issue 13).
    pub sql: OnceLock<Statements>,
}

/// A table's own statements.
pub(crate) struct Statements {
    insert: String,
    by_id: String,
    by_ids: String,
}

impl<T: Send + 'static> Table<T> {
    fn statements(&self) -> &Statements {
        self.sql.get_or_init(|| {
            let n = self.columns.split(',').count();
            let placeholders = (1..=n)
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            Statements {
                insert: format!(
                    "INSERT INTO {} ({}) VALUES ({placeholders})",
                    self.name, self.columns
                ),
                by_id: self.select_where("id = ?1"),
                by_ids: self.select_where("id IN (SELECT value FROM json_each(?1))"),
            }
        })
    }

    fn select_where(&self, filter: &str) -> String {
        format!("SELECT {} FROM {} WHERE {filter}", self.columns, self.name)
    }

    /// Inserts `value` with the caller's connection (inside its transaction, if any).
    pub fn insert_with(&self, c: &Connection, value: &T) -> rusqlite::Result<()> {
        c.exec(&self.statements().insert, (self.bind)(value).as_slice())
            .map(drop)
    }

    pub async fn insert(&'static self, db: &Db, op: &'static str, value: &T) -> StoreResult<()>
    where
        T: Clone,
    {
        let value = value.clone();
        db.write(op, move |c| self.insert_with(c, &value)).await
    }

    /// The row whose `column` equals `value`.
    pub fn find(
        &self,
        c: &Connection,
        column: &str,
        value: &dyn ToSql,
    ) -> rusqlite::Result<Option<T>> {
        if column == "id" {
            return c
                .one(&self.statements().by_id, [value], self.from_row)
                .optional();
        }
        let sql = self.select_where(&format!("{column} = ?1"));
        c.one(&sql, [value], self.from_row).optional()
    }

    /// The row whose `column` equals `value`, read inline.
    pub async fn by<V: ToSql + Sync + ?Sized>(
        &'static self,
        db: &Db,
        op: &'static str,
        column: &str,
        value: &V,
    ) -> StoreResult<Option<T>> {
        db.read(op, |c| self.find(c, column, &value)).await
    }

    pub async fn by_id(
        &'static self,
        db: &Db,
        op: &'static str,
        id: &Id,
    ) -> StoreResult<Option<T>> {
        db.read(op, |c| self.find(c, "id", id)).await
    }

    /// The rows among `ids` in one statement (any order; ids without a row are left out).
    pub async fn by_ids(
        &'static self,
        db: &Db,
        op: &'static str,
        ids: &[Id],
    ) -> StoreResult<Vec<T>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = id_list(ids);
        db.read(op, |c| {
            c.all(&self.statements().by_ids, [ids], self.from_row)
        })
        .await
    }

    /// Every row matching `filter` (`args` bind its `?1..?n`), in `order`.
    pub fn list(
        &self,
        c: &Connection,
        filter: &str,
        args: &[&dyn ToSql],
        order: &str,
    ) -> rusqlite::Result<Vec<T>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE {filter} {order}",
            self.columns, self.name
        );
        c.all(&sql, args, self.from_row)
    }

    /// One page of the rows matching `filter`, newest first. `args` bind the filter's `?1..?n`;
    /// LIMIT and OFFSET take the next two.
    pub fn page(
        &self,
        c: &Connection,
        filter: &str,
        args: &[&dyn ToSql],
        q: &ListQuery,
    ) -> rusqlite::Result<Page<T>> {
        let total: i64 = c.one(
            &format!("SELECT COUNT(*) FROM {} WHERE {filter}", self.name),
            args,
            |r| r.get(0),
        )?;
        let total = total as u64;
        if q.is_past(total) {
            return Ok(Page {
                items: vec![],
                total,
            });
        }
        let (limit, offset) = (q.limit as i64, q.skip() as i64);
        let mut bound = args.to_vec();
        bound.push(&limit);
        bound.push(&offset);
        let n = args.len();
        let items = self.list(
            c,
            filter,
            &bound,
            &format!("{NEWEST_FIRST} LIMIT ?{} OFFSET ?{}", n + 1, n + 2),
        )?;
        Ok(Page { items, total })
    }

    /// Every row matching `filter` (`args` bind its `?1..?n`), newest first, on the blocking pool
    /// (a list is not bounded by a page).
    pub async fn newest_first(
        &'static self,
        db: &Db,
        op: &'static str,
        filter: &'static str,
        args: Args,
    ) -> StoreResult<Vec<T>> {
        db.scan(op, move |c| {
            self.list(c, filter, &bind(&args), NEWEST_FIRST)
        })
        .await
    }

    /// One page of the rows matching `filter` (`args` bind its `?1..?n`), newest first, on the
    /// blocking pool.
    pub async fn scan_page(
        &'static self,
        db: &Db,
        op: &'static str,
        filter: &'static str,
        args: Args,
        q: &ListQuery,
    ) -> StoreResult<Page<T>> {
        let q = q.clone();
        db.scan(op, move |c| self.page(c, filter, &bind(&args), &q))
            .await
    }

    /// How many rows match `filter` (`args` bind its `?1..?n`).
    pub async fn count(
        &'static self,
        db: &Db,
        op: &'static str,
        filter: &'static str,
        args: Args,
    ) -> StoreResult<u64> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {filter}", self.name);
        db.scan(op, move |c| {
            c.one(&sql, bind(&args).as_slice(), |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
        })
        .await
    }

    /// How many rows were created in `[from, to)`.
    pub async fn count_created_between(
        &'static self,
        db: &Db,
        op: &'static str,
        from: Millis,
        to: Millis,
    ) -> StoreResult<u64> {
        let filter = "created_at >= ?1 AND created_at < ?2";
        self.count(db, op, filter, vec![boxed(from), boxed(to)])
            .await
    }

    /// A patch of the row whose `key` columns (the first is `id`) hold these ids: each
    /// `(column, value)` of `set` replaces the column unless the value is NULL, and `updated_at`
    /// and `version` move on. The row after it; `None` when no row matched.
    pub async fn patch(
        &'static self,
        db: &Db,
        op: &'static str,
        key: &[(&str, &Id)],
        set: Vec<(&'static str, Box<dyn ToSql + Send>)>,
        now: Millis,
    ) -> StoreResult<Option<T>> {
        let mut args: Args = key.iter().map(|(_, id)| boxed((*id).clone())).collect();
        let mut columns = Vec::with_capacity(set.len() + 2);
        for (column, value) in set {
            args.push(value);
            columns.push(format!("{column} = COALESCE(?{}, {column})", args.len()));
        }
        args.push(boxed(now));
        columns.push(format!(
            "updated_at = ?{}, version = version + 1",
            args.len()
        ));
        let filter: Vec<String> = (1..)
            .zip(key)
            .map(|(i, (column, _))| format!("{column} = ?{i}"))
            .collect();
        let sql = format!(
            "UPDATE {} SET {} WHERE {}",
            self.name,
            columns.join(", "),
            filter.join(" AND ")
        );
        self.update(db, op, sql, args).await
    }

    /// Runs the update `sql` (`?1` the id) and reads the row back, in one transaction; `None`
    /// when it changed no row.
    pub async fn update(
        &'static self,
        db: &Db,
        op: &'static str,
        sql: String,
        args: Args,
    ) -> StoreResult<Option<T>> {
        db.write(op, move |c| {
            let tx = c.transaction()?;
            let bound = bind(&args);
            let found = if tx.exec(&sql, bound.as_slice())? == 0 {
                None
            } else {
                self.find(&tx, "id", bound[0])?
            };
            tx.commit()?;
            Ok(found)
        })
        .await
    }
}
