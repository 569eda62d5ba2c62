//! Lease owner ids and whether their process is gone. An owner id is
//! `host-pid-suffix`; a lease whose owner is a process of this host that
//! no longer exists can be taken at once instead of waiting for it to
//! expire (a planner or worker killed with SIGKILL holds its leases until
//! they run out). Only this host's processes are judged: a pid on another
//! host means nothing here, so host names must be unique among the hosts
//! sharing a database (as they are on Kubernetes and Docker by default).

use std::path::Path;

/// A lease owner id unique to this process: `host-pid-n`.
pub fn owner_id(n: u32) -> String {
    let host = host_names()
        .into_iter()
        .next()
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}-{}-{n}", std::process::id())
}

/// This host's names: `$HOSTNAME`, the kernel's host name and
/// `/etc/hostname` (any of them may have named an owner).
fn host_names() -> Vec<String> {
    let names = [
        std::env::var("HOSTNAME").ok(),
        std::fs::read_to_string("/proc/sys/kernel/hostname").ok(),
        std::fs::read_to_string("/etc/hostname").ok(),
    ];
    let mut names: Vec<String> = names
        .into_iter()
        .flatten()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .collect();
    names.dedup();
    names
}

/// The host and pid an owner id names, when it has the `host-pid-suffix`
/// shape.
fn host_and_pid(owner: &str) -> Option<(&str, u32)> {
    let mut parts = owner.rsplitn(3, '-');
    let _suffix = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let host = parts.next().filter(|h| !h.is_empty())?;
    Some((host, pid))
}

/// Whether `owner` is a process of this host that no longer exists (not
/// this process). False whenever that cannot be known: another host, an
/// id of another shape, or no `/proc` to look in.
pub fn owner_is_gone(owner: &str) -> bool {
    let Some((host, pid)) = host_and_pid(owner) else {
        return false;
    };
    let proc = Path::new("/proc");
    pid != std::process::id()
        && proc.join("self").exists()
        && host_names().iter().any(|h| h == host)
        && !proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_ids_split_into_host_and_pid_even_with_dashes_in_the_host() {
        assert_eq!(host_and_pid("web-01-4242-7"), Some(("web-01", 4242)));
        assert_eq!(host_and_pid("h-12-0a1b2c3d"), Some(("h", 12)));
        assert_eq!(host_and_pid("w-1"), None);
        assert_eq!(host_and_pid("host-notapid-1"), None);
    }

    #[test]
    fn this_process_and_other_hosts_are_never_gone() {
        assert!(!owner_is_gone(&owner_id(3)));
        assert!(!owner_is_gone("another-host.example-999999999-1"));
        assert!(!owner_is_gone("w-a"));
    }

    #[test]
    fn a_finished_process_of_this_host_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let mine = format!("-{}-", std::process::id());
        let dead = owner_id(1).replace(&mine, &format!("-{pid}-"));
        assert!(owner_is_gone(&dead), "{dead}");
    }
}
