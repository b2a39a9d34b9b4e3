//! JSON rendering of VM export chunks. Nothing rendered is kept: a chunk is produced piece
//! by piece (an asset's findings at a time) into reusable buffers while it is streamed.

use std::sync::Arc;

use serde::Serialize;

use super::data::{Finding, GenAsset, Profile, State, VmData};
use crate::catalog::{DeviceText, OutCtx};
use crate::devices::{Device, OsFamily, SERVICE_NAMES, mac_string};
use crate::util::{
    Frac, iso_ms, label, mix, push_json_str, push_key, push_u64, uuid_from, write_iso_ms,
    write_iso_us,
};

const SEVERITY_NAMES: [&str; 5] = ["info", "low", "medium", "high", "critical"];
const MODIFICATION: [&str; 3] = ["NONE", "RECASTED", "ACCEPTED"];
const DEFAULT_NETWORK: &str = "00000000-0000-0000-0000-000000000000";

/// What a chunk holds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ChunkKind {
    Vulns,
    Assets { open_ports: bool },
}

/// Incremental renderer of one chunk.
pub(crate) struct ChunkRender {
    data: Arc<VmData>,
    items: Arc<[u32]>,
    start: usize,
    pos: usize,
    end: usize,
    kind: ChunkKind,
    started: bool,
    done: bool,
    asset_buf: Vec<u8>,
}

fn push_uuid(out: &mut Vec<u8>, u: &uuid::Uuid) {
    let mut buf = [0u8; 36];
    out.push(b'"');
    out.extend_from_slice(u.hyphenated().encode_lower(&mut buf).as_bytes());
    out.push(b'"');
}

fn push_ts(out: &mut Vec<u8>, key: &str, ms: i64) {
    out.push(b',');
    push_key(out, key);
    out.push(b'"');
    write_iso_ms(out, ms, Frac::Millis);
    out.push(b'"');
}

impl ChunkRender {
    pub(crate) fn new(
        data: Arc<VmData>,
        items: Arc<[u32]>,
        range: (u32, u32),
        kind: ChunkKind,
    ) -> ChunkRender {
        let end = (range.1 as usize).min(items.len());
        let start = (range.0 as usize).min(end);
        ChunkRender {
            data,
            items,
            start,
            pos: start,
            end,
            kind,
            started: false,
            done: false,
            asset_buf: Vec::with_capacity(1024),
        }
    }

    fn group_of(&self, item: u32) -> u32 {
        match self.kind {
            ChunkKind::Assets { .. } => item,
            ChunkKind::Vulns => match &self.data.file_findings {
                Some(f) => f.recs[item as usize].group,
                None => self.data.world.findings[item as usize].asset,
            },
        }
    }

    /// Renders the next piece of at least one record group (about `target` bytes), or
    /// `None` when the chunk is complete.
    pub(crate) fn next_piece(&mut self, target: usize) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        let mut out = Vec::with_capacity(target + target / 4);
        if !self.started {
            out.push(b'[');
            self.started = true;
        }
        while self.pos < self.end && out.len() < target {
            let first = self.pos;
            let g = self.group_of(self.items[first]);
            let mut stop = first + 1;
            while stop < self.end && self.group_of(self.items[stop]) == g {
                stop += 1;
            }
            if first > self.start {
                out.push(b',');
            }
            let data = Arc::clone(&self.data);
            let items = Arc::clone(&self.items);
            self.render_group(&data, &items[first..stop], &mut out);
            self.pos = stop;
        }
        if self.pos >= self.end {
            out.push(b']');
            self.done = true;
        }
        Some(out)
    }

    /// Renders the whole chunk into one buffer.
    pub(crate) fn render_all(&mut self) -> Vec<u8> {
        let mut all = Vec::new();
        while let Some(p) = self.next_piece(1 << 20) {
            all.extend_from_slice(&p);
        }
        all
    }

    fn render_group(&mut self, data: &VmData, items: &[u32], out: &mut Vec<u8>) {
        match self.kind {
            ChunkKind::Assets { open_ports } => {
                for (k, &i) in items.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    match &data.file_assets {
                        Some(f) => out.extend_from_slice(f.recs[i as usize].raw.as_bytes()),
                        None => render_asset_v1(out, data, i, open_ports),
                    }
                }
            }
            ChunkKind::Vulns => match &data.file_findings {
                Some(f) => {
                    for (k, &i) in items.iter().enumerate() {
                        if k > 0 {
                            out.push(b',');
                        }
                        out.extend_from_slice(f.recs[i as usize].raw.as_bytes());
                    }
                }
                None => {
                    let Some(first) = items.first() else { return };
                    let a_idx = data.world.findings[*first as usize].asset;
                    let d = Device::generate(data.seed, a_idx);
                    let asset = &data.world.assets[a_idx as usize];
                    let prof = Profile::generate(data.seed, &d, asset);
                    let text = DeviceText::new(&d);
                    self.asset_buf.clear();
                    finding_asset(&mut self.asset_buf, &d, &prof, asset, &text);
                    for (k, &i) in items.iter().enumerate() {
                        if k > 0 {
                            out.push(b',');
                        }
                        let f = &data.world.findings[i as usize];
                        finding(out, data, f, &d, &prof, &text, &self.asset_buf);
                    }
                }
            },
        }
    }
}

