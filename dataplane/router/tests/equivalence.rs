//! The compiled table against a naive reference matcher written straight
//! from the Gateway API rules, on random tables and random requests.
//!
//! Tables range from a handful of routes (linear scan) to a few hundred
//! (path index), drawn from small alphabets so that paths, prefixes,
//! hostnames, headers and query parameters collide often. The seed is fixed.

use regex::bytes::Regex;
use shardgate_ir::{
    Action, HeaderMatch, HostMatch, Listener, PathMatch, Protocol, QueryParamMatch, Route,
    RouteMatch, Snapshot, StringMatch, Timeouts, VirtualHost,
};
use shardgate_router::{Request, Table};
use std::collections::HashMap;

/// SplitMix64: small, deterministic, good enough to draw test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

const SEGMENTS: &[&str] = &["a", "b", "ab", "c", "a.b", "%2F"];
const EXACT_HOSTS: &[&str] = &["a.com", "b.a.com", "x.b.a.com", "c.org", "a.b.a.com"];
const WILDCARDS: &[&str] = &[".a.com", ".b.a.com", ".org", ".x.b.a.com"];
const REQUEST_HOSTS: &[&str] = &[
    "a.com",
    "b.a.com",
    "x.b.a.com",
    "c.org",
    "a.b.a.com",
    "z.a.com",
    "y.x.b.a.com",
    "q.c.org",
    "org",
    "zzz.net",
    "",
    ".a.com",
    "a.com.",
    "A.Com:8080",
    "B.A.COM.:80",
    "[::1]:80",
    "a.com..",
];
const PATH_REGEXES: &[&str] = &["/a/.*", "/[ab]+", "/(a|b)/c", "/a", "/.*/c/?", "/a|/b/ab"];
const HEADER_NAMES: &[&str] = &["x-a", "x-b"];
const VALUES: &[&str] = &["1", "2", "12", ""];
const VALUE_REGEXES: &[&str] = &["[12]+", "1|2", ".*", "2?"];
const QUERY_NAMES: &[&str] = &["q", "r", "Q"];
const METHODS: &[&str] = &["GET", "POST", "get"];

fn random_path(rng: &mut Rng) -> String {
    let depth = rng.below(4);
    let mut p = String::new();
    for _ in 0..depth {
        p.push('/');
        p.push_str(rng.pick(SEGMENTS));
    }
    if p.is_empty() || rng.chance(15) {
        p.push('/');
    }
    p
}

fn string_match(rng: &mut Rng) -> StringMatch {
    if rng.chance(25) {
        StringMatch::Regex(rng.pick(VALUE_REGEXES).to_owned())
    } else {
        StringMatch::Exact(rng.pick(VALUES).to_owned())
    }
}

fn random_match(rng: &mut Rng) -> RouteMatch {
    let path = match rng.below(100) {
        0..=39 => PathMatch::Exact(random_path(rng)),
        40..=89 => PathMatch::Prefix(random_path(rng)),
        _ => PathMatch::Regex(rng.pick(PATH_REGEXES).to_owned()),
    };
    let headers = (0..rng.below(3).saturating_sub(rng.below(2)))
        .map(|_| HeaderMatch {
            name: rng.pick(HEADER_NAMES).to_owned(),
            value: string_match(rng),
        })
        .collect();
    let query_params = (0..rng.below(3).saturating_sub(rng.below(2)))
        .map(|_| QueryParamMatch {
            name: rng.pick(QUERY_NAMES).to_owned(),
            value: string_match(rng),
        })
        .collect();
    let method = rng.chance(15).then(|| rng.pick(METHODS).to_owned());
    RouteMatch {
        path,
        headers,
        query_params,
        method,
    }
}

