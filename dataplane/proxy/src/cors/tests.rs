use super::*;

fn cors(origins: &[&str], methods: &[&str], headers: &[&str], credentials: bool) -> Cors {
    let v = |x: &[&str]| x.iter().map(|s| (*s).to_owned()).collect();
    Cors {
        allow_origins: v(origins),
        allow_methods: v(methods),
        allow_headers: v(headers),
        expose_headers: v(&["x-header-3", "x-header-4"]),
        max_age_s: 3600,
        allow_credentials: credentials,
    }
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn origins_match_exactly_by_wildcard_and_default_port() {
    let c = cors(
        &[
            "https://www.foo.com",
            "https://*.bar.com",
            "http://plain.example",
        ],
        &[],
        &[],
        false,
    );
    for ok in [
        "https://www.foo.com",
        "HTTPS://WWW.FOO.COM",
        "https://www.foo.com:443",
        "https://www.bar.com",
        "https://xpto.www.bar.com",
        "http://plain.example:80",
    ] {
        assert!(origin_allowed(&c, ok.as_bytes()), "{ok} must be allowed");
    }
    for no in [
        "https://foobar.com",
        "http://www.foo.com",
        "https://www.foo.com:8443",
        "https://bar.com",
        "https://.bar.com.evil",
        "https://www.bar.com.evil",
        "",
    ] {
        assert!(!origin_allowed(&c, no.as_bytes()), "{no} must be refused");
    }
    let any = cors(&["*"], &[], &[], false);
    assert!(origin_allowed(&any, b"https://foobar.com:12345"));
}

#[test]
fn preflight_lists_the_configured_values() {
    let c = cors(
        &["https://www.foo.com"],
        &["GET", "OPTIONS"],
        &["x-header-1", "x-header-2"],
        true,
    );
    let r = CorsRequest {
        origin: b"https://www.foo.com",
        request_method: Some(b"GET"),
        request_headers: Some(b"x-header-1, x-header-2"),
    };
    let mut out = Vec::new();
    write_preflight(&mut out, &c, &r, false);
    assert_eq!(
        text(&out),
        "HTTP/1.1 204 No Content\r\n\
         Access-Control-Allow-Origin: https://www.foo.com\r\n\
         Access-Control-Allow-Credentials: true\r\n\
         Access-Control-Allow-Methods: GET, OPTIONS\r\n\
         Access-Control-Allow-Headers: x-header-1, x-header-2\r\n\
         Access-Control-Expose-Headers: x-header-3, x-header-4\r\n\
         Access-Control-Max-Age: 3600\r\n\
         Vary: Origin\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn wildcards_echo_the_request_and_refusals_carry_no_cors_headers() {
    let mut c = cors(&["*"], &["*"], &["*"], true);
    c.expose_headers = vec!["*".into()];
    let r = CorsRequest {
        origin: b"https://other.foo.com",
        request_method: Some(b"PUT"),
        request_headers: Some(b"x-header-1, x-header-2"),
    };
    let mut out = Vec::new();
    write_preflight(&mut out, &c, &r, true);
    let t = text(&out);
    assert!(
        t.contains("Access-Control-Allow-Origin: https://other.foo.com\r\n"),
        "{t}"
    );
    assert!(t.contains("Access-Control-Allow-Methods: PUT\r\n"), "{t}");
    assert!(
        t.contains("Access-Control-Allow-Headers: x-header-1, x-header-2\r\n"),
        "{t}"
    );
    // Credentialed: no `*` exposure.
    assert!(!t.contains("Expose"), "{t}");
    assert!(t.ends_with("Connection: close\r\n\r\n"), "{t}");

    let strict = cors(&["https://www.foo.com"], &["GET"], &[], true);
    let refused = CorsRequest {
        origin: b"https://foobar.com",
        request_method: Some(b"GET"),
        request_headers: None,
    };
    let mut out = Vec::new();
    write_preflight(&mut out, &strict, &refused, false);
    assert_eq!(
        text(&out),
        "HTTP/1.1 204 No Content\r\nVary: Origin\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn forwarded_responses_get_origin_credentials_and_exposure() {
    let c = cors(&["*"], &["PUT"], &[], false);
    let set = response_headers(&c, b"https://foobar.com:12345");
    assert_eq!(
        set,
        vec![
            (
                "access-control-allow-origin".to_owned(),
                "https://foobar.com:12345".to_owned()
            ),
            (
                "access-control-expose-headers".to_owned(),
                "x-header-3, x-header-4".to_owned()
            ),
        ]
    );
    let with_credentials = cors(&["*"], &["PUT"], &[], true);
    assert!(
        response_headers(&with_credentials, b"https://a.example")
            .iter()
            .any(|(n, v)| n == "access-control-allow-credentials" && v == "true")
    );
}
