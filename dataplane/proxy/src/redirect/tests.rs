use super::*;

fn redirect() -> Redirect {
    Redirect {
        scheme: None,
        hostname: None,
        path: None,
        port: None,
        status: 302,
    }
}

fn location(r: &Redirect, scheme: Scheme, host: &str, port: u16, target: &str) -> String {
    let mut out = Vec::new();
    let o = Origin {
        scheme,
        host: host.as_bytes(),
        listener_port: port,
        target: target.as_bytes(),
    };
    write_location(&mut out, r, &o);
    String::from_utf8(out).expect("ascii")
}

#[test]
fn defaults_keep_scheme_host_path_and_query() {
    let r = redirect();
    assert_eq!(
        location(&r, Scheme::Http, "example.com", 80, "/a/b?x=1"),
        "http://example.com/a/b?x=1"
    );
    // The listener port is kept unless it is the scheme's well-known one.
    assert_eq!(
        location(&r, Scheme::Http, "example.com:8080", 8080, "/"),
        "http://example.com:8080/"
    );
    assert_eq!(
        location(&r, Scheme::Https, "example.com", 443, "/"),
        "https://example.com/"
    );
    assert_eq!(
        location(&r, Scheme::Http, "[::1]:8080", 8080, "/"),
        "http://[::1]:8080/"
    );
}

#[test]
fn scheme_implies_its_well_known_port_unless_one_is_given() {
    let to_https = Redirect {
        scheme: Some("https".into()),
        ..redirect()
    };
    assert_eq!(
        location(&to_https, Scheme::Http, "example.com:8080", 8080, "/p"),
        "https://example.com/p"
    );
    let with_port = Redirect {
        port: Some(8443),
        ..to_https.clone()
    };
    assert_eq!(
        location(&with_port, Scheme::Http, "example.com", 80, "/p"),
        "https://example.com:8443/p"
    );
    let port_only = Redirect {
        port: Some(443),
        ..redirect()
    };
    // http on 443 is not a well-known pair: the port stays.
    assert_eq!(
        location(&port_only, Scheme::Http, "example.com", 80, "/"),
        "http://example.com:443/"
    );
    let host = Redirect {
        hostname: Some("other.example".into()),
        port: Some(80),
        ..redirect()
    };
    assert_eq!(
        location(&host, Scheme::Http, "example.com:8080", 8080, "/"),
        "http://other.example/"
    );
}

fn rewritten(p: &PathRewrite, path: &str) -> String {
    let mut out = Vec::new();
    rewrite_path(&mut out, p, path.as_bytes());
    String::from_utf8(out).expect("ascii")
}

#[test]
fn prefix_replacement_is_segment_aware() {
    let p = |prefix: &str, replacement: &str| PathRewrite::ReplacePrefixMatch {
        prefix: prefix.into(),
        replacement: replacement.into(),
    };
    assert_eq!(
        rewritten(&p("/prefix/one", "/one"), "/prefix/one/two"),
        "/one/two"
    );
    assert_eq!(rewritten(&p("/prefix/one", "/one"), "/prefix/one"), "/one");
    assert_eq!(
        rewritten(&p("/strip-prefix", "/"), "/strip-prefix/three"),
        "/three"
    );
    assert_eq!(rewritten(&p("/strip-prefix", "/"), "/strip-prefix"), "/");
    assert_eq!(rewritten(&p("/strip-prefix/", "/"), "/strip-prefix/"), "/");
    assert_eq!(rewritten(&p("/foo", "/bar/"), "/foo"), "/bar/");
    assert_eq!(rewritten(&p("/foo/", "/bar"), "/foo/x"), "/bar/x");
    assert_eq!(rewritten(&p("/", "/api"), "/x/y"), "/api/x/y");
    assert_eq!(rewritten(&p("/", "/api"), "/"), "/api/");
    let full = PathRewrite::ReplaceFullPath("/full".into());
    assert_eq!(rewritten(&full, "/any/thing"), "/full");
}

#[test]
fn redirect_response_has_location_and_no_body() {
    let r = Redirect {
        path: Some(PathRewrite::ReplaceFullPath("/new".into())),
        status: 308,
        ..redirect()
    };
    let mut out = Vec::new();
    let o = Origin {
        scheme: Scheme::Http,
        host: b"example.com",
        listener_port: 80,
        target: b"/old?q=1",
    };
    write_redirect(&mut out, &r, &o, true);
    assert_eq!(
        String::from_utf8(out).expect("ascii"),
        "HTTP/1.1 308 Permanent Redirect\r\nLocation: http://example.com/new?q=1\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
}