fn random_snapshot(rng: &mut Rng) -> Snapshot {
    let vhost_count = 1 + rng.below(4);
    let mut vhosts: Vec<VirtualHost> = (0..vhost_count)
        .map(|v| {
            // Mostly small enough for the linear scan, often large enough
            // for the path index.
            let routes = if rng.chance(50) {
                1 + rng.below(16)
            } else {
                17 + rng.below(300)
            };
            VirtualHost {
                name: format!("vh{v}"),
                hostnames: vec![],
                routes: (0..routes)
                    .map(|r| Route {
                        name: format!("vh{v}/r{r}"),
                        matches: (0..1 + rng.below(3)).map(|_| random_match(rng)).collect(),
                        filters: vec![],
                        action: Action::DirectResponse { status: 200 },
                        timeouts: Timeouts::default(),
                    })
                    .collect(),
            }
        })
        .collect();
    // Each hostname goes to at most one virtual host; at most one virtual
    // host keeps an empty list (the catch-all) unless it drew no names.
    for h in EXACT_HOSTS {
        if rng.chance(60) {
            let v = rng.below(vhost_count);
            vhosts[v].hostnames.push(HostMatch::Exact((*h).to_owned()));
        }
    }
    for w in WILDCARDS {
        if rng.chance(50) {
            let v = rng.below(vhost_count);
            vhosts[v]
                .hostnames
                .push(HostMatch::Wildcard((*w).to_owned()));
        }
    }
    let mut seen_catch_all = false;
    for vh in &mut vhosts {
        if vh.hostnames.is_empty() {
            if seen_catch_all {
                vh.hostnames
                    .push(HostMatch::Exact(format!("only-{}.test", vh.name)));
            }
            seen_catch_all = true;
        }
    }
    Snapshot {
        generation: 1,
        listeners: vec![Listener {
            name: "l".into(),
            address: [0, 0, 0, 0].into(),
            port: 80,
            protocol: Protocol::Http,
            tls: None,
            virtual_hosts: vhosts,
        }],
        clusters: vec![],
    }
}

struct Req {
    method: String,
    host: String,
    target: String,
    headers: Vec<(String, String)>,
}

fn random_request(rng: &mut Rng) -> Req {
    let mut target = random_path(rng);
    if rng.chance(50) {
        target.push('?');
        for i in 0..rng.below(4) {
            if i > 0 {
                target.push('&');
            }
            target.push_str(rng.pick(QUERY_NAMES));
            if rng.chance(85) {
                target.push('=');
                target.push_str(rng.pick(VALUES));
            }
        }
    }
    let host = if rng.chance(3) {
        format!("{}.a.com", "h".repeat(250))
    } else {
        rng.pick(REQUEST_HOSTS).to_owned()
    };
    let headers = (0..rng.below(4))
        .map(|_| {
            let mut name = rng.pick(HEADER_NAMES).to_owned();
            if rng.chance(30) {
                name = name.to_ascii_uppercase();
            }
            (name, rng.pick(VALUES).to_owned())
        })
        .collect();
    Req {
        method: rng.pick(METHODS).to_owned(),
        host,
        target,
        headers,
    }
}

/// The Gateway API rules, written for clarity rather than speed.
struct Reference<'s> {
    snapshot: &'s Snapshot,
    regexes: HashMap<String, Regex>,
}

impl<'s> Reference<'s> {
    fn new(snapshot: &'s Snapshot) -> Self {
        Reference {
            snapshot,
            regexes: HashMap::new(),
        }
    }