/// The `asset` object embedded in each finding.
fn finding_asset(out: &mut Vec<u8>, d: &Device, p: &Profile, a: &GenAsset, t: &DeviceText) {
    out.push(b'{');
    let mut first = true;
    let mut key = |out: &mut Vec<u8>, k: &str| {
        if !first {
            out.push(b',');
        }
        first = false;
        push_key(out, k);
    };
    if let Some(agent) = &p.agent_uuid {
        key(out, "agent_uuid");
        push_json_str(out, agent);
    }
    if let Some(b) = &d.bios_uuid {
        key(out, "bios_uuid");
        let mut buf = [0u8; 36];
        push_json_str(out, b.hyphenated().encode_upper(&mut buf));
    }
    key(out, "device_type");
    push_json_str(out, d.os.device_type);
    if let Some(f) = &d.fqdn {
        key(out, "fqdn");
        push_json_str(out, f);
    }
    key(out, "hostname");
    push_json_str(out, &d.hostname);
    key(out, "uuid");
    push_uuid(out, &p.uuid);
    key(out, "ipv4");
    push_json_str(out, &t.ip);
    if let Some(v6) = &d.ipv6 {
        key(out, "ipv6");
        push_json_str(out, v6);
    }
    if p.authenticated {
        key(out, "last_authenticated_results");
        out.push(b'"');
        write_iso_ms(out, a.last_seen, Frac::Millis);
        out.push(b'"');
    } else {
        key(out, "last_unauthenticated_results");
        out.push(b'"');
        write_iso_ms(out, a.last_seen, Frac::Millis);
        out.push(b'"');
    }
    key(out, "mac_address");
    push_json_str(out, &t.mac_upper);
    if let Some(nb) = &d.netbios {
        key(out, "netbios_name");
        push_json_str(out, nb);
        key(out, "netbios_workgroup");
        push_json_str(out, "CORP");
    }
    key(out, "network_id");
    push_json_str(out, DEFAULT_NETWORK);
    key(out, "operating_system");
    out.push(b'[');
    push_json_str(out, d.os.name);
    out.push(b']');
    if let Some(s) = &d.serial {
        key(out, "serial_number");
        push_json_str(out, s);
    }
    key(out, "tracked");
    out.extend_from_slice(b"true}");
}

const RECAST_REASONS: [&str; 3] = [
    "Compensating control in place: the host is isolated in a restricted VLAN.",
    "Risk accepted by the application owner until the next maintenance window.",
    "False positive confirmed by the platform team (backported fix).",
];

