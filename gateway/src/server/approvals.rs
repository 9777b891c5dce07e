//! Pending human approvals. A call that needs approval is fingerprinted
//! (tenant + tool + canonical arguments), so the same call retried by an
//! agent finds its earlier request instead of opening a new one.
//!
//! MCP calls wait on the entry (bounded by `approvals.timeout_ms`, denied on
//! timeout by default). On the LLM boundary nothing waits: the call is
//! withheld with a pending explanation, and once approved, the next request
//! proposing the same call gets it through once (the approval is consumed).
//! The store is bounded (`approvals.max_pending`): when full, new requests
//! are denied at once rather than queued.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

/// The state of one approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Nobody answered yet.
    Pending,
    /// A person approved.
    Approved,
    /// A person denied, or the wait timed out.
    Denied,
}

/// One approval request, as `GET /v1/approvals` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    /// Id used in `POST /v1/approvals/{id}`.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Agent, if known.
    pub agent: Option<String>,
    /// Route that asked.
    pub route: String,
    /// Tool.
    pub tool: String,
    /// Arguments of the call.
    pub args: Value,
    /// Why approval is needed.
    pub reason: String,
    /// State.
    pub state: ApprovalState,
    /// Who decided, if anyone.
    pub decided_by: Option<String>,
    /// Unix seconds when it was asked.
    pub created_at: u64,
    #[serde(skip)]
    fingerprint: String,
    #[serde(skip)]
    tx: Option<watch::Sender<ApprovalState>>,
}

/// Why an approval request could not be made or answered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApprovalError {
    /// Unknown id.
    #[error("no approval request with id `{0}`")]
    NotFound(String),
    /// Already decided.
    #[error("approval request `{0}` was already decided")]
    AlreadyDecided(String),
    /// The store is full.
    #[error("too many pending approvals")]
    Full,
}

/// The store.
#[derive(Debug)]
pub struct ApprovalStore {
    inner: Mutex<HashMap<String, Approval>>,
    max_pending: usize,
}

/// What a lookup for a call found.
#[derive(Debug)]
pub enum Lookup {
    /// Approved earlier; the approval is now consumed.
    Approved(String),
    /// Denied earlier.
    Denied(String),
    /// Waiting (new or earlier): its id and a receiver to wait on.
    Pending(String, watch::Receiver<ApprovalState>),
}

/// What to record for a call that needs approval.
#[derive(Debug, Clone, Copy)]
pub struct CallRef<'a> {
    /// Tenant.
    pub tenant: &'a str,
    /// Agent.
    pub agent: Option<&'a str>,
    /// Route name.
    pub route: &'a str,
    /// Tool.
    pub tool: &'a str,
    /// Arguments.
    pub args: &'a Value,
    /// Why.
    pub reason: &'a str,
}

fn fingerprint(call: &CallRef<'_>) -> String {
    let mut h = Sha256::new();
    h.update(call.tenant.as_bytes());
    h.update([0]);
    h.update(call.tool.as_bytes());
    h.update([0]);
    // serde_json keeps object key order; the same call re-sent by the same
    // agent serializes identically.
    h.update(call.args.to_string().as_bytes());
    crate::pipeline::hex(&h.finalize())
}