    fn regex(&mut self, pattern: &str, subject: &[u8]) -> bool {
        self.regexes
            .entry(pattern.to_owned())
            .or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).expect("test regex"))
            .is_match(subject)
    }

    fn string_match(&mut self, m: &StringMatch, value: &str) -> bool {
        match m {
            StringMatch::Exact(v) => v == value,
            StringMatch::Regex(p) => self.regex(p, value.as_bytes()),
        }
    }

    fn virtual_host(&self, host: &str) -> Option<&'s VirtualHost> {
        let vhosts = &self.snapshot.listeners[0].virtual_hosts;
        let mut name = if host.starts_with('[') {
            match host.find(']') {
                Some(i) => host[..=i].to_owned(),
                None => host.to_owned(),
            }
        } else {
            host.split(':').next().unwrap_or_default().to_owned()
        };
        if name.ends_with('.') {
            name.pop();
        }
        let name = name.to_ascii_lowercase();
        let catch_all = vhosts.iter().find(|v| v.hostnames.is_empty());
        if name.is_empty() || name.len() > 253 {
            return catch_all;
        }
        if let Some(v) = vhosts
            .iter()
            .find(|v| v.hostnames.contains(&HostMatch::Exact(name.clone())))
        {
            return Some(v);
        }
        let mut best: Option<(usize, &VirtualHost)> = None;
        for v in vhosts {
            for h in &v.hostnames {
                if let HostMatch::Wildcard(suffix) = h
                    && name.len() > suffix.len()
                    && name.ends_with(suffix.as_str())
                    && best.is_none_or(|(len, _)| suffix.len() > len)
                {
                    best = Some((suffix.len(), v));
                }
            }
        }
        best.map(|(_, v)| v).or(catch_all)
    }

    fn path_matches(&mut self, m: &PathMatch, path: &str) -> bool {
        match m {
            PathMatch::Exact(p) => p == path,
            PathMatch::Prefix(p) => {
                let p = p.trim_end_matches('/');
                p.is_empty() || path == p || path.starts_with(&format!("{p}/"))
            }
            PathMatch::Regex(r) => self.regex(r, path.as_bytes()),
        }
    }

    fn holds(&mut self, m: &RouteMatch, req: &Req) -> bool {
        let (path, query) = match req.target.split_once('?') {
            Some((p, q)) => (p, q),
            None => (req.target.as_str(), ""),
        };
        if m.method.as_ref().is_some_and(|want| *want != req.method) {
            return false;
        }
        if !self.path_matches(&m.path, path) {
            return false;
        }
        for h in &m.headers {
            let values: Vec<&String> = req
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(&h.name))
                .map(|(_, v)| v)
                .collect();
            if !values.iter().any(|v| self.string_match(&h.value, v)) {
                return false;
            }
        }
        let params: Vec<(&str, &str)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect();
        for q in &m.query_params {
            match params.iter().find(|(n, _)| *n == q.name) {
                Some((_, v)) if self.string_match(&q.value, v) => {}
                _ => return false,
            }
        }
        true
    }

    fn route(&mut self, req: &Req) -> Option<&'s str> {
        let vh = self.virtual_host(&req.host)?;
        vh.routes
            .iter()
            .find(|r| r.matches.iter().any(|m| self.holds(m, req)))
            .map(|r| r.name.as_str())
    }
}

#[test]
fn compiled_table_agrees_with_reference() {
    let mut rng = Rng(0x5EED_0F5A_4D6A_7E01);
    let (mut hits, mut misses, mut indexed_hits) = (0usize, 0usize, 0usize);
    for table_no in 0..250 {
        let snapshot = random_snapshot(&mut rng);
        let table = Table::compile(&snapshot).expect("random snapshot compiles");
        let listener = &table.listeners()[0];
        let mut reference = Reference::new(&snapshot);
        for _ in 0..400 {
            let req = random_request(&mut rng);
            let headers: Vec<(&str, &str)> = req
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let got = listener
                .route(&Request {
                    method: req.method.as_bytes(),
                    host: req.host.as_bytes(),
                    target: req.target.as_bytes(),
                    headers: headers.as_slice(),
                })
                .map(|e| e.name());
            let want = reference.route(&req);
            assert_eq!(
                got, want,
                "table {table_no}: {} {} host {:?} headers {:?}",
                req.method, req.target, req.host, req.headers
            );
            match got {
                Some(name) => {
                    hits += 1;
                    let vh = snapshot.listeners[0]
                        .virtual_hosts
                        .iter()
                        .find(|v| name.starts_with(&format!("{}/", v.name)))
                        .expect("route names start with their virtual host");
                    if vh.routes.iter().map(|r| r.matches.len()).sum::<usize>() > 16 {
                        indexed_hits += 1;
                    }
                }
                None => misses += 1,
            }
        }
    }
    // The comparison is only worth something if both outcomes are common
    // and the indexed virtual hosts answer a good share of them.
    assert!(hits > 20_000, "hits {hits}");
    assert!(misses > 10_000, "misses {misses}");
    assert!(indexed_hits > 10_000, "indexed hits {indexed_hits}");
}
