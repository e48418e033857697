//! The connection loop, in place of poem's `Server`: poem's has no header, idle, body or write
//! timeouts, no connection cap, spins when `accept` fails, and closes idle keep-alive connections at
//! shutdown while a request may be on the wire. Each connection is served by hyper (HTTP/1.1 with
//! upgrades, h2c), the routes by poem's `Endpoint`; a small monitor per connection enforces the
//! limits below. The policy and its figures are in `docs/decisions.md` (Timeouts, caps and breakers).

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use http_body_util::combinators::BoxBody as HyperBoxBody;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

type BoxBody = HyperBoxBody<bytes::Bytes, io::Error>;
use hyper_util::server::conn::auto;
use poem::http::{HeaderValue, Version, header};
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Body, Endpoint, Request};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::HttpLimits;

/// Once stopping, a connection with no request in progress is closed after this long without a
/// byte from the client: long enough for a request already sent (or a connection accepted just
/// before the signal) to arrive, short enough that the drain is not held by idle keep-alives.
pub const DRAIN_QUIET: Duration = Duration::from_millis(500);
/// Once stopping, a connection that still has not delivered a complete request head after this long
/// is a slow client (a real one sends its head in one packet): it is closed.
pub const DRAIN_HEAD_GRACE: Duration = Duration::from_secs(2);
/// Once stopping, a connection may spend at most this long in total waiting on its client (a body
/// that trickles in, a response the client does not read); past it the connection is closed, so
/// that one slow client cannot hold the restart of every other.
pub const DRAIN_CLIENT_BUDGET: Duration = Duration::from_secs(1);
/// How often a connection's monitor looks at it; more often while draining.
const TICK: Duration = Duration::from_millis(500);
const DRAIN_TICK: Duration = Duration::from_millis(50);
/// After `accept` fails for lack of descriptors, wait for a connection to close, at most this long.
const FD_BACKOFF: Duration = Duration::from_millis(200);
/// Capacity problems are logged at most this often (with how many were not logged).
const LOG_EVERY: Duration = Duration::from_secs(10);

/// What a connection waits for from its client.
#[derive(Clone, Copy)]
enum Wait {
    /// A write that does not drain: the client does not read.
    Write = 0,
    /// The next chunk of a request body that a handler is reading.
    Body = 1,
}

/// What a connection has been doing, shared by its socket, its requests and its monitor.
/// Times are milliseconds since `epoch`, plus one, so that 0 means "never".
struct Activity {
    epoch: Instant,
    last_read: AtomicU64,
    /// Requests whose response has not been fully sent.
    in_flight: AtomicUsize,
    /// When the last response was sent (or the connection opened): how long it has waited for
    /// its next request head.
    idle_since: AtomicU64,
    /// The client spoke HTTP/2 (whose streams have no head to wait for).
    http2: AtomicBool,
    /// Since when the connection waits on its client, per `Wait`; 0 when it does not.
    waiting_since: [AtomicU64; 2],
    /// Total of the waits that ended.
    waited: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        let a = Activity {
            epoch: Instant::now(),
            last_read: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            http2: AtomicBool::new(false),
            waiting_since: [AtomicU64::new(0), AtomicU64::new(0)],
            waited: AtomicU64::new(0),
        };
        a.last_read.store(a.now(), Ordering::Relaxed);
        a.idle_since.store(a.now(), Ordering::Relaxed);
        a
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    fn read(&self) {
        self.last_read.store(self.now(), Ordering::Relaxed);
    }

    fn since_read(&self) -> Duration {
        Duration::from_millis(
            self.now()
                .saturating_sub(self.last_read.load(Ordering::Relaxed)),
        )
    }

    fn wait_begins(&self, what: Wait) {
        let _ = self.waiting_since[what as usize].compare_exchange(
            0,
            self.now(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    fn wait_ends(&self, what: Wait) {
        let since = self.waiting_since[what as usize].swap(0, Ordering::Relaxed);
        if since != 0 {
            self.waited
                .fetch_add(self.now().saturating_sub(since), Ordering::Relaxed);
        }
    }

    /// The longest wait in progress.
    fn current_wait(&self) -> Duration {
        let now = self.now();
        self.waiting_since
            .iter()
            .map(|w| match w.load(Ordering::Relaxed) {
                0 => Duration::ZERO,
                since => Duration::from_millis(now.saturating_sub(since)),
            })
            .max()
            .unwrap_or_default()
    }

    /// Every wait so far, those in progress included.
    fn total_wait(&self) -> Duration {
        let now = self.now();
        let current: u64 = self
            .waiting_since
            .iter()
            .map(|w| match w.load(Ordering::Relaxed) {
                0 => 0,
                since => now.saturating_sub(since),
            })
            .sum();
        Duration::from_millis(self.waited.load(Ordering::Relaxed) + current)
    }

    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    /// Whether an idle connection has waited `timeout` for its next request: since its last byte,
    /// or, on HTTP/1, since its last response (a head that trickles in does not count: this is
    /// the request-head timeout, hyper's `header_read_timeout`, checked on the monitor's tick
    /// rather than with a timer armed and dropped around every request).
    fn idle_past(&self, timeout: Duration) -> bool {
        if !self.idle() {
            return false;
        }
        let waited = self
            .now()
            .saturating_sub(self.idle_since.load(Ordering::Relaxed));
        self.since_read() >= timeout
            || (!self.http2.load(Ordering::Relaxed) && Duration::from_millis(waited) >= timeout)
    }
}

/// Counts a request from the moment hyper hands it over until its response body is sent or
/// dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle_since.store(self.0.now(), Ordering::Relaxed);
        }
    }
}

