//! `iw runs` for runs on other hosts (sessions.yaml `hosts:`, docs/remote.md): the hosts'
//! runs for the list, which host holds a run, and the id commands, which the iw installed on
//! that host runs (`iw run` of an agent there records the run under the host's root).

use std::path::Path;

use serde_json::Value;

use crate::model::sessions::SESSIONS_PATH;
use crate::project::Project;
use crate::reconcile::hosts::Links;
use crate::remote::HostLink;
use crate::runs::remote as remote_runs;
use crate::support::{Error, Exit, Result};

/// The hosts sessions.yaml declares, each connected (in parallel) or why it is not.
pub struct Hosts {
    links: Links,
}

/// A run found on a host.
pub struct Found<'a> {
    /// The host's name.
    pub host: &'a str,
    /// The link to it.
    pub link: &'a dyn HostLink,
    /// The run's status document there, with `host` added.
    pub doc: Value,
}

impl Hosts {
    /// Connects to the hosts of the project at `root`; none without sessions.yaml or `hosts:`
    /// (so a host's own root, which has neither, never reaches further).
    pub fn connect(root: &Path) -> Result<Hosts> {
        let none = Hosts::none();
        if !root.join(SESSIONS_PATH).is_file() {
            return Ok(none);
        }
        let project = Project::load(root)?;
        let Some(config) = project.sessions.as_ref().filter(|c| !c.hosts.is_empty()) else {
            return Ok(none);
        };
        let targets = crate::remote::targets(config);
        Ok(Hosts {
            links: Links::connect(&targets, crate::remote::connect_targets),
        })
    }

    /// No hosts.
    pub fn none() -> Hosts {
        Hosts {
            links: Links::default(),
        }
    }

    /// True when sessions.yaml declares no host.
    pub fn is_empty(&self) -> bool {
        self.links.links.is_empty() && self.links.failed.is_empty()
    }

    /// Every reachable host's runs (status documents, `host` added), and each host that could
    /// not be asked with why; the hosts are asked in parallel.
    pub fn runs(&self) -> (Vec<Value>, Vec<(String, String)>) {
        let answers = self.ask(|link| remote_runs::list(link));
        let mut docs = Vec::new();
        let mut failed = Vec::new();
        for (host, answer) in answers {
            match answer {
                Ok(list) => docs.extend(list.into_iter().map(|d| with_host(d, host))),
                Err(e) => failed.push((host.to_string(), e.to_string())),
            }
        }
        (docs, failed)
    }

    /// The host that holds run `id`, or `None` when no host does; an error when no reachable
    /// host does and some could not be asked.
    pub fn find(&self, id: &str) -> Result<Option<Found<'_>>> {
        let answers = self.ask(|link| remote_runs::status(link, id));
        let mut failed = Vec::new();
        for (host, answer) in answers {
            match answer {
                Ok(Some(doc)) => {
                    let link = self.link(host).ok_or_else(|| Error::msg("no link"))?;
                    return Ok(Some(Found {
                        host,
                        link,
                        doc: with_host(doc, host),
                    }));
                }
                Ok(None) => {}
                Err(e) => failed.push(e.to_string()),
            }
        }
        if failed.is_empty() {
            return Ok(None);
        }
        Err(Error::with_help(
            format!(
                "there is no run `{id}` here, nor on the hosts that answered; {}",
                failed.join("; ")
            ),
            "check the host (`iw doctor`), then run the command again",
        ))
    }

    fn link(&self, host: &str) -> Option<&dyn HostLink> {
        self.links.links.get(host).map(|l| l.as_ref())
    }

    /// `f` on every host at once ([`Links::ask`]); a host that could not be reached answers why.
    fn ask<T: Send>(
        &self,
        f: impl Fn(&dyn HostLink) -> Result<T> + Sync,
    ) -> Vec<(&str, Result<T>)> {
        let mut answers = self.links.ask(f);
        answers.extend(self.links.failed.iter().map(|(host, e)| {
            let e = Error::msg(format!("host {host} cannot be reached: {e}"));
            (host.as_str(), Err(e))
        }));
        answers
    }
}

/// Runs `iw ARGS` where run `found` is, with this terminal's output; exits as it did.
pub fn passthrough(found: &Found<'_>, args: &[&str]) -> Result<Exit> {
    Ok(match remote_runs::passthrough(found.link, args)? {
        0 => Exit::Success,
        c => Exit::Command(c),
    })
}

fn with_host(mut doc: Value, host: &str) -> Value {
    if let Some(o) = doc.as_object_mut() {
        o.insert("host".into(), host.into());
    }
    doc
}
