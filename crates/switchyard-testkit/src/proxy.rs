//! A fault-injecting TCP proxy for one directed link between two nodes, controlled at run time
//! by the test that owns it.
//!
//! `tc netem` is not available on the project's machines, so latency and partitions between
//! node processes come from here: every node dials each peer through its own [`LinkProxy`]
//! (listening on `127.0.0.1:0`, forwarding to the peer's real Raft address), wired in with the
//! node's `network.peer-dial-overrides`. The proxy runs on the test's tokio runtime.
//!
//! Each link has two directions: [`Direction::Forward`] carries the bytes of the dialling node
//! (its requests) to the upstream, [`Direction::Reverse`] the upstream's bytes (the replies)
//! back. Per direction the link passes bytes, or blackholes them, and may delay them:
//!
//! - **pass**: bytes are forwarded, after the direction's delay if one is set;
//! - **blackhole**: connections are still accepted, but no byte of that direction is forwarded
//!   any more, and connections already open stall — as on a real partition, nothing arrives and
//!   nothing says why. The bytes are read and discarded (so that closes are still seen and no
//!   buffer grows); a connection that lost bytes has a hole in its stream, so it is closed when
//!   the direction passes again, and the endpoints reconnect, as TCP peers do after a partition
//!   long enough to break their connections;
//! - **delay**: every chunk is held for `base ± jitter` (uniform), drawn from a seeded
//!   SplitMix64, without ever reordering bytes of a connection (a chunk is never delivered
//!   before the one read before it) and without limiting throughput (reading goes on while
//!   earlier chunks wait).
//!
//! A link can also be **severed**: every open connection is closed at once and new ones are
//! closed as soon as they are accepted, like a peer whose port refuses connections.
//!
//! Blackholing the forward direction of the link A→B and the reverse direction of B→A means
//! "nothing A sends reaches B": a one-way partition. The process harness (`procs.rs`) composes
//! such directions into node and site partitions.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchyard_domain::generator::SplitMix64;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Bytes read from a socket at a time.
const CHUNK_BYTES_MAX: usize = 64 * 1024;
/// Chunks of one direction of one connection waiting for their delivery time: with 64 KiB
/// chunks, at most 16 MiB held per direction.
const CHUNKS_IN_FLIGHT_MAX: usize = 256;
/// How long connecting to the upstream may take before the accepted connection is closed.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// One direction of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// From the dialling side to the upstream (the dialler's requests).
    Forward,
    /// From the upstream back to the dialling side (the replies).
    Reverse,
}

impl Direction {
    /// Both directions, forward first.
    pub const BOTH: [Direction; 2] = [Direction::Forward, Direction::Reverse];
}

/// A delay of `base ± jitter`, uniformly distributed, never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delay {
    pub base: Duration,
    pub jitter: Duration,
}

impl Delay {
    /// No delay.
    pub const NONE: Delay = Delay {
        base: Duration::ZERO,
        jitter: Duration::ZERO,
    };

    /// `base_ms ± jitter_ms` milliseconds.
    pub fn milliseconds(base_ms: u64, jitter_ms: u64) -> Delay {
        Delay {
            base: Duration::from_millis(base_ms),
            jitter: Duration::from_millis(jitter_ms),
        }
    }

    fn is_none(&self) -> bool {
        self.base.is_zero() && self.jitter.is_zero()
    }

    /// One draw of the delay.
    fn sample(&self, random: &mut SplitMix64) -> Duration {
        if self.jitter.is_zero() {
            return self.base;
        }
        let jitter_micros = u64::try_from(self.jitter.as_micros()).unwrap_or(u64::MAX / 4);
        let base_micros = u64::try_from(self.base.as_micros()).unwrap_or(u64::MAX / 4);
        let drawn = random.below(2 * jitter_micros + 1);
        Duration::from_micros((base_micros + drawn).saturating_sub(jitter_micros))
    }
}