/// The socket, noting when bytes arrive and when writes wait on the client. It holds the
/// connection's slot under the cap, also after a WebSocket upgrade, until it is closed.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
    _slot: Slot,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        res
    }
}

impl Tracked {
    fn note<T>(&self, res: Poll<T>) -> Poll<T> {
        match res {
            Poll::Pending => self.activity.wait_begins(Wait::Write),
            Poll::Ready(_) => self.activity.wait_ends(Wait::Write),
        }
        res
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.note(res)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.note(res)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let res = Pin::new(&mut self.inner).poll_flush(cx);
        self.note(res)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request body that notes when the handler waits for the client's next chunk.
fn timed_body(body: Body, activity: Arc<Activity>) -> Body {
    struct Timed<S> {
        inner: S,
        activity: Arc<Activity>,
    }
    impl<S: Stream + Unpin> Stream for Timed<S> {
        type Item = S::Item;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
            let res = self.inner.poll_next_unpin(cx);
            match res {
                Poll::Pending => self.activity.wait_begins(Wait::Body),
                Poll::Ready(_) => self.activity.wait_ends(Wait::Body),
            }
            res
        }
    }
    impl<S> Drop for Timed<S> {
        fn drop(&mut self) {
            self.activity.wait_ends(Wait::Body);
        }
    }
    Body::from_bytes_stream(Timed {
        inner: body.into_bytes_stream(),
        activity,
    })
}

/// A response body that keeps its request counted until it is sent (or dropped), and keeps its
/// size hint so that fixed-length responses stay fixed-length.
struct Counted {
    inner: BoxBody,
    _in_flight: InFlight,
}

impl HttpBody for Counted {
    type Data = bytes::Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A slot under `HttpLimits::max_connections`; freeing it wakes an accept loop that ran out of
/// descriptors.
struct Slot {
    _permit: OwnedSemaphorePermit,
    freed: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.freed.notify_waiters();
    }
}

/// Logs a recurring capacity problem at most once per `LOG_EVERY`, with the count in between.
struct RateLimitedLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    fn new() -> Self {
        RateLimitedLog {
            last: None,
            suppressed: 0,
        }
    }

    fn hit(&mut self, log: impl FnOnce(u64)) {
        if self.last.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
            log(self.suppressed);
            self.last = Some(Instant::now());
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
    }
}

/// Out of descriptors or kernel memory: retrying at once cannot succeed and only burns CPU.
fn out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Serves `ep` on `listener` until `stop`; then stops accepting (closing the listener), drains the
/// connections as described at the top, and returns when the last one closed or `drain_deadline`
/// passed.
pub async fn serve<E>(
    listener: std::net::TcpListener,
    ep: E,
    name: &'static str,
    limits: HttpLimits,
    stop: CancellationToken,
    drain_deadline: Duration,
) -> io::Result<()>
where
    E: Endpoint + 'static,
{
    let listener = TcpListener::from_std(listener)?;
    let local = LocalAddr(listener.local_addr()?.into());
    let ep = Arc::new(ep);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let freed = Arc::new(Notify::new());
    let connections = TaskTracker::new();
    let abort = CancellationToken::new();
    let mut fd_log = RateLimitedLog::new();
    let mut cap_log = RateLimitedLog::new();

    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                cap_log.hit(|suppressed| {
                    tracing::warn!(
                        server = name,
                        max_connections = limits.max_connections,
                        suppressed,
                        "connection limit reached; new connections wait in the backlog"
                    )
                });
                tokio::select! {
                    _ = stop.cancelled() => break,
                    p = slots.clone().acquire_owned() => p.expect("never closed"),
                }
            }
        };
        let accepted = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) if out_of_resources(&e) => {
                fd_log.hit(|suppressed| {
                    tracing::error!(
                        server = name,
                        error = %e,
                        open_connections = limits.max_connections - slots.available_permits() - 1,
                        suppressed,
                        "cannot accept connections: out of file descriptors; backing off"
                    )
                });
                drop(permit);
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = freed.notified() => {}
                    _ = tokio::time::sleep(FD_BACKOFF) => {}
                }
                continue;
            }
            // The peer gave up before we accepted (ECONNABORTED and the like): nothing to do.
            Err(e) => {
                tracing::debug!(server = name, error = %e, "accept failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = Tracked {
            inner: stream,
            activity: activity.clone(),
            _slot: Slot {
                _permit: permit,
                freed: freed.clone(),
            },
        };
        connections.spawn(connection(
            io,
            activity,
            Peer {
                local: local.clone(),
                remote: RemoteAddr(peer.into()),
            },
            ep.clone(),
            limits,
            stop.clone(),
            abort.clone(),
        ));
    }
    // Close our copy of the listener at once: under socket activation systemd keeps its own, so
    // new connections wait in the backlog for the next process instead of being refused here.
    drop(listener);
    connections.close();
    tracing::info!(
        server = name,
        connections = connections.len(),
        "draining connections"
    );
    if tokio::time::timeout(drain_deadline, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            server = name,
            connections = connections.len(),
            "drain deadline passed; closing the remaining connections"
        );
        abort.cancel();
        connections.wait().await;
    }
    Ok(())
}

