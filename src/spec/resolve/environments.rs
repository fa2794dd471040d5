//! `environments`: names that become file names, account ids, and which env of an account (and of
//! a cluster) owns the resources they share.

use std::collections::BTreeMap;

use super::{safe_component, Ctx};
use crate::spec::model::Environment;
use crate::spec::v1;
use crate::spec::SpecError;

pub(super) fn resolve_environments(
    ctx: &Ctx,
    raw: &BTreeMap<String, v1::EnvironmentV1>,
) -> Result<BTreeMap<String, Environment>, SpecError> {
    let mut out = BTreeMap::new();
    for (name, e) in raw {
        safe_component(ctx, name, "environment name", name)?;
        if let Some(cluster) = &e.cluster {
            safe_component(
                ctx,
                "cluster",
                &format!("environment `{name}`: `cluster`"),
                cluster,
            )?;
        }
        if let Some(account) = &e.account {
            if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
                return Err(ctx.err(None, None, name, format!("environment `{name}`: `account` must be a 12-digit AWS account id (quoted), got `{account}`"), None));
            }
        }
        out.insert(
            name.clone(),
            Environment {
                name: name.clone(),
                account: e.account.clone().unwrap_or_default(),
                region: e.region.clone().unwrap_or_default(),
                cluster: e.cluster.clone(),
                owns_shared: false,
                owns_cluster: false,
            },
        );
    }
    // One owner of shared resources per account: the explicit one, else the first env by name.
    let accounts: Vec<String> = out
        .values()
        .map(|e: &Environment| e.account.clone())
        .collect();
    for account in accounts {
        let members: Vec<&String> = raw
            .iter()
            .filter(|(_, e)| e.account.clone().unwrap_or_default() == account)
            .map(|(n, _)| n)
            .collect();
        let explicit: Vec<&String> = members
            .iter()
            .copied()
            .filter(|n| raw[*n].owns_shared == Some(true))
            .collect();
        if explicit.len() > 1 {
            return Err(ctx.err(
                None,
                None,
                explicit[1],
                format!(
                    "environments {} both set `owns_shared` for account {account}; exactly one may",
                    explicit
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
                None,
            ));
        }
        let owner = explicit
            .first()
            .copied()
            .or_else(|| {
                members
                    .iter()
                    .copied()
                    .find(|n| raw[*n].owns_shared != Some(false))
            })
            .or(members.first().copied());
        if let Some(owner) = owner {
            if let Some(env) = out.get_mut(owner) {
                env.owns_shared = true;
            }
        }
    }
    // One owner of each cluster's rules ConfigMap: the member that owns its account's shared
    // resources, else the first by name.
    let clusters: std::collections::BTreeSet<String> =
        out.values().map(|e| e.cluster_name().to_string()).collect();
    for cluster in clusters {
        let members: Vec<String> = out
            .values()
            .filter(|e| e.cluster_name() == cluster)
            .map(|e| e.name.clone())
            .collect();
        let owner = members
            .iter()
            .find(|n| out[*n].owns_shared)
            .or(members.first())
            .cloned();
        if let Some(owner) = owner {
            if let Some(env) = out.get_mut(&owner) {
                env.owns_cluster = true;
            }
        }
    }
    Ok(out)
}
