use super::*;
use shardgate_ir::{HeaderMatch, QueryParamMatch};

const SITE: Site<'static> = Site {
    listener: "l",
    virtual_host: "vh",
    route: "r",
};

fn rm(path: PathMatch) -> RouteMatch {
    RouteMatch {
        path,
        headers: vec![],
        query_params: vec![],
        method: None,
    }
}

/// A match compiled into its own pool.
struct One(CompiledMatch, Pool);

fn compile(m: &RouteMatch) -> One {
    let mut pool = Pool::default();
    let c = CompiledMatch::compile(m, SITE, &mut pool).expect("test match compiles");
    One(c, pool)
}

fn try_compile(m: &RouteMatch) -> Result<CompiledMatch, CompileError> {
    CompiledMatch::compile(m, SITE, &mut Pool::default())
}

fn hits(m: &One, method: &str, target: &str, headers: &[(&str, &str)]) -> bool {
    let (path, query) = crate::request::split_target(target.as_bytes());
    m.0.matches(
        &m.1,
        &Parts {
            method: method.as_bytes(),
            path,
            query: query.unwrap_or_default(),
            headers,
        },
    )
}

fn path_hits(p: PathMatch, path: &str) -> bool {
    hits(&compile(&rm(p)), "GET", path, &[])
}

#[test]
fn exact_path_is_byte_equal_and_ignores_query() {
    let p = || PathMatch::Exact("/exact".into());
    assert!(path_hits(p(), "/exact"));
    assert!(path_hits(p(), "/exact?x=1"));
    assert!(!path_hits(p(), "/exact/"));
    assert!(!path_hits(p(), "/Exact"));
    assert!(!path_hits(p(), "/exac"));
    assert!(!path_hits(p(), "/exact/more"));
}

#[test]
fn prefix_path_is_segment_aware() {
    let p = || PathMatch::Prefix("/foo".into());
    for yes in ["/foo", "/foo/", "/foo/bar", "/foo?q", "/foo/?q", "/foo//x"] {
        assert!(path_hits(p(), yes), "{yes}");
    }
    for no in ["/foobar", "/fo", "/", "/bar/foo", "/FOO", "foo"] {
        assert!(!path_hits(p(), no), "{no}");
    }
}

#[test]
fn prefix_trailing_slash_is_ignored() {
    let p = || PathMatch::Prefix("/foo/".into());
    assert!(path_hits(p(), "/foo"));
    assert!(path_hits(p(), "/foo/"));
    assert!(path_hits(p(), "/foo/bar"));
    assert!(!path_hits(p(), "/foobar"));
    assert_eq!(prefix_key("/foo/"), "/foo");
    assert_eq!(prefix_key("/a//"), "/a");
    assert_eq!(prefix_key("/"), "");
}

#[test]
fn root_prefix_matches_every_path() {
    let p = || PathMatch::Prefix("/".into());
    for yes in ["/", "/x", "/x/y", "/?q=1", "//"] {
        assert!(path_hits(p(), yes), "{yes}");
    }
}

#[test]
fn regex_path_is_anchored_to_whole_path() {
    let p = || PathMatch::Regex("/v[0-9]+/.*".into());
    assert!(path_hits(p(), "/v1/x"));
    assert!(path_hits(p(), "/v12/"));
    assert!(path_hits(p(), "/v12/?q=/v1/"));
    assert!(!path_hits(p(), "/api/v1/x"), "not anchored at start");
    assert!(!path_hits(p(), "/v1"));
    // Alternation binds inside the anchors.
    let alt = || PathMatch::Regex("/a|/b".into());
    assert!(path_hits(alt(), "/a"));
    assert!(path_hits(alt(), "/b"));
    assert!(!path_hits(alt(), "/a/x"));
    assert!(!path_hits(alt(), "/x/b"));
}

#[test]
fn regex_that_would_escape_the_anchors_is_refused() {
    let m = rm(PathMatch::Regex("/a)|(.*".into()));
    let err = try_compile(&m).expect_err("unbalanced group");
    let text = err.to_string();
    assert!(text.contains("route r"), "{text}");
    assert!(text.contains("path regex \"/a)|(.*\""), "{text}");
}

#[test]
fn bad_regexes_name_route_field_and_pattern() {
    let mut m = rm(PathMatch::Prefix("/".into()));
    m.headers.push(HeaderMatch {
        name: "x-v".into(),
        value: StringMatch::Regex("[".into()),
    });
    let err = try_compile(&m).expect_err("bad header regex");
    assert!(
        matches!(&err, CompileError::Regex(e)
            if e.route == "r" && e.field == "header \"x-v\"" && e.pattern == "["),
        "{err:?}"
    );

    let mut m = rm(PathMatch::Prefix("/".into()));
    m.query_params.push(QueryParamMatch {
        name: "q".into(),
        value: StringMatch::Regex("a{99999999}".into()),
    });
    let err = try_compile(&m).expect_err("oversized query regex");
    assert!(
        matches!(&err, CompileError::Regex(e) if e.field == "query parameter \"q\""),
        "{err:?}"
    );
}

