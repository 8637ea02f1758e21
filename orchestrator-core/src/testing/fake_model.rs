//! An OpenAI-compatible chat server on a local port, answering from a closure: for tests,
//! benchmarks and the soak run that need an HTTP model with scripted replies and faults. Never
//! what a user runs (the `testing` feature is not default).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the fake model answers to one request.
#[derive(Debug, Clone)]
pub enum FakeReply {
    /// 200 with this assistant text (and some token usage).
    Text(String),
    /// Any status line (`"429 Too Many Requests\r\nretry-after: 1"`) and raw body.
    Raw {
        /// Status and extra header lines.
        status: String,
        /// The body as sent.
        body: String,
    },
    /// Accept and never answer.
    Hang,
}

/// Serve on `127.0.0.1:<free port>` and return the base URL. `respond` gets the request's
/// sequence number (from 0) and its JSON body. One thread per connection; the server lives as
/// long as the process.
pub fn fake_model_server(respond: impl Fn(u64, &str) -> FakeReply + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    let respond = Arc::new(respond);
    let n = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let (respond, k) = (respond.clone(), n.fetch_add(1, Ordering::Relaxed));
            std::thread::spawn(move || {
                let Ok(read_half) = stream.try_clone() else { return };
                let mut r = BufReader::new(read_half);
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let (status, body) = match respond(k, &String::from_utf8_lossy(&body)) {
                    FakeReply::Text(text) => (
                        "200 OK".to_owned(),
                        serde_json::json!({"model": "m", "choices": [{"message": {"role": "assistant", "content": text}}],
                            "usage": {"prompt_tokens": 10, "completion_tokens": 10}})
                        .to_string(),
                    ),
                    FakeReply::Raw { status, body } => (status, body),
                    FakeReply::Hang => {
                        std::thread::sleep(Duration::from_secs(3600));
                        return;
                    }
                };
                let mut s = stream;
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    url
}
