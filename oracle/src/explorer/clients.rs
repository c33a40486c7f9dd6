//! Who is asking: the explorer's share of its places per client address.
//!
//! The global limits (`max_heavy`, `max_watchers`) keep the explorer up, but one client could
//! hold all of them. [`ClientLayer`] sits in front of both servers and runs every request in
//! the scope of its [`Client`] (the peer address tonic or axum recorded for the connection);
//! [`Shares`] then lets each client hold at most its share of a kind of place. A client is an
//! IPv4 address or an IPv6 /64 (what one subscriber is usually given). Behind a reverse proxy
//! every request comes from the proxy: give it its own limits there, or raise the shares.
//! Requests made without a connection (in-process calls, tests) have no client and no share.

use std::{
    collections::HashMap,
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

/// One client: an IPv4 address, or the /56 an IPv6 address is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client(IpAddr);

impl Client {
    pub fn of(addr: IpAddr) -> Client {
        match addr {
            IpAddr::V4(_) => Client(addr),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 72) - 1);
                    Client(IpAddr::V6(prefix.into()))
                }
            },
        }
    }

    /// The client the current request came from, if it came over a connection.
    pub fn current() -> Option<Client> {
        CLIENT.try_with(|c| *c).ok().flatten()
    }
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}"),
            IpAddr::V6(a) => write!(f, "{a}/56"),
        }
    }
}

tokio::task_local! {
    static CLIENT: Option<Client>;
}

/// How many places of one kind each client holds.
#[derive(Debug)]
pub struct Shares {
    pub per_client: usize,
    held: Mutex<HashMap<Client, usize>>,
}

/// A client's share taken; given back when dropped.
#[derive(Debug)]
pub struct Share {
    shares: Arc<Shares>,
    client: Client,
}

impl Shares {
    pub fn new(per_client: usize) -> Arc<Shares> {
        Arc::new(Shares {
            per_client,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// One more place for `client`, or `None` when it holds `per_client` already.
    pub fn take(self: &Arc<Self>, client: Client) -> Option<Share> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let n = held.entry(client).or_insert(0);
        if *n >= self.per_client {
            return None;
        }
        *n += 1;
        Some(Share {
            shares: self.clone(),
            client,
        })
    }

    /// Clients holding at least one place.
    pub fn clients(&self) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut held = self.shares.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = held.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.client);
            }
        }
    }
}

/// A request refused because its client has `max_concurrent_per_client` under way (the
/// servers' error handlers turn it into `RESOURCE_EXHAUSTED` / HTTP 503).
#[derive(Debug, thiserror::Error)]
#[error(
    "your address has {0} requests under way, the most one client may ([explorer] \
     max_concurrent_per_client); wait for them"
)]
pub struct ClientBusy(pub usize);

/// The outermost layer of both servers: runs each request in the scope of the client its
/// connection came from, and refuses at once a client's request past `per_client` under way
/// (so one address cannot hold the servers' `max_concurrent` places, e.g. with requests whose
/// bodies never come).
#[derive(Debug, Clone)]
pub struct ClientLayer {
    in_flight: Arc<Shares>,
}

impl ClientLayer {
    pub fn new(per_client: usize) -> ClientLayer {
        ClientLayer {
            in_flight: Shares::new(per_client),
        }
    }
}

impl<S> tower::Layer<S> for ClientLayer {
    type Service = ClientScope<S>;
    fn layer(&self, inner: S) -> ClientScope<S> {
        ClientScope {
            inner,
            in_flight: self.in_flight.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientScope<S> {
    inner: S,
    in_flight: Arc<Shares>,
}

/// The peer address of a request: tonic's or axum's record of its connection.
fn peer<B>(request: &axum::http::Request<B>) -> Option<SocketAddr> {
    let ext = request.extensions();
    ext.get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(|c| c.remote_addr())
        .or_else(|| {
            ext.get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0)
        })
}

impl<S, B> tower::Service<axum::http::Request<B>> for ClientScope<S>
where
    S: tower::Service<axum::http::Request<B>>,
    S::Error: Into<tower::BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = tower::BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, tower::BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        let client = peer(&request).map(|a| Client::of(a.ip()));
        let share = match client {
            Some(c) => match self.in_flight.take(c) {
                Some(share) => Some(share),
                None => {
                    metrics::counter!("hexproof_explorer_refused_total", "reason" => "in_flight", "scope" => "client")
                        .increment(1);
                    let busy = ClientBusy(self.in_flight.per_client);
                    return Box::pin(async move { Err(busy.into()) });
                }
            },
            None => {
                // A server that records no peer address gives no client its share: counted so
                // such a set-up is seen.
                metrics::counter!("hexproof_explorer_unattributed_total").increment(1);
                None
            }
        };
        // The inner service is called inside the scope too: tonic and axum may start work there.
        let future = CLIENT.sync_scope(client, || self.inner.call(request));
        Box::pin(CLIENT.scope(client, async move {
            let _share = share;
            future.await.map_err(Into::into)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_56() {
        let a = |s: &str| Client::of(s.parse().unwrap());
        assert_ne!(a("10.0.0.1"), a("10.0.0.2"));
        assert_eq!(a("2001:db8:1:2::1"), a("2001:db8:1:2:ffff::9"));
        assert_eq!(
            a("2001:db8:1:2::1"),
            a("2001:db8:1:ff::1"),
            "one home's /64s"
        );
        assert_ne!(a("2001:db8:1:2::1"), a("2001:db8:1:102::1"));
        assert_eq!(a("::ffff:10.0.0.1"), a("10.0.0.1"));
        assert_eq!(a("2001:db8:1:2::1").to_string(), "2001:db8:1::/56");
    }

    #[test]
    fn each_client_holds_at_most_its_share_and_gets_it_back() {
        let shares = Shares::new(2);
        let (a, b) = (
            Client::of([10, 0, 0, 1].into()),
            Client::of([10, 0, 0, 2].into()),
        );
        let a1 = shares.take(a).unwrap();
        let _a2 = shares.take(a).unwrap();
        assert!(shares.take(a).is_none(), "a third is refused");
        let _b1 = shares.take(b).expect("another client is not");
        drop(a1);
        assert!(shares.take(a).is_some(), "a share given back is free");
        drop(_b1);
        assert_eq!(shares.clients(), 1, "a client holding nothing is forgotten");
    }

    #[tokio::test]
    async fn a_request_runs_in_its_clients_scope() {
        use tower::{Layer, Service, ServiceExt};
        let mut svc =
            ClientLayer::new(4).layer(tower::service_fn(|_: axum::http::Request<()>| async {
                Ok::<_, std::convert::Infallible>(Client::current())
            }));
        let mut request = axum::http::Request::new(());
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(SocketAddr::from((
                [192, 0, 2, 7],
                4000,
            ))));
        let seen = svc.ready().await.unwrap().call(request).await.unwrap();
        assert_eq!(seen, Some(Client::of([192, 0, 2, 7].into())));
        let none = svc
            .ready()
            .await
            .unwrap()
            .call(axum::http::Request::new(()))
            .await
            .unwrap();
        assert_eq!(none, None, "no connection, no client");
    }
}
