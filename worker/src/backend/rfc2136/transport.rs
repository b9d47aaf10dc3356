//! Why this exists: the rfc2136 backend talks to the primary over one TCP connection per batch
//! (RFC 1035 4.2.2 framing: a two-byte length before each message). TCP always, never UDP: an
//! UPDATE of a batch is far beyond 512 bytes, and TCP needs no retransmission or truncation
//! handling. Many queries go out back to back and their answers are matched by id as they come
//! (RFC 7766 pipelining), so reading 10,000 RRsets costs a few round trips, not 10,000.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;

/// Why an exchange failed, before any answer was read as DNS.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("a request grew beyond 65,535 bytes")]
    TooLong,
    #[error("an answer with id {0} matches no open request")]
    Unexpected(u16),
}

/// One TCP connection to the primary.
pub(super) struct Connection {
    stream: TcpStream,
    /// For connecting, and for each answer to arrive after the one before.
    timeout: Duration,
}

impl Connection {
    pub async fn open(server: &str, timeout: Duration) -> Result<Connection, TransportError> {
        match tokio::time::timeout(timeout, TcpStream::connect(server)).await {
            Err(_) => Err(TransportError::Timeout(timeout)),
            Ok(Err(error)) => Err(TransportError::Connect(error)),
            Ok(Ok(stream)) => {
                // Small messages back to back: no waiting for ACKs to fill a segment.
                stream.set_nodelay(true)?;
                Ok(Connection { stream, timeout })
            }
        }
    }

    /// Sends each request (its id, its bytes) and returns the answers in the requests' order,
    /// matched by id. Writing and reading run side by side, so neither side's buffers fill up
    /// and stall the other. The ids must differ.
    pub async fn exchange(
        &mut self,
        requests: &[(u16, Vec<u8>)],
    ) -> Result<Vec<Vec<u8>>, TransportError> {
        let mut framed = Vec::with_capacity(requests.len());
        for (_, message) in requests {
            let len = u16::try_from(message.len()).map_err(|_| TransportError::TooLong)?;
            framed.push((len.to_be_bytes(), message));
        }
        let slots: HashMap<u16, usize> = requests
            .iter()
            .enumerate()
            .map(|(slot, (id, _))| (*id, slot))
            .collect();
        let timeout = self.timeout;
        let (mut reader, writer) = self.stream.split();
        let write = async move {
            let mut writer = BufWriter::new(writer);
            for (len, message) in framed {
                writer.write_all(&len).await?;
                writer.write_all(message).await?;
            }
            writer.flush().await?;
            Ok::<_, TransportError>(())
        };
        let read = async move {
            let mut answers: Vec<Option<Vec<u8>>> = vec![None; requests.len()];
            for _ in 0..requests.len() {
                let answer = match tokio::time::timeout(timeout, read_frame(&mut reader)).await {
                    Err(_) => return Err(TransportError::Timeout(timeout)),
                    Ok(answer) => answer?,
                };
                let id = match answer.get(0..2) {
                    Some(&[high, low]) => u16::from_be_bytes([high, low]),
                    _ => return Err(TransportError::Unexpected(0)),
                };
                match slots.get(&id).map(|slot| &mut answers[*slot]) {
                    Some(slot @ None) => *slot = Some(answer),
                    // A second answer to one request, or one to a request never sent.
                    _ => return Err(TransportError::Unexpected(id)),
                }
            }
            Ok(answers.into_iter().flatten().collect())
        };
        let ((), answers) = tokio::try_join!(write, read)?;
        Ok(answers)
    }
}

async fn read_frame(reader: &mut (impl AsyncRead + Unpin)) -> Result<Vec<u8>, TransportError> {
    let len = reader.read_u16().await?;
    let mut answer = vec![0u8; usize::from(len)];
    reader.read_exact(&mut answer).await?;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers each framed request with itself, last request first.
    async fn echo_reversed(count: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut requests = Vec::new();
            for _ in 0..count {
                requests.push(read_frame(&mut stream).await.unwrap());
            }
            for request in requests.iter().rev() {
                let len = u16::try_from(request.len()).unwrap().to_be_bytes();
                stream.write_all(&len).await.unwrap();
                stream.write_all(request).await.unwrap();
            }
        });
        address
    }

    #[tokio::test]
    async fn answers_out_of_order_come_back_in_the_requests_order() {
        let requests: Vec<(u16, Vec<u8>)> = (0..300u16)
            .map(|id| (id, [id.to_be_bytes().to_vec(), vec![7; 100]].concat()))
            .collect();
        let server = echo_reversed(requests.len()).await;
        let mut connection = Connection::open(&server, Duration::from_secs(5))
            .await
            .unwrap();
        let answers = connection.exchange(&requests).await.unwrap();
        let sent: Vec<&Vec<u8>> = requests.iter().map(|(_, bytes)| bytes).collect();
        assert_eq!(answers.iter().collect::<Vec<_>>(), sent);
    }

    #[tokio::test]
    async fn an_answer_nobody_asked_for_is_an_error() {
        let server = echo_reversed(1).await;
        let mut connection = Connection::open(&server, Duration::from_secs(5))
            .await
            .unwrap();
        // The echo's id (its first two bytes) is 9, the request's id 8.
        let error = connection
            .exchange(&[(8, vec![0, 9, 1, 2])])
            .await
            .unwrap_err();
        assert!(matches!(error, TransportError::Unexpected(9)), "{error}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap().to_string();
        let mut connection = Connection::open(&server, Duration::from_millis(200))
            .await
            .unwrap();
        let error = connection
            .exchange(&[(1, vec![0, 1, 0, 0])])
            .await
            .unwrap_err();
        assert!(matches!(error, TransportError::Timeout(_)), "{error}");
        drop(listener);
    }
}