/// What one direction of a link does to its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirectionState {
    /// Bytes are read and thrown away instead of forwarded.
    pub blackholed: bool,
    pub delay: Delay,
}

/// The whole state of a link, as the test set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkState {
    pub forward: DirectionState,
    pub reverse: DirectionState,
    /// Every connection is closed; new ones are closed when accepted.
    pub severed: bool,
}

impl LinkState {
    fn direction(&self, direction: Direction) -> &DirectionState {
        match direction {
            Direction::Forward => &self.forward,
            Direction::Reverse => &self.reverse,
        }
    }

    fn direction_mut(&mut self, direction: Direction) -> &mut DirectionState {
        match direction {
            Direction::Forward => &mut self.forward,
            Direction::Reverse => &mut self.reverse,
        }
    }
}

/// What went through a link so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkCounters {
    pub connections_accepted: u64,
    /// Connections closed at once because the link was severed.
    pub connections_refused: u64,
    pub forward_bytes: u64,
    pub reverse_bytes: u64,
    /// Bytes read and thrown away by a blackholed direction.
    pub blackholed_bytes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connections_accepted: AtomicU64,
    connections_refused: AtomicU64,
    forward_bytes: AtomicU64,
    reverse_bytes: AtomicU64,
    blackholed_bytes: AtomicU64,
}

impl Counters {
    fn forwarded(&self, direction: Direction) -> &AtomicU64 {
        match direction {
            Direction::Forward => &self.forward_bytes,
            Direction::Reverse => &self.reverse_bytes,
        }
    }
}

/// What every connection task of a link shares.
#[derive(Debug)]
struct Shared {
    name: String,
    state: watch::Sender<LinkState>,
    counters: Counters,
    /// One generator per direction, so that the delays of one direction do not depend on the
    /// traffic of the other.
    random: [Mutex<SplitMix64>; 2],
}

impl Shared {
    fn random(&self, direction: Direction) -> &Mutex<SplitMix64> {
        match direction {
            Direction::Forward => &self.random[0],
            Direction::Reverse => &self.random[1],
        }
    }
}

/// A running proxy for one directed link. Dropping it stops the listener and closes every
/// connection through it.
#[derive(Debug)]
pub struct LinkProxy {
    listen_address: SocketAddr,
    upstream: SocketAddr,
    seed: u64,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
    /// Tells the connection tasks to stop when the proxy is dropped.
    stop: watch::Sender<bool>,
}

