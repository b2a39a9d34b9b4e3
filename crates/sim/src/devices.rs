//! Seeded physical devices shared by every simulated product.
//!
//! Device `i` depends only on `(seed, i)`, so it can be regenerated on demand while a
//! chunk is rendered instead of being kept in memory, and so the same device can later be
//! exposed by several products (VM, SC, OT) for correlation ground truth.

use rand::Rng;

use crate::util::{hex_from, mix, rng_for, uuid_from};

/// Operating-system family; drives plugin applicability and services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum OsFamily {
    Windows,
    Ubuntu,
    Rhel,
    Debian,
    Network,
    Esxi,
    Mac,
}

impl OsFamily {
    pub(crate) fn is_linux(self) -> bool {
        matches!(self, OsFamily::Ubuntu | OsFamily::Rhel | OsFamily::Debian)
    }
}

/// One operating system a device can run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Os {
    pub name: &'static str,
    pub family: OsFamily,
    pub device_type: &'static str,
    /// Relative weight in the population.
    pub weight: u32,
}

pub(crate) const OSES: &[Os] = &[
    os(
        "Microsoft Windows Server 2022 Datacenter",
        OsFamily::Windows,
        "general-purpose",
        8,
    ),
    os(
        "Microsoft Windows Server 2019 Standard",
        OsFamily::Windows,
        "general-purpose",
        9,
    ),
    os(
        "Microsoft Windows Server 2016 Standard",
        OsFamily::Windows,
        "general-purpose",
        6,
    ),
    os(
        "Microsoft Windows 10 Enterprise",
        OsFamily::Windows,
        "general-purpose",
        10,
    ),
    os(
        "Microsoft Windows 11 Enterprise",
        OsFamily::Windows,
        "general-purpose",
        9,
    ),
    os(
        "Microsoft Windows 10 Pro",
        OsFamily::Windows,
        "general-purpose",
        3,
    ),
    os(
        "Linux Kernel 5.15.0-91-generic on Ubuntu 22.04",
        OsFamily::Ubuntu,
        "general-purpose",
        9,
    ),
    os(
        "Linux Kernel 5.4.0-169-generic on Ubuntu 20.04",
        OsFamily::Ubuntu,
        "general-purpose",
        5,
    ),
    os(
        "Linux Kernel 4.18.0-513.9.1.el8_9.x86_64 on Red Hat Enterprise Linux 8.9",
        OsFamily::Rhel,
        "general-purpose",
        7,
    ),
    os(
        "Linux Kernel 5.14.0-362.13.1.el9_3.x86_64 on Red Hat Enterprise Linux 9.3",
        OsFamily::Rhel,
        "general-purpose",
        4,
    ),
    os(
        "Linux Kernel 3.10.0-1160.105.1.el7.x86_64 on CentOS Linux release 7.9.2009 (Core)",
        OsFamily::Rhel,
        "general-purpose",
        3,
    ),
    os(
        "Linux Kernel 6.1.0-17-amd64 on Debian 12.4",
        OsFamily::Debian,
        "general-purpose",
        3,
    ),
    os(
        "Linux Kernel 5.10.0-27-amd64 on Debian 11.8",
        OsFamily::Debian,
        "general-purpose",
        2,
    ),
    os("Cisco IOS 15.2(4)E10", OsFamily::Network, "switch", 2),
    os(
        "Cisco IOS XE Software, Version 17.06.04",
        OsFamily::Network,
        "router",
        2,
    ),
    os("Fortinet FortiOS 7.2.6", OsFamily::Network, "firewall", 1),
    os(
        "Palo Alto Networks PAN-OS 10.2.7",
        OsFamily::Network,
        "firewall",
        1,
    ),
    os(
        "HP LaserJet Enterprise M507",
        OsFamily::Network,
        "printer",
        2,
    ),
    os(
        "VMware ESXi 7.0.3 build-21930508",
        OsFamily::Esxi,
        "hypervisor",
        3,
    ),
    os(
        "VMware ESXi 8.0.2 build-22380479",
        OsFamily::Esxi,
        "hypervisor",
        1,
    ),
    os("macOS 14.2 Sonoma", OsFamily::Mac, "general-purpose", 3),
    os("macOS 13.6 Ventura", OsFamily::Mac, "general-purpose", 2),
];