/// One finding record.
fn finding(
    out: &mut Vec<u8>,
    data: &VmData,
    f: &Finding,
    d: &Device,
    p: &Profile,
    t: &DeviceText,
    asset_json: &[u8],
) {
    let plugin = &data.catalog.plugins[usize::from(f.plugin)];
    let svc = SERVICE_NAMES.get(usize::from(f.svc)).copied().unwrap_or("");
    out.extend_from_slice(b"{\"asset\":");
    out.extend_from_slice(asset_json);
    if let Some(tpl) = &plugin.output {
        out.extend_from_slice(b",\"output\":\"");
        tpl.render(
            out,
            &OutCtx {
                ip: &t.ip,
                host: &t.host,
                fqdn: &t.fqdn,
                port: f.port,
                svc: if svc.is_empty() { "unknown" } else { svc },
                os: d.os.name,
                devtype: d.os.device_type,
                mac: &t.mac_upper,
                var: f.var,
            },
        );
        out.push(b'"');
    }
    out.extend_from_slice(b",\"plugin\":");
    out.extend_from_slice(&plugin.json);
    out.extend_from_slice(b",\"port\":{\"port\":");
    push_u64(out, u64::from(f.port));
    out.extend_from_slice(b",\"protocol\":\"");
    out.extend_from_slice(f.proto.as_str().as_bytes());
    out.push(b'"');
    if !svc.is_empty() {
        out.extend_from_slice(b",\"service\":");
        push_json_str(out, svc);
    }
    // The scan that last looked at the finding.
    let completed = f.last_found.max(f.last_fixed);
    let started = completed - i64::from(f.var % 3_000_000) - 60_000;
    let schedule = p.schedule;
    out.extend_from_slice(b"},\"scan\":{");
    push_key(out, "completed_at");
    out.push(b'"');
    write_iso_ms(out, completed, Frac::Millis);
    out.push(b'"');
    out.push(b',');
    push_key(out, "last_scan_target");
    push_json_str(out, &t.ip);
    out.push(b',');
    push_key(out, "schedule_uuid");
    push_json_str(out, &data.schedules[schedule % data.schedules.len()]);
    push_ts(out, "started_at", started);
    out.push(b',');
    push_key(out, "uuid");
    push_uuid(
        out,
        &uuid_from(mix(&[
            data.seed,
            label("scan"),
            schedule as u64,
            (completed / 3_600_000) as u64,
        ])),
    );
    out.extend_from_slice(b"},\"severity\":\"");
    out.extend_from_slice(SEVERITY_NAMES[usize::from(f.sev.min(4))].as_bytes());
    out.extend_from_slice(b"\",\"severity_id\":");
    push_u64(out, u64::from(f.sev));
    out.extend_from_slice(b",\"severity_default_id\":");
    push_u64(out, u64::from(plugin.severity));
    out.extend_from_slice(b",\"severity_modification_type\":\"");
    out.extend_from_slice(MODIFICATION[usize::from(f.modif.min(2))].as_bytes());
    out.push(b'"');
    if f.modif > 0 {
        out.push(b',');
        push_key(out, "recast_reason");
        push_json_str(out, RECAST_REASONS[(f.var % 3) as usize]);
        out.push(b',');
        push_key(out, "recast_rule_uuid");
        push_uuid(
            out,
            &uuid_from(mix(&[data.seed, label("recast"), u64::from(plugin.id)])),
        );
    }
    push_ts(out, "first_found", f.first_found);
    push_ts(out, "last_found", f.last_found);
    if f.last_fixed != 0 {
        push_ts(out, "last_fixed", f.last_fixed);
    }
    out.extend_from_slice(b",\"state\":\"");
    out.extend_from_slice(f.state.as_str().as_bytes());
    out.extend_from_slice(b"\",\"indexed\":\"");
    let indexed = super::data::indexed_ms(f);
    write_iso_us(out, indexed * 1000 + i64::from(f.var % 1000), Frac::Micros);
    out.extend_from_slice(b"\",\"source\":\"NESSUS\"");
    if f.state == State::Fixed {
        out.extend_from_slice(b",\"time_taken_to_fix\":");
        push_u64(out, ((f.last_fixed - f.first_found).max(0) / 1000) as u64);
    }
    out.extend_from_slice(b",\"finding_id\":");
    let fid = mix(&[
        data.seed,
        label("finding"),
        u64::from(f.asset),
        u64::from(plugin.id),
        u64::from(f.port),
        f.proto as u64,
    ]);
    push_uuid(out, &uuid_from(fid));
    out.push(b'}');
}

// ---------------------------------------------------------------------------------------
// v1 asset records
// ---------------------------------------------------------------------------------------

#[derive(Serialize)]
struct SourceV1 {
    name: &'static str,
    first_seen: String,
    last_seen: String,
}

#[derive(Serialize)]
struct TagV1 {
    uuid: String,
    key: &'static str,
    value: &'static str,
    added_by: &'static str,
    added_at: String,
}

#[derive(Serialize)]
struct NicV1 {
    name: &'static str,
    #[serde(rename = "virtual")]
    virtual_: Option<bool>,
    aliased: Option<bool>,
    fqdns: Vec<String>,
    mac_addresses: Vec<String>,
    ipv4s: Vec<String>,
    ipv6s: Vec<String>,
}

