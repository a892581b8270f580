//! `latchkey create-admin`: where the password comes from.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};

use crate::helpers::*;

fn create_admin(database_url: &str, args: &[&str], stdin: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["create-admin", "--email", "ops@example.com"])
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("LATCHKEY_LOG", "warn")
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run latchkey create-admin")
}

#[tokio::test]
async fn without_password_stdin_a_piped_password_is_refused_not_read() {
    let database = TestDatabase::create();
    let mut child = create_admin(&database.url, &[], Stdio::piped());
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let output = child.wait_with_output().unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not a terminal") && stderr.contains("--password-stdin"),
        "{stderr}"
    );
    let (_, _db, setup_url) = start_server(&database.url).await;
    assert!(setup_url.is_some(), "no administrator was created");
}

/// A pseudo-terminal: the side the test types into, and the side the command reads from.
fn open_terminal() -> (File, OwnedFd) {
    let (mut typed, mut read) = (0, 0);
    // SAFETY: both out-pointers are valid; a null name, settings and size ask for the defaults.
    let opened = unsafe {
        libc::openpty(
            &mut typed,
            &mut read,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "{}", std::io::Error::last_os_error());
    // SAFETY: openpty succeeded, so both are open descriptors that nothing else owns.
    unsafe { (File::from_raw_fd(typed), OwnedFd::from_raw_fd(read)) }
}

/// Reads from `stream` until what it printed ends with `prompt`.
fn wait_for_prompt(stream: &mut impl Read, prompt: &str) {
    let mut printed = Vec::new();
    let mut byte = [0u8];
    while !printed.ends_with(prompt.as_bytes()) {
        let read = stream.read(&mut byte).expect("read the prompt");
        assert_eq!(read, 1, "ended before {prompt:?}: {printed:?}");
        printed.push(byte[0]);
    }
}

#[tokio::test]
async fn without_password_stdin_the_password_is_asked_twice_on_the_terminal_unechoed() {
    let database = TestDatabase::create();
    let (mut terminal, command_side) = open_terminal();
    let mut child = create_admin(&database.url, &[], Stdio::from(command_side));
    let mut prompts = child.stderr.take().unwrap();

    wait_for_prompt(&mut prompts, "Password: ");
    writeln!(terminal, "{PASSWORD}").unwrap();
    wait_for_prompt(&mut prompts, "The same password again: ");
    writeln!(terminal, "{PASSWORD}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Created administrator ops@example.com")
    );

    let mut shown = Vec::new();
    // The command has closed its side: the read ends (with EIO on Linux) after what was shown.
    let _ = terminal.read_to_end(&mut shown);
    assert!(
        !String::from_utf8_lossy(&shown).contains(PASSWORD),
        "the password is not echoed: {shown:?}"
    );

    let (address, _db, setup_url) = start_server(&database.url).await;
    assert!(setup_url.is_none());
    let signed_in = new_client()
        .post(format!("{address}/login"))
        .form(&[("email", "ops@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
}

#[tokio::test]
async fn on_the_terminal_two_different_passwords_are_refused() {
    let database = TestDatabase::create();
    let (mut terminal, command_side) = open_terminal();
    let mut child = create_admin(&database.url, &[], Stdio::from(command_side));
    let mut prompts = child.stderr.take().unwrap();

    wait_for_prompt(&mut prompts, "Password: ");
    writeln!(terminal, "{PASSWORD}").unwrap();
    wait_for_prompt(&mut prompts, "The same password again: ");
    writeln!(terminal, "another long passphrase").unwrap();
    let output = child.wait_with_output().unwrap();

    assert!(!output.status.success());
    let mut rest = String::new();
    prompts.read_to_string(&mut rest).unwrap();
    assert!(
        rest.contains("password confirmation: The two passwords differ."),
        "{rest}"
    );
}