const fn os(name: &'static str, family: OsFamily, device_type: &'static str, weight: u32) -> Os {
    Os {
        name,
        family,
        device_type,
        weight,
    }
}

/// A network service (listening port) on a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Service {
    pub port: u16,
    pub proto: Proto,
    pub name: &'static str,
}

/// Transport protocol of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Proto {
    Tcp,
    Udp,
    Icmp,
}

impl Proto {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Icmp => "ICMP",
        }
    }
}

const fn svc(port: u16, proto: Proto, name: &'static str) -> Service {
    Service { port, proto, name }
}

use Proto::{Tcp, Udp};

const WIN_SERVICES: &[(Service, u8)] = &[
    (svc(135, Tcp, "epmap"), 95),
    (svc(139, Tcp, "smb"), 90),
    (svc(445, Tcp, "cifs"), 100),
    (svc(3389, Tcp, "msrdp"), 70),
    (svc(49668, Tcp, "dce-rpc"), 60),
    (svc(80, Tcp, "www"), 25),
    (svc(443, Tcp, "www"), 30),
    (svc(1433, Tcp, "mssql"), 10),
    (svc(137, Udp, "netbios-ns"), 60),
    (svc(5985, Tcp, "www"), 40),
];

const LINUX_SERVICES: &[(Service, u8)] = &[
    (svc(22, Tcp, "ssh"), 100),
    (svc(80, Tcp, "www"), 45),
    (svc(443, Tcp, "www"), 50),
    (svc(3306, Tcp, "mysql"), 15),
    (svc(5432, Tcp, "postgresql"), 12),
    (svc(8080, Tcp, "www"), 15),
    (svc(123, Udp, "ntp"), 30),
    (svc(161, Udp, "snmp"), 20),
    (svc(25, Tcp, "smtp"), 8),
    (svc(53, Udp, "dns"), 6),
];

const NET_SERVICES: &[(Service, u8)] = &[
    (svc(22, Tcp, "ssh"), 85),
    (svc(23, Tcp, "telnet"), 25),
    (svc(443, Tcp, "www"), 80),
    (svc(80, Tcp, "www"), 50),
    (svc(161, Udp, "snmp"), 90),
    (svc(9100, Tcp, "jetdirect"), 15),
];

const ESX_SERVICES: &[(Service, u8)] = &[
    (svc(22, Tcp, "ssh"), 40),
    (svc(443, Tcp, "www"), 100),
    (svc(902, Tcp, "vmware_auth"), 100),
    (svc(427, Udp, "slp"), 60),
    (svc(80, Tcp, "www"), 70),
];

const MAC_SERVICES: &[(Service, u8)] = &[
    (svc(22, Tcp, "ssh"), 40),
    (svc(5900, Tcp, "vnc"), 30),
    (svc(445, Tcp, "cifs"), 30),
    (svc(631, Tcp, "www"), 20),
    (svc(5353, Udp, "mdns"), 90),
];

/// Services that can appear; `(service, probability in percent)` per family.
fn service_menu(f: OsFamily) -> &'static [(Service, u8)] {
    match f {
        OsFamily::Windows => WIN_SERVICES,
        OsFamily::Ubuntu | OsFamily::Rhel | OsFamily::Debian => LINUX_SERVICES,
        OsFamily::Network => NET_SERVICES,
        OsFamily::Esxi => ESX_SERVICES,
        OsFamily::Mac => MAC_SERVICES,
    }
}