#[derive(Serialize)]
struct OpenPortV1 {
    port: u16,
    protocol: &'static str,
    service_names: Vec<&'static str>,
    first_seen: String,
    last_seen: String,
}

#[derive(Serialize)]
struct AssetV1 {
    id: String,
    has_agent: bool,
    has_plugin_results: bool,
    created_at: String,
    terminated_at: Option<String>,
    terminated_by: Option<&'static str>,
    updated_at: String,
    deleted_at: Option<String>,
    deleted_by: Option<&'static str>,
    first_seen: String,
    last_seen: String,
    first_scan_time: String,
    last_scan_time: String,
    last_authenticated_scan_date: Option<String>,
    last_licensed_scan_date: Option<String>,
    last_scan_id: Option<String>,
    last_schedule_id: Option<String>,
    azure_vm_id: Option<String>,
    azure_resource_id: Option<String>,
    gcp_project_id: Option<String>,
    gcp_zone: Option<String>,
    gcp_instance_id: Option<String>,
    aws_ec2_instance_ami_id: Option<String>,
    aws_ec2_instance_id: Option<String>,
    agent_uuid: Option<String>,
    bios_uuid: Option<String>,
    network_id: &'static str,
    network_name: &'static str,
    environment_id: Option<String>,
    aws_owner_id: Option<String>,
    aws_availability_zone: Option<String>,
    aws_region: Option<&'static str>,
    aws_vpc_id: Option<String>,
    aws_ec2_instance_group_name: Option<String>,
    aws_ec2_instance_state_name: Option<&'static str>,
    aws_ec2_instance_type: Option<&'static str>,
    aws_subnet_id: Option<String>,
    aws_ec2_product_code: Option<String>,
    aws_ec2_name: Option<String>,
    mcafee_epo_guid: Option<String>,
    mcafee_epo_agent_guid: Option<String>,
    servicenow_sysid: Option<String>,
    bigfix_asset_id: Option<String>,
    serial_number: Option<String>,
    agent_names: Vec<String>,
    installed_software: Vec<String>,
    ipv4s: Vec<String>,
    ipv6s: Vec<String>,
    fqdns: Vec<String>,
    mac_addresses: Vec<String>,
    netbios_names: Vec<String>,
    operating_systems: Vec<&'static str>,
    system_types: Vec<&'static str>,
    hostnames: Vec<String>,
    ssh_fingerprints: Vec<String>,
    qualys_asset_ids: Vec<String>,
    qualys_host_ids: Vec<String>,
    manufacturer_tpm_ids: Vec<String>,
    symantec_ep_hardware_keys: Vec<String>,
    sources: Vec<SourceV1>,
    tags: Vec<TagV1>,
    network_interfaces: Vec<NicV1>,
    acr_score: Option<String>,
    exposure_score: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    open_ports: Option<Vec<OpenPortV1>>,
}

fn opt_iso(ms: i64) -> Option<String> {
    (ms != 0).then(|| iso_ms(ms))
}

