//! Turns on the PostgreSQL and SDK integration tests when their
//! prerequisites are named (`scripts/test.sh` and `.ci/run` do); otherwise
//! those tests are reported as ignored, never as passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(relais_pg)");
    println!("cargo::rustc-check-cfg=cfg(relais_sdk)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=RELAIS_TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=RELAIS_SDK_TESTS");
    if std::env::var("RELAIS_TEST_DATABASE_URL").is_ok_and(|u| !u.trim().is_empty()) {
        println!("cargo::rustc-cfg=relais_pg");
    }
    if std::env::var("RELAIS_SDK_TESTS").is_ok_and(|v| v == "1") {
        println!("cargo::rustc-cfg=relais_sdk");
    }
}
