//! One call with failover: attempts at endpoints in order of preference, each within the
//! attempt timeout, retried by the rules of `retry` with jittered waits, until an answer, a
//! final refusal or the end of the retry budget.

use std::future::Future;
use std::time::{Duration, Instant};

use tonic::metadata::{Ascii, MetadataMap, MetadataValue};
use tonic::transport::Channel;
use tonic::{Response, Status};
use tracing::Instrument;

use crate::config::{Authentication, ClientConfig, ConfigError, RetryBudget};
use crate::error::{Error, ErrorKind, Failure, code_name};
use crate::pool::Pool;
use crate::request_id::{RequestIds, random_u64};
use crate::retry::{Backoff, Verdict, classify};

/// The shared state of a client and its clones.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) pool: Pool,
    authorization: Option<MetadataValue<Ascii>>,
    attempt_timeout: Duration,
    budget: RetryBudget,
    backoff: Backoff,
    pub(crate) request_ids: RequestIds,
    pub(crate) watch_idle_timeout: Duration,
}

/// What a call is, for the retry loop and the logs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallSpec<'a> {
    /// The RPC's name (`SubmitApplication`).
    pub(crate) method: &'static str,
    /// A write: retried with the same request id; prefers the leader's site.
    pub(crate) write: bool,
    /// A server stream: the attempt timeout covers the call until its response headers, and no
    /// deadline is sent.
    pub(crate) streaming: bool,
    pub(crate) request_id: Option<&'a str>,
}

/// A successful call.
#[derive(Debug)]
pub(crate) struct Answer<T> {
    pub(crate) message: T,
    pub(crate) metadata: MetadataMap,
    /// The index of the endpoint that answered.
    pub(crate) target: usize,
    pub(crate) attempts: u32,
}

impl Inner {
    pub(crate) fn new(config: &ClientConfig) -> Result<Inner, ConfigError> {
        config.validate()?;
        let authorization = match &config.authentication {
            Authentication::DevToken { party } => Some(format!("Bearer dev-{party}")),
            Authentication::BearerToken(token) => Some(format!("Bearer {token}")),
            Authentication::None | Authentication::MutualTls(_) => None,
        }
        .map(|header| MetadataValue::try_from(header).map_err(|_| ConfigError::Token))
        .transpose()?;
        Ok(Inner {
            pool: Pool::new(config)?,
            authorization,
            attempt_timeout: config.attempt_timeout,
            budget: config.retry,
            backoff: Backoff::new(config.retry, random_u64()),
            request_ids: RequestIds::new(&config.request_id_prefix),
            watch_idle_timeout: config.watch_idle_timeout,
        })
    }

    pub(crate) fn budget(&self) -> RetryBudget {
        self.budget
    }

    /// Makes `spec`'s call with `message` through `send`, with failover and retries.
    pub(crate) async fn call<Req, Resp, F, Fut>(
        &self,
        spec: CallSpec<'_>,
        message: Req,
        send: F,
    ) -> Result<Answer<Resp>, Error>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<Response<Resp>, Status>>,
    {
        let span = tracing::debug_span!(
            "switchyard_client.call",
            method = spec.method,
            request_id = spec.request_id.unwrap_or_default(),
        );
        self.call_with_retries(spec, message, send)
            .instrument(span)
            .await
    }

    async fn call_with_retries<Req, Resp, F, Fut>(
        &self,
        spec: CallSpec<'_>,
        message: Req,
        send: F,
    ) -> Result<Answer<Resp>, Error>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<Response<Resp>, Status>>,
    {
        let started = Instant::now();
        let order = self.pool.order(spec.write);
        let mut position = 0_usize;
        let mut attempts = 0_u32;
        let mut failures_in_a_row = 0_u32;
        let mut tried: Vec<usize> = Vec::new();
        loop {
            let target = order[position % order.len()];
            if !tried.contains(&target) {
                tried.push(target);
            }
            attempts += 1;
            let url = &self.pool.targets[target].url;
            let remaining = self
                .budget
                .total_time_max
                .saturating_sub(started.elapsed())
                .max(Duration::from_millis(1));
            let attempt_timeout = self.attempt_timeout.min(remaining);
            let mut request = tonic::Request::new(message.clone());
            if let Some(header) = &self.authorization {
                request
                    .metadata_mut()
                    .insert("authorization", header.clone());
            }
            if !spec.streaming {
                request.set_timeout(attempt_timeout);
            }
            let channel = self.pool.targets[target].channel.clone();
            let failure = match tokio::time::timeout(attempt_timeout, send(channel, request)).await
            {
                Ok(Ok(response)) => {
                    let (metadata, message, _) = response.into_parts();
                    self.pool.observe(&metadata);
                    self.pool.answered(target);
                    tracing::debug!(endpoint = %url, attempts, "answered");
                    return Ok(Answer {
                        message,
                        metadata,
                        target,
                        attempts,
                    });
                }
                Ok(Err(status)) => {
                    self.pool.observe(status.metadata());
                    Failure::from_status(&status, url)
                }
                Err(_) => Failure::timeout(url, attempt_timeout),
            };
            let endpoints = || {
                tried
                    .iter()
                    .map(|&index| self.pool.targets[index].url.clone())
                    .collect::<Vec<_>>()
            };
            let Verdict::Retry { elsewhere, advised } = classify(&failure) else {
                tracing::debug!(
                    endpoint = %url,
                    code = code_name(failure.code),
                    rule = failure.rule.as_deref().unwrap_or_default(),
                    "refused"
                );
                return Err(Error::finished(
                    failure,
                    attempts,
                    endpoints(),
                    started.elapsed(),
                ));
            };
            // After a round of every endpoint, wait at least the backoff even when a node said
            // to retry at once elsewhere: they may all be starting up.
            let backoff = self.backoff.after_failures(failures_in_a_row);
            let wait = match advised {
                Some(advised) if (attempts as usize) < order.len() => self.backoff.advised(advised),
                Some(advised) => self.backoff.advised(advised).max(backoff),
                None => backoff,
            };
            failures_in_a_row += 1;
            if attempts >= self.budget.attempts_max
                || started.elapsed() + wait >= self.budget.total_time_max
            {
                tracing::warn!(
                    attempts,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    endpoint = %url,
                    code = code_name(failure.code),
                    rule = failure.rule.as_deref().unwrap_or_default(),
                    error = %failure.message,
                    "retry budget spent; giving up"
                );
                return Err(Error::new(
                    ErrorKind::RetriesExhausted,
                    failure,
                    attempts,
                    endpoints(),
                    started.elapsed(),
                ));
            }
            if elsewhere {
                position += 1;
            }
            let next = &self.pool.targets[order[position % order.len()]].url;
            tracing::info!(
                attempt = attempts,
                endpoint = %url,
                code = code_name(failure.code),
                rule = failure.rule.as_deref().unwrap_or_default(),
                error = %failure.message,
                wait_ms = wait.as_millis() as u64,
                next = %next,
                "attempt failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }
}
