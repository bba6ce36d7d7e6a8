/* test_peer.c - the agent side of the vfleet protocol over a real DEALER,
 * with deterministic inventories whose expected listing is known. */
#include "test_peer.h"

#include <stdio.h>
#include <string.h>

#include "vfp_keys.h"
#include "vfp_transport.h"

struct peer_t {
    zsock_t *sock;
    char hostname[VFP_HOSTNAME_MAX + 1];
    uint32_t next_request;
};

static zcert_t *s_cert, *s_server;
static const char *s_key_dir;

void peer_use_keys(zcert_t *cert, zcert_t *server)
{
    s_cert = cert;
    s_server = server;
}

void peer_use_key_dir(const char *dir, zcert_t *server)
{
    s_key_dir = dir;
    s_server = server;
}

/* Makes sock a CURVE client with hostname's own secret certificate from
 * the key directory: the controller takes a host's identity from its
 * key, so each simulated host needs its own. */
static int s_apply_host_key(zsock_t *sock, const char *hostname)
{
    char path[4096], err[1024];
    snprintf(path, sizeof(path), "%s/%s.key_secret", s_key_dir, hostname);
    zcert_t *cert = vfp_keys_load_secret(path, err, sizeof(err));
    if (!cert) {
        fprintf(stderr, "vfleet-test-peer: %s\n", err);
        return -1;
    }
    vfp_keys_apply_client(sock, cert, s_server);
    zcert_destroy(&cert);
    return 0;
}

peer_t *peer_new(const char *endpoint, const char *hostname)
{
    peer_t *self = calloc(1, sizeof(*self));
    assert(self);
    snprintf(self->hostname, sizeof(self->hostname), "%s", hostname);
    self->sock = zsock_new(ZMQ_DEALER);
    assert(self->sock);
    vfp_socket_limit(self->sock);
    if (s_cert)
        vfp_keys_apply_client(self->sock, s_cert, s_server);
    else if (s_key_dir && s_apply_host_key(self->sock, hostname) != 0) {
        peer_destroy(&self);
        return NULL;
    }
    zsock_set_linger(self->sock, 1000);
    zsock_set_sndhwm(self->sock, 0);
    if (zsock_connect(self->sock, "%s", endpoint) != 0) {
        peer_destroy(&self);
        return NULL;
    }
    return self;
}

void peer_destroy(peer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsock_destroy(&(*self_p)->sock);
    free(*self_p);
    *self_p = NULL;
}

zsock_t *peer_sock(peer_t *self)
{
    return self->sock;
}

const char *peer_hostname(peer_t *self)
{
    return self->hostname;
}

int peer_send(peer_t *self, vfp_msg_t *msg)
{
    msg->request_id = ++self->next_request;
    vfp_decode_error_t err;
    if (vfp_send(self->sock, NULL, msg, &err) != 0) {
        fprintf(stderr, "peer %s: cannot send %s: %s %s\n", self->hostname,
                vfp_id_name(msg->id), err.field, err.text);
        return -1;
    }
    return 0;
}

vfp_msg_t *peer_recv(peer_t *self, int timeout_ms)
{
    zsock_set_rcvtimeo(self->sock, timeout_ms);
    vfp_decode_error_t err;
    return vfp_recv(self->sock, NULL, &err);
}

int peer_send_hello(peer_t *self, uint8_t min, uint8_t max)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_HELLO);
    snprintf(msg->u.hello.hostname, sizeof(msg->u.hello.hostname), "%s",
             self->hostname);
    snprintf(msg->u.hello.agent_version, sizeof(msg->u.hello.agent_version),
             "test-peer");
    snprintf(msg->u.hello.boot_id, sizeof(msg->u.hello.boot_id), "boot-%.58s",
             self->hostname);
    msg->u.hello.proto_min = min;
    msg->u.hello.proto_max = max;
    int rc = peer_send(self, msg);
    vfp_msg_destroy(&msg);
    return rc;
}

int peer_hello(peer_t *self, int timeout_ms)
{
    if (peer_send_hello(self, VFP_VERSION_MIN, VFP_VERSION) != 0)
        return -1;
    return peer_wait_welcome(self, timeout_ms);
}

int peer_wait_welcome(peer_t *self, int timeout_ms)
{
    uint32_t hello_id = self->next_request;
    int64_t deadline = zclock_mono() + timeout_ms;
    /* Answers to messages sent before the HELLO (errors for heartbeats
     * queued while the controller was away) may come first: skip them. */
    while (zclock_mono() < deadline) {
        vfp_msg_t *reply = peer_recv(self, (int)(deadline - zclock_mono()) + 1);
        if (!reply)
            return -1;
        bool ours = reply->request_id == hello_id;
        int interval =
            reply->id == VFP_WELCOME ? (int)reply->u.welcome.heartbeat_ms : -1;
        vfp_msg_destroy(&reply);
        if (ours)
            return interval;
    }
    return -1;
}

/* A small stable hash so every host's MACs differ. */
static uint32_t s_hash(const char *text)
{
    uint32_t h = 2166136261u;
    for (; *text; text++)
        h = (h ^ (uint8_t)*text) * 16777619u;
    return h;
}