impl LinkProxy {
    /// Starts a proxy on `127.0.0.1:0` that forwards to `upstream`, passing everything; `seed`
    /// seeds the delay draws. `name` (e.g. `tokyo-1->osaka-1`) appears in the test's messages.
    pub async fn start(
        name: impl Into<String>,
        upstream: SocketAddr,
        seed: u64,
    ) -> std::io::Result<LinkProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let listen_address = listener.local_addr()?;
        let (state, _) = watch::channel(LinkState::default());
        let shared = Arc::new(Shared {
            name: name.into(),
            state,
            counters: Counters::default(),
            random: [
                Mutex::new(SplitMix64::new(seed)),
                Mutex::new(SplitMix64::new(seed ^ 0x5EED_0F5E_ED0F_u64)),
            ],
        });
        let (stop, stopped) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(
            listener,
            upstream,
            Arc::clone(&shared),
            stopped,
        ));
        Ok(LinkProxy {
            listen_address,
            upstream,
            seed,
            shared,
            accept_task,
            stop,
        })
    }

    /// Where the dialling node connects instead of the upstream.
    pub fn listen_address(&self) -> SocketAddr {
        self.listen_address
    }

    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The seed of the delay draws.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The state the test set.
    pub fn state(&self) -> LinkState {
        *self.shared.state.borrow()
    }

    pub fn counters(&self) -> LinkCounters {
        let counters = &self.shared.counters;
        LinkCounters {
            connections_accepted: counters.connections_accepted.load(Ordering::Relaxed),
            connections_refused: counters.connections_refused.load(Ordering::Relaxed),
            forward_bytes: counters.forward_bytes.load(Ordering::Relaxed),
            reverse_bytes: counters.reverse_bytes.load(Ordering::Relaxed),
            blackholed_bytes: counters.blackholed_bytes.load(Ordering::Relaxed),
        }
    }

    fn update(&self, change: impl FnOnce(&mut LinkState)) {
        self.shared.state.send_modify(change);
    }

    /// Stops forwarding the bytes of `direction`; connections stay accepted but stall.
    pub fn blackhole(&self, direction: Direction) {
        self.update(|state| state.direction_mut(direction).blackholed = true);
    }

    /// Forwards the bytes of `direction` again (connections that lost bytes are closed).
    pub fn pass(&self, direction: Direction) {
        self.update(|state| state.direction_mut(direction).blackholed = false);
    }

    /// Delays every chunk of `direction` by `delay` (replaces the previous delay).
    pub fn set_delay(&self, direction: Direction, delay: Delay) {
        self.update(|state| state.direction_mut(direction).delay = delay);
    }

    /// Closes every connection and every new one, until [`LinkProxy::heal`].
    pub fn sever(&self) {
        self.update(|state| state.severed = true);
    }

    /// Ends every fault: both directions pass, the link is no longer severed. Delays stay: they
    /// are the link's latency, not a fault; [`LinkProxy::set_delay`] changes them.
    pub fn heal(&self) {
        self.update(|state| {
            state.severed = false;
            state.forward.blackholed = false;
            state.reverse.blackholed = false;
        });
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.accept_task.abort();
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors or similar: try again shortly rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        shared
            .counters
            .connections_accepted
            .fetch_add(1, Ordering::Relaxed);
        if shared.state.borrow().severed {
            shared
                .counters
                .connections_refused
                .fetch_add(1, Ordering::Relaxed);
            drop(client);
            continue;
        }
        tokio::spawn(connection(
            client,
            upstream,
            Arc::clone(&shared),
            stopped.clone(),
        ));
    }
}

/// Why a connection ends early: the link was severed, the proxy stopped, or a direction that
/// lost bytes passes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Continue,
    Close,
}

/// One accepted connection: connects to the upstream and pumps both directions until either
/// side closes or the link's state closes it.
async fn connection(
    client: TcpStream,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
) {
    let _ = client.set_nodelay(true);
    let server =
        match tokio::time::timeout(UPSTREAM_CONNECT_TIMEOUT, TcpStream::connect(upstream)).await {
            Ok(Ok(server)) => server,
            // The upstream is down: close the accepted connection, as the peer's refusal would.
            Ok(Err(_)) | Err(_) => return,
        };
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // Set by a pump that threw bytes away: the connection has a hole and must not carry on.
    let (closing, _) = watch::channel(false);
    let closing = Arc::new(closing);
    let forward = tokio::spawn(pump(
        Direction::Forward,
        client_read,
        server_write,
        Arc::clone(&shared),
        stopped.clone(),
        Arc::clone(&closing),
    ));
    let reverse = tokio::spawn(pump(
        Direction::Reverse,
        server_read,
        client_write,
        Arc::clone(&shared),
        stopped,
        Arc::clone(&closing),
    ));
    let _ = forward.await;
    let _ = reverse.await;
}

/// What the state says about a connection that lost bytes (or not) in `direction`.
fn verdict(state: &LinkState, direction: Direction, lost_bytes: bool) -> Verdict {
    if state.severed || (lost_bytes && !state.direction(direction).blackholed) {
        Verdict::Close
    } else {
        Verdict::Continue
    }
}

