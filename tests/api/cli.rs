//! The `openclaw` binary: `keys create|list|revoke`, `schema`, `migrate`, and first-start bootstrap of `serve`.
use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

const BIN: &str = env!("CARGO_BIN_EXE_openclaw");

fn openclaw(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BIN).args(args).env("OPENCLAW_DATABASE_URL", database_url).output().unwrap();
    (output.status.success(), String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
}

#[test]
fn keys_create_list_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());

    let (ok, stdout, stderr) = openclaw(
        &url,
        &["keys", "create", "--account", "acme", "--plan", "pro", "--scopes", "agents:read,skills:read"],
    );
    assert!(ok, "{stderr}");
    let key = stdout.lines().last().unwrap().trim().to_owned();
    assert!(key.starts_with("oc_") && key.len() == 51, "the key alone on the last line: {stdout:?}");

    let (ok, listing, _) = openclaw(&url, &["keys", "list"]);
    assert!(ok);
    assert!(listing.contains(&key[..12]) && listing.contains("acme") && listing.contains("active"), "{listing}");
    assert!(!listing.contains(&key), "the secret is never shown again");

    let (ok, _, stderr) = openclaw(&url, &["keys", "create", "--account", "acme", "--scopes", "agents:fly"]);
    assert!(!ok, "an unknown scope must be refused");
    assert!(stderr.contains("scope"), "{stderr}");
    let (ok, _, _) = openclaw(&url, &["keys", "create", "--account", "acme", "--plan", "platinum"]);
    assert!(!ok, "an unknown plan must be refused");

    let (ok, stdout, _) = openclaw(&url, &["keys", "revoke", &key[..12]]);
    assert!(ok && stdout.contains("revoked"), "{stdout}");
    let (_, listing, _) = openclaw(&url, &["keys", "list", "--account", "acme"]);
    assert!(listing.contains("revoked"), "{listing}");
}

#[test]
fn schema_command_prints_the_committed_sdl() {
    let (ok, stdout, _) = openclaw("sqlite::memory:", &["schema"]);
    assert!(ok);
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(stdout, committed);
}

#[test]
fn migrate_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    assert!(openclaw(&url, &["migrate"]).0);
    assert!(openclaw(&url, &["migrate"]).0);
}

/// `openclaw` with no subcommand serves; the first start prints a working key once, the second start does not.
#[test]
fn first_start_bootstraps_a_usable_key() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        Command::new(BIN)
            .current_dir(dir.path())
            .env_remove("OPENCLAW_DATABASE_URL")
            .env("OPENCLAW_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Reads the logs until the listening address, then closes the pipe: the server must keep answering even
    // though every later log line now fails to write.
    let listening_address = |child: &mut std::process::Child| -> String {
        let stderr = BufReader::new(child.stderr.take().unwrap());
        for line in stderr.lines() {
            let line = line.unwrap();
            if let Some(rest) = line.split("address=").nth(1) {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("the server never said where it listens");
    };

    let mut first = start();
    let address = listening_address(&mut first);
    let mut stdout = BufReader::new(first.stdout.take().unwrap()).lines();
    let _banner = stdout.next().unwrap().unwrap();
    let key = stdout.next().unwrap().unwrap();
    let response = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            &format!("X-API-Key: {key}"),
            &format!("http://{address}/v2/agents"),
        ])
        .output()
        .unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(String::from_utf8_lossy(&response.stdout), "200", "the bootstrap key works");
    assert!(dir.path().join("openclaw.db").exists(), "the default database lives in the working directory");

    let mut second = start();
    let _ = listening_address(&mut second);
    std::thread::sleep(Duration::from_millis(200));
    second.kill().unwrap();
    let output = second.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&output.stdout).contains("oc_"), "no new key on the second start");
}
