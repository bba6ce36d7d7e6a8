/* zap.c - the ZAP handler: one REP socket on czmq's ZAP endpoint,
 * answering each handshake from a keyset: three stat calls to see
 * whether the key directory changed (re-read incrementally when it did),
 * then a hash lookup. */
#include "zap.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "vfp_log.h"

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_CURVE_KEY_SIZE 32

/* Appends one ZMTP metadata property (RFC 23: name length, name, value
 * length as 4 bytes in network order, value) to buf at *len. */
static void s_property(uint8_t *buf, size_t *len, const char *name,
                       const char *value)
{
    size_t name_len = strlen(name), value_len = strlen(value);
    buf[(*len)++] = (uint8_t)name_len;
    memcpy(buf + *len, name, name_len);
    *len += name_len;
    for (int shift = 24; shift >= 0; shift -= 8)
        buf[(*len)++] = (uint8_t)(value_len >> shift);
    memcpy(buf + *len, value, value_len);
    *len += value_len;
}

/* The reply to request id `sequence`: 200 with the key's identity, or
 * 400. */
static zmsg_t *s_reply(const char *sequence, const vfp_keys_entry_t *key)
{
    zmsg_t *reply = zmsg_new();
    assert(reply);
    zmsg_addstr(reply, "1.0");
    zmsg_addstr(reply, sequence);
    zmsg_addstr(reply, key ? "200" : "400");
    zmsg_addstr(reply, key ? "OK" : "No access");
    zmsg_addstr(reply, key ? key->public_z85 : "");
    /* name and role: short, bounded by vfp_keys_entry_t. */
    uint8_t meta[2 * (1 + 4 + 4) + sizeof(key->name) + sizeof(key->role)];
    size_t len = 0;
    if (key) {
        s_property(meta, &len, VFP_KEYS_META_NAME, key->name);
        s_property(meta, &len, VFP_KEYS_META_ROLE, key->role);
    }
    zmsg_addmem(reply, meta, len);
    return reply;
}

zmsg_t *zap_answer(keyset_t *keys, zmsg_t *request)
{
    char *version = zmsg_popstr(request);
    char *sequence = zmsg_popstr(request);
    char *domain = zmsg_popstr(request);
    char *address = zmsg_popstr(request);
    char *identity = zmsg_popstr(request);
    char *mechanism = zmsg_popstr(request);
    zframe_t *credential = zmsg_pop(request);
    const vfp_keys_entry_t *key = NULL;
    /* libzmq sends exactly this for a CURVE handshake; anything else
     * (another mechanism, a malformed request) is refused. */
    if (version && streq(version, "1.0") && mechanism &&
        streq(mechanism, "CURVE") && credential &&
        zframe_size(credential) == S_CURVE_KEY_SIZE &&
        zmsg_size(request) == 0) {
        char z85[VFP_KEYS_Z85_LEN + 1];
        zmq_z85_encode(z85, zframe_data(credential), S_CURVE_KEY_SIZE);
        key = keyset_lookup(keys, z85);
    }
    zmsg_t *reply = s_reply(sequence ? sequence : "", key);
    zframe_destroy(&credential);
    zstr_free(&version);
    zstr_free(&sequence);
    zstr_free(&domain);
    zstr_free(&address);
    zstr_free(&identity);
    zstr_free(&mechanism);
    return reply;
}

zsock_t *zap_handler_new(char *err, size_t errlen)
{
    zsock_t *handler = zsock_new(ZMQ_REP);
    assert(handler);
    if (zsock_bind(handler, S_ZAP_ENDPOINT) != 0) {
        snprintf(err, errlen, "cannot bind the ZAP handler on %s: %s",
                 S_ZAP_ENDPOINT, zmq_strerror(errno));
        zsock_destroy(&handler);
    }
    return handler;
}

void zap_actor(zsock_t *pipe, void *args)
{
    const zap_args_t *a = args;
    zsock_t *handler = a->handler;
    keyset_t *keys = keyset_new(a->dir, zclock_mono());
    zpoller_t *poller = zpoller_new(pipe, handler, NULL);
    assert(poller);
    /* Only $TERM ends the handler: without one, libzmq would let every
     * handshake through. */
    zpoller_set_nonstop(poller, true);
    zsock_signal(pipe, 0);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (!which)
            continue;
        if (which == handler) {
            zmsg_t *request = zmsg_recv(handler);
            if (!request)
                continue; /* interrupted */
            keyset_recheck(keys);
            zmsg_t *reply = zap_answer(keys, request);
            zmsg_destroy(&request);
            zmsg_send(&reply, handler);
        } else {
            char *command = zstr_recv(pipe);
            bool term = !command || streq(command, "$TERM");
            zstr_free(&command);
            if (term)
                break;
        }
    }
    zpoller_destroy(&poller);
    keyset_destroy(&keys);
    zsock_unbind(handler, S_ZAP_ENDPOINT);
    zsock_destroy(&handler);
}
