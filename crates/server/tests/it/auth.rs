//! The bearer token: required on /api and /metrics when set, never on /healthz; public
//! addresses refused without one.

use crate::env_with;

const TOKEN: &str = "t0ken-for-tests-3f9a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_required_when_set() {
    let e = env_with(Some(TOKEN)).await;
    for path in [
        "/api/v1/stats",
        "/api/v1/findings?limit=1",
        "/api/v1/openapi.json",
        "/api/v1/no-such-route",
        "/metrics",
    ] {
        let (status, body) = e.get(path).await;
        assert_eq!(status, 401, "{path} without a token: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
        let (status, _) = e.get_with(path, Some("wrong-token-of-some-length")).await;
        assert_eq!(status, 401, "{path} with a wrong token");
        let (status, _) = e.get_with(path, Some(&TOKEN[..TOKEN.len() - 1])).await;
        assert_eq!(status, 401, "{path} with a prefix of the token");
    }
    for path in ["/api/v1/stats", "/api/v1/findings?limit=1", "/metrics"] {
        let (status, body) = e.get_with(path, Some(TOKEN)).await;
        assert_eq!(status, 200, "{path} with the token: {body}");
    }
    let (status, _) = e.get_with("/api/v1/no-such-route", Some(TOKEN)).await;
    assert_eq!(status, 404);
    let r = e
        .client
        .get(format!("{}/api/v1/stats", e.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    // The health check stays public.
    let (status, _) = e.get("/healthz").await;
    assert_eq!(status, 200);
    // The token never shows in Debug output of the state.
    assert!(!format!("{:?}", e.state).contains(TOKEN));
}

#[test]
fn a_public_address_without_a_token_is_refused() {
    let public: std::net::SocketAddr = "0.0.0.0:8080".parse().unwrap();
    let err = tenax_server::check_listen(&public, None).unwrap_err();
    assert!(
        err.contains("TENAX_API_TOKEN") && !err.contains('\n'),
        "{err}"
    );
    let token = tenax_server::ApiToken::new(TOKEN).unwrap();
    assert!(tenax_server::check_listen(&public, Some(&token)).is_ok());
    for loopback in ["127.0.0.1:8080", "[::1]:0"] {
        assert!(tenax_server::check_listen(&loopback.parse().unwrap(), None).is_ok());
    }
    assert!(!format!("{token:?}").contains(TOKEN));
}