#[test]
fn method_is_exact_and_case_sensitive() {
    let mut m = rm(PathMatch::Prefix("/".into()));
    m.method = Some("POST".into());
    let c = compile(&m);
    assert!(hits(&c, "POST", "/", &[]));
    assert!(!hits(&c, "post", "/", &[]));
    assert!(!hits(&c, "GET", "/", &[]));
    assert!(!hits(&c, "POSTX", "/", &[]));
}

#[test]
fn headers_match_names_case_insensitively_values_exactly() {
    let mut m = rm(PathMatch::Prefix("/".into()));
    m.headers.push(HeaderMatch {
        name: "version".into(),
        value: StringMatch::Exact("one".into()),
    });
    let c = compile(&m);
    assert!(hits(&c, "GET", "/", &[("Version", "one")]));
    assert!(hits(&c, "GET", "/", &[("VERSION", "one")]));
    assert!(!hits(&c, "GET", "/", &[("version", "One")]));
    assert!(!hits(&c, "GET", "/", &[("version", "one ")]));
    assert!(!hits(&c, "GET", "/", &[]));
    // Any of several values may match.
    assert!(hits(
        &c,
        "GET",
        "/",
        &[("version", "two"), ("version", "one")]
    ));
    // A comma-joined value is one value, not two.
    assert!(!hits(&c, "GET", "/", &[("version", "two, one")]));
}

#[test]
fn header_regex_is_anchored() {
    let mut m = rm(PathMatch::Prefix("/".into()));
    m.headers.push(HeaderMatch {
        name: "x-id".into(),
        value: StringMatch::Regex("[0-9]+".into()),
    });
    let c = compile(&m);
    assert!(hits(&c, "GET", "/", &[("x-id", "123")]));
    assert!(!hits(&c, "GET", "/", &[("x-id", "a123")]));
    assert!(!hits(&c, "GET", "/", &[("x-id", "")]));
    assert!(hits(&c, "GET", "/", &[("x-id", "x"), ("x-id", "7")]));
}

#[test]
fn query_params_compare_raw_first_occurrence() {
    let mut m = rm(PathMatch::Prefix("/".into()));
    m.query_params.push(QueryParamMatch {
        name: "animal".into(),
        value: StringMatch::Exact("whale".into()),
    });
    let c = compile(&m);
    assert!(hits(&c, "GET", "/?animal=whale", &[]));
    assert!(hits(&c, "GET", "/x?a=1&animal=whale&b", &[]));
    assert!(!hits(&c, "GET", "/?ANIMAL=whale", &[]));
    assert!(!hits(&c, "GET", "/?animal=Whale", &[]));
    assert!(!hits(&c, "GET", "/?animal=whaledolphin", &[]));
    assert!(!hits(&c, "GET", "/?animal=dolphin&animal=whale", &[]));
    assert!(hits(&c, "GET", "/?animal=whale&animal=dolphin", &[]));
    assert!(!hits(&c, "GET", "/", &[]));
    assert!(!hits(&c, "GET", "/animal=whale", &[]));

    let mut m = rm(PathMatch::Prefix("/".into()));
    m.query_params.push(QueryParamMatch {
        name: "n".into(),
        value: StringMatch::Regex("[a-c]+".into()),
    });
    let c = compile(&m);
    assert!(hits(&c, "GET", "/?n=abc", &[]));
    assert!(!hits(&c, "GET", "/?n=abcd", &[]));
}

#[test]
fn all_conditions_of_one_match_must_hold() {
    let m = RouteMatch {
        path: PathMatch::Prefix("/api".into()),
        headers: vec![HeaderMatch {
            name: "version".into(),
            value: StringMatch::Exact("two".into()),
        }],
        query_params: vec![QueryParamMatch {
            name: "animal".into(),
            value: StringMatch::Exact("whale".into()),
        }],
        method: Some("GET".into()),
    };
    let c = compile(&m);
    let h = [("version", "two")];
    assert!(hits(&c, "GET", "/api/x?animal=whale", &h));
    assert!(!hits(&c, "PUT", "/api/x?animal=whale", &h));
    assert!(!hits(&c, "GET", "/other?animal=whale", &h));
    assert!(!hits(&c, "GET", "/api/x?animal=shark", &h));
    assert!(!hits(&c, "GET", "/api/x?animal=whale", &[]));
}
