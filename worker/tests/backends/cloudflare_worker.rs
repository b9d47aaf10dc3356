//! Why this exists: the whole worker on a zone that says `backend = "cloudflare"`: the config's
//! `[backend.cloudflare]` table builds the backend (token from its file), a spooled job is applied
//! through the fake Cloudflare API, and the job leaves the spool.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use dyndns_config::Config;
use dyndns_queue::{Job, SpoolDirs};
use dyndns_worker::backend::from_config;
use dyndns_worker::{run, Mode};

use crate::fake_cloudflare::{fake, TOKEN};

#[tokio::test]
async fn a_spooled_job_reaches_cloudflare_through_the_configured_backend() {
    const ZONE: &str = "worker.cf.test";
    const HOST: &str = "home.dyn.worker.cf.test";
    fake().add_zone(ZONE);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("cloudflare-token"), format!("{TOKEN}\n")).expect("token file");
    let text = format!(
        r#"[frontend]
listen = "127.0.0.1:8245"

[spool]
dir = "spool"

[worker]
backend = "cloudflare"
state_dir = "state"

[[zone]]
name = "dyn.{ZONE}"
backend_zone = "{ZONE}"
backend = "cloudflare"
ttl = 120

[[user]]
name = "router"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$pCo1hhnvnRFyDG0NwEtJag$c7C8W5Fix7yHkvomRxg75R8EQ1L9i2n5gx7SbwxKcAQ"
hosts = ["{HOST}"]

[backend.cloudflare]
api_url = "{api_url}"
api_token_file = "cloudflare-token"
proxied = false
timeout_secs = 5
"#,
        api_url = fake().api_url,
    );
    let path = dir.path().join("dyndns.toml");
    std::fs::write(&path, text).expect("write config");
    let config = Config::load(&path).unwrap_or_else(|err| panic!("{err}"));
    let spool = SpoolDirs::at(&config.spool_dir);
    spool.create_all().expect("create the spool");
    std::fs::create_dir_all(&config.worker.state_dir).expect("create the state folder");
    let job = Job::new(
        "router",
        HOST,
        Some(Ipv4Addr::new(203, 0, 113, 30)),
        None,
        SystemTime::now(),
        None,
    );
    let nanos = job
        .received_at
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    std::fs::write(
        spool.new().join(format!("{nanos:020}.{}.json", job.id)),
        job.to_json().expect("job writes"),
    )
    .expect("spool the job");

    let backends = from_config(&config).unwrap_or_else(|err| panic!("{err}"));
    let report = run(
        Arc::new(config),
        backends,
        Mode::RunOnce,
        std::future::pending(),
    )
    .await
    .unwrap_or_else(|err| panic!("the worker failed: {err}"));

    assert_eq!(report.applied, 1, "{report:?}");
    assert_eq!(report.dead_lettered, 0, "{report:?}");
    let records = fake().records(ZONE, HOST, "A");
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].content.as_str(), records[0].ttl),
        ("203.0.113.30", 120)
    );
    assert!(
        std::fs::read_dir(spool.cur())
            .expect("cur/")
            .next()
            .is_none(),
        "the job left cur/"
    );
}