/// Reads one direction of a connection and hands its chunks to the writer with their delivery
/// times, or throws them away while the direction is blackholed. An end of stream is passed on
/// (the writer delivers what it holds, then shuts its side down); a forced close — the link
/// severed, the proxy stopped, a direction with a hole passing again, a read error — closes
/// both directions at once.
async fn pump(
    direction: Direction,
    mut source: OwnedReadHalf,
    sink: OwnedWriteHalf,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
    closing: Arc<watch::Sender<bool>>,
) {
    let (chunks, queued) = mpsc::channel::<(Instant, Vec<u8>)>(CHUNKS_IN_FLIGHT_MAX);
    let writer = tokio::spawn(write_chunks(sink, queued, closing.subscribe()));
    let mut state = shared.state.subscribe();
    let mut closing_seen = closing.subscribe();
    let mut lost_bytes = false;
    let mut last_delivery = Instant::now();
    let mut buffer = vec![0u8; CHUNK_BYTES_MAX];
    let forced = loop {
        if verdict(&state.borrow_and_update(), direction, lost_bytes) == Verdict::Close {
            break true;
        }
        tokio::select! {
            read = source.read(&mut buffer) => {
                let count = match read {
                    Ok(0) => break false,
                    Err(_) => break true,
                    Ok(count) => count,
                };
                let current = *state.borrow();
                let settings = current.direction(direction);
                if current.severed {
                    break true;
                }
                if settings.blackholed {
                    lost_bytes = true;
                    shared.counters.blackholed_bytes.fetch_add(count as u64, Ordering::Relaxed);
                    continue;
                }
                let now = Instant::now();
                let delivery = if settings.delay.is_none() {
                    now
                } else {
                    let delay = {
                        let mut random = shared.random(direction).lock().expect("proxy random lock");
                        settings.delay.sample(&mut random)
                    };
                    // Never before the chunk read earlier: TCP keeps the order of bytes.
                    (now + delay).max(last_delivery)
                };
                last_delivery = delivery;
                shared.counters.forwarded(direction).fetch_add(count as u64, Ordering::Relaxed);
                if chunks.send((delivery, buffer[..count].to_vec())).await.is_err() {
                    break true;
                }
            }
            changed = state.changed() => {
                if changed.is_err() {
                    break true;
                }
            }
            _ = stopped.changed() => break true,
            _ = closing_seen.changed() => break true,
        }
    };
    if forced {
        // The other direction's pump and both writers see it and stop too.
        closing.send_replace(true);
    }
    drop(chunks);
    let _ = writer.await;
}