const SITES: &[(&str, &str)] = &[
    ("dal", "Dallas"),
    ("col", "Columbia"),
    ("lon", "London"),
    ("fra", "Frankfurt"),
    ("sgp", "Singapore"),
    ("syd", "Sydney"),
];

const ROLES_WIN_SERVER: &[&str] = &["dc", "file", "app", "sql", "exch", "iis", "print", "rds"];
const ROLES_WIN_CLIENT: &[&str] = &["wks", "lt", "kiosk", "dev"];
const ROLES_LINUX: &[&str] = &[
    "web", "db", "app", "api", "k8s", "build", "cache", "mq", "log",
];
const ROLES_NET: &[&str] = &["sw", "rtr", "fw", "ap", "prn"];
const OUIS: &[[u8; 3]] = &[
    [0x00, 0x50, 0x56],
    [0x00, 0x0C, 0x29],
    [0xB8, 0x2A, 0x72],
    [0x3C, 0xEC, 0xEF],
    [0xF4, 0x8E, 0x38],
];
const DOMAINS: &[&str] = &["corp.example.com", "prod.example.net", "example.org"];

/// One generated device.
#[derive(Clone, Debug)]
pub(crate) struct Device {
    pub idx: u32,
    pub os: Os,
    /// Short host name (lowercase).
    pub hostname: String,
    pub fqdn: Option<String>,
    pub netbios: Option<String>,
    pub ipv4: [u8; 4],
    pub ipv6: Option<String>,
    pub macs: Vec<[u8; 6]>,
    pub bios_uuid: Option<uuid::Uuid>,
    pub serial: Option<String>,
    /// Index into the site table.
    pub site: usize,
    pub services: Vec<Service>,
}

impl Device {
    /// Generates device `idx` for `seed`.
    pub(crate) fn generate(seed: u64, idx: u32) -> Device {
        let mut r = rng_for(seed, "device", u64::from(idx));
        let total: u32 = OSES.iter().map(|o| o.weight).sum();
        let mut w = r.random_range(0..total);
        let mut os = OSES[0];
        for o in OSES {
            if w < o.weight {
                os = *o;
                break;
            }
            w -= o.weight;
        }
        let site = r.random_range(0..SITES.len());
        let server = !os.name.contains("Windows 1") && os.family != OsFamily::Mac;
        let roles = match os.family {
            OsFamily::Windows if server => ROLES_WIN_SERVER,
            OsFamily::Windows => ROLES_WIN_CLIENT,
            OsFamily::Mac => ROLES_WIN_CLIENT,
            OsFamily::Network => ROLES_NET,
            OsFamily::Esxi => &["esx"][..],
            _ => ROLES_LINUX,
        };
        let role = roles[r.random_range(0..roles.len())];
        let hostname = format!("{role}-{}-{:05}", SITES[site].0, idx);
        // Unique address per index: 250 hosts per /24, subnets spread over 10.0.0.0/8.
        let subnet = idx / 250 + (seed % 64) as u32 * 256;
        let ipv4 = [10, (subnet >> 8) as u8, subnet as u8, (idx % 250 + 2) as u8];
        let fqdn = if r.random_bool(0.85) {
            Some(format!("{hostname}.{}", DOMAINS[site % DOMAINS.len()]))
        } else {
            None
        };
        let netbios = (os.family == OsFamily::Windows).then(|| hostname.to_uppercase());
        let ipv6 = r.random_bool(0.2).then(|| {
            let h = mix(&[seed, u64::from(idx), 6]);
            format!(
                "fd00:{:x}:{:x}::{:x}:{:x}",
                site + 1,
                (subnet & 0xffff),
                (h >> 16) & 0xffff,
                h & 0xffff
            )
        });
        let nmac = if os.family == OsFamily::Esxi {
            3
        } else {
            1 + usize::from(r.random_bool(0.15))
        };
        let macs = (0..nmac)
            .map(|k| {
                let oui = OUIS[r.random_range(0..OUIS.len())];
                let h = mix(&[seed, u64::from(idx), 0x3ac + k as u64]);
                [
                    oui[0],
                    oui[1],
                    oui[2],
                    (h >> 16) as u8,
                    (h >> 8) as u8,
                    h as u8,
                ]
            })
            .collect();
        let bios_uuid = (os.family != OsFamily::Network && r.random_bool(0.9))
            .then(|| uuid_from(mix(&[seed, u64::from(idx), 0xb105])));
        let serial = (os.family == OsFamily::Network)
            .then(|| hex_from(mix(&[seed, u64::from(idx), 0x5e1]), 11).to_uppercase());
        let services = service_menu(os.family)
            .iter()
            .filter(|(_, p)| r.random_range(0..100) < *p)
            .map(|(s, _)| *s)
            .collect();
        Device {
            idx,
            os,
            hostname,
            fqdn,
            netbios,
            ipv4,
            ipv6,
            macs,
            bios_uuid,
            serial,
            site,
            services,
        }
    }

