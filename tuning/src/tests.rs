use super::*;
use std::fs;

fn fake_host() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    let put = |rel: &str, v: &str| {
        let p = root.path().join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, format!("{v}\n")).expect("write");
    };
    put("proc/sys/net/core/somaxconn", "128");
    put("proc/sys/net/ipv4/tcp_max_syn_backlog", "65536");
    put("proc/sys/net/ipv4/ip_local_port_range", "32768\t60999");
    put("proc/sys/net/ipv4/tcp_tw_reuse", "2");
    put("proc/sys/kernel/io_uring_disabled", "0");
    put(
        "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
        "powersave",
    );
    put(
        "sys/devices/system/cpu/cpu1/cpufreq/scaling_governor",
        "performance",
    );
    root
}

#[test]
fn check_judges_each_setting() {
    let root = fake_host();
    let f = check(root.path());
    let get = |name: &str| f.iter().find(|x| x.name == name).expect(name).clone();
    assert!(!get("net.core.somaxconn").ok);
    assert!(get("net.ipv4.tcp_max_syn_backlog").ok);
    let range = get("net.ipv4.ip_local_port_range");
    assert_eq!(range.current.as_deref(), Some("32768 60999"));
    assert!(!range.ok);
    assert!(!get("net.ipv4.tcp_tw_reuse").ok);
    assert!(get("kernel.io_uring_disabled").ok);
    // Absent settings cannot limit the host.
    let absent = get("fs.file-max");
    assert!(absent.ok && absent.current.is_none());
    assert!(!get("cpufreq governor (cpu0)").ok);
    assert!(get("cpufreq governor (cpu1)").ok);
}

#[test]
fn plan_then_apply_fixes_everything_it_can() {
    let root = fake_host();
    let writes = plan(&check(root.path()));
    let names: Vec<_> = writes
        .iter()
        .map(|w| {
            w.path
                .strip_prefix(root.path())
                .expect("under root")
                .to_path_buf()
        })
        .collect();
    assert_eq!(writes.len(), 4, "{names:?}");
    for r in apply(&writes) {
        r.expect("write under the fake root");
    }
    let after = check(root.path());
    assert!(after.iter().all(|f| f.ok), "{after:#?}");
    assert!(plan(&after).is_empty());
    let range = fs::read_to_string(root.path().join("proc/sys/net/ipv4/ip_local_port_range"))
        .expect("read");
    assert_eq!(range, "1024 65000\n");
}

#[test]
fn apply_reports_each_failure() {
    let w = Write {
        path: "/nonexistent-dir-for-shardgate-test/x".into(),
        from: "1".into(),
        to: "2".into(),
    };
    let r = apply(std::slice::from_ref(&w));
    let err = r[0].as_ref().expect_err("cannot write there");
    assert!(
        err.to_string()
            .contains("nonexistent-dir-for-shardgate-test")
    );
}

#[test]
fn wants() {
    assert!(Want::AtLeast(5).satisfied_by("5"));
    assert!(!Want::AtLeast(5).satisfied_by("x"));
    assert!(
        Want::PortRange {
            low: 1024,
            high: 65000
        }
        .satisfied_by("1000 65535")
    );
    assert!(
        !Want::PortRange {
            low: 1024,
            high: 65000
        }
        .satisfied_by("60000 1024")
    );
}
