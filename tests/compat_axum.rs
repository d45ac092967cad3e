//! `ringolo::compat::axum::serve` (feature `axum`) on real sockets: HTTP/1 and HTTP/2,
//! `ConnectInfo` over TCP and Unix sockets, graceful shutdown that lets an in-flight request
//! finish and then refuses connections, and a server that shrugs off clients that reset.
#![cfg(feature = "axum")]

use std::future::IntoFuture;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::handler::HandlerWithoutStateExt;
use axum::routing::{get, post};
use axum::Router;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, Version};
use hyper_util::rt::TokioIo;
use ringolo::compat as tokio;
use ringolo::compat::axum::serve;
use ringolo::compat::hyper::Executor;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// One request over HTTP/1.1 or HTTP/2 on `io`; the response's version, status and body.
async fn request<I>(
    io: I,
    version: Version,
    req: Request<Full<Bytes>>,
) -> (Version, StatusCode, String)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let res = if version == Version::HTTP_2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(Executor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        sender.send_request(req).await.unwrap()
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        sender.send_request(req).await.unwrap()
    };
    let (v, status) = (res.version(), res.status());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (v, status, String::from_utf8(body.to_vec()).unwrap())
}

fn get_req(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header("host", "localhost")
        .body(Full::default())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_http1_and_http2_with_connect_info() {
    let app = Router::new().route(
        "/",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    );
    assert_eq!(server.local_addr().unwrap(), addr);
    tokio::spawn(server.into_future());
    for version in [Version::HTTP_11, Version::HTTP_2] {
        let stream = TcpStream::connect(addr).await.unwrap();
        let me = stream.local_addr().unwrap();
        let uri = format!("http://{addr}/");
        let (v, status, body) = request(stream, version, get_req(&uri)).await;
        assert_eq!((v, status), (version, StatusCode::OK));
        assert_eq!(body, me.to_string(), "ConnectInfo is the client's address");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_an_in_flight_request_finish_then_refuses() {
    let started = Arc::new(tokio::sync::Notify::new());
    let app = Router::new()
        .route(
            "/slow",
            get(
                |State(started): State<Arc<tokio::sync::Notify>>| async move {
                    started.notify_one();
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "finished"
                },
            ),
        )
        .with_state(started.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    // An idle keep-alive connection: closed by the shutdown, not waited for.
    let idle = TcpStream::connect(addr).await.unwrap();
    let (mut idle_sender, idle_conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(idle))
            .await
            .unwrap();
    let idle_conn = tokio::spawn(idle_conn);
    idle_sender.ready().await.unwrap();

    let slow = tokio::spawn(async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        request(stream, Version::HTTP_11, get_req("/slow")).await
    });
    started.notified().await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !server.is_finished(),
        "the server waits for the slow request"
    );
    let (_, status, body) = slow.await.unwrap();
    assert_eq!((status, body.as_str()), (StatusCode::OK, "finished"));
    let res = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(matches!(res, Ok(Ok(Ok(())))), "{res:?}");
    // Closed by the server before any request (hyper's client calls that an incomplete
    // message, or a clean end).
    let idle_closed = tokio::time::timeout(Duration::from_secs(1), idle_conn).await;
    assert!(idle_closed.is_ok(), "the idle connection is still open");
    let err = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_reset_mid_request_do_not_stop_the_server() {
    let app = Router::new().route("/echo", post(|body: String| async move { body }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app).into_future());
    tokio::task::spawn_blocking(move || {
        for partial in [
            &b""[..],
            b"POST /echo HTTP/1.1\r\nHost: x\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly some of it",
        ] {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(partial).unwrap();
            // Linger 0: the close is a reset, mid-request.
            socket2::SockRef::from(&s)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(s);
        }
    })
    .await
    .unwrap();
    for i in 0..3 {
        let stream = TcpStream::connect(addr).await.unwrap();
        let req = Request::post("/echo")
            .header("host", "localhost")
            .body(Full::new(Bytes::from(format!("still here {i}"))))
            .unwrap();
        let (_, status, body) = request(stream, Version::HTTP_11, req).await;
        assert_eq!((status, body), (StatusCode::OK, format!("still here {i}")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_unix_socket_with_its_connect_info() {
    let dir = std::env::temp_dir().join(format!("ringolo-axum-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    let _ = std::fs::remove_file(&path);
    let app = Router::new().route(
        "/",
        get(
            |ConnectInfo(peer): ConnectInfo<tokio::net::unix::SocketAddr>| async move {
                format!("unnamed peer: {}", peer.is_unnamed())
            },
        ),
    );
    let listener = UnixListener::bind(&path).unwrap();
    tokio::spawn(
        serve(
            listener,
            app.into_make_service_with_connect_info::<tokio::net::unix::SocketAddr>(),
        )
        .into_future(),
    );
    for version in [Version::HTTP_11, Version::HTTP_2] {
        let stream = UnixStream::connect(&path).await.unwrap();
        let (v, status, body) = request(stream, version, get_req("http://localhost/")).await;
        assert_eq!(
            (v, status, body.as_str()),
            (version, StatusCode::OK, "unnamed peer: true")
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Every make-service shape `axum::serve` takes, this one takes (axum's own list).
#[tokio::test]
async fn serve_takes_what_axum_serve_takes() {
    async fn handler() -> &'static str {
        "hi"
    }
    let listener = || async { TcpListener::bind("127.0.0.1:0").await.unwrap() };
    let router: Router = Router::new().route("/", get(handler));
    let servers = [
        serve(listener().await, router.clone()).into_future(),
        serve(listener().await, router.clone().into_make_service()).into_future(),
        serve(
            listener().await,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .into_future(),
        serve(listener().await, get(handler)).into_future(),
        serve(listener().await, get(handler).into_make_service()).into_future(),
        serve(
            listener().await,
            get(handler).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .into_future(),
        serve(listener().await, handler.into_service()).into_future(),
        serve(listener().await, handler.into_make_service()).into_future(),
        serve(
            listener().await,
            handler.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .into_future(),
    ];
    assert_eq!(servers.len(), 9);
}

#[tokio::test]
async fn tap_io_sees_every_accepted_connection_before_it_is_served() {
    use ringolo::compat::axum::ListenerExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let tapped = Arc::new(AtomicUsize::new(0));
    let seen = tapped.clone();
    let listener =
        TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .tap_io(move |tcp: &mut TcpStream| {
                // What axum's docs show it for.
                tcp.set_nodelay(true).unwrap();
                seen.fetch_add(1, Ordering::SeqCst);
            });
    let addr = ringolo::compat::axum::Listener::local_addr(&listener).unwrap();
    let app = Router::new().route(
        "/",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    tokio::spawn(
        serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .into_future(),
    );
    for n in 1..=3 {
        let stream = TcpStream::connect(addr).await.unwrap();
        let me = stream.local_addr().unwrap();
        let (_, status, body) = request(
            stream,
            Version::HTTP_11,
            get_req(&format!("http://{addr}/")),
        )
        .await;
        assert_eq!((status, body), (StatusCode::OK, me.to_string()));
        assert_eq!(tapped.load(Ordering::SeqCst), n, "one tap per connection");
    }
}