    /// Dotted IPv4 address.
    pub(crate) fn ipv4_string(&self) -> String {
        let [a, b, c, d] = self.ipv4;
        format!("{a}.{b}.{c}.{d}")
    }

    /// Site code and name.
    pub(crate) fn site(&self) -> (&'static str, &'static str) {
        SITES[self.site % SITES.len()]
    }

    /// The service with this name, if the device runs it.
    pub(crate) fn service(&self, name: &str) -> Option<Service> {
        self.services.iter().copied().find(|s| s.name == name)
    }
}

/// MAC in colon form, upper- or lowercase.
pub(crate) fn mac_string(m: &[u8; 6], upper: bool) -> String {
    let s = format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    );
    if upper { s.to_uppercase() } else { s }
}

/// Every service name used by [`service_menu`] and [`default_service`]; findings store an
/// index into this table (0 = no service).
pub(crate) const SERVICE_NAMES: &[&str] = &[
    "",
    "www",
    "ssh",
    "cifs",
    "smb",
    "epmap",
    "msrdp",
    "dce-rpc",
    "mssql",
    "netbios-ns",
    "mysql",
    "postgresql",
    "ntp",
    "snmp",
    "smtp",
    "dns",
    "telnet",
    "jetdirect",
    "vmware_auth",
    "slp",
    "vnc",
    "mdns",
];

/// Index of a service name in [`SERVICE_NAMES`] (0 when unknown or empty).
pub(crate) fn service_index(name: &str) -> u8 {
    SERVICE_NAMES
        .iter()
        .position(|n| *n == name)
        .map_or(0, |i| i as u8)
}

/// Default port of a service name when a device does not run it.
pub(crate) fn default_service(name: &str) -> Service {
    match name {
        "ssh" => svc(22, Tcp, "ssh"),
        "cifs" => svc(445, Tcp, "cifs"),
        "smb" => svc(139, Tcp, "smb"),
        "msrdp" => svc(3389, Tcp, "msrdp"),
        "snmp" => svc(161, Udp, "snmp"),
        "ntp" => svc(123, Udp, "ntp"),
        "mysql" => svc(3306, Tcp, "mysql"),
        "postgresql" => svc(5432, Tcp, "postgresql"),
        "mssql" => svc(1433, Tcp, "mssql"),
        "dce-rpc" => svc(49668, Tcp, "dce-rpc"),
        "telnet" => svc(23, Tcp, "telnet"),
        "smtp" => svc(25, Tcp, "smtp"),
        "vmware_auth" => svc(902, Tcp, "vmware_auth"),
        _ => svc(443, Tcp, "www"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_deterministic_and_unique() {
        let a = Device::generate(42, 7);
        let b = Device::generate(42, 7);
        assert_eq!(a.hostname, b.hostname);
        assert_eq!(a.ipv4, b.ipv4);
        let mut ips = std::collections::HashSet::new();
        for i in 0..5000 {
            assert!(ips.insert(Device::generate(42, i).ipv4));
        }
    }
}