/// Writes the chunks of one direction at their delivery times, then shuts the write side down;
/// a forced close drops what is still held.
async fn write_chunks(
    mut sink: OwnedWriteHalf,
    mut queued: mpsc::Receiver<(Instant, Vec<u8>)>,
    mut closing: watch::Receiver<bool>,
) {
    loop {
        let next = tokio::select! {
            next = queued.recv() => next,
            _ = closing.changed() => None,
        };
        let Some((delivery, chunk)) = next else {
            break;
        };
        let delivered = async {
            tokio::time::sleep_until(delivery).await;
            sink.write_all(&chunk).await
        };
        let written = tokio::select! {
            written = delivered => written.is_ok(),
            _ = closing.changed() => false,
        };
        if !written {
            break;
        }
    }
    let _ = sink.shutdown().await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::{Delay, Direction, LinkProxy};

    /// An upstream that echoes every byte back.
    async fn echo_server() -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0u8; 1024];
                    while let Ok(count) = stream.read(&mut buffer).await {
                        if count == 0 || stream.write_all(&buffer[..count]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        address
    }

    async fn round_trip(stream: &mut TcpStream, message: &[u8], wait: Duration) -> Option<Vec<u8>> {
        stream.write_all(message).await.ok()?;
        let mut answer = vec![0u8; message.len()];
        match tokio::time::timeout(wait, stream.read_exact(&mut answer)).await {
            Ok(Ok(_)) => Some(answer),
            _ => None,
        }
    }

    /// A passing link forwards both ways; a blackholed direction stalls the open connection
    /// (nothing arrives, nothing is closed) and new connections are accepted but stall too;
    /// healing closes the connection that lost bytes, and a new one works again.
    #[tokio::test]
    async fn blackhole_stalls_and_heal_resumes() {
        let upstream = echo_server().await;
        let proxy = LinkProxy::start("test", upstream, 1).await.unwrap();
        let mut stream = TcpStream::connect(proxy.listen_address()).await.unwrap();
        let wait = Duration::from_secs(2);
        assert_eq!(
            round_trip(&mut stream, b"hello", wait).await.as_deref(),
            Some(&b"hello"[..])
        );

        proxy.blackhole(Direction::Reverse);
        assert_eq!(
            round_trip(&mut stream, b"lost", Duration::from_millis(300)).await,
            None
        );
        let mut fresh = TcpStream::connect(proxy.listen_address()).await.unwrap();
        assert_eq!(
            round_trip(&mut fresh, b"also lost", Duration::from_millis(300)).await,
            None
        );
        assert!(proxy.counters().blackholed_bytes > 0);

        proxy.heal();
        // The connections with a hole are closed: reading ends.
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(wait, stream.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "the connection that lost bytes is closed");
        let mut again = TcpStream::connect(proxy.listen_address()).await.unwrap();
        assert_eq!(
            round_trip(&mut again, b"back", wait).await.as_deref(),
            Some(&b"back"[..])
        );
    }

    /// A severed link closes the open connection and every new one; healing lets new ones
    /// through.
    #[tokio::test]
    async fn sever_closes_and_refuses() {
        let upstream = echo_server().await;
        let proxy = LinkProxy::start("test", upstream, 2).await.unwrap();
        let mut stream = TcpStream::connect(proxy.listen_address()).await.unwrap();
        let wait = Duration::from_secs(2);
        assert!(round_trip(&mut stream, b"x", wait).await.is_some());
        proxy.sever();
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(wait, stream.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "a severed link closes its connections");
        let mut refused = TcpStream::connect(proxy.listen_address()).await.unwrap();
        assert_eq!(round_trip(&mut refused, b"y", wait).await, None);
        assert!(proxy.counters().connections_refused >= 1);
        proxy.heal();
        let mut again = TcpStream::connect(proxy.listen_address()).await.unwrap();
        assert!(round_trip(&mut again, b"z", wait).await.is_some());
    }

    /// A delay on each direction makes a round trip take at least both delays' minimum, and
    /// the bytes still arrive whole and in order.
    #[tokio::test]
    async fn delay_with_jitter_keeps_order() {
        let upstream = echo_server().await;
        let proxy = LinkProxy::start("test", upstream, 3).await.unwrap();
        for direction in Direction::BOTH {
            proxy.set_delay(direction, Delay::milliseconds(20, 5));
        }
        let mut stream = TcpStream::connect(proxy.listen_address()).await.unwrap();
        let started = std::time::Instant::now();
        let message: Vec<u8> = (0..200u8).collect();
        for piece in message.chunks(10) {
            stream.write_all(piece).await.unwrap();
        }
        let mut answer = vec![0u8; message.len()];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer, message);
        assert!(
            started.elapsed() >= Duration::from_millis(30),
            "{:?}",
            started.elapsed()
        );
    }

    /// The jittered delay stays within `base ± jitter` and is reproducible from its seed.
    #[test]
    fn delay_draws_stay_in_range_and_replay() {
        let delay = Delay::milliseconds(5, 2);
        let draw = |seed| {
            let mut random = switchyard_domain::generator::SplitMix64::new(seed);
            (0..1000)
                .map(|_| delay.sample(&mut random))
                .collect::<Vec<_>>()
        };
        let draws = draw(9);
        assert!(
            draws
                .iter()
                .all(|value| *value >= Duration::from_millis(3)
                    && *value <= Duration::from_millis(7))
        );
        assert!(draws.iter().any(|value| *value < Duration::from_millis(4)));
        assert!(draws.iter().any(|value| *value > Duration::from_millis(6)));
        assert_eq!(draws, draw(9));
    }
}