vfp_msg_t *peer_inventory_new(const char *hostname, uint64_t generation,
                              uint32_t pfs, uint32_t vfs, uint32_t variant)
{
    vfp_msg_t *msg = vfp_msg_new(VFP_INVENTORY);
    vfp_inventory_t *inv = &msg->u.inventory;
    uint32_t h = s_hash(hostname);
    inv->generation = generation;
    vfp_host_t *host = &inv->host;
    snprintf(host->hostname, sizeof(host->hostname), "%s", hostname);
    snprintf(host->boot_id, sizeof(host->boot_id), "boot-%.58s", hostname);
    snprintf(host->kernel, sizeof(host->kernel), "6.1.0-21-amd64");
    host->cpu_virt = VFP_VIRT_VMX;
    host->iommu_ready = true;
    host->iommu_units = 2;
    host->iommu_groups = 40 + pfs * vfs;
    snprintf(host->iommu_cmdline, sizeof(host->iommu_cmdline),
             "intel_iommu=on iommu=pt");
    host->mem_total_kb = 263921664;
    host->mem_available_kb = 250000000;
    host->hugepage_count = 1;
    host->hugepages[0].size_kb = 1048576;
    host->hugepages[0].total = 200;
    host->hugepages[0].free = 180;
    inv->pf_count = pfs;
    inv->pfs = calloc(pfs ? pfs : 1, sizeof(vfp_pf_t));
    assert(inv->pfs);
    for (uint32_t i = 0; i < pfs; i++) {
        vfp_pf_t *pf = &inv->pfs[i];
        snprintf(pf->pci_addr, sizeof(pf->pci_addr), "0000:%02x:00.%u",
                 0x3b + i / 2, i % 2);
        snprintf(pf->ifname, sizeof(pf->ifname), "ens%uf%u", 1 + i / 2, i % 2);
        snprintf(pf->driver, sizeof(pf->driver), "ice");
        snprintf(pf->vf_driver, sizeof(pf->vf_driver), "iavf");
        pf->vendor_id = 0x8086;
        pf->device_id = 0x159b;
        pf->numa_node = (int16_t)(i % 2);
        pf->link_speed = 25000;
        pf->link_up = true;
        pf->total_vfs = 128;
        pf->num_vfs = (uint16_t)vfs;
        pf->vf_count = vfs;
        pf->vfs = calloc(vfs ? vfs : 1, sizeof(vfp_vf_t));
        assert(pf->vfs);
        for (uint32_t k = 0; k < vfs; k++) {
            vfp_vf_t *vf = &pf->vfs[k];
            vf->index = (uint16_t)k;
            snprintf(vf->pci_addr, sizeof(vf->pci_addr), "0000:%02x:%02x.%u",
                     0x3b + i / 2, 1 + (i % 2) * 16 + k / 8, k % 8);
            vf->iommu_group = (int32_t)(100 + i * vfs + k);
            vf->iommu_isolated = k % 17 != 16;
            snprintf(vf->driver, sizeof(vf->driver), "%s",
                     k % 2 ? "vfio-pci" : "iavf");
            uint8_t mac[6] = {0x02,       (uint8_t)(h >> 16), (uint8_t)(h >> 8),
                              (uint8_t)h, (uint8_t)i,         (uint8_t)k};
            memcpy(vf->mac, mac, 6);
            vf->vlan = (uint16_t)((100 + k + variant) % 4095);
            vf->qos = (uint8_t)(k % 8);
            vf->vlan_proto = VFP_VLAN_PROTO_8021Q;
            vf->spoofchk = VFP_ON;
            vf->trust = k % 3 == 0 ? VFP_ON : VFP_OFF;
            vf->link_state = (vfp_link_state_t)(k % 3);
            vf->min_tx_rate = 0;
            vf->max_tx_rate = k % 4 == 0 ? 10000 : 0;
            vf->settings_known = true;
            vf->in_use = k % 5 == 0;
        }
    }
    return msg;
}

json_t *peer_inventory_vfs_json(const vfp_msg_t *msg)
{
    const vfp_inventory_t *inv = &msg->u.inventory;
    json_t *array = json_array();
    /* PCI addresses are generated in ascending order, as the controller
     * sorts them. */
    for (uint32_t i = 0; i < inv->pf_count; i++) {
        const vfp_pf_t *pf = &inv->pfs[i];
        for (uint32_t k = 0; k < pf->vf_count; k++) {
            const vfp_vf_t *vf = &pf->vfs[k];
            char mac[18];
            json_array_append_new(
                array,
                json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:b, s:s, s:s, "
                          "s:i, s:i, s:i, s:s, s:s, s:s, s:I, s:I, s:b, s:b}",
                          "host", inv->host.hostname, "pf", pf->pci_addr,
                          "pf_ifname", pf->ifname, "index", vf->index,
                          "pci_addr", vf->pci_addr, "iommu_group",
                          vf->iommu_group, "iommu_isolated", vf->iommu_isolated,
                          "driver", vf->driver, "mac",
                          vfp_mac_format(vf->mac, mac), "vlan", vf->vlan, "qos",
                          vf->qos, "vlan_proto", vf->vlan_proto, "spoofchk",
                          vfp_flag_name(vf->spoofchk), "trust",
                          vfp_flag_name(vf->trust), "link_state",
                          vfp_link_state_name(vf->link_state), "min_tx_rate",
                          (json_int_t)vf->min_tx_rate, "max_tx_rate",
                          (json_int_t)vf->max_tx_rate, "settings_known",
                          vf->settings_known, "in_use", vf->in_use));
        }
    }
    return array;
}