fn render_asset_v1(out: &mut Vec<u8>, data: &VmData, idx: u32, open_ports: bool) {
    let a = &data.world.assets[idx as usize];
    let d = Device::generate(data.seed, idx);
    let p = Profile::generate(data.seed, &d, a);
    let ip = d.ipv4_string();
    let macs: Vec<String> = d.macs.iter().map(|m| mac_string(m, false)).collect();
    let mut fqdns = Vec::new();
    if let Some(f) = &d.fqdn {
        fqdns.push(f.clone());
    }
    let mut ipv6s = Vec::new();
    if let Some(v6) = &d.ipv6 {
        ipv6s.push(v6.clone());
    }
    let mut system_types = vec![d.os.device_type];
    if p.aws.is_some() {
        system_types.push("aws-ec2-instance");
    } else if matches!(d.os.family, OsFamily::Windows) || d.os.family.is_linux() {
        system_types.push("virtual-machine");
    }
    let sources = p
        .sources
        .iter()
        .enumerate()
        .map(|(k, s)| SourceV1 {
            name: s,
            first_seen: iso_ms(a.first_seen + k as i64 * 29_000),
            last_seen: iso_ms(a.last_seen - k as i64 * 61_000),
        })
        .collect();
    let tags = p
        .tags
        .iter()
        .map(|t| TagV1 {
            uuid: t.uuid.to_string(),
            key: t.key,
            value: t.value,
            added_by: "b4f6b4ec-8f3a-4b5a-9a7c-1d2e3f4a5b6c",
            added_at: iso_ms(t.added_at),
        })
        .collect();
    let nics = vec![NicV1 {
        name: if d.os.family == OsFamily::Windows {
            "vmxnet3 Ethernet Adapter"
        } else {
            "ens160"
        },
        virtual_: None,
        aliased: None,
        fqdns: fqdns.clone(),
        mac_addresses: macs.first().cloned().into_iter().collect(),
        ipv4s: vec![ip.clone()],
        ipv6s: ipv6s.clone(),
    }];
    let ssh_fingerprints = if d.service("ssh").is_some() {
        vec![crate::util::hex_from(
            mix(&[data.seed, u64::from(idx), 0x55]),
            32,
        )]
    } else {
        Vec::new()
    };
    let installed_software = match d.os.family {
        OsFamily::Windows => vec![
            "cpe:/a:microsoft:edge:120.0.2210.91".to_string(),
            "cpe:/a:google:chrome:120.0.6099.130".to_string(),
            "cpe:/a:7-zip:7-zip:22.01".to_string(),
        ],
        f if f.is_linux() => vec![
            "cpe:/a:openbsd:openssh:8.9".to_string(),
            "cpe:/a:openssl:openssl:3.0.2".to_string(),
            "cpe:/a:haxx:curl:7.81.0".to_string(),
        ],
        _ => Vec::new(),
    };
    let aws = p.aws.as_ref();
    let rec = AssetV1 {
        id: p.uuid.to_string(),
        has_agent: p.agent_uuid.is_some(),
        has_plugin_results: a.has_findings,
        created_at: iso_ms(a.created_at),
        terminated_at: opt_iso(a.terminated_at),
        terminated_by: (a.terminated_at != 0).then_some("AWS"),
        updated_at: iso_ms(a.updated_at),
        deleted_at: opt_iso(a.deleted_at),
        deleted_by: (a.deleted_at != 0).then_some("analyst@example.com"),
        first_seen: iso_ms(a.first_seen),
        last_seen: iso_ms(a.last_seen),
        first_scan_time: iso_ms(a.first_seen),
        last_scan_time: iso_ms(a.last_seen),
        last_authenticated_scan_date: p.authenticated.then(|| iso_ms(a.last_seen - 45_000)),
        last_licensed_scan_date: a.licensed.then(|| iso_ms(a.last_seen)),
        last_scan_id: Some(
            uuid_from(mix(&[
                data.seed,
                label("scan"),
                p.schedule as u64,
                (a.last_seen / 3_600_000) as u64,
            ]))
            .to_string(),
        ),
        last_schedule_id: Some(data.schedules[p.schedule % data.schedules.len()].clone()),
        azure_vm_id: None,
        azure_resource_id: None,
        gcp_project_id: None,
        gcp_zone: None,
        gcp_instance_id: None,
        aws_ec2_instance_ami_id: aws.map(|x| x.ami.clone()),
        aws_ec2_instance_id: aws.map(|x| x.instance_id.clone()),
        agent_uuid: p.agent_uuid.clone(),
        bios_uuid: d.bios_uuid.map(|u| u.to_string()),
        network_id: DEFAULT_NETWORK,
        network_name: "Default",
        environment_id: None,
        aws_owner_id: aws.map(|x| x.owner.clone()),
        aws_availability_zone: aws.map(|x| x.zone.clone()),
        aws_region: aws.map(|x| x.region),
        aws_vpc_id: aws.map(|x| x.vpc.clone()),
        aws_ec2_instance_group_name: aws.map(|_| "default".to_string()),
        aws_ec2_instance_state_name: aws.map(|_| {
            if a.terminated_at != 0 {
                "terminated"
            } else {
                "running"
            }
        }),
        aws_ec2_instance_type: aws.map(|x| x.instance_type),
        aws_subnet_id: aws.map(|x| x.subnet.clone()),
        aws_ec2_product_code: None,
        aws_ec2_name: aws.map(|_| d.hostname.clone()),
        mcafee_epo_guid: None,
        mcafee_epo_agent_guid: None,
        servicenow_sysid: None,
        bigfix_asset_id: None,
        serial_number: d.serial.clone(),
        agent_names: p
            .agent_uuid
            .as_ref()
            .map(|_| d.hostname.clone())
            .into_iter()
            .collect(),
        installed_software,
        ipv4s: vec![ip],
        ipv6s,
        fqdns,
        mac_addresses: macs,
        netbios_names: d.netbios.clone().into_iter().collect(),
        operating_systems: vec![d.os.name],
        system_types,
        hostnames: vec![d.hostname.clone()],
        ssh_fingerprints,
        qualys_asset_ids: Vec::new(),
        qualys_host_ids: Vec::new(),
        manufacturer_tpm_ids: Vec::new(),
        symantec_ep_hardware_keys: Vec::new(),
        sources,
        tags,
        network_interfaces: nics,
        acr_score: Some(format!("{:.1}", p.acr)),
        exposure_score: Some(format!("{}.0", p.exposure)),
        open_ports: open_ports.then(|| {
            d.services
                .iter()
                .map(|s| OpenPortV1 {
                    port: s.port,
                    protocol: s.proto.as_str(),
                    service_names: vec![s.name],
                    first_seen: iso_ms(a.first_seen),
                    last_seen: iso_ms(a.last_seen),
                })
                .collect()
        }),
    };
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &rec);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Arc<VmData> {
        Arc::new(VmData::build(7, n, 1_767_225_600_000, None, None).expect("build"))
    }

    #[test]
    fn vuln_chunk_is_valid_json_in_pieces() {
        let d = data(60);
        let items: Arc<[u32]> = (0..d.world.findings.len() as u32).collect();
        let mut r = ChunkRender::new(
            Arc::clone(&d),
            Arc::clone(&items),
            (0, items.len() as u32),
            ChunkKind::Vulns,
        );
        let mut all = Vec::new();
        let mut pieces = 0;
        while let Some(p) = r.next_piece(8 * 1024) {
            all.extend_from_slice(&p);
            pieces += 1;
        }
        assert!(pieces > 1);
        let v: Vec<serde_json::Value> = serde_json::from_slice(&all).expect("valid JSON");
        assert_eq!(v.len(), d.world.findings.len());
        let avg = all.len() / v.len().max(1);
        assert!((2500..5000).contains(&avg), "average record size {avg}");
        let f = &v[0];
        assert!(f["asset"]["uuid"].is_string());
        assert!(f["plugin"]["id"].is_u64());
        assert!(f["port"]["protocol"].is_string());
        assert!(f["scan"]["schedule_uuid"].is_string());
    }

    #[test]
    fn empty_chunk_is_empty_array() {
        let d = data(1);
        let items: Arc<[u32]> = Arc::from(Vec::new());
        let mut r = ChunkRender::new(d, items, (0, 0), ChunkKind::Vulns);
        assert_eq!(r.render_all(), b"[]");
    }

    #[test]
    fn assets_render_with_nulls() {
        let d = data(20);
        let items: Arc<[u32]> = (0..20).collect();
        let mut r = ChunkRender::new(d, items, (0, 20), ChunkKind::Assets { open_ports: true });
        let v: Vec<serde_json::Value> = serde_json::from_slice(&r.render_all()).expect("json");
        assert_eq!(v.len(), 20);
        assert!(v[0]["azure_vm_id"].is_null());
        assert!(v[0]["acr_score"].is_string());
        assert!(v[0]["open_ports"].is_array());
        assert!(v[0]["network_interfaces"][0].get("virtual").is_some());
    }

    /// Rendering throughput on one core: `cargo test --release -p tenax-sim --lib
    /// throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "benchmark"]
    fn throughput() {
        let d = data(
            std::env::var("TPUT_ASSETS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(20_000),
        );
        let items: Arc<[u32]> = (0..d.world.findings.len() as u32).collect();
        let t = std::time::Instant::now();
        let mut r = ChunkRender::new(
            Arc::clone(&d),
            Arc::clone(&items),
            (0, items.len() as u32),
            ChunkKind::Vulns,
        );
        let mut bytes = 0usize;
        while let Some(p) = r.next_piece(64 * 1024) {
            bytes += p.len();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{} findings, {:.1} MB, {:.0} B/record, {:.0} MB/s",
            items.len(),
            bytes as f64 / 1e6,
            bytes as f64 / items.len() as f64,
            bytes as f64 / 1e6 / secs
        );
        let mut first = ChunkRender::new(d, items, (0, 3), ChunkKind::Vulns);
        println!("{}", String::from_utf8_lossy(&first.render_all()));
    }
}