#[derive(Clone)]
struct Peer {
    local: LocalAddr,
    remote: RemoteAddr,
}

/// What every request of a connection needs, behind one per-connection reference count: the
/// endpoint and the tokens are shared by all connections, and cloning them per request (an atomic
/// on a line both cores write, and a `CancellationToken` clone takes its tree's lock) was
/// measurable work per request under load (issue 13).
struct Conn<E> {
    ep: Arc<E>,
    peer: Peer,
    activity: Arc<Activity>,
    stop: CancellationToken,
}

/// One connection: hyper serves it, this watches it.
async fn connection<E: Endpoint + 'static>(
    io: Tracked,
    activity: Arc<Activity>,
    peer: Peer,
    ep: Arc<E>,
    limits: HttpLimits,
    stop: CancellationToken,
    abort: CancellationToken,
) {
    let conn_state = Arc::new(Conn {
        ep,
        peer,
        activity: activity.clone(),
        stop: stop.clone(),
    });
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        // Counted now, synchronously, so that the monitor never sees a request hyper has
        // already parsed as an idle connection.
        let in_flight = InFlight::new(&conn_state.activity);
        let c = conn_state.clone();
        async move {
            let http1 = req.version() < Version::HTTP_2;
            if !http1 {
                c.activity.http2.store(true, Ordering::Relaxed);
            }
            let has_body = req.body().size_hint().exact() != Some(0);
            let mut req: Request = (
                req,
                c.peer.local.clone(),
                c.peer.remote.clone(),
                poem::http::uri::Scheme::HTTP,
            )
                .into();
            if has_body {
                let body = req.take_body();
                req.set_body(timed_body(body, c.activity.clone()));
            }
            let mut resp = c.ep.get_response(req).await;
            // From the moment of stopping, every HTTP/1 response tells the client not to reuse
            // the connection, so that it never sends a request on one we are about to close.
            if http1 && c.stop.is_cancelled() && resp.status() != 101 {
                resp.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            let resp: hyper::Response<BoxBody> = resp.into();
            Ok::<_, Infallible>(resp.map(|inner| Counted {
                inner,
                _in_flight: in_flight,
            }))
        }
    });

    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The request-head timeout is the monitor's (`Activity::idle_past`): hyper's armed a timer
    // for every request of a keep-alive connection (issue 13).
    builder.http1().header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_pending_accept_reset_streams(20)
        .max_header_list_size(16384);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(conn);

    // The tokens are looked at on the tick, not awaited: a pending `cancelled()` takes its token's
    // lock each time it is polled, and this loop is polled on every wake of the connection (each
    // request), by every connection at once. Stopping is noticed within a `TICK`, the drain
    // deadline within a `DRAIN_TICK` (the connection is draining by then).
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // When stopping began, and how long the connection had waited on its client by then.
    let mut draining: Option<(Instant, Duration)> = None;
    let reason = loop {
        tokio::select! {
            // The connection first: bytes that are already readable must become a request before
            // the checks below can call the connection idle.
            biased;
            _ = &mut conn => return,
            _ = tick.tick() => {
                if abort.is_cancelled() {
                    break "drain deadline";
                }
                if draining.is_none() && stop.is_cancelled() {
                    draining = Some((Instant::now(), activity.total_wait()));
                    tick = tokio::time::interval(DRAIN_TICK);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                }
                if activity.current_wait() >= limits.io_timeout {
                    break "client stalled (io timeout)";
                }
                if activity.idle_past(limits.idle_timeout) {
                    break "idle";
                }
                if let Some((since, waited_before)) = draining {
                    if activity.total_wait().saturating_sub(waited_before) >= DRAIN_CLIENT_BUDGET {
                        break "slow client while stopping";
                    }
                    if activity.idle()
                        && (activity.since_read() >= DRAIN_QUIET
                            || since.elapsed() >= DRAIN_HEAD_GRACE)
                    {
                        break "stopping";
                    }
                }
            }
        }
    };
    tracing::debug!(reason, "closing connection");
}
