//! Where an agent's sessions run, for the `iw session` commands: this machine's tmux, or the
//! host sessions.yaml puts them on (`host:` of the session or tenant), reached over SSH.

use std::path::Path;

use crate::model::sessions::SessionsConfig;
use crate::project::Project;
use crate::reconcile::hosts::Links;
use crate::remote::HostLink;
use crate::support::{Error, Result};
use crate::tmux::{Servers, System, Tmux};

/// This machine, or one connected host.
pub struct Place {
    /// The host's name (`None`: this machine).
    pub host: Option<String>,
    /// The link to it, as a plan takes it (empty: this machine).
    links: Links,
}

impl Place {
    /// This machine.
    pub fn local() -> Place {
        Place {
            host: None,
            links: Links::default(),
        }
    }

    /// `host` (`None`: this machine), connected; fails, saying why, when it cannot be reached.
    pub fn connect(project: &Project, host: Option<&str>) -> Result<Place> {
        let Some(name) = host else {
            return Ok(Place::local());
        };
        let Some(h) = project.sessions.as_ref().and_then(|c| c.hosts.get(name)) else {
            return Err(Error::msg(format!(
                "there is no host `{name}` in sessions.yaml"
            )));
        };
        let target = crate::remote::target(h);
        let link = crate::remote::connect_targets(std::slice::from_ref(&target))
            .pop()
            .unwrap_or_else(|| Err(Error::msg("no connection")));
        Place::reached(name, link)
    }

    /// Every host sessions.yaml declares, connected at once, in name order: each place, or why
    /// it cannot be reached.
    pub fn hosts(project: &Project) -> Vec<Result<Place>> {
        let targets = project
            .sessions
            .as_ref()
            .map(crate::remote::targets)
            .unwrap_or_default();
        let links = crate::remote::connect_targets(&targets);
        targets
            .iter()
            .zip(links)
            .map(|(t, link)| Place::reached(&t.name, link))
            .collect()
    }

    /// Host `name`, given what connecting to it gave.
    fn reached(name: &str, link: Result<Box<dyn HostLink>>) -> Result<Place> {
        let link = link.map_err(|e| Error::msg(format!("host {name} cannot be reached: {e}")))?;
        let mut links = Links::default();
        links.links.insert(name.to_string(), link);
        Ok(Place {
            host: Some(name.to_string()),
            links,
        })
    }

    /// The link to the host (`None`: this machine).
    pub fn link(&self) -> Option<&dyn HostLink> {
        let host = self.host.as_ref()?;
        self.links.links.get(host).map(|l| l.as_ref())
    }

    /// The links a plan of this place takes: its host's alone (none for this machine).
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// Its tmux servers; on this machine, checks first that tmux runs.
    pub fn servers(&self, socket: &str) -> Result<&dyn Servers> {
        match self.link() {
            Some(l) => Ok(l as &dyn Servers),
            None => {
                Tmux::new(socket).version()?;
                Ok(&System)
            }
        }
    }

    /// The project's root there (`None`: this machine's).
    pub fn root(&self) -> Option<&Path> {
        self.link().map(|l| l.target().root.as_path())
    }

    /// The project's root there, as tmux marks record it.
    pub fn root_text(&self, project: &Project) -> String {
        self.root()
            .unwrap_or(&project.root)
            .to_string_lossy()
            .into_owned()
    }

    /// The command that attaches this terminal to `session` on `socket` there.
    pub fn attach_command(&self, socket: &str, session: &str) -> std::process::Command {
        match self.link() {
            Some(l) => l.attach_command(socket, session),
            None => Tmux::new(socket).attach_command(session),
        }
    }

    /// The tmux client command line for `socket` there, as a person types it:
    /// `tmux -L SOCKET`, through `ssh [SSH_ARGS] DEST` on another host.
    pub fn tmux_line(&self, socket: &str) -> String {
        let tmux = format!("tmux -L {}", crate::remote::quote::quote(socket));
        match self.link() {
            Some(l) => {
                let t = l.target();
                let ssh = crate::remote::quote::join(
                    std::iter::once("ssh")
                        .chain(t.ssh_args.iter().map(String::as_str))
                        .chain(std::iter::once(t.destination.as_str())),
                );
                format!("{ssh} {tmux}")
            }
            None => tmux,
        }
    }

    /// `what`, followed by ` on HOST` when it is on another host.
    pub fn name(&self, what: &str) -> String {
        crate::reconcile::plan::on_host(what, self.host.as_deref(), " on ")
    }
}

/// The host `agent`'s session runs on (its tenant's for `tenant`); `None`: this machine.
pub fn host_of(
    config: Option<&SessionsConfig>,
    agent: &str,
    tenant: Option<&str>,
) -> Option<String> {
    let c = config?;
    match tenant {
        Some(t) => c.tenants.get(t)?.host.clone(),
        None => c.sessions.get(agent)?.host.clone(),
    }
}