impl ApprovalStore {
    /// An empty store.
    pub fn new(max_pending: usize) -> Self {
        ApprovalStore {
            inner: Mutex::new(HashMap::new()),
            max_pending,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Approval>> {
        // A poisoned lock only means another request panicked mid-update of
        // a plain map; the map itself is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Finds the request for this call or opens one.
    pub fn lookup_or_request(&self, call: CallRef<'_>) -> Result<Lookup, ApprovalError> {
        let fp = fingerprint(&call);
        let mut map = self.lock();
        if let Some((id, a)) = map.iter().find(|(_, a)| a.fingerprint == fp) {
            let id = id.clone();
            return Ok(match a.state {
                ApprovalState::Approved => {
                    map.remove(&id);
                    Lookup::Approved(id)
                }
                ApprovalState::Denied => Lookup::Denied(id),
                ApprovalState::Pending => match &a.tx {
                    Some(tx) => Lookup::Pending(id, tx.subscribe()),
                    None => Lookup::Denied(id),
                },
            });
        }
        let pending = map
            .values()
            .filter(|a| a.state == ApprovalState::Pending)
            .count();
        if pending >= self.max_pending {
            return Err(ApprovalError::Full);
        }
        let id = crate::pipeline::new_id();
        let (tx, rx) = watch::channel(ApprovalState::Pending);
        map.insert(
            id.clone(),
            Approval {
                id: id.clone(),
                tenant: call.tenant.to_owned(),
                agent: call.agent.map(str::to_owned),
                route: call.route.to_owned(),
                tool: call.tool.to_owned(),
                args: call.args.clone(),
                reason: call.reason.to_owned(),
                state: ApprovalState::Pending,
                decided_by: None,
                created_at: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
                fingerprint: fp,
                tx: Some(tx),
            },
        );
        Ok(Lookup::Pending(id, rx))
    }

    /// Records a person's answer and wakes whoever waits.
    pub fn decide(&self, id: &str, approve: bool, by: &str) -> Result<Approval, ApprovalError> {
        let mut map = self.lock();
        let a = map
            .get_mut(id)
            .ok_or_else(|| ApprovalError::NotFound(id.to_owned()))?;
        if a.state != ApprovalState::Pending {
            return Err(ApprovalError::AlreadyDecided(id.to_owned()));
        }
        a.state = if approve {
            ApprovalState::Approved
        } else {
            ApprovalState::Denied
        };
        a.decided_by = Some(by.to_owned());
        if let Some(tx) = &a.tx {
            tx.send_replace(a.state);
        }
        Ok(a.clone())
    }

    /// Consumes an approval an MCP waiter received, so it is used once.
    pub fn consume(&self, id: &str) {
        let mut map = self.lock();
        if map
            .get(id)
            .is_some_and(|a| a.state == ApprovalState::Approved)
        {
            map.remove(id);
        }
    }

    /// Marks a request denied because nobody answered in time.
    pub fn expire(&self, id: &str) {
        let mut map = self.lock();
        if let Some(a) = map.get_mut(id)
            && a.state == ApprovalState::Pending
        {
            a.state = ApprovalState::Denied;
            a.decided_by = Some("timeout".to_owned());
            if let Some(tx) = &a.tx {
                tx.send_replace(ApprovalState::Denied);
            }
        }
    }

    /// All requests of a tenant (`None`: all tenants), newest first.
    pub fn list(&self, tenant: Option<&str>) -> Vec<Approval> {
        let map = self.lock();
        let mut v: Vec<Approval> = map
            .values()
            .filter(|a| tenant.is_none_or(|t| a.tenant == t))
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        v
    }

    /// The tenant an approval belongs to.
    pub fn tenant_of(&self, id: &str) -> Option<String> {
        self.lock().get(id).map(|a| a.tenant.clone())
    }
}

/// Waits until the request is answered or `timeout` passes; `None` on timeout.
pub async fn wait(
    mut rx: watch::Receiver<ApprovalState>,
    timeout: Duration,
) -> Option<ApprovalState> {
    let answered = async {
        loop {
            let state = *rx.borrow_and_update();
            if state != ApprovalState::Pending {
                return Some(state);
            }
            if rx.changed().await.is_err() {
                return None;
            }
        }
    };
    tokio::time::timeout(timeout, answered).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call<'a>(args: &'a Value) -> CallRef<'a> {
        CallRef {
            tenant: "t",
            agent: None,
            route: "mcp",
            tool: "wire_money",
            args,
            reason: "needs a person",
        }
    }

    #[tokio::test]
    async fn the_same_call_finds_its_request_and_an_approval_is_used_once() {
        let store = ApprovalStore::new(10);
        let args = json!({"amount": 10});
        let Ok(Lookup::Pending(id, rx)) = store.lookup_or_request(call(&args)) else {
            panic!("expected a new pending request");
        };
        let Ok(Lookup::Pending(again, _)) = store.lookup_or_request(call(&args)) else {
            panic!("expected the same pending request");
        };
        assert_eq!(id, again);
        store.decide(&id, true, "alice").expect("decided");
        assert_eq!(
            wait(rx, Duration::from_secs(5)).await,
            Some(ApprovalState::Approved)
        );
        assert!(matches!(
            store.lookup_or_request(call(&args)),
            Ok(Lookup::Approved(_))
        ));
        assert!(matches!(
            store.lookup_or_request(call(&args)),
            Ok(Lookup::Pending(..))
        ));
        assert_eq!(
            store.decide("nope", true, "a").err(),
            Some(ApprovalError::NotFound("nope".into()))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_times_out_and_a_full_store_refuses() {
        let store = ApprovalStore::new(1);
        let a = json!({"amount": 1});
        let b = json!({"amount": 2});
        let Ok(Lookup::Pending(id, rx)) = store.lookup_or_request(call(&a)) else {
            panic!("pending");
        };
        assert_eq!(
            store.lookup_or_request(call(&b)).err(),
            Some(ApprovalError::Full)
        );
        assert_eq!(wait(rx, Duration::from_secs(30)).await, None);
        store.expire(&id);
        assert!(matches!(
            store.lookup_or_request(call(&a)),
            Ok(Lookup::Denied(_))
        ));
    }
}
